//! `portcullis`: the command line for people deploying Portcullis.
//!
//! Commands (`portcullis --help`, `portcullis <command> --help` for each, with examples):
//! `hooks secret | sign | send | policy | config`, `db migrate | uninstall`,
//! `pat create | list | rotate | revoke | exchange`, `doctor`, `completions`. Arguments are parsed by `clap` (derive); errors name the argument.
//!
//! Secrets are read from arguments or named environment variables (`--secret-env VAR`, which
//! keeps them out of the shell history and `ps`) and are never printed back, except by
//! `hooks secret` and `hooks config`, whose job is to print a new one.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod config_toml;
mod deploy;
mod pat;

use std::io::{BufRead, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use portcullis_core::{RandomError, SecureRandom, UnixTime, uuid_v4};
use portcullis_webhooks::{SecretSet, SigningSecret};
use serde_json::{Value, json};

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

/// Deploy and operate Portcullis, the auth edge functions for Supabase projects.
#[derive(Parser)]
#[command(name = "portcullis", version, propagate_version = true)]
#[command(after_help = "Examples:
  portcullis hooks config --url https://<ref>.supabase.co/functions/v1/portcullis-hooks
  portcullis db migrate --db-url-env DATABASE_URL --enable-login
  portcullis pat exchange --url https://<ref>.supabase.co/functions/v1/portcullis-pat --token-env MY_PAT
  portcullis doctor --url https://<ref>.supabase.co/functions/v1/portcullis-hooks --secret-env PORTCULLIS_HOOK_SECRETS")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Supabase Auth hooks: secrets, signed requests, policies, config.toml blocks.
    #[command(subcommand)]
    Hooks(Hooks),
    /// Apply or remove the database migrations (schema `portcullis`, role `portcullis_fn`).
    #[command(subcommand)]
    Db(Db),
    /// Personal access tokens on a pat deployment: create, list, rotate, revoke, exchange.
    #[command(subcommand)]
    Pat(pat::Pat),
    /// Probe every hook of a deployment with signed, side-effect-free requests and explain
    /// what is misconfigured.
    #[command(after_help = "Examples:
  portcullis doctor --url https://<ref>.supabase.co/functions/v1/portcullis-hooks --secret-env PORTCULLIS_HOOK_SECRETS
  portcullis doctor --url http://127.0.0.1:54330/portcullis-hooks --secret-env DEV_SECRET")]
    Doctor {
        /// The function's base URL (…/functions/v1/portcullis-hooks).
        #[arg(long, value_name = "URL")]
        url: String,
        #[command(flatten)]
        secret: SecretArg,
    },
    /// Print a shell completion script.
    #[command(after_help = "Examples:
  portcullis completions bash > ~/.local/share/bash-completion/completions/portcullis
  portcullis completions zsh > \"${fpath[1]}/_portcullis\"")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand)]
