// Supabase Edge Function: Portcullis sign (policy-scoped pre-signed URLs and upload forms).
// Loads the Rust/Wasm module and serves it through the shared shim; all behaviour lives in
// crates/sign/service; see README.md for deployment.
import * as wasm from "./wasm/portcullis_sign.js";
import { wasmModule } from "../_shared/adapter.ts";
import { loadWasm, serveFunction } from "../_shared/runtime.ts";

wasm.initSync({ module: await loadWasm(import.meta.url, "./wasm/portcullis_sign_bg.wasm") });
serveFunction(wasmModule(wasm, (env, hasDb) => new wasm.SignFunction(env, hasDb)));
