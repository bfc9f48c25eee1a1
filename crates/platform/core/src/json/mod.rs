//! Reading JSON documents without per-type deserialisers.
//!
//! Every document (hook payloads, policy files) is parsed once into a [`Value`] and read
//! through one of two readers:
//! - [`Strict`], for configuration: wrong types and unknown keys are errors that name the
//!   key path (`access_token.role.map.admin`), so a misspelt rule cannot silently do nothing;
//! - the tolerant accessors ([`text`], [`flag`], [`object`]), for payloads from services that
//!   add fields over time and send `null` for "empty".
//!
//! One generic reader instead of a derived deserialiser per type keeps each Wasm module
//! small: the derive approach costs several KiB per struct per input format.

pub mod scan;

use std::fmt;

pub use serde_json::{Map, Value};

/// A JSON object.
pub type Object = Map<String, Value>;

/// A document does not have the expected shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    /// Dotted key path, e.g. `access_token.copy.org_id` (`[i]` for array items).
    pub path: String,
    /// What is wrong.
    pub problem: String,
}

impl JsonError {
    /// An error at `path`.
    pub fn new(path: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            problem: problem.into(),
        }
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.problem)
        } else {
            write!(f, "{}: {}", self.path, self.problem)
        }
    }
}

impl std::error::Error for JsonError {}

