//! The token layer of `pat`, `sign` and `sso`: verifying Supabase user JWTs and minting tokens
//! the Supabase project accepts (contract: `specs/tokens-and-pat.md`).
//!
//! # Design
//! - **Typed steps.** [`UntrustedToken::parse`] (shape) → [`KeySet::candidates`] (the keys
//!   fix the algorithm; the header only names it) → [`verify_signature`] →
//!   [`VerifiedClaims::check`] (time, issuer, audience). [`Verifier`] runs them with a JWKS
//!   cache and a verified-token cache.
//! - **Sans-io.** The clock is an argument; the JWKS is fetched through
//!   [`portcullis_core::Outbound`]; public-key signatures go through
//!   [`portcullis_core::Crypto`], a capability the adapters provide: the host's WebCrypto in
//!   Deno and workerd (pure-Rust P-256 in Wasm costs ~1.4 ms per verify), [`native::RustCrypto`]
//!   natively (feature `native`).
//! - **On jwt-compact.** It reads and canonicalises JWKs ([`jwt_compact::jwk::JsonWebKey`])
//!   and provides the native ES256 / RS256 / EdDSA algorithms (and the test oracle for
//!   minting). Three things are ours, and why:
//!   - The compact serialisation is split by [`UntrustedToken::parse`]: one pass that decodes
//!     each segment once and reads the header with our JSON scanner, which we need anyway for
//!     what jwt-compact's typed header cannot tell (duplicate and unknown members). Running
//!     `jwt_compact::UntrustedToken::new` as well decoded the header and payload a second time
//!     and ran serde on the header: 11 of the 16 µs of an HS256 verification in Wasm.
//!   - HMAC-SHA-256 runs on the workspace's `hmac`/`sha2` (jwt-compact 0.8 pins the previous
//!     major versions: a second copy of SHA-256 in every module for the same bytes), with the
//!     key's pads absorbed once at start-up.
//!   - Claims are read with our JSON scanner, because jwt-compact accepts fractional times
//!     (truncating them) where PostgREST counts them as 0: we refuse them.
//!
//! # Threat model
//! - Every refusal is a [`Refusal`], answered 401 `invalid_token` ([`Refusal::www_authenticate`]),
//!   never a 5xx: `alg: none` in any case, an algorithm the key does not fix, HMAC keyed with a
//!   public key (HS256 only ever uses the configured secret), unknown `kid` after one refetch,
//!   `crit`/`b64`, embedded `jwk`/`jku`/`x5u`/`x5c`, non-canonical base64url, duplicate header
//!   members, not three segments, non-object header or payload, signatures of the wrong length
//!   (DER ECDSA included), missing or non-integer `exp`, expired / not yet valid / issued in
//!   the future beyond 30 s, wrong `iss`, missing `aud`, tokens over 8 KiB.
//! - A JWKS endpoint that is down or answers garbage never takes down requests whose key is
//!   cached (stale-if-error), and an unknown `kid` refetches at most once per 30 s with one
//!   fetch in flight, so tokens with random `kid`s cannot drive traffic to it.
//! - An answer whose keys are all ones we cannot use never replaces a set that had usable
//!   ones (kept as stale-if-error); an empty list does (the project removed its keys). A key
//!   the host cannot use (a point off the curve) does not stop the other candidates.
//! - Tokens are bearer credentials: they never print ([`UntrustedToken`]'s `Debug`), the
//!   verified-token cache is keyed by their SHA-256. A cached verification holds only while
//!   the key set that made it is current and fresh: a key removed from the JWKS stops its
//!   tokens at the next refresh, not at their `exp`.
//! - Secrets ([`HmacKey`], private JWKs) are redacted newtypes, zeroised on drop.

mod claims;
mod key;
mod mint;
#[cfg(feature = "native")]
pub mod native;
pub mod project;
mod token;
mod verifier;

use std::fmt;

use portcullis_core::Crypto;

pub use claims::{Expectations, LEEWAY_SECS, VerifiedClaims, is_uuid};
pub use key::{
    Candidates, HmacKey, JwksSummary, KeyError, KeySet, MIN_HMAC_SECRET_BYTES, PublicKey,
};
pub use mint::{MintError, SigningKey, TokenClaims, mint, sign_payload, sign_typed};
pub use token::{Alg, MAX_TOKEN_BYTES, UntrustedToken};
pub use verifier::{
    JwksConfig, KeySource, REFETCH_INTERVAL_MS, TOKEN_CACHE_ENTRIES, Verifier, VerifyError,
};

