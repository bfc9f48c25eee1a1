//! The send-email hook's domain: which e-mails one hook call owes, to whom, with which code
//! and link (spec §4), and how they are rendered.
//!
//! - [`SendEmailInput::parse`] reads the payload tolerantly (all 11 `email_data` keys, `""` when
//!   unused).
//! - [`plan`] turns it into one or two [`PlannedEmail`]s: a secure `email_change` owes two
//!   (the current address gets `token` and a link with `token_hash_new`, the new address gets
//!   `token_new` and a link with `token_hash`: GoTrue's crossed naming), and
//!   `email_changed_notification` goes to the *old* address.
//! - Links are `{site_url}/verify?token={hash}&type={type}&redirect_to={redirect_to}`, each value
//!   percent-encoded.

mod render;
mod strings;

use std::fmt;

use portcullis_core::json::Value;
use portcullis_core::json::scan::RawObject;
use portcullis_core::outbound::percent_encode;

use crate::payload::{Metadata, PayloadError, User, parse_object};

pub use render::{
    Branding, BrandingError, EmailRenderer, EmailTemplates, PLACEHOLDERS, Recipient, Rendered,
    TemplateSet,
};
pub use strings::{LOCALES, locale_for};

/// The e-mails the hook sends: the 13 `email_action_type`s GoTrue sends, and `welcome`
/// (sent by the after-user-created hook when configured).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum EmailKind {
    /// Confirm a new account.
    Signup,
    /// Accept an invitation.
    Invite,
    /// Sign in with a link or code.
    Magiclink,
    /// Reset the password.
    Recovery,
    /// Confirm an e-mail change.
    EmailChange,
    /// A code to confirm a sensitive action (no link).
    Reauthentication,
    /// The password was changed.
    PasswordChangedNotification,
    /// The e-mail address was changed (sent to the old address).
    EmailChangedNotification,
    /// The phone number was changed.
    PhoneChangedNotification,
    /// A sign-in method was linked.
    IdentityLinkedNotification,
    /// A sign-in method was unlinked.
    IdentityUnlinkedNotification,
    /// A second factor was enrolled.
    MfaFactorEnrolledNotification,
    /// A second factor was removed.
    MfaFactorUnenrolledNotification,
    /// Welcome after sign-up (not a GoTrue type).
    Welcome,
}

impl EmailKind {
    /// Every kind, in a stable order.
    pub const ALL: [Self; 14] = [
        Self::Signup,
        Self::Invite,
        Self::Magiclink,
        Self::Recovery,
        Self::EmailChange,
        Self::Reauthentication,
        Self::PasswordChangedNotification,
        Self::EmailChangedNotification,
        Self::PhoneChangedNotification,
        Self::IdentityLinkedNotification,
        Self::IdentityUnlinkedNotification,
        Self::MfaFactorEnrolledNotification,
        Self::MfaFactorUnenrolledNotification,
        Self::Welcome,
    ];

    /// The name GoTrue uses (`email_action_type`), or `welcome`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Signup => "signup",
            Self::Invite => "invite",
            Self::Magiclink => "magiclink",
            Self::Recovery => "recovery",
            Self::EmailChange => "email_change",
            Self::Reauthentication => "reauthentication",
            Self::PasswordChangedNotification => "password_changed_notification",
            Self::EmailChangedNotification => "email_changed_notification",
            Self::PhoneChangedNotification => "phone_changed_notification",
            Self::IdentityLinkedNotification => "identity_linked_notification",
            Self::IdentityUnlinkedNotification => "identity_unlinked_notification",
            Self::MfaFactorEnrolledNotification => "mfa_factor_enrolled_notification",
            Self::MfaFactorUnenrolledNotification => "mfa_factor_unenrolled_notification",
            Self::Welcome => "welcome",
        }
    }

    /// The kind named `name`.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether the e-mail carries a confirmation link (and a code).
    #[must_use]
    pub const fn has_link(self) -> bool {
        matches!(
            self,
            Self::Signup | Self::Invite | Self::Magiclink | Self::Recovery | Self::EmailChange
        )
    }

    /// Whether the e-mail is a security notification (no code, no link).
    #[must_use]
    pub const fn is_notification(self) -> bool {
        matches!(
            self,
            Self::PasswordChangedNotification
                | Self::EmailChangedNotification
                | Self::PhoneChangedNotification
                | Self::IdentityLinkedNotification
                | Self::IdentityUnlinkedNotification
                | Self::MfaFactorEnrolledNotification
                | Self::MfaFactorUnenrolledNotification
        )
    }
}

