//! The Supabase project a function serves, read from the environment once: its URL, the issuer
//! its tokens carry, its legacy HS256 secret and the [`Verifier`] of its users' tokens. The same
//! variables for `pat`, `sign` and `sso`.

use portcullis_core::{ConfigError, Env, check_base_url};

use crate::{
    Expectations, HmacKey, JwksConfig, KeySet, KeySource, MIN_HMAC_SECRET_BYTES, SigningKey,
    Verifier,
};

/// The project's URL (`https://<ref>.supabase.co`); set by the Edge Runtime.
pub const ENV_SUPABASE_URL: &str = "SUPABASE_URL";
/// The project's JWKS as JSON (set by `supabase functions serve`); fetched from the project
/// when unset.
pub const ENV_SUPABASE_JWKS: &str = "SUPABASE_JWKS";
/// The issuer tokens carry, when it is not `{SUPABASE_URL}/auth/v1` (local stacks).
pub const ENV_ISSUER: &str = "PORTCULLIS_JWT_ISSUER";
/// The project's legacy HS256 secret (`SUPABASE_JWT_SECRET` is read when this is unset).
pub const ENV_JWT_SECRET: &str = "PORTCULLIS_JWT_SECRET";

/// The key id of the legacy secret, if the project has one (minted HS256 tokens carry it).
pub const ENV_JWT_KID: &str = "PORTCULLIS_JWT_KID";

/// The key a function mints the project's tokens with: the ES256 private JWK in `var` (as
/// `supabase gen signing-key` prints it, imported into the project), else the legacy secret
/// (`hmac`) with `PORTCULLIS_JWT_KID` as its `kid` when set.
///
/// # Errors
/// [`ConfigError`] naming `var` when its key is malformed, or when there is neither.
pub fn minting_key(
    env: &dyn Env,
    var: &str,
    hmac: Option<HmacKey>,
) -> Result<SigningKey, ConfigError> {
    match env.var(var) {
        Some(jwk) => {
            SigningKey::from_private_jwk(&jwk).map_err(|e| ConfigError::invalid(var, e.to_string()))
        }
        None => match hmac {
            Some(key) => Ok(SigningKey::Hs256 {
                key,
                kid: env.var(ENV_JWT_KID),
            }),
            None => Err(ConfigError::invalid(
                var,
                format!(
                    "tokens are signed with an ES256 key imported into the project (set {var}) or the legacy secret (set {ENV_JWT_SECRET})"
                ),
            )),
        },
    }
}

/// A project, as its functions see it.
#[derive(Debug)]
pub struct Project {
    /// The project URL (no trailing slash).
    pub url: String,
    /// The legacy HS256 secret, when configured.
    pub secret: Option<HmacKey>,
    /// Verifies users' tokens (`aud` `authenticated`).
    pub verifier: Verifier,
}

/// A secret variable's bytes, refused when shorter than 32 bytes (unset: `None`).
///
/// # Errors
/// [`ConfigError`] naming `name` (never the value).
pub fn secret(env: &dyn Env, name: &str) -> Result<Option<Vec<u8>>, ConfigError> {
    match env.var(name) {
        None => Ok(None),
        Some(v) if v.len() < MIN_HMAC_SECRET_BYTES => Err(ConfigError::invalid(
            name,
            format!("must be at least {MIN_HMAC_SECRET_BYTES} bytes"),
        )),
        Some(v) => Ok(Some(v.into_bytes())),
    }
}

impl Project {
    /// Reads the project from `SUPABASE_URL`, `SUPABASE_JWKS`, `PORTCULLIS_JWT_ISSUER` and
    /// `PORTCULLIS_JWT_SECRET` (or `SUPABASE_JWT_SECRET`).
    ///
    /// # Errors
    /// [`ConfigError`] naming the variable at fault (never its value).
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let url = env.required(ENV_SUPABASE_URL)?;
        let url = url.trim_end_matches('/').to_owned();
        check_base_url(&url).map_err(|e| ConfigError::invalid(ENV_SUPABASE_URL, e.to_string()))?;
        let issuer = env
            .var(ENV_ISSUER)
            .unwrap_or_else(|| format!("{url}/auth/v1"));
        let jwt_secret = match secret(env, ENV_JWT_SECRET)? {
            Some(s) => Some(s),
            None => secret(env, "SUPABASE_JWT_SECRET")?,
        };
        let hmac = jwt_secret
            .map(HmacKey::new)
            .transpose()
            .map_err(|e| ConfigError::invalid(ENV_JWT_SECRET, e.to_string()))?;
        let source = match env.var(ENV_SUPABASE_JWKS) {
            Some(json) => {
                let (set, _) = KeySet::from_jwks(&json, true)
                    .map_err(|e| ConfigError::invalid(ENV_SUPABASE_JWKS, e.to_string()))?;
                let set = set.with_hmac(hmac.clone());
                if set.is_empty() {
                    return Err(ConfigError::invalid(
                        ENV_SUPABASE_JWKS,
                        "holds no usable key (ES256, RS256, EdDSA or an oct secret)",
                    ));
                }
                KeySource::Static(set)
            }
            None => KeySource::Remote(
                JwksConfig {
                    url: format!("{url}/auth/v1/.well-known/jwks.json"),
                    timeout_ms: 3000,
                },
                hmac.clone(),
            ),
        };
        let verifier = Verifier::new(
            source,
            Expectations::new(issuer, Some("authenticated".to_owned())),
        );
        Ok(Self {
            url,
            secret: hmac,
            verifier,
        })
    }
}
