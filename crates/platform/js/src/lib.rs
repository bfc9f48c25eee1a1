//! The JavaScript-host adapter: runs a [`Function`] in any Fetch-API runtime — Deno and the
//! Supabase Edge Runtime, and workerd (Cloudflare Workers) — behind one small JS shim
//! (`functions/_shared/adapter.ts`).
//!
//! # Design
//! - **The shim does the I/O, Rust does the work, in one crossing.** The shim reads the few
//!   headers a function declares ([`Function::HEADERS`]) and the body (bounded) and calls
//!   [`JsApp::handle`] once with the method, URL, headers and body. Rust answers with a Fetch
//!   `Response` built in one call back into JS (`makeResponse`).
//! - **No promise when none is needed.** `handle` polls the request's future at once; a
//!   request that needs no I/O (the custom-access-token hook without a lookup, say) is answered
//!   synchronously. A request that waits (database, providers) gets a task id: the shim awaits
//!   it and polls the task again whenever its waker fires ([`poll`]); a promise Rust awaits is
//!   tracked by the shim, which reports its outcome ([`settle`], [`HostFuture`]). This small
//!   executor replaces `wasm-bindgen-futures`: every entry into Wasm is a call from the shim,
//!   inside its `try`, so a trap is always seen, and no Rust closure outlives an instance.
//! - **A trap re-creates the instance.** After a Wasm trap (a panic under `panic = "abort"`,
//!   or a bug) the module's memory cannot be trusted: the shim answers every request that
//!   instance was serving with a 500, re-instantiates the module (wasm-bindgen's
//!   `__wbg_reset_state`), builds the function again and serves on.
//! - Capabilities: [`JsClock`] (`Date.now()`), [`JsRandom`] (`crypto.getRandomValues`),
//!   [`ConsoleLog`], [`JsCrypto`] (`crypto.subtle`), [`JsDb`] (a query function the shim passes in: postgres.js, PGlite),
//!   [`JsOutbound`] (`fetch`) and [`JsEnv`] (a JS getter).
//!
//! # Threat model
//! - No request path panics by design (lints and fuzzing); if one does, see above.
//! - Oversized bodies are refused from `Content-Length` before reading, and streamed bodies
//!   are cut off at the limit, by the shim; [`JsApp::handle`] checks the size again.
//! - Nothing but the declared headers crosses into Wasm (cookies, authorization of other
//!   functions stay out).

mod crypto;
mod db;
mod host;
mod outbound;
mod task;

use std::rc::Rc;

use portcullis_core::{ConfigError, Db};
use portcullis_service::{
    Context, Function, Level, Log, Method, Request, Response, Status, error_response,
    payload_too_large,
};
use wasm_bindgen::prelude::*;

pub use crypto::JsCrypto;
pub use db::JsDb;
pub use host::{AssetSource, ConsoleLog, JsClock, JsEnv, JsRandom};
pub use outbound::JsOutbound;
pub use task::{HostFuture, poll, set_host, settle};

#[wasm_bindgen(module = "/js/host.js")]
extern "C" {
    #[wasm_bindgen(js_name = makeResponse, catch)]
    fn make_response(status: u16, head: &str, body: &[u8]) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = makeJsonResponse, catch)]
    fn make_json_response(status: u16, body: &[u8]) -> Result<JsValue, JsValue>;
}

fn internal_error() -> Response {
    error_response(
        Status::INTERNAL_SERVER_ERROR,
        "internal_error",
        "the function failed to process the request",
    )
}

fn describe(e: &JsValue) -> String {
    e.as_string()
        .or_else(|| {
            e.dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
        })
        .unwrap_or_else(|| "unknown JavaScript error".into())
}

