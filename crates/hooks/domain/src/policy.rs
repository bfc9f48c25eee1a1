//! The hooks policy document: JSON in one environment variable or secret. TOML is accepted
//! where the `toml` feature is on (the CLI, which converts it to JSON for deployment); the Wasm
//! builds leave the TOML parser out.
//!
//! Unknown keys are errors (a misspelt rule must not silently do nothing), and every error
//! names the key path at fault.

use portcullis_core::Env;
use portcullis_core::json::{JsonError, Strict, Value};

use crate::access_token::AccessTokenPolicy;
use crate::attempts::{AttemptKind, AttemptPolicy};
use crate::delivery_policy::{AfterUserCreatedPolicy, EmailPolicy, SmsPolicy, read_branding};
use crate::email::Branding;
use crate::signup::SignupPolicy;

/// A policy document is invalid: the key path at fault and what is wrong.
pub type PolicyError = JsonError;

/// The compiled policies of every hook.
#[derive(Clone, Debug)]
pub struct HooksPolicy {
    /// Custom access token.
    pub access_token: AccessTokenPolicy,
    /// Before user created.
    pub before_user_created: SignupPolicy,
    /// Send email (`[send_email]`, with `[branding]`).
    pub send_email: EmailPolicy,
    /// Send SMS (`[send_sms]`).
    pub send_sms: SmsPolicy,
    /// MFA verification attempt.
    pub mfa_verification_attempt: AttemptPolicy,
    /// Password verification attempt.
    pub password_verification_attempt: AttemptPolicy,
    /// After user created.
    pub after_user_created: AfterUserCreatedPolicy,
}

impl Default for HooksPolicy {
    /// Claims pass through unchanged; everyone may sign up.
    fn default() -> Self {
        let branding = Branding::default();
        Self {
            access_token: AccessTokenPolicy::default(),
            before_user_created: SignupPolicy::allow_all(),
            send_sms: SmsPolicy::new(&branding),
            send_email: EmailPolicy::new(branding),
            mfa_verification_attempt: AttemptPolicy::new(AttemptKind::Mfa),
            password_verification_attempt: AttemptPolicy::new(AttemptKind::Password),
            after_user_created: AfterUserCreatedPolicy::default(),
        }
    }
}

impl HooksPolicy {
    /// The outbox retention statement (`portcullis.outbox_retention`, bounded work per call):
    /// expires queued rows past their OTP lifetime, deletes rows past their retention.
    #[must_use]
    pub fn outbox_retention(&self) -> portcullis_core::Statement {
        let (e, s) = (self.send_email.retention, self.send_sms.retention);
        portcullis_core::Statement::new(
            "select portcullis.outbox_retention($1::int, $2::int, $3::int, $4::int)::text",
        )
        .bind(e.queued_expiry_secs.to_string())
        .bind(s.queued_expiry_secs.to_string())
        .bind(e.keep_days.to_string())
        .bind(s.keep_days.to_string())
    }

    /// Parses and compiles a policy document. JSON when the first non-blank character is
    /// `{`, TOML otherwise. Assets the policy uses (the disposable-domain list) come from
    /// `host`.
    ///
    /// # Errors
    /// [`PolicyError`] naming the key path (empty for syntax errors) and the problem.
    pub fn parse(text: &str, host: &dyn Env) -> Result<Self, PolicyError> {
        let value: Value = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| PolicyError::new("", format!("JSON: {e}")))?
        } else {
            toml(text)?
        };
        let mut doc = Strict::new(&value, "")?;
        let access_token = match doc.object("access_token")? {
            Some(r) => AccessTokenPolicy::read(r)?,
            None => AccessTokenPolicy::default(),
        };
        let before_user_created = match doc.object("before_user_created")? {
            Some(r) => SignupPolicy::read(r, host)?,
            None => SignupPolicy::allow_all(),
        };
        let branding = read_branding(doc.object("branding")?)?;
        let send_sms = SmsPolicy::read(doc.object("send_sms")?, &branding)?;
        let send_email = EmailPolicy::read(doc.object("send_email")?, branding)?;
        let attempts = |doc: &mut Strict<'_>, key, kind| -> Result<AttemptPolicy, PolicyError> {
            match doc.object(key)? {
                Some(r) => AttemptPolicy::read(kind, r),
                None => Ok(AttemptPolicy::new(kind)),
            }
        };
        let mfa_verification_attempt =
            attempts(&mut doc, "mfa_verification_attempt", AttemptKind::Mfa)?;
        let password_verification_attempt = attempts(
            &mut doc,
            "password_verification_attempt",
            AttemptKind::Password,
        )?;
        let after_user_created = AfterUserCreatedPolicy::read(doc.object("after_user_created")?)?;
        doc.finish()?;
        Ok(Self {
            access_token,
            before_user_created,
            send_email,
            send_sms,
            mfa_verification_attempt,
            password_verification_attempt,
            after_user_created,
        })
    }
}

#[cfg(feature = "toml")]
fn toml(text: &str) -> Result<Value, PolicyError> {
    basic_toml::from_str(text).map_err(|e| PolicyError::new("", format!("TOML: {e}")))
}

#[cfg(not(feature = "toml"))]
fn toml(_text: &str) -> Result<Value, PolicyError> {
    Err(PolicyError::new(
        "",
        "expected a JSON object; convert a TOML policy with `portcullis hooks policy FILE`",
    ))
}
