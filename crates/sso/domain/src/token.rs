//! Token endpoint requests (`POST /token`) and their errors — checklist items 8, 15, 34, 37, 38.
//!
//! What is read here: the body's media type (form only, item 34), its parameters (each at most
//! once), the grant, and the client's credentials (HTTP Basic per RFC 6749 §2.3.1 — both parts
//! form-encoded — or `client_id`/`client_secret` in the body, never both). Whether the code or
//! refresh token is good is the service's question (it is state); whether the client is who it
//! says is [`authenticate`].

use std::fmt;

use portcullis_core::Secret;
use portcullis_core::encoding::base64_decode;
use portcullis_core::form::{self, Form, FormError};
use serde_json::{Value, json};

use crate::clients::{Client, Kind, SecretMethod};

/// A token endpoint error (RFC 6749 §5.2), with its HTTP status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenError {
    /// 400 `invalid_request`: malformed, a parameter repeated or missing, two auth methods.
    InvalidRequest(String),
    /// 401 `invalid_client`: unknown client or bad credentials. `basic`: the client tried HTTP
    /// Basic, so the answer carries `WWW-Authenticate` (item 37).
    InvalidClient {
        /// The client authenticated (or tried) with HTTP Basic.
        basic: bool,
    },
    /// 400 `invalid_grant`: a bad, expired, replayed or foreign code or refresh token, or a
    /// PKCE failure (item 15).
    InvalidGrant(String),
    /// 400 `unsupported_grant_type`.
    UnsupportedGrantType,
    /// 400 `invalid_scope`: a refresh asked for more than the grant holds (item 41).
    InvalidScope,
    /// 415 (RFC 6749 says 400; the media type is named either way): not a form body (item 34).
    MediaType,
}

impl TokenError {
    /// The HTTP status.
    #[must_use]
    pub const fn status(&self) -> u16 {
        match self {
            Self::InvalidClient { .. } => 401,
            _ => 400,
        }
    }

    /// The `error` code.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) | Self::MediaType => "invalid_request",
            Self::InvalidClient { .. } => "invalid_client",
            Self::InvalidGrant(_) => "invalid_grant",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
        }
    }

    /// The JSON body (item 38): `{"error", "error_description"}`, no request data echoed.
    #[must_use]
    pub fn body(&self) -> Value {
        json!({"error": self.code(), "error_description": self.to_string()})
    }

    /// `WWW-Authenticate` for a failed Basic authentication (RFC 6749 §5.2).
    #[must_use]
    pub const fn www_authenticate(&self) -> Option<&'static str> {
        match self {
            Self::InvalidClient { basic: true } => Some("Basic realm=\"portcullis\""),
            _ => None,
        }
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidRequest(m) | Self::InvalidGrant(m) => f.write_str(m),
            Self::InvalidClient { .. } => f.write_str("client authentication failed"),
            Self::UnsupportedGrantType => {
                f.write_str("grant_type is authorization_code or refresh_token")
            }
            Self::InvalidScope => f.write_str("a refresh may only narrow the granted scope"),
            Self::MediaType => f.write_str("the body must be application/x-www-form-urlencoded"),
        }
    }
}

impl std::error::Error for TokenError {}

/// How the client authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// `client_id` alone (a public client).
    None,
    /// HTTP Basic.
    Basic,
    /// `client_secret` in the body.
    Post,
}

/// The client's claimed identity and secret.
#[derive(Debug)]
pub struct ClientAuth {
    /// `client_id`.
    pub client_id: String,
    /// The secret, when one was sent.
    pub secret: Option<Secret<String>>,
    /// How.
    pub method: AuthMethod,
}

/// The grant asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grant {
    /// `authorization_code`.
    AuthorizationCode {
        /// `code`.
        code: String,
        /// `redirect_uri`, when sent (item 22: then it must equal the authorization's).
        redirect_uri: Option<String>,
        /// `code_verifier` (checked against the code's challenge, item 15).
        code_verifier: Option<String>,
    },
    /// `refresh_token`.
    RefreshToken {
        /// `refresh_token`.
        refresh_token: String,
        /// `scope`, when sent (it may only narrow, item 41).
        scope: Option<Vec<String>>,
    },
}

/// A read token request.
#[derive(Debug)]
pub struct TokenRequest {
    /// Who.
    pub auth: ClientAuth,
    /// What.
    pub grant: Grant,
}

