//! The delivery sections of the policy document: `[branding]`, `[send_email]`, `[send_sms]`
//! and `[after_user_created]`.
//!
//! ```toml
//! [branding]
//! app_name = "Acme"
//! brand_color = "#4f46e5"
//!
//! [send_email]
//! delivery = ["resend", "postmark"]      # tried in order; or ["outbox"] (the default)
//! from = "Acme <auth@acme.test>"
//! delivery_by_type = { password_changed_notification = ["outbox"] }
//! [send_email.templates.magiclink]
//! subject = "Sign in to {{ app_name }}"
//! [send_email.templates.magiclink.de]
//! subject = "Bei {{ app_name }} anmelden"
//! ```

use std::collections::BTreeMap;

use portcullis_core::json::scan::RawObject;
use portcullis_core::json::{JsonError, Object, Strict, Value, join};
use portcullis_core::sql::{Statement, quote_ident_path};

use crate::delivery::Channel;
use crate::email::{Branding, EmailKind, EmailRenderer, EmailTemplates, LOCALES, TemplateSet};
use crate::payload::User;
use crate::sms::{SmsKind, SmsRenderer};

fn locale_name(name: &str) -> Option<&'static str> {
    LOCALES.into_iter().find(|l| *l == name)
}

/// A delivery list: one or more channels of the right medium, `outbox` only alone.
fn channels(
    at: &str,
    list: &[&str],
    valid: fn(Channel) -> bool,
) -> Result<Vec<Channel>, JsonError> {
    let mut out = Vec::new();
    for (i, name) in list.iter().enumerate() {
        let path = format!("{at}[{i}]");
        let c = Channel::from_name(name)
            .filter(|c| valid(*c))
            .ok_or_else(|| {
                JsonError::new(
                    &path,
                    format!("`{name}` cannot deliver this kind of message"),
                )
            })?;
        if out.contains(&c) {
            return Err(JsonError::new(&path, format!("`{name}` is listed twice")));
        }
        out.push(c);
    }
    if out.is_empty() {
        return Err(JsonError::new(at, "list at least one channel"));
    }
    if out.len() > 1 && out.contains(&Channel::Outbox) {
        return Err(JsonError::new(
            at,
            "`outbox` hands messages to a consumer: list it alone",
        ));
    }
    Ok(out)
}

fn delivery_by_type<K: Ord + Copy>(
    r: &mut Strict<'_>,
    parse: fn(&str) -> Option<K>,
    valid: fn(Channel) -> bool,
) -> Result<BTreeMap<K, Vec<Channel>>, JsonError> {
    let at = r.path_of("delivery_by_type");
    let mut out = BTreeMap::new();
    for (name, v) in r.free_object("delivery_by_type")?.into_iter().flatten() {
        let path = join(&at, name);
        let kind = parse(name).ok_or_else(|| JsonError::new(&path, "not a message type"))?;
        let list: Vec<&str> = v
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .filter(|l: &Vec<&str>| v.as_array().is_some_and(|a| a.len() == l.len()))
            .ok_or_else(|| JsonError::new(&path, "expected an array of channel names"))?;
        out.insert(kind, channels(&path, &list, valid)?);
    }
    Ok(out)
}

