//! The Cloudflare Workers adapter: runs a [`Function`] under workerd with workers-rs.
//!
//! # Design
//! - Request and response conversion, clock, randomness and logging are shared with the
//!   Deno adapter ([`portcullis_js`]); this crate adds what is Workers-specific: configuration
//!   from `env` (secrets and vars), Postgres through a Hyperdrive binding named
//!   [`HYPERDRIVE_BINDING`], and per-isolate state built once ([`worker_function!`]).
//! - Postgres is spoken by our own small client ([`portcullis_pgwire`]) over the binding's
//!   socket: one connection per request (I/O objects cannot outlive a request in Workers;
//!   Hyperdrive pools the real connections), opened on the first query only.
//!
//! # Threat model
//! - A misconfigured isolate answers 500 with a fixed body and logs the configuration error
//!   (which names the variable, never its value).
//! - Database errors are logged with their SQLSTATE; clients see the function's own mapping.

use std::cell::RefCell;
use std::rc::Rc;

use portcullis_core::{ConfigError, Db, DbError, Env, Row, Secret, Statement, random_array};
use portcullis_js::{
    AssetSource, ConsoleLog, JsRandom, check_database, header_names, respond, to_web_response,
};
use portcullis_pgwire::{ConnectConfig, Connection, ScramCache, Transport};
use portcullis_service::{Function, Level, Log, Status, error_response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wasm_bindgen::JsValue;

pub use worker;

/// The name of the Hyperdrive binding in `wrangler.toml`.
pub const HYPERDRIVE_BINDING: &str = "HYPERDRIVE";

/// Configuration from the Worker's `env` (secrets first, then plain vars) and the function's
/// assets.
pub struct WorkerEnv<'a> {
    env: &'a worker::Env,
    assets: AssetSource,
}

impl Env for WorkerEnv<'_> {
    fn var(&self, name: &str) -> Option<String> {
        let value = match self.env.secret(name) {
            Ok(s) => Some(s.to_string()),
            Err(_) => self.env.var(name).ok().map(|v| v.to_string()),
        };
        value.filter(|v| !v.trim().is_empty())
    }

    fn asset(&self, name: &str) -> Option<String> {
        (self.assets)(name)
    }
}

/// What an isolate keeps between requests.
pub struct Isolate<F> {
    function: F,
    headers: js_sys::Array,
    scram: ScramCache,
}

impl<F: Function> Isolate<F> {
    /// Builds the function from `env`.
    ///
    /// # Errors
    /// The configuration problem, as text for the log.
    pub fn new(env: &worker::Env, assets: AssetSource) -> Result<Self, String> {
        let log = ConsoleLog::new(F::NAME);
        let function =
            F::from_env(&WorkerEnv { env, assets }).map_err(|e: ConfigError| e.to_string());
        let function = function.and_then(|f| {
            check_database(
                &f,
                env.hyperdrive(HYPERDRIVE_BINDING).is_ok(),
                "bind a Hyperdrive configuration as HYPERDRIVE in wrangler.toml",
            )
            .map(|()| f)
        });
        match function {
            Ok(function) => Ok(Self {
                function,
                headers: header_names::<F>(),
                scram: ScramCache::default(),
            }),
            Err(message) => {
                log.log(Level::Error, "config_invalid", &message);
                Err(message)
            }
        }
    }
}

/// A Workers TCP socket as a [`Transport`].
struct SocketIo(worker::Socket);

impl Transport for SocketIo {
    async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf).await
    }

    async fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        AsyncWriteExt::write_all(&mut self.0, buf).await
    }
}

/// Postgres through the Hyperdrive binding, for one request: the binding is looked up and the
/// connection opened on the first query only.
pub struct HyperdriveDb<'a> {
    env: &'a worker::Env,
    scram: &'a ScramCache,
    conn: RefCell<Option<Connection<SocketIo>>>,
}

