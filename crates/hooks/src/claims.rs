//! The access-token claims GoTrue will sign, and the schema it checks them against (spec §6,
//! GoTrue's `MinimumViableTokenSchema`). A hook answer that violates it fails the user's
//! sign-in with a 500, so we check before answering.

use std::fmt;

use serde_json::Value;

use portcullis_core::json::Object;

/// Claims GoTrue requires in the hook's answer.
pub const REQUIRED: [&str; 10] = [
    "aud",
    "exp",
    "iat",
    "sub",
    "email",
    "phone",
    "role",
    "aal",
    "session_id",
    "is_anonymous",
];

/// Claims with a meaning to GoTrue, PostgREST or Supabase's own services. A claims policy
/// cannot write them (the role only through an explicit role mapping).
pub const RESERVED: [&str; 18] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "role",
    "aal",
    "amr",
    "session_id",
    "is_anonymous",
    "email",
    "phone",
    "client_id",
    "scope",
    "app_metadata",
    "user_metadata",
];

/// Whether `name` is a reserved claim.
#[must_use]
pub fn is_reserved(name: &str) -> bool {
    RESERVED.contains(&name)
}

/// Whether `name` is required by GoTrue.
#[must_use]
pub fn is_required(name: &str) -> bool {
    REQUIRED.contains(&name)
}

/// Why a set of claims would be refused by GoTrue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaViolation {
    /// The claim at fault.
    pub claim: String,
    /// What is wrong with it.
    pub problem: Problem,
}

/// What is wrong with a claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// A required claim is absent.
    Missing,
    /// The claim has the wrong JSON type.
    WrongType {
        /// The JSON Schema type(s) GoTrue expects.
        expected: &'static str,
    },
}

impl fmt::Display for SchemaViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problem {
            Problem::Missing => write!(f, "required claim `{}` is missing", self.claim),
            Problem::WrongType { expected } => {
                write!(f, "claim `{}` must be {expected}", self.claim)
            }
        }
    }
}

impl std::error::Error for SchemaViolation {}

/// JSON Schema's `integer`: any number with no fractional part.
fn is_integer(v: &Value) -> bool {
    match v {
        Value::Number(n) => {
            n.is_i64()
                || n.is_u64()
                || n.as_f64()
                    .is_some_and(|f| f.is_finite() && f.fract() == 0.0)
        }
        _ => false,
    }
}

/// Checks `claims` against GoTrue's minimum-viable-token schema.
///
/// # Errors
/// The first [`SchemaViolation`] found (required claims first, in schema order).
pub fn check_gotrue_schema(claims: &Object) -> Result<(), SchemaViolation> {
    let violation = |claim: &str, problem| SchemaViolation {
        claim: claim.to_owned(),
        problem,
    };
    for name in REQUIRED {
        if !claims.contains_key(name) {
            return Err(violation(name, Problem::Missing));
        }
    }
    for (name, value) in claims {
        let ok_expected: Option<(bool, &'static str)> = match name.as_str() {
            "aud" => Some((
                matches!(value, Value::String(_) | Value::Array(_)),
                "a string or an array",
            )),
            "exp" | "iat" | "nbf" => Some((is_integer(value), "an integer")),
            "jti" | "iss" | "sub" | "email" | "phone" | "role" | "aal" | "session_id"
            | "client_id" => Some((value.is_string(), "a string")),
            "app_metadata" | "user_metadata" => Some((value.is_object(), "an object")),
            "amr" => Some((
                value
                    .as_array()
                    .is_some_and(|items| items.iter().all(|i| i.is_object() || i.is_string())),
                "an array of objects or strings",
            )),
            _ => None,
        };
        if let Some((false, expected)) = ok_expected {
            return Err(violation(name, Problem::WrongType { expected }));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid() -> Object {
        json!({
            "aud": "authenticated", "exp": 1_700_003_600, "iat": 1_700_000_000,
            "sub": "8c7e6b2a-0000-4000-8000-000000000001", "email": "", "phone": "",
            "role": "authenticated", "aal": "aal1",
            "session_id": "2f1c0000-0000-4000-8000-000000000002", "is_anonymous": false,
            "amr": [{"method": "password", "timestamp": 1_700_000_000}],
            "app_metadata": {}, "user_metadata": {}
        })
        .as_object()
        .cloned()
        .unwrap()
    }

    #[test]
    fn accepts_gotrue_output_and_array_audiences() {
        let mut c = valid();
        check_gotrue_schema(&c).unwrap();
        c.insert("aud".into(), json!(["authenticated", "api"]));
        c.insert("exp".into(), json!(1_700_003_600.0));
        c.insert("amr".into(), json!(["pwd"]));
        c.insert("custom".into(), json!({"any": ["thing"]}));
        check_gotrue_schema(&c).unwrap();
    }

    #[test]
    fn every_required_claim_is_required() {
        for name in REQUIRED {
            let mut c = valid();
            c.remove(name);
            assert_eq!(
                check_gotrue_schema(&c).unwrap_err(),
                SchemaViolation {
                    claim: name.into(),
                    problem: Problem::Missing
                }
            );
        }
    }

    #[test]
    fn wrong_types_are_named() {
        for (name, bad) in [
            ("aud", json!(1)),
            ("exp", json!(1.5)),
            ("iat", json!("1700000000")),
            ("nbf", json!(null)),
            ("role", json!(["authenticated"])),
            ("session_id", json!(7)),
            ("client_id", json!(false)),
            ("app_metadata", json!([])),
            ("user_metadata", json!("x")),
            ("amr", json!([1])),
            ("amr", json!({"method": "password"})),
        ] {
            let mut c = valid();
            c.insert(name.into(), bad);
            let err = check_gotrue_schema(&c).unwrap_err();
            assert_eq!(err.claim, name);
            assert!(matches!(err.problem, Problem::WrongType { .. }));
        }
    }
}
