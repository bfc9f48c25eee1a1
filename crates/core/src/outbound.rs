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

/// A response (status and body; headers are not needed by any caller yet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboundResponse {
    /// HTTP status.
    pub status: u16,
    /// Body bytes.
    pub body: Vec<u8>,
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
