//! `cargo xtask bench`: the hooks function against what a team would write instead, on both
//! runtimes, in one run on one machine. Results go to stdout and bench/results/latest.md.
//!
//! (a) Standard Webhooks verification µs/op at 256 B / 2 KB / 20 KB: our Wasm verifier vs the
//!     `standardwebhooks` npm library (Deno in-process; workerd timed from the client).
//! (b) custom-access-token under load (wrk, loopback): req/s, p50, p99; ours vs the TypeScript
//!     hook in bench/ts-hooks (same policy, checked to produce identical claims).
//! (c) cold start: process start → first 200, median of several starts.
//! (d) Wasm sizes.
//! (e) send-email (outbox) and password-verification-attempt end to end on PostgreSQL, ours vs
//!     TypeScript + standardwebhooks + postgres.js (bench/ts-delivery): see `bench_db`.
//!     `cargo xtask bench --db` runs only this part.
//!
//! workerd runs as the bare `workerd` binary on a generated config, so neither wrangler's Node
//! proxy nor its bundler is measured.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use portcullis_core::UnixTime;
use portcullis_webhooks::SecretSet;

use crate::tools::Tools;
use crate::util::{
    Result, Service, free_port, note, output, root, run, say, tail, temp_dir, wait_for_port, which,
};
use crate::wasm::{self, Size};

const SECRET: &str = "v1,whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const COMPAT_DATE: &str = "2026-11-01";

pub(crate) fn now() -> UnixTime {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    UnixTime::from_secs(secs as i64)
}

// ---- a tiny HTTP/1.1 client (one connection per request) ----

pub(crate) fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> Result<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        let _ = write!(req, "{k}: {v}\r\n");
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    s.write_all(body).map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no HTTP head")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no status")?;
    let mut body = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Ok((status, body))
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 || data.len() < eol + 2 + size {
            break;
        }
        out.extend_from_slice(&data[eol + 2..eol + 2 + size]);
        data = &data[(eol + 4 + size).min(data.len())..];
    }
    out
}

// ---- inputs ----

/// A realistic custom-access-token payload (~1.3 KB), signed now.
struct Signed {
    id: String,
    ts: String,
    sig: String,
    body: Vec<u8>,
}

fn token_request() -> Result<Signed> {
    let t = now();
    let user = "8c7e6b2a-0000-4000-8000-000000000001";
    let body = serde_json::json!({
        "metadata": {"uuid": "6f1e0000-0000-4000-8000-00000000000a", "time": "2026-11-23T12:00:00.000000+00:00", "name": "customize-access-token", "ip_address": "192.0.2.1"},
        "user_id": user,
        "authentication_method": "password",
        "claims": {
            "iss": "https://project-ref.supabase.co/auth/v1", "aud": "authenticated",
            "exp": t.secs() + 3600, "iat": t.secs(), "sub": user,
            "email": "ada.lovelace@example.com", "phone": "", "role": "authenticated", "aal": "aal1",
            "amr": [{"method": "password", "timestamp": t.secs()}],
            "session_id": "2f1c0000-0000-4000-8000-000000000002", "is_anonymous": false,
            "app_metadata": {"provider": "email", "providers": ["email", "google"], "role": "admin", "org_id": "org_42", "plan": "team"},
            "user_metadata": {"name": "Ada Lovelace", "avatar_url": "https://example.com/a.png", "locale": "en-GB", "email_verified": true,
                              "bio": "Mathematician and writer, chiefly known for her work on Charles Babbage's proposed mechanical general-purpose computer, the Analytical Engine."}
        }
    });
    let body = serde_json::to_vec(&body).map_err(|e| e.to_string())?;
    let id = "3a1bd4a8-5b39-4a6b-9c3a-1f2e3d4c5b6a".to_owned();
    let secrets = SecretSet::parse(SECRET).map_err(|e| e.to_string())?;
    Ok(Signed {
        sig: secrets.sign(&id, t, &body),
        ts: t.secs().to_string(),
        id,
        body,
    })
}

