//! What Supabase Auth sends to each hook, read tolerantly (spec §2–§8): unknown fields are
//! ignored, omitted and `null` fields read as empty, phones come without `+`, times are RFC 3339
//! with any offset.

use std::fmt;

use portcullis_core::UnixTime;
use portcullis_core::json::Object;
use portcullis_core::json::scan::{RawObject, object_members_with, raw_string};

use crate::claims::Claims;

/// `metadata`, common to every hook payload.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metadata {
    /// Stable across GoTrue's retries of one invocation: the de-duplication key.
    pub uuid: String,
    /// When GoTrue built the payload; `None` when absent or unparseable.
    pub time: Option<UnixTime>,
    /// The hook's name, e.g. `customize-access-token` (may be absent).
    pub name: String,
    /// The end user's IP address as GoTrue saw it (may be absent).
    pub ip_address: String,
}

fn time(o: &RawObject<'_>, key: &str) -> Option<UnixTime> {
    UnixTime::parse_rfc3339(&o.text(key)).ok()
}

impl Metadata {
    /// Reads a `metadata` object (absent: all empty).
    #[must_use]
    pub fn read(o: Option<&RawObject<'_>>) -> Self {
        o.map(|o| Self {
            uuid: o.text("uuid").into_owned(),
            time: time(o, "time"),
            name: o.text("name").into_owned(),
            ip_address: o.text("ip_address").into_owned(),
        })
        .unwrap_or_default()
    }
}

/// The user object (spec §3).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct User {
    /// The user's UUID (final even before the user is stored).
    pub id: String,
    /// Audience, usually `authenticated`.
    pub aud: String,
    /// Postgres role; `""` before creation.
    pub role: String,
    /// E-mail address, `""` if none.
    pub email: String,
    /// Phone as E.164 digits without `+`, `""` if none. See [`User::phone_e164`].
    pub phone: String,
    /// Server-controlled metadata (the user cannot change it).
    pub app_metadata: Option<Object>,
    /// User-controlled metadata (the user can change it: never trust it for authorisation).
    pub user_metadata: Option<Object>,
    /// Providers of the linked identities.
    pub identity_providers: Vec<String>,
    /// Whether this is an anonymous user.
    pub is_anonymous: bool,
    /// Pending new e-mail address (e-mail change).
    pub new_email: String,
    /// Pending new phone (phone change), digits without `+`.
    pub new_phone: String,
    /// Creation time; `0001-01-01T00:00:00Z` (far past) before creation.
    pub created_at: Option<UnixTime>,
}

impl User {
    /// Reads a user object.
    #[must_use]
    pub fn read(o: &RawObject<'_>) -> Self {
        Self {
            id: o.text("id").into_owned(),
            aud: o.text("aud").into_owned(),
            role: o.text("role").into_owned(),
            email: o.text("email").into_owned(),
            phone: o.text("phone").into_owned(),
            app_metadata: o.to_object("app_metadata"),
            user_metadata: o.to_object("user_metadata"),
            identity_providers: o
                .objects("identities")
                .iter()
                .map(|i| i.text("provider").into_owned())
                .collect(),
            is_anonymous: o.flag("is_anonymous"),
            new_email: o.text("new_email").into_owned(),
            new_phone: o.text("new_phone").into_owned(),
            created_at: time(o, "created_at"),
        }
    }

    /// The phone in E.164 form with the leading `+`, if the user has a valid one.
    #[must_use]
    pub fn phone_e164(&self) -> Option<String> {
        normalize_phone(&self.phone)
    }

    /// The sign-up provider: `app_metadata.provider`, else the first identity's provider,
    /// else `email`/`phone` by which contact is present.
    #[must_use]
    pub fn provider(&self) -> Option<&str> {
        self.app_metadata
            .as_ref()
            .map(|m| portcullis_core::json::text(m, "provider"))
            .filter(|p| !p.is_empty())
            .or_else(|| {
                self.identity_providers
                    .iter()
                    .map(String::as_str)
                    .find(|p| !p.is_empty())
            })
            .or_else(|| (!self.email.is_empty()).then_some("email"))
            .or_else(|| (!self.phone.is_empty()).then_some("phone"))
    }
}

/// A verified body that is not the payload the hook expects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PayloadError {
    /// Not JSON at all.
    Syntax {
        /// Line of the error.
        line: usize,
        /// Column of the error.
        column: usize,
    },
    /// JSON, but a required member is missing or has the wrong type.
    Shape {
        /// The member, e.g. `claims`.
        member: &'static str,
    },
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax { line, column } => write!(f, "not JSON (line {line}, column {column})"),
            Self::Shape { member } => write!(f, "`{member}` is missing or has the wrong type"),
        }
    }
}

