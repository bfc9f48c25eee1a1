//! The send-SMS hook's domain (spec §5): which message, to which number, in which words.
//!
//! - The number is always `sms.phone` (for a phone change that is the *new* number), in E.164
//!   with `+`.
//! - Kinds: `mfa` when `sms_type` says so, `phone_change` when `sms.phone` is the user's
//!   pending `new_phone`, `otp` otherwise.
//! - Wording: built-in in every [`crate::email::LOCALES`] locale or configured per kind and
//!   locale, with the optional WebOTP line (`@example.com #123456`) browsers use to fill the
//!   code in.

use std::collections::BTreeMap;
use std::fmt;

use crate::payload::{Metadata, PayloadError, User, normalize_phone, parse_object};
use crate::template::{Mode, Slot, Template, TemplateError};

/// What the SMS is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum SmsKind {
    /// Sign-in or sign-up code.
    Otp,
    /// Confirm a new phone number.
    PhoneChange,
    /// An MFA challenge code.
    Mfa,
}

impl SmsKind {
    /// Every kind.
    pub const ALL: [Self; 3] = [Self::Otp, Self::PhoneChange, Self::Mfa];

    /// The name in configuration and in the outbox.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Otp => "otp",
            Self::PhoneChange => "phone_change",
            Self::Mfa => "mfa",
        }
    }

    /// The kind named `name`.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl fmt::Display for SmsKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The send-SMS hook's input.
#[derive(Clone, Debug, PartialEq)]
pub struct SendSmsInput {
    /// Common metadata (`uuid` is the de-duplication key).
    pub metadata: Metadata,
    /// The user.
    pub user: User,
    /// The one-time code.
    pub otp: String,
    /// The number to send to, as GoTrue gives it (digits, no `+`).
    pub phone: String,
    /// `mfa` for MFA challenges, else `""`.
    pub sms_type: String,
}

impl SendSmsInput {
    /// Parses the hook body.
    ///
    /// # Errors
    /// [`PayloadError`] when it is not JSON or `user` / `sms` is missing.
    pub fn parse(body: &[u8]) -> Result<Self, PayloadError> {
        let o = parse_object(body)?;
        let user = o
            .object("user")
            .ok_or(PayloadError::Shape { member: "user" })?;
        let sms = o
            .object("sms")
            .ok_or(PayloadError::Shape { member: "sms" })?;
        Ok(Self {
            metadata: Metadata::read(o.object("metadata").as_ref()),
            user: User::read(&user),
            otp: sms.text("otp").into_owned(),
            phone: sms.text("phone").into_owned(),
            sms_type: sms.text("sms_type").into_owned(),
        })
    }
}

/// The SMS one call owes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedSms {
    /// What it is for.
    pub kind: SmsKind,
    /// E.164 with `+`.
    pub to: String,
    /// The code.
    pub otp: String,
}

/// Why no SMS can be planned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SmsPlanError {
    /// `sms.phone` is not a phone number.
    BadNumber,
    /// `sms.otp` is empty.
    NoCode,
}

impl fmt::Display for SmsPlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BadNumber => "sms.phone is not a valid E.164 number",
            Self::NoCode => "sms.otp is empty",
        })
    }
}

impl std::error::Error for SmsPlanError {}

/// The SMS `input` owes.
///
/// # Errors
/// [`SmsPlanError`] for a missing code or an invalid number.
pub fn plan(input: &SendSmsInput) -> Result<PlannedSms, SmsPlanError> {
    let to = normalize_phone(&input.phone).ok_or(SmsPlanError::BadNumber)?;
    if input.otp.trim().is_empty() {
        return Err(SmsPlanError::NoCode);
    }
    let kind = if input.sms_type == "mfa" {
        SmsKind::Mfa
    } else if normalize_phone(&input.user.new_phone).is_some_and(|n| n == to) {
        SmsKind::PhoneChange
    } else {
        SmsKind::Otp
    };
    Ok(PlannedSms {
        kind,
        to,
        otp: input.otp.trim().to_owned(),
    })
}