fn signed_headers(s: &Signed) -> Vec<(&'static str, String)> {
    vec![
        ("content-type", "application/json".to_owned()),
        ("webhook-id", s.id.clone()),
        ("webhook-timestamp", s.ts.clone()),
        ("webhook-signature", s.sig.clone()),
    ]
}

// ---- targets ----

#[derive(Clone, Copy, PartialEq, Eq)]
enum Impl {
    Ours,
    Ts,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Runtime {
    Deno,
    Workerd,
}

impl Runtime {
    fn name(self) -> &'static str {
        match self {
            Self::Deno => "Deno",
            Self::Workerd => "workerd",
        }
    }
}

struct Bench {
    tools: Tools,
    dir: PathBuf,
    policy: String,
}

fn capnp_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

impl Bench {
    /// The command that starts `imp` on `rt` listening on `port`, and the route path.
    fn command(&self, imp: Impl, rt: Runtime, port: u16) -> Result<(Command, &'static str)> {
        match rt {
            Runtime::Deno => {
                let (script, path) = match imp {
                    Impl::Ours => (
                        "functions/portcullis-hooks/index.ts",
                        "/portcullis-hooks/custom-access-token",
                    ),
                    Impl::Ts => ("bench/ts-hooks/deno.ts", "/custom-access-token"),
                };
                let mut cmd = self.tools.deno_serve(script, port);
                cmd.env("PORTCULLIS_HOOK_SECRETS", SECRET)
                    .env("PORTCULLIS_HOOKS_POLICY", &self.policy);
                Ok((cmd, path))
            }
            Runtime::Workerd => {
                let (dir, modules, bindings) = match imp {
                    Impl::Ours => (
                        self.dir.join("workerd-ours"),
                        "(name = \"index.js\", esModule = embed \"index.js\"), (name = \"wasm/portcullis_hooks_bg.wasm\", wasm = embed \"wasm/portcullis_hooks_bg.wasm\")",
                        format!(
                            "(name = \"PORTCULLIS_HOOK_SECRETS\", text = {}), (name = \"PORTCULLIS_HOOKS_POLICY\", text = {})",
                            capnp_string(SECRET),
                            capnp_string(&self.policy)
                        ),
                    ),
                    Impl::Ts => (
                        self.dir.join("workerd-ts"),
                        "(name = \"worker.js\", esModule = embed \"worker.js\")",
                        format!(
                            "(name = \"PORTCULLIS_HOOK_SECRETS\", text = {})",
                            capnp_string(SECRET)
                        ),
                    ),
                };
                let config = format!(
                    "using Workerd = import \"/workerd/workerd.capnp\";\n\
                     const config :Workerd.Config = (\n  services = [(name = \"main\", worker = .worker)],\n  \
                     sockets = [(name = \"http\", address = \"127.0.0.1:{port}\", http = (), service = \"main\")],\n);\n\
                     const worker :Workerd.Worker = (\n  modules = [{modules}],\n  compatibilityDate = \"{COMPAT_DATE}\",\n  bindings = [{bindings}],\n);\n"
                );
                let path = dir.join(format!("config-{port}.capnp"));
                std::fs::write(&path, config).map_err(|e| e.to_string())?;
                let mut cmd = self.tools.command("workerd");
                cmd.arg("serve").arg(&path);
                Ok((cmd, "/custom-access-token"))
            }
        }
    }

    fn start(&self, imp: Impl, rt: Runtime, log: &str) -> Result<(Service, u16, &'static str)> {
        let port = free_port()?;
        let (mut cmd, path) = self.command(imp, rt, port)?;
        let log = self.dir.join(log);
        let mut svc = Service::spawn(log.to_string_lossy().as_ref(), &mut cmd, &log)?;
        wait_for_port(
            port,
            Duration::from_secs(120),
            &mut svc.child,
            "bench server",
        )
        .map_err(|e| format!("{e}\n{}", tail(&log, 20)))?;
        Ok((svc, port, path))
    }
}

// ---- (a) verification ----

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn verify_deno(b: &Bench) -> Result<Vec<serde_json::Value>> {
    let out = output(b.tools.deno().args([
        "run",
        "--allow-read",
        "--allow-env",
        "--no-prompt",
        "bench/verify/deno.ts",
    ]))?;
    out.lines()
        .map(|l| serde_json::from_str(l).map_err(|e| format!("{e}: {l}")))
        .collect()
}

