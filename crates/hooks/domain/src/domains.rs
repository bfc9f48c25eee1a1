//! E-mail domains: normalisation, suffix matching (a domain covers its subdomains) and sorted
//! domain lists searched in place (the disposable-domain blocklist).

use std::cmp::Ordering;
use std::sync::Arc;

/// Name of the host asset holding the disposable-domain blocklist: one lowercase domain per
/// line, sorted bytewise (see `data/README.md`).
pub const DISPOSABLE_ASSET: &str = "disposable_domains.txt";

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

/// A sorted list of domains, searched in place: no index, no start-up cost beyond one
/// validation pass.
#[derive(Clone, Debug)]
pub struct DomainList(Arc<str>);

impl DomainList {
    /// Takes one lowercase domain per line, sorted bytewise and without duplicates.
    ///
    /// # Errors
    /// A description of the first line out of order or not a domain.
    pub fn from_text(text: impl Into<Arc<str>>) -> Result<Self, String> {
        let text: Arc<str> = text.into();
        let mut previous: Option<&str> = None;
        for (n, line) in text.lines().enumerate() {
            if normalize_domain(line).as_deref() != Ok(line) {
                return Err(format!("line {}: not a lowercase domain", n + 1));
            }
            if previous.is_some_and(|p| p >= line) {
                return Err(format!("line {}: not sorted or duplicated", n + 1));
            }
            previous = Some(line);
        }
        Ok(Self(text))
    }

    /// Number of domains.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.lines().count()
    }

    /// Whether the list is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `domain` or one of its parent domains is listed.
    #[must_use]
    pub fn covers(&self, domain: &str) -> bool {
        suffixes(domain).any(|s| self.contains_line(s))
    }

    /// Binary search for a whole line equal to `needle`: probe the middle byte, back up to its
    /// line start, compare, halve.
    fn contains_line(&self, needle: &str) -> bool {
        let blob = self.0.as_bytes();
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
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = include_str!("../data/disposable_domains.txt");

    fn shipped() -> DomainList {
        DomainList::from_text(SOURCE).unwrap()
    }

    #[test]
    fn shipped_list_is_valid() {
        assert!(shipped().len() > 5_000);
    }

    #[test]
    fn every_listed_domain_is_found_and_neighbours_are_not() {
        let list = shipped();
        let set: std::collections::HashSet<&str> = SOURCE.lines().collect();
        for line in SOURCE.lines() {
            assert!(list.contains_line(line), "{line}");
            for near in [format!("x{line}"), format!("{line}x"), line[1..].to_owned()] {
                assert_eq!(
                    list.contains_line(&near),
                    set.contains(near.as_str()),
                    "{near}"
                );
            }
        }
        for absent in ["", "gmail.com", "zzzzzzzzzz.zz", "0", "com", "a"] {
            assert!(!list.contains_line(absent), "{absent}");
        }
    }

    #[test]
    fn subdomains_of_listed_domains_are_covered() {
        let list = shipped();
        assert!(list.covers("mailinator.com"));
        assert!(list.covers("eu.mailinator.com"));
        assert!(!list.covers("xmailinator.com"));
        assert!(!list.covers("gmail.com"));
        assert!(!list.covers("example.com"));
    }

    #[test]
    fn malformed_lists_are_refused() {
        assert!(
            DomainList::from_text("b.com\na.com\n")
                .unwrap_err()
                .contains("line 2")
        );
        assert!(
            DomainList::from_text("a.com\na.com\n")
                .unwrap_err()
                .contains("line 2")
        );
        assert!(
            DomainList::from_text("A.com\n")
                .unwrap_err()
                .contains("line 1")
        );
        assert!(DomainList::from_text("").unwrap().is_empty());
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
