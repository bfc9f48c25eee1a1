//! Keys: the legacy HS256 secret and the public keys of a JWKS, each with the algorithm it
//! fixes.

use std::borrow::Cow;
use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use jwt_compact::jwk::JsonWebKey;
use portcullis_core::{Secret, SignatureAlg};
use serde_json::Value;
use sha2::Sha256;

use crate::token::Alg;

/// The project's legacy HS256 secret, used as raw bytes (never base64-decoded). Held as the
/// HMAC state after the key is absorbed (inner and outer pads hashed once, at start-up, not
/// per token); that state is secret too and is zeroised on drop (`hmac`'s `zeroize`).
#[derive(Clone)]
pub struct HmacKey(Hmac<Sha256>);

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HmacKey(redacted)")
    }
}

/// Secrets shorter than this are refused at start-up (RFC 7518 §3.2: at least the hash size).
pub const MIN_HMAC_SECRET_BYTES: usize = 32;

impl HmacKey {
    /// Wraps the secret's bytes (which are zeroised here once absorbed).
    ///
    /// # Errors
    /// [`KeyError::WeakSecret`] when it is shorter than 32 bytes.
    pub fn new(secret: Vec<u8>) -> Result<Self, KeyError> {
        let secret = Secret::new(secret);
        if secret.expose().len() < MIN_HMAC_SECRET_BYTES {
            return Err(KeyError::WeakSecret);
        }
        // HMAC accepts keys of any length: `new_from_slice` cannot fail for it.
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.expose())
            .unwrap_or_else(|_| unreachable_hmac());
        Ok(Self(mac))
    }

    /// HMAC-SHA-256 of `message`.
    #[must_use]
    pub fn sign(&self, message: &[u8]) -> [u8; 32] {
        let mut mac = self.0.clone();
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    /// Constant-time check of `tag` over `message`.
    #[must_use]
    pub fn verify(&self, message: &[u8], tag: &[u8]) -> bool {
        let mut mac = self.0.clone();
        mac.update(message);
        mac.verify_slice(tag).is_ok()
    }
}

#[allow(clippy::panic)]
#[cold]
fn unreachable_hmac() -> Hmac<Sha256> {
    // Invariant: HMAC's `new_from_slice` accepts every key length.
    panic!("HMAC refused a key")
}

/// Why a key was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// An HS256 secret shorter than 32 bytes.
    WeakSecret,
    /// Not a JSON object / JWK set.
    NotJson,
    /// A private key that is not an EC P-256 key with `d`, `x` and `y`.
    NotP256Private,
    /// A field longer than 32 bytes, or `d` missing.
    BadField,
    /// A private key that is not an RSA key with all of `n`, `e`, `d`, `p`, `q`, `dp`, `dq`, `qi`.
    NotRsaPrivate,
    /// An RSA modulus shorter than 2048 bits.
    WeakRsa,
    /// No usable key in the set.
    Empty,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::WeakSecret => "the HS256 secret is shorter than 32 bytes",
            Self::NotJson => "not a JSON Web Key (set)",
            Self::NotP256Private => "not an EC P-256 private JWK (kty EC, crv P-256, d, x, y)",
            Self::BadField => "a key field has the wrong length",
            Self::NotRsaPrivate => {
                "not an RSA private JWK (kty RSA, kid, n, e, d, p, q, dp, dq, qi)"
            }
            Self::WeakRsa => "the RSA modulus is shorter than 2048 bits",
            Self::Empty => "no usable key (ES256, RS256, EdDSA or an oct secret)",
        })
    }
}

impl std::error::Error for KeyError {}

/// A public key from a JWKS: its `kid`, the algorithm it fixes and its canonical JWK.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    /// The `kid`, compared as a string.
    pub kid: Option<String>,
    /// The only algorithm this key verifies.
    pub alg: SignatureAlg,
    /// Canonical JWK (RFC 7638 members, sorted), as the [`portcullis_core::Crypto`] seam
    /// takes it.
    pub jwk: String,
    /// The length of its signatures: 64 for ES256 (`r ‖ s`, RFC 7518 §3.4) and EdDSA, the
    /// modulus length for RS256 (RFC 8017 §8.2.2).
    pub signature_len: usize,
}