/// A request from the shim's parts: only path and query of the URL are kept (the authority
/// is the platform's, not ours to trust); `head` is `name \n value \n …` with the names
/// `declared` (the function's headers: kept as the static names they are).
#[must_use]
pub fn to_request(
    method: &str,
    url: &str,
    head: &str,
    body: Vec<u8>,
    declared: &[&'static str],
) -> Request {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let target = after_scheme
        .find('/')
        .and_then(|i| after_scheme.get(i..))
        .unwrap_or("/");
    let mut out = Request::new(Method::parse(method), target);
    let mut lines = head.split('\n');
    while let (Some(name), Some(value)) = (lines.next(), lines.next()) {
        match declared.iter().find(|d| **d == name) {
            Some(known) => out.headers.append_value(known, value),
            None => out.headers.append(name, value),
        }
    }
    out.body = body;
    out
}

/// Converts a response into a Fetch `Response` (one call into JS).
///
/// # Errors
/// When the runtime refuses to build the response.
pub fn to_web_response(response: &Response) -> Result<JsValue, JsValue> {
    // Most answers are JSON with no-store and nothing else: their headers are a constant on
    // the JS side (building a headers object per response costs more than the response).
    let mut names = response.headers.iter();
    if let (Some(("content-type", "application/json")), Some(("cache-control", "no-store")), None) =
        (names.next(), names.next(), names.next())
    {
        return make_json_response(response.status.as_u16(), &response.body);
    }
    let mut head = String::with_capacity(96);
    for (name, value) in response.headers.iter() {
        head.push_str(name);
        head.push('\n');
        head.push_str(value);
        head.push('\n');
    }
    make_response(response.status.as_u16(), &head, &response.body)
}

/// [`to_web_response`], falling back to a plain 500 (logged) when the runtime refuses.
fn web_response(response: &Response, log: &dyn Log) -> JsValue {
    to_web_response(response).unwrap_or_else(|e| {
        log.log(Level::Error, "response_conversion_failed", &describe(&e));
        to_web_response(&internal_error()).unwrap_or(JsValue::NULL)
    })
}

/// Checks that a function which needs a database has one.
///
/// # Errors
/// A message for the operator.
pub fn check_database<F: Function>(function: &F, has_db: bool, how_to: &str) -> Result<(), String> {
    if function.needs_db() && !has_db {
        return Err(format!(
            "{}: the configuration needs a database but none is configured ({how_to})",
            F::NAME
        ));
    }
    Ok(())
}

struct Inner<F> {
    function: F,
    log: ConsoleLog,
}

/// A function bound to its JavaScript host: configuration read once, requests served many
/// times.
pub struct JsApp<F> {
    inner: Rc<Inner<F>>,
}

impl<F: Function + 'static> JsApp<F> {
    /// Builds the function from `env` (`(name) => string | undefined`). `has_db` says whether
    /// the shim can reach a database (it passes a query function with each request).
    ///
    /// # Errors
    /// A JavaScript `Error` whose message names the misconfigured variable.
    pub fn new(env: js_sys::Function, has_db: bool, assets: AssetSource) -> Result<Self, JsError> {
        let log = ConsoleLog::new(F::NAME);
        let function = F::from_env(&JsEnv::new(env, assets)).map_err(|e: ConfigError| {
            log.log(Level::Error, "config_invalid", &e.to_string());
            JsError::new(&e.to_string())
        })?;
        check_database(
            &function,
            has_db,
            "set PORTCULLIS_DB_URL (Supabase) or bind HYPERDRIVE (Cloudflare)",
        )
        .map_err(|m| {
            log.log(Level::Error, "config_invalid", &m);
            JsError::new(&m)
        })?;
        Ok(Self {
            inner: Rc::new(Inner { function, log }),
        })
    }

    /// The request headers the shim must pass (lowercase), `content-length` first.
    #[must_use]
    pub fn header_names(&self) -> js_sys::Array {
        std::iter::once("content-length")
            .chain(F::HEADERS.iter().copied())
            .map(JsValue::from_str)
            .collect()
    }

    /// The body limit the shim enforces while reading.
    #[must_use]
    pub fn max_body(&self) -> usize {
        self.inner.function.max_body_bytes()
    }

    /// The answer to a body over [`JsApp::max_body`] (the shim stops reading).
    #[must_use]
    pub fn too_large(&self) -> JsValue {
        web_response(
            &payload_too_large(self.inner.function.max_body_bytes()),
            &self.inner.log,
        )
    }

    /// Answers one request: a `Response`, or a task id (a number) to [`poll`] when it waits
    /// for I/O. `query` reaches the database for this request (`None`: no database).
    pub fn handle(
        &self,
        method: &str,
        url: &str,
        head: &str,
        body: Vec<u8>,
        query: Option<js_sys::Function>,
    ) -> JsValue {
        let request = to_request(method, url, head, body, F::HEADERS);
        let inner = Rc::clone(&self.inner);
        task::run(async move {
            let log = inner.log;
            let response = respond(&inner.function, &JsDb::new(query), &log, request).await;
            web_response(&response, &log)
        })
    }
}

