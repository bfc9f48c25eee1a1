//! The access-token claims GoTrue will sign, and the schema it checks them against (spec §6,
//! GoTrue's `MinimumViableTokenSchema`). A hook answer that violates it fails the user's
//! sign-in with a 500, so we check before answering.
//!
//! [`Claims`] keeps each top-level claim as the raw JSON text GoTrue sent until a policy needs
//! its value: most claims pass through untouched, and re-building, cloning, re-serialising and
//! freeing value trees for them was most of the hook's work (see BENCHMARKS.md).

use std::borrow::Cow;
use std::fmt;

use portcullis_core::json::Object;
use portcullis_core::json::scan::{Member, ScanError, array_items, object_members, parse_raw};
use serde_json::Value;

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

/// The JSON type of a claim, as the schema distinguishes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    String,
    Integer,
    Number,
    Object,
    Array,
    Other,
}

fn kind_of_value(v: &Value) -> Kind {
    match v {
        Value::String(_) => Kind::String,
        Value::Number(_) if is_integer(v) => Kind::Integer,
        Value::Number(_) => Kind::Number,
        Value::Object(_) => Kind::Object,
        Value::Array(_) => Kind::Array,
        Value::Bool(_) | Value::Null => Kind::Other,
    }
}

/// The kind of raw JSON text (already validated by the scanner) from its first byte.
fn kind_of_raw(raw: &str) -> Kind {
    let text = raw.trim_start();
    match text.as_bytes().first() {
        Some(b'"') => Kind::String,
        Some(b'{') => Kind::Object,
        Some(b'[') => Kind::Array,
        Some(b'-' | b'0'..=b'9') => {
            if text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) {
                // 1.0 and 1e3 are integers to JSON Schema.
                match serde_json::from_str::<Value>(text) {
                    Ok(v) if is_integer(&v) => Kind::Integer,
                    _ => Kind::Number,
                }
            } else {
                Kind::Integer
            }
        }
        _ => Kind::Other,
    }
}

fn check_one(name: &str, kind: Kind, amr_ok: impl FnOnce() -> bool) -> Result<(), SchemaViolation> {
    let ok_expected: Option<(bool, &'static str)> = match name {
        "aud" => Some((
            matches!(kind, Kind::String | Kind::Array),
            "a string or an array",
        )),
        "exp" | "iat" | "nbf" => Some((kind == Kind::Integer, "an integer")),
        "jti" | "iss" | "sub" | "email" | "phone" | "role" | "aal" | "session_id" | "client_id" => {
            Some((kind == Kind::String, "a string"))
        }
        "app_metadata" | "user_metadata" => Some((kind == Kind::Object, "an object")),
        "amr" => Some((
            kind == Kind::Array && amr_ok(),
            "an array of objects or strings",
        )),
        _ => None,
    };
    match ok_expected {
        Some((false, expected)) => Err(SchemaViolation {
            claim: name.to_owned(),
            problem: Problem::WrongType { expected },
        }),
        _ => Ok(()),
    }
}

fn amr_items_ok(v: &Value) -> bool {
    v.as_array()
        .is_some_and(|items| items.iter().all(|i| i.is_object() || i.is_string()))
}

fn check_required(has: impl Fn(&str) -> bool) -> Result<(), SchemaViolation> {
    match REQUIRED.into_iter().find(|name| !has(name)) {
        Some(name) => Err(SchemaViolation {
            claim: name.to_owned(),
            problem: Problem::Missing,
        }),
        None => Ok(()),
    }
}

/// Checks `claims` against GoTrue's minimum-viable-token schema.
///
/// # Errors
/// The first [`SchemaViolation`] found (required claims first, in schema order).
pub fn check_gotrue_schema(claims: &Object) -> Result<(), SchemaViolation> {
    check_required(|name| claims.contains_key(name))?;
    for (name, value) in claims {
        check_one(name, kind_of_value(value), || amr_items_ok(value))?;
    }
    Ok(())
}

