//! Reference vectors: RFC 7515 appendix A.1 (HS256), A.2 (RS256), A.3 (ES256) and RFC 8037
//! A.4 (Ed25519), through the signature step.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::block_on;
use portcullis_core::{Crypto, SignatureAlg};
use portcullis_jwt::native::RustCrypto;
use portcullis_jwt::{
    Alg, HmacKey, KeySet, Refusal, UntrustedToken, VerifyError, verify_signature,
};

const PAYLOAD: &str = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";

const A1: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const A1_KEY: &str = r#"{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}"#;

const A2_SIG: &str = "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
const A2_JWKS: &str = r#"{"keys":[{"kty":"RSA","e":"AQAB","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"}]}"#;

const A3_SIG: &str =
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
const A3_JWKS: &str = r#"{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#;

fn check(token: &str, jwks: &str, allow_secret: bool) -> Result<(), VerifyError> {
    let (set, _) = KeySet::from_jwks(jwks, allow_secret).unwrap();
    let t = UntrustedToken::parse(token).unwrap();
    block_on(verify_signature(&t, &set, &RustCrypto))
}

/// The same token with its signature's last character changed.
fn tampered(token: &str) -> String {
    let mut t = token.to_owned();
    let last = t.pop().unwrap();
    t.push(if last == 'A' { 'Q' } else { 'A' });
    t
}

#[test]
fn rfc7515_a1_hs256() {
    let t = UntrustedToken::parse(A1).unwrap();
    assert_eq!(t.alg(), Alg::Hs256);
    assert!(t.payload().contains("\"iss\":\"joe\""));
    check(A1, A1_KEY, true).unwrap();
    // A fetched set never carries the HS256 secret.
    assert_eq!(check(A1, A1_KEY, false), Err(Refusal::NoKey.into()));
    let mut other = A1.to_owned();
    other.replace_range(other.len() - 5..other.len() - 4, "Z");
    assert!(check(&other, A1_KEY, true).is_err());
}

#[test]
fn rfc7515_a2_rs256() {
    let token = format!("eyJhbGciOiJSUzI1NiJ9.{PAYLOAD}.{A2_SIG}");
    check(&token, A2_JWKS, false).unwrap();
    assert_eq!(
        check(&tampered(&token), A2_JWKS, false),
        Err(Refusal::BadSignature.into())
    );
    // An RS256 signature is exactly as long as the modulus (256 bytes here): a shorter or
    // longer one is refused before the host is asked.
    for len in [255, 257, 64] {
        let sig = portcullis_core::encoding::base64url_encode(&vec![1u8; len]);
        assert_eq!(
            check(
                &format!("eyJhbGciOiJSUzI1NiJ9.{PAYLOAD}.{sig}"),
                A2_JWKS,
                false
            ),
            Err(Refusal::SignatureLength.into()),
            "{len} bytes"
        );
    }
}

#[test]
fn rfc7515_a3_es256() {
    let token = format!("eyJhbGciOiJFUzI1NiJ9.{PAYLOAD}.{A3_SIG}");
    check(&token, A3_JWKS, false).unwrap();
    assert_eq!(
        check(&tampered(&token), A3_JWKS, false),
        Err(Refusal::BadSignature.into())
    );
    // The key fixes the algorithm: the same key does not verify an RS256 or HS256 claim.
    let rs = format!("eyJhbGciOiJSUzI1NiJ9.{PAYLOAD}.{A3_SIG}");
    assert_eq!(check(&rs, A3_JWKS, false), Err(Refusal::NoKey.into()));
}

#[test]
fn rfc8037_a4_ed25519() {
    // The payload is text, not claims: the signature step through the capability directly.
    let jwks = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
    let (set, summary) = KeySet::from_jwks(jwks, false).unwrap();
    assert_eq!(summary.kept, 1);
    let key = &set.public_keys()[0];
    assert_eq!(key.alg, SignatureAlg::EdDsa);
    let input = b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
    let sig = portcullis_core::encoding::base64url_decode(
        "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg",
    )
    .unwrap();
    assert!(block_on(RustCrypto.verify(SignatureAlg::EdDsa, &key.jwk, input, &sig)).unwrap());
    let mut bad = sig.clone();
    bad[0] ^= 1;
    assert!(!block_on(RustCrypto.verify(SignatureAlg::EdDsa, &key.jwk, input, &bad)).unwrap());
    // And the shape step refuses it as a token: its payload is not a JSON object.
    let token = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
    assert_eq!(UntrustedToken::parse(token).err(), Some(Refusal::Malformed));
}

#[test]
fn hmac_key_is_raw_bytes_and_long_enough() {
    assert!(HmacKey::new(b"short".to_vec()).is_err());
    // Used as given, not base64-decoded: the same text as base64 is a different key.
    let a = HmacKey::new(b"c3VwZXItc2VjcmV0LWp3dC10b2tlbi13aXRoLWF0LWxlYXN0".to_vec()).unwrap();
    assert_ne!(
        a.sign(b"x"),
        HmacKey::new(b"super-secret-jwt-token-with-at-least".to_vec())
            .unwrap()
            .sign(b"x")
    );
}

#[test]
fn jwks_members_and_keys_we_do_not_understand_are_skipped() {
    let jwks = r#"{"keys":[
      {"kty":"EC","crv":"P-384","x":"AA","y":"AA","kid":"p384"},
      {"kty":"EC","crv":"P-256","kid":"enc","use":"enc","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
      {"kty":"EC","crv":"P-256","kid":"ops","key_ops":["encrypt"],"x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
      {"kty":"EC","crv":"P-256","kid":"wrong-alg","alg":"RS256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
      {"kty":"RSA","kid":"weak","e":"AQAB","n":"AQAB"},
      {"kty":"XYZ","kid":"future"},
      "not an object",
      {"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"},
      {"kty":"EC","crv":"P-256","kid":"good","alg":"ES256","use":"sig","key_ops":["verify"],"ext":true,"x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}
    ]}"#;
    let (set, summary) = KeySet::from_jwks(jwks, false).unwrap();
    assert_eq!((summary.kept, summary.skipped), (1, 8));
    assert_eq!(set.public_keys()[0].kid.as_deref(), Some("good"));
    assert!(set.hmac_key().is_none());
    assert_eq!(
        set.public_keys()[0].jwk,
        r#"{"crv":"P-256","kty":"EC","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#
    );
    for bad in ["", "[]", "{\"keys\":{}}", "nope"] {
        assert!(KeySet::from_jwks(bad, false).is_err(), "{bad}");
    }
}
