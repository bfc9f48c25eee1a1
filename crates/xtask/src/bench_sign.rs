//! The sign function's benchmarks (`cargo xtask bench --sign`):
//! - in process (bench/sign/cases.ts): presigning, ours through `POST /sign` against
//!   `aws4fetch` and `@aws-sdk/s3-request-presigner`, and the whole request against the
//!   TypeScript function (bench/ts-sign/sign.ts: jose + aws4fetch), timed in process on Deno
//!   (bench/sign/inproc.ts) and from outside on workerd (bench/sign/worker.ts);
//! - end to end under load: `POST /sign` with a batch of 1 and of 50 (wrk -c16, loopback), ours
//!   against the TypeScript function, on Deno (the real shim) and workerd (the bare binary on
//!   the real Workers bundle); answers compared before each run.
//!
//! Configuration and policy come from bench/sign-bench.json (the TypeScript side's rule said as
//! our policy).

use std::fmt::Write as _;
use std::path::Path;

use crate::bench::{Bench, form_encode, http, port_of, workerd_per_op};
use crate::harness::{self, BareWorker};
use crate::util::{Result, Service, free_port, note, output, root, say, tail, wait_for_port};
use crate::wasm;

const LUA: &str = r#"
local body = nil
function init(args)
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do body = line end
end
function request()
  return wrk.format("POST", os.getenv("BENCH_PATH"), {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. BENCH_TOKEN }, body)
end
"#;

const USER: &str = "8c7e6b2a-0000-4000-8000-000000005197";

fn settings() -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(root().join("bench/sign-bench.json"))
        .map_err(|e| format!("bench/sign-bench.json: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("bench/sign-bench.json: {e}"))
}

/// The report's sections.
pub fn run(b: &Bench, seconds: u32) -> Result<String> {
    let mut report = inproc(b)?;
    report.push_str(&load(b, seconds)?);
    Ok(report)
}

fn inproc(b: &Bench) -> Result<String> {
    say(
        "sign in process (Deno): presigning and POST /sign against aws4fetch, @aws-sdk and jose + aws4fetch",
    );
    let out = output(b.tools.deno().current_dir(root()).args([
        "run",
        "--allow-read",
        "--allow-env",
        "--allow-sys",
        "--no-prompt",
        "--config",
        "deno.json",
        "bench/sign/inproc.ts",
    ]))?;
    let deno: serde_json::Value =
        serde_json::from_str(out.trim()).map_err(|e| format!("{e}: {out}"))?;
    say("sign in process (workerd): the same cases");
    let workerd = inproc_workerd(b)?;
    let mut t = String::from(
        "\n### sign in process, µs per operation (median / min; ×N rows: N URLs per operation)\n\n\
         | case | Deno ours | Deno peer | ratio | workerd ours | workerd peer | ratio |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for (name, r) in deno.as_object().into_iter().flatten() {
        let _ = write!(t, "| {name} |");
        for v in [r, &workerd[name]] {
            let get = |who: &str, k: &str| v[who][k].as_f64().unwrap_or(f64::NAN);
            let _ = write!(
                t,
                " {:.1} / {:.1} | {:.1} / {:.1} | {:.2}× |",
                get("ours", "median"),
                get("ours", "min"),
                get("ts", "median"),
                get("ts", "min"),
                get("ts", "median") / get("ours", "median")
            );
        }
        t.push('\n');
    }
    Ok(t)
}

/// bench/sign/worker.ts on bare workerd: `{case: {ours: {median, min}, ts: {median, min}}}`.
fn inproc_workerd(b: &Bench) -> Result<serde_json::Value> {
    let dir = b.dir.join("workerd-sign-inproc");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    wasm::bundle_worker(
        &b.tools,
        &root().join("bench/sign/worker.ts"),
        &dir.join("worker.js"),
        &["./portcullis_sign_bg.wasm"],
    )?;
    let sign = wasm::function("sign")?;
    std::fs::copy(sign.wasm(), dir.join("portcullis_sign_bg.wasm")).map_err(|e| e.to_string())?;
    let served = harness::workerd_bare(
        &b.tools,
        &BareWorker {
            name: "sign-inproc",
            dir: &dir,
            modules: &[
                ("worker.js", "esModule"),
                ("portcullis_sign_bg.wasm", "wasm"),
            ],
            text: &[],
            hyperdrive: None,
        },
        &b.dir,
    )?;
    let port = port_of(&served)?;
    let (status, body) = http(port, "GET", "/cases", &[], b"")?;
    let body = String::from_utf8_lossy(&body).into_owned();
    if status != 200 {
        return Err(format!(
            "bench/sign/worker.ts: {status} {body}\n{}",
            tail(&served.log, 20)
        ));
    }
    let mut out = serde_json::Map::new();
    for name in body.lines() {
        let mut r = serde_json::Map::new();
        for who in ["ours", "ts"] {
            let q = format!("/?case={}&impl={who}", form_encode(name));
            let (median, min) = workerd_per_op(port, &q)?;
            r.insert(
                who.into(),
                serde_json::json!({ "median": median, "min": min }),
            );
        }
        note(format!(
            "workerd {name}: ours {:.1} µs, peer {:.1} µs",
            r["ours"]["median"].as_f64().unwrap_or(f64::NAN),
            r["ts"]["median"].as_f64().unwrap_or(f64::NAN)
        ));
        out.insert(name.to_owned(), serde_json::Value::Object(r));
    }
    Ok(serde_json::Value::Object(out))
}

/// `{"bucket", "objects": [n downloads]}`.
fn batch(bucket: &str, n: usize) -> String {
    let objects: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({"key": format!("users/{USER}/photos/IMG_{}.jpg", 1000 + i), "method": "GET"})
        })
        .collect();
    serde_json::json!({"bucket": bucket, "objects": objects}).to_string()
}

