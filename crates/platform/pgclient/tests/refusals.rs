//! Servers that try to get the password: the client must refuse them before it sends it,
//! in plain text and behind `sslmode=require` (TLS whose certificate is not checked, where a
//! man in the middle can answer).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::thread;

use base64::Engine as _;
use portcullis_pgclient::Client;

const PASSWORD: &str = "correct horse battery staple";

/// What the client sent after start-up: (message type, body) each.
type Sent = Vec<(u8, Vec<u8>)>;
type Server = thread::JoinHandle<Sent>;

/// What a fake server does after the start-up message.
#[derive(Clone, Copy)]
enum Script {
    /// `AuthenticationCleartextPassword`.
    Cleartext,
    /// `AuthenticationMD5Password`.
    Md5,
    /// SCRAM up to the client's proof, then `AuthenticationOk` without the server's signature.
    SkipServerFinal,
    /// `AuthenticationOk` at once (trust, or an impostor that does not know the password).
    Trust,
}

fn read_exact(s: &mut impl Read, n: usize) -> Option<Vec<u8>> {
    let mut b = vec![0; n];
    s.read_exact(&mut b).ok()?;
    Some(b)
}

/// A frontend message after start-up: type byte and body.
fn read_message(s: &mut impl Read) -> Option<(u8, Vec<u8>)> {
    let head = read_exact(s, 5)?;
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    Some((head[0], read_exact(s, len - 4)?))
}

fn auth(code: u32, extra: &[u8]) -> Vec<u8> {
    let mut m = vec![b'R'];
    m.extend_from_slice(&(8 + extra.len() as u32).to_be_bytes());
    m.extend_from_slice(&code.to_be_bytes());
    m.extend_from_slice(extra);
    m
}

/// Plays `script` on one connection; returns every frontend message after start-up.
fn play(s: &mut (impl Read + Write), script: Script) -> Sent {
    let mut seen = Vec::new();
    let len = read_exact(s, 4).unwrap();
    let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
    let _startup = read_exact(s, len - 4).unwrap();
    match script {
        Script::Cleartext => s.write_all(&auth(3, b"")).unwrap(),
        Script::Md5 => s.write_all(&auth(5, b"salt")).unwrap(),
        Script::Trust => {
            s.write_all(&auth(0, b"")).unwrap();
            s.write_all(b"Z\0\0\0\x05I").unwrap();
        }
        Script::SkipServerFinal => {
            s.write_all(&auth(10, b"SCRAM-SHA-256\0\0")).unwrap();
            let Some(first) = read_message(s) else {
                return seen;
            };
            let text = String::from_utf8_lossy(&first.1).into_owned();
            seen.push(first);
            let nonce = text
                .split("r=")
                .nth(1)
                .unwrap()
                .trim_end_matches('\0')
                .to_owned();
            let salt = base64::engine::general_purpose::STANDARD.encode(b"0123456789abcdef");
            s.write_all(&auth(
                11,
                format!("r={nonce}fake,s={salt},i=4096").as_bytes(),
            ))
            .unwrap();
            let Some(proof) = read_message(s) else {
                return seen;
            };
            seen.push(proof);
            s.write_all(&auth(0, b"")).unwrap();
            s.write_all(b"Z\0\0\0\x05I").unwrap();
        }
    }
    while let Some(m) = read_message(s) {
        seen.push(m);
    }
    seen
}

/// A server certificate for `name` signed by a throw-away CA; the CA's PEM.
fn certificate(name: &str) -> (rustls::ServerConfig, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "Test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec![name.to_owned()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    (config, ca_cert.pem())
}

/// A fake server on loopback; `tls` answers the SSLRequest and runs TLS first, with a
/// certificate for `db.internal` (not the address the client dials). Returns the URL, the
/// CA's PEM and the thread that reports what the client sent.
fn fake_with_ca(script: Script, tls: bool) -> (String, String, Server) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (config, ca) = certificate("db.internal");
    let handle = thread::spawn(move || {
        let Ok((mut tcp, _)) = listener.accept() else {
            return Vec::new();
        };
        if !tls {
            return play(&mut tcp, script);
        }
        let request = read_exact(&mut tcp, 8).unwrap();
        assert_eq!(request, [0, 0, 0, 8, 4, 210, 22, 47], "SSLRequest");
        tcp.write_all(b"S").unwrap();
        let conn = rustls::ServerConnection::new(Arc::new(config)).unwrap();
        let mut s = rustls::StreamOwned::new(conn, tcp);
        play(&mut s, script)
    });
    let mode = if tls { "require" } else { "disable" };
    let url = format!(
        "postgres://portcullis_fn:{}@127.0.0.1:{port}/postgres?sslmode={mode}",
        PASSWORD.replace(' ', "%20")
    );
    (url, ca, handle)
}

