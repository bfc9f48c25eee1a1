//! Rendering: built-in wording ([`super::strings`]) inside one responsive, accessible layout,
//! or a user's own templates, with the project's branding.
//!
//! The built-in wording is rendered as plain text first (it may contain user values such as
//! `{{ new_email }}`) and then inserted into the HTML layout, which escapes everything it
//! inserts: every user value is escaped exactly once. Subjects never contain line breaks.
//!
//! Everything compiles when the renderer is built (the layouts, every locale's wording, the
//! user's overrides); a render fills one array of values and writes into pre-sized buffers.
//! The HTML layout and HTML overrides compile with contextual checks ([`Mode::Html`]): only
//! validated URLs may start an `href`/`src`, only the validated colours go into styles.

use std::collections::BTreeMap;
use std::fmt;

use super::strings::{common, kind_strings};
use super::{EmailKind, PlannedEmail};
use crate::template::{Mode, Slot, Template, TemplateError, Trust};

/// The placeholders every e-mail template (built-in or configured) may use.
pub const PLACEHOLDERS: [&str; 20] = [
    "app_name",
    "app_url",
    "brand_color",
    "email",
    "factor",
    "footer",
    "kind",
    "lang",
    "link",
    "logo_url",
    "name",
    "new_email",
    "old_email",
    "old_phone",
    "otp",
    "provider",
    "support_contact",
    "support_url",
    "to",
    "to_new_address",
];

/// Names only the built-in layouts use, after [`PLACEHOLDERS`] in the values array.
const LAYOUT_NAMES: [&str; 12] = [
    "t_preheader",
    "t_heading",
    "t_intro",
    "t_button",
    "t_code_intro",
    "t_outro",
    "t_greeting",
    "t_link_fallback",
    "t_sent_to",
    "t_help",
    "t_subject",
    "button_text_color",
];

/// Every slot: the placeholders, then the layout's own names.
const SLOTS: usize = PLACEHOLDERS.len() + LAYOUT_NAMES.len();

fn trust(name: &str) -> Trust {
    match name {
        "link" | "app_url" | "support_url" | "logo_url" => Trust::Url,
        "brand_color" | "button_text_color" => Trust::Css,
        _ => Trust::User,
    }
}

/// A placeholder user templates may use.
fn placeholder(name: &str) -> Option<Slot> {
    let index = PLACEHOLDERS.iter().position(|p| *p == name)?;
    Some(Slot {
        index,
        trust: trust(name),
    })
}

/// A name the built-in layouts may use.
fn layout_name(name: &str) -> Option<Slot> {
    placeholder(name).or_else(|| {
        let i = LAYOUT_NAMES.iter().position(|p| *p == name)?;
        Some(Slot {
            index: PLACEHOLDERS.len() + i,
            trust: trust(name),
        })
    })
}

/// The slot of a layout name (`SLOTS` for none).
fn slot_of(name: &str) -> usize {
    layout_name(name).map_or(SLOTS, |s| s.index)
}

/// How the e-mails look.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Branding {
    /// The product name shown in subjects and text.
    pub app_name: String,
    /// The app's URL (the welcome e-mail's button; the logo links to it).
    pub app_url: String,
    /// An `https://` logo URL, or `""` for a text header.
    pub logo_url: String,
    /// `#rrggbb` for the button and accents.
    pub brand_color: String,
    /// Where users get help (`https://…` or `mailto:…`), or `""`.
    pub support_url: String,
    /// A line at the bottom (company address, …), or `""`.
    pub footer: String,
}

impl Default for Branding {
    fn default() -> Self {
        Self {
            app_name: "Our app".into(),
            app_url: String::new(),
            logo_url: String::new(),
            brand_color: "#2563eb".into(),
            support_url: String::new(),
            footer: String::new(),
        }
    }
}

/// A branding value that is not acceptable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrandingError {
    /// The key (`logo_url`, …).
    pub key: &'static str,
    /// Why.
    pub problem: &'static str,
}

impl fmt::Display for BrandingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.problem)
    }
}

impl std::error::Error for BrandingError {}

