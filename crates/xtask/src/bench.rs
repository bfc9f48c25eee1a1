//! `cargo xtask bench`: the hooks function against what a team would write instead, on both
//! runtimes, in one run on one machine. Results go to stdout and bench/results/latest.md.
//!
//! The comparison is one TypeScript implementation of all seven hooks (bench/ts-hooks/all.ts:
//! `standardwebhooks` + postgres.js, the policy in bench/hooks-policy.json), served like ours:
//! `deno run` of a `Deno.serve` script, and a Worker on the bare `workerd` binary (a generated
//! config, so neither wrangler's Node proxy nor its bundler is measured).
//!
//! (a) Standard Webhooks verification µs/op at 256 B / 2 KB / 20 KB: our Wasm verifier vs the
//!     `standardwebhooks` npm library (Deno in-process; workerd timed from the client).
//! (b) custom-access-token and before-user-created under load (wrk, loopback): req/s, p50,
//!     p99, after checking both answer the same.
//! (b') every hook's handler in process on Deno (bench/hooks/inproc.ts), stub database.
//! (c) cold start: process start → first 200, median of several starts.
//! (d) Wasm sizes.
//! (e) the database-backed hooks end to end on PostgreSQL: see `bench_db`.
//!     `cargo xtask bench --db` runs only this part.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use portcullis_core::UnixTime;
use portcullis_webhooks::SecretSet;

use crate::harness::{self, BareWorker, Served};
use crate::tools::Tools;
use crate::util::{
    Result, Service, free_port, note, output, root, run, say, tail, temp_dir, wait_for_port, which,
};
use crate::wasm::{self, Size};

pub(crate) const SECRET: &str = "v1,whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

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
    http_to(port, "127.0.0.1", method, path, headers, body)
}

/// [`http`] with the `host` header given (signed requests name the port too).
pub(crate) fn http_to(
    port: u16,
    host: &str,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> Result<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\ncontent-length: {}\r\n",
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

/// A request signed with the bench secret.
pub(crate) struct Signed {
    pub id: String,
    pub ts: String,
    pub sig: String,
    pub body: Vec<u8>,
}

impl Signed {
    pub(crate) fn new(id: String, body: &serde_json::Value) -> Result<Self> {
        let t = now();
        let body = serde_json::to_vec(body).map_err(|e| e.to_string())?;
        let secrets = SecretSet::parse(SECRET).map_err(|e| e.to_string())?;
        Ok(Self {
            sig: secrets.sign(&id, t, &body),
            ts: t.secs().to_string(),
            id,
            body,
        })
    }

    pub(crate) fn headers(&self) -> Vec<(&'static str, String)> {
        vec![
            ("content-type", "application/json".to_owned()),
            ("webhook-id", self.id.clone()),
            ("webhook-timestamp", self.ts.clone()),
            ("webhook-signature", self.sig.clone()),
        ]
    }
}

/// The hooks measured without a database.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hook {
    AccessToken,
    BeforeUserCreated,
}