fn fake(script: Script, tls: bool) -> (String, Server) {
    let (url, _, handle) = fake_with_ca(script, tls);
    (url, handle)
}

fn refused(script: Script, tls: bool, want: &str) {
    let (url, server) = fake(script, tls);
    let err = Client::connect(&url).expect_err("the client must refuse this server");
    assert!(err.contains(want), "{err}");
    assert!(
        !err.contains(PASSWORD),
        "the error repeats the password: {err}"
    );
    let sent = server.join().unwrap();
    // Nothing the client sent holds the password or an MD5 answer.
    for (kind, body) in &sent {
        let scram = body.starts_with(b"SCRAM-SHA-256") || body.starts_with(b"c=");
        assert!(
            *kind != b'p' || scram,
            "a password message reached the server: {:?}",
            String::from_utf8_lossy(body)
        );
        assert!(
            !String::from_utf8_lossy(body).contains(PASSWORD),
            "the password reached the server"
        );
        assert!(
            !matches!(kind, b'Q' | b'P'),
            "a query reached the refused server"
        );
    }
}

#[test]
fn a_request_for_the_password_in_clear_text_is_refused() {
    refused(Script::Cleartext, false, "clear text");
}

#[test]
fn a_request_for_the_password_in_clear_text_is_refused_behind_unverified_tls() {
    refused(Script::Cleartext, true, "clear text");
}

#[test]
fn md5_is_refused() {
    refused(Script::Md5, false, "MD5");
    refused(Script::Md5, true, "MD5");
}

#[test]
fn a_login_without_the_scram_server_signature_is_refused() {
    refused(Script::SkipServerFinal, false, "without proving");
    refused(Script::SkipServerFinal, true, "without proving");
}

#[test]
fn a_login_without_scram_is_refused_when_we_hold_a_password() {
    refused(Script::Trust, false, "without SCRAM");
    refused(Script::Trust, true, "without SCRAM");
}

#[test]
fn verify_ca_checks_the_chain_but_not_the_name_and_verify_full_both() {
    let dir = std::env::temp_dir().join(format!("pgclient-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (url, ca, _server) = fake_with_ca(Script::Cleartext, true);
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca).unwrap();
    let with = |mode: &str| {
        url.replace(
            "sslmode=require",
            &format!("sslmode={mode}&sslrootcert={}", ca_file.display()),
        )
    };
    // The chain checks out: the handshake completes, and the fake's request is refused next.
    let err = Client::connect(&with("verify-ca")).unwrap_err();
    assert!(err.contains("clear text"), "{err}");
    let (url2, ca2, _server) = fake_with_ca(Script::Cleartext, true);
    std::fs::write(&ca_file, ca2).unwrap();
    let err = Client::connect(&url2.replace(
        "sslmode=require",
        &format!("sslmode=verify-full&sslrootcert={}", ca_file.display()),
    ))
    .unwrap_err();
    assert!(
        err.contains("NotValidForName") || err.to_lowercase().contains("name"),
        "{err}"
    );
    // Another CA's certificate fails the chain in either mode.
    let (url3, _, _server) = fake_with_ca(Script::Cleartext, true);
    let err = Client::connect(&url3.replace(
        "sslmode=require",
        &format!("sslmode=verify-ca&sslrootcert={}", ca_file.display()),
    ))
    .unwrap_err();
    assert!(
        err.to_lowercase().contains("issuer") || err.to_lowercase().contains("certificate"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn verify_full_refuses_a_certificate_it_cannot_check() {
    // The fake's self-signed certificate is not in the web roots.
    let (url, _server) = fake(Script::Cleartext, true);
    let url = url.replace("sslmode=require", "sslmode=verify-full");
    let err = Client::connect(&url).expect_err("unknown issuer");
    assert!(err.to_lowercase().contains("certificate"), "{err}");
}

#[test]
fn scram_verifiers_have_postgres_format() {
    let v = portcullis_pgclient::scram_verifier(PASSWORD);
    assert!(v.starts_with("SCRAM-SHA-256$4096:"), "{v}");
    assert!(!v.contains(PASSWORD));
    assert_ne!(
        v,
        portcullis_pgclient::scram_verifier(PASSWORD),
        "fresh salt"
    );
}
