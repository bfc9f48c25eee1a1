//! Helpers shared by the token-layer tests.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use portcullis_core::encoding::base64url_encode;
use portcullis_jwt::native::RustCrypto;
use portcullis_jwt::{HmacKey, SigningKey};

/// Polls a future that never waits on I/O to completion.
pub fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1000 {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
    panic!("future did not complete")
}

pub const NOW: i64 = 1_796_000_000;
pub const ISSUER: &str = "https://abcdefghijklmnop.supabase.co/auth/v1";
pub const SECRET: &[u8] = b"super-secret-jwt-token-with-at-least-32-characters-long";
pub const USER: &str = "8a7a3b0e-1b2c-4d5e-8f90-0123456789ab";

/// RFC 7515 A.3's P-256 key, with a kid.
pub const EC_PRIVATE: &str = r#"{"kty":"EC","kid":"ec-1","alg":"ES256","crv":"P-256",
  "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
  "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
  "d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}"#;
pub const EC_PUBLIC_JWKS: &str = r#"{"keys":[{"kty":"EC","kid":"ec-1","alg":"ES256","use":"sig","crv":"P-256",
  "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
  "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#;

pub fn hs_key() -> SigningKey {
    SigningKey::Hs256 {
        key: HmacKey::new(SECRET.to_vec()).unwrap(),
        kid: None,
    }
}

pub fn ec_key() -> SigningKey {
    SigningKey::from_private_jwk(EC_PRIVATE).unwrap()
}

/// A payload with good claims, `extra` members spliced in (replacing same-named ones).
pub fn claims(extra: &[(&str, serde_json::Value)]) -> String {
    let mut v = serde_json::json!({
        "iss": ISSUER, "sub": USER, "aud": "authenticated", "role": "authenticated",
        "exp": NOW + 3600, "iat": NOW - 10, "aal": "aal1",
        "amr": [{"method": "password", "timestamp": NOW - 10}],
        "session_id": "2b7f2f0e-4c7b-4f1e-9a55-6d2c8a0e1f3a", "is_anonymous": false,
        "email": "ada@example.com",
    });
    for (k, val) in extra {
        if val.is_null() {
            v.as_object_mut().unwrap().remove(*k);
        } else {
            v[*k] = val.clone();
        }
    }
    v.to_string()
}

/// `header.payload.signature` with raw JSON texts, signed by `key`.
pub fn token(header: &str, payload: &str, key: &SigningKey) -> String {
    let input = format!(
        "{}.{}",
        base64url_encode(header.as_bytes()),
        base64url_encode(payload.as_bytes())
    );
    let sig = match key {
        SigningKey::Hs256 { key, .. } => key.sign(input.as_bytes()).to_vec(),
        SigningKey::Rs256 { .. } => panic!("native code signs no RSA"),
        SigningKey::Es256 { private, .. } => block_on(portcullis_core::Crypto::sign(
            &RustCrypto,
            portcullis_core::SignatureAlg::Es256,
            private,
            input.as_bytes(),
        ))
        .unwrap(),
    };
    format!("{input}.{}", base64url_encode(&sig))
}