enum Hooks {
    /// Print a new `v1,whsec_…` hook secret (32 random bytes).
    #[command(after_help = "Examples:
  export PORTCULLIS_HOOK_SECRETS=\"$(portcullis hooks secret)\"")]
    Secret,
    /// Print Standard Webhooks headers for a body read from standard input.
    #[command(after_help = "Examples:
  echo '{}' | portcullis hooks sign --secret-env PORTCULLIS_HOOK_SECRETS
  portcullis hooks sign --secret-env S --batch < requests.jsonl   # {id,timestamp,body} per line")]
    Sign {
        #[command(flatten)]
        secret: SecretArg,
        /// The webhook-id (default: a new UUID).
        #[arg(long, conflicts_with = "batch")]
        id: Option<String>,
        /// The webhook-timestamp in unix seconds (default: now).
        #[arg(long, value_name = "UNIX", conflicts_with = "batch")]
        timestamp: Option<i64>,
        /// Sign JSON lines `{"id","timestamp","body"}` from standard input, one signature per line.
        #[arg(long)]
        batch: bool,
    },
    /// Send a signed sample request (or a body from a file) to one hook and print the answer.
    #[command(after_help = "Examples:
  portcullis hooks send custom-access-token --url http://127.0.0.1:54330/portcullis-hooks --secret-env S
  portcullis hooks send send-email --url https://<ref>.supabase.co/functions/v1/portcullis-hooks --secret-env S --email you@example.com")]
    Send {
        /// The hook's sample payload.
        hook: SampleHook,
        /// The function's base URL.
        #[arg(long, value_name = "URL")]
        url: String,
        #[command(flatten)]
        secret: SecretArg,
        /// Send this file's bytes instead of the sample.
        #[arg(long, value_name = "FILE")]
        body: Option<PathBuf>,
        /// The sample user's id (default: a new UUID).
        #[arg(long, value_name = "UUID")]
        user_id: Option<String>,
        /// The sample user's e-mail address.
        #[arg(long, value_name = "ADDRESS", default_value = "ada@example.com")]
        email: String,
    },
    /// Check a policy (TOML or JSON) with the functions' own compiler and print the one-line
    /// JSON to deploy as PORTCULLIS_HOOKS_POLICY.
    #[command(after_help = "Examples:
  portcullis hooks policy hooks-policy.toml
  supabase secrets set PORTCULLIS_HOOKS_POLICY=\"$(portcullis hooks policy hooks-policy.toml)\"")]
    Policy {
        /// The policy file.
        file: PathBuf,
    },
    /// Print (or merge into a file) the `[auth.hook.*]` blocks for a deployment URL, and the
    /// secret commands for Supabase and Cloudflare.
    #[command(after_help = "Examples:
  portcullis hooks config --url https://<ref>.supabase.co/functions/v1/portcullis-hooks
  portcullis hooks config --url https://<ref>.supabase.co/functions/v1/portcullis-hooks --write supabase/config.toml

With --write, blocks already in the file (an existing [auth.hook.send_email], say) are
reported and kept as they are; only missing ones are added.")]
    Config {
        /// The function's base URL (https://, or http:// for local hosts).
        #[arg(long, value_name = "URL")]
        url: String,
        /// The environment variable that holds the hook secret.
        #[arg(long, value_name = "VAR", default_value = "PORTCULLIS_HOOK_SECRETS")]
        secret_env: String,
        /// Merge the blocks into this supabase/config.toml instead of printing them.
        #[arg(long, value_name = "FILE")]
        write: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum Db {
    /// Apply the migrations (idempotent). TLS follows the URL's `sslmode` (libpq semantics;
    /// `require` by default off loopback).
    #[command(after_help = "Examples:
  portcullis db migrate --db-url-env DATABASE_URL
  portcullis db migrate --db-url 'postgres://postgres@db.<ref>.supabase.co:5432/postgres?sslmode=verify-full&sslrootcert=prod-ca-2021.crt' --enable-login")]
    Migrate {
        #[command(flatten)]
        db: DbArg,
        /// Give `portcullis_fn` LOGIN and a new random password (sent as a SCRAM verifier) and
        /// print its PORTCULLIS_DB_URL.
        #[arg(long)]
        enable_login: bool,
    },
    /// Remove every Portcullis object; refuses (and changes nothing) when other objects depend
    /// on them.
    #[command(after_help = "Examples:
  portcullis db uninstall --db-url-env DATABASE_URL")]
    Uninstall {
        #[command(flatten)]
        db: DbArg,
    },
}

/// Where the hook secret comes from.
#[derive(Args)]
#[group(required = true, multiple = false)]
pub(crate) struct SecretArg {
    /// The hook secret (`v1,whsec_…`, `|`-separated for rotation). Prefer --secret-env.
    #[arg(long, value_name = "SECRET")]
    secret: Option<String>,
    /// Read the hook secret from this environment variable.
    #[arg(long, value_name = "VAR")]
    secret_env: Option<String>,
}

impl SecretArg {
    pub(crate) fn read(&self) -> Result<SecretSet, String> {
        let (text, from) = match (&self.secret, &self.secret_env) {
            (Some(s), _) => (s.clone(), "--secret".to_owned()),
            (None, Some(var)) => (
                std::env::var(var)
                    .map_err(|_| format!("--secret-env: environment variable {var} is not set"))?,
                format!("--secret-env {var}"),
            ),
            (None, None) => return Err("--secret or --secret-env is required".into()),
        };
        // The parser's errors describe the format, never the value.
        SecretSet::parse(&text).map_err(|e| format!("{from}: {e}"))
    }
}

/// Where the database URL comes from.
#[derive(Args)]
pub(crate) struct DbArg {
    /// The database URL (a secret: prefer --db-url-env).
    #[arg(long, value_name = "URL", conflicts_with = "db_url_env")]
    db_url: Option<String>,
    /// Read the database URL from this environment variable.
    #[arg(long, value_name = "VAR", default_value = "DATABASE_URL")]
    db_url_env: String,
}

impl DbArg {
    pub(crate) fn read(&self) -> Result<String, String> {
        match &self.db_url {
            Some(u) => Ok(u.clone()),
            None => std::env::var(&self.db_url_env).map_err(|_| {
                format!(
                    "--db-url or --db-url-env is required (environment variable {} is not set)",
                    self.db_url_env
                )
            }),
        }
    }
}

/// Hooks with a sample payload.
#[derive(Clone, Copy, ValueEnum)]
enum SampleHook {
    CustomAccessToken,
    BeforeUserCreated,
    SendEmail,
    PasswordVerificationAttempt,
}

impl SampleHook {
    fn path(self) -> &'static str {
        match self {
            Self::CustomAccessToken => "custom-access-token",
            Self::BeforeUserCreated => "before-user-created",
            Self::SendEmail => "send-email",
            Self::PasswordVerificationAttempt => "password-verification-attempt",
        }
    }
}