impl Hook {
    fn path(self) -> &'static str {
        match self {
            Self::AccessToken => "/custom-access-token",
            Self::BeforeUserCreated => "/before-user-created",
        }
    }

    /// A realistic payload (custom-access-token ~1.3 KB, before-user-created ~0.6 KB), signed now.
    fn request(self) -> Result<Signed> {
        let t = now().secs();
        let user = "8c7e6b2a-0000-4000-8000-000000000001";
        let body = match self {
            Self::AccessToken => serde_json::json!({
                "metadata": {"uuid": "6f1e0000-0000-4000-8000-00000000000a", "time": "2026-11-23T12:00:00.000000+00:00", "name": "customize-access-token", "ip_address": "192.0.2.1"},
                "user_id": user,
                "authentication_method": "password",
                "claims": {
                    "iss": "https://project-ref.supabase.co/auth/v1", "aud": "authenticated",
                    "exp": t + 3600, "iat": t, "sub": user,
                    "email": "ada.lovelace@example.com", "phone": "", "role": "authenticated", "aal": "aal1",
                    "amr": [{"method": "password", "timestamp": t}],
                    "session_id": "2f1c0000-0000-4000-8000-000000000002", "is_anonymous": false,
                    "app_metadata": {"provider": "email", "providers": ["email", "google"], "role": "admin", "org_id": "org_42", "plan": "team"},
                    "user_metadata": {"name": "Ada Lovelace", "avatar_url": "https://example.com/a.png", "locale": "en-GB", "email_verified": true,
                                      "bio": "Mathematician and writer, chiefly known for her work on Charles Babbage's proposed mechanical general-purpose computer, the Analytical Engine."}
                }
            }),
            // An address that passes: every suffix of its domain is looked up.
            Self::BeforeUserCreated => serde_json::json!({
                "metadata": {"uuid": "6f1e0000-0000-4000-8000-00000000000b", "time": "2026-11-23T12:00:00.000000+00:00", "name": "before-user-created", "ip_address": "192.0.2.1"},
                "user": {
                    "id": user, "aud": "authenticated", "role": "", "email": "ada.lovelace@mail.example.org", "phone": "",
                    "app_metadata": {"provider": "email", "providers": ["email"]},
                    "user_metadata": {"full_name": "Ada Lovelace", "locale": "en"},
                    "identities": [], "created_at": "2026-11-23T12:00:00Z", "updated_at": "2026-11-23T12:00:00Z", "is_anonymous": false
                }
            }),
        };
        Signed::new("3a1bd4a8-5b39-4a6b-9c3a-1f2e3d4c5b6a".to_owned(), &body)
    }
}

// ---- contenders ----

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Impl {
    Ours,
    /// bench/ts-hooks/all.ts with its simple template literal for e-mail.
    Ts,
    /// The same, rendering our branded layout and text part (the same work as ours).
    TsBranded,
}

impl Impl {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Ours => "Portcullis (Rust/Wasm)",
            Self::Ts => "TypeScript + standardwebhooks",
            Self::TsBranded => "TypeScript, same e-mail work as ours",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Runtime {
    Deno,
    /// Bare `workerd` on a generated config.
    Workerd,
    /// `wrangler dev` (workerd behind wrangler's proxy, Hyperdrive's local mode).
    WranglerDev,
}

impl Runtime {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Deno => "Deno",
            Self::Workerd => "workerd",
            Self::WranglerDev => "workerd (wrangler dev)",
        }
    }
}

pub(crate) struct Bench {
    pub tools: Tools,
    pub dir: PathBuf,
    /// bench/hooks-policy.json, compacted: both sides implement it.
    pub policy: String,
}

impl Bench {
    /// The command serving `imp` on `rt` at `port` (with the database `db` if given), and the
    /// prefix its routes live under. `wrangler dev` is started by `serve`.
    pub(crate) fn command(
        &self,
        imp: Impl,
        rt: Runtime,
        port: u16,
        db: Option<&str>,
    ) -> Result<(Command, &'static str)> {
        let ours = imp == Impl::Ours;
        match rt {
            Runtime::Deno => {
                let (script, prefix) = if ours {
                    ("functions/portcullis-hooks/index.ts", "/portcullis-hooks")
                } else {
                    ("bench/ts-hooks/deno.ts", "")
                };
                let mut cmd = self.tools.deno_serve(root().join(script), port);
                cmd.env("PORTCULLIS_HOOK_SECRETS", SECRET)
                    .env("PORTCULLIS_HOOKS_POLICY", &self.policy);
                if let Some(url) = db {
                    cmd.env("PORTCULLIS_DB_URL", url);
                }
                Ok((cmd, prefix))
            }
            Runtime::Workerd => {
                let dir = self
                    .dir
                    .join(if ours { "workerd-ours" } else { "workerd-ts" });
                let modules: &[(&str, &str)] = if ours {
                    &[
                        ("index.js", "esModule"),
                        ("wasm/portcullis_hooks_bg.wasm", "wasm"),
                    ]
                } else {
                    &[("worker.js", "esModule")]
                };
                let text = [
                    ("PORTCULLIS_HOOK_SECRETS", SECRET),
                    ("PORTCULLIS_HOOKS_POLICY", self.policy.as_str()),
                ];
                let w = BareWorker {
                    name: if ours { "ours" } else { "ts" },
                    dir: &dir,
                    modules,
                    text: &text,
                    hyperdrive: db,
                };
                Ok((w.command(&self.tools, port)?, ""))
            }
            Runtime::WranglerDev => Err("wrangler dev has no plain command; use serve()".into()),
        }
    }

