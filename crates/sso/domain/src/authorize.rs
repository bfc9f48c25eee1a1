//! Authorization requests (`GET /authorize?…`) — checklist items 1, 5, 6, 8, 12–14, 23, 24, 28.
//!
//! Reading a request has two stages, because where an error may be sent depends on what is
//! already known good (RFC 6749 §4.1.2.1, item 6):
//! 1. [`read`] the query and find the client and the redirect URI. Any error up to here (a
//!    broken query, a repeated `client_id`/`redirect_uri`, an unknown client, an unregistered
//!    redirect URI) is [`Shown`] by the portal itself and never redirects (items 1, 2, 5).
//! 2. [`Query::request`] checks everything else against that client. Its errors are
//!    [`Redirected`] to the redirect URI with `error`, `error_description`, `state` and `iss`.

use std::fmt;

use portcullis_core::form::{self, Form, FormError};
use portcullis_core::outbound::percent_encode_into;

use crate::discovery::Issuer;
use crate::pkce::{self, Challenge};
use crate::redirect::{self, RedirectError, RedirectUri};

/// An error the portal renders itself (no redirect, no `Location`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shown {
    /// The query is not valid `application/x-www-form-urlencoded` UTF-8, or too long.
    Query,
    /// `client_id` or `redirect_uri` appears more than once (item 8).
    Repeated(&'static str),
    /// No `client_id`.
    MissingClient,
    /// No such client (item 1).
    UnknownClient,
    /// The redirect URI is missing where required or not registered (items 2, 5).
    Redirect(RedirectError),
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Query => f.write_str("the request's query is malformed"),
            Self::Repeated(name) => write!(f, "{name} appears more than once"),
            Self::MissingClient => f.write_str("client_id is required"),
            Self::UnknownClient => f.write_str("no such client"),
            Self::Redirect(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Shown {}

/// An error sent back to the client's redirect URI (RFC 6749 §4.1.2.1; OIDC Core §3.1.2.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redirected {
    /// Where it goes (a registered, matched URI).
    pub redirect_uri: String,
    /// The `error` code.
    pub error: &'static str,
    /// The `error_description` (no request data in it).
    pub description: String,
    /// The request's `state`, exactly as sent.
    pub state: Option<String>,
}

impl Redirected {
    /// The `Location` to send, with `iss` (RFC 9207, item 23).
    #[must_use]
    pub fn location(&self, issuer: &Issuer) -> String {
        let mut params = vec![
            ("error", self.error),
            ("error_description", self.description.as_str()),
        ];
        if let Some(s) = &self.state {
            params.push(("state", s));
        }
        params.push(("iss", issuer.as_str()));
        with_params(&self.redirect_uri, &params)
    }
}

/// `prompt` (OIDC Core §3.1.2.1): `none` alone, or any of `login` and `consent`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prompt {
    /// `none`: render nothing; answer `login_required` / `consent_required` (item 28).
    pub none: bool,
    /// `login`: authenticate again even with a portal session.
    pub login: bool,
    /// `consent`: ask again even where consent is remembered or skippable.
    pub consent: bool,
}

/// A checked authorization request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The client.
    pub client_id: String,
    /// Where the answer goes (as asked, or the only registered one).
    pub redirect_uri: String,
    /// `redirect_uri` was sent (the token request must then send the same, item 22).
    pub redirect_uri_sent: bool,
    /// Requested scopes, in order, without repeats.
    pub scopes: Vec<String>,
    /// `state`, exactly as sent (item 24).
    pub state: Option<String>,
    /// `nonce`, to put in the id_token.
    pub nonce: Option<String>,
    /// `prompt`.
    pub prompt: Prompt,
    /// `login_hint`.
    pub login_hint: Option<String>,
    /// `max_age` in seconds.
    pub max_age: Option<u64>,
    /// The PKCE challenge (S256).
    pub challenge: Challenge,
    /// The client is a native app: show consent, whatever was remembered.
    pub native: bool,
}

