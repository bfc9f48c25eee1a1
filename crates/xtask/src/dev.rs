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

/// A dev secret of `bytes` random bytes (hex), generated once and kept in .portcullis/dev/.
fn kept(name: &str, make: impl FnOnce() -> Result<String>) -> Result<String> {
    let path = state("dev").join(name);
    if let Ok(s) = std::fs::read_to_string(&path)
        && !s.trim().is_empty()
    {
        return Ok(s.trim().to_owned());
    }
    std::fs::create_dir_all(state("dev")).map_err(|e| e.to_string())?;
    let value = make()?;
    std::fs::write(&path, &value).map_err(|e| e.to_string())?;
    Ok(value)
}

pub fn command(_args: &[String]) -> Result {
    let tools = Tools::ensure()?;
    let mut sizes = Vec::new();
    for name in ["hooks", "pat", "sign"] {
        sizes.push(wasm::build_module(&tools, wasm::function(name)?)?);
    }
    wasm::check_budgets(&sizes)?;
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
    // v2: since issue 8 the dev database mirrors Supabase's auth schema (auth.users and its
    // foreign keys); a database made before has rows that would not satisfy them.
    let pglite = state("dev").join("pglite-v2");
    let _ = std::fs::remove_dir_all(state("dev").join("pglite"));
    // The pat function: the project's legacy secret and an ES256 signing key made by the real
    // Supabase CLI (as a user would import it), both kept; a stand-in for the project's Data
    // API and JWKS endpoint (dev/serve.ts) on port + 3.
    let jwt_secret = kept("jwt-secret", || random_hex(32))?;
    let signing_key = kept("pat-signing-key.json", || {
        crate::pat::cli_signing_key(&tools)
    })?;
    let public_jwk = crate::pat::public_jwk(&signing_key)?;
    let project = format!("http://127.0.0.1:{}", port + 3);
    let pat_base = format!("http://127.0.0.1:{}/portcullis-pat", port + 2);
    let user_jwt = crate::pat::user_jwt_with(
        &jwt_secret,
        &format!("{project}/auth/v1"),
        DEMO_USER,
        86_400,
    )?;

    // The sign function: its policy (TOML, as JSON) and a local SeaweedFS on port + 5 as its
    // bucket, with credentials kept in .portcullis/dev.
    let sign_policy =
        std::fs::read_to_string(root().join("dev/sign-policy.toml")).map_err(|e| e.to_string())?;
    let sign_policy = basic_toml::from_str::<serde_json::Value>(&sign_policy)
        .map_err(|e| format!("dev/sign-policy.toml: {e}"))?;
    let s3_port = port + 5;
    if sign_policy["buckets"]["media"]["endpoint"] != format!("http://127.0.0.1:{s3_port}").as_str()
    {
        return Err(format!(
            "dev/sign-policy.toml: buckets.media.endpoint must be http://127.0.0.1:{s3_port} (the dev SeaweedFS)"
        ));
    }
    let s3_key = kept("s3-access-key", || {
        Ok(format!("DEV{}", random_hex(8)?.to_uppercase()))
    })?;
    let s3_secret = kept("s3-secret", || random_hex(20))?;
    say(format!(
        "starting SeaweedFS on 127.0.0.1:{s3_port} (the sign function's bucket)"
    ));
    let _seaweedfs = crate::sign::seaweedfs_at(
        &state("dev").join("seaweedfs"),
        s3_port,
        (&s3_key, &s3_secret),
        &state("dev").join("seaweedfs.log"),
    )?;
    let sign_base = format!("http://127.0.0.1:{}/portcullis-sign", port + 4);

    say("serving on Deno with PGlite (Ctrl-C stops)");
    note(format!(
        "hooks:    {base}/<hook> for custom-access-token, send-email, send-sms, mfa-verification-attempt, password-verification-attempt, before-user-created, after-user-created"
    ));
    note(format!("database: PGlite in {}", pglite.display()));
    note(format!(
        "secret:   {secret}   (PORTCULLIS_HOOK_SECRETS; dev only, kept in .portcullis/dev)"
    ));
    note("policy:   dev/hooks-policy.toml (edit and restart)");
    note(format!(
        "pat:      {pat_base}/tokens, /token (RFC 8693), /introspect; project stand-in {project} (/rest/v1/notes, JWKS)"
    ));
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
    eprintln!("Personal access tokens, as the demo user (their access token, valid for a day):");
    eprintln!();
    eprintln!("  export PORTCULLIS_PAT_URL={pat_base} PORTCULLIS_USER_JWT={user_jwt}");
    eprintln!(
        "  export PORTCULLIS_PAT=\"$(cargo run -q -p portcullis -- pat create --name laptop --scope data:read --expires-in 7d)\""
    );
    eprintln!("  cargo run -q -p portcullis -- pat exchange --json");
    eprintln!();
    eprintln!("and read the demo user's rows under RLS with supabase-js (examples/pat-script.ts):");
    eprintln!();
    eprintln!(
        "  SUPABASE_URL={project} SUPABASE_ANON_KEY=dev {} run --allow-net --allow-env examples/pat-script.ts",
        tools.bin("deno").display()
    );
    eprintln!();
    eprintln!(
        "Pre-signed URLs for the demo user's files (sign: {sign_base}; bucket: SeaweedFS on :{s3_port}; policy: dev/sign-policy.toml):"
    );
    eprintln!();
    eprintln!("  export PORTCULLIS_USER_JWT={user_jwt}");
    eprintln!(
        "  PUT=$(curl -s {sign_base}/sign -H \"authorization: Bearer $PORTCULLIS_USER_JWT\" -d '{{\"bucket\":\"media\",\"objects\":[{{\"key\":\"users/{DEMO_USER}/hello.txt\",\"method\":\"PUT\",\"content_type\":\"text/plain\",\"content_length\":6}}]}}' | grep -o '\"url\":\"[^\"]*' | cut -d'\"' -f4)"
    );
    eprintln!(
        "  printf 'hello\\n' | curl -s -X PUT -H 'content-type: text/plain' --data-binary @- \"$PUT\""
    );
    eprintln!(
        "  curl -s \"$(curl -s {sign_base}/sign -H \"authorization: Bearer $PORTCULLIS_USER_JWT\" -d '{{\"bucket\":\"media\",\"objects\":[{{\"key\":\"users/{DEMO_USER}/hello.txt\",\"method\":\"GET\"}}]}}' | grep -o '\"url\":\"[^\"]*' | cut -d'\"' -f4)\""
    );
    eprintln!();
    eprintln!("and someone else's file, refused with the reason and the rule:");
    eprintln!();
    eprintln!(
        "  curl -s {sign_base}/sign -H \"authorization: Bearer $PORTCULLIS_USER_JWT\" -d '{{\"bucket\":\"media\",\"objects\":[{{\"key\":\"users/someone-else/a.png\",\"method\":\"GET\"}}]}}'"
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
        .env("SUPABASE_URL", &project)
        .env("PORTCULLIS_JWT_SECRET", &jwt_secret)
        .env("PORTCULLIS_PAT_SIGNING_KEY", &signing_key)
        .env("PORTCULLIS_PAT_PREFIX", "dev_pat")
        .env("PORTCULLIS_SIGN_POLICY", sign_policy.to_string())
        .env("PORTCULLIS_DEV_S3_KEY", &s3_key)
        .env("PORTCULLIS_DEV_S3_SECRET", &s3_secret)
        .env(
            "PORTCULLIS_DEV_JWKS",
            format!("{{\"keys\":[{public_jwk}]}}"),
        )
        .status()
        .map_err(|e| e.to_string())?;
    if status.success() || status.code().is_none() {
        Ok(())
    } else {
        Err(format!("the dev server exited with {status}"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::root;

    #[test]
    fn the_dev_sign_policy_is_a_policy() {
        let toml = std::fs::read_to_string(root().join("dev/sign-policy.toml")).unwrap();
        let json = basic_toml::from_str::<serde_json::Value>(&toml).unwrap();
        let policy = portcullis_sign::policy::Policy::from_json(&json.to_string()).unwrap();
        assert!(policy.rules.iter().any(|r| r.allow_anonymous));
        assert!(
            policy.bucket("media").unwrap().put_urls,
            "the dev upload is a PUT URL"
        );
    }
}
