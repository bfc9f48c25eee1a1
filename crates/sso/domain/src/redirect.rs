//! Redirect URIs — checklist items 2–5 and 9.
//!
//! A redirect URI is compared as bytes, never parsed and rebuilt: a normalising comparison
//! (case, percent-encoding, trailing `/`, default port) is how authorization codes leak to
//! look-alike URIs. The one exception is RFC 8252 §7.3: a loopback URI (native apps) may use
//! any port, with everything else still byte-identical.

use std::fmt;

/// Why a redirect URI cannot be registered (item 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegistrationError {
    /// Whitespace, a control or a non-ASCII character anywhere (no trimming, no guessing).
    Whitespace,
    /// Not `scheme:…`, or a scheme that is not https, loopback http or a private-use
    /// (reverse-domain) scheme; `javascript:`, `data:`, `vbscript:`, `file:` and `blob:` in any
    /// case are refused.
    Scheme,
    /// A fragment (`#`).
    Fragment,
    /// A wildcard (`*`).
    Wildcard,
    /// `http` to a host that is not loopback.
    PlainHttp,
    /// Userinfo (`user@host`), an empty host, a percent sign or a bad port in the authority.
    Authority,
    /// Over 2,048 bytes.
    TooLong,
}

impl fmt::Display for RegistrationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Whitespace => "a redirect URI is printable ASCII: no whitespace, controls or other characters",
            Self::Scheme => {
                "a redirect URI is https, http on loopback, or a private-use scheme (com.example.app:/…)"
            }
            Self::Fragment => "a redirect URI has no fragment",
            Self::Wildcard => "a redirect URI has no wildcard",
            Self::PlainHttp => "http redirect URIs only to 127.0.0.1, [::1] or localhost",
            Self::Authority => "the host part has no userinfo, no % and a valid port",
            Self::TooLong => "a redirect URI is at most 2048 bytes",
        })
    }
}

impl std::error::Error for RegistrationError {}

/// The most bytes a redirect URI may have.
pub const MAX_URI_BYTES: usize = 2048;

/// The parts of an `http(s)://` URI this module needs.
struct Web<'a> {
    /// `http` or `https`, as written (registration requires lowercase).
    scheme: &'a str,
    host: &'a str,
    /// From the first `/` or `?` after the authority, to the end.
    rest: &'a str,
}

fn web(uri: &str) -> Option<Web<'_>> {
    let (scheme, after) = uri.split_once("://")?;
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let end = after.find(['/', '?']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(end);
    if authority.contains(['@', '%', '\\']) || authority.is_empty() {
        return None;
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => (h, Some(p)),
        _ => (authority, None),
    };
    if host.is_empty() || host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) {
        return None;
    }
    if let Some(p) = port
        && (p.is_empty()
            || p.len() > 5
            || !p.bytes().all(|b| b.is_ascii_digit())
            || p.parse::<u32>().map_or(true, |n| n == 0 || n > 65_535))
    {
        return None;
    }
    Some(Web { scheme, host, rest })
}

/// Loopback hosts (item 3): only these may vary in port.
fn loopback(host: &str) -> bool {
    matches!(host, "127.0.0.1" | "[::1]" | "localhost")
}

/// A registered redirect URI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedirectUri {
    text: String,
    /// A loopback URI: any port matches.
    loopback: bool,
    /// A private-use scheme (`com.example.app:/cb`).
    custom: bool,
}

