//! MFA and password verification attempt hooks (spec §7): failed-attempt limits with
//! exponential back-off, counted in Postgres.
//!
//! Every attempt is one SQL statement, so concurrent attempts never lose an update:
//! - a failure upserts the counter row (starting a new window when the old one expired and no
//!   lock is active) and computes the lock in the same statement;
//! - a success deletes the row unless a lock is active (then the correct password is refused
//!   too: that is what makes guessing pointless).
//!
//! Old rows are pruned by [`AttemptPolicy::prune`], which the service runs on a random ~1 in
//! 85 calls, so nobody has to remember a cron job.

use std::fmt;

use portcullis_core::json::{JsonError, Strict};
use portcullis_core::sql::Statement;
use portcullis_core::{SecureRandom, uuid_v4};

use crate::payload::{Metadata, PayloadError, is_uuid, parse_object};
use crate::template::{Mode, Slot, Template};

/// Which hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptKind {
    /// `password-verification`.
    Password,
    /// `mfa-verification`.
    Mfa,
}

impl AttemptKind {
    /// The `kind` column value.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Mfa => "mfa",
        }
    }
}

/// An attempt GoTrue reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptInput {
    /// Common metadata.
    pub metadata: Metadata,
    /// The user (a UUID).
    pub user_id: String,
    /// The factor (MFA), else `""`.
    pub factor_id: String,
    /// `totp` or `phone` (MFA), else `""`.
    pub factor_type: String,
    /// Whether the password or code was right.
    pub valid: bool,
}

impl AttemptInput {
    /// Parses the hook body of `kind`.
    ///
    /// # Errors
    /// [`PayloadError`] when it is not JSON, `user_id` is not a UUID, `valid` is not a boolean,
    /// or (MFA) `factor_id` is missing.
    pub fn parse(kind: AttemptKind, body: &[u8]) -> Result<Self, PayloadError> {
        let o = parse_object(body)?;
        let user_id = o.text("user_id");
        if !is_uuid(&user_id) {
            return Err(PayloadError::Shape { member: "user_id" });
        }
        if !o.is_bool("valid") {
            return Err(PayloadError::Shape { member: "valid" });
        }
        let factor_id = o.text("factor_id");
        if kind == AttemptKind::Mfa && (factor_id.is_empty() || factor_id.len() > 64) {
            return Err(PayloadError::Shape {
                member: "factor_id",
            });
        }
        Ok(Self {
            metadata: Metadata::read(o.object("metadata").as_ref()),
            user_id: user_id.to_ascii_lowercase(),
            factor_id: if kind == AttemptKind::Mfa {
                factor_id.into_owned()
            } else {
                String::new()
            },
            factor_type: o.text("factor_type").into_owned(),
            valid: o.flag("valid"),
        })
    }
}

/// The counter after a statement: failures in the window and seconds left on the lock.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AttemptState {
    /// Failures counted in the current window (0 after a success).
    pub failures: u32,
    /// Seconds until the lock ends; `None` when not locked.
    pub locked_for_secs: Option<u64>,
}

impl AttemptState {
    /// Reads the statement's row: `failures`, `locked_for_secs` (text, NULL when unlocked).
    #[must_use]
    pub fn from_row(row: &[Option<String>]) -> Self {
        let cell = |i: usize| row.get(i).cloned().flatten();
        Self {
            failures: cell(0).and_then(|v| v.parse().ok()).unwrap_or(0),
            locked_for_secs: cell(1)
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|s| *s > 0.0)
                .map(|s| s.ceil() as u64),
        }
    }
}

/// The hook's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// `reject` (else `continue`).
    pub reject: bool,
    /// For the user.
    pub message: String,
    /// Password hook only: log the user out everywhere.
    pub should_logout_user: bool,
}

/// Limits for one hook.
#[derive(Clone, Debug)]
pub struct AttemptPolicy {
    kind: AttemptKind,
    /// Failures within the window that lock the account.
    pub max_failures: u32,
    /// The counting window in seconds.
    pub window_secs: u64,
    /// The first lock in seconds; it doubles with every further failure.
    pub lockout_secs: u64,
    /// The longest lock in seconds.
    pub max_lockout_secs: u64,
    /// Password only: failures after which the user is logged out everywhere.
    pub logout_after: Option<u32>,
    /// Refuse attempts when the counter cannot be read (default: let them through).
    pub fail_closed: bool,
    message: Template,
}

const DEFAULT_MESSAGE: &str = "Too many failed attempts. Try again in {{ minutes }} minute(s).";

/// The lock message's placeholders: `minutes` (slot 0) and `seconds` (slot 1).
fn message_slot(name: &str) -> Option<Slot> {
    match name {
        "minutes" => Some(Slot::user(0)),
        "seconds" => Some(Slot::user(1)),
        _ => None,
    }
}

