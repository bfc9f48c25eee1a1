//! Protocol 3.0 messages: encoders for what we send, a decoder for what the server sends.

use std::fmt;

/// A protocol violation or a message we cannot use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "postgres protocol: {}", self.0)
    }
}

impl std::error::Error for ProtocolError {}

fn err(text: &str) -> ProtocolError {
    ProtocolError(text.to_owned())
}

/// Largest backend message accepted (rows are small here; this bounds memory).
pub const MAX_MESSAGE: usize = 16 * 1024 * 1024;

fn put_i32(out: &mut Vec<u8>, v: i32) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn put_i16(out: &mut Vec<u8>, v: i16) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn put_cstr(out: &mut Vec<u8>, s: &str) -> Result<(), ProtocolError> {
    if s.as_bytes().contains(&0) {
        return Err(err("a string sent to the server contains a NUL byte"));
    }
    out.extend_from_slice(s.as_bytes());
    out.push(0);
    Ok(())
}

fn len_i32(n: usize) -> Result<i32, ProtocolError> {
    i32::try_from(n).map_err(|_| err("message too large"))
}

/// Frames `body` as a typed frontend message.
fn frame(out: &mut Vec<u8>, tag: u8, body: &[u8]) -> Result<(), ProtocolError> {
    out.push(tag);
    put_i32(out, len_i32(body.len() + 4)?);
    out.extend_from_slice(body);
    Ok(())
}

/// StartupMessage (protocol 3.0) with the given parameters.
///
/// # Errors
/// When a value contains NUL.
pub fn startup(params: &[(&str, &str)]) -> Result<Vec<u8>, ProtocolError> {
    let mut body = Vec::with_capacity(64);
    put_i32(&mut body, 196_608);
    for (k, v) in params {
        put_cstr(&mut body, k)?;
        put_cstr(&mut body, v)?;
    }
    body.push(0);
    let mut out = Vec::with_capacity(body.len() + 4);
    put_i32(&mut out, len_i32(body.len() + 4)?);
    out.extend_from_slice(&body);
    Ok(out)
}

/// PasswordMessage carrying a cleartext password.
///
/// # Errors
/// When the password contains NUL.
pub fn password(password: &str) -> Result<Vec<u8>, ProtocolError> {
    let mut body = Vec::new();
    put_cstr(&mut body, password)?;
    let mut out = Vec::new();
    frame(&mut out, b'p', &body)?;
    Ok(out)
}

/// SASLInitialResponse.
///
/// # Errors
/// Never in practice (inputs are ASCII).
pub fn sasl_initial(mechanism: &str, data: &[u8]) -> Result<Vec<u8>, ProtocolError> {
    let mut body = Vec::new();
    put_cstr(&mut body, mechanism)?;
    put_i32(&mut body, len_i32(data.len())?);
    body.extend_from_slice(data);
    let mut out = Vec::new();
    frame(&mut out, b'p', &body)?;
    Ok(out)
}

/// SASLResponse.
///
/// # Errors
/// Never in practice.
pub fn sasl_response(data: &[u8]) -> Result<Vec<u8>, ProtocolError> {
    let mut out = Vec::new();
    frame(&mut out, b'p', data)?;
    Ok(out)
}

