//! The hooks function for Supabase Edge Functions: a wasm-bindgen module exporting
//! `HooksFunction` (`new HooksFunction(env, query?)`, `fetch(request)`), loaded by
//! `functions/portcullis-hooks/index.ts`. All behaviour lives in `portcullis-hooks-service`.

portcullis_js::export_function!(
    HooksFunction,
    portcullis_hooks_service::Hooks,
    portcullis_hooks_assets::asset
);
