//! AWS Signature Version 4, query-string form (spec §1): the presigned URL S3, R2, MinIO,
//! SeaweedFS and GCS's XML API verify.
//!
//! Ours on the workspace's `hmac`/`sha2`, not a SigV4 crate, for three measured reasons:
//! `rusty-s3` builds its URL with `url`, which resolves `.`/`..` segments (it would sign a
//! different key than the one checked, and with path style possibly another bucket) and adds
//! ~143 KiB gzipped to a module (`url`/`idna`/ICU, `jiff`); `aws-sigv4` adds ~69 KiB gzipped
//! (`http`, `tokio`, `time`, smithy) and still leaves the key encoding and URL to the caller;
//! neither does presigned POST policies or GCS's GOOG4 form. The crypto stays in the kept
//! crates (HMAC-SHA-256, SHA-256); this module is the canonical request, which the AWS
//! document vector and botocore check byte for byte.
//!
//! Synchronous and sans-io: the time is an argument (Unix seconds), credentials are passed in.

use std::fmt;
use std::fmt::Write as _;

use hmac::{Hmac, KeyInit, Mac};
use portcullis_core::Secret;
use sha2::{Digest, Sha256};

use crate::key::ObjectKey;

/// Longest `X-Amz-Expires` S3 accepts (7 days).
pub const MAX_EXPIRES_SECS: u32 = 604_800;

/// The HMAC signature family: AWS Signature Version 4 (S3, R2, MinIO, SeaweedFS, and GCS's XML
/// API), or Google's V4 signing with HMAC keys (`GOOG4-HMAC-SHA256`, GCS): the same steps with
/// `X-Goog-*` parameter names, the key chain started from `"GOOG4" + secret`, service
/// `storage` and scope terminator `goog4_request`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Algorithm {
    /// `AWS4-HMAC-SHA256`.
    #[default]
    Aws4,
    /// `GOOG4-HMAC-SHA256`.
    Goog4,
}

/// One algorithm's names.
struct Names {
    algorithm: &'static str,
    key_prefix: &'static str,
    service: &'static str,
    terminator: &'static str,
    /// `…Algorithm`, `…Credential`, `…Date`, `…Expires`, `…SignedHeaders`,
    /// `…Security-Token`, `&…Signature=`.
    params: [&'static str; 7],
}

impl Algorithm {
    const fn names(self) -> &'static Names {
        const AWS4: Names = Names {
            algorithm: "AWS4-HMAC-SHA256",
            key_prefix: "AWS4",
            service: "s3",
            terminator: "aws4_request",
            params: [
                "X-Amz-Algorithm",
                "X-Amz-Credential",
                "X-Amz-Date",
                "X-Amz-Expires",
                "X-Amz-SignedHeaders",
                "X-Amz-Security-Token",
                "&X-Amz-Signature=",
            ],
        };
        const GOOG4: Names = Names {
            algorithm: "GOOG4-HMAC-SHA256",
            key_prefix: "GOOG4",
            service: "storage",
            terminator: "goog4_request",
            params: [
                "X-Goog-Algorithm",
                "X-Goog-Credential",
                "X-Goog-Date",
                "X-Goog-Expires",
                "X-Goog-SignedHeaders",
                "X-Goog-Security-Token",
                "&X-Goog-Signature=",
            ],
        };
        match self {
            Self::Aws4 => &AWS4,
            Self::Goog4 => &GOOG4,
        }
    }
}

/// An access key pair, with the session token of temporary credentials.
pub struct Credentials {
    /// The access key id (not secret: it is in every URL).
    pub access_key_id: String,
    /// The secret access key.
    pub secret: Secret<String>,
    /// `X-Amz-Security-Token`, for temporary credentials.
    pub session_token: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "redacted"),
            )
            .finish_non_exhaustive()
    }
}

/// Where the bucket is in the URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// `{scheme}://{host}/{bucket}/{key}` (MinIO, SeaweedFS, custom endpoints with a port).
    Path,
    /// `{scheme}://{bucket}.{host}/{key}` (AWS's default).
    VirtualHost,
}

/// The methods a URL may be signed for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Download.
    Get,
    /// Metadata.
    Head,
    /// Upload.
    Put,
    /// Delete.
    Delete,
}

