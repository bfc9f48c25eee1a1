//! Minting: HS256 without `kid`, ES256 from a `supabase gen signing-key` JWK (31-byte fields
//! left-padded), Supabase's claim shape with integer times; what we mint verifies.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{ISSUER, NOW, SECRET, USER, block_on, ec_key, hs_key};
use jwt_compact::Algorithm;
use jwt_compact::alg::Es256;
use jwt_compact::jwk::JsonWebKey;
use portcullis_core::encoding::{base64url_decode, base64url_encode};
use portcullis_core::{FixedClock, NoOutbound, UnixTime};
use portcullis_jwt::native::RustCrypto;
use portcullis_jwt::{
    Expectations, HmacKey, KeyError, KeySet, KeySource, SigningKey, TokenClaims, Verifier, mint,
};
use sha2::{Digest, Sha256};

fn claims<'a>(extra: &'a [(&'a str, &'a str)]) -> TokenClaims<'a> {
    TokenClaims {
        issuer: ISSUER,
        sub: USER,
        aud: "authenticated",
        role: "authenticated",
        issued_at: UnixTime::from_secs(NOW),
        expires_at: UnixTime::from_secs(NOW + 900),
        aal: "aal1",
        amr_method: "pat",
        amr_timestamp: UnixTime::from_secs(NOW),
        session_id: "00000000-0000-0000-0000-000000000000",
        is_anonymous: false,
        email: "ada@example.com",
        phone: "",
        app_metadata: r#"{"provider":"email","providers":["email"]}"#,
        user_metadata: "{}",
        extra,
    }
}

fn verify_with(set: KeySet, token: &str) -> serde_json::Value {
    let v = Verifier::new(
        KeySource::Static(set),
        Expectations::new(ISSUER, Some("authenticated".into())),
    );
    let c = block_on(v.verify(
        token,
        &FixedClock(UnixTime::from_secs(NOW)),
        &NoOutbound,
        &RustCrypto,
    ))
    .unwrap();
    serde_json::from_str(&c.payload).unwrap()
}

fn header(token: &str) -> serde_json::Value {
    let h = base64url_decode(token.split('.').next().unwrap()).unwrap();
    serde_json::from_slice(&h).unwrap()
}

#[test]
fn hs256_has_no_kid_and_supabase_claims() {
    let extra = [("pat_id", "5d1c"), ("scope", "data:read")];
    let t = block_on(mint(&hs_key(), &claims(&extra), &RustCrypto)).unwrap();
    assert_eq!(
        header(&t),
        serde_json::json!({"alg": "HS256", "typ": "JWT"})
    );
    let set = KeySet::hmac(HmacKey::new(SECRET.to_vec()).unwrap());
    let c = verify_with(set, &t);
    assert_eq!(c["exp"], NOW + 900);
    assert!(c["exp"].is_i64() && c["iat"].is_i64() && c["amr"][0]["timestamp"].is_i64());
    assert_eq!(
        c["amr"],
        serde_json::json!([{"method": "pat", "timestamp": NOW}])
    );
    assert_eq!(c["session_id"], "00000000-0000-0000-0000-000000000000");
    assert_eq!(c["app_metadata"]["provider"], "email");
    assert_eq!(c["pat_id"], "5d1c");
    assert_eq!(c["scope"], "data:read");
    for k in [
        "iss",
        "sub",
        "aud",
        "role",
        "aal",
        "is_anonymous",
        "email",
        "phone",
        "user_metadata",
    ] {
        assert!(c.get(k).is_some(), "{k}");
    }
}

#[test]
fn hs256_with_the_projects_kid() {
    let key = SigningKey::Hs256 {
        key: HmacKey::new(SECRET.to_vec()).unwrap(),
        kid: Some("WFfTACHsaHoCuL/S".into()),
    };
    let t = block_on(mint(&key, &claims(&[]), &RustCrypto)).unwrap();
    assert_eq!(header(&t)["kid"], "WFfTACHsaHoCuL/S");
}

