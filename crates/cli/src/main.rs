//! `portcullis`: the command line for people deploying Portcullis.
//!
//! ```text
//! portcullis hooks secret                          print a new `v1,whsec_…` hook secret
//! portcullis hooks sign --secret S [--id I] [--timestamp T] < body
//!                                                  print Standard Webhooks headers for a body
//! portcullis hooks sign --secret S --batch         JSON lines {id,timestamp,body} -> {signature}
//! portcullis hooks send <hook> --url BASE (--secret S | --secret-env VAR) [--body FILE]
//!                   [--user-id UUID] [--email E]   send a signed sample (or FILE) to a hook
//! portcullis hooks policy FILE                     check a policy (TOML or JSON) and print it
//!                                                  as the one-line JSON PORTCULLIS_HOOKS_POLICY takes
//! portcullis hooks config --url URL [--secret-env VAR]
//!                                                  supabase/config.toml blocks + secret commands
//! portcullis db migrate|uninstall --db-url URL     apply or remove the migrations (TLS per sslmode)
//! portcullis doctor --url URL --secret-env VAR     probe every hook, explain misconfiguration
//! ```
//! Secrets are read from arguments or the environment and are never printed back, except by
//! `hooks secret`, whose whole job is to print a new one.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod deploy;
mod http;

use std::io::{BufRead, Read, Write};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use portcullis_core::{RandomError, SecureRandom, UnixTime, uuid_v4};
use portcullis_webhooks::{SecretSet, SigningSecret};
use serde_json::{Value, json};

const USAGE: &str = "usage:
  portcullis hooks secret
  portcullis hooks sign --secret SECRET [--id ID] [--timestamp UNIX] < body
  portcullis hooks sign --secret SECRET --batch < json-lines
  portcullis hooks send HOOK --url BASE_URL (--secret SECRET | --secret-env VAR) [--body FILE] [--user-id UUID] [--email ADDRESS]
  portcullis hooks policy FILE
  portcullis hooks config --url FUNCTION_URL [--secret-env VAR]
  portcullis db (migrate [--enable-login] | uninstall) (--db-url URL | --db-url-env VAR)
  portcullis doctor --url FUNCTION_URL (--secret SECRET | --secret-env VAR)
HOOK (samples): custom-access-token | before-user-created | send-email | password-verification-attempt";

/// The operating system's CSPRNG.
pub(crate) struct OsRandom;

impl SecureRandom for OsRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        getrandom::fill(dest).map_err(|_| RandomError)
    }
}

pub(crate) fn now() -> UnixTime {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    UnixTime::from_secs(i64::try_from(secs).unwrap_or(i64::MAX))
}

/// Parsed `--flag value` options after the positional words.
pub(crate) struct Args {
    words: Vec<String>,
    flags: Vec<(String, Option<String>)>,
}

impl Args {
    fn parse(raw: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut words = Vec::new();
        let mut flags = Vec::new();
        let mut raw = raw.peekable();
        while let Some(arg) = raw.next() {
            if let Some(name) = arg.strip_prefix("--") {
                let value = match raw.peek() {
                    Some(v) if !v.starts_with("--") => raw.next(),
                    _ => None,
                };
                flags.push((name.to_owned(), value));
            } else {
                words.push(arg);
            }
        }
        Ok(Self { words, flags })
    }

    pub(crate) fn flag(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.flags.iter().any(|(n, _)| n == name)
    }

    pub(crate) fn secret(&self) -> Result<String, String> {
        if let Some(s) = self.flag("secret") {
            return Ok(s.to_owned());
        }
        if let Some(var) = self.flag("secret-env") {
            return std::env::var(var)
                .map_err(|_| format!("environment variable {var} is not set"));
        }
        Err("--secret or --secret-env is required".into())
    }
}

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => return fail(&e),
    };
    let words: Vec<&str> = args.words.iter().map(String::as_str).collect();
    let result = match words.as_slice() {
        ["hooks", "secret"] => hook_secret(),
        ["hooks", "sign"] => sign(&args),
        ["hooks", "send", hook] => send(hook, &args),
        ["hooks", "policy", file] => policy(file),
        ["hooks", "config"] => deploy::config(&args),
        ["db", action] => deploy::db(action, &args),
        ["doctor"] => deploy::doctor(&args),
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("portcullis: {message}");
    ExitCode::FAILURE
}