/// `parent.key`, or `key` at the top level.
#[must_use]
pub fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// A strict reader over one configuration object.
#[derive(Debug)]
pub struct Strict<'a> {
    object: &'a Object,
    path: String,
    read: Vec<&'a str>,
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl<'a> Strict<'a> {
    /// Reads `value` (at `path`) as an object.
    ///
    /// # Errors
    /// When it is not an object.
    pub fn new(value: &'a Value, path: &str) -> Result<Self, JsonError> {
        match value {
            Value::Object(object) => Ok(Self {
                object,
                path: path.to_owned(),
                read: Vec::new(),
            }),
            other => Err(JsonError::new(
                path,
                format!("expected a table/object, found {}", kind(other)),
            )),
        }
    }

    /// The path of `key` in this object.
    #[must_use]
    pub fn path_of(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// This object's path.
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The raw value of `key` (marked as read), if present and not `null`.
    pub fn value(&mut self, key: &'a str) -> Option<&'a Value> {
        self.read.push(key);
        self.object.get(key).filter(|v| !v.is_null())
    }

    fn typed<T>(
        &mut self,
        key: &'a str,
        expected: &str,
        get: impl FnOnce(&'a Value) -> Option<T>,
    ) -> Result<Option<T>, JsonError> {
        match self.value(key) {
            None => Ok(None),
            Some(v) => get(v).map(Some).ok_or_else(|| {
                JsonError::new(
                    self.path_of(key),
                    format!("expected {expected}, found {}", kind(v)),
                )
            }),
        }
    }

    /// An optional string.
    ///
    /// # Errors
    /// When present with another type.
    pub fn str(&mut self, key: &'a str) -> Result<Option<&'a str>, JsonError> {
        self.typed(key, "a string", Value::as_str)
    }

    /// An optional boolean.
    ///
    /// # Errors
    /// When present with another type.
    pub fn bool(&mut self, key: &'a str) -> Result<Option<bool>, JsonError> {
        self.typed(key, "true or false", Value::as_bool)
    }

    /// An optional non-negative integer.
    ///
    /// # Errors
    /// When present with another type.
    pub fn u64(&mut self, key: &'a str) -> Result<Option<u64>, JsonError> {
        self.typed(key, "a non-negative integer", Value::as_u64)
    }

    /// An optional object, read strictly.
    ///
    /// # Errors
    /// When present with another type.
    pub fn object(&mut self, key: &'a str) -> Result<Option<Strict<'a>>, JsonError> {
        let path = self.path_of(key);
        self.value(key).map(|v| Strict::new(v, &path)).transpose()
    }

    /// An optional object whose content is free-form (e.g. claim values).
    ///
    /// # Errors
    /// When present with another type.
    pub fn free_object(&mut self, key: &'a str) -> Result<Option<&'a Object>, JsonError> {
        self.typed(key, "a table/object", Value::as_object)
    }

    /// An optional array.
    ///
    /// # Errors
    /// When present with another type.
    pub fn array(&mut self, key: &'a str) -> Result<&'a [Value], JsonError> {
        Ok(self
            .typed(key, "an array", Value::as_array)?
            .map_or(&[], Vec::as_slice))
    }

    /// An optional array of strings (absent: empty).
    ///
    /// # Errors
    /// When present with another type, or an item is not a string.
    pub fn strings(&mut self, key: &'a str) -> Result<Vec<&'a str>, JsonError> {
        let path = self.path_of(key);
        self.array(key)?
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str().ok_or_else(|| {
                    JsonError::new(
                        format!("{path}[{i}]"),
                        format!("expected a string, found {}", kind(v)),
                    )
                })
            })
            .collect()
    }

    /// The members of the object at `key`, each itself an object read strictly by
    /// `each(name, member)` and then finished: a table of tables (`[buckets.media]`,
    /// `[clients.app-a]`). Absent or `null`: none.
    ///
    /// # Errors
    /// When `key` or a member is not an object, `each`'s error, or an unknown member's.
    pub fn tables<T>(
        &mut self,
        key: &'a str,
        mut each: impl FnMut(&'a str, &mut Strict<'a>) -> Result<T, JsonError>,
    ) -> Result<Vec<T>, JsonError> {
        let Some(mut outer) = self.object(key)? else {
            return Ok(Vec::new());
        };
        let names: Vec<&'a str> = outer.object.keys().map(String::as_str).collect();
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let mut one = outer.object(name)?.ok_or_else(|| {
                JsonError::new(outer.path_of(name), "expected a table/object, found null")
            })?;
            out.push(each(name, &mut one)?);
            one.finish()?;
        }
        outer.finish()?;
        Ok(out)
    }

    /// Keys of this object that were never read, as an error naming the first.
    ///
    /// # Errors
    /// When a key was not read by the caller: unknown, probably misspelt.
    pub fn finish(self) -> Result<(), JsonError> {
        match self
            .object
            .keys()
            .find(|k| !self.read.contains(&k.as_str()))
        {
            None => Ok(()),
            Some(k) => {
                let mut known: Vec<&str> = self.read.clone();
                known.sort_unstable();
                known.dedup();
                Err(JsonError::new(
                    join(&self.path, k),
                    format!("unknown key; expected one of: {}", known.join(", ")),
                ))
            }
        }
    }
}

/// The string at `key`, or `""` when absent, `null` or not a string.
#[must_use]
pub fn text<'a>(object: &'a Object, key: &str) -> &'a str {
    object.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The boolean at `key`, or `false`.
#[must_use]
pub fn flag(object: &Object, key: &str) -> bool {
    object.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// The object at `key`, if it is one.
#[must_use]
pub fn object<'a>(object: &'a Object, key: &str) -> Option<&'a Object> {
    object.get(key).and_then(Value::as_object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strict_reader_types_paths_and_unknown_keys() {
        let v =
            json!({"a": "x", "b": true, "n": 3, "list": ["p", "q"], "sub": {"k": 1}, "typo": 1});
        let mut r = Strict::new(&v, "top").unwrap();
        assert_eq!(r.str("a").unwrap(), Some("x"));
        assert_eq!(r.bool("b").unwrap(), Some(true));
        assert_eq!(r.u64("n").unwrap(), Some(3));
        assert_eq!(r.strings("list").unwrap(), vec!["p", "q"]);
        assert_eq!(r.str("missing").unwrap(), None);
        let err = r.str("b").unwrap_err();
        assert_eq!(err.to_string(), "top.b: expected a string, found a boolean");
        let sub = r.object("sub").unwrap().unwrap();
        assert_eq!(sub.path(), "top.sub");
        let err = sub.finish().unwrap_err();
        assert_eq!(err.path, "top.sub.k");
        let err = r.finish().unwrap_err();
        assert_eq!(err.path, "top.typo");
        assert!(
            err.problem
                .contains("expected one of: a, b, list, missing, n, sub"),
            "{err}"
        );
    }

    #[test]
    fn string_lists_name_the_bad_item() {
        let v = json!({"l": ["a", 2]});
        let err = Strict::new(&v, "").unwrap().strings("l").unwrap_err();
        assert_eq!(err.path, "l[1]");
        let v = json!([1]);
        assert!(Strict::new(&v, "x").is_err());
    }

    #[test]
    fn tolerant_accessors_default_to_empty() {
        let v = json!({"s": "x", "n": null, "b": true, "o": {}});
        let o = v.as_object().unwrap();
        assert_eq!(
            (text(o, "s"), text(o, "n"), text(o, "zz"), text(o, "b")),
            ("x", "", "", "")
        );
        assert!(flag(o, "b") && !flag(o, "s"));
        assert!(object(o, "o").is_some() && object(o, "s").is_none());
    }
}
