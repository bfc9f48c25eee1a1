//! The first step: an untrusted compact JWS, checked for shape before any key is looked at.

use std::fmt;

use portcullis_core::encoding::base64url_decode;
use portcullis_core::json::scan::object_members;

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
    /// `jwt-compact` parses the compact serialisation (segments, base64url, the registered
    /// header members); around it we add what a verifier of other people's tokens needs:
    /// a size bound, an exact alphabet (no padding, `+`, `/` or whitespace), duplicate and
    /// forbidden header members, and a payload that must be a JSON object.
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
        // The header as text first, for what jwt-compact's typed header cannot tell us
        // (duplicates, unknown members): it is a few dozen bytes.
        let header = base64url_decode(header_b64).map_err(|_| Refusal::Malformed)?;
        let header = std::str::from_utf8(&header).map_err(|_| Refusal::Malformed)?;
        let members = object_members(header).map_err(|_| Refusal::Malformed)?;
        for (i, (key, _)) in members.iter().enumerate() {
            if members.iter().skip(i + 1).any(|(other, _)| other == key) {
                return Err(Refusal::DuplicateHeader);
            }
            if FORBIDDEN_HEADER.contains(&key.as_ref()) {
                return Err(Refusal::ForbiddenHeader);
            }
        }
        let parsed = jwt_compact::UntrustedToken::new(raw).map_err(|_| Refusal::Malformed)?;
        let alg = Alg::parse(parsed.algorithm())?;
        let payload = base64url_decode(payload_b64).map_err(|_| Refusal::Malformed)?;
        let payload = String::from_utf8(payload).map_err(|_| Refusal::Malformed)?;
        if !payload.trim_start().starts_with('{') {
            return Err(Refusal::Malformed);
        }
        let signing_input = raw
            .get(..header_b64.len() + 1 + payload_b64.len())
            .ok_or(Refusal::Malformed)?;
        Ok(Self {
            raw,
            signing_input,
            alg,
            kid: parsed.header().key_id.clone(),
            signature: parsed.signature_bytes().to_vec(),
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
}
