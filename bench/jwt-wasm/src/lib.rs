//! Benchmark-only: the token layer's [`portcullis_jwt::Verifier`] behind a wasm-bindgen class,
//! so verification alone can be timed against `jose` in the same process. Built with the same
//! profile and wasm-opt settings as the functions. Only checks that finish without waiting are
//! measured (HS256, and any algorithm from the verified-token cache): public-key checks go
//! through the host's WebCrypto, whose promises the functions' shim drives, and are measured
//! through the pat module instead (bench/pat/inproc.ts).

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use portcullis_core::{Clock, NoCrypto, NoOutbound, UnixTime};
use portcullis_jwt::{Expectations, HmacKey, KeySet, KeySource, Verifier as Inner};
use wasm_bindgen::prelude::*;

struct At(f64);

impl Clock for At {
    fn now(&self) -> UnixTime {
        UnixTime::from_secs(self.0 as i64)
    }
    fn millis(&self) -> u64 {
        (self.0 * 1000.0) as u64
    }
}

/// A verifier for one project.
#[wasm_bindgen]
pub struct Verifier(Inner);

#[wasm_bindgen]
impl Verifier {
    /// Keys from a JWKS (`{"keys":[]}` for none) plus the legacy `secret`, tokens from `issuer`
    /// for `authenticated`.
    ///
    /// # Errors
    /// When the JWKS or the secret is unusable.
    #[wasm_bindgen(constructor)]
    pub fn new(jwks: &str, secret: &str, issuer: &str) -> Result<Verifier, JsError> {
        let (set, _) = KeySet::from_jwks(jwks, false).map_err(|e| JsError::new(&e.to_string()))?;
        let key =
            HmacKey::new(secret.as_bytes().to_vec()).map_err(|e| JsError::new(&e.to_string()))?;
        Ok(Self(Inner::new(
            KeySource::Static(set.with_hmac(Some(key))),
            Expectations::new(issuer, Some("authenticated".into())),
        )))
    }

    /// Whether `token` verifies at `now` (unix seconds), when that needs no host call; `false`
    /// otherwise.
    pub fn verify(&self, token: &str, now: f64) -> bool {
        let clock = At(now);
        let mut f = pin!(self.0.verify(token, &clock, &NoOutbound, &NoCrypto));
        matches!(
            f.as_mut().poll(&mut Context::from_waker(Waker::noop())),
            Poll::Ready(Ok(_))
        )
    }
}