/// Runs one request through `function` with the JS host's capabilities.
pub async fn respond<F: Function, D: Db>(
    function: &F,
    db: &D,
    log: &dyn Log,
    request: Request,
) -> Response {
    let limit = function.max_body_bytes();
    if request.body.len() > limit {
        return payload_too_large(limit);
    }
    let ctx = Context {
        clock: &JsClock,
        random: &JsRandom,
        crypto: if F::USES_CRYPTO {
            &JsCrypto
        } else {
            &portcullis_core::NoCrypto
        },
        db,
        http: &JsOutbound,
        log,
    };
    function.handle(&ctx, request).await
}

/// Exports a [`Function`] to JavaScript as a class for the shared shim
/// (`functions/_shared/adapter.ts`): `new Name(env, hasDb)`, `headerNames()`, `maxBody()`,
/// `tooLarge()`, `handle(method, url, head, body, query?)`, plus the free functions `poll(id)`,
/// `setHost(wake, track)` and `settle(ticket, ok, value)`.
/// `$assets` provides the function's data assets ([`AssetSource`]).
#[macro_export]
macro_rules! export_function {
    ($js_name:ident, $function:ty, $assets:expr) => {
        /// The function, bound to its JavaScript host.
        #[::wasm_bindgen::prelude::wasm_bindgen]
        pub struct $js_name($crate::JsApp<$function>);

        #[::wasm_bindgen::prelude::wasm_bindgen]
        impl $js_name {
            /// Reads the configuration through `env` (`(name) => string | undefined`);
            /// `has_db`: a database query function comes with each request.
            ///
            /// # Errors
            /// An `Error` naming the misconfigured variable.
            #[::wasm_bindgen::prelude::wasm_bindgen(constructor)]
            pub fn new(
                env: ::js_sys::Function,
                has_db: bool,
            ) -> Result<$js_name, ::wasm_bindgen::JsError> {
                $crate::JsApp::new(env, has_db, $assets).map(Self)
            }

            /// The request headers to pass to `handle`.
            #[::wasm_bindgen::prelude::wasm_bindgen(js_name = headerNames)]
            pub fn header_names(&self) -> ::js_sys::Array {
                self.0.header_names()
            }

            /// The body limit in bytes.
            #[::wasm_bindgen::prelude::wasm_bindgen(js_name = maxBody)]
            pub fn max_body(&self) -> usize {
                self.0.max_body()
            }

            /// The 413 answer.
            #[::wasm_bindgen::prelude::wasm_bindgen(js_name = tooLarge)]
            pub fn too_large(&self) -> ::wasm_bindgen::JsValue {
                self.0.too_large()
            }

            /// A `Response`, or a task id to `poll` when the request waits for I/O.
            pub fn handle(
                &self,
                method: &str,
                url: &str,
                head: &str,
                body: Vec<u8>,
                query: Option<::js_sys::Function>,
            ) -> ::wasm_bindgen::JsValue {
                self.0.handle(method, url, head, body, query)
            }
        }

        /// Polls task `id`: its `Response` once done, else `undefined`.
        #[::wasm_bindgen::prelude::wasm_bindgen]
        pub fn poll(id: u32) -> ::wasm_bindgen::JsValue {
            $crate::poll(id)
        }

        /// Sets the shim's `wake(id)` and `track(promise, ticket)`.
        #[::wasm_bindgen::prelude::wasm_bindgen(js_name = setHost)]
        pub fn set_host(wake: ::js_sys::Function, track: ::js_sys::Function) {
            $crate::set_host(wake, track)
        }

        /// The outcome of a tracked promise.
        #[::wasm_bindgen::prelude::wasm_bindgen]
        pub fn settle(ticket: u32, ok: bool, value: ::wasm_bindgen::JsValue) {
            $crate::settle(ticket, ok, value)
        }
    };
}
