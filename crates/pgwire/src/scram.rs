//! SCRAM-SHA-256 client (RFC 5802 / RFC 7677) without channel binding, as PostgreSQL uses it.

use hmac::{Hmac, KeyInit, Mac};
use portcullis_core::Secret;
use portcullis_core::encoding::{base64_decode, base64_encode};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::message::ProtocolError;

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length; the error branch is unreachable.
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        return [0; 32];
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// PBKDF2-HMAC-SHA256 with a 32-byte output (one block).
#[must_use]
pub fn salted_password(password: &[u8], salt: &[u8], iterations: u32) -> Secret<Vec<u8>> {
    let Ok(keyed) = HmacSha256::new_from_slice(password) else {
        return Secret::new(vec![0; 32]);
    };
    let mut mac = keyed.clone();
    mac.update(salt);
    mac.update(&1u32.to_be_bytes());
    let mut u: [u8; 32] = mac.finalize().into_bytes().into();
    let mut out = u;
    for _ in 1..iterations {
        let mut mac = keyed.clone();
        mac.update(&u);
        u = mac.finalize().into_bytes().into();
        for (o, b) in out.iter_mut().zip(u) {
            *o ^= b;
        }
    }
    Secret::new(out.to_vec())
}

/// What the server's first message asks for: the salted password can be cached per
/// `(salt, iterations)` by the caller, since deriving it is deliberately slow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerFirst {
    nonce: String,
    /// The salt.
    pub salt: Vec<u8>,
    /// PBKDF2 iterations.
    pub iterations: u32,
    raw: String,
}

/// A SCRAM exchange in progress.
#[derive(Debug)]
pub struct Scram {
    client_nonce: String,
    client_first_bare: String,
}

/// The SCRAM exchange after the client's final message: holds what checks the server.
#[derive(Debug)]
pub struct ScramFinal {
    expected_server_signature: [u8; 32],
}

fn bad(text: &str) -> ProtocolError {
    ProtocolError(format!("SCRAM: {text}"))
}

impl Scram {
    /// Starts an exchange with a client nonce made of at least 18 random bytes.
    #[must_use]
    pub fn new(random: &[u8]) -> Self {
        let client_nonce = base64_encode(random);
        Self {
            client_first_bare: format!("n=,r={client_nonce}"),
            client_nonce,
        }
    }

    /// The client-first message (gs2 header `n,,`: no channel binding).
    #[must_use]
    pub fn client_first(&self) -> Vec<u8> {
        format!("n,,{}", self.client_first_bare).into_bytes()
    }

    /// Parses the server-first message.
    ///
    /// # Errors
    /// When it is malformed or the server's nonce does not extend ours.
    pub fn server_first(&self, data: &[u8]) -> Result<ServerFirst, ProtocolError> {
        let raw = std::str::from_utf8(data).map_err(|_| bad("server-first is not UTF-8"))?;
        let (mut nonce, mut salt, mut iterations) = (None, None, None);
        for attr in raw.split(',') {
            match attr.split_once('=') {
                Some(("r", v)) => nonce = Some(v),
                Some(("s", v)) => {
                    salt = Some(base64_decode(v).map_err(|_| bad("salt is not base64"))?)
                }
                Some(("i", v)) => iterations = v.parse::<u32>().ok(),
                _ => {}
            }
        }
        let nonce = nonce.ok_or_else(|| bad("no nonce"))?;
        if !nonce.starts_with(&self.client_nonce) || nonce.len() <= self.client_nonce.len() {
            return Err(bad("server nonce does not extend the client nonce"));
        }
        let iterations = iterations
            .filter(|i| (1..=1_000_000).contains(i))
            .ok_or_else(|| bad("bad iteration count"))?;
        Ok(ServerFirst {
            nonce: nonce.to_owned(),
            salt: salt.ok_or_else(|| bad("no salt"))?,
            iterations,
            raw: raw.to_owned(),
        })
    }

    /// The client-final message, given the server-first and the salted password for its
    /// `(salt, iterations)`.
    #[must_use]
    pub fn client_final(
        &self,
        first: &ServerFirst,
        salted: &Secret<Vec<u8>>,
    ) -> (Vec<u8>, ScramFinal) {
        let without_proof = format!("c=biws,r={}", first.nonce);
        let auth_message = format!("{},{},{}", self.client_first_bare, first.raw, without_proof);
        let client_key = hmac(salted.expose(), &[b"Client Key"]);
        let stored_key: [u8; 32] = Sha256::digest(client_key).into();
        let client_signature = hmac(&stored_key, &[auth_message.as_bytes()]);
        let mut proof = client_key;
        for (p, s) in proof.iter_mut().zip(client_signature) {
            *p ^= s;
        }
        let server_key = hmac(salted.expose(), &[b"Server Key"]);
        let expected_server_signature = hmac(&server_key, &[auth_message.as_bytes()]);
        let message = format!("{without_proof},p={}", base64_encode(&proof)).into_bytes();
        (
            message,
            ScramFinal {
                expected_server_signature,
            },
        )
    }
}

impl ScramFinal {
    /// Checks the server-final message proves the server knows the password too.
    ///
    /// # Errors
    /// When the server's signature is missing or wrong.
    pub fn verify(&self, data: &[u8]) -> Result<(), ProtocolError> {
        let raw = std::str::from_utf8(data).map_err(|_| bad("server-final is not UTF-8"))?;
        let sig = raw
            .split(',')
            .find_map(|a| a.strip_prefix("v="))
            .ok_or_else(|| bad("no server signature"))?;
        let sig = base64_decode(sig).map_err(|_| bad("server signature is not base64"))?;
        if bool::from(sig.as_slice().ct_eq(&self.expected_server_signature)) {
            Ok(())
        } else {
            Err(bad(
                "server signature does not match: wrong server or man in the middle",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677 §3 test vector (user "user", password "pencil").
    #[test]
    fn rfc7677_vector() {
        let scram = Scram {
            client_nonce: "rOprNGfwEbeRWgbNEkqO".into(),
            client_first_bare: "n=user,r=rOprNGfwEbeRWgbNEkqO".into(),
        };
        let first = scram
            .server_first(b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
            .unwrap();
        let salted = salted_password(b"pencil", &first.salt, first.iterations);
        let (msg, fin) = scram.client_final(&first, &salted);
        assert_eq!(
            String::from_utf8(msg).unwrap(),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        fin.verify(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
        assert!(
            fin.verify(b"v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
                .is_err()
        );
        assert!(fin.verify(b"e=invalid-proof").is_err());
    }

    #[test]
    fn server_nonce_must_extend_ours() {
        let scram = Scram::new(&[1; 18]);
        assert!(scram.server_first(b"r=other,s=AAAA,i=4096").is_err());
        let nonce = String::from_utf8(scram.client_first()).unwrap();
        let ours = nonce.strip_prefix("n,,n=,r=").unwrap();
        assert!(
            scram
                .server_first(format!("r={ours},s=AAAA,i=4096").as_bytes())
                .is_err(),
            "equal is not extending"
        );
        assert!(
            scram
                .server_first(format!("r={ours}x,s=AAAA,i=0").as_bytes())
                .is_err()
        );
        assert!(
            scram
                .server_first(format!("r={ours}x,s=AAAA,i=4096").as_bytes())
                .is_ok()
        );
    }
}
