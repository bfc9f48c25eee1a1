//! The hooks function: Supabase Auth calls it as its HTTP hook URLs.
//!
//! # Design
//! One route per hook (`POST /custom-access-token`, `POST /before-user-created`). A request
//! goes: route → method → body size → Standard Webhooks verification → payload → policy →
//! answer. Every failure is one variant of [`HooksError`], mapped to the wire in one
//! exhaustive `match` ([`HooksError::into_response`]).
//!
//! # The wire contract (spec §2)
//! - A request that fails verification gets `401` with a JSON body: only forgers see it.
//! - Every answer to a *verified* request is `200`, `Content-Type: application/json` and a
//!   JSON body. A refusal is the error object `{"error":{"http_code":…,"message":…}}` on a
//!   200, because GoTrue reads bodies only on 200/202 and turns any 4xx into an opaque 500.
//!
//! # Threat model
//! - Forgery and replay: see `portcullis-webhooks`. Secrets can differ per hook.
//! - Resource use: the body is bounded before verification; nothing is parsed before it is
//!   authenticated.
//! - Leaks: logs carry codes, user ids and SQLSTATEs, never payload values, claims or
//!   secrets; clients get fixed messages.

mod config;

use portcullis_core::{Db, Env, Outbound, Row};
use portcullis_hooks::access_token::Lookup;
use portcullis_hooks::{
    AccessTokenError, BeforeUserCreatedInput, CustomAccessTokenInput, HooksPolicy, Object,
    PayloadError, SignupDecision,
};
use portcullis_service::{
    Context, Function, Level, Method, Request, Response, Status, error_response,
    json_bytes_response, json_response, payload_too_large, route,
};
use portcullis_webhooks::{SecretSet, UntrustedWebhook, VerifyError};
use serde::Serialize;

pub use config::{ENV_MAX_BODY, ENV_POLICY, ENV_SECRETS, HooksConfig};

/// The hooks Supabase Auth can call here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Hook {
    /// `customize-access-token`.
    CustomAccessToken,
    /// `before-user-created`.
    BeforeUserCreated,
}

impl Hook {
    /// Every hook served.
    pub const ALL: [Self; 2] = [Self::CustomAccessToken, Self::BeforeUserCreated];

    /// The route, e.g. `/custom-access-token`.
    #[must_use]
    pub const fn path(self) -> &'static str {
        match self {
            Self::CustomAccessToken => "/custom-access-token",
            Self::BeforeUserCreated => "/before-user-created",
        }
    }

    /// Suffix of the per-hook secret variable, e.g. `CUSTOM_ACCESS_TOKEN`.
    #[must_use]
    pub const fn env_suffix(self) -> &'static str {
        match self {
            Self::CustomAccessToken => "CUSTOM_ACCESS_TOKEN",
            Self::BeforeUserCreated => "BEFORE_USER_CREATED",
        }
    }

    /// The `supabase/config.toml` table that configures this hook.
    #[must_use]
    pub const fn config_table(self) -> &'static str {
        match self {
            Self::CustomAccessToken => "custom_access_token",
            Self::BeforeUserCreated => "before_user_created",
        }
    }

    fn from_route(path: &str) -> Option<Self> {
        let path = path.strip_suffix('/').unwrap_or(path);
        Self::ALL.into_iter().find(|h| h.path() == path)
    }
}

/// Every way a hooks request can end other than success.
#[derive(Debug)]
#[non_exhaustive]
pub enum HooksError {
    /// No such route.
    NotFound,
    /// Not `POST`.
    MethodNotAllowed,
    /// Body over the configured limit.
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// No secret is configured for this hook.
    NotConfigured(Hook),
    /// Verification failed.
    Unverified(VerifyError),
    /// The verified body is not the payload this hook expects.
    BadPayload,
    /// The access token policy refused or could not produce valid claims.
    AccessToken(AccessTokenError),
    /// The claims lookup failed and the policy fails closed.
    LookupFailed,
    /// The sign-up policy refused the user.
    SignupRefused {
        /// For the end user.
        message: String,
    },
}

/// The error object GoTrue understands on a 200 answer (spec §2).
#[derive(Serialize)]
struct HookErrorBody<'a> {
    error: HookErrorObject<'a>,
}