    /// Serves `imp` on `rt`; the base URL includes the route prefix.
    pub(crate) fn serve(&self, imp: Impl, rt: Runtime, db: Option<&str>) -> Result<Served> {
        if rt == Runtime::WranglerDev {
            let env = [
                ("PORTCULLIS_HOOK_SECRETS", SECRET.to_owned()),
                ("PORTCULLIS_HOOKS_POLICY", self.policy.clone()),
            ];
            return if imp == Impl::Ours {
                harness::workerd(&self.tools, wasm::function("hooks")?, &env, db, &self.dir)
            } else {
                let config = root().join("bench/ts-hooks/wrangler.toml");
                harness::wrangler_dev(
                    &self.tools,
                    "ts-hooks",
                    &["-c", &config.to_string_lossy()],
                    &env,
                    db,
                    &self.dir,
                )
            };
        }
        let port = free_port()?;
        let (mut cmd, prefix) = self.command(imp, rt, port, db)?;
        let name = format!("{imp:?} on {}", rt.name());
        let log = self.dir.join(format!("{imp:?}-{rt:?}-{port}.log"));
        let mut service = Service::spawn(&name, &mut cmd, &log)?;
        wait_for_port(port, Duration::from_secs(120), &mut service.child, &name)
            .map_err(|e| format!("{e}\n{}", tail(&log, 20)))?;
        Ok(Served {
            service,
            base_url: format!("http://127.0.0.1:{port}{prefix}"),
            log,
        })
    }
}

// ---- load ----

pub(crate) struct Load {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
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

/// Writes `requests` for `wrk` to replay: one per line, id, timestamp, signature and body.
pub(crate) fn request_file(path: &Path, requests: impl IntoIterator<Item = Signed>) -> Result {
    let mut out = Vec::new();
    for s in requests {
        let _ = write!(out, "{}\t{}\t{}\t", s.id, s.ts, s.sig);
        out.extend_from_slice(&s.body);
        out.push(b'\n');
    }
    std::fs::write(path, out).map_err(|e| e.to_string())
}

const REPLAY_LUA: &str = r#"
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

/// `wrk -t1 -c<connections>` replaying the request file against `url` for `seconds`; any
/// non-2xx answer fails the bench.
pub(crate) fn wrk(
    dir: &Path,
    url: &str,
    requests: &Path,
    connections: u32,
    seconds: u32,
) -> Result<(Load, u64)> {
    wrk_with(dir, REPLAY_LUA, url, requests, connections, seconds)
}

/// [`wrk`] with another replay script (`lua`), e.g. form bodies one per line.
pub(crate) fn wrk_with(
    dir: &Path,
    lua: &str,
    url: &str,
    requests: &Path,
    connections: u32,
    seconds: u32,
) -> Result<(Load, u64)> {
    let script = dir.join("replay.lua");
    std::fs::write(&script, lua).map_err(|e| e.to_string())?;
    let (origin, path) = url
        .find("://")
        .and_then(|s| url[s + 3..].find('/').map(|p| url.split_at(s + 3 + p)))
        .ok_or_else(|| format!("bad url {url}"))?;
    let out = output(
        Command::new("wrk")
            .args([
                "-t1",
                &format!("-c{connections}"),
                &format!("-d{seconds}s"),
                "--latency",
                "-s",
            ])
            .arg(&script)
            .arg(origin)
            .env("BENCH_REQUESTS", requests)
            .env("BENCH_PATH", path),
    )?;
    if let Some(line) = out
        .lines()
        .find(|l| l.contains("Non-2xx") || l.contains("Socket errors"))
    {
        return Err(format!("wrk saw failures against {url}: {line}"));
    }
    let find = |prefix: &str| {
        out.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_owned()))
    };
    let total = out
        .lines()
        .find_map(|l| {
            l.trim()
                .split_once(" requests in ")
                .map(|(n, _)| n.trim().to_owned())
        })
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let ms = |p| find(p).and_then(|v| parse_ms(&v)).ok_or("no latency");
    Ok((
        Load {
            rps: find("Requests/sec:")
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("wrk output:\n{out}"))?,
            p50_ms: ms("50%")?,
            p99_ms: ms("99%")?,
        },
        total,
    ))
}