fn default_locale(r: &mut Strict<'_>) -> Result<&'static str, JsonError> {
    match r.str("default_locale")? {
        None => Ok("en"),
        Some(l) => locale_name(l).ok_or_else(|| {
            JsonError::new(
                r.path_of("default_locale"),
                format!("supported: {}", LOCALES.join(", ")),
            )
        }),
    }
}

/// `[branding]`.
pub(crate) fn read_branding(r: Option<Strict<'_>>) -> Result<Branding, JsonError> {
    let mut b = Branding::default();
    let Some(mut r) = r else { return Ok(b) };
    for (key, slot) in [
        ("app_name", &mut b.app_name),
        ("app_url", &mut b.app_url),
        ("logo_url", &mut b.logo_url),
        ("brand_color", &mut b.brand_color),
        ("support_url", &mut b.support_url),
        ("footer", &mut b.footer),
    ] {
        if let Some(v) = r.str(key)? {
            v.clone_into(slot);
        }
    }
    b.validate()
        .map_err(|e| JsonError::new(r.path_of(e.key), e.problem))?;
    r.finish()?;
    Ok(b)
}

/// `[send_email]`.
#[derive(Clone, Debug)]
pub struct EmailPolicy {
    /// Channels for every type without its own.
    pub delivery: Vec<Channel>,
    /// Per-type channels.
    pub delivery_by_type: BTreeMap<EmailKind, Vec<Channel>>,
    /// The sender (required when a provider is used).
    pub from: Option<String>,
    /// Reply-to address.
    pub reply_to: Option<String>,
    /// The locale for users without a supported `user_metadata.locale`.
    pub default_locale: &'static str,
    /// Postmark's message stream.
    pub postmark_message_stream: String,
    /// Compiled templates and branding.
    pub renderer: EmailRenderer,
    /// How long outbox rows are kept and queued content lives.
    pub retention: Retention,
}

/// Outbox retention for one outbox (`queued_expiry_seconds`, `keep_days`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// A queued row older than this expires and loses its content: set it to the project's
    /// OTP lifetime (Supabase's `auth.email.otp_expiry`, 3600 by default).
    pub queued_expiry_secs: u32,
    /// Rows older than this are deleted.
    pub keep_days: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            queued_expiry_secs: 3600,
            keep_days: 30,
        }
    }
}

impl Retention {
    fn read(r: &mut Strict<'_>) -> Result<Self, JsonError> {
        let d = Self::default();
        let bounded =
            |r: &mut Strict<'_>, key: &'static str, min: u64, max: u64, default: u32| match r
                .u64(key)?
            {
                None => Ok(default),
                Some(v) if (min..=max).contains(&v) => Ok(u32::try_from(v).unwrap_or(default)),
                Some(_) => Err(JsonError::new(
                    r.path_of(key),
                    format!("must be between {min} and {max}"),
                )),
            };
        Ok(Self {
            queued_expiry_secs: bounded(
                r,
                "queued_expiry_seconds",
                60,
                7 * 86_400,
                d.queued_expiry_secs,
            )?,
            keep_days: bounded(r, "keep_days", 1, 3650, d.keep_days)?,
        })
    }
}

impl EmailPolicy {
    /// Outbox delivery, built-in templates, `branding` (already validated).
    #[must_use]
    pub(crate) fn new(branding: Branding) -> Self {
        Self {
            delivery: vec![Channel::Outbox],
            delivery_by_type: BTreeMap::new(),
            from: None,
            reply_to: None,
            default_locale: "en",
            postmark_message_stream: "outbound".into(),
            renderer: EmailRenderer::build(branding, EmailTemplates::new()),
            retention: Retention::default(),
        }
    }

    /// The channels for `kind`.
    #[must_use]
    pub fn channels(&self, kind: EmailKind) -> &[Channel] {
        self.delivery_by_type.get(&kind).unwrap_or(&self.delivery)
    }

    /// Every channel any type uses.
    #[must_use]
    pub fn all_channels(&self) -> Vec<Channel> {
        let mut all: Vec<Channel> = self
            .delivery
            .iter()
            .chain(self.delivery_by_type.values().flatten())
            .copied()
            .collect();
        all.dedup();
        all
    }

