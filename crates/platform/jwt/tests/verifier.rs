//! The JWKS cache and the verified-token cache: TTL from Cache-Control, stale-if-error,
//! unknown-`kid` refetch at most once per 30 s with one fetch in flight, garbage tolerated.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use common::{EC_PUBLIC_JWKS, ISSUER, NOW, block_on, claims, ec_key, token};
use portcullis_core::crypto::LocalFuture;
use portcullis_core::{
    Clock, Crypto, CryptoError, Outbound, OutboundError, OutboundRequest, OutboundResponse, Secret,
    SignatureAlg, UnixTime,
};
use portcullis_jwt::native::RustCrypto;
use portcullis_jwt::{Expectations, JwksConfig, KeySource, Refusal, Verifier, VerifyError};

const URL: &str = "https://abcdefghijklmnop.supabase.co/auth/v1/.well-known/jwks.json";

struct TestClock(Cell<u64>);

impl Clock for TestClock {
    fn now(&self) -> UnixTime {
        UnixTime::from_secs((self.0.get() / 1000) as i64)
    }
    fn millis(&self) -> u64 {
        self.0.get()
    }
}

impl TestClock {
    fn at_now() -> Self {
        Self(Cell::new(NOW as u64 * 1000))
    }
    fn advance(&self, ms: u64) {
        self.0.set(self.0.get() + ms);
    }
}

/// What the JWKS endpoint does next.
#[derive(Clone)]
enum Answer {
    Jwks(&'static str, Option<&'static str>),
    Down,
    Status(u16),
    Body(&'static str),
}

struct Endpoint {
    answer: RefCell<Answer>,
    calls: Cell<u32>,
    /// While set, requests stay pending (to test single flight).
    hold: Cell<bool>,
}

impl Endpoint {
    fn new(answer: Answer) -> Self {
        Self {
            answer: RefCell::new(answer),
            calls: Cell::new(0),
            hold: Cell::new(false),
        }
    }
    fn set(&self, answer: Answer) {
        *self.answer.borrow_mut() = answer;
    }
}

struct Held<'a>(&'a Endpoint);

impl Future for Held<'_> {
    type Output = ();
    fn poll(self: std::pin::Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if self.0.hold.get() {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }
}

impl Outbound for Endpoint {
    async fn send(&self, request: OutboundRequest) -> Result<OutboundResponse, OutboundError> {
        assert_eq!((request.method, request.url.as_str()), ("GET", URL));
        self.calls.set(self.calls.get() + 1);
        Held(self).await;
        match self.answer.borrow().clone() {
            Answer::Jwks(body, cache) => Ok(OutboundResponse {
                status: 200,
                headers: cache
                    .map(|c| vec![("cache-control".to_owned(), c.to_owned())])
                    .unwrap_or_default(),
                body: body.as_bytes().to_vec(),
            }),
            Answer::Down => Err(OutboundError::Network {
                detail: "connection refused".into(),
            }),
            Answer::Status(s) => Ok(OutboundResponse::new(s, "oops")),
            Answer::Body(b) => Ok(OutboundResponse::new(200, b)),
        }
    }

    async fn wait(&self, _ms: u32) {}
}

/// Counts signature checks.
struct Counting(Cell<u32>);

impl Crypto for Counting {
    fn verify<'a>(
        &'a self,
        alg: SignatureAlg,
        jwk: &'a str,
        message: &'a [u8],
        signature: &'a [u8],
    ) -> LocalFuture<'a, Result<bool, CryptoError>> {
        self.0.set(self.0.get() + 1);
        RustCrypto.verify(alg, jwk, message, signature)
    }
    fn sign<'a>(
        &'a self,
        alg: SignatureAlg,
        jwk: &'a Secret<String>,
        message: &'a [u8],
    ) -> LocalFuture<'a, Result<Vec<u8>, CryptoError>> {
        RustCrypto.sign(alg, jwk, message)
    }
}

const OTHER_KID_JWKS: &str = r#"{"keys":[{"kty":"EC","kid":"ec-0","alg":"ES256","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#;

fn remote() -> Verifier {
    remote_with(None)
}

fn remote_with(secret: Option<portcullis_jwt::HmacKey>) -> Verifier {
    Verifier::new(
        KeySource::Remote(
            JwksConfig {
                url: URL.into(),
                timeout_ms: 1000,
            },
            secret,
        ),
        Expectations::new(ISSUER, Some("authenticated".into())),
    )
}

