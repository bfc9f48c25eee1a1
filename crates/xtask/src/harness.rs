//! Serves a function locally on each runtime for black-box tests, dev and benchmarks.

use std::path::Path;
use std::time::Duration;

use crate::tools::Tools;
use crate::util::{Result, Service, free_port, tail, wait_for_port};
use crate::wasm::Function;

/// A running server and the base URL its routes live under.
pub struct Served {
    /// Stopped (with its process group) when this is dropped.
    #[allow(dead_code)]
    pub service: Service,
    pub base_url: String,
    pub log: std::path::PathBuf,
}

/// The Supabase shim on Deno. Routes live under `/portcullis-<fn>` as in the Edge Runtime.
pub fn deno(tools: &Tools, f: &Function, env: &[(&str, String)], logs: &Path) -> Result<Served> {
    let port = free_port()?;
    let log = logs.join(format!("{}-deno.log", f.name));
    let mut cmd = tools.deno_serve(f.shim_dir().join("index.ts"), port);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut service = Service::spawn(&format!("{} on Deno", f.name), &mut cmd, &log)?;
    wait_for_port(
        port,
        Duration::from_secs(120),
        &mut service.child,
        &service.name,
    )
    .map_err(|e| format!("{e}\n{}", tail(&log, 30)))?;
    Ok(Served {
        service,
        base_url: format!("http://127.0.0.1:{port}/portcullis-{}", f.name),
        log,
    })
}

/// The Worker under `wrangler dev --env local` (workerd), Hyperdrive pointed at `db_url`.
pub fn workerd(
    tools: &Tools,
    f: &Function,
    env: &[(&str, String)],
    db_url: Option<&str>,
    logs: &Path,
) -> Result<Served> {
    wrangler_dev(tools, f.name, &["--env", "local"], env, db_url, logs)
}

/// `wrangler dev` (workerd) with `args` choosing the configuration, `env` as its variables and
/// any Hyperdrive binding `HYPERDRIVE` pointed at `db_url`.
pub fn wrangler_dev(
    tools: &Tools,
    name: &str,
    args: &[&str],
    env: &[(&str, String)],
    db_url: Option<&str>,
    logs: &Path,
) -> Result<Served> {
    let port = free_port()?;
    let inspector = free_port()?;
    let log = logs.join(format!("{name}-workerd.log"));
    // Values are single-quoted (literal) in the env file; none of ours contain a quote.
    let mut vars = String::new();
    for (k, v) in env {
        if v.contains('\'') || v.contains('\n') {
            return Err(format!(
                "{k}: values passed to wrangler must be one line without single quotes"
            ));
        }
        vars.push_str(&format!("{k}='{v}'\n"));
    }
    let env_file = logs.join(format!("{name}-workerd.env"));
    std::fs::write(&env_file, vars).map_err(|e| e.to_string())?;
    let mut cmd = tools.command("wrangler");
    cmd.arg("dev")
        .args(args)
        .args([
            "--ip",
            "127.0.0.1",
            "--show-interactive-dev-session=false",
            "--log-level",
            "log",
        ])
        .args([
            "--port",
            &port.to_string(),
            "--inspector-port",
            &inspector.to_string(),
        ])
        .arg("--env-file")
        .arg(&env_file)
        .arg("--persist-to")
        .arg(logs.join("wrangler-state"))
        .env("PORTCULLIS_SKIP_BUILD", "1");
    if let Some(url) = db_url {
        cmd.env(
            "CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE",
            url,
        );
    }
    let mut service = Service::spawn(&format!("{name} on workerd"), &mut cmd, &log)?;
    wait_for_port(
        port,
        Duration::from_secs(180),
        &mut service.child,
        &service.name,
    )
    .map_err(|e| format!("{e}\n{}", tail(&log, 40)))?;
    Ok(Served {
        service,
        base_url: format!("http://127.0.0.1:{port}"),
        log,
    })
}

/// Bare `workerd serve` of a Worker whose modules are in `dir` (`modules`: name, file, kind
/// `esModule` or `wasm`), with text `bindings`.
pub fn workerd_bare(
    tools: &Tools,
    name: &str,
    dir: &Path,
    modules: &[(&str, &str)],
    bindings: &[(&str, &str)],
    logs: &Path,
) -> Result<Served> {
    let port = free_port()?;
    let quote = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let modules: Vec<String> = modules
        .iter()
        .map(|(m, kind)| format!("(name = {}, {kind} = embed {})", quote(m), quote(m)))
        .collect();
    let bindings: Vec<String> = bindings
        .iter()
        .map(|(k, v)| format!("(name = {}, text = {})", quote(k), quote(v)))
        .collect();
    let config = format!(
        "using Workerd = import \"/workerd/workerd.capnp\";\n\
         const config :Workerd.Config = (\n  services = [(name = \"main\", worker = .worker)],\n  \
         sockets = [(name = \"http\", address = \"127.0.0.1:{port}\", http = (), service = \"main\")],\n);\n\
         const worker :Workerd.Worker = (\n  modules = [{}],\n  compatibilityDate = \"2026-11-01\",\n  bindings = [{}],\n);\n",
        modules.join(", "),
        bindings.join(", ")
    );
    let path = dir.join(format!("{name}.capnp"));
    std::fs::write(&path, config).map_err(|e| e.to_string())?;
    let log = logs.join(format!("{name}-workerd.log"));
    let mut cmd = tools.command("workerd");
    cmd.arg("serve").arg(&path);
    let mut service = Service::spawn(&format!("{name} on workerd"), &mut cmd, &log)?;
    wait_for_port(
        port,
        Duration::from_secs(60),
        &mut service.child,
        &service.name,
    )
    .map_err(|e| format!("{e}\n{}", tail(&log, 30)))?;
    Ok(Served {
        service,
        base_url: format!("http://127.0.0.1:{port}"),
        log,
    })
}
