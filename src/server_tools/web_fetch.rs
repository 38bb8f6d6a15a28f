//! The `web_fetch` tool: GET one http(s) URL and return its readable text. Every address
//! the host resolves to is checked (`address_guard`) before connecting, the connection goes
//! only to those checked addresses (no second lookup), and each redirect is followed by
//! hand and checked again. Capped in bytes read, characters returned, redirects and time;
//! `server_tools.web_fetch.allow` lets named hosts or networks through.

use super::{address_guard, html_text};
use crate::config::WebFetchConfig;
use futures_util::StreamExt;
use std::net::{IpAddr, SocketAddr};
use url::{Host, Url};

/// The page at `url` as text for the model, or why it was not fetched.
pub async fn fetch(url: &str, config: &WebFetchConfig) -> Result<String, String> {
    match tokio::time::timeout(config.timeout, follow(url, config)).await {
        Ok(result) => result,
        Err(_) => Err(format!("fetching {url} took longer than {:?} (server_tools.web_fetch.timeout)", config.timeout)),
    }
}

async fn follow(start: &str, config: &WebFetchConfig) -> Result<String, String> {
    let mut url = Url::parse(start).map_err(|e| format!("`{start}` is not a URL: {e}"))?;
    for _ in 0..=config.max_redirects {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("refused: only http and https URLs can be fetched, not {}", url.scheme()));
        }
        let addrs = checked_addresses(&url, config).await?;
        let mut builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).user_agent("switchboard-web-fetch/1");
        if let Some(Host::Domain(domain)) = url.host() {
            // Connect only to the addresses just checked: no second lookup can change them.
            builder = builder.resolve_to_addrs(domain, &addrs);
        }
        let client = builder.build().map_err(|e| format!("fetch failed: {e}"))?;
        let resp = client.get(url.clone()).send().await.map_err(|e| format!("fetching {url} failed: {e}"))?;
        if resp.status().is_redirection() {
            let location = resp.headers().get("location").and_then(|l| l.to_str().ok()).ok_or("a redirect without a Location")?;
            url = url.join(location).map_err(|e| format!("bad redirect to `{location}`: {e}"))?;
            continue;
        }
        let status = resp.status();
        let content_type = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
        let (bytes, truncated) = read_capped(resp, config.max_bytes).await?;
        if !status.is_success() {
            return Err(format!("{url} answered HTTP {}", status.as_u16()));
        }
        let text = String::from_utf8_lossy(&bytes);
        let readable = if content_type.contains("html") || (content_type.is_empty() && text.trim_start().starts_with('<')) {
            html_text::readable(&text)
        } else if content_type.starts_with("text/")
            || content_type.contains("json")
            || content_type.contains("xml")
            || content_type.is_empty()
        {
            text.into_owned()
        } else {
            return Err(format!("{url} is {content_type}, not text"));
        };
        let mut body: String = readable.chars().take(config.max_chars).collect();
        if truncated || body.len() < readable.len() {
            body.push_str("\n[truncated]");
        }
        return Ok(format!("URL: {url}\n\n{body}"));
    }
    Err(format!("more than {} redirects (server_tools.web_fetch.max_redirects)", config.max_redirects))
}

/// The addresses `url`'s host resolves to, every one of them allowed; else why not.
async fn checked_addresses(url: &Url, config: &WebFetchConfig) -> Result<Vec<SocketAddr>, String> {
    let port = url.port_or_known_default().unwrap_or(80);
    let (name, addrs): (String, Vec<SocketAddr>) = match url.host() {
        Some(Host::Ipv4(ip)) => (ip.to_string(), vec![SocketAddr::new(IpAddr::V4(ip), port)]),
        Some(Host::Ipv6(ip)) => (format!("[{ip}]"), vec![SocketAddr::new(IpAddr::V6(ip), port)]),
        Some(Host::Domain(domain)) => {
            let found = tokio::net::lookup_host((domain, port)).await.map_err(|e| format!("cannot resolve {domain}: {e}"))?;
            (domain.to_ascii_lowercase(), found.collect())
        }
        None => return Err(format!("{url} has no host")),
    };
    if addrs.is_empty() {
        return Err(format!("{name} resolves to no address"));
    }
    if config.allow_hosts.iter().any(|h| *h == name.trim_end_matches('.')) {
        return Ok(addrs);
    }
    for addr in &addrs {
        let ip = addr.ip();
        if let Some(kind) = address_guard::forbidden(ip) {
            if !config.allow_nets.iter().any(|net| net.contains(ip)) {
                return Err(format!(
                    "refused: {name} is {ip}, a {kind} address; the gateway does not fetch private addresses (its operator can allow one in server_tools.web_fetch.allow)"
                ));
            }
        }
    }
    Ok(addrs)
}

/// The body, at most `cap` bytes of it, and whether there was more.
async fn read_capped(resp: reqwest::Response, cap: u64) -> Result<(Vec<u8>, bool), String> {
    let mut out = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| format!("reading the page failed: {e}"))?;
        let room = (cap as usize).saturating_sub(out.len());
        if chunk.len() > room {
            out.extend_from_slice(&chunk[..room]);
            return Ok((out, true));
        }
        out.extend_from_slice(&chunk);
    }
    Ok((out, false))
}
