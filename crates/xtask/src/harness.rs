//! Serves a function locally on each runtime for black-box tests, dev and benchmarks.

use std::path::{Path, PathBuf};
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
    pub log: PathBuf,
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
    // hooks keeps the root wrangler.toml; every other function has its own next to its shim.
    let config = f.shim_dir().join("wrangler.toml");
    let config = config.to_string_lossy();
    let mut args = vec!["--env", "local"];
    if f.name != "hooks" {
        args.extend(["--config", &config]);
    }
    wrangler_dev(tools, f.name, &args, env, db_url, logs)
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

/// A Worker for bare `workerd serve`: its modules in `dir` (name, kind `esModule` or `wasm`),
/// text bindings, and optionally a `HYPERDRIVE` binding (`{connectionString}`, as Hyperdrive
/// gives it) with the network opened to loopback so the Worker can reach that database.
pub struct BareWorker<'a> {
    pub name: &'a str,
    pub dir: &'a Path,
    pub modules: &'a [(&'a str, &'a str)],
    pub text: &'a [(&'a str, &'a str)],
    pub hyperdrive: Option<&'a str>,
}

fn capnp_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

impl BareWorker<'_> {
    /// Writes the configuration serving this Worker on `port`; returns its path.
    pub fn config(&self, port: u16) -> Result<PathBuf> {
        let q = capnp_string;
        let modules: Vec<String> = self
            .modules
            .iter()
            .map(|(m, kind)| format!("(name = {}, {kind} = embed {})", q(m), q(m)))
            .collect();
        let mut bindings: Vec<String> = self
            .text
            .iter()
            .map(|(k, v)| format!("(name = {}, text = {})", q(k), q(v)))
            .collect();
        let mut services = vec!["(name = \"main\", worker = .worker)".to_owned()];
        let mut outbound = String::new();
        if let Some(url) = self.hyperdrive {
            let json = serde_json::json!({ "connectionString": url }).to_string();
            bindings.push(format!("(name = \"HYPERDRIVE\", json = {})", q(&json)));
            services.push(
                "(name = \"net\", network = (allow = [\"public\", \"private\", \"local\"]))"
                    .to_owned(),
            );
            outbound = "  globalOutbound = \"net\",\n".to_owned();
        }
        let config = format!(
            "using Workerd = import \"/workerd/workerd.capnp\";\n\
             const config :Workerd.Config = (\n  services = [{}],\n  \
             sockets = [(name = \"http\", address = \"127.0.0.1:{port}\", http = (), service = \"main\")],\n);\n\
             const worker :Workerd.Worker = (\n  modules = [{}],\n  compatibilityDate = \"{COMPAT_DATE}\",\n  bindings = [{}],\n{outbound});\n",
            services.join(", "),
            modules.join(", "),
            bindings.join(", ")
        );
        let path = self.dir.join(format!("{}-{port}.capnp", self.name));
        std::fs::write(&path, config).map_err(|e| e.to_string())?;
        Ok(path)
    }

    /// The `workerd serve` command for this Worker on `port`.
    pub fn command(&self, tools: &Tools, port: u16) -> Result<std::process::Command> {
        let mut cmd = tools.command("workerd");
        cmd.arg("serve").arg(self.config(port)?);
        Ok(cmd)
    }
}

/// The compatibility date of every Worker we run (as in wrangler.toml).
pub const COMPAT_DATE: &str = "2026-11-01";

/// Bare `workerd serve` of `w`: no wrangler proxy, no bundler.
pub fn workerd_bare(tools: &Tools, w: &BareWorker<'_>, logs: &Path) -> Result<Served> {
    let port = free_port()?;
    let log = logs.join(format!("{}-workerd.log", w.name));
    let mut cmd = w.command(tools, port)?;
    let mut service = Service::spawn(&format!("{} on workerd", w.name), &mut cmd, &log)?;
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
