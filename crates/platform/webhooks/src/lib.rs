//! Standard Webhooks, symmetric `v1` (HMAC-SHA256), as Supabase Auth signs its HTTP hooks.
//!
//! # Design
//! - Sans-io: the caller passes the three header values, the raw body bytes and `now`.
//! - Trust boundary as types: an [`UntrustedWebhook`] becomes a [`VerifiedWebhook`] only
//!   through [`SecretSet::verify`]; handlers take the verified type.
//! - Each configured secret is keyed once at start-up (the HMAC inner/outer pads are
//!   precomputed), so a verification costs one pass over the body per secret, with no
//!   allocation.
//!
//! # Threat model
//! - Forged or replayed requests: every candidate signature is compared in constant time
//!   against every configured secret; timestamps further than [`TOLERANCE_SECS`] from `now`
//!   (either direction) are rejected before any MAC is computed.
//! - The MAC covers the raw bytes received, never a re-serialisation (Go escapes `<`, `>`,
//!   `&`; a round trip through a JSON parser would not reproduce the signed bytes).
//! - Resource exhaustion: at most [`MAX_SIGNATURES`] candidates are examined; ids are
//!   bounded; the caller bounds the body size.
//! - Secrets are held in zeroising types and never appear in `Debug` output or errors.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use portcullis_core::encoding::{base64_decode, base64_decode_slice, base64_encode_into};
use portcullis_core::{Secret, UnixTime};
use sha2::Sha256;
use subtle::{Choice, ConstantTimeEq};

/// Largest accepted distance between the `webhook-timestamp` and now, in seconds.
pub const TOLERANCE_SECS: u64 = 5 * 60;
/// Most signatures examined from one `webhook-signature` header.
pub const MAX_SIGNATURES: usize = 16;
/// Longest accepted `webhook-id`, in bytes.
pub const MAX_ID_LEN: usize = 256;
/// Shortest accepted secret, in decoded bytes (what the Supabase CLI enforces: 32 base64 chars).
pub const MIN_SECRET_LEN: usize = 24;

type HmacSha256 = Hmac<Sha256>;

/// One signing secret (`v1,whsec_<base64>`), keyed for HMAC-SHA256.
#[derive(Clone)]
pub struct SigningSecret {
    keyed: HmacSha256,
    raw: Secret<Vec<u8>>,
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret([REDACTED])")
    }
}

impl SigningSecret {
    /// Parses `v1,whsec_<base64>`; the `v1,` and `whsec_` prefixes are each optional.
    ///
    /// # Errors
    /// [`SecretError`] without the secret's text.
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let text = text.trim();
        let text = match text.split_once(',') {
            Some(("v1", rest)) => rest,
            Some(_) => return Err(SecretError::UnsupportedScheme),
            None => text,
        };
        let b64 = text.strip_prefix("whsec_").unwrap_or(text);
        let key = base64_decode(b64).map_err(|_| SecretError::NotBase64)?;
        Self::from_bytes(key)
    }

    /// A secret from raw key bytes.
    ///
    /// # Errors
    /// [`SecretError::TooShort`] below [`MIN_SECRET_LEN`] bytes.
    pub fn from_bytes(key: Vec<u8>) -> Result<Self, SecretError> {
        let key = Secret::new(key);
        if key.len() < MIN_SECRET_LEN {
            return Err(SecretError::TooShort { len: key.len() });
        }
        let keyed = HmacSha256::new_from_slice(key.expose()).map_err(|_| SecretError::NotBase64)?;
        Ok(Self { keyed, raw: key })
    }

    /// The secret in its canonical text form, `v1,whsec_<base64>`: for generating and
    /// printing a new secret once, never for logs.
    #[must_use]
    pub fn to_config_text(&self) -> Secret<String> {
        let mut out = String::from("v1,whsec_");
        base64_encode_into(self.raw.expose(), &mut out);
        Secret::new(out)
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
        let mut mac = self.keyed.clone();
        let mut digits = [0u8; 20];
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(decimal(timestamp, &mut digits));
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().into()
    }

    /// The `v1,<base64>` signature of a message.
    #[must_use]
    pub fn sign(&self, id: &str, timestamp: UnixTime, body: &[u8]) -> String {
        let mut out = String::with_capacity(47);
        out.push_str("v1,");
        base64_encode_into(&self.mac(id, timestamp.secs(), body), &mut out);
        out
    }
}

