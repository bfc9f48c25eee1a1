//! `cargo xtask test`: every suite, in order, against real components.
//!
//! 1. fmt, clippy (native and wasm32), deno fmt + lint, native unit/integration/vector tests;
//! 2. both builds of every function, with the Wasm size budgets;
//! 3. a private PostgreSQL: migrations (idempotent, uninstall leaves nothing), least privilege;
//! 4. the black-box HTTP suite (tests/*.test.ts) against the Deno-served Supabase build and the
//!    workerd-served Cloudflare build, both on that PostgreSQL;
//! 5. the Standard Webhooks oracle (the official npm library signs; we verify, and the reverse);
//! 6. the e-mail snapshots rendered in headless Chromium (layout, contrast, inert user values);
//! 7. the CLI as a user runs it: migrations on a fresh server, config output, `doctor`.

use std::process::Command;
use std::time::Instant;

use crate::harness;
use crate::pg::TestPostgres;
use crate::tools::Tools;
use crate::util::{Result, note, root, run, say, tail, temp_dir};
use crate::wasm;

/// Credentials the provider fakes accept (and the functions send).
pub const PROVIDER_ENV: [(&str, &str); 9] = [
    ("PORTCULLIS_RESEND_API_KEY", "re_test_4Fq9xWm2Lk7Zp3Rt"),
    (
        "PORTCULLIS_POSTMARK_SERVER_TOKEN",
        "pm-test-7c1e2b9a-4d3f-4e8a",
    ),
    (
        "PORTCULLIS_TWILIO_ACCOUNT_SID",
        "AC0123456789abcdef0123456789abcdef",
    ),
    ("PORTCULLIS_TWILIO_AUTH_TOKEN", "twilio-test-token-5d8e"),
    ("PORTCULLIS_TWILIO_FROM", "+15005550006"),
    ("PORTCULLIS_VONAGE_API_KEY", "a1b2c3d4"),
    ("PORTCULLIS_VONAGE_API_SECRET", "vonage-test-secret-9f"),
    ("PORTCULLIS_VONAGE_FROM", "AcmeNotes"),
    ("PORTCULLIS_TEST_PROVIDER_FAKES", "1"),
];

/// What the Supabase Storage fake (tests/fakes/storage.ts) checks callers against: the
/// project's publishable and service keys, and the secret users' JWTs are signed with.
pub const STORAGE_FAKE_ENV: [(&str, &str); 3] = [
    (
        "PORTCULLIS_TEST_STORAGE_ANON_KEY",
        "sb_publishable_portcullis-test-anon-0001",
    ),
    (
        "PORTCULLIS_TEST_STORAGE_SERVICE_KEY",
        "sb_secret_portcullis-test-service-0001",
    ),
    ("PORTCULLIS_TEST_JWT_SECRET", crate::pat::TEST_JWT_SECRET),
];

/// The provider fakes (tests/fakes/providers.ts) on a free port.
pub fn provider_fakes(
    tools: &Tools,
    logs: &std::path::Path,
) -> Result<(crate::util::Service, String)> {
    let port = crate::util::free_port()?;
    let log = logs.join("provider-fakes.log");
    let mut cmd = tools.deno_serve(root().join("tests/fakes/providers.ts"), port);
    for (k, v) in PROVIDER_ENV.iter().chain(&STORAGE_FAKE_ENV) {
        cmd.env(k, v);
    }
    let mut service = crate::util::Service::spawn("provider fakes", &mut cmd, &log)?;
    crate::util::wait_for_port(
        port,
        std::time::Duration::from_secs(60),
        &mut service.child,
        &service.name,
    )
    .map_err(|e| format!("{e}\n{}", tail(&log, 20)))?;
    Ok((service, format!("http://127.0.0.1:{port}")))
}

