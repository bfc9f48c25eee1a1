//! The pat function's test deployment: keys from the real Supabase CLI, the environment both
//! runtimes serve it with, and its black-box suite (tests/pat.test.ts).

use std::future::Future;
use std::path::Path;

use portcullis_jwt::SigningKey;

use crate::harness;
use crate::pg::TestPostgres;
use crate::tools::Tools;
use crate::util::{Result, note, root, say, tail};
use crate::wasm;

/// The legacy HS256 secret of the test project.
pub const TEST_JWT_SECRET: &str = "test-project-legacy-jwt-secret-with-32-plus-bytes";
/// The introspection secret of the test deployment.
pub const TEST_INTROSPECTION_SECRET: &str = "introspection-secret-for-the-test-backend-0001";
/// An ES256 key printed by the real CLI (`supabase gen signing-key --algorithm ES256`, 2.117.0)
/// whose `y` starts with a zero byte, with that byte dropped, as Go's `big.Int.Bytes()` prints
/// such keys (31 bytes; the spec's "one key in 85"). CLI 2.117.0 itself pads to 32 bytes (1 800
/// keys sampled, none shorter), so the short form is kept here rather than searched for.
pub const SHORT_FIELD_KEY: &str = "tests/fixtures/supabase-cli-es256-short-field.json";

/// `supabase gen signing-key --algorithm ES256` with the real CLI: its JWK line.
pub fn cli_signing_key(tools: &Tools) -> Result<String> {
    let out = tools
        .command("supabase")
        .args(["gen", "signing-key", "--algorithm", "ES256"])
        .current_dir(std::env::temp_dir())
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.trim_start().starts_with('{'))
        .map(|l| l.trim().to_owned())
        .ok_or_else(|| {
            format!(
                "supabase gen signing-key printed no key:\n{text}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
}

/// The public JWK the project publishes once `private` is imported as a signing key.
pub fn public_jwk(private: &str) -> Result<String> {
    SigningKey::from_private_jwk(private)
        .map_err(|e| format!("signing key: {e}"))?
        .public_jwk()
        .ok_or_else(|| "not an ES256 key".to_owned())
}

/// The pat function's environment for the tests.
pub fn pat_env(db_url: &str, fakes_url: &str, signing_key: &str) -> Vec<(&'static str, String)> {
    let policy = serde_json::json!({
        "max_lifetime_seconds": 30 * 86_400,
        "require_expiry": true,
        "max_tokens_per_user": 5,
        "allowed_scopes": ["data:read", "data:write", "storage:read"],
        "exchange_ttl_seconds": 900,
        "rate_limit": { "requests": 5, "window_seconds": 60 },
        "max_overlap_seconds": 86_400,
    });
    vec![
        ("SUPABASE_URL", fakes_url.to_owned()),
        ("PORTCULLIS_DB_URL", db_url.to_owned()),
        ("PORTCULLIS_JWT_SECRET", TEST_JWT_SECRET.to_owned()),
        ("PORTCULLIS_PAT_SIGNING_KEY", signing_key.to_owned()),
        ("PORTCULLIS_PAT_PREFIX", "acme_pat".to_owned()),
        ("PORTCULLIS_PAT_POLICY", policy.to_string()),
        (
            "PORTCULLIS_PAT_INTROSPECTION_SECRET",
            TEST_INTROSPECTION_SECRET.to_owned(),
        ),
        ("PORTCULLIS_CLIENT_IP_HEADER", "x-forwarded-for".to_owned()),
        (
            "PORTCULLIS_CORS_ORIGINS",
            "https://app.example.com".to_owned(),
        ),
        (
            "PORTCULLIS_GITHUB_KEYS_URL",
            format!("{fakes_url}/github/meta/public_keys/secret_scanning"),
        ),
    ]
}

/// Serves pat on Deno (TLS to PostgreSQL, minting with the committed 31-byte-field CLI key)
/// and on workerd (minting with a key the CLI generates now), runs the black-box suite against
/// each, and returns what failed.
pub fn suite(
    tools: &Tools,
    pg: &TestPostgres,
    fn_url: &str,
    verified_url: &str,
    fakes_url: &str,
    logs: &Path,
) -> Result<Vec<String>> {
    let f = wasm::function("pat")?;
    let short = std::fs::read_to_string(root().join(SHORT_FIELD_KEY))
        .map_err(|e| format!("{SHORT_FIELD_KEY}: {e}"))?;
    // One line (wrangler's env file, and as the CLI prints it).
    let short = serde_json::from_str::<serde_json::Value>(&short)
        .map_err(|e| format!("{SHORT_FIELD_KEY}: {e}"))?
        .to_string();
    let fresh = cli_signing_key(tools)?;
    note(format!(
        "signing keys from the real Supabase CLI: {SHORT_FIELD_KEY} (a 31-byte field) and one made now"
    ));
    let deno_env = pat_env(verified_url, fakes_url, &short);
    let worker_env = pat_env(fn_url, fakes_url, &fresh);
    say("serving pat on Deno and on workerd");
    let deno = harness::deno(tools, f, &deno_env, logs)?;
    let worker = harness::workerd(tools, f, &worker_env, Some(fn_url), logs)?;
    let mut failures = Vec::new();
    say(
        "token layer against jose: an HS256-minting pat module in process (tests/jwt-oracle.test.ts)",
    );
    let status = tools
        .deno_test("tests/jwt-oracle.test.ts")
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        failures.push("jose oracle for HS256 minting (tests/jwt-oracle.test.ts)".to_owned());
    }
    say("CLI: portcullis pat create, list, exchange, rotate, revoke against the Deno build");
    if let Err(e) = cli_suite(pg, &deno.base_url, fakes_url) {
        failures.push(format!("portcullis pat: {e}"));
    }
    for (runtime, served, key) in [("deno", &deno, &short), ("workerd", &worker, &fresh)] {
        say(format!("pat black-box suite against {runtime}"));
        let status = tools
            .deno_test("tests/pat.test.ts")
            .env("PORTCULLIS_PAT_URL", &served.base_url)
            .env("PORTCULLIS_FAKES_URL", fakes_url)
            .env("PORTCULLIS_RUNTIME", runtime)
            .env("PORTCULLIS_ADMIN_DB_URL", pg.superuser_url())
            .env("PORTCULLIS_TEST_JWT_SECRET", TEST_JWT_SECRET)
            .env("PORTCULLIS_TEST_PAT_PUBLIC_JWK", public_jwk(key)?)
            .env(
                "PORTCULLIS_TEST_INTROSPECTION_SECRET",
                TEST_INTROSPECTION_SECRET,
            )
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            failures.push(format!(
                "pat black-box suite on {runtime}; server log:\n{}",
                tail(&served.log, 40)
            ));
        }
    }
    Ok(failures)
}

