//! Minting user access tokens the Supabase project accepts (spec §2).

use std::borrow::Cow;
use std::fmt;

use jwt_compact::jwk::JsonWebKey;
use portcullis_core::encoding::base64url_encode;
use portcullis_core::json::scan::object_members;
use portcullis_core::{Crypto, CryptoError, Secret, SignatureAlg, UnixTime};
use serde_json::Value;

use crate::key::left_pad;
use crate::{HmacKey, KeyError, PublicKey};

/// A key that signs the tokens we mint.
pub enum SigningKey {
    /// The legacy HS256 secret. Minted without `kid` unless the project's real key id is
    /// given: PostgREST tries only keys with a token's `kid`.
    Hs256 {
        /// The secret.
        key: HmacKey,
        /// The project's HS256 key id, if known.
        kid: Option<String>,
    },
    /// An RS256 private key (the SSO portal's id_tokens: OIDC's default algorithm). Signed by
    /// the host's WebCrypto only: the pure-Rust `rsa` crate carries the Marvin timing advisory
    /// (RUSTSEC-2023-0071), so native code has no RSA signer.
    Rs256 {
        /// Its `kid`.
        kid: String,
        /// Canonical private JWK (`d`, `dp`, `dq`, `e`, `kty`, `n`, `p`, `q`, `qi`).
        private: Secret<String>,
        /// Its public half.
        public: PublicKey,
    },
    /// An ES256 private key the user generated and imported into the project as a signing key.
    Es256 {
        /// Its `kid` (the header's, as imported).
        kid: String,
        /// Canonical private JWK (`crv`, `d`, `kty`, `x`, `y`; fields left-padded to 32 bytes).
        private: Secret<String>,
        /// Its public half.
        public: PublicKey,
    },
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Hs256 { kid, .. } => f
                .debug_struct("Hs256")
                .field("kid", kid)
                .finish_non_exhaustive(),
            Self::Rs256 { kid, .. } => f
                .debug_struct("Rs256")
                .field("kid", kid)
                .finish_non_exhaustive(),
            Self::Es256 { kid, .. } => f
                .debug_struct("Es256")
                .field("kid", kid)
                .finish_non_exhaustive(),
        }
    }
}

impl SigningKey {
    /// An ES256 key from a private JWK as `supabase gen signing-key --algorithm ES256` prints
    /// it (`kid` required; `x`, `y`, `d` of 31 bytes are left-padded).
    ///
    /// # Errors
    /// [`KeyError`] naming what is wrong (never the key material).
    pub fn from_private_jwk(json: &str) -> Result<Self, KeyError> {
        let value: Value = serde_json::from_str(json).map_err(|_| KeyError::NotJson)?;
        // `supabase gen signing-key` prints a JSON array with one key.
        let value = match value {
            Value::Array(mut keys) if keys.len() == 1 => keys.remove(0),
            v => v,
        };
        if value
            .get("alg")
            .and_then(Value::as_str)
            .is_some_and(|a| a != "ES256")
        {
            return Err(KeyError::NotP256Private);
        }
        let kid = value
            .get("kid")
            .and_then(Value::as_str)
            .filter(|k| !k.is_empty())
            .ok_or(KeyError::BadField)?
            .to_owned();
        let jwk: JsonWebKey<'_> =
            serde_json::from_value(value).map_err(|_| KeyError::NotP256Private)?;
        let JsonWebKey::EllipticCurve {
            curve,
            x,
            y,
            secret: Some(d),
        } = jwk
        else {
            return Err(KeyError::NotP256Private);
        };
        if curve != "P-256" {
            return Err(KeyError::NotP256Private);
        }
        let pad = |b: &[u8]| left_pad(b, 32).ok_or(KeyError::BadField);
        let (x, y) = (pad(&x)?, pad(&y)?);
        let d = zeroize::Zeroizing::new(pad(&d)?);
        let public = JsonWebKey::EllipticCurve {
            curve: Cow::Borrowed("P-256"),
            x: Cow::Borrowed(&x),
            y: Cow::Borrowed(&y),
            secret: None,
        };
        let private = format!(
            "{{\"crv\":\"P-256\",\"d\":\"{}\",\"kty\":\"EC\",\"x\":\"{}\",\"y\":\"{}\"}}",
            base64url_encode(&d),
            base64url_encode(&x),
            base64url_encode(&y)
        );
        Ok(Self::Es256 {
            public: PublicKey {
                kid: Some(kid.clone()),
                alg: SignatureAlg::Es256,
                jwk: public.to_string(),
                signature_len: 64,
            },
            kid,
            private: Secret::new(private),
        })
    }

