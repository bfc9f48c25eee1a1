//! The pat exchange end to end on PostgreSQL (`cargo xtask bench --pat`): `POST /token` under
//! load (wrk -c16, loopback), ours against the TypeScript exchange (bench/ts-pat: jose +
//! postgres.js, the same statement and checks), on Deno (each with a pool of 4 connections) and
//! on workerd (bare workerd, each Worker's Hyperdrive binding pointed at pgbouncer in
//! transaction mode, a connection per request, as Hyperdrive pools in production).
//! 2,000 PATs of one user are exchanged in turn (each exchange locks and updates its token's
//! row: usage and the rate-limit window), every answer checked to be the same before the run.

use std::path::Path;

use portcullis_core::{RandomError, SecureRandom};
use portcullis_pat::token::{Hasher, Pat, Prefix};

use crate::bench::Bench;
use crate::harness::{self, BareWorker};
use crate::pg::TestPostgres;
use crate::util::{Result, Service, free_port, note, root, say, tail, wait_for_port};
use crate::wasm;

const TOKENS: usize = 2000;
const USER: &str = "8c7e6b2a-0000-4000-8000-00000000be0c";
const FORM_LUA: &str = r#"
local reqs, i = {}, 0
function init(args)
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do
    reqs[#reqs + 1] = wrk.format("POST", os.getenv("BENCH_PATH"), {
      ["Content-Type"] = "application/x-www-form-urlencoded" }, line)
  end
end
function request()
  i = i % #reqs + 1
  return reqs[i]
end
"#;

struct Urandom;
impl SecureRandom for Urandom {
    fn fill(&self, dest: &mut [u8]) -> std::result::Result<(), RandomError> {
        use std::io::Read;
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(dest))
            .map_err(|_| RandomError)
    }
}

/// The exchange's answer without what differs per call.
fn comparable(body: &[u8]) -> Result<serde_json::Value> {
    let mut v: serde_json::Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let jwt = v["access_token"]
        .as_str()
        .ok_or("no access_token")?
        .to_owned();
    let payload = jwt
        .split('.')
        .nth(1)
        .and_then(|p| portcullis_core::encoding::base64url_decode(p).ok())
        .ok_or("not a JWT")?;
    let mut claims: serde_json::Value =
        serde_json::from_slice(&payload).map_err(|e| e.to_string())?;
    for k in ["iat", "exp", "amr"] {
        claims.as_object_mut().map(|o| o.remove(k));
    }
    v["access_token"] = claims;
    Ok(v)
}

pub fn run(b: &Bench, seconds: u32, dir: &Path) -> Result<String> {
    say("pat exchange end to end on PostgreSQL: ours and the TypeScript one, Deno and workerd");
    let pg = TestPostgres::start()?;
    let fn_url = crate::db::prepare_function_role(&pg)?;
    let prefix = Prefix::new("bench_pat").map_err(|e| e.to_string())?;
    let hasher = Hasher::new(None);
    let mut values = Vec::new();
    let mut bodies = String::new();
    for i in 0..TOKENS {
        let pat = Pat::generate(&prefix, &Urandom).map_err(|e| e.to_string())?;
        values.push(format!(
            "('{USER}', 'bench {i}', decode('{}', 'hex'), 'hint', '{{data:read,data:write}}', now() + interval '30 days')",
            hasher.hash(pat.expose())
        ));
        bodies.push_str(&format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token={}&subject_token_type=urn%3Aportcullis%3Aparams%3Aoauth%3Atoken-type%3Apat&scope=data%3Aread\n",
            pat.expose()
        ));
    }
    let mut admin = pg.connect()?;
    admin.execute(&format!(
        "insert into auth.users (id, email, raw_app_meta_data, raw_user_meta_data) values ('{USER}', 'bench@example.com', '{{\"provider\":\"email\",\"providers\":[\"email\"]}}', '{{\"name\":\"Ada\"}}');
         insert into portcullis.pat_tokens (user_id, name, token_hash, hint, scopes, expires_at) values {};",
        values.join(",")
    ))?;
    let requests = dir.join("pat-requests.txt");
    std::fs::write(&requests, &bodies).map_err(|e| e.to_string())?;
    let key = crate::pat::cli_signing_key(&b.tools)?;
    let project = "https://abcdefghijklmnop.supabase.co";
    let policy = r#"{"rate_limit":{"requests":1000000,"window_seconds":60}}"#;
    let env: Vec<(&str, String)> = vec![
        ("SUPABASE_URL", project.into()),
        ("SUPABASE_JWKS", r#"{"keys":[]}"#.into()),
        ("PORTCULLIS_JWT_SECRET", crate::pat::TEST_JWT_SECRET.into()),
        ("PORTCULLIS_PAT_SIGNING_KEY", key.clone()),
        ("PORTCULLIS_PAT_PREFIX", "bench_pat".into()),
        ("PORTCULLIS_PAT_POLICY", policy.into()),
        ("PORTCULLIS_DB_URL", fn_url.clone()),
    ];
    let first = bodies.lines().next().unwrap_or_default();
    let mut table = format!(
        "\n### pat exchange end to end (PostgreSQL 15, wrk -c16, three alternating {seconds} s rounds after a 3 s warm-up, median round)\n\n| runtime | | req/s | p50 ms | p99 ms |\n|---|---|---|---|---|\n"
    );
    let mut summary = String::new();

    say("pat exchange on Deno: ours and the TypeScript one, each with a pool of 4");
    let ours = harness::deno(&b.tools, wasm::function("pat")?, &env, dir)?;
    let ts = ts_on_deno(b, &env, dir)?;
    compare(
        "Deno",
        (ours, ts),
        first,
        (dir, &requests, seconds),
        (&mut table, &mut summary),
    )?;

    say(
        "pat exchange on workerd: both Workers through pgbouncer (Hyperdrive's pooling), a connection per request",
    );
    let (_pooler, pooled) = crate::bench_db::pooled(&pg, &fn_url, dir)?;
    let text: Vec<(&str, &str)> = env
        .iter()
        .filter(|(k, _)| *k != "PORTCULLIS_DB_URL")
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    let ours_dir = dir.join("workerd-pat-ours");
    std::fs::create_dir_all(ours_dir.join("wasm")).map_err(|e| e.to_string())?;
    let pat = wasm::function("pat")?;
    for f in ["index.js", "wasm/portcullis_pat_bg.wasm"] {
        std::fs::copy(pat.worker_dir().join(f), ours_dir.join(f))
            .map_err(|e| format!("{f}: {e}"))?;
    }
    let ts_dir = dir.join("workerd-ts-pat");
    std::fs::create_dir_all(&ts_dir).map_err(|e| e.to_string())?;
    wasm::bundle_worker(
        &b.tools,
        &root().join("bench/ts-pat/worker.ts"),
        &ts_dir.join("worker.js"),
        &[],
    )?;
    let ours = harness::workerd_bare(
        &b.tools,
        &BareWorker {
            name: "pat-ours",
            dir: &ours_dir,
            modules: &[
                ("index.js", "esModule"),
                ("wasm/portcullis_pat_bg.wasm", "wasm"),
            ],
            text: &text,
            hyperdrive: Some(&pooled),
        },
        dir,
    )?;
    let ts = harness::workerd_bare(
        &b.tools,
        &BareWorker {
            name: "pat-ts",
            dir: &ts_dir,
            modules: &[("worker.js", "esModule")],
            text: &text,
            hyperdrive: Some(&pooled),
        },
        dir,
    )?;
    compare(
        "workerd",
        (ours, ts),
        first,
        (dir, &requests, seconds),
        (&mut table, &mut summary),
    )?;
    let used = admin.column("select sum(use_count)::text from portcullis.pat_tokens")?;
    note(format!("exchanges recorded: {}", used.join("")));
    table.push('\n');
    table.push_str(&summary);
    Ok(table)
}