#[derive(Serialize)]
struct HookErrorObject<'a> {
    http_code: u16,
    message: &'a str,
}

fn hook_error(http_code: u16, message: &str) -> Response {
    json_response(
        Status::OK,
        &HookErrorBody {
            error: HookErrorObject { http_code, message },
        },
    )
}

const MSG_INTERNAL: &str = "The authentication hook could not process this request.";

impl HooksError {
    /// The one mapping from errors to the wire.
    #[must_use]
    pub fn into_response(self) -> Response {
        match self {
            Self::NotFound => error_response(Status::NOT_FOUND, "not_found", "no such hook"),
            Self::MethodNotAllowed => {
                let mut r = error_response(
                    Status::METHOD_NOT_ALLOWED,
                    "method_not_allowed",
                    "hooks accept POST only",
                );
                r.headers.append("allow", "POST");
                r
            }
            Self::PayloadTooLarge { limit } => payload_too_large(limit),
            Self::NotConfigured(_) => error_response(
                Status::UNAUTHORIZED,
                "hook_secret_not_configured",
                "no webhook secret is configured for this hook",
            ),
            Self::Unverified(e) => error_response(Status::UNAUTHORIZED, e.code(), &e.to_string()),
            Self::BadPayload | Self::LookupFailed => hook_error(500, MSG_INTERNAL),
            Self::AccessToken(AccessTokenError::Refused { message }) => hook_error(403, &message),
            Self::AccessToken(AccessTokenError::TooLarge { .. }) => {
                hook_error(500, "The access token would be too large.")
            }
            Self::AccessToken(AccessTokenError::Schema(_)) => hook_error(500, MSG_INTERNAL),
            Self::AccessToken(_) => hook_error(500, MSG_INTERNAL),
            Self::SignupRefused { message } => hook_error(403, &message),
        }
    }
}

/// The hooks function.
#[derive(Debug)]
pub struct Hooks {
    config: HooksConfig,
}

impl Hooks {
    /// A hooks function with this configuration.
    #[must_use]
    pub fn new(config: HooksConfig) -> Self {
        Self { config }
    }

    /// The compiled policy.
    #[must_use]
    pub fn policy(&self) -> &HooksPolicy {
        &self.config.policy
    }

    async fn answer<D: Db, H: Outbound>(
        &self,
        ctx: &Context<'_, D, H>,
        request: Request,
    ) -> Result<Response, HooksError> {
        let hook =
            Hook::from_route(route(request.path(), Self::NAME)).ok_or(HooksError::NotFound)?;
        if request.method != Method::Post {
            return Err(HooksError::MethodNotAllowed);
        }
        let limit = self.config.max_body_bytes;
        if request.body.len() > limit {
            return Err(HooksError::PayloadTooLarge { limit });
        }
        let secrets: &SecretSet = self
            .config
            .secrets_for(hook)
            .ok_or(HooksError::NotConfigured(hook))?;
        let headers = &request.headers;
        let untrusted = UntrustedWebhook {
            id: headers.get("webhook-id"),
            timestamp: headers.get("webhook-timestamp"),
            signature: headers.get("webhook-signature"),
            body: &request.body,
        };
        let verified = secrets.verify(untrusted, ctx.clock.now()).map_err(|e| {
            ctx.log.log(
                Level::Warn,
                e.code(),
                &format!("rejected {} request: {e}", hook.path()),
            );
            HooksError::Unverified(e)
        })?;
        let body = verified.body();
        let bad = |e: PayloadError| {
            ctx.log.log(
                Level::Error,
                "invalid_payload",
                &format!("{} payload rejected: {e}", hook.path()),
            );
            HooksError::BadPayload
        };
        match hook {
            Hook::CustomAccessToken => {
                let input = CustomAccessTokenInput::parse(body).map_err(bad)?;
                self.custom_access_token(ctx, input).await
            }
            Hook::BeforeUserCreated => {
                let input = BeforeUserCreatedInput::parse(body).map_err(bad)?;
                self.before_user_created(ctx, &input)
            }
        }
    }

