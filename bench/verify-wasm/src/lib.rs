//! Benchmark-only: the hooks function's Standard Webhooks verifier behind a wasm-bindgen class,
//! so its cost can be measured against the `standardwebhooks` npm library in the same process.
//! Built with the same profile, flags and wasm-opt settings as the functions.

use portcullis_core::UnixTime;
use portcullis_webhooks::{SecretSet, UntrustedWebhook};
use wasm_bindgen::prelude::*;

/// A verifier keyed with `|`-separated `v1,whsec_…` secrets.
#[wasm_bindgen]
pub struct Verifier(SecretSet);

#[wasm_bindgen]
impl Verifier {
    /// Parses the secrets.
    ///
    /// # Errors
    /// When a secret is malformed.
    #[wasm_bindgen(constructor)]
    pub fn new(secrets: &str) -> Result<Verifier, JsError> {
        SecretSet::parse(secrets)
            .map(Self)
            .map_err(|e| JsError::new(&e.to_string()))
    }

    /// Verifies one request, as the hooks function does, at `now` (unix seconds).
    pub fn verify(
        &self,
        id: &str,
        timestamp: &str,
        signature: &str,
        body: &[u8],
        now: f64,
    ) -> bool {
        let message = UntrustedWebhook {
            id: Some(id),
            timestamp: Some(timestamp),
            signature: Some(signature),
            body,
        };
        self.0
            .verify(message, UnixTime::from_secs(now as i64))
            .is_ok()
    }
}