impl fmt::Display for EmailKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `email_data` (spec §4): 11 string keys, `""` when unused.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EmailData {
    /// The OTP.
    pub token: String,
    /// hex(SHA-224(email + otp)), `pkce_`-prefixed in the PKCE flow.
    pub token_hash: String,
    /// Where to send the user after verification.
    pub redirect_to: String,
    /// One of the 13 action types.
    pub email_action_type: String,
    /// The Auth API's external URL (not the app's Site URL).
    pub site_url: String,
    /// The OTP for the new address (secure e-mail change).
    pub token_new: String,
    /// The hash for the link to the current address (secure e-mail change).
    pub token_hash_new: String,
    /// The previous address (`email_changed_notification`).
    pub old_email: String,
    /// The previous phone (`phone_changed_notification`).
    pub old_phone: String,
    /// The provider linked or unlinked.
    pub provider: String,
    /// The factor type enrolled or removed.
    pub factor_type: String,
}

impl EmailData {
    fn read(o: &RawObject<'_>) -> Self {
        let t = |k: &str| o.text(k).into_owned();
        Self {
            token: t("token"),
            token_hash: t("token_hash"),
            redirect_to: t("redirect_to"),
            email_action_type: t("email_action_type"),
            site_url: t("site_url"),
            token_new: t("token_new"),
            token_hash_new: t("token_hash_new"),
            old_email: t("old_email"),
            old_phone: t("old_phone"),
            provider: t("provider"),
            factor_type: t("factor_type"),
        }
    }
}

/// The send-email hook's input.
#[derive(Clone, Debug, PartialEq)]
pub struct SendEmailInput {
    /// Common metadata (`uuid` is the de-duplication key).
    pub metadata: Metadata,
    /// The user.
    pub user: User,
    /// What to send.
    pub email_data: EmailData,
}

impl SendEmailInput {
    /// Parses the hook body.
    ///
    /// # Errors
    /// [`PayloadError`] when it is not JSON or `user` / `email_data` is missing.
    pub fn parse(body: &[u8]) -> Result<Self, PayloadError> {
        let o = parse_object(body)?;
        let user = o
            .object("user")
            .ok_or(PayloadError::Shape { member: "user" })?;
        let data = o.object("email_data").ok_or(PayloadError::Shape {
            member: "email_data",
        })?;
        Ok(Self {
            metadata: Metadata::read(o.object("metadata").as_ref()),
            user: User::read(&user),
            email_data: EmailData::read(&data),
        })
    }
}

/// One e-mail owed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedEmail {
    /// What it is.
    pub kind: EmailKind,
    /// Whom to send it to.
    pub to: String,
    /// The code to show (`""` for notifications).
    pub otp: String,
    /// The token hash of its link (`""` when it has none).
    pub token_hash: String,
    /// The confirmation link, when the kind has one.
    pub link: Option<String>,
    /// For e-mail changes: whether this copy goes to the new address.
    pub to_new_address: bool,
}

/// Why no e-mail can be planned.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlanError {
    /// `email_action_type` is not one GoTrue sends.
    UnknownType(String),
    /// The recipient address is missing.
    NoRecipient(EmailKind),
    /// A link is owed but `site_url` or the token hash is missing.
    NoLink(EmailKind),
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownType(t) => write!(f, "unknown email_action_type `{t}`"),
            Self::NoRecipient(k) => write!(f, "{k}: no recipient address in the payload"),
            Self::NoLink(k) => write!(f, "{k}: site_url or token_hash is missing"),
        }
    }
}

impl std::error::Error for PlanError {}

/// `{site_url}/verify?token={hash}&type={type}&redirect_to={redirect_to}`.
#[must_use]
pub fn verify_link(site_url: &str, token_hash: &str, kind: EmailKind, redirect_to: &str) -> String {
    format!(
        "{}/verify?token={}&type={}&redirect_to={}",
        site_url.trim_end_matches('/'),
        percent_encode(token_hash),
        percent_encode(kind.name()),
        percent_encode(redirect_to)
    )
}