/// What stage 2 needs to know of the client.
#[derive(Clone, Copy, Debug)]
pub struct ClientView<'a> {
    /// Its `client_id` (checked against the request's).
    pub id: &'a str,
    /// A native app (loopback or private-use redirect URIs): consent is always shown, so
    /// `prompt=none` is answered `consent_required` (RFC 8252 §8.6).
    pub native: bool,
    /// Its registered redirect URIs.
    pub redirect_uris: &'a [RedirectUri],
    /// The scopes it may ask for.
    pub scopes: &'a [&'a str],
}

/// The longest query read (a request with a `login_hint` and a long `state` fits easily).
pub const MAX_QUERY_BYTES: usize = 8192;

/// Longest `state`, `nonce` or `login_hint` kept.
pub const MAX_VALUE_BYTES: usize = 1024;

/// A read query, before its client is known.
#[derive(Debug)]
pub struct Query<'a> {
    form: Form<'a>,
    /// A name other than `client_id`/`redirect_uri` appears more than once (refused in stage
    /// 2, item 8; never echoed).
    repeated: bool,
}

/// Stage 1: reads the query of `GET /authorize`.
///
/// # Errors
/// [`Shown`].
pub fn read(query: &str) -> Result<Query<'_>, Shown> {
    if query.len() > MAX_QUERY_BYTES {
        return Err(Shown::Query);
    }
    let pairs = form::pairs(query).map_err(|e| match e {
        FormError::Encoding | FormError::TooMany | FormError::Repeated(_) => Shown::Query,
    })?;
    if pairs.len() > form::MAX_PARAMETERS {
        return Err(Shown::Query);
    }
    let mut repeated = false;
    for (i, (name, _)) in pairs.iter().enumerate() {
        if pairs.iter().skip(i + 1).any(|(n, _)| n == name) {
            match name.as_ref() {
                "client_id" => return Err(Shown::Repeated("client_id")),
                "redirect_uri" => return Err(Shown::Repeated("redirect_uri")),
                _ => repeated = true,
            }
        }
    }
    Ok(Query {
        form: Form::from_pairs(pairs),
        repeated,
    })
}