/// One answer's URLs, each as `(key, method, expires_at, path, query parameters sorted)`.
type Answer = Vec<(String, String, i64, String, Vec<(String, String)>)>;

fn answer_of(port: u16, path: &str, token: &str, body: &str) -> Result<Answer> {
    let (status, got) = http(
        port,
        "POST",
        path,
        &[
            ("content-type", "application/json".to_owned()),
            ("authorization", format!("Bearer {token}")),
        ],
        body.as_bytes(),
    )?;
    if status != 200 {
        return Err(format!(
            "{path}: {status} {}",
            String::from_utf8_lossy(&got)
        ));
    }
    let v: serde_json::Value = serde_json::from_slice(&got).map_err(|e| e.to_string())?;
    let mut out = Answer::new();
    for u in v["urls"].as_array().ok_or("no urls")? {
        let url = u["url"].as_str().ok_or("no url")?;
        let (base, query) = url.split_once('?').ok_or("no query")?;
        let mut params: Vec<(String, String)> = query
            .split('&')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        params.sort();
        out.push((
            u["key"].as_str().unwrap_or_default().to_owned(),
            u["method"].as_str().unwrap_or_default().to_owned(),
            u["expires_at"].as_i64().unwrap_or_default(),
            base.to_owned(),
            params,
        ));
    }
    Ok(out)
}

/// Both functions sign the same URLs: the same objects, paths and parameters, and, signed in
/// the same second, the same signatures (SigV4 is deterministic).
fn cross_check(ours: (u16, &str), ts: (u16, &str), token: &str, body: &str) -> Result {
    for _ in 0..10 {
        let a = answer_of(ours.0, ours.1, token, body)?;
        let c = answer_of(ts.0, ts.1, token, body)?;
        if a.len() != c.len() {
            return Err(format!("{} URLs against {}", a.len(), c.len()));
        }
        let same_second = a.iter().zip(&c).all(|(x, y)| {
            let date = |p: &[(String, String)]| {
                p.iter()
                    .find(|(k, _)| k == "X-Amz-Date")
                    .map(|(_, v)| v.clone())
            };
            date(&x.4) == date(&y.4)
        });
        if !same_second {
            continue;
        }
        if a != c {
            return Err(format!(
                "ours and the TypeScript function disagree:\n{:?}\n{:?}",
                a.first(),
                c.first()
            ));
        }
        return Ok(());
    }
    Err("never signed in the same second".into())
}