    pub(crate) fn read(r: Option<Strict<'_>>, branding: Branding) -> Result<Self, JsonError> {
        let mut p = Self::new(branding.clone());
        let Some(mut r) = r else { return Ok(p) };
        let list = r.strings("delivery")?;
        if !list.is_empty() || r.value("delivery").is_some() {
            p.delivery = channels(&r.path_of("delivery"), &list, Channel::is_email)?;
        }
        p.delivery_by_type = delivery_by_type(&mut r, EmailKind::from_name, Channel::is_email)?;
        p.from = r.str("from")?.map(str::to_owned);
        p.reply_to = r.str("reply_to")?.map(str::to_owned);
        for (key, v) in [("from", &p.from), ("reply_to", &p.reply_to)] {
            if v.as_deref()
                .is_some_and(|v| !v.contains('@') || v.contains(['\r', '\n']))
            {
                return Err(JsonError::new(
                    r.path_of(key),
                    "expected an address like `Acme <auth@acme.test>`",
                ));
            }
        }
        if p.from.is_none() && p.all_channels().iter().any(|c| *c != Channel::Outbox) {
            return Err(JsonError::new(
                r.path_of("from"),
                "required when a provider delivers e-mail",
            ));
        }
        p.default_locale = default_locale(&mut r)?;
        p.retention = Retention::read(&mut r)?;
        if let Some(s) = r.str("postmark_message_stream")? {
            s.clone_into(&mut p.postmark_message_stream);
        }
        let mut templates = EmailTemplates::new();
        let at = r.path_of("templates");
        for (kind_name, v) in r.free_object("templates")?.into_iter().flatten() {
            let path = join(&at, kind_name);
            let kind = EmailKind::from_name(kind_name)
                .ok_or_else(|| JsonError::new(&path, "not an e-mail type"))?;
            let o = v
                .as_object()
                .ok_or_else(|| JsonError::new(&path, "expected a table"))?;
            templates.insert(
                kind,
                None,
                template_set(&path, o, true)?.unwrap_or_default(),
            );
            for (key, lv) in o {
                if let Some(locale) = locale_name(key) {
                    let lpath = join(&path, key);
                    let lo = lv
                        .as_object()
                        .ok_or_else(|| JsonError::new(&lpath, "expected a table"))?;
                    templates.insert(
                        kind,
                        Some(locale),
                        template_set(&lpath, lo, false)?.unwrap_or_default(),
                    );
                } else if !["subject", "html", "text"].contains(&key.as_str()) {
                    return Err(JsonError::new(
                        join(&path, key),
                        format!(
                            "unknown key; expected subject, html, text or a locale ({})",
                            LOCALES.join(", ")
                        ),
                    ));
                }
            }
        }
        p.renderer = EmailRenderer::new(branding, templates)
            .map_err(|e| JsonError::new(e.key, e.problem))?;
        r.finish()?;
        Ok(p)
    }
}

fn template_set(
    path: &str,
    o: &Object,
    allow_locales: bool,
) -> Result<Option<TemplateSet>, JsonError> {
    let part = |k: &str| -> Result<Option<&str>, JsonError> {
        match o.get(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(JsonError::new(join(path, k), "expected a string")),
        }
    };
    let stray = o
        .keys()
        .find(|k| !["subject", "html", "text"].contains(&k.as_str()));
    if let (false, Some(k)) = (allow_locales, stray) {
        return Err(JsonError::new(
            join(path, k),
            "unknown key; expected subject, html or text",
        ));
    }
    let (subject, html, text) = (part("subject")?, part("html")?, part("text")?);
    if subject.is_none() && html.is_none() && text.is_none() {
        return Ok(None);
    }
    TemplateSet::compile(subject, html, text)
        .map(Some)
        .map_err(|(which, e)| JsonError::new(join(path, which), e.to_string()))
}

/// `[send_sms]`.
#[derive(Clone, Debug)]
pub struct SmsPolicy {
    /// Channels for every kind without its own.
    pub delivery: Vec<Channel>,
    /// Per-kind channels.
    pub delivery_by_type: BTreeMap<SmsKind, Vec<Channel>>,
    /// The locale for users without a supported `user_metadata.locale`.
    pub default_locale: &'static str,
    /// Compiled wording.
    pub renderer: SmsRenderer,
    /// How long outbox rows are kept and queued content lives.
    pub retention: Retention,
}

impl SmsPolicy {
    /// The channels for `kind`.
    #[must_use]
    pub fn channels(&self, kind: SmsKind) -> &[Channel] {
        self.delivery_by_type.get(&kind).unwrap_or(&self.delivery)
    }

