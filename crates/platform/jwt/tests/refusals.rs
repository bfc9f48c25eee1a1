//! The refusal list of spec §1 as a table: each token is refused with its own [`Refusal`],
//! and the well-formed controls next to them are accepted (so no row passes by accident).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{EC_PUBLIC_JWKS, ISSUER, NOW, SECRET, USER, block_on, claims, ec_key, hs_key, token};
use portcullis_core::encoding::base64url_encode;
use portcullis_core::{FixedClock, NoOutbound, UnixTime};
use portcullis_jwt::native::RustCrypto;
use portcullis_jwt::{
    Expectations, HmacKey, KeySet, KeySource, Refusal, SigningKey, Verifier, VerifyError,
};
use serde_json::json;

fn verifier() -> Verifier {
    let (set, _) = KeySet::from_jwks(EC_PUBLIC_JWKS, false).unwrap();
    let set = set.with_hmac(Some(HmacKey::new(SECRET.to_vec()).unwrap()));
    Verifier::new(
        KeySource::Static(set),
        Expectations::new(ISSUER, Some("authenticated".into())),
    )
}

fn verify(v: &Verifier, token: &str) -> Result<(), Refusal> {
    let clock = FixedClock(UnixTime::from_secs(NOW));
    match block_on(v.verify(token, &clock, &NoOutbound, &RustCrypto)) {
        Ok(_) => Ok(()),
        Err(VerifyError::Refused(r)) => Err(r),
        Err(e) => panic!("not a refusal: {e}"),
    }
}

const HS: &str = r#"{"alg":"HS256","typ":"JWT"}"#;
const ES: &str = r#"{"alg":"ES256","kid":"ec-1","typ":"JWT"}"#;

fn b64(s: &str) -> String {
    base64url_encode(s.as_bytes())
}

/// Replaces segment `i` of `t` with `with`.
fn segment(t: &str, i: usize, with: &str) -> String {
    let mut parts: Vec<String> = t.split('.').map(str::to_owned).collect();
    parts[i] = with.to_owned();
    parts.join(".")
}

