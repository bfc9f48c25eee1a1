//! Browser access (CORS) for the functions a frontend calls (pat's management API, sign).
//!
//! An exact allow-list of origins (`scheme://host[:port]`, from an environment variable):
//! no wildcards, no credentials mode (callers send the user's JWT in `Authorization`, not
//! cookies). Every answer of a function with an allow-list varies on `Origin`, allowed or not,
//! so shared caches never serve one origin's answer to another.

use portcullis_core::check_base_url;
use portcullis_core::{ConfigError, Env};

use crate::{Request, Response, Status, error_response};

/// The variable every function reads its allow-list from (comma-separated origins).
pub const ENV_CORS_ORIGINS: &str = "PORTCULLIS_CORS_ORIGINS";

/// The origins allowed to call a function from a browser, and what a preflight grants.
#[derive(Clone, Debug, Default)]
pub struct Cors {
    origins: Vec<String>,
    methods: &'static str,
}

impl Cors {
    /// Reads the comma-separated allow-list from `var` (absent or empty: no browser access).
    /// `methods` is what a preflight allows, e.g. `"POST, OPTIONS"`.
    ///
    /// # Errors
    /// An entry that is not an `http(s)://host[:port]` origin.
    pub fn from_env(env: &dyn Env, var: &str, methods: &'static str) -> Result<Self, ConfigError> {
        let origins: Vec<String> = env
            .var(var)
            .map(|v| {
                v.split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_owned())
                    .filter(|o| !o.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        for origin in &origins {
            check_base_url(origin).map_err(|e| ConfigError::invalid(var, e.to_string()))?;
            if origin
                .split_once("://")
                .is_some_and(|(_, rest)| rest.contains('/'))
            {
                return Err(ConfigError::invalid(
                    var,
                    "an origin is scheme://host[:port], without a path",
                ));
            }
        }
        Ok(Self { origins, methods })
    }

    /// An allow-list given directly (origins already checked, e.g. the SSO clients').
    #[must_use]
    pub fn new(origins: Vec<String>, methods: &'static str) -> Self {
        Self { origins, methods }
    }

    /// Whether any origin is allowed.
    #[must_use]
    pub fn enabled(&self) -> bool {
        !self.origins.is_empty()
    }

    fn allowed<'r>(&self, request: &'r Request) -> Option<&'r str> {
        request
            .headers
            .get("origin")
            .filter(|o| self.origins.iter().any(|c| c == o))
    }

    /// Adds the CORS headers to an answer (nothing when there is no allow-list).
    pub fn apply(&self, request: &Request, response: &mut Response) {
        if !self.enabled() {
            return;
        }
        response.headers.append_static("vary", "origin");
        if let Some(origin) = self.allowed(request) {
            response
                .headers
                .append("access-control-allow-origin", origin);
        }
    }

    /// The answer to an `OPTIONS` preflight: 204 with the grants for an allowed origin, 403
    /// otherwise.
    #[must_use]
    pub fn preflight(&self, request: &Request) -> Response {
        let Some(origin) = self.allowed(request) else {
            let mut r = error_response(
                Status::FORBIDDEN,
                "origin_not_allowed",
                "this origin may not call the API from a browser",
            );
            if self.enabled() {
                r.headers.append_static("vary", "origin");
            }
            return r;
        };
        let mut r = Response::new(Status::NO_CONTENT);
        r.headers.append("access-control-allow-origin", origin);
        r.headers.append_static("vary", "origin");
        r.headers
            .append_static("access-control-allow-methods", self.methods);
        r.headers.append_static(
            "access-control-allow-headers",
            "authorization, content-type, apikey, x-client-info",
        );
        r.headers.append_static("access-control-max-age", "600");
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Method;
    use portcullis_core::MapEnv;

    fn request(method: Method, origin: Option<&str>) -> Request {
        let mut r = Request::new(method, "/x");
        if let Some(o) = origin {
            r.headers.append("origin", o.to_owned());
        }
        r
    }

    #[test]
    fn allows_only_listed_origins() {
        let env = MapEnv::from_pairs([("O", " https://app.example/ , http://localhost:5173")]);
        let cors = Cors::from_env(&env, "O", "POST, OPTIONS").unwrap();
        let ok = cors.preflight(&request(Method::Options, Some("https://app.example")));
        assert_eq!(ok.status, Status::NO_CONTENT);
        assert_eq!(
            ok.headers.get("access-control-allow-origin"),
            Some("https://app.example")
        );
        assert_eq!(
            ok.headers.get("access-control-allow-methods"),
            Some("POST, OPTIONS")
        );
        let no = cors.preflight(&request(Method::Options, Some("https://app.example.evil")));
        assert_eq!(no.status, Status::FORBIDDEN);
        assert_eq!(no.headers.get("access-control-allow-origin"), None);
        let mut r = Response::new(Status::OK);
        cors.apply(
            &request(Method::Post, Some("http://localhost:5173")),
            &mut r,
        );
        assert_eq!(
            r.headers.get("access-control-allow-origin"),
            Some("http://localhost:5173")
        );
        assert_eq!(r.headers.get("vary"), Some("origin"));
        let mut r = Response::new(Status::OK);
        cors.apply(&request(Method::Post, Some("null")), &mut r);
        assert_eq!(r.headers.get("access-control-allow-origin"), None);
        assert_eq!(r.headers.get("vary"), Some("origin"));
    }

    #[test]
    fn refuses_bad_origins_and_is_off_by_default() {
        for bad in ["*", "app.example", "https://app.example/path", "ftp://x"] {
            let env = MapEnv::from_pairs([("O", bad)]);
            assert!(Cors::from_env(&env, "O", "POST").is_err(), "{bad}");
        }
        let cors = Cors::from_env(&MapEnv::default(), "O", "POST").unwrap();
        let mut r = Response::new(Status::OK);
        cors.apply(&request(Method::Post, Some("https://a.example")), &mut r);
        assert_eq!(r.headers.get("vary"), None);
        assert_eq!(
            cors.preflight(&request(Method::Options, Some("https://a.example")))
                .status,
            Status::FORBIDDEN
        );
    }
}
