//! A validating JSON scanner that splits an object into its members without building values.
//!
//! Hooks pass most of what they receive through unchanged. Parsing every value into a tree
//! only to serialise it again cost most of a request; this scanner validates the whole document
//! (RFC 8259: grammar, escapes, control characters, nesting depth) in one pass and returns each
//! top-level member as a slice of the input, so untouched members are copied to the answer
//! verbatim and only the members a policy reads are parsed.

use std::borrow::Cow;
use std::fmt;

/// Deepest nesting accepted (as serde_json).
pub const MAX_DEPTH: usize = 128;

/// The document is not valid JSON (or not an object where one is required).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScanError {
    /// Byte offset where scanning stopped.
    pub offset: usize,
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid JSON at byte {}", self.offset)
    }
}

impl std::error::Error for ScanError {}

/// One member of an object: its (decoded) key and the raw text of its value.
pub type Member<'a> = (Cow<'a, str>, &'a str);

struct Scanner<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn error<T>(&self) -> Result<T, ScanError> {
        Err(ScanError { offset: self.pos })
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Result<(), ScanError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            self.error()
        }
    }

    /// A string starting at `pos` (the opening quote). Returns its content (between the quotes)
    /// and whether it contains escapes.
    fn string(&mut self) -> Result<(&'a str, bool), ScanError> {
        self.eat(b'"')?;
        let start = self.pos;
        let bytes = self.text.as_bytes();
        let mut escaped = false;
        loop {
            // Plain bytes eight at a time: most of a payload is string content.
            while let Some(word) = bytes
                .get(self.pos..self.pos + 8)
                .and_then(|c| <[u8; 8]>::try_from(c).ok())
            {
                if may_end_plain_run(u64::from_le_bytes(word)) {
                    break;
                }
                self.pos += 8;
            }
            match bytes.get(self.pos) {
                None => return self.error(),
                Some(b'"') => {
                    let content = self.text.get(start..self.pos).unwrap_or_default();
                    self.pos += 1;
                    return Ok((content, escaped));
                }
                Some(b'\\') => {
                    escaped = true;
                    self.pos += 1;
                    match bytes.get(self.pos) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.pos += 1
                        }
                        Some(b'u') => {
                            let Some(unit) = self.hex4(self.pos + 1) else {
                                return self.error();
                            };
                            self.pos += 5;
                            // UTF-16 surrogates come in pairs, as serde_json insists: a
                            // leading one must be followed by `\u` and a trailing one.
                            if (0xDC00..0xE000).contains(&unit) {
                                return self.error();
                            }
                            if (0xD800..0xDC00).contains(&unit) {
                                let pair = bytes.get(self.pos..self.pos + 2) == Some(b"\\u")
                                    && self
                                        .hex4(self.pos + 2)
                                        .is_some_and(|u| (0xDC00..0xE000).contains(&u));
                                if !pair {
                                    return self.error();
                                }
                                self.pos += 6;
                            }
                        }
                        _ => return self.error(),
                    }
                }
                Some(&b) if b < 0x20 => return self.error(),
                Some(_) => self.pos += 1,
            }
        }
    }

    /// The four hex digits at `at` as a UTF-16 code unit.
    fn hex4(&self, at: usize) -> Option<u16> {
        let hex = self.text.get(at..at + 4)?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u16::from_str_radix(hex, 16).ok()
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<(), ScanError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return self.error(),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return self.error();
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return self.error();
            }
            return self.in_range(start);
        }
        // Without an exponent only a very long integer part can overflow an f64.
        if self.pos - start > 300 {
            return self.in_range(start);
        }
        Ok(())
    }

    /// The number from `start` to `pos` must be a finite f64: serde_json refuses `1e999`.
    /// (Asking serde_json itself keeps the two in agreement and adds no float parser of its
    /// own to the Wasm.)
    fn in_range(&self, start: usize) -> Result<(), ScanError> {
        let text = self.text.get(start..self.pos).unwrap_or_default();
        if serde_json::from_str::<f64>(text).is_ok() {
            Ok(())
        } else {
            Err(ScanError { offset: start })
        }
    }

    fn literal(&mut self, word: &str) -> Result<(), ScanError> {
        if self
            .text
            .get(self.pos..)
            .is_some_and(|rest| rest.starts_with(word))
        {
            self.pos += word.len();
            Ok(())
        } else {
            self.error()
        }
    }

    /// Any value; `pos` must be at its first byte.
    fn value(&mut self, depth: usize) -> Result<(), ScanError> {
        match self.peek() {
            Some(b'"') => self.string().map(|_| ()),
            Some(b'{') => self.container(depth, b'}', true),
            Some(b'[') => self.container(depth, b']', false),
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => self.error(),
        }
    }

    /// `depth` counts the containers around this one: it is container number `depth + 1`, and
    /// like serde_json we refuse the `MAX_DEPTH`-th.
    fn container(&mut self, depth: usize, close: u8, object: bool) -> Result<(), ScanError> {
        if depth + 1 >= MAX_DEPTH {
            return self.error();
        }
        self.pos += 1; // the opening bracket
        self.skip_ws();
        if self.peek() == Some(close) {
            self.pos += 1;
            return Ok(());
        }
        loop {
            if object {
                self.string()?;
                self.skip_ws();
                self.eat(b':')?;
                self.skip_ws();
            }
            self.value(depth + 1)?;
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                }
                Some(b) if b == close => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return self.error(),
            }
        }
    }
}