    /// Every channel any kind uses.
    #[must_use]
    pub fn all_channels(&self) -> Vec<Channel> {
        let mut all: Vec<Channel> = self
            .delivery
            .iter()
            .chain(self.delivery_by_type.values().flatten())
            .copied()
            .collect();
        all.dedup();
        all
    }

    /// Outbox delivery, built-in wording.
    #[must_use]
    pub(crate) fn new(branding: &Branding) -> Self {
        Self {
            delivery: vec![Channel::Outbox],
            delivery_by_type: BTreeMap::new(),
            default_locale: "en",
            renderer: SmsRenderer::new(&branding.app_name, None),
            retention: Retention::default(),
        }
    }

    pub(crate) fn read(r: Option<Strict<'_>>, branding: &Branding) -> Result<Self, JsonError> {
        let mut p = Self::new(branding);
        let Some(mut r) = r else { return Ok(p) };
        let list = r.strings("delivery")?;
        if !list.is_empty() || r.value("delivery").is_some() {
            p.delivery = channels(&r.path_of("delivery"), &list, Channel::is_sms)?;
        }
        p.delivery_by_type = delivery_by_type(&mut r, SmsKind::from_name, Channel::is_sms)?;
        p.default_locale = default_locale(&mut r)?;
        p.retention = Retention::read(&mut r)?;
        let web_otp = r.str("web_otp_domain")?;
        if web_otp.is_some_and(|d| {
            d.is_empty()
                || !d
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        }) {
            return Err(JsonError::new(
                r.path_of("web_otp_domain"),
                "expected a bare host name like app.example.com",
            ));
        }
        p.renderer = SmsRenderer::new(&branding.app_name, web_otp);
        let at = r.path_of("templates");
        for (key, v) in r.free_object("templates")?.into_iter().flatten() {
            let path = join(&at, key);
            let mut set = |kind_name: &str,
                           locale: Option<&'static str>,
                           v: &Value,
                           path: &str|
             -> Result<(), JsonError> {
                let kind = SmsKind::from_name(kind_name).ok_or_else(|| {
                    JsonError::new(path, "expected otp, phone_change, mfa or a locale")
                })?;
                let src = v
                    .as_str()
                    .ok_or_else(|| JsonError::new(path, "expected a string"))?;
                p.renderer
                    .set_template(kind, locale, src)
                    .map_err(|e| JsonError::new(path, e.to_string()))
            };
            match (locale_name(key), v) {
                (Some(locale), Value::Object(o)) => {
                    for (kind_name, tv) in o {
                        set(kind_name, Some(locale), tv, &join(&path, kind_name))?;
                    }
                }
                _ => set(key, None, v, &path)?,
            }
        }
        r.finish()?;
        Ok(p)
    }
}

/// Where a provisioned column's value comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Source {
    Field(&'static str),
    UserMetadata(String),
    AppMetadata(String),
}

const USER_FIELDS: [&str; 8] = [
    "id",
    "email",
    "phone",
    "aud",
    "role",
    "created_at",
    "is_anonymous",
    "provider",
];

/// `[after_user_created]`.
#[derive(Clone, Debug, Default)]
pub struct AfterUserCreatedPolicy {
    provision: Option<(String, Vec<(String, Source)>)>,
    /// Record a `user_created` row in `portcullis.events`.
    pub event: bool,
    /// Send the welcome e-mail (through `[send_email]`'s delivery).
    pub welcome_email: bool,
}

