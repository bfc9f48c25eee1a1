//! The claims of the tokens the portal signs for an app: the id_token (OIDC Core §2) and the
//! back-channel `logout_token` (OIDC Back-Channel Logout 1.0 §2.4) — checklist item 45.
//! Signing is the service's (the portal's key, WebCrypto for RSA).

use serde_json::{Map, Value, json};

/// The `events` member of every logout token.
pub const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// The `typ` header of a logout token.
pub const LOGOUT_TYP: &str = "logout+jwt";

/// A logout token's lifetime: "at most two minutes".
pub const LOGOUT_TOKEN_SECS: i64 = 120;

/// What an id_token says of the sign-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdToken<'a> {
    /// The issuer.
    pub iss: &'a str,
    /// The user (Supabase's `sub`).
    pub sub: &'a str,
    /// The client.
    pub aud: &'a str,
    /// When the user authenticated at the portal (for `max_age`).
    pub auth_time: i64,
    /// The authorization request's `nonce`, echoed.
    pub nonce: Option<&'a str>,
    /// The portal session (`sid`, also in logout tokens).
    pub sid: &'a str,
    /// `aal1` / `aal2` of the portal session.
    pub acr: &'a str,
    /// How the user authenticated (`pwd`, `otp`, `mfa`, …).
    pub amr: &'a [&'a str],
    /// Issued at.
    pub iat: i64,
    /// Expiry.
    pub exp: i64,
    /// Profile claims the granted scopes release (`email`, `email_verified`, …).
    pub extra: &'a Map<String, Value>,
}

impl IdToken<'_> {
    /// The payload. The protocol claims come last, so a profile claim can never replace one.
    #[must_use]
    pub fn payload(&self) -> Value {
        let mut out = self.extra.clone();
        for (k, v) in [
            ("iss", json!(self.iss)),
            ("sub", json!(self.sub)),
            ("aud", json!(self.aud)),
            ("azp", json!(self.aud)),
            ("iat", json!(self.iat)),
            ("exp", json!(self.exp)),
            ("auth_time", json!(self.auth_time)),
            ("sid", json!(self.sid)),
            ("acr", json!(self.acr)),
            ("amr", json!(self.amr)),
        ] {
            out.insert(k.to_owned(), v);
        }
        match self.nonce {
            Some(n) => {
                out.insert("nonce".into(), json!(n));
            }
            None => {
                out.remove("nonce");
            }
        }
        Value::Object(out)
    }
}

/// A back-channel logout token's payload: `iss`, `aud`, `iat`, `exp` (iat + 120 s), `jti`,
/// `events`, `sub` and `sid`; never a `nonce` (item 45; the spec forbids it so a logout token
/// can never pass as an id_token).
#[must_use]
pub fn logout_token(iss: &str, aud: &str, sub: &str, sid: &str, iat: i64, jti: &str) -> Value {
    json!({
        "iss": iss,
        "aud": aud,
        "iat": iat,
        "exp": iat + LOGOUT_TOKEN_SECS,
        "jti": jti,
        "sub": sub,
        "sid": sid,
        "events": {BACKCHANNEL_EVENT: {}},
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn id_tokens_carry_the_session_and_echo_the_nonce() {
        let mut extra = Map::new();
        extra.insert("email".into(), json!("a@b.c"));
        extra.insert("iss".into(), json!("https://evil.example"));
        extra.insert("nonce".into(), json!("forged"));
        let t = IdToken {
            iss: "https://auth.example.com",
            sub: "u1",
            aud: "app-a",
            auth_time: 90,
            nonce: Some("n-1"),
            sid: "s1",
            acr: "aal2",
            amr: &["pwd", "totp"],
            iat: 100,
            exp: 400,
            extra: &extra,
        };
        let p = t.payload();
        assert_eq!(
            p["iss"], "https://auth.example.com",
            "profile claims never replace ours"
        );
        assert_eq!(p["nonce"], "n-1");
        assert_eq!(
            (p["aud"].clone(), p["azp"].clone()),
            (json!("app-a"), json!("app-a"))
        );
        assert_eq!(p["acr"], "aal2");
        assert_eq!(p["amr"], json!(["pwd", "totp"]));
        assert_eq!(p["email"], "a@b.c");
        let no_nonce = IdToken { nonce: None, ..t }.payload();
        assert!(no_nonce.get("nonce").is_none(), "no nonce asked, none sent");
    }

    #[test]
    fn logout_tokens_are_what_the_spec_requires() {
        // Item 45.
        let p = logout_token("https://auth.example.com", "app-a", "u1", "s1", 1_000, "j1");
        assert_eq!(p["exp"].as_i64().unwrap() - p["iat"].as_i64().unwrap(), 120);
        assert_eq!(p["events"], json!({BACKCHANNEL_EVENT: {}}));
        assert!(p.get("nonce").is_none());
        for k in ["iss", "aud", "iat", "jti", "sub", "sid"] {
            assert!(p.get(k).is_some(), "{k}");
        }
    }
}