impl RedirectUri {
    /// Checks `uri` for registration (item 4).
    ///
    /// # Errors
    /// The [`RegistrationError`] for the first problem found.
    pub fn register(uri: &str) -> Result<Self, RegistrationError> {
        if uri.len() > MAX_URI_BYTES {
            return Err(RegistrationError::TooLong);
        }
        // Printable ASCII only: no whitespace or controls, and no non-ASCII (format characters
        // such as U+200B vanish in IDNA processing, and a `Location` carries bytes).
        if !uri.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(RegistrationError::Whitespace);
        }
        let Some((scheme, _)) = uri.split_once(':') else {
            return Err(RegistrationError::Scheme);
        };
        let lower = scheme.to_ascii_lowercase();
        if matches!(
            lower.as_str(),
            "javascript" | "data" | "vbscript" | "file" | "blob"
        ) || scheme.is_empty()
            || !scheme
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphabetic())
            || !scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        {
            return Err(RegistrationError::Scheme);
        }
        if uri.contains('#') {
            return Err(RegistrationError::Fragment);
        }
        if uri.contains('*') {
            return Err(RegistrationError::Wildcard);
        }
        match lower.as_str() {
            "https" | "http" => {
                if scheme != lower {
                    return Err(RegistrationError::Scheme);
                }
                let w = web(uri).ok_or(RegistrationError::Authority)?;
                let is_loopback = loopback(w.host);
                if w.scheme == "http" && !is_loopback {
                    return Err(RegistrationError::PlainHttp);
                }
                Ok(Self {
                    text: uri.to_owned(),
                    loopback: is_loopback,
                    custom: false,
                })
            }
            // RFC 8252 §7.1: private-use schemes are reverse domain names.
            _ if scheme.contains('.')
                && uri.get(scheme.len()..).is_some_and(|r| r.starts_with(":/")) =>
            {
                Ok(Self {
                    text: uri.to_owned(),
                    loopback: false,
                    custom: true,
                })
            }
            _ => Err(RegistrationError::Scheme),
        }
    }

    /// The URI as registered.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// A native app's URI (loopback or private-use scheme): any local process or app can claim
    /// it, so a code sent there must follow a consent the user saw (RFC 8252 §8.6).
    #[must_use]
    pub const fn is_native(&self) -> bool {
        self.loopback || self.custom
    }

    /// Byte equality, no loopback port allowance (post-logout URIs, item 44).
    #[must_use]
    pub fn matches_exactly(&self, asked: &str) -> bool {
        asked == self.text
    }

    /// Whether `asked` names this URI (items 2 and 3): byte-identical, or for a loopback URI
    /// identical but for the port.
    #[must_use]
    pub fn matches(&self, asked: &str) -> bool {
        if asked == self.text {
            return true;
        }
        if !self.loopback {
            return false;
        }
        // `web` has checked the asked port (1-65535, digits): any such port, or none.
        match (web(&self.text), web(asked)) {
            (Some(mine), Some(theirs)) => {
                mine.scheme == theirs.scheme && mine.host == theirs.host && mine.rest == theirs.rest
            }
            _ => false,
        }
    }
}

/// Why an authorization request's `redirect_uri` was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedirectError {
    /// The client registered several and the request named none (item 5).
    Missing,
    /// Not a registered URI (item 2).
    Mismatch,
}

impl fmt::Display for RedirectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Missing => "redirect_uri is required: the client registered several",
            Self::Mismatch => "redirect_uri is not registered for this client",
        })
    }
}

impl std::error::Error for RedirectError {}

/// The redirect URI to send the answer to: `asked` when it matches a registered one, the only
/// registered one when none is asked.
///
/// # Errors
/// [`RedirectError`].
pub fn choose<'a>(
    registered: &'a [RedirectUri],
    asked: Option<&'a str>,
) -> Result<&'a str, RedirectError> {
    match (asked, registered) {
        (Some(a), _) if registered.iter().any(|r| r.matches(a)) => Ok(a),
        (Some(_), _) => Err(RedirectError::Mismatch),
        (None, [only]) => Ok(only.as_str()),
        (None, []) => Err(RedirectError::Mismatch),
        (None, _) => Err(RedirectError::Missing),
    }
}

