//! Object keys as a client asks for them, checked before any rule or signature.

use std::fmt;

/// Keys longer than this are refused (S3's limit, in UTF-8 bytes).
pub const MAX_KEY_BYTES: usize = 1024;

/// Why a key was refused. The display text is safe to show the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyError {
    /// No key.
    Empty,
    /// Over [`MAX_KEY_BYTES`].
    TooLong,
    /// A control character (C0, DEL or C1), or an invisible or direction-changing one
    /// (zero-width, bidi controls, line and paragraph separators, the BOM).
    Control,
    /// A backslash (some servers read it as `/`).
    Backslash,
    /// An empty segment: a leading, trailing or doubled `/`.
    EmptySegment,
    /// A `.` or `..` segment.
    DotSegment,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "the key is empty",
            Self::TooLong => "the key is over 1024 bytes",
            Self::Control => "the key holds a control or invisible character",
            Self::Backslash => "the key holds a backslash",
            Self::EmptySegment => "the key has an empty segment (a leading, trailing or doubled /)",
            Self::DotSegment => "the key has a . or .. segment",
        })
    }
}

impl std::error::Error for KeyError {}

/// Characters that do not show as themselves: controls (C0, DEL, C1), zero-width and bidi
/// formatting characters (the Arabic letter mark too), line and paragraph separators, the BOM,
/// the soft hyphen, invisible fillers (combining grapheme joiner, Khmer and Hangul fillers,
/// Mongolian free variation selectors and vowel separator), interlinear annotation marks and
/// tag characters. A key or a download name holding one can look like another
/// (`invoice\u{202e}fdp.exe`). Emoji variation selectors (U+FE0E/F) stay: they are part of
/// ordinary emoji.
#[must_use]
pub fn unseen(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00ad}'
                | '\u{034f}'
                | '\u{061c}'
                | '\u{115f}'
                | '\u{1160}'
                | '\u{17b4}'
                | '\u{17b5}'
                | '\u{180b}'..='\u{180f}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{3164}'
                | '\u{feff}'
                | '\u{ffa0}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{e0000}'..='\u{e007f}'
        )
}

/// A key that passed [`ObjectKey::parse`]: signed exactly as given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectKey(String);

impl ObjectKey {
    /// Checks `key`.
    ///
    /// # Errors
    /// The [`KeyError`] for the first problem found.
    pub fn parse(key: &str) -> Result<Self, KeyError> {
        if key.is_empty() {
            return Err(KeyError::Empty);
        }
        if key.len() > MAX_KEY_BYTES {
            return Err(KeyError::TooLong);
        }
        if key.chars().any(unseen) {
            return Err(KeyError::Control);
        }
        if key.contains('\\') {
            return Err(KeyError::Backslash);
        }
        for segment in key.split('/') {
            match segment {
                "" => return Err(KeyError::EmptySegment),
                "." | ".." => return Err(KeyError::DotSegment),
                _ => {}
            }
        }
        Ok(Self(key.to_owned()))
    }

    /// The key.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its segments (never empty, never `.` or `..`).
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_refused_not_repaired() {
        for ok in [
            "a",
            "users/8a7a/photo 1.png",
            "ünïcødé/ключ/🗝.txt",
            "emoji/🗝\u{fe0f}.txt",
            "a+b%20c=d&e?f#g;h",
            "...",
            ".hidden/..x/x..",
            &"k".repeat(1024),
        ] {
            assert_eq!(
                ObjectKey::parse(ok).map(|k| k.0),
                Ok(ok.to_owned()),
                "{ok:?}"
            );
        }
        for (bad, why) in [
            ("", KeyError::Empty),
            (&"k".repeat(1025) as &str, KeyError::TooLong),
            ("a\nb", KeyError::Control),
            ("a\u{0}b", KeyError::Control),
            ("a\u{7f}b", KeyError::Control),
            ("a\u{85}b", KeyError::Control),
            ("invoice\u{202e}fdp.exe", KeyError::Control),
            ("a\u{200b}b", KeyError::Control),
            ("a\u{feff}b", KeyError::Control),
            ("a\u{2028}b", KeyError::Control),
            ("a\u{61c}b", KeyError::Control),
            ("a\u{ad}b", KeyError::Control),
            ("a\u{180e}b", KeyError::Control),
            ("a\u{3164}b", KeyError::Control),
            ("a\u{fffa}b", KeyError::Control),
            ("a\u{e0041}b", KeyError::Control),
            ("a\\b", KeyError::Backslash),
            ("/a", KeyError::EmptySegment),
            ("a/", KeyError::EmptySegment),
            ("a//b", KeyError::EmptySegment),
            ("a/./b", KeyError::DotSegment),
            ("a/../b", KeyError::DotSegment),
            ("..", KeyError::DotSegment),
            ("users/u/..", KeyError::DotSegment),
        ] {
            assert_eq!(ObjectKey::parse(bad), Err(why), "{bad:?}");
        }
        // 1,024 bytes, not characters.
        assert_eq!(ObjectKey::parse(&"é".repeat(513)), Err(KeyError::TooLong));
    }
}
