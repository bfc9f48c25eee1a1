// The Worker side every Portcullis Worker shares, with no database: the environment (secrets
// and vars) and the `export default` around the shim. A function that reaches PostgreSQL adds
// the Hyperdrive connection through workers.ts; one that does not (sign) imports only this, so
// its bundle carries no database driver. No Portcullis logic lives here.
import { type Query, Served, type WasmApp, type WasmModule } from "./adapter.ts";

export interface WorkerEnv {
  [name: string]: unknown;
  HYPERDRIVE?: { connectionString: string };
}

export interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
}

/** `env` as the functions read it: string secrets and vars by name. */
export function envGetter(env: WorkerEnv): (name: string) => string | undefined {
  return (name) => {
    const v = env[name];
    return typeof v === "string" ? v : undefined;
  };
}

/** The database of one request: its query seam and how to close it after the answer. */
export type RequestDatabase = (env: WorkerEnv) => { query: Query; close(): Promise<void> } | undefined;

function broken(): Response {
  return new Response(
    JSON.stringify({
      error: "function_misconfigured",
      message: "the function's configuration is invalid; see its logs",
    }),
    { status: 500, headers: { "content-type": "application/json", "cache-control": "no-store" } },
  );
}

/** A Worker's `export default` for one function: built on the first request from the Worker's
 * environment (a misconfiguration answers 500 from then on; the Rust side logged which variable,
 * never its value), the database (when `database` is given and finds a binding) per request. */
export function workerFetch<A extends WasmApp>(module: WasmModule<A>, database?: RequestDatabase) {
  let served: Served<A> | undefined;
  let misconfigured = false;
  return {
    async fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
      if (misconfigured) return broken();
      const db = database?.(env);
      if (!served) {
        try {
          served = new Served(module, envGetter(env), db !== undefined);
        } catch {
          misconfigured = true;
          return broken();
        }
      }
      const response = await served.fetch(request, db?.query);
      if (db) ctx.waitUntil(db.close());
      return response;
    },
  };
}
