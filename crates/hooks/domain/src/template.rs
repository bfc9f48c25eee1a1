//! A small template language for messages (e-mail HTML and text, SMS, lock messages).
//!
//! - `{{ name }}` inserts a value.
//! - `{{#if name}}…{{else}}…{{/if}}` and `{{#unless name}}…{{/unless}}` branch on a value being
//!   present and non-empty.
//!
//! # Compile once, render many
//! Templates compile once (at start-up) against the placeholders the caller provides: each
//! name resolves to a [`Slot`] (an index into the values a render receives), so an unknown
//! name is a compile error, never an empty string at send time, and rendering does no lookups
//! by name and allocates nothing but its output. Rendering cannot fail and has no loops, so
//! its cost is linear in the template.
//!
//! # Contextual escaping ([`Mode::Html`])
//! HTML escaping is safe in element content and quoted attribute values, and nowhere else. An
//! HTML template is therefore parsed as it compiles (a small tokenizer that follows tags,
//! attributes, quotes, comments and `<script>`/`<style>` text) and every placeholder is checked
//! against the context it sits in:
//! - element content and quoted ordinary attributes: HTML-escaped;
//! - quoted URL attributes (`href`, `src`, …): at the start only a [`Trust::Url`] value (a URL
//!   we validated or built), later in the value any value, percent-encoded then HTML-escaped
//!   (so `href="https://x/?q={{ name }}"` cannot add parameters or change the scheme);
//! - `style` attributes and `<style>` text: only [`Trust::Css`] values (validated colours);
//! - anything else — unquoted attributes, inside a tag, event handlers (`on…`), `<script>`,
//!   comments — is a compile error, as are `{{#if}}` branches that leave the HTML in different
//!   contexts.
//!
//! [`Mode::Text`] inserts values as they are (plain text, SMS, subjects).

use std::fmt;

/// What a template produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// HTML: placeholders are checked against their context and escaped for it.
    Html,
    /// Plain text: values are inserted as they are.
    Text,
}

/// What a placeholder's value is known to be, for the HTML context checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trust {
    /// Anything, possibly attacker-chosen (names, addresses, codes).
    User,
    /// An `http(s):` or `mailto:` URL that configuration validated or we built.
    Url,
    /// A CSS value that configuration validated (a `#rrggbb` colour).
    Css,
}

/// A placeholder: where its value sits in the values a render receives, and its trust.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// Index into [`Values`].
    pub index: usize,
    /// What the value is known to be.
    pub trust: Trust,
}

impl Slot {
    /// A slot for a value of unknown content.
    #[must_use]
    pub const fn user(index: usize) -> Self {
        Self {
            index,
            trust: Trust::User,
        }
    }
}

/// A template that failed to compile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateError {
    /// Byte offset in the source.
    pub offset: usize,
    /// What is wrong.
    pub problem: String,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.problem, self.offset)
    }
}

impl std::error::Error for TemplateError {}

/// How a value is written out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Escape {
    None,
    Html,
    /// Percent-encoded (RFC 3986 unreserved kept), then HTML-escaped.
    UrlComponent,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    Text(Box<str>),
    Var {
        slot: usize,
        escape: Escape,
    },
    If {
        slot: usize,
        negate: bool,
        then: Vec<Node>,
        otherwise: Vec<Node>,
    },
}

/// A compiled template.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Template {
    nodes: Vec<Node>,
    /// Bytes of literal text: a good first guess for the output's size.
    literal_len: usize,
}

/// The values a template reads, by slot; a missing slot reads as `""`.
pub trait Values {
    /// The value in `slot`.
    fn value(&self, slot: usize) -> &str;
}

impl Values for [&str] {
    fn value(&self, slot: usize) -> &str {
        self.get(slot).copied().unwrap_or_default()
    }
}

impl<const N: usize> Values for [&str; N] {
    fn value(&self, slot: usize) -> &str {
        self.get(slot).copied().unwrap_or_default()
    }
}

impl Values for [String] {
    fn value(&self, slot: usize) -> &str {
        self.get(slot).map(String::as_str).unwrap_or_default()
    }
}

