//! Builds each function for both runtimes and checks its size budgets.
//!
//! One Wasm module serves both: `cargo build` the `<fn>-wasm` crate for wasm32,
//! `wasm-bindgen --target web --experimental-reset-state-function` (the shim re-instantiates
//! after a trap), `wasm-opt -Oz`, into `functions/portcullis-<fn>/wasm/`.
//! - Supabase (Deno): `functions/portcullis-<fn>/index.ts` loads it with `Deno.readFile`
//!   (listed in `supabase/config.toml` `static_files`).
//! - Cloudflare: esbuild bundles `functions/portcullis-<fn>/worker.ts` (the shared shim and
//!   postgres.js for Hyperdrive) into `functions/portcullis-<fn>/worker/index.js`, next to a
//!   copy of the module (`wrangler.toml` deploys that folder unbundled).

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
    /// Maximum size of the Workers bundle's JavaScript (shim, glue, postgres.js, assets),
    /// gzip -9 bytes.
    pub budget_worker_js_gz: usize,
}

impl Function {
    pub fn wasm_crate(&self) -> String {
        format!("portcullis-{}-wasm", self.name)
    }
    pub fn js_name(&self) -> String {
        format!("portcullis_{}", self.name)
    }
    pub fn shim_dir(&self) -> PathBuf {
        root().join(format!("functions/portcullis-{}", self.name))
    }
    pub fn wasm(&self) -> PathBuf {
        self.shim_dir()
            .join(format!("wasm/{}_bg.wasm", self.js_name()))
    }
    /// The Workers bundle: `index.js` and the module.
    pub fn worker_dir(&self) -> PathBuf {
        self.shim_dir().join("worker")
    }
}

pub const FUNCTIONS: &[Function] = &[
    Function {
        name: "hooks",
        budget_raw: 512 * 1024,
        budget_gz: 192 * 1024,
        budget_worker_js_gz: 96 * 1024,
    },
    Function {
        name: "pat",
        budget_raw: 448 * 1024,
        budget_gz: 192 * 1024,
        budget_worker_js_gz: 96 * 1024,
    },
    Function {
        name: "sign",
        budget_raw: 416 * 1024,
        budget_gz: 168 * 1024,
        // No database: the shim and glue only (functions/_shared/worker-fetch.ts), 7 KiB.
        budget_worker_js_gz: 12 * 1024,
    },
];

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
    fn measure(
        f: &'static Function,
        runtime: &'static str,
        path: &Path,
        budget_raw: usize,
        budget_gz: usize,
    ) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&bytes).map_err(|e| e.to_string())?;
        let gz = gz.finish().map_err(|e| e.to_string())?.len();
        Ok(Self {
            function: f.name,
            runtime,
            raw: bytes.len(),
            gz,
            budget_raw,
            budget_gz,
        })
    }

    pub fn within_budget(&self) -> bool {
        self.raw <= self.budget_raw && self.gz <= self.budget_gz
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let raw_budget = if self.budget_raw == usize::MAX {
            "-".to_owned()
        } else {
            (self.budget_raw / 1024).to_string()
        };
        write!(
            f,
            "{} ({}): {:.1} KiB raw / {:.1} KiB gzipped (budget {raw_budget} / {} KiB){}",
            self.function,
            self.runtime,
            self.raw as f64 / 1024.0,
            self.gz as f64 / 1024.0,
            self.budget_gz / 1024,
            if self.within_budget() {
                ""
            } else {
                "  OVER BUDGET"
            }
        )
    }
}

/// Builds the Wasm module of `f` (both runtimes load it).
pub fn build_module(tools: &Tools, f: &'static Function) -> Result<Size> {
    say(format!("building the {} module (Deno and workerd)", f.name));
    run(Command::new("cargo").current_dir(root()).args([
        "build",
        "--quiet",
        "--release",
        "--target",
        "wasm32-unknown-unknown",
        "-p",
        &f.wasm_crate(),
    ]))?;
    let input = root().join(format!(
        "target/wasm32-unknown-unknown/release/{}.wasm",
        f.wasm_crate().replace('-', "_")
    ));
    let out = f.shim_dir().join("wasm");
    let staging = f.shim_dir().join("wasm.tmp");
    let _ = std::fs::remove_dir_all(&staging);
    bindgen_web(tools, &input, &staging, &f.js_name())?;
    let _ = std::fs::remove_dir_all(&out);
    std::fs::rename(&staging, &out).map_err(|e| format!("{}: {e}", out.display()))?;
    let size = Size::measure(
        f,
        "Wasm, both runtimes",
        &f.wasm(),
        f.budget_raw,
        f.budget_gz,
    )?;
    note(size.to_string());
    Ok(size)
}

