//! The pat function's test deployment: keys from the real Supabase CLI, the environment both
//! runtimes serve it with, and its black-box suite (tests/pat.test.ts).

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
