//! Path templates over a user's verified claims: `users/{sub}/**`,
//! `orgs/{app_metadata.org_id}/*`, `public/**`.
//!
//! Grammar: segments separated by `/`. A segment is literal text and `{claim.path}`
//! placeholders in any mix (`u-{sub}.json`), or exactly `*` (any one segment), or, as the last
//! segment only, `**` (one or more segments: the key must lie *under* the prefix, never be it).
//! A placeholder names a claim by a dotted path into the token's payload; its value must be a
//! JSON string or integer that is a safe segment ([`safe_segment`]), else the template matches
//! nothing for that user.

use std::fmt;

use serde_json::Value;

use crate::key::ObjectKey;

/// Why a template was refused (at policy load).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateError(String);

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TemplateError {}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Claim(Vec<String>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Parts(Vec<Part>),
    AnyOne,
    AnyRest,
}

/// A parsed template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    source: String,
    segments: Vec<Segment>,
}

/// Longest claim value substituted into a segment.
const MAX_SEGMENT_BYTES: usize = 255;

/// Whether `value` may stand as one whole path segment: non-empty, at most 255 bytes, not `.`
/// or `..`, and free of `/`, `\`, `%` (no encoded separators), `*`, `?`, `{`, `}` and control
/// characters.
#[must_use]
pub fn safe_segment(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_SEGMENT_BYTES
        && value != "."
        && value != ".."
        && !value
            .chars()
            .any(|c| c.is_control() || matches!(c, '/' | '\\' | '%' | '*' | '?' | '{' | '}'))
}

fn claim_path(name: &str) -> Result<Vec<String>, TemplateError> {
    let path: Vec<String> = name.split('.').map(str::to_owned).collect();
    let ok = path.iter().all(|p| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    });
    if ok {
        Ok(path)
    } else {
        Err(TemplateError(format!(
            "{{{name}}}: a claim is a dotted path of [A-Za-z0-9_-] names"
        )))
    }
}

fn parse_segment(text: &str) -> Result<Segment, TemplateError> {
    if text == "*" {
        return Ok(Segment::AnyOne);
    }
    let mut parts = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('{') {
            let Some((name, tail)) = after.split_once('}') else {
                return Err(TemplateError(format!("{text}: an unclosed {{")));
            };
            parts.push(Part::Claim(claim_path(name)?));
            rest = tail;
        } else {
            let end = rest.find(['{', '}']).unwrap_or(rest.len());
            let (literal, tail) = rest.split_at(end);
            if literal.is_empty() {
                return Err(TemplateError(format!("{text}: a stray }}")));
            }
            if literal.contains(['*', '?', '\\']) || literal.chars().any(char::is_control) {
                return Err(TemplateError(format!(
                    "{text}: `*` stands alone as a segment (and `**` last); no `?`, `\\` or control characters"
                )));
            }
            parts.push(Part::Text(literal.to_owned()));
            rest = tail;
        }
    }
    Ok(Segment::Parts(parts))
}