#[test]
fn the_refusal_list() {
    let v = verifier();
    let hs = hs_key();
    let es = ec_key();
    let good = claims(&[]);
    let good_hs = token(HS, &good, &hs);
    let good_es = token(ES, &good, &es);
    // A key confusion attempt: HMAC keyed with the public key's JWK text.
    let public_as_secret = SigningKey::Hs256 {
        key: HmacKey::new(EC_PUBLIC_JWKS.as_bytes().to_vec()).unwrap(),
        kid: None,
    };
    let sig_es = good_es.rsplit('.').next().unwrap().to_owned();
    let raw_sig = portcullis_core::encoding::base64url_decode(&sig_es).unwrap();
    // The ES256 signature DER-encoded (SEQUENCE of two INTEGERs), as some libraries emit it.
    let der = {
        let int = |b: &[u8]| {
            let mut v = b.to_vec();
            if v[0] & 0x80 != 0 {
                v.insert(0, 0);
            }
            let mut out = vec![2, v.len() as u8];
            out.extend(v);
            out
        };
        let (r, s) = raw_sig.split_at(32);
        let body = [int(r), int(s)].concat();
        let mut out = vec![0x30, body.len() as u8];
        out.extend(body);
        out
    };
    // The same bytes with non-zero padding bits in the last character: lenient decoders
    // accept it, canonical base64url does not.
    let sloppy = |segment: &str| {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let last = *segment.as_bytes().last().unwrap();
        let i = alphabet.iter().position(|c| *c == last).unwrap();
        let mut out = segment[..segment.len() - 1].to_owned();
        out.push(char::from(alphabet[i | 1]));
        out
    };
    let hs_sig = good_hs.rsplit('.').next().unwrap().to_owned();
    let hs_payload = good_hs.split('.').nth(1).unwrap().to_owned();
    assert_eq!(hs_sig.len() % 4, 3);
    let cases: Vec<(&str, String, Refusal)> = vec![
        (
            "non-canonical signature bits",
            segment(&good_hs, 2, &sloppy(&hs_sig)),
            Refusal::Malformed,
        ),
        (
            "non-canonical payload bits",
            segment(&good_hs, 1, &sloppy(&hs_payload)),
            Refusal::Malformed,
        ),
        (
            "alg none",
            format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64(&good)),
            Refusal::AlgNone,
        ),
        (
            "alg NONE",
            format!("{}.{}.", b64(r#"{"alg":"NONE"}"#), b64(&good)),
            Refusal::AlgNone,
        ),
        (
            "alg nOnE with a signature",
            segment(&good_hs, 0, &b64(r#"{"alg":"nOnE"}"#)),
            Refusal::AlgNone,
        ),
        (
            "alg HS512",
            token(r#"{"alg":"HS512"}"#, &good, &hs),
            Refusal::AlgUnsupported,
        ),
        (
            "alg es256 (case)",
            token(r#"{"alg":"es256","kid":"ec-1"}"#, &good, &es),
            Refusal::AlgUnsupported,
        ),
        (
            "no alg",
            token(r#"{"typ":"JWT"}"#, &good, &hs),
            Refusal::Malformed,
        ),
        (
            "RS256 claimed for an EC key",
            segment(&good_es, 0, &b64(r#"{"alg":"RS256","kid":"ec-1"}"#)),
            Refusal::NoKey,
        ),
        (
            "HMAC keyed with the public key",
            token(r#"{"alg":"HS256","kid":"ec-1"}"#, &good, &public_as_secret),
            Refusal::BadSignature,
        ),
        (
            "unknown kid",
            token(r#"{"alg":"ES256","kid":"nope"}"#, &good, &es),
            Refusal::UnknownKid,
        ),
        (
            "crit",
            token(r#"{"alg":"HS256","crit":["exp"],"exp":1}"#, &good, &hs),
            Refusal::ForbiddenHeader,
        ),
        (
            "b64",
            token(r#"{"alg":"HS256","b64":false,"crit":["b64"]}"#, &good, &hs),
            Refusal::ForbiddenHeader,
        ),
        (
            "embedded jwk",
            token(
                r#"{"alg":"HS256","jwk":{"kty":"oct","k":"AA"}}"#,
                &good,
                &hs,
            ),
            Refusal::ForbiddenHeader,
        ),
        (
            "jku",
            token(
                r#"{"alg":"HS256","jku":"https://evil.example/jwks"}"#,
                &good,
                &hs,
            ),
            Refusal::ForbiddenHeader,
        ),
        (
            "x5u",
            token(
                r#"{"alg":"HS256","x5u":"https://evil.example/cert"}"#,
                &good,
                &hs,
            ),
            Refusal::ForbiddenHeader,
        ),
        (
            "x5c",
            token(r#"{"alg":"HS256","x5c":["MIIB"]}"#, &good, &hs),
            Refusal::ForbiddenHeader,
        ),
        (
            "duplicate alg",
            token(r#"{"alg":"HS256","alg":"HS256"}"#, &good, &hs),
            Refusal::DuplicateHeader,
        ),
        (
            "duplicate kid",
            token(r#"{"alg":"ES256","kid":"ec-1","kid":"ec-1"}"#, &good, &es),
            Refusal::DuplicateHeader,
        ),
        ("padding", format!("{good_hs}="), Refusal::Malformed),
        (
            "padding in the header",
            segment(&good_hs, 0, &format!("{}==", b64(HS))),
            Refusal::Malformed,
        ),
        (
            "standard alphabet",
            segment(
                &good_hs,
                2,
                &good_hs.rsplit('.').next().unwrap().replace(['-', '_'], "+"),
            ),
            Refusal::Malformed,
        ),
        (
            "slash",
            format!("{}/", &good_hs[..good_hs.len() - 1]),
            Refusal::Malformed,
        ),
        ("whitespace", format!(" {good_hs}"), Refusal::Malformed),
        (
            "newline inside",
            good_hs.replacen('.', ".\n", 1),
            Refusal::Malformed,
        ),
        (
            "two segments",
            good_hs.rsplit_once('.').unwrap().0.to_owned(),
            Refusal::Malformed,
        ),
        ("four segments", format!("{good_hs}.x"), Refusal::Malformed),
        ("empty", String::new(), Refusal::Malformed),
        (
            "header an array",
            token("[\"HS256\"]", &good, &hs),
            Refusal::Malformed,
        ),
        (
            "header not JSON",
            token("{alg:HS256}", &good, &hs),
            Refusal::Malformed,
        ),
        (
            "payload an array",
            token(HS, "[1]", &hs),
            Refusal::Malformed,
        ),
        (
            "payload a string",
            token(HS, "\"claims\"", &hs),
            Refusal::Malformed,
        ),
        (
            "payload not JSON",
            token(HS, "{\"exp\":", &hs),
            Refusal::Malformed,
        ),
        (
            "ES256 signature DER",
            segment(&good_es, 2, &base64url_encode(&der)),
            Refusal::SignatureLength,
        ),
        (
            "ES256 signature short",
            segment(&good_es, 2, &base64url_encode(&raw_sig[..63])),
            Refusal::SignatureLength,
        ),
        (
            "HS256 signature short",
            segment(&good_hs, 2, &base64url_encode(&[0; 31])),
            Refusal::SignatureLength,
        ),
        (
            "HS256 signature wrong",
            segment(&good_hs, 2, &base64url_encode(&[0; 32])),
            Refusal::BadSignature,
        ),
        (
            "ES256 signature wrong",
            segment(&good_es, 2, &base64url_encode(&[1; 64])),
            Refusal::BadSignature,
        ),
        (
            "payload changed",
            segment(
                &good_hs,
                1,
                &b64(&claims(&[("role", json!("service_role"))])),
            ),
            Refusal::BadSignature,
        ),
        (
            "no exp",
            token(HS, &claims(&[("exp", json!(null))]), &hs),
            Refusal::MissingExp,
        ),
        (
            "fractional exp",
            token(HS, &claims(&[("exp", json!(NOW as f64 + 3600.5))]), &hs),
            Refusal::BadTime,
        ),
        (
            "exponent exp",
            token(
                HS,
                &good.replace(&format!("\"exp\":{}", NOW + 3600), "\"exp\":1.8e9"),
                &hs,
            ),
            Refusal::BadTime,
        ),
        (
            "string exp",
            token(
                HS,
                &claims(&[("exp", json!((NOW + 3600).to_string()))]),
                &hs,
            ),
            Refusal::BadTime,
        ),
        (
            "huge exp",
            token(
                HS,
                &good.replace(
                    &format!("\"exp\":{}", NOW + 3600),
                    "\"exp\":99999999999999999999",
                ),
                &hs,
            ),
            Refusal::BadTime,
        ),
        (
            "fractional nbf",
            token(HS, &claims(&[("nbf", json!(1.5))]), &hs),
            Refusal::BadTime,
        ),
        (
            "string iat",
            token(HS, &claims(&[("iat", json!("now"))]), &hs),
            Refusal::BadTime,
        ),
        (
            "expired beyond the skew",
            token(HS, &claims(&[("exp", json!(NOW - 31))]), &hs),
            Refusal::Expired,
        ),
        (
            "nbf beyond the skew",
            token(HS, &claims(&[("nbf", json!(NOW + 31))]), &hs),
            Refusal::NotYetValid,
        ),
        (
            "iat beyond the skew",
            token(HS, &claims(&[("iat", json!(NOW + 31))]), &hs),
            Refusal::IssuedInFuture,
        ),
        (
            "other issuer",
            token(
                HS,
                &claims(&[("iss", json!("https://other.supabase.co/auth/v1"))]),
                &hs,
            ),
            Refusal::WrongIssuer,
        ),
        (
            "issuer with a trailing slash",
            token(HS, &claims(&[("iss", json!(format!("{ISSUER}/")))]), &hs),
            Refusal::WrongIssuer,
        ),
        (
            "no issuer",
            token(HS, &claims(&[("iss", json!(null))]), &hs),
            Refusal::WrongIssuer,
        ),
        (
            "no aud",
            token(HS, &claims(&[("aud", json!(null))]), &hs),
            Refusal::WrongAudience,
        ),
        (
            "other aud",
            token(HS, &claims(&[("aud", json!("anon"))]), &hs),
            Refusal::WrongAudience,
        ),
        (
            "aud array without ours",
            token(HS, &claims(&[("aud", json!(["a", "b"]))]), &hs),
            Refusal::WrongAudience,
        ),
        (
            "aud a number",
            token(HS, &claims(&[("aud", json!(1))]), &hs),
            Refusal::WrongAudience,
        ),
        (
            "over 8 KiB",
            token(HS, &claims(&[("pad", json!("x".repeat(8200)))]), &hs),
            Refusal::TooLarge,
        ),
    ];
    let mut failures = Vec::new();
    for (name, t, want) in &cases {
        let got = verify(&v, t);
        if got != Err(*want) {
            failures.push(format!("{name}: want {want:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Controls: the same shapes, well-formed, are accepted.
    let accepted: Vec<(&str, String)> = vec![
        ("HS256", good_hs.clone()),
        ("ES256", good_es.clone()),
        ("ES256 without kid", token(r#"{"alg":"ES256"}"#, &good, &es)),
        (
            "HS256 with a hosted kid",
            token(
                r#"{"alg":"HS256","kid":"WFfTACHsaHoCuL/S","typ":"JWT"}"#,
                &good,
                &hs,
            ),
        ),
        (
            "exp within the skew",
            token(HS, &claims(&[("exp", json!(NOW - 29))]), &hs),
        ),
        (
            "nbf and iat within the skew",
            token(
                HS,
                &claims(&[("nbf", json!(NOW + 29)), ("iat", json!(NOW + 29))]),
                &hs,
            ),
        ),
        (
            "aud array with ours",
            token(HS, &claims(&[("aud", json!(["x", "authenticated"]))]), &hs),
        ),
        (
            "header with whitespace",
            token("{ \"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}", &good, &hs),
        ),
        (
            "just under 8 KiB",
            token(HS, &claims(&[("pad", json!("x".repeat(5600)))]), &hs),
        ),
    ];
    for (name, t) in &accepted {
        assert_eq!(verify(&v, t), Ok(()), "{name} must be accepted");
    }
}

#[test]
fn users_are_authenticated_uuids() {
    let v = verifier();
    let clock = FixedClock(UnixTime::from_secs(NOW));
    let check = |c: String| {
        let t = token(HS, &c, &hs_key());
        let claims = block_on(v.verify(&t, &clock, &NoOutbound, &RustCrypto)).unwrap();
        claims.user().map(str::to_owned)
    };
    assert_eq!(check(claims(&[])), Ok(USER.to_owned()));
    assert_eq!(
        check(claims(&[("role", json!("anon"))])),
        Err(Refusal::NotAUser)
    );
    assert_eq!(
        check(claims(&[("role", json!("service_role"))])),
        Err(Refusal::NotAUser)
    );
    assert_eq!(
        check(claims(&[("sub", json!("not-a-uuid"))])),
        Err(Refusal::NotAUser)
    );
    assert_eq!(
        check(claims(&[("sub", json!(null))])),
        Err(Refusal::NotAUser)
    );
}

#[test]
fn claims_are_read_typed() {
    let v = verifier();
    let clock = FixedClock(UnixTime::from_secs(NOW));
    let t = token(
        HS,
        &claims(&[("aal", json!("aal2")), ("scope", json!("read write"))]),
        &hs_key(),
    );
    let c = block_on(v.verify(&t, &clock, &NoOutbound, &RustCrypto)).unwrap();
    assert_eq!(c.aal.as_deref(), Some("aal2"));
    assert_eq!(c.amr, vec!["password".to_owned()]);
    assert_eq!(c.scope.as_deref(), Some("read write"));
    assert_eq!(c.email.as_deref(), Some("ada@example.com"));
    assert_eq!(c.exp, UnixTime::from_secs(NOW + 3600));
}

#[test]
fn every_refusal_is_an_invalid_token_challenge_in_printable_ascii() {
    for r in [
        Refusal::TooLarge,
        Refusal::Malformed,
        Refusal::AlgNone,
        Refusal::AlgUnsupported,
        Refusal::ForbiddenHeader,
        Refusal::DuplicateHeader,
        Refusal::UnknownKid,
        Refusal::NoKey,
        Refusal::SignatureLength,
        Refusal::BadSignature,
        Refusal::MissingExp,
        Refusal::BadTime,
        Refusal::Expired,
        Refusal::NotYetValid,
        Refusal::IssuedInFuture,
        Refusal::WrongIssuer,
        Refusal::WrongAudience,
        Refusal::NotAUser,
    ] {
        let d = r.description();
        assert!(
            d.bytes()
                .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\'),
            "{d}"
        );
        assert!(
            r.www_authenticate()
                .starts_with("Bearer error=\"invalid_token\", error_description=\"")
        );
    }
}
