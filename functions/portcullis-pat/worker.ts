// Cloudflare Worker: Portcullis pat (personal access tokens and their exchange). The same Wasm module and
// shim as the Supabase function (index.ts); Workers-specific are only the environment and
// Hyperdrive. Built by `cargo xtask build --worker pat` into worker/ (see functions/portcullis-pat/wrangler.toml).
import * as wasm from "./wasm/portcullis_pat.js";
import wasmModule from "./wasm/portcullis_pat_bg.wasm";
import { Served } from "../_shared/adapter.ts";
import { envGetter, type ExecutionContext, requestDatabase, type WorkerEnv } from "../_shared/workers.ts";

wasm.initSync({ module: wasmModule });

let served: Served<wasm.PatFunction> | undefined;
let misconfigured = false;

function broken(): Response {
  return new Response(
    JSON.stringify({
      error: "function_misconfigured",
      message: "the function's configuration is invalid; see its logs",
    }),
    { status: 500, headers: { "content-type": "application/json", "cache-control": "no-store" } },
  );
}

export default {
  async fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
    if (misconfigured) return broken();
    if (!served) {
      try {
        served = new Served(
          {
            create: (get, hasDb) => new wasm.PatFunction(get, hasDb),
            poll: wasm.poll,
            setHost: wasm.setHost,
            settle: wasm.settle,
            reset: wasm.__wbg_reset_state,
          },
          envGetter(env),
          env.HYPERDRIVE !== undefined,
        );
      } catch {
        // The Rust side logged which variable is wrong (never its value).
        misconfigured = true;
        return broken();
      }
    }
    const db = requestDatabase(env);
    const response = await served.fetch(request, db?.query);
    if (db) ctx.waitUntil(db.close());
    return response;
  },
};
