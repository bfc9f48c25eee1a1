//! Presigned POST (spec §1, "Upload size"): a browser form upload whose policy document bounds
//! the key (exact, or a prefix), the media type and the size (`content-length-range`), signed
//! with the SigV4 key chain. What S3, MinIO, SeaweedFS and GCS accept; not R2.
//!
//! The policy is JSON written the way botocore writes it (Python's `json.dumps`: `", "` and
//! `": "` separators, non-ASCII as `\uXXXX`), so the oracle compares documents and signatures
//! byte for byte.

use std::fmt::Write as _;

use portcullis_core::encoding::{base64_encode, hex};

use crate::key::ObjectKey;
use crate::sigv4::{Credentials, MAX_EXPIRES_SECS, SignError, Style, amz_dates, hmac, signing_key};

/// Which keys the form may upload to.
#[derive(Clone, Copy, Debug)]
pub enum PostKey<'a> {
    /// Exactly this key.
    Exact(&'a ObjectKey),
    /// Any key under this prefix, a safe directory ending in `/` (the form's `key` is
    /// `{prefix}${filename}`, which the server fills in from the uploaded file's name; the
    /// policy holds it to the prefix). The rest of the key is the client's: the key checks of
    /// [`ObjectKey`] cannot apply to it, so on servers that normalise keys (SeaweedFS reads
    /// `\` as `/`) prefer [`PostKey::Exact`].
    Prefix(&'a str),
}

/// What to sign.
#[derive(Clone, Copy, Debug)]
pub struct PostPolicy<'a> {
    /// `https` or `http`.
    pub scheme: &'a str,
    /// The endpoint's host (with `:port`).
    pub host: &'a str,
    /// The bucket.
    pub bucket: &'a str,
    /// URL style.
    pub style: Style,
    /// Signing region.
    pub region: &'a str,
    /// Signing time, Unix seconds.
    pub time: i64,
    /// Lifetime of the policy, 1 ..= 604800 s.
    pub expires: u32,
    /// The keys allowed.
    pub key: PostKey<'a>,
    /// The exact `Content-Type` the form must send, if bounded.
    pub content_type: Option<&'a str>,
    /// Smallest and largest size in bytes.
    pub size: Option<(u64, u64)>,
}

/// A signed form: where to post and the fields to send before the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresignedPost {
    /// The form's action.
    pub url: String,
    /// Its fields, in order.
    pub fields: Vec<(String, String)>,
    /// The policy document (JSON), for tests and diagnostics.
    pub policy: String,
}

/// A JSON string as Python's `json.dumps` (`ensure_ascii`) writes it.
fn py_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{u:04x}");
                }
            }
        }
    }
    out.push('"');
}

fn condition(out: &mut String, name: &str, value: &str) {
    out.push('{');
    py_string(out, name);
    out.push_str(": ");
    py_string(out, value);
    out.push('}');
}