/// The e-mails one send-email call owes.
///
/// # Errors
/// [`PlanError`] when the type is unknown or a recipient or link cannot be formed.
pub fn plan(input: &SendEmailInput) -> Result<Vec<PlannedEmail>, PlanError> {
    let d = &input.email_data;
    let kind = EmailKind::from_name(&d.email_action_type)
        .filter(|k| *k != EmailKind::Welcome)
        .ok_or_else(|| PlanError::UnknownType(d.email_action_type.clone()))?;
    let user = &input.user;
    let link = |hash: &str| -> Result<Option<String>, PlanError> {
        if !kind.has_link() {
            return Ok(None);
        }
        if d.site_url.is_empty() || hash.is_empty() {
            return Err(PlanError::NoLink(kind));
        }
        Ok(Some(verify_link(&d.site_url, hash, kind, &d.redirect_to)))
    };
    let one = |to: &str,
               otp: &str,
               hash: &str,
               to_new_address: bool|
     -> Result<PlannedEmail, PlanError> {
        if to.trim().is_empty() {
            return Err(PlanError::NoRecipient(kind));
        }
        Ok(PlannedEmail {
            kind,
            to: to.trim().to_owned(),
            otp: if kind.is_notification() {
                String::new()
            } else {
                otp.to_owned()
            },
            token_hash: if kind.has_link() {
                hash.to_owned()
            } else {
                String::new()
            },
            link: link(hash)?,
            to_new_address,
        })
    };
    match kind {
        EmailKind::EmailChange => {
            let secure = !d.token_hash_new.is_empty() && !user.email.is_empty();
            if secure {
                // GoTrue's crossed naming: the current address confirms with token_hash_new.
                Ok(vec![
                    one(&user.email, &d.token, &d.token_hash_new, false)?,
                    one(&user.new_email, &d.token_new, &d.token_hash, true)?,
                ])
            } else {
                Ok(vec![one(&user.new_email, &d.token, &d.token_hash, true)?])
            }
        }
        EmailKind::EmailChangedNotification => {
            let to = if d.old_email.is_empty() {
                &user.email
            } else {
                &d.old_email
            };
            Ok(vec![one(to, "", "", false)?])
        }
        _ => Ok(vec![one(&user.email, &d.token, &d.token_hash, false)?]),
    }
}