fn verify_workerd(b: &Bench) -> Result<Vec<serde_json::Value>> {
    let port = free_port()?;
    let dir = b.dir.join("workerd-verify");
    let config = format!(
        "using Workerd = import \"/workerd/workerd.capnp\";\n\
         const config :Workerd.Config = (\n  services = [(name = \"main\", worker = .worker)],\n  \
         sockets = [(name = \"http\", address = \"127.0.0.1:{port}\", http = (), service = \"main\")],\n);\n\
         const worker :Workerd.Worker = (\n  modules = [(name = \"worker.js\", esModule = embed \"worker.js\"), \
         (name = \"portcullis_bench_verify_bg.wasm\", wasm = embed \"portcullis_bench_verify_bg.wasm\")],\n  \
         compatibilityDate = \"{COMPAT_DATE}\",\n);\n"
    );
    std::fs::write(dir.join("config.capnp"), config).map_err(|e| e.to_string())?;
    let log = b.dir.join("workerd-verify.log");
    let mut svc = Service::spawn(
        "workerd verify",
        b.tools
            .command("workerd")
            .arg("serve")
            .arg(dir.join("config.capnp")),
        &log,
    )?;
    wait_for_port(port, Duration::from_secs(60), &mut svc.child, "workerd")
        .map_err(|e| format!("{e}\n{}", tail(&log, 20)))?;
    let time = |imp: &str, size: usize, n: usize| -> Result<f64> {
        let t = Instant::now();
        let (status, body) = http(
            port,
            "GET",
            &format!("/?impl={imp}&size={size}&n={n}"),
            &[],
            b"",
        )?;
        let elapsed = t.elapsed().as_secs_f64() * 1e6;
        if status != 200 || String::from_utf8_lossy(&body) != n.to_string() {
            return Err(format!(
                "workerd verify {imp} {size}: {status} {}",
                String::from_utf8_lossy(&body)
            ));
        }
        Ok(elapsed)
    };
    let per_op = |imp: &str, size: usize| -> Result<f64> {
        // Size the loop to ~40 ms so the request overhead is small next to it.
        let mut n = 200;
        for _ in 0..3 {
            let t = time(imp, size, n)?;
            n = ((n as f64) * 40_000.0 / t.max(1.0)).clamp(50.0, 200_000.0) as usize;
        }
        let (mut with, mut without) = (Vec::new(), Vec::new());
        for _ in 0..15 {
            with.push(time(imp, size, n)?);
            without.push(time(imp, size, 0)?);
        }
        Ok((median(with) - median(without)) / n as f64)
    };
    let mut rows = Vec::new();
    for size in [256, 2048, 20480] {
        rows.push(serde_json::json!({
            "runtime": "workerd",
            "size": size,
            "ours_us": per_op("ours", size)?,
            "lib_verify_us": per_op("lib", size)?,
            "lib_sign_compare_us": per_op("lib_sign", size)?,
        }));
    }
    Ok(rows)
}

// ---- (b) load ----