impl AfterUserCreatedPolicy {
    pub(crate) fn read(r: Option<Strict<'_>>) -> Result<Self, JsonError> {
        let mut p = Self::default();
        let Some(mut r) = r else { return Ok(p) };
        p.event = r.bool("event")?.unwrap_or(false);
        p.welcome_email = r.bool("welcome_email")?.unwrap_or(false);
        if let Some(mut pr) = r.object("provision")? {
            let table_at = pr.path_of("table");
            let table = pr
                .str("table")?
                .ok_or_else(|| JsonError::new(&table_at, "required"))?;
            let table = quote_ident_path(table)
                .ok_or_else(|| JsonError::new(&table_at, "expected schema.table"))?;
            let cols_at = pr.path_of("columns");
            let mut columns = Vec::new();
            for (col, v) in pr.free_object("columns")?.into_iter().flatten() {
                let path = join(&cols_at, col);
                let column = quote_ident_path(col)
                    .filter(|c| !c.contains('.'))
                    .ok_or_else(|| JsonError::new(&path, "not a column name"))?;
                let src = v.as_str().ok_or_else(|| {
                    JsonError::new(
                        &path,
                        "expected a source such as \"id\" or \"user_metadata.full_name\"",
                    )
                })?;
                let source = if let Some(k) = src.strip_prefix("user_metadata.") {
                    Source::UserMetadata(k.to_owned())
                } else if let Some(k) = src.strip_prefix("app_metadata.") {
                    Source::AppMetadata(k.to_owned())
                } else {
                    Source::Field(USER_FIELDS.into_iter().find(|f| *f == src).ok_or_else(|| {
                        JsonError::new(&path, format!("unknown source; expected one of {}, user_metadata.<key>, app_metadata.<key>", USER_FIELDS.join(", ")))
                    })?)
                };
                columns.push((column, source));
            }
            if columns.is_empty() {
                return Err(JsonError::new(cols_at, "map at least one column"));
            }
            pr.finish()?;
            p.provision = Some((table, columns));
        }
        r.finish()?;
        Ok(p)
    }

    /// Whether the hook does anything.
    #[must_use]
    pub fn is_active(&self) -> bool {
        self.provision.is_some() || self.event || self.welcome_email
    }

    /// `insert into <table> (…) values (…) on conflict do nothing` for `user` (`raw` is the
    /// payload's user object, for `created_at` and metadata values).
    #[must_use]
    pub fn provision(&self, user: &User, raw: &RawObject<'_>) -> Option<Statement> {
        let (table, columns) = self.provision.as_ref()?;
        let names: Vec<&str> = columns.iter().map(|(c, _)| c.as_str()).collect();
        let params: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
        let mut s = Statement::new(format!(
            "insert into {table} ({}) values ({}) on conflict do nothing",
            names.join(", "),
            params.join(", ")
        ));
        for (_, source) in columns {
            let meta = |m: Option<&Object>, k: &str| -> Option<String> {
                match m?.get(k)? {
                    Value::Null => None,
                    Value::String(s) => Some(s.clone()),
                    other => Some(other.to_string()),
                }
            };
            let value = match source {
                Source::UserMetadata(k) => meta(user.user_metadata.as_ref(), k),
                Source::AppMetadata(k) => meta(user.app_metadata.as_ref(), k),
                Source::Field("is_anonymous") => Some(user.is_anonymous.to_string()),
                Source::Field("provider") => user.provider().map(str::to_owned),
                Source::Field(f) => Some(raw.text(f).into_owned()).filter(|v| !v.is_empty()),
            };
            s = s.bind_opt(value);
        }
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn strict(v: &Value) -> Strict<'_> {
        Strict::new(v, "x").unwrap()
    }

