//! (e) The delivery hooks end to end on PostgreSQL: send-email (outbox backend) and
//! password-verification-attempt under load, ours against the TypeScript equivalents in
//! bench/ts-delivery (standardwebhooks + postgres.js, same table, same statement), on Deno
//! (deno serve, postgres.js pool) and on workerd (wrangler dev, Hyperdrive local mode for both).
//!
//! Every request is signed ahead of time with its own `metadata.uuid` (wrk replays a file of
//! them), so each send-email call inserts a new outbox row, as in production. Attempts go to a
//! pool of 2,000 users, nine failures to one success, so rows are updated under contention.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use portcullis_core::UnixTime;
use portcullis_webhooks::SecretSet;

use crate::harness::{self, Served};
use crate::pg::TestPostgres;
use crate::tools::Tools;
use crate::util::{Result, note, output, root, say};

const SECRET: &str = "v1,whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const REQUESTS_PER_ROUND: usize = 60_000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DbHook {
    SendEmail,
    PasswordAttempt,
}

impl DbHook {
    fn path(self) -> &'static str {
        match self {
            Self::SendEmail => "/send-email",
            Self::PasswordAttempt => "/password-verification-attempt",
        }
    }
}

pub struct Row {
    pub hook: DbHook,
    pub runtime: &'static str,
    pub ours: bool,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

fn uuid(n: u128, salt: u128) -> String {
    let v = (salt << 64) | n;
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (v >> 96) & 0xffff_ffff,
        (v >> 80) & 0xffff,
        (v >> 64) & 0xfff,
        (v >> 48) & 0xfff,
        v & 0xffff_ffff_ffff
    )
}

fn body(hook: DbHook, i: usize, round: u128) -> serde_json::Value {
    let hook_uuid = uuid(i as u128, round);
    match hook {
        DbHook::SendEmail => serde_json::json!({
            "metadata": {"uuid": hook_uuid, "time": "2026-11-23T12:00:00.000000Z", "name": "send-email", "ip_address": "192.0.2.1"},
            "user": {
                "id": uuid(i as u128, 0xdead), "aud": "authenticated", "role": "authenticated",
                "email": format!("bench-{round}-{i}@example.com"), "phone": "",
                "app_metadata": {"provider": "email", "providers": ["email"]},
                "user_metadata": {"full_name": "Ada Lovelace", "locale": "en"},
                "identities": [], "created_at": "2026-11-01T10:00:00Z", "updated_at": "2026-11-23T12:00:00Z", "is_anonymous": false
            },
            "email_data": {
                "token": "305805", "token_hash": "7d8a1f0c2b9e4d3a5f6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b",
                "redirect_to": "https://app.example.com/welcome", "email_action_type": "magiclink",
                "site_url": "https://abcdefghijklmnop.supabase.co/auth/v1", "token_new": "", "token_hash_new": "",
                "old_email": "", "old_phone": "", "provider": "", "factor_type": ""
            }
        }),
        DbHook::PasswordAttempt => serde_json::json!({
            "metadata": {"uuid": hook_uuid, "time": "2026-11-23T12:00:00.000000Z", "name": "password-verification"},
            "user_id": uuid((i % 2000) as u128, 0xbeef + round),
            "valid": i % 10 == 9
        }),
    }
}

/// Signs `REQUESTS_PER_ROUND` distinct requests into a file wrk replays.
fn request_file(dir: &Path, hook: DbHook, round: u128) -> Result<PathBuf> {
    let secrets = SecretSet::parse(SECRET).map_err(|e| e.to_string())?;
    let now = crate::bench::now();
    let mut out = String::with_capacity(REQUESTS_PER_ROUND * 1200);
    for i in 0..REQUESTS_PER_ROUND {
        let body = body(hook, i, round).to_string();
        let id = uuid(i as u128, 0x1d00 + round);
        let sig = secrets.sign(&id, now, body.as_bytes());
        let _ = writeln!(out, "{id}\t{}\t{sig}\t{body}", now.secs());
    }
    let file = dir.join(format!("requests-{hook:?}-{round}.tsv"));
    std::fs::write(&file, out).map_err(|e| e.to_string())?;
    Ok(file)
}

const LUA: &str = r#"
local reqs, i = {}, 0
function init(args)
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do
    local id, ts, sig, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    reqs[#reqs + 1] = wrk.format("POST", os.getenv("BENCH_PATH"), {
      ["Content-Type"] = "application/json", ["webhook-id"] = id,
      ["webhook-timestamp"] = ts, ["webhook-signature"] = sig }, body)
  end
end
function request()
  i = i % #reqs + 1
  return reqs[i]
end
"#;

