//! The pat function's configuration, read once from the environment.

use portcullis_core::{ConfigError, Env, Secret, check_base_url, parse_or};
use portcullis_jwt::project::{Project, minting_key, secret};
use portcullis_jwt::{SigningKey, Verifier};
use portcullis_pat::policy::Policy;
use portcullis_pat::token::{Hasher, Prefix};
use portcullis_service::cors::Cors;

pub use portcullis_jwt::project::{
    ENV_ISSUER, ENV_JWT_KID, ENV_JWT_SECRET, ENV_SUPABASE_JWKS, ENV_SUPABASE_URL,
};
/// The ES256 private JWK the exchange signs with (`supabase gen signing-key`), imported into
/// the project as a signing key. Without it, exchanged tokens are signed with the HS256 secret.
pub const ENV_SIGNING_KEY: &str = "PORTCULLIS_PAT_SIGNING_KEY";
/// The token prefix (default `pat`).
pub const ENV_PREFIX: &str = "PORTCULLIS_PAT_PREFIX";
/// A server-side pepper: tokens are stored as HMAC-SHA-256 under it instead of SHA-256.
pub const ENV_PEPPER: &str = "PORTCULLIS_PAT_PEPPER";
/// The policy (JSON; see `portcullis_pat::policy`).
pub const ENV_POLICY: &str = "PORTCULLIS_PAT_POLICY";
/// The secret backends present to `/introspect` (`Authorization: Bearer …`); unset disables it.
pub const ENV_INTROSPECTION_SECRET: &str = "PORTCULLIS_PAT_INTROSPECTION_SECRET";
/// The client-address header (unset: tokens with an IP allow-list cannot be created or used).
pub use portcullis_service::client_ip::{CLIENT_IP_HEADERS, ENV_CLIENT_IP_HEADER};
/// Origins allowed to call the management API from a browser (comma-separated).
pub use portcullis_service::cors::ENV_CORS_ORIGINS;
/// Largest request body (default 256 KiB: GitHub's reports come in batches).
pub const ENV_MAX_BODY: &str = "PORTCULLIS_MAX_BODY_BYTES";

/// Where GitHub's secret-scanning public keys are fetched (default GitHub's own).
pub const ENV_GITHUB_KEYS_URL: &str = "PORTCULLIS_GITHUB_KEYS_URL";
/// Where deps.dev's secret-scanning keys are fetched; unset: deps.dev reports
/// (`GOSST-PUBLIC-KEY-*` headers) are not accepted.
pub const ENV_DEPSDEV_KEYS_URL: &str = "PORTCULLIS_DEPSDEV_KEYS_URL";
/// GitHub's key list.
pub const GITHUB_KEYS_URL: &str = "https://api.github.com/meta/public_keys/secret_scanning";

/// Everything the function needs, parsed and checked.
#[derive(Debug)]
pub struct PatConfig {
    /// Verifies users' JWTs.
    pub verifier: Verifier,
    /// Signs exchanged tokens.
    pub signing: SigningKey,
    /// The project URL (no trailing slash).
    pub project_url: String,
    /// The deployment's token prefix.
    pub prefix: Prefix,
    /// How tokens are hashed.
    pub hasher: Hasher,
    /// What is allowed.
    pub policy: Policy,
    /// The introspection secret.
    pub introspection: Option<Secret<Vec<u8>>>,
    /// Browser origins allowed.
    pub cors: Cors,
    /// Where the client address is read (one of [`CLIENT_IP_HEADERS`]); `None`: nowhere.
    pub client_ip_header: Option<&'static str>,
    /// Body limit.
    pub max_body_bytes: usize,
    /// GitHub's secret-scanning keys.
    pub github_keys_url: String,
    /// deps.dev's, when its reports are accepted.
    pub depsdev_keys_url: Option<String>,
}

impl PatConfig {
    /// Reads the configuration.
    ///
    /// # Errors
    /// [`ConfigError`] naming the variable at fault (never its value).
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let Project {
            url: project_url,
            secret: hmac,
            verifier,
        } = Project::from_env(env)?;
        let signing = minting_key(env, ENV_SIGNING_KEY, hmac)?;
        let prefix = Prefix::new(&env.var(ENV_PREFIX).unwrap_or_else(|| "pat".into()))
            .map_err(|e| ConfigError::invalid(ENV_PREFIX, e.to_string()))?;
        let policy = match env.var(ENV_POLICY) {
            None => Policy::default(),
            Some(json) => Policy::from_json(&json)
                .map_err(|e| ConfigError::invalid(ENV_POLICY, e.to_string()))?,
        };
        let client_ip_header = portcullis_service::client_ip::header_from_env(env)?;
        let cors = Cors::from_env(env, ENV_CORS_ORIGINS, "GET, POST, DELETE, OPTIONS")?;
        let max_body_bytes: usize = parse_or(env, ENV_MAX_BODY, 256 * 1024, "a number of bytes")?;
        if !(1024..=16 * 1024 * 1024).contains(&max_body_bytes) {
            return Err(ConfigError::invalid(
                ENV_MAX_BODY,
                "between 1024 and 16777216",
            ));
        }
        let github_keys_url = env
            .var(ENV_GITHUB_KEYS_URL)
            .unwrap_or_else(|| GITHUB_KEYS_URL.to_owned());
        check_base_url(&github_keys_url)
            .map_err(|e| ConfigError::invalid(ENV_GITHUB_KEYS_URL, e.to_string()))?;
        let depsdev_keys_url = env.var(ENV_DEPSDEV_KEYS_URL);
        if let Some(url) = &depsdev_keys_url {
            check_base_url(url)
                .map_err(|e| ConfigError::invalid(ENV_DEPSDEV_KEYS_URL, e.to_string()))?;
        }
        Ok(Self {
            github_keys_url,
            depsdev_keys_url,
            verifier,
            signing,
            project_url,
            prefix,
            hasher: Hasher::new(secret(env, ENV_PEPPER)?),
            policy,
            introspection: secret(env, ENV_INTROSPECTION_SECRET)?.map(Secret::new),
            cors,
            client_ip_header,
            max_body_bytes,
        })
    }
}