/// One top-level claim: the raw text received, or a value a policy produced.
#[derive(Clone, Debug)]
enum Claim<'a> {
    /// Untouched: the request's own text.
    Raw(&'a str),
    /// Parsed (read or written by the policy).
    Value(Value),
    /// An object the policy reads or edits by path (`app_metadata.org_id`): split into its
    /// members, each raw until touched, so the rest of it is copied through verbatim.
    Object(Claims<'a>),
}

impl Claim<'_> {
    fn kind(&self) -> Kind {
        match self {
            Self::Raw(raw) => kind_of_raw(raw),
            Self::Value(v) => kind_of_value(v),
            Self::Object(_) => Kind::Object,
        }
    }
}

/// The claims of an access token, parsed lazily: each top-level claim stays a slice of the
/// request body until a policy reads or changes it; untouched claims are written back
/// verbatim. Order is kept (new claims are appended).
#[derive(Clone, Debug, Default)]
pub struct Claims<'a>(Vec<(Cow<'a, str>, Claim<'a>)>);

impl<'a> Claims<'a> {
    /// Validates a JSON object and splits it into top-level claims without parsing values.
    /// A repeated name keeps its last value, as JSON parsers do.
    ///
    /// # Errors
    /// When the text is not a valid JSON object.
    pub fn from_json(text: &'a str) -> Result<Self, ScanError> {
        object_members(text).map(Self::from_members)
    }