/// The portal's own `return_to`/`next` targets (item 9): a path under the portal's own
/// `prefix` (the issuer's path, `/functions/v1/portcullis-sso`: the host may serve other
/// things), followed by `/`, `?` or nothing, with no `.`/`..` segment, `//` or backslash; or a
/// URL under one of `origins` (`https://app.example.com`, compared exactly, followed by `/`,
/// `?` or nothing). Printable ASCII only. `None` for anything else, including `https:evil.com`
/// and `javascript:`.
#[must_use]
pub fn safe_return<'a>(target: &'a str, prefix: &str, origins: &[&str]) -> Option<&'a str> {
    if target.is_empty()
        || target.len() > MAX_URI_BYTES
        || target.contains('\\')
        || !target.bytes().all(|b| b.is_ascii_graphic())
    {
        return None;
    }
    if target.starts_with('/') {
        let rest = target.strip_prefix(prefix)?;
        if !(rest.is_empty() || rest.starts_with(['/', '?'])) {
            return None;
        }
        let path = target.split('?').next().unwrap_or_default();
        let dots = path.split('/').any(|seg| matches!(seg, "." | ".."));
        return (!dots && !path.contains("//")).then_some(target);
    }
    origins
        .iter()
        .any(|o| {
            !o.is_empty()
                && target
                    .strip_prefix(o)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?']))
        })
        .then_some(target)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn reg(uri: &str) -> RedirectUri {
        RedirectUri::register(uri).unwrap()
    }

    #[test]
    fn registration_refuses_what_could_run_or_leak() {
        // Item 4.
        for ok in [
            "https://app.example.com/callback",
            "https://app.example.com:8443/cb?x=1",
            "http://127.0.0.1/cb",
            "http://127.0.0.1:3000/cb",
            "http://[::1]:3000/cb",
            "http://localhost:8080/cb",
            "com.example.app:/oauth2redirect",
        ] {
            assert!(RedirectUri::register(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("https://app.example.com/cb#x", RegistrationError::Fragment),
            ("https://app.example.com/cb#", RegistrationError::Fragment),
            ("https://*.example.com/cb", RegistrationError::Wildcard),
            ("https://app.example.com/*", RegistrationError::Wildcard),
            ("http://app.example.com/cb", RegistrationError::PlainHttp),
            ("http://127.0.0.1.evil.com/cb", RegistrationError::PlainHttp),
            ("javascript:alert(1)", RegistrationError::Scheme),
            ("JavaScript:alert(1)", RegistrationError::Scheme),
            ("JAVASCRIPT://x/%0aalert(1)", RegistrationError::Scheme),
            ("data:text/html,x", RegistrationError::Scheme),
            ("vbscript:x", RegistrationError::Scheme),
            ("file:///etc/passwd", RegistrationError::Scheme),
            ("blob:https://a.com/x", RegistrationError::Scheme),
            (" javascript:alert(1)", RegistrationError::Whitespace),
            ("java\tscript:alert(1)", RegistrationError::Whitespace),
            (
                "https://app.example.com/cb\n",
                RegistrationError::Whitespace,
            ),
            ("HTTPS://app.example.com/cb", RegistrationError::Scheme),
            ("ftp://app.example.com/cb", RegistrationError::Scheme),
            ("myapp:/cb", RegistrationError::Scheme),
            ("/relative/cb", RegistrationError::Scheme),
            (
                "https://user@app.example.com/cb",
                RegistrationError::Authority,
            ),
            (
                "https://app.example.com@evil.com/cb",
                RegistrationError::Authority,
            ),
            ("https://app%2eexample.com/cb", RegistrationError::Authority),
            ("https:///cb", RegistrationError::Authority),
            ("https://app.example.com:0/cb", RegistrationError::Authority),
            (
                "https://app.example.com:65536/cb",
                RegistrationError::Authority,
            ),
            ("https://app.example.com:/cb", RegistrationError::Authority),
            (
                "https://evil.com\\app.example.com/cb",
                RegistrationError::Authority,
            ),
            (
                "https://app.example.com/c\u{200b}b",
                RegistrationError::Whitespace,
            ),
            ("https://\u{e9}xample.com/cb", RegistrationError::Whitespace),
        ] {
            assert_eq!(RedirectUri::register(bad), Err(why), "{bad:?}");
        }
        let long = format!("https://a.com/{}", "x".repeat(MAX_URI_BYTES));
        assert_eq!(
            RedirectUri::register(&long),
            Err(RegistrationError::TooLong)
        );
    }

    #[test]
    fn only_byte_identical_uris_match() {
        // Item 2: every look-alike of a registered URI is refused.
        let r = reg("https://app.example.com/cb?x=1");
        assert!(r.matches("https://app.example.com/cb?x=1"));
        for near in [
            "https://app.example.com/cb?x=1/",
            "https://app.example.com/cb/?x=1",
            "https://APP.example.com/cb?x=1",
            "https://app.example.com/CB?x=1",
            "https://app.example.com/cb?x=1&y=2",
            "https://app.example.com/cb?x=1#f",
            "https://app.example.com@evil.com/cb?x=1",
            "https://app.example.com/%63b?x=1",
            "https://app.example.com/cb?x=%31",
            "https://app.example.com/a/../cb?x=1",
            "https://app.example.com:443/cb?x=1",
            "https://app.example.com:8443/cb?x=1",
            "http://app.example.com/cb?x=1",
            "https://evil.app.example.com/cb?x=1",
            "https://app.example.com.evil.com/cb?x=1",
            "https://app.example.com/cb?x=1 ",
            "",
        ] {
            assert!(!r.matches(near), "{near}");
        }
    }

    #[test]
    fn only_loopback_uris_may_differ_and_only_in_port() {
        // Item 3 (RFC 8252 §7.3).
        let r = reg("http://127.0.0.1/cb");
        for ok in [
            "http://127.0.0.1/cb",
            "http://127.0.0.1:51234/cb",
            "http://127.0.0.1:1/cb",
        ] {
            assert!(r.matches(ok), "{ok}");
        }
        for bad in [
            "http://127.0.0.1:51234/cb/",
            "http://127.0.0.1:51234/cb?x",
            "https://127.0.0.1:51234/cb",
            "http://localhost:51234/cb",
            "http://127.0.0.2:51234/cb",
            "http://127.0.0.1:0/cb",
            "http://127.0.0.1:99999/cb",
            "http://127.0.0.1:51234@evil.com/cb",
            "http://127.0.0.1:x/cb",
        ] {
            assert!(!r.matches(bad), "{bad}");
        }
        let v6 = reg("http://[::1]:3000/cb");
        assert!(v6.matches("http://[::1]:4000/cb"));
        assert!(v6.matches("http://[::1]/cb"));
        assert!(!v6.matches("http://[::2]:4000/cb"));
        // Not loopback: the port is part of the bytes.
        let web = reg("https://app.example.com:8443/cb");
        assert!(!web.matches("https://app.example.com:9443/cb"));
    }

    #[test]
    fn several_registered_uris_need_one_named() {
        // Item 5.
        let one = [reg("https://a.com/cb")];
        let two = [reg("https://a.com/cb"), reg("https://a.com/cb2")];
        assert_eq!(choose(&one, None), Ok("https://a.com/cb"));
        assert_eq!(choose(&two, None), Err(RedirectError::Missing));
        assert_eq!(
            choose(&two, Some("https://a.com/cb2")),
            Ok("https://a.com/cb2")
        );
        assert_eq!(
            choose(&two, Some("https://a.com/cb3")),
            Err(RedirectError::Mismatch)
        );
        assert_eq!(choose(&[], None), Err(RedirectError::Mismatch));
    }

    #[test]
    fn return_targets_are_under_the_portal_or_allow_listed() {
        // Item 9, with the portal under a path of a shared host.
        let prefix = "/functions/v1/sso";
        let origins = ["https://app.example.com"];
        for ok in [
            "/functions/v1/sso",
            "/functions/v1/sso/",
            "/functions/v1/sso/sessions",
            "/functions/v1/sso?x=1",
            "/functions/v1/sso/authorize?client_id=a&x=%2F%2F",
        ] {
            assert_eq!(safe_return(ok, prefix, &origins), Some(ok), "{ok}");
        }
        for bad in [
            "/",
            "/storage/v1/object/public/x.html",
            "/functions/v1/other",
            "/functions/v1/ssox",
            "/functions/v1/sso/../other",
            "/functions/v1/sso/./x",
            "/functions/v1/sso//x",
            "/functions/v1/sso/\u{200b}",
        ] {
            assert_eq!(safe_return(bad, prefix, &origins), None, "{bad:?}");
        }
    }

    #[test]
    fn return_targets_are_relative_or_allow_listed() {
        // Item 9.
        let origins = ["https://app.example.com"];
        for ok in [
            "/",
            "/sessions",
            "/authorize?client_id=a&x=%2F%2F",
            "https://app.example.com",
            "https://app.example.com/",
            "https://app.example.com/after?x=1",
            "https://app.example.com?x=1",
        ] {
            assert_eq!(safe_return(ok, "", &origins), Some(ok), "{ok}");
        }
        for bad in [
            "//evil.com",
            "//evil.com/x",
            "/\\evil.com",
            "\\\\evil.com",
            "/a\\b",
            "https:evil.com",
            "https://evil.com",
            "https://app.example.com.evil.com/",
            "https://app.example.com@evil.com/",
            "https://app.example.com:443/",
            "http://app.example.com/",
            "javascript:alert(1)",
            " /x",
            "/x\n",
            "\t//evil.com",
            "evil.com",
            "",
        ] {
            assert_eq!(safe_return(bad, "", &origins), None, "{bad:?}");
        }
        assert_eq!(safe_return("https://app.example.com/", "", &[""]), None);
    }
}
