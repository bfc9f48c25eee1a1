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
mod messages;
mod providers;
mod send;

use portcullis_core::json::scan::RawObject;
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
pub use providers::Providers;
pub use send::{ATTEMPT_TIMEOUT_MS, BUDGET_MS};

use messages::{SendError, send_email, send_sms};
use portcullis_hooks::attempts::{AttemptInput, AttemptKind, AttemptPolicy, AttemptState};
use portcullis_hooks::email::{EmailKind, PlannedEmail, SendEmailInput};
use portcullis_hooks::payload::is_uuid;
use portcullis_hooks::sms::SendSmsInput;
use send::Deadline;

/// The hooks Supabase Auth can call here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Hook {
    /// `customize-access-token`.
    CustomAccessToken,
    /// `before-user-created`.
    BeforeUserCreated,
    /// `send-email`.
    SendEmail,
    /// `send-sms`.
    SendSms,
    /// `mfa-verification`.
    MfaVerificationAttempt,
    /// `password-verification`.
    PasswordVerificationAttempt,
    /// `after-user-created`.
    AfterUserCreated,
}

impl Hook {
    /// Every hook served.
    pub const ALL: [Self; 7] = [
        Self::CustomAccessToken,
        Self::SendEmail,
        Self::SendSms,
        Self::MfaVerificationAttempt,
        Self::PasswordVerificationAttempt,
        Self::BeforeUserCreated,
        Self::AfterUserCreated,
    ];

