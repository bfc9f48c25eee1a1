//! A stream wrapper that reads the server's authentication requests before the client library
//! does, and ends the connection on those that would expose the password or skip the server's
//! proof. It inspects only the start-up phase (up to `AuthenticationOk`) and passes every byte
//! through unchanged; tokio-postgres does the protocol.
//!
//! Why it exists: tokio-postgres answers `AuthenticationCleartextPassword` with the password
//! and `AuthenticationMD5Password` with an unsalted-per-session hash. Behind `sslmode=require`
//! (encrypted, certificate not checked) a man in the middle can ask for either. No kept client
//! has an option to refuse them (libpq's `require_auth` is not in tokio-postgres), so this
//! small filter does. It also insists on the SCRAM server-final message, after the start and
//! the continue, before `AuthenticationOk` (the server signature inside it is verified by
//! tokio-postgres; the filter checks that the exchange happened, in order), and,
//! when we hold a password, on SCRAM itself (libpq's `require_auth=scram-sha-256`): a server
//! that answers `AuthenticationOk` at once has not proved it knows the password, and behind
//! `require` anyone on the path could be that server.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Where the parser is in the server's byte stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reading a message header (type byte + length); `have` bytes of it so far.
    Header { have: usize },
    /// Inside an `R` message: reading its 4-byte code.
    AuthCode { have: usize, left: usize },
    /// Skipping the rest of a message body.
    Skip { left: usize },
    /// Authentication is over: everything passes.
    Done,
}

/// Why the guard ended a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// `AuthenticationCleartextPassword`.
    Cleartext,
    /// `AuthenticationMD5Password`.
    Md5,
    /// `AuthenticationOk` after SCRAM started but before the server proved it knows the password.
    MissingServerProof,
    /// `AuthenticationOk` without SCRAM although we hold a password (trust, or an impostor).
    NoScram,
    /// Not a PostgreSQL server (a message that cannot appear during start-up).
    Garbled,
}

impl Refusal {
    fn message(self) -> &'static str {
        match self {
            Self::Cleartext => {
                "the server asked for the password in clear text; refused (the server must use SCRAM-SHA-256)"
            }
            Self::Md5 => {
                "the server asked for MD5 password authentication; refused (use SCRAM-SHA-256)"
            }
            Self::MissingServerProof => {
                "the server accepted the login without proving it knows the password (no SCRAM server signature); refused"
            }
            Self::NoScram => {
                "the server accepted the login without SCRAM authentication, so it did not prove it knows the password; refused (with a password in the URL the server must use SCRAM-SHA-256; for a trust login leave the password out)"
            }
            Self::Garbled => "the server's answer is not the PostgreSQL protocol; refused",
        }
    }
}

/// The start-up parser: fed the server's bytes in order.
#[derive(Debug)]
pub(crate) struct AuthWatch {
    state: State,
    header: [u8; 5],
    code: [u8; 4],
    sasl_started: bool,
    sasl_continued: bool,
    sasl_final: bool,
    /// We hold a password: only a SCRAM login (with the server's proof) is accepted.
    require_scram: bool,
}

impl AuthWatch {
    /// A watcher for a login with (`require_scram`) or without a password.
    pub(crate) const fn new(require_scram: bool) -> Self {
        Self {
            state: State::Header { have: 0 },
            header: [0; 5],
            code: [0; 4],
            sasl_started: false,
            sasl_continued: false,
            sasl_final: false,
            require_scram,
        }
    }

    /// Inspects the next bytes from the server.
    pub(crate) fn feed(&mut self, mut bytes: &[u8]) -> Result<(), Refusal> {
        while let Some((&b, rest)) = bytes.split_first() {
            match self.state {
                State::Done => return Ok(()),
                State::Header { have } => {
                    if let Some(slot) = self.header.get_mut(have) {
                        *slot = b;
                    }
                    bytes = rest;
                    if have + 1 < 5 {
                        self.state = State::Header { have: have + 1 };
                        continue;
                    }
                    let [kind, l0, l1, l2, l3] = self.header;
                    let len = u32::from_be_bytes([l0, l1, l2, l3]) as usize;
                    // Start-up messages: R (authentication), E (error), v (protocol version),
                    // N (notice). Anything else before AuthenticationOk is not PostgreSQL.
                    if len < 4 || !matches!(kind, b'R' | b'E' | b'v' | b'N') {
                        return Err(Refusal::Garbled);
                    }
                    let left = len - 4;
                    self.state = match kind {
                        b'R' if left >= 4 => State::AuthCode { have: 0, left },
                        b'R' => return Err(Refusal::Garbled),
                        _ if left == 0 => State::Header { have: 0 },
                        _ => State::Skip { left },
                    };
                }
                State::AuthCode { have, left } => {
                    if let Some(slot) = self.code.get_mut(have) {
                        *slot = b;
                    }
                    bytes = rest;
                    if have + 1 < 4 {
                        self.state = State::AuthCode {
                            have: have + 1,
                            left,
                        };
                        continue;
                    }
                    let left = left - 4;
                    match u32::from_be_bytes(self.code) {
                        0 => {
                            if self.sasl_started && !self.sasl_final {
                                return Err(Refusal::MissingServerProof);
                            }
                            if self.require_scram && !self.sasl_final {
                                return Err(Refusal::NoScram);
                            }
                            self.state = State::Done;
                            return Ok(());
                        }
                        3 => return Err(Refusal::Cleartext),
                        5 => return Err(Refusal::Md5),
                        10 => self.sasl_started = true,
                        11 if self.sasl_started => self.sasl_continued = true,
                        12 if self.sasl_continued => self.sasl_final = true,
                        // SASL steps out of order: not a server we talk to.
                        11 | 12 => return Err(Refusal::Garbled),
                        // GSS, SSPI, Kerberos: tokio-postgres refuses them itself.
                        _ => {}
                    }
                    self.state = if left == 0 {
                        State::Header { have: 0 }
                    } else {
                        State::Skip { left }
                    };
                }
                State::Skip { left } => {
                    let n = left.min(bytes.len());
                    bytes = bytes.get(n..).unwrap_or_default();
                    self.state = if n == left {
                        State::Header { have: 0 }
                    } else {
                        State::Skip { left: left - n }
                    };
                }
            }
        }
        Ok(())
    }
}

