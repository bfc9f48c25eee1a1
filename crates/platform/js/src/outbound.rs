//! Outbound HTTP through the host's `fetch`, with `AbortSignal.timeout` (Deno and workerd).

use js_sys::{Array, Uint8Array};
use portcullis_core::{Outbound, OutboundError, OutboundRequest, OutboundResponse};
use wasm_bindgen::prelude::*;

use crate::task::HostFuture;

#[wasm_bindgen(module = "/js/host.js")]
extern "C" {
    #[wasm_bindgen(js_name = httpFetch)]
    fn http_fetch(
        method: &str,
        url: &str,
        head: &str,
        body: &[u8],
        timeout_ms: u32,
    ) -> js_sys::Promise;
    #[wasm_bindgen(js_name = wait)]
    fn wait_ms(ms: u32) -> js_sys::Promise;
}

/// `fetch` as an [`Outbound`].
#[derive(Clone, Copy, Debug, Default)]
pub struct JsOutbound;

impl Outbound for JsOutbound {
    async fn send(&self, request: OutboundRequest) -> Result<OutboundResponse, OutboundError> {
        let mut head = String::with_capacity(256);
        for (name, value) in &request.headers {
            head.push_str(name);
            head.push('\n');
            head.push_str(value);
            head.push('\n');
        }
        let promise = http_fetch(
            request.method,
            &request.url,
            &head,
            &request.body,
            request.timeout_ms,
        );
        let result = HostFuture::new(&promise)
            .await
            .map_err(|e| OutboundError::Network {
                detail: e.as_string().unwrap_or_else(|| "fetch failed".into()),
            })?;
        let pair: Array = result.unchecked_into();
        let status = pair.get(0).as_f64().unwrap_or(-1.0);
        if status == 0.0 {
            return Err(OutboundError::Timeout);
        }
        if status < 0.0 {
            return Err(OutboundError::Network {
                detail: pair.get(1).as_string().unwrap_or_default(),
            });
        }
        let body = pair
            .get(1)
            .dyn_into::<Uint8Array>()
            .map(|b| b.to_vec())
            .unwrap_or_default();
        let head = pair.get(2).as_string().unwrap_or_default();
        let mut headers = Vec::new();
        let mut lines = head.split('\n');
        while let (Some(name), Some(value)) = (lines.next(), lines.next()) {
            headers.push((name.to_owned(), value.to_owned()));
        }
        Ok(OutboundResponse {
            status: status as u16,
            headers,
            body,
        })
    }

    async fn wait(&self, ms: u32) {
        let _ = HostFuture::new(&wait_ms(ms)).await;
    }
}
