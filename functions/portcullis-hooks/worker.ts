// Cloudflare Worker: Portcullis hooks (Supabase Auth HTTP hooks). The same Wasm module and shim as the Supabase
// function (index.ts); Workers-specific are only the environment and Hyperdrive
// (functions/_shared/workers.ts). Built by `cargo xtask build --worker hooks` into worker/ (see
// wrangler.toml).
import * as wasm from "./wasm/portcullis_hooks.js";
import wasmBytes from "./wasm/portcullis_hooks_bg.wasm";
import { wasmModule } from "../_shared/adapter.ts";
import { workerFetch } from "../_shared/workers.ts";

wasm.initSync({ module: wasmBytes });
export default workerFetch(wasmModule(wasm, (env, hasDb) => new wasm.HooksFunction(env, hasDb)));