impl Method {
    /// The method named `name` (uppercase, as HTTP writes it).
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "GET" => Self::Get,
            "HEAD" => Self::Head,
            "PUT" => Self::Put,
            "DELETE" => Self::Delete,
            _ => return None,
        })
    }

    /// The HTTP method.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
        }
    }
}

/// What to sign.
#[derive(Clone, Debug)]
pub struct Presign<'a> {
    /// The method the URL is for.
    pub method: Method,
    /// `https` or `http`.
    pub scheme: &'a str,
    /// The endpoint's host, with `:port` when not the scheme's default.
    pub host: &'a str,
    /// The bucket.
    pub bucket: &'a str,
    /// The object (checked).
    pub key: &'a ObjectKey,
    /// Path or virtual-host style.
    pub style: Style,
    /// `us-east-1`, `auto` (R2), …
    pub region: &'a str,
    /// Signing time, Unix seconds.
    pub time: i64,
    /// `X-Amz-Expires`, 1 ..= [`MAX_EXPIRES_SECS`].
    pub expires: u32,
    /// Further signed query parameters (`response-content-disposition`, …), unencoded.
    pub query: &'a [(&'a str, &'a str)],
    /// Headers besides `host` the client must send as signed (`content-type`, …):
    /// lowercase names.
    pub headers: &'a [(&'a str, &'a str)],
}

/// Why nothing was signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignError {
    /// `expires` outside 1 ..= 604800.
    Expires,
    /// A time before 1970 or past 9999.
    Time,
    /// A header name that is not lowercase token characters, or `host` given again.
    HeaderName,
    /// A POST policy's size range with its minimum over its maximum.
    SizeRange,
    /// A POST prefix that is not a safe directory ending in `/`.
    Prefix,
    /// A session token with `GOOG4-HMAC-SHA256` (GCS HMAC keys have none).
    SessionToken,
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Expires => "expires must be between 1 and 604800 seconds",
            Self::Time => "the signing time is out of range",
            Self::HeaderName => "a signed header name is not a lowercase token",
            Self::SizeRange => "the size range's minimum is over its maximum",
            Self::Prefix => "the upload prefix must be a safe directory ending in /",
            Self::SessionToken => "GOOG4-HMAC-SHA256 takes no session token",
        })
    }
}

impl std::error::Error for SignError {}

/// A presigned URL, and the headers its user must send exactly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presigned {
    /// The URL.
    pub url: String,
    /// The signed headers other than `host`.
    pub headers: Vec<(String, String)>,
    /// Hex SHA-256 of the canonical request (for tests and diagnostics).
    pub canonical_request_hash: String,
}

/// UriEncode (spec §1): `A-Za-z0-9-._~` kept, everything else `%XX` uppercase; `/` kept only
/// when `keep_slash` (the path).
pub fn uri_encode(out: &mut String, text: &str, keep_slash: bool) {
    let safe = |b: u8| {
        b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~')
            || (keep_slash && b == b'/')
    };
    // Runs of safe bytes are copied whole (they are ASCII, so every run ends on a boundary).
    let mut run = 0;
    for (i, &b) in text.as_bytes().iter().enumerate() {
        if !safe(b) {
            out.push_str(text.get(run..i).unwrap_or_default());
            push_escaped(out, b);
            run = i + 1;
        }
    }
    out.push_str(text.get(run..).unwrap_or_default());
}

/// `YYYYMMDD` and `YYYYMMDDTHHMMSSZ` for Unix seconds `t` (proleptic Gregorian, UTC).
pub(crate) fn amz_dates(t: i64) -> Result<(String, String), SignError> {
    if !(0..=253_402_300_799).contains(&t) {
        return Err(SignError::Time);
    }
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let date = format!("{year:04}{month:02}{day:02}");
    let stamp = format!(
        "{date}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    );
    Ok((date, stamp))
}

pub(crate) fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length: `new_from_slice` cannot fail for it.
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable_hmac());
    mac.update(data);
    mac.finalize().into_bytes().into()
}

#[allow(clippy::panic)]
#[cold]
fn unreachable_hmac() -> Hmac<Sha256> {
    // Invariant: HMAC's `new_from_slice` accepts every key length.
    panic!("HMAC refused a key")
}

/// The SigV4 signing key for `date` (`YYYYMMDD`), `region` and `service`.
#[must_use]
pub fn signing_key(
    secret: &Secret<String>,
    date: &str,
    region: &str,
    service: &str,
) -> Secret<Vec<u8>> {
    key_chain(Algorithm::Aws4, secret, date, region, service)
}

