//! The PostgreSQL client of the native tools (the `portcullis` CLI and xtask).
//!
//! # Design
//! - The protocol is tokio-postgres's (a kept library); TLS is rustls through tokio-rustls. What
//!   is ours is only what no kept library provides: libpq's `sslmode`/`sslrootcert` semantics
//!   for URLs (tokio-postgres knows `disable`/`prefer`/`require` only and no root files), the
//!   certificate verifiers those modes mean, RFC 5929 channel binding for rustls, and the
//!   [`guard`] that refuses password requests that would expose the password.
//! - Blocking API ([`Client`]): a current-thread runtime per client; statements take text
//!   parameters (declared `text`, cast in SQL: `$1::uuid`) and return text cells, the same
//!   contract as the functions' SQL seam.
//!
//! # Threat model
//! - TLS by default off loopback (`require`), checked certificates with `verify-ca` /
//!   `verify-full`, SCRAM-SHA-256-PLUS (channel binding) whenever the server offers it.
//! - A server (or a man in the middle of a `require` connection) that asks for the password in
//!   clear text or as MD5, or that accepts the login without the SCRAM server signature, is
//!   refused before anything is sent.
//! - New passwords are sent as SCRAM verifiers ([`scram_verifier`]), never as text that could
//!   land in server logs or `pg_stat_statements`.
//! - Errors name the host and the problem, never the password.

mod guard;
mod tls;
mod url;

use std::time::Duration;

use tokio::net::TcpStream;
use tokio_postgres::NoTls;
use tokio_postgres::types::{ToSql, Type};

pub use guard::Guarded;
pub use url::{ConnectUrl, RootCert, SslMode, UrlError, is_loopback};

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// A blocking PostgreSQL session.
pub struct Client {
    runtime: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Client")
    }
}

fn describe(e: &tokio_postgres::Error) -> String {
    // The database's own message (with its SQLSTATE) where there is one; the chain otherwise.
    if let Some(db) = e.as_db_error() {
        return format!("{} ({}): {}", db.severity(), db.code().code(), db.message())
            + &db
                .detail()
                .map(|d| format!("\nDETAIL: {d}"))
                .unwrap_or_default()
            + &db
                .hint()
                .map(|h| format!("\nHINT: {h}"))
                .unwrap_or_default();
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl Client {
    /// Connects and logs in per `url` (see [`ConnectUrl::parse`]).
    ///
    /// # Errors
    /// A message naming the host and the failure (never the password).
    pub fn connect(url: &str) -> Result<Self, String> {
        let u = ConnectUrl::parse(url).map_err(|e| e.to_string())?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| e.to_string())?;
        let client = runtime.block_on(connect(&u))?;
        Ok(Self { runtime, client })
    }

    /// One statement with text parameters; every cell as text (cast non-text columns in SQL).
    ///
    /// # Errors
    /// The server's error, a connection failure, or a column that is not text.
    pub fn query(
        &mut self,
        sql: &str,
        params: &[Option<&str>],
    ) -> Result<Vec<Vec<Option<String>>>, String> {
        let typed: Vec<(&(dyn ToSql + Sync), Type)> = params
            .iter()
            .map(|p| (p as &(dyn ToSql + Sync), Type::TEXT))
            .collect();
        let rows = self
            .runtime
            .block_on(self.client.query_typed(sql, &typed))
            .map_err(|e| describe(&e))?;
        rows.iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| {
                        row.try_get::<_, Option<String>>(i).map_err(|_| {
                            let col = row.columns().get(i);
                            format!(
                                "column {} is {}, not text (cast it: ::text)",
                                col.map_or("?", |c| c.name()),
                                col.map_or_else(String::new, |c| c.type_().to_string())
                            )
                        })
                    })
                    .collect()
            })
            .collect()
    }

    /// A script of statements (migrations), in one simple-query round trip.
    ///
    /// # Errors
    /// The server's error or a connection failure.
    pub fn execute(&mut self, script: &str) -> Result<(), String> {
        self.runtime
            .block_on(self.client.batch_execute(script))
            .map_err(|e| describe(&e))
    }
}

async fn tcp(u: &ConnectUrl) -> Result<TcpStream, String> {
    let at = format!("{}:{}", u.host, u.port);
    let stream = tokio::time::timeout(
        CONNECT_TIMEOUT,
        TcpStream::connect((u.host.as_str(), u.port)),
    )
    .await
    .map_err(|_| format!("connect {at}: timed out"))?
    .map_err(|e| format!("connect {at}: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    Ok(stream)
}

fn config(u: &ConnectUrl, tls: bool) -> tokio_postgres::Config {
    let mut c = tokio_postgres::Config::new();
    c.user(&u.user)
        .dbname(&u.database)
        .application_name(&u.application_name)
        .ssl_mode(if tls {
            tokio_postgres::config::SslMode::Require
        } else {
            tokio_postgres::config::SslMode::Disable
        });
    if let Some(p) = &u.password {
        c.password(p.expose().as_bytes());
    }
    c
}

/// Plain text, through the guard.
async fn plain(u: &ConnectUrl) -> Result<tokio_postgres::Client, String> {
    let stream = tcp(u).await?;
    let (client, connection) = tokio::time::timeout(
        CONNECT_TIMEOUT,
        config(u, false).connect_raw(Guarded::new(stream, u.password.is_some()), NoTls),
    )
    .await
    .map_err(|_| format!("{}: the login timed out", u.host))?
    .map_err(|e| format!("{}: {}", u.host, describe(&e)))?;
    tokio::spawn(connection);
    Ok(client)
}

/// TLS (rustls, the mode's verifier), through the guard.
async fn secure(u: &ConnectUrl) -> Result<tokio_postgres::Client, String> {
    let name = rustls_pki_types::ServerName::try_from(u.host.clone())
        .map_err(|e| format!("{}: {e}", u.host))?;
    let connect = tls::Connect {
        config: tls::client_config(u)?,
        name,
        require_scram: u.password.is_some(),
    };
    let stream = tcp(u).await?;
    let (client, connection) = tokio::time::timeout(
        CONNECT_TIMEOUT,
        config(u, true).connect_raw(stream, connect),
    )
    .await
    .map_err(|_| format!("{}: the login timed out", u.host))?
    .map_err(|e| format!("{}: {}", u.host, describe(&e)))?;
    tokio::spawn(connection);
    Ok(client)
}

async fn connect(u: &ConnectUrl) -> Result<tokio_postgres::Client, String> {
    match u.sslmode {
        SslMode::Disable => plain(u).await,
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => secure(u).await,
        // TLS if the server offers it; a server that declines gets a plain connection.
        SslMode::Prefer => match secure(u).await {
            Err(e) if e.contains("server does not support TLS") => plain(u).await,
            other => other,
        },
        // Plain unless the server insists on encryption.
        SslMode::Allow => match plain(u).await {
            Err(e) if e.contains("28000") && e.contains("no encryption") => secure(u).await,
            other => other,
        },
    }
}

/// The SCRAM-SHA-256 verifier of `password` with a fresh salt, for `ALTER ROLE … PASSWORD
/// '<verifier>'`: the server stores it as is and the password itself never reaches it.
#[must_use]
pub fn scram_verifier(password: &str) -> String {
    postgres_protocol::password::scram_sha_256(password.as_bytes())
}