/// The largest body read.
pub const MAX_BODY_BYTES: usize = 8192;

/// Whether `content_type` is `application/x-www-form-urlencoded` (parameters such as
/// `charset=UTF-8` allowed).
#[must_use]
pub fn is_form(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|t| {
        t.split(';').next().is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
    })
}

/// HTTP Basic credentials, each part form-decoded (RFC 6749 §2.3.1). `None` when the header is
/// not Basic at all; `Some(Err)` when it is Basic but broken.
fn basic(authorization: Option<&str>) -> Option<Result<(String, String), ()>> {
    let header = authorization?;
    let (scheme, rest) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    Some((|| {
        let raw = base64_decode(rest.trim()).map_err(|_| ())?;
        let text = String::from_utf8(raw).map_err(|_| ())?;
        let (id, secret) = text.split_once(':').ok_or(())?;
        let id = form::decode(id).map_err(|_| ())?.into_owned();
        let secret = form::decode(secret).map_err(|_| ())?.into_owned();
        if id.is_empty() {
            return Err(());
        }
        Ok((id, secret))
    })())
}

/// Reads a token request.
///
/// # Errors
/// [`TokenError`].
pub fn read(
    content_type: Option<&str>,
    authorization: Option<&str>,
    body: &str,
) -> Result<TokenRequest, TokenError> {
    if !is_form(content_type) {
        return Err(TokenError::MediaType);
    }
    if body.len() > MAX_BODY_BYTES {
        return Err(TokenError::InvalidRequest("the body is too large".into()));
    }
    let form = Form::parse(body, &[]).map_err(|e| {
        TokenError::InvalidRequest(match e {
            FormError::Repeated(name) => format!("{name} appears more than once"),
            FormError::Encoding => "the body is not form-encoded UTF-8".into(),
            FormError::TooMany => "too many parameters".into(),
        })
    })?;
    let body_id = form.get("client_id");
    let body_secret = form.get("client_secret");
    let auth = match basic(authorization) {
        Some(Err(())) => return Err(TokenError::InvalidClient { basic: true }),
        Some(Ok((id, secret))) => {
            if body_secret.is_some() {
                return Err(TokenError::InvalidRequest(
                    "one client authentication method, not two".into(),
                ));
            }
            if body_id.is_some_and(|b| b != id) {
                return Err(TokenError::InvalidClient { basic: true });
            }
            ClientAuth {
                client_id: id,
                secret: Some(Secret::new(secret)),
                method: AuthMethod::Basic,
            }
        }
        None => {
            if authorization.is_some() {
                // A Bearer or other scheme: not a way to authenticate a client here.
                return Err(TokenError::InvalidClient { basic: false });
            }
            let id = body_id
                .ok_or_else(|| TokenError::InvalidRequest("client_id is required".into()))?;
            ClientAuth {
                client_id: id.to_owned(),
                secret: body_secret.map(|s| Secret::new(s.to_owned())),
                method: if body_secret.is_some() {
                    AuthMethod::Post
                } else {
                    AuthMethod::None
                },
            }
        }
    };
    let required = |name: &str| {
        form.get(name)
            .map(str::to_owned)
            .ok_or_else(|| TokenError::InvalidRequest(format!("{name} is required")))
    };
    let grant = match form.get("grant_type") {
        None => return Err(TokenError::InvalidRequest("grant_type is required".into())),
        Some("authorization_code") => Grant::AuthorizationCode {
            code: required("code")?,
            redirect_uri: form.get("redirect_uri").map(str::to_owned),
            code_verifier: form.get("code_verifier").map(str::to_owned),
        },
        Some("refresh_token") => Grant::RefreshToken {
            refresh_token: required("refresh_token")?,
            scope: form.get("scope").map(|s| {
                let mut out: Vec<String> = Vec::new();
                for one in s.split(' ').filter(|x| !x.is_empty()) {
                    if !out.iter().any(|o| o == one) {
                        out.push(one.to_owned());
                    }
                }
                out
            }),
        },
        Some(_) => return Err(TokenError::UnsupportedGrantType),
    };
    Ok(TokenRequest { auth, grant })
}

