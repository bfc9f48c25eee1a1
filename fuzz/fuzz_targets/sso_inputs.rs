//! The SSO portal's request parsers never panic, and what they accept keeps its promises: an
//! accepted redirect URI matches itself and never holds a fragment or whitespace; a chosen
//! redirect URI matches a registered one; a safe return target is relative or under the origin;
//! an authorization request's answer goes to a registered URI.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_sso::authorize::{ClientView, Failure, read};
use portcullis_sso::clients::Clients;
use portcullis_sso::discovery::Issuer;
use portcullis_sso::{pkce, token};
use portcullis_sso::redirect::{RedirectUri, choose, safe_return};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = RedirectUri::register(text) {
        assert!(r.matches(text));
        assert!(!text.contains('#') && !text.chars().any(char::is_whitespace));
    }
    let registered: Vec<RedirectUri> = ["https://a.com/cb", "http://127.0.0.1/cb"]
        .iter()
        .filter_map(|u| RedirectUri::register(u).ok())
        .collect();
    if let Ok(uri) = choose(&registered, Some(text)) {
        assert!(registered.iter().any(|r| r.matches(uri)));
    }
    if let Some(t) = safe_return(text, "/functions/v1/sso", &["https://app.example.com"]) {
        assert!(
            (t.starts_with("/functions/v1/sso") && !t.contains("//") && !t.contains("/../"))
                || t == "https://app.example.com"
                || t.starts_with("https://app.example.com/")
                || t.starts_with("https://app.example.com?")
        );
        assert!(!t.contains('\\'));
    }
    let middle = text
        .char_indices()
        .nth(text.chars().count() / 2)
        .map_or(text.len(), |(i, _)| i);
    let (a, b) = text.split_at(middle);
    if let Ok(c) = pkce::challenge(Some(a), Some("S256")) {
        let _ = pkce::verify(Some(&c), Some(b));
    }
    if let Ok(issuer) = Issuer::parse(text) {
        assert!(!issuer.as_str().ends_with('/') && !issuer.as_str().contains(['?', '#', '@']));
    }
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text)
        && let Ok(clients) = Clients::from_json(&value)
    {
        for c in clients.iter() {
            assert!(!c.redirect_uris.is_empty());
        }
    }
    let header = text.lines().next().unwrap_or_default();
    if let Ok(req) = token::read(Some("application/x-www-form-urlencoded"), Some(header), text) {
        assert!(!req.auth.client_id.is_empty());
    }
    let _ = token::read(Some("application/x-www-form-urlencoded"), None, text);
    if let Ok(query) = read(text) {
        let view = ClientView {
            id: "a",
            native: false,
            redirect_uris: &registered,
            scopes: &["openid", "email"],
        };
        match query.request(Some(&view)) {
            Ok(r) => assert!(registered.iter().any(|u| u.matches(&r.redirect_uri))),
            Err(Failure::Redirected(e)) => {
                assert!(registered.iter().any(|u| u.matches(&e.redirect_uri)));
                if let Ok(issuer) = Issuer::parse("https://auth.example.com") {
                    let _ = e.location(&issuer);
                }
            }
            Err(Failure::Shown(_)) => {}
        }
    }
});
