//! The token layer and the pat function's parsers on any input: untrusted JWTs (shape, the
//! claims check, the whole verifier with a static key set), JWK sets and private JWKs, PATs,
//! token-exchange forms, scopes, policies, GitHub reports, DER signatures and SPKI keys. None
//! may panic; a token that passes the shape step round-trips its signing input.
#![no_main]

use std::pin::pin;
use std::task::{Context, Poll, Waker};

use libfuzzer_sys::fuzz_target;
use portcullis_core::{FixedClock, NoCrypto, NoOutbound, UnixTime};
use portcullis_jwt::{
    Expectations, HmacKey, KeySet, KeySource, SigningKey, UntrustedToken, VerifiedClaims, Verifier,
};

fn ready<F: std::future::Future>(f: F) -> Option<F::Output> {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = portcullis_pat::github::parse_report(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(t) = UntrustedToken::parse(text) {
        assert!(text.starts_with(t.signing_input()));
    }
    let expect = Expectations::new("https://x.supabase.co/auth/v1", Some("authenticated".into()));
    let _ = VerifiedClaims::check(text, &expect, UnixTime::from_secs(1_800_000_000));
    let set = KeySet::hmac(HmacKey::new(b"fuzzing-secret-fuzzing-secret-fuzzing".to_vec()).unwrap());
    let v = Verifier::new(KeySource::Static(set), expect);
    let clock = FixedClock(UnixTime::from_secs(1_800_000_000));
    let _ = ready(v.verify(text, &clock, &NoOutbound, &NoCrypto));
    let _ = KeySet::from_jwks(text, true);
    let _ = SigningKey::from_private_jwk(text);
    if let Ok(prefix) = portcullis_pat::token::Prefix::new("acme_pat") {
        let _ = portcullis_pat::token::check(text, &prefix);
        let _ = portcullis_pat::token::hint(text, &prefix);
    }
    if let Ok(form) = portcullis_pat::exchange::form(text) {
        let _ = portcullis_pat::exchange::ExchangeRequest::parse(&form);
    }
    let _ = portcullis_pat::scope::Scopes::parse(text);
    let _ = portcullis_pat::policy::Policy::from_json(text);
    let _ = portcullis_pat::github::der_signature(text);
    let _ = portcullis_pat::github::spki_pem_to_jwk(text);
    let _ = portcullis_pat::github::parse_keys(data);
});