/// The secrets and policy the black-box suite expects its servers to run with, providers
/// pointed at the fakes under `fakes_url`.
pub fn hooks_env(db_url: &str, fakes_url: &str) -> Result<Vec<(&'static str, String)>> {
    let policy = std::fs::read_to_string(root().join("tests/fixtures/hooks-policy.json"))
        .map_err(|e| e.to_string())?;
    let policy: serde_json::Value =
        serde_json::from_str(&policy).map_err(|e| format!("hooks-policy.json: {e}"))?;
    let mut env: Vec<(&'static str, String)> = PROVIDER_ENV
        .iter()
        .map(|(k, v)| (*k, (*v).to_owned()))
        .collect();
    for (var, path) in [
        ("PORTCULLIS_RESEND_URL", "resend"),
        ("PORTCULLIS_POSTMARK_URL", "postmark"),
        ("PORTCULLIS_TWILIO_URL", "twilio"),
        ("PORTCULLIS_VONAGE_URL", "vonage"),
    ] {
        env.push((var, format!("{fakes_url}/{path}")));
    }
    env.extend([
        ("PORTCULLIS_HOOK_SECRETS", TEST_SECRETS.to_owned()),
        (
            "PORTCULLIS_HOOK_SECRETS_BEFORE_USER_CREATED",
            TEST_SIGNUP_SECRET.to_owned(),
        ),
        ("PORTCULLIS_HOOKS_POLICY", policy.to_string()),
        ("PORTCULLIS_MAX_BODY_BYTES", "65536".to_owned()),
        ("PORTCULLIS_DB_URL", db_url.to_owned()),
    ]);
    Ok(env)
}

/// Two secrets (rotation); the suite signs with either.
pub const TEST_SECRETS: &str = "v1,whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw|v1,whsec_dGVzdC1zZWNvbmQtc2VjcmV0LWZvci1yb3RhdGlvbg==";
/// The before-user-created hook has its own secret.
pub const TEST_SIGNUP_SECRET: &str = "v1,whsec_c2lnbnVwLWhvb2stc2VjcmV0LTMyLWJ5dGVzLWxvbmc=";

fn cargo(args: &[&str]) -> Result {
    run(Command::new("cargo").current_dir(root()).args(args))
}

pub fn command(args: &[String]) -> Result {
    let started = Instant::now();
    let quick = args.iter().any(|a| a == "--no-lint");
    let tools = Tools::ensure()?;
    if let Some(at) = args.iter().position(|a| a == "--only") {
        return only(&tools, args.get(at + 1).map(String::as_str));
    }

    if !quick {
        say("format");
        cargo(&["fmt", "--all", "--", "--check"])?;
        say("clippy (native)");
        cargo(&[
            "clippy",
            "--quiet",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ])?;
        say("clippy (wasm32)");
        cargo(&[
            "clippy",
            "--quiet",
            "--workspace",
            "--target",
            "wasm32-unknown-unknown",
            "--exclude",
            "xtask",
            "--exclude",
            "portcullis",
            "--exclude",
            "portcullis-pgclient",
            "--",
            "-D",
            "warnings",
        ])?;
    }
    if !quick {
        say("deno fmt and lint (shims, tests, benches)");
        let ts = [
            "functions/",
            "tests/",
            "bench/",
            "examples/",
            "crates/platform/js/js/",
        ];
        run(tools
            .deno()
            .current_dir(root())
            .args(["fmt", "--check", "--quiet", "--config", "deno.json"])
            .args(ts))?;
        run(tools
            .deno()
            .current_dir(root())
            .args(["lint", "--quiet", "--config", "deno.json"])
            .args(ts))?;
    }
    say("native tests: units, vectors, mutations, in-process service");
    cargo(&["test", "--quiet", "--workspace"])?;
    cargo(&["build", "--quiet", "-p", "portcullis"])?;
    crate::sign::botocore_oracle()?;

    say("rendered e-mails in headless Chromium (screenshots in target/email-screenshots)");
    let chromium = tools.chromium()?;
    run(tools
        .node(root().join("tests/email-screenshots.cjs"))
        .arg(root().join("target/email-screenshots"))
        .env("CHROMIUM", chromium))?;

    let sizes = wasm::build_all(&tools)?;
    wasm::check_budgets(&sizes)?;

    say("starting PostgreSQL (plain text and TLS)");
    let pg = TestPostgres::start_tls_optional()?;
    crate::db::migration_suite(&pg)
        .map_err(|e| format!("{e}\nserver log:\n{}", tail(&pg.log(), 20)))?;
    let fn_url = crate::db::prepare_function_role(&pg)?;
    // Deno connects with TLS and checks the certificate (verify-full against the test CA);
    // wrangler's local Hyperdrive connects in plain text, as it does to a local database.
    let verified_url = fn_url.replace("127.0.0.1", "localhost").replace(
        "sslmode=disable",
        &format!(
            "sslmode=verify-full&sslrootcert={}",
            pg.certificate().display()
        ),
    );

    let logs = temp_dir("portcullis-test-logs")?;
    let hooks = wasm::function("hooks")?;
    let (fakes, fakes_url) = provider_fakes(&tools, &logs)?;
    let env = hooks_env(&fn_url, &fakes_url)?;
    let deno_env = hooks_env(&verified_url, &fakes_url)?;
    say("serving hooks on Deno and on workerd");
    let deno = harness::deno(&tools, hooks, &deno_env, &logs)?;
    let worker = harness::workerd(&tools, hooks, &env, Some(&fn_url), &logs)?;
    note(format!("Deno: {}", deno.base_url));
    note(format!("workerd: {}", worker.base_url));

    let mut failures = Vec::new();
    for (runtime, served) in [("deno", &deno), ("workerd", &worker)] {
        say(format!("black-box suites against {runtime}"));
        let status = tools
            .deno_test("tests/hooks.test.ts")
            .arg("tests/delivery.test.ts")
            .env("PORTCULLIS_FAKES_URL", &fakes_url)
            .env("PORTCULLIS_BASE_URL", &served.base_url)
            .env("PORTCULLIS_RUNTIME", runtime)
            .env("PORTCULLIS_ADMIN_DB_URL", pg.superuser_url())
            .env("PORTCULLIS_TEST_SECRETS", TEST_SECRETS)
            .env("PORTCULLIS_TEST_SIGNUP_SECRET", TEST_SIGNUP_SECRET)
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            failures.push(format!(
                "black-box suite on {runtime}; server log:\n{}",
                tail(&served.log, 40)
            ));
        }
        if runtime == "deno" {
            // The Deno function's pool is still connected: every connection it made is encrypted.
            let mut admin = pg.connect()?;
            let tls = admin.column(
                "select count(*) filter (where s.ssl)::text || '/' || count(*)::text
             from pg_stat_activity a join pg_stat_ssl s using (pid)
             where a.usename = 'portcullis_fn' and a.application_name = 'postgres.js'",
            )?;
            match tls.first().and_then(|t| t.split_once('/')) {
                Some((encrypted, all)) if encrypted == all && all != "0" => {
                    note(format!(
                        "Deno's connections to PostgreSQL: {encrypted} of {all} use TLS (verify-full)"
                    ));
                }
                other => failures.push(format!("Deno must connect with TLS: {other:?}")),
            }
        }
    }
    failures.extend(crate::sign::suite(&tools, &fakes_url, &logs)?);
    failures.extend(crate::pat::suite(
        &tools,
        &pg,
        &fn_url,
        &verified_url,
        &fakes_url,
        &logs,
    )?);
    failures.extend(crate::sso::suite(&tools, &pg, &fn_url)?);
    for (runtime, served) in [("deno", &deno), ("workerd", &worker)] {
        say(format!(
            "fault: PostgreSQL restarted under load on /send-email ({runtime})"
        ));
        if let Err(e) = fault_test(&tools, &pg, &served.base_url) {
            failures.push(format!(
                "fault test on {runtime}: {e}\nserver log:\n{}",
                tail(&served.log, 20)
            ));
        }
    }
    say("the functions' PostgreSQL path refuses servers that would get the password");
    let status = tools
        .deno_test("tests/pg-guard.test.ts")
        .env("PORTCULLIS_BASE_URL", &deno.base_url)
        .env("PORTCULLIS_TEST_SECRETS", TEST_SECRETS)
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        failures.push("PostgreSQL guard (tests/pg-guard.test.ts)".to_owned());
    }
    say("trap recovery: the shared shim on Deno (in process) and workerd");
    let testbed = wasm::build_testbed(&tools)?;
    let testbed_worker = harness::workerd_bare(
        &tools,
        &harness::BareWorker {
            name: "testbed",
            dir: &testbed.join("worker"),
            modules: &[
                ("index.js", "esModule"),
                ("portcullis_js_testbed_bg.wasm", "wasm"),
            ],
            text: &[],
            hyperdrive: None,
        },
        &logs,
    )?;
    let status = tools
        .deno_test("tests/trap.test.ts")
        .env("PORTCULLIS_TESTBED_DIR", &testbed)
        .env("PORTCULLIS_TESTBED_WORKER_URL", &testbed_worker.base_url)
        .env("PORTCULLIS_BASE_URL", &deno.base_url)
        .env("PORTCULLIS_TEST_SECRETS", TEST_SECRETS)
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        failures.push(format!(
            "trap recovery; workerd log:\n{}",
            tail(&testbed_worker.log, 30)
        ));
    }
    drop(testbed_worker);
    say("Standard Webhooks oracle (npm standardwebhooks both ways)");
    let status = tools
        .deno_test("tests/oracle.test.ts")
        .env("PORTCULLIS_BASE_URL", &deno.base_url)
        .env("PORTCULLIS_WORKER_URL", &worker.base_url)
        .env("PORTCULLIS_CLI", root().join("target/debug/portcullis"))
        .env("PORTCULLIS_TEST_SECRETS", TEST_SECRETS)
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        failures.push("Standard Webhooks oracle".to_owned());
    }
    say("CLI: db migrate/uninstall on a TLS-only server, hooks config, doctor against both builds");
    if let Err(e) = cli_suite(&deno.base_url, &worker.base_url) {
        failures.push(format!("CLI: {e}"));
    }
    drop(deno);
    drop(worker);
    drop(fakes);
    if let Err(e) = fuzz(&tools) {
        failures.push(format!("fuzzing: {e}"));
    }
    if !failures.is_empty() {
        return Err(format!("failed:\n- {}", failures.join("\n- ")));
    }
    let _ = std::fs::remove_dir_all(&logs);
    say(format!("all suites passed in {:.0?}", started.elapsed()));
    for s in &sizes {
        note(s.to_string());
    }
    Ok(())
}