/// Parse + Bind + Execute + Sync for the unnamed statement and portal, text parameters
/// (types inferred by the server), text results. One round trip; no named statements, so it
/// works through transaction-mode poolers (Hyperdrive, Supavisor, PgBouncer).
///
/// # Errors
/// When the SQL contains NUL or has more than 32767 parameters.
pub fn extended_query(sql: &str, params: &[Option<String>]) -> Result<Vec<u8>, ProtocolError> {
    let nparams = i16::try_from(params.len()).map_err(|_| err("too many parameters"))?;
    let mut out = Vec::with_capacity(sql.len() + 64);

    let mut parse = Vec::with_capacity(sql.len() + 8);
    parse.push(0); // unnamed statement
    put_cstr(&mut parse, sql)?;
    put_i16(&mut parse, 0); // no parameter types: inferred
    frame(&mut out, b'P', &parse)?;

    let mut bind = Vec::with_capacity(32);
    bind.push(0); // unnamed portal
    bind.push(0); // unnamed statement
    put_i16(&mut bind, 0); // all parameters in text format
    put_i16(&mut bind, nparams);
    for p in params {
        match p {
            None => put_i32(&mut bind, -1),
            Some(v) => {
                put_i32(&mut bind, len_i32(v.len())?);
                bind.extend_from_slice(v.as_bytes());
            }
        }
    }
    put_i16(&mut bind, 0); // all results in text format
    frame(&mut out, b'B', &bind)?;

    frame(&mut out, b'E', &[0, 0, 0, 0, 0])?; // unnamed portal, no row limit
    frame(&mut out, b'S', &[])?;
    Ok(out)
}

/// Terminate.
#[must_use]
pub fn terminate() -> Vec<u8> {
    vec![b'X', 0, 0, 0, 4]
}

/// An ErrorResponse's useful fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerError {
    /// SQLSTATE.
    pub code: String,
    /// Primary message.
    pub message: String,
}

/// A message from the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `R`: an authentication request or result.
    Auth(Auth),
    /// `Z`: ready for a new query.
    ReadyForQuery,
    /// `D`: one row.
    DataRow(Vec<Option<String>>),
    /// `C`: a command finished.
    CommandComplete,
    /// `E`: an error.
    Error(ServerError),
    /// Anything else we do not act on (ParameterStatus, BackendKeyData, notices, …).
    Other(u8),
}

/// Authentication requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    /// Authenticated.
    Ok,
    /// Send the password in clear.
    Cleartext,
    /// MD5 (not supported: it is deprecated and broken).
    Md5,
    /// SASL with these mechanisms.
    Sasl(Vec<String>),
    /// SASL continuation data.
    SaslContinue(Vec<u8>),
    /// SASL final data.
    SaslFinal(Vec<u8>),
    /// Any other method (Kerberos, GSS, SSPI, …).
    Unsupported(i32),
}

fn be_i32(b: &[u8]) -> Option<i32> {
    Some(i32::from_be_bytes(b.get(..4)?.try_into().ok()?))
}

fn be_i16(b: &[u8]) -> Option<i16> {
    Some(i16::from_be_bytes(b.get(..2)?.try_into().ok()?))
}

/// Decodes one message from the front of `buf`. `Ok(None)` when more bytes are needed;
/// otherwise the message and the number of bytes it used.
///
/// # Errors
/// On malformed or oversized messages.
pub fn decode(buf: &[u8]) -> Result<Option<(Backend, usize)>, ProtocolError> {
    let (Some(&tag), Some(len)) = (buf.first(), buf.get(1..).and_then(be_i32)) else {
        return Ok(None);
    };
    let len = usize::try_from(len).map_err(|_| err("negative message length"))?;
    if !(4..=MAX_MESSAGE).contains(&len) {
        return Err(err("message length out of range"));
    }
    let Some(body) = buf.get(5..1 + len) else {
        return Ok(None);
    };
    let msg = match tag {
        b'R' => Backend::Auth(decode_auth(body)?),
        b'Z' => Backend::ReadyForQuery,
        b'D' => Backend::DataRow(decode_row(body)?),
        b'C' => Backend::CommandComplete,
        b'E' => Backend::Error(decode_error(body)),
        other => Backend::Other(other),
    };
    Ok(Some((msg, 1 + len)))
}

fn decode_auth(body: &[u8]) -> Result<Auth, ProtocolError> {
    let code = be_i32(body).ok_or_else(|| err("short authentication message"))?;
    let rest = body.get(4..).unwrap_or_default();
    Ok(match code {
        0 => Auth::Ok,
        3 => Auth::Cleartext,
        5 => Auth::Md5,
        10 => Auth::Sasl(
            rest.split(|b| *b == 0)
                .filter(|m| !m.is_empty())
                .map(|m| String::from_utf8_lossy(m).into_owned())
                .collect(),
        ),
        11 => Auth::SaslContinue(rest.to_vec()),
        12 => Auth::SaslFinal(rest.to_vec()),
        other => Auth::Unsupported(other),
    })
}

