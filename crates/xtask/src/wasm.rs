//! Builds each function for both runtimes and checks its Wasm size budget.
//!
//! - Supabase (Deno): `cargo build` the `<fn>-deno` crate for wasm32, `wasm-bindgen --target
//!   web`, `wasm-opt -Oz`, into `functions/portcullis-<fn>/wasm/` (loaded by the shim with
//!   `Deno.readFile`, listed in `supabase/config.toml` `static_files`).
//! - Cloudflare: `worker-build --release` in `crates/<fn>-worker` (wasm-bindgen, wasm-opt and
//!   esbuild pinned through `WASM_BINDGEN_BIN`, `WASM_OPT_BIN`, `ESBUILD_BIN`: no downloads).

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::tools::Tools;
use crate::util::{Result, note, root, run, say};

/// A function and its budgets.
pub struct Function {
    /// Short name: `hooks`.
    pub name: &'static str,
    /// Maximum Wasm size after optimisation, raw bytes.
    pub budget_raw: usize,
    /// Maximum Wasm size after optimisation, gzip -9 bytes.
    pub budget_gz: usize,
}

impl Function {
    pub fn deno_crate(&self) -> String {
        format!("portcullis-{}-deno", self.name)
    }
    pub fn worker_dir(&self) -> PathBuf {
        root().join(format!("crates/{}-worker", self.name))
    }
    pub fn js_name(&self) -> String {
        format!("portcullis_{}", self.name)
    }
    pub fn shim_dir(&self) -> PathBuf {
        root().join(format!("functions/portcullis-{}", self.name))
    }
    pub fn deno_wasm(&self) -> PathBuf {
        self.shim_dir()
            .join(format!("wasm/{}_bg.wasm", self.js_name()))
    }
    pub fn worker_wasm(&self) -> PathBuf {
        self.worker_dir().join("build/index_bg.wasm")
    }
}

pub const FUNCTIONS: &[Function] = &[Function {
    name: "hooks",
    budget_raw: 512 * 1024,
    budget_gz: 192 * 1024,
}];

