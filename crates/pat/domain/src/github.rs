//! GitHub's secret-scanning partner protocol (spec §5): the report, its signature (standard
//! base64 of a DER ECDSA P-256/SHA-256 signature over the raw body) and GitHub's key list
//! (`{"public_keys":[{"key_identifier","key" (SPKI PEM),"is_current"}]}`).

use portcullis_core::encoding::{base64_decode, base64url_encode};
use serde_json::Value;

/// Reports with more items than this are refused (GitHub batches, but not this much).
pub const MAX_ITEMS: usize = 1000;

/// One reported match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Match {
    /// The token as found.
    pub token: String,
    /// The token type we registered with GitHub.
    pub kind: String,
    /// Where it was found (may be empty).
    pub url: String,
    /// What kind of place (`content`, `commit`, `pull_request_title`, …).
    pub source: String,
}

/// Why a report was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportError {
    /// Not a JSON array of objects with a string `token`.
    Shape,
    /// More than [`MAX_ITEMS`] items.
    TooMany,
}

/// Reads a report body.
///
/// # Errors
/// [`ReportError`].
pub fn parse_report(body: &[u8]) -> Result<Vec<Match>, ReportError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| ReportError::Shape)?;
    let items = value.as_array().ok_or(ReportError::Shape)?;
    if items.len() > MAX_ITEMS {
        return Err(ReportError::TooMany);
    }
    items
        .iter()
        .map(|item| {
            let text = |k: &str| {
                item.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            let token = item
                .get("token")
                .and_then(Value::as_str)
                .ok_or(ReportError::Shape)?;
            Ok(Match {
                token: token.to_owned(),
                kind: text("type"),
                url: text("url"),
                source: text("source"),
            })
        })
        .collect()
}

/// A DER ECDSA signature (`SEQUENCE { INTEGER r, INTEGER s }`, standard base64) as the 64-byte
/// `r || s` WebCrypto verifies. Strict DER: minimal lengths and integers, nothing trailing.
#[must_use]
pub fn der_signature(b64: &str) -> Option<[u8; 64]> {
    let der = base64_decode(b64.trim()).ok()?;
    let (&tag, rest) = der.split_first()?;
    let (&len, body) = rest.split_first()?;
    if tag != 0x30 || usize::from(len) != body.len() || len >= 0x80 {
        return None;
    }
    let (r, rest) = der_integer(body)?;
    let (s, rest) = der_integer(rest)?;
    if !rest.is_empty() {
        return None;
    }
    let mut out = [0u8; 64];
    out.get_mut(32 - r.len()..32)?.copy_from_slice(r);
    out.get_mut(64 - s.len()..)?.copy_from_slice(s);
    Some(out)
}

/// One positive, minimally encoded INTEGER of at most 32 significant bytes.
fn der_integer(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&len, rest) = rest.split_first()?;
    let len = usize::from(len);
    if tag != 0x02 || len == 0 || len > 33 || rest.len() < len {
        return None;
    }
    let (value, rest) = rest.split_at(len);
    let first = *value.first()?;
    if first & 0x80 != 0 {
        return None; // negative
    }
    let value = if first == 0 {
        // A leading zero only where the next byte has its high bit set.
        let (_, tail) = value.split_first()?;
        if tail.first().is_none_or(|b| b & 0x80 == 0) {
            return None;
        }
        tail
    } else {
        value
    };
    (value.len() <= 32).then_some((value, rest))
}

/// The DER prefix of a P-256 SubjectPublicKeyInfo with an uncompressed point.
const P256_SPKI_PREFIX: [u8; 27] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04,
];

/// A P-256 public key in SPKI PEM as canonical JWK text; `None` for anything else.
#[must_use]
pub fn spki_pem_to_jwk(pem: &str) -> Option<String> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .skip_while(|l| *l != "-----BEGIN PUBLIC KEY-----")
        .skip(1)
        .take_while(|l| *l != "-----END PUBLIC KEY-----")
        .collect();
    let der = base64_decode(&body).ok()?;
    let point = der.strip_prefix(&P256_SPKI_PREFIX[..])?;
    if point.len() != 64 {
        return None;
    }
    let (x, y) = point.split_at(32);
    Some(format!(
        "{{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"{}\",\"y\":\"{}\"}}",
        base64url_encode(x),
        base64url_encode(y)
    ))
}

