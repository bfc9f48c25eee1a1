//! E-mail domains: normalisation, suffix matching (a domain covers its subdomains) and the
//! shipped disposable-domain blocklist, searched in place.

use std::cmp::Ordering;

/// The blocklist, encoded by `build.rs`: reversed domains, front-coded in blocks of 16.
const BLOB: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/disposable.bin"));
/// Little-endian `u32` offset of each block in [`BLOB`].
const INDEX: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/disposable.idx"));
/// Number of domains on the list.
const COUNT: &str = include_str!(concat!(env!("OUT_DIR"), "/disposable.count"));

/// The lowercase domain of an e-mail address (text after the last `@`, trailing dot removed).
#[must_use]
pub fn email_domain(email: &str) -> Option<String> {
    let (local, domain) = email.trim().rsplit_once('@')?;
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    (!local.is_empty() && !domain.is_empty() && !domain.starts_with('.')).then_some(domain)
}

/// Normalises a configured domain (`@Example.COM.` → `example.com`).
///
/// # Errors
/// A description when the text is not a plausible domain.
pub fn normalize_domain(text: &str) -> Result<String, String> {
    let d = text
        .trim()
        .trim_start_matches('@')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let ok = !d.is_empty()
        && d.len() <= 253
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b >= 0x80)
        });
    if ok {
        Ok(d)
    } else {
        Err(format!("`{text}` is not a domain name"))
    }
}

/// `domain` and each parent domain, most specific first: `a.b.c` → `a.b.c`, `b.c`, `c`.
fn suffixes(domain: &str) -> impl Iterator<Item = &str> {
    std::iter::successors(Some(domain), |d| d.split_once('.').map(|(_, rest)| rest))
}

/// Whether `domain` is one of `list` or a subdomain of one.
#[must_use]
pub fn matches_any(domain: &str, list: &[String]) -> bool {
    suffixes(domain).any(|s| list.iter().any(|d| d == s))
}

/// Whether `domain` (or a parent) is on the disposable blocklist.
#[must_use]
pub fn is_disposable(domain: &str) -> bool {
    let mut reversed = Vec::with_capacity(domain.len());
    suffixes(domain).any(|s| {
        reversed.clear();
        reversed.extend(s.bytes().rev());
        contains(&reversed)
    })
}

/// Number of domains on the shipped blocklist.
#[must_use]
pub fn disposable_count() -> usize {
    COUNT.parse().unwrap_or(0)
}

fn block_offset(i: usize) -> Option<usize> {
    let b: [u8; 4] = INDEX.get(i * 4..i * 4 + 4)?.try_into().ok()?;
    usize::try_from(u32::from_le_bytes(b)).ok()
}

/// The first key of block `i` (stored whole: shared length 0).
fn block_head(i: usize) -> Option<&'static [u8]> {
    let at = block_offset(i)?;
    let len = usize::from(*BLOB.get(at + 1)?);
    BLOB.get(at + 2..at + 2 + len)
}

/// Whether the reversed domain `key` is on the list.
fn contains(key: &[u8]) -> bool {
    let blocks = INDEX.len() / 4;
    // The last block whose head is <= key.
    let (mut lo, mut hi) = (0usize, blocks);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match block_head(mid) {
            Some(head) if head <= key => lo = mid + 1,
            _ => hi = mid,
        }
    }
    let Some(block) = lo.checked_sub(1) else {
        return false;
    };
    let (Some(mut at), end) = (
        block_offset(block),
        block_offset(block + 1).unwrap_or(BLOB.len()),
    ) else {
        return false;
    };
    let mut current: Vec<u8> = Vec::with_capacity(64);
    while at < end {
        let (Some(&shared), Some(&len)) = (BLOB.get(at), BLOB.get(at + 1)) else {
            return false;
        };
        let Some(tail) = BLOB.get(at + 2..at + 2 + usize::from(len)) else {
            return false;
        };
        current.truncate(usize::from(shared));
        current.extend_from_slice(tail);
        match current.as_slice().cmp(key) {
            Ordering::Equal => return true,
            Ordering::Greater => return false,
            Ordering::Less => {}
        }
        at += 2 + usize::from(len);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = include_str!("../data/disposable_domains.txt");

    fn listed(domain: &str) -> bool {
        contains(&domain.bytes().rev().collect::<Vec<u8>>())
    }

    #[test]
    fn source_list_is_sorted_unique_lowercase() {
        let lines: Vec<&str> = SOURCE.lines().collect();
        assert!(lines.len() > 5_000);
        assert_eq!(disposable_count(), lines.len());
        assert!(lines.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
        assert!(
            lines
                .iter()
                .all(|l| normalize_domain(l).as_deref() == Ok(*l))
        );
    }

    #[test]
    fn every_listed_domain_is_found_and_neighbours_are_not() {
        let set: std::collections::HashSet<&str> = SOURCE.lines().collect();
        for line in SOURCE.lines() {
            assert!(listed(line), "{line}");
            for near in [format!("x{line}"), format!("{line}x"), line[1..].to_owned()] {
                assert_eq!(listed(&near), set.contains(near.as_str()), "{near}");
            }
        }
        for absent in ["", "gmail.com", "zzzzzzzzzz.zz", "0", "moc", "com", "a"] {
            assert!(!listed(absent), "{absent}");
        }
    }

    #[test]
    fn subdomains_of_listed_domains_are_disposable() {
        assert!(is_disposable("mailinator.com"));
        assert!(is_disposable("eu.mailinator.com"));
        assert!(!is_disposable("xmailinator.com"));
        assert!(!is_disposable("gmail.com"));
        assert!(!is_disposable("example.com"));
    }

    #[test]
    fn email_domains_are_normalised() {
        assert_eq!(
            email_domain("A@Example.COM.").as_deref(),
            Some("example.com")
        );
        assert_eq!(
            email_domain("weird@local@host.io").as_deref(),
            Some("host.io")
        );
        assert_eq!(email_domain("nobody"), None);
        assert_eq!(email_domain("@example.com"), None);
        assert_eq!(email_domain("a@"), None);
    }

    #[test]
    fn allow_lists_cover_subdomains_only() {
        let list = vec!["example.com".to_owned()];
        assert!(matches_any("example.com", &list));
        assert!(matches_any("eu.example.com", &list));
        assert!(!matches_any("badexample.com", &list));
        assert!(!matches_any("example.com.evil.io", &list));
        assert_eq!(
            normalize_domain("@Example.COM.").as_deref(),
            Ok("example.com")
        );
        assert!(normalize_domain("exa mple.com").is_err());
        assert!(normalize_domain("a..b").is_err());
    }
}