/// `text` with credentials in URLs (`scheme://…@`, up to the last `@` of the word) and
/// webhook secrets (`whsec_…`) replaced: for error messages, which may quote arguments (clap
/// echoes an unexpected or invalid argument; a URL may have been pasted where a name belongs).
fn redact(text: &str) -> String {
    let boundary = |c: char| c.is_whitespace() || matches!(c, '\'' | '"' | '`');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let url = rest.find("://").map(|i| (i, 3));
        let secret = rest.find("whsec_").map(|i| (i, 6));
        let next = match (url, secret) {
            (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
            (a, b) => a.or(b),
        };
        let Some((at, len)) = next else {
            out.push_str(rest);
            return out;
        };
        let (before, after) = rest.split_at(at + len);
        out.push_str(before);
        let word_end = after.find(boundary).unwrap_or(after.len());
        let (word, tail) = after.split_at(word_end);
        if len == 6 {
            out.push_str("<secret>");
        } else if let Some(i) = word.rfind('@') {
            out.push_str("<credentials>");
            out.push_str(word.get(i..).unwrap_or_default());
        } else {
            out.push_str(word);
        }
        rest = tail;
    }
}

fn parse_args() -> Result<Cli, ExitCode> {
    use clap::error::ErrorKind;
    Cli::try_parse().map_err(|e| {
        if matches!(
            e.kind(),
            ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        ) {
            e.exit();
        }
        eprint!("{}", redact(&e.render().to_string()));
        ExitCode::from(2)
    })
}

fn main() -> ExitCode {
    let cli = match parse_args() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let result = match cli.command {
        Command::Hooks(Hooks::Secret) => hook_secret(),
        Command::Hooks(Hooks::Sign {
            secret,
            id,
            timestamp,
            batch,
        }) => sign(&secret, id, timestamp, batch),
        Command::Hooks(Hooks::Send {
            hook,
            url,
            secret,
            body,
            user_id,
            email,
        }) => send(
            hook,
            &url,
            &secret,
            body.as_deref(),
            user_id.as_deref(),
            &email,
        ),
        Command::Hooks(Hooks::Policy { file }) => policy(&file),
        Command::Hooks(Hooks::Config {
            url,
            secret_env,
            write,
        }) => deploy::config(&url, &secret_env, write.as_deref()),
        Command::Db(Db::Migrate { db, enable_login }) => deploy::migrate(&db, enable_login),
        Command::Db(Db::Uninstall { db }) => deploy::uninstall(&db),
        Command::Doctor { url, secret } => deploy::doctor(&url, &secret),
        Command::Pat(command) => pat::run(command),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "portcullis",
                &mut std::io::stdout(),
            );
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portcullis: {}", redact(&e));
            ExitCode::FAILURE
        }
    }
}

