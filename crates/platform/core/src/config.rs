//! Configuration from the environment, parsed once at start-up into typed values.
//!
//! Errors name the variable and describe the problem without echoing the value, so a bad
//! secret can be reported in logs without leaking it.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// What the host provides at start-up: configuration variables (`Deno.env`, a Worker's `env`,
/// a map in tests) and named data assets.
pub trait Env {
    /// The variable's value; `None` when unset. Blank values count as unset.
    fn var(&self, name: &str) -> Option<String>;

    /// A data asset shipped next to the Wasm module rather than inside it (large reference
    /// data such as blocklists, loaded only by configurations that use it). `None` when this
    /// host does not ship it.
    fn asset(&self, name: &str) -> Option<String> {
        let _ = name;
        None
    }

    /// The variable's value, or an error naming it when unset.
    ///
    /// # Errors
    /// [`ConfigError`] with [`ConfigProblem::Missing`].
    fn required(&self, name: &str) -> Result<String, ConfigError> {
        self.var(name)
            .ok_or_else(|| ConfigError::new(name, ConfigProblem::Missing))
    }
}

impl<F: Fn(&str) -> Option<String>> Env for F {
    fn var(&self, name: &str) -> Option<String> {
        self(name).filter(|v| !v.trim().is_empty())
    }
}

/// Parses an optional variable with [`FromStr`], falling back to `default` when unset.
///
/// # Errors
/// [`ConfigError`] with [`ConfigProblem::Invalid`] naming what was `expected`.
pub fn parse_or<T: FromStr>(
    env: &dyn Env,
    name: &str,
    default: T,
    expected: &str,
) -> Result<T, ConfigError> {
    match env.var(name) {
        None => Ok(default),
        Some(text) => text
            .trim()
            .parse()
            .map_err(|_| ConfigError::invalid(name, format!("expected {expected}"))),
    }
}

/// An in-memory [`Env`] for tests and tools.
#[derive(Clone, Debug, Default)]
pub struct MapEnv {
    vars: BTreeMap<String, String>,
    assets: BTreeMap<String, String>,
}

impl MapEnv {
    /// Builds an environment from pairs.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            assets: BTreeMap::new(),
        }
    }

    /// Sets one variable.
    pub fn set(&mut self, name: &str, value: impl Into<String>) -> &mut Self {
        self.vars.insert(name.to_owned(), value.into());
        self
    }

    /// Provides one asset.
    pub fn set_asset(&mut self, name: &str, content: impl Into<String>) -> &mut Self {
        self.assets.insert(name.to_owned(), content.into());
        self
    }
}

impl Env for MapEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.vars
            .get(name)
            .filter(|v| !v.trim().is_empty())
            .cloned()
    }

    fn asset(&self, name: &str) -> Option<String> {
        self.assets.get(name).cloned()
    }
}

/// A configuration variable is missing or malformed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The variable's name, e.g. `PORTCULLIS_HOOK_SECRETS`.
    pub var: String,
    /// What is wrong with it.
    pub problem: ConfigProblem,
}

/// What is wrong with a configuration variable.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigProblem {
    /// It is not set (or blank).
    Missing,
    /// It is set but unusable; `reason` describes the expected form, never the value.
    Invalid {
        /// Human-readable description of what was expected or where parsing stopped.
        reason: String,
    },
}

impl ConfigError {
    /// A problem with variable `var`.
    pub fn new(var: &str, problem: ConfigProblem) -> Self {
        Self {
            var: var.to_owned(),
            problem,
        }
    }

    /// Variable `var` is set but invalid for `reason` (which must not quote a secret value).
    pub fn invalid(var: &str, reason: impl Into<String>) -> Self {
        Self::new(
            var,
            ConfigProblem::Invalid {
                reason: reason.into(),
            },
        )
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.problem {
            ConfigProblem::Missing => write!(f, "{} is not set", self.var),
            ConfigProblem::Invalid { reason } => write!(f, "{} is invalid: {reason}", self.var),
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_counts_as_unset_and_errors_name_the_variable() {
        let env = MapEnv::from_pairs([("A", "  "), ("B", "12"), ("C", "x")]);
        assert_eq!(env.var("A"), None);
        let err = env.required("A").unwrap_err();
        assert_eq!(err.to_string(), "A is not set");
        assert_eq!(parse_or(&env, "B", 0u32, "an integer"), Ok(12));
        assert_eq!(parse_or(&env, "Z", 7u32, "an integer"), Ok(7));
        let err = parse_or(&env, "C", 0u32, "an integer").unwrap_err();
        assert_eq!(err.to_string(), "C is invalid: expected an integer");
    }

    #[test]
    fn closures_are_environments() {
        let env = |name: &str| (name == "X").then(|| "1".to_owned());
        assert_eq!(env.var("X").as_deref(), Some("1"));
        assert_eq!(env.var("Y"), None);
    }
}
