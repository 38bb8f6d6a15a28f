//! The `web_search` tool: one query to the search backend the YAML names (SearXNG's JSON
//! API, Brave, Tavily or Exa, on the team's own key), answered as numbered, cited snippets.

use crate::config::{SearchBackend, WebSearchConfig};
use serde_json::{json, Value};

/// Search results as text for the model, or why the search failed.
pub async fn search(http: &reqwest::Client, config: &WebSearchConfig, query: &str, max_results: Option<usize>) -> Result<String, String> {
    let n = max_results.unwrap_or(config.max_results).clamp(1, config.max_results);
    let key = config.api_key.as_ref().map(|k| k.expose()).unwrap_or_default();
    let request = match config.backend {
        SearchBackend::Searxng => {
            let mut url = config.url.clone();
            if !url.path().ends_with("/search") {
                let path = format!("{}/search", url.path().trim_end_matches('/'));
                url.set_path(&path);
            }
            http.get(url).query(&[("q", query), ("format", "json")])
        }
        SearchBackend::Brave => {
            http.get(config.url.clone()).query(&[("q", query), ("count", &n.to_string())]).header("X-Subscription-Token", key)
        }
        SearchBackend::Tavily => http.post(config.url.clone()).bearer_auth(key).json(&json!({ "query": query, "max_results": n })),
        SearchBackend::Exa => http
            .post(config.url.clone())
            .header("x-api-key", key)
            .json(&json!({ "query": query, "numResults": n, "contents": { "text": { "maxCharacters": 500 } } })),
    };
    let resp =
        request.timeout(config.timeout).send().await.map_err(|e| format!("the search backend did not answer: {}", e.without_url()))?;
    if !resp.status().is_success() {
        return Err(format!("the search backend answered HTTP {}", resp.status().as_u16()));
    }
    let body: Value = resp.json().await.map_err(|e| format!("the search backend's answer is not JSON: {}", e.without_url()))?;
    Ok(cited(&results(config.backend, &body), n))
}

/// `(title, url, snippet)` of each result in the backend's answer.
fn results(backend: SearchBackend, body: &Value) -> Vec<(String, String, String)> {
    let (list, snippet) = match backend {
        SearchBackend::Searxng => (body.get("results"), "content"),
        SearchBackend::Brave => (body.pointer("/web/results"), "description"),
        SearchBackend::Tavily => (body.get("results"), "content"),
        SearchBackend::Exa => (body.get("results"), "text"),
    };
    let text = |r: &Value, f: &str| r.get(f).and_then(Value::as_str).unwrap_or_default().trim().to_string();
    list.and_then(Value::as_array)
        .map(|items| {
            items.iter().map(|r| (text(r, "title"), text(r, "url"), text(r, snippet))).filter(|(_, url, _)| !url.is_empty()).collect()
        })
        .unwrap_or_default()
}

fn cited(results: &[(String, String, String)], n: usize) -> String {
    if results.is_empty() {
        return "No results.".into();
    }
    let mut out = String::new();
    for (i, (title, url, snippet)) in results.iter().take(n).enumerate() {
        let snippet: String = snippet.chars().take(600).collect();
        out.push_str(&format!("[{}] {title}\nURL: {url}\n{snippet}\n\n", i + 1));
    }
    out.push_str("Cite the sources you use as [n] with their URL.");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_backends_results_become_cited_snippets() {
        let brave = json!({"web": {"results": [{"title": "T", "url": "https://a.example", "description": "D"}]}});
        assert_eq!(results(SearchBackend::Brave, &brave), vec![("T".into(), "https://a.example".into(), "D".into())]);
        let exa = json!({"results": [{"title": "E", "url": "https://e.example", "text": "X"}, {"title": "no url"}]});
        let text = cited(&results(SearchBackend::Exa, &exa), 5);
        assert!(text.starts_with("[1] E\nURL: https://e.example\nX\n\n"), "{text}");
        assert_eq!(cited(&[], 5), "No results.");
    }
}