enum Tag<'a> {
    Var(&'a str),
    Open { name: &'a str, negate: bool },
    Else,
    Close { negate: bool },
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
}

/// An open `{{#if}}` while compiling.
struct Frame {
    slot: usize,
    negate: bool,
    then: Vec<Node>,
    otherwise: Vec<Node>,
    in_else: bool,
    offset: usize,
    /// The HTML context when the block opened, and at the end of its `then` branch.
    entry: Ctx,
    then_exit: Option<Ctx>,
}

impl Template {
    /// Compiles `source` for `mode`; `resolve` names the placeholders the caller provides.
    ///
    /// # Errors
    /// [`TemplateError`] for unbalanced or malformed tags, unknown names, and (in
    /// [`Mode::Html`]) placeholders in a context their value cannot be made safe for.
    pub fn compile(
        source: &str,
        mode: Mode,
        resolve: &dyn Fn(&str) -> Option<Slot>,
    ) -> Result<Self, TemplateError> {
        let mut stack: Vec<Frame> = Vec::new();
        let mut current: Vec<Node> = Vec::new();
        let mut ctx = Ctx::Data;
        let mut literal_len = 0usize;
        let mut rest = source;
        let mut offset = 0usize;
        fn push(stack: &mut [Frame], current: &mut Vec<Node>, node: Node) {
            match stack.last_mut() {
                Some(f) if f.in_else => f.otherwise.push(node),
                Some(f) => f.then.push(node),
                None => current.push(node),
            }
        }
        loop {
            let start = rest.find("{{").unwrap_or(rest.len());
            if start > 0 {
                let text = rest.get(..start).unwrap_or_default();
                if mode == Mode::Html {
                    ctx = ctx.advance(text);
                }
                literal_len += text.len();
                push(&mut stack, &mut current, Node::Text(text.into()));
            }
            if start == rest.len() {
                break;
            }
            let at = offset + start;
            let error = |problem: String| TemplateError {
                offset: at,
                problem,
            };
            let after = rest.get(start + 2..).unwrap_or_default();
            let end = after
                .find("}}")
                .ok_or_else(|| error("`{{` is not closed by `}}`".into()))?;
            let inner = after.get(..end).unwrap_or_default().trim();
            let tag = if let Some(name) = inner.strip_prefix("#if ") {
                Tag::Open {
                    name: name.trim(),
                    negate: false,
                }
            } else if let Some(name) = inner.strip_prefix("#unless ") {
                Tag::Open {
                    name: name.trim(),
                    negate: true,
                }
            } else if inner == "else" {
                Tag::Else
            } else if inner == "/if" {
                Tag::Close { negate: false }
            } else if inner == "/unless" {
                Tag::Close { negate: true }
            } else {
                Tag::Var(inner)
            };
            let lookup = |name: &str| -> Result<Slot, TemplateError> {
                if !valid_name(name) {
                    return Err(error(format!("`{name}` is not a placeholder name")));
                }
                resolve(name).ok_or_else(|| error(format!("unknown placeholder `{name}`")))
            };
            match tag {
                Tag::Var(name) => {
                    let slot = lookup(name)?;
                    let escape = match mode {
                        Mode::Text => Escape::None,
                        Mode::Html => ctx
                            .escape_for(slot.trust)
                            .map_err(|why| error(format!("`{{{{ {name} }}}}` {why}")))?,
                    };
                    ctx = ctx.after_value();
                    push(
                        &mut stack,
                        &mut current,
                        Node::Var {
                            slot: slot.index,
                            escape,
                        },
                    );
                }
                Tag::Open { name, negate } => {
                    let slot = lookup(name)?;
                    stack.push(Frame {
                        slot: slot.index,
                        negate,
                        then: Vec::new(),
                        otherwise: Vec::new(),
                        in_else: false,
                        offset: at,
                        entry: ctx.clone(),
                        then_exit: None,
                    });
                }
                Tag::Else => match stack.last_mut() {
                    Some(f) if !f.in_else => {
                        f.in_else = true;
                        f.then_exit = Some(std::mem::replace(&mut ctx, f.entry.clone()));
                    }
                    _ => return Err(error("`{{else}}` outside a block".into())),
                },
                Tag::Close { negate } => {
                    let Some(frame) = stack.pop() else {
                        return Err(error("closing tag without an opening one".into()));
                    };
                    if frame.negate != negate {
                        return Err(error("block closed with the wrong tag".into()));
                    }
                    let (then_exit, else_exit) = match frame.then_exit {
                        Some(t) => (t, ctx.clone()),
                        None => (ctx.clone(), frame.entry.clone()),
                    };
                    if then_exit != else_exit {
                        return Err(TemplateError {
                            offset: frame.offset,
                            problem: "the branches of this block leave the HTML in different \
                                      places (close every tag and quote inside the block)"
                                .into(),
                        });
                    }
                    ctx = then_exit;
                    push(
                        &mut stack,
                        &mut current,
                        Node::If {
                            slot: frame.slot,
                            negate: frame.negate,
                            then: frame.then,
                            otherwise: frame.otherwise,
                        },
                    );
                }
            }
            let consumed = start + 2 + end + 2;
            rest = rest.get(consumed..).unwrap_or_default();
            offset += consumed;
        }
        if let Some(f) = stack.pop() {
            return Err(TemplateError {
                offset: f.offset,
                problem: "block is not closed".into(),
            });
        }
        Ok(Self {
            nodes: current,
            literal_len,
        })
    }

    /// Appends the rendering to `out`.
    pub fn render_into(&self, values: &(impl Values + ?Sized), out: &mut String) {
        render_nodes(&self.nodes, values, out);
    }

    /// Renders to a new string, sized for the literal text and some values.
    #[must_use]
    pub fn render(&self, values: &(impl Values + ?Sized)) -> String {
        let mut out = String::with_capacity(self.literal_len + self.literal_len / 4 + 64);
        self.render_into(values, &mut out);
        out
    }

    /// Whether the template uses `slot` (as a value or a condition).
    #[must_use]
    pub fn uses(&self, slot: usize) -> bool {
        fn walk(nodes: &[Node], slot: usize) -> bool {
            nodes.iter().any(|n| match n {
                Node::Text(_) => false,
                Node::Var { slot: s, .. } => *s == slot,
                Node::If {
                    slot: s,
                    then,
                    otherwise,
                    ..
                } => *s == slot || walk(then, slot) || walk(otherwise, slot),
            })
        }
        walk(&self.nodes, slot)
    }
}

fn render_nodes(nodes: &[Node], values: &(impl Values + ?Sized), out: &mut String) {
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Var { slot, escape } => {
                let v = values.value(*slot);
                match escape {
                    Escape::None => out.push_str(v),
                    Escape::Html => escape_html(v, out),
                    Escape::UrlComponent => {
                        // Percent-encoding leaves only unreserved characters and `%`: nothing
                        // HTML treats specially.
                        portcullis_core::outbound::percent_encode_into(v, out, false);
                    }
                }
            }
            Node::If {
                slot,
                negate,
                then,
                otherwise,
            } => {
                let set = !values.value(*slot).is_empty();
                let branch = if set != *negate { then } else { otherwise };
                render_nodes(branch, values, out);
            }
        }
    }
}