/// The key chain of `algorithm`: `HMAC(HMAC(HMAC(HMAC(prefix + secret, date), region),
/// service), terminator)`.
fn key_chain(
    algorithm: Algorithm,
    secret: &Secret<String>,
    date: &str,
    region: &str,
    service: &str,
) -> Secret<Vec<u8>> {
    let names = algorithm.names();
    let mut first = Vec::with_capacity(names.key_prefix.len() + secret.len());
    first.extend_from_slice(names.key_prefix.as_bytes());
    first.extend_from_slice(secret.expose().as_bytes());
    let first = Secret::new(first);
    let k_date = hmac(first.expose(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    Secret::new(hmac(&k_service, names.terminator.as_bytes()).to_vec())
}

fn header_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name != "host"
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Trims and collapses runs of spaces, as the canonical headers want.
fn canonical_value(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Presigns `p` with `creds` (service `s3`). For several URLs, [`Signer`] derives the signing
/// key once per day and region instead of once per URL.
///
/// # Errors
/// [`SignError`].
pub fn presign(creds: &Credentials, p: &Presign<'_>) -> Result<Presigned, SignError> {
    Signer::new(creds).presign(p)
}

/// Presigns many URLs with one set of credentials: the signing key (four HMACs) and its keyed
/// HMAC state are derived once per `(date, region)`, the dates once per signing time, and each
/// URL is written into one buffer while the canonical request streams into SHA-256 (no
/// canonical request string, no allocation per query parameter).
pub struct Signer<'c> {
    creds: &'c Credentials,
    algorithm: Algorithm,
    /// `(date, region)` and the HMAC keyed with their signing key.
    keyed: Option<(String, String, Hmac<Sha256>)>,
    /// A signing time and its `YYYYMMDD` and `YYYYMMDDTHHMMSSZ`.
    dates: Option<(i64, String, String)>,
}

impl Drop for Signer<'_> {
    fn drop(&mut self) {
        // The keyed HMAC state signs as the day's key does: overwritten in place (best effort:
        // hmac 0.12 has no zeroize support, and a moved copy cannot be reached).
        if let Some((_, _, mac)) = &mut self.keyed {
            *mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&[0; 32])
                .unwrap_or_else(|_| unreachable_hmac());
            std::hint::black_box(mac);
        }
    }
}

impl fmt::Debug for Signer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("creds", self.creds)
            .finish_non_exhaustive()
    }
}

/// The hex digit of a nibble.
fn hex_digit(nibble: u8, upper: bool) -> char {
    let c = char::from_digit(u32::from(nibble & 0x0f), 16).unwrap_or('0');
    if upper { c.to_ascii_uppercase() } else { c }
}

/// `%XX` with uppercase hex.
fn push_escaped(out: &mut String, b: u8) {
    out.push('%');
    out.push(hex_digit(b >> 4, true));
    out.push(hex_digit(b, true));
}

/// One query parameter: its encoded name and value.
struct Param {
    name: String,
    value: String,
}

impl<'c> Signer<'c> {
    /// A signer for `creds`.
    #[must_use]
    pub const fn new(creds: &'c Credentials) -> Self {
        Self::with_algorithm(creds, Algorithm::Aws4)
    }

    /// A signer for `creds` with `algorithm`.
    #[must_use]
    pub const fn with_algorithm(creds: &'c Credentials, algorithm: Algorithm) -> Self {
        Self {
            creds,
            algorithm,
            keyed: None,
            dates: None,
        }
    }

