//! The hooks function as a wasm-bindgen module: `HooksFunction` and the task functions of
//! `portcullis_js::export_function!`, loaded by the shared shim from
//! `functions/portcullis-hooks/index.ts` (Supabase, Deno) and `worker.ts` (Cloudflare). All
//! behaviour lives in `portcullis-hooks-service`.

portcullis_js::export_function!(
    HooksFunction,
    portcullis_hooks_service::Hooks,
    portcullis_hooks_assets::asset
);