/// Left-pads a big-endian field to `len` bytes (Go's `big.Int.Bytes()` drops leading zeros:
/// about one Supabase CLI key in 85 has a 31-byte coordinate). `None` when it is longer.
pub(crate) fn left_pad(bytes: &[u8], len: usize) -> Option<Vec<u8>> {
    if bytes.len() > len {
        return None;
    }
    let mut out = vec![0; len - bytes.len()];
    out.extend_from_slice(bytes);
    Some(out)
}

/// RSA moduli below this many bits are skipped (RFC 7518 §3.3 requires 2048).
const MIN_RSA_BITS: usize = 2048;

fn significant_bits(bytes: &[u8]) -> usize {
    let mut rest = bytes.iter().skip_while(|b| **b == 0);
    match rest.next() {
        Some(first) => (8 - first.leading_zeros() as usize) + 8 * rest.count(),
        None => 0,
    }
}

/// One JWK of a set as a [`PublicKey`], or `None` when we do not use it: unknown key types,
/// curves or algorithms, encryption keys, keys whose `key_ops` exclude `verify`, weak RSA keys.
fn public_key(value: &Value) -> Option<PublicKey> {
    let object = value.as_object()?;
    let text = |k: &str| object.get(k).and_then(Value::as_str);
    if text("use").is_some_and(|u| u != "sig") {
        return None;
    }
    if let Some(ops) = object.get("key_ops") {
        let ops = ops.as_array()?;
        if !ops.iter().any(|o| o.as_str() == Some("verify")) {
            return None;
        }
    }
    let jwk: JsonWebKey<'_> = serde_json::from_value(value.clone()).ok()?;
    let mut signature_len = 64;
    let (alg, public) = match &jwk {
        JsonWebKey::EllipticCurve { curve, x, y, .. } if curve == "P-256" => {
            let public = JsonWebKey::EllipticCurve {
                curve: curve.clone(),
                x: Cow::Owned(left_pad(x, 32)?),
                y: Cow::Owned(left_pad(y, 32)?),
                secret: None,
            };
            (SignatureAlg::Es256, public)
        }
        JsonWebKey::Rsa { modulus, .. } if significant_bits(modulus) >= MIN_RSA_BITS => {
            signature_len = significant_bits(modulus).div_ceil(8);
            (SignatureAlg::Rs256, jwk.to_verifying_key())
        }
        JsonWebKey::KeyPair { curve, x, .. } if curve == "Ed25519" && x.len() == 32 => {
            (SignatureAlg::EdDsa, jwk.to_verifying_key())
        }
        _ => return None,
    };
    let declared = text("alg");
    let fits = match (alg, declared) {
        (_, None) => true,
        (SignatureAlg::Es256, Some(a)) => a == "ES256",
        (SignatureAlg::Rs256, Some(a)) => a == "RS256",
        (SignatureAlg::EdDsa, Some(a)) => a == "EdDSA" || a == "Ed25519",
    };
    fits.then(|| PublicKey {
        kid: text("kid").map(str::to_owned),
        alg,
        jwk: public.to_string(),
        signature_len,
    })
}

/// The keys a verifier trusts: at most one HS256 secret and any number of public keys.
#[derive(Debug, Default)]
pub struct KeySet {
    hmac: Option<HmacKey>,
    public: Vec<PublicKey>,
}

/// What a set read from JSON holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JwksSummary {
    /// Public keys kept.
    pub kept: usize,
    /// Keys skipped (unknown type, curve, algorithm or use).
    pub skipped: usize,
}

impl KeySet {
    /// A set with only the legacy secret.
    #[must_use]
    pub fn hmac(key: HmacKey) -> Self {
        Self {
            hmac: Some(key),
            public: Vec::new(),
        }
    }

