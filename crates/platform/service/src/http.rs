//! Minimal HTTP types for the service layer. The `http` crate would cost ~20 KiB of Wasm per
//! function for header-name tables we never use; these cover what a function needs: a
//! method, a path, case-insensitive headers and a body.

use std::borrow::Cow;
use std::fmt;

/// An HTTP method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// HEAD
    Head,
    /// POST
    Post,
    /// PUT
    Put,
    /// PATCH
    Patch,
    /// DELETE
    Delete,
    /// OPTIONS
    Options,
    /// Anything else.
    Other,
}

impl Method {
    /// Parses a method token (case-sensitive, as HTTP defines).
    #[must_use]
    pub fn parse(text: &str) -> Self {
        match text {
            "GET" => Self::Get,
            "HEAD" => Self::Head,
            "POST" => Self::Post,
            "PUT" => Self::Put,
            "PATCH" => Self::Patch,
            "DELETE" => Self::Delete,
            "OPTIONS" => Self::Options,
            _ => Self::Other,
        }
    }
}

/// Header fields; names are stored lowercase and looked up case-insensitively. Static names
/// and values (most of a response's) are kept without allocating.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers(Vec<(Cow<'static, str>, Cow<'static, str>)>);

impl Headers {
    /// No headers.
    #[must_use]
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    /// Adds a field (a repeated name keeps every value).
    pub fn append(&mut self, name: &str, value: impl Into<String>) {
        self.0.push((
            Cow::Owned(name.to_ascii_lowercase()),
            Cow::Owned(value.into()),
        ));
    }

    /// Adds a field whose lowercase name and value are static (no allocation).
    pub fn append_static(&mut self, name: &'static str, value: &'static str) {
        debug_assert!(!name.bytes().any(|b| b.is_ascii_uppercase()), "{name}");
        self.0.push((Cow::Borrowed(name), Cow::Borrowed(value)));
    }

    /// Adds a field with a static lowercase name (the adapters' declared headers).
    pub fn append_value(&mut self, name: &'static str, value: impl Into<String>) {
        self.0.push((Cow::Borrowed(name), Cow::Owned(value.into())));
    }

    /// The first value of `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }

    /// Removes every value of `name`.
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// Every `(name, value)`, names lowercase.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_ref(), v.as_ref()))
    }
}

/// A request with its whole body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Method.
    pub method: Method,
    /// Path and query, e.g. `/custom-access-token?x=1` (never the authority).
    pub target: String,
    /// Header fields.
    pub headers: Headers,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Request {
    /// A request for `target` with no headers and no body.
    #[must_use]
    pub fn new(method: Method, target: impl Into<String>) -> Self {
        Self {
            method,
            target: target.into(),
            headers: Headers::new(),
            body: Vec::new(),
        }
    }

    /// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
    #[must_use]
    pub fn bearer(&self) -> Option<&str> {
        let value = self.headers.get("authorization")?;
        let (scheme, token) = value.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim())
            .filter(|t| !t.is_empty())
    }

    /// The path, without the query.
    #[must_use]
    pub fn path(&self) -> &str {
        self.target
            .split_once('?')
            .map_or(self.target.as_str(), |(p, _)| p)
    }

    /// Builder-style header.
    #[must_use]
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Builder-style body.
    #[must_use]
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }
}

/// A response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: Status,
    /// Header fields.
    pub headers: Headers,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// An HTTP status code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Status(pub u16);

impl Status {
    /// 200
    pub const OK: Self = Self(200);
    /// 204
    pub const NO_CONTENT: Self = Self(204);
    /// 400
    pub const BAD_REQUEST: Self = Self(400);
    /// 401
    pub const UNAUTHORIZED: Self = Self(401);
    /// 403
    pub const FORBIDDEN: Self = Self(403);
    /// 404
    pub const NOT_FOUND: Self = Self(404);
    /// 405
    pub const METHOD_NOT_ALLOWED: Self = Self(405);
    /// 413
    pub const PAYLOAD_TOO_LARGE: Self = Self(413);
    /// 415
    pub const UNSUPPORTED_MEDIA_TYPE: Self = Self(415);
    /// 429
    pub const TOO_MANY_REQUESTS: Self = Self(429);
    /// 500
    pub const INTERNAL_SERVER_ERROR: Self = Self(500);
    /// 503
    pub const SERVICE_UNAVAILABLE: Self = Self(503);
    /// 502: an upstream answered wrongly or not at all.
    pub const BAD_GATEWAY: Self = Self(502);

    /// The numeric code.
    #[must_use]
    pub const fn as_u16(self) -> u16 {
        self.0
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl PartialEq<u16> for Status {
    fn eq(&self, other: &u16) -> bool {
        self.0 == *other
    }
}

impl Response {
    /// A response with a status and no headers or body.
    #[must_use]
    pub fn new(status: Status) -> Self {
        Self {
            status,
            headers: Headers::new(),
            body: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_case_insensitive_and_ordered() {
        let mut h = Headers::new();
        h.append("Webhook-Id", "a");
        h.append("webhook-id", "b");
        assert_eq!(h.get("WEBHOOK-ID"), Some("a"));
        assert_eq!(
            h.iter().collect::<Vec<_>>(),
            vec![("webhook-id", "a"), ("webhook-id", "b")]
        );
        h.remove("Webhook-ID");
        assert_eq!(h.get("webhook-id"), None);
    }

    #[test]
    fn request_path_drops_the_query() {
        let r = Request::new(Method::parse("POST"), "/a/b?c=d");
        assert_eq!(r.path(), "/a/b");
        assert_eq!(Method::parse("post"), Method::Other);
    }
}