/// GitHub's key list as `(key_identifier, JWK)`; keys we cannot read are skipped.
#[must_use]
pub fn parse_keys(body: &[u8]) -> Option<Vec<(String, String)>> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let keys = value.get("public_keys")?.as_array()?;
    Some(
        keys.iter()
            .filter_map(|k| {
                let id = k.get("key_identifier")?.as_str()?;
                let jwk = spki_pem_to_jwk(k.get("key")?.as_str()?)?;
                Some((id.to_owned(), jwk))
            })
            .collect(),
    )
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The owner's notice of a leaked token: subject, HTML and text. `hint` is the token's display
/// hint, `url` and `source` come from the report (escaped; a link only for `https://` URLs).
#[must_use]
pub fn leak_email(hint: &str, url: &str, source: &str) -> (String, String, String) {
    let subject = format!("Your personal access token {hint} was found in public and revoked");
    let place = if url.is_empty() {
        "a public place".to_owned()
    } else {
        url.to_owned()
    };
    let text = format!(
        "A personal access token of yours, {hint}, was found in public by GitHub secret \
         scanning ({source}) at:\n\n{place}\n\nIt has been revoked, so it no longer works. \
         Create a new token for whatever used it, and remove the leaked one from where it was \
         published.\n"
    );
    let link = if url.starts_with("https://") {
        format!("<a href=\"{0}\">{0}</a>", escape_html(url))
    } else {
        escape_html(&place)
    };
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif;line-height:1.5\">\
         <p>A personal access token of yours, <code>{}</code>, was found in public by GitHub \
         secret scanning ({}) at:</p><p>{link}</p><p>It has been <strong>revoked</strong>, so \
         it no longer works. Create a new token for whatever used it, and remove the leaked one \
         from where it was published.</p></body></html>",
        escape_html(hint),
        escape_html(source)
    );
    (subject, html, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GitHub's documented sample (docs: "Implementing a secret scanning partner program").
    pub(crate) const SAMPLE_BODY: &str = r#"[{"source":"commit","token":"some_token","type":"some_type","url":"https://example.com/base-repo-url/"}]"#;
    pub(crate) const SAMPLE_SIGNATURE: &str = "MEQCIQDaMKqrGnE27S0kgMrEK0eYBmyG0LeZismAEz/BgZyt7AIfXt9fErtRS4XaeSt/AO1RtBY66YcAdjxji410VQV4xg==";

    #[test]
    fn the_documented_sample_parses() {
        let m = parse_report(SAMPLE_BODY.as_bytes()).unwrap();
        assert_eq!(m[0].token, "some_token");
        assert_eq!(m[0].source, "commit");
        // Its s is 31 bytes in DER: left-padded.
        let sig = der_signature(SAMPLE_SIGNATURE).unwrap();
        assert_eq!(sig[32], 0);
        assert_eq!(sig[0], 0xda);
    }

    #[test]
    fn strict_der() {
        let ok = der_signature(SAMPLE_SIGNATURE).unwrap();
        let der = base64_decode(SAMPLE_SIGNATURE).unwrap();
        let enc = portcullis_core::encoding::base64_encode;
        let mut trailing = der.clone();
        trailing.push(0);
        let mut long_len = der.clone();
        long_len[1] += 1;
        let mut negative = der.clone();
        negative[3] = 0x20; // r's length: drop its leading zero byte
        negative.remove(4);
        negative[1] -= 1;
        for bad in [
            enc(&trailing),
            enc(&long_len),
            enc(&negative),
            "!!".into(),
            String::new(),
        ] {
            assert_eq!(der_signature(&bad), None, "{bad}");
        }
        assert_eq!(ok.len(), 64);
    }

    #[test]
    fn reports() {
        assert_eq!(parse_report(b"{}"), Err(ReportError::Shape));
        assert_eq!(parse_report(b"[{\"type\":\"x\"}]"), Err(ReportError::Shape));
        assert_eq!(parse_report(b"[]"), Ok(vec![]));
        let many = format!("[{}]", vec![r#"{"token":"t"}"#; MAX_ITEMS + 1].join(","));
        assert_eq!(parse_report(many.as_bytes()), Err(ReportError::TooMany));
    }

    #[test]
    fn notices_escape_what_the_report_says() {
        let (subject, html, text) = leak_email(
            "acme_pat_…abcd",
            "https://github.com/o/r/blob/x?a=1&b=<script>",
            "commit",
        );
        assert!(subject.contains("acme_pat_…abcd"));
        assert!(html.contains("&amp;b=&lt;script&gt;"));
        assert!(!html.contains("<script>"));
        assert!(text.contains("https://github.com/o/r/blob/x?a=1&b=<script>"));
        let (_, html, _) = leak_email("h", "javascript:alert(1)", "\"><img>");
        assert!(!html.contains("href=\"javascript"));
        assert!(!html.contains("<img>"));
    }

    #[test]
    fn keys() {
        let pem = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEYAGMWO8XgCamYKMJS6jc/qgvSlAd\nAjPuDPRcXU22YxgBrz+zoN19MzuRyW87qEt9/AmtoNP5GrobzUvQSyJFVw==\n-----END PUBLIC KEY-----\n";
        let jwk = spki_pem_to_jwk(pem).unwrap();
        assert!(jwk.starts_with("{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\""));
        let list = format!(
            r#"{{"public_keys":[{{"key_identifier":"a","key":{},"is_current":true}},{{"key_identifier":"rsa","key":"-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----"}}]}}"#,
            serde_json::to_string(pem).unwrap()
        );
        let keys = parse_keys(list.as_bytes()).unwrap();
        assert_eq!(keys, vec![("a".to_owned(), jwk)]);
        assert_eq!(parse_keys(b"[]"), None);
    }
}
