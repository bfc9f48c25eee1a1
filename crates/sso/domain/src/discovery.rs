//! The issuer and its metadata (OIDC Discovery 1.0, RFC 8414) — checklist items 13, 23, 43.

use std::fmt;

use serde_json::{Value, json};

/// Why an issuer URL was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IssuerError;

impl fmt::Display for IssuerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the issuer is https://host[:port][/path] (http only on loopback), lowercase host, \
             no query, fragment, userinfo or trailing /",
        )
    }
}

impl std::error::Error for IssuerError {}

/// The portal's issuer: the URL prefix every endpoint is served under (item 43), and the `iss`
/// of every token and authorization response (item 23).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issuer(String);

impl Issuer {
    /// Checks `url`.
    ///
    /// # Errors
    /// [`IssuerError`].
    pub fn parse(url: &str) -> Result<Self, IssuerError> {
        let (scheme, rest) = url.split_once("://").ok_or(IssuerError)?;
        let end = rest.find('/').unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        let host = match authority.rsplit_once(':') {
            Some((h, p)) if !p.contains(']') => {
                let port: u32 = p.parse().map_err(|_| IssuerError)?;
                let default = if scheme == "https" { 443 } else { 80 };
                if !p.bytes().all(|b| b.is_ascii_digit())
                    || !(1..=65_535).contains(&port)
                    || p.starts_with('0')
                    || port == default
                {
                    return Err(IssuerError);
                }
                h
            }
            _ => authority,
        };
        let loopback = matches!(host, "127.0.0.1" | "[::1]" | "localhost");
        let host_ok = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b".-[]:".contains(&b));
        let path_ok = path.is_empty()
            || (!path.ends_with('/')
                && !path.contains("//")
                && !path.split('/').any(|seg| matches!(seg, "." | ".."))
                && path
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/-._~".contains(&b)));
        if !(scheme == "https" || (scheme == "http" && loopback)) || !host_ok || !path_ok {
            return Err(IssuerError);
        }
        Ok(Self(url.to_owned()))
    }

    /// The issuer URL.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `{issuer}{path}` (`path` starts with `/`).
    #[must_use]
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }
}

/// Where each endpoint lives under the issuer.
pub mod paths {
    /// OIDC Discovery.
    pub const DISCOVERY: &str = "/.well-known/openid-configuration";
    /// RFC 8414 (served too: some clients read only this one).
    pub const OAUTH_METADATA: &str = "/.well-known/oauth-authorization-server";
    /// The authorization endpoint.
    pub const AUTHORIZE: &str = "/authorize";
    /// The token endpoint.
    pub const TOKEN: &str = "/token";
    /// RFC 7009 revocation.
    pub const REVOKE: &str = "/revoke";
    /// OIDC userinfo.
    pub const USERINFO: &str = "/userinfo";
    /// The portal's signing keys.
    pub const JWKS: &str = "/jwks";
    /// RP-initiated logout.
    pub const END_SESSION: &str = "/end-session";
}

/// The metadata document (the same for both well-known paths). Lists only what is
/// implemented: `code` alone (item 43), `S256` alone (item 13), `iss` in authorization responses
/// (item 23), the id_token algorithms the portal holds keys for (`algs`, RS256 first: OIDC's
/// default), no request objects.
#[must_use]
pub fn metadata(issuer: &Issuer, scopes: &[&str], algs: &[&str]) -> Value {
    let auth_methods = ["none", "client_secret_basic", "client_secret_post"];
    json!({
        "issuer": issuer.as_str(),
        "authorization_endpoint": issuer.endpoint(paths::AUTHORIZE),
        "token_endpoint": issuer.endpoint(paths::TOKEN),
        "revocation_endpoint": issuer.endpoint(paths::REVOKE),
        "userinfo_endpoint": issuer.endpoint(paths::USERINFO),
        "jwks_uri": issuer.endpoint(paths::JWKS),
        "end_session_endpoint": issuer.endpoint(paths::END_SESSION),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
        "code_challenge_methods_supported": [crate::pkce::METHOD],
        "token_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "scopes_supported": scopes,
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "email", "email_verified", "phone_number", "phone_number_verified"],
        "prompt_values_supported": ["none", "login", "consent"],
        "authorization_response_iss_parameter_supported": true,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "frontchannel_logout_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_parameter_supported": false,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn issuers_are_plain_https_prefixes() {
        for ok in [
            "https://auth.example.com",
            "https://auth.example.com:8443",
            "https://abc.supabase.co/functions/v1/portcullis-sso",
            "http://127.0.0.1:54321/functions/v1/portcullis-sso",
            "http://localhost:8787",
        ] {
            assert_eq!(Issuer::parse(ok).map(|i| i.0), Ok(ok.to_owned()), "{ok}");
        }
        for bad in [
            "http://auth.example.com",
            "https://auth.example.com/",
            "https://auth.example.com/x/",
            "https://auth.example.com?x=1",
            "https://auth.example.com#x",
            "https://user@auth.example.com",
            "https://Auth.example.com",
            "https://auth.example.com:0",
            "https://auth.example.com:443x",
            "https://auth.example.com//x",
            "https://auth.example.com/a b",
            "https://auth.example.com:+443",
            "https://auth.example.com:443",
            "http://127.0.0.1:80",
            "https://auth.example.com/a/../b",
            "https://auth.example.com/./b",
            "https://",
            "auth.example.com",
        ] {
            assert_eq!(Issuer::parse(bad), Err(IssuerError), "{bad}");
        }
    }

    #[test]
    fn metadata_lists_only_what_is_implemented() {
        let issuer = Issuer::parse("https://abc.supabase.co/functions/v1/portcullis-sso").unwrap();
        let m = metadata(&issuer, &["openid", "email"], &["RS256"]);
        // Item 43: the issuer is the prefix of every endpoint; only `code`.
        assert_eq!(m["issuer"], issuer.as_str());
        for endpoint in [
            "authorization_endpoint",
            "token_endpoint",
            "revocation_endpoint",
            "userinfo_endpoint",
            "jwks_uri",
            "end_session_endpoint",
        ] {
            assert!(
                m[endpoint]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("{}/", issuer.as_str())),
                "{endpoint}"
            );
        }
        assert_eq!(m["response_types_supported"], json!(["code"]));
        // Item 13: S256 alone. Item 23: iss in responses. OIDC's default algorithm listed.
        assert_eq!(m["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(m["authorization_response_iss_parameter_supported"], true);
        assert_eq!(m["id_token_signing_alg_values_supported"], json!(["RS256"]));
        assert_eq!(m["scopes_supported"], json!(["openid", "email"]));
        assert_eq!(m["request_parameter_supported"], false);
    }
}
