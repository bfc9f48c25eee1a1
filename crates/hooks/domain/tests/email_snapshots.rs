//! Rendered-email snapshots: every kind in every locale, HTML and text, from realistic payloads.
//! `UPDATE_SNAPSHOTS=1 cargo test -p portcullis-hooks --test email_snapshots` rewrites them;
//! review the diff (the HTML files open in a browser; `cargo xtask test` screenshots a few).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;

use portcullis_hooks::email::{
    Branding, EmailKind, EmailRenderer, EmailTemplates, LOCALES, PlannedEmail, Recipient,
    SendEmailInput, display_name, plan,
};
use serde_json::json;

fn payload(kind: EmailKind, locale: &str) -> SendEmailInput {
    let notification = kind.is_notification();
    let body = json!({
        "metadata": {"uuid": "8b0b7f5c-3f0e-4c55-9c36-6f5f6e1f2a10", "name": "send-email"},
        "user": {
            "id": "00000000-0000-4000-8000-00000000ada0",
            "email": if kind == EmailKind::EmailChangedNotification { "ada.new@example.com" } else { "ada@example.com" },
            "new_email": if kind == EmailKind::EmailChange { "ada.new@example.com" } else { "" },
            "user_metadata": {"full_name": "Ada <Lovelace>", "locale": locale}
        },
        "email_data": {
            "token": if notification { "" } else { "305805" },
            "token_hash": if kind.has_link() { "7d8a1f0c2b9e4d3a5f6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b" } else { "" },
            "redirect_to": "https://app.example.com/welcome?from=email&lang=de",
            "email_action_type": kind.name(),
            "site_url": "https://abcdefghijklmnop.supabase.co/auth/v1",
            "token_new": if kind == EmailKind::EmailChange { "771904" } else { "" },
            "token_hash_new": if kind == EmailKind::EmailChange { "pkce_0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5" } else { "" },
            "old_email": if kind == EmailKind::EmailChangedNotification { "ada@example.com" } else { "" },
            "old_phone": if kind == EmailKind::PhoneChangedNotification { "4915112345678" } else { "" },
            "provider": if matches!(kind, EmailKind::IdentityLinkedNotification | EmailKind::IdentityUnlinkedNotification) { "github" } else { "" },
            "factor_type": if matches!(kind, EmailKind::MfaFactorEnrolledNotification | EmailKind::MfaFactorUnenrolledNotification) { "totp" } else { "" }
        }
    });
    SendEmailInput::parse(&serde_json::to_vec(&body).unwrap()).unwrap()
}

fn emails(kind: EmailKind, input: &SendEmailInput) -> Vec<PlannedEmail> {
    if kind == EmailKind::Welcome {
        return vec![PlannedEmail {
            kind,
            to: input.user.email.clone(),
            otp: String::new(),
            token_hash: String::new(),
            link: None,
            to_new_address: false,
        }];
    }
    plan(input).unwrap()
}

/// Only `UPDATE_SNAPSHOTS=1` rewrites snapshots; `0`, `false`, empty or unset compare them.
fn update_requested(value: Option<&str>) -> bool {
    value.is_some_and(|v| v.trim() == "1")
}

#[test]
fn only_update_snapshots_1_rewrites() {
    assert!(update_requested(Some("1")));
    for v in [
        None,
        Some("0"),
        Some(""),
        Some("false"),
        Some("no"),
        Some("true "),
    ] {
        assert!(!update_requested(v), "{v:?}");
    }
}

#[test]
fn rendered_emails_match_their_snapshots() {
    let renderer = EmailRenderer::new(
        Branding {
            app_name: "Acme Notes".into(),
            app_url: "https://app.example.com".into(),
            logo_url: String::new(),
            brand_color: "#4f46e5".into(),
            support_url: "mailto:support@example.com".into(),
            footer: "Acme Inc. · 1 Example Street · Berlin".into(),
        },
        EmailTemplates::new(),
    )
    .unwrap();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/email");
    let update = update_requested(std::env::var("UPDATE_SNAPSHOTS").ok().as_deref());
    let mut mismatches = Vec::new();
    let mut count = 0;
    for locale in LOCALES {
        for kind in EmailKind::ALL {
            let input = payload(kind, locale);
            let name = display_name(&input.user);
            for email in emails(kind, &input) {
                let d = &input.email_data;
                let who = Recipient {
                    name: &name,
                    email: &input.user.email,
                    new_email: &input.user.new_email,
                    old_email: &d.old_email,
                    old_phone: &d.old_phone,
                    provider: &d.provider,
                    factor_type: &d.factor_type,
                };
                let out = renderer.render(&email, &who, locale);
                let stem = if kind == EmailKind::EmailChange {
                    format!(
                        "{kind}.{}.{locale}",
                        if email.to_new_address {
                            "new"
                        } else {
                            "current"
                        }
                    )
                } else {
                    format!("{kind}.{locale}")
                };
                let text = format!("Subject: {}\nTo: {}\n\n{}", out.subject, email.to, out.text);
                for (file, content) in [
                    (format!("{stem}.html"), &out.html),
                    (format!("{stem}.txt"), &text),
                ] {
                    count += 1;
                    let path = dir.join(&file);
                    if update {
                        std::fs::write(&path, content).unwrap();
                    } else if std::fs::read_to_string(&path).ok().as_deref()
                        != Some(content.as_str())
                    {
                        mismatches.push(file);
                    }
                }
            }
        }
    }
    assert_eq!(count, 90, "15 e-mails × 3 locales × (HTML + text)");
    assert!(
        mismatches.is_empty(),
        "snapshots differ (UPDATE_SNAPSHOTS=1 to accept): {mismatches:?}"
    );
}