    #[test]
    fn delivery_lists_are_checked() {
        let b = Branding::default();
        let err = |v: Value| {
            EmailPolicy::read(Some(strict(&v)), b.clone())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(json!({"delivery": ["twilio"], "from": "a@b.co"})),
            "x.delivery[0]: `twilio` cannot deliver this kind of message"
        );
        assert_eq!(
            err(json!({"delivery": ["outbox", "resend"], "from": "a@b.co"})),
            "x.delivery: `outbox` hands messages to a consumer: list it alone"
        );
        assert_eq!(
            err(json!({"delivery": ["resend"]})),
            "x.from: required when a provider delivers e-mail"
        );
        assert_eq!(
            err(json!({"delivery": []})),
            "x.delivery: list at least one channel"
        );
        assert_eq!(
            err(json!({"delivery_by_type": {"login": ["outbox"]}})),
            "x.delivery_by_type.login: not a message type"
        );
        assert_eq!(
            err(json!({"templates": {"signup": {"es": {"subject": "x"}}}})),
            "x.templates.signup.es: unknown key; expected subject, html, text or a locale (en, de, fr)"
        );
        assert_eq!(
            err(json!({"templates": {"signup": {"subject": "{{ secret }}"}}})),
            "x.templates.signup.subject: unknown placeholder `secret` (at byte 0)"
        );
        let p = EmailPolicy::read(Some(strict(&json!({"delivery": ["resend", "postmark"], "from": "Acme <a@acme.test>", "delivery_by_type": {"welcome": ["outbox"]}}))), b).unwrap();
        assert_eq!(
            p.channels(EmailKind::Signup),
            [Channel::Resend, Channel::Postmark]
        );
        assert_eq!(p.channels(EmailKind::Welcome), [Channel::Outbox]);
    }

    #[test]
    fn sms_templates_by_kind_and_locale() {
        let v = json!({"delivery": ["twilio", "vonage"], "templates": {"otp": "Code {{otp}}", "de": {"mfa": "MFA {{otp}}"}}, "web_otp_domain": "acme.test"});
        let p = SmsPolicy::read(Some(strict(&v)), &Branding::default()).unwrap();
        assert_eq!(p.channels(SmsKind::Mfa), [Channel::Twilio, Channel::Vonage]);
        let sms = crate::sms::PlannedSms {
            kind: SmsKind::Mfa,
            to: "+1".into(),
            otp: "42".into(),
        };
        assert_eq!(p.renderer.render(&sms, "de"), "MFA 42\n\n@acme.test #42");
        let v = json!({"templates": {"sms": "{{otp}}"}});
        assert_eq!(
            SmsPolicy::read(Some(strict(&v)), &Branding::default())
                .unwrap_err()
                .to_string(),
            "x.templates.sms: expected otp, phone_change, mfa or a locale"
        );
        let v = json!({"delivery": ["resend"]});
        assert!(SmsPolicy::read(Some(strict(&v)), &Branding::default()).is_err());
    }

    #[test]
    fn provisioning_maps_columns_to_bound_values() {
        let v = json!({"event": true, "provision": {"table": "public.profiles", "columns": {"id": "id", "email": "email", "full_name": "user_metadata.full_name", "plan": "app_metadata.plan", "via": "provider"}}});
        let p = AfterUserCreatedPolicy::read(Some(strict(&v))).unwrap();
        let raw = json!({"id": "u1", "email": "a@b.co", "user_metadata": {"full_name": "Ada"}, "app_metadata": {"plan": 3, "provider": "github"}}).to_string();
        let raw = RawObject::parse(&raw).unwrap();
        let s = p.provision(&User::read(&raw), &raw).unwrap();
        assert_eq!(
            s.sql,
            "insert into \"public\".\"profiles\" (\"email\", \"full_name\", \"id\", \"plan\", \"via\") values ($1, $2, $3, $4, $5) on conflict do nothing"
        );
        assert_eq!(
            s.params,
            [
                Some("a@b.co".into()),
                Some("Ada".into()),
                Some("u1".into()),
                Some("3".into()),
                Some("github".into())
            ]
        );
        for (v, msg) in [
            (
                json!({"provision": {"columns": {"id": "id"}}}),
                "x.provision.table: required",
            ),
            (
                json!({"provision": {"table": "p", "columns": {"id": "password"}}}),
                "x.provision.columns.id: unknown source",
            ),
            (
                json!({"provision": {"table": "p", "columns": {}}}),
                "x.provision.columns: map at least one column",
            ),
        ] {
            let e = AfterUserCreatedPolicy::read(Some(strict(&v)))
                .unwrap_err()
                .to_string();
            assert!(e.starts_with(msg), "{e}");
        }
    }
}
