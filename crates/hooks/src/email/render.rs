//! Rendering: built-in wording ([`super::strings`]) inside one responsive, accessible layout,
//! or a user's own templates, with the project's branding.
//!
//! The built-in wording is rendered as plain text first (it may contain user values such as
//! `{{ new_email }}`) and then inserted into the HTML layout, which escapes everything it
//! inserts: every user value is escaped exactly once. Subjects never contain line breaks.

use std::collections::BTreeMap;
use std::fmt;

use super::strings::{common, kind_strings};
use super::{EmailKind, PlannedEmail};
use crate::template::{Mode, Template, TemplateError, Vars};

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

fn is_placeholder(name: &str) -> bool {
    PLACEHOLDERS.contains(&name)
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
        let one = |part: &'static str, src: Option<&str>| {
            src.map(|s| Template::compile(s, &is_placeholder))
                .transpose()
                .map_err(|e| (part, e))
        };
        Ok(Self {
            subject: one("subject", subject)?,
            html: one("html", html)?,
            text: one("text", text)?,
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

/// Renders e-mails with one branding and set of overrides (compile once, render many).
#[derive(Clone, Debug)]
pub struct EmailRenderer {
    branding: Branding,
    templates: EmailTemplates,
    html_layout: Template,
    text_layout: Template,
    button_text: &'static str,
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
        let any = |_: &str| true;
        // The layouts are ours and covered by tests; a failure here is a build defect, shown
        // as an empty layout rather than a panic on a request path.
        let html_layout = Template::compile(HTML_LAYOUT, &any).unwrap_or_default();
        let text_layout = Template::compile(TEXT_LAYOUT, &any).unwrap_or_default();
        let button_text = branding.text_on_brand();
        Self {
            branding,
            templates,
            html_layout,
            text_layout,
            button_text,
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
        let c = common(locale);
        let factor = match recipient.factor_type {
            "totp" => c.factor_totp,
            "phone" => c.factor_phone,
            "webauthn" => c.factor_webauthn,
            other => other,
        };
        let link = match (email.kind, &email.link) {
            (_, Some(link)) => link.as_str(),
            (EmailKind::Welcome, None) => b.app_url.as_str(),
            _ => "",
        };
        let mut vars = Vars::new();
        for (k, v) in [
            ("app_name", b.app_name.as_str()),
            ("app_url", b.app_url.as_str()),
            ("brand_color", b.brand_color.as_str()),
            ("email", recipient.email),
            ("factor", factor),
            ("footer", b.footer.as_str()),
            ("kind", email.kind.name()),
            ("lang", locale),
            ("link", link),
            ("logo_url", b.logo_url.as_str()),
            ("name", recipient.name),
            ("new_email", recipient.new_email),
            ("old_email", recipient.old_email),
            ("old_phone", recipient.old_phone),
            ("otp", email.otp.as_str()),
            ("provider", recipient.provider),
            (
                "support_contact",
                b.support_url
                    .strip_prefix("mailto:")
                    .unwrap_or(&b.support_url),
            ),
            ("support_url", b.support_url.as_str()),
            ("to", email.to.as_str()),
            (
                "to_new_address",
                if email.to_new_address { "true" } else { "" },
            ),
        ] {
            vars.set(k, v);
        }
        let words = kind_strings(locale, email.kind);
        let text_of = |src: &str| -> String {
            Template::compile(src, &is_placeholder)
                .map(|t| t.render(&vars, Mode::Text))
                .unwrap_or_default()
        };
        let subject = match self
            .templates
            .part(email.kind, locale, |s| s.subject.as_ref())
        {
            Some(t) => t.render(&vars, Mode::Text),
            None => text_of(words.subject),
        };
        let subject = one_line(&subject);
        let mut layout_vars = vars.clone();
        for (k, src) in [
            ("t_preheader", words.preheader),
            ("t_heading", words.heading),
            ("t_intro", words.intro),
            ("t_button", words.button),
            ("t_code_intro", words.code_intro),
            ("t_outro", words.outro),
            ("t_greeting", c.greeting),
            ("t_link_fallback", c.link_fallback),
            ("t_sent_to", c.sent_to),
            ("t_help", c.help),
        ] {
            layout_vars.set(k, text_of(src));
        }
        layout_vars.set("t_subject", subject.as_str());
        layout_vars.set("button_text_color", self.button_text);
        let html = match self.templates.part(email.kind, locale, |s| s.html.as_ref()) {
            Some(t) => t.render(&vars, Mode::Html),
            None => self.html_layout.render(&layout_vars, Mode::Html),
        };
        let text = match self.templates.part(email.kind, locale, |s| s.text.as_ref()) {
            Some(t) => t.render(&vars, Mode::Text),
            None => tidy_text(&self.text_layout.render(&layout_vars, Mode::Text)),
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