    /// The HMAC keyed for `date` and `region`, derived on first use.
    fn mac(&mut self, date: &str, region: &str) -> Hmac<Sha256> {
        if let Some((d, r, mac)) = &self.keyed
            && d == date
            && r == region
        {
            return mac.clone();
        }
        let key = key_chain(
            self.algorithm,
            &self.creds.secret,
            date,
            region,
            self.algorithm.names().service,
        );
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.expose())
            .unwrap_or_else(|_| unreachable_hmac());
        self.keyed = Some((date.to_owned(), region.to_owned(), mac.clone()));
        mac
    }

    /// `(date, stamp)` for `time`, computed on first use.
    fn dates(&mut self, time: i64) -> Result<(String, String), SignError> {
        match &self.dates {
            Some((t, date, stamp)) if *t == time => Ok((date.clone(), stamp.clone())),
            _ => {
                let (date, stamp) = amz_dates(time)?;
                self.dates = Some((time, date.clone(), stamp.clone()));
                Ok((date, stamp))
            }
        }
    }

    /// Presigns `p`.
    ///
    /// # Errors
    /// [`SignError`].
    pub fn presign(&mut self, p: &Presign<'_>) -> Result<Presigned, SignError> {
        if !(1..=MAX_EXPIRES_SECS).contains(&p.expires) {
            return Err(SignError::Expires);
        }
        if !p.headers.iter().all(|(n, _)| header_name_ok(n)) {
            return Err(SignError::HeaderName);
        }
        let names = self.algorithm.names();
        if self.algorithm == Algorithm::Goog4 && self.creds.session_token.is_some() {
            return Err(SignError::SessionToken);
        }
        let (date, stamp) = self.dates(p.time)?;
        let creds = self.creds;
        let key = p.key.as_str();
        let virtual_host;
        let host = match p.style {
            Style::Path => p.host,
            Style::VirtualHost => {
                virtual_host = format!("{}.{}", p.bucket, p.host);
                &virtual_host
            }
        };
        let mut path = String::with_capacity(p.bucket.len() + key.len() + key.len() / 2 + 2);
        path.push('/');
        if p.style == Style::Path {
            uri_encode(&mut path, p.bucket, false);
            path.push('/');
        }
        uri_encode(&mut path, key, true);
        // Signed headers, sorted with `host`.
        let mut headers: Vec<(String, String)> = p
            .headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), canonical_value(v)))
            .collect();
        headers.push(("host".to_owned(), host.to_owned()));
        headers.sort();
        let mut signed_headers = String::with_capacity(headers.len() * 16);
        for (i, (n, _)) in headers.iter().enumerate() {
            if i > 0 {
                signed_headers.push(';');
            }
            signed_headers.push_str(n);
        }
        // The caller's parameters, then ours, as botocore lists them in the URL (so URLs
        // compare byte for byte); the canonical query sorts them.
        let param = |name: &str, value: &str| {
            let mut n = String::with_capacity(name.len());
            uri_encode(&mut n, name, false);
            let mut v = String::with_capacity(value.len() + value.len() / 2);
            uri_encode(&mut v, value, false);
            Param { name: n, value: v }
        };
        let mut params: Vec<Param> = Vec::with_capacity(p.query.len() + 6);
        params.extend(p.query.iter().map(|(n, v)| param(n, v)));
        let mut credential = String::with_capacity(creds.access_key_id.len() + 40);
        for part in [
            creds.access_key_id.as_str(),
            &date,
            p.region,
            names.service,
            names.terminator,
        ] {
            if !credential.is_empty() {
                credential.push('/');
            }
            credential.push_str(part);
        }
        let mut expires = String::with_capacity(6);
        let _ = write!(expires, "{}", p.expires);
        let [
            algorithm,
            credential_name,
            date_name,
            expires_name,
            signed_name,
            token_name,
            _,
        ] = names.params;
        params.push(param(algorithm, names.algorithm));
        params.push(param(credential_name, &credential));
        params.push(param(date_name, &stamp));
        params.push(param(expires_name, &expires));
        params.push(param(signed_name, &signed_headers));
        if let Some(token) = &creds.session_token {
            params.push(param(token_name, token));
        }
        let mut url = String::with_capacity(
            p.scheme.len()
                + host.len()
                + path.len()
                + params
                    .iter()
                    .map(|q| q.name.len() + q.value.len() + 2)
                    .sum::<usize>()
                + 90,
        );
        url.push_str(p.scheme);
        url.push_str("://");
        url.push_str(host);
        url.push_str(&path);
        for (i, q) in params.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(&q.name);
            url.push('=');
            url.push_str(&q.value);
        }
        params.sort_by(|a, b| (&a.name, &a.value).cmp(&(&b.name, &b.value)));
        // The canonical request, streamed into SHA-256.
        let mut h = Sha256::new();
        h.update(p.method.as_str());
        h.update(b"\n");
        h.update(&path);
        h.update(b"\n");
        for (i, q) in params.iter().enumerate() {
            if i > 0 {
                h.update(b"&");
            }
            h.update(&q.name);
            h.update(b"=");
            h.update(&q.value);
        }
        h.update(b"\n");
        for (n, v) in &headers {
            h.update(n);
            h.update(b":");
            h.update(v);
            h.update(b"\n");
        }
        h.update(b"\n");
        h.update(&signed_headers);
        h.update(b"\nUNSIGNED-PAYLOAD");
        let canonical_request_hash = portcullis_core::encoding::hex(&h.finalize());
        let mut mac = self.mac(&date, p.region);
        for part in [
            names.algorithm,
            "\n",
            &stamp,
            "\n",
            &date,
            "/",
            p.region,
            "/",
            names.service,
            "/",
            names.terminator,
            "\n",
            &canonical_request_hash,
        ] {
            mac.update(part.as_bytes());
        }
        let signature = mac.finalize().into_bytes();
        url.push_str(names.params[6]);
        for b in signature {
            url.push(hex_digit(b >> 4, false));
            url.push(hex_digit(b, false));
        }
        headers.retain(|(n, _)| n != "host");
        Ok(Presigned {
            url,
            headers,
            canonical_request_hash,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn creds(token: Option<&str>) -> Credentials {
        Credentials {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret: Secret::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into()),
            session_token: token.map(str::to_owned),
        }
    }

    #[test]
    fn goog4_renames_every_parameter_and_takes_no_token() {
        let key = ObjectKey::parse("a b.txt").unwrap();
        let p = Presign {
            method: Method::Get,
            scheme: "https",
            host: "storage.googleapis.com",
            bucket: "b",
            key: &key,
            style: Style::Path,
            region: "auto",
            time: 1_369_353_600,
            expires: 60,
            query: &[],
            headers: &[],
        };
        let c = creds(None);
        let goog = Signer::with_algorithm(&c, Algorithm::Goog4)
            .presign(&p)
            .unwrap();
        let aws = Signer::new(&c).presign(&p).unwrap();
        assert!(!goog.url.contains("X-Amz-"), "{}", goog.url);
        assert!(goog.url.starts_with(
            "https://storage.googleapis.com/b/a%20b.txt?X-Goog-Algorithm=GOOG4-HMAC-SHA256\
             &X-Goog-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fauto%2Fstorage%2Fgoog4_request\
             &X-Goog-Date=20130524T000000Z&X-Goog-Expires=60&X-Goog-SignedHeaders=host\
             &X-Goog-Signature="
        ));
        // Another key chain and scope: another signature.
        assert_ne!(goog.url.rsplit('=').next(), aws.url.rsplit('=').next());
        let t = creds(Some("token"));
        assert_eq!(
            Signer::with_algorithm(&t, Algorithm::Goog4).presign(&p),
            Err(SignError::SessionToken)
        );
    }

    #[test]
    fn a_reused_signer_follows_days_regions_and_times() {
        // One signer through a sequence that changes the day, the region and the second (and
        // back): each URL equals a fresh signer's, so no cached key or date outlives its inputs.
        let key = ObjectKey::parse("k/ü.txt").unwrap();
        let c = creds(Some("tok"));
        let day = 1_796_000_000;
        let steps = [
            (day, "us-east-1"),
            (day, "us-east-1"),
            (day + 1, "us-east-1"),
            (day + 1, "eu-west-1"),
            (day + 86_400, "eu-west-1"),
            (day + 86_400, "us-east-1"),
            (day, "us-east-1"),
            (day - 86_400, "auto"),
        ];
        let mut reused = Signer::new(&c);
        let mut seen = Vec::new();
        for (time, region) in steps {
            let p = Presign {
                method: Method::Get,
                scheme: "https",
                host: "s3.example.com",
                bucket: "b",
                key: &key,
                style: Style::Path,
                region,
                time,
                expires: 60,
                query: &[],
                headers: &[],
            };
            let url = reused.presign(&p).unwrap().url;
            assert_eq!(
                url,
                Signer::new(&c).presign(&p).unwrap().url,
                "{time} {region}"
            );
            seen.push(url);
        }
        // The steps that change something change the signature.
        seen.dedup();
        assert_eq!(seen.len(), steps.len() - 1);
    }

    #[test]
    fn the_aws_documentation_vector() {
        // GET https://examplebucket.s3.amazonaws.com/test.txt at 20130524T000000Z, 86400 s.
        let key = ObjectKey::parse("test.txt").unwrap();
        let p = presign(
            &creds(None),
            &Presign {
                method: Method::Get,
                scheme: "https",
                host: "s3.amazonaws.com",
                bucket: "examplebucket",
                key: &key,
                style: Style::VirtualHost,
                region: "us-east-1",
                time: 1_369_353_600,
                expires: 86_400,
                query: &[],
                headers: &[],
            },
        )
        .unwrap();
        assert_eq!(
            p.canonical_request_hash,
            "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04"
        );
        assert_eq!(
            p.url,
            "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
             &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
             &X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        );
        assert!(p.headers.is_empty());
    }

    #[test]
    fn keys_are_encoded_once_and_never_normalised() {
        let mut out = String::new();
        uri_encode(&mut out, "a b+c%20(1)!/ü~._-", true);
        assert_eq!(out, "a%20b%2Bc%2520%281%29%21/%C3%BC~._-");
        let mut q = String::new();
        uri_encode(&mut q, "a/b=c&d", false);
        assert_eq!(q, "a%2Fb%3Dc%26d");
        let key = ObjectKey::parse("dir/...x/a b").unwrap();
        let p = presign(
            &creds(Some("tok/en+=")),
            &Presign {
                method: Method::Put,
                scheme: "http",
                host: "127.0.0.1:9000",
                bucket: "bkt",
                key: &key,
                style: Style::Path,
                region: "auto",
                time: 1_369_353_600,
                expires: 1,
                query: &[("response-content-type", "text/plain; charset=utf-8")],
                headers: &[("content-type", "  text/plain   ")],
            },
        )
        .unwrap();
        // botocore 1.44.8 presigns exactly this (tests/oracles/botocore_presign.py).
        assert_eq!(
            p.url,
            "http://127.0.0.1:9000/bkt/dir/...x/a%20b?response-content-type=text%2Fplain%3B%20charset%3Dutf-8\
             &X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fauto%2Fs3%2Faws4_request\
             &X-Amz-Date=20130524T000000Z&X-Amz-Expires=1&X-Amz-SignedHeaders=content-type%3Bhost\
             &X-Amz-Security-Token=tok%2Fen%2B%3D\
             &X-Amz-Signature=27a71da2360b860e33fddf8678c53ed055b2ad26a7b1c6229394db1c8b21dd2d"
        );
        assert!(
            p.url.contains("&X-Amz-Security-Token=tok%2Fen%2B%3D&"),
            "{}",
            p.url
        );
        assert!(
            p.url.contains("X-Amz-SignedHeaders=content-type%3Bhost"),
            "{}",
            p.url
        );
        assert!(
            p.url
                .contains("response-content-type=text%2Fplain%3B%20charset%3Dutf-8")
        );
        assert_eq!(
            p.headers,
            vec![("content-type".to_owned(), "text/plain".to_owned())]
        );
    }

    #[test]
    fn out_of_range_requests_are_refused() {
        let key = ObjectKey::parse("k").unwrap();
        let base = Presign {
            method: Method::Get,
            scheme: "https",
            host: "h",
            bucket: "b",
            key: &key,
            style: Style::Path,
            region: "r",
            time: 0,
            expires: 604_800,
            query: &[],
            headers: &[],
        };
        assert!(presign(&creds(None), &base).is_ok());
        for expires in [0, 604_801] {
            let p = Presign {
                expires,
                ..base.clone()
            };
            assert_eq!(presign(&creds(None), &p), Err(SignError::Expires));
        }
        let p = Presign {
            time: -1,
            ..base.clone()
        };
        assert_eq!(presign(&creds(None), &p), Err(SignError::Time));
        for name in ["Host", "host", "a b", ""] {
            let h = [(name, "v")];
            let p = Presign {
                headers: &h,
                ..base.clone()
            };
            assert_eq!(
                presign(&creds(None), &p),
                Err(SignError::HeaderName),
                "{name}"
            );
        }
    }

    #[test]
    fn dates_are_utc_civil() {
        assert_eq!(amz_dates(0).unwrap().1, "19700101T000000Z");
        assert_eq!(amz_dates(951_782_400).unwrap().1, "20000229T000000Z");
        assert_eq!(amz_dates(1_796_000_000).unwrap().1, "20261130T005320Z");
        assert_eq!(amz_dates(253_402_300_799).unwrap().1, "99991231T235959Z");
    }
}
