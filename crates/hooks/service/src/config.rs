//! The hooks function's configuration, read once from the environment.

use portcullis_core::{ConfigError, Env};
use portcullis_hooks::HooksPolicy;
use portcullis_webhooks::SecretSet;

use crate::Hook;
use crate::providers::Providers;

/// Secrets for every hook: `v1,whsec_…`, `|`-separated for rotation.
pub const ENV_SECRETS: &str = "PORTCULLIS_HOOK_SECRETS";
/// The policy document (JSON or TOML).
pub const ENV_POLICY: &str = "PORTCULLIS_HOOKS_POLICY";
/// Largest request body accepted, in bytes.
pub const ENV_MAX_BODY: &str = "PORTCULLIS_MAX_BODY_BYTES";

const DEFAULT_MAX_BODY: usize = 256 * 1024;
const MAX_MAX_BODY: usize = 16 * 1024 * 1024;

/// Parsed configuration.
#[derive(Debug)]
pub struct HooksConfig {
    default_secrets: Option<SecretSet>,
    hook_secrets: Vec<(Hook, SecretSet)>,
    /// The compiled policies.
    pub policy: HooksPolicy,
    /// Body size limit.
    pub max_body_bytes: usize,
    /// Delivery providers the policy uses.
    pub providers: Providers,
}

fn secrets(env: &dyn Env, name: &str) -> Result<Option<SecretSet>, ConfigError> {
    env.var(name)
        .map(|text| SecretSet::parse(&text).map_err(|e| ConfigError::invalid(name, e.to_string())))
        .transpose()
}

impl HooksConfig {
    /// Reads `PORTCULLIS_HOOK_SECRETS`, `PORTCULLIS_HOOK_SECRETS_<HOOK>` (per-hook overrides,
    /// e.g. `PORTCULLIS_HOOK_SECRETS_CUSTOM_ACCESS_TOKEN`), `PORTCULLIS_HOOKS_POLICY` and
    /// `PORTCULLIS_MAX_BODY_BYTES`.
    ///
    /// # Errors
    /// [`ConfigError`] naming the variable; at least one secret variable must be set.
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let default_secrets = secrets(env, ENV_SECRETS)?;
        let mut hook_secrets = Vec::new();
        for hook in Hook::ALL {
            let name = format!("{ENV_SECRETS}_{}", hook.env_suffix());
            if let Some(set) = secrets(env, &name)? {
                hook_secrets.push((hook, set));
            }
        }
        if default_secrets.is_none() && hook_secrets.is_empty() {
            return Err(ConfigError::new(
                ENV_SECRETS,
                portcullis_core::ConfigProblem::Missing,
            ));
        }
        let policy = match env.var(ENV_POLICY) {
            None => HooksPolicy::default(),
            Some(text) => HooksPolicy::parse(&text, env)
                .map_err(|e| ConfigError::invalid(ENV_POLICY, e.to_string()))?,
        };
        let max_body_bytes =
            portcullis_core::parse_or(env, ENV_MAX_BODY, DEFAULT_MAX_BODY, "a byte count")?;
        if !(1024..=MAX_MAX_BODY).contains(&max_body_bytes) {
            return Err(ConfigError::invalid(
                ENV_MAX_BODY,
                format!("must be between 1024 and {MAX_MAX_BODY}"),
            ));
        }
        let providers = Providers::from_env(env, &policy)?;
        Ok(Self {
            default_secrets,
            hook_secrets,
            policy,
            max_body_bytes,
            providers,
        })
    }

    /// The secrets that verify `hook`: its own if set, else the default.
    #[must_use]
    pub fn secrets_for(&self, hook: Hook) -> Option<&SecretSet> {
        self.hook_secrets
            .iter()
            .find(|(h, _)| *h == hook)
            .map(|(_, s)| s)
            .or(self.default_secrets.as_ref())
    }
}
