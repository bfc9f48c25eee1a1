//! A small template language for messages (e-mail HTML and text, SMS).
//!
//! - `{{ name }}` inserts a value; in [`Mode::Html`] it is HTML-escaped, so a display name of
//!   `<script>` renders as text.
//! - `{{#if name}}…{{else}}…{{/if}}` and `{{#unless name}}…{{/unless}}` branch on a value being
//!   present and non-empty.
//!
//! Templates compile once (at start-up, for configured ones) against the set of names the
//! caller will provide: an unknown name is a compile error, never an empty string at send time.
//! Rendering cannot fail and has no loops, so its cost is linear in the template.

use std::fmt;

/// How values are inserted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// HTML-escape every inserted value.
    Html,
    /// Insert values as they are (plain text, SMS).
    Text,
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

#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    Text(String),
    Var(String),
    If {
        name: String,
        negate: bool,
        then: Vec<Node>,
        otherwise: Vec<Node>,
    },
}

/// A compiled template.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Template(Vec<Node>);

/// The values a template reads.
pub trait Values {
    /// The value of `name`, if set.
    fn value(&self, name: &str) -> Option<&str>;
}

/// Values by name, in insertion order (a later set of the same name wins).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Vars(Vec<(String, String)>);

impl Vars {
    /// No values.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `name`.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        let name = name.into();
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| *k == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
        self
    }

    /// Builder-style [`Vars::set`].
    #[must_use]
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.set(name, value);
        self
    }
}

impl Values for Vars {
    fn value(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
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

impl Template {
    /// Compiles `source`, accepting only names for which `known` is true.
    ///
    /// # Errors
    /// [`TemplateError`] for unbalanced or malformed tags and unknown names.
    pub fn compile(source: &str, known: &dyn Fn(&str) -> bool) -> Result<Self, TemplateError> {
        // A stack of open blocks: (name, negate, then-branch, else-branch, in-else, offset).
        type Frame = (String, bool, Vec<Node>, Vec<Node>, bool, usize);
        let mut stack: Vec<Frame> = Vec::new();
        let mut current: Vec<Node> = Vec::new();
        let mut rest = source;
        let mut offset = 0usize;
        let push =
            |stack: &mut Vec<Frame>, current: &mut Vec<Node>, node: Node| match stack.last_mut() {
                Some((_, _, then, otherwise, in_else, _)) => {
                    if *in_else {
                        otherwise.push(node);
                    } else {
                        then.push(node);
                    }
                }
                None => current.push(node),
            };
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                push(
                    &mut stack,
                    &mut current,
                    Node::Text(rest.get(..start).unwrap_or_default().to_owned()),
                );
            }
            let at = offset + start;
            let after = rest.get(start + 2..).unwrap_or_default();
            let end = after.find("}}").ok_or(TemplateError {
                offset: at,
                problem: "`{{` is not closed by `}}`".into(),
            })?;
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
            let check = |name: &str| -> Result<(), TemplateError> {
                if !valid_name(name) {
                    return Err(TemplateError {
                        offset: at,
                        problem: format!("`{name}` is not a placeholder name"),
                    });
                }
                if !known(name) {
                    return Err(TemplateError {
                        offset: at,
                        problem: format!("unknown placeholder `{name}`"),
                    });
                }
                Ok(())
            };
            match tag {
                Tag::Var(name) => {
                    check(name)?;
                    push(&mut stack, &mut current, Node::Var(name.to_owned()));
                }
                Tag::Open { name, negate } => {
                    check(name)?;
                    stack.push((name.to_owned(), negate, Vec::new(), Vec::new(), false, at));
                }
                Tag::Else => match stack.last_mut() {
                    Some((_, _, _, _, in_else, _)) if !*in_else => *in_else = true,
                    _ => {
                        return Err(TemplateError {
                            offset: at,
                            problem: "`{{else}}` outside a block".into(),
                        });
                    }
                },
                Tag::Close { negate } => {
                    let Some((name, open_negate, then, otherwise, _, _)) = stack.pop() else {
                        return Err(TemplateError {
                            offset: at,
                            problem: "closing tag without an opening one".into(),
                        });
                    };
                    if open_negate != negate {
                        return Err(TemplateError {
                            offset: at,
                            problem: format!("`{name}` block closed with the wrong tag"),
                        });
                    }
                    push(
                        &mut stack,
                        &mut current,
                        Node::If {
                            name,
                            negate,
                            then,
                            otherwise,
                        },
                    );
                }
            }
            let consumed = start + 2 + end + 2;
            rest = rest.get(consumed..).unwrap_or_default();
            offset += consumed;
        }
        if let Some((name, _, _, _, _, at)) = stack.pop() {
            return Err(TemplateError {
                offset: at,
                problem: format!("block `{name}` is not closed"),
            });
        }
        if !rest.is_empty() {
            current.push(Node::Text(rest.to_owned()));
        }
        Ok(Self(current))
    }