fn wrk(dir: &Path, url: &str, requests: &Path, seconds: u32) -> Result<(f64, f64, f64)> {
    let script = dir.join("replay.lua");
    std::fs::write(&script, LUA).map_err(|e| e.to_string())?;
    let (origin, path) = url
        .find("://")
        .and_then(|s| url[s + 3..].find('/').map(|p| url.split_at(s + 3 + p)))
        .ok_or_else(|| format!("bad url {url}"))?;
    let out = output(
        Command::new("wrk")
            .args(["-t1", "-c16", &format!("-d{seconds}s"), "--latency", "-s"])
            .arg(&script)
            .arg(origin)
            .env("BENCH_REQUESTS", requests)
            .env("BENCH_PATH", path),
    )?;
    if let Some(line) = out.lines().find(|l| l.contains("Non-2xx")) {
        return Err(format!("wrk saw failures against {url}: {line}"));
    }
    let find = |prefix: &str| {
        out.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_owned()))
    };
    let rps: f64 = find("Requests/sec:")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("wrk output:\n{out}"))?;
    let total: f64 = out
        .lines()
        .find_map(|l| {
            l.trim()
                .split_once(" requests in ")
                .map(|(n, _)| n.trim().to_owned())
        })
        .and_then(|n| n.parse().ok())
        .unwrap_or(0.0);
    if total > REQUESTS_PER_ROUND as f64 {
        note(format!(
            "{url}: {total} requests > {REQUESTS_PER_ROUND} prepared: later ones repeat (idempotent path)"
        ));
    }
    let ms = |p| {
        find(p)
            .and_then(|v| crate::bench::parse_ms(&v))
            .ok_or("no latency")
    };
    Ok((rps, ms("50%")?, ms("99%")?))
}

fn post(url: &str, body: &serde_json::Value) -> Result<serde_json::Value> {
    let secrets = SecretSet::parse(SECRET).map_err(|e| e.to_string())?;
    let now: UnixTime = crate::bench::now();
    let body = body.to_string();
    let id = uuid(rand_u64()? as u128, 7);
    let headers = vec![
        ("content-type", "application/json".to_owned()),
        ("webhook-id", id.clone()),
        ("webhook-timestamp", now.secs().to_string()),
        ("webhook-signature", secrets.sign(&id, now, body.as_bytes())),
    ];
    let (host_port, path) = url
        .strip_prefix("http://")
        .and_then(|u| u.find('/').map(|p| u.split_at(p)))
        .ok_or("bad url")?;
    let port: u16 = host_port
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .ok_or("no port")?;
    let (status, answer) = crate::bench::http(port, "POST", path, &headers, body.as_bytes())?;
    let v: serde_json::Value =
        serde_json::from_slice(&answer).map_err(|e| format!("{url}: {status}: {e}"))?;
    if status != 200 {
        return Err(format!("{url}: {status} {v}"));
    }
    Ok(v)
}

fn rand_u64() -> Result<u64> {
    let hex = crate::util::random_hex(8)?;
    u64::from_str_radix(&hex, 16).map_err(|e| e.to_string())
}

/// Both implementations must give the same answers before they are timed.
fn cross_check(ours: &str, ts: &str) -> Result {
    let salt = u128::from(rand_u64()?);
    let mut answers = Vec::new();
    for base in [ours, ts] {
        let user = uuid(salt, 0xc0de + answers.len() as u128);
        let mut seq = Vec::new();
        for valid in [false, false, false, false, false, true, false] {
            let v = post(
                &format!("{base}/password-verification-attempt"),
                &serde_json::json!({"metadata": {"uuid": uuid(rand_u64()? as u128, 9)}, "user_id": user, "valid": valid}),
            )?;
            seq.push((v["decision"].clone(), v["should_logout_user"].clone()));
        }
        let email = post(
            &format!("{base}/send-email"),
            &body(DbHook::SendEmail, 0, salt),
        )?;
        answers.push((seq, email));
    }
    if answers.first() != answers.last() {
        return Err(format!(
            "ours and the TypeScript hooks disagree: {answers:?}"
        ));
    }
    Ok(())
}