/// `wasm-bindgen --target web` of `input` into `out_dir` as `out_name`, then `wasm-opt -Oz` on
/// the module. Returns the optimised module's path.
pub fn bindgen_web(tools: &Tools, input: &Path, out_dir: &Path, out_name: &str) -> Result<PathBuf> {
    run(tools
        .command("wasm-bindgen")
        .args([
            "--target",
            "web",
            "--experimental-reset-state-function",
            "--out-name",
            out_name,
            "--out-dir",
        ])
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

/// Bundles the Cloudflare Worker of `f` (after [`build_module`]): esbuild with the `workerd`
/// conditions (postgres.js's Workers build), Node built-ins and the module left to the runtime.
pub fn build_worker(tools: &Tools, f: &'static Function) -> Result<Size> {
    say(format!(
        "bundling {} for Cloudflare Workers (esbuild)",
        f.name
    ));
    let out = f.worker_dir();
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let wasm_name = format!("{}_bg.wasm", f.js_name());
    bundle_worker(
        tools,
        &f.shim_dir().join("worker.ts"),
        &out.join("index.js"),
        &[&format!("./wasm/{wasm_name}")],
    )?;
    // The bundle imports the module as ./wasm/<name>; keep that layout.
    std::fs::create_dir_all(out.join("wasm")).map_err(|e| e.to_string())?;
    std::fs::copy(f.wasm(), out.join("wasm").join(&wasm_name)).map_err(|e| e.to_string())?;
    let size = Size::measure(
        f,
        "Workers bundle JS",
        &out.join("index.js"),
        usize::MAX,
        f.budget_worker_js_gz,
    )?;
    note(size.to_string());
    Ok(size)
}

/// esbuild of a Worker entry point into one ES module, as every Worker here is bundled (ours
/// and the bench's comparisons): the `workerd` conditions (postgres.js's Workers build), Node
/// built-ins, `cloudflare:` modules and `externals` left to the runtime, `.txt`/`.html`
/// imports as text. Packages resolve from the tools' node_modules as well.
pub fn bundle_worker(tools: &Tools, entry: &Path, outfile: &Path, externals: &[&str]) -> Result {
    let mut cmd = tools.command("esbuild");
    cmd.current_dir(root()).arg(entry).args([
        "--bundle",
        "--format=esm",
        "--platform=neutral",
        "--target=es2022",
        "--conditions=workerd,worker,import",
        "--main-fields=module,main",
        "--external:node:*",
        "--external:cloudflare:*",
        "--loader:.txt=text",
        "--loader:.html=text",
        "--minify-syntax",
        "--log-level=warning",
    ]);
    for e in externals {
        cmd.arg(format!("--external:{e}"));
    }
    cmd.arg(format!("--outfile={}", outfile.display())).env(
        "NODE_PATH",
        crate::util::state("tools").join("node_modules"),
    );
    run(&mut cmd)
}

/// Builds the adapter's test function (crates/platform/js-testbed) into `target/testbed/`: the module
/// for Deno, and a Worker bundle of it with the shared shim in `target/testbed/worker/`.
pub fn build_testbed(tools: &Tools) -> Result<PathBuf> {
    say("building the adapter testbed (trap recovery)");
    run(Command::new("cargo").current_dir(root()).args([
        "build",
        "--quiet",
        "--release",
        "--target",
        "wasm32-unknown-unknown",
        "-p",
        "portcullis-js-testbed",
    ]))?;
    let dir = root().join("target/testbed");
    let _ = std::fs::remove_dir_all(&dir);
    bindgen_web(
        tools,
        &root().join("target/wasm32-unknown-unknown/release/portcullis_js_testbed.wasm"),
        &dir,
        "portcullis_js_testbed",
    )?;
    let adapter = root().join("functions/_shared/adapter.ts");
    std::fs::write(
        dir.join("worker.ts"),
        format!(
            "import * as glue from \"./portcullis_js_testbed.js\";\n\
             import wasmBytes from \"./portcullis_js_testbed_bg.wasm\";\n\
             import {{ Served, wasmModule }} from {:?};\n\
             glue.initSync({{ module: wasmBytes }});\n\
             let served: Served<any> | undefined;\n\
             export default {{\n  fetch(request: Request): Promise<Response> {{\n    \
             served ??= new Served(wasmModule(glue, (env, hasDb) => new glue.TestbedFunction(env, hasDb)), () => undefined, false);\n    \
             return served.fetch(request);\n  }},\n}};\n",
            adapter.display().to_string()
        ),
    )
    .map_err(|e| e.to_string())?;
    let out = dir.join("worker");
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    bundle_worker(
        tools,
        &dir.join("worker.ts"),
        &out.join("index.js"),
        &["./portcullis_js_testbed_bg.wasm"],
    )?;
    std::fs::copy(
        dir.join("portcullis_js_testbed_bg.wasm"),
        out.join("portcullis_js_testbed_bg.wasm"),
    )
    .map_err(|e| e.to_string())?;
    Ok(dir)
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
            "--deno" => sizes.push(build_module(&tools, function(name)?)?),
            "--worker" => {
                let f = function(name)?;
                sizes.push(build_module(&tools, f)?);
                sizes.push(build_worker(&tools, f)?);
            }
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
        sizes.push(build_module(tools, f)?);
        sizes.push(build_worker(tools, f)?);
    }
    Ok(sizes)
}
