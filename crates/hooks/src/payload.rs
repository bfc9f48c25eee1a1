//! What Supabase Auth sends to each hook, parsed tolerantly (spec §2–§8): unknown fields are
//! ignored, omitted and `null` fields read as empty, phones come without `+`, times are RFC 3339
//! with any offset.

use portcullis_core::UnixTime;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// A JSON object.
pub type Object = Map<String, Value>;

/// `metadata`, common to every hook payload.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Metadata {
    /// Stable across GoTrue's retries of one invocation: the de-duplication key.
    #[serde(deserialize_with = "text")]
    pub uuid: String,
    /// When GoTrue built the payload; `None` when absent or unparseable.
    #[serde(deserialize_with = "time")]
    pub time: Option<UnixTime>,
    /// The hook's name, e.g. `customize-access-token` (may be absent).
    #[serde(deserialize_with = "text")]
    pub name: String,
    /// The end user's IP address as GoTrue saw it (may be absent).
    #[serde(deserialize_with = "text")]
    pub ip_address: String,
}

/// The user object (spec §3).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct User {
    /// The user's UUID (final even before the user is stored).
    #[serde(deserialize_with = "text")]
    pub id: String,
    /// Audience, usually `authenticated`.
    #[serde(deserialize_with = "text")]
    pub aud: String,
    /// Postgres role; `""` before creation.
    #[serde(deserialize_with = "text")]
    pub role: String,
    /// E-mail address, `""` if none.
    #[serde(deserialize_with = "text")]
    pub email: String,
    /// Phone as E.164 digits without `+`, `""` if none. See [`User::phone_e164`].
    #[serde(deserialize_with = "text")]
    pub phone: String,
    /// Server-controlled metadata (the user cannot change it).
    pub app_metadata: Option<Object>,
    /// User-controlled metadata (the user can change it: never trust it for authorisation).
    pub user_metadata: Option<Object>,
    /// Linked identities.
    #[serde(deserialize_with = "list")]
    pub identities: Vec<Identity>,
    /// Whether this is an anonymous user.
    #[serde(deserialize_with = "flag")]
    pub is_anonymous: bool,
    /// Pending new e-mail address (e-mail change).
    #[serde(deserialize_with = "text")]
    pub new_email: String,
    /// Pending new phone (phone change), digits without `+`.
    #[serde(deserialize_with = "text")]
    pub new_phone: String,
    /// Creation time; `0001-01-01T00:00:00Z` (far past) before creation.
    #[serde(deserialize_with = "time")]
    pub created_at: Option<UnixTime>,
}

impl User {
    /// The phone in E.164 form with the leading `+`, if the user has a valid one.
    #[must_use]
    pub fn phone_e164(&self) -> Option<String> {
        normalize_phone(&self.phone)
    }

    /// The sign-up provider: `app_metadata.provider`, else the first identity's provider,
    /// else `email`/`phone` by which contact is present.
    #[must_use]
    pub fn provider(&self) -> Option<&str> {
        let from_metadata = self
            .app_metadata
            .as_ref()
            .and_then(|m| m.get("provider"))
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty());
        from_metadata
            .or_else(|| {
                self.identities
                    .iter()
                    .map(|i| i.provider.as_str())
                    .find(|p| !p.is_empty())
            })
            .or_else(|| (!self.email.is_empty()).then_some("email"))
            .or_else(|| (!self.phone.is_empty()).then_some("phone"))
    }
}

/// One linked identity (only the fields the policies read).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Identity {
    /// Provider name, e.g. `email`, `google`, `sso:…`.
    #[serde(deserialize_with = "text")]
    pub provider: String,
}

/// Custom access token hook input (spec §6).
#[derive(Clone, Debug, Deserialize)]
pub struct CustomAccessTokenInput {
    /// Common metadata.
    #[serde(default)]
    pub metadata: Metadata,
    /// The user's UUID.
    pub user_id: String,
    /// The claims GoTrue is about to sign.
    pub claims: Object,
    /// How the user authenticated (`password`, `oauth`, `token_refresh`, …).
    #[serde(default, deserialize_with = "text")]
    pub authentication_method: String,
}

/// Before-user-created hook input (spec §8).
#[derive(Clone, Debug, Deserialize)]
pub struct BeforeUserCreatedInput {
    /// Common metadata.
    #[serde(default)]
    pub metadata: Metadata,
    /// The user about to be created.
    pub user: User,
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

fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or_default())
}

fn list<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

fn time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<UnixTime>, D::Error> {
    let value = Option::<String>::deserialize(d)?;
    Ok(value.and_then(|t| UnixTime::parse_rfc3339(&t).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let user: User = serde_json::from_value(serde_json::json!({
            "id": "8c7e6b2a-0000-4000-8000-000000000001",
            "email": null,
            "phone": "14155550123",
            "app_metadata": null,
            "identities": null,
            "created_at": "0001-01-01T00:00:00Z",
            "some_future_field": {"nested": [1, 2, 3]}
        }))
        .unwrap();
        assert_eq!(user.email, "");
        assert_eq!(user.phone_e164().as_deref(), Some("+14155550123"));
        assert!(user.app_metadata.is_none());
        assert!(user.identities.is_empty());
        assert_eq!(user.created_at, Some(UnixTime::from_secs(-62_135_596_800)));
        assert_eq!(user.provider(), Some("phone"));
    }

    #[test]
    fn provider_prefers_app_metadata_then_identities() {
        let user: User = serde_json::from_value(serde_json::json!({
            "email": "a@example.com",
            "app_metadata": {"provider": "github", "providers": ["github"]},
            "identities": [{"provider": "google"}]
        }))
        .unwrap();
        assert_eq!(user.provider(), Some("github"));
        let user: User = serde_json::from_value(serde_json::json!({
            "email": "a@example.com",
            "app_metadata": {},
            "identities": [{"provider": "google"}]
        }))
        .unwrap();
        assert_eq!(user.provider(), Some("google"));
        let user: User =
            serde_json::from_value(serde_json::json!({"email": "a@example.com"})).unwrap();
        assert_eq!(user.provider(), Some("email"));
    }

    #[test]
    fn metadata_time_accepts_any_offset_and_survives_garbage() {
        let m: Metadata = serde_json::from_value(serde_json::json!({
            "uuid": "u", "time": "2026-08-01T14:00:00.123456+02:00"
        }))
        .unwrap();
        assert_eq!(m.time, Some(UnixTime::from_secs(1_785_585_600)));
        assert_eq!(m.name, "");
        let m: Metadata = serde_json::from_value(serde_json::json!({"time": "yesterday"})).unwrap();
        assert_eq!(m.time, None);
    }
}