/// Checks a policy document with the same compiler the functions use and prints it as JSON.
fn policy(file: &std::path::Path) -> Result<(), String> {
    let name = file.display();
    let text = std::fs::read_to_string(file).map_err(|e| format!("{name}: {e}"))?;
    let value: Value = if text.trim_start().starts_with('{') {
        serde_json::from_str(&text).map_err(|e| format!("{name}: JSON: {e}"))?
    } else {
        basic_toml::from_str(&text).map_err(|e| format!("{name}: TOML: {e}"))?
    };
    let json = value.to_string();
    let mut host = portcullis_core::MapEnv::default();
    host.set_asset(
        "disposable_domains.txt",
        include_str!("../../hooks/domain/data/disposable_domains.txt"),
    );
    portcullis_hooks::HooksPolicy::parse(&json, &host).map_err(|e| format!("{name}: {e}"))?;
    println!("{json}");
    Ok(())
}

pub(crate) fn new_secret() -> Result<String, String> {
    let mut key = vec![0u8; 32];
    OsRandom.fill(&mut key).map_err(|e| e.to_string())?;
    let secret = SigningSecret::from_bytes(key).map_err(|e| e.to_string())?;
    Ok(secret.to_config_text().expose().clone())
}

fn hook_secret() -> Result<(), String> {
    println!("{}", new_secret()?);
    Ok(())
}