impl<'a> Query<'a> {
    /// A parameter's value; an empty value counts as absent (RFC 6749 §3.1).
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.form.get(name)
    }

    /// `client_id`, to look the client up.
    ///
    /// # Errors
    /// [`Shown::MissingClient`].
    pub fn client_id(&self) -> Result<&str, Shown> {
        self.get("client_id")
            .filter(|c| !c.is_empty())
            .ok_or(Shown::MissingClient)
    }

    /// Stage 2: the request checked against its client (`None`: no such client).
    ///
    /// # Errors
    /// [`Shown`] until the redirect URI is known good, then [`Redirected`].
    pub fn request(&self, client: Option<&ClientView<'_>>) -> Result<Request, Failure> {
        let client_id = self.client_id()?.to_owned();
        let client = client
            .filter(|c| c.id == client_id)
            .ok_or(Shown::UnknownClient)?;
        let asked = self.get("redirect_uri");
        let redirect_uri = redirect::choose(client.redirect_uris, asked)
            .map_err(Shown::Redirect)?
            .to_owned();
        let state = self.get("state").map(str::to_owned);
        let fail = |error: &'static str, description: String| {
            Failure::Redirected(Redirected {
                redirect_uri: redirect_uri.clone(),
                error,
                description,
                state: state.clone(),
            })
        };
        if self.repeated {
            return Err(fail(
                "invalid_request",
                "a parameter appears more than once".into(),
            ));
        }
        match self.get("response_type") {
            Some("code") => {}
            None => return Err(fail("invalid_request", "response_type is required".into())),
            Some(_) => {
                return Err(fail(
                    "unsupported_response_type",
                    "only response_type=code is supported".into(),
                ));
            }
        }
        if self.get("response_mode").is_some_and(|m| m != "query") {
            return Err(fail(
                "invalid_request",
                "only response_mode=query is supported".into(),
            ));
        }
        // A request object would carry parameters we have not checked.
        for unsupported in ["request", "request_uri"] {
            if self.get(unsupported).is_some() {
                return Err(fail(
                    if unsupported == "request" {
                        "request_not_supported"
                    } else {
                        "request_uri_not_supported"
                    },
                    format!("{unsupported} is not supported"),
                ));
            }
        }
        for (name, value) in [
            ("state", self.get("state")),
            ("nonce", self.get("nonce")),
            ("login_hint", self.get("login_hint")),
        ] {
            if value.is_some_and(|v| v.len() > MAX_VALUE_BYTES) {
                return Err(fail(
                    "invalid_request",
                    format!("{name} is over {MAX_VALUE_BYTES} bytes"),
                ));
            }
        }
        let challenge = pkce::challenge(
            self.get("code_challenge"),
            self.get("code_challenge_method"),
        )
        .map_err(|e| fail("invalid_request", e.to_string()))?;
        let mut scopes: Vec<String> = Vec::new();
        for s in self.get("scope").unwrap_or_default().split(' ') {
            if s.is_empty() || scopes.iter().any(|t| t == s) {
                continue;
            }
            if !client.scopes.contains(&s) {
                return Err(fail(
                    "invalid_scope",
                    "a requested scope is not allowed for this client".into(),
                ));
            }
            scopes.push(s.to_owned());
        }
        let mut prompt = Prompt::default();
        for p in self.get("prompt").unwrap_or_default().split(' ') {
            match p {
                "" => {}
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                // One portal session holds one account: choosing another is signing in again.
                "select_account" => prompt.login = true,
                _ => return Err(fail("invalid_request", "unknown prompt value".into())),
            }
        }
        if prompt.none && (prompt.login || prompt.consent) {
            return Err(fail(
                "invalid_request",
                "prompt=none goes with no other value".into(),
            ));
        }
        if prompt.none && client.native {
            return Err(fail(
                "consent_required",
                "a native app's request needs the user's consent".into(),
            ));
        }
        let max_age = match self.get("max_age") {
            None => None,
            Some(v) if !v.is_empty() && v.len() <= 10 && v.bytes().all(|b| b.is_ascii_digit()) => {
                v.parse().ok()
            }
            Some(_) => {
                return Err(fail(
                    "invalid_request",
                    "max_age is a number of seconds".into(),
                ));
            }
        };
        Ok(Request {
            client_id,
            redirect_uri_sent: asked.is_some(),
            redirect_uri,
            scopes,
            state,
            nonce: self.get("nonce").map(str::to_owned),
            prompt,
            login_hint: self.get("login_hint").map(str::to_owned),
            max_age,
            challenge,
            native: client.native,
        })
    }
}

/// Why [`Query::request`] failed: shown by the portal, or sent back to the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The portal renders it (item 1, 2, 5, 8 for `client_id`/`redirect_uri`).
    Shown(Shown),
    /// Goes to the redirect URI (item 6).
    Redirected(Redirected),
}

impl From<Shown> for Failure {
    fn from(e: Shown) -> Self {
        Self::Shown(e)
    }
}

/// The `Location` of a successful answer: `code`, `state` (only if sent, item 24) and `iss`
/// (item 23).
#[must_use]
pub fn success_location(request: &Request, code: &str, issuer: &Issuer) -> String {
    let mut params = vec![("code", code)];
    if let Some(s) = &request.state {
        params.push(("state", s));
    }
    params.push(("iss", issuer.as_str()));
    with_params(&request.redirect_uri, &params)
}

/// Item 22 at the token endpoint: when the authorization request sent `redirect_uri`, the
/// token request must send the same bytes (a loopback code issued for one port is not
/// redeemed citing another); when it sent none, the token request may send none or exactly the
/// URI the code went to.
#[must_use]
pub fn token_redirect_ok(request: &Request, sent: Option<&str>) -> bool {
    match (request.redirect_uri_sent, sent) {
        (true, Some(s)) | (false, Some(s)) => s == request.redirect_uri,
        (true, None) => false,
        (false, None) => true,
    }
}

