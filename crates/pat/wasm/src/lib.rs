//! The pat function as a wasm-bindgen module: `PatFunction` and the task functions of
//! `portcullis_js::export_function!`, loaded by the shared shim from
//! `functions/portcullis-pat/index.ts` (Supabase, Deno) and `worker.ts` (Cloudflare). All
//! behaviour lives in `portcullis-pat-service`.

/// The pat function ships no data assets.
fn no_assets(_name: &str) -> Option<String> {
    None
}

portcullis_js::export_function!(PatFunction, portcullis_pat_service::Pat, no_assets);