/// The display name to greet the user with: `user_metadata.full_name`, `.name`, or nothing.
#[must_use]
pub fn display_name(user: &User) -> String {
    let meta = user.user_metadata.as_ref();
    ["full_name", "name", "display_name"]
        .iter()
        .find_map(|k| {
            meta.and_then(|m| m.get(*k))
                .and_then(Value::as_str)
                .filter(|s| !s.trim().is_empty())
        })
        .map(|s| s.trim().chars().take(80).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(kind: &str, user: Value, data: Value) -> SendEmailInput {
        let mut d = json!({
            "token": "123456", "token_hash": "hash1", "redirect_to": "https://app.example.com/welcome?x=1&y=2",
            "email_action_type": kind, "site_url": "https://ref.supabase.co/auth/v1",
            "token_new": "", "token_hash_new": "", "old_email": "", "old_phone": "", "provider": "", "factor_type": ""
        });
        if let (Some(base), Some(extra)) = (d.as_object_mut(), data.as_object()) {
            for (k, v) in extra {
                base.insert(k.clone(), v.clone());
            }
        }
        let body = json!({"metadata": {"uuid": "u1"}, "user": user, "email_data": d});
        SendEmailInput::parse(&serde_json::to_vec(&body).unwrap()).unwrap()
    }

    #[test]
    fn verification_kinds_get_code_and_encoded_link() {
        for kind in ["signup", "invite", "magiclink", "recovery"] {
            let p = plan(&input(kind, json!({"email": "ada@example.com"}), json!({}))).unwrap();
            assert_eq!(p.len(), 1);
            assert_eq!(
                (p[0].to.as_str(), p[0].otp.as_str()),
                ("ada@example.com", "123456")
            );
            assert_eq!(
                p[0].link.as_deref(),
                Some(format!("https://ref.supabase.co/auth/v1/verify?token=hash1&type={kind}&redirect_to=https%3A%2F%2Fapp.example.com%2Fwelcome%3Fx%3D1%26y%3D2").as_str())
            );
        }
        let p = plan(&input(
            "signup",
            json!({"email": "a@b.co"}),
            json!({"token_hash": "pkce_ab+/=", "redirect_to": ""}),
        ))
        .unwrap();
        assert_eq!(
            p[0].link.as_deref(),
            Some(
                "https://ref.supabase.co/auth/v1/verify?token=pkce_ab%2B%2F%3D&type=signup&redirect_to="
            )
        );
    }

    #[test]
    fn reauthentication_has_a_code_but_no_link() {
        let p = plan(&input(
            "reauthentication",
            json!({"email": "a@b.co"}),
            json!({"token_hash": ""}),
        ))
        .unwrap();
        assert_eq!((p[0].otp.as_str(), p[0].link.clone()), ("123456", None));
    }

    #[test]
    fn secure_email_change_owes_two_emails_with_crossed_tokens() {
        let user = json!({"email": "old@example.com", "new_email": "new@example.com"});
        let data = json!({"token_new": "654321", "token_hash_new": "hash-new"});
        let p = plan(&input("email_change", user, data)).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(
            (p[0].to.as_str(), p[0].otp.as_str(), p[0].to_new_address),
            ("old@example.com", "123456", false)
        );
        assert!(
            p[0].link
                .as_deref()
                .unwrap()
                .contains("token=hash-new&type=email_change")
        );
        assert_eq!(
            (p[1].to.as_str(), p[1].otp.as_str(), p[1].to_new_address),
            ("new@example.com", "654321", true)
        );
        assert!(
            p[1].link
                .as_deref()
                .unwrap()
                .contains("token=hash1&type=email_change")
        );
    }

    #[test]
    fn plain_email_change_goes_to_the_new_address_only() {
        let p = plan(&input(
            "email_change",
            json!({"email": "old@example.com", "new_email": "new@example.com"}),
            json!({}),
        ))
        .unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(
            (p[0].to.as_str(), p[0].otp.as_str()),
            ("new@example.com", "123456")
        );
        let err = plan(&input(
            "email_change",
            json!({"email": "old@example.com"}),
            json!({}),
        ))
        .unwrap_err();
        assert_eq!(err, PlanError::NoRecipient(EmailKind::EmailChange));
    }

    #[test]
    fn notifications_have_no_code_and_go_to_the_right_address() {
        let p = plan(&input(
            "email_changed_notification",
            json!({"email": "new@example.com"}),
            json!({"old_email": "old@example.com", "token": ""}),
        ))
        .unwrap();
        assert_eq!(
            (p[0].to.as_str(), p[0].otp.as_str(), p[0].link.clone()),
            ("old@example.com", "", None)
        );
        for kind in [
            "password_changed_notification",
            "phone_changed_notification",
            "identity_linked_notification",
            "identity_unlinked_notification",
            "mfa_factor_enrolled_notification",
            "mfa_factor_unenrolled_notification",
        ] {
            let p = plan(&input(
                kind,
                json!({"email": "ada@example.com"}),
                json!({"token": "leaked?"}),
            ))
            .unwrap();
            assert_eq!(
                (p[0].to.as_str(), p[0].otp.as_str()),
                ("ada@example.com", ""),
                "{kind}"
            );
        }
    }

    #[test]
    fn unknown_types_and_missing_links_are_errors() {
        assert_eq!(
            plan(&input("login", json!({"email": "a@b.co"}), json!({}))).unwrap_err(),
            PlanError::UnknownType("login".into())
        );
        assert_eq!(
            plan(&input("welcome", json!({"email": "a@b.co"}), json!({}))).unwrap_err(),
            PlanError::UnknownType("welcome".into())
        );
        assert_eq!(
            plan(&input(
                "signup",
                json!({"email": "a@b.co"}),
                json!({"site_url": ""})
            ))
            .unwrap_err(),
            PlanError::NoLink(EmailKind::Signup)
        );
        assert_eq!(
            plan(&input("signup", json!({"email": ""}), json!({}))).unwrap_err(),
            PlanError::NoRecipient(EmailKind::Signup)
        );
    }

    #[test]
    fn every_gotrue_type_round_trips_by_name() {
        assert_eq!(
            EmailKind::ALL
                .iter()
                .filter(|k| **k != EmailKind::Welcome)
                .count(),
            13
        );
        for k in EmailKind::ALL {
            assert_eq!(EmailKind::from_name(k.name()), Some(k));
        }
    }

    #[test]
    fn display_name_prefers_full_name_and_is_bounded() {
        let read = |v: Value| User::read(&RawObject::parse(&v.to_string()).unwrap());
        let u = read(json!({"user_metadata": {"name": "Ada", "full_name": "  Ada Lovelace "}}));
        assert_eq!(display_name(&u), "Ada Lovelace");
        let u = read(json!({"user_metadata": {"name": "x".repeat(500)}}));
        assert_eq!(display_name(&u).len(), 80);
        assert_eq!(display_name(&User::default()), "");
    }
}
