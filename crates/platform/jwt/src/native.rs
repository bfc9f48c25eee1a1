//! [`RustCrypto`]: the [`Crypto`] capability in pure Rust, for native hosts (the CLI, tests).
//! jwt-compact's ES256 (`p256`), EdDSA (`ed25519-compact`) and RS256 (`rsa`, verification and
//! PKCS#1 v1.5 only: RUSTSEC-2023-0071 concerns private-key operations, which this never does
//! with RSA). Signing is ES256 only: the algorithm we mint with besides HS256.

use jwt_compact::Algorithm;
use jwt_compact::AlgorithmSignature;
use jwt_compact::alg::{Ed25519, Es256, Rsa, RsaPublicKey};
use jwt_compact::jwk::JsonWebKey;
use portcullis_core::crypto::LocalFuture;
use portcullis_core::{Crypto, CryptoError, Secret, SignatureAlg};

/// Pure-Rust signatures.
#[derive(Clone, Copy, Debug, Default)]
pub struct RustCrypto;

fn bad(detail: &str) -> CryptoError {
    CryptoError {
        detail: detail.to_owned(),
    }
}

fn parse(jwk: &str) -> Result<JsonWebKey<'static>, CryptoError> {
    serde_json::from_str(jwk).map_err(|_| bad("not a JWK"))
}

fn verify_now(
    alg: SignatureAlg,
    jwk: &str,
    message: &[u8],
    signature: &[u8],
) -> Result<bool, CryptoError> {
    let jwk = parse(jwk)?;
    Ok(match alg {
        SignatureAlg::Es256 => {
            let key = jwt_compact::alg::VerifyingKey::from_slice(&sec1(&jwk)?)
                .map_err(|_| bad("not a P-256 public key"))?;
            let Ok(sig) = <Es256 as Algorithm>::Signature::try_from_slice(signature) else {
                return Ok(false);
            };
            Es256.verify_signature(&sig, &key, message)
        }
        SignatureAlg::EdDsa => {
            let JsonWebKey::KeyPair { x, .. } = &jwk else {
                return Err(bad("not an OKP key"));
            };
            let key = <<Ed25519 as Algorithm>::VerifyingKey as jwt_compact::alg::VerifyingKey<
                Ed25519,
            >>::from_slice(x)
            .map_err(|_| bad("not an Ed25519 key"))?;
            let Ok(sig) = <Ed25519 as Algorithm>::Signature::try_from_slice(signature) else {
                return Ok(false);
            };
            Ed25519.verify_signature(&sig, &key, message)
        }
        SignatureAlg::Rs256 => {
            let key = RsaPublicKey::try_from(&jwk).map_err(|_| bad("not an RSA key"))?;
            let Ok(sig) = <Rsa as Algorithm>::Signature::try_from_slice(signature) else {
                return Ok(false);
            };
            Rsa::rs256().verify_signature(&sig, &key, message)
        }
    })
}

fn sec1(jwk: &JsonWebKey<'_>) -> Result<Vec<u8>, CryptoError> {
    let JsonWebKey::EllipticCurve { x, y, .. } = jwk else {
        return Err(bad("not an EC key"));
    };
    let mut out = Vec::with_capacity(65);
    out.push(4);
    out.extend_from_slice(x);
    out.extend_from_slice(y);
    Ok(out)
}

fn sign_now(alg: SignatureAlg, jwk: &str, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let jwk = parse(jwk)?;
    match alg {
        SignatureAlg::Es256 => {
            let key = <Es256 as Algorithm>::SigningKey::try_from(&jwk)
                .map_err(|_| bad("not a P-256 private key"))?;
            Ok(Es256.sign(&key, message).as_bytes().into_owned())
        }
        SignatureAlg::EdDsa => Err(bad("EdDSA signing is not offered (nothing mints it)")),
        SignatureAlg::Rs256 => Err(bad("RSA signing is not offered (RUSTSEC-2023-0071)")),
    }
}

impl Crypto for RustCrypto {
    fn verify<'a>(
        &'a self,
        alg: SignatureAlg,
        jwk: &'a str,
        message: &'a [u8],
        signature: &'a [u8],
    ) -> LocalFuture<'a, Result<bool, CryptoError>> {
        let result = verify_now(alg, jwk, message, signature);
        Box::pin(async move { result })
    }

    fn sign<'a>(
        &'a self,
        alg: SignatureAlg,
        jwk: &'a Secret<String>,
        message: &'a [u8],
    ) -> LocalFuture<'a, Result<Vec<u8>, CryptoError>> {
        let result = sign_now(alg, jwk.expose(), message);
        Box::pin(async move { result })
    }
}