impl<'a> HyperdriveDb<'a> {
    fn new(env: &'a worker::Env, scram: &'a ScramCache) -> Self {
        Self {
            env,
            scram,
            conn: RefCell::new(None),
        }
    }

    async fn connect(&self, binding: &worker::Hyperdrive) -> Result<Connection<SocketIo>, DbError> {
        let unavailable = |detail: String| DbError::Unavailable { detail };
        let socket = binding
            .connect()
            .map_err(|e| unavailable(format!("Hyperdrive connect: {e}")))?;
        let nonce: [u8; 18] = random_array(&JsRandom).map_err(|e| unavailable(e.to_string()))?;
        let config = ConnectConfig {
            user: binding.user(),
            password: Some(Secret::new(binding.password())),
            database: binding.database(),
            application_name: "portcullis".into(),
        };
        Ok(Connection::connect(SocketIo(socket), &config, &nonce, self.scram).await?)
    }

    async fn close(self) {
        if let Some(conn) = self.conn.into_inner() {
            conn.close().await;
        }
    }
}

impl Db for HyperdriveDb<'_> {
    async fn query(&self, statement: &Statement) -> Result<Vec<Row>, DbError> {
        let existing = self.conn.borrow_mut().take();
        let mut conn = match existing {
            Some(conn) => conn,
            None => {
                let binding = self
                    .env
                    .hyperdrive(HYPERDRIVE_BINDING)
                    .map_err(|_| DbError::NotConfigured)?;
                self.connect(&binding).await?
            }
        };
        let result = conn.query(&statement.sql, &statement.params).await;
        // A server-side error leaves the session usable; anything else broke it.
        if matches!(result, Ok(_) | Err(portcullis_pgwire::Error::Server(_))) {
            *self.conn.borrow_mut() = Some(conn);
        }
        Ok(result?)
    }
}

fn to_worker_error(e: &JsValue) -> worker::Error {
    worker::Error::RustError(
        e.as_string()
            .unwrap_or_else(|| "response conversion failed".into()),
    )
}

/// Answers one request with the isolate's function (or a fixed 500 when misconfigured).
///
/// # Errors
/// Only when the runtime cannot build any response at all.
pub async fn serve<F: Function>(
    isolate: Result<Rc<Isolate<F>>, String>,
    request: web_sys::Request,
    env: &worker::Env,
) -> worker::Result<web_sys::Response> {
    let log = ConsoleLog::new(F::NAME);
    let Ok(isolate) = isolate else {
        let body = error_response(
            Status::INTERNAL_SERVER_ERROR,
            "function_misconfigured",
            "the function's configuration is invalid; see its logs",
        );
        return to_web_response(&body).map_err(|e| to_worker_error(&e));
    };
    let db = HyperdriveDb::new(env, &isolate.scram);
    let response = respond(&isolate.function, &isolate.headers, &db, &log, request).await;
    db.close().await;
    response.map_err(|e| to_worker_error(&e))
}

/// Declares the Worker's `fetch` handler for a [`Function`], with its state built once per
/// isolate; `$assets` provides the function's data assets.
#[macro_export]
macro_rules! worker_function {
    ($function:ty, $assets:expr) => {
        ::std::thread_local! {
            static ISOLATE: ::std::cell::OnceCell<
                ::std::result::Result<::std::rc::Rc<$crate::Isolate<$function>>, ::std::string::String>,
            > = const { ::std::cell::OnceCell::new() };
        }

        #[$crate::worker::event(fetch)]
        async fn fetch(
            request: $crate::worker::worker_sys::web_sys::Request,
            env: $crate::worker::Env,
            _ctx: $crate::worker::Context,
        ) -> $crate::worker::Result<$crate::worker::worker_sys::web_sys::Response> {
            let isolate = ISOLATE.with(|cell| {
                cell.get_or_init(|| $crate::Isolate::<$function>::new(&env, $assets).map(::std::rc::Rc::new))
                    .clone()
            });
            $crate::serve(isolate, request, &env).await
        }
    };
}