/// Load on each of `contenders` (`(who, url)`) with `lua` replaying `requests`: a 3 s warm-up,
/// then three alternating `seconds` rounds (this VM jitters); each contender's median round by
/// throughput, in the order given. Each round is noted under `label`.
pub(crate) fn median_rounds(
    dir: &Path,
    lua: &str,
    contenders: &[(&str, &str)],
    requests: &Path,
    connections: u32,
    seconds: u32,
    label: &str,
) -> Result<Vec<Load>> {
    let mut rounds: Vec<Vec<Load>> = contenders.iter().map(|_| Vec::new()).collect();
    for (pass, secs) in [(0, 3), (1, seconds), (2, seconds), (3, seconds)] {
        for (i, (who, url)) in contenders.iter().enumerate() {
            let (l, _) = wrk_with(dir, lua, url, requests, connections, secs)?;
            if pass > 0 {
                note(format!(
                    "{label} {who}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
                    l.rps, l.p50_ms, l.p99_ms
                ));
                rounds[i].push(l);
            }
        }
    }
    rounds
        .into_iter()
        .map(|mut r| {
            r.sort_by(|x, y| x.rps.total_cmp(&y.rps));
            let mid = r.len() / 2;
            r.into_iter().nth(mid).ok_or_else(|| "no rounds".to_owned())
        })
        .collect()
}

/// One measured figure.
pub(crate) struct Row {
    pub hook: &'static str,
    pub runtime: Runtime,
    pub imp: Impl,
    pub load: Load,
}

/// Load on each contender (`Impl`, the hook's URL): a 3 s warm-up, then three alternating `seconds`
/// rounds; each contender's median round (this VM jitters). `requests(n)` gives the request
/// file for the n-th run.
pub(crate) fn alternate(
    dir: &Path,
    hook: &'static str,
    runtime: Runtime,
    contenders: &[(Impl, String)],
    requests: &mut dyn FnMut(u32) -> Result<PathBuf>,
    connections: u32,
    seconds: u32,
) -> Result<Vec<Row>> {
    let mut runs = 0;
    let mut rounds: Vec<(Impl, Load)> = Vec::new();
    for (pass, secs) in [(0, 3), (1, seconds), (2, seconds), (3, seconds)] {
        for (imp, url) in contenders {
            runs += 1;
            let file = requests(runs)?;
            let (l, _) = wrk(dir, url, &file, connections, secs)?;
            if pass > 0 {
                note(format!(
                    "{hook} {} {}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
                    runtime.name(),
                    imp.label(),
                    l.rps,
                    l.p50_ms,
                    l.p99_ms
                ));
                rounds.push((*imp, l));
            }
        }
    }
    let mut rows = Vec::new();
    for (imp, _) in contenders {
        let mut mine: Vec<Load> = Vec::new();
        for (i, l) in &rounds {
            if i == imp {
                mine.push(Load {
                    rps: l.rps,
                    p50_ms: l.p50_ms,
                    p99_ms: l.p99_ms,
                });
            }
        }
        mine.sort_by(|x, y| x.rps.total_cmp(&y.rps));
        let load = mine.swap_remove(mine.len() / 2);
        rows.push(Row {
            hook,
            runtime,
            imp: *imp,
            load,
        });
    }
    Ok(rows)
}

