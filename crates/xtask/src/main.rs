//! `cargo xtask <command>`: the project's two commands and their helpers.
//!
//! - `dev`: set up what is missing, build, serve every function locally (Deno + PGlite),
//!   print what to try; Ctrl-C stops.
//! - `test`: set up, then run every suite (see `test.rs`). `--no-lint` skips fmt/clippy;
//!   `--only sign` or `--only sso` runs one function's suites.
//! - `build`: build Wasm for both runtimes and check the size budgets (`--deno NAME`,
//!   `--worker NAME` for one target).
//! - `bench`: the benchmarks in bench/ (see BENCHMARKS.md).
//! - `update-disposable-domains [VERSION]`: refresh the shipped disposable-domain blocklist.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    missing_docs,
    unreachable_pub
)]
#![allow(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used)]

mod assets;
mod bench;
mod bench_db;
mod bench_pat;
mod bench_sign;
mod db;
mod dev;
mod harness;
mod pat;
mod pg;
mod sign;
mod sso;
mod test;
mod tools;
mod util;
mod wasm;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <dev | test [--no-lint] [--only sign|sso] | build [--deno NAME] [--worker NAME] | bench [--seconds N] [--pat | --sign | --db] | update-disposable-domains [VERSION]>";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or_default();
    let result = match args.first().map(String::as_str) {
        Some("dev") => dev::command(rest),
        Some("test") => test::command(rest),
        Some("build") => wasm::command(rest),
        Some("bench") => bench::command(rest),
        Some("update-disposable-domains") => assets::update_disposable(rest),
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\x1b[1;31mxtask: {e}\x1b[0m");
            ExitCode::FAILURE
        }
    }
}