/// The TypeScript exchange served on Deno (bench/ts-pat/deno.ts).
fn ts_on_deno(b: &Bench, env: &[(&str, String)], dir: &Path) -> Result<harness::Served> {
    let port = free_port()?;
    let log = dir.join("ts-pat.log");
    // `--config` before the script (after it, Deno would pass it to the script).
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
    .arg(root().join("bench/ts-pat/deno.ts"))
    .env("PORTCULLIS_PORT", port.to_string())
    .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    let mut service = Service::spawn("TypeScript pat on Deno", &mut cmd, &log)?;
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

/// Checks that both exchanges answer `first` the same, then runs the alternating wrk rounds
/// and adds the median rounds to `table` and the ratios to `summary`.
/// Both servers are stopped when it returns.
fn compare(
    runtime: &str,
    (ours, ts): (harness::Served, harness::Served),
    first: &str,
    (dir, requests, seconds): (&Path, &Path, u32),
    (table, summary): (&mut String, &mut String),
) -> Result {
    let ours_url = &format!("{}/token", ours.base_url);
    let ts_url = &format!("{}/token", ts.base_url);
    let post = |url: &str| -> Result<Vec<u8>> {
        let (origin_port, path) = url
            .strip_prefix("http://127.0.0.1:")
            .and_then(|r| r.split_once('/'))
            .ok_or("bad url")?;
        let (status, body) = crate::bench::http(
            origin_port.parse().map_err(|_| "bad port")?,
            "POST",
            &format!("/{path}"),
            &[(
                "content-type",
                "application/x-www-form-urlencoded".to_owned(),
            )],
            first.as_bytes(),
        )?;
        if status != 200 {
            return Err(format!(
                "{url}: {status} {}",
                String::from_utf8_lossy(&body)
            ));
        }
        Ok(body)
    };
    let (a, c) = (comparable(&post(ours_url)?)?, comparable(&post(ts_url)?)?);
    if a != c {
        return Err(format!(
            "{runtime}: ours and the TypeScript exchange disagree:\n{a}\n{c}"
        ));
    }
    note(format!(
        "{runtime}: ours and the TypeScript exchange answer the same (claims compared without iat/exp/amr)"
    ));
    const TS: &str = "TypeScript (jose + postgres.js)";
    let medians = crate::bench::median_rounds(
        dir,
        FORM_LUA,
        &[("ours", ours_url), (TS, ts_url)],
        requests,
        16,
        seconds,
        &format!("{runtime} exchange"),
    )?;
    for (who, m) in [("ours", &medians[0]), (TS, &medians[1])] {
        table.push_str(&format!(
            "| {runtime} | {who} | {:.0} | {:.2} | {:.2} |\n",
            m.rps, m.p50_ms, m.p99_ms
        ));
    }
    if let [ours, ts] = &medians[..] {
        summary.push_str(&format!(
            "{runtime}: throughput ours / TypeScript {:.2}×; p99 ours / TypeScript {:.2}×.\n",
            ours.rps / ts.rps,
            ours.p99_ms / ts.p99_ms
        ));
    }
    Ok(())
}
