//! The token format, generation, checksum and hashing.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use portcullis_core::encoding::hex;
use portcullis_core::{RandomError, Secret, SecureRandom};
use sha2::{Digest, Sha256};

/// The base62 alphabet, `0-9A-Za-z`.
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Random characters: 30 × log2(62) ≈ 178 bits.
pub const RANDOM_CHARS: usize = 30;
/// Checksum characters (CRC32 in base62, zero-padded).
pub const CHECKSUM_CHARS: usize = 6;

/// Why a prefix is not allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrefixError;

impl fmt::Display for PrefixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "a token prefix is 2 to 24 characters: lowercase letters, digits and `_`, starting with a letter",
        )
    }
}

impl std::error::Error for PrefixError {}

/// The deployment's token prefix, e.g. `acme_pat`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prefix(String);

impl Prefix {
    /// Checks `text`.
    ///
    /// # Errors
    /// [`PrefixError`].
    pub fn new(text: &str) -> Result<Self, PrefixError> {
        let ok = (2..=24).contains(&text.len())
            && text.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && !text.ends_with('_');
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(PrefixError)
        }
    }

    /// The prefix.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The base62 digit of `n % 62`.
fn digit(n: u32) -> u8 {
    BASE62.get((n % 62) as usize).copied().unwrap_or(b'0')
}

/// CRC32 (IEEE) of `random` as 6 base62 characters.
fn checksum(random: &[u8]) -> [u8; CHECKSUM_CHARS] {
    let mut n = crc32fast::hash(random);
    let mut out = [b'0'; CHECKSUM_CHARS];
    for slot in out.iter_mut().rev() {
        *slot = digit(n);
        n /= 62;
    }
    out
}

/// A personal access token in full. Shown once, at creation; never printed.
pub struct Pat(Secret<String>);

impl fmt::Debug for Pat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pat(redacted)")
    }
}

impl Pat {
    /// A new token under `prefix`.
    ///
    /// # Errors
    /// [`RandomError`] when the random source fails.
    pub fn generate(prefix: &Prefix, random: &dyn SecureRandom) -> Result<Self, RandomError> {
        let mut chars = Vec::with_capacity(RANDOM_CHARS);
        let mut pool = [0u8; 64];
        while chars.len() < RANDOM_CHARS {
            random.fill(&mut pool)?;
            // Rejection sampling: 248 = 4 × 62, so every character is equally likely.
            for b in pool.iter().filter(|b| **b < 248) {
                if chars.len() == RANDOM_CHARS {
                    break;
                }
                chars.push(digit(u32::from(*b)));
            }
        }
        let sum = checksum(&chars);
        let mut token = String::with_capacity(prefix.0.len() + 1 + RANDOM_CHARS + CHECKSUM_CHARS);
        token.push_str(&prefix.0);
        token.push('_');
        chars.extend_from_slice(&sum);
        token.extend(chars.iter().map(|b| char::from(*b)));
        Ok(Self(Secret::new(token)))
    }

    /// The token, for the one response that shows it.
    #[must_use]
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

/// Why a string is not one of this deployment's tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FormatError {
    /// Another prefix (or none).
    Prefix,
    /// Wrong length or characters outside base62.
    Shape,
    /// The checksum does not match: a typo or a made-up token.
    Checksum,
}

/// Checks that `raw` is a well-formed token of `prefix` with a valid checksum: no database
/// work is done for anything else.
///
/// # Errors
/// [`FormatError`].
pub fn check(raw: &str, prefix: &Prefix) -> Result<(), FormatError> {
    let body = raw
        .strip_prefix(prefix.as_str())
        .and_then(|r| r.strip_prefix('_'))
        .ok_or(FormatError::Prefix)?;
    let bytes = body.as_bytes();
    if bytes.len() != RANDOM_CHARS + CHECKSUM_CHARS || !bytes.iter().all(u8::is_ascii_alphanumeric)
    {
        return Err(FormatError::Shape);
    }
    let (random, sum) = bytes.split_at(RANDOM_CHARS);
    if checksum(random) == sum {
        Ok(())
    } else {
        Err(FormatError::Checksum)
    }
}

