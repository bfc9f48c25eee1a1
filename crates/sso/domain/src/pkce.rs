//! PKCE (RFC 7636), S256 only — checklist items 12–15.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Why PKCE parameters were refused. The display text is safe to show the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PkceError {
    /// No `code_challenge` (item 12: every client, public or confidential, uses PKCE).
    MissingChallenge,
    /// `code_challenge_method` missing or not `S256` (item 13: `plain` is refused).
    Method,
    /// A challenge that is not 43 base64url characters (item 14).
    ChallengeFormat,
    /// A verifier that is not 43–128 unreserved characters (item 14).
    VerifierFormat,
    /// No verifier where a challenge was made, or one that does not hash to it (item 15).
    Mismatch,
    /// A verifier for an authorization that had no challenge (item 15).
    VerifierWithoutChallenge,
}

impl fmt::Display for PkceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MissingChallenge => "code_challenge is required (PKCE)",
            Self::Method => "code_challenge_method must be S256",
            Self::ChallengeFormat => "code_challenge must be 43 base64url characters",
            Self::VerifierFormat => "code_verifier must be 43 to 128 unreserved characters",
            Self::Mismatch => "code_verifier does not match the code_challenge",
            Self::VerifierWithoutChallenge => {
                "code_verifier sent for an authorization without a code_challenge"
            }
        })
    }
}

impl std::error::Error for PkceError {}

/// A checked S256 challenge, as stored with the authorization code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge(String);

impl Challenge {
    /// The challenge text (base64url of the verifier's SHA-256).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The only method: what the metadata lists as `code_challenge_methods_supported`.
pub const METHOD: &str = "S256";

/// Checks an authorization request's `code_challenge` and `code_challenge_method`.
///
/// # Errors
/// [`PkceError::MissingChallenge`], [`PkceError::Method`] or [`PkceError::ChallengeFormat`].
pub fn challenge(challenge: Option<&str>, method: Option<&str>) -> Result<Challenge, PkceError> {
    let challenge = challenge.ok_or(PkceError::MissingChallenge)?;
    if method != Some(METHOD) {
        return Err(PkceError::Method);
    }
    // 43 base64url characters carry 258 bits: a SHA-256 leaves the last one's low two bits
    // zero (`A E I M Q U Y c g k o s w 0 4 8`), so any other last character matches nothing.
    let canonical_last = challenge
        .bytes()
        .last()
        .is_some_and(|b| b"AEIMQUYcgkosw048".contains(&b));
    if challenge.len() != 43
        || !canonical_last
        || !challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(PkceError::ChallengeFormat);
    }
    Ok(Challenge(challenge.to_owned()))
}

/// The S256 challenge of a `code_verifier` (43–128 unreserved characters): what a code's
/// stored challenge must equal. The challenge was public in the front channel, so the
/// comparison (in the database, at redemption) needs no secrecy.
///
/// # Errors
/// [`PkceError::VerifierFormat`].
pub fn s256(verifier: &str) -> Result<String, PkceError> {
    if !(43..=128).contains(&verifier.len())
        || !verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
    {
        return Err(PkceError::VerifierFormat);
    }
    Ok(URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())))
}

/// Checks a token request's `code_verifier` against the code's challenge: the verifier's
/// SHA-256, base64url without padding, equal in constant time.
///
/// # Errors
/// [`PkceError::Mismatch`] (missing or wrong), [`PkceError::VerifierFormat`],
/// [`PkceError::VerifierWithoutChallenge`].
pub fn verify(challenge: Option<&Challenge>, verifier: Option<&str>) -> Result<(), PkceError> {
    let (challenge, verifier) = match (challenge, verifier) {
        (Some(c), Some(v)) => (c, v),
        (Some(_), None) => return Err(PkceError::Mismatch),
        (None, Some(_)) => return Err(PkceError::VerifierWithoutChallenge),
        // Every code carries a challenge (item 12); a code without one is not ours to honour.
        (None, None) => return Err(PkceError::Mismatch),
    };
    let hashed = s256(verifier)?;
    if bool::from(hashed.as_bytes().ct_eq(challenge.0.as_bytes())) {
        Ok(())
    } else {
        Err(PkceError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn the_rfc_7636_vector_verifies() {
        let c = challenge(Some(CHALLENGE), Some("S256")).unwrap();
        assert_eq!(verify(Some(&c), Some(VERIFIER)), Ok(()));
        let mut wrong = VERIFIER.to_owned();
        wrong.replace_range(0..1, "e");
        assert_eq!(verify(Some(&c), Some(&wrong)), Err(PkceError::Mismatch));
    }

    #[test]
    fn only_s256_with_a_well_formed_challenge() {
        // Items 12-14.
        assert_eq!(
            challenge(None, Some("S256")),
            Err(PkceError::MissingChallenge)
        );
        for method in [None, Some("plain"), Some("s256"), Some("S256 "), Some("")] {
            assert_eq!(
                challenge(Some(CHALLENGE), method),
                Err(PkceError::Method),
                "{method:?}"
            );
        }
        for bad in [
            CHALLENGE[..42].to_owned(),
            format!("{CHALLENGE}A"),
            format!("{}N", &CHALLENGE[..42]),
            format!("{}=", &CHALLENGE[..42]),
            format!("{}+", &CHALLENGE[..42]),
            format!("{}/", &CHALLENGE[..42]),
            String::new(),
        ] {
            assert_eq!(
                challenge(Some(&bad), Some("S256")),
                Err(PkceError::ChallengeFormat),
                "{bad}"
            );
        }
    }

    #[test]
    fn verifiers_are_43_to_128_unreserved_characters() {
        // Item 14: a verifier of the right alphabet and length that hashes right passes at
        // both ends of the range; outside it, or with another character, it is refused before
        // any hashing.
        for len in [43, 128] {
            let v = "a~b.c-d_".repeat(16)[..len].to_owned();
            let c = URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes()));
            let c = challenge(Some(&c), Some("S256")).unwrap();
            assert_eq!(verify(Some(&c), Some(&v)), Ok(()), "{len}");
        }
        let c = challenge(Some(CHALLENGE), Some("S256")).unwrap();
        for bad in [
            "a".repeat(42),
            "a".repeat(129),
            format!("{} ", &VERIFIER[..42]),
            format!("{}+", &VERIFIER[..42]),
            format!("{}%", &VERIFIER[..42]),
            format!("{}é", &VERIFIER[..41]),
        ] {
            assert_eq!(
                verify(Some(&c), Some(&bad)),
                Err(PkceError::VerifierFormat),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_missing_verifier_or_challenge_is_refused() {
        // Item 15.
        let c = challenge(Some(CHALLENGE), Some("S256")).unwrap();
        assert_eq!(verify(Some(&c), None), Err(PkceError::Mismatch));
        assert_eq!(
            verify(None, Some(VERIFIER)),
            Err(PkceError::VerifierWithoutChallenge)
        );
        assert_eq!(verify(None, None), Err(PkceError::Mismatch));
    }
}
