//! The pat function: personal access tokens for Supabase projects.
//!
//! # Routes
//! - Management, authenticated by the user's Supabase JWT (`role` `authenticated`; tokens
//!   exchanged from a PAT are refused here, so a leaked PAT cannot mint more PATs):
//!   `POST /tokens`, `GET /tokens`, `POST /tokens/{id}/rotate`, `DELETE /tokens/{id}`.
//! - `POST /token`: the RFC 8693 exchange, PAT in, a short-lived Supabase JWT out. Checks in
//!   order: format and checksum (no database work for garbage), then in one statement hash
//!   lookup → revoked → expired → owner (read fresh from `auth.users`) → IP allow-list → rate
//!   limit (and usage recorded), then scope narrowing.
//! - `POST /introspect`: RFC 7662, for a backend holding the introspection secret.
//! - `POST /github/secret-scanning`: GitHub's secret-scanning partner protocol: a reported
//!   token is revoked, the leak recorded and its owner's e-mail queued in the hooks' outbox.
//!
//! # Errors
//! Every failure is one [`PatError`] variant, mapped to the wire in one exhaustive `match`
//! ([`PatError::into_response`]): 401 + `WWW-Authenticate: Bearer error="invalid_token"` for a
//! refused JWT, 403 `insufficient_scope` for a good token that may not do this, RFC 6749 §5.2
//! bodies on `/token`, never internal error text.
//!
//! # Threat model
//! - Tokens exist in full only in the creation answer; the database sees hashes.
//! - Another user's token id answers exactly like an unknown one (404): no enumeration.
//! - Logs carry codes, token ids and user ids, never tokens, JWTs or secrets.

mod config;
mod github;

use std::net::IpAddr;

use portcullis_core::json::{JsonError, Strict, Value};
use portcullis_core::net::Cidr;
use portcullis_core::{Db, DbError, Outbound, Row, Statement, UnixTime};
use portcullis_jwt::{MintError, Refusal, TokenClaims, VerifiedClaims, is_uuid};
use portcullis_pat::exchange::{ExchangeRequest, JWT_TOKEN_TYPE, OAuthError};
use portcullis_pat::scope::Scopes;
use portcullis_pat::token::{self, Pat as PatToken};
use portcullis_service::auth::{AuthError, authenticate};
use portcullis_service::{
    Context, Function, Level, Method, Request, Response, Status, error_response,
    json_bytes_response, json_response, route,
};
use serde_json::json;

pub use config::{
    CLIENT_IP_HEADERS, ENV_CLIENT_IP_HEADER, ENV_CORS_ORIGINS, ENV_DEPSDEV_KEYS_URL,
    ENV_GITHUB_KEYS_URL, ENV_INTROSPECTION_SECRET, ENV_ISSUER, ENV_JWT_KID, ENV_JWT_SECRET,
    ENV_MAX_BODY, ENV_PEPPER, ENV_POLICY, ENV_PREFIX, ENV_SIGNING_KEY, ENV_SUPABASE_JWKS,
    ENV_SUPABASE_URL, GITHUB_KEYS_URL, PatConfig,
};

/// `session_id` of tokens without a GoTrue session.
pub const NIL_SESSION: &str = "00000000-0000-0000-0000-000000000000";
const NAME_MAX_CHARS: usize = 100;
const MAX_ALLOWED_IPS: usize = 32;
/// Shortest lifetime a token may be created with.
const MIN_LIFETIME_SECS: u64 = 60;