/// Polls a future that does no I/O (HS256 signing) to completion.
fn ready<F: Future>(f: F) -> Result<F::Output> {
    let mut f = std::pin::pin!(f);
    match f
        .as_mut()
        .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
    {
        std::task::Poll::Ready(v) => Ok(v),
        std::task::Poll::Pending => Err("signing waited".into()),
    }
}

/// A signed-in user's access token, as Supabase Auth would issue it (HS256, legacy secret).
fn user_jwt(issuer: &str, user: &str) -> Result<String> {
    user_jwt_with(TEST_JWT_SECRET, issuer, user, 600)
}

/// [`user_jwt`] with a given secret and lifetime (`cargo xtask dev` prints one).
pub fn user_jwt_with(secret: &str, issuer: &str, user: &str, lifetime: u64) -> Result<String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let claims = serde_json::json!({
        "iss": issuer, "sub": user, "aud": "authenticated", "role": "authenticated",
        "exp": now + lifetime, "iat": now, "aal": "aal1",
        "amr": [{"method": "password", "timestamp": now}],
    });
    let key = SigningKey::Hs256 {
        key: portcullis_jwt::HmacKey::new(secret.as_bytes().to_vec()).map_err(|e| e.to_string())?,
        kid: None,
    };
    ready(portcullis_jwt::sign_payload(
        &key,
        &claims.to_string(),
        &portcullis_core::NoCrypto,
    ))?
    .map_err(|e| e.to_string())
}