/// Appends `text` HTML-escaped (safe in element content and in quoted attribute values).
pub fn escape_html(text: &str, out: &mut String) {
    let mut last = 0;
    for (i, b) in text.bytes().enumerate() {
        let entity = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        // `i` is at an ASCII byte, so both slices end on character boundaries.
        out.push_str(text.get(last..i).unwrap_or_default());
        out.push_str(entity);
        last = i + 1;
    }
    out.push_str(text.get(last..).unwrap_or_default());
}

/// Where in an HTML document the compiler is.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Ctx {
    /// Element content.
    Data,
    /// Just after `<`.
    TagOpen,
    /// Just after `</`.
    EndTagOpen,
    /// After `<!`: `--` starts a comment, anything else is a declaration.
    MarkupOpen { dashes: u8 },
    /// Just after `<!--`, with the dashes seen since (`<!-->` and `<!--->` are empty comments).
    CommentStart { dashes: u8 },
    /// Reading a tag name.
    TagName { name: String, end: bool },
    /// Inside a tag, between attributes; `raw` when the element's content is raw text.
    InTag { raw: Option<Raw> },
    /// Reading an attribute name.
    AttrName { name: String, raw: Option<Raw> },
    /// After an attribute name.
    AfterAttrName { kind: AttrKind, raw: Option<Raw> },
    /// After `=`.
    BeforeValue { kind: AttrKind, raw: Option<Raw> },
    /// Inside an attribute value.
    Value {
        kind: AttrKind,
        quote: Option<u8>,
        at_start: bool,
        raw: Option<Raw>,
    },
    /// Inside a comment; `dashes` counts a pending `--`.
    Comment { dashes: u8 },
    /// `<!DOCTYPE …>` and other declarations.
    Declaration,
    /// The content of `<script>` or `<style>`, with how much of its end tag has been seen.
    RawText { raw: Raw, matched: u8 },
}