#[test]
fn es256_carries_the_kid_and_verifies_against_the_published_key() {
    let key = ec_key();
    let t = block_on(mint(&key, &claims(&[]), &RustCrypto)).unwrap();
    assert_eq!(
        header(&t),
        serde_json::json!({"alg": "ES256", "kid": "ec-1", "typ": "JWT"})
    );
    let jwks = format!("{{\"keys\":[{}]}}", key.public_jwk().unwrap());
    let (set, _) = KeySet::from_jwks(&jwks, false).unwrap();
    assert_eq!(verify_with(set, &t)["sub"], USER);
}

#[test]
fn metadata_must_be_objects() {
    let mut c = claims(&[]);
    c.user_metadata = "not json";
    assert!(block_on(mint(&hs_key(), &c, &RustCrypto)).is_err());
    c.user_metadata = "[1]";
    assert!(block_on(mint(&hs_key(), &c, &RustCrypto)).is_err());
    // Strings are escaped, never spliced.
    let mut c = claims(&[("scope", "a\",\"role\":\"service_role")]);
    c.email = "x\"@y";
    let t = block_on(mint(&hs_key(), &c, &RustCrypto)).unwrap();
    let v = verify_with(KeySet::hmac(HmacKey::new(SECRET.to_vec()).unwrap()), &t);
    assert_eq!(v["role"], "authenticated");
    assert_eq!(v["email"], "x\"@y");
}

/// A P-256 key whose `x` starts with a zero byte, printed as Go's `big.Int.Bytes()` would
/// (31 bytes), like about one in 85 `supabase gen signing-key` keys.
fn short_field_key() -> (String, String) {
    for i in 0u32.. {
        let d: [u8; 32] = Sha256::digest(i.to_be_bytes()).into();
        let Ok(sk) = <Es256 as Algorithm>::SigningKey::from_slice(&d) else {
            continue;
        };
        let JsonWebKey::EllipticCurve {
            x,
            y,
            secret: Some(dd),
            ..
        } = JsonWebKey::from(&sk)
        else {
            unreachable!()
        };
        if x[0] != 0 {
            continue;
        }
        let strip = |b: &[u8]| base64url_encode(b.strip_prefix(&[0]).unwrap_or(b));
        let private = format!(
            r#"[{{"kty":"EC","kid":"short-{i}","use":"sig","key_ops":["sign","verify"],"alg":"ES256","ext":true,"d":"{}","crv":"P-256","x":"{}","y":"{}"}}]"#,
            strip(&dd),
            strip(&x),
            strip(&y)
        );
        let public = format!(
            r#"{{"keys":[{{"kty":"EC","kid":"short-{i}","alg":"ES256","crv":"P-256","x":"{}","y":"{}"}}]}}"#,
            strip(&x),
            strip(&y)
        );
        return (private, public);
    }
    unreachable!()
}

#[test]
fn short_fields_are_left_padded_not_refused() {
    let (private, public) = short_field_key();
    let x = &serde_json::from_str::<serde_json::Value>(&private).unwrap()[0]["x"];
    assert_eq!(base64url_decode(x.as_str().unwrap()).unwrap().len(), 31);
    let key = SigningKey::from_private_jwk(&private).unwrap();
    let t = block_on(mint(&key, &claims(&[]), &RustCrypto)).unwrap();
    // Verified against the 31-byte public key as the project would publish it.
    let (set, summary) = KeySet::from_jwks(&public, false).unwrap();
    assert_eq!(summary.kept, 1);
    assert_eq!(verify_with(set, &t)["sub"], USER);
}

#[test]
fn private_keys_we_cannot_mint_with_are_refused_by_name() {
    let cases = [
        ("{", KeyError::NotJson),
        (
            r#"{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}"#,
            KeyError::BadField,
        ),
        (
            r#"{"kty":"EC","kid":"k","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#,
            KeyError::NotP256Private,
        ),
        (
            r#"{"kty":"RSA","kid":"k","n":"AQAB","e":"AQAB"}"#,
            KeyError::NotP256Private,
        ),
        (
            r#"{"kty":"EC","kid":"k","alg":"ES384","crv":"P-384","x":"AA","y":"AA","d":"AA"}"#,
            KeyError::NotP256Private,
        ),
    ];
    for (jwk, want) in cases {
        assert_eq!(SigningKey::from_private_jwk(jwk).err(), Some(want), "{jwk}");
    }
    // Debug never shows the key.
    let dbg = format!("{:?}", ec_key());
    assert!(!dbg.contains("jpsQnnGQ"), "{dbg}");
}
