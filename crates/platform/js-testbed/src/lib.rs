//! A function that exists only to test the JS adapter and the shared shim (`tests/trap.test.ts`
//! builds it and serves it on Deno and workerd): `/ok` answers at once, `/wait` answers after a
//! timer (a parked task), `/db` runs one query through the request's query function, and
//! `/trap` and `/trap-later` panic — at once, or after a timer — which under
//! `panic = "abort"` is a genuine Wasm trap. Never deployed; no production module has these
//! routes.

#![allow(clippy::panic)]

use portcullis_core::{ConfigError, Db, Env, Outbound, Statement};
use portcullis_service::{
    Context, Function, Request, Response, Status, error_response, json_bytes_response,
};

/// The test function.
#[derive(Debug)]
pub struct Testbed;

impl Function for Testbed {
    const NAME: &'static str = "portcullis-testbed";
    const HEADERS: &'static [&'static str] = &[];

    fn from_env(_env: &dyn Env) -> Result<Self, ConfigError> {
        Ok(Self)
    }

    fn needs_db(&self) -> bool {
        false
    }

    fn max_body_bytes(&self) -> usize {
        1024
    }

    async fn handle<D: Db, H: Outbound>(
        &self,
        ctx: &Context<'_, D, H>,
        request: Request,
    ) -> Response {
        match request.path() {
            "/ok" => json_bytes_response(Status::OK, b"{\"ok\":true}".to_vec()),
            "/wait" => {
                ctx.http.wait(20).await;
                json_bytes_response(Status::OK, b"{\"waited\":true}".to_vec())
            }
            "/db" => match ctx.db.query(&Statement::new("select 1")).await {
                Ok(rows) => json_bytes_response(
                    Status::OK,
                    format!("{{\"rows\":{}}}", rows.len()).into_bytes(),
                ),
                Err(_) => error_response(Status::SERVICE_UNAVAILABLE, "db", "query failed"),
            },
            "/trap" => panic!("testbed: trap now"),
            "/trap-later" => {
                ctx.http.wait(5).await;
                panic!("testbed: trap after a wait")
            }
            _ => error_response(Status::NOT_FOUND, "not_found", "no such route"),
        }
    }
}

portcullis_js::export_function!(TestbedFunction, Testbed, |_| None);
