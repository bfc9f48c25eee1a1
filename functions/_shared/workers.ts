// Cloudflare Workers plumbing shared by every Portcullis Worker: the environment (secrets and
// vars), and the database through the Hyperdrive binding with postgres.js — a connection per
// request (Workers cannot keep sockets across requests; Hyperdrive pools the real ones),
// opened on the first query, closed after the answer. No Portcullis logic lives here.
import postgres from "postgres";

import { type Query, Served, type WasmApp, type WasmModule } from "./adapter.ts";
import { isLoopback, postgresQuery, target } from "./pg.ts";

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

/** The database for one request, or undefined without a Hyperdrive binding. */
export function requestDatabase(env: WorkerEnv): { query: Query; close(): Promise<void> } | undefined {
  const hyperdrive = env.HYPERDRIVE;
  if (!hyperdrive) return undefined;
  let db: ReturnType<typeof postgresQuery> | undefined;
  return {
    query: (text, params) => {
      // The Worker-to-Hyperdrive hop stays inside Cloudflare (Hyperdrive holds the TLS
      // connection to the origin and authenticates to it): plain unless the binding's URL asks
      // otherwise, and the credentials in the binding are Hyperdrive's to check, not a proof
      // we can demand of the origin (so no SCRAM requirement on this hop).
      db ??= postgresQuery(
        postgres,
        {
          ...target(withDefaultMode(hyperdrive.connectionString), () => {
            throw new Error("sslrootcert files are not available in Workers");
          }),
          requireScram: false,
        },
        { max: 1 },
      );
      return db.query(text, params);
    },
    close: () => db?.close() ?? Promise.resolve(),
  };
}

/** Hyperdrive's own endpoint (workerd names it `<random hex>.hyperdrive.local`, in production
 * and under `wrangler dev`) or loopback: plain by default. Any other host (a binding faked
 * with a remote URL) gets pg.ts's default, `require`. */
export function withDefaultMode(url: string): string {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, "");
  if (!u.searchParams.has("sslmode") && (host.endsWith(".hyperdrive.local") || isLoopback(host))) {
    u.searchParams.set("sslmode", "disable");
  }
  return u.toString();
}

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
 * never its value), the database through Hyperdrive per request. */
export function workerFetch<A extends WasmApp>(module: WasmModule<A>) {
  let served: Served<A> | undefined;
  let misconfigured = false;
  return {
    async fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
      if (misconfigured) return broken();
      if (!served) {
        try {
          served = new Served(module, envGetter(env), env.HYPERDRIVE !== undefined);
        } catch {
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
}
