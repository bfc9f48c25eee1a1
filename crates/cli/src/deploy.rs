//! Deployment helpers: the `supabase/config.toml` blocks and secret commands for a URL, the
//! migrations against a database, and `doctor`, which probes every hook URL with signed
//! requests that have no side effects and explains what is wrong.

use std::path::Path;

use portcullis_core::uuid_v4;
use portcullis_pgclient::{Client, ConnectUrl, scram_verifier};
use portcullis_webhooks::SecretSet;
use serde_json::{Value, json};

use crate::config_toml::HookBlock;
use crate::{DbArg, OsRandom, SecretArg, new_secret, now};

/// The hooks: route, `supabase/config.toml` table (None: not in the CLI yet), GoTrue env prefix.
pub(crate) const HOOKS: [(&str, Option<&str>, &str); 7] = [
    (
        "custom-access-token",
        Some("custom_access_token"),
        "CUSTOM_ACCESS_TOKEN",
    ),
    ("send-email", Some("send_email"), "SEND_EMAIL"),
    ("send-sms", Some("send_sms"), "SEND_SMS"),
    (
        "mfa-verification-attempt",
        Some("mfa_verification_attempt"),
        "MFA_VERIFICATION_ATTEMPT",
    ),
    (
        "password-verification-attempt",
        Some("password_verification_attempt"),
        "PASSWORD_VERIFICATION_ATTEMPT",
    ),
    (
        "before-user-created",
        Some("before_user_created"),
        "BEFORE_USER_CREATED",
    ),
    ("after-user-created", None, "AFTER_USER_CREATED"),
];

/// The migrations, in order (a test keeps this list equal to supabase/migrations).
pub(crate) const MIGRATIONS: [(&str, &str); 7] = [
    (
        "20261123000000_portcullis_foundation.sql",
        include_str!("../../../supabase/migrations/20261123000000_portcullis_foundation.sql"),
    ),
    (
        "20261124000000_portcullis_delivery.sql",
        include_str!("../../../supabase/migrations/20261124000000_portcullis_delivery.sql"),
    ),
    (
        "20261201000000_portcullis_retention.sql",
        include_str!("../../../supabase/migrations/20261201000000_portcullis_retention.sql"),
    ),
    (
        "20261202000000_portcullis_claim_takeover.sql",
        include_str!("../../../supabase/migrations/20261202000000_portcullis_claim_takeover.sql"),
    ),
    (
        "20261203000000_portcullis_pat.sql",
        include_str!("../../../supabase/migrations/20261203000000_portcullis_pat.sql"),
    ),
    (
        "20261204000000_portcullis_pat_retention.sql",
        include_str!("../../../supabase/migrations/20261204000000_portcullis_pat_retention.sql"),
    ),
    (
        "20261205000000_portcullis_sso.sql",
        include_str!("../../../supabase/migrations/20261205000000_portcullis_sso.sql"),
    ),
];
const UNINSTALL: &str = include_str!("../../../supabase/uninstall.sql");

/// An HTTP agent that reports every status (doctor and send read error bodies) and gives up
/// after 10 s.
pub(crate) fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::config::Config::builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(10)))
            .build(),
    )
}

/// The functions' base URL for Supabase Auth: `https://`, or `http://` to this machine or to
/// `host.docker.internal` (a local Supabase's Auth container calling the host). The host is
/// parsed and compared whole (`http://localhost.evil.example`, `http://localhost@evil.example`
/// are refused), as for provider URLs.
fn hook_base_url(base: &str) -> Result<String, String> {
    let refuse =
        |e: &dyn std::fmt::Display| format!("--url {e} (Supabase Auth calls hooks over https://)");
    match portcullis_core::check_base_url(base) {
        Ok(url) => Ok(url),
        Err(portcullis_core::BaseUrlError::InsecureRemote) => {
            let rest = base.trim().get("http://".len()..).unwrap_or_default();
            let as_https = portcullis_core::check_base_url(&format!("https://{rest}"))
                .map_err(|e| refuse(&e))?;
            let host = as_https
                .trim_start_matches("https://")
                .split(['/', ':'])
                .next()
                .unwrap_or_default();
            if host == "host.docker.internal" {
                Ok(format!(
                    "http://{}",
                    as_https.trim_start_matches("https://")
                ))
            } else {
                Err(refuse(
                    &"http:// is allowed only for 127.0.0.1, localhost, [::1] or host.docker.internal",
                ))
            }
        }
        Err(e) => Err(refuse(&e)),
    }
}

