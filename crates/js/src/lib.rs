//! The JavaScript-host adapter: runs a [`Function`] in any Fetch-API runtime (Deno and the
//! Supabase Edge Runtime through a wasm-bindgen shim; workerd through `portcullis-worker`).
//!
//! # Design
//! - Converts `Request`/`Response` with one boundary crossing for the head
//!   ([`requestHead`](../js/host.js)) and one for the body, bounding the body before it is
//!   read.
//! - Provides the capabilities a function's [`Context`] needs: [`JsClock`] (`Date.now()`),
//!   [`JsRandom`] (`crypto.getRandomValues`), [`ConsoleLog`] (JSON lines on the console),
//!   [`JsDb`] (a JS query function the shim passes in) and [`JsEnv`] (a JS getter).
//! - [`JsApp`] is the whole per-function surface; [`export_function!`] turns it into a
//!   wasm-bindgen class with `new(env, query)` and `fetch(request)`.
//!
//! # Threat model
//! - No request path panics: every JS failure becomes a 500 JSON answer and a log line.
//! - Oversized bodies are refused from `Content-Length` before reading, and streamed bodies
//!   are cut off at the limit.

mod db;
mod host;
mod outbound;

use std::rc::Rc;

use js_sys::{Promise, Uint8Array};
use portcullis_core::{ConfigError, Db};
use portcullis_service::{
    Context, Function, Level, Log, Method, Request, Response, Status, error_response,
    payload_too_large,
};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

pub use db::JsDb;
pub use host::{AssetSource, ConsoleLog, JsClock, JsEnv, JsRandom};
pub use outbound::JsOutbound;