impl AttemptPolicy {
    /// The defaults: 5 failures in 15 minutes lock for 1 minute, doubling up to 1 hour.
    #[must_use]
    pub fn new(kind: AttemptKind) -> Self {
        Self {
            kind,
            max_failures: 5,
            window_secs: 900,
            lockout_secs: 60,
            max_lockout_secs: 3600,
            logout_after: None,
            fail_closed: false,
            message: Template::compile(DEFAULT_MESSAGE, Mode::Text, &message_slot)
                .unwrap_or_default(),
        }
    }

    /// Which hook this is for.
    #[must_use]
    pub const fn kind(&self) -> AttemptKind {
        self.kind
    }

    pub(crate) fn read(kind: AttemptKind, mut r: Strict<'_>) -> Result<Self, JsonError> {
        let mut p = Self::new(kind);
        let bounded = |r: &mut Strict<'_>,
                       key: &'static str,
                       min: u64,
                       max: u64,
                       default: u64|
         -> Result<u64, JsonError> {
            match r.u64(key)? {
                None => Ok(default),
                Some(v) if (min..=max).contains(&v) => Ok(v),
                Some(_) => Err(JsonError::new(
                    r.path_of(key),
                    format!("must be between {min} and {max}"),
                )),
            }
        };
        p.max_failures = u32::try_from(bounded(&mut r, "max_failures", 1, 1000, 5)?).unwrap_or(5);
        p.window_secs = bounded(&mut r, "window_seconds", 1, 30 * 86_400, 900)?;
        p.lockout_secs = bounded(&mut r, "lockout_seconds", 1, 86_400, 60)?;
        p.max_lockout_secs = bounded(
            &mut r,
            "max_lockout_seconds",
            p.lockout_secs,
            30 * 86_400,
            p.lockout_secs.max(3600),
        )?;
        if kind == AttemptKind::Password {
            p.logout_after = r
                .u64("logout_after_failures")?
                .map(|v| u32::try_from(v).unwrap_or(u32::MAX));
        }
        p.fail_closed = r.bool("fail_closed")?.unwrap_or(false);
        if let Some(m) = r.str("message")? {
            p.message = Template::compile(m, Mode::Text, &message_slot)
                .map_err(|e| JsonError::new(r.path_of("message"), e.to_string()))?;
        }
        r.finish()?;
        Ok(p)
    }

    /// One statement recording a failure (`portcullis.attempt_failure`: the upsert that also
    /// computes the lock, with plans the connection keeps); returns [`AttemptState`]'s row.
    #[must_use]
    pub fn record_failure(&self, input: &AttemptInput) -> Statement {
        const SQL: &str = "select failures::text, locked_for::text from portcullis.attempt_failure(\
            $1, $2::uuid, $3, $4::float8, $5::int, $6::float8, $7::float8)";
        self.bind(Statement::new(SQL), input)
            .bind(self.window_secs.to_string())
            .bind(self.max_failures.to_string())
            .bind(self.lockout_secs.to_string())
            .bind(self.max_lockout_secs.to_string())
    }

    /// One statement for a success (`portcullis.attempt_success`): clears the counter unless a
    /// lock is active; returns the state (failures, lock).
    #[must_use]
    pub fn record_success(&self, input: &AttemptInput) -> Statement {
        const SQL: &str = "select failures::text, locked_for::text from portcullis.attempt_success(\
            $1, $2::uuid, $3)";
        self.bind(Statement::new(SQL), input)
    }

    fn bind(&self, s: Statement, input: &AttemptInput) -> Statement {
        s.bind(self.kind.name())
            .bind(input.user_id.as_str())
            .bind(input.factor_id.as_str())
    }

    /// Deletes rows whose window and lock are long over, among at most 500 neighbours of a
    /// random key (upwards or downwards, so the ends of the key space are reached as often
    /// as the middle): a call's cost is bounded whatever the table holds, needs no index
    /// beyond the primary key (an index on the time columns would cost every attempt its HOT
    /// update), and over many calls every stale row is reached.
    #[must_use]
    pub fn prune(&self, random: &dyn SecureRandom) -> Statement {
        const UP: &str = "delete from portcullis.verification_attempts where ctid in ( \
               select ctid from ( \
                 select ctid, last_failure_at, locked_until from portcullis.verification_attempts \
                 where kind = $1 and user_id >= $3::uuid order by user_id limit 500) s \
               where last_failure_at < now() - make_interval(secs => $2::float8) \
                 and (locked_until is null or locked_until < now()))";
        const DOWN: &str = "delete from portcullis.verification_attempts where ctid in ( \
               select ctid from ( \
                 select ctid, last_failure_at, locked_until from portcullis.verification_attempts \
                 where kind = $1 and user_id <= $3::uuid order by user_id desc limit 500) s \
               where last_failure_at < now() - make_interval(secs => $2::float8) \
                 and (locked_until is null or locked_until < now()))";
        let keep = self.window_secs.max(self.max_lockout_secs);
        let start =
            uuid_v4(random).unwrap_or_else(|_| "80000000-0000-4000-8000-000000000000".into());
        let up = start.as_bytes().first().is_some_and(|b| b & 1 == 0);
        Statement::new(if up { UP } else { DOWN })
            .bind(self.kind.name())
            .bind(keep.to_string())
            .bind(start)
    }

