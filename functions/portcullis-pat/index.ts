// Supabase Edge Function: Portcullis pat (personal access tokens and their exchange).
// Loads the Rust/Wasm module, hands it the environment and the database, serves requests.
// All behaviour lives in crates/pat/service; see README.md for deployment.
import * as wasm from "./wasm/portcullis_pat.js";
import { Served } from "../_shared/adapter.ts";
import { loadWasm, openDatabase, serveOptions } from "../_shared/runtime.ts";

wasm.initSync({ module: await loadWasm(import.meta.url, "./wasm/portcullis_pat_bg.wasm") });
const query = openDatabase();
const pat = new Served(
  {
    create: (env, hasDb) => new wasm.PatFunction(env, hasDb),
    poll: wasm.poll,
    setHost: wasm.setHost,
    settle: wasm.settle,
    reset: wasm.__wbg_reset_state,
  },
  (name) => Deno.env.get(name),
  query !== undefined,
);

Deno.serve(serveOptions(), (request) => pat.fetch(request, query));