/// Everything that can go wrong, each with exactly one answer.
#[derive(Debug)]
#[non_exhaustive]
pub enum PatError {
    /// No such route.
    NotFound,
    /// The route exists; the method does not (`Allow` lists the ones that do).
    MethodNotAllowed(&'static str),
    /// No user: no bearer token, a refused one, no keys, or a failed check (the shared
    /// mapping: `portcullis_service::auth`).
    Auth(AuthError),
    /// A good token that may not do this (`error_description` says why).
    Forbidden(&'static str),
    /// A request body that is not what the route takes.
    BadRequest(String),
    /// Not the content type the route takes.
    UnsupportedMediaType(&'static str),
    /// No such token of this user's.
    TokenNotFound,
    /// The token is not in a state that allows this (`revoked`, `expired`, `rotating`).
    Conflict(String),
    /// The user has as many live tokens as the policy allows.
    TokenLimit(u32),
    /// A token-endpoint error (RFC 6749 §5.2).
    OAuth(OAuthError),
    /// The token's exchange rate limit is spent.
    RateLimited {
        /// Seconds until the window ends.
        retry_after: u64,
    },
    /// `/introspect` without the right secret.
    IntrospectionUnauthorized,
    /// `/introspect` is not configured.
    IntrospectionDisabled,
    /// The database failed.
    Db(DbError),
    /// The database answered outside the contract of our functions.
    Contract(&'static str),
    /// A check or a signature the host could not make.
    Crypto(String),
    /// The random source failed.
    Random,
    /// One of our own failures on a token endpoint, answered in RFC 6749 §5.2 shape.
    ServerError {
        /// `server_error` or `temporarily_unavailable`.
        code: &'static str,
        /// Fixed text.
        description: &'static str,
        /// What failed (logged by its own mapping).
        cause: Box<PatError>,
    },
    /// A secret-scanning report without GitHub's signature headers.
    GithubUnsigned,
    /// A secret-scanning report whose signature does not verify (or names no known key).
    GithubBadSignature,
    /// GitHub's keys could not be loaded.
    GithubKeysUnavailable,
}

impl From<DbError> for PatError {
    fn from(e: DbError) -> Self {
        Self::Db(e)
    }
}

impl From<OAuthError> for PatError {
    fn from(e: OAuthError) -> Self {
        Self::OAuth(e)
    }
}

impl From<AuthError> for PatError {
    fn from(e: AuthError) -> Self {
        Self::Auth(e)
    }
}

impl From<Refusal> for PatError {
    fn from(r: Refusal) -> Self {
        Self::Auth(AuthError::Refused(r))
    }
}

fn oauth_response(status: Status, code: &str, description: &str) -> Response {
    let mut r = json_response(
        status,
        &json!({ "error": code, "error_description": description }),
    );
    r.headers.append_static("pragma", "no-cache");
    r
}

impl PatError {
    /// The one mapping to the wire.
    #[must_use]
    pub fn into_response(self, log: &dyn portcullis_service::Log) -> Response {
        match self {
            Self::NotFound => error_response(Status::NOT_FOUND, "not_found", "no such route"),
            Self::MethodNotAllowed(allow) => {
                let mut r = error_response(
                    Status::METHOD_NOT_ALLOWED,
                    "method_not_allowed",
                    "this route does not take that method",
                );
                r.headers.append_static("allow", allow);
                r
            }
            Self::Auth(e) => e.into_response(log),
            Self::Forbidden(why) => {
                let mut r = error_response(Status::FORBIDDEN, "insufficient_scope", why);
                r.headers.append(
                    "www-authenticate",
                    format!("Bearer error=\"insufficient_scope\", error_description=\"{why}\""),
                );
                r
            }
            Self::BadRequest(message) => {
                error_response(Status::BAD_REQUEST, "invalid_request", &message)
            }
            Self::UnsupportedMediaType(want) => error_response(
                Status::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                want,
            ),
            Self::TokenNotFound => {
                error_response(Status::NOT_FOUND, "token_not_found", "no such token")
            }
            Self::Conflict(state) => error_response(
                Status(409),
                "token_not_active",
                &format!("the token is {state}"),
            ),
            Self::TokenLimit(n) => error_response(
                Status(409),
                "token_limit",
                &format!("you have {n} live tokens, the most allowed: revoke one first"),
            ),
            Self::OAuth(e) => {
                let status = if e.code == "invalid_client" {
                    Status::UNAUTHORIZED
                } else {
                    Status::BAD_REQUEST
                };
                oauth_response(status, e.code, e.description)
            }
            Self::RateLimited { retry_after } => {
                let mut r = oauth_response(
                    Status::TOO_MANY_REQUESTS,
                    "invalid_request",
                    "too many exchanges for this token; retry later",
                );
                r.headers.append("retry-after", retry_after.to_string());
                r
            }
            Self::IntrospectionUnauthorized => {
                let mut r = oauth_response(
                    Status::UNAUTHORIZED,
                    "invalid_client",
                    "send the introspection secret as Authorization: Bearer",
                );
                r.headers.append_static("www-authenticate", "Bearer");
                r
            }
            Self::IntrospectionDisabled => error_response(
                Status::NOT_FOUND,
                "not_found",
                "introspection is not enabled on this deployment",
            ),
            Self::Db(e) => {
                log.log(Level::Error, "database_failed", &e.to_string());
                match e {
                    DbError::Unavailable { .. } | DbError::NotConfigured => {
                        let mut r = error_response(
                            Status::SERVICE_UNAVAILABLE,
                            "database_unavailable",
                            "the database is unavailable; try again shortly",
                        );
                        r.headers.append_static("retry-after", "5");
                        r
                    }
                    _ => internal(),
                }
            }
            Self::Contract(what) => {
                log.log(Level::Error, "database_contract", what);
                internal()
            }
            Self::Crypto(detail) => {
                log.log(Level::Error, "crypto_failed", &detail);
                internal()
            }
            Self::Random => {
                log.log(Level::Error, "random_failed", "the random source failed");
                internal()
            }
            Self::ServerError {
                code,
                description,
                cause,
            } => {
                let status = cause.into_response(log).status;
                let mut r = oauth_response(status, code, description);
                if code == "temporarily_unavailable" {
                    r.headers.append_static("retry-after", "5");
                }
                r
            }
            Self::GithubUnsigned => error_response(
                Status::BAD_REQUEST,
                "signature_missing",
                "Github-Public-Key-Identifier and Github-Public-Key-Signature are required",
            ),
            Self::GithubBadSignature => error_response(
                Status::BAD_REQUEST,
                "signature_invalid",
                "the signature does not verify",
            ),
            Self::GithubKeysUnavailable => {
                log.log(
                    Level::Error,
                    "github_keys_unavailable",
                    "no GitHub key could be loaded",
                );
                let mut r = error_response(
                    Status::SERVICE_UNAVAILABLE,
                    "keys_unavailable",
                    "GitHub's keys could not be loaded; try again shortly",
                );
                r.headers.append_static("retry-after", "30");
                r
            }
        }
    }
}

/// On the token endpoints (RFC 6749 §5.2 bodies), our own failures are `server_error` and
/// `temporarily_unavailable`, with the status they have elsewhere.
fn oauth_shaped(e: PatError) -> PatError {
    let (code, description) = match &e {
        PatError::Db(DbError::Unavailable { .. } | DbError::NotConfigured) => (
            "temporarily_unavailable",
            "the database is unavailable; try again shortly",
        ),
        PatError::Db(_) | PatError::Contract(_) | PatError::Crypto(_) | PatError::Random => {
            ("server_error", "the function failed to process the request")
        }
        _ => return e,
    };
    PatError::ServerError {
        code,
        description,
        cause: Box::new(e),
    }
}

fn internal() -> Response {
    error_response(
        Status::INTERNAL_SERVER_ERROR,
        "internal_error",
        "the function failed to process the request",
    )
}

/// The routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route<'a> {
    Tokens,
    Token(&'a str),
    Rotate(&'a str),
    Exchange,
    Introspect,
    GithubReport,
}

fn parse_route(path: &str) -> Option<Route<'_>> {
    let path = path.strip_suffix('/').unwrap_or(path);
    match path {
        "/tokens" => Some(Route::Tokens),
        "/token" => Some(Route::Exchange),
        "/introspect" => Some(Route::Introspect),
        "/github/secret-scanning" => Some(Route::GithubReport),
        _ => {
            let rest = path.strip_prefix("/tokens/")?;
            match rest.split_once('/') {
                None => Some(Route::Token(rest)),
                Some((id, "rotate")) => Some(Route::Rotate(id)),
                Some(_) => None,
            }
        }
    }
}

/// The pat function.
#[derive(Debug)]
pub struct Pat {
    config: PatConfig,
    github_keys: github::GithubKeys,
    depsdev_keys: github::GithubKeys,
}

impl Pat {
    /// From a parsed configuration.
    #[must_use]
    pub fn new(config: PatConfig) -> Self {
        Self {
            config,
            github_keys: github::GithubKeys::default(),
            depsdev_keys: github::GithubKeys::default(),
        }
    }

    /// The configuration.
    #[must_use]
    pub const fn config(&self) -> &PatConfig {
        &self.config
    }
}

fn content_type_is(request: &Request, want: &str) -> bool {
    request
        .headers
        .get("content-type")
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(want))
}

fn body_text(request: &Request) -> Result<&str, PatError> {
    std::str::from_utf8(&request.body)
        .map_err(|_| PatError::BadRequest("the body is not UTF-8".into()))
}

fn json_body(request: &Request) -> Result<Value, PatError> {
    if !content_type_is(request, "application/json") {
        return Err(PatError::UnsupportedMediaType("send application/json"));
    }
    serde_json::from_slice(&request.body)
        .map_err(|_| PatError::BadRequest("the body is not JSON".into()))
}

fn bad(e: &JsonError) -> PatError {
    PatError::BadRequest(e.to_string())
}

/// A PostgreSQL text array literal: every element quoted, `"` and `\\` escaped, control
/// characters (NUL included, which PostgreSQL refuses in text) dropped.
pub(crate) fn pg_array<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::from("{");
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        for c in item.chars().filter(|c| !c.is_control()) {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
    }
    out.push('}');
    out
}

pub(crate) fn col(row: &Row, i: usize) -> Option<&str> {
    row.get(i).and_then(|c| c.as_deref())
}

fn first_row(rows: Vec<Row>) -> Result<Row, PatError> {
    rows.into_iter()
        .next()
        .ok_or(PatError::Contract("the function returned no row"))
}

/// Reads a PostgreSQL text array of simple words (`{a,b}`).
fn words(text: Option<&str>) -> Vec<String> {
    text.and_then(|t| t.strip_prefix('{'))
        .and_then(|t| t.strip_suffix('}'))
        .map(|t| {
            t.split(',')
                .filter(|s| !s.is_empty())
                .map(|s| s.trim_matches('"').to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// What a management request asks for, after checks.
struct NewToken {
    name: String,
    scopes: Scopes,
    expires_at: Option<UnixTime>,
    allowed_ips: Vec<Cidr>,
}

impl Pat {
    /// The client's address, from the header the operator named (none by default: tokens
    /// with an allow-list are then refused).
    fn client_ip(&self, request: &Request) -> Option<IpAddr> {
        portcullis_service::client_ip::client_ip(self.config.client_ip_header, request)
    }

    /// The signed-in user behind the request's JWT, allowed to manage tokens.
    async fn user<D: Db, H: Outbound>(
        &self,
        ctx: &Context<'_, D, H>,
        request: &Request,
        needs_aal2: bool,
    ) -> Result<std::rc::Rc<VerifiedClaims>, PatError> {
        let claims = authenticate(&self.config.verifier, ctx, request).await?;
        claims.user()?;
        if claims.amr.iter().any(|m| m == "pat") {
            return Err(PatError::Forbidden(
                "tokens exchanged from a personal access token cannot manage tokens",
            ));
        }
        if needs_aal2 && claims.aal.as_deref() != Some("aal2") {
            return Err(PatError::Forbidden(
                "this needs a session verified with a second factor (aal2)",
            ));
        }
        Ok(claims)
    }

    fn read_new_token(&self, body: &Value, now: UnixTime) -> Result<NewToken, PatError> {
        let policy = &self.config.policy;
        let mut s = Strict::new(body, "").map_err(|e| bad(&e))?;
        let name = s
            .str("name")
            .map_err(|e| bad(&e))?
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| PatError::BadRequest("name: required".into()))?
            .to_owned();
        if name.chars().count() > NAME_MAX_CHARS || name.chars().any(char::is_control) {
            return Err(PatError::BadRequest(format!(
                "name: at most {NAME_MAX_CHARS} characters, no control characters"
            )));
        }
        let scopes =
            Scopes::from_names(s.strings("scopes").map_err(|e| bad(&e))?).map_err(|_| {
                PatError::BadRequest(
                    "scopes: names are [a-z0-9:._-], at most 64 characters, at most 32".into(),
                )
            })?;
        if !policy.allows(&scopes) {
            return Err(PatError::BadRequest(format!(
                "scopes: allowed are {}",
                policy.allowed_scopes.to_text()
            )));
        }
        let expires_in = s.u64("expires_in").map_err(|e| bad(&e))?;
        let expires_at = s.str("expires_at").map_err(|e| bad(&e))?;
        let expires_at =
            match (expires_in, expires_at) {
                (Some(_), Some(_)) => {
                    return Err(PatError::BadRequest(
                        "give expires_in or expires_at, not both".into(),
                    ));
                }
                (Some(secs), None) => Some(
                    i64::try_from(secs)
                        .map(|s| now.saturating_add(s))
                        .map_err(|_| PatError::BadRequest("expires_in: too large".into()))?,
                ),
                (None, Some(text)) => Some(UnixTime::parse_rfc3339(text).map_err(|_| {
                    PatError::BadRequest("expires_at: an RFC 3339 date-time".into())
                })?),
                (None, None) if policy.require_expiry => {
                    return Err(PatError::BadRequest(
                        "tokens must expire here: give expires_in (seconds) or expires_at".into(),
                    ));
                }
                (None, None) => None,
            };
        if let Some(at) = expires_at {
            let lifetime = at.secs().saturating_sub(now.secs());
            let ok = u64::try_from(lifetime)
                .is_ok_and(|l| (MIN_LIFETIME_SECS..=policy.max_lifetime_seconds).contains(&l));
            if !ok {
                return Err(PatError::BadRequest(format!(
                    "the lifetime must be between {MIN_LIFETIME_SECS} and {} seconds",
                    policy.max_lifetime_seconds
                )));
            }
        }
        let ips = s.strings("allowed_ips").map_err(|e| bad(&e))?;
        if !ips.is_empty() && self.config.client_ip_header.is_none() {
            return Err(PatError::BadRequest(
                "allowed_ips: this deployment does not know client addresses (set PORTCULLIS_CLIENT_IP_HEADER)"
                    .into(),
            ));
        }
        if ips.len() > MAX_ALLOWED_IPS {
            return Err(PatError::BadRequest(format!(
                "allowed_ips: at most {MAX_ALLOWED_IPS}"
            )));
        }
        let allowed_ips = ips
            .iter()
            .map(|ip| {
                ip.parse::<Cidr>().map_err(|_| {
                    PatError::BadRequest(
                        "allowed_ips: addresses or CIDR blocks with zero host bits".into(),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        s.finish().map_err(|e| bad(&e))?;
        Ok(NewToken {
            name,
            scopes,
            expires_at,
            allowed_ips,
        })
    }

    async fn create<D: Db, H: Outbound>(
        &self,
        ctx: &Context<'_, D, H>,
        request: &Request,
    ) -> Result<Response, PatError> {
        let claims = self
            .user(ctx, request, self.config.policy.require_aal2)
            .await?;
        if claims.is_anonymous {
            return Err(PatError::Forbidden(
                "anonymous users cannot create personal access tokens",
            ));
        }
        let new = self.read_new_token(&json_body(request)?, ctx.clock.now())?;
        let token =
            PatToken::generate(&self.config.prefix, ctx.random).map_err(|_| PatError::Random)?;
        let hint = token::hint(token.expose(), &self.config.prefix);
        let ips: Vec<String> = new.allowed_ips.iter().map(Cidr::to_string).collect();
        let statement = Statement::new(
            "select outcome, id::text, to_json(created_at)#>>'{}', \
             to_json(to_timestamp($6::bigint))#>>'{}' \
             from portcullis.pat_create($1::uuid, $2, $3, $4, $5::text[], \
             to_timestamp($6::bigint), $7::cidr[], $8::int)",
        )
        .bind(claims.sub.clone())
        .bind(new.name.clone())
        .bind(self.config.hasher.hash(token.expose()))
        .bind(hint.clone())
        .bind(pg_array(new.scopes.iter()))
        .bind_opt(new.expires_at.map(|t| t.secs().to_string()))
        .bind_opt((!ips.is_empty()).then(|| pg_array(ips.iter().map(String::as_str))))
        .bind(self.config.policy.max_tokens_per_user.to_string());
        let row = first_row(ctx.db.query(&statement).await?)?;
        match col(&row, 0) {
            Some("created") => {}
            Some("limit") => {
                return Err(PatError::TokenLimit(self.config.policy.max_tokens_per_user));
            }
            Some("user_gone") => return Err(Refusal::NotAUser.into()),
            _ => return Err(PatError::Contract("pat_create: unexpected outcome")),
        }
        let id = col(&row, 1).ok_or(PatError::Contract("pat_create: no id"))?;
        ctx.log.log(
            Level::Info,
            "token_created",
            &format!("user {} created token {id}", claims.sub),
        );
        self.retention(ctx).await;
        Ok(json_response(
            Status(201),
            &json!({
                "id": id,
                "token": token.expose(),
                "name": new.name,
                "hint": hint,
                "scopes": new.scopes.iter().collect::<Vec<_>>(),
                "allowed_ips": ips,
                "created_at": col(&row, 2),
                "expires_at": col(&row, 3),
            }),
        ))
    }

    /// Now and then after a management write, the retention (bounded work): tokens revoked or
    /// expired longer ago than the policy's `retention_days`, and older events, deleted. A
    /// failure is logged, never the request's.
    async fn retention<D: Db, H: Outbound>(&self, ctx: &Context<'_, D, H>) {
        if ctx.now_and_then() {
            let statement = Statement::new("select portcullis.pat_retention($1::integer)")
                .bind(self.config.policy.retention_days.to_string());
            if let Err(e) = ctx.db.query(&statement).await {
                ctx.log
                    .log(Level::Warn, "pat_retention_failed", &e.to_string());
            }
        }
    }

    async fn list<D: Db, H: Outbound>(
        &self,
        ctx: &Context<'_, D, H>,
        request: &Request,
    ) -> Result<Response, PatError> {
        let claims = self.user(ctx, request, false).await?;
        let rows = ctx
            .db
            .query(&Statement::new("select portcullis.pat_list($1::uuid)").bind(claims.sub.clone()))
            .await?;
        let list = col(&first_row(rows)?, 0)
            .ok_or(PatError::Contract("pat_list: null"))?
            .to_owned();
        Ok(json_bytes_response(
            Status::OK,
            format!("{{\"tokens\":{list}}}").into_bytes(),
        ))
    }

    async fn rotate<D: Db, H: Outbound>(
        &self,
        ctx: &Context<'_, D, H>,
        request: &Request,
        id: &str,
    ) -> Result<Response, PatError> {
        let claims = self
            .user(ctx, request, self.config.policy.require_aal2)
            .await?;
        let overlap = if request.body.is_empty() {
            0
        } else {
            let body = json_body(request)?;
            let mut s = Strict::new(&body, "").map_err(|e| bad(&e))?;
            let overlap = s.u64("overlap_seconds").map_err(|e| bad(&e))?.unwrap_or(0);
            s.finish().map_err(|e| bad(&e))?;
            overlap
        };
        if overlap > self.config.policy.max_overlap_seconds {
            return Err(PatError::BadRequest(format!(
                "overlap_seconds: at most {}",
                self.config.policy.max_overlap_seconds
            )));
        }
        if !is_uuid(id) {
            return Err(PatError::TokenNotFound);
        }
        let token =
            PatToken::generate(&self.config.prefix, ctx.random).map_err(|_| PatError::Random)?;
        let hint = token::hint(token.expose(), &self.config.prefix);
        let statement = Statement::new(
            "select outcome, id::text, name, scopes::text, allowed_ips::text, \
             to_json(created_at)#>>'{}', to_json(expires_at)#>>'{}', \
             to_json(old_valid_until)#>>'{}' \
             from portcullis.pat_rotate($1::uuid, $2::uuid, $3, $4, $5::int, $6::bigint, $7::int)",
        )
        .bind(claims.sub.clone())
        .bind(id)
        .bind(self.config.hasher.hash(token.expose()))
        .bind(hint.clone())
        .bind(overlap.to_string())
        .bind(self.config.policy.max_lifetime_seconds.to_string())
        .bind(self.config.policy.max_tokens_per_user.to_string());
        let row = first_row(ctx.db.query(&statement).await?)?;
        match col(&row, 0) {
            Some("rotated") => {}
            Some("limit") => {
                return Err(PatError::TokenLimit(self.config.policy.max_tokens_per_user));
            }
            Some("not_found") => return Err(PatError::TokenNotFound),
            Some(state @ ("revoked" | "expired" | "rotating")) => {
                return Err(PatError::Conflict(state.to_owned()));
            }
            _ => return Err(PatError::Contract("pat_rotate: unexpected outcome")),
        }
        let new_id = col(&row, 1).ok_or(PatError::Contract("pat_rotate: no id"))?;
        ctx.log.log(
            Level::Info,
            "token_rotated",
            &format!("user {} rotated token {id} to {new_id}", claims.sub),
        );
        self.retention(ctx).await;
        Ok(json_response(
            Status::OK,
            &json!({
                "id": new_id,
                "token": token.expose(),
                "name": col(&row, 2),
                "hint": hint,
                "scopes": words(col(&row, 3)),
                "allowed_ips": words(col(&row, 4)),
                "created_at": col(&row, 5),
                "expires_at": col(&row, 6),
                "replaces": { "id": id, "valid_until": col(&row, 7) },
            }),
        ))
    }

    async fn revoke<D: Db, H: Outbound>(
        &self,
        ctx: &Context<'_, D, H>,
        request: &Request,
        id: &str,
    ) -> Result<Response, PatError> {
        let claims = self.user(ctx, request, false).await?;
        if !is_uuid(id) {
            return Err(PatError::TokenNotFound);
        }
        let rows = ctx
            .db
            .query(
                &Statement::new("select portcullis.pat_revoke($1::uuid, $2::uuid, 'user')")
                    .bind(claims.sub.clone())
                    .bind(id),
            )
            .await?;
        match col(&first_row(rows)?, 0) {
            Some("revoked") => {}
            Some("not_found") => return Err(PatError::TokenNotFound),
            _ => return Err(PatError::Contract("pat_revoke: unexpected outcome")),
        }
        ctx.log.log(
            Level::Info,
            "token_revoked",
            &format!("user {} revoked token {id}", claims.sub),
        );
        self.retention(ctx).await;
        Ok(Response::new(Status::NO_CONTENT))
    }

    fn check_target(&self, req: &ExchangeRequest<'_>) -> Result<(), OAuthError> {
        let base = self.config.project_url.as_str();
        let audience_ok = req
            .audiences
            .iter()
            .all(|a| *a == "authenticated" || *a == base);
        let resource_ok = req.resources.iter().all(|r| {
            r.strip_prefix(base)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        });
        if audience_ok && resource_ok {
            Ok(())
        } else {
            Err(OAuthError {
                code: "invalid_target",
                description: "tokens are issued for this project only (audience authenticated)",
            })
        }
    }

    async fn exchange<D: Db, H: Outbound>(
        &self,
        ctx: &Context<'_, D, H>,
        request: &Request,
    ) -> Result<Response, PatError> {
        if !content_type_is(request, "application/x-www-form-urlencoded") {
            return Err(OAuthError::invalid_request(
                "send application/x-www-form-urlencoded (RFC 8693)",
            )
            .into());
        }
        let body =
            body_text(request).map_err(|_| OAuthError::invalid_request("the body is not UTF-8"))?;
        let form = portcullis_pat::exchange::form(body)?;
        let req = ExchangeRequest::parse(&form)?;
        self.check_target(&req)?;
        let invalid = |d| PatError::OAuth(OAuthError::invalid_request(d));
        // Format and checksum: garbage costs no database work.
        token::check(req.subject_token, &self.config.prefix)
            .map_err(|_| invalid("the subject token is not valid"))?;
        let limit = self.config.policy.rate_limit;
        let statement = Statement::new(
            "select outcome, token_id::text, user_id::text, scopes::text, \
             floor(extract(epoch from expires_at))::bigint::text, retry_after::text, email, phone, \
             app_metadata, user_metadata, is_anonymous::text \
             from portcullis.pat_exchange($1, $2::inet, $3::int, $4::int)",
        )
        .bind(self.config.hasher.hash(req.subject_token))
        .bind_opt(self.client_ip(request).map(|ip| ip.to_string()))
        .bind(limit.requests.to_string())
        .bind(limit.window_seconds.to_string());
        let row = first_row(ctx.db.query(&statement).await?)?;
        match col(&row, 0) {
            Some("ok") => {}
            Some("unknown") => return Err(invalid("the subject token is not valid")),
            Some("revoked") => return Err(invalid("the subject token has been revoked")),
            Some("expired") => return Err(invalid("the subject token has expired")),
            Some("user_gone" | "user_banned") => {
                return Err(invalid("the subject token's owner cannot sign in"));
            }
            Some("ip_refused") => {
                return Err(invalid(
                    "the subject token may not be used from this address",
                ));
            }
            Some("rate_limited") => {
                let retry_after = col(&row, 5).and_then(|s| s.parse().ok()).unwrap_or(1);
                return Err(PatError::RateLimited { retry_after });
            }
            Some("no_auth_schema") => {
                return Err(PatError::Contract(
                    "pat_exchange: this database has no auth.users",
                ));
            }
            _ => return Err(PatError::Contract("pat_exchange: unexpected outcome")),
        }
        let (Some(pat_id), Some(user_id)) = (col(&row, 1), col(&row, 2)) else {
            return Err(PatError::Contract("pat_exchange: no ids"));
        };
        let stored = Scopes::from_names(words(col(&row, 3)).iter().map(String::as_str))
            .map_err(|_| PatError::Contract("pat_exchange: bad scopes"))?;
        // The policy of today: a scope it no longer allows is not granted, and a token left
        // with none of its scopes gets nothing (not an unscoped user token).
        let granted = self.config.policy.permitted(&stored);
        if granted.is_empty() && !stored.is_empty() {
            return Err(OAuthError {
                code: "invalid_scope",
                description: "none of the subject token's scopes is allowed any more",
            }
            .into());
        }
        let scope = match req.scope {
            Some(asked) if !asked.is_subset(&granted) => {
                return Err(OAuthError {
                    code: "invalid_scope",
                    description: "the requested scope exceeds the subject token's",
                }
                .into());
            }
            Some(asked) => asked,
            None => granted,
        };
        let now = ctx.clock.now();
        let ttl = self.config.policy.exchange_ttl_seconds as i64;
        let ttl = match col(&row, 4).and_then(|e| e.parse::<i64>().ok()) {
            Some(pat_exp) => ttl.min(pat_exp - now.secs()).max(1),
            None => ttl,
        };
        let scope_text = scope.to_text();
        let extra = [("pat_id", pat_id), ("scope", scope_text.as_str())];
        let claims = TokenClaims {
            issuer: self.config.verifier.expectations().issuer(),
            sub: user_id,
            aud: "authenticated",
            role: "authenticated",
            issued_at: now,
            expires_at: now.saturating_add(ttl),
            aal: "aal1",
            amr_method: "pat",
            amr_timestamp: now,
            session_id: NIL_SESSION,
            is_anonymous: col(&row, 10) == Some("true"),
            email: col(&row, 6).unwrap_or_default(),
            phone: col(&row, 7).unwrap_or_default(),
            app_metadata: col(&row, 8).unwrap_or("{}"),
            user_metadata: col(&row, 9).unwrap_or("{}"),
            extra: &extra,
        };
        let jwt = portcullis_jwt::mint(&self.config.signing, &claims, ctx.crypto)
            .await
            .map_err(|e| match e {
                MintError::Crypto(c) => PatError::Crypto(c.detail),
                _ => PatError::Contract("auth.users metadata is not a JSON object"),
            })?;
        let mut r = json_response(
            Status::OK,
            &json!({
                "access_token": jwt,
                "issued_token_type": if req.issued_type == JWT_TOKEN_TYPE { JWT_TOKEN_TYPE } else { portcullis_pat::exchange::ACCESS_TOKEN_TYPE },
                "token_type": "Bearer",
                "expires_in": ttl,
                "scope": scope_text,
            }),
        );
        r.headers.append_static("pragma", "no-cache");
        Ok(r)
    }

    async fn introspect<D: Db, H: Outbound>(
        &self,
        ctx: &Context<'_, D, H>,
        request: &Request,
    ) -> Result<Response, PatError> {
        let secret = self
            .config
            .introspection
            .as_ref()
            .ok_or(PatError::IntrospectionDisabled)?;
        let presented = request
            .bearer()
            .ok_or(PatError::IntrospectionUnauthorized)?;
        if !secret.ct_eq(presented.as_bytes()) {
            return Err(PatError::IntrospectionUnauthorized);
        }
        if !content_type_is(request, "application/x-www-form-urlencoded") {
            return Err(
                OAuthError::invalid_request("send application/x-www-form-urlencoded").into(),
            );
        }
        let body =
            body_text(request).map_err(|_| OAuthError::invalid_request("the body is not UTF-8"))?;
        let form = portcullis_pat::form::Form::parse(body, &[])
            .map_err(|_| OAuthError::invalid_request("the body is not valid form encoding"))?;
        let raw = form
            .get("token")
            .ok_or(OAuthError::invalid_request("token is required"))?;
        let inactive = || {
            let mut r = json_response(Status::OK, &json!({ "active": false }));
            r.headers.append_static("pragma", "no-cache");
            r
        };
        if token::check(raw, &self.config.prefix).is_err() {
            return Ok(inactive());
        }
        let statement = Statement::new(
            "select active::text, token_id::text, user_id::text, name, scopes::text, \
             floor(extract(epoch from created_at))::bigint::text, \
             floor(extract(epoch from expires_at))::bigint::text \
             from portcullis.pat_introspect($1)",
        )
        .bind(self.config.hasher.hash(raw));
        let row = first_row(ctx.db.query(&statement).await?)?;
        if col(&row, 0) != Some("true") {
            return Ok(inactive());
        }
        let int = |i| col(&row, i).and_then(|v| v.parse::<i64>().ok());
        let mut r = json_response(
            Status::OK,
            &json!({
                "active": true,
                "scope": words(col(&row, 4)).join(" "),
                "sub": col(&row, 2),
                "iat": int(5),
                "exp": int(6),
                "iss": self.config.verifier.expectations().issuer(),
                "token_type": "pat",
                "pat_id": col(&row, 1),
                "name": col(&row, 3),
            }),
        );
        r.headers.append_static("pragma", "no-cache");
        Ok(r)
    }

    async fn answer<D: Db, H: Outbound>(
        &self,
        ctx: &Context<'_, D, H>,
        request: &Request,
    ) -> Result<Response, PatError> {
        let route = parse_route(route(request.path(), Self::NAME)).ok_or(PatError::NotFound)?;
        match (route, request.method) {
            (Route::Tokens, Method::Post) => self.create(ctx, request).await,
            (Route::Tokens, Method::Get) => self.list(ctx, request).await,
            (Route::Tokens, _) => Err(PatError::MethodNotAllowed("GET, POST")),
            (Route::Token(id), Method::Delete) => self.revoke(ctx, request, id).await,
            (Route::Token(_), _) => Err(PatError::MethodNotAllowed("DELETE")),
            (Route::Rotate(id), Method::Post) => self.rotate(ctx, request, id).await,
            (Route::Exchange, Method::Post) => {
                self.exchange(ctx, request).await.map_err(oauth_shaped)
            }
            (Route::Introspect, Method::Post) => {
                self.introspect(ctx, request).await.map_err(oauth_shaped)
            }
            (Route::GithubReport, Method::Post) => self.github_report(ctx, request).await,
            (Route::Rotate(_) | Route::Exchange | Route::Introspect | Route::GithubReport, _) => {
                Err(PatError::MethodNotAllowed("POST"))
            }
        }
    }
}

impl Function for Pat {
    const NAME: &'static str = "portcullis-pat";
    const USES_CRYPTO: bool = true;
    const HEADERS: &'static [&'static str] = &[
        "authorization",
        "content-type",
        "origin",
        "cf-connecting-ip",
        "x-forwarded-for",
        "x-real-ip",
        "github-public-key-identifier",
        "github-public-key-signature",
        "gosst-public-key-identifier",
        "gosst-public-key-signature",
    ];

    fn from_env(env: &dyn portcullis_core::Env) -> Result<Self, portcullis_core::ConfigError> {
        PatConfig::from_env(env).map(Self::new)
    }

    fn needs_db(&self) -> bool {
        true
    }

    fn max_body_bytes(&self) -> usize {
        self.config.max_body_bytes
    }

    async fn handle<D: Db, H: Outbound>(
        &self,
        ctx: &Context<'_, D, H>,
        request: Request,
    ) -> Response {
        if request.method == Method::Options {
            return self.config.cors.preflight(&request);
        }
        let mut response = match self.answer(ctx, &request).await {
            Ok(r) => r,
            Err(e) => e.into_response(ctx.log),
        };
        self.config.cors.apply(&request, &mut response);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(parse_route("/tokens"), Some(Route::Tokens));
        assert_eq!(parse_route("/tokens/"), Some(Route::Tokens));
        assert_eq!(parse_route("/tokens/abc"), Some(Route::Token("abc")));
        assert_eq!(
            parse_route("/tokens/abc/rotate"),
            Some(Route::Rotate("abc"))
        );
        assert_eq!(parse_route("/tokens/abc/other"), None);
        assert_eq!(parse_route("/token"), Some(Route::Exchange));
        assert_eq!(parse_route("/introspect"), Some(Route::Introspect));
        assert_eq!(parse_route("/"), None);
    }

    #[test]
    fn arrays() {
        assert_eq!(pg_array(["a:b", "c"]), "{\"a:b\",\"c\"}");
        assert_eq!(pg_array([]), "{}");
        assert_eq!(words(Some("{data:read,\"x y\"}")), vec!["data:read", "x y"]);
        assert_eq!(words(Some("{}")), Vec::<String>::new());
        assert_eq!(words(None), Vec::<String>::new());
    }
}