impl Template {
    /// Parses `source`.
    ///
    /// # Errors
    /// A [`TemplateError`] naming the problem.
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        let texts: Vec<&str> = source.split('/').collect();
        let mut segments = Vec::with_capacity(texts.len());
        for (i, text) in texts.iter().enumerate() {
            let segment = match *text {
                "" | "." | ".." => {
                    return Err(TemplateError(format!(
                        "{source}: no empty, . or .. segments (no leading, trailing or doubled /)"
                    )));
                }
                "**" if i + 1 == texts.len() => Segment::AnyRest,
                "**" => {
                    return Err(TemplateError(format!(
                        "{source}: ** only as the last segment"
                    )));
                }
                t => parse_segment(t)?,
            };
            segments.push(segment);
        }
        Ok(Self {
            source: source.to_owned(),
            segments,
        })
    }

    /// The claim paths the template reads (`["app_metadata", "org_id"]`).
    pub fn claims(&self) -> impl Iterator<Item = &[String]> {
        self.segments.iter().flat_map(|s| match s {
            Segment::Parts(parts) => parts
                .iter()
                .filter_map(|p| match p {
                    Part::Claim(path) => Some(path.as_slice()),
                    Part::Text(_) => None,
                })
                .collect::<Vec<_>>(),
            Segment::AnyOne | Segment::AnyRest => Vec::new(),
        })
    }

    /// The template as written.
    #[must_use]
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether `key` is under this template for a user with `claims` (the verified payload).
    /// A missing or unsafe claim value matches nothing.
    #[must_use]
    pub fn matches(&self, key: &ObjectKey, claims: &Value) -> bool {
        let mut keys = key.segments();
        for segment in &self.segments {
            match segment {
                Segment::AnyRest => return keys.next().is_some(),
                Segment::AnyOne => {
                    if keys.next().is_none() {
                        return false;
                    }
                }
                Segment::Parts(parts) => {
                    let Some(actual) = keys.next() else {
                        return false;
                    };
                    if !parts_match(parts, actual, claims) {
                        return false;
                    }
                }
            }
        }
        keys.next().is_none()
    }

    /// Whether every key under the directory `dir` (the keys `dir/…` a presigned POST with
    /// prefix `dir/` lets the client choose) is under this template: it must end in `**` and
    /// `dir` must match the segments before it, deeper directories included. A template
    /// without `**` covers no directory.
    #[must_use]
    pub fn covers_dir(&self, dir: &ObjectKey, claims: &Value) -> bool {
        let Some((Segment::AnyRest, fixed)) = self.segments.split_last() else {
            return false;
        };
        let mut dirs = dir.segments();
        for segment in fixed {
            let Some(actual) = dirs.next() else {
                return false;
            };
            match segment {
                Segment::AnyOne => {}
                Segment::Parts(parts) => {
                    if !parts_match(parts, actual, claims) {
                        return false;
                    }
                }
                Segment::AnyRest => return false,
            }
        }
        true
    }

    /// Whether some key under the directory `dir` may match this template: `dir`'s segments
    /// do not contradict it and the template reaches below `dir`. (A prefix form is refused
    /// when an earlier rule overlaps its directory: first match would decide those keys by
    /// that rule, not by the one that covers the directory.)
    #[must_use]
    pub fn overlaps_dir(&self, dir: &ObjectKey, claims: &Value) -> bool {
        let mut segments = self.segments.iter();
        for actual in dir.segments() {
            match segments.next() {
                None => return false,
                Some(Segment::AnyRest) => return true,
                Some(Segment::AnyOne) => {}
                Some(Segment::Parts(parts)) => {
                    if !parts_match(parts, actual, claims) {
                        return false;
                    }
                }
            }
        }
        segments.next().is_some()
    }
}

/// The value of the claim at `path`: a string, or an integer as its decimal text.
fn claim<'a>(claims: &'a Value, path: &[String]) -> Option<std::borrow::Cow<'a, str>> {
    let mut v = claims;
    for name in path {
        v = v.get(name)?;
    }
    match v {
        Value::String(s) => Some(std::borrow::Cow::Borrowed(s)),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string().into()),
        _ => None,
    }
}