/// Why a token was refused. Each is answered `401` with
/// `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750 §3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Refusal {
    /// Over [`MAX_TOKEN_BYTES`].
    TooLarge,
    /// Not three canonical base64url segments of a JSON-object header and payload.
    Malformed,
    /// `alg: none` (any case).
    AlgNone,
    /// An algorithm we do not accept.
    AlgUnsupported,
    /// A header member we refuse (`crit`, `b64`, `jwk`, `jku`, `x5u`, `x5c`).
    ForbiddenHeader,
    /// A header member given twice.
    DuplicateHeader,
    /// No key of the set has the token's `kid`, even after a refetch.
    UnknownKid,
    /// No key fixes the algorithm the token names (e.g. HS256 without a configured secret).
    NoKey,
    /// The signature has the wrong length for the key (e.g. a DER-encoded ES256 signature).
    SignatureLength,
    /// The signature does not verify.
    BadSignature,
    /// No `exp`.
    MissingExp,
    /// `exp`, `nbf` or `iat` is not an integer.
    BadTime,
    /// `exp` is past (beyond the leeway).
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    IssuedInFuture,
    /// `iss` is not this project's.
    WrongIssuer,
    /// `aud` does not include the expected audience.
    WrongAudience,
    /// Valid, but not a signed-in user's token (`anon`, `service_role`, `sub` not a UUID).
    NotAUser,
}

impl Refusal {
    /// A fixed description (printable ASCII, no `"` or `\`), safe for clients.
    #[must_use]
    pub const fn description(self) -> &'static str {
        match self {
            Self::TooLarge => "the token is too large",
            Self::Malformed => "the token is not a well-formed JWS",
            Self::AlgNone => "unsigned tokens are not accepted",
            Self::AlgUnsupported => "the token's algorithm is not accepted",
            Self::ForbiddenHeader => "the token's header carries a member that is not accepted",
            Self::DuplicateHeader => "the token's header repeats a member",
            Self::UnknownKid => "the token's key id is unknown",
            Self::NoKey => "no key for the token's algorithm",
            Self::SignatureLength => "the token's signature has the wrong length",
            Self::BadSignature => "the token's signature is invalid",
            Self::MissingExp => "the token has no expiry",
            Self::BadTime => "the token's times are not integers",
            Self::Expired => "the token has expired",
            Self::NotYetValid => "the token is not valid yet",
            Self::IssuedInFuture => "the token is issued in the future",
            Self::WrongIssuer => "the token is from another issuer",
            Self::WrongAudience => "the token is for another audience",
            Self::NotAUser => "the token is not a signed-in user's",
        }
    }

    /// The `WWW-Authenticate` value for this refusal.
    #[must_use]
    pub fn www_authenticate(self) -> String {
        format!(
            "Bearer error=\"invalid_token\", error_description=\"{}\"",
            self.description()
        )
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

impl std::error::Error for Refusal {}

/// Checks the signature of `token` with the keys `keys` offers for it.
///
/// # Errors
/// [`VerifyError::Refused`] when no candidate key verifies it (or the `kid` is unknown:
/// [`Refusal::UnknownKid`], which a [`Verifier`] answers with a refetch);
/// [`VerifyError::Crypto`] when the host could run the check with none of the candidates.
pub async fn verify_signature(
    token: &UntrustedToken<'_>,
    keys: &KeySet,
    crypto: &dyn Crypto,
) -> Result<(), VerifyError> {
    match keys.candidates(token.alg(), token.kid()) {
        Candidates::Hmac(key) => {
            if token.signature().len() != 32 {
                return Err(Refusal::SignatureLength.into());
            }
            if key.verify(token.signing_input().as_bytes(), token.signature()) {
                Ok(())
            } else {
                Err(Refusal::BadSignature.into())
            }
        }
        Candidates::Public(candidates) => {
            // A key the host cannot use (say, a JWKS point not on the curve) does not stop the
            // others from being tried; it only decides the answer when no key could check.
            let mut checked = false;
            let mut failure = None;
            for key in candidates {
                if key.signature_len != token.signature().len() {
                    continue;
                }
                match crypto
                    .verify(
                        key.alg,
                        &key.jwk,
                        token.signing_input().as_bytes(),
                        token.signature(),
                    )
                    .await
                {
                    Ok(true) => return Ok(()),
                    Ok(false) => checked = true,
                    Err(e) => failure = Some(e),
                }
            }
            Err(match (checked, failure) {
                (true, _) => Refusal::BadSignature.into(),
                (false, Some(e)) => VerifyError::Crypto(e),
                (false, None) => Refusal::SignatureLength.into(),
            })
        }
        Candidates::UnknownKid => Err(Refusal::UnknownKid.into()),
        Candidates::None => Err(Refusal::NoKey.into()),
    }
}