/// Whether any of the eight bytes in `w` is `"`, `\\` or a control character (below 0x20):
/// the bytes a string scan must look at one by one. (Exact for "no such byte": a `true` only
/// sends the scan to the byte-wise loop.)
const fn may_end_plain_run(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const fn has_zero_byte(v: u64) -> u64 {
        v.wrapping_sub(ONES) & !v & HIGH
    }
    let quote = has_zero_byte(w ^ (ONES * b'"' as u64));
    let backslash = has_zero_byte(w ^ (ONES * b'\\' as u64));
    let control = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    (quote | backslash | control) != 0
}

fn decode_key(content: &str, escaped: bool) -> Result<Cow<'_, str>, ()> {
    if !escaped {
        return Ok(Cow::Borrowed(content));
    }
    // Rare: let the full decoder handle escapes (surrogate pairs included).
    serde_json::from_str::<String>(&format!("\"{content}\""))
        .map(Cow::Owned)
        .map_err(|_| ())
}

impl<'a> Scanner<'a> {
    /// The members of the object at `pos` (its `{`), validated. When a member is named
    /// `nested` and holds an object, that object's members go to `inner` (the last such
    /// member wins), in the same pass.
    fn members(
        &mut self,
        depth: usize,
        nested: Option<&str>,
        inner: &mut Option<Vec<Member<'a>>>,
    ) -> Result<Vec<Member<'a>>, ScanError> {
        let text = self.text;
        self.eat(b'{')?;
        let mut members = Vec::with_capacity(16);
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(members);
        }
        loop {
            let key_at = self.pos;
            let (content, escaped) = self.string()?;
            let key = decode_key(content, escaped).map_err(|()| ScanError { offset: key_at })?;
            self.skip_ws();
            self.eat(b':')?;
            self.skip_ws();
            let start = self.pos;
            if nested.is_some_and(|n| n == key) {
                // The last member of that name wins, as JSON parsers let it.
                *inner = None;
                if self.peek() == Some(b'{') {
                    *inner = Some(self.members(depth + 1, None, &mut None)?);
                } else {
                    self.value(depth)?;
                }
            } else {
                self.value(depth)?;
            }
            members.push((key, text.get(start..self.pos).unwrap_or_default()));
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                }
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(members);
                }
                _ => return self.error(),
            }
        }
    }
}

/// Validates `text` as a JSON object and returns its members in document order: each key
/// decoded, each value as the raw text of the input. Later duplicates are kept (callers
/// decide; JSON parsers usually let the last one win).
///
/// # Errors
/// [`ScanError`] when `text` is not exactly one valid JSON object (surrounding whitespace
/// allowed).
pub fn object_members(text: &str) -> Result<Vec<Member<'_>>, ScanError> {
    object_members_with(text, None).map(|(members, _)| members)
}

/// [`object_members`], also splitting the value of the member named `nested` (when it is an
/// object) in the same pass: for payloads whose interesting part is one level down.
///
/// # Errors
/// As [`object_members`].
pub fn object_members_with<'a>(
    text: &'a str,
    nested: Option<&str>,
) -> Result<(Vec<Member<'a>>, Option<Vec<Member<'a>>>), ScanError> {
    let mut s = Scanner { text, pos: 0 };
    s.skip_ws();
    let mut inner = None;
    let members = s.members(1, nested, &mut inner)?;
    s.skip_ws();
    if s.pos == text.len() {
        Ok((members, inner))
    } else {
        s.error()
    }
}