fn decode_row(body: &[u8]) -> Result<Vec<Option<String>>, ProtocolError> {
    let short = || err("short data row");
    let n = be_i16(body).ok_or_else(short)?;
    let n = usize::try_from(n).map_err(|_| err("negative column count"))?;
    let mut cols = Vec::with_capacity(n);
    let mut at = 2usize;
    for _ in 0..n {
        let len = be_i32(body.get(at..).ok_or_else(short)?).ok_or_else(short)?;
        at += 4;
        if len < 0 {
            cols.push(None);
            continue;
        }
        let len = usize::try_from(len).map_err(|_| short())?;
        let bytes = body.get(at..at + len).ok_or_else(short)?;
        at += len;
        let text = std::str::from_utf8(bytes).map_err(|_| err("column is not UTF-8 text"))?;
        cols.push(Some(text.to_owned()));
    }
    Ok(cols)
}

fn decode_error(body: &[u8]) -> ServerError {
    let mut e = ServerError {
        code: String::new(),
        message: String::new(),
    };
    for field in body.split(|b| *b == 0) {
        match field.split_first() {
            Some((b'C', v)) => e.code = String::from_utf8_lossy(v).into_owned(),
            Some((b'M', v)) => e.message = String::from_utf8_lossy(v).into_owned(),
            _ => {}
        }
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_incrementally() {
        let mut wire = vec![b'Z', 0, 0, 0, 5, b'I'];
        wire.extend_from_slice(&[
            b'D', 0, 0, 0, 17, 0, 2, 0, 0, 0, 3, b'a', b'b', b'c', 0xff, 0xff, 0xff, 0xff,
        ]);
        for cut in 0..6 {
            assert_eq!(decode(&wire[..cut]).unwrap(), None);
        }
        let (m, used) = decode(&wire).unwrap().unwrap();
        assert_eq!((m, used), (Backend::ReadyForQuery, 6));
        assert_eq!(decode(&wire[6..wire.len() - 1]).unwrap(), None);
        let (m, _) = decode(&wire[6..]).unwrap().unwrap();
        assert_eq!(m, Backend::DataRow(vec![Some("abc".into()), None]));
    }

    #[test]
    fn rejects_bad_lengths_and_rows() {
        assert!(decode(&[b'Z', 0, 0, 0, 3]).is_err());
        assert!(decode(&[b'Z', 0xff, 0, 0, 0]).is_err());
        // a row claiming a column longer than the message
        assert!(decode(&[b'D', 0, 0, 0, 10, 0, 1, 0, 0, 0, 9]).is_err());
    }

    #[test]
    fn decodes_errors_and_auth() {
        let mut body = b"SERROR\0C42P01\0Mrelation \"x\" does not exist\0\0".to_vec();
        let mut wire = vec![b'E'];
        wire.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
        wire.append(&mut body);
        let (m, _) = decode(&wire).unwrap().unwrap();
        assert_eq!(
            m,
            Backend::Error(ServerError {
                code: "42P01".into(),
                message: "relation \"x\" does not exist".into()
            })
        );
        let sasl = [
            b'R', 0, 0, 0, 23, 0, 0, 0, 10, b'S', b'C', b'R', b'A', b'M', b'-', b'S', b'H', b'A',
            b'-', b'2', b'5', b'6', 0, 0,
        ];
        let (m, _) = decode(&sasl).unwrap().unwrap();
        assert_eq!(m, Backend::Auth(Auth::Sasl(vec!["SCRAM-SHA-256".into()])));
    }

    #[test]
    fn encodes_extended_query() {
        let q = extended_query("select $1", &[Some("x".into()), None]).unwrap();
        assert_eq!(q[0], b'P');
        assert!(q.ends_with(&[b'S', 0, 0, 0, 4]));
        assert!(extended_query("select '\0'", &[]).is_err());
    }
}
