//! Public-key signatures as a capability: the domain crates describe what to check or sign;
//! the runtime adapters do it with the host's WebCrypto (Deno, workerd), native code uses the
//! pure-Rust implementation in `portcullis-jwt`.
//!
//! Keys cross this seam as JSON Web Keys (RFC 7517) in the canonical member order of
//! RFC 7638 (`{"crv","kty","x","y"}`, `{"e","kty","n"}`, `{"crv","kty","x"}`, plus `d` for a
//! private key): the form WebCrypto imports directly, and a stable cache key for an imported
//! key object.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use crate::Secret;

/// The asymmetric JWS algorithms Supabase Auth signs with (RFC 7518 §3.3–3.4, RFC 8037).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureAlg {
    /// ECDSA P-256 with SHA-256; signatures are `r || s`, 64 bytes.
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// Ed25519 (`EdDSA` with `crv: Ed25519`).
    EdDsa,
}

impl SignatureAlg {
    /// The JWS `alg` name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
            Self::EdDsa => "EdDSA",
        }
    }
}

/// The host could not perform the operation (a key it refused to import, an internal
/// failure). A signature that simply does not verify is `Ok(false)`, not an error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CryptoError {
    /// For server logs only.
    pub detail: String,
}

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "crypto operation failed: {}", self.detail)
    }
}

impl std::error::Error for CryptoError {}

/// A boxed future that need not be `Send` (JavaScript hosts are single-threaded).
pub type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Signature verification and signing with public-key algorithms.
pub trait Crypto {
    /// Whether `signature` is a valid `alg` signature of `message` under the public key
    /// `jwk` (canonical JSON, see the module docs).
    fn verify<'a>(
        &'a self,
        alg: SignatureAlg,
        jwk: &'a str,
        message: &'a [u8],
        signature: &'a [u8],
    ) -> LocalFuture<'a, Result<bool, CryptoError>>;

    /// Signs `message` with the private key `jwk` (canonical JSON with `d`). ECDSA signatures
    /// are `r || s` (IEEE P1363), as JWS wants them.
    fn sign<'a>(
        &'a self,
        alg: SignatureAlg,
        jwk: &'a Secret<String>,
        message: &'a [u8],
    ) -> LocalFuture<'a, Result<Vec<u8>, CryptoError>>;
}

/// A [`Crypto`] for contexts without public-key operations: everything fails.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoCrypto;

impl Crypto for NoCrypto {
    fn verify<'a>(
        &'a self,
        _alg: SignatureAlg,
        _jwk: &'a str,
        _message: &'a [u8],
        _signature: &'a [u8],
    ) -> LocalFuture<'a, Result<bool, CryptoError>> {
        Box::pin(async {
            Err(CryptoError {
                detail: "public-key cryptography is not available here".into(),
            })
        })
    }

    fn sign<'a>(
        &'a self,
        _alg: SignatureAlg,
        _jwk: &'a Secret<String>,
        _message: &'a [u8],
    ) -> LocalFuture<'a, Result<Vec<u8>, CryptoError>> {
        Box::pin(async {
            Err(CryptoError {
                detail: "public-key cryptography is not available here".into(),
            })
        })
    }
}
