//! Refresh token rotation — checklist items 39–42.
//!
//! Every refresh rotates: the presented token is marked rotated and a successor issued, in one
//! statement that locks the family first (`portcullis.sso_refresh`: the decision lives there,
//! next to the rows it reads, so it is made once and atomically), so concurrent refreshes of
//! one token make at most one successor (item 42). A retry of the parent inside the grace
//! window (a client that lost the answer) gets the *same* successor (item 40, as Supabase's
//! `refresh_token_reuse_interval`); a parent presented after the window, or after its successor
//! was itself used, is reuse and revokes the whole family (item 39). Another client's token
//! revokes nothing (item 41).
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

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
}