fn parts_match(parts: &[Part], actual: &str, claims: &Value) -> bool {
    let mut expected = String::new();
    for part in parts {
        match part {
            Part::Text(t) => expected.push_str(t),
            Part::Claim(path) => match claim(claims, path) {
                Some(v) if safe_segment(&v) => expected.push_str(&v),
                _ => return false,
            },
        }
    }
    expected == actual
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn directories_covered() {
        let claims = json!({"sub": "u1", "org": "a/b"});
        let dir = |d: &str| ObjectKey::parse(d).unwrap();
        let t = Template::parse("users/{sub}/**").unwrap();
        assert!(t.covers_dir(&dir("users/u1"), &claims));
        assert!(t.covers_dir(&dir("users/u1/photos/2026"), &claims));
        assert!(!t.covers_dir(&dir("users"), &claims));
        assert!(!t.covers_dir(&dir("users/u2"), &claims));
        assert!(!t.covers_dir(&dir("users/u1x"), &claims));
        let t = Template::parse("users/{sub}/*").unwrap();
        assert!(
            !t.covers_dir(&dir("users/u1"), &claims),
            "no ** covers no directory"
        );
        let t = Template::parse("orgs/{org}/**").unwrap();
        assert!(
            !t.covers_dir(&dir("orgs/a/b"), &claims),
            "an unsafe claim covers nothing"
        );
        let t = Template::parse("drop/*/**").unwrap();
        assert!(t.covers_dir(&dir("drop/x"), &claims));
        assert!(!t.covers_dir(&dir("drop"), &claims));
        let t = Template::parse("users/{sub}/private/*").unwrap();
        assert!(t.overlaps_dir(&dir("users/u1"), &claims));
        assert!(t.overlaps_dir(&dir("users/u1/private"), &claims));
        assert!(
            !t.overlaps_dir(&dir("users/u1/private/x"), &claims),
            "matches the dir, not under it"
        );
        assert!(!t.overlaps_dir(&dir("users/u2"), &claims));
        assert!(
            Template::parse("**")
                .unwrap()
                .overlaps_dir(&dir("a/b"), &claims)
        );
        assert!(
            Template::parse("a/**")
                .unwrap()
                .overlaps_dir(&dir("a/b"), &claims)
        );
        assert!(
            !Template::parse("b/**")
                .unwrap()
                .overlaps_dir(&dir("a/b"), &claims)
        );
    }

    fn key(k: &str) -> ObjectKey {
        ObjectKey::parse(k).unwrap()
    }

    #[test]
    fn templates_match_whole_segments() {
        let claims = json!({"sub": "8a7a", "app_metadata": {"org_id": 42, "team": "blue"}});
        let cases = [
            ("users/{sub}/**", "users/8a7a/a.png", true),
            ("users/{sub}/**", "users/8a7a/dir/a.png", true),
            ("users/{sub}/**", "users/8a7a", false),
            ("users/{sub}/**", "users/8a7ab/a.png", false),
            ("users/{sub}/**", "users/8a7/a.png", false),
            ("users/{sub}/*", "users/8a7a/dir/a.png", false),
            ("users/{sub}/*", "users/8a7a/a.png", true),
            ("orgs/{app_metadata.org_id}/**", "orgs/42/x", true),
            ("orgs/{app_metadata.org_id}/**", "orgs/43/x", false),
            ("t/{app_metadata.team}-{sub}.json", "t/blue-8a7a.json", true),
            ("t/{app_metadata.team}-{sub}.json", "t/blue-8a7a.jso", false),
            ("public/**", "public/a", true),
            ("public/**", "Public/a", false),
            ("orgs/{app_metadata.missing}/**", "orgs/x/y", false),
        ];
        for (t, k, want) in cases {
            assert_eq!(
                Template::parse(t).unwrap().matches(&key(k), &claims),
                want,
                "{t} {k}"
            );
        }
    }

    #[test]
    fn a_claim_never_widens_a_rule() {
        let t = Template::parse("users/{sub}/**").unwrap();
        for evil in [
            json!(""),
            json!("a/b"),
            json!(".."),
            json!("."),
            json!("a%2Fb"),
            json!("a\\b"),
            json!("*"),
            json!("a\nb"),
            json!("{sub}"),
            json!(null),
            json!(["x"]),
            json!({"a": 1}),
            json!(1.5),
            json!(true),
            json!("x".repeat(256)),
        ] {
            let claims = json!({ "sub": evil });
            // Whatever the value, no key under a prefix it could fake is granted.
            for k in [
                "users/a/b/c",
                "users/x/y",
                "users/a%2Fb/c",
                "users/_/x",
                "users/*/x",
            ] {
                assert!(!t.matches(&key(k), &claims), "{claims} {k}");
            }
        }
        // An empty sub does not make users/{sub}/** into users/**.
        assert!(!t.matches(&key("users/anyone/x"), &json!({"sub": ""})));
    }

    #[test]
    fn bad_templates_are_refused_at_load() {
        for bad in [
            "",
            "/users/{sub}",
            "users/{sub}/",
            "users//x",
            "users/../x",
            "users/**/x",
            "users/a*b",
            "users/{sub",
            "users/sub}",
            "users/{}",
            "users/{a..b}",
            "users/{a b}",
            "users/a?b",
        ] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
    }
}