    /// Reads a JWKS (`{"keys":[…]}`) or a single JWK. Keys and members we do not understand
    /// are skipped, never fatal. A symmetric (`oct`) key is the HS256 secret only when
    /// `allow_secret` (the local CLI's `SUPABASE_JWKS`); a fetched set never carries one.
    ///
    /// # Errors
    /// [`KeyError::NotJson`] when the text is not a JSON object.
    pub fn from_jwks(json: &str, allow_secret: bool) -> Result<(Self, JwksSummary), KeyError> {
        let value: Value = serde_json::from_str(json).map_err(|_| KeyError::NotJson)?;
        let single;
        let keys: &[Value] = match value.get("keys") {
            Some(Value::Array(keys)) => keys,
            Some(_) => return Err(KeyError::NotJson),
            None if value.is_object() => {
                single = [value.clone()];
                &single
            }
            None => return Err(KeyError::NotJson),
        };
        let mut set = Self::default();
        let mut skipped = 0;
        for key in keys {
            let oct = key.get("kty").and_then(Value::as_str) == Some("oct");
            if oct && allow_secret && set.hmac.is_none() {
                let secret = key
                    .get("k")
                    .and_then(Value::as_str)
                    .and_then(|k| portcullis_core::encoding::base64url_decode(k).ok())
                    .and_then(|k| HmacKey::new(k).ok());
                match secret {
                    Some(s) => set.hmac = Some(s),
                    None => skipped += 1,
                }
                continue;
            }
            match public_key(key) {
                Some(k) => set.public.push(k),
                None => skipped += 1,
            }
        }
        let kept = set.public.len();
        Ok((set, JwksSummary { kept, skipped }))
    }

    /// Adds (or replaces) the HS256 secret.
    #[must_use]
    pub fn with_hmac(mut self, key: Option<HmacKey>) -> Self {
        if key.is_some() {
            self.hmac = key;
        }
        self
    }

    /// The HS256 secret, if any.
    #[must_use]
    pub const fn hmac_key(&self) -> Option<&HmacKey> {
        self.hmac.as_ref()
    }

    /// The public keys.
    #[must_use]
    pub fn public_keys(&self) -> &[PublicKey] {
        &self.public
    }

    /// Whether the set holds no key at all.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.hmac.is_none() && self.public.is_empty()
    }

    /// The keys that may verify a token with header `alg` and `kid`: HS256 always goes to the
    /// secret (hosted HS256 tokens carry a `kid` the JWKS never lists); otherwise the keys of
    /// that algorithm with that `kid` (all keys of that algorithm when the token has none).
    #[must_use]
    pub fn candidates(&self, alg: Alg, kid: Option<&str>) -> Candidates<'_> {
        let wanted = match alg {
            Alg::Hs256 => {
                return match &self.hmac {
                    Some(k) => Candidates::Hmac(k),
                    None => Candidates::None,
                };
            }
            Alg::Es256 => SignatureAlg::Es256,
            Alg::Rs256 => SignatureAlg::Rs256,
            Alg::EdDsa => SignatureAlg::EdDsa,
        };
        let keys: Vec<&PublicKey> = self
            .public
            .iter()
            .filter(|k| k.alg == wanted && (kid.is_none() || k.kid.as_deref() == kid))
            .take(4)
            .collect();
        if keys.is_empty() {
            if kid.is_some() && self.public.iter().all(|k| k.kid.as_deref() != kid) {
                Candidates::UnknownKid
            } else {
                Candidates::None
            }
        } else {
            Candidates::Public(keys)
        }
    }
}

/// Which keys may verify a token.
#[derive(Debug)]
pub enum Candidates<'a> {
    /// The HS256 secret.
    Hmac(&'a HmacKey),
    /// Public keys of the token's algorithm (and `kid`).
    Public(Vec<&'a PublicKey>),
    /// The `kid` is in no key of the set: refetch the set (rate-limited) before refusing.
    UnknownKid,
    /// No key of this algorithm: refused (the algorithm is fixed by the keys).
    None,
}