/// Signs a POST policy.
///
/// # Errors
/// [`SignError`] for an expiry outside 1 ..= 604800, a time out of range, or an empty or
/// inverted size range.
pub fn presign_post(creds: &Credentials, p: &PostPolicy<'_>) -> Result<PresignedPost, SignError> {
    if !(1..=MAX_EXPIRES_SECS).contains(&p.expires) {
        return Err(SignError::Expires);
    }
    if p.size.is_some_and(|(min, max)| min > max) {
        return Err(SignError::SizeRange);
    }
    // A prefix form lets the client choose the rest of the key (no key check applies to it):
    // the prefix itself must be a safe directory, so it can at least not widen into a sibling
    // (`users/u1` would cover `users/u1x…`) or the whole bucket.
    if let PostKey::Prefix(prefix) = p.key
        && prefix
            .strip_suffix('/')
            .is_none_or(|dir| ObjectKey::parse(dir).is_err())
    {
        return Err(SignError::Prefix);
    }
    let (date, stamp) = amz_dates(p.time)?;
    let expiration = amz_dates(p.time + i64::from(p.expires))?.1;
    // 20261130T005320Z -> 2026-11-30T00:53:20Z
    let iso = |s: &str| -> String {
        let (d, t) = s.split_at(8);
        let (y, md) = d.split_at(4);
        let (m, dd) = md.split_at(2);
        let t = t.trim_start_matches('T').trim_end_matches('Z');
        let (hh, ms) = t.split_at(2);
        let (mi, ss) = ms.split_at(2);
        format!("{y}-{m}-{dd}T{hh}:{mi}:{ss}Z")
    };
    let credential = format!(
        "{}/{date}/{}/s3/aws4_request",
        creds.access_key_id, p.region
    );
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut policy = String::with_capacity(512);
    policy.push_str("{\"expiration\": ");
    py_string(&mut policy, &iso(&expiration));
    policy.push_str(", \"conditions\": [");
    condition(&mut policy, "bucket", p.bucket);
    policy.push_str(", ");
    match p.key {
        PostKey::Exact(key) => {
            condition(&mut policy, "key", key.as_str());
            fields.push(("key".into(), key.as_str().into()));
        }
        PostKey::Prefix(prefix) => {
            policy.push_str("[\"starts-with\", \"$key\", ");
            py_string(&mut policy, prefix);
            policy.push(']');
            fields.push(("key".into(), format!("{prefix}${{filename}}")));
        }
    }
    if let Some(t) = p.content_type {
        policy.push_str(", ");
        condition(&mut policy, "Content-Type", t);
        fields.push(("Content-Type".into(), t.into()));
    }
    if let Some((min, max)) = p.size {
        let _ = write!(policy, ", [\"content-length-range\", {min}, {max}]");
    }
    let mut auth = vec![
        ("x-amz-algorithm", "AWS4-HMAC-SHA256".to_owned()),
        ("x-amz-credential", credential),
        ("x-amz-date", stamp),
    ];
    if let Some(token) = &creds.session_token {
        auth.push(("x-amz-security-token", token.clone()));
    }
    for (name, value) in &auth {
        policy.push_str(", ");
        condition(&mut policy, name, value);
        fields.push(((*name).to_owned(), value.clone()));
    }
    policy.push_str("]}");
    let encoded = base64_encode(policy.as_bytes());
    let key = signing_key(&creds.secret, &date, p.region, "s3");
    let signature = hex(&hmac(key.expose(), encoded.as_bytes()));
    fields.push(("policy".into(), encoded));
    fields.push(("x-amz-signature".into(), signature));
    let url = match p.style {
        Style::Path => format!("{}://{}/{}", p.scheme, p.host, p.bucket),
        Style::VirtualHost => format!("{}://{}.{}/", p.scheme, p.bucket, p.host),
    };
    Ok(PresignedPost {
        url,
        fields,
        policy,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use portcullis_core::Secret;

    use super::*;

    #[test]
    fn the_policy_is_written_as_python_writes_it() {
        let mut s = String::new();
        py_string(&mut s, "a\"b\\c\nü🗝\u{1}");
        assert_eq!(s, r#""a\"b\\c\n\u00fc\ud83d\udddd\u0001""#);
        let creds = Credentials {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret: Secret::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into()),
            session_token: None,
        };
        let p = presign_post(
            &creds,
            &PostPolicy {
                scheme: "http",
                host: "127.0.0.1:8333",
                bucket: "media",
                style: Style::Path,
                region: "us-east-1",
                time: 1_796_000_000,
                expires: 600,
                key: PostKey::Prefix("users/u1/"),
                content_type: Some("image/png"),
                size: Some((1, 1024)),
            },
        )
        .unwrap();
        assert_eq!(
            p.policy,
            "{\"expiration\": \"2026-11-30T01:03:20Z\", \"conditions\": [{\"bucket\": \"media\"}, \
             [\"starts-with\", \"$key\", \"users/u1/\"], {\"Content-Type\": \"image/png\"}, \
             [\"content-length-range\", 1, 1024], {\"x-amz-algorithm\": \"AWS4-HMAC-SHA256\"}, \
             {\"x-amz-credential\": \"AKIAIOSFODNN7EXAMPLE/20261130/us-east-1/s3/aws4_request\"}, \
             {\"x-amz-date\": \"20261130T005320Z\"}]}"
        );
        assert_eq!(p.url, "http://127.0.0.1:8333/media");
        let names: Vec<&str> = p.fields.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "key",
                "Content-Type",
                "x-amz-algorithm",
                "x-amz-credential",
                "x-amz-date",
                "policy",
                "x-amz-signature"
            ]
        );
        assert_eq!(p.fields[0].1, "users/u1/${filename}");
        let bad = PostPolicy {
            size: Some((2, 1)),
            ..PostPolicy {
                scheme: "http",
                host: "h",
                bucket: "b",
                style: Style::Path,
                region: "r",
                time: 0,
                expires: 1,
                key: PostKey::Prefix("p/"),
                content_type: None,
                size: None,
            }
        };
        assert_eq!(presign_post(&creds, &bad), Err(SignError::SizeRange));
        for prefix in ["", "/", "users/u1", "users//", "users/../", "../"] {
            let p = PostPolicy {
                key: PostKey::Prefix(prefix),
                size: None,
                ..bad
            };
            assert_eq!(
                presign_post(&creds, &p),
                Err(SignError::Prefix),
                "{prefix:?}"
            );
        }
    }
}