/// `portcullis hooks config --url BASE [--secret-env VAR] [--write FILE]`
pub(crate) fn config(base: &str, var: &str, write: Option<&Path>) -> Result<(), String> {
    let base = hook_base_url(base)?;
    let base = base.as_str();
    let generated = match std::env::var(var) {
        Ok(v) if !v.is_empty() => {
            SecretSet::parse(&v).map_err(|e| format!("{var}: {e}"))?;
            None
        }
        _ => Some(new_secret()?),
    };
    let blocks: Vec<HookBlock<'_>> = HOOKS
        .iter()
        .filter_map(|(path, table, _)| {
            table.map(|t| HookBlock {
                table: t,
                uri: format!("{base}/{path}"),
                secrets: format!("env({var})"),
            })
        })
        .collect();
    let after_user_created = format!(
        "# after-user-created is not in supabase/config.toml yet; self-hosted GoTrue:\n# GOTRUE_HOOK_AFTER_USER_CREATED_ENABLED=true\n# GOTRUE_HOOK_AFTER_USER_CREATED_URI={base}/after-user-created\n# GOTRUE_HOOK_AFTER_USER_CREATED_SECRETS=${var}"
    );
    match write {
        Some(file) => {
            let existing = match std::fs::read_to_string(file) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
                Err(e) => return Err(format!("{}: {e}", file.display())),
            };
            let (merged, report) =
                crate::config_toml::merge(&existing, "portcullis-hooks", &blocks)
                    .map_err(|e| format!("{}: {e}", file.display()))?;
            if merged != existing {
                let tmp = file.with_extension("toml.portcullis-tmp");
                std::fs::write(&tmp, &merged).map_err(|e| format!("{}: {e}", tmp.display()))?;
                std::fs::rename(&tmp, file).map_err(|e| format!("{}: {e}", file.display()))?;
            }
            println!("# {}", file.display());
            for a in &report.added {
                println!("added {a}");
            }
            for k in &report.kept {
                println!("kept  {k}");
            }
            for w in &report.warnings {
                println!("WARNING {w}");
            }
            println!("\n{after_user_created}");
        }
        None => {
            println!(
                "# supabase/config.toml (Supabase Auth reads the secret from the environment: `env({var})`)"
            );
            for b in &blocks {
                println!(
                    "\n[auth.hook.{}]\nenabled = true\nuri = \"{}\"\nsecrets = \"{}\"",
                    b.table, b.uri, b.secrets
                );
            }
            println!("\n{after_user_created}");
            println!(
                "\n# The function must run with JWT verification off (Supabase Auth sends no Authorization header):"
            );
            println!("[functions.portcullis-hooks]\nverify_jwt = false");
            println!("\n# Or merge these into your file, keeping what is already there:");
            println!("#   portcullis hooks config --url {base} --write supabase/config.toml");
        }
    }
    println!("\n# Secrets: the same value on both sides.");
    match &generated {
        Some(secret) => {
            println!("# A new secret was generated (shown once; store it in your secret manager):");
            println!("export {var}='{secret}'");
        }
        None => println!("# Using the secret in ${var}."),
    }
    println!(
        "supabase secrets set PORTCULLIS_HOOK_SECRETS=\"${var}\"          # Supabase Edge Functions"
    );
    println!(
        "printf '%s' \"${var}\" | wrangler secret put PORTCULLIS_HOOK_SECRETS   # Cloudflare Workers"
    );
    println!("supabase functions deploy portcullis-hooks --no-verify-jwt");
    println!(
        "\n# Then check every hook end to end:\nportcullis doctor --url {base} --secret-env {var}"
    );
    Ok(())
}

/// `portcullis db migrate [--enable-login]`
pub(crate) fn migrate(db: &DbArg, enable_login: bool) -> Result<(), String> {
    let url = db.read()?;
    let mut c = Client::connect(&url)?;
    for (name, sql) in MIGRATIONS {
        c.execute(sql).map_err(|e| format!("{name}: {e}"))?;
        println!("applied {name}");
    }
    let versions = c.query(
        "select string_agg(version, ', ' order by version) from portcullis.migrations",
        &[],
    )?;
    let versions = versions
        .into_iter()
        .next()
        .and_then(|r| r.into_iter().next().flatten())
        .unwrap_or_default();
    println!("portcullis.migrations: {versions}");
    if !enable_login {
        println!(
            "(the functions connect as portcullis_fn: run again with --enable-login to give it a password, or use SUPABASE_DB_URL)"
        );
        return Ok(());
    }
    let mut bytes = [0u8; 24];
    portcullis_core::SecureRandom::fill(&OsRandom, &mut bytes).map_err(|e| e.to_string())?;
    let password = portcullis_core::encoding::hex(&bytes);
    // The server gets a SCRAM verifier, never the password: nothing for its logs or
    // pg_stat_statements to keep.
    c.execute(&format!(
        "alter role portcullis_fn login password '{}'",
        scram_verifier(&password)
    ))?;
    let u = ConnectUrl::parse(&url).map_err(|e| e.to_string())?;
    println!("\nportcullis_fn can log in now. The functions' database URL (a secret; shown once):");
    println!(
        "PORTCULLIS_DB_URL='{}'",
        u.with_credentials("portcullis_fn", &password)
    );
    Ok(())
}