/// The placeholders SMS templates may use.
pub const SMS_PLACEHOLDERS: [&str; 5] = ["app_name", "kind", "lang", "otp", "phone"];

fn builtin(locale: &str, kind: SmsKind) -> &'static str {
    match (locale, kind) {
        ("de", SmsKind::Otp) => {
            "{{otp}} ist Ihr Bestätigungscode für {{app_name}}. Geben Sie ihn nicht weiter."
        }
        ("de", SmsKind::PhoneChange) => {
            "{{otp}} ist Ihr Code, um diese Nummer für {{app_name}} zu bestätigen."
        }
        ("de", SmsKind::Mfa) => {
            "{{otp}} ist Ihr Anmeldecode für {{app_name}}. Geben Sie ihn nicht weiter."
        }
        ("fr", SmsKind::Otp) => {
            "{{otp}} est votre code de vérification {{app_name}}. Ne le partagez pas."
        }
        ("fr", SmsKind::PhoneChange) => {
            "{{otp}} est votre code pour confirmer ce numéro sur {{app_name}}."
        }
        ("fr", SmsKind::Mfa) => {
            "{{otp}} est votre code de connexion {{app_name}}. Ne le partagez pas."
        }
        (_, SmsKind::Otp) => {
            "{{otp}} is your {{app_name}} verification code. Don't share it with anyone."
        }
        (_, SmsKind::PhoneChange) => {
            "{{otp}} is your code to confirm this number for {{app_name}}."
        }
        (_, SmsKind::Mfa) => {
            "{{otp}} is your {{app_name}} sign-in code. Don't share it with anyone."
        }
    }
}

/// Placeholders resolve to their index in [`SMS_PLACEHOLDERS`].
fn slot(name: &str) -> Option<Slot> {
    SMS_PLACEHOLDERS
        .iter()
        .position(|p| *p == name)
        .map(Slot::user)
}

const OTP_SLOT: usize = 3;