/// Checks a policy document with the same compiler the functions use and prints it as JSON.
fn policy(file: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
    let value: Value = if text.trim_start().starts_with('{') {
        serde_json::from_str(&text).map_err(|e| format!("{file}: JSON: {e}"))?
    } else {
        basic_toml::from_str(&text).map_err(|e| format!("{file}: TOML: {e}"))?
    };
    let json = value.to_string();
    let mut host = portcullis_core::MapEnv::default();
    host.set_asset(
        "disposable_domains.txt",
        include_str!("../../hooks/data/disposable_domains.txt"),
    );
    portcullis_hooks::HooksPolicy::parse(&json, &host).map_err(|e| format!("{file}: {e}"))?;
    println!("{json}");
    Ok(())
}

fn hook_secret() -> Result<(), String> {
    let mut key = vec![0u8; 32];
    OsRandom.fill(&mut key).map_err(|e| e.to_string())?;
    let secret = SigningSecret::from_bytes(key).map_err(|e| e.to_string())?;
    println!("{}", secret.to_config_text().expose());
    Ok(())
}

fn sign(args: &Args) -> Result<(), String> {
    let secrets = SecretSet::parse(&args.secret()?).map_err(|e| format!("secret: {e}"))?;
    if args.has("batch") {
        let stdin = std::io::stdin();
        let mut out = std::io::stdout().lock();
        for line in stdin.lock().lines() {
            let line = line.map_err(|e| e.to_string())?;
            if line.trim().is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(&line).map_err(|e| format!("batch line: {e}"))?;
            let id = v
                .get("id")
                .and_then(Value::as_str)
                .ok_or("batch line: `id` must be a string")?;
            let ts = v
                .get("timestamp")
                .and_then(Value::as_i64)
                .ok_or("batch line: `timestamp` must be an integer")?;
            let body = v
                .get("body")
                .and_then(Value::as_str)
                .ok_or("batch line: `body` must be a string")?;
            let sig = secrets.sign(id, UnixTime::from_secs(ts), body.as_bytes());
            writeln!(out, "{}", json!({ "signature": sig })).map_err(|e| e.to_string())?;
        }
        return Ok(());
    }
    let mut body = Vec::new();
    std::io::stdin()
        .read_to_end(&mut body)
        .map_err(|e| e.to_string())?;
    let id = match args.flag("id") {
        Some(id) => id.to_owned(),
        None => uuid_v4(&OsRandom).map_err(|e| e.to_string())?,
    };
    let ts = match args.flag("timestamp") {
        Some(t) => UnixTime::from_secs(t.parse().map_err(|_| "--timestamp must be unix seconds")?),
        None => now(),
    };
    let headers = json!({
        "webhook-id": id,
        "webhook-timestamp": ts.secs().to_string(),
        "webhook-signature": secrets.sign(&id, ts, &body),
    });
    println!("{headers:#}");
    Ok(())
}

