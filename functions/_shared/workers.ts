// Cloudflare Workers plumbing shared by every Portcullis Worker: the environment (secrets and
// vars), and the database through the Hyperdrive binding with postgres.js — a connection per
// request (Workers cannot keep sockets across requests; Hyperdrive pools the real ones),
// opened on the first query, closed after the answer. No Portcullis logic lives here.
import postgres from "postgres";

import type { Query } from "./adapter.ts";
import { postgresQuery, target } from "./pg.ts";

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
      // connection to the origin): plain unless the binding's URL asks otherwise.
      db ??= postgresQuery(
        postgres,
        target(withDefaultMode(hyperdrive.connectionString), () => {
          throw new Error("sslrootcert files are not available in Workers");
        }),
        { max: 1 },
      );
      return db.query(text, params);
    },
    close: () => db?.close() ?? Promise.resolve(),
  };
}

function withDefaultMode(url: string): string {
  const u = new URL(url);
  if (!u.searchParams.has("sslmode")) u.searchParams.set("sslmode", "disable");
  return u.toString();
}
