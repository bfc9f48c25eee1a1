// Cloudflare Workers plumbing for the Portcullis Workers that reach PostgreSQL: the database
// through the Hyperdrive binding with postgres.js — a connection per request (Workers cannot
// keep sockets across requests; Hyperdrive pools the real ones), opened on the first query,
// closed after the answer — on top of worker-fetch.ts (the environment and the shim). No
// Portcullis logic lives here.
import postgres from "postgres";

import type { Query, WasmApp, WasmModule } from "./adapter.ts";
import { isLoopback, postgresQuery, target } from "./pg.ts";
import { type WorkerEnv, workerFetch as workerFetchWith } from "./worker-fetch.ts";

export { envGetter, type ExecutionContext, type WorkerEnv } from "./worker-fetch.ts";

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

/** A Worker's `export default` for a function with a database (Hyperdrive, per request). */
export function workerFetch<A extends WasmApp>(module: WasmModule<A>) {
  return workerFetchWith(module, requestDatabase);
}
