//! `cargo xtask dev`: everything needed to try Portcullis locally, in one command.

use std::process::Command;

use crate::tools::Tools;
use crate::util::{Result, note, random_hex, root, run, say, state};
use crate::wasm;

/// A fixed demo user, seeded with extra claims in the dev database.
const DEMO_USER: &str = "00000000-0000-4000-8000-00000000d3e0";

/// The dev hook secret: generated once, kept in .portcullis/dev/hook-secret.
fn dev_secret() -> Result<String> {
    let path = state("dev").join("hook-secret");
    if let Ok(s) = std::fs::read_to_string(&path)
        && s.trim().starts_with("v1,whsec_")
    {
        return Ok(s.trim().to_owned());
    }
    std::fs::create_dir_all(state("dev")).map_err(|e| e.to_string())?;
    // 32 random bytes, encoded the way `portcullis hooks secret` prints them.
    let hex = random_hex(32)?;
    let bytes: Vec<u8> = (0..32)
        .filter_map(|i| u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).ok())
        .collect();
    let secret = format!(
        "v1,whsec_{}",
        portcullis_core::encoding::base64_encode(&bytes)
    );
    std::fs::write(&path, &secret).map_err(|e| e.to_string())?;
    Ok(secret)
}

pub fn command(_args: &[String]) -> Result {
    let tools = Tools::ensure()?;
    let hooks = wasm::function("hooks")?;
    let size = wasm::build_module(&tools, hooks)?;
    wasm::check_budgets(&[size])?;
    run(Command::new("cargo")
        .current_dir(root())
        .args(["build", "--quiet", "-p", "portcullis"]))?;

    let secret = dev_secret()?;
    // The functions take JSON (the Wasm builds carry no TOML parser); `portcullis hooks
    // policy` does the same conversion for deployments.
    let policy =
        std::fs::read_to_string(root().join("dev/hooks-policy.toml")).map_err(|e| e.to_string())?;
    let policy = basic_toml::from_str::<serde_json::Value>(&policy)
        .map_err(|e| format!("dev/hooks-policy.toml: {e}"))?
        .to_string();
    let port: u16 = std::env::var("PORTCULLIS_DEV_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(54330);
    let base = format!("http://127.0.0.1:{port}/portcullis-hooks");
    let pglite = state("dev").join("pglite");

    say("serving on Deno with PGlite (Ctrl-C stops)");
    note(format!(
        "hooks:    {base}/<hook> for custom-access-token, send-email, send-sms, mfa-verification-attempt, password-verification-attempt, before-user-created, after-user-created"
    ));
    note(format!("database: PGlite in {}", pglite.display()));
    note(format!(
        "secret:   {secret}   (PORTCULLIS_HOOK_SECRETS; dev only, kept in .portcullis/dev)"
    ));
    note("policy:   dev/hooks-policy.toml (edit and restart)");
    eprintln!();
    eprintln!("Try it: send a signed custom-access-token request and see the new claims:");
    eprintln!();
    eprintln!(
        "  cargo run -q -p portcullis -- hooks send custom-access-token --url {base} --secret '{secret}' --user-id {DEMO_USER}"
    );
    eprintln!();
    eprintln!(
        "a magic-link e-mail (queued in the outbox; read it in the dev mailbox, http://127.0.0.1:{}/):",
        port + 1
    );
    eprintln!();
    eprintln!(
        "  cargo run -q -p portcullis -- hooks send send-email --url {base} --secret '{secret}' --email you@example.com"
    );
    eprintln!();
    eprintln!("failed passwords (run it 5 times: the fifth is refused and the account locked):");
    eprintln!();
    eprintln!(
        "  cargo run -q -p portcullis -- hooks send password-verification-attempt --url {base} --secret '{secret}' --user-id {DEMO_USER}"
    );
    eprintln!();
    eprintln!("and a sign-up the policy refuses (a disposable address is refused too):");
    eprintln!();
    eprintln!(
        "  cargo run -q -p portcullis -- hooks send before-user-created --url {base} --secret '{secret}' --email someone@mailinator.com"
    );
    eprintln!();

    // In the foreground process group, so Ctrl-C reaches Deno too.
    let status = tools
        .deno()
        .args([
            "run",
            "--allow-net",
            "--allow-env",
            "--allow-read",
            "--allow-write",
            "--no-prompt",
            "dev/serve.ts",
        ])
        .env("PORTCULLIS_PORT", port.to_string())
        .env("PORTCULLIS_PGLITE_DIR", &pglite)
        .env("PORTCULLIS_DEMO_USER_ID", DEMO_USER)
        .env("PORTCULLIS_HOOK_SECRETS", &secret)
        .env("PORTCULLIS_HOOKS_POLICY", policy)
        .status()
        .map_err(|e| e.to_string())?;
    if status.success() || status.code().is_none() {
        Ok(())
    } else {
        Err(format!("the dev server exited with {status}"))
    }
}