/// A payload like the one Supabase Auth sends to `hook`, for a made-up user.
fn sample(hook: &str, now: UnixTime, user_id: Option<&str>, email: &str) -> Result<Value, String> {
    let user_id = match user_id {
        Some(id) => id.to_owned(),
        None => uuid_v4(&OsRandom).map_err(|e| e.to_string())?,
    };
    let session_id = uuid_v4(&OsRandom).map_err(|e| e.to_string())?;
    let metadata = json!({
        "uuid": uuid_v4(&OsRandom).map_err(|e| e.to_string())?,
        "time": "2026-11-23T12:00:00.000000Z",
        "name": if hook == "custom-access-token" { "customize-access-token" } else { hook },
        "ip_address": "127.0.0.1"
    });
    match hook {
        "custom-access-token" => Ok(json!({
            "metadata": metadata,
            "user_id": user_id,
            "authentication_method": "password",
            "claims": {
                "iss": "http://127.0.0.1:54321/auth/v1", "aud": "authenticated",
                "exp": now.secs() + 3600, "iat": now.secs(), "sub": user_id,
                "email": email, "phone": "", "role": "authenticated", "aal": "aal1",
                "amr": [{"method": "password", "timestamp": now.secs()}],
                "session_id": session_id, "is_anonymous": false,
                "app_metadata": {"provider": "email", "providers": ["email"], "role": "admin", "org_id": "org_1"},
                "user_metadata": {"name": "Ada", "email_verified": true}
            }
        })),
        "before-user-created" => Ok(json!({
            "metadata": metadata,
            "user": {
                "id": user_id, "aud": "", "role": "", "email": email, "phone": "",
                "app_metadata": {"provider": "email", "providers": ["email"]}, "user_metadata": {},
                "identities": [], "created_at": "0001-01-01T00:00:00Z", "updated_at": "0001-01-01T00:00:00Z",
                "is_anonymous": false
            }
        })),
        "send-email" => Ok(json!({
            "metadata": metadata,
            "user": {
                "id": user_id, "aud": "authenticated", "role": "authenticated", "email": email, "phone": "",
                "app_metadata": {"provider": "email", "providers": ["email"]},
                "user_metadata": {"full_name": "Ada Lovelace", "locale": "en"},
                "identities": [], "created_at": "2026-11-23T12:00:00Z", "updated_at": "2026-11-23T12:00:00Z",
                "is_anonymous": false
            },
            "email_data": {
                "token": "305805", "token_hash": "b507a4ef007e1379d644aa6fe395cf98f1054ac96b63a052dca9a26a",
                "redirect_to": "http://127.0.0.1:3000/", "email_action_type": "magiclink",
                "site_url": "http://127.0.0.1:54321/auth/v1", "token_new": "", "token_hash_new": "",
                "old_email": "", "old_phone": "", "provider": "", "factor_type": ""
            }
        })),
        "password-verification-attempt" => Ok(json!({
            "metadata": metadata, "user_id": user_id, "valid": false
        })),
        other => Err(format!("unknown hook `{other}`\n{USAGE}")),
    }
}

fn send(hook: &str, args: &Args) -> Result<(), String> {
    let secrets = SecretSet::parse(&args.secret()?).map_err(|e| format!("secret: {e}"))?;
    let base = args.flag("url").ok_or("--url is required")?;
    let now = now();
    let body = match args.flag("body") {
        Some(path) => std::fs::read(path).map_err(|e| format!("{path}: {e}"))?,
        None => {
            let email = args.flag("email").unwrap_or("ada@example.com");
            serde_json::to_vec(&sample(hook, now, args.flag("user-id"), email)?)
                .map_err(|e| e.to_string())?
        }
    };
    let id = uuid_v4(&OsRandom).map_err(|e| e.to_string())?;
    let url = format!("{}/{hook}", base.trim_end_matches('/'));
    let headers = [
        ("content-type", "application/json".to_owned()),
        ("webhook-id", id.clone()),
        ("webhook-timestamp", now.secs().to_string()),
        ("webhook-signature", secrets.sign(&id, now, &body)),
    ];
    let response = http::post(&url, &headers, &body)?;
    println!("HTTP {}", response.status);
    match serde_json::from_slice::<Value>(&response.body) {
        Ok(v) => println!("{v:#}"),
        Err(_) => println!("{}", String::from_utf8_lossy(&response.body)),
    }
    if response.status == 200 {
        Ok(())
    } else {
        Err(format!("the hook answered {}", response.status))
    }
}