/// `--only sign|sso`: one function's suites, for a quick loop while working on it (CI runs all).
fn only(tools: &Tools, name: Option<&str>) -> Result {
    match name {
        Some("sign") => {
            crate::sign::botocore_oracle()?;
            let f = wasm::function("sign")?;
            wasm::check_budgets(&[wasm::build_module(tools, f)?, wasm::build_worker(tools, f)?])?;
            let logs = temp_dir("portcullis-test-logs")?;
            let (fakes, fakes_url) = provider_fakes(tools, &logs)?;
            let failures = crate::sign::suite(tools, &fakes_url, &logs)?;
            drop(fakes);
            if failures.is_empty() {
                say("the sign suites passed");
                Ok(())
            } else {
                Err(format!("failed:\n- {}", failures.join("\n- ")))
            }
        }
        Some("sso") => {
            say("starting PostgreSQL");
            let pg = TestPostgres::start()?;
            let fn_url = crate::db::prepare_function_role(&pg)?;
            let failures = crate::sso::suite(tools, &pg, &fn_url)?;
            if failures.is_empty() {
                say("the sso suites passed");
                Ok(())
            } else {
                Err(format!("failed:\n- {}", failures.join("\n- ")))
            }
        }
        _ => Err("--only takes a function with its own suites: sign, sso".into()),
    }
}