impl Branding {
    /// Checks the values that end up in attributes and styles.
    ///
    /// # Errors
    /// [`BrandingError`] naming the first bad key.
    pub fn validate(&self) -> Result<(), BrandingError> {
        let err = |key, problem| Err(BrandingError { key, problem });
        let hex = self.brand_color.strip_prefix('#').unwrap_or("");
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return err("brand_color", "must be a colour like #2563eb");
        }
        if self.app_name.trim().is_empty() || self.app_name.contains(['\r', '\n']) {
            return err("app_name", "must be one non-empty line");
        }
        if !self.logo_url.is_empty() && !self.logo_url.starts_with("https://") {
            return err(
                "logo_url",
                "must be an https:// URL (mail clients block others)",
            );
        }
        for (key, url) in [
            ("app_url", &self.app_url),
            ("support_url", &self.support_url),
        ] {
            let scheme_ok = ["https://", "http://", "mailto:"]
                .iter()
                .any(|p| url.starts_with(p));
            if !url.is_empty() && !scheme_ok {
                return err(key, "must be an http(s):// or mailto: URL");
            }
        }
        Ok(())
    }

    /// Black or white, whichever reads better on the brand colour (WCAG relative luminance).
    fn text_on_brand(&self) -> &'static str {
        let channel = |i: usize| -> f64 {
            let v = self
                .brand_color
                .get(1 + 2 * i..3 + 2 * i)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .map_or(0.0, |v| f64::from(v) / 255.0);
            if v <= 0.039_28 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        let luminance = 0.2126 * channel(0) + 0.7152 * channel(1) + 0.0722 * channel(2);
        // Contrast with white is (1.05)/(L+0.05); with black (L+0.05)/0.05.
        if 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.05 {
            "#ffffff"
        } else {
            "#111827"
        }
    }
}

/// A user's templates for one kind (and optionally one locale); unset parts use the built-in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TemplateSet {
    subject: Option<Template>,
    html: Option<Template>,
    text: Option<Template>,
}

impl TemplateSet {
    /// Compiles the given sources.
    ///
    /// # Errors
    /// [`TemplateError`] (prefixed with `subject`, `html` or `text`) for the first bad one.
    pub fn compile(
        subject: Option<&str>,
        html: Option<&str>,
        text: Option<&str>,
    ) -> Result<Self, (&'static str, TemplateError)> {
        let one = |part: &'static str, src: Option<&str>, mode| {
            src.map(|s| Template::compile(s, mode, &placeholder))
                .transpose()
                .map_err(|e| (part, e))
        };
        Ok(Self {
            subject: one("subject", subject, Mode::Text)?,
            html: one("html", html, Mode::Html)?,
            text: one("text", text, Mode::Text)?,
        })
    }
}

/// Configured template overrides, by kind and optionally locale.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EmailTemplates(BTreeMap<(EmailKind, Option<&'static str>), TemplateSet>);

impl EmailTemplates {
    /// No overrides.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the overrides for `kind` in `locale` (`None`: every locale without its own).
    pub fn insert(&mut self, kind: EmailKind, locale: Option<&'static str>, set: TemplateSet) {
        self.0.insert((kind, locale), set);
    }

    fn part(
        &self,
        kind: EmailKind,
        locale: &'static str,
        pick: fn(&TemplateSet) -> Option<&Template>,
    ) -> Option<&Template> {
        [Some(locale), None]
            .into_iter()
            .find_map(|l| self.0.get(&(kind, l)).and_then(pick))
    }
}

/// A rendered e-mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// One line.
    pub subject: String,
    /// The HTML body (a full document).
    pub html: String,
    /// The plain-text alternative.
    pub text: String,
}

/// One locale's built-in wording, compiled.
#[derive(Clone, Debug, Default)]
struct Wording {
    /// Per kind, in [`EmailKind::ALL`] order: subject, preheader, heading, intro, button,
    /// code intro, outro.
    kinds: Vec<[Template; 7]>,
    /// Greeting, link fallback, "sent to", help.
    common: [Template; 4],
    factor_totp: &'static str,
    factor_phone: &'static str,
    factor_webauthn: &'static str,
}

