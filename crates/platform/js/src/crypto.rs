//! Public-key signatures through the host's WebCrypto (`crypto.subtle`), Deno and workerd.
//! Imported keys are cached by the shim's `host.js` per instance.

use portcullis_core::crypto::LocalFuture;
use portcullis_core::{Crypto, CryptoError, Secret, SignatureAlg};
use wasm_bindgen::prelude::*;

use crate::task::HostFuture;

#[wasm_bindgen(module = "/js/host.js")]
extern "C" {
    #[wasm_bindgen(js_name = cryptoVerify, catch)]
    fn crypto_verify(alg: &str, jwk: &str, data: &[u8], sig: &[u8]) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = cryptoSign, catch)]
    fn crypto_sign(alg: &str, jwk: &str, data: &[u8]) -> Result<JsValue, JsValue>;
}

fn error(e: &JsValue) -> CryptoError {
    CryptoError {
        detail: crate::describe(e),
    }
}

/// WebCrypto as a [`Crypto`].
#[derive(Clone, Copy, Debug, Default)]
pub struct JsCrypto;

impl Crypto for JsCrypto {
    fn verify<'a>(
        &'a self,
        alg: SignatureAlg,
        jwk: &'a str,
        message: &'a [u8],
        signature: &'a [u8],
    ) -> LocalFuture<'a, Result<bool, CryptoError>> {
        // The call copies both byte views before it returns.
        let started = crypto_verify(alg.name(), jwk, message, signature);
        Box::pin(async move {
            let promise = started.map_err(|e| error(&e))?;
            let value = HostFuture::new(&promise).await.map_err(|e| error(&e))?;
            Ok(value.as_bool() == Some(true))
        })
    }

    fn sign<'a>(
        &'a self,
        alg: SignatureAlg,
        jwk: &'a Secret<String>,
        message: &'a [u8],
    ) -> LocalFuture<'a, Result<Vec<u8>, CryptoError>> {
        let started = crypto_sign(alg.name(), jwk.expose(), message);
        Box::pin(async move {
            let promise = started.map_err(|e| error(&e))?;
            let value = HostFuture::new(&promise).await.map_err(|e| error(&e))?;
            value
                .dyn_into::<js_sys::Uint8Array>()
                .map(|b| b.to_vec())
                .map_err(|_| CryptoError {
                    detail: "the host returned no signature bytes".into(),
                })
        })
    }
}
