//! Outbound HTTP as a dependency: domain and service code describe requests; the runtime
//! adapters send them (`fetch` in JavaScript hosts) and provide timers.
//!
//! Every request carries its own timeout, so a caller can keep a whole operation inside a
//! deadline (Supabase Auth gives a hook 5 s for everything, retries included).

use std::fmt;
use std::future::Future;

/// A request to send.
#[derive(Clone, PartialEq, Eq)]
pub struct OutboundRequest {
    /// `GET`, `POST`, …
    pub method: &'static str,
    /// Absolute URL.
    pub url: String,
    /// Header fields. Values may hold credentials: never log them.
    pub headers: Vec<(&'static str, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
    /// Give up after this many milliseconds.
    pub timeout_ms: u32,
}

impl fmt::Debug for OutboundRequest {
    /// Header values are redacted: they carry API keys.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboundRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            )
            .field("body_len", &self.body.len())
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

/// A response: status, header fields (names lowercase) and body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutboundResponse {
    /// HTTP status.
    pub status: u16,
    /// Header fields, names lowercase, in the order received (repeated names kept).
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl OutboundResponse {
    /// A response with no headers.
    #[must_use]
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// The first value of header `name` (lowercase).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why no response arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutboundError {
    /// The timeout elapsed first.
    Timeout,
    /// The connection failed (DNS, refused, reset, TLS).
    Network {
        /// For logs: the host's description.
        detail: String,
    },
}

impl fmt::Display for OutboundError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout => f.write_str("timed out"),
            Self::Network { detail } => write!(f, "network error: {detail}"),
        }
    }
}

impl std::error::Error for OutboundError {}

/// Sends HTTP requests and waits: implemented by the runtime adapters.
pub trait Outbound {
    /// Sends one request.
    fn send(
        &self,
        request: OutboundRequest,
    ) -> impl Future<Output = Result<OutboundResponse, OutboundError>>;

    /// Resolves after `ms` milliseconds (back-off between retries).
    fn wait(&self, ms: u32) -> impl Future<Output = ()>;
}

/// An [`Outbound`] for contexts that make no outbound calls: every request fails.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoOutbound;

impl Outbound for NoOutbound {
    async fn send(&self, _request: OutboundRequest) -> Result<OutboundResponse, OutboundError> {
        Err(OutboundError::Network {
            detail: "outbound HTTP is not available here".into(),
        })
    }

    async fn wait(&self, _ms: u32) {}
}

/// Why a configured API base URL was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BaseUrlError {
    /// Not `https://…` (or `http://` on a loopback host).
    Scheme,
    /// `user:password@` in the URL: credentials belong in secrets, and `http://localhost:1@evil`
    /// is how a loopback check is fooled.
    Credentials,
    /// The host (and port) is not a plain DNS name, IPv4 or bracketed IPv6 address.
    Host,
    /// `http://` to a host that is not this machine: the key would cross the network in clear.
    InsecureRemote,
    /// Characters URL parsers disagree on (`\`, whitespace, controls, `%`), a query or a
    /// fragment.
    Syntax,
}

impl fmt::Display for BaseUrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Scheme => "must be an https:// URL (http:// only for localhost)",
            Self::Credentials => "must not contain user name or password",
            Self::Host => "has an invalid host or port",
            Self::InsecureRemote => "http:// is allowed only for 127.0.0.1, localhost or [::1]",
            Self::Syntax => {
                "must be a plain URL without spaces, backslashes, %-escapes, query or fragment"
            }
        })
    }
}

impl std::error::Error for BaseUrlError {}

/// Checks an API base URL from configuration and returns it without a trailing `/`.
///
/// The accepted syntax is a strict subset on which every URL parser agrees (the runtimes'
/// WHATWG `fetch` included): scheme `https` (or `http` for a loopback host), a host that is a
/// DNS name, IPv4 address or `[IPv6]`, an optional port, and a path of printable characters.
/// The host is compared whole, so `http://localhost:1@evil.example` and
/// `http://localhost.evil.example` are refused. (The `url` crate would do this too, but its
/// IDNA tables cost more Wasm than the function's whole provider layer.)
///
/// # Errors
/// [`BaseUrlError`] naming the problem.
pub fn check_base_url(url: &str) -> Result<String, BaseUrlError> {
    let url = url.trim().trim_end_matches('/');
    let (scheme, rest) = url.split_once("://").ok_or(BaseUrlError::Scheme)?;
    let secure = match scheme.to_ascii_lowercase().as_str() {
        "https" => true,
        "http" => false,
        _ => return Err(BaseUrlError::Scheme),
    };
    if rest
        .bytes()
        .any(|b| b <= b' ' || b >= 0x7f || matches!(b, b'\\' | b'%' | b'?' | b'#'))
    {
        return Err(BaseUrlError::Syntax);
    }
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.contains('@') {
        return Err(BaseUrlError::Credentials);
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (addr, after) = v6.split_once(']').ok_or(BaseUrlError::Host)?;
            // A literal of hex digits, colons and dots (fetch checks the rest); the loopback
            // test below compares it whole.
            let literal = addr.contains(':')
                && addr
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
            if !literal {
                return Err(BaseUrlError::Host);
            }
            (&authority[..addr.len() + 2], after)
        }
        None => match authority.split_once(':') {
            Some((h, _)) => (h, &authority[h.len()..]),
            None => (authority, ""),
        },
    };
    if !port.is_empty() {
        let digits = port.strip_prefix(':').ok_or(BaseUrlError::Host)?;
        let ok = !digits.is_empty()
            && digits.len() <= 5
            && digits.bytes().all(|b| b.is_ascii_digit())
            && digits.parse::<u16>().is_ok_and(|p| p > 0);
        if !ok {
            return Err(BaseUrlError::Host);
        }
    }
    let dns_name = |h: &str| {
        !h.is_empty()
            && h.len() <= 253
            && h.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
    };
    if !host.starts_with('[') && !dns_name(host) {
        return Err(BaseUrlError::Host);
    }
    let host = host.to_ascii_lowercase();
    let loopback = matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]");
    if !secure && !loopback {
        return Err(BaseUrlError::InsecureRemote);
    }
    Ok(format!(
        "{}://{host}{}",
        if secure { "https" } else { "http" },
        &rest[authority.len() - port.len()..]
    ))
}