impl Wording {
    fn compile(locale: &'static str) -> Self {
        // The wording is ours and covered by tests: a failure would be a build defect, shown
        // as an empty string rather than a panic on a request path.
        let t = |src: &str| Template::compile(src, Mode::Text, &placeholder).unwrap_or_default();
        let c = common(locale);
        Self {
            kinds: EmailKind::ALL
                .iter()
                .map(|k| {
                    let w = kind_strings(locale, *k);
                    [
                        t(w.subject),
                        t(w.preheader),
                        t(w.heading),
                        t(w.intro),
                        t(w.button),
                        t(w.code_intro),
                        t(w.outro),
                    ]
                })
                .collect(),
            common: [t(c.greeting), t(c.link_fallback), t(c.sent_to), t(c.help)],
            factor_totp: c.factor_totp,
            factor_phone: c.factor_phone,
            factor_webauthn: c.factor_webauthn,
        }
    }
}

/// Renders e-mails with one branding and set of overrides (compile once, render many).
#[derive(Clone, Debug)]
pub struct EmailRenderer {
    branding: Branding,
    templates: EmailTemplates,
    html_layout: Template,
    text_layout: Template,
    button_text: &'static str,
    /// In [`super::LOCALES`] order.
    wording: Vec<Wording>,
}

const HTML_LAYOUT: &str = include_str!("layout.html");
const TEXT_LAYOUT: &str = include_str!("layout.txt");

/// The facts about the recipient the templates may show.
#[derive(Clone, Copy, Debug, Default)]
pub struct Recipient<'a> {
    /// The display name (`""` when unknown).
    pub name: &'a str,
    /// The account's current address.
    pub email: &'a str,
    /// The pending new address (e-mail change).
    pub new_email: &'a str,
    /// The previous address (`email_changed_notification`).
    pub old_email: &'a str,
    /// The previous phone (`phone_changed_notification`).
    pub old_phone: &'a str,
    /// The linked or unlinked provider.
    pub provider: &'a str,
    /// The factor type (`totp`, `phone`, `webauthn`).
    pub factor_type: &'a str,
}

/// The layouts, compiled (an error here is a defect in our own layout files).
fn compile_layouts() -> Result<(Template, Template), TemplateError> {
    Ok((
        Template::compile(HTML_LAYOUT, Mode::Html, &layout_name)?,
        Template::compile(TEXT_LAYOUT, Mode::Text, &layout_name)?,
    ))
}

impl EmailRenderer {
    /// A renderer for `branding` (validated) and `templates`.
    ///
    /// # Errors
    /// [`BrandingError`] for a bad branding value.
    pub fn new(branding: Branding, templates: EmailTemplates) -> Result<Self, BrandingError> {
        branding.validate()?;
        Ok(Self::build(branding, templates))
    }

    /// A renderer for a branding the caller has validated.
    pub(crate) fn build(branding: Branding, templates: EmailTemplates) -> Self {
        // The layouts are ours and covered by tests (`layouts_compile_with_context_checks`);
        // a failure here is a build defect, shown as an empty layout rather than a panic.
        let (html_layout, text_layout) = compile_layouts().unwrap_or_default();
        let button_text = branding.text_on_brand();
        Self {
            branding,
            templates,
            html_layout,
            text_layout,
            button_text,
            wording: super::LOCALES.into_iter().map(Wording::compile).collect(),
        }
    }

    /// The branding in use.
    #[must_use]
    pub const fn branding(&self) -> &Branding {
        &self.branding
    }

