//! Registered clients (first-party apps), read from the portal's configuration — checklist
//! items 4, 11, 37, 44, and the client half of 36 (allowed origins).
//!
//! ```json
//! {"clients": {"app-a": {
//!   "type": "public",                        // or "confidential" with "secret_sha256"
//!   "redirect_uris": ["https://appa.com/callback"],
//!   "post_logout_redirect_uris": ["https://appa.com/"],
//!   "allowed_origins": ["https://appa.com"],
//!   "backchannel_logout_uri": "https://appa.com/backchannel-logout",
//!   "scopes": ["openid", "email", "profile"],
//!   "first_party": true,                      // consent may be skipped
//!   "access_token_ttl": 3600, "refresh_token_ttl": 2592000, "id_token_alg": "RS256"
//! }}}
//! ```
//! A confidential client's secret is never in the configuration: only its SHA-256 (secrets are
//! generated with 256 bits of entropy by the CLI, so a fast hash is enough, as for PATs), and it
//! is checked in constant time.

use portcullis_core::json::{JsonError, Strict};
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::redirect::RedirectUri;

/// How a client authenticates at the token endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// PKCE only (`token_endpoint_auth_method=none`).
    Public,
    /// PKCE and a secret, by the one method registered.
    Confidential {
        /// The secret's SHA-256.
        hash: [u8; 32],
        /// `client_secret_basic` (the default) or `client_secret_post`.
        method: SecretMethod,
    },
}

/// Where a confidential client sends its secret (item 37: the registered method only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretMethod {
    /// HTTP Basic.
    Basic,
    /// `client_secret` in the body.
    Post,
}

/// The id_token algorithm of a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdTokenAlg {
    /// OIDC's default.
    Rs256,
    /// Registered per client.
    Es256,
}

/// One registered client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    /// `client_id`.
    pub id: String,
    /// Public or confidential.
    pub kind: Kind,
    /// Exact redirect URIs (item 2–4).
    pub redirect_uris: Vec<RedirectUri>,
    /// Exact post-logout redirect URIs (item 44).
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    /// Browser origins allowed to call the token, revocation and userinfo endpoints (item 36).
    pub allowed_origins: Vec<String>,
    /// Where back-channel logout tokens are POSTed (item 45).
    pub backchannel_logout_uri: Option<String>,
    /// Scopes it may ask for.
    pub scopes: Vec<String>,
    /// A first-party app: consent is not asked (item 11: others are never redirected to
    /// without a reviewed consent).
    pub first_party: bool,
    /// Access token lifetime, seconds.
    pub access_token_ttl: u32,
    /// Refresh token (family) lifetime, seconds.
    pub refresh_token_ttl: u32,
    /// The id_token algorithm.
    pub id_token_alg: IdTokenAlg,
}

impl Client {
    /// Whether `secret` is this client's (constant time; a public client has none).
    #[must_use]
    pub fn secret_matches(&self, secret: &str) -> bool {
        match &self.kind {
            Kind::Public => false,
            Kind::Confidential { hash, .. } => {
                let presented: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
                presented.ct_eq(hash).into()
            }
        }
    }

    /// A native app (loopback or private-use redirect URIs): consent is always shown and
    /// `prompt=none` cannot skip it (RFC 8252 §8.6).
    #[must_use]
    pub fn native(&self) -> bool {
        self.redirect_uris.iter().any(RedirectUri::is_native)
    }

    /// The scopes as `&str`, for [`crate::authorize::ClientView`].
    #[must_use]
    pub fn scope_names(&self) -> Vec<&str> {
        self.scopes.iter().map(String::as_str).collect()
    }
}

/// Lifetimes a client may set.
const ACCESS_TTL: std::ops::RangeInclusive<u64> = 60..=86_400;
const REFRESH_TTL: std::ops::RangeInclusive<u64> = 3_600..=31_536_000;

/// The scopes a client gets when it lists none.
pub const DEFAULT_SCOPES: [&str; 3] = ["openid", "email", "profile"];

/// Scopes the portal knows.
pub const KNOWN_SCOPES: [&str; 5] = ["openid", "email", "profile", "phone", "offline_access"];

fn client_id_ok(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// `scheme://host[:port]`, https (http only on loopback), lowercase, nothing after.
fn origin_ok(origin: &str) -> bool {
    let Some((scheme, host)) = origin.split_once("://") else {
        return false;
    };
    let (name, port) = match host.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => (h, Some(p)),
        _ => (host, None),
    };
    let port_ok = port.is_none_or(|p| {
        !p.is_empty()
            && !p.starts_with('0')
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u16>().is_ok()
    });
    let name_ok = name == "[::1]"
        || (!name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b".-".contains(&b)));
    let loopback = matches!(name, "127.0.0.1" | "[::1]" | "localhost");
    (scheme == "https" || (scheme == "http" && loopback)) && port_ok && name_ok
}