struct Load {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

pub(crate) fn parse_ms(s: &str) -> Option<f64> {
    let s = s.trim();
    if let Some(v) = s.strip_suffix("us") {
        return v.parse::<f64>().ok().map(|v| v / 1000.0);
    }
    if let Some(v) = s.strip_suffix("ms") {
        return v.parse().ok();
    }
    s.strip_suffix('s')
        .and_then(|v| v.parse::<f64>().ok())
        .map(|v| v * 1000.0)
}

/// Writes the signed request's body to a file; returns (file, request).
fn signed_body_file(b: &Bench) -> Result<(PathBuf, Signed)> {
    let s = token_request()?;
    let body_file = b.dir.join("body.json");
    std::fs::write(&body_file, &s.body).map_err(|e| e.to_string())?;
    Ok((body_file, s))
}

fn wrk(b: &Bench, port: u16, path: &str, seconds: u32) -> Result<Load> {
    let (body_file, s) = signed_body_file(b)?;
    let script = b.dir.join("post.lua");
    std::fs::write(
        &script,
        "local f = assert(io.open(os.getenv(\"BENCH_BODY\"), \"rb\"))\nwrk.body = f:read(\"*a\")\nf:close()\n\
         wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n\
         wrk.headers[\"webhook-id\"] = os.getenv(\"BENCH_ID\")\nwrk.headers[\"webhook-timestamp\"] = os.getenv(\"BENCH_TS\")\n\
         wrk.headers[\"webhook-signature\"] = os.getenv(\"BENCH_SIG\")\n",
    )
    .map_err(|e| e.to_string())?;
    let out = output(
        Command::new("wrk")
            .args(["-t1", "-c32", &format!("-d{seconds}s"), "--latency", "-s"])
            .arg(&script)
            .arg(format!("http://127.0.0.1:{port}{path}"))
            .env("BENCH_BODY", &body_file)
            .env("BENCH_ID", &s.id)
            .env("BENCH_TS", &s.ts)
            .env("BENCH_SIG", &s.sig),
    )?;
    if let Some(line) = out.lines().find(|l| l.contains("Non-2xx")) {
        return Err(format!("wrk saw failures: {line}"));
    }
    let find = |prefix: &str| {
        out.lines().find_map(|l| {
            l.trim()
                .strip_prefix(prefix)
                .map(str::trim)
                .map(str::to_owned)
        })
    };
    Ok(Load {
        rps: find("Requests/sec:")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("wrk output:\n{out}"))?,
        p50_ms: find("50%").and_then(|v| parse_ms(&v)).ok_or("no p50")?,
        p99_ms: find("99%").and_then(|v| parse_ms(&v)).ok_or("no p99")?,
    })
}

/// Sends the bench request and returns the claims, checking the answer is a 200.
fn claims(port: u16, path: &str) -> Result<serde_json::Value> {
    let s = token_request()?;
    let (status, body) = http(port, "POST", path, &signed_headers(&s), &s.body)?;
    let v: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| format!("{status}: {e}"))?;
    if status != 200 || v.get("claims").is_none() {
        return Err(format!("{path} answered {status}: {v}"));
    }
    Ok(v["claims"].clone())
}

// ---- (b') the handler in-process (Deno) ----

fn inproc(b: &Bench) -> Result<serde_json::Value> {
    let (body_file, s) = signed_body_file(b)?;
    let out = output(
        b.tools
            .deno()
            .args([
                "run",
                "--allow-read",
                "--allow-env",
                "--no-prompt",
                "bench/hooks/inproc.ts",
            ])
            .env("BENCH_BODY", &body_file)
            .env("BENCH_ID", &s.id)
            .env("BENCH_TS", &s.ts)
            .env("BENCH_SIG", &s.sig)
            .env("PORTCULLIS_HOOK_SECRETS", SECRET)
            .env("PORTCULLIS_HOOKS_POLICY", &b.policy),
    )?;
    serde_json::from_str(out.trim()).map_err(|e| format!("{e}: {out}"))
}

// ---- (c) cold start ----

