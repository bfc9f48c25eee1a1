//! The hooks policy document: JSON or TOML, in one environment variable or secret.
//!
//! Unknown keys are errors (a misspelt rule must not silently do nothing), and every error
//! names the key path at fault.

use std::fmt;

use serde::Deserialize;

use crate::access_token::{AccessTokenDoc, AccessTokenPolicy};
use crate::signup::{SignupDoc, SignupPolicy};

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct PolicyDoc {
    access_token: AccessTokenDoc,
    before_user_created: SignupDoc,
}

/// The compiled policies of every hook.
#[derive(Clone, Debug)]
pub struct HooksPolicy {
    /// Custom access token.
    pub access_token: AccessTokenPolicy,
    /// Before user created.
    pub before_user_created: SignupPolicy,
}

impl Default for HooksPolicy {
    /// Claims pass through unchanged; everyone may sign up.
    fn default() -> Self {
        Self {
            access_token: AccessTokenPolicy::default(),
            before_user_created: SignupPolicy::allow_all(),
        }
    }
}

impl HooksPolicy {
    /// Parses and compiles a policy document. JSON when the first non-blank character is
    /// `{`, TOML otherwise.
    ///
    /// # Errors
    /// [`PolicyError`] naming the key path (empty for syntax errors) and the problem.
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let doc: PolicyDoc = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| PolicyError::new("", format!("JSON: {e}")))?
        } else {
            basic_toml::from_str(text).map_err(|e| PolicyError::new("", format!("TOML: {e}")))?
        };
        Ok(Self {
            access_token: AccessTokenPolicy::compile(doc.access_token)?,
            before_user_created: SignupPolicy::compile(doc.before_user_created)?,
        })
    }
}

/// A policy document is invalid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    /// Dotted key path, e.g. `access_token.role.map.admin`; empty for syntax errors.
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

impl PolicyError {
    pub(crate) fn new(path: &str, reason: impl Into<String>) -> Self {
        Self {
            path: path.to_owned(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "{}: {}", self.path, self.reason)
        }
    }
}

impl std::error::Error for PolicyError {}
