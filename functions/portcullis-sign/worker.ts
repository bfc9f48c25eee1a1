// Cloudflare Worker: Portcullis sign (policy-scoped pre-signed URLs and upload forms). The same
// Wasm module and shim as the Supabase function (index.ts); Workers-specific is only the
// environment (functions/_shared/worker-fetch.ts: no database, so no driver in the bundle). Built by `cargo xtask build --worker sign` into
// worker/ (see functions/portcullis-sign/wrangler.toml).
import * as wasm from "./wasm/portcullis_sign.js";
import wasmBytes from "./wasm/portcullis_sign_bg.wasm";
import { wasmModule } from "../_shared/adapter.ts";
import { workerFetch } from "../_shared/worker-fetch.ts";

wasm.initSync({ module: wasmBytes });
export default workerFetch(wasmModule(wasm, (env, hasDb) => new wasm.SignFunction(env, hasDb)));