/// Elements whose content is not parsed as ordinary markup: raw text (`script`, `style`),
/// escapable raw text (`title`, `textarea`: entities, no tags), and `Ambiguous`: elements whose
/// content parsers read differently (`noscript` is markup with scripting off, `iframe` and
/// `noembed` fallbacks may be shown, `xmp`, `noframes`, `plaintext`), and foreign content
/// (`svg`, `math`: there `title` and `textarea` hold markup). No value may follow an
/// `Ambiguous` element anywhere in the template: one reading would be enough to misplace it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Raw {
    Script,
    Style,
    Title,
    Textarea,
    Ambiguous,
}

impl Raw {
    fn of(name: &str) -> Option<Self> {
        Some(match name {
            "script" => Self::Script,
            "style" => Self::Style,
            "title" => Self::Title,
            "textarea" => Self::Textarea,
            "xmp" | "iframe" | "noembed" | "noframes" | "noscript" | "plaintext" | "svg"
            | "math" => Self::Ambiguous,
            _ => return None,
        })
    }

    const fn end_tag(self) -> &'static [u8] {
        match self {
            Self::Script => b"</script",
            Self::Style => b"</style",
            Self::Title => b"</title",
            Self::Textarea => b"</textarea",
            // Never ends: 0xff does not occur in UTF-8 text.
            Self::Ambiguous => b"\xff",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AttrKind {
    Normal,
    Url,
    Css,
    Script,
    /// `srcdoc`: a document inside an attribute (entities are decoded back into markup).
    Markup,
}

/// Attributes whose value is a URL (HTML's URL-valued attributes that mail clients know;
/// `content` because `<meta http-equiv="refresh" content="0;url=…">` is one).
const URL_ATTRIBUTES: [&str; 22] = [
    "href",
    "src",
    "action",
    "formaction",
    "background",
    "poster",
    "cite",
    "data",
    "srcset",
    "xlink:href",
    "longdesc",
    "usemap",
    "ping",
    "codebase",
    "classid",
    "archive",
    "manifest",
    "profile",
    "icon",
    "dynsrc",
    "lowsrc",
    "content",
];

fn attr_kind(name: &str) -> AttrKind {
    let name = name.to_ascii_lowercase();
    if name.starts_with("on") {
        AttrKind::Script
    } else if name == "style" {
        AttrKind::Css
    } else if name == "srcdoc" {
        AttrKind::Markup
    } else if URL_ATTRIBUTES.contains(&name.as_str()) {
        AttrKind::Url
    } else {
        AttrKind::Normal
    }
}

const fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0c)
}

