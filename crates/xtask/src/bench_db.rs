//! (e) The database-backed hooks end to end on PostgreSQL: send-email (outbox backend) and
//! password-verification-attempt under load, ours against the TypeScript hooks in
//! bench/ts-hooks (standardwebhooks + postgres.js, the same tables), on
//! - Deno: `deno run` of each server, a postgres.js pool of 4 on both sides;
//! - workerd, pooled: bare `workerd` with a `HYPERDRIVE` binding pointed at a local pgbouncer
//!   (transaction pooling), as Hyperdrive pools in production: a Worker connects per request,
//!   the pooler keeps the server connections;
//! - workerd under `wrangler dev`: Hyperdrive's local mode, a new server connection per request
//!   (what a developer sees locally; not what production does).
//!
//! Every request is signed ahead of time with its own `metadata.uuid` (wrk replays a file of
//! them), so each send-email call inserts a new outbox row, as in production. Attempts go to a
//! pool of 2,000 users, nine failures to one success, so rows are updated under contention.
//! send-email is also compared with the TypeScript hook rendering our branded layout (the
//! same e-mail work and row size as ours).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::bench::{self, Bench, Impl, Row, Runtime, Signed};
use crate::harness::Served;
use crate::pg::TestPostgres;
use crate::util::{
    self, Result, Service, free_port, note, random_hex, say, tail, wait_for_port, which,
};

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

/// `REQUESTS_PER_ROUND` distinct signed requests in a file wrk replays.
fn requests(dir: &Path, hook: DbHook, round: u128) -> Result<PathBuf> {
    let file = dir.join(format!("requests-{hook:?}.tsv"));
    let signed: Result<Vec<Signed>> = (0..REQUESTS_PER_ROUND)
        .map(|i| Signed::new(uuid(i as u128, 0x1d00 + round), &body(hook, i, round)))
        .collect();
    bench::request_file(&file, signed?)?;
    Ok(file)
}

fn rand_u64() -> Result<u64> {
    u64::from_str_radix(&random_hex(8)?, 16).map_err(|e| e.to_string())
}

/// Both implementations must give the same answers before they are timed.
fn cross_check(ours: &str, ts: &str) -> Result {
    let salt = u128::from(rand_u64()?);
    let mut answers = Vec::new();
    for base in [ours, ts] {
        let user = uuid(salt, 0xc0de + answers.len() as u128);
        let mut seq = Vec::new();
        for valid in [false, false, false, false, false, true, false] {
            let s = Signed::new(
                uuid(rand_u64()?.into(), 8),
                &serde_json::json!({"metadata": {"uuid": uuid(rand_u64()?.into(), 9)}, "user_id": user, "valid": valid}),
            )?;
            let v = bench::answer(&format!("{base}/password-verification-attempt"), &s)?;
            seq.push((v["decision"].clone(), v["should_logout_user"].clone()));
        }
        let s = Signed::new(
            uuid(rand_u64()?.into(), 8),
            &body(DbHook::SendEmail, 0, salt),
        )?;
        let email = bench::answer(&format!("{base}/send-email"), &s)?;
        answers.push((seq, email));
    }
    if answers.first() != answers.last() {
        return Err(format!(
            "ours and the TypeScript hooks disagree: {answers:?}"
        ));
    }
    Ok(())
}

/// pgbouncer from apt in transaction mode in front of `pg`, as the OS user `postgres` when we
/// are root (it refuses to run as root). Clients authenticate with `trust` on loopback; the
/// pooler logs in to the server with the role's password (SCRAM).
pub(crate) struct Pooler {
    _service: Service,
    port: u16,
}

/// pgbouncer in front of `pg` for the function role of `direct` (its URL from
/// [`crate::db::prepare_function_role`]), and the pooled URL a Worker's Hyperdrive binding uses.
pub(crate) fn pooled(pg: &TestPostgres, direct: &str, dir: &Path) -> Result<(Pooler, String)> {
    let password = direct
        .strip_prefix("postgres://portcullis_fn:")
        .and_then(|r| r.split_once('@'))
        .map(|(p, _)| p.to_owned())
        .ok_or("unexpected function role URL")?;
    let pooler = pgbouncer(pg, "portcullis_fn", &password, dir)?;
    let url = format!(
        "postgres://portcullis_fn:{password}@127.0.0.1:{}/postgres?sslmode=disable",
        pooler.port
    );
    Ok((pooler, url))
}