    /// Renders `email` for `recipient` in `locale` (one of [`super::LOCALES`]).
    #[must_use]
    pub fn render(
        &self,
        email: &PlannedEmail,
        recipient: &Recipient<'_>,
        locale: &'static str,
    ) -> Rendered {
        let b = &self.branding;
        let locale_index = super::LOCALES
            .iter()
            .position(|l| *l == locale)
            .unwrap_or(0);
        let empty = Wording::default();
        let w = self.wording.get(locale_index).unwrap_or(&empty);
        let factor = match recipient.factor_type {
            "totp" => w.factor_totp,
            "phone" => w.factor_phone,
            "webauthn" => w.factor_webauthn,
            other => other,
        };
        let link = match (email.kind, &email.link) {
            (_, Some(link)) => link.as_str(),
            (EmailKind::Welcome, None) => b.app_url.as_str(),
            _ => "",
        };
        // In PLACEHOLDERS order, then LAYOUT_NAMES.
        let mut vars: [&str; SLOTS] = [""; SLOTS];
        let base = [
            b.app_name.as_str(),
            b.app_url.as_str(),
            b.brand_color.as_str(),
            recipient.email,
            factor,
            b.footer.as_str(),
            email.kind.name(),
            locale,
            link,
            b.logo_url.as_str(),
            recipient.name,
            recipient.new_email,
            recipient.old_email,
            recipient.old_phone,
            email.otp.as_str(),
            recipient.provider,
            b.support_url
                .strip_prefix("mailto:")
                .unwrap_or(&b.support_url),
            b.support_url.as_str(),
            email.to.as_str(),
            if email.to_new_address { "true" } else { "" },
        ];
        for (slot, v) in vars.iter_mut().zip(base) {
            *slot = v;
        }
        let kind_index = EmailKind::ALL
            .iter()
            .position(|k| *k == email.kind)
            .unwrap_or(0);
        let no_kind: [Template; 7] = Default::default();
        let words = w.kinds.get(kind_index).unwrap_or(&no_kind);
        let [
            subject_t,
            preheader,
            heading,
            intro,
            button,
            code_intro,
            outro,
        ] = words;
        let subject = match self
            .templates
            .part(email.kind, locale, |s| s.subject.as_ref())
        {
            Some(t) => t.render(&vars),
            None => subject_t.render(&vars),
        };
        let subject = one_line(&subject);
        let overridden_html = self.templates.part(email.kind, locale, |s| s.html.as_ref());
        let overridden_text = self.templates.part(email.kind, locale, |s| s.text.as_ref());
        // The built-in wording, rendered as text (escaped once, by the HTML layout).
        let needs_layout = overridden_html.is_none() || overridden_text.is_none();
        let texts: [String; 10] = if needs_layout {
            let [greeting, link_fallback, sent_to, help] = &w.common;
            [
                preheader,
                heading,
                intro,
                button,
                code_intro,
                outro,
                greeting,
                link_fallback,
                sent_to,
                help,
            ]
            .map(|t| t.render(&vars))
        } else {
            Default::default()
        };
        let mut layout_vars = vars;
        for (i, text) in texts.iter().enumerate() {
            if let Some(slot) = layout_vars.get_mut(PLACEHOLDERS.len() + i) {
                *slot = text.as_str();
            }
        }
        if let Some(slot) = layout_vars.get_mut(slot_of("t_subject")) {
            *slot = subject.as_str();
        }
        if let Some(slot) = layout_vars.get_mut(slot_of("button_text_color")) {
            *slot = self.button_text;
        }
        let html = match overridden_html {
            Some(t) => t.render(&vars),
            None => {
                let mut out = String::with_capacity(HTML_LAYOUT.len() + 1024);
                self.html_layout.render_into(&layout_vars, &mut out);
                out
            }
        };
        let text = match overridden_text {
            Some(t) => t.render(&vars),
            None => tidy_text(&self.text_layout.render(&layout_vars)),
        };
        Rendered {
            subject,
            html,
            text,
        }
    }
}

