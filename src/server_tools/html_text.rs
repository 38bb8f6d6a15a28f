//! HTML reduced to readable text: scripts, styles and other non-content elements dropped,
//! tags turned into spaces (block elements into line breaks), common entities decoded,
//! whitespace collapsed. A small scanner, not a parser: enough for a model to read a page.

/// Elements whose content is never text a reader sees.
const SKIPPED: &[&str] = &["script", "style", "noscript", "svg", "template"];
/// Elements that start a new line.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "br",
    "li",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "section",
    "article",
    "header",
    "footer",
    "pre",
    "blockquote",
    "table",
    "ul",
    "ol",
    "title",
];

pub fn readable(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 3);
    let mut title = None;
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&decode(&rest[..lt]));
        rest = &rest[lt..];
        if rest.starts_with("<!--") {
            rest = rest.find("-->").map_or("", |end| &rest[end + 3..]);
            continue;
        }
        let Some(gt) = rest.find('>') else { break };
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        let name: String =
            tag.trim_start_matches('/').chars().take_while(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
        if name == "title" && !tag.starts_with('/') && title.is_none() {
            let end = rest.to_ascii_lowercase().find("</title").unwrap_or(rest.len());
            title = Some(decode(&rest[..end]).trim().to_string());
        }
        if SKIPPED.contains(&name.as_str()) && !tag.starts_with('/') && !tag.ends_with('/') {
            let close = format!("</{name}");
            rest = rest.to_ascii_lowercase().find(&close).map_or("", |i| &rest[i..]);
            continue;
        }
        out.push(if BLOCKS.contains(&name.as_str()) { '\n' } else { ' ' });
    }
    out.push_str(&decode(rest));
    let body = collapse(&out);
    match title.filter(|t| !t.is_empty()) {
        Some(t) => format!("{t}\n\n{}", body.strip_prefix(&t).unwrap_or(&body).trim_start()),
        None => body,
    }
}

/// Runs of spaces become one space; blank lines are dropped.
fn collapse(text: &str) -> String {
    let lines: Vec<String> = text.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).filter(|l| !l.is_empty()).collect();
    lines.join("\n")
}

fn decode(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let entity = rest.find(';').filter(|&i| i <= 10).map(|i| &rest[1..i]);
        let decoded = entity.and_then(|e| match e {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" | "#39" => Some('\''),
            "nbsp" => Some(' '),
            _ => e
                .strip_prefix("#x")
                .or_else(|| e.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| e.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        });
        match (decoded, entity) {
            (Some(c), Some(e)) => {
                out.push(c);
                rest = &rest[e.len() + 2..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_become_text() {
        let html = "<html><head><title>Cats &amp; Dogs</title><style>p{color:red}</style></head><body><script>alert(1)</script><h1>Hello</h1><p>A&nbsp;<b>bold</b> claim &#8212; true.</p><!-- hidden --><ul><li>one</li><li>two</li></ul></body></html>";
        assert_eq!(readable(html), "Cats & Dogs\n\nHello\nA bold claim \u{2014} true.\none\ntwo");
    }
}