impl std::error::Error for PayloadError {}

/// Validates a body as one JSON object and splits its members (values stay raw until read).
/// Error positions only: never content.
///
/// # Errors
/// [`PayloadError`].
pub fn parse_object(body: &[u8]) -> Result<RawObject<'_>, PayloadError> {
    let text = std::str::from_utf8(body).map_err(|e| PayloadError::Syntax {
        line: 1,
        column: e.valid_up_to(),
    })?;
    RawObject::parse(text).map_err(|e| syntax_or_shape(text, e.offset))
}

/// A scan failure as the error a caller sees: not an object at all, or broken JSON at `offset`.
fn syntax_or_shape(text: &str, offset: usize) -> PayloadError {
    if text.trim_start().starts_with('{') {
        let before = text.get(..offset).unwrap_or(text);
        PayloadError::Syntax {
            line: 1 + before.matches('\n').count(),
            column: offset - before.rfind('\n').map_or(0, |n| n + 1),
        }
    } else {
        PayloadError::Shape { member: "(root)" }
    }
}

/// Custom access token hook input (spec §6). Borrows the request body.
#[derive(Clone, Debug)]
pub struct CustomAccessTokenInput<'a> {
    /// Common metadata, raw (read it with [`CustomAccessTokenInput::metadata`]).
    pub raw_metadata: Option<std::borrow::Cow<'a, str>>,
    /// The user's UUID.
    pub user_id: String,
    /// The claims GoTrue is about to sign (parsed lazily).
    pub claims: Claims<'a>,
    /// How the user authenticated (`password`, `oauth`, `token_refresh`, …).
    pub authentication_method: String,
}

impl<'a> CustomAccessTokenInput<'a> {
    /// The common metadata, parsed now (the hook itself does not need it).
    #[must_use]
    pub fn metadata(&self) -> Metadata {
        let value = self
            .raw_metadata
            .as_deref()
            .and_then(|raw| RawObject::parse(raw).ok());
        Metadata::read(value.as_ref())
    }

    /// Parses the hook body. One validating pass splits it into members; only `user_id`,
    /// `authentication_method` and `metadata` are decoded, the claims stay raw until a policy
    /// reads them.
    ///
    /// # Errors
    /// [`PayloadError`] when it is not a JSON object, or `user_id` or `claims` is missing.
    pub fn parse(body: &'a [u8]) -> Result<Self, PayloadError> {
        let text = std::str::from_utf8(body).map_err(|e| PayloadError::Syntax {
            line: 1,
            column: e.valid_up_to(),
        })?;
        // One pass validates the whole body and splits the claims too.
        let (members, claim_members) = object_members_with(text, Some("claims"))
            .map_err(|e| syntax_or_shape(text, e.offset))?;
        let member = |name: &str| {
            members
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, raw)| *raw)
        };
        let user_id = member("user_id")
            .and_then(raw_string)
            .filter(|id| !id.is_empty())
            .ok_or(PayloadError::Shape { member: "user_id" })?
            .into_owned();
        let claims = claim_members
            .map(Claims::from_members)
            .ok_or(PayloadError::Shape { member: "claims" })?;
        Ok(Self {
            raw_metadata: member("metadata").map(std::borrow::Cow::Borrowed),
            user_id,
            claims,
            authentication_method: member("authentication_method")
                .and_then(raw_string)
                .map(std::borrow::Cow::into_owned)
                .unwrap_or_default(),
        })
    }

    /// The same input, independent of the request body.
    #[must_use]
    pub fn into_owned(self) -> CustomAccessTokenInput<'static> {
        CustomAccessTokenInput {
            raw_metadata: self
                .raw_metadata
                .map(|m| std::borrow::Cow::Owned(m.into_owned())),
            user_id: self.user_id,
            claims: self.claims.into_owned(),
            authentication_method: self.authentication_method,
        }
    }
}

/// Before-user-created (and after-user-created) hook input (spec §8).
#[derive(Clone, Debug, PartialEq)]
pub struct BeforeUserCreatedInput {
    /// Common metadata.
    pub metadata: Metadata,
    /// The user about to be created.
    pub user: User,
}

impl BeforeUserCreatedInput {
    /// Parses the hook body.
    ///
    /// # Errors
    /// [`PayloadError`] when it is not JSON or has no `user` object.
    pub fn parse(body: &[u8]) -> Result<Self, PayloadError> {
        let o = parse_object(body)?;
        let user = o
            .object("user")
            .ok_or(PayloadError::Shape { member: "user" })?;
        Ok(Self {
            metadata: Metadata::read(o.object("metadata").as_ref()),
            user: User::read(&user),
        })
    }
}