/// A stream whose start-up phase is watched by [`AuthWatch`].
pub struct Guarded<S> {
    inner: S,
    watch: AuthWatch,
}

impl<S> Guarded<S> {
    /// Watches `inner` from its first byte; `require_scram` when the login has a password.
    pub const fn new(inner: S, require_scram: bool) -> Self {
        Self {
            inner,
            watch: AuthWatch::new(require_scram),
        }
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let fresh = buf.filled().get(before..).unwrap_or_default();
                match this.watch.feed(fresh) {
                    Ok(()) => Poll::Ready(Ok(())),
                    Err(refusal) => {
                        // Hand nothing of it to the client library.
                        buf.set_filled(before);
                        Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::PermissionDenied,
                            refusal.message(),
                        )))
                    }
                }
            }
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(code: u32, extra: &[u8]) -> Vec<u8> {
        let mut m = vec![b'R'];
        m.extend_from_slice(&u32::try_from(8 + extra.len()).unwrap().to_be_bytes());
        m.extend_from_slice(&code.to_be_bytes());
        m.extend_from_slice(extra);
        m
    }

    fn feed_bytewise(bytes: &[u8]) -> Result<(), Refusal> {
        let mut w = AuthWatch::new(false);
        for b in bytes {
            w.feed(std::slice::from_ref(b))?;
        }
        Ok(())
    }

    #[test]
    fn scram_with_the_server_proof_passes_whatever_the_chunking() {
        let mut s = auth(10, b"SCRAM-SHA-256\0\0");
        s.extend(auth(11, b"r=abc,s=c2FsdA==,i=4096"));
        s.extend(auth(12, b"v=proof"));
        s.extend(auth(0, b""));
        s.extend(b"S\0\0\0\x16application_name\0x\0Z\0\0\0\x05I");
        assert_eq!(AuthWatch::new(false).feed(&s), Ok(()));
        assert_eq!(feed_bytewise(&s), Ok(()));
    }

    #[test]
    fn cleartext_md5_and_a_skipped_proof_are_refused() {
        assert_eq!(
            AuthWatch::new(false).feed(&auth(3, b"")),
            Err(Refusal::Cleartext)
        );
        assert_eq!(feed_bytewise(&auth(5, b"salt")), Err(Refusal::Md5));
        let mut s = auth(10, b"SCRAM-SHA-256\0\0");
        s.extend(auth(11, b"r=abc,s=c2FsdA==,i=4096"));
        s.extend(auth(0, b""));
        assert_eq!(feed_bytewise(&s), Err(Refusal::MissingServerProof));
        assert_eq!(
            AuthWatch::new(false).feed(b"HTTP/1.1 200 OK"),
            Err(Refusal::Garbled)
        );
        // A server-final without the exchange before it proves nothing.
        let mut s = auth(12, b"v=proof");
        s.extend(auth(0, b""));
        assert_eq!(AuthWatch::new(true).feed(&s), Err(Refusal::Garbled));
        let mut s = auth(10, b"SCRAM-SHA-256\0\0");
        s.extend(auth(12, b"v=proof"));
        s.extend(auth(0, b""));
        assert_eq!(feed_bytewise(&s), Err(Refusal::Garbled));
    }

    #[test]
    fn without_scram_a_login_with_a_password_is_refused() {
        assert_eq!(
            AuthWatch::new(true).feed(&auth(0, b"")),
            Err(Refusal::NoScram)
        );
        let mut s = auth(10, b"SCRAM-SHA-256\0\0");
        s.extend(auth(11, b"r=abc,s=c2FsdA==,i=4096"));
        s.extend(auth(12, b"v=proof"));
        s.extend(auth(0, b""));
        assert_eq!(AuthWatch::new(true).feed(&s), Ok(()));
    }

    #[test]
    fn trust_without_a_password_and_errors_pass_to_the_client() {
        assert_eq!(AuthWatch::new(false).feed(&auth(0, b"")), Ok(()));
        let mut e = vec![b'E', 0, 0, 0, 9];
        e.extend(b"SFATAL\0\0");
        assert_eq!(AuthWatch::new(false).feed(&e), Ok(()));
    }
}
