// Cloudflare Worker: Portcullis pat (personal access tokens and their exchange). The same Wasm module and shim as the Supabase
// function (index.ts); Workers-specific are only the environment and Hyperdrive
// (functions/_shared/workers.ts). Built by `cargo xtask build --worker pat` into worker/ (see
// functions/portcullis-pat/wrangler.toml).
import * as wasm from "./wasm/portcullis_pat.js";
import wasmBytes from "./wasm/portcullis_pat_bg.wasm";
import { wasmModule } from "../_shared/adapter.ts";
import { workerFetch } from "../_shared/workers.ts";

wasm.initSync({ module: wasmBytes });
export default workerFetch(wasmModule(wasm, (env, hasDb) => new wasm.PatFunction(env, hasDb)));