fn load(b: &Bench, seconds: u32) -> Result<String> {
    let s = settings()?;
    let config = &s["config"];
    let text = |k: &str| config[k].as_str().unwrap_or_default().to_owned();
    let token = crate::pat::user_jwt_with(
        &text("jwtSecret"),
        &format!("{}/auth/v1", text("supabaseUrl")),
        USER,
        86_400,
    )?;
    let env: Vec<(&str, String)> = vec![
        ("SUPABASE_URL", text("supabaseUrl")),
        ("PORTCULLIS_JWT_SECRET", text("jwtSecret")),
        ("PORTCULLIS_SIGN_POLICY", s["policy"].to_string()),
        ("BENCH_S3_KEY", text("accessKeyId")),
        ("BENCH_S3_SECRET", text("secretAccessKey")),
    ];
    let ts_env = [("BENCH_SIGN_CONFIG", config.to_string())];
    let dir = &b.dir;
    let f = wasm::function("sign")?;

    say("sign end to end on Deno: ours (the real shim) and the TypeScript function");
    let ours_deno = harness::deno(&b.tools, f, &env, dir)?;
    let ts_deno = ts_on_deno(b, &ts_env, dir)?;
    say("sign end to end on workerd: both as bare Workers");
    let ours_dir = dir.join("workerd-sign-ours");
    std::fs::create_dir_all(ours_dir.join("wasm")).map_err(|e| e.to_string())?;
    for file in ["index.js", "wasm/portcullis_sign_bg.wasm"] {
        std::fs::copy(f.worker_dir().join(file), ours_dir.join(file))
            .map_err(|e| format!("{file}: {e}"))?;
    }
    let ts_dir = dir.join("workerd-ts-sign");
    std::fs::create_dir_all(&ts_dir).map_err(|e| e.to_string())?;
    wasm::bundle_worker(
        &b.tools,
        &root().join("bench/ts-sign/worker.ts"),
        &ts_dir.join("worker.js"),
        &[],
    )?;
    let text_env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let ours_workerd = harness::workerd_bare(
        &b.tools,
        &BareWorker {
            name: "sign-ours",
            dir: &ours_dir,
            modules: &[
                ("index.js", "esModule"),
                ("wasm/portcullis_sign_bg.wasm", "wasm"),
            ],
            text: &text_env,
            hyperdrive: None,
        },
        dir,
    )?;
    let ts_text: Vec<(&str, &str)> = ts_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let ts_workerd = harness::workerd_bare(
        &b.tools,
        &BareWorker {
            name: "sign-ts",
            dir: &ts_dir,
            modules: &[("worker.js", "esModule")],
            text: &ts_text,
            hyperdrive: None,
        },
        dir,
    )?;

    let bucket = text("bucket");
    let mut table = format!(
        "\n### sign end to end: POST /sign under load (wrk -c16, three alternating {seconds} s rounds after a 3 s warm-up, median round)\n\n\
         | runtime | batch | ours req/s | TypeScript req/s | ratio | ours p99 ms | TypeScript p99 ms |\n|---|---|---|---|---|---|---|\n"
    );
    for (runtime, ours, ts, ours_path) in [
        ("Deno", &ours_deno, &ts_deno, "/portcullis-sign/sign"),
        ("workerd", &ours_workerd, &ts_workerd, "/sign"),
    ] {
        let (op, tp) = (port_of(ours)?, port_of(ts)?);
        for n in [1, 50] {
            let body = batch(&bucket, n);
            cross_check((op, ours_path), (tp, "/sign"), &token, &body)?;
            note(format!(
                "{runtime}, batch of {n}: ours and the TypeScript function sign the same URLs (signatures compared)"
            ));
            let requests = dir.join(format!("sign-{n}.txt"));
            std::fs::write(&requests, format!("{body}\n")).map_err(|e| e.to_string())?;
            // The bench user's token (made here, for this run) written into the script.
            let lua = format!("BENCH_TOKEN = \"{token}\"\n{LUA}");
            let m = crate::bench::median_rounds(
                dir,
                &lua,
                &[
                    ("ours", &format!("http://127.0.0.1:{op}{ours_path}")),
                    ("TypeScript", &format!("http://127.0.0.1:{tp}/sign")),
                ],
                &requests,
                16,
                seconds,
                &format!("{runtime} POST /sign batch of {n}"),
            )?;
            if let [o, t] = &m[..] {
                let _ = writeln!(
                    table,
                    "| {runtime} | {n} | {:.0} | {:.0} | {:.2}× | {:.2} | {:.2} |",
                    o.rps,
                    t.rps,
                    o.rps / t.rps,
                    o.p99_ms,
                    t.p99_ms
                );
            }
        }
    }
    Ok(table)
}

/// The TypeScript function served on Deno (bench/ts-sign/deno.ts).
fn ts_on_deno(b: &Bench, env: &[(&str, String)], dir: &Path) -> Result<harness::Served> {
    let port = free_port()?;
    let log = dir.join("ts-sign.log");
    let mut cmd = b.tools.deno();
    cmd.args([
        "run",
        "--allow-net",
        "--allow-env",
        "--allow-read",
        "--no-prompt",
        "--config",
    ])
    .arg(root().join("deno.json"))
    .arg(root().join("bench/ts-sign/deno.ts"))
    .env("PORTCULLIS_PORT", port.to_string())
    .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    let mut service = Service::spawn("TypeScript sign on Deno", &mut cmd, &log)?;
    wait_for_port(
        port,
        std::time::Duration::from_secs(60),
        &mut service.child,
        &service.name,
    )
    .map_err(|e| format!("{e}\n{}", tail(&log, 20)))?;
    Ok(harness::Served {
        service,
        base_url: format!("http://127.0.0.1:{port}"),
        log,
    })
}