/// The `portcullis` binary as a user runs it.
fn cli_suite(deno_url: &str, worker_url: &str) -> Result {
    let cli = root().join("target/debug/portcullis");
    let run_cli = |args: &[&str], env: &[(&str, &str)]| -> Result<(bool, String)> {
        let out = Command::new(&cli)
            .args(args)
            // The CLI reads these by default: only what a case passes counts, not the caller's.
            .env_remove("PORTCULLIS_HOOK_SECRETS")
            .env_remove("DATABASE_URL")
            .envs(env.iter().copied())
            .output()
            .map_err(|e| e.to_string())?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok((out.status.success(), text))
    };
    // Migrations on a server of their own (they change the cluster-wide role's password) that
    // accepts TLS only, with a self-signed certificate.
    let pg = TestPostgres::start_tls()?;
    let url = pg.superuser_url(); // sslmode=require: encrypted, certificate not checked
    let plain = url.replace("sslmode=require", "sslmode=disable");
    let (ok, out) = run_cli(&["db", "migrate", "--db-url", &plain], &[])?;
    if ok || !out.contains("no encryption") && !out.contains("pg_hba") {
        return Err(format!(
            "db migrate without TLS should be refused by this server:\n{out}"
        ));
    }
    let cert = pg.certificate();
    let verified = format!(
        "{}&sslrootcert={}",
        url.replace("127.0.0.1", "localhost")
            .replace("sslmode=require", "sslmode=verify-full"),
        cert.display()
    );
    let unverifiable = url.replace("sslmode=require", "sslmode=verify-full");
    let (ok, out) = run_cli(&["db", "migrate", "--db-url", &unverifiable], &[])?;
    if ok || !out.to_lowercase().contains("certificate") {
        return Err(format!(
            "verify-full must refuse a self-signed certificate without sslrootcert:\n{out}"
        ));
    }
    let (ok, out) = run_cli(&["db", "migrate", "--db-url", &verified], &[])?;
    if !ok {
        return Err(format!(
            "db migrate with verify-full and sslrootcert:\n{out}"
        ));
    }
    let (ok, out) = run_cli(&["db", "migrate", "--db-url", &url, "--enable-login"], &[])?;
    if !ok || !out.contains("20261203000000") {
        return Err(format!("db migrate:\n{out}"));
    }
    let fn_url = out
        .lines()
        .find_map(|l| l.strip_prefix("PORTCULLIS_DB_URL='"))
        .and_then(|l| l.strip_suffix('\''))
        .ok_or_else(|| format!("no PORTCULLIS_DB_URL printed:\n{out}"))?;
    let mut f = crate::pg::Pg::connect(fn_url)?;
    f.query("select count(*)::text from portcullis.email_outbox", &[])?;
    // The new password reached the server as a SCRAM verifier only: not in its statement log.
    let password = fn_url
        .split_once("portcullis_fn:")
        .and_then(|(_, rest)| rest.split_once('@'))
        .map(|(p, _)| p.to_owned())
        .ok_or("no password in PORTCULLIS_DB_URL")?;
    let log = std::fs::read_to_string(pg.log()).map_err(|e| e.to_string())?;
    if password.len() < 32
        || log.contains(&password)
        || !log.contains("password 'SCRAM-SHA-256$4096:")
    {
        return Err(format!(
            "db migrate --enable-login must send a SCRAM verifier, not the password (statement log:\n{})",
            log.lines()
                .filter(|l| l.contains("portcullis_fn"))
                .collect::<Vec<_>>()
                .join("\n")
        ));
    }
    if !fn_url.contains("sslmode=require") {
        return Err(format!("the printed URL must spell out sslmode: {fn_url}"));
    }
    let (ok, out) = run_cli(&["db", "migrate", "--db-url", &url], &[])?;
    if !ok {
        return Err(format!("db migrate (again):\n{out}"));
    }
    drop(f);
    let (ok, out) = run_cli(&["db", "uninstall", "--db-url", &url], &[])?;
    let mut pg_admin = pg.connect()?;
    let left =
        pg_admin.column("select count(*)::text from pg_namespace where nspname = 'portcullis'")?;
    if !ok || left != ["0"] {
        return Err(format!("db uninstall left the schema behind:\n{out}"));
    }
    // Config blocks for a deployment URL.
    let base = "https://abcdefghijklmnop.supabase.co/functions/v1/portcullis-hooks";
    let (ok, out) = run_cli(&["hooks", "config", "--url", base], &[])?;
    for want in [
        "[auth.hook.send_email]",
        &format!("uri = \"{base}/password-verification-attempt\""),
        "secrets = \"env(PORTCULLIS_HOOK_SECRETS)\"",
        "supabase secrets set PORTCULLIS_HOOK_SECRETS",
        "wrangler secret put PORTCULLIS_HOOK_SECRETS",
        "export PORTCULLIS_HOOK_SECRETS='v1,whsec_",
    ] {
        if !ok || !out.contains(want) {
            return Err(format!("hooks config lacks `{want}`:\n{out}"));
        }
    }
    // Every command's --help exits 0 with examples; --version; errors name the argument.
    for cmd in [
        &[][..],
        &["hooks"],
        &["hooks", "secret"],
        &["hooks", "sign"],
        &["hooks", "send"],
        &["hooks", "policy"],
        &["hooks", "config"],
        &["db"],
        &["db", "migrate"],
        &["db", "uninstall"],
        &["pat"],
        &["pat", "create"],
        &["pat", "list"],
        &["pat", "rotate"],
        &["pat", "revoke"],
        &["pat", "exchange"],
        &["doctor"],
        &["completions"],
    ] {
        let mut args: Vec<&str> = cmd.to_vec();
        args.push("--help");
        let (ok, out) = run_cli(&args, &[])?;
        let wants_examples =
            cmd.len() != 1 || matches!(cmd.first(), Some(&"doctor" | &"completions"));
        if !ok || (wants_examples && !out.contains("Examples:")) {
            return Err(format!("portcullis {} --help:\n{out}", cmd.join(" ")));
        }
    }
    let (ok, out) = run_cli(&["--version"], &[])?;
    if !ok || !out.starts_with("portcullis ") {
        return Err(format!("portcullis --version:\n{out}"));
    }
    let (ok, out) = run_cli(&["doctor", "--url", "https://x.test"], &[])?;
    if ok || !out.contains("--secret") {
        return Err(format!("a missing argument must be named:\n{out}"));
    }
    let (ok, out) = run_cli(&["completions", "bash"], &[])?;
    if !ok || !out.contains("portcullis") {
        return Err(format!("completions bash:\n{out}"));
    }
    // config.toml: ours and a user's file merged by `hooks config --write` both parse with
    // the real Supabase CLI; the user's own send_email hook is reported and kept.
    supabase_cli_parses(&root())?;
    let project = temp_dir("portcullis-user-project")?;
    std::fs::create_dir_all(project.join("supabase")).map_err(|e| e.to_string())?;
    let user_config = project.join("supabase/config.toml");
    std::fs::write(
        &user_config,
        "# A user's project\nproject_id = \"acme-notes\"\n\n[api]\nport = 54321\n\n[auth]\nsite_url = \"http://127.0.0.1:3000\"\n\n\
         [auth.hook.send_email]\nenabled = true\nuri = \"https://mail.dreamlit.example/hook\"\nsecrets = \"env(DREAMLIT_SECRET)\"\n",
    )
    .map_err(|e| e.to_string())?;
    let (ok, out) = run_cli(
        &[
            "hooks",
            "config",
            "--url",
            base,
            "--write",
            &user_config.to_string_lossy(),
        ],
        &[("PORTCULLIS_HOOK_SECRETS", TEST_SECRETS)],
    )?;
    let merged = std::fs::read_to_string(&user_config).map_err(|e| e.to_string())?;
    if !ok
        || !out.contains(
            "kept  [auth.hook.send_email] (already configured: https://mail.dreamlit.example/hook)",
        )
        || !out.contains("added [auth.hook.custom_access_token]")
        || !merged.contains("uri = \"https://mail.dreamlit.example/hook\"")
        || !merged.contains(&format!("uri = \"{base}/password-verification-attempt\""))
        || merged.contains(&format!("{base}/send-email"))
        || !merged.starts_with("# A user's project\n")
    {
        return Err(format!("hooks config --write:\n{out}\n{merged}"));
    }
    supabase_cli_parses(&project)?;
    note(
        "the Supabase CLI parses our config.toml and a user's file merged by `hooks config --write` (their send_email hook kept)",
    );
    let _ = std::fs::remove_dir_all(&project);
    // doctor: six hooks verify with the shared secret; before-user-created has its own secret
    // in the test deployment, which doctor must diagnose as a secret mismatch.
    for url in [deno_url, worker_url] {
        let (ok, out) = run_cli(
            &["doctor", "--url", url, "--secret-env", "TEST_SECRET"],
            &[("TEST_SECRET", TEST_SECRETS)],
        )?;
        let oks = out.lines().filter(|l| l.starts_with("ok ")).count();
        let mismatch = out
            .lines()
            .any(|l| l.starts_with("FAIL before-user-created: the secrets differ"));
        if ok || oks != 6 || !mismatch {
            return Err(format!("doctor against {url}:\n{out}"));
        }
        note(format!(
            "doctor {url}: 6 ok, before-user-created secret mismatch diagnosed"
        ));
    }
    Ok(())
}