/// Whether `s` is a UUID in canonical text form (8-4-4-4-12 hex digits).
#[must_use]
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// `digits` (optionally already `+`-prefixed, spaces ignored) as E.164 `+<1–15 digits>`.
#[must_use]
pub fn normalize_phone(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    let digits_part = trimmed.strip_prefix('+').unwrap_or(trimmed);
    let digits: String = digits_part.chars().filter(|c| *c != ' ').collect();
    let valid = (1..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    valid.then(|| format!("+{digits}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(v: serde_json::Value) -> User {
        User::read(&RawObject::parse(&v.to_string()).unwrap())
    }

    fn metadata(v: &serde_json::Value) -> Metadata {
        Metadata::read(Some(&RawObject::parse(&v.to_string()).unwrap()))
    }

    #[test]
    fn phones_are_normalised_to_e164() {
        assert_eq!(
            normalize_phone("14155550123").as_deref(),
            Some("+14155550123")
        );
        assert_eq!(
            normalize_phone("+44 20 7946 0958").as_deref(),
            Some("+442079460958")
        );
        assert_eq!(normalize_phone(""), None);
        assert_eq!(normalize_phone("0123"), None);
        assert_eq!(normalize_phone("1234567890123456"), None);
        assert_eq!(normalize_phone("12a4"), None);
    }

    #[test]
    fn user_parsing_tolerates_nulls_omissions_and_unknown_fields() {
        let u = user(json!({
            "id": "8c7e6b2a-0000-4000-8000-000000000001",
            "email": null,
            "phone": "14155550123",
            "app_metadata": null,
            "identities": null,
            "created_at": "0001-01-01T00:00:00Z",
            "some_future_field": {"nested": [1, 2, 3]}
        }));
        assert_eq!(u.email, "");
        assert_eq!(u.phone_e164().as_deref(), Some("+14155550123"));
        assert!(u.app_metadata.is_none());
        assert!(u.identity_providers.is_empty());
        assert_eq!(u.created_at, Some(UnixTime::from_secs(-62_135_596_800)));
        assert_eq!(u.provider(), Some("phone"));
    }

    #[test]
    fn provider_prefers_app_metadata_then_identities() {
        let u = user(
            json!({"email": "a@example.com", "app_metadata": {"provider": "github"}, "identities": [{"provider": "google"}]}),
        );
        assert_eq!(u.provider(), Some("github"));
        let u = user(
            json!({"email": "a@example.com", "app_metadata": {}, "identities": [{"provider": "google"}]}),
        );
        assert_eq!(u.provider(), Some("google"));
        let u = user(json!({"email": "a@example.com"}));
        assert_eq!(u.provider(), Some("email"));
    }

    #[test]
    fn metadata_time_accepts_any_offset_and_survives_garbage() {
        let m = metadata(&json!({"uuid": "u", "time": "2026-08-01T14:00:00.123456+02:00"}));
        assert_eq!(m.time, Some(UnixTime::from_secs(1_785_585_600)));
        assert_eq!(m.name, "");
        let m = metadata(&json!({"time": "yesterday"}));
        assert_eq!(m.time, None);
    }

    #[test]
    fn required_members_are_enforced_and_errors_carry_no_content() {
        let ok = br#"{"user_id":"u","claims":{"sub":"u"},"metadata":{"uuid":"x"}}"#;
        let input = CustomAccessTokenInput::parse(ok).unwrap();
        assert_eq!(
            (
                input.user_id.as_str(),
                input.metadata().uuid.as_str(),
                input.authentication_method.as_str()
            ),
            ("u", "x", "")
        );
        for (body, member) in [
            (&br#"{"claims":{}}"#[..], "user_id"),
            (br#"{"user_id":"u","claims":"123456"}"#, "claims"),
            (br#"[1]"#, "(root)"),
        ] {
            assert_eq!(
                CustomAccessTokenInput::parse(body).unwrap_err(),
                PayloadError::Shape { member }
            );
        }
        let err = CustomAccessTokenInput::parse(b"{\"otp\": 123456").unwrap_err();
        assert!(matches!(err, PayloadError::Syntax { line: 1, .. }));
        assert!(!err.to_string().contains("123456"));
        assert_eq!(
            BeforeUserCreatedInput::parse(b"{}").unwrap_err(),
            PayloadError::Shape { member: "user" }
        );
    }
}
