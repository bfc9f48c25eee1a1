//! Reference vectors and mutation tests for Standard Webhooks verification.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use portcullis_core::UnixTime;
use portcullis_webhooks::{
    MAX_SIGNATURES, SecretError, SecretSet, SecretSetError, SigningSecret, UntrustedWebhook,
    VerifyError,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Vectors {
    vectors: Vec<Vector>,
}

#[derive(Deserialize)]
struct Vector {
    secret: String,
    id: String,
    timestamp: i64,
    body: String,
    signature: String,
}

fn vectors() -> Vec<Vector> {
    let text = include_str!("../../../../tests/vectors/standard-webhooks.json");
    serde_json::from_str::<Vectors>(text).unwrap().vectors
}

fn msg<'a>(id: &'a str, ts: &'a str, sig: &'a str, body: &'a [u8]) -> UntrustedWebhook<'a> {
    UntrustedWebhook {
        id: Some(id),
        timestamp: Some(ts),
        signature: Some(sig),
        body,
    }
}

/// A small deterministic generator so mutation tests are reproducible.
struct SplitMix(u64);
impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn reference_vectors_sign_and_verify() {
    for v in vectors() {
        let secret = SigningSecret::parse(&v.secret).unwrap();
        let ts = UnixTime::from_secs(v.timestamp);
        assert_eq!(secret.sign(&v.id, ts, v.body.as_bytes()), v.signature);
        let set = SecretSet::single(secret);
        let ts_text = v.timestamp.to_string();
        let ok = set
            .verify(msg(&v.id, &ts_text, &v.signature, v.body.as_bytes()), ts)
            .unwrap();
        assert_eq!(ok.id(), v.id);
        assert_eq!(ok.body(), v.body.as_bytes());
        assert_eq!(ok.timestamp(), ts);
    }
}

#[test]
fn secret_prefixes_are_optional_and_lists_rotate() {
    let v = &vectors()[0];
    let b64 = v.secret.strip_prefix("whsec_").unwrap();
    for form in [
        format!("v1,whsec_{b64}"),
        format!("whsec_{b64}"),
        b64.to_owned(),
    ] {
        let s = SigningSecret::parse(&form).unwrap();
        assert_eq!(
            s.sign(&v.id, UnixTime::from_secs(v.timestamp), v.body.as_bytes()),
            v.signature
        );
    }
    // Rotation: the old secret second in the list still verifies.
    let other = SigningSecret::from_bytes(vec![7u8; 32]).unwrap();
    let list = format!("{}|v1,whsec_{b64}", other.to_config_text().expose());
    let set = SecretSet::parse(&list).unwrap();
    assert_eq!(set.secrets().len(), 2);
    let ts = v.timestamp.to_string();
    set.verify(
        msg(&v.id, &ts, &v.signature, v.body.as_bytes()),
        UnixTime::from_secs(v.timestamp),
    )
    .unwrap();
}

#[test]
fn bad_secrets_name_their_position_but_not_their_text() {
    assert_eq!(SecretSet::parse(" | ").unwrap_err(), SecretSetError::Empty);
    let err = SecretSet::parse("v1,whsec_c2hvcnQ=|v1,whsec_%%%").unwrap_err();
    assert_eq!(
        err,
        SecretSetError::Secret {
            position: 1,
            error: SecretError::TooShort { len: 5 }
        }
    );
    let err = SecretSet::parse(&format!(
        "{}|v1,whsec_%%%",
        SigningSecret::from_bytes(vec![1; 32])
            .unwrap()
            .to_config_text()
            .expose()
    ))
    .unwrap_err();
    assert_eq!(
        err,
        SecretSetError::Secret {
            position: 2,
            error: SecretError::NotBase64
        }
    );
    assert!(!err.to_string().contains("%%%"));
    assert_eq!(
        SigningSecret::parse("v1a,whsec_AAAA").unwrap_err(),
        SecretError::UnsupportedScheme
    );
    let shown = format!("{:?}", SigningSecret::from_bytes(vec![0x41; 32]).unwrap());
    assert!(!shown.contains("QUFB"), "{shown}");
}

#[test]
fn signature_header_forms_gotrue_and_others_send() {
    let v = &vectors()[0];
    let set = SecretSet::parse(&v.secret).unwrap();
    let now = UnixTime::from_secs(v.timestamp);
    let ts = v.timestamp.to_string();
    let good = &v.signature;
    let wrong = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    for header in [
        good.clone(),
        format!("{wrong}, {good}"),
        format!("{good}, {wrong}"),
        format!("{wrong} {good}"),
        format!("v1a,abc, {good},"),
        format!("  {good}  "),
        format!("{wrong},\t{good}"),
    ] {
        set.verify(msg(&v.id, &ts, &header, v.body.as_bytes()), now)
            .unwrap_or_else(|e| panic!("{header:?}: {e}"));
    }
    for (header, want) in [
        ("", VerifyError::MissingSignature),
        ("   ", VerifyError::MissingSignature),
        (wrong, VerifyError::NoMatchingSignature),
        ("v1,", VerifyError::NoMatchingSignature),
        ("v1,not-base64!", VerifyError::NoMatchingSignature),
        (
            "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            VerifyError::NoMatchingSignature,
        ),
        (
            "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            VerifyError::NoMatchingSignature,
        ),
    ] {
        assert_eq!(
            set.verify(msg(&v.id, &ts, header, v.body.as_bytes()), now)
                .unwrap_err(),
            want,
            "{header:?}"
        );
    }
}

#[test]
fn candidates_beyond_the_cap_are_not_examined() {
    let v = &vectors()[0];
    let set = SecretSet::parse(&v.secret).unwrap();
    let now = UnixTime::from_secs(v.timestamp);
    let ts = v.timestamp.to_string();
    let wrong = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let mut header = vec![wrong; MAX_SIGNATURES - 1];
    header.push(&v.signature);
    set.verify(msg(&v.id, &ts, &header.join(" "), v.body.as_bytes()), now)
        .unwrap();
    header.insert(0, wrong);
    assert_eq!(
        set.verify(msg(&v.id, &ts, &header.join(" "), v.body.as_bytes()), now)
            .unwrap_err(),
        VerifyError::NoMatchingSignature
    );
}

#[test]
fn missing_or_malformed_headers_are_named() {
    let v = &vectors()[0];
    let set = SecretSet::parse(&v.secret).unwrap();
    let now = UnixTime::from_secs(v.timestamp);
    let ts = v.timestamp.to_string();
    let body = v.body.as_bytes();
    let base = msg(&v.id, &ts, &v.signature, body);
    let cases = [
        (
            UntrustedWebhook { id: None, ..base },
            VerifyError::MissingId,
        ),
        (
            UntrustedWebhook {
                id: Some(" "),
                ..base
            },
            VerifyError::InvalidId,
        ),
        (
            UntrustedWebhook {
                timestamp: None,
                ..base
            },
            VerifyError::MissingTimestamp,
        ),
        (
            UntrustedWebhook {
                timestamp: Some("-1614265330"),
                ..base
            },
            VerifyError::InvalidTimestamp,
        ),
        (
            UntrustedWebhook {
                timestamp: Some("1614265330.0"),
                ..base
            },
            VerifyError::InvalidTimestamp,
        ),
        (
            UntrustedWebhook {
                timestamp: Some("+1614265330"),
                ..base
            },
            VerifyError::InvalidTimestamp,
        ),
        (
            UntrustedWebhook {
                timestamp: Some("99999999999999999999"),
                ..base
            },
            VerifyError::InvalidTimestamp,
        ),
        (
            UntrustedWebhook {
                signature: None,
                ..base
            },
            VerifyError::MissingSignature,
        ),
    ];
    for (m, want) in cases {
        assert_eq!(set.verify(m, now).unwrap_err(), want);
    }
    let long_id = "x".repeat(300);
    assert_eq!(
        set.verify(
            UntrustedWebhook {
                id: Some(&long_id),
                ..base
            },
            now
        )
        .unwrap_err(),
        VerifyError::InvalidId
    );
}

#[test]
fn timestamp_tolerance_is_five_minutes_both_ways() {
    let v = &vectors()[0];
    let set = SecretSet::parse(&v.secret).unwrap();
    let ts = v.timestamp.to_string();
    let m = msg(&v.id, &ts, &v.signature, v.body.as_bytes());
    let at = |d: i64| UnixTime::from_secs(v.timestamp + d);
    set.verify(m, at(300)).unwrap();
    set.verify(m, at(-300)).unwrap();
    assert_eq!(
        set.verify(m, at(301)).unwrap_err(),
        VerifyError::TimestampTooOld
    );
    assert_eq!(
        set.verify(m, at(-301)).unwrap_err(),
        VerifyError::TimestampTooNew
    );
}

#[test]
fn any_flipped_bit_in_id_timestamp_body_or_signature_is_rejected() {
    let mut rng = SplitMix(0x5EED);
    let secret = SigningSecret::from_bytes(rng.bytes(32)).unwrap();
    let set = SecretSet::single(secret.clone());
    for round in 0..24 {
        let len = [0, 1, 64, 255, 2048][round % 5];
        let body = rng.bytes(len);
        let id = format!("msg_{:016x}", rng.next());
        let now = UnixTime::from_secs(1_700_000_000 + (rng.next() % 1_000_000) as i64);
        let ts = now.secs().to_string();
        let sig = secret.sign(&id, now, &body);
        set.verify(msg(&id, &ts, &sig, &body), now).unwrap();

        // Body: every bit of short bodies, a sample of long ones.
        let positions: Vec<usize> = if body.len() <= 64 {
            (0..body.len()).collect()
        } else {
            (0..32)
                .map(|_| (rng.next() as usize) % body.len())
                .collect()
        };
        for &p in &positions {
            for bit in 0..8 {
                let mut b = body.clone();
                b[p] ^= 1 << bit;
                assert_eq!(
                    set.verify(msg(&id, &ts, &sig, &b), now).unwrap_err(),
                    VerifyError::NoMatchingSignature
                );
            }
        }
        // Appending or truncating the body.
        let mut longer = body.clone();
        longer.push(b' ');
        assert!(set.verify(msg(&id, &ts, &sig, &longer), now).is_err());
        if !body.is_empty() {
            assert!(
                set.verify(msg(&id, &ts, &sig, &body[..body.len() - 1]), now)
                    .is_err()
            );
        }
        // Id: flip each bit of each character (keeping it ASCII text).
        for p in 0..id.len() {
            for bit in 0..7 {
                let mut raw = id.clone().into_bytes();
                raw[p] ^= 1 << bit;
                let Ok(changed) = String::from_utf8(raw) else {
                    continue;
                };
                if changed.trim() == id {
                    continue;
                }
                assert!(
                    set.verify(msg(&changed, &ts, &sig, &body), now).is_err(),
                    "{changed}"
                );
            }
        }
        // Timestamp: any other second inside the tolerance window.
        for delta in [-1i64, 1, 10, -299] {
            let other = (now.secs() + delta).to_string();
            assert_eq!(
                set.verify(msg(&id, &other, &sig, &body), now).unwrap_err(),
                VerifyError::NoMatchingSignature
            );
        }
        // Signature: every bit of the decoded MAC.
        let mac = portcullis_core::encoding::base64_decode(&sig[3..]).unwrap();
        for p in 0..mac.len() {
            for bit in 0..8 {
                let mut m = mac.clone();
                m[p] ^= 1 << bit;
                let forged = format!("v1,{}", portcullis_core::encoding::base64_encode(&m));
                assert_eq!(
                    set.verify(msg(&id, &ts, &forged, &body), now).unwrap_err(),
                    VerifyError::NoMatchingSignature
                );
            }
        }
    }
}

#[test]
fn a_different_secret_never_verifies() {
    let mut rng = SplitMix(42);
    let a = SigningSecret::from_bytes(rng.bytes(32)).unwrap();
    let b = SecretSet::single(SigningSecret::from_bytes(rng.bytes(32)).unwrap());
    let now = UnixTime::from_secs(1_700_000_000);
    let sig = a.sign("id", now, b"{}");
    assert_eq!(
        b.verify(msg("id", "1700000000", &sig, b"{}"), now)
            .unwrap_err(),
        VerifyError::NoMatchingSignature
    );
}
