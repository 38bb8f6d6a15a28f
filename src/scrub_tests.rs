use super::*;

fn scrubber() -> Scrubber {
    Scrubber::new(&[Secret::new("sk-upstream-0123456789".into()), Secret::new("AdminKey-xyz-42".into()), Secret::new("abc".into())])
}

#[test]
fn configured_secrets_and_credential_shapes_are_masked() {
    let s = scrubber();
    let out =
        s.text("Incorrect API key provided: Bearer sk-upstream-0123456789. You can find your key at https://platform.openai.com/account");
    assert!(!out.contains("sk-upstream"), "{out}");
    assert!(!out.contains("platform.openai.com"), "{out}");
    assert_eq!(out, "Incorrect API key provided: Bearer *** You can find your key at <url>");
    // A configured secret anywhere, in any wrapping.
    assert_eq!(s.text("admin=AdminKey-xyz-42!"), "admin=***!");
    assert_eq!(s.text("{\"api_key\": \"plainsecretvalue\"}"), "{\"api_key\": \"***\"}");
    assert_eq!(s.text("GET /v1/models?key=AIzaSyA1234567890abcdefgh failed"), "GET /v1/models?key=*** failed");
    assert_eq!(s.text("token rk_live_abcdef123 and pk-1234567"), "token *** and ***");
    assert_eq!(s.text("x-api-key: zzzzzzzzzz"), "x-api-key: ***");
    // Short configured secrets are not searched for (they would eat ordinary words).
    assert_eq!(s.text("abc def"), "abc def");
}

#[test]
fn html_urls_and_control_characters_are_dropped() {
    let s = Scrubber::default();
    let page = "<!DOCTYPE html><html><head><style>body{color:red}</style><script>var k='x'</script></head>\
                <body><h1>502 Bad Gateway</h1>\n<p>nginx at http://10.1.2.3:8000/internal</p></body></html>";
    assert_eq!(s.text(page), "502 Bad Gateway nginx at <url>");
    assert_eq!(s.text("line one\nINFO forged\r\n\u{1b}[31mred\u{0}"), "line one INFO forged [31mred");
    assert_eq!(
        s.text("error sending request for url (http://internal.svc:9000/v1/chat/completions?key=abc)"),
        "error sending request for url (<url>"
    );
}

#[test]
fn long_text_is_capped_after_masking() {
    let s = scrubber();
    // The secret straddles the cap: it is masked whole before anything is cut.
    let text = format!("{} sk-upstream-0123456789 {}", "a".repeat(MAX_UPSTREAM_TEXT_CHARS - 5), "b".repeat(1000));
    let out = s.text(&text);
    assert!(!out.contains("sk-up") && !out.contains("0123"), "{out}");
    assert!(out.chars().count() <= MAX_UPSTREAM_TEXT_CHARS + 1, "{}", out.chars().count());
    assert!(out.ends_with('…'));
}

#[test]
fn every_upstream_error_variant_is_scrubbed() {
    let s = scrubber();
    let status = s.upstream_error(UpstreamError::Status {
        status: 401,
        message: "bad key sk-upstream-0123456789".into(),
        retry_after_secs: Some(3),
    });
    assert_eq!(status.to_string(), "HTTP 401: bad key ***");
    assert_eq!(status.retry_after_secs(), Some(3));
    for e in [
        UpstreamError::Connect("sk-upstream-0123456789".into()),
        UpstreamError::Protocol("sk-upstream-0123456789".into()),
        UpstreamError::MidStream("sk-upstream-0123456789".into()),
        UpstreamError::Untranslatable("sk-upstream-0123456789".into()),
    ] {
        let out = s.upstream_error(e).to_string();
        assert!(!out.contains("0123456789"), "{out}");
    }
}