/// The items of a JSON array, as raw slices (validated). `None` when `raw` is not an array.
#[must_use]
pub fn array_items(raw: &str) -> Option<Vec<&str>> {
    let mut s = Scanner { text: raw, pos: 0 };
    s.skip_ws();
    if s.peek() != Some(b'[') {
        return None;
    }
    s.pos += 1;
    let mut items = Vec::new();
    s.skip_ws();
    if s.peek() == Some(b']') {
        return Some(items);
    }
    loop {
        let start = s.pos;
        s.value(1).ok()?;
        items.push(raw.get(start..s.pos)?);
        s.skip_ws();
        match s.peek() {
            Some(b',') => {
                s.pos += 1;
                s.skip_ws();
            }
            Some(b']') => return Some(items),
            _ => return None,
        }
    }
}

/// A raw JSON value as a [`serde_json::Value`], without serde_json's machinery for the common
/// small cases (strings without escapes, `true`, `false`, `null`); the rest through
/// serde_json.
#[must_use]
pub fn parse_raw(raw: &str) -> Option<serde_json::Value> {
    let t = raw.trim();
    match t {
        "true" => return Some(serde_json::Value::Bool(true)),
        "false" => return Some(serde_json::Value::Bool(false)),
        "null" => return Some(serde_json::Value::Null),
        _ => {}
    }
    if let Some(inner) = t.strip_prefix('"').and_then(|r| r.strip_suffix('"'))
        && !inner.contains('\\')
    {
        return Some(serde_json::Value::String(inner.to_owned()));
    }
    serde_json::from_str(t).ok()
}

/// The string a raw JSON value holds, if it is a string (decoded when it has escapes).
#[must_use]
pub fn raw_string(raw: &str) -> Option<Cow<'_, str>> {
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    if inner.contains('\\') {
        serde_json::from_str::<String>(raw).ok().map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(inner))
    }
}

/// A JSON object read lazily, for payloads: one validating pass splits the members; values
/// stay raw text of the input until a reader asks for them, nested objects are split only
/// when read. The tolerant accessors match [`super::text`], [`super::flag`] and
/// [`super::object`] on a parsed [`super::Object`]: absent, `null` and wrong types read as
/// empty, and the last of duplicate keys wins (as serde_json's map does).
#[derive(Clone, Debug, Default)]
pub struct RawObject<'a> {
    text: &'a str,
    members: Vec<Member<'a>>,
}

impl<'a> RawObject<'a> {
    /// Validates `text` as one JSON object (surrounding whitespace allowed).
    ///
    /// # Errors
    /// [`ScanError`] as [`object_members`].
    pub fn parse(text: &'a str) -> Result<Self, ScanError> {
        let members = object_members(text)?;
        Ok(Self {
            text: text.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r')),
            members,
        })
    }

    /// A raw value of an already validated document as an object; `None` when it is not one.
    fn of(raw: &'a str) -> Option<Self> {
        raw.starts_with('{')
            .then(|| object_members(raw).ok())
            .flatten()
            .map(|members| Self { text: raw, members })
    }