/// `supabase status` in `dir` (the real CLI, offline): it reads `supabase/config.toml` before it
/// fails on the missing Docker engine, so a config error shows up as one.
fn supabase_cli_parses(dir: &std::path::Path) -> Result {
    let tools = Tools::ensure()?;
    // The CLI validates the secrets of enabled hooks, reading `env(…)` from its environment.
    let out = tools
        .command("supabase")
        .current_dir(dir)
        .args(["status", "--debug"])
        .env("PORTCULLIS_HOOK_SECRETS", TEST_SECRETS)
        // The user's own send_email hook in the merged test project.
        .env("DREAMLIT_SECRET", TEST_SIGNUP_SECRET)
        .output()
        .map_err(|e| e.to_string())?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed = !text.contains("failed to read config")
        && !text.contains("CliConfigParseError")
        && text.to_lowercase().contains("docker");
    if parsed {
        Ok(())
    } else {
        Err(format!(
            "the Supabase CLI did not accept {}/supabase/config.toml:\n{}",
            dir.display(),
            text.lines().rev().take(15).collect::<Vec<_>>().join("\n")
        ))
    }
}

/// `tests/fault.ts` drives /send-email while PostgreSQL restarts three seconds in.
fn fault_test(tools: &Tools, pg: &TestPostgres, base_url: &str) -> Result {
    let started = |pg: &TestPostgres| -> Result<Vec<String>> {
        pg.connect()?
            .column("select pg_postmaster_start_time()::text")
    };
    let before = started(pg)?;
    let load = tools
        .deno()
        .args([
            "run",
            "--allow-net",
            "--allow-env",
            "--allow-read",
            "--no-prompt",
            "tests/fault.ts",
        ])
        .env("PORTCULLIS_BASE_URL", base_url)
        .env("PORTCULLIS_ADMIN_DB_URL", pg.superuser_url())
        .env("PORTCULLIS_TEST_SECRETS", TEST_SECRETS)
        .env("PORTCULLIS_FAULT_SECONDS", "10")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    std::thread::sleep(std::time::Duration::from_secs(3));
    let restarted = pg.restart();
    let out = load.wait_with_output().map_err(|e| e.to_string())?;
    restarted?;
    let summary = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if started(pg)? == before {
        return Err("PostgreSQL was not restarted".into());
    }
    if !out.status.success() {
        return Err(summary);
    }
    note(format!("fault test: {summary}"));
    Ok(())
}

