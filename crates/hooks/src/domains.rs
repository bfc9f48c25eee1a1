//! E-mail domains: normalisation, suffix matching (a domain covers its subdomains) and the
//! shipped disposable-domain blocklist, searched in place.

use std::cmp::Ordering;

/// The blocklist: sorted, lowercase, one domain per line (see `data/README.md`).
const DISPOSABLE: &str = include_str!("../data/disposable_domains.txt");

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
    suffixes(domain).any(contains_line)
}

/// Number of domains on the shipped blocklist.
#[must_use]
pub fn disposable_count() -> usize {
    DISPOSABLE.lines().count()
}

/// Binary search for a whole line equal to `needle` in the sorted blob, without an index:
/// probe the middle byte, back up to its line start, compare, halve.
fn contains_line(needle: &str) -> bool {
    let blob = DISPOSABLE.as_bytes();
    let (mut lo, mut hi) = (0usize, blob.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let start = blob
            .get(lo..mid)
            .and_then(|s| s.iter().rposition(|&b| b == b'\n'))
            .map_or(lo, |p| lo + p + 1);
        let end = blob
            .get(start..)
            .and_then(|s| s.iter().position(|&b| b == b'\n'))
            .map_or(blob.len(), |p| start + p);
        let Some(line) = blob.get(start..end) else {
            return false;
        };
        match line.cmp(needle.as_bytes()) {
            Ordering::Equal => return true,
            Ordering::Less => lo = end + 1,
            Ordering::Greater => hi = start,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocklist_is_sorted_unique_lowercase() {
        let lines: Vec<&str> = DISPOSABLE.lines().collect();
        assert!(lines.len() > 5_000);
        assert!(lines.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
        assert!(
            lines
                .iter()
                .all(|l| normalize_domain(l).as_deref() == Ok(*l))
        );
    }

    #[test]
    fn every_listed_domain_is_found_and_neighbours_are_not() {
        for line in DISPOSABLE.lines() {
            assert!(contains_line(line), "{line}");
            assert!(!contains_line(&format!("{line}x")), "{line}x");
        }
        assert!(!contains_line(""));
        assert!(!contains_line("gmail.com"));
        assert!(!contains_line("zzzzzzzzzz.zz"));
        assert!(!contains_line("0"));
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