/// `uri` with `params` appended to its query, each form-encoded (the registered query stays as
/// it is: the client registered it byte for byte).
fn with_params(uri: &str, params: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(uri.len() + 64);
    out.push_str(uri);
    if !uri.contains('?') {
        out.push('?');
    } else if !uri.ends_with(['?', '&']) {
        out.push('&');
    }
    for (i, (name, value)) in params.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        percent_encode_into(value, &mut out, false);
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

    use super::*;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    fn iss() -> Issuer {
        Issuer::parse("https://auth.example.com").unwrap()
    }

    fn client(uris: &[&str]) -> Vec<RedirectUri> {
        uris.iter()
            .map(|u| RedirectUri::register(u).unwrap())
            .collect()
    }

    fn base() -> String {
        format!(
            "client_id=app-a&redirect_uri=https%3A%2F%2Fa.com%2Fcb&response_type=code\
             &scope=openid%20email&state=xyz%20%26%3D&nonce=n-1&code_challenge={CHALLENGE}\
             &code_challenge_method=S256"
        )
    }

    fn run(query: &str, uris: &[&str]) -> Result<Request, Failure> {
        let uris = client(uris);
        let view = ClientView {
            id: "app-a",
            native: uris.iter().any(RedirectUri::is_native),
            redirect_uris: &uris,
            scopes: &["openid", "email", "profile"],
        };
        read(query).map_err(Failure::Shown)?.request(Some(&view))
    }

    fn redirected(r: Result<Request, Failure>) -> Redirected {
        match r {
            Err(Failure::Redirected(e)) => e,
            other => panic!("not redirected: {other:?}"),
        }
    }

    #[test]
    fn a_good_request_is_read_whole() {
        let r = run(&base(), &["https://a.com/cb"]).unwrap();
        assert_eq!(r.client_id, "app-a");
        assert_eq!(r.redirect_uri, "https://a.com/cb");
        assert!(r.redirect_uri_sent);
        assert_eq!(r.scopes, ["openid", "email"]);
        assert_eq!(r.state.as_deref(), Some("xyz &="));
        assert_eq!(r.nonce.as_deref(), Some("n-1"));
        assert_eq!(r.challenge.as_str(), CHALLENGE);
        assert_eq!(r.prompt, Prompt::default());
        // Item 24: state echoed exactly (encoded once); item 23: iss on success.
        assert_eq!(
            success_location(&r, "c0de", &iss()),
            "https://a.com/cb?code=c0de&state=xyz%20%26%3D&iss=https%3A%2F%2Fauth.example.com"
        );
        let no_state = run(
            &base().replace("&state=xyz%20%26%3D", ""),
            &["https://a.com/cb"],
        )
        .unwrap();
        assert_eq!(
            success_location(&no_state, "c", &iss()),
            "https://a.com/cb?code=c&iss=https%3A%2F%2Fauth.example.com",
            "no state sent, none returned"
        );
    }

    #[test]
    fn before_the_redirect_uri_is_known_good_errors_are_shown() {
        // Items 1, 2, 5, 8: nothing redirects.
        let good = ["https://a.com/cb"];
        assert_eq!(
            read(&base()).unwrap().request(None),
            Err(Failure::Shown(Shown::UnknownClient))
        );
        assert_eq!(
            run(&base().replace("client_id=app-a&", ""), &good),
            Err(Failure::Shown(Shown::MissingClient))
        );
        assert_eq!(
            run(&format!("{}&client_id=app-b", base()), &good),
            Err(Failure::Shown(Shown::Repeated("client_id")))
        );
        assert_eq!(
            run(
                &format!("{}&redirect_uri=https%3A%2F%2Fa.com%2Fcb", base()),
                &good
            ),
            Err(Failure::Shown(Shown::Repeated("redirect_uri")))
        );
        assert_eq!(
            run(&base(), &["https://a.com/cb/"]),
            Err(Failure::Shown(Shown::Redirect(RedirectError::Mismatch)))
        );
        assert_eq!(
            run(
                &base().replace("redirect_uri=https%3A%2F%2Fa.com%2Fcb&", ""),
                &["https://a.com/cb", "https://a.com/cb2"]
            ),
            Err(Failure::Shown(Shown::Redirect(RedirectError::Missing)))
        );
        assert_eq!(run("a=%zz", &good), Err(Failure::Shown(Shown::Query)));
        assert_eq!(
            run(&"a".repeat(MAX_QUERY_BYTES + 1), &good),
            Err(Failure::Shown(Shown::Query))
        );
    }

    #[test]
    fn after_it_errors_go_back_with_state_and_iss() {
        // Items 6, 8, 12, 13, 23, 24.
        let good = ["https://a.com/cb"];
        for (query, error) in [
            (format!("{}&state=again", base()), "invalid_request"),
            (
                base().replace("response_type=code", "response_type=token"),
                "unsupported_response_type",
            ),
            (base().replace("response_type=code&", ""), "invalid_request"),
            (
                base().replace(&format!("code_challenge={CHALLENGE}&"), ""),
                "invalid_request",
            ),
            (
                base().replace("code_challenge_method=S256", "code_challenge_method=plain"),
                "invalid_request",
            ),
            (
                base().replace("&code_challenge_method=S256", ""),
                "invalid_request",
            ),
            (
                base().replace("scope=openid%20email", "scope=openid%20admin"),
                "invalid_scope",
            ),
            (format!("{}&prompt=none%20login", base()), "invalid_request"),
            (format!("{}&prompt=sometimes", base()), "invalid_request"),
            (format!("{}&max_age=-1", base()), "invalid_request"),
            (
                format!("{}&response_mode=fragment", base()),
                "invalid_request",
            ),
            (format!("{}&request=eyJ", base()), "request_not_supported"),
            (
                format!(
                    "{}&nonce2=x&nonce={}",
                    base().replace("&nonce=n-1", ""),
                    "n".repeat(1025)
                ),
                "invalid_request",
            ),
        ] {
            let e = redirected(run(&query, &good));
            assert_eq!(e.error, error, "{query}");
            assert_eq!(e.redirect_uri, "https://a.com/cb");
            let loc = e.location(&iss());
            assert!(
                loc.starts_with(&format!(
                    "https://a.com/cb?error={error}&error_description="
                )),
                "{loc}"
            );
            assert!(
                loc.ends_with("&iss=https%3A%2F%2Fauth.example.com"),
                "{loc}"
            );
            assert!(loc.contains("&state=xyz%20%26%3D&iss="), "{loc}");
        }
        // Without a state, no state comes back.
        let e = redirected(run(
            &base()
                .replace("&state=xyz%20%26%3D", "")
                .replace("response_type=code", "response_type=id_token"),
            &good,
        ));
        assert!(!e.location(&iss()).contains("state="));
    }

    #[test]
    fn nothing_redirects_before_client_and_uri_are_good_whatever_else_is_wrong() {
        // Items 1, 2, 6: a broken request to an unknown client or an unregistered URI is shown,
        // even when other parameters are wrong too (they are checked only afterwards).
        let good = ["https://a.com/cb"];
        let broken = base()
            .replace("response_type=code", "response_type=token")
            .replace("code_challenge_method=S256", "code_challenge_method=plain")
            + "&state=again";
        assert_eq!(
            read(&broken).unwrap().request(None),
            Err(Failure::Shown(Shown::UnknownClient))
        );
        assert_eq!(
            run(&broken, &["https://a.com/other"]),
            Err(Failure::Shown(Shown::Redirect(RedirectError::Mismatch)))
        );
        // A view of another client is no view of this one.
        let uris = client(&good);
        let other = ClientView {
            id: "app-b",
            native: false,
            redirect_uris: &uris,
            scopes: &["openid"],
        };
        assert_eq!(
            read(&base()).unwrap().request(Some(&other)),
            Err(Failure::Shown(Shown::UnknownClient))
        );
        // The description never carries request text.
        let e = redirected(run(&format!("{}&<b>x</b>=1&<b>x</b>=2", base()), &good));
        assert!(!e.description.contains("<b>"), "{}", e.description);
    }

    #[test]
    fn native_apps_always_see_consent_and_the_token_request_cites_the_same_uri() {
        let native = ["http://127.0.0.1/cb"];
        let q = base().replace(
            "https%3A%2F%2Fa.com%2Fcb",
            "http%3A%2F%2F127.0.0.1%3A5000%2Fcb",
        );
        let r = run(&q, &native).unwrap();
        assert!(r.native);
        let e = redirected(run(&format!("{q}&prompt=none"), &native));
        assert_eq!(e.error, "consent_required");
        // Item 22: the exact URI of the authorization, not any port.
        assert!(token_redirect_ok(&r, Some("http://127.0.0.1:5000/cb")));
        assert!(!token_redirect_ok(&r, Some("http://127.0.0.1:6000/cb")));
        assert!(
            !token_redirect_ok(&r, None),
            "sent at authorize: required at token"
        );
        let web = run(
            &base().replace("redirect_uri=https%3A%2F%2Fa.com%2Fcb&", ""),
            &["https://a.com/cb"],
        )
        .unwrap();
        assert!(token_redirect_ok(&web, None));
        assert!(token_redirect_ok(&web, Some("https://a.com/cb")));
        assert!(!token_redirect_ok(&web, Some("https://a.com/cb/")));
    }

    #[test]
    fn empty_values_are_absent() {
        // RFC 6749 §3.1; item 24: an empty state is no state.
        let good = ["https://a.com/cb"];
        let r = run(
            &format!(
                "{}&max_age=&prompt=&response_mode=",
                base().replace("state=xyz%20%26%3D", "state=")
            ),
            &good,
        )
        .unwrap();
        assert_eq!(r.state, None);
        assert!(!success_location(&r, "c", &iss()).contains("state"));
        let r = run(&format!("{}&prompt=select_account", base()), &good).unwrap();
        assert!(r.prompt.login, "another account means signing in again");
    }

    #[test]
    fn prompt_max_age_and_hints_are_read() {
        // Item 28 rests on `prompt.none` being exact.
        let good = ["https://a.com/cb"];
        let r = run(&format!("{}&prompt=none", base()), &good).unwrap();
        assert_eq!(
            r.prompt,
            Prompt {
                none: true,
                ..Prompt::default()
            }
        );
        let r = run(
            &format!(
                "{}&prompt=login%20consent&max_age=0&login_hint=a%40b.c",
                base()
            ),
            &good,
        )
        .unwrap();
        assert!(r.prompt.login && r.prompt.consent && !r.prompt.none);
        assert_eq!(r.max_age, Some(0));
        assert_eq!(r.login_hint.as_deref(), Some("a@b.c"));
        // The only registered URI serves when none is named; the token request then sends none.
        let r = run(
            &base().replace("redirect_uri=https%3A%2F%2Fa.com%2Fcb&", ""),
            &good,
        )
        .unwrap();
        assert_eq!(r.redirect_uri, "https://a.com/cb");
        assert!(!r.redirect_uri_sent);
        // Loopback: the port the client asked is where the code goes.
        let r = run(
            &base().replace(
                "https%3A%2F%2Fa.com%2Fcb",
                "http%3A%2F%2F127.0.0.1%3A53123%2Fcb",
            ),
            &["http://127.0.0.1/cb"],
        )
        .unwrap();
        assert_eq!(r.redirect_uri, "http://127.0.0.1:53123/cb");
    }

    #[test]
    fn a_registered_query_is_kept_and_extended() {
        let good = ["https://a.com/cb?tenant=t1"];
        let r = run(
            &base().replace(
                "https%3A%2F%2Fa.com%2Fcb",
                "https%3A%2F%2Fa.com%2Fcb%3Ftenant%3Dt1",
            ),
            &good,
        )
        .unwrap();
        assert!(
            success_location(&r, "c", &iss())
                .starts_with("https://a.com/cb?tenant=t1&code=c&state=")
        );
    }
}