fn pgbouncer(pg: &TestPostgres, user: &str, password: &str, dir: &Path) -> Result<Pooler> {
    if which("pgbouncer").is_none() && !Path::new("/usr/sbin/pgbouncer").exists() {
        say("installing pgbouncer (apt-get install pgbouncer)");
        util::run(
            Command::new("apt-get")
                .args(["install", "-y", "-q", "pgbouncer"])
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )?;
    }
    let bin = which("pgbouncer").unwrap_or_else(|| PathBuf::from("/usr/sbin/pgbouncer"));
    let port = free_port()?;
    let d = dir.join("pgbouncer");
    std::fs::create_dir_all(&d).map_err(|e| e.to_string())?;
    std::fs::write(d.join("users.txt"), format!("\"{user}\" \"{password}\"\n"))
        .map_err(|e| e.to_string())?;
    std::fs::write(
        d.join("pgbouncer.ini"),
        format!(
            "[databases]\npostgres = host=127.0.0.1 port={} dbname=postgres\n\n[pgbouncer]\n\
             listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
             auth_type = trust\nauth_file = {}\npool_mode = transaction\n\
             default_pool_size = 8\nmax_client_conn = 2000\n",
            pg.port,
            d.join("users.txt").display()
        ),
    )
    .map_err(|e| e.to_string())?;
    let mut cmd = if util::is_root() {
        util::run(
            Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&d),
        )?;
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&bin);
        c
    } else {
        Command::new(&bin)
    };
    cmd.arg(d.join("pgbouncer.ini"));
    let log = dir.join("pgbouncer.log");
    let mut service = Service::spawn("pgbouncer", &mut cmd, &log)?;
    wait_for_port(
        port,
        std::time::Duration::from_secs(30),
        &mut service.child,
        "pgbouncer",
    )
    .map_err(|e| format!("{e}\n{}", tail(&log, 20)))?;
    Ok(Pooler {
        _service: service,
        port,
    })
}

pub fn run(b: &Bench, seconds: u32) -> Result<Vec<Row>> {
    say("(e) database-backed hooks on PostgreSQL: starting a private server and pgbouncer");
    let pg = TestPostgres::start()?;
    let direct = crate::db::prepare_function_role(&pg)?;
    let (_pooler, pooled) = pooled(&pg, &direct, &b.dir)?;
    let mut rows = Vec::new();
    let mut round = 0u128;
    // PORTCULLIS_BENCH_RUNTIMES=deno (or workerd, wrangler) narrows a run while investigating.
    let only = std::env::var("PORTCULLIS_BENCH_RUNTIMES")
        .unwrap_or_default()
        .to_lowercase();
    for (runtime, db) in [
        (Runtime::Deno, &direct),
        (Runtime::Workerd, &pooled),
        (Runtime::WranglerDev, &direct),
    ] {
        let key = format!("{runtime:?}").to_lowercase();
        if !only.is_empty() && !only.split(',').any(|o| key.starts_with(o.trim())) {
            continue;
        }
        let ours: Served = b.serve(Impl::Ours, runtime, Some(db))?;
        let ts: Served = b.serve(Impl::Ts, runtime, Some(db))?;
        cross_check(&ours.base_url, &ts.base_url)?;
        for hook in [DbHook::SendEmail, DbHook::PasswordAttempt] {
            let mut contenders = vec![
                (Impl::Ours, format!("{}{}", ours.base_url, hook.path())),
                (Impl::Ts, format!("{}{}", ts.base_url, hook.path())),
            ];
            if hook == DbHook::SendEmail {
                contenders.push((
                    Impl::TsBranded,
                    format!("{}/send-email-branded", ts.base_url),
                ));
            }
            rows.extend(bench::alternate(
                &b.dir,
                hook.path(),
                runtime,
                &contenders,
                &mut |_| {
                    round += 1;
                    requests(&b.dir, hook, round)
                },
                16,
                seconds,
            )?);
        }
        note(format!(
            "{}: outbox rows {}",
            runtime.name(),
            pg.connect()?
                .column("select count(*)::text from portcullis.email_outbox")?
                .join("")
        ));
    }
    Ok(rows)
}

pub fn render(rows: &[Row], seconds: u32) -> String {
    let mut r = String::new();
    let _ = writeln!(
        r,
        "\n(e) database-backed hooks end to end on PostgreSQL 15 (wrk -c16, three alternating {seconds} s rounds after a 3 s warm-up, median round; every request signed ahead with its own metadata.uuid)\n"
    );
    r.push_str(&bench::render_rows(rows));
    r
}