/// Authenticates the client (item 37): a public client sends no secret; a confidential one
/// sends its secret, compared in constant time. Every failure is the same `invalid_client`.
///
/// # Errors
/// [`TokenError::InvalidClient`].
pub fn authenticate<'c>(
    auth: &ClientAuth,
    client: Option<&'c Client>,
) -> Result<&'c Client, TokenError> {
    let fail = TokenError::InvalidClient {
        basic: auth.method == AuthMethod::Basic,
    };
    let Some(client) = client.filter(|c| c.id == auth.client_id) else {
        return Err(fail);
    };
    let registered = match &client.kind {
        Kind::Public => AuthMethod::None,
        Kind::Confidential {
            method: SecretMethod::Basic,
            ..
        } => AuthMethod::Basic,
        Kind::Confidential {
            method: SecretMethod::Post,
            ..
        } => AuthMethod::Post,
    };
    if auth.method != registered {
        return Err(fail);
    }
    match &auth.secret {
        None if registered == AuthMethod::None => Ok(client),
        Some(secret) if client.secret_matches(secret.expose()) => Ok(client),
        _ => Err(fail),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

    use portcullis_core::encoding::{base64_encode, hex};
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::clients::Clients;

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

    fn clients() -> Clients {
        let hash = hex(&Sha256::digest(b"p@ss:word+1"));
        Clients::from_json(&json!({"clients": {
            "spa": {"type": "public", "redirect_uris": ["https://a.com/cb"]},
            "srv": {"type": "confidential", "secret_sha256": hash, "redirect_uris": ["https://b.com/cb"]},
            "post": {"type": "confidential", "secret_sha256": hex(&Sha256::digest(b"p@ss:word+1")),
                     "token_endpoint_auth_method": "client_secret_post", "redirect_uris": ["https://c.com/cb"]}
        }}))
        .unwrap()
    }

    fn basic_header(id: &str, secret: &str) -> String {
        // RFC 6749 §2.3.1: each part form-encoded, then base64.
        let enc = portcullis_core::outbound::form_encode(&[(id, secret)]);
        let (i, s) = enc.split_once('=').unwrap();
        format!("Basic {}", base64_encode(format!("{i}:{s}").as_bytes()))
    }

    fn ok(ct: Option<&str>, auth: Option<&str>, body: &str) -> TokenRequest {
        read(ct, auth, body).unwrap()
    }

    #[test]
    fn only_form_bodies_are_read() {
        // Item 34.
        let body = "grant_type=authorization_code&code=c&client_id=spa";
        for ct in [
            None,
            Some("application/json"),
            Some("text/plain"),
            Some("multipart/form-data"),
        ] {
            assert_eq!(
                read(ct, None, body).unwrap_err(),
                TokenError::MediaType,
                "{ct:?}"
            );
        }
        for ct in [
            "application/x-www-form-urlencoded",
            "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
        ] {
            assert!(read(Some(ct), None, body).is_ok(), "{ct}");
        }
    }

    #[test]
    fn grants_are_read_and_checked() {
        let r = ok(
            FORM,
            None,
            "grant_type=authorization_code&code=c0de&redirect_uri=https%3A%2F%2Fa.com%2Fcb&code_verifier=v&client_id=spa",
        );
        assert_eq!(
            r.grant,
            Grant::AuthorizationCode {
                code: "c0de".into(),
                redirect_uri: Some("https://a.com/cb".into()),
                code_verifier: Some("v".into()),
            }
        );
        assert_eq!(r.auth.method, AuthMethod::None);
        let r = ok(
            FORM,
            None,
            "grant_type=refresh_token&refresh_token=rt&scope=openid+email+openid&client_id=spa",
        );
        assert_eq!(
            r.grant,
            Grant::RefreshToken {
                refresh_token: "rt".into(),
                scope: Some(vec!["openid".into(), "email".into()]),
            }
        );
        for (body, error) in [
            ("code=c&client_id=spa", "invalid_request"),
            (
                "grant_type=password&username=a&client_id=spa",
                "unsupported_grant_type",
            ),
            (
                "grant_type=client_credentials&client_id=spa",
                "unsupported_grant_type",
            ),
            (
                "grant_type=authorization_code&client_id=spa",
                "invalid_request",
            ),
            (
                "grant_type=authorization_code&code=&client_id=spa",
                "invalid_request",
            ),
            ("grant_type=refresh_token&client_id=spa", "invalid_request"),
            (
                "grant_type=authorization_code&code=a&code=b&client_id=spa",
                "invalid_request",
            ),
            (
                "grant_type=authorization_code&code=c&client_id=spa&client_id=spa",
                "invalid_request",
            ),
            (
                "grant_type=authorization_code&code=%zz&client_id=spa",
                "invalid_request",
            ),
            ("grant_type=authorization_code&code=c", "invalid_request"),
        ] {
            let e = read(FORM, None, body).unwrap_err();
            assert_eq!(e.code(), error, "{body}");
            assert_eq!(e.status(), 400, "{body}");
            // Item 38: the RFC 6749 shape, nothing of the request echoed.
            let b = e.body();
            assert_eq!(b["error"], error);
            assert!(b["error_description"].is_string());
            assert!(!b.to_string().contains("%zz"));
        }
    }

    #[test]
    fn clients_authenticate_one_way_in_constant_time() {
        // Item 37.
        let cs = clients();
        let body = "grant_type=authorization_code&code=c";
        // Basic with a secret that needs form-encoding (`:` and `+`).
        let h = basic_header("srv", "p@ss:word+1");
        let r = ok(FORM, Some(&h), body);
        assert_eq!(r.auth.method, AuthMethod::Basic);
        assert_eq!(authenticate(&r.auth, cs.get("srv")).unwrap().id, "srv");
        // client_secret_post, for the client registered with it; the other method is refused
        // even with the right secret.
        let posted = format!("{body}&client_id=post&client_secret=p%40ss%3Aword%2B1");
        let r = ok(FORM, None, &posted);
        assert_eq!(r.auth.method, AuthMethod::Post);
        assert!(authenticate(&r.auth, cs.get("post")).is_ok());
        let r = ok(
            FORM,
            None,
            &posted.replace("client_id=post", "client_id=srv"),
        );
        assert!(
            authenticate(&r.auth, cs.get("srv")).is_err(),
            "srv is registered for Basic"
        );
        let r = ok(FORM, Some(&basic_header("post", "p@ss:word+1")), body);
        assert!(
            authenticate(&r.auth, cs.get("post")).is_err(),
            "post is registered for the body"
        );
        // A public client: no secret.
        let r = ok(FORM, None, &format!("{body}&client_id=spa"));
        assert!(authenticate(&r.auth, cs.get("spa")).is_ok());

        // Failures: all invalid_client, 401; WWW-Authenticate only after Basic.
        let wrong = basic_header("srv", "p@ss:word+2");
        let r = ok(FORM, Some(&wrong), body);
        let e = authenticate(&r.auth, cs.get("srv")).unwrap_err();
        assert_eq!(
            (e.status(), e.code(), e.www_authenticate()),
            (401, "invalid_client", Some("Basic realm=\"portcullis\""))
        );
        for (auth, form_body) in [
            (None, format!("{body}&client_id=srv")),
            (None, format!("{body}&client_id=srv&client_secret=nope")),
            (None, format!("{body}&client_id=spa&client_secret=anything")),
            (None, format!("{body}&client_id=ghost")),
        ] {
            let r = ok(FORM, auth, &form_body);
            let e = authenticate(&r.auth, cs.get(&r.auth.client_id)).unwrap_err();
            assert_eq!(
                (e.status(), e.code(), e.www_authenticate()),
                (401, "invalid_client", None),
                "{form_body}"
            );
        }
        // Broken Basic, or Basic with a different body client_id: invalid_client with the header.
        for h in [
            "Basic !!!".to_owned(),
            format!("Basic {}", base64_encode(b"no-colon")),
            format!("Basic {}", base64_encode(b":secret")),
            format!("Basic {}", base64_encode(b"srv:%zz")),
        ] {
            let e = read(FORM, Some(&h), body).unwrap_err();
            assert_eq!(
                e.www_authenticate(),
                Some("Basic realm=\"portcullis\""),
                "{h}"
            );
        }
        let e = read(FORM, Some(&h), &format!("{body}&client_id=spa")).unwrap_err();
        assert_eq!(e.code(), "invalid_client");
        // Two methods at once.
        let e = read(FORM, Some(&h), &format!("{body}&client_secret=x")).unwrap_err();
        assert_eq!(e.code(), "invalid_request");
        // A bearer token is no client authentication.
        let e = read(FORM, Some("Bearer abc"), &format!("{body}&client_id=spa")).unwrap_err();
        assert_eq!((e.status(), e.code()), (401, "invalid_client"));
        // The secret never prints.
        let r = ok(FORM, Some(&basic_header("srv", "p@ss:word+1")), body);
        assert!(!format!("{r:?}").contains("word"));
    }
}