fn cold_start(b: &Bench, imp: Impl, rt: Runtime) -> Result<Vec<f64>> {
    let s = token_request()?;
    let headers = signed_headers(&s);
    let mut samples = Vec::new();
    for i in 0..8 {
        let port = free_port()?;
        let (mut cmd, path) = b.command(imp, rt, port)?;
        let log = b.dir.join("cold.log");
        let start = Instant::now();
        let mut svc = Service::spawn("cold start", &mut cmd, &log)?;
        loop {
            if let Ok((200, _)) = http(port, "POST", path, &headers, &s.body) {
                break;
            }
            if start.elapsed() > Duration::from_secs(60)
                || matches!(svc.child.try_wait(), Ok(Some(_)))
            {
                return Err(format!("cold start never answered 200\n{}", tail(&log, 20)));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        svc.stop();
        if i > 0 {
            samples.push(ms); // the first start also fills caches
        }
    }
    Ok(samples)
}

// ---- report ----

fn machine(tools: &Tools) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let deno = output(tools.deno().arg("--version")).unwrap_or_default();
    let workerd = output(tools.command("workerd").arg("--version")).unwrap_or_default();
    format!(
        "{cpu}, {cores} cores; {}; workerd {}; wrk 4.1.0 (1 thread, 32 connections, loopback)",
        deno.lines().next().unwrap_or("deno ?"),
        workerd.trim().trim_start_matches("workerd ")
    )
}

pub fn command(args: &[String]) -> Result {
    let seconds: u32 = args
        .iter()
        .position(|a| a == "--seconds")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let tools = Tools::ensure()?;
    if which("wrk").is_none() {
        say("installing wrk (apt-get install wrk)");
        run(Command::new("apt-get")
            .args(["install", "-y", "-q", "wrk"])
            .env("DEBIAN_FRONTEND", "noninteractive"))?;
    }
    let sizes: Vec<Size> = wasm::build_all(&tools)?;
    let dir = temp_dir("portcullis-bench")?;
    if !root().join("bench/node_modules/postgres").exists() {
        run(Command::new("npm").current_dir(root().join("bench")).args([
            "install",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ]))?;
    }
    if args.iter().any(|a| a == "--db") {
        let rows = crate::bench_db::run(&tools, &dir, seconds)?;
        let report = format!(
            "Machine: {}. Command: `cargo xtask bench --db`.\n{}",
            machine(&tools),
            crate::bench_db::render(&rows, seconds)
        );
        println!("{report}");
        let out = root().join("bench/results");
        std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
        std::fs::write(out.join("latest-db.md"), &report).map_err(|e| e.to_string())?;
        note("written to bench/results/latest-db.md");
        let _ = std::fs::remove_dir_all(&dir);
        return Ok(());
    }
    prepare(&tools, &dir)?;
    let policy = serde_json::from_str::<serde_json::Value>(
        &std::fs::read_to_string(root().join("bench/hooks-policy.json"))
            .map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?
    .to_string();
    let b = Bench { tools, dir, policy };

    say("(a) verification µs/op");
    let mut verify = verify_deno(&b)?;
    verify.extend(verify_workerd(&b)?);

    say("(b) custom-access-token under load");
    let mut load = Vec::new();
    for rt in [Runtime::Deno, Runtime::Workerd] {
        let (ours, p_ours, path_ours) = b.start(Impl::Ours, rt, "ours.log")?;
        let (ts, p_ts, path_ts) = b.start(Impl::Ts, rt, "ts.log")?;
        let (a, c) = (claims(p_ours, path_ours)?, claims(p_ts, path_ts)?);
        let strip = |mut v: serde_json::Value| {
            for k in ["exp", "iat", "amr"] {
                v.as_object_mut().map(|o| o.remove(k));
            }
            v
        };
        if strip(a.clone()) != strip(c.clone()) {
            return Err(format!(
                "{}: ours and the TypeScript hook disagree:\n{a}\n{c}",
                rt.name()
            ));
        }
        for (port, path) in [(p_ours, path_ours), (p_ts, path_ts)] {
            let _ = wrk(&b, port, path, 3)?; // warm-up
        }
        // Alternate, three rounds each, and keep each side's median round: this VM jitters.
        let mut rounds: Vec<(Impl, Load)> = Vec::new();
        for _ in 0..3 {
            for (imp, port, path) in [(Impl::Ours, p_ours, path_ours), (Impl::Ts, p_ts, path_ts)] {
                let l = wrk(&b, port, path, seconds)?;
                note(format!(
                    "{} {}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
                    rt.name(),
                    if imp == Impl::Ours { "ours" } else { "TS" },
                    l.rps,
                    l.p50_ms,
                    l.p99_ms
                ));
                rounds.push((imp, l));
            }
        }
        for imp in [Impl::Ours, Impl::Ts] {
            let mut mine: Vec<Load> = rounds
                .iter()
                .filter(|(i, _)| *i == imp)
                .map(|(_, l)| Load {
                    rps: l.rps,
                    p50_ms: l.p50_ms,
                    p99_ms: l.p99_ms,
                })
                .collect();
            mine.sort_by(|x, y| x.rps.total_cmp(&y.rps));
            load.push((rt, imp, mine.swap_remove(mine.len() / 2)));
        }
        drop(ours);
        drop(ts);
    }

    say("(b') the handler in-process (Deno)");
    let handler = inproc(&b)?;
    note(handler.to_string());

    say("(c) cold start");
    let mut cold = Vec::new();
    for rt in [Runtime::Deno, Runtime::Workerd] {
        for imp in [Impl::Ours, Impl::Ts] {
            let s = cold_start(&b, imp, rt)?;
            note(format!(
                "{} {}: median {:.0} ms",
                rt.name(),
                if imp == Impl::Ours { "ours" } else { "TS" },
                median(s.clone())
            ));
            cold.push((rt, imp, s));
        }
    }

    let db_rows = crate::bench_db::run(&b.tools, &b.dir, seconds)?;
    let mut report = render(
        &machine(&b.tools),
        seconds,
        &verify,
        &load,
        &handler,
        &cold,
        &sizes,
    );
    report.push_str(&crate::bench_db::render(&db_rows, seconds));
    println!("{report}");
    let out = root().join("bench/results");
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    std::fs::write(out.join("latest.md"), &report).map_err(|e| e.to_string())?;
    note("written to bench/results/latest.md");
    let _ = std::fs::remove_dir_all(&b.dir);
    Ok(())
}

/// Builds the bench module, installs the comparison's npm packages, bundles the Workers.
fn prepare(tools: &Tools, dir: &Path) -> Result {
    say("building the verification bench module and the TypeScript comparisons");
    run(Command::new("cargo").current_dir(root()).args([
        "build",
        "--quiet",
        "--release",
        "--target",
        "wasm32-unknown-unknown",
        "-p",
        "portcullis-bench-verify",
    ]))?;
    let out = root().join("target/bench/verify");
    let bg = wasm::bindgen_web(
        tools,
        &root().join("target/wasm32-unknown-unknown/release/portcullis_bench_verify.wasm"),
        &out,
        "portcullis_bench_verify",
    )?;
    if !root().join("bench/node_modules/standardwebhooks").exists() {
        run(Command::new("npm").current_dir(root().join("bench")).args([
            "install",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ]))?;
    }
    for (sub, entry, outfile, external) in [
        ("workerd-ts", "bench/ts-hooks/worker.ts", "worker.js", None),
        (
            "workerd-verify",
            "bench/verify/worker.ts",
            "worker.js",
            Some("./portcullis_bench_verify_bg.wasm"),
        ),
    ] {
        let d = dir.join(sub);
        std::fs::create_dir_all(&d).map_err(|e| e.to_string())?;
        let mut cmd = tools.command("esbuild");
        cmd.arg(entry).args([
            "--bundle",
            "--format=esm",
            "--platform=neutral",
            "--main-fields=module,main",
            "--log-level=warning",
        ]);
        cmd.arg(format!("--outfile={}", d.join(outfile).display()));
        if let Some(ext) = external {
            cmd.arg(format!("--external:{ext}"));
        }
        run(&mut cmd)?;
    }
    std::fs::copy(
        &bg,
        dir.join("workerd-verify/portcullis_bench_verify_bg.wasm"),
    )
    .map_err(|e| e.to_string())?;
    let ours = dir.join("workerd-ours");
    std::fs::create_dir_all(ours.join("wasm")).map_err(|e| e.to_string())?;
    let hooks = wasm::function("hooks")?;
    for f in ["index.js", "wasm/portcullis_hooks_bg.wasm"] {
        std::fs::copy(hooks.worker_dir().join(f), ours.join(f)).map_err(|e| format!("{f}: {e}"))?;
    }
    Ok(())
}

fn render(
    machine: &str,
    seconds: u32,
    verify: &[serde_json::Value],
    load: &[(Runtime, Impl, Load)],
    handler: &serde_json::Value,
    cold: &[(Runtime, Impl, Vec<f64>)],
    sizes: &[Size],
) -> String {
    let mut r = String::new();
    let _ = writeln!(
        r,
        "Machine: {machine}. Command: `cargo xtask bench` (load: three alternating {seconds} s rounds per implementation after a 3 s warm-up, median round).\n"
    );
    let _ = writeln!(
        r,
        "(a) Standard Webhooks verification, µs per request (lower is better)\n"
    );
    let _ = writeln!(
        r,
        "| runtime | body | ours (Wasm) | standardwebhooks `verify()` | ratio | library sign+compare only | ratio |"
    );
    let _ = writeln!(r, "|---|---|---|---|---|---|---|");
    for v in verify {
        let g = |k: &str| {
            v.get(k)
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(f64::NAN)
        };
        let (ours, lib, sign) = (g("ours_us"), g("lib_verify_us"), g("lib_sign_compare_us"));
        let _ = writeln!(
            r,
            "| {} | {} B | {ours:.2} | {lib:.2} | {:.1}× | {sign:.2} | {:.1}× |",
            v.get("runtime")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("?"),
            g("size"),
            lib / ours,
            sign / ours
        );
    }
    let _ = writeln!(
        r,
        "\n(b) custom-access-token hook under load (same policy, identical claims)\n"
    );
    let _ = writeln!(r, "| runtime | implementation | req/s | p50 ms | p99 ms |");
    let _ = writeln!(r, "|---|---|---|---|---|");
    for (rt, imp, l) in load {
        let _ = writeln!(
            r,
            "| {} | {} | {:.0} | {:.2} | {:.2} |",
            rt.name(),
            if *imp == Impl::Ours {
                "Portcullis (Rust/Wasm)"
            } else {
                "TypeScript + standardwebhooks"
            },
            l.rps,
            l.p50_ms,
            l.p99_ms
        );
    }
    for rt in [Runtime::Deno, Runtime::Workerd] {
        let get = |imp| {
            load.iter()
                .find(|(r2, i, _)| *r2 == rt && *i == imp)
                .map(|(_, _, l)| l)
        };
        if let (Some(o), Some(t)) = (get(Impl::Ours), get(Impl::Ts)) {
            let _ = writeln!(
                r,
                "\n{}: throughput {:.2}× the TypeScript hook; p99 {:.2}× its p99.",
                rt.name(),
                o.rps / t.rps,
                o.p99_ms / t.p99_ms
            );
        }
    }
    let h = |imp: &str, k: &str| {
        handler
            .get(imp)
            .and_then(|v| v.get(k))
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(f64::NAN)
    };
    let _ = writeln!(
        r,
        "\n(b') the same handler without HTTP, in Deno, µs per request (median / min of 21 alternating rounds)\n"
    );
    let _ = writeln!(r, "| implementation | median | min |");
    let _ = writeln!(r, "|---|---|---|");
    let _ = writeln!(
        r,
        "| Portcullis (Rust/Wasm) | {:.1} | {:.1} |",
        h("ours", "median"),
        h("ours", "min")
    );
    let _ = writeln!(
        r,
        "| TypeScript + standardwebhooks | {:.1} | {:.1} |",
        h("ts", "median"),
        h("ts", "min")
    );
    let _ = writeln!(
        r,
        "\nIn process, the TypeScript handler takes {:.2}× our time (median).",
        h("ts", "median") / h("ours", "median")
    );
    let _ = writeln!(
        r,
        "\n(c) cold start: process start to first 200, ms (7 starts after a cache-filling one)\n"
    );
    let _ = writeln!(r, "| runtime | implementation | median | min | max |");
    let _ = writeln!(r, "|---|---|---|---|---|");
    for (rt, imp, s) in cold {
        let min = s.iter().copied().fold(f64::INFINITY, f64::min);
        let max = s.iter().copied().fold(0.0, f64::max);
        let _ = writeln!(
            r,
            "| {} | {} | {:.0} | {min:.0} | {max:.0} |",
            rt.name(),
            if *imp == Impl::Ours {
                "Portcullis"
            } else {
                "TypeScript"
            },
            median(s.clone())
        );
    }
    let _ = writeln!(r, "\n(d) Wasm sizes after wasm-opt\n");
    for s in sizes {
        let _ = writeln!(r, "- {s}");
    }
    r
}