/// `application/x-www-form-urlencoded` encoding of `pairs`.
#[must_use]
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        percent_encode_into(k, &mut out, true);
        out.push('=');
        percent_encode_into(v, &mut out, true);
    }
    out
}

/// Percent-encodes everything but RFC 3986 unreserved characters; with `form`, spaces become
/// `+` (HTML form encoding).
pub fn percent_encode_into(text: &str, out: &mut String, form: bool) {
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(b))
            }
            b' ' if form => out.push('+'),
            _ => {
                out.push('%');
                out.push_str(&crate::encoding::hex(&[b]).to_ascii_uppercase());
            }
        }
    }
}

/// Percent-encodes a URL query value.
#[must_use]
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    percent_encode_into(text, &mut out, false);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        assert_eq!(percent_encode("a b&c=d/é~"), "a%20b%26c%3Dd%2F%C3%A9~");
        assert_eq!(
            form_encode(&[("To", "+1 555"), ("Body", "Code: 12&3")]),
            "To=%2B1+555&Body=Code%3A+12%263"
        );
    }

    #[test]
    fn base_urls_compare_the_real_host() {
        for (url, want) in [
            ("https://api.resend.com", Ok("https://api.resend.com")),
            ("https://api.resend.com/", Ok("https://api.resend.com")),
            (
                "HTTPS://API.Postmarkapp.com/x/",
                Ok("https://api.postmarkapp.com/x"),
            ),
            (
                "http://127.0.0.1:8080/resend",
                Ok("http://127.0.0.1:8080/resend"),
            ),
            ("http://localhost", Ok("http://localhost")),
            ("http://[::1]:9/v", Ok("http://[::1]:9/v")),
            ("https://[2001:db8::1]:443", Ok("https://[2001:db8::1]:443")),
            (
                "http://localhost:1@evil.example",
                Err(BaseUrlError::Credentials),
            ),
            (
                "https://user:pw@api.resend.com",
                Err(BaseUrlError::Credentials),
            ),
            (
                "http://localhost@evil.example/",
                Err(BaseUrlError::Credentials),
            ),
            (
                "http://localhost.evil.example",
                Err(BaseUrlError::InsecureRemote),
            ),
            ("http://127.0.0.1.nip.io", Err(BaseUrlError::InsecureRemote)),
            ("http://api.resend.com", Err(BaseUrlError::InsecureRemote)),
            ("http://localhost\\@evil.example", Err(BaseUrlError::Syntax)),
            (
                "http://localhost%2f@evil.example",
                Err(BaseUrlError::Syntax),
            ),
            ("http://local host", Err(BaseUrlError::Syntax)),
            ("https://api.resend.com?x=1", Err(BaseUrlError::Syntax)),
            ("https://api.resend.com#f", Err(BaseUrlError::Syntax)),
            ("https://", Err(BaseUrlError::Scheme)),
            ("https:///x", Err(BaseUrlError::Host)),
            ("https://:443", Err(BaseUrlError::Host)),
            ("https://a..b", Err(BaseUrlError::Host)),
            ("https://api.resend.com:0", Err(BaseUrlError::Host)),
            ("https://api.resend.com:65536", Err(BaseUrlError::Host)),
            ("https://api.resend.com:x", Err(BaseUrlError::Host)),
            ("http://[::1", Err(BaseUrlError::Host)),
            ("http://[::1]x", Err(BaseUrlError::Host)),
            ("http://[zz]", Err(BaseUrlError::Host)),
            ("ftp://localhost", Err(BaseUrlError::Scheme)),
            ("localhost:8080", Err(BaseUrlError::Scheme)),
            ("//localhost", Err(BaseUrlError::Scheme)),
        ] {
            assert_eq!(check_base_url(url).as_deref(), want.as_deref(), "{url}");
        }
    }

    #[test]
    fn debug_hides_header_values() {
        let r = OutboundRequest {
            method: "POST",
            url: "https://api.example.com".into(),
            headers: vec![("authorization", "Bearer re_secret".into())],
            body: vec![],
            timeout_ms: 1000,
        };
        assert!(!format!("{r:?}").contains("re_secret"));
    }
}
