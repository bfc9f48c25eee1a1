//! Scopes: space-separated names (RFC 6749 §3.3), as a set.

use std::collections::BTreeSet;

/// Why a scope list was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScopeError {
    /// A name with characters outside `[a-z0-9:._-]` or longer than 64.
    BadName,
    /// More than 32 scopes.
    TooMany,
}

/// A set of scope names, e.g. `data:read data:write`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scopes(BTreeSet<String>);

fn name_ok(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b':' | b'.' | b'_' | b'-')
        })
}

impl Scopes {
    /// Parses a space-separated list (repeated names count once).
    ///
    /// # Errors
    /// [`ScopeError`].
    pub fn parse(text: &str) -> Result<Self, ScopeError> {
        Self::from_names(text.split(' ').filter(|s| !s.is_empty()))
    }

    /// From individual names.
    ///
    /// # Errors
    /// [`ScopeError`].
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, ScopeError> {
        let mut set = BTreeSet::new();
        for n in names {
            if !name_ok(n) {
                return Err(ScopeError::BadName);
            }
            set.insert(n.to_owned());
            if set.len() > 32 {
                return Err(ScopeError::TooMany);
            }
        }
        Ok(Self(set))
    }

    /// Whether every scope of `self` is in `other`.
    #[must_use]
    pub fn is_subset(&self, other: &Self) -> bool {
        self.0.is_subset(&other.0)
    }

    /// The names in both.
    #[must_use]
    pub fn intersection(&self, other: &Self) -> Self {
        Self(self.0.intersection(&other.0).cloned().collect())
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The names, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// Space-separated, sorted.
    #[must_use]
    pub fn to_text(&self) -> String {
        self.iter().collect::<Vec<_>>().join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_narrow() {
        let all = Scopes::parse("data:write data:read  data:read").unwrap();
        assert_eq!(all.to_text(), "data:read data:write");
        assert!(Scopes::parse("data:read").unwrap().is_subset(&all));
        assert!(!Scopes::parse("admin").unwrap().is_subset(&all));
        assert!(Scopes::parse("").unwrap().is_empty());
        assert_eq!(Scopes::parse("Data"), Err(ScopeError::BadName));
        assert_eq!(Scopes::parse("a\"b"), Err(ScopeError::BadName));
        let many: Vec<String> = (0..33).map(|i| format!("s{i}")).collect();
        assert_eq!(Scopes::parse(&many.join(" ")), Err(ScopeError::TooMany));
    }
}