    async fn custom_access_token<D: Db, H: Outbound>(
        &self,
        ctx: &Context<'_, D, H>,
        input: CustomAccessTokenInput<'_>,
    ) -> Result<Response, HooksError> {
        let policy = &self.config.policy.access_token;
        let CustomAccessTokenInput {
            user_id,
            claims,
            authentication_method,
            ..
        } = input;
        // A method the policy refuses needs no lookup.
        let looked_up = match policy.lookup() {
            Some(lookup) if policy.refusal(&authentication_method).is_none() => {
                match fetch_claims(ctx, lookup, &user_id).await {
                    Ok(row) => row,
                    Err(()) if lookup.fail_closed => return Err(HooksError::LookupFailed),
                    Err(()) => None,
                }
            }
            _ => None,
        };
        let applied = policy
            .apply(claims, &authentication_method, looked_up.as_ref())
            .map_err(|e| {
                let level = if matches!(e, AccessTokenError::Refused { .. }) {
                    Level::Info
                } else {
                    Level::Error
                };
                ctx.log.log(
                    level,
                    "access_token_refused",
                    &format!("user {user_id}: {e}"),
                );
                HooksError::AccessToken(e)
            })?;
        if !applied.ignored_lookup_claims.is_empty() {
            ctx.log.log(
                Level::Warn,
                "lookup_reserved_claims_ignored",
                &format!(
                    "user {}: reserved claims in the lookup row were ignored: {}",
                    user_id,
                    applied.ignored_lookup_claims.join(", ")
                ),
            );
        }
        // {"claims":{…}}, the claims GoTrue sent untouched copied verbatim.
        let mut body = Vec::with_capacity(2048);
        body.extend_from_slice(b"{\"claims\":");
        applied.claims.write_json(&mut body);
        body.push(b'}');
        Ok(json_bytes_response(Status::OK, body))
    }

    fn before_user_created<D: Db, H: Outbound>(
        &self,
        ctx: &Context<'_, D, H>,
        input: &BeforeUserCreatedInput,
    ) -> Result<Response, HooksError> {
        match self.config.policy.before_user_created.evaluate(input) {
            SignupDecision::Allow => Ok(json_response(Status::OK, &serde_json::json!({}))),
            SignupDecision::Reject { reason, message } => {
                ctx.log.log(
                    Level::Info,
                    reason.code(),
                    &format!("sign-up refused for user {}", input.user.id),
                );
                Err(HooksError::SignupRefused { message })
            }
        }
    }
}

/// Runs the claims lookup. `Ok(None)`: no row. `Err(())`: failed (already logged).
async fn fetch_claims<D: Db, H: Outbound>(
    ctx: &Context<'_, D, H>,
    lookup: &Lookup,
    user_id: &str,
) -> Result<Option<Object>, ()> {
    let rows: Vec<Row> = ctx
        .db
        .query(&lookup.statement(user_id))
        .await
        .map_err(|e| {
            ctx.log.log(
                Level::Error,
                "claims_lookup_failed",
                &format!("user {user_id}: {e}"),
            );
        })?;
    let Some(cell) = rows.into_iter().next().and_then(|r| r.into_iter().next()) else {
        return Ok(None);
    };
    let Some(text) = cell else {
        return Ok(None);
    };
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Object(o)) => Ok(Some(o)),
        Ok(serde_json::Value::Null) => Ok(None),
        _ => {
            ctx.log.log(
                Level::Error,
                "claims_lookup_failed",
                &format!("user {user_id}: the claims column does not hold a JSON object"),
            );
            Err(())
        }
    }
}

impl Function for Hooks {
    const NAME: &'static str = "portcullis-hooks";
    const HEADERS: &'static [&'static str] =
        &["webhook-id", "webhook-timestamp", "webhook-signature"];

    fn from_env(env: &dyn Env) -> Result<Self, portcullis_core::ConfigError> {
        HooksConfig::from_env(env).map(Self::new)
    }

    fn needs_db(&self) -> bool {
        self.config.policy.access_token.lookup().is_some()
    }

    fn max_body_bytes(&self) -> usize {
        self.config.max_body_bytes
    }

    async fn handle<D: Db, H: Outbound>(
        &self,
        ctx: &Context<'_, D, H>,
        request: Request,
    ) -> Response {
        self.answer(ctx, request)
            .await
            .unwrap_or_else(HooksError::into_response)
    }
}
