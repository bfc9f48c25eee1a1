//! The last step: a token whose signature holds, checked against what this project expects.

use std::borrow::Cow;

use portcullis_core::UnixTime;
use portcullis_core::json::scan::{RawObject, array_items, raw_string};

use crate::Refusal;

/// Clock skew allowed on `exp`, `nbf` and `iat`, as PostgREST allows.
pub const LEEWAY_SECS: i64 = 30;

/// What a token must say to be accepted here. Required values are constructor arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectations {
    issuer: String,
    audience: Option<String>,
}

impl Expectations {
    /// Tokens from `issuer` (the project's `{SUPABASE_URL}/auth/v1`) for `audience`
    /// (`authenticated` for user tokens; `None` accepts any `aud`).
    #[must_use]
    pub fn new(issuer: impl Into<String>, audience: Option<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience,
        }
    }

    /// The issuer, as minted tokens carry it.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
}

/// A JSON number that is an integer (no fraction, no exponent) fitting `i64`.
fn integer(raw: &str) -> Option<i64> {
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse().ok()
}

fn time_claim(claims: &RawObject<'_>, name: &'static str) -> Result<Option<i64>, Refusal> {
    match claims.raw(name) {
        None => Ok(None),
        Some(raw) => integer(raw).map(Some).ok_or(Refusal::BadTime),
    }
}

/// Claims of a token that verified: the ones a function decides on, typed, plus the whole
/// payload for policies that read more.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedClaims {
    /// `sub` (empty when absent).
    pub sub: String,
    /// `role` (`authenticated`, `anon`, `service_role`, or a custom role).
    pub role: String,
    /// `exp`.
    pub exp: UnixTime,
    /// `iat`.
    pub iat: Option<UnixTime>,
    /// `nbf`.
    pub nbf: Option<UnixTime>,
    /// `aal` (`aal1`, `aal2`).
    pub aal: Option<String>,
    /// The `method` of each `amr` entry.
    pub amr: Vec<String>,
    /// `session_id`.
    pub session_id: Option<String>,
    /// `is_anonymous`.
    pub is_anonymous: bool,
    /// `email`.
    pub email: Option<String>,
    /// `scope` (space-separated; tokens we mint from a PAT carry it).
    pub scope: Option<String>,
    /// The payload as received (valid JSON).
    pub payload: String,
}

fn text(claims: &RawObject<'_>, name: &str) -> Option<String> {
    claims.raw(name).and_then(raw_string).map(Cow::into_owned)
}

/// Whether `s` is a UUID in the canonical 8-4-4-4-12 hex form (any case).
#[must_use]
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

impl VerifiedClaims {
    /// Checks the claims of `payload` (whose signature has been verified) at `now`.
    ///
    /// # Errors
    /// The [`Refusal`] for the first claim that fails.
    pub fn check(payload: &str, expect: &Expectations, now: UnixTime) -> Result<Self, Refusal> {
        Self::check_owned(payload.to_owned(), expect, now)
    }

    /// [`Self::check`], keeping `payload` (no copy).
    ///
    /// # Errors
    /// The [`Refusal`] for the first claim that fails.
    pub fn check_owned(
        payload: String,
        expect: &Expectations,
        now: UnixTime,
    ) -> Result<Self, Refusal> {
        let claims = RawObject::parse(&payload).map_err(|_| Refusal::Malformed)?;
        let exp = time_claim(&claims, "exp")?.ok_or(Refusal::MissingExp)?;
        let nbf = time_claim(&claims, "nbf")?;
        let iat = time_claim(&claims, "iat")?;
        let now = now.secs();
        if now > exp.saturating_add(LEEWAY_SECS) {
            return Err(Refusal::Expired);
        }
        if nbf.is_some_and(|nbf| nbf > now.saturating_add(LEEWAY_SECS)) {
            return Err(Refusal::NotYetValid);
        }
        if iat.is_some_and(|iat| iat > now.saturating_add(LEEWAY_SECS)) {
            return Err(Refusal::IssuedInFuture);
        }
        if text(&claims, "iss").as_deref() != Some(expect.issuer.as_str()) {
            return Err(Refusal::WrongIssuer);
        }
        if let Some(audience) = &expect.audience {
            let aud = claims.raw("aud").unwrap_or("null");
            let matches = match raw_string(aud) {
                Some(one) => one == audience.as_str(),
                None => array_items(aud).is_some_and(|items| {
                    items
                        .iter()
                        .any(|i| raw_string(i).is_some_and(|a| a == audience.as_str()))
                }),
            };
            if !matches {
                return Err(Refusal::WrongAudience);
            }
        }
        let amr = claims
            .raw("amr")
            .and_then(array_items)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| RawObject::parse(i).ok())
                    .filter_map(|o| o.raw("method").and_then(raw_string).map(Cow::into_owned))
                    .collect()
            })
            .unwrap_or_default();
        let verified = Self {
            sub: text(&claims, "sub").unwrap_or_default(),
            role: text(&claims, "role").unwrap_or_default(),
            exp: UnixTime::from_secs(exp),
            iat: iat.map(UnixTime::from_secs),
            nbf: nbf.map(UnixTime::from_secs),
            aal: text(&claims, "aal"),
            amr,
            session_id: text(&claims, "session_id"),
            is_anonymous: claims.flag("is_anonymous"),
            email: text(&claims, "email"),
            scope: text(&claims, "scope"),
            payload: String::new(),
        };
        drop(claims);
        Ok(Self {
            payload,
            ..verified
        })
    }

    /// Whether the time claims still hold at `now` (for a cached verification).
    #[must_use]
    pub fn live_at(&self, now: UnixTime) -> bool {
        let now = now.secs();
        now <= self.exp.secs().saturating_add(LEEWAY_SECS)
            && self
                .nbf
                .is_none_or(|nbf| nbf.secs() <= now.saturating_add(LEEWAY_SECS))
    }

    /// The signed-in user this token speaks for: `role` `authenticated` and `sub` a UUID.
    ///
    /// # Errors
    /// [`Refusal::NotAUser`] for `anon`, `service_role` or other roles and for a `sub` that
    /// is not a UUID.
    pub fn user(&self) -> Result<&str, Refusal> {
        if self.role == "authenticated" && is_uuid(&self.sub) {
            Ok(&self.sub)
        } else {
            Err(Refusal::NotAUser)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_only() {
        assert_eq!(integer("123"), Some(123));
        assert_eq!(integer("-5"), Some(-5));
        for bad in ["1.0", "1e3", "", "-", "99999999999999999999", "\"1\"", " 1"] {
            assert_eq!(integer(bad), None, "{bad}");
        }
    }

    #[test]
    fn uuids() {
        assert!(is_uuid("8a7a3b0e-1b2c-4d5e-8f90-0123456789ab"));
        assert!(!is_uuid("8a7a3b0e1b2c-4d5e-8f90-0123456789abc"));
        assert!(!is_uuid("service_role"));
    }
}
