//! A blocking client for native tools (the CLI, xtask) over `std::net`, with TLS (rustls) under
//! the `tls` feature.
//!
//! `sslmode` follows libpq: `disable` (plain), `require` (encrypted, certificate not checked:
//! what most hosted-Postgres dashboards hand out), `verify-ca` / `verify-full` (checked against
//! the public web roots, or the PEM file named by `sslrootcert=`), and `prefer` (the default:
//! TLS when the server offers it, except on loopback).

use std::future::Future;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::{ConnectUrl, Connection, ScramCache, Transport};

/// Drives a future whose I/O is blocking: it completes on its first poll.
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

enum Stream {
    Plain(TcpStream),
    #[cfg(feature = "tls")]
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

struct Io(Stream);

impl Transport for Io {
    async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match &mut self.0 {
            Stream::Plain(s) => s.read(buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.read(buf),
        }
    }
    async fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match &mut self.0 {
            Stream::Plain(s) => Write::write_all(s, buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => Write::write_all(s, buf).and_then(|()| s.flush()),
        }
    }
}

/// A blocking Postgres session.
pub struct Client {
    conn: Connection<Io>,
}

fn is_loopback(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "::1")
        || host.starts_with("127.")
        || host.starts_with('/')
}

/// Asks the server for TLS (`SSLRequest`); `true` if it agreed.
fn ssl_request(s: &mut TcpStream) -> Result<bool, String> {
    s.write_all(&[0, 0, 0, 8, 4, 210, 22, 47])
        .map_err(|e| e.to_string())?;
    let mut answer = [0u8; 1];
    s.read_exact(&mut answer).map_err(|e| e.to_string())?;
    Ok(answer == *b"S")
}

impl Client {
    /// Connects and logs in.
    ///
    /// # Errors
    /// A message naming the host (never the password).
    pub fn connect(url: &str) -> Result<Self, String> {
        let u = ConnectUrl::parse(url).map_err(|e| e.to_string())?;
        let mut tcp = TcpStream::connect((u.host.as_str(), u.port))
            .map_err(|e| format!("connect {}:{}: {e}", u.host, u.port))?;
        tcp.set_read_timeout(Some(Duration::from_secs(60)))
            .map_err(|e| e.to_string())?;
        let mode = u.sslmode.clone().unwrap_or_else(|| "prefer".into());
        let want_tls = match mode.as_str() {
            "disable" | "allow" => false,
            "prefer" => !is_loopback(&u.host),
            "require" | "verify-ca" | "verify-full" => true,
            other => return Err(format!("sslmode={other} is not supported")),
        };
        let stream = if want_tls {
            let agreed = ssl_request(&mut tcp)?;
            match (agreed, mode.as_str()) {
                (true, _) => tls(tcp, &u.host, &mode, url)?,
                (false, "prefer") => Stream::Plain(tcp),
                (false, _) => {
                    return Err(format!(
                        "{}: the server does not offer TLS (sslmode={mode})",
                        u.host
                    ));
                }
            }
        } else {
            Stream::Plain(tcp)
        };
        let mut nonce = [0u8; 18];
        getrandom::fill(&mut nonce).map_err(|e| e.to_string())?;
        let conn = block_on(Connection::connect(
            Io(stream),
            &u.config,
            &nonce,
            &ScramCache::default(),
        ))
        .map_err(|e| e.to_string())?;
        Ok(Self { conn })
    }

    /// One statement with text parameters; rows as text.
    ///
    /// # Errors
    /// The server's error or a connection failure.
    pub fn query(
        &mut self,
        sql: &str,
        params: &[Option<&str>],
    ) -> Result<Vec<Vec<Option<String>>>, String> {
        let params: Vec<Option<String>> = params.iter().map(|p| p.map(str::to_owned)).collect();
        block_on(self.conn.query(sql, &params)).map_err(|e| e.to_string())
    }

    /// A script of statements (migrations), in one simple-query round trip.
    ///
    /// # Errors
    /// The server's error or a connection failure.
    pub fn execute(&mut self, script: &str) -> Result<(), String> {
        block_on(self.conn.execute_script(script)).map_err(|e| e.to_string())
    }
}

#[cfg(not(feature = "tls"))]
fn tls(_tcp: TcpStream, host: &str, _mode: &str, _url: &str) -> Result<Stream, String> {
    Err(format!(
        "{host}: TLS is not built into this tool (use sslmode=disable on trusted networks)"
    ))
}

#[cfg(feature = "tls")]
fn tls(tcp: TcpStream, host: &str, mode: &str, url: &str) -> Result<Stream, String> {
    use std::sync::Arc;

    use rustls_pki_types::pem::PemObject;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let config = if mode == "require" || mode == "prefer" {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider)))
            .with_no_client_auth()
    } else {
        let mut roots = rustls::RootCertStore::empty();
        let root_file = url
            .split_once('?')
            .and_then(|(_, q)| q.split('&').find_map(|kv| kv.strip_prefix("sslrootcert=")));
        match root_file {
            Some(path) => {
                let pem = std::fs::read(path).map_err(|e| format!("sslrootcert {path}: {e}"))?;
                for cert in rustls_pki_types::CertificateDer::pem_slice_iter(&pem) {
                    let cert = cert.map_err(|e| format!("sslrootcert {path}: {e}"))?;
                    roots
                        .add(cert)
                        .map_err(|e| format!("sslrootcert {path}: {e}"))?;
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    let name =
        rustls_pki_types::ServerName::try_from(host.to_owned()).map_err(|e| e.to_string())?;
    let conn = rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    Ok(Stream::Tls(Box::new(rustls::StreamOwned::new(conn, tcp))))
}

/// `sslmode=require`: encrypt, check the handshake signatures, do not check who signed the
/// certificate (libpq's meaning of `require`).
#[cfg(feature = "tls")]
#[derive(Debug)]
struct EncryptOnly(std::sync::Arc<rustls::crypto::CryptoProvider>);

#[cfg(feature = "tls")]
impl rustls::client::danger::ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls_pki_types::CertificateDer<'_>,
        _intermediates: &[rustls_pki_types::CertificateDer<'_>],
        _server_name: &rustls_pki_types::ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