#[wasm_bindgen(module = "/js/host.js")]
extern "C" {
    #[wasm_bindgen(js_name = requestHead)]
    fn request_head(request: &web_sys::Request, names: &js_sys::Array) -> String;
    #[wasm_bindgen(js_name = makeResponse, catch)]
    fn make_response(status: u16, head: &str, body: &[u8]) -> Result<web_sys::Response, JsValue>;
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

/// Converts a Fetch `Request`, reading at most `max_body` bytes. `Err` is the response to
/// send instead (413 or 400).
///
/// # Errors
/// The ready-made error response.
pub async fn to_request(
    request: &web_sys::Request,
    headers: &js_sys::Array,
    max_body: usize,
    log: &dyn Log,
) -> Result<Request, Response> {
    let head = request_head(request, headers);
    let mut lines = head.split('\n');
    let (Some(method), Some(url)) = (lines.next(), lines.next()) else {
        return Err(internal_error());
    };
    // Keep only path and query: the authority is the platform's, not ours to trust.
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let target = after_scheme
        .find('/')
        .and_then(|i| after_scheme.get(i..))
        .unwrap_or("/");
    let mut out = Request::new(Method::parse(method), target);
    let mut declared: Option<usize> = None;
    while let (Some(name), Some(value)) = (lines.next(), lines.next()) {
        if name.eq_ignore_ascii_case("content-length") {
            declared = value.trim().parse().ok();
        }
        out.headers.append(name, value);
    }
    if declared.is_some_and(|n| n > max_body) {
        return Err(payload_too_large(max_body));
    }
    match read_body(request, max_body, declared.is_some()).await {
        Ok(Some(body)) => {
            out.body = body;
            Ok(out)
        }
        Ok(None) => Err(payload_too_large(max_body)),
        Err(e) => {
            log.log(Level::Error, "request_body_unreadable", &describe(&e));
            Err(error_response(
                Status::BAD_REQUEST,
                "bad_request",
                "the request body could not be read",
            ))
        }
    }
}

/// Reads the body; `Ok(None)` when it exceeds `max`.
async fn read_body(
    request: &web_sys::Request,
    max: usize,
    length_known: bool,
) -> Result<Option<Vec<u8>>, JsValue> {
    if length_known {
        // The runtime enforces Content-Length, which we already bounded. (Not touching
        // `request.body` here spares Deno materialising a stream.)
        let buf = JsFuture::from(request.array_buffer()?).await?;
        let bytes = Uint8Array::new(&buf).to_vec();
        return Ok((bytes.len() <= max).then_some(bytes));
    }
    let Some(stream) = request.body() else {
        return Ok(Some(Vec::new()));
    };
    let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut body = Vec::new();
    loop {
        let chunk: web_sys::ReadableStreamReadResult =
            JsFuture::from(reader.read()).await?.unchecked_into();
        if chunk.get_done().unwrap_or(true) {
            return Ok(Some(body));
        }
        let bytes = Uint8Array::new(&chunk.get_value());
        if body.len() + bytes.length() as usize > max {
            let _ = reader.cancel();
            return Ok(None);
        }
        body.extend_from_slice(&bytes.to_vec());
    }
}

/// Converts a response into a Fetch `Response`.
///
/// # Errors
/// When the runtime refuses to build the response.
pub fn to_web_response(response: &Response) -> Result<web_sys::Response, JsValue> {
    let mut head = String::with_capacity(128);
    for (name, value) in response.headers.iter() {
        head.push_str(name);
        head.push('\n');
        head.push_str(value);
        head.push('\n');
    }
    make_response(response.status.as_u16(), &head, &response.body)
}

/// The headers the adapter reads for `F`: its own plus `content-length` (for the body limit).
/// Build it once per instance and pass it to [`respond`].
#[must_use]
pub fn header_names<F: Function>() -> js_sys::Array {
    std::iter::once("content-length")
        .chain(F::HEADERS.iter().copied())
        .map(JsValue::from_str)
        .collect()
}

/// Runs one request through `function`, never failing: any adapter error becomes a 500
/// answer and a log line.
pub async fn respond<F: Function, D: Db>(
    function: &F,
    headers: &js_sys::Array,
    db: &D,
    log: &dyn Log,
    request: web_sys::Request,
) -> Result<web_sys::Response, JsValue> {
    let response = match to_request(&request, headers, function.max_body_bytes(), log).await {
        Ok(req) => {
            let ctx = Context {
                clock: &JsClock,
                random: &JsRandom,
                db,
                http: &JsOutbound,
                log,
            };
            function.handle(&ctx, req).await
        }
        Err(answer) => answer,
    };
    to_web_response(&response).or_else(|e| {
        log.log(Level::Error, "response_conversion_failed", &describe(&e));
        to_web_response(&internal_error())
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
    headers: js_sys::Array,
    db: JsDb,
    log: ConsoleLog,
}

/// A function bound to its JavaScript host: configuration read once, requests served many
/// times.
pub struct JsApp<F> {
    inner: Rc<Inner<F>>,
}

impl<F: Function + 'static> JsApp<F> {
    /// Builds the function from `env` (`(name) => string | undefined`) and an optional
    /// query function (`(sql, params) => Promise<(string|null)[][]>`).
    ///
    /// # Errors
    /// A JavaScript `Error` whose message names the misconfigured variable.
    pub fn new(
        env: js_sys::Function,
        query: Option<js_sys::Function>,
        assets: AssetSource,
    ) -> Result<Self, JsError> {
        let log = ConsoleLog::new(F::NAME);
        let function = F::from_env(&JsEnv::new(env, assets)).map_err(|e: ConfigError| {
            log.log(Level::Error, "config_invalid", &e.to_string());
            JsError::new(&e.to_string())
        })?;
        check_database(
            &function,
            query.is_some(),
            "set PORTCULLIS_DB_URL or SUPABASE_DB_URL",
        )
        .map_err(|m| JsError::new(&m))?;
        Ok(Self {
            inner: Rc::new(Inner {
                function,
                headers: header_names::<F>(),
                db: JsDb::new(query),
                log,
            }),
        })
    }

    /// Answers one request; the promise always resolves to a `Response`.
    pub fn fetch(&self, request: web_sys::Request) -> Promise {
        let inner = Rc::clone(&self.inner);
        wasm_bindgen_futures::future_to_promise(async move {
            respond(
                &inner.function,
                &inner.headers,
                &inner.db,
                &inner.log,
                request,
            )
            .await
            .map(JsValue::from)
        })
    }
}

/// Exports a [`Function`] to JavaScript as a class: `new Name(env, query?)` and
/// `name.fetch(request)`. `$assets` provides the function's data assets ([`AssetSource`]).
#[macro_export]
macro_rules! export_function {
    ($js_name:ident, $function:ty, $assets:expr) => {
        /// The function, bound to its JavaScript host.
        #[::wasm_bindgen::prelude::wasm_bindgen]
        pub struct $js_name($crate::JsApp<$function>);

        #[::wasm_bindgen::prelude::wasm_bindgen]
        impl $js_name {
            /// Reads the configuration through `env` (`(name) => string | undefined`); `query`
            /// (`(sql, params) => Promise<(string|null)[][]>`) reaches the database.
            ///
            /// # Errors
            /// An `Error` naming the misconfigured variable.
            #[::wasm_bindgen::prelude::wasm_bindgen(constructor)]
            pub fn new(
                env: ::js_sys::Function,
                query: Option<::js_sys::Function>,
            ) -> Result<$js_name, ::wasm_bindgen::JsError> {
                $crate::JsApp::new(env, query, $assets).map(Self)
            }

            /// Answers one request.
            pub fn fetch(&self, request: ::web_sys::Request) -> ::js_sys::Promise {
                self.0.fetch(request)
            }
        }
    };
}
