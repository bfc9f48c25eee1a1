// Supabase Edge Function: Portcullis hooks (Supabase Auth HTTP hooks).
// Loads the Rust/Wasm module and serves it through the shared shim; all behaviour lives in
// crates/hooks/service; see README.md for deployment.
import * as wasm from "./wasm/portcullis_hooks.js";
import { wasmModule } from "../_shared/adapter.ts";
import { loadWasm, serveFunction } from "../_shared/runtime.ts";

wasm.initSync({ module: await loadWasm(import.meta.url, "./wasm/portcullis_hooks_bg.wasm") });
serveFunction(wasmModule(wasm, (env, hasDb) => new wasm.HooksFunction(env, hasDb)));