    /// The object's own text (valid JSON).
    #[must_use]
    pub fn as_str(&self) -> &'a str {
        self.text
    }

    /// The raw text of the value at `key`.
    #[must_use]
    pub fn raw(&self, key: &str) -> Option<&'a str> {
        self.members
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, raw)| *raw)
    }

    /// The string at `key`, or `""` when absent, `null` or not a string.
    #[must_use]
    pub fn text(&self, key: &str) -> Cow<'a, str> {
        self.raw(key).and_then(raw_string).unwrap_or_default()
    }

    /// The boolean at `key`, or `false`.
    #[must_use]
    pub fn flag(&self, key: &str) -> bool {
        self.raw(key) == Some("true")
    }

    /// Whether the value at `key` is a boolean.
    #[must_use]
    pub fn is_bool(&self, key: &str) -> bool {
        matches!(self.raw(key), Some("true" | "false"))
    }

    /// The object at `key`, if it is one.
    #[must_use]
    pub fn object(&self, key: &str) -> Option<Self> {
        self.raw(key).and_then(Self::of)
    }

    /// The object at `key` parsed into a map (for small objects read by arbitrary keys).
    #[must_use]
    pub fn to_object(&self, key: &str) -> Option<super::Object> {
        self.raw(key)
            .filter(|r| r.starts_with('{'))
            .and_then(|r| serde_json::from_str(r).ok())
    }

    /// The items of the array at `key` that are objects.
    #[must_use]
    pub fn objects(&self, key: &str) -> Vec<Self> {
        self.raw(key)
            .and_then(array_items)
            .map(|items| items.into_iter().filter_map(Self::of).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// A deterministic generator for the oracle tests.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    fn random_value(r: &mut Rng, depth: usize) -> Value {
        match r.below(if depth > 3 { 5 } else { 7 }) {
            0 => Value::Null,
            1 => Value::Bool(r.below(2) == 0),
            2 => serde_json::json!(r.next() as i64 / 1000),
            3 => serde_json::json!((r.next() % 100_000) as f64 / 7.0),
            4 => {
                let alphabet = [
                    "a",
                    "\"",
                    "\\",
                    "\n",
                    "\u{e9}",
                    "\u{1F600}",
                    "<",
                    "\u{0}",
                    " ",
                    "/",
                ];
                Value::String(
                    (0..r.below(8))
                        .map(|_| alphabet[r.below(alphabet.len())])
                        .collect(),
                )
            }
            5 => Value::Array(
                (0..r.below(4))
                    .map(|_| random_value(r, depth + 1))
                    .collect(),
            ),
            _ => Value::Object(
                (0..r.below(5))
                    .map(|i| {
                        (
                            format!("k{i}\u{e9}{}", if r.below(3) == 0 { "\\" } else { "" }),
                            random_value(r, depth + 1),
                        )
                    })
                    .collect(),
            ),
        }
    }

    #[test]
    fn members_equal_what_serde_json_parses() {
        let mut r = Rng(0x9E37_79B9);
        for _ in 0..2000 {
            let Value::Object(doc) = random_value(&mut r, 0) else {
                continue;
            };
            let text = if r.below(2) == 0 {
                serde_json::to_string(&doc).unwrap()
            } else {
                serde_json::to_string_pretty(&doc).unwrap()
            };
            // Compare with serde_json's reading of the same text (its float parsing does not
            // always round-trip the original value).
            let Value::Object(parsed) = serde_json::from_str::<Value>(&text).unwrap() else {
                unreachable!()
            };
            let members = object_members(&text).unwrap();
            assert_eq!(members.len(), parsed.len());
            for (k, raw) in members {
                assert_eq!(
                    serde_json::from_str::<Value>(raw).unwrap(),
                    parsed[k.as_ref()],
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn accepts_exactly_what_serde_json_accepts_under_mutation() {
        let mut r = Rng(42);
        let edits: &[&[u8]] = &[
            b"",
            b"\"",
            b"\\",
            b"{",
            b"}",
            b"[",
            b"]",
            b",",
            b":",
            b"0",
            b"-",
            b".",
            b"e",
            b"t",
            b"\x01",
            b" ",
            b"01",
            b"1.",
            b"\\u12",
            b"\\x",
            // Surrogates (lone, reversed, paired) and numbers beyond f64's range.
            b"\\ud800",
            b"\\uDBFF",
            b"\\udc00",
            b"\\ud83d\\ude00",
            b"\\ude00\\ud83d",
            b"\\ud800\\u0041",
            b"e999",
            b"1e309",
            b"-1e400",
            b"1e-400",
            b"0e999",
            b"17976931348623157",
        ];
        let mut checked = 0;
        for _ in 0..6000 {
            let doc =
                serde_json::json!({"a": random_value(&mut r, 0), "b": random_value(&mut r, 1)});
            let mut bytes = serde_json::to_vec(&doc).unwrap();
            for _ in 0..=r.below(2) {
                let at = r.below(bytes.len() + 1);
                let cut = r.below(3).min(bytes.len() - at);
                let edit = edits[r.below(edits.len())];
                bytes.splice(at..at + cut, edit.iter().copied());
            }
            let Ok(text) = std::str::from_utf8(&bytes) else {
                continue;
            };
            let ours = object_members(text).is_ok();
            let theirs = serde_json::from_str::<Value>(text);
            assert_eq!(ours, matches!(theirs, Ok(Value::Object(_))), "{text:?}");
            checked += 1;
        }
        assert!(checked > 4000);
    }

    #[test]
    fn surrogates_and_numbers_agree_with_serde_json() {
        for (text, valid) in [
            (r#"{"a":"\ud83d\ude00"}"#, true),
            (r#"{"a":"\uD83D\uDE00x"}"#, true),
            (r#"{"a":"\ud800"}"#, false),
            (r#"{"a":"\ud800x"}"#, false),
            (r#"{"a":"\ud800\u0041"}"#, false),
            (r#"{"a":"\ude00"}"#, false),
            (r#"{"a":"\ude00\ud83d"}"#, false),
            (r#"{"\ud800":1}"#, false),
            (r#"{"a":1e308}"#, true),
            (r#"{"a":1e309}"#, false),
            (r#"{"a":-1e999}"#, false),
            (r#"{"a":1e-999}"#, true),
            (r#"{"a":0e99999999999999999999}"#, true),
            (r#"{"a":1.7976931348623157e308}"#, true),
            (r#"{"a":1.7976931348623159e308}"#, false),
        ] {
            let theirs = serde_json::from_str::<Value>(text).is_ok();
            assert_eq!(theirs, valid, "serde_json on {text}");
            assert_eq!(object_members(text).is_ok(), valid, "{text}");
        }
        let long = format!("{{\"a\":{}}}", "9".repeat(400));
        assert_eq!(
            object_members(&long).is_ok(),
            serde_json::from_str::<Value>(&long).is_ok()
        );
        let long_ok = format!("{{\"a\":{}}}", "9".repeat(308));
        assert!(object_members(&long_ok).is_ok());
    }

    #[test]
    fn the_word_test_finds_every_special_byte() {
        for special in [b'"', b'\\', 0x00, 0x1f, 0x0a] {
            for at in 0..8 {
                let mut w = *b"abcdefgh";
                w[at] = special;
                assert!(
                    may_end_plain_run(u64::from_le_bytes(w)),
                    "{special:#x} at {at}"
                );
            }
        }
        for plain in [
            *b"abcdefgh",
            *b"        ",
            [0xc3, 0xa9, 0xe2, 0x82, 0xac, 0x7f, 0x20, 0x21],
        ] {
            assert!(!may_end_plain_run(u64::from_le_bytes(plain)), "{plain:?}");
        }
        // Every byte value, alone among plain bytes.
        for b in 0..=255u8 {
            let mut w = *b"xxxxxxxx";
            w[3] = b;
            let special = b == b'"' || b == b'\\' || b < 0x20;
            assert_eq!(may_end_plain_run(u64::from_le_bytes(w)), special, "{b:#x}");
        }
    }

    #[test]
    fn nesting_is_bounded_and_trailing_garbage_refused() {
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(200), "]".repeat(200));
        assert!(object_members(&deep).is_err());
        let ok = format!("{{\"a\":{}{}}}", "[".repeat(100), "]".repeat(100));
        assert!(object_members(&ok).is_ok());
        // At the limit, exactly where serde_json draws it, at the top and one level down.
        for total in MAX_DEPTH - 2..=MAX_DEPTH + 1 {
            let arrays = total - 1;
            let doc = format!("{{\"a\":{}{}}}", "[".repeat(arrays), "]".repeat(arrays));
            let serde = serde_json::from_str::<Value>(&doc).is_ok();
            assert_eq!(object_members(&doc).is_ok(), serde, "{total} levels");
            assert_eq!(RawObject::parse(&doc).is_ok(), serde, "{total} levels");
            let arrays = total - 2;
            let doc = format!(
                "{{\"claims\":{{\"a\":{}{}}}}}",
                "[".repeat(arrays),
                "]".repeat(arrays)
            );
            let serde = serde_json::from_str::<Value>(&doc).is_ok();
            assert_eq!(
                object_members_with(&doc, Some("claims")).is_ok(),
                serde,
                "{total} levels with claims"
            );
        }
        assert!(serde_json::from_str::<Value>(&ok).is_ok());
        for bad in [
            "",
            "[]",
            "{} x",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{'a':1}",
            "{\"a\":tru}",
            "{\"a\":\"\t\"}",
        ] {
            assert!(object_members(bad).is_err(), "{bad:?}");
        }
        assert_eq!(object_members(" {} ").unwrap().len(), 0);
    }

    #[test]
    fn raw_values_parse_as_serde_json_does() {
        for raw in [
            r#""plain""#,
            r#""esc\"aped\u00e9""#,
            "true",
            "false",
            "null",
            " 12 ",
            "-1.5e3",
            r#"{"a":[1,{"b":null}]}"#,
            "[]",
            r#""""#,
        ] {
            assert_eq!(
                parse_raw(raw),
                serde_json::from_str::<Value>(raw).ok(),
                "{raw}"
            );
        }
        assert_eq!(
            array_items(r#" [ {"method":"password"} , "otp",[1,2] ,3] "#).unwrap(),
            vec![r#"{"method":"password"}"#, r#""otp""#, "[1,2]", "3"]
        );
        assert_eq!(array_items("[]").unwrap(), Vec::<&str>::new());
        assert!(array_items(r#"{"a":1}"#).is_none());
        assert!(array_items("[1,").is_none());
    }

    #[test]
    fn nested_members_come_from_the_same_pass() {
        let text = r#"{"a":1,"claims":{"x":[1,{"y":2}],"z":"q"},"b":{"c":3}}"#;
        let (outer, inner) = object_members_with(text, Some("claims")).unwrap();
        assert_eq!(outer, object_members(text).unwrap());
        let inner = inner.unwrap();
        assert_eq!(inner, object_members(outer[1].1).unwrap());
        assert_eq!(inner[0], (Cow::Borrowed("x"), r#"[1,{"y":2}]"#));
        // Not an object, or absent: no inner members; invalid inside: an error.
        assert!(
            object_members_with(r#"{"claims":[1]}"#, Some("claims"))
                .unwrap()
                .1
                .is_none()
        );
        assert!(
            object_members_with(r#"{"a":1}"#, Some("claims"))
                .unwrap()
                .1
                .is_none()
        );
        assert!(object_members_with(r#"{"claims":{"x":tru}}"#, Some("claims")).is_err());
        assert!(
            object_members_with(r#"{"claims":{"x":1},"claims":"y"}"#, Some("claims"))
                .unwrap()
                .1
                .is_none()
        );
        // Nesting depth counts from the document, not the nested object.
        for n in [126, 127] {
            let deep = format!("{{\"claims\":{}1{}}}", "[".repeat(n), "]".repeat(n));
            let serde = serde_json::from_str::<Value>(&deep).is_ok();
            assert_eq!(object_members_with(&deep, Some("claims")).is_ok(), serde);
            assert_eq!(object_members(&deep).is_ok(), serde);
        }
    }

    #[test]
    fn keys_are_decoded_and_values_borrowed() {
        let text = r#"{"plain":1,"esc\u0041\n":"x\"y","dup":1,"dup":2}"#;
        let m = object_members(text).unwrap();
        assert_eq!(m[0], (Cow::Borrowed("plain"), "1"));
        assert_eq!(m[1].0, "escA\n");
        assert_eq!(m[1].1, r#""x\"y""#);
        assert_eq!(raw_string(m[1].1).as_deref(), Some("x\"y"));
        assert_eq!(raw_string(r#""abc""#).as_deref(), Some("abc"));
        assert_eq!(raw_string("12"), None);
        assert_eq!(m.len(), 4);
    }
    #[test]
    fn raw_object_reads_like_the_tolerant_accessors() {
        let text = r#" {"a": "x", "n": null, "b": true, "f": 1, "o": {"k": "v\u00e9", "k": "w"}, "arr": [{"p": "q"}, 1, {"p": "r"}], "a": "y"} "#;
        let raw = RawObject::parse(text).unwrap();
        let parsed: crate::json::Object = serde_json::from_str(text).unwrap();
        for key in ["a", "n", "b", "f", "o", "missing"] {
            assert_eq!(raw.text(key), crate::json::text(&parsed, key), "{key}");
            assert_eq!(raw.flag(key), crate::json::flag(&parsed, key), "{key}");
            assert_eq!(
                raw.to_object(key).as_ref(),
                crate::json::object(&parsed, key),
                "{key}"
            );
        }
        assert_eq!(raw.object("o").unwrap().text("k"), "w");
        assert!(raw.is_bool("b") && !raw.is_bool("f"));
        let ps: Vec<_> = raw
            .objects("arr")
            .iter()
            .map(|o| o.text("p").into_owned())
            .collect();
        assert_eq!(ps, ["q", "r"]);
        assert!(raw.as_str().starts_with('{') && raw.as_str().ends_with('}'));
        assert!(RawObject::parse("[1]").is_err());
        assert!(RawObject::parse(r#"{"a": "\ud800"}"#).is_err());
    }
}
