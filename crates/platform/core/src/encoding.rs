//! Strict encoders and decoders: standard base64 (RFC 4648 §4, canonical padding), base64url
//! without padding (RFC 4648 §5, as JWTs use it), and lowercase hex.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// Input was not valid in the expected encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeError;

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid encoding")
    }
}

impl std::error::Error for DecodeError {}

/// Standard base64 with padding.
#[must_use]
pub fn base64_encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Appends standard base64 with padding to `out`.
pub fn base64_encode_into(bytes: &[u8], out: &mut String) {
    STANDARD.encode_string(bytes, out);
}

/// Decodes standard base64; padding required, non-canonical trailing bits rejected.
///
/// # Errors
/// [`DecodeError`] on any deviation.
pub fn base64_decode(text: &str) -> Result<Vec<u8>, DecodeError> {
    STANDARD.decode(text).map_err(|_| DecodeError)
}

/// Decodes standard base64 into a fixed-size buffer, returning the number of bytes written.
/// No allocation: for hot paths that decode short values (signatures).
///
/// # Errors
/// [`DecodeError`] when the text is invalid or does not fit.
pub fn base64_decode_slice(text: &str, out: &mut [u8]) -> Result<usize, DecodeError> {
    STANDARD.decode_slice(text, out).map_err(|_| DecodeError)
}

/// base64url without padding (JWT segments).
#[must_use]
pub fn base64url_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding.
///
/// # Errors
/// [`DecodeError`] on padding, standard-alphabet characters or other deviations.
pub fn base64url_decode(text: &str) -> Result<Vec<u8>, DecodeError> {
    URL_SAFE_NO_PAD.decode(text).map_err(|_| DecodeError)
}

/// Lowercase hex.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    let digit = |n: u8| char::from(if n < 10 { b'0' + n } else { b'a' + n - 10 });
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(digit(b >> 4));
        out.push(digit(b & 0x0f));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_and_is_strict() {
        assert_eq!(base64_encode(b"hi?"), "aGk/");
        assert_eq!(base64_decode("aGk/").unwrap(), b"hi?");
        assert_eq!(
            base64_decode("aGk"),
            Err(DecodeError),
            "padding is required"
        );
        assert_eq!(
            base64_decode("aGk_"),
            Err(DecodeError),
            "url alphabet is rejected"
        );
        assert_eq!(base64_decode("aGk="), Ok(b"hi".to_vec()));
        assert_eq!(
            base64_decode("aGl="),
            Err(DecodeError),
            "non-canonical trailing bits"
        );
        assert_eq!(base64_decode(" aGk/"), Err(DecodeError));
    }

    #[test]
    fn base64url_has_no_padding() {
        assert_eq!(base64url_encode(b"hi?"), "aGk_");
        assert_eq!(base64url_decode("aGk_").unwrap(), b"hi?");
        assert_eq!(base64url_decode("aGk/"), Err(DecodeError));
        assert_eq!(base64url_decode("aGk="), Err(DecodeError));
    }

    #[test]
    fn decode_slice_reports_overflow() {
        let mut buf = [0u8; 2];
        assert_eq!(base64_decode_slice("aGk/", &mut buf), Err(DecodeError));
        let mut buf = [0u8; 3];
        assert_eq!(base64_decode_slice("aGk/", &mut buf), Ok(3));
    }

    #[test]
    fn hex_is_lowercase() {
        assert_eq!(hex(&[0x00, 0xab, 0xff]), "00abff");
    }
}
