//! The service layer's shared plumbing: what every function's `handle` receives and returns.
//!
//! # Design
//! Each function (hooks, pat, sign, sso) implements [`Function`]: it is built once from the
//! environment ([`Function::from_env`]) and answers plain `http` requests
//! ([`Function::handle`]) given a per-request [`Context`] of injected capabilities (clock,
//! randomness, database, log). The runtime adapters (Deno via wasm-bindgen, Cloudflare via
//! workers-rs) only convert requests and provide those capabilities, so every function runs
//! unchanged in-process in tests.
//!
//! # Threat model
//! - Error bodies are built from stable codes and fixed messages; internal error text goes to
//!   the [`Log`], never to the client.
//! - Responses default to `Cache-Control: no-store`: nothing we answer is cacheable.

use std::future::Future;

use portcullis_core::{Clock, ConfigError, Crypto, Db, Env, Outbound, SecureRandom};
use serde::Serialize;

pub mod auth;
pub mod client_ip;
pub mod cors;
pub mod http;
pub mod join;

pub use http::{Headers, Method, Request, Response, Status};

/// Severity of a log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Something worth knowing.
    Info,
    /// Something that should be looked at.
    Warn,
    /// A request failed because of us or a dependency.
    Error,
}

impl Level {
    /// Lowercase name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }
}

/// Where log lines go (`console` in JavaScript hosts, stderr natively, a buffer in tests).
/// Callers must never pass secrets, tokens or OTPs.
pub trait Log {
    /// Records one event: a stable `code` and a human-readable `message`.
    fn log(&self, level: Level, code: &str, message: &str);
}

/// A [`Log`] that discards everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoLog;

impl Log for NoLog {
    fn log(&self, _level: Level, _code: &str, _message: &str) {}
}

/// One JSON log line: `{"level":…,"code":…,"message":…,"function":…}`.
#[must_use]
pub fn log_line(function: &str, level: Level, code: &str, message: &str) -> String {
    serde_json::json!({
        "level": level.as_str(),
        "function": function,
        "code": code,
        "message": message,
    })
    .to_string()
}

/// The capabilities a request may use.
pub struct Context<'a, D: ?Sized, H: ?Sized> {
    /// Current time.
    pub clock: &'a dyn Clock,
    /// Secure randomness.
    pub random: &'a dyn SecureRandom,
    /// Public-key signatures (WebCrypto in JavaScript hosts).
    pub crypto: &'a dyn Crypto,
    /// The database (text-only seam).
    pub db: &'a D,
    /// Outbound HTTP and timers.
    pub http: &'a H,
    /// Operational log.
    pub log: &'a dyn Log,
}

impl<D: ?Sized, H: ?Sized> Context<'_, D, H> {
    /// True on about one call in 85: when housekeeping (pruning, retention) runs on a request.
    /// (One in 20 cost ~10% throughput under load; the work per call is bounded, so rarer is
    /// as correct.)
    #[must_use]
    pub fn now_and_then(&self) -> bool {
        let mut dice = [0u8; 1];
        self.random.fill(&mut dice).is_ok() && dice[0] < 3
    }
}

/// A Portcullis function.
pub trait Function: Sized {
    /// The deployed name, e.g. `portcullis-hooks` (Supabase puts it in the URL path).
    const NAME: &'static str;

    /// The request headers this function reads (lowercase). Adapters hand over only these:
    /// nothing else (cookies included) crosses into the function, and JavaScript hosts are
    /// spared iterating the whole header list.
    const HEADERS: &'static [&'static str];

    /// Whether the function uses public-key signatures ([`Context::crypto`]). Adapters give
    /// functions that do not a stub, so their modules carry no WebCrypto glue.
    const USES_CRYPTO: bool = false;

    /// Builds the function from its configuration, once per instance.
    ///
    /// # Errors
    /// [`ConfigError`] naming the variable at fault.
    fn from_env(env: &dyn Env) -> Result<Self, ConfigError>;

    /// Whether this configuration needs a database; adapters refuse to start without one.
    fn needs_db(&self) -> bool;

    /// Largest request body accepted. Adapters may refuse bigger bodies before reading them
    /// (answering what [`Function::handle`] would: see [`payload_too_large`]).
    fn max_body_bytes(&self) -> usize;

    /// Answers one request.
    fn handle<D: Db, H: Outbound>(
        &self,
        ctx: &Context<'_, D, H>,
        request: Request,
    ) -> impl Future<Output = Response>;
}

/// Serialises `body` as a JSON response with `status`.
#[must_use]
pub fn json_response(status: Status, body: &impl Serialize) -> Response {
    // Serialising our own response types cannot fail; fall back to an empty object anyway.
    json_bytes_response(
        status,
        serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec()),
    )
}

/// A JSON response whose body the caller already encoded.
#[must_use]
pub fn json_bytes_response(status: Status, bytes: Vec<u8>) -> Response {
    let mut response = Response::new(status);
    response
        .headers
        .append_static("content-type", "application/json");
    response.headers.append_static("cache-control", "no-store");
    response.body = bytes;
    response
}

/// The body of an error answered at the HTTP level.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    /// Stable machine-readable code.
    pub error: &'a str,
    /// Human-readable explanation (fixed text, never internal error output).
    pub message: &'a str,
}

/// An HTTP-level error response.
#[must_use]
pub fn error_response(status: Status, code: &str, message: &str) -> Response {
    json_response(
        status,
        &ErrorBody {
            error: code,
            message,
        },
    )
}

/// 413 for a body over `limit` bytes.
#[must_use]
pub fn payload_too_large(limit: usize) -> Response {
    let message = format!("request body is larger than {limit} bytes");
    error_response(Status::PAYLOAD_TOO_LARGE, "payload_too_large", &message)
}

/// The route part of a request path: Supabase serves a function under
/// `/functions/v1/<name>/…` publicly and `/<name>/…` inside the runtime; Workers serve it at
/// `/…`. All three map to the same route.
#[must_use]
pub fn route<'a>(path: &'a str, function: &str) -> &'a str {
    let path = path.strip_prefix("/functions/v1").unwrap_or(path);
    match path
        .strip_prefix('/')
        .and_then(|p| p.strip_prefix(function))
    {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
        _ => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_strip_supabase_prefixes_only_for_this_function() {
        let f = "portcullis-hooks";
        assert_eq!(route("/custom-access-token", f), "/custom-access-token");
        assert_eq!(
            route("/portcullis-hooks/custom-access-token", f),
            "/custom-access-token"
        );
        assert_eq!(
            route("/functions/v1/portcullis-hooks/custom-access-token", f),
            "/custom-access-token"
        );
        assert_eq!(route("/portcullis-hooks", f), "");
        assert_eq!(route("/portcullis-hooksx/a", f), "/portcullis-hooksx/a");
        assert_eq!(
            route("/other/custom-access-token", f),
            "/other/custom-access-token"
        );
    }

    #[test]
    fn json_responses_are_uncacheable_json() {
        let r = error_response(Status::NOT_FOUND, "not_found", "no such route");
        assert_eq!(r.status, 404);
        assert_eq!(r.headers.get("Content-Type"), Some("application/json"));
        assert_eq!(r.headers.get("cache-control"), Some("no-store"));
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"error": "not_found", "message": "no such route"})
        );
        assert_eq!(payload_too_large(10).status, 413);
    }

    #[test]
    fn log_lines_are_json() {
        let line = log_line("portcullis-hooks", Level::Warn, "x", "a \"quoted\" thing");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["level"], "warn");
        assert_eq!(v["message"], "a \"quoted\" thing");
    }
}
