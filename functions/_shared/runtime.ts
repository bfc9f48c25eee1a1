// Host plumbing shared by every Portcullis Supabase shim: where the database is and how to
// listen. No Portcullis logic lives here; it all runs in Rust.

/** The SQL seam's JavaScript side: text parameters in, rows of text (or null) out. */
export type Query = (sql: string, params: (string | null)[]) => Promise<(string | null)[][]>;

declare global {
  // Set by dev/serve.ts to an in-process PGlite database before a shim is imported.
  // deno-lint-ignore no-var
  var portcullisDatabase: Query | undefined;
}

/**
 * The database for this deployment: the in-process dev database when one is installed,
 * else postgres.js over PORTCULLIS_DB_URL (least-privilege role) or SUPABASE_DB_URL. The driver
 * is loaded on the first query, so functions that never query pay nothing at cold start.
 */
export function openDatabase(): Query | undefined {
  if (globalThis.portcullisDatabase) return globalThis.portcullisDatabase;
  const url = Deno.env.get("PORTCULLIS_DB_URL") ?? Deno.env.get("SUPABASE_DB_URL");
  if (!url) return undefined;
  let pool: Promise<Query> | undefined;
  const connect = async (): Promise<Query> => {
    const { default: postgres } = await import("npm:postgres@3.4.9");
    // Unnamed statements only (prepare: false): works through transaction-mode poolers.
    const sql = postgres(url, { max: 4, prepare: false, idle_timeout: 30, connect_timeout: 5, onnotice: () => {} });
    return async (text, params) => (await sql.unsafe(text, params).values()) as (string | null)[][];
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