    /// An RS256 key from a private JWK (`kty` `RSA`, `kid`, `n`, `e`, `d`, `p`, `q`, `dp`,
    /// `dq`, `qi`; a modulus of at least 2048 bits).
    ///
    /// # Errors
    /// [`KeyError`] naming what is wrong (never the key material).
    pub fn from_private_rsa_jwk(json: &str) -> Result<Self, KeyError> {
        let value: Value = serde_json::from_str(json).map_err(|_| KeyError::NotJson)?;
        let field = |name: &str| value.get(name).and_then(Value::as_str);
        if field("kty") != Some("RSA") || field("alg").is_some_and(|a| a != "RS256") {
            return Err(KeyError::NotRsaPrivate);
        }
        let kid = field("kid")
            .filter(|k| !k.is_empty())
            .ok_or(KeyError::BadField)?
            .to_owned();
        let mut parts = Vec::with_capacity(8);
        for name in ["d", "dp", "dq", "e", "n", "p", "q", "qi"] {
            let text = field(name).ok_or(KeyError::NotRsaPrivate)?;
            let bytes = portcullis_core::encoding::base64url_decode(text)
                .map_err(|_| KeyError::BadField)?;
            if bytes.is_empty() {
                return Err(KeyError::BadField);
            }
            parts.push((name, text, bytes.len()));
        }
        let get = |name: &str| {
            parts
                .iter()
                .find(|(n, _, _)| *n == name)
                .map_or(("", 0), |(_, t, l)| (*t, *l))
        };
        let (n, n_len) = get("n");
        if n_len < 256 {
            return Err(KeyError::WeakRsa);
        }
        let (e, _) = get("e");
        let private = format!(
            "{{\"d\":\"{}\",\"dp\":\"{}\",\"dq\":\"{}\",\"e\":\"{e}\",\"kty\":\"RSA\",\"n\":\"{n}\",\"p\":\"{}\",\"q\":\"{}\",\"qi\":\"{}\"}}",
            get("d").0,
            get("dp").0,
            get("dq").0,
            get("p").0,
            get("q").0,
            get("qi").0,
        );
        Ok(Self::Rs256 {
            public: PublicKey {
                kid: Some(kid.clone()),
                alg: SignatureAlg::Rs256,
                jwk: format!("{{\"e\":\"{e}\",\"kty\":\"RSA\",\"n\":\"{n}\"}}"),
                signature_len: n_len,
            },
            kid,
            private: Secret::new(private),
        })
    }

    /// The JWS `alg` of tokens this key signs.
    #[must_use]
    pub const fn alg(&self) -> &'static str {
        match self {
            Self::Hs256 { .. } => "HS256",
            Self::Rs256 { .. } => "RS256",
            Self::Es256 { .. } => "ES256",
        }
    }

    /// The public key, for verifying what this key signs (`None` for HS256).
    #[must_use]
    pub const fn public_key(&self) -> Option<&PublicKey> {
        match self {
            Self::Hs256 { .. } => None,
            Self::Rs256 { public, .. } | Self::Es256 { public, .. } => Some(public),
        }
    }

    /// The `kid` minted tokens carry.
    #[must_use]
    pub fn kid(&self) -> Option<&str> {
        match self {
            Self::Hs256 { kid, .. } => kid.as_deref(),
            Self::Rs256 { kid, .. } | Self::Es256 { kid, .. } => Some(kid),
        }
    }

    /// The public JWK with `kid` and `alg`, as the project's JWKS publishes it once imported
    /// (`None` for HS256).
    #[must_use]
    pub fn public_jwk(&self) -> Option<String> {
        match self {
            Self::Hs256 { .. } => None,
            Self::Rs256 { kid, public, .. } | Self::Es256 { kid, public, .. } => {
                let mut v: Value = serde_json::from_str(&public.jwk).ok()?;
                let o = v.as_object_mut()?;
                o.insert("kid".into(), Value::String(kid.clone()));
                o.insert("alg".into(), Value::String(self.alg().into()));
                o.insert("use".into(), Value::String("sig".into()));
                Some(v.to_string())
            }
        }
    }

    fn header(&self, typ: &str) -> String {
        let alg = self.alg();
        let typ = json_string(typ);
        match self.kid() {
            Some(kid) => format!(
                "{{\"alg\":\"{alg}\",\"kid\":{},\"typ\":{typ}}}",
                json_string(kid)
            ),
            None => format!("{{\"alg\":\"{alg}\",\"typ\":{typ}}}"),
        }
    }
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// Why a token could not be minted.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MintError {
    /// A raw JSON member (metadata, extra claims) is not valid JSON of the right kind.
    BadJson {
        /// Which claim.
        claim: &'static str,
    },
    /// The host could not sign.
    Crypto(CryptoError),
}