    /// The route, e.g. `/custom-access-token`.
    #[must_use]
    pub const fn path(self) -> &'static str {
        match self {
            Self::CustomAccessToken => "/custom-access-token",
            Self::BeforeUserCreated => "/before-user-created",
            Self::SendEmail => "/send-email",
            Self::SendSms => "/send-sms",
            Self::MfaVerificationAttempt => "/mfa-verification-attempt",
            Self::PasswordVerificationAttempt => "/password-verification-attempt",
            Self::AfterUserCreated => "/after-user-created",
        }
    }

    /// Suffix of the per-hook secret variable, e.g. `CUSTOM_ACCESS_TOKEN`.
    #[must_use]
    pub const fn env_suffix(self) -> &'static str {
        match self {
            Self::CustomAccessToken => "CUSTOM_ACCESS_TOKEN",
            Self::BeforeUserCreated => "BEFORE_USER_CREATED",
            Self::SendEmail => "SEND_EMAIL",
            Self::SendSms => "SEND_SMS",
            Self::MfaVerificationAttempt => "MFA_VERIFICATION_ATTEMPT",
            Self::PasswordVerificationAttempt => "PASSWORD_VERIFICATION_ATTEMPT",
            Self::AfterUserCreated => "AFTER_USER_CREATED",
        }
    }

    /// The `supabase/config.toml` table that configures this hook.
    #[must_use]
    pub const fn config_table(self) -> &'static str {
        match self {
            Self::CustomAccessToken => "custom_access_token",
            Self::BeforeUserCreated => "before_user_created",
            Self::SendEmail => "send_email",
            Self::SendSms => "send_sms",
            Self::MfaVerificationAttempt => "mfa_verification_attempt",
            Self::PasswordVerificationAttempt => "password_verification_attempt",
            Self::AfterUserCreated => "after_user_created",
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
    /// The payload names no message GoTrue can ask for (unknown type, no recipient, bad number).
    Unsendable,
    /// A provider refused the recipient.
    RecipientRejected,
    /// No provider accepted the message in time (recorded in the outbox).
    DeliveryFailed,
    /// The same message is still being sent by a concurrent call.
    DeliveryBusy,
    /// The database failed (logged with its SQLSTATE).
    Database,
    /// After user created could not finish: ask GoTrue to retry (it is idempotent).
    RetryLater,
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
                r.headers.append_static("allow", "POST");
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
            Self::Unsendable | Self::Database => hook_error(500, MSG_INTERNAL),
            Self::RecipientRejected => hook_error(
                400,
                "This address cannot receive messages. Check it and try again.",
            ),
            Self::DeliveryFailed => hook_error(
                503,
                "The message could not be sent right now. Please try again in a moment.",
            ),
            Self::DeliveryBusy => hook_error(
                503,
                "The message is still being sent. Please wait a moment before trying again.",
            ),
            Self::RetryLater => {
                let mut r = error_response(
                    Status::SERVICE_UNAVAILABLE,
                    "retry",
                    "the hook could not finish; retry",
                );
                r.headers.append_static("retry-after", "1");
                r
            }
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
            Hook::SendEmail => {
                let input = SendEmailInput::parse(body).map_err(bad)?;
                self.send_email(ctx, &input).await
            }
            Hook::SendSms => {
                let input = SendSmsInput::parse(body).map_err(bad)?;
                self.send_sms(ctx, &input).await
            }
            Hook::MfaVerificationAttempt => {
                let input = AttemptInput::parse(AttemptKind::Mfa, body).map_err(bad)?;
                let policy = &self.config.policy.mfa_verification_attempt;
                self.attempt(ctx, policy, &input).await
            }
            Hook::PasswordVerificationAttempt => {
                let input = AttemptInput::parse(AttemptKind::Password, body).map_err(bad)?;
                let policy = &self.config.policy.password_verification_attempt;
                self.attempt(ctx, policy, &input).await
            }
            Hook::AfterUserCreated => {
                let raw = portcullis_hooks::payload::parse_object(body).map_err(bad)?;
                self.after_user_created(ctx, &raw).await
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

fn empty_object() -> Response {
    json_bytes_response(Status::OK, b"{}".to_vec())
}

impl Hooks {
    fn hook_uuid<'a, D, H>(
        ctx: &Context<'_, D, H>,
        hook: Hook,
        uuid: &'a str,
    ) -> Result<&'a str, HooksError> {
        if is_uuid(uuid) {
            Ok(uuid)
        } else {
            ctx.log.log(
                Level::Error,
                "invalid_payload",
                &format!(
                    "{} payload rejected: metadata.uuid is not a UUID",
                    hook.path()
                ),
            );
            Err(HooksError::BadPayload)
        }
    }

    fn send_failed<D, H>(ctx: &Context<'_, D, H>, e: SendError) -> HooksError {
        match e {
            SendError::Rejected => HooksError::RecipientRejected,
            SendError::Failed => HooksError::DeliveryFailed,
            SendError::Busy => HooksError::DeliveryBusy,
            SendError::Database(e) => {
                ctx.log
                    .log(Level::Error, "outbox_failed", &format!("outbox: {e}"));
                HooksError::Database
            }
        }
    }

    async fn send_email<D: Db, H: Outbound>(
        &self,
        ctx: &Context<'_, D, H>,
        input: &SendEmailInput,
    ) -> Result<Response, HooksError> {
        let deadline = Deadline::start(ctx.clock);
        let uuid = Self::hook_uuid(ctx, Hook::SendEmail, &input.metadata.uuid)?;
        let planned = portcullis_hooks::email::plan(input).map_err(|e| {
            ctx.log.log(
                Level::Error,
                "email_unsendable",
                &format!("user {}: {e}", input.user.id),
            );
            HooksError::Unsendable
        })?;
        for email in &planned {
            send_email(
                ctx,
                &self.config.policy.send_email,
                &self.config.providers,
                uuid,
                &input.user,
                Some(&input.email_data),
                email,
                deadline,
            )
            .await
            .map_err(|e| Self::send_failed(ctx, e))?;
        }
        self.outbox_retention(ctx).await;
        Ok(empty_object())
    }

    /// Now and then, the outbox retention (bounded work): no cron for the user to remember.
    async fn outbox_retention<D: Db, H: Outbound>(&self, ctx: &Context<'_, D, H>) {
        if ctx.now_and_then()
            && let Err(e) = ctx.db.query(&self.config.policy.outbox_retention()).await
        {
            ctx.log
                .log(Level::Warn, "outbox_retention_failed", &e.to_string());
        }
    }

    async fn send_sms<D: Db, H: Outbound>(
        &self,
        ctx: &Context<'_, D, H>,
        input: &SendSmsInput,
    ) -> Result<Response, HooksError> {
        let deadline = Deadline::start(ctx.clock);
        let uuid = Self::hook_uuid(ctx, Hook::SendSms, &input.metadata.uuid)?;
        let planned = portcullis_hooks::sms::plan(input).map_err(|e| {
            ctx.log.log(
                Level::Error,
                "sms_unsendable",
                &format!("user {}: {e}", input.user.id),
            );
            HooksError::Unsendable
        })?;
        send_sms(
            ctx,
            &self.config.policy.send_sms,
            &self.config.providers,
            uuid,
            &input.user,
            &planned,
            deadline,
        )
        .await
        .map_err(|e| Self::send_failed(ctx, e))?;
        self.outbox_retention(ctx).await;
        Ok(empty_object())
    }

    async fn attempt<D: Db, H: Outbound>(
        &self,
        ctx: &Context<'_, D, H>,
        policy: &AttemptPolicy,
        input: &AttemptInput,
    ) -> Result<Response, HooksError> {
        let statement = if input.valid {
            policy.record_success(input)
        } else {
            policy.record_failure(input)
        };
        let kind = policy.kind();
        let decision = match ctx.db.query(&statement).await {
            Ok(rows) => {
                let state = rows
                    .first()
                    .map(|r| AttemptState::from_row(r))
                    .unwrap_or_default();
                let decision = policy.decide(input.valid, state);
                // Once per lock and per logout, not on every refused attempt.
                let newly_locked = !input.valid && state.failures == policy.max_failures;
                let newly_logged_out =
                    decision.should_logout_user && policy.logout_after == Some(state.failures);
                if newly_locked || newly_logged_out {
                    ctx.log.log(
                        Level::Warn,
                        "attempt_limited",
                        &format!(
                            "{kind} attempts for user {}: {} failure(s), reject={}, logout={}",
                            input.user_id,
                            state.failures,
                            decision.reject,
                            decision.should_logout_user
                        ),
                    );
                }
                decision
            }
            Err(e) => {
                ctx.log.log(
                    Level::Error,
                    "attempts_unavailable",
                    &format!("{kind} attempts for user {}: {e}", input.user_id),
                );
                if !policy.fail_closed {
                    return Ok(attempt_response(kind, false, "", false));
                }
                return Ok(attempt_response(
                    kind,
                    true,
                    "Sign-in is temporarily unavailable. Please try again shortly.",
                    false,
                ));
            }
        };
        if ctx.now_and_then()
            && let Err(e) = ctx.db.query(&policy.prune(ctx.random)).await
        {
            ctx.log.log(
                Level::Warn,
                "attempts_prune_failed",
                &format!("{kind}: {e}"),
            );
        }
        Ok(attempt_response(
            kind,
            decision.reject,
            &decision.message,
            decision.should_logout_user,
        ))
    }

    async fn after_user_created<D: Db, H: Outbound>(
        &self,
        ctx: &Context<'_, D, H>,
        raw: &RawObject<'_>,
    ) -> Result<Response, HooksError> {
        let deadline = Deadline::start(ctx.clock);
        let policy = &self.config.policy.after_user_created;
        let metadata = portcullis_hooks::Metadata::read(raw.object("metadata").as_ref());
        let Some(raw_user) = raw.object("user") else {
            ctx.log.log(
                Level::Error,
                "invalid_payload",
                "/after-user-created payload rejected: `user` is missing",
            );
            return Err(HooksError::BadPayload);
        };
        let user = portcullis_hooks::User::read(&raw_user);
        let uuid = Self::hook_uuid(ctx, Hook::AfterUserCreated, &metadata.uuid)?;
        if !is_uuid(&user.id) {
            ctx.log.log(
                Level::Error,
                "invalid_payload",
                "/after-user-created payload rejected: user.id is not a UUID",
            );
            return Err(HooksError::BadPayload);
        }
        let retry = |what: &str, e: &dyn std::fmt::Display| {
            ctx.log.log(
                Level::Error,
                "after_user_created_failed",
                &format!("user {}: {what}: {e}", user.id),
            );
            HooksError::RetryLater
        };
        if let Some(statement) = policy.provision(&user, &raw_user) {
            ctx.db
                .query(&statement)
                .await
                .map_err(|e| retry("provisioning", &e))?;
        }
        if policy.event {
            let statement = portcullis_core::Statement::new(
                "insert into portcullis.events (name, hook_uuid, user_id, payload) \
                 values ('user_created', $1::uuid, $2::uuid, $3::text::jsonb) \
                 on conflict (name, hook_uuid) do nothing",
            )
            .bind(uuid)
            .bind(user.id.as_str())
            // The user object as GoTrue sent it (validated JSON; jsonb normalises it).
            .bind(raw_user.as_str());
            ctx.db
                .query(&statement)
                .await
                .map_err(|e| retry("event", &e))?;
        }
        if policy.welcome_email && !user.email.is_empty() {
            let email = PlannedEmail {
                kind: EmailKind::Welcome,
                to: user.email.clone(),
                otp: String::new(),
                token_hash: String::new(),
                link: None,
                to_new_address: false,
            };
            let sent = send_email(
                ctx,
                &self.config.policy.send_email,
                &self.config.providers,
                uuid,
                &user,
                None,
                &email,
                deadline,
            )
            .await;
            match sent {
                // A bad address will not get better: the failure is in the outbox.
                Ok(()) | Err(SendError::Rejected) => {}
                Err(SendError::Database(e)) => return Err(retry("welcome e-mail", &e)),
                Err(SendError::Failed | SendError::Busy) => {
                    return Err(retry("welcome e-mail", &"not delivered in time"));
                }
            }
        }
        Ok(empty_object())
    }
}

