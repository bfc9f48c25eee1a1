//! What a deployment allows: `PORTCULLIS_PAT_POLICY`, JSON, every member optional and every
//! unknown member an error.

use portcullis_core::json::{JsonError, Strict, Value};

use crate::scope::Scopes;

/// The longest access token an exchange issues (spec §4: at most 1 h).
pub const MAX_EXCHANGE_TTL_SECS: u64 = 3600;

/// Per-token exchange rate limit: `requests` per `window_seconds` (a fixed window).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Exchanges allowed per window.
    pub requests: u32,
    /// Window length.
    pub window_seconds: u32,
}

/// The policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Longest lifetime a token may be created with.
    pub max_lifetime_seconds: u64,
    /// Whether every token must expire (`expires_in` or `expires_at` required).
    pub require_expiry: bool,
    /// Live (unrevoked, unexpired) tokens per user.
    pub max_tokens_per_user: u32,
    /// Scopes a token may carry; empty allows any well-formed name.
    pub allowed_scopes: Scopes,
    /// Creating and rotating need an `aal2` session (MFA).
    pub require_aal2: bool,
    /// Lifetime of the access tokens the exchange issues (capped by the PAT's own expiry).
    pub exchange_ttl_seconds: u64,
    /// Per-token exchange rate limit.
    pub rate_limit: RateLimit,
    /// Longest rotation overlap.
    pub max_overlap_seconds: u64,
    /// Tokens revoked or expired longer ago than this, and events older than this, are
    /// deleted (now and then, a bounded batch at a time).
    pub retention_days: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            max_lifetime_seconds: 365 * 86_400,
            require_expiry: true,
            max_tokens_per_user: 50,
            allowed_scopes: Scopes::default(),
            require_aal2: false,
            exchange_ttl_seconds: 900,
            rate_limit: RateLimit {
                requests: 60,
                window_seconds: 60,
            },
            max_overlap_seconds: 7 * 86_400,
            retention_days: 90,
        }
    }
}

fn bounded(
    s: &mut Strict<'_>,
    key: &'static str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, JsonError> {
    let path = s.path_of(key);
    match s.u64(key)? {
        None => Ok(default),
        Some(v) if range.contains(&v) => Ok(v),
        Some(_) => Err(JsonError::new(
            path,
            format!("must be between {} and {}", range.start(), range.end()),
        )),
    }
}

impl Policy {
    /// Reads the policy document.
    ///
    /// # Errors
    /// [`JsonError`] naming the member at fault.
    pub fn from_json(text: &str) -> Result<Self, JsonError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| JsonError::new("", format!("not JSON: {e}")))?;
        let mut s = Strict::new(&value, "")?;
        let d = Self::default();
        let max_lifetime_seconds = bounded(
            &mut s,
            "max_lifetime_seconds",
            d.max_lifetime_seconds,
            60..=10 * 365 * 86_400,
        )?;
        let require_expiry = s.bool("require_expiry")?.unwrap_or(d.require_expiry);
        let max_tokens_per_user = bounded(
            &mut s,
            "max_tokens_per_user",
            d.max_tokens_per_user.into(),
            1..=10_000,
        )?;
        let scopes_path = s.path_of("allowed_scopes");
        let allowed_scopes = Scopes::from_names(s.strings("allowed_scopes")?).map_err(|_| {
            JsonError::new(
                scopes_path,
                "scope names are [a-z0-9:._-], at most 64 characters, at most 32",
            )
        })?;
        let require_aal2 = s.bool("require_aal2")?.unwrap_or(d.require_aal2);
        let exchange_ttl_seconds = bounded(
            &mut s,
            "exchange_ttl_seconds",
            d.exchange_ttl_seconds,
            60..=MAX_EXCHANGE_TTL_SECS,
        )?;
        let max_overlap_seconds = bounded(
            &mut s,
            "max_overlap_seconds",
            d.max_overlap_seconds,
            0..=30 * 86_400,
        )?;
        let retention_days = bounded(&mut s, "retention_days", d.retention_days.into(), 1..=3650)?;
        let rate_limit = match s.object("rate_limit")? {
            None => d.rate_limit,
            Some(mut r) => {
                let requests = bounded(&mut r, "requests", 60, 1..=1_000_000)?;
                let window_seconds = bounded(&mut r, "window_seconds", 60, 1..=86_400)?;
                r.finish()?;
                RateLimit {
                    requests: u32::try_from(requests).unwrap_or(u32::MAX),
                    window_seconds: u32::try_from(window_seconds).unwrap_or(u32::MAX),
                }
            }
        };
        s.finish()?;
        Ok(Self {
            max_lifetime_seconds,
            require_expiry,
            max_tokens_per_user: u32::try_from(max_tokens_per_user).unwrap_or(u32::MAX),
            allowed_scopes,
            require_aal2,
            exchange_ttl_seconds,
            rate_limit,
            max_overlap_seconds,
            retention_days: u32::try_from(retention_days).unwrap_or(u32::MAX),
        })
    }

    /// Whether a token may carry `scopes`.
    #[must_use]
    pub fn allows(&self, scopes: &Scopes) -> bool {
        self.allowed_scopes.is_empty() || scopes.is_subset(&self.allowed_scopes)
    }

    /// What of `scopes` (a stored token's) this policy still allows: a scope removed from
    /// `allowed_scopes` after the token was made is not granted any more.
    #[must_use]
    pub fn permitted(&self, scopes: &Scopes) -> Scopes {
        if self.allowed_scopes.is_empty() {
            scopes.clone()
        } else {
            scopes.intersection(&self.allowed_scopes)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_strictness() {
        assert_eq!(Policy::from_json("{}").unwrap(), Policy::default());
        let p = Policy::from_json(
            r#"{"max_lifetime_seconds":86400,"require_expiry":false,"max_tokens_per_user":3,
                "allowed_scopes":["data:read"],"require_aal2":true,"exchange_ttl_seconds":600,
                "rate_limit":{"requests":5,"window_seconds":10},"max_overlap_seconds":0,
                "retention_days":30}"#,
        )
        .unwrap();
        assert_eq!(p.max_tokens_per_user, 3);
        assert_eq!(p.retention_days, 30);
        assert_eq!(
            p.rate_limit,
            RateLimit {
                requests: 5,
                window_seconds: 10
            }
        );
        assert!(p.allows(&Scopes::parse("data:read").unwrap()));
        assert!(!p.allows(&Scopes::parse("data:write").unwrap()));
        let stored = Scopes::parse("data:read data:write").unwrap();
        assert_eq!(p.permitted(&stored).to_text(), "data:read");
        assert_eq!(Policy::default().permitted(&stored), stored);
        for (bad, path) in [
            (r#"{"max_tokens":3}"#, "max_tokens"),
            (r#"{"exchange_ttl_seconds":7200}"#, "exchange_ttl_seconds"),
            (r#"{"rate_limit":{"requests":0}}"#, "rate_limit.requests"),
            (r#"{"rate_limit":{"per":1}}"#, "rate_limit.per"),
            (r#"{"allowed_scopes":["Bad"]}"#, "allowed_scopes"),
            (r#"{"require_aal2":"yes"}"#, "require_aal2"),
            (r#"{"retention_days":0}"#, "retention_days"),
        ] {
            let e = Policy::from_json(bad).unwrap_err();
            assert_eq!(e.path, path, "{bad}: {e}");
        }
    }
}