pub fn run(tools: &Tools, dir: &Path, seconds: u32) -> Result<Vec<Row>> {
    say("(e) delivery hooks on PostgreSQL: starting a private server");
    let pg = TestPostgres::start()?;
    let fn_url = crate::db::prepare_function_role(&pg)?;
    let hooks = crate::wasm::function("hooks")?;
    let env: Vec<(&str, String)> = vec![
        ("PORTCULLIS_HOOK_SECRETS", SECRET.to_owned()),
        ("PORTCULLIS_HOOKS_POLICY", "{}".to_owned()),
        ("PORTCULLIS_DB_URL", fn_url.clone()),
    ];
    let mut rows = Vec::new();
    let mut round = 0u128;
    // PORTCULLIS_BENCH_RUNTIMES=deno (or workerd) narrows a run while investigating.
    let only = std::env::var("PORTCULLIS_BENCH_RUNTIMES")
        .unwrap_or_default()
        .to_lowercase();
    for runtime in ["Deno", "workerd"] {
        if !only.is_empty() && !only.contains(&runtime.to_lowercase()) {
            continue;
        }
        let (ours, ts): (Served, Served) = if runtime == "Deno" {
            let ours = harness::deno(tools, hooks, &env, dir)?;
            let port = crate::util::free_port()?;
            let log = dir.join("ts-delivery-deno.log");
            let mut cmd = tools.deno_serve(root().join("bench/ts-delivery/deno.ts"), port);
            for (k, v) in &env {
                cmd.env(k, v);
            }
            let mut service = crate::util::Service::spawn("TS delivery on Deno", &mut cmd, &log)?;
            crate::util::wait_for_port(
                port,
                std::time::Duration::from_secs(120),
                &mut service.child,
                "TS delivery on Deno",
            )?;
            let ts = Served {
                service,
                base_url: format!("http://127.0.0.1:{port}"),
                log,
            };
            (ours, ts)
        } else {
            let ours = harness::workerd(tools, hooks, &env, Some(&fn_url), dir)?;
            let config = root().join("bench/ts-delivery/wrangler.toml");
            let ts = harness::wrangler_dev(
                tools,
                "ts-delivery",
                &["-c", &config.to_string_lossy()],
                &env[..1],
                Some(&fn_url),
                dir,
            )?;
            (ours, ts)
        };
        cross_check(&ours.base_url, &ts.base_url)?;
        for hook in [DbHook::SendEmail, DbHook::PasswordAttempt] {
            // Warm-up, then alternate three rounds each; keep each side's median round.
            let mut results: Vec<(bool, (f64, f64, f64))> = Vec::new();
            for (pass, secs) in [(0, 2), (1, seconds), (2, seconds), (3, seconds)] {
                for (is_ours, served) in [(true, &ours), (false, &ts)] {
                    round += 1;
                    let file = request_file(dir, hook, round)?;
                    let r = wrk(
                        dir,
                        &format!("{}{}", served.base_url, hook.path()),
                        &file,
                        secs,
                    )?;
                    let _ = std::fs::remove_file(&file);
                    if pass > 0 {
                        note(format!(
                            "{runtime} {:?} {}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
                            hook,
                            if is_ours { "ours" } else { "TS" },
                            r.0,
                            r.1,
                            r.2
                        ));
                        results.push((is_ours, r));
                    }
                }
            }
            for is_ours in [true, false] {
                let mut mine: Vec<(f64, f64, f64)> = results
                    .iter()
                    .filter(|(o, _)| *o == is_ours)
                    .map(|(_, r)| *r)
                    .collect();
                mine.sort_by(|a, b| a.0.total_cmp(&b.0));
                let (rps, p50_ms, p99_ms) = mine
                    .get(mine.len() / 2)
                    .copied()
                    .ok_or("no rounds measured")?;
                rows.push(Row {
                    hook,
                    runtime,
                    ours: is_ours,
                    rps,
                    p50_ms,
                    p99_ms,
                });
            }
        }
    }
    Ok(rows)
}

pub fn render(rows: &[Row], seconds: u32) -> String {
    let mut r = String::new();
    let _ = writeln!(
        r,
        "\n(e) delivery hooks end to end on PostgreSQL 15 (wrk -c16, three alternating {seconds} s rounds after a 2 s warm-up, median round; every request signed ahead with its own metadata.uuid)\n"
    );
    let _ = writeln!(
        r,
        "| hook | runtime | implementation | req/s | p50 ms | p99 ms |"
    );
    let _ = writeln!(r, "|---|---|---|---|---|---|");
    for x in rows {
        let _ = writeln!(
            r,
            "| {} | {} | {} | {:.0} | {:.2} | {:.2} |",
            x.hook.path(),
            x.runtime,
            if x.ours {
                "Portcullis (Rust/Wasm)"
            } else {
                "TypeScript + standardwebhooks + postgres.js"
            },
            x.rps,
            x.p50_ms,
            x.p99_ms
        );
    }
    for hook in [DbHook::SendEmail, DbHook::PasswordAttempt] {
        for runtime in ["Deno", "workerd"] {
            let get = |ours| {
                rows.iter()
                    .find(|x| x.hook == hook && x.runtime == runtime && x.ours == ours)
            };
            if let (Some(o), Some(t)) = (get(true), get(false)) {
                let _ = writeln!(
                    r,
                    "\n{} on {runtime}: throughput {:.2}× the TypeScript hook; p99 {:.2}× its p99.",
                    hook.path(),
                    o.rps / t.rps,
                    o.p99_ms / t.p99_ms
                );
            }
        }
    }
    r
}