impl fmt::Display for MintError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadJson { claim } => write!(f, "`{claim}` is not a JSON object"),
            Self::Crypto(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for MintError {}

/// The claims of a user access token (spec §2), in Supabase's shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenClaims<'a> {
    /// `iss`: the project's auth URL.
    pub issuer: &'a str,
    /// `sub`: the user's id.
    pub sub: &'a str,
    /// `aud`.
    pub aud: &'a str,
    /// `role`.
    pub role: &'a str,
    /// `iat`.
    pub issued_at: UnixTime,
    /// `exp`.
    pub expires_at: UnixTime,
    /// `aal`.
    pub aal: &'a str,
    /// `amr`: one entry, `{method, timestamp}`.
    pub amr_method: &'a str,
    /// The `amr` entry's timestamp.
    pub amr_timestamp: UnixTime,
    /// `session_id` (the nil UUID for tokens without a GoTrue session).
    pub session_id: &'a str,
    /// `is_anonymous`.
    pub is_anonymous: bool,
    /// `email` (empty string when none, as GoTrue).
    pub email: &'a str,
    /// `phone` (empty string when none).
    pub phone: &'a str,
    /// `app_metadata`: raw JSON object text (from `auth.users`).
    pub app_metadata: &'a str,
    /// `user_metadata`: raw JSON object text.
    pub user_metadata: &'a str,
    /// Our own string claims (`client_id`, `scope`, `pat_id`), in order.
    pub extra: &'a [(&'a str, &'a str)],
}

fn object<'a>(raw: &'a str, claim: &'static str) -> Result<&'a str, MintError> {
    let raw = raw.trim();
    if raw.starts_with('{') && object_members(raw).is_ok() {
        Ok(raw)
    } else {
        Err(MintError::BadJson { claim })
    }
}

impl TokenClaims<'_> {
    /// The payload JSON. Times are integers.
    ///
    /// # Errors
    /// [`MintError::BadJson`] when a metadata member is not a JSON object.
    pub fn to_json(&self) -> Result<String, MintError> {
        let s = json_string;
        let mut out = String::with_capacity(512);
        out.push_str(&format!(
            "{{\"iss\":{},\"sub\":{},\"aud\":{},\"exp\":{},\"iat\":{},\"role\":{},\"aal\":{},\
             \"amr\":[{{\"method\":{},\"timestamp\":{}}}],\"session_id\":{},\"is_anonymous\":{},\
             \"email\":{},\"phone\":{},\"app_metadata\":{},\"user_metadata\":{}",
            s(self.issuer),
            s(self.sub),
            s(self.aud),
            self.expires_at.secs(),
            self.issued_at.secs(),
            s(self.role),
            s(self.aal),
            s(self.amr_method),
            self.amr_timestamp.secs(),
            s(self.session_id),
            self.is_anonymous,
            s(self.email),
            s(self.phone),
            object(self.app_metadata, "app_metadata")?,
            object(self.user_metadata, "user_metadata")?,
        ));
        for (name, value) in self.extra {
            out.push(',');
            out.push_str(&s(name));
            out.push(':');
            out.push_str(&s(value));
        }
        out.push('}');
        Ok(out)
    }
}

/// Signs `claims` with `key`: `header.payload.signature`, compact JWS.
///
/// # Errors
/// [`MintError`].
pub async fn mint(
    key: &SigningKey,
    claims: &TokenClaims<'_>,
    crypto: &dyn Crypto,
) -> Result<String, MintError> {
    sign_payload(key, &claims.to_json()?, crypto).await
}

/// Signs a payload that is already JSON (no check of its claims: for tests and tools).
///
/// # Errors
/// [`MintError::Crypto`].
pub async fn sign_payload(
    key: &SigningKey,
    payload: &str,
    crypto: &dyn Crypto,
) -> Result<String, MintError> {
    sign_typed(key, "JWT", payload, crypto).await
}

/// [`sign_payload`] with the header's `typ` given (`logout+jwt` for back-channel logout
/// tokens, so one can never pass as an id_token).
///
/// # Errors
/// [`MintError::Crypto`].
pub async fn sign_typed(
    key: &SigningKey,
    typ: &str,
    payload: &str,
    crypto: &dyn Crypto,
) -> Result<String, MintError> {
    let mut token = base64url_encode(key.header(typ).as_bytes());
    token.push('.');
    token.push_str(&base64url_encode(payload.as_bytes()));
    let signature = match key {
        SigningKey::Hs256 { key, .. } => key.sign(token.as_bytes()).to_vec(),
        SigningKey::Es256 { private, .. } => crypto
            .sign(SignatureAlg::Es256, private, token.as_bytes())
            .await
            .map_err(MintError::Crypto)?,
        SigningKey::Rs256 { private, .. } => crypto
            .sign(SignatureAlg::Rs256, private, token.as_bytes())
            .await
            .map_err(MintError::Crypto)?,
    };
    token.push('.');
    token.push_str(&base64url_encode(&signature));
    Ok(token)
}