/// `portcullis pat …` as a user runs it.
fn cli_suite(pg: &TestPostgres, url: &str, fakes_url: &str) -> Result {
    let cli = root().join("target/debug/portcullis");
    let user = crate::util::random_hex(16)?;
    let user = format!(
        "{}-{}-4{}-8{}-{}",
        &user[0..8],
        &user[8..12],
        &user[13..16],
        &user[17..20],
        &user[20..32]
    );
    pg.connect()?.execute(&format!(
        "insert into auth.users (id, email, raw_app_meta_data, raw_user_meta_data) values ('{user}', 'cli@example.com', '{{}}', '{{}}')"
    ))?;
    let jwt = user_jwt(&format!("{fakes_url}/auth/v1"), &user)?;
    let run_cli = |args: &[&str], env: &[(&str, &str)]| -> Result<(bool, String, String)> {
        let out = std::process::Command::new(&cli)
            .args(args)
            .env("PORTCULLIS_PAT_URL", url)
            .env_remove("PORTCULLIS_PAT")
            .env_remove("PORTCULLIS_USER_JWT")
            .envs(env.iter().copied())
            .output()
            .map_err(|e| e.to_string())?;
        Ok((
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).trim().to_owned(),
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ))
    };
    let with_jwt = [("PORTCULLIS_USER_JWT", jwt.as_str())];
    let (ok, token, err) = run_cli(
        &[
            "pat",
            "create",
            "--name",
            "from the cli",
            "--scope",
            "data:read",
            "--expires-in",
            "7d",
        ],
        &with_jwt,
    )?;
    if !ok
        || !token.starts_with("acme_pat_")
        || token.len() != 45
        || !err.contains("not shown again")
    {
        return Err(format!("pat create:\n{token}\n{err}"));
    }
    let (ok, list, err) = run_cli(&["pat", "list"], &with_jwt)?;
    if !ok
        || !list.contains("from the cli")
        || !list.contains("active")
        || list.contains(&token[9..])
    {
        return Err(format!("pat list:\n{list}\n{err}"));
    }
    let id = list
        .lines()
        .find(|l| l.contains("from the cli"))
        .and_then(|l| l.split_whitespace().next())
        .ok_or("pat list: no id")?
        .to_owned();
    let with_pat = [("PORTCULLIS_PAT", token.as_str())];
    let (ok, access, err) = run_cli(&["pat", "exchange", "--scope", "data:read"], &with_pat)?;
    let payload = access
        .split('.')
        .nth(1)
        .and_then(|p| portcullis_core::encoding::base64url_decode(p).ok())
        .and_then(|p| serde_json::from_slice::<serde_json::Value>(&p).ok());
    if !ok || payload.as_ref().and_then(|p| p["sub"].as_str()) != Some(user.as_str()) {
        return Err(format!("pat exchange:\n{access}\n{err}"));
    }
    let (ok, rotated, err) = run_cli(&["pat", "rotate", &id, "--overlap", "0"], &with_jwt)?;
    if !ok || !rotated.starts_with("acme_pat_") || rotated == token {
        return Err(format!("pat rotate:\n{rotated}\n{err}"));
    }
    let (ok, _, err) = run_cli(&["pat", "exchange"], &with_pat)?;
    if ok || !err.contains("revoked") {
        return Err(format!("the rotated-away token must be refused:\n{err}"));
    }
    let (ok, _, err) = run_cli(&["pat", "exchange"], &[])?;
    if ok || !err.contains("PORTCULLIS_PAT") {
        return Err(format!("a missing token must be named:\n{err}"));
    }
    let with_new = [("PORTCULLIS_PAT", rotated.as_str())];
    let (ok, _, err) = run_cli(&["pat", "exchange", "--json"], &with_new)?;
    if !ok {
        return Err(format!("pat exchange (new token):\n{err}"));
    }
    let (_, list, _) = run_cli(&["pat", "list"], &with_jwt)?;
    let new_id = list
        .lines()
        .filter(|l| l.contains("active"))
        .find_map(|l| l.split_whitespace().next())
        .ok_or_else(|| format!("no active token after rotation:\n{list}"))?
        .to_owned();
    let (ok, _, err) = run_cli(&["pat", "revoke", &new_id], &with_jwt)?;
    let (refused, _, _) = run_cli(&["pat", "exchange"], &with_new)?;
    if !ok || refused {
        return Err(format!("pat revoke:\n{err}"));
    }
    note(
        "portcullis pat: create, list, exchange (narrowed), rotate (overlap 0), revoke; secrets only on stdout of create/rotate",
    );
    Ok(())
}
