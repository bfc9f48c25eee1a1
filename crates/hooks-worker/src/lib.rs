//! The hooks function for Cloudflare Workers. All behaviour lives in
//! `portcullis-hooks-service`; `wrangler.toml` builds this crate with worker-build.

portcullis_worker::worker_function!(
    portcullis_hooks_service::Hooks,
    portcullis_hooks_assets::asset
);