/// What users see of a token after creation: the prefix and its last 4 characters.
#[must_use]
pub fn hint(raw: &str, prefix: &Prefix) -> String {
    let last4 = raw.get(raw.len().saturating_sub(4)..).unwrap_or_default();
    format!("{}_…{last4}", prefix.as_str())
}

/// Hashes tokens for storage and lookup.
pub struct Hasher {
    pepper: Option<Secret<Vec<u8>>>,
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hasher")
            .field("peppered", &self.pepper.is_some())
            .finish()
    }
}

impl Hasher {
    /// SHA-256 of the token, or HMAC-SHA-256 under `pepper` (a server-side secret: a copy
    /// of the table alone then does not let anyone test guesses).
    #[must_use]
    pub fn new(pepper: Option<Vec<u8>>) -> Self {
        Self {
            pepper: pepper.map(Secret::new),
        }
    }

    /// The stored hash of `raw`, lowercase hex.
    #[must_use]
    pub fn hash(&self, raw: &str) -> String {
        match &self.pepper {
            None => hex(&Sha256::digest(raw.as_bytes())),
            Some(pepper) => {
                let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(pepper.expose()) else {
                    // HMAC takes keys of every length; unreachable, and never a plain hash.
                    return String::new();
                };
                mac.update(raw.as_bytes());
                hex(&mac.finalize().into_bytes())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counter(std::cell::Cell<u8>);
    impl SecureRandom for Counter {
        fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
            for b in dest {
                *b = self.0.get();
                self.0.set(self.0.get().wrapping_add(37));
            }
            Ok(())
        }
    }

    #[test]
    fn generated_tokens_check_and_typos_do_not() {
        let p = Prefix::new("acme_pat").unwrap();
        let t = Pat::generate(&p, &Counter(std::cell::Cell::new(0))).unwrap();
        let raw = t.expose().to_owned();
        assert!(raw.starts_with("acme_pat_"));
        assert_eq!(raw.len(), "acme_pat_".len() + 36);
        assert_eq!(check(&raw, &p), Ok(()));
        // Every single-character change is caught by the checksum or the shape.
        for i in "acme_pat_".len()..raw.len() {
            let mut b = raw.clone().into_bytes();
            b[i] = if b[i] == b'a' { b'b' } else { b'a' };
            let typo = String::from_utf8(b).unwrap();
            assert!(check(&typo, &p).is_err(), "{i}");
        }
        assert_eq!(check("ghp_abc", &p), Err(FormatError::Prefix));
        assert_eq!(
            check(&raw.replace("acme_pat", "other_pat"), &p),
            Err(FormatError::Prefix)
        );
        assert_eq!(check(&format!("{raw}x"), &p), Err(FormatError::Shape));
        let mut dash = raw.clone();
        dash.replace_range(raw.len() - 10..raw.len() - 9, "-");
        assert_eq!(check(&dash, &p), Err(FormatError::Shape));
        assert!(!format!("{t:?}").contains(&raw));
        assert_eq!(
            hint(&raw, &p),
            format!("acme_pat_…{}", &raw[raw.len() - 4..])
        );
    }

    #[test]
    fn checksum_is_crc32_in_base62() {
        // CRC32("123456789") = 0xCBF43926 = 3421780262 = "3jZRME" in base62 (0-9A-Za-z).
        assert_eq!(&checksum(b"123456789"), b"3jZRME");
        assert_eq!(&checksum(b""), b"000000");
    }

    #[test]
    fn prefixes() {
        for ok in ["pat", "acme_pat", "a1"] {
            assert!(Prefix::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a",
            "Acme",
            "1pat",
            "pat_",
            "p-t",
            "ghp token",
            &"a".repeat(25),
        ] {
            assert!(Prefix::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hashes() {
        let plain = Hasher::new(None);
        assert_eq!(
            plain.hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let peppered = Hasher::new(Some(b"pepper".to_vec()));
        assert_ne!(peppered.hash("abc"), plain.hash("abc"));
        assert_eq!(peppered.hash("abc").len(), 64);
    }
}
