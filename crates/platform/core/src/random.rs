//! Randomness as a dependency: domain code asks a [`SecureRandom`] for bytes; the adapters
//! back it with `crypto.getRandomValues` (JavaScript hosts) or the OS (native).

use std::fmt;

/// A cryptographically secure random source.
pub trait SecureRandom {
    /// Fills `dest` with random bytes.
    ///
    /// # Errors
    /// [`RandomError`] when the platform source is unavailable.
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError>;
}

/// The platform's secure random source failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RandomError;

impl fmt::Display for RandomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("secure random source unavailable")
    }
}

impl std::error::Error for RandomError {}

/// `N` random bytes.
///
/// # Errors
/// [`RandomError`] when the source fails.
pub fn random_array<const N: usize>(rng: &dyn SecureRandom) -> Result<[u8; N], RandomError> {
    let mut out = [0u8; N];
    rng.fill(&mut out)?;
    Ok(out)
}

/// A random (version 4, RFC 9562) UUID in its canonical lowercase text form.
///
/// # Errors
/// [`RandomError`] when the source fails.
pub fn uuid_v4(rng: &dyn SecureRandom) -> Result<String, RandomError> {
    let mut b: [u8; 16] = random_array(rng)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = crate::encoding::hex(&b);
    let mut out = String::with_capacity(36);
    for (i, range) in [0..8, 8..12, 12..16, 16..20, 20..32]
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            out.push('-');
        }
        out.push_str(hex.get(range).unwrap_or_default());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counter;
    impl SecureRandom for Counter {
        fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
            for (i, b) in dest.iter_mut().enumerate() {
                *b = i as u8 * 17;
            }
            Ok(())
        }
    }

    #[test]
    fn uuid_has_version_and_variant_bits() {
        let id = uuid_v4(&Counter).unwrap();
        assert_eq!(id, "00112233-4455-4677-8899-aabbccddeeff");
        assert_eq!(id.len(), 36);
    }
}
