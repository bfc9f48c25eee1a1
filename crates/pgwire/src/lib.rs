//! A small PostgreSQL client for the text-only SQL seam ([`portcullis_core::sql`]).
//!
//! # Design
//! - No I/O of its own: the caller supplies a [`Transport`] (a Workers socket to Hyperdrive,
//!   a TCP stream natively) and the random bytes for the SCRAM nonce.
//! - Only what the seam needs: protocol 3.0 start-up; cleartext and SCRAM-SHA-256
//!   authentication; the extended query protocol with the unnamed statement (safe behind
//!   transaction-mode poolers); text parameters and text results.
//! - The SCRAM salted password is slow to derive by design; [`ScramCache`] lets a long-lived
//!   isolate derive it once per `(password, salt, iterations)`.
//!
//! # Threat model
//! - SQL is always sent with bound parameters; values never reach the SQL text.
//! - The server must prove knowledge of the password (SCRAM server signature, compared in
//!   constant time). MD5 authentication is refused.
//! - Message sizes are bounded ([`message::MAX_MESSAGE`]) and results are capped
//!   ([`MAX_RESULT_BYTES`]) so a misbehaving peer cannot exhaust memory.
//! - Errors carry the server's SQLSTATE and message for logs; callers decide what clients see.

#[cfg(feature = "blocking")]
pub mod blocking;
pub mod message;
pub mod scram;
mod url;

use std::cell::RefCell;
use std::fmt;
use std::future::Future;

use portcullis_core::Secret;
use subtle::ConstantTimeEq;

pub use message::{ProtocolError, ServerError};
pub use url::{ConnectUrl, UrlError};

use message::{Auth, Backend};

/// Largest total size of one query's rows.
pub const MAX_RESULT_BYTES: usize = 32 * 1024 * 1024;

/// A bidirectional byte stream to the server.
pub trait Transport {
    /// Reads some bytes; `Ok(0)` at end of stream.
    fn read(&mut self, buf: &mut [u8]) -> impl Future<Output = std::io::Result<usize>>;
    /// Writes all of `buf`.
    fn write_all(&mut self, buf: &[u8]) -> impl Future<Output = std::io::Result<()>>;
}

/// Who to log in as.
#[derive(Clone, Debug)]
pub struct ConnectConfig {
    /// Role name.
    pub user: String,
    /// Password, when the server asks for one.
    pub password: Option<Secret<String>>,
    /// Database name.
    pub database: String,
    /// Reported in `pg_stat_activity`.
    pub application_name: String,
}

/// Why a connection or a query failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed or closed.
    Io(std::io::Error),
    /// The server sent something we could not use.
    Protocol(ProtocolError),
    /// Authentication failed or is unsupported.
    Auth(String),
    /// The server reported an error (bad SQL, constraint, permissions, …).
    Server(ServerError),
    /// The result exceeded [`MAX_RESULT_BYTES`].
    ResultTooLarge,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "connection failed: {e}"),
            Self::Protocol(e) => e.fmt(f),
            Self::Auth(e) => write!(f, "authentication failed: {e}"),
            Self::Server(e) => write!(f, "server error {}: {}", e.code, e.message),
            Self::ResultTooLarge => f.write_str("result larger than the client accepts"),
        }
    }
}

impl std::error::Error for Error {}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Self {
        Self::Protocol(e)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<Error> for portcullis_core::DbError {
    fn from(e: Error) -> Self {
        match e {
            Error::Server(s) => Self::Rejected {
                sqlstate: s.code,
                detail: s.message,
            },
            Error::Io(_) | Error::Auth(_) => Self::Unavailable {
                detail: e.to_string(),
            },
            Error::Protocol(_) | Error::ResultTooLarge => Self::Protocol {
                detail: e.to_string(),
            },
        }
    }
}

struct CachedSalt {
    password: Secret<Vec<u8>>,
    salt: Vec<u8>,
    iterations: u32,
    salted: Secret<Vec<u8>>,
}

/// Remembers the last SCRAM salted password, so reconnecting (once per request on Workers)
/// does not repeat thousands of HMAC rounds.
#[derive(Default)]
pub struct ScramCache(RefCell<Option<CachedSalt>>);

impl fmt::Debug for ScramCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ScramCache")
    }
}

impl ScramCache {
    fn salted(&self, password: &[u8], salt: &[u8], iterations: u32) -> Secret<Vec<u8>> {
        if let Some(c) = self.0.borrow().as_ref() {
            let same = bool::from(c.password.expose().as_slice().ct_eq(password))
                && c.salt == salt
                && c.iterations == iterations;
            if same {
                return c.salted.clone();
            }
        }
        let salted = scram::salted_password(password, salt, iterations);
        *self.0.borrow_mut() = Some(CachedSalt {
            password: Secret::new(password.to_vec()),
            salt: salt.to_vec(),
            iterations,
            salted: salted.clone(),
        });
        salted
    }
}

/// An authenticated session.
#[derive(Debug)]
pub struct Connection<T> {
    transport: T,
    buf: Vec<u8>,
}