    /// Claims from members the scanner already split (and validated). A repeated name keeps
    /// its last value; names are compared only when a small filter says they may repeat (JSON
    /// objects rarely repeat a key, and a search per member would be quadratic).
    #[must_use]
    pub fn from_members(members: Vec<Member<'a>>) -> Self {
        let mut claims = Self(Vec::with_capacity(members.len() + 4));
        let mut seen = [0u64; 4];
        for (name, raw) in members {
            let h = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            }) & 0xff;
            let (word, bit) = ((h >> 6) as usize, 1u64 << (h & 63));
            let maybe_seen = seen.get(word).is_some_and(|w| w & bit != 0);
            if let Some(w) = seen.get_mut(word) {
                *w |= bit;
            }
            if maybe_seen {
                claims.set(name, Claim::Raw(raw));
            } else {
                claims.0.push((name, Claim::Raw(raw)));
            }
        }
        claims
    }

    /// Claims from parsed values.
    #[must_use]
    pub fn from_object(object: Object) -> Self {
        Self(
            object
                .into_iter()
                .map(|(k, v)| (Cow::Owned(k), Claim::Value(v)))
                .collect(),
        )
    }

    /// Owned claims, independent of the request body.
    #[must_use]
    pub fn into_owned(self) -> Claims<'static> {
        Claims::from_object(self.to_object())
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.0.iter().position(|(k, _)| k == name)
    }

    fn set(&mut self, name: Cow<'a, str>, claim: Claim<'a>) {
        match self.position(&name) {
            Some(i) => {
                if let Some(slot) = self.0.get_mut(i) {
                    slot.1 = claim;
                }
            }
            None => self.0.push((name, claim)),
        }
    }

    /// Whether `name` is present.
    #[must_use]
    pub fn contains(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// The value of `name`, parsed on first use. (A raw claim always parses: the scanner
    /// validated it.)
    pub fn value(&mut self, name: &str) -> Option<&Value> {
        self.value_mut(name).map(|v| &*v)
    }

    /// The value of `name` for in-place changes, parsed on first use.
    pub fn value_mut(&mut self, name: &str) -> Option<&mut Value> {
        let i = self.position(name)?;
        let (_, claim) = self.0.get_mut(i)?;
        match claim {
            Claim::Raw(raw) => *claim = Claim::Value(parse_raw(raw)?),
            Claim::Object(o) => *claim = Claim::Value(Value::Object(o.to_object())),
            Claim::Value(_) => {}
        }
        match claim {
            Claim::Value(v) => Some(v),
            Claim::Raw(_) | Claim::Object(_) => None,
        }
    }

    /// The object claim `name`, split into members for reads and edits by key (`None` when
    /// absent or not an object). Its untouched members stay raw.
    pub fn object_mut(&mut self, name: &str) -> Option<&mut Claims<'a>> {
        let i = self.position(name)?;
        let (_, claim) = self.0.get_mut(i)?;
        match claim {
            Claim::Raw(raw) if raw.trim_start().starts_with('{') => {
                // Validated when the request was scanned.
                *claim = Claim::Object(Claims::from_json(raw).ok()?);
            }
            Claim::Value(Value::Object(o)) => {
                *claim = Claim::Object(Claims::from_object(std::mem::take(o)));
            }
            _ => {}
        }
        match claim {
            Claim::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The value at `keys` inside nested objects (`["billing", "plan"]`), parsed on first use;
    /// `None` when absent.
    pub fn path(&mut self, keys: &[String]) -> Option<&Value> {
        let (last, init) = keys.split_last()?;
        let mut cur = self;
        for key in init {
            cur = cur.object_mut(key)?;
        }
        cur.value(last)
    }

    /// Removes the value at `keys` inside nested objects; whether anything was there.
    pub fn remove_path(&mut self, keys: &[String]) -> bool {
        let Some((last, init)) = keys.split_last() else {
            return false;
        };
        let mut cur = self;
        for key in init {
            match cur.object_mut(key) {
                Some(next) => cur = next,
                None => return false,
            }
        }
        cur.remove(last)
    }

    /// Sets a claim.
    pub fn insert(&mut self, name: String, value: Value) {
        self.set(Cow::Owned(name), Claim::Value(value));
    }

    /// Removes a claim; whether it was present.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.0.len();
        self.0.retain(|(k, _)| k != name);
        self.0.len() != before
    }

    /// The claim names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_ref())
    }

    /// Checks the claims against GoTrue's minimum-viable-token schema.
    ///
    /// # Errors
    /// The first [`SchemaViolation`] found (required claims first).
    pub fn check_gotrue_schema(&mut self) -> Result<(), SchemaViolation> {
        // One pass marks the required claims present.
        let mut present = 0u16;
        for (name, _) in &self.0 {
            if let Some(i) = REQUIRED.iter().position(|r| *r == name.as_ref()) {
                present |= 1 << i;
            }
        }
        check_required(|name| {
            REQUIRED
                .iter()
                .position(|r| *r == name)
                .is_some_and(|i| present & (1 << i) != 0)
        })?;
        let amr_ok = match self.position("amr").and_then(|i| self.0.get(i)) {
            None => true,
            // Raw: the items' first bytes tell objects and strings apart, nothing is parsed.
            Some((_, Claim::Raw(raw))) => array_items(raw).is_some_and(|items| {
                items
                    .iter()
                    .all(|i| i.starts_with('{') || i.starts_with('"'))
            }),
            Some((_, Claim::Value(v))) => amr_items_ok(v),
            Some((_, Claim::Object(_))) => false,
        };
        for (name, claim) in &self.0 {
            check_one(name, claim.kind(), || amr_ok)?;
        }
        Ok(())
    }

    /// Appends the claims as a JSON object to `out`: raw claims verbatim, the others
    /// serialised.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        for (i, (name, claim)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_key(out, name);
            out.push(b':');
            match claim {
                Claim::Raw(raw) => out.extend_from_slice(raw.as_bytes()),
                // Writing JSON into a Vec cannot fail.
                Claim::Value(v) => {
                    let _ = serde_json::to_writer(&mut *out, v);
                }
                Claim::Object(o) => o.write_json(out),
            }
        }
        out.push(b'}');
    }

    /// The size of the claims as JSON, in bytes.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        let mut out = Vec::with_capacity(2048);
        self.write_json(&mut out);
        out.len()
    }

    /// Every claim as a parsed value (tests and tools).
    #[must_use]
    pub fn to_object(&self) -> Object {
        // Inserts one by one: `collect()` into the map would sort and bulk-build, ~4 KiB more
        // Wasm for no gain at these sizes.
        let mut out = Object::new();
        for (k, c) in &self.0 {
            let v = match c {
                Claim::Raw(raw) => match serde_json::from_str(raw) {
                    Ok(v) => v,
                    Err(_) => continue,
                },
                Claim::Value(v) => v.clone(),
                Claim::Object(o) => Value::Object(o.to_object()),
            };
            out.insert(k.to_string(), v);
        }
        out
    }
}

