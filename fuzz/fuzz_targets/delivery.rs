//! The delivery hooks' parsers and the template engine never panic: e-mail, SMS and attempt
//! payloads, planning and rendering whatever parses, and templates compiled from any text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_hooks::attempts::{AttemptInput, AttemptKind};
use portcullis_hooks::email::{
    Branding, EmailRenderer, EmailTemplates, LOCALES, Recipient, SendEmailInput, display_name, plan,
};
use portcullis_hooks::sms::{SendSmsInput, SmsRenderer};
use portcullis_hooks::template::{Mode, Slot, Template, Trust};

static RENDERER: std::sync::LazyLock<EmailRenderer> = std::sync::LazyLock::new(|| {
    EmailRenderer::new(Branding::default(), EmailTemplates::new()).unwrap()
});

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        // Three placeholders: a user value, a validated URL, a validated colour.
        let resolve = |name: &str| match name {
            "name" => Some(Slot { index: 0, trust: Trust::User }),
            "link" => Some(Slot { index: 1, trust: Trust::Url }),
            "color" => Some(Slot { index: 2, trust: Trust::Css }),
            _ => None,
        };
        const HOSTILE: &str = "\"'><b x=1>&";
        let values = [HOSTILE, "https://x.test/?a=1&b=2", "#112233"];
        if let Ok(t) = Template::compile(text, Mode::Html, &resolve) {
            // Whatever the context, a value that compiled never lands unescaped.
            let out = t.render(&values);
            assert!(text.contains(HOSTILE) || !out.contains(HOSTILE), "{text:?} -> {out:?}");
        }
        if let Ok(t) = Template::compile(text, Mode::Text, &resolve) {
            let _ = t.render(&values);
        }
    }
    if let Ok(input) = SendEmailInput::parse(data) {
        if let Ok(emails) = plan(&input) {
            let name = display_name(&input.user);
            for email in emails {
                for locale in LOCALES {
                    let out = RENDERER.render(&email, &Recipient { name: &name, email: &input.user.email, ..Recipient::default() }, locale);
                    assert!(!out.subject.contains(['\r', '\n']), "subjects are one line");
                }
            }
        }
    }
    if let Ok(input) = SendSmsInput::parse(data) {
        if let Ok(sms) = portcullis_hooks::sms::plan(&input) {
            assert!(sms.to.starts_with('+'));
            let _ = SmsRenderer::new("Acme", Some("acme.test")).render(&sms, "en");
        }
    }
    for kind in [AttemptKind::Mfa, AttemptKind::Password] {
        let _ = AttemptInput::parse(kind, data);
    }
});
