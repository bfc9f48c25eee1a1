//! The first step: an untrusted compact JWS, checked for shape before any key is looked at.

use std::fmt;

use portcullis_core::encoding::base64url_decode;
use portcullis_core::json::scan::{object_members, raw_string};

use crate::Refusal;

/// Tokens longer than this are refused unread (spec: 8 KiB).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The algorithm a token's header names, when it is one we know.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Alg {
    /// HMAC-SHA-256 with the project's legacy secret.
    Hs256,
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// Ed25519 (`EdDSA`, or the fully specified `Ed25519` of RFC 9864).
    EdDsa,
}

impl Alg {
    /// The JWS `alg` name we write.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
            Self::EdDsa => "EdDSA",
        }
    }

    fn parse(name: &str) -> Result<Self, Refusal> {
        match name {
            "HS256" => Ok(Self::Hs256),
            "ES256" => Ok(Self::Es256),
            "RS256" => Ok(Self::Rs256),
            "EdDSA" | "Ed25519" => Ok(Self::EdDsa),
            _ if name.eq_ignore_ascii_case("none") => Err(Refusal::AlgNone),
            _ => Err(Refusal::AlgUnsupported),
        }
    }
}

/// Header members that are refused wherever they appear: extensions we do not implement
/// (`crit`, `b64`) and keys or key locations carried by the token itself, which are never
/// followed and never trusted.
const FORBIDDEN_HEADER: [&str; 6] = ["crit", "b64", "jwk", "jku", "x5u", "x5c"];

/// Registered header members (RFC 7515 §4.1) that are strings when present.
const STRING_HEADER: [&str; 4] = ["typ", "cty", "x5t", "x5t#S256"];

/// A compact JWS whose shape is valid: three canonical base64url segments, a JSON-object
/// header without duplicate or forbidden members naming an algorithm we know, and a JSON-object
/// payload. Nothing about it is trusted yet.
#[derive(Clone)]
pub struct UntrustedToken<'a> {
    raw: &'a str,
    signing_input: &'a str,
    alg: Alg,
    kid: Option<String>,
    payload: String,
    signature: Vec<u8>,
}

impl fmt::Debug for UntrustedToken<'_> {
    /// The token itself is a bearer credential: only its header facts print.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UntrustedToken")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("len", &self.raw.len())
            .finish_non_exhaustive()
    }
}

fn segment_chars_ok(segment: &str) -> bool {
    !segment.is_empty()
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl<'a> UntrustedToken<'a> {
    /// Checks the shape of `raw`.
    ///
    /// What a verifier of other people's tokens needs: a size bound, three segments in the
    /// exact alphabet (no padding, `+`, `/` or whitespace) and canonical base64url, a header
    /// without duplicate or forbidden members whose `alg` is one we know and whose registered
    /// members are strings, and a payload that must be a JSON object. Each segment is decoded
    /// once (see the crate docs for why this is not jwt-compact's parser).
    ///
    /// # Errors
    /// The [`Refusal`] naming the first problem found.
    pub fn parse(raw: &'a str) -> Result<Self, Refusal> {
        if raw.len() > MAX_TOKEN_BYTES {
            return Err(Refusal::TooLarge);
        }
        let mut parts = raw.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Refusal::Malformed);
        };
        // An empty signature is left to the algorithm checks (`alg: none` tokens have one).
        if !segment_chars_ok(header_b64)
            || !segment_chars_ok(payload_b64)
            || !(signature_b64.is_empty() || segment_chars_ok(signature_b64))
        {
            return Err(Refusal::Malformed);
        }
        // The header is a few dozen bytes: one scan gives every member, for duplicates and
        // forbidden members as well as `alg` and `kid`.
        let header = base64url_decode(header_b64).map_err(|_| Refusal::Malformed)?;
        let header = std::str::from_utf8(&header).map_err(|_| Refusal::Malformed)?;
        let members = object_members(header).map_err(|_| Refusal::Malformed)?;
        let mut alg = None;
        let mut kid = None;
        for (i, (key, value)) in members.iter().enumerate() {
            if members.iter().skip(i + 1).any(|(other, _)| other == key) {
                return Err(Refusal::DuplicateHeader);
            }
            if FORBIDDEN_HEADER.contains(&key.as_ref()) {
                return Err(Refusal::ForbiddenHeader);
            }
            let text = || raw_string(value).ok_or(Refusal::Malformed);
            match key.as_ref() {
                "alg" => alg = Some(Alg::parse(&text()?)?),
                "kid" => kid = Some(text()?.into_owned()),
                // The other registered members we read nothing from must still be strings.
                name if STRING_HEADER.contains(&name) => {
                    text()?;
                }
                _ => {}
            }
        }
        let alg = alg.ok_or(Refusal::Malformed)?;
        let payload = base64url_decode(payload_b64).map_err(|_| Refusal::Malformed)?;
        let payload = String::from_utf8(payload).map_err(|_| Refusal::Malformed)?;
        if !payload.trim_start().starts_with('{') {
            return Err(Refusal::Malformed);
        }
        let signature = base64url_decode(signature_b64).map_err(|_| Refusal::Malformed)?;
        let signing_input = raw
            .get(..header_b64.len() + 1 + payload_b64.len())
            .ok_or(Refusal::Malformed)?;
        Ok(Self {
            raw,
            signing_input,
            alg,
            kid,
            signature,
            payload,
        })
    }

    /// The token as received.
    #[must_use]
    pub const fn as_str(&self) -> &'a str {
        self.raw
    }

    /// The algorithm the header names (a claim, not a choice: keys fix their algorithm).
    #[must_use]
    pub const fn alg(&self) -> Alg {
        self.alg
    }

    /// The header's `kid`.
    #[must_use]
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// `header.payload`, the bytes the signature covers.
    #[must_use]
    pub const fn signing_input(&self) -> &'a str {
        self.signing_input
    }

    /// The decoded signature.
    #[must_use]
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The decoded payload (JSON text, not yet validated as claims).
    #[must_use]
    pub fn payload(&self) -> &str {
        &self.payload
    }

    /// The decoded payload, taken out of the token.
    #[must_use]
    pub fn into_payload(self) -> String {
        self.payload
    }
}
