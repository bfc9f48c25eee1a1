//! The sso function's suites. So far its state layer: tests/sso-sql.test.ts calls the
//! `portcullis.sso_*` functions as `portcullis_fn` on the harness's PostgreSQL (races between
//! redemption, refresh and logout included); the served function's suites join it here.

use crate::pg::TestPostgres;
use crate::tools::Tools;
use crate::util::{Result, say};

/// Runs the sso suites against `pg`, where `fn_url` connects as `portcullis_fn`, and returns
/// what failed.
pub fn suite(tools: &Tools, pg: &TestPostgres, fn_url: &str) -> Result<Vec<String>> {
    say("sso state layer: codes, refresh families, logout races, consent (tests/sso-sql.test.ts)");
    let status = tools
        .deno_test("tests/sso-sql.test.ts")
        .env("PORTCULLIS_ADMIN_DB_URL", pg.superuser_url())
        .env("PORTCULLIS_FN_DB_URL", fn_url)
        .status()
        .map_err(|e| e.to_string())?;
    Ok(if status.success() {
        Vec::new()
    } else {
        vec!["sso state layer (tests/sso-sql.test.ts)".to_owned()]
    })
}