fn es_token(extra: &[(&str, serde_json::Value)]) -> String {
    token(r#"{"alg":"ES256","kid":"ec-1"}"#, &claims(extra), &ec_key())
}

fn run(v: &Verifier, t: &str, clock: &TestClock, e: &Endpoint) -> Result<(), VerifyError> {
    block_on(v.verify(t, clock, e, &RustCrypto)).map(|_| ())
}

#[test]
fn keys_are_cached_for_max_age_then_refetched() {
    let v = remote();
    let clock = TestClock::at_now();
    let e = Endpoint::new(Answer::Jwks(EC_PUBLIC_JWKS, Some("public, max-age=600")));
    run(&v, &es_token(&[]), &clock, &e).unwrap();
    for i in 0..5 {
        clock.advance(100_000);
        run(&v, &es_token(&[("jti", i.into())]), &clock, &e).unwrap();
    }
    assert_eq!(e.calls.get(), 1, "within max-age: one fetch");
    clock.advance(200_000);
    run(&v, &es_token(&[("jti", 9.into())]), &clock, &e).unwrap();
    assert_eq!(e.calls.get(), 2, "after max-age: refetched");
}

#[test]
fn a_down_or_garbage_endpoint_does_not_take_down_cached_keys() {
    let v = remote();
    let clock = TestClock::at_now();
    let e = Endpoint::new(Answer::Jwks(EC_PUBLIC_JWKS, Some("max-age=60")));
    run(&v, &es_token(&[]), &clock, &e).unwrap();
    for (n, answer) in [
        Answer::Down,
        Answer::Status(503),
        Answer::Body("<html>gateway</html>"),
        Answer::Body("{\"keys\":7}"),
    ]
    .into_iter()
    .enumerate()
    {
        e.set(answer);
        clock.advance(61_000);
        let calls = e.calls.get();
        run(&v, &es_token(&[("jti", n.into())]), &clock, &e).unwrap();
        assert_eq!(e.calls.get(), calls + 1, "one refresh attempt");
        assert!(
            v.take_problem().is_some(),
            "the problem is reported for the log"
        );
        // While it stays down, no request retries before 30 s.
        for i in 0..3 {
            clock.advance(5_000);
            run(&v, &es_token(&[("jti", (100 + i).into())]), &clock, &e).unwrap();
        }
        assert_eq!(e.calls.get(), calls + 1, "failures back off");
    }
    // A new key from a healthy endpoint again: served.
    e.set(Answer::Jwks(EC_PUBLIC_JWKS, None));
    clock.advance(30_000);
    run(&v, &es_token(&[("jti", 77.into())]), &clock, &e).unwrap();
}

#[test]
fn no_keys_and_no_endpoint_is_unavailable_not_a_refusal() {
    let v = remote();
    let clock = TestClock::at_now();
    let e = Endpoint::new(Answer::Down);
    assert_eq!(
        run(&v, &es_token(&[]), &clock, &e),
        Err(VerifyError::KeysUnavailable)
    );
    assert_eq!(
        run(&v, &es_token(&[]), &clock, &e),
        Err(VerifyError::KeysUnavailable)
    );
    assert_eq!(e.calls.get(), 1);
    // Garbage is refused before any key is needed.
    assert_eq!(
        run(&v, "garbage", &clock, &e),
        Err(VerifyError::Refused(Refusal::Malformed))
    );
}

#[test]
fn unknown_kid_refetches_at_most_once_per_30_s() {
    let v = remote();
    let clock = TestClock::at_now();
    // The set has only the old key when the first token with the new kid arrives.
    let e = Endpoint::new(Answer::Jwks(OTHER_KID_JWKS, Some("max-age=600")));
    assert_eq!(
        run(&v, &es_token(&[]), &clock, &e),
        Err(VerifyError::Refused(Refusal::UnknownKid))
    );
    assert_eq!(
        e.calls.get(),
        2,
        "first load, then one refetch for the unknown kid"
    );
    // Random kids within 30 s do not reach the endpoint.
    for i in 0..10 {
        clock.advance(1_000);
        let t = token(
            &format!(r#"{{"alg":"ES256","kid":"rnd-{i}"}}"#),
            &claims(&[]),
            &ec_key(),
        );
        assert_eq!(
            run(&v, &t, &clock, &e),
            Err(VerifyError::Refused(Refusal::UnknownKid))
        );
    }
    assert_eq!(e.calls.get(), 2);
    // The standby key is published; after 30 s the next unknown kid refetches and verifies.
    e.set(Answer::Jwks(EC_PUBLIC_JWKS, Some("max-age=600")));
    clock.advance(20_000);
    run(&v, &es_token(&[]), &clock, &e).unwrap();
    assert_eq!(e.calls.get(), 3);
}

#[test]
fn one_fetch_in_flight_for_concurrent_requests() {
    let v = remote();
    let clock = TestClock::at_now();
    let e = Endpoint::new(Answer::Jwks(EC_PUBLIC_JWKS, None));
    e.hold.set(true);
    let tokens: Vec<String> = (0..5).map(|i| es_token(&[("jti", i.into())])).collect();
    let mut futures: Vec<_> = tokens
        .iter()
        .map(|t| Box::pin(v.verify(t, &clock, &e, &RustCrypto)))
        .collect();
    let mut cx = Context::from_waker(Waker::noop());
    for f in &mut futures {
        assert!(f.as_mut().poll(&mut cx).is_pending());
    }
    assert_eq!(e.calls.get(), 1, "one fetch while it is in flight");
    e.hold.set(false);
    let mut done = 0;
    for _ in 0..10 {
        futures.retain_mut(|f| match f.as_mut().poll(&mut cx) {
            Poll::Ready(r) => {
                r.unwrap();
                done += 1;
                false
            }
            Poll::Pending => true,
        });
    }
    assert_eq!(done, 5);
    assert_eq!(e.calls.get(), 1);
}

#[test]
fn a_dropped_request_does_not_wedge_the_fetch() {
    let v = remote();
    let clock = TestClock::at_now();
    let e = Endpoint::new(Answer::Jwks(EC_PUBLIC_JWKS, None));
    e.hold.set(true);
    let t = es_token(&[]);
    {
        let mut f = pin!(v.verify(&t, &clock, &e, &RustCrypto));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(f.as_mut().poll(&mut cx).is_pending());
    }
    e.hold.set(false);
    run(&v, &t, &clock, &e).unwrap();
    assert_eq!(e.calls.get(), 2);
}

#[test]
fn a_verified_token_is_cached_until_exp() {
    let v = remote();
    let clock = TestClock::at_now();
    let e = Endpoint::new(Answer::Jwks(EC_PUBLIC_JWKS, None));
    let crypto = Counting(Cell::new(0));
    let t = es_token(&[("exp", (NOW + 100).into())]);
    for _ in 0..5 {
        block_on(v.verify(&t, &clock, &e, &crypto)).unwrap();
    }
    assert_eq!(
        crypto.0.get(),
        1,
        "one signature check for a repeated token"
    );
    clock.advance(131_000);
    assert_eq!(
        block_on(v.verify(&t, &clock, &e, &crypto)).map(|_| ()),
        Err(VerifyError::Refused(Refusal::Expired)),
        "the cache never outlives exp"
    );
    // A refused token is not cached as accepted, and a different token is checked anew.
    let other = es_token(&[("jti", 1.into())]);
    block_on(v.verify(&other, &clock, &e, &crypto)).unwrap();
    assert_eq!(crypto.0.get(), 3);
}

#[test]
fn hs256_tokens_need_no_jwks() {
    let v = remote_with(Some(
        portcullis_jwt::HmacKey::new(common::SECRET.to_vec()).unwrap(),
    ));
    let clock = TestClock::at_now();
    let e = Endpoint::new(Answer::Down);
    let t = token(
        r#"{"alg":"HS256","typ":"JWT"}"#,
        &claims(&[]),
        &common::hs_key(),
    );
    run(&v, &t, &clock, &e).unwrap();
    let forged = token(
        r#"{"alg":"HS256"}"#,
        &claims(&[]),
        &portcullis_jwt::SigningKey::Hs256 {
            key: portcullis_jwt::HmacKey::new(b"another-secret-another-secret-another".to_vec())
                .unwrap(),
            kid: None,
        },
    );
    assert_eq!(
        run(&v, &forged, &clock, &e),
        Err(VerifyError::Refused(Refusal::BadSignature)),
        "refused (401), not unavailable (503)"
    );
    assert_eq!(e.calls.get(), 0, "the JWKS endpoint was never asked");
    // An ES256 token still needs the keys.
    assert_eq!(
        run(&v, &es_token(&[]), &clock, &e),
        Err(VerifyError::KeysUnavailable)
    );
}

#[test]
fn an_answer_without_usable_keys_does_not_replace_a_set_that_had_some() {
    let v = remote();
    let clock = TestClock::at_now();
    let e = Endpoint::new(Answer::Jwks(EC_PUBLIC_JWKS, Some("max-age=60")));
    run(&v, &es_token(&[]), &clock, &e).unwrap();
    for (n, empty) in [
        "{}",
        r#"{"keys":[{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}]}"#,
    ]
    .into_iter()
    .enumerate()
    {
        e.set(Answer::Jwks(empty, Some("max-age=600")));
        clock.advance(61_000);
        let calls = e.calls.get();
        run(&v, &es_token(&[("jti", n.into())]), &clock, &e).unwrap();
        assert_eq!(e.calls.get(), calls + 1, "{empty}: refreshed once");
        assert!(v.take_problem().is_some(), "{empty}: reported");
        e.set(Answer::Jwks(EC_PUBLIC_JWKS, Some("max-age=60")));
        clock.advance(30_000);
        run(&v, &es_token(&[("jti", (10 + n).into())]), &clock, &e).unwrap();
    }
}

#[test]
fn an_empty_list_is_the_projects_word_its_keys_are_gone() {
    let v = remote();
    let clock = TestClock::at_now();
    let e = Endpoint::new(Answer::Jwks(EC_PUBLIC_JWKS, Some("max-age=60")));
    run(&v, &es_token(&[]), &clock, &e).unwrap();
    e.set(Answer::Jwks(r#"{"keys":[]}"#, Some("max-age=60")));
    clock.advance(61_000);
    assert_eq!(
        run(&v, &es_token(&[("jti", 1.into())]), &clock, &e),
        Err(VerifyError::Refused(Refusal::UnknownKid))
    );
}

#[test]
fn a_project_without_public_keys_refuses_them_not_unavailable() {
    // An HS256-only project publishes an empty JWKS: that is a set (first fetch), not an error.
    let v = remote();
    let clock = TestClock::at_now();
    let e = Endpoint::new(Answer::Jwks(r#"{"keys":[]}"#, None));
    assert_eq!(
        run(&v, &es_token(&[]), &clock, &e),
        Err(VerifyError::Refused(Refusal::UnknownKid))
    );
}

#[test]
fn a_cached_token_stops_when_its_key_leaves_the_jwks() {
    let v = remote();
    let clock = TestClock::at_now();
    let e = Endpoint::new(Answer::Jwks(EC_PUBLIC_JWKS, Some("max-age=60")));
    let crypto = Counting(Cell::new(0));
    let t = es_token(&[]);
    block_on(v.verify(&t, &clock, &e, &crypto)).unwrap();
    block_on(v.verify(&t, &clock, &e, &crypto)).unwrap();
    assert_eq!(crypto.0.get(), 1, "cached while the set is fresh");
    // The key is rotated out: once the set is refreshed, the cached token is checked again.
    e.set(Answer::Jwks(OTHER_KID_JWKS, Some("max-age=60")));
    clock.advance(61_000);
    assert_eq!(
        block_on(v.verify(&t, &clock, &e, &crypto)).map(|_| ()),
        Err(VerifyError::Refused(Refusal::UnknownKid))
    );
    assert_eq!(
        block_on(v.verify(&t, &clock, &e, &crypto)).map(|_| ()),
        Err(VerifyError::Refused(Refusal::UnknownKid)),
        "not served from the cache either"
    );
}

#[test]
fn a_key_the_host_cannot_use_does_not_block_the_others() {
    // The first key's point is not on the curve: the host fails on it; the second verifies.
    let jwks = r#"{"keys":[
      {"kty":"EC","kid":"bad","crv":"P-256","x":"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE","y":"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE"},
      {"kty":"EC","kid":"ec-1","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#;
    let (set, summary) = portcullis_jwt::KeySet::from_jwks(jwks, false).unwrap();
    assert_eq!(summary.kept, 2);
    let v = Verifier::new(
        KeySource::Static(set),
        Expectations::new(ISSUER, Some("authenticated".into())),
    );
    let clock = TestClock::at_now();
    let e = Endpoint::new(Answer::Down);
    let kidless = token(r#"{"alg":"ES256"}"#, &claims(&[]), &ec_key());
    run(&v, &kidless, &clock, &e).unwrap();
    // Signed by another key: every usable key said no, so it is a refusal, not a 5xx.
    let forged = token(
        r#"{"alg":"ES256"}"#,
        &claims(&[("jti", 1.into())]),
        &ec_key(),
    );
    let mut parts: Vec<String> = forged.split('.').map(str::to_owned).collect();
    parts[1] = portcullis_core::encoding::base64url_encode(claims(&[("jti", 2.into())]).as_bytes());
    assert_eq!(
        run(&v, &parts.join("."), &clock, &e),
        Err(VerifyError::Refused(Refusal::BadSignature))
    );
    // Only the unusable key is named: the host's failure is reported as such (500, logged).
    let named = token(r#"{"alg":"ES256","kid":"bad"}"#, &claims(&[]), &ec_key());
    assert!(matches!(
        run(&v, &named, &clock, &e),
        Err(VerifyError::Crypto(_))
    ));
}