fn attempt_response(kind: AttemptKind, reject: bool, message: &str, logout: bool) -> Response {
    let decision = if reject { "reject" } else { "continue" };
    let body = match kind {
        AttemptKind::Mfa => serde_json::json!({"decision": decision, "message": message}),
        AttemptKind::Password => serde_json::json!({
            "decision": decision,
            "message": message,
            "should_logout_user": logout,
        }),
    };
    json_response(Status::OK, &body)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails to compile when a variant is added without a case in
    /// `tests/handle.rs::every_error_variant_maps_to_its_status_and_body` (17 cases today).
    #[test]
    fn error_variants_are_all_listed() {
        let count = |e: &HooksError| match e {
            HooksError::NotFound
            | HooksError::MethodNotAllowed
            | HooksError::PayloadTooLarge { .. }
            | HooksError::NotConfigured(_)
            | HooksError::Unverified(_)
            | HooksError::BadPayload
            | HooksError::LookupFailed
            | HooksError::SignupRefused { .. }
            | HooksError::Unsendable
            | HooksError::RecipientRejected
            | HooksError::DeliveryFailed
            | HooksError::DeliveryBusy
            | HooksError::Database
            | HooksError::RetryLater => 1,
            // Refused, TooLarge and Schema are three cases of the mapping.
            HooksError::AccessToken(_) => 3,
        };
        let listed: usize = [
            HooksError::NotFound,
            HooksError::MethodNotAllowed,
            HooksError::PayloadTooLarge { limit: 1 },
            HooksError::NotConfigured(Hook::SendEmail),
            HooksError::Unverified(VerifyError::MissingId),
            HooksError::BadPayload,
            HooksError::LookupFailed,
            HooksError::SignupRefused {
                message: String::new(),
            },
            HooksError::Unsendable,
            HooksError::RecipientRejected,
            HooksError::DeliveryFailed,
            HooksError::DeliveryBusy,
            HooksError::Database,
            HooksError::RetryLater,
            HooksError::AccessToken(AccessTokenError::Refused {
                message: String::new(),
            }),
        ]
        .iter()
        .map(count)
        .sum();
        assert_eq!(listed, 17);
    }
}