/// The table of `rows` and, per hook and runtime, our ratios to each TypeScript contender.
pub(crate) fn render_rows(rows: &[Row]) -> String {
    let mut r = String::new();
    let _ = writeln!(
        r,
        "| hook | runtime | implementation | req/s | p50 ms | p99 ms |"
    );
    let _ = writeln!(r, "|---|---|---|---|---|---|");
    for x in rows {
        let _ = writeln!(
            r,
            "| {} | {} | {} | {:.0} | {:.2} | {:.2} |",
            x.hook,
            x.runtime.name(),
            x.imp.label(),
            x.load.rps,
            x.load.p50_ms,
            x.load.p99_ms
        );
    }
    r.push('\n');
    for x in rows.iter().filter(|x| x.imp == Impl::Ours) {
        for peer in rows
            .iter()
            .filter(|p| p.imp != Impl::Ours && p.hook == x.hook && p.runtime == x.runtime)
        {
            let _ = writeln!(
                r,
                "- {} on {}: throughput **{:.2}×** {}; p99 {:.2}× its p99.",
                x.hook,
                x.runtime.name(),
                x.load.rps / peer.load.rps,
                if peer.imp == Impl::Ts {
                    "the TypeScript hook"
                } else {
                    "the TypeScript hook doing the same e-mail work"
                },
                x.load.p99_ms / peer.load.p99_ms
            );
        }
    }
    r
}

/// The answer to one signed request, checked to be a 200 with a JSON body.
pub(crate) fn answer(url: &str, s: &Signed) -> Result<serde_json::Value> {
    let (port, path) = url
        .strip_prefix("http://127.0.0.1:")
        .and_then(|u| u.find('/').map(|p| u.split_at(p)))
        .and_then(|(p, path)| p.parse::<u16>().ok().map(|p| (p, path)))
        .ok_or_else(|| format!("bad url {url}"))?;
    let (status, body) = http(port, "POST", path, &s.headers(), &s.body)?;
    let v: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| format!("{url}: {status}: {e}"))?;
    if status != 200 {
        return Err(format!("{url} answered {status}: {v}"));
    }
    Ok(v)
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

/// The port of a server on loopback (its base URL may have a path).
pub(crate) fn port_of(served: &Served) -> Result<u16> {
    served
        .base_url
        .rsplit(':')
        .next()
        .and_then(|p| p.split('/').next())
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| format!("no port in {}", served.base_url))
}

/// µs per operation of a bare Worker's `GET {query}&n=K`, which runs an operation K times and
/// answers K. Isolate clocks do not advance during execution, so requests are timed from
/// outside, with n=K and n=0, K sized to ~40 ms so the request itself is small next to it;
/// 15 pairs. Returns the median and the smallest of the pairs' differences over K.
pub(crate) fn workerd_per_op(port: u16, query: &str) -> Result<(f64, f64)> {
    let time = |n: usize| -> Result<f64> {
        let t = Instant::now();
        let (status, body) = http(port, "GET", &format!("{query}&n={n}"), &[], b"")?;
        let elapsed = t.elapsed().as_secs_f64() * 1e6;
        if status != 200 || String::from_utf8_lossy(&body) != n.to_string() {
            return Err(format!(
                "workerd {query}: {status} {}",
                String::from_utf8_lossy(&body)
            ));
        }
        Ok(elapsed)
    };
    let mut n = 20;
    for _ in 0..3 {
        let t = time(n)?;
        n = ((n as f64) * 40_000.0 / t.max(1.0)).clamp(10.0, 200_000.0) as usize;
    }
    let mut per_op = Vec::new();
    for _ in 0..15 {
        let with = time(n)?;
        let without = time(0)?;
        per_op.push((with - without) / n as f64);
    }
    let min = per_op.iter().copied().fold(f64::INFINITY, f64::min);
    Ok((median(per_op), min))
}