    /// Renders into `out`.
    pub fn render_into(&self, values: &dyn Values, mode: Mode, out: &mut String) {
        render_nodes(&self.0, values, mode, out);
    }

    /// Renders to a new string.
    #[must_use]
    pub fn render(&self, values: &dyn Values, mode: Mode) -> String {
        let mut out = String::new();
        self.render_into(values, mode, &mut out);
        out
    }

    /// Whether the template uses `name` (as a value or a condition).
    #[must_use]
    pub fn uses(&self, name: &str) -> bool {
        fn walk(nodes: &[Node], name: &str) -> bool {
            nodes.iter().any(|n| match n {
                Node::Text(_) => false,
                Node::Var(v) => v == name,
                Node::If {
                    name: n2,
                    then,
                    otherwise,
                    ..
                } => n2 == name || walk(then, name) || walk(otherwise, name),
            })
        }
        walk(&self.0, name)
    }
}

fn render_nodes(nodes: &[Node], values: &dyn Values, mode: Mode, out: &mut String) {
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Var(name) => {
                let v = values.value(name).unwrap_or_default();
                match mode {
                    Mode::Html => escape_html(v, out),
                    Mode::Text => out.push_str(v),
                }
            }
            Node::If {
                name,
                negate,
                then,
                otherwise,
            } => {
                let set = values.value(name).is_some_and(|v| !v.is_empty());
                let branch = if set != *negate { then } else { otherwise };
                render_nodes(branch, values, mode, out);
            }
        }
    }
}

/// Appends `text` HTML-escaped (safe in element content and in quoted attribute values).
pub fn escape_html(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any(_: &str) -> bool {
        true
    }

    fn vals(pairs: &[(&str, &str)]) -> Vars {
        pairs.iter().fold(Vars::new(), |v, (k, x)| v.with(*k, *x))
    }

    #[test]
    fn values_are_escaped_in_html_only() {
        let t = Template::compile("<p>Hi {{ name }}, {{app}}!</p>", &any).unwrap();
        let v = vals(&[("name", "<script>alert('x')</script>"), ("app", "A&B")]);
        assert_eq!(
            t.render(&v, Mode::Html),
            "<p>Hi &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;, A&amp;B!</p>"
        );
        assert_eq!(
            t.render(&v, Mode::Text),
            "<p>Hi <script>alert('x')</script>, A&B!</p>"
        );
    }

    #[test]
    fn conditionals_nest_and_treat_empty_as_unset() {
        let t = Template::compile(
            "{{#if link}}L={{link}}{{#unless otp}} no-otp{{/unless}}{{else}}none{{/if}}.",
            &any,
        )
        .unwrap();
        assert_eq!(t.render(&vals(&[("link", "x")]), Mode::Text), "L=x no-otp.");
        assert_eq!(
            t.render(&vals(&[("link", "x"), ("otp", "1")]), Mode::Text),
            "L=x."
        );
        assert_eq!(t.render(&vals(&[("link", "")]), Mode::Text), "none.");
        assert!(t.uses("otp") && t.uses("link") && !t.uses("x"));
    }

    #[test]
    fn compile_errors_name_the_problem_and_place() {
        let known = |n: &str| n == "name";
        for (src, problem, offset) in [
            ("a {{ nme }}", "unknown placeholder `nme`", 2),
            ("{{#if name}}x", "block `name` is not closed", 0),
            ("x{{/if}}", "closing tag without an opening one", 1),
            ("{{else}}", "`{{else}}` outside a block", 0),
            (
                "{{#if name}}{{/unless}}",
                "`name` block closed with the wrong tag",
                12,
            ),
            ("{{ name", "`{{` is not closed by `}}`", 0),
            ("{{ a b }}", "`a b` is not a placeholder name", 0),
        ] {
            let err = Template::compile(src, &known).unwrap_err();
            assert_eq!(
                (err.problem.as_str(), err.offset),
                (problem, offset),
                "{src}"
            );
        }
    }

    #[test]
    fn text_without_tags_is_kept_verbatim() {
        let t = Template::compile("a } b { c", &any).unwrap();
        assert_eq!(t.render(&vals(&[]), Mode::Html), "a } b { c");
    }
}
