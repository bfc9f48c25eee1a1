// Supabase Edge Function: Portcullis hooks (Supabase Auth HTTP hooks).
// Loads the Rust/Wasm module, hands it the environment and the database, serves requests.
// All behaviour lives in crates/hooks-service; see README.md for deployment.
import { HooksFunction, initSync } from "./wasm/portcullis_hooks.js";
import { loadWasm, openDatabase, serveOptions } from "../_shared/runtime.ts";

initSync({ module: await loadWasm(import.meta.url, "./wasm/portcullis_hooks_bg.wasm") });
const hooks = new HooksFunction((name: string) => Deno.env.get(name), openDatabase());

Deno.serve(serveOptions(), (request) => hooks.fetch(request));