fn uris(s: &mut Strict<'_>, key: &'static str) -> Result<Vec<RedirectUri>, JsonError> {
    let path = s.path_of(key);
    s.strings(key)?
        .into_iter()
        .enumerate()
        .map(|(i, u)| {
            RedirectUri::register(u)
                .map_err(|e| JsonError::new(format!("{path}[{i}]"), e.to_string()))
        })
        .collect()
}

fn ttl(
    s: &mut Strict<'_>,
    key: &'static str,
    range: std::ops::RangeInclusive<u64>,
    default: u32,
) -> Result<u32, JsonError> {
    let path = s.path_of(key);
    match s.u64(key)? {
        None => Ok(default),
        Some(v) if range.contains(&v) => {
            u32::try_from(v).map_err(|_| JsonError::new(&path, "too large"))
        }
        Some(_) => Err(JsonError::new(
            path,
            format!("{} to {} seconds", range.start(), range.end()),
        )),
    }
}

fn client(id: &str, s: &mut Strict<'_>) -> Result<Client, JsonError> {
    let kind_path = s.path_of("type");
    let secret_path = s.path_of("secret_sha256");
    let secret = s.str("secret_sha256")?;
    let kind = match (s.str("type")?, secret) {
        (Some("public"), None) => Kind::Public,
        (Some("public"), Some(_)) => {
            return Err(JsonError::new(secret_path, "a public client has no secret"));
        }
        (Some("confidential"), Some(hex)) => {
            let method_path = s.path_of("token_endpoint_auth_method");
            let method = match s.str("token_endpoint_auth_method")? {
                None | Some("client_secret_basic") => SecretMethod::Basic,
                Some("client_secret_post") => SecretMethod::Post,
                Some(_) => {
                    return Err(JsonError::new(
                        method_path,
                        "client_secret_basic or client_secret_post",
                    ));
                }
            };
            Kind::Confidential {
                hash: unhex32(hex)
                    .ok_or_else(|| JsonError::new(&secret_path, "64 lowercase hex digits"))?,
                method,
            }
        }
        (Some("confidential"), None) => {
            return Err(JsonError::new(
                secret_path,
                "required for a confidential client (the SHA-256 of its secret, hex)",
            ));
        }
        _ => return Err(JsonError::new(kind_path, "public or confidential")),
    };
    let redirect_path = s.path_of("redirect_uris");
    let redirect_uris = uris(s, "redirect_uris")?;
    if redirect_uris.is_empty() {
        return Err(JsonError::new(redirect_path, "at least one redirect URI"));
    }
    // One kind of app per client: a web app's consent must not cover a native URI that any
    // local process can claim.
    let native = redirect_uris.iter().filter(|u| u.is_native()).count();
    if native != 0 && native != redirect_uris.len() {
        return Err(JsonError::new(
            redirect_path,
            "web (https) and native (loopback or private-use scheme) redirect URIs belong to separate clients",
        ));
    }
    let post_logout_redirect_uris = uris(s, "post_logout_redirect_uris")?;
    let origins_path = s.path_of("allowed_origins");
    let allowed_origins = s
        .strings("allowed_origins")?
        .into_iter()
        .enumerate()
        .map(|(i, o)| {
            if origin_ok(o) {
                Ok(o.to_owned())
            } else {
                Err(JsonError::new(
                    format!("{origins_path}[{i}]"),
                    "an origin: https://host[:port] (http only on loopback), lowercase, no path",
                ))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let backchannel_path = s.path_of("backchannel_logout_uri");
    let backchannel_logout_uri = match s.str("backchannel_logout_uri")? {
        None => None,
        Some(u) => {
            // The same rules as a redirect URI, but it must be a web URL.
            let ok = RedirectUri::register(u).is_ok()
                && (u.starts_with("https://") || u.starts_with("http://"));
            if !ok {
                return Err(JsonError::new(
                    backchannel_path,
                    "an https URL (http only on loopback), no fragment",
                ));
            }
            Some(u.to_owned())
        }
    };
    let scopes_path = s.path_of("scopes");
    let listed = s.strings("scopes")?;
    let scopes: Vec<String> = if listed.is_empty() {
        DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect()
    } else {
        if let Some(unknown) = listed.iter().find(|s| !KNOWN_SCOPES.contains(s)) {
            return Err(JsonError::new(
                scopes_path,
                format!("{unknown}: one of {}", KNOWN_SCOPES.join(", ")),
            ));
        }
        listed.into_iter().map(str::to_owned).collect()
    };
    let first_party_path = s.path_of("first_party");
    let first_party = s.bool("first_party")?.unwrap_or(false);
    if first_party && native != 0 {
        return Err(JsonError::new(
            first_party_path,
            "a native app's redirect URI can be claimed by any local process or app: its consent is never skipped",
        ));
    }
    let access_token_ttl = ttl(s, "access_token_ttl", ACCESS_TTL, 3_600)?;
    let refresh_token_ttl = ttl(s, "refresh_token_ttl", REFRESH_TTL, 2_592_000)?;
    let alg_path = s.path_of("id_token_alg");
    let id_token_alg = match s.str("id_token_alg")? {
        None | Some("RS256") => IdTokenAlg::Rs256,
        Some("ES256") => IdTokenAlg::Es256,
        Some(_) => return Err(JsonError::new(alg_path, "RS256 or ES256")),
    };
    Ok(Client {
        id: id.to_owned(),
        kind,
        redirect_uris,
        post_logout_redirect_uris,
        allowed_origins,
        backchannel_logout_uri,
        scopes,
        first_party,
        access_token_ttl,
        refresh_token_ttl,
        id_token_alg,
    })
}

fn unhex32(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The registered clients.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Clients(Vec<Client>);

impl Clients {
    /// Reads `{"clients": {id: {…}}}`.
    ///
    /// # Errors
    /// A [`JsonError`] naming the member at fault.
    pub fn from_json(value: &Value) -> Result<Self, JsonError> {
        let mut s = Strict::new(value, "")?;
        let out = s.tables("clients", |id, one| {
            if !client_id_ok(id) {
                return Err(JsonError::new(
                    one.path(),
                    "a client_id is 1-64 of A-Z a-z 0-9 - _ .",
                ));
            }
            client(id, one)
        })?;
        s.finish()?;
        Ok(Self(out))
    }

    /// The client `id`.
    #[must_use]
    pub fn get(&self, id: &str) -> Option<&Client> {
        self.0.iter().find(|c| c.id == id)
    }

    /// Every client.
    pub fn iter(&self) -> impl Iterator<Item = &Client> {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn secret_hash(secret: &str) -> String {
        portcullis_core::encoding::hex(&Sha256::digest(secret.as_bytes()))
    }

    #[test]
    fn clients_are_read_with_their_defaults() {
        let cfg = json!({"clients": {
            "app-a": {"type": "public", "redirect_uris": ["https://appa.com/cb"],
                      "allowed_origins": ["https://appa.com"], "first_party": true},
            "app-b": {"type": "confidential", "secret_sha256": secret_hash("s3cret-of-b"),
                      "token_endpoint_auth_method": "client_secret_post",
                      "redirect_uris": ["https://appb.net/cb", "https://appb.net/cb2"],
                      "post_logout_redirect_uris": ["https://appb.net/"],
                      "backchannel_logout_uri": "https://appb.net/bcl",
                      "scopes": ["openid", "offline_access"], "access_token_ttl": 600,
                      "id_token_alg": "ES256"}
        }});
        let clients = Clients::from_json(&cfg).unwrap();
        let a = clients.get("app-a").unwrap();
        assert_eq!(a.kind, Kind::Public);
        assert_eq!(a.scopes, DEFAULT_SCOPES);
        assert_eq!(
            (a.access_token_ttl, a.refresh_token_ttl),
            (3_600, 2_592_000)
        );
        assert_eq!(a.id_token_alg, IdTokenAlg::Rs256);
        assert!(a.first_party);
        assert!(!a.secret_matches(""), "a public client has no secret");
        let b = clients.get("app-b").unwrap();
        assert!(b.secret_matches("s3cret-of-b"));
        assert!(!b.secret_matches("s3cret-of-b "));
        assert!(!b.secret_matches("s3cret-of-"));
        assert_eq!(b.id_token_alg, IdTokenAlg::Es256);
        assert_eq!(b.access_token_ttl, 600);
        assert!(!b.first_party, "consent unless said");
        assert!(matches!(
            b.kind,
            Kind::Confidential {
                method: SecretMethod::Post,
                ..
            }
        ));
        assert!(!b.native());
        assert!(clients.get("app-c").is_none());
    }

    #[test]
    fn native_apps_origins_and_auth_methods() {
        let with = |c: Value| {
            Clients::from_json(&json!({"clients": {"a": c}}))
                .map(|cs| cs.get("a").unwrap().native())
                .map_err(|e| e.to_string())
        };
        let public = |extra: Value| {
            let mut c = json!({"type": "public", "redirect_uris": ["https://a.com/cb"]});
            for (k, v) in extra.as_object().unwrap() {
                c[k] = v.clone();
            }
            c
        };
        assert_eq!(
            with(public(
                json!({"redirect_uris": ["http://127.0.0.1/cb", "http://[::1]/cb"]})
            )),
            Ok(true)
        );
        assert_eq!(
            with(public(
                json!({"allowed_origins": ["https://a.com:8443", "http://localhost:3000", "http://[::1]:3000"]})
            )),
            Ok(false)
        );
        for (extra, member) in [
            (
                json!({"allowed_origins": ["https://a.com:"]}),
                "allowed_origins[0]",
            ),
            (
                json!({"allowed_origins": ["https://a.com:1:2"]}),
                "allowed_origins[0]",
            ),
            (
                json!({"allowed_origins": ["https://a.com:99999"]}),
                "allowed_origins[0]",
            ),
            (
                json!({"allowed_origins": ["https://a.com:0443"]}),
                "allowed_origins[0]",
            ),
            (
                json!({"redirect_uris": ["https://a.com/cb", "http://127.0.0.1/cb"]}),
                "redirect_uris",
            ),
            (
                json!({"redirect_uris": ["com.a.app:/cb", "https://a.com/cb"]}),
                "redirect_uris",
            ),
            (
                json!({"redirect_uris": ["http://127.0.0.1/cb"], "first_party": true}),
                "first_party",
            ),
            (
                json!({"redirect_uris": ["com.a.app:/cb"], "first_party": true}),
                "first_party",
            ),
        ] {
            let e = with(public(extra.clone())).unwrap_err();
            assert!(e.contains(&format!("clients.a.{member}")), "{extra}: {e}");
        }
        let bad_method = json!({"type": "confidential", "secret_sha256": secret_hash("x"),
            "token_endpoint_auth_method": "none", "redirect_uris": ["https://a.com/cb"]});
        assert!(
            with(bad_method)
                .unwrap_err()
                .contains("token_endpoint_auth_method")
        );
    }

    #[test]
    fn bad_registrations_name_the_member() {
        let good = json!({"type": "public", "redirect_uris": ["https://a.com/cb"]});
        let with = |patch: Value| {
            let mut c = good.clone();
            for (k, v) in patch.as_object().unwrap() {
                if v.is_null() {
                    c.as_object_mut().unwrap().remove(k);
                } else {
                    c[k] = v.clone();
                }
            }
            Clients::from_json(&json!({"clients": {"a": c}}))
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        assert_eq!(with(json!({})), Ok(()));
        for (patch, member) in [
            (json!({"type": null}), "clients.a.type"),
            (json!({"type": "spa"}), "clients.a.type"),
            (
                json!({"secret_sha256": secret_hash("x")}),
                "clients.a.secret_sha256",
            ),
            (json!({"type": "confidential"}), "clients.a.secret_sha256"),
            (
                json!({"type": "confidential", "secret_sha256": "ABC"}),
                "clients.a.secret_sha256",
            ),
            (
                json!({"type": "confidential", "secret_sha256": secret_hash("x").to_uppercase()}),
                "clients.a.secret_sha256",
            ),
            (json!({"redirect_uris": []}), "clients.a.redirect_uris"),
            (
                json!({"redirect_uris": ["https://a.com/cb#x"]}),
                "clients.a.redirect_uris[0]",
            ),
            (
                json!({"redirect_uris": ["https://a.com/cb", "http://a.com/cb"]}),
                "clients.a.redirect_uris[1]",
            ),
            (
                json!({"redirect_uris": ["javascript:alert(1)"]}),
                "clients.a.redirect_uris[0]",
            ),
            (
                json!({"post_logout_redirect_uris": ["https://*.a.com/"]}),
                "clients.a.post_logout_redirect_uris[0]",
            ),
            (
                json!({"allowed_origins": ["https://a.com/"]}),
                "clients.a.allowed_origins[0]",
            ),
            (
                json!({"allowed_origins": ["*"]}),
                "clients.a.allowed_origins[0]",
            ),
            (
                json!({"allowed_origins": ["http://a.com"]}),
                "clients.a.allowed_origins[0]",
            ),
            (
                json!({"allowed_origins": ["https://A.com"]}),
                "clients.a.allowed_origins[0]",
            ),
            (
                json!({"backchannel_logout_uri": "com.a.app:/bcl"}),
                "clients.a.backchannel_logout_uri",
            ),
            (
                json!({"backchannel_logout_uri": "http://a.com/bcl"}),
                "clients.a.backchannel_logout_uri",
            ),
            (json!({"scopes": ["admin"]}), "clients.a.scopes"),
            (
                json!({"access_token_ttl": 59}),
                "clients.a.access_token_ttl",
            ),
            (
                json!({"refresh_token_ttl": 60}),
                "clients.a.refresh_token_ttl",
            ),
            (json!({"id_token_alg": "HS256"}), "clients.a.id_token_alg"),
            (json!({"colour": 1}), "clients.a.colour"),
        ] {
            let e = with(patch.clone()).unwrap_err();
            assert!(e.contains(member), "{patch}: {e}");
        }
        let bad_id = Clients::from_json(&json!({"clients": {"a b": good}})).unwrap_err();
        assert!(bad_id.to_string().contains("a b"), "{bad_id}");
    }
}