/// Canonical decimal of `n` (as the reference library re-serialises the timestamp), without
/// allocating. Negative values are written as their magnitude with a leading `-`.
fn decimal(n: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut v = n.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        if let Some(slot) = buf.get_mut(i) {
            *slot = b'0' + (v % 10) as u8;
        }
        v /= 10;
        if v == 0 || i == 1 {
            break;
        }
    }
    if n < 0 {
        i -= 1;
        if let Some(slot) = buf.get_mut(i) {
            *slot = b'-';
        }
    }
    buf.get(i..).unwrap_or_default()
}

/// The secrets a receiver accepts: one or more, `|`-separated in configuration (rotation).
#[derive(Clone, Debug)]
pub struct SecretSet {
    secrets: Vec<SigningSecret>,
}

impl SecretSet {
    /// Parses `v1,whsec_…|v1,whsec_…`. Empty parts are ignored; at least one is required.
    ///
    /// # Errors
    /// [`SecretSetError`] naming the 1-based position of the bad secret, never its text.
    pub fn parse(text: &str) -> Result<Self, SecretSetError> {
        let mut secrets = Vec::new();
        for (i, part) in text.split('|').enumerate() {
            if part.trim().is_empty() {
                continue;
            }
            let secret = SigningSecret::parse(part).map_err(|error| SecretSetError::Secret {
                position: i + 1,
                error,
            })?;
            secrets.push(secret);
        }
        if secrets.is_empty() {
            return Err(SecretSetError::Empty);
        }
        Ok(Self { secrets })
    }

    /// A set of one secret.
    #[must_use]
    pub fn single(secret: SigningSecret) -> Self {
        Self {
            secrets: vec![secret],
        }
    }

    /// The secrets, in configuration order.
    #[must_use]
    pub fn secrets(&self) -> &[SigningSecret] {
        &self.secrets
    }

    /// The `webhook-signature` header value a sender with these secrets would send:
    /// every signature, joined with `", "`.
    #[must_use]
    pub fn sign(&self, id: &str, timestamp: UnixTime, body: &[u8]) -> String {
        let sigs: Vec<String> = self
            .secrets
            .iter()
            .map(|s| s.sign(id, timestamp, body))
            .collect();
        sigs.join(", ")
    }

    /// Verifies a request as Standard Webhooks prescribes.
    ///
    /// # Errors
    /// [`VerifyError`] saying which check failed.
    pub fn verify<'a>(
        &self,
        message: UntrustedWebhook<'a>,
        now: UnixTime,
    ) -> Result<VerifiedWebhook<'a>, VerifyError> {
        let id = message.id.ok_or(VerifyError::MissingId)?.trim();
        if id.is_empty() || id.len() > MAX_ID_LEN {
            return Err(VerifyError::InvalidId);
        }
        let timestamp = parse_timestamp(message.timestamp.ok_or(VerifyError::MissingTimestamp)?)?;
        let skew = timestamp.secs().saturating_sub(now.secs());
        if skew.unsigned_abs() > TOLERANCE_SECS {
            return Err(if skew < 0 {
                VerifyError::TimestampTooOld
            } else {
                VerifyError::TimestampTooNew
            });
        }
        let header = message.signature.unwrap_or("");
        if header.trim().is_empty() {
            return Err(VerifyError::MissingSignature);
        }
        let mut candidates = [[0u8; 32]; MAX_SIGNATURES];
        let mut count = 0;
        for token in header.split_ascii_whitespace() {
            if count == MAX_SIGNATURES {
                break;
            }
            let token = token.strip_suffix(',').unwrap_or(token);
            let Some(b64) = token.strip_prefix("v1,") else {
                continue; // another scheme (e.g. v1a); not ours to check
            };
            // Decoding needs headroom beyond the 32 bytes a valid signature holds.
            let mut buf = [0u8; 48];
            if base64_decode_slice(b64, &mut buf) == Ok(32)
                && let (Some(slot), Some(sig)) = (candidates.get_mut(count), buf.get(..32))
            {
                slot.copy_from_slice(sig);
                count += 1;
            }
        }
        let candidates = candidates.get(..count).unwrap_or_default();
        let mut matched = Choice::from(0);
        for secret in &self.secrets {
            let expected = secret.mac(id, timestamp.secs(), message.body);
            for candidate in candidates {
                matched |= expected.ct_eq(candidate);
            }
        }
        if bool::from(matched) {
            Ok(VerifiedWebhook {
                id,
                timestamp,
                body: message.body,
            })
        } else {
            Err(VerifyError::NoMatchingSignature)
        }
    }
}

/// Strict decimal unix seconds: ASCII digits only, at most 12 of them.
fn parse_timestamp(text: &str) -> Result<UnixTime, VerifyError> {
    let text = text.trim();
    if text.is_empty() || text.len() > 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VerifyError::InvalidTimestamp);
    }
    text.parse::<i64>()
        .map(UnixTime::from_secs)
        .map_err(|_| VerifyError::InvalidTimestamp)
}