impl Ctx {
    /// The escape for a value of `trust` here, or why none is safe.
    fn escape_for(&self, trust: Trust) -> Result<Escape, &'static str> {
        match (self, trust) {
            (Self::Data, _) => Ok(Escape::Html),
            (
                Self::Value {
                    kind,
                    quote: Some(_),
                    at_start,
                    ..
                },
                trust,
            ) => match (kind, at_start, trust) {
                (AttrKind::Normal, _, _) => Ok(Escape::Html),
                (AttrKind::Url, true, Trust::Url) => Ok(Escape::Html),
                (AttrKind::Url, true, _) => {
                    Err("cannot start a URL attribute: only a configured URL or {{ link }} can")
                }
                (AttrKind::Url, false, _) => Ok(Escape::UrlComponent),
                (AttrKind::Css, _, Trust::Css) => Ok(Escape::Html),
                (AttrKind::Css, _, _) => Err("cannot be used in a style attribute"),
                (AttrKind::Script, _, _) => Err("cannot be used in an event-handler attribute"),
                (AttrKind::Markup, _, _) => {
                    Err("cannot be used in a srcdoc attribute (HTML inside an attribute)")
                }
            },
            (Self::Value { quote: None, .. } | Self::BeforeValue { .. }, _) => {
                Err("is in an unquoted attribute value: put the value in quotes")
            }
            (
                Self::RawText {
                    raw: Raw::Style, ..
                },
                Trust::Css,
            ) => Ok(Escape::Html),
            (
                Self::RawText {
                    raw: Raw::Style, ..
                },
                _,
            ) => Err("cannot be used inside <style>"),
            (
                Self::RawText {
                    raw: Raw::Script, ..
                },
                _,
            ) => Err("cannot be used inside <script>"),
            // Escapable raw text: entities are decoded, tags are not parsed.
            (
                Self::RawText {
                    raw: Raw::Title | Raw::Textarea,
                    ..
                },
                _,
            ) => Ok(Escape::Html),
            (Self::RawText { .. }, _) => Err(
                "cannot be used after <svg>, <math>, <noscript>, <iframe>, <noembed>, <noframes>, <xmp> or <plaintext> (parsers disagree on what follows them)",
            ),
            (Self::Comment { .. } | Self::CommentStart { .. }, _) => {
                Err("cannot be used inside an HTML comment")
            }
            _ => Err("is inside a tag: use it in text or in a quoted attribute value"),
        }
    }

    /// The context after a value was written here.
    fn after_value(self) -> Self {
        match self {
            Self::Value {
                kind, quote, raw, ..
            } => Self::Value {
                kind,
                quote,
                at_start: false,
                raw,
            },
            other => other,
        }
    }

    /// The context after `text`.
    fn advance(mut self, text: &str) -> Self {
        for &b in text.as_bytes() {
            self = self.step(b);
        }
        self
    }

    fn close_tag(raw: Option<Raw>) -> Self {
        match raw {
            Some(raw) => Self::RawText { raw, matched: 0 },
            None => Self::Data,
        }
    }

    fn step(self, b: u8) -> Self {
        match self {
            Self::Data => {
                if b == b'<' {
                    Self::TagOpen
                } else {
                    Self::Data
                }
            }
            Self::TagOpen => match b {
                b'/' => Self::EndTagOpen,
                b'!' => Self::MarkupOpen { dashes: 0 },
                b'?' => Self::Declaration,
                b if b.is_ascii_alphabetic() => Self::TagName {
                    name: char::from(b.to_ascii_lowercase()).to_string(),
                    end: false,
                },
                b'<' => Self::TagOpen,
                _ => Self::Data,
            },
            Self::EndTagOpen => match b {
                b if b.is_ascii_alphabetic() => Self::TagName {
                    name: String::new(),
                    end: true,
                },
                b'>' => Self::Data,
                _ => Self::Declaration,
            },
            Self::MarkupOpen { dashes } => match (b, dashes) {
                (b'-', 0) => Self::MarkupOpen { dashes: 1 },
                (b'-', _) => Self::CommentStart { dashes: 0 },
                (b'>', _) => Self::Data,
                _ => Self::Declaration,
            },
            Self::CommentStart { dashes } => match (b, dashes) {
                (b'>', _) => Self::Data,
                (b'-', 0) => Self::CommentStart { dashes: 1 },
                (b'-', _) => Self::Comment { dashes: 2 },
                _ => Self::Comment { dashes: 0 },
            },
            Self::Declaration => {
                if b == b'>' {
                    Self::Data
                } else {
                    Self::Declaration
                }
            }
            Self::Comment { dashes } => match b {
                b'-' => Self::Comment {
                    dashes: dashes.saturating_add(1),
                },
                b'>' if dashes >= 2 => Self::Data,
                _ => Self::Comment { dashes: 0 },
            },
            Self::TagName { mut name, end } => {
                let raw = || if end { None } else { Raw::of(&name) };
                if is_space(b) || b == b'/' {
                    Self::InTag { raw: raw() }
                } else if b == b'>' {
                    Self::close_tag(raw())
                } else {
                    if !end && name.len() < 16 {
                        name.push(char::from(b.to_ascii_lowercase()));
                    }
                    Self::TagName { name, end }
                }
            }
            Self::InTag { raw } => match b {
                b'>' => Self::close_tag(raw),
                b'/' => Self::InTag { raw },
                b if is_space(b) => Self::InTag { raw },
                b => Self::AttrName {
                    name: char::from(b).to_string(),
                    raw,
                },
            },
            Self::AttrName { mut name, raw } => match b {
                b'=' => Self::BeforeValue {
                    kind: attr_kind(&name),
                    raw,
                },
                b'>' => Self::close_tag(raw),
                b'/' => Self::InTag { raw },
                b if is_space(b) => Self::AfterAttrName {
                    kind: attr_kind(&name),
                    raw,
                },
                b => {
                    if name.len() < 32 {
                        name.push(char::from(b));
                    }
                    Self::AttrName { name, raw }
                }
            },
            Self::AfterAttrName { kind, raw } => match b {
                b'=' => Self::BeforeValue { kind, raw },
                b'>' => Self::close_tag(raw),
                b'/' => Self::InTag { raw },
                b if is_space(b) => Self::AfterAttrName { kind, raw },
                b => Self::AttrName {
                    name: char::from(b).to_string(),
                    raw,
                },
            },
            Self::BeforeValue { kind, raw } => match b {
                b'"' | b'\'' => Self::Value {
                    kind,
                    quote: Some(b),
                    at_start: true,
                    raw,
                },
                b'>' => Self::close_tag(raw),
                b if is_space(b) => Self::BeforeValue { kind, raw },
                _ => Self::Value {
                    kind,
                    quote: None,
                    at_start: false,
                    raw,
                },
            },
            Self::Value {
                kind,
                quote,
                raw,
                at_start,
            } => match quote {
                Some(q) if b == q => Self::InTag { raw },
                Some(_) => Self::Value {
                    kind,
                    quote,
                    at_start: at_start && is_space(b),
                    raw,
                },
                None if is_space(b) => Self::InTag { raw },
                None if b == b'>' => Self::close_tag(raw),
                None => Self::Value {
                    kind,
                    quote,
                    at_start: false,
                    raw,
                },
            },
            Self::RawText { raw, matched } => {
                let end = raw.end_tag();
                let m = usize::from(matched);
                match end.get(m) {
                    Some(&want) if b.to_ascii_lowercase() == want => {
                        if m + 1 == end.len() {
                            Self::TagName {
                                name: String::new(),
                                end: true,
                            }
                        } else {
                            Self::RawText {
                                raw,
                                matched: matched + 1,
                            }
                        }
                    }
                    _ if b == b'<' => Self::RawText { raw, matched: 1 },
                    _ => Self::RawText { raw, matched: 0 },
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 6] = ["name", "app", "link", "otp", "color", "email"];

    fn resolve(name: &str) -> Option<Slot> {
        let index = NAMES.iter().position(|n| *n == name)?;
        let trust = match name {
            "link" => Trust::Url,
            "color" => Trust::Css,
            _ => Trust::User,
        };
        Some(Slot { index, trust })
    }

    fn html(src: &str) -> Result<Template, TemplateError> {
        Template::compile(src, Mode::Html, &resolve)
    }

    fn text(src: &str) -> Template {
        Template::compile(src, Mode::Text, &resolve).unwrap()
    }

    fn vals<'a>(pairs: &[(&str, &'a str)]) -> [&'a str; 6] {
        let mut out = [""; 6];
        for (k, v) in pairs {
            if let Some(i) = NAMES.iter().position(|n| n == k) {
                out[i] = v;
            }
        }
        out
    }

    #[test]
    fn values_are_escaped_in_html_only() {
        let src = "<p>Hi {{ name }}, {{app}}!</p>";
        let v = vals(&[("name", "<script>alert('x')</script>"), ("app", "A&B")]);
        assert_eq!(
            html(src).unwrap().render(&v),
            "<p>Hi &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;, A&amp;B!</p>"
        );
        assert_eq!(
            text(src).render(&v),
            "<p>Hi <script>alert('x')</script>, A&B!</p>"
        );
    }

    #[test]
    fn quoted_attributes_escape_and_url_attributes_check_the_start() {
        let v = vals(&[
            ("name", "\" onmouseover=\"alert(1)"),
            ("link", "https://x.test/a?b=1&c=2"),
            ("email", "javascript:alert(1)//&x=1"),
            ("color", "#112233"),
        ]);
        let t = html("<a href=\"{{link}}\" title='{{name}}'>{{name}}</a>").unwrap();
        assert_eq!(
            t.render(&v),
            "<a href=\"https://x.test/a?b=1&amp;c=2\" title='&quot; onmouseover=&quot;alert(1)'>&quot; onmouseover=&quot;alert(1)</a>"
        );
        // Later in a URL a user value is one percent-encoded component.
        let t = html("<a href=\"https://x.test/?q={{email}}&n={{name}}\">x</a>").unwrap();
        assert_eq!(
            t.render(&v),
            "<a href=\"https://x.test/?q=javascript%3Aalert%281%29%2F%2F%26x%3D1&n=%22%20onmouseover%3D%22alert%281%29\">x</a>"
        );
        let t = html("<img src=\"{{link}}\" style=\"color:{{color}}\">").unwrap();
        assert_eq!(
            t.render(&v),
            "<img src=\"https://x.test/a?b=1&amp;c=2\" style=\"color:#112233\">"
        );
        let t = html("<style>a{color:{{color}}}</style><p>{{name}}</p>").unwrap();
        assert!(
            t.render(&v)
                .ends_with("<p>&quot; onmouseover=&quot;alert(1)</p>")
        );
    }

    #[test]
    fn unsafe_placements_are_compile_errors() {
        for (src, why) in [
            ("<a href=\"{{email}}\">", "cannot start a URL attribute"),
            ("<a href=' {{name}}'>", "cannot start a URL attribute"),
            ("<A HREF=\"{{email}}\">", "cannot start a URL attribute"),
            ("<img src={{link}}>", "unquoted attribute value"),
            ("<p class={{name}}>", "unquoted attribute value"),
            ("<p {{name}}>", "inside a tag"),
            ("<p class=\"a\" {{name}}=\"1\">", "inside a tag"),
            ("<{{name}}>", "inside a tag"),
            ("<p title=\"x\"{{name}}>", "inside a tag"),
            ("<p onclick=\"go('{{name}}')\">", "event-handler attribute"),
            ("<p style=\"color:{{name}}\">", "style attribute"),
            ("<script>var n = '{{name}}';</script>", "inside <script>"),
            ("<style>p{content:'{{name}}'}</style>", "inside <style>"),
            ("<!-- {{name}} -->", "inside an HTML comment"),
            ("<!--{{name}}-->", "inside an HTML comment"),
            ("<iframe srcdoc=\"<b>{{name}}</b>\">", "srcdoc"),
            (
                "<meta http-equiv=\"refresh\" content=\"{{email}}\">",
                "cannot start a URL attribute",
            ),
            ("<a ping=\"{{email}}\">", "cannot start a URL attribute"),
            (
                "<object codebase=\"{{email}}\">",
                "cannot start a URL attribute",
            ),
            // In these the browser sees text where a naive tokenizer sees a tag (and back).
            (
                "<xmp><p title=\"</xmp><img src=x onerror={{name}}>\">",
                "parsers disagree",
            ),
            (
                "<noscript><p title=\"</noscript><img src=x onerror={{name}}>\">",
                "parsers disagree",
            ),
            ("<xmp>{{name}}</xmp>", "parsers disagree"),
            ("<iframe>{{name}}</iframe>", "parsers disagree"),
            ("<noembed>{{name}}</noembed>", "parsers disagree"),
            // With scripting off noscript is markup: the value would start the href.
            (
                "<noscript><a title=\"</noscript>\" href=\"{{name}}\">x</a>",
                "parsers disagree",
            ),
            // In foreign content title/textarea hold markup; <img> breaks out to HTML.
            (
                "<svg><title><img src=x onerror=\"{{name}}\"></title></svg>",
                "parsers disagree",
            ),
            (
                "<math><title><a href=\"{{name}}\">x</a></title></math>",
                "parsers disagree",
            ),
            (
                "<svg></svg><svg><textarea><img onerror=\"{{name}}\">",
                "parsers disagree",
            ),
            ("<plaintext></plaintext>{{name}}", "parsers disagree"),
            // `<!-->` closes the comment at once: what follows is markup, here a tag.
            (
                "<!--><img src=x onerror={{name}}>",
                "unquoted attribute value",
            ),
            (
                "<!---><img src=x title=\"{{email}}\" onerror={{name}}>",
                "unquoted attribute value",
            ),
            // In <title>, markup is text: the value is in text, not in the event handler.
            (
                "<textarea><img onerror=\"{{name}}\"></textarea><p onclick=\"{{name}}\">",
                "event-handler attribute",
            ),
        ] {
            let err = html(src).unwrap_err();
            assert!(err.problem.contains(why), "{src}: {}", err.problem);
        }
    }

    #[test]
    fn contexts_end_where_html_says() {
        // After </script>, a comment, a doctype and a closed quote, values are text again.
        for src in [
            "<script>if (a < b) {}</script><p>{{name}}</p>",
            "<SCRIPT>x='</scr'</SCRIPT>{{name}}",
            "<style>a{}</style >{{name}}",
            "<!-- <a href=\" -->{{name}}",
            "<!DOCTYPE html><html lang=\"{{name}}\">",
            "<p title=\"a>b\">{{name}}</p>",
            "a < b {{name}}",
            "<br/>{{name}}<hr />{{name}}",
            "<input disabled title=\"{{name}}\">",
            "<a href=\"{{link}}\">{{name}}</a>",
            "<title>{{name}} <b></title><p>{{name}}</p>",
            "<textarea><img onerror=\"{{name}}\"></textarea>",
            "<!---->{{name}}",
            "<!-- a -- b -->{{name}}",
            "<meta name=\"description\" content=\"Hello {{name}}\">",
        ] {
            assert!(html(src).is_ok(), "{src}: {:?}", html(src).err());
        }
    }

    #[test]
    fn branches_must_agree_on_the_context() {
        let err = html("{{#if otp}}<a href=\"{{/if}}{{link}}\">").unwrap_err();
        assert!(err.problem.contains("branches"), "{}", err.problem);
        assert_eq!(err.offset, 0);
        let err = html("<p {{#if otp}}class=\"a{{else}}title=\"{{/if}}\">").unwrap_err();
        assert!(err.problem.contains("branches"), "{}", err.problem);
        assert!(html("<p {{#if otp}}class=\"a\"{{/if}}>{{name}}</p>").is_ok());
        assert!(html("{{#if link}}<a href=\"{{link}}\">go</a>{{else}}<b>no</b>{{/if}}").is_ok());
    }

    #[test]
    fn conditionals_nest_and_treat_empty_as_unset() {
        let t = text("{{#if link}}L={{link}}{{#unless otp}} no-otp{{/unless}}{{else}}none{{/if}}.");
        assert_eq!(t.render(&vals(&[("link", "x")])), "L=x no-otp.");
        assert_eq!(t.render(&vals(&[("link", "x"), ("otp", "1")])), "L=x.");
        assert_eq!(t.render(&vals(&[("link", "")])), "none.");
        assert!(t.uses(2) && t.uses(3) && !t.uses(0));
    }

    #[test]
    fn compile_errors_name_the_problem_and_place() {
        for (src, problem, offset) in [
            ("a {{ nme }}", "unknown placeholder `nme`", 2),
            ("{{#if name}}x", "block is not closed", 0),
            ("x{{/if}}", "closing tag without an opening one", 1),
            ("{{else}}", "`{{else}}` outside a block", 0),
            (
                "{{#if name}}{{/unless}}",
                "block closed with the wrong tag",
                12,
            ),
            ("{{ name", "`{{` is not closed by `}}`", 0),
            ("{{ a b }}", "`a b` is not a placeholder name", 0),
        ] {
            let err = Template::compile(src, Mode::Text, &resolve).unwrap_err();
            assert_eq!(
                (err.problem.as_str(), err.offset),
                (problem, offset),
                "{src}"
            );
        }
    }

    #[test]
    fn text_without_tags_is_kept_verbatim() {
        assert_eq!(html("a } b { c").unwrap().render(&vals(&[])), "a } b { c");
    }

    #[test]
    fn escaping_keeps_multibyte_text() {
        let mut out = String::new();
        escape_html("é<ü>\"ß'&😀", &mut out);
        assert_eq!(out, "é&lt;ü&gt;&quot;ß&#39;&amp;😀");
    }
}
