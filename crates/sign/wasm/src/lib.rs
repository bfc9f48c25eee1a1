//! The sign function as a wasm-bindgen module: `SignFunction` and the task functions of
//! `portcullis_js::export_function!`, loaded by the shared shim from
//! `functions/portcullis-sign/index.ts` (Supabase, Deno) and `worker.ts` (Cloudflare). All
//! behaviour lives in `portcullis-sign-service`; URLs are signed inside Wasm, synchronously.

/// The sign function ships no data assets.
fn no_assets(_name: &str) -> Option<String> {
    None
}

portcullis_js::export_function!(SignFunction, portcullis_sign_service::Sign, no_assets);