/// A request as received: header values (absent headers as `None`) and the raw body.
#[derive(Clone, Copy, Debug)]
pub struct UntrustedWebhook<'a> {
    /// `webhook-id`.
    pub id: Option<&'a str>,
    /// `webhook-timestamp`.
    pub timestamp: Option<&'a str>,
    /// `webhook-signature`.
    pub signature: Option<&'a str>,
    /// The raw request body.
    pub body: &'a [u8],
}

/// A request whose signature and timestamp checked out.
#[derive(Clone, Copy, Debug)]
pub struct VerifiedWebhook<'a> {
    id: &'a str,
    timestamp: UnixTime,
    body: &'a [u8],
}

impl<'a> VerifiedWebhook<'a> {
    /// `webhook-id` (new on every delivery attempt; not a de-duplication key).
    #[must_use]
    pub fn id(&self) -> &'a str {
        self.id
    }

    /// `webhook-timestamp`.
    #[must_use]
    pub fn timestamp(&self) -> UnixTime {
        self.timestamp
    }

    /// The authenticated body bytes.
    #[must_use]
    pub fn body(&self) -> &'a [u8] {
        self.body
    }
}

/// Why a secret could not be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretError {
    /// The secret names a scheme other than `v1` (e.g. the asymmetric `v1a`).
    UnsupportedScheme,
    /// The key part is not standard base64 with padding.
    NotBase64,
    /// The key is shorter than [`MIN_SECRET_LEN`] bytes.
    TooShort {
        /// Decoded length.
        len: usize,
    },
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedScheme => {
                f.write_str("only symmetric `v1,whsec_…` secrets are supported")
            }
            Self::NotBase64 => f.write_str("the part after `whsec_` is not standard base64"),
            Self::TooShort { len } => write!(
                f,
                "the key is {len} bytes; at least {MIN_SECRET_LEN} are required"
            ),
        }
    }
}

impl std::error::Error for SecretError {}

/// Why a secret list could not be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretSetError {
    /// No secret at all.
    Empty,
    /// The secret at `position` (1-based) is unusable.
    Secret {
        /// 1-based position in the `|`-separated list.
        position: usize,
        /// What is wrong with it.
        error: SecretError,
    },
}

impl fmt::Display for SecretSetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => {
                f.write_str("expected one or more `v1,whsec_<base64>` secrets separated by `|`")
            }
            Self::Secret { position, error } => write!(f, "secret #{position}: {error}"),
        }
    }
}

impl std::error::Error for SecretSetError {}

/// Why a request failed verification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyError {
    /// No `webhook-id` header.
    MissingId,
    /// `webhook-id` is empty or longer than [`MAX_ID_LEN`].
    InvalidId,
    /// No `webhook-timestamp` header.
    MissingTimestamp,
    /// `webhook-timestamp` is not decimal unix seconds.
    InvalidTimestamp,
    /// The timestamp is more than [`TOLERANCE_SECS`] in the past (stale or replayed).
    TimestampTooOld,
    /// The timestamp is more than [`TOLERANCE_SECS`] in the future.
    TimestampTooNew,
    /// No or empty `webhook-signature` header (GoTrue sends one when no secret is configured).
    MissingSignature,
    /// No signature matched any configured secret.
    NoMatchingSignature,
}

impl VerifyError {
    /// A stable machine-readable code.
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Self::MissingId => "missing_webhook_id",
            Self::InvalidId => "invalid_webhook_id",
            Self::MissingTimestamp => "missing_webhook_timestamp",
            Self::InvalidTimestamp => "invalid_webhook_timestamp",
            Self::TimestampTooOld => "webhook_timestamp_too_old",
            Self::TimestampTooNew => "webhook_timestamp_too_new",
            Self::MissingSignature => "missing_webhook_signature",
            Self::NoMatchingSignature => "invalid_webhook_signature",
        }
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MissingId => "the webhook-id header is missing",
            Self::InvalidId => "the webhook-id header is empty or too long",
            Self::MissingTimestamp => "the webhook-timestamp header is missing",
            Self::InvalidTimestamp => "the webhook-timestamp header is not unix seconds",
            Self::TimestampTooOld => "the webhook-timestamp is more than 5 minutes old",
            Self::TimestampTooNew => "the webhook-timestamp is more than 5 minutes in the future",
            Self::MissingSignature => "the webhook-signature header is missing or empty",
            Self::NoMatchingSignature => "no webhook signature matches a configured secret",
        })
    }
}

impl std::error::Error for VerifyError {}
