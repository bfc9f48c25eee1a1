// PostgreSQL for the function shims, through postgres.js (what Supabase's and Cloudflare's
// Hyperdrive docs use): the SQL seam's query function, TLS per libpq's `sslmode`, and a guard
// against servers (or men in the middle) that ask for the password in clear text or skip the
// SCRAM server proof — postgres.js would answer both.
//
// We open the socket (and TLS) ourselves and hand postgres.js a connected one (its `socket`
// option): only then can we read the server's authentication requests in plain text before
// postgres.js does. Everything else — the protocol, SCRAM, pooling — is postgres.js's.
import { EventEmitter } from "node:events";
import net from "node:net";
import tls from "node:tls";

import type { Query } from "./adapter.ts";

export type SslMode = "disable" | "allow" | "prefer" | "require" | "verify-ca" | "verify-full";

export interface DbTarget {
  /** The URL postgres.js gets: our TLS parameters removed (it would send them to the server). */
  url: string;
  host: string;
  port: number;
  sslmode: SslMode;
  /** PEM roots for verify-ca / verify-full (or require with a CA, which then means verify-ca). */
  ca?: string;
  /**
   * The URL has a password: only a SCRAM login with the server's proof is accepted (libpq's
   * `require_auth=scram-sha-256`). A server that says "ok" at once has not proved it knows
   * the password; behind `require` anyone on the path could be that server.
   */
  requireScram: boolean;
}

const MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"];

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Reads `url`'s TLS settings: `sslmode` (default `require`, or `verify-full` with a CA, except
 * on loopback: `disable`) and `sslrootcert` (a PEM file; `system` for the runtime's roots).
 * `caPem` (from the environment) counts as a CA too.
 */
export function target(url: string, readFile: (path: string) => string, caPem?: string): DbTarget {
  const u = new URL(url);
  if (u.protocol !== "postgres:" && u.protocol !== "postgresql:") {
    throw new Error("the database URL must start with postgres:// or postgresql://");
  }
  const host = u.hostname.replace(/^\[|\]$/g, "");
  for (const key of ["sslmode", "sslrootcert"]) {
    // libpq takes the last, postgres.js and others the first: refuse rather than guess.
    if (u.searchParams.getAll(key).length > 1) {
      throw new Error(`the database URL gives ${key} more than once`);
    }
  }
  const given = u.searchParams.get("sslmode");
  if (given !== null && !MODES.includes(given)) {
    throw new Error(`the database URL has sslmode=${given}; expected one of ${MODES.join(", ")}`);
  }
  const rootcert = u.searchParams.get("sslrootcert");
  let ca = caPem && caPem.trim() !== "" ? caPem : undefined;
  let system = false;
  if (rootcert === "system") system = true;
  else if (rootcert !== null) ca = readFile(rootcert);
  // As libpq: checking the chain but not the name is only worth something against a CA of
  // one's own (any public CA signs certificates for anyone's names).
  if (given === "verify-ca" && !ca) {
    throw new Error(
      "sslmode=verify-ca needs sslrootcert=<the CA file that signed the server's certificate> (or PORTCULLIS_DB_CA; or use verify-full)",
    );
  }
  if (system && given !== null && given !== "verify-full") {
    throw new Error(
      `sslmode=${given} may not be used with sslrootcert=system (public CAs sign anyone's names: use verify-full)`,
    );
  }
  u.searchParams.delete("sslmode");
  u.searchParams.delete("sslrootcert");
  const sslmode = (given ??
    (isLoopback(host) ? "disable" : ca || system ? "verify-full" : "require")) as SslMode;
  return {
    url: u.toString(),
    host,
    port: Number(u.port || 5432),
    sslmode,
    ca,
    requireScram: u.password !== "",
  };
}

// ---- the guard ----

/**
 * Why the guard ends a connection (null: fine so far). `requireScram`: the login has a
 * password, so `AuthenticationOk` must follow a complete SCRAM exchange.
 */
export function authWatcher(requireScram = false): (chunk: Uint8Array) => string | null | "done" {
  const header = new Uint8Array(5);
  const code = new Uint8Array(4);
  let have = 0;
  let state: "header" | "code" | "skip" | "done" = "header";
  let left = 0;
  let saslStarted = false;
  let saslContinued = false;
  let saslFinal = false;
  return (chunk) => {
    for (let i = 0; i < chunk.length;) {
      if (state === "done") return "done";
      if (state === "header") {
        header[have++] = chunk[i++];
        if (have < 5) continue;
        have = 0;
        const kind = header[0];
        const len = ((header[1] << 24) | (header[2] << 16) | (header[3] << 8) | header[4]) >>> 0;
        // R (authentication), E (error), v (protocol version), N (notice) only.
        if (len < 4 || ![0x52, 0x45, 0x76, 0x4e].includes(kind)) {
          return "the server's answer is not the PostgreSQL protocol";
        }
        left = len - 4;
        if (kind === 0x52) {
          if (left < 4) return "the server's answer is not the PostgreSQL protocol";
          state = "code";
        } else state = left === 0 ? "header" : "skip";
      } else if (state === "code") {
        code[have++] = chunk[i++];
        if (have < 4) continue;
        have = 0;
        left -= 4;
        const c = ((code[0] << 24) | (code[1] << 16) | (code[2] << 8) | code[3]) >>> 0;
        if (c === 0) {
          if (saslStarted && !saslFinal) {
            return "the server accepted the login without proving it knows the password (no SCRAM server signature); refused";
          }
          if (requireScram && !saslFinal) {
            return "the server accepted the login without SCRAM authentication, so it did not prove it knows the password; refused (with a password in the URL the server must use SCRAM-SHA-256; for a trust login leave the password out)";
          }
          state = "done";
          return "done";
        }
        if (c === 3) {
          return "the server asked for the password in clear text; refused (the server must use SCRAM-SHA-256)";
        }
        if (c === 5) return "the server asked for MD5 password authentication; refused (use SCRAM-SHA-256)";
        if (c === 10) saslStarted = true;
        // The signature inside the final message is postgres.js's to verify; the order is ours.
        if ((c === 11 && !saslStarted) || (c === 12 && !saslContinued)) {
          return "the server's SCRAM exchange is out of order; refused";
        }
        if (c === 11) saslContinued = true;
        if (c === 12) saslFinal = true;
        state = left === 0 ? "header" : "skip";
      } else {
        const n = Math.min(left, chunk.length - i);
        i += n;
        left -= n;
        if (left === 0) state = "header";
      }
    }
    return null;
  };
}

/** Watches `socket`'s incoming data until authentication is over. */
function guard<S extends net.Socket>(socket: S, requireScram: boolean): S {
  const watch = authWatcher(requireScram);
  // deno-lint-ignore no-explicit-any
  const target = socket as any;
  const emit = target.emit;
  // deno-lint-ignore no-explicit-any
  target.emit = function (event: string | symbol, ...args: any[]): boolean {
    if (event === "data") {
      const verdict = watch(args[0] as Uint8Array);
      if (verdict === "done") target.emit = emit;
      else if (verdict !== null) {
        target.emit = emit;
        socket.destroy(new Error(verdict));
        return false;
      }
    }
    return emit.call(this, event, ...args);
  };
  return socket;
}

const CONNECT_TIMEOUT_MS = 5000;

function once(socket: net.Socket, event: string): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the database did not answer within ${CONNECT_TIMEOUT_MS} ms`));
    }, CONNECT_TIMEOUT_MS);
    const fail = (e: Error) => {
      clearTimeout(timer);
      reject(e);
    };
    socket.once("error", fail);
    socket.once(event, (...args: unknown[]) => {
      clearTimeout(timer);
      socket.off("error", fail);
      resolve(args);
    });
  });
}

/** A connected socket for postgres.js: TLS per `t.sslmode`, guarded. */
export async function openSocket(t: DbTarget): Promise<net.Socket> {
  const tcp = net.connect({ host: t.host, port: t.port });
  tcp.setNoDelay(true);
  await once(tcp, "connect");
  if (t.sslmode === "disable" || t.sslmode === "allow") return guard(tcp, t.requireScram);
  tcp.write(new Uint8Array([0, 0, 0, 8, 4, 210, 22, 47])); // SSLRequest
  const [answer] = (await once(tcp, "data")) as [Uint8Array];
  if (answer.length !== 1) {
    tcp.destroy();
    throw new Error("the server sent data before the TLS handshake; refused");
  }
  if (answer[0] !== 0x53) {
    if (t.sslmode === "prefer") return guard(tcp, t.requireScram);
    tcp.destroy();
    throw new Error(`the database server does not offer TLS (sslmode=${t.sslmode})`);
  }
  const verify = t.sslmode === "verify-full" || t.sslmode === "verify-ca" ||
    (t.sslmode === "require" && !!t.ca);
  const secure = tls.connect({
    socket: tcp,
    servername: net.isIP(t.host) ? undefined : t.host,
    rejectUnauthorized: verify,
    ca: t.ca,
    // verify-ca (and require with a CA): the chain, not the name.
    ...(verify && t.sslmode !== "verify-full" ? { checkServerIdentity: () => undefined } : {}),
  });
  await once(secure, "secureConnect");
  return guard(secure, t.requireScram);
}

/**
 * A socket that fails: what postgres.js gets when we could not connect. (A socket factory
 * that throws leaves postgres.js's connection stuck in its "connecting" queue for good, so
 * after a database restart the pool would never recover; an `error` and a `close` on a socket
 * take the normal path: the query fails at once, the connection is retried later.)
 */
function failedSocket(err: unknown): net.Socket {
  const s = new EventEmitter() as EventEmitter & Record<string, unknown>;
  s.write = () => true;
  s.end = () => s;
  s.destroy = () => s;
  s.readyState = "closed";
  setTimeout(() => {
    s.emit("error", err instanceof Error ? err : new Error(String(err)));
    s.emit("close", true);
  }, 0);
  return s as unknown as net.Socket;
}

// deno-lint-ignore no-explicit-any
type Postgres = (url: string, options: Record<string, unknown>) => any;

/** Longest a statement may take, connecting included: Supabase Auth gives a hook 5 s. */
export const QUERY_TIMEOUT_MS = 3000;

/** The SQL seam over postgres.js. `close()` ends its connections. */
export function postgresQuery(
  postgres: Postgres,
  t: DbTarget,
  options: Record<string, unknown>,
): { query: Query; close: () => Promise<void> } {
  const sql = postgres(t.url, {
    // Unnamed statements (prepare: false): works through transaction-mode poolers.
    prepare: false,
    fetch_types: false,
    onnotice: () => {},
    // Reconnect within a fraction of a second after the database comes back (postgres.js's
    // default backoff grows to 20 s: longer than any hook may wait).
    backoff: (retries: number) => Math.min(0.05 * (retries + 1), 0.5),
    ...options,
    ssl: false,
    socket: () => openSocket(t).catch(failedSocket),
  });
  return {
    // Bounded: a statement that cannot finish in time fails (the hook answers an error object
    // GoTrue understands, and its retry finds whatever the statement did, as the claims are
    // idempotent).
    query: (text, params) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`the database did not answer within ${QUERY_TIMEOUT_MS} ms`)),
          QUERY_TIMEOUT_MS,
        );
      });
      const run = sql.unsafe(text, params).values() as Promise<(string | null)[][]>;
      return Promise.race([run, timeout]).finally(() => clearTimeout(timer));
    },
    close: () => sql.end({ timeout: 5 }),
  };
}