/// Collapses every run of whitespace (line breaks included) to one space: a subject is a
/// header line, and a line break in it would be header injection.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// At most one blank line in a row, no trailing spaces, one final newline.
fn tidy_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = true;
    for line in s.lines().map(str::trim_end) {
        if line.is_empty() {
            if !blank {
                out.push('\n');
            }
            blank = true;
        } else {
            out.push_str(line);
            out.push('\n');
            blank = false;
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(kind: EmailKind) -> PlannedEmail {
        PlannedEmail {
            kind,
            to: "ada@example.com".into(),
            otp: if kind.is_notification() || kind == EmailKind::Welcome {
                String::new()
            } else {
                "123456".into()
            },
            token_hash: String::new(),
            link: kind.has_link().then(|| {
                "https://ref.supabase.co/auth/v1/verify?token=h&type=signup&redirect_to=".into()
            }),
            to_new_address: false,
        }
    }

    fn renderer() -> EmailRenderer {
        EmailRenderer::new(
            Branding {
                app_name: "Acme".into(),
                ..Branding::default()
            },
            EmailTemplates::new(),
        )
        .unwrap()
    }

    #[test]
    fn user_values_are_escaped_once_in_html_and_kept_in_text() {
        let r = renderer();
        let who = Recipient {
            name: "<script>alert(1)</script>",
            email: "ada@example.com",
            ..Recipient::default()
        };
        let out = r.render(&planned(EmailKind::Signup), &who, "en");
        assert!(!out.html.contains("<script>"));
        assert!(
            out.html
                .contains("Hi &lt;script&gt;alert(1)&lt;/script&gt;,")
        );
        assert!(!out.html.contains("&amp;lt;"), "escaped twice");
        assert!(out.text.contains("\nHi <script>alert(1)</script>,\n"));
        assert_eq!(out.subject, "Confirm your email for Acme");
        assert!(out.html.contains("href=\"https://ref.supabase.co/auth/v1/verify?token=h&amp;type=signup&amp;redirect_to=\""));
        assert!(out.html.contains(">123456<") && out.text.contains("123456"));
    }

    #[test]
    fn subjects_cannot_carry_header_breaks() {
        let mut t = EmailTemplates::new();
        t.insert(
            EmailKind::Signup,
            None,
            TemplateSet::compile(Some("Hi {{ name }}"), None, None).unwrap(),
        );
        let r = EmailRenderer::new(Branding::default(), t).unwrap();
        let who = Recipient {
            name: "x\r\nBcc: victim@example.com",
            ..Recipient::default()
        };
        assert_eq!(
            r.render(&planned(EmailKind::Signup), &who, "en").subject,
            "Hi x Bcc: victim@example.com"
        );
    }

    #[test]
    fn overrides_apply_per_locale_then_per_kind() {
        let mut t = EmailTemplates::new();
        t.insert(
            EmailKind::Magiclink,
            None,
            TemplateSet::compile(
                Some("Link for {{app_name}}"),
                Some("<a href=\"{{link}}\">{{name}}</a>"),
                None,
            )
            .unwrap(),
        );
        t.insert(
            EmailKind::Magiclink,
            Some("de"),
            TemplateSet::compile(Some("Link für {{app_name}}"), None, None).unwrap(),
        );
        let r = EmailRenderer::new(Branding::default(), t).unwrap();
        let who = Recipient {
            name: "A&B",
            ..Recipient::default()
        };
        let en = r.render(&planned(EmailKind::Magiclink), &who, "en");
        assert_eq!(en.subject, "Link for Our app");
        assert_eq!(
            en.html,
            "<a href=\"https://ref.supabase.co/auth/v1/verify?token=h&amp;type=signup&amp;redirect_to=\">A&amp;B</a>"
        );
        assert!(
            en.text.contains("Sign in"),
            "text falls back to the built-in"
        );
        let de = r.render(&planned(EmailKind::Magiclink), &who, "de");
        assert_eq!(de.subject, "Link für Our app");
        assert!(
            de.html.starts_with("<a href="),
            "html falls back to the kind-wide override"
        );
    }

    #[test]
    fn layouts_compile_with_context_checks() {
        let (html, text) = compile_layouts().unwrap();
        assert!(html.uses(slot_of("link")) && text.uses(slot_of("t_intro")));
        assert_eq!(slot_of("t_preheader"), PLACEHOLDERS.len());
        assert_eq!(slot_of("button_text_color"), SLOTS - 1);
        assert_eq!(slot_of("nope"), SLOTS);
    }

    #[test]
    fn html_overrides_are_checked_for_their_context() {
        for (src, why) in [
            (
                "<a href=\"{{ email }}\">x</a>",
                "cannot start a URL attribute",
            ),
            ("<p style=\"color:{{ name }}\">x</p>", "style attribute"),
            ("<a href={{ link }}>x</a>", "unquoted"),
        ] {
            let (part, err) = TemplateSet::compile(None, Some(src), None).unwrap_err();
            assert_eq!(part, "html");
            assert!(err.problem.contains(why), "{src}: {}", err.problem);
        }
        // Text parts and subjects are not HTML: the same source is fine there.
        assert!(
            TemplateSet::compile(Some("<a href={{ email }}>"), None, Some("{{ email }}")).is_ok()
        );
        let mut t = EmailTemplates::new();
        t.insert(
            EmailKind::Magiclink,
            None,
            TemplateSet::compile(
                None,
                Some("<a href=\"{{ link }}\">go</a> <a href=\"https://x.test/?u={{ email }}\">me</a>"),
                None,
            )
            .unwrap(),
        );
        let r = EmailRenderer::new(Branding::default(), t).unwrap();
        let who = Recipient {
            email: "a&b=c@example.com",
            ..Recipient::default()
        };
        let out = r.render(&planned(EmailKind::Magiclink), &who, "en");
        assert!(
            out.html
                .ends_with("<a href=\"https://x.test/?u=a%26b%3Dc%40example.com\">me</a>"),
            "{}",
            out.html
        );
    }

    #[test]
    fn unknown_placeholders_in_overrides_are_compile_errors() {
        let (part, err) = TemplateSet::compile(None, None, Some("{{ password }}")).unwrap_err();
        assert_eq!(
            (part, err.problem.as_str()),
            ("text", "unknown placeholder `password`")
        );
    }

    #[test]
    fn branding_is_validated_and_the_button_text_contrasts() {
        let bad = |b: Branding| {
            EmailRenderer::new(b, EmailTemplates::new())
                .unwrap_err()
                .key
        };
        assert_eq!(
            bad(Branding {
                brand_color: "red".into(),
                ..Branding::default()
            }),
            "brand_color"
        );
        assert_eq!(
            bad(Branding {
                brand_color: "#12345g".into(),
                ..Branding::default()
            }),
            "brand_color"
        );
        assert_eq!(
            bad(Branding {
                logo_url: "http://x/logo.png".into(),
                ..Branding::default()
            }),
            "logo_url"
        );
        assert_eq!(
            bad(Branding {
                support_url: "javascript:alert(1)".into(),
                ..Branding::default()
            }),
            "support_url"
        );
        assert_eq!(
            bad(Branding {
                app_name: "a\nb".into(),
                ..Branding::default()
            }),
            "app_name"
        );
        let on = |c: &str| {
            Branding {
                brand_color: c.into(),
                ..Branding::default()
            }
            .text_on_brand()
        };
        assert_eq!(
            (on("#2563eb"), on("#facc15"), on("#000000"), on("#ffffff")),
            ("#ffffff", "#111827", "#ffffff", "#111827")
        );
    }

    #[test]
    fn every_kind_and_locale_renders_its_parts() {
        let r = EmailRenderer::new(
            Branding {
                app_name: "Acme".into(),
                app_url: "https://acme.test".into(),
                support_url: "mailto:help@acme.test".into(),
                ..Branding::default()
            },
            EmailTemplates::new(),
        )
        .unwrap();
        for locale in super::super::LOCALES {
            for kind in EmailKind::ALL {
                let who = Recipient {
                    email: "ada@example.com",
                    new_email: "new@example.com",
                    factor_type: "totp",
                    provider: "github",
                    ..Recipient::default()
                };
                let out = r.render(&planned(kind), &who, locale);
                assert!(
                    !out.subject.is_empty() && !out.subject.contains("{{"),
                    "{locale} {kind}"
                );
                assert!(
                    out.html.contains(&format!("<html lang=\"{locale}\"")),
                    "{locale} {kind}"
                );
                assert!(
                    !out.html.contains("{{") && !out.text.contains("{{"),
                    "{locale} {kind}"
                );
                assert_eq!(
                    out.html.contains("123456"),
                    !kind.is_notification() && kind != EmailKind::Welcome,
                    "{locale} {kind}"
                );
                assert!(
                    out.html.contains("href=\"mailto:help@acme.test\"")
                        && out.text.contains(" help@acme.test.")
                );
                assert!(
                    out.text.ends_with('\n') && !out.text.contains("\n\n\n"),
                    "{locale} {kind}: {:?}",
                    out.text
                );
            }
        }
    }
}
