// Supabase Edge Function: Portcullis pat (personal access tokens and their exchange).
// Loads the Rust/Wasm module and serves it through the shared shim; all behaviour lives in
// crates/pat/service; see README.md for deployment.
import * as wasm from "./wasm/portcullis_pat.js";
import { wasmModule } from "../_shared/adapter.ts";
import { loadWasm, serveFunction } from "../_shared/runtime.ts";

wasm.initSync({ module: await loadWasm(import.meta.url, "./wasm/portcullis_pat_bg.wasm") });
serveFunction(wasmModule(wasm, (env, hasDb) => new wasm.PatFunction(env, hasDb)));