/// Seconds each fuzz target runs in `cargo xtask test` (`PORTCULLIS_FUZZ_SECONDS` overrides).
const FUZZ_SECONDS: u32 = 20;

/// Every fuzz target for a bounded time, starting from the committed corpus (`fuzz/corpus/`,
/// grown by these runs) and seeds. A crash fails the suite and leaves the input in
/// `fuzz/artifacts/`.
fn fuzz(tools: &Tools) -> Result {
    let cargo_fuzz = tools.cargo_fuzz()?;
    let seconds: u32 = std::env::var("PORTCULLIS_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(FUZZ_SECONDS);
    let dir = root().join("fuzz");
    let list = crate::util::output(
        Command::new(&cargo_fuzz)
            .current_dir(&dir)
            .env("RUSTUP_TOOLCHAIN", "nightly")
            .arg("list"),
    )?;
    let targets: Vec<&str> = list
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    say(format!(
        "fuzzing: {} targets, {seconds} s each (cargo-fuzz, nightly)",
        targets.len()
    ));
    for t in &targets {
        let corpus = dir.join("corpus").join(t);
        std::fs::create_dir_all(&corpus).map_err(|e| e.to_string())?;
        let mut cmd = Command::new(&cargo_fuzz);
        cmd.current_dir(&dir)
            .env("RUSTUP_TOOLCHAIN", "nightly")
            .args(["run", t])
            .arg(&corpus);
        let seeds = dir.join("seeds").join(t);
        if seeds.is_dir() {
            cmd.arg(&seeds);
        }
        cmd.args([
            "--",
            &format!("-max_total_time={seconds}"),
            "-rss_limit_mb=2048",
            "-print_final_stats=1",
        ]);
        let out = cmd.output().map_err(|e| e.to_string())?;
        let log = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            return Err(format!(
                "{t} failed:\n{}",
                log.lines()
                    .rev()
                    .take(30)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join("\n")
            ));
        }
        let runs = log
            .lines()
            .find_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
            .map_or("?", str::trim);
        note(format!("fuzz {t}: {runs} runs in {seconds} s, no crash"));
    }
    Ok(())
}
