// Deno / Supabase Edge Runtime plumbing shared by every Portcullis shim: the environment, the
// database, where to listen. No Portcullis logic lives here; it all runs in Rust.
import { type Query, Served, type WasmApp, type WasmModule } from "./adapter.ts";
import { postgresQuery, target } from "./pg.ts";

export type { Query } from "./adapter.ts";

declare global {
  // Set by dev/serve.ts to an in-process PGlite database before a shim is imported.
  var portcullisDatabase: Query | undefined;
}

const log = (level: "warn" | "error", code: string, message: string) =>
  console[level](JSON.stringify({ level, code, message }));

/**
 * The database for this deployment: the in-process dev database when one is installed, else
 * postgres.js over PORTCULLIS_DB_URL (the least-privilege role) or, with a warning,
 * SUPABASE_DB_URL (the superuser). TLS follows the URL's `sslmode` (default `require` off
 * loopback, `verify-full` when a CA is given: `sslrootcert=` or PORTCULLIS_DB_CA as PEM). The
 * driver is loaded on the first query, so functions that never query pay nothing at start.
 */
export function openDatabase(): Query | undefined {
  if (globalThis.portcullisDatabase) return globalThis.portcullisDatabase;
  let url = Deno.env.get("PORTCULLIS_DB_URL");
  if (!url) {
    url = Deno.env.get("SUPABASE_DB_URL");
    if (!url) return undefined;
    log(
      "warn",
      "superuser_database_url",
      "PORTCULLIS_DB_URL is not set: using SUPABASE_DB_URL, which logs in as the superuser. " +
        "Run `portcullis db migrate --enable-login` and set PORTCULLIS_DB_URL to connect as portcullis_fn.",
    );
  }
  // Checked now: a bad URL or CA file is a start-up error, not a failure on the first query.
  const t = target(url, (path) => Deno.readTextFileSync(path), Deno.env.get("PORTCULLIS_DB_CA"));
  let pool: Promise<Query> | undefined;
  const connect = async (): Promise<Query> => {
    // Inline: a deployed Supabase function has no import map of ours.
    // deno-lint-ignore no-import-prefix
    const { default: postgres } = await import("npm:postgres@3.4.9");
    return postgresQuery(postgres, t, { max: 4, idle_timeout: 30, connect_timeout: 2 }).query;
  };
  return async (text, params) => (await (pool ??= connect()))(text, params);
}

/** Listen options: a loopback port when PORTCULLIS_PORT is set (local runs), else the runtime's. */
export function serveOptions(): Deno.ServeTcpOptions {
  const port = Number(Deno.env.get("PORTCULLIS_PORT"));
  return Number.isInteger(port) && port > 0 ? { port, hostname: "127.0.0.1" } : {};
}

/** Loads a wasm-bindgen module that sits next to `base` (static_files in config.toml). */
export async function loadWasm(base: string, file: string): Promise<Uint8Array> {
  return await Deno.readFile(new URL(file, base));
}

/** Serves one function on Deno: the configuration from `Deno.env`, the database from
 * [`openDatabase`], the port from [`serveOptions`]. */
export function serveFunction<A extends WasmApp>(module: WasmModule<A>): void {
  const query = openDatabase();
  const served = new Served(module, (name) => Deno.env.get(name), query !== undefined);
  Deno.serve(serveOptions(), (request) => served.fetch(request, query));
}