    /// The answer for an attempt given the counter after its statement.
    #[must_use]
    pub fn decide(&self, valid: bool, state: AttemptState) -> Decision {
        let should_logout_user = !valid && self.logout_after.is_some_and(|n| state.failures >= n);
        match state.locked_for_secs {
            Some(secs) => {
                let minutes = secs.div_ceil(60).max(1);
                let vars = [minutes.to_string(), secs.to_string()];
                Decision {
                    reject: true,
                    message: self.message.render(&vars[..]),
                    should_logout_user,
                }
            }
            None => Decision {
                reject: false,
                message: String::new(),
                should_logout_user,
            },
        }
    }
}

impl fmt::Display for AttemptKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inputs_are_checked() {
        let uid = "6A0B8E8E-1F3C-4E1B-9C5D-2B1F0E3A4C5D";
        let p = AttemptInput::parse(
            AttemptKind::Mfa,
            json!({"user_id": uid, "factor_id": "f1", "factor_type": "totp", "valid": false})
                .to_string()
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(
            (p.user_id.as_str(), p.factor_id.as_str(), p.valid),
            ("6a0b8e8e-1f3c-4e1b-9c5d-2b1f0e3a4c5d", "f1", false)
        );
        let p = AttemptInput::parse(
            AttemptKind::Password,
            json!({"user_id": uid, "factor_id": "ignored", "valid": true})
                .to_string()
                .as_bytes(),
        )
        .unwrap();
        assert_eq!((p.factor_id.as_str(), p.valid), ("", true));
        for (kind, body, member) in [
            (
                AttemptKind::Password,
                json!({"user_id": "x", "valid": true}),
                "user_id",
            ),
            (
                AttemptKind::Password,
                json!({"user_id": uid, "valid": "true"}),
                "valid",
            ),
            (
                AttemptKind::Mfa,
                json!({"user_id": uid, "valid": true}),
                "factor_id",
            ),
        ] {
            assert_eq!(
                AttemptInput::parse(kind, body.to_string().as_bytes()).unwrap_err(),
                PayloadError::Shape { member }
            );
        }
    }

    #[test]
    fn decisions_follow_the_lock_and_the_logout_threshold() {
        let mut p = AttemptPolicy::new(AttemptKind::Password);
        p.logout_after = Some(10);
        let d = p.decide(
            false,
            AttemptState {
                failures: 3,
                locked_for_secs: None,
            },
        );
        assert_eq!(
            d,
            Decision {
                reject: false,
                message: String::new(),
                should_logout_user: false
            }
        );
        let d = p.decide(
            false,
            AttemptState {
                failures: 10,
                locked_for_secs: Some(61),
            },
        );
        assert_eq!(
            d,
            Decision {
                reject: true,
                message: "Too many failed attempts. Try again in 2 minute(s).".into(),
                should_logout_user: true
            }
        );
        let d = p.decide(
            true,
            AttemptState {
                failures: 10,
                locked_for_secs: Some(5),
            },
        );
        assert!(
            d.reject && !d.should_logout_user,
            "a right password during a lock is refused, no logout"
        );
    }

    #[test]
    fn rows_are_read_leniently() {
        let s = AttemptState::from_row(&[Some("6".into()), Some("59.2".into())]);
        assert_eq!(
            s,
            AttemptState {
                failures: 6,
                locked_for_secs: Some(60)
            }
        );
        assert_eq!(
            AttemptState::from_row(&[Some("0".into()), None]),
            AttemptState::default()
        );
        assert_eq!(
            AttemptState::from_row(&[Some("2".into()), Some("-3.5".into())]).locked_for_secs,
            None
        );
    }

    #[test]
    fn configuration_is_bounded() {
        let v = json!({"max_failures": 0});
        let err =
            AttemptPolicy::read(AttemptKind::Mfa, Strict::new(&v, "mfa").unwrap()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "mfa.max_failures: must be between 1 and 1000"
        );
        let v = json!({"logout_after_failures": 3});
        let err =
            AttemptPolicy::read(AttemptKind::Mfa, Strict::new(&v, "mfa").unwrap()).unwrap_err();
        assert!(err.to_string().contains("logout_after_failures"), "{err}");
        let v = json!({"message": "wait {{ hours }}"});
        assert!(AttemptPolicy::read(AttemptKind::Password, Strict::new(&v, "p").unwrap()).is_err());
        let v = json!({"max_failures": 3, "lockout_seconds": 30, "logout_after_failures": 6, "message": "Locked for {{seconds}}s"});
        let p = AttemptPolicy::read(AttemptKind::Password, Strict::new(&v, "p").unwrap()).unwrap();
        assert_eq!(
            (
                p.max_failures,
                p.lockout_secs,
                p.max_lockout_secs,
                p.logout_after
            ),
            (3, 30, 3600, Some(6))
        );
        assert_eq!(
            p.decide(
                false,
                AttemptState {
                    failures: 3,
                    locked_for_secs: Some(30)
                }
            )
            .message,
            "Locked for 30s"
        );
    }
}