/// `portcullis db uninstall`
pub(crate) fn uninstall(db: &DbArg) -> Result<(), String> {
    let mut c = Client::connect(&db.read()?)?;
    c.execute(UNINSTALL)
        .map_err(|e| format!("uninstall.sql: {e}"))?;
    println!("removed schema portcullis and role portcullis_fn");
    Ok(())
}

/// A signed request that each hook verifies and answers without side effects: nothing is sent,
/// stored or provisioned.
fn probe(path: &str) -> Result<Value, String> {
    let id = || uuid_v4(&OsRandom).map_err(|e| e.to_string());
    let t = now().secs();
    let metadata = json!({"uuid": id()?, "time": "2026-11-23T12:00:00Z", "name": "portcullis-doctor", "ip_address": "127.0.0.1"});
    let user = json!({"id": id()?, "aud": "authenticated", "role": "authenticated", "email": "doctor@example.invalid", "phone": "",
        "app_metadata": {"provider": "email", "providers": ["email"]}, "user_metadata": {}, "identities": [],
        "created_at": "2026-11-23T12:00:00Z", "updated_at": "2026-11-23T12:00:00Z", "is_anonymous": false});
    Ok(match path {
        "custom-access-token" => {
            let sub = id()?;
            json!({"metadata": metadata, "user_id": sub, "authentication_method": "password", "claims": {
                "iss": "portcullis-doctor", "aud": "authenticated", "exp": t + 3600, "iat": t, "sub": sub,
                "email": "doctor@example.invalid", "phone": "", "role": "authenticated", "aal": "aal1",
                "amr": [{"method": "password", "timestamp": t}], "session_id": id()?, "is_anonymous": false,
                "app_metadata": {}, "user_metadata": {}}})
        }
        // An e-mail type GoTrue never sends: verified, then refused before anything is rendered.
        "send-email" => {
            json!({"metadata": metadata, "user": user, "email_data": {"email_action_type": "portcullis_doctor",
            "token": "", "token_hash": "", "redirect_to": "", "site_url": "", "token_new": "", "token_hash_new": "",
            "old_email": "", "old_phone": "", "provider": "", "factor_type": ""}})
        }
        // Not a phone number: verified, then refused before any provider is called.
        "send-sms" => {
            json!({"metadata": metadata, "user": user, "sms": {"otp": "000000", "phone": "doctor"}})
        }
        // A success for a user with no failures: nothing to reset.
        "mfa-verification-attempt" => {
            json!({"metadata": metadata, "user_id": id()?, "factor_id": "doctor", "factor_type": "totp", "valid": true})
        }
        "password-verification-attempt" => {
            json!({"metadata": metadata, "user_id": id()?, "valid": true})
        }
        "before-user-created" => json!({"metadata": metadata, "user": user}),
        // No user id: verified, then refused before anything is provisioned.
        "after-user-created" => json!({"metadata": metadata, "user": {"id": "portcullis-doctor"}}),
        other => return Err(format!("unknown hook {other}")),
    })
}

fn diagnose(status: u16, body: &str) -> (bool, String) {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    // Ours: {"error": code, "message"}; the platform's: {"code"|"msg", "message"}.
    let code = v.get("error").and_then(Value::as_str).unwrap_or("");
    let msg = v
        .get("message")
        .or_else(|| v.get("msg"))
        .and_then(Value::as_str)
        .unwrap_or("");
    match (status, code) {
        (200, _) if v.is_object() => match v.get("error") {
            Some(e) => (true, format!("verified; answered an error object as designed for this probe ({})", e.get("message").and_then(Value::as_str).unwrap_or(""))),
            None => (true, "verified and answered".into()),
        },
        (200, _) => (false, "answered 200 without a JSON object: Supabase Auth would fail the request".into()),
        (401, "invalid_webhook_signature") => (false, "the secrets differ: the function's PORTCULLIS_HOOK_SECRETS is not the secret given here".into()),
        (401, "hook_secret_not_configured") => (false, "the function has no secret: set PORTCULLIS_HOOK_SECRETS (supabase secrets set / wrangler secret put)".into()),
        (401, c) if c.starts_with("webhook_timestamp") => (false, format!("clock skew: the function refused the timestamp ({c}); check this machine's clock")),
        (401, _) => (false, format!("401 from the platform, not from Portcullis ({msg}): JWT verification is on. Deploy with --no-verify-jwt or set verify_jwt = false for portcullis-hooks")),
        (404, "not_found") => (false, "the function is up but has no such route: is this Portcullis hooks, and the URL its base (…/functions/v1/portcullis-hooks)?".into()),
        (404, _) => (false, "404: no function at this URL (deployed? named portcullis-hooks?)".into()),
        (500..=599, _) => (false, format!("{status}: the function failed ({}): check its logs (a start-up configuration error names the variable)", if msg.is_empty() { body.chars().take(120).collect::<String>() } else { msg.to_owned() })),
        _ => (false, format!("unexpected {status}: {}", body.chars().take(160).collect::<String>())),
    }
}