/// SMS wording: configured templates by kind (and optionally locale), the app name and the
/// WebOTP domain. Every template, built-in or configured, is compiled once, here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SmsRenderer {
    app_name: String,
    web_otp_domain: Option<String>,
    templates: BTreeMap<(SmsKind, Option<&'static str>), Template>,
    builtins: Vec<((&'static str, SmsKind), Template)>,
}

impl SmsRenderer {
    /// Wording for `app_name`; `web_otp_domain` (a bare host such as `app.example.com`) adds
    /// the WebOTP line.
    #[must_use]
    pub fn new(app_name: &str, web_otp_domain: Option<&str>) -> Self {
        let builtins = crate::email::LOCALES
            .into_iter()
            .flat_map(|l| SmsKind::ALL.map(|k| (l, k)))
            .map(|(l, k)| {
                // Ours and covered by tests: a failure would be a build defect, rendered as
                // an empty text rather than a panic on a request path.
                let t = Template::compile(builtin(l, k), Mode::Text, &slot).unwrap_or_default();
                ((l, k), t)
            })
            .collect();
        Self {
            app_name: app_name.to_owned(),
            web_otp_domain: web_otp_domain.map(str::to_owned),
            templates: BTreeMap::new(),
            builtins,
        }
    }

    /// Sets the template for `kind` in `locale` (`None`: every locale without its own).
    ///
    /// # Errors
    /// [`TemplateError`] for an unknown placeholder or a malformed tag; a template that never
    /// shows `{{ otp }}` is refused too.
    pub fn set_template(
        &mut self,
        kind: SmsKind,
        locale: Option<&'static str>,
        source: &str,
    ) -> Result<(), TemplateError> {
        let t = Template::compile(source, Mode::Text, &slot)?;
        if !t.uses(OTP_SLOT) {
            return Err(TemplateError {
                offset: 0,
                problem: "the template never shows `{{ otp }}`".into(),
            });
        }
        self.templates.insert((kind, locale), t);
        Ok(())
    }

    /// The text of `sms` in `locale`.
    #[must_use]
    pub fn render(&self, sms: &PlannedSms, locale: &'static str) -> String {
        // In SMS_PLACEHOLDERS order.
        let vars = [
            self.app_name.as_str(),
            sms.kind.name(),
            locale,
            sms.otp.as_str(),
            sms.to.as_str(),
        ];
        let configured = [Some(locale), None]
            .into_iter()
            .find_map(|l| self.templates.get(&(sms.kind, l)));
        let template = configured.or_else(|| {
            self.builtins
                .iter()
                .find(|((l, k), _)| *l == locale && *k == sms.kind)
                .or_else(|| self.builtins.iter().find(|((_, k), _)| *k == sms.kind))
                .map(|(_, t)| t)
        });
        let mut out = String::with_capacity(200);
        if let Some(t) = template {
            t.render_into(&vars, &mut out);
        }
        if let Some(domain) = &self.web_otp_domain {
            out.push_str("\n\n@");
            out.push_str(domain);
            out.push_str(" #");
            out.push_str(&sms.otp);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(sms: serde_json::Value, user: serde_json::Value) -> SendSmsInput {
        SendSmsInput::parse(
            json!({"metadata": {"uuid": "u"}, "user": user, "sms": sms})
                .to_string()
                .as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn kinds_and_numbers_follow_the_spec() {
        let p = plan(&input(
            json!({"otp": "123456", "phone": "4915112345678"}),
            json!({"phone": "4915112345678"}),
        ))
        .unwrap();
        assert_eq!((p.kind, p.to.as_str()), (SmsKind::Otp, "+4915112345678"));
        let p = plan(&input(
            json!({"otp": "1", "phone": "14155550123"}),
            json!({"phone": "4915112345678", "new_phone": "14155550123"}),
        ))
        .unwrap();
        assert_eq!(
            (p.kind, p.to.as_str()),
            (SmsKind::PhoneChange, "+14155550123"),
            "the new number"
        );
        let p = plan(&input(
            json!({"otp": "1", "phone": "4915112345678", "sms_type": "mfa"}),
            json!({}),
        ))
        .unwrap();
        assert_eq!(p.kind, SmsKind::Mfa);
        assert_eq!(
            plan(&input(json!({"otp": "1", "phone": "abc"}), json!({}))).unwrap_err(),
            SmsPlanError::BadNumber
        );
        assert_eq!(
            plan(&input(
                json!({"otp": "", "phone": "4915112345678"}),
                json!({})
            ))
            .unwrap_err(),
            SmsPlanError::NoCode
        );
        assert!(SendSmsInput::parse(br#"{"user":{}}"#).is_err());
    }

    #[test]
    fn wording_is_localised_configurable_and_web_otp_ready() {
        let sms = PlannedSms {
            kind: SmsKind::Otp,
            to: "+4915112345678".into(),
            otp: "123456".into(),
        };
        let mut r = SmsRenderer::new("Acme", Some("app.acme.test"));
        assert_eq!(
            r.render(&sms, "en"),
            "123456 is your Acme verification code. Don't share it with anyone.\n\n@app.acme.test #123456"
        );
        assert!(
            r.render(&sms, "de")
                .starts_with("123456 ist Ihr Bestätigungscode für Acme.")
        );
        r.set_template(SmsKind::Otp, Some("fr"), "Code {{app_name}} : {{ otp }}")
            .unwrap();
        assert!(r.render(&sms, "fr").starts_with("Code Acme : 123456\n"));
        assert!(r.render(&sms, "en").starts_with("123456 is your"));
        assert_eq!(
            r.set_template(SmsKind::Mfa, None, "no code here")
                .unwrap_err()
                .problem,
            "the template never shows `{{ otp }}`"
        );
        assert_eq!(
            r.set_template(SmsKind::Mfa, None, "{{ token }}")
                .unwrap_err()
                .problem,
            "unknown placeholder `token`"
        );
        for locale in crate::email::LOCALES {
            for kind in SmsKind::ALL {
                let t = SmsRenderer::new("Acme", None).render(
                    &PlannedSms {
                        kind,
                        ..sms.clone()
                    },
                    locale,
                );
                assert!(
                    t.contains("123456") && t.contains("Acme") && t.len() < 160,
                    "{locale} {kind}: {t}"
                );
            }
        }
    }
}
