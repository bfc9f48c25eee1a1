//! Dotted paths into claims and metadata: `app_metadata.billing.plan`, `lookup.tier`.

use portcullis_core::json::Object;
use serde_json::Value;

use crate::claims::Claims;

/// Where a value is read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Root {
    /// `app_metadata.…`: server-controlled.
    AppMetadata,
    /// `user_metadata.…`: user-controlled (the user can write it).
    UserMetadata,
    /// `lookup.…`: the row found by the claims lookup.
    Lookup,
}

/// A parsed source path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourcePath {
    /// Which document.
    pub root: Root,
    /// Keys inside it (may be empty: the whole document).
    pub keys: Vec<String>,
}

impl SourcePath {
    /// Parses `app_metadata.a.b`, `user_metadata.a` or `lookup.a`.
    ///
    /// # Errors
    /// A description of the expected form.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = text.split('.');
        let root = match parts.next() {
            Some("app_metadata") => Root::AppMetadata,
            Some("user_metadata") => Root::UserMetadata,
            Some("lookup") => Root::Lookup,
            _ => {
                return Err(format!(
                    "`{text}` must start with `app_metadata.`, `user_metadata.` or `lookup.`"
                ));
            }
        };
        let keys: Vec<String> = parts.map(str::to_owned).collect();
        if keys.is_empty() || keys.iter().any(String::is_empty) {
            return Err(format!(
                "`{text}` must name a key, e.g. `app_metadata.org_id`"
            ));
        }
        Ok(Self { root, keys })
    }

    /// The value at this path, if present and not `null` (splits the metadata claim it reads
    /// into members and parses only the value read).
    pub fn get<'a>(
        &self,
        claims: &'a mut Claims<'_>,
        lookup: Option<&'a Object>,
    ) -> Option<&'a Value> {
        let doc = match self.root {
            Root::AppMetadata => claims.object_mut("app_metadata")?,
            Root::UserMetadata => claims.object_mut("user_metadata")?,
            Root::Lookup => {
                let (last, init) = self.keys.split_last()?;
                let mut cur = lookup?;
                for key in init {
                    cur = cur.get(key)?.as_object()?;
                }
                return cur.get(last).filter(|v| !v.is_null());
            }
        };
        doc.path(&self.keys).filter(|v| !v.is_null())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_read_nested_values_and_skip_null() {
        let claims = json!({"app_metadata": {"billing": {"plan": "pro", "seats": null}}, "user_metadata": {"locale": "de"}});
        let text = claims.to_string();
        let mut claims = Claims::from_json(&text).unwrap();
        let lookup = json!({"tier": 3});
        let mut get = |p: &str| {
            SourcePath::parse(p)
                .unwrap()
                .get(&mut claims, lookup.as_object())
                .cloned()
        };
        assert_eq!(get("app_metadata.billing.plan"), Some(json!("pro")));
        assert_eq!(get("app_metadata.billing.seats"), None);
        assert_eq!(get("app_metadata.billing.plan.x"), None);
        assert_eq!(get("user_metadata.locale"), Some(json!("de")));
        assert_eq!(get("lookup.tier"), Some(json!(3)));
        assert_eq!(get("lookup.other"), None);
    }

    #[test]
    fn bad_paths_explain_themselves() {
        assert!(
            SourcePath::parse("metadata.x")
                .unwrap_err()
                .contains("must start with")
        );
        assert!(
            SourcePath::parse("app_metadata")
                .unwrap_err()
                .contains("must name a key")
        );
        assert!(SourcePath::parse("app_metadata..x").is_err());
    }

    #[test]
    fn nested_removal_leaves_siblings_and_untouched_members_raw() {
        let text = r#"{"app_metadata":{"a":{"b":1,"c":2},"keep":{"x":[1, 2]}},"sub":"u"}"#;
        let mut claims = Claims::from_json(text).unwrap();
        let doc = claims.object_mut("app_metadata").unwrap();
        assert!(doc.remove_path(&["a".into(), "b".into()]));
        assert!(!doc.remove_path(&["zz".into(), "b".into()]));
        assert!(!doc.remove_path(&[]));
        assert!(!doc.remove_path(&["a".into(), "c".into(), "deeper".into()]));
        let mut out = Vec::new();
        claims.write_json(&mut out);
        // The edited object is rewritten member by member; the untouched one keeps its bytes.
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"app_metadata":{"a":{"c":2},"keep":{"x":[1, 2]}},"sub":"u"}"#
        );
    }
}