fn verify_workerd(b: &Bench) -> Result<Vec<serde_json::Value>> {
    let served = harness::workerd_bare(
        &b.tools,
        &BareWorker {
            name: "verify",
            dir: &b.dir.join("workerd-verify"),
            modules: &[
                ("worker.js", "esModule"),
                ("portcullis_bench_verify_bg.wasm", "wasm"),
            ],
            text: &[],
            hyperdrive: None,
        },
        &b.dir,
    )?;
    let port = port_of(&served)?;
    let per_op = |imp: &str, size: usize| -> Result<f64> {
        workerd_per_op(port, &format!("/?impl={imp}&size={size}")).map(|(median, _)| median)
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

// ---- (b) the hooks without a database, under load ----

fn load_without_db(b: &Bench, seconds: u32) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for rt in [Runtime::Deno, Runtime::Workerd] {
        let ours = b.serve(Impl::Ours, rt, None)?;
        let ts = b.serve(Impl::Ts, rt, None)?;
        for hook in [Hook::AccessToken, Hook::BeforeUserCreated] {
            let s = hook.request()?;
            let (mut a, mut c) = (
                answer(&format!("{}{}", ours.base_url, hook.path()), &s)?,
                answer(&format!("{}{}", ts.base_url, hook.path()), &s)?,
            );
            for v in [&mut a, &mut c] {
                if let Some(claims) = v.get_mut("claims").and_then(|c| c.as_object_mut()) {
                    for k in ["exp", "iat", "amr"] {
                        claims.remove(k);
                    }
                }
            }
            if a != c {
                return Err(format!(
                    "{} {}: ours and the TypeScript hook disagree:\n{a}\n{c}",
                    rt.name(),
                    hook.path()
                ));
            }
            let file = b.dir.join("requests.tsv");
            request_file(&file, [s])?;
            rows.extend(alternate(
                &b.dir,
                hook.path(),
                rt,
                &[
                    (Impl::Ours, format!("{}{}", ours.base_url, hook.path())),
                    (Impl::Ts, format!("{}{}", ts.base_url, hook.path())),
                ],
                &mut |_| Ok(file.clone()),
                32,
                seconds,
            )?);
        }
    }
    Ok(rows)
}

// ---- (b') every handler in process (Deno) ----

fn inproc(b: &Bench) -> Result<serde_json::Value> {
    let s = Hook::AccessToken.request()?;
    let body_file = b.dir.join("access-token.json");
    std::fs::write(&body_file, &s.body).map_err(|e| e.to_string())?;
    let out = output(
        b.tools
            .deno()
            .current_dir(root())
            .args([
                "run",
                "--allow-read",
                "--allow-env",
                "--no-prompt",
                "bench/hooks/inproc.ts",
            ])
            .env("BENCH_BODY", &body_file)
            .env("PORTCULLIS_HOOK_SECRETS", SECRET),
    )?;
    serde_json::from_str(out.trim()).map_err(|e| format!("{e}: {out}"))
}

// ---- the pat function in process (Deno): verification and minting ----

/// The cases of bench/pat/cases.ts on Deno (bench/pat/inproc.ts, timed in process) and on
/// workerd (bench/pat/worker.ts, timed from outside), rendered as one table: µs per request
/// and the ratio (TypeScript / ours) per runtime.
fn pat_inproc(b: &Bench) -> Result<String> {
    say("building the token layer's bench module (verification alone)");
    run(Command::new("cargo").current_dir(root()).args([
        "build",
        "--quiet",
        "--release",
        "--target",
        "wasm32-unknown-unknown",
        "-p",
        "portcullis-bench-jwt",
    ]))?;
    let jwt_bg = wasm::bindgen_web(
        &b.tools,
        &root().join("target/wasm32-unknown-unknown/release/portcullis_bench_jwt.wasm"),
        &root().join("target/bench/jwt"),
        "portcullis_bench_jwt",
    )?;
    say("pat in process (Deno): JWT verification per algorithm, minting in the exchange");
    let out = output(b.tools.deno().current_dir(root()).args([
        "run",
        "--allow-read",
        "--allow-env",
        "--no-prompt",
        "--config",
        "deno.json",
        "bench/pat/inproc.ts",
    ]))?;
    let deno: serde_json::Value =
        serde_json::from_str(out.trim()).map_err(|e| format!("{e}: {out}"))?;
    say("pat in process (workerd): the same cases");
    let workerd = pat_inproc_workerd(b, &jwt_bg)?;
    let mut t = String::from(
        "\n### pat in process (stub database), µs per request (median / min)\n\n\
         | case | Deno ours | Deno jose | ratio | workerd ours | workerd jose | ratio |\n\
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

/// bench/pat/worker.ts on bare workerd, once per way of minting (one pat instance per Worker):
/// `{case: {ours: {median, min}, ts: {median, min}}}` as bench/pat/inproc.ts prints.
fn pat_inproc_workerd(b: &Bench, jwt_bg: &Path) -> Result<serde_json::Value> {
    let dir = b.dir.join("workerd-pat-inproc");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    wasm::bundle_worker(
        &b.tools,
        &root().join("bench/pat/worker.ts"),
        &dir.join("worker.js"),
        &["./portcullis_pat_bg.wasm", "./portcullis_bench_jwt_bg.wasm"],
    )?;
    let pat = wasm::function("pat")?;
    for (from, to) in [
        (
            pat.shim_dir().join("wasm/portcullis_pat_bg.wasm"),
            "portcullis_pat_bg.wasm",
        ),
        (jwt_bg.to_path_buf(), "portcullis_bench_jwt_bg.wasm"),
    ] {
        std::fs::copy(&from, dir.join(to)).map_err(|e| format!("{}: {e}", from.display()))?;
    }
    let mut out = serde_json::Map::new();
    for mint in ["ES256", "HS256"] {
        let served = harness::workerd_bare(
            &b.tools,
            &BareWorker {
                name: "pat-inproc",
                dir: &dir,
                modules: &[
                    ("worker.js", "esModule"),
                    ("portcullis_pat_bg.wasm", "wasm"),
                    ("portcullis_bench_jwt_bg.wasm", "wasm"),
                ],
                text: &[("MINT", mint)],
                hyperdrive: None,
            },
            &b.dir,
        )?;
        let port = port_of(&served)?;
        // The first request makes the keys and token pools.
        let (status, body) = http(port, "GET", "/cases", &[], b"")?;
        let body = String::from_utf8_lossy(&body).into_owned();
        if status != 200 {
            return Err(format!(
                "bench/pat/worker.ts: {status} {body}\n{}",
                tail(&served.log, 20)
            ));
        }
        for name in body.lines() {
            // Each Worker has only its own exchange case; verification is measured once.
            if mint == "HS256" && !name.starts_with("exchange") {
                continue;
            }
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
                "workerd {name}: ours {:.1} µs, jose {:.1} µs",
                r["ours"]["median"].as_f64().unwrap_or(f64::NAN),
                r["ts"]["median"].as_f64().unwrap_or(f64::NAN)
            ));
            out.insert(name.to_owned(), serde_json::Value::Object(r));
        }
    }
    Ok(serde_json::Value::Object(out))
}

/// Percent-encodes a query value.
pub(crate) fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

// ---- (c) cold start ----

fn cold_start(b: &Bench, imp: Impl, rt: Runtime) -> Result<Vec<f64>> {
    let s = Hook::AccessToken.request()?;
    let headers = s.headers();
    let mut samples = Vec::new();
    for i in 0..8 {
        let port = free_port()?;
        let (mut cmd, prefix) = b.command(imp, rt, port, None)?;
        let path = format!("{prefix}{}", Hook::AccessToken.path());
        let log = b.dir.join("cold.log");
        let start = Instant::now();
        let mut svc = Service::spawn("cold start", &mut cmd, &log)?;
        loop {
            if let Ok((200, _)) = http(port, "POST", &path, &headers, &s.body) {
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
    prepare(&tools, &dir)?;
    let policy = serde_json::from_str::<serde_json::Value>(
        &std::fs::read_to_string(root().join("bench/hooks-policy.json"))
            .map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?
    .to_string();
    let b = Bench { tools, dir, policy };
    let out = root().join("bench/results");
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;

    if args.iter().any(|a| a == "--pat") {
        let report = format!(
            "Machine: {}. Command: `cargo xtask bench --pat`.\n{}{}",
            machine(&b.tools),
            pat_inproc(&b)?,
            crate::bench_pat::run(&b, seconds, &b.dir)?
        );
        println!("{report}");
        std::fs::write(out.join("latest-pat.md"), &report).map_err(|e| e.to_string())?;
        note("written to bench/results/latest-pat.md");
        let _ = std::fs::remove_dir_all(&b.dir);
        return Ok(());
    }
    if args.iter().any(|a| a == "--sign") {
        let report = format!(
            "Machine: {}. Command: `cargo xtask bench --sign`.\n{}",
            machine(&b.tools),
            crate::bench_sign::run(&b, seconds)?
        );
        println!("{report}");
        std::fs::write(out.join("latest-sign.md"), &report).map_err(|e| e.to_string())?;
        note("written to bench/results/latest-sign.md");
        let _ = std::fs::remove_dir_all(&b.dir);
        return Ok(());
    }
    if args.iter().any(|a| a == "--db") {
        let rows = crate::bench_db::run(&b, seconds)?;
        let report = format!(
            "Machine: {}. Command: `cargo xtask bench --db`.\n{}",
            machine(&b.tools),
            crate::bench_db::render(&rows, seconds)
        );
        println!("{report}");
        std::fs::write(out.join("latest-db.md"), &report).map_err(|e| e.to_string())?;
        note("written to bench/results/latest-db.md");
        let _ = std::fs::remove_dir_all(&b.dir);
        return Ok(());
    }

    say("(a) verification µs/op");
    let mut verify = verify_deno(&b)?;
    verify.extend(verify_workerd(&b)?);

    say("(b) custom-access-token and before-user-created under load");
    let load = load_without_db(&b, seconds)?;

    say("(b') every hook's handler in process (Deno)");
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
                imp.label(),
                median(s.clone())
            ));
            cold.push((rt, imp, s));
        }
    }

    let db_rows = crate::bench_db::run(&b, seconds)?;
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
    std::fs::write(out.join("latest.md"), &report).map_err(|e| e.to_string())?;
    note("written to bench/results/latest.md");
    let _ = std::fs::remove_dir_all(&b.dir);
    Ok(())
}

/// Builds the verification bench module, installs the comparison's npm packages, bundles the
/// Workers.
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
    if [
        "standardwebhooks",
        "postgres",
        "jose",
        "aws4fetch",
        "@aws-sdk/client-s3",
        "@aws-sdk/s3-request-presigner",
    ]
    .iter()
    .any(|m| !root().join("bench/node_modules").join(m).exists())
    {
        run(Command::new("npm").current_dir(root().join("bench")).args([
            "install",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ]))?;
    }
    for (sub, entry, outfile, external) in [
        (
            "workerd-ts",
            "bench/ts-hooks/worker.ts",
            "worker.js",
            vec![],
        ),
        (
            "workerd-verify",
            "bench/verify/worker.ts",
            "worker.js",
            vec!["./portcullis_bench_verify_bg.wasm"],
        ),
    ] {
        let d = dir.join(sub);
        std::fs::create_dir_all(&d).map_err(|e| e.to_string())?;
        wasm::bundle_worker(
            tools,
            &root().join(entry),
            &d.join(outfile),
            external.as_slice(),
        )?;
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
    load: &[Row],
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
        "\n(b) the hooks without a database under load (same policy, identical answers checked first; wrk -c32)\n"
    );
    r.push_str(&render_rows(load));
    let _ = writeln!(
        r,
        "\n(b') every hook's handler without HTTP, in Deno (the real shim; a stub database answering after a promise hop), µs per request, median of 15 alternating rounds of 1,500\n"
    );
    let _ = writeln!(r, "| hook | Portcullis | TypeScript | TypeScript ÷ ours |");
    let _ = writeln!(r, "|---|---|---|---|");
    if let Some(hooks) = handler.as_object() {
        for (hook, v) in hooks {
            let g = |imp: &str| {
                v.get(imp)
                    .and_then(|x| x.get("median"))
                    .and_then(serde_json::Value::as_f64)
                    .unwrap_or(f64::NAN)
            };
            let _ = writeln!(
                r,
                "| {hook} | {:.1} | {:.1} | **{:.2}×** |",
                g("ours"),
                g("ts"),
                g("ts") / g("ours")
            );
        }
    }
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
            imp.label(),
            median(s.clone())
        );
    }
    let _ = writeln!(r, "\n(d) Wasm sizes after wasm-opt\n");
    for s in sizes {
        let _ = writeln!(r, "- {s}");
    }
    r
}