fn sign(
    secret: &SecretArg,
    id: Option<String>,
    timestamp: Option<i64>,
    batch: bool,
) -> Result<(), String> {
    let secrets = secret.read()?;
    if batch {
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
    let id = match id {
        Some(id) => id,
        None => uuid_v4(&OsRandom).map_err(|e| e.to_string())?,
    };
    let ts = timestamp.map_or_else(now, UnixTime::from_secs);
    let headers = json!({
        "webhook-id": id,
        "webhook-timestamp": ts.secs().to_string(),
        "webhook-signature": secrets.sign(&id, ts, &body),
    });
    println!("{headers:#}");
    Ok(())
}

/// A payload like the one Supabase Auth sends to `hook`, for a made-up user.
fn sample(
    hook: SampleHook,
    now: UnixTime,
    user_id: Option<&str>,
    email: &str,
) -> Result<Value, String> {
    let user_id = match user_id {
        Some(id) => id.to_owned(),
        None => uuid_v4(&OsRandom).map_err(|e| e.to_string())?,
    };
    let session_id = uuid_v4(&OsRandom).map_err(|e| e.to_string())?;
    let metadata = json!({
        "uuid": uuid_v4(&OsRandom).map_err(|e| e.to_string())?,
        "time": "2026-11-23T12:00:00.000000Z",
        "name": match hook { SampleHook::CustomAccessToken => "customize-access-token", other => other.path() },
        "ip_address": "127.0.0.1"
    });
    Ok(match hook {
        SampleHook::CustomAccessToken => json!({
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
        }),
        SampleHook::BeforeUserCreated => json!({
            "metadata": metadata,
            "user": {
                "id": user_id, "aud": "", "role": "", "email": email, "phone": "",
                "app_metadata": {"provider": "email", "providers": ["email"]}, "user_metadata": {},
                "identities": [], "created_at": "0001-01-01T00:00:00Z", "updated_at": "0001-01-01T00:00:00Z",
                "is_anonymous": false
            }
        }),
        SampleHook::SendEmail => json!({
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
        }),
        SampleHook::PasswordVerificationAttempt => json!({
            "metadata": metadata, "user_id": user_id, "valid": false
        }),
    })
}

fn send(
    hook: SampleHook,
    base: &str,
    secret: &SecretArg,
    body_file: Option<&std::path::Path>,
    user_id: Option<&str>,
    email: &str,
) -> Result<(), String> {
    let secrets = secret.read()?;
    let now = now();
    let body = match body_file {
        Some(path) => std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?,
        None => {
            serde_json::to_vec(&sample(hook, now, user_id, email)?).map_err(|e| e.to_string())?
        }
    };
    let id = uuid_v4(&OsRandom).map_err(|e| e.to_string())?;
    let url = format!("{}/{}", base.trim_end_matches('/'), hook.path());
    let mut response = deploy::agent()
        .post(&url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", &now.secs().to_string())
        .header("webhook-signature", &secrets.sign(&id, now, &body))
        .send(&body[..])
        .map_err(|e| format!("{url}: {e}"))?;
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    println!("HTTP {status}");
    match serde_json::from_str::<Value>(&text) {
        Ok(v) => println!("{v:#}"),
        Err(_) => println!("{text}"),
    }
    if status == 200 {
        Ok(())
    } else {
        Err(format!("the hook answered {status}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn errors_name_the_argument() {
        let err = Cli::try_parse_from(["portcullis", "doctor", "--url", "https://x"])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("--secret"), "{err}");
        let err = Cli::try_parse_from([
            "portcullis",
            "hooks",
            "send",
            "send-fax",
            "--url",
            "x",
            "--secret",
            "s",
        ])
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(
            err.contains("send-fax") && err.contains("custom-access-token"),
            "{err}"
        );
    }

    #[test]
    fn a_pasted_url_or_secret_is_not_echoed_by_argument_errors() {
        for (args, secret) in [
            (
                vec![
                    "portcullis",
                    "db",
                    "migrate",
                    "postgres://postgres:hunter2@db.example.com:5432/postgres",
                ],
                "hunter2",
            ),
            (
                vec!["portcullis", "hooks", "secret", "v1,whsec_c2VjcmV0c2VjcmV0"],
                "c2VjcmV0c2VjcmV0",
            ),
            (
                vec![
                    "portcullis",
                    "hooks",
                    "sign",
                    "--timestamp=postgres://u:pa/ss@h/db",
                    "--secret",
                    "x",
                ],
                "pa/ss",
            ),
        ] {
            let raw = Cli::try_parse_from(&args)
                .err()
                .map(|e| e.render().to_string())
                .unwrap_or_default();
            assert!(raw.contains(secret), "clap itself echoes it: {raw}");
            let safe = redact(&raw);
            assert!(!safe.contains(secret), "{safe}");
            assert!(
                safe.contains("<credentials>@") || safe.contains("<secret>"),
                "{safe}"
            );
        }
        // Our own errors too: a URL passed where a variable name belongs.
        let arg = DbArg {
            db_url: None,
            db_url_env: "postgres://u:hunter2@db.example.com/x".into(),
        };
        let e = redact(&arg.read().unwrap_err());
        assert!(
            !e.contains("hunter2") && e.contains("<credentials>@db.example.com"),
            "{e}"
        );
        assert_eq!(
            redact("see https://x.test/a and ok"),
            "see https://x.test/a and ok"
        );
    }

    #[test]
    fn a_missing_secret_variable_is_named_and_no_value_is_echoed() {
        let arg = SecretArg {
            secret: None,
            secret_env: Some("PORTCULLIS_TEST_UNSET_VARIABLE".into()),
        };
        let err = arg.read().err().unwrap_or_default();
        assert!(err.contains("PORTCULLIS_TEST_UNSET_VARIABLE"), "{err}");
        let arg = SecretArg {
            secret: Some("v1,whsec_not-base64-!!".into()),
            secret_env: None,
        };
        let err = arg.read().err().unwrap_or_default();
        assert!(
            err.starts_with("--secret:") && !err.contains("not-base64"),
            "{err}"
        );
    }
}
