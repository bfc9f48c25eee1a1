//! Refresh token rotation — checklist items 39–42.
//!
//! Every refresh rotates: the presented token is marked rotated and a successor issued, in one
//! compare-and-set statement, so concurrent refreshes of one token make at most one successor
//! (item 42). A retry of the parent inside the grace window (a client that lost the answer)
//! gets the *same* successor (item 40, as Supabase's `refresh_token_reuse_interval`); a parent
//! presented after the window, or after its successor was itself used, is reuse and revokes
//! the whole family (item 39).
//!
//! Tokens are stored only as hashes, so "the same successor" cannot be read back: it is
//! derived. A successor is `HMAC-SHA256(rotation key, parent token)`, so whoever presents the
//! parent again gets the same successor recomputed, and the database holds only its hash.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use portcullis_core::Secret;
use portcullis_core::encoding::base64url_encode;

/// The prefix of every refresh token (recognisable in leaks and logs scanners).
pub const PREFIX: &str = "pcrt_";

/// The longest grace window a configuration may set (Hydra's maximum is 5 minutes; ours is
/// tighter: a retry comes within seconds).
pub const MAX_GRACE_SECS: u64 = 60;

/// The successor of `parent`: `pcrt_` + base64url(HMAC-SHA256(key, parent)). `None` only if
/// HMAC refused the key, which it does for no length.
#[must_use]
pub fn successor(key: &Secret<Vec<u8>>, parent: &str) -> Option<String> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.expose()).ok()?;
    mac.update(parent.as_bytes());
    let tag = mac.finalize().into_bytes();
    Some(format!("{PREFIX}{}", base64url_encode(&tag)))
}

/// A stored refresh token and its family, as the rotation statement returns them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    /// The client the family belongs to.
    pub client_id: String,
    /// The family was revoked (logout, reuse, revocation).
    pub family_revoked: bool,
    /// The token's expiry (the family's lifetime), Unix seconds.
    pub expires_at: i64,
    /// When this token was rotated, if it was.
    pub rotated_at: Option<i64>,
    /// Its successor was itself rotated (used) already.
    pub successor_used: bool,
    /// The scopes the family holds.
    pub scopes: Vec<String>,
}

/// What a refresh does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Rotate: issue [`successor`] and mark this token rotated now.
    Rotate,
    /// A retry inside the grace window: answer with the same successor again.
    Retry,
    /// Reuse: revoke the family, answer `invalid_grant`.
    Reuse,
    /// `invalid_grant` (unknown, revoked, expired, another client's), nothing changes.
    Invalid(&'static str),
    /// `invalid_scope`: more than the family holds.
    Scope,
}

/// Decides a refresh of a token found as `stored` (`None`: no such token), by `client_id`,
/// asking `scope` (`None`: the family's), at `now`, with `grace` seconds of retry window.
#[must_use]
pub fn decide(
    stored: Option<&Stored>,
    client_id: &str,
    scope: Option<&[String]>,
    now: i64,
    grace: u64,
) -> Outcome {
    let Some(s) = stored else {
        return Outcome::Invalid("the refresh token is not valid");
    };
    // Item 41: another client's token is refused and revokes nothing (its owner did no wrong).
    if s.client_id != client_id {
        return Outcome::Invalid("the refresh token was not issued to this client");
    }
    if s.family_revoked {
        return Outcome::Invalid("the refresh token was revoked");
    }
    if now >= s.expires_at {
        return Outcome::Invalid("the refresh token has expired");
    }
    if let Some(asked) = scope
        && !asked.iter().all(|a| s.scopes.contains(a))
    {
        return Outcome::Scope;
    }
    let grace = i64::try_from(grace.min(MAX_GRACE_SECS)).unwrap_or(0);
    match s.rotated_at {
        None => Outcome::Rotate,
        Some(at) if !s.successor_used && now >= at && now - at <= grace => Outcome::Retry,
        Some(_) => Outcome::Reuse,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn stored() -> Stored {
        Stored {
            client_id: "app".into(),
            family_revoked: false,
            expires_at: 10_000,
            rotated_at: None,
            successor_used: false,
            scopes: vec!["openid".into(), "email".into()],
        }
    }

    #[test]
    fn successors_are_derived_and_unguessable_without_the_key() {
        let key = Secret::new(vec![7u8; 32]);
        let other = Secret::new(vec![8u8; 32]);
        let a = successor(&key, "pcrt_parent").unwrap();
        assert_eq!(
            Some(&a),
            successor(&key, "pcrt_parent").as_ref(),
            "a retry gets the same successor"
        );
        assert_ne!(Some(&a), successor(&key, "pcrt_parent2").as_ref());
        assert_ne!(Some(&a), successor(&other, "pcrt_parent").as_ref());
        assert!(a.starts_with(PREFIX));
        assert_eq!(a.len(), PREFIX.len() + 43, "256 bits");
    }

    #[test]
    fn every_refresh_rotates_and_reuse_revokes() {
        // Item 39.
        assert_eq!(
            decide(Some(&stored()), "app", None, 100, 10),
            Outcome::Rotate
        );
        let rotated = Stored {
            rotated_at: Some(100),
            ..stored()
        };
        // Item 40: a retry inside the window gets the same successor; the window is bounded.
        assert_eq!(decide(Some(&rotated), "app", None, 100, 10), Outcome::Retry);
        assert_eq!(decide(Some(&rotated), "app", None, 110, 10), Outcome::Retry);
        assert_eq!(decide(Some(&rotated), "app", None, 111, 10), Outcome::Reuse);
        assert_eq!(
            decide(Some(&rotated), "app", None, 100 + 61, 3_600),
            Outcome::Reuse,
            "the window is capped at 60 s"
        );
        assert_eq!(decide(Some(&rotated), "app", None, 100, 0), Outcome::Retry);
        assert_eq!(decide(Some(&rotated), "app", None, 101, 0), Outcome::Reuse);
        // Once the successor was used, the parent is reuse at once.
        let used = Stored {
            successor_used: true,
            ..rotated.clone()
        };
        assert_eq!(decide(Some(&used), "app", None, 100, 10), Outcome::Reuse);
        // A clock that went back is no retry.
        assert_eq!(decide(Some(&rotated), "app", None, 99, 10), Outcome::Reuse);
    }

    #[test]
    fn refusals_change_nothing() {
        // Item 41: another client's token, and scopes only narrow.
        assert!(matches!(
            decide(Some(&stored()), "other", None, 100, 10),
            Outcome::Invalid(_)
        ));
        assert!(matches!(
            decide(None, "app", None, 100, 10),
            Outcome::Invalid(_)
        ));
        let revoked = Stored {
            family_revoked: true,
            ..stored()
        };
        assert!(matches!(
            decide(Some(&revoked), "app", None, 100, 10),
            Outcome::Invalid(_)
        ));
        assert!(matches!(
            decide(Some(&stored()), "app", None, 10_000, 10),
            Outcome::Invalid(_)
        ));
        let narrower = ["email".to_owned()];
        assert_eq!(
            decide(Some(&stored()), "app", Some(&narrower), 100, 10),
            Outcome::Rotate
        );
        let wider = ["email".to_owned(), "phone".to_owned()];
        assert_eq!(
            decide(Some(&stored()), "app", Some(&wider), 100, 10),
            Outcome::Scope
        );
    }
}