/// `portcullis doctor --url BASE (--secret S | --secret-env VAR)`
pub(crate) fn doctor(base: &str, secret: &SecretArg) -> Result<(), String> {
    let base = base.trim_end_matches('/').to_owned();
    let secrets = secret.read()?;
    let agent = agent();
    let mut failed = 0;
    for (path, _, _) in HOOKS {
        let body = probe(path)?.to_string();
        let id = uuid_v4(&OsRandom).map_err(|e| e.to_string())?;
        let t = now();
        let url = format!("{base}/{path}");
        let answer = agent
            .post(&url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", &t.secs().to_string())
            .header("webhook-signature", &secrets.sign(&id, t, body.as_bytes()))
            .send(body.as_bytes());
        let (ok, why) = match answer {
            Err(e) => (false, format!("cannot reach it: {e}")),
            Ok(mut r) => {
                let status = r.status().as_u16();
                let text = r.body_mut().read_to_string().unwrap_or_default();
                diagnose(status, &text)
            }
        };
        if !ok {
            failed += 1;
        }
        println!("{} {path}: {why}", if ok { "ok  " } else { "FAIL" });
    }
    if failed > 0 {
        return Err(format!("{failed} of {} hooks need attention", HOOKS.len()));
    }
    println!(
        "all {} hooks verified requests signed with this secret",
        HOOKS.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_migrations_are_exactly_the_directory() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../supabase/migrations");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        files.sort();
        assert_eq!(
            files,
            MIGRATIONS
                .iter()
                .map(|(n, _)| (*n).to_owned())
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn hook_urls_compare_the_real_host() {
        for ok in [
            "https://abc.supabase.co/functions/v1/portcullis-hooks/",
            "http://127.0.0.1:54321/functions/v1/portcullis-hooks",
            "http://localhost:8000",
            "http://host.docker.internal:54321/functions/v1/portcullis-hooks",
        ] {
            let url = hook_base_url(ok).unwrap();
            assert!(!url.ends_with('/'), "{url}");
        }
        for bad in [
            "http://localhost.evil.example/x",
            "http://localhost@evil.example/x",
            "http://localhost:1@evil.example/x",
            "http://host.docker.internal.evil.example/x",
            "http://127.0.0.1.evil.example",
            "https://user:pw@abc.supabase.co",
            "ftp://abc.supabase.co",
            "http://evil.example",
        ] {
            let e = hook_base_url(bad).unwrap_err();
            assert!(e.starts_with("--url"), "{bad}: {e}");
            assert!(!e.contains("pw"), "{e}");
        }
    }

    #[test]
    fn diagnoses_name_the_fix() {
        assert!(
            diagnose(
                401,
                r#"{"code":"UNAUTHORIZED_NO_AUTH_HEADER","message":"Missing authorization header"}"#
            )
            .1
            .contains("--no-verify-jwt")
        );
        assert!(
            diagnose(
                401,
                r#"{"error":"invalid_webhook_signature","message":"x"}"#
            )
            .1
            .contains("secrets differ")
        );
        assert!(
            diagnose(401, r#"{"error":"hook_secret_not_configured"}"#)
                .1
                .contains("set PORTCULLIS_HOOK_SECRETS")
        );
        assert!(
            diagnose(401, r#"{"error":"webhook_timestamp_too_old"}"#)
                .1
                .contains("clock skew")
        );
        assert!(
            diagnose(404, r#"{"error":"not_found"}"#)
                .1
                .contains("no such route")
        );
        assert!(diagnose(404, "").1.contains("no function"));
        assert!(diagnose(200, "{}").0);
        assert!(!diagnose(200, "").0);
    }
}
