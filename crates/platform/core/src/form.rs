//! `application/x-www-form-urlencoded` bodies (the WHATWG algorithm: `+` is a space, `%XX`
//! bytes, UTF-8), with RFC 6749's rule that a parameter appears at most once.

use std::borrow::Cow;

/// Why a form body was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FormError {
    /// Not UTF-8 after decoding, or a broken `%` escape.
    Encoding,
    /// A parameter that may appear once appeared again (named).
    Repeated(String),
    /// More than [`MAX_PARAMETERS`] parameters.
    TooMany,
}

/// Forms with more parameters than this are refused (the token endpoints take a handful).
pub const MAX_PARAMETERS: usize = 64;

/// One form-encoded component decoded (`+` a space, `%XX` bytes, UTF-8): also how RFC 6749
/// §2.3.1 encodes a client id and secret inside HTTP Basic credentials.
///
/// # Errors
/// [`FormError::Encoding`].
pub fn decode(part: &str) -> Result<Cow<'_, str>, FormError> {
    if !part.contains(['+', '%']) {
        return Ok(Cow::Borrowed(part));
    }
    let bytes = part.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or(FormError::Encoding)?;
                let text = std::str::from_utf8(hex).map_err(|_| FormError::Encoding)?;
                if !text.bytes().all(|c| c.is_ascii_hexdigit()) {
                    return Err(FormError::Encoding);
                }
                out.push(u8::from_str_radix(text, 16).map_err(|_| FormError::Encoding)?);
                i += 2;
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| FormError::Encoding)
}

/// A decoded `(name, value)` pair.
pub type Pair<'a> = (Cow<'a, str>, Cow<'a, str>);

/// The decoded `(name, value)` pairs of `body`, in order.
///
/// # Errors
/// [`FormError::Encoding`].
pub fn pairs(body: &str) -> Result<Vec<Pair<'_>>, FormError> {
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Ok((decode(k)?, decode(v)?))
        })
        .collect()
}

/// A parsed form, read by name.
#[derive(Debug)]
pub struct Form<'a> {
    pairs: Vec<Pair<'a>>,
}

impl<'a> Form<'a> {
    /// Parses `body`; every name except those in `repeatable` must appear at most once.
    ///
    /// # Errors
    /// [`FormError`].
    pub fn parse(body: &'a str, repeatable: &[&str]) -> Result<Self, FormError> {
        if body.split('&').filter(|p| !p.is_empty()).count() > MAX_PARAMETERS {
            return Err(FormError::TooMany);
        }
        let pairs = pairs(body)?;
        for (i, (k, _)) in pairs.iter().enumerate() {
            if !repeatable.contains(&k.as_ref()) && pairs.iter().skip(i + 1).any(|(o, _)| o == k) {
                return Err(FormError::Repeated(k.clone().into_owned()));
            }
        }
        Ok(Self { pairs })
    }

    /// A form of `pairs` already decoded, repeats allowed (for a caller that decides itself
    /// which repeats it refuses, and how).
    #[must_use]
    pub const fn from_pairs(pairs: Vec<Pair<'a>>) -> Self {
        Self { pairs }
    }

    /// The value of `name` (empty values count as absent, RFC 6749 §3.1).
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_ref())
    }

    /// Every non-empty value of `name`.
    #[must_use]
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_ref())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_and_repeats() {
        let f = Form::parse("a=1+2&b=%C3%A9%2B&c=&d&r=x&r=y", &["r"]).unwrap();
        assert_eq!(f.get("a"), Some("1 2"));
        assert_eq!(f.get("b"), Some("é+"));
        assert_eq!(f.get("c"), None);
        assert_eq!(f.get("d"), None);
        assert_eq!(f.all("r"), vec!["x", "y"]);
        assert_eq!(
            Form::parse("a=1&a=2", &[]).err(),
            Some(FormError::Repeated("a".into()))
        );
        let many = vec!["a=1"; MAX_PARAMETERS + 1].join("&");
        assert_eq!(Form::parse(&many, &["a"]).err(), Some(FormError::TooMany));
        for bad in ["a=%", "a=%4", "a=%zz", "a=%FF", "a=%+1"] {
            assert_eq!(
                Form::parse(bad, &[]).err(),
                Some(FormError::Encoding),
                "{bad}"
            );
        }
    }
}