/// A claim name as a JSON string: as it is when it needs no escapes (the common case), else
/// through serde_json.
fn write_key(out: &mut Vec<u8>, name: &str) {
    if name.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(name.as_bytes());
        out.push(b'"');
    } else {
        let _ = serde_json::to_writer(&mut *out, name);
    }
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
    fn a_repeated_claim_keeps_its_last_value_whatever_the_filter_says() {
        // 300 distinct names (the 256-bit filter must collide) and three repeats.
        let mut text = String::from("{");
        for i in 0..300 {
            text.push_str(&format!("\"c{i}\":{i},"));
        }
        text.push_str("\"c7\":\"x\",\"c299\":null,\"c0\":[0]}");
        let claims = Claims::from_json(&text).unwrap();
        assert_eq!(claims.names().count(), 300);
        let o = claims.to_object();
        assert_eq!(
            (o["c7"].clone(), o["c299"].clone(), o["c0"].clone()),
            (json!("x"), json!(null), json!([0]))
        );
        assert_eq!(o["c8"], json!(8));
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
    fn raw_claims_pass_through_verbatim_and_check_like_values() {
        let text = r#"{"aud":["a","b"],"exp":1700003600,"iat":1.7e9,"sub":"u","email":"","phone":"","role":"r","aal":"aal1","session_id":"s","is_anonymous":false,"user_metadata":{"bio":"<b>\u0026</b>","n":1.50}}"#;
        let mut c = Claims::from_json(text).unwrap();
        c.check_gotrue_schema().unwrap();
        let mut bytes = Vec::new();
        c.write_json(&mut bytes);
        let out = String::from_utf8(bytes).unwrap();
        assert!(
            out.contains(r#""user_metadata":{"bio":"<b>\u0026</b>","n":1.50}"#),
            "{out}"
        );
        assert_eq!(c.encoded_len(), out.len());
        assert_eq!(
            serde_json::from_str::<Value>(&out).unwrap(),
            serde_json::from_str::<Value>(text).unwrap()
        );
        for (name, bad) in [
            ("exp", "1.5"),
            ("iat", "\"1\""),
            ("aud", "1"),
            ("amr", "[1]"),
            ("app_metadata", "[]"),
            ("role", "null"),
        ] {
            let mut doc: Object = serde_json::from_str(text).unwrap();
            doc.insert(name.to_owned(), serde_json::from_str(bad).unwrap());
            let doc = serde_json::to_string(&doc).unwrap();
            let mut c = Claims::from_json(&doc).unwrap();
            let err = c.check_gotrue_schema().unwrap_err();
            assert_eq!(err.claim, name, "{bad}");
        }
        let mut c = Claims::from_json(text).unwrap();
        c.remove("session_id");
        assert_eq!(
            c.check_gotrue_schema().unwrap_err().problem,
            Problem::Missing
        );
        assert!(Claims::from_json("[1]").is_err());
    }

    #[test]
    fn values_are_parsed_on_first_use() {
        let mut c = Claims::from_json(
            r#"{"app_metadata":{"role":"admin","providers":["email"]},"n":1,"n":2}"#,
        )
        .unwrap();
        assert_eq!(c.value("app_metadata").unwrap()["role"], "admin");
        c.value_mut("app_metadata")
            .unwrap()
            .as_object_mut()
            .unwrap()
            .remove("providers");
        c.insert("x\"y".into(), Value::Bool(true));
        let mut out = Vec::new();
        c.write_json(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"app_metadata":{"role":"admin"},"n":2,"x\"y":true}"#
        );
        assert!(c.value("missing").is_none());
        assert!(c.remove("n") && !c.remove("n"));
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