pub fn function(name: &str) -> Result<&'static Function> {
    FUNCTIONS.iter().find(|f| f.name == name).ok_or_else(|| {
        format!(
            "unknown function `{name}` (known: {})",
            FUNCTIONS
                .iter()
                .map(|f| f.name)
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

/// Features rustc emits for our wasm32 builds (see .cargo/config.toml) that wasm-opt must accept.
pub const WASM_FEATURES: &[&str] = &[
    "--enable-simd",
    "--enable-bulk-memory",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
    "--enable-reference-types",
    "--enable-multivalue",
];

/// One measured module.
pub struct Size {
    pub function: &'static str,
    pub runtime: &'static str,
    pub raw: usize,
    pub gz: usize,
    pub budget_raw: usize,
    pub budget_gz: usize,
}

impl Size {
    fn measure(f: &'static Function, runtime: &'static str, path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&bytes).map_err(|e| e.to_string())?;
        let gz = gz.finish().map_err(|e| e.to_string())?.len();
        Ok(Self {
            function: f.name,
            runtime,
            raw: bytes.len(),
            gz,
            budget_raw: f.budget_raw,
            budget_gz: f.budget_gz,
        })
    }

    pub fn within_budget(&self) -> bool {
        self.raw <= self.budget_raw && self.gz <= self.budget_gz
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {:.1} KiB raw / {:.1} KiB gzipped (budget {} / {} KiB){}",
            self.function,
            self.runtime,
            self.raw as f64 / 1024.0,
            self.gz as f64 / 1024.0,
            self.budget_raw / 1024,
            self.budget_gz / 1024,
            if self.within_budget() {
                ""
            } else {
                "  OVER BUDGET"
            }
        )
    }
}

/// Builds the Supabase (Deno) module of `f`.
pub fn build_deno(tools: &Tools, f: &'static Function) -> Result<Size> {
    say(format!(
        "building {} for Supabase Edge Functions (Deno)",
        f.name
    ));
    run(Command::new("cargo").current_dir(root()).args([
        "build",
        "--quiet",
        "--release",
        "--target",
        "wasm32-unknown-unknown",
        "-p",
        &f.deno_crate(),
    ]))?;
    let input = root().join(format!(
        "target/wasm32-unknown-unknown/release/{}.wasm",
        f.deno_crate().replace('-', "_")
    ));
    let out = f.shim_dir().join("wasm");
    let staging = f.shim_dir().join("wasm.tmp");
    let _ = std::fs::remove_dir_all(&staging);
    bindgen_web(tools, &input, &staging, &f.js_name())?;
    let _ = std::fs::remove_dir_all(&out);
    std::fs::rename(&staging, &out).map_err(|e| format!("{}: {e}", out.display()))?;
    let size = Size::measure(f, "Supabase/Deno", &f.deno_wasm())?;
    note(size.to_string());
    Ok(size)
}

/// `wasm-bindgen --target web` of `input` into `out_dir` as `out_name`, then `wasm-opt -Oz` on
/// the module. Returns the optimised module's path.
pub fn bindgen_web(tools: &Tools, input: &Path, out_dir: &Path, out_name: &str) -> Result<PathBuf> {
    run(tools
        .command("wasm-bindgen")
        .args(["--target", "web", "--out-name", out_name, "--out-dir"])
        .arg(out_dir)
        .arg(input))?;
    let bg = out_dir.join(format!("{out_name}_bg.wasm"));
    run(tools
        .command("wasm-opt")
        .arg("-Oz")
        .args(WASM_FEATURES)
        .arg(&bg)
        .arg("-o")
        .arg(&bg))?;
    Ok(bg)
}

/// Builds the Cloudflare Worker of `f` with worker-build.
pub fn build_worker(tools: &Tools, f: &'static Function) -> Result<Size> {
    say(format!(
        "building {} for Cloudflare Workers (worker-build)",
        f.name
    ));
    run(tools
        .command("worker-build")
        .current_dir(f.worker_dir())
        .arg("--release")
        .env("WASM_BINDGEN_BIN", tools.bin("wasm-bindgen"))
        .env("WASM_OPT_BIN", tools.bin("wasm-opt"))
        .env("ESBUILD_BIN", tools.bin("esbuild")))?;
    // worker-build keeps the names section (--debuginfo); we ship without it.
    let wasm = f.worker_wasm();
    run(tools
        .command("wasm-opt")
        .arg("--strip-debug")
        .args(WASM_FEATURES)
        .arg("--enable-exception-handling")
        .arg(&wasm)
        .arg("-o")
        .arg(&wasm))?;
    let size = Size::measure(f, "Cloudflare/workerd", &wasm)?;
    note(size.to_string());
    Ok(size)
}

/// Fails when any module is over its budget.
pub fn check_budgets(sizes: &[Size]) -> Result {
    let over: Vec<String> = sizes
        .iter()
        .filter(|s| !s.within_budget())
        .map(ToString::to_string)
        .collect();
    if over.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "Wasm size budget exceeded:\n  {}",
            over.join("\n  ")
        ))
    }
}

/// `cargo xtask build [--deno NAME] [--worker NAME]` (no flags: everything).
pub fn command(args: &[String]) -> Result {
    if std::env::var_os("PORTCULLIS_SKIP_BUILD").is_some() {
        note("PORTCULLIS_SKIP_BUILD is set: using the existing build");
        return Ok(());
    }
    let tools = Tools::ensure()?;
    let mut sizes = Vec::new();
    let mut it = args.iter();
    let mut any = false;
    while let Some(a) = it.next() {
        let name = it
            .next()
            .ok_or_else(|| format!("{a} needs a function name"))?;
        match a.as_str() {
            "--deno" => sizes.push(build_deno(&tools, function(name)?)?),
            "--worker" => sizes.push(build_worker(&tools, function(name)?)?),
            other => return Err(format!("unknown option {other}")),
        }
        any = true;
    }
    if !any {
        sizes = build_all(&tools)?;
    }
    check_budgets(&sizes)
}

pub fn build_all(tools: &Tools) -> Result<Vec<Size>> {
    let mut sizes = Vec::new();
    for f in FUNCTIONS {
        sizes.push(build_deno(tools, f)?);
        sizes.push(build_worker(tools, f)?);
    }
    Ok(sizes)
}