impl<T: Transport> Connection<T> {
    /// Starts a session: start-up, authentication, until the server is ready.
    /// `nonce` must be fresh random bytes (used only if the server asks for SCRAM).
    ///
    /// # Errors
    /// [`Error`] on transport, protocol or authentication failure.
    pub async fn connect(
        transport: T,
        config: &ConnectConfig,
        nonce: &[u8; 18],
        cache: &ScramCache,
    ) -> Result<Self, Error> {
        let mut conn = Self {
            transport,
            buf: Vec::with_capacity(8192),
        };
        let startup = message::startup(&[
            ("user", &config.user),
            ("database", &config.database),
            ("client_encoding", "UTF8"),
            ("application_name", &config.application_name),
        ])?;
        conn.transport.write_all(&startup).await?;
        let password = || {
            config.password.as_ref().ok_or_else(|| {
                Error::Auth("the server requires a password and none is configured".into())
            })
        };
        let mut scram: Option<scram::Scram> = None;
        let mut scram_final: Option<scram::ScramFinal> = None;
        loop {
            match conn.next().await? {
                Backend::Auth(Auth::Ok) | Backend::Other(_) | Backend::CommandComplete => {}
                Backend::Auth(Auth::Cleartext) => {
                    let msg = message::password(password()?.expose())?;
                    conn.transport.write_all(&msg).await?;
                }
                Backend::Auth(Auth::Md5) => {
                    return Err(Error::Auth(
                        "the server asks for MD5 password authentication, which is refused; use scram-sha-256".into(),
                    ));
                }
                Backend::Auth(Auth::Unsupported(code)) => {
                    return Err(Error::Auth(format!(
                        "unsupported authentication method {code}"
                    )));
                }
                Backend::Auth(Auth::Sasl(mechanisms)) => {
                    if !mechanisms.iter().any(|m| m == "SCRAM-SHA-256") {
                        return Err(Error::Auth(format!(
                            "no supported SASL mechanism in {mechanisms:?}"
                        )));
                    }
                    password()?;
                    let s = scram::Scram::new(nonce);
                    let msg = message::sasl_initial("SCRAM-SHA-256", &s.client_first())?;
                    conn.transport.write_all(&msg).await?;
                    scram = Some(s);
                }
                Backend::Auth(Auth::SaslContinue(data)) => {
                    let s = scram
                        .as_ref()
                        .ok_or_else(|| Error::Auth("unexpected SASL continue".into()))?;
                    let first = s.server_first(&data)?;
                    let salted = cache.salted(
                        password()?.expose().as_bytes(),
                        &first.salt,
                        first.iterations,
                    );
                    let (msg, fin) = s.client_final(&first, &salted);
                    conn.transport
                        .write_all(&message::sasl_response(&msg)?)
                        .await?;
                    scram_final = Some(fin);
                }
                Backend::Auth(Auth::SaslFinal(data)) => {
                    scram_final
                        .as_ref()
                        .ok_or_else(|| Error::Auth("unexpected SASL final".into()))?
                        .verify(&data)?;
                }
                Backend::Error(e) => return Err(Error::Server(e)),
                Backend::ReadyForQuery => return Ok(conn),
                Backend::DataRow(_) => {
                    return Err(ProtocolError("data row during start-up".into()).into());
                }
            }
        }
    }

    async fn next(&mut self) -> Result<Backend, Error> {
        loop {
            if let Some((msg, used)) = message::decode(&self.buf)? {
                self.buf.drain(..used);
                return Ok(msg);
            }
            let mut chunk = [0u8; 8192];
            let n = self.transport.read(&mut chunk).await?;
            if n == 0 {
                return Err(Error::Io(std::io::ErrorKind::UnexpectedEof.into()));
            }
            self.buf
                .extend_from_slice(chunk.get(..n).unwrap_or_default());
        }
    }

    /// Runs one statement with text parameters and returns its rows as text.
    ///
    /// # Errors
    /// [`Error::Server`] when the server rejects it (the session stays usable), other
    /// variants when the session broke.
    pub async fn query(
        &mut self,
        sql: &str,
        params: &[Option<String>],
    ) -> Result<Vec<Vec<Option<String>>>, Error> {
        let msg = message::extended_query(sql, params)?;
        self.transport.write_all(&msg).await?;
        let mut rows = Vec::new();
        let mut size = 0usize;
        let mut failure = None;
        loop {
            match self.next().await? {
                Backend::DataRow(row) => {
                    size += row
                        .iter()
                        .map(|c| c.as_ref().map_or(0, String::len) + 8)
                        .sum::<usize>();
                    if size > MAX_RESULT_BYTES {
                        failure.get_or_insert(Error::ResultTooLarge);
                    } else if failure.is_none() {
                        rows.push(row);
                    }
                }
                Backend::Error(e) => {
                    failure.get_or_insert(Error::Server(e));
                }
                Backend::ReadyForQuery => {
                    return match failure {
                        Some(e) => Err(e),
                        None => Ok(rows),
                    };
                }
                Backend::Auth(_) => {
                    return Err(
                        ProtocolError("authentication message during a query".into()).into(),
                    );
                }
                Backend::CommandComplete | Backend::Other(_) => {}
            }
        }
    }

    /// Runs a script of one or more statements without parameters (simple query protocol),
    /// e.g. a migration file. Returns nothing; stops at the first error.
    ///
    /// # Errors
    /// As [`Connection::query`].
    pub async fn execute_script(&mut self, sql: &str) -> Result<(), Error> {
        let mut body = sql.as_bytes().to_vec();
        if body.contains(&0) {
            return Err(ProtocolError("script contains NUL".into()).into());
        }
        body.push(0);
        let mut msg = vec![b'Q'];
        let len =
            i32::try_from(body.len() + 4).map_err(|_| ProtocolError("script too large".into()))?;
        msg.extend_from_slice(&len.to_be_bytes());
        msg.extend_from_slice(&body);
        self.transport.write_all(&msg).await?;
        let mut failure = None;
        loop {
            match self.next().await? {
                Backend::Error(e) => {
                    failure.get_or_insert(Error::Server(e));
                }
                Backend::ReadyForQuery => return failure.map_or(Ok(()), Err),
                _ => {}
            }
        }
    }

    /// Ends the session politely.
    pub async fn close(mut self) {
        let _ = self.transport.write_all(&message::terminate()).await;
    }
}
