// The TypeScript pat exchange (bench/ts-pat/exchange.ts) served on Deno with postgres.js (a pool
// of 4, as ours), for the end-to-end comparison in `cargo xtask bench --pat`. Configuration:
// PORTCULLIS_PORT, PORTCULLIS_DB_URL, PORTCULLIS_PAT_SIGNING_KEY (a private JWK with kid),
// PORTCULLIS_PAT_PREFIX, SUPABASE_URL.
import postgres from "postgres";
import { importJWK, SignJWT } from "jose";
import { makeExchange } from "./exchange.ts";

const env = (k: string) => Deno.env.get(k)!;
const sql = postgres(env("PORTCULLIS_DB_URL"), { max: 4, idle_timeout: 30, onnotice: () => {} });
const jwk = JSON.parse(env("PORTCULLIS_PAT_SIGNING_KEY"));
const key = await importJWK({ kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y, d: jwk.d }, "ES256");
const exchange = makeExchange({
  prefix: env("PORTCULLIS_PAT_PREFIX"),
  issuer: `${env("SUPABASE_URL")}/auth/v1`,
  query: async (text, params) => (await sql.unsafe(text, params as string[]).values()) as (string | null)[][],
  sign: (c) => new SignJWT(c).setProtectedHeader({ alg: "ES256", kid: jwk.kid, typ: "JWT" }).sign(key),
});
Deno.serve({ port: Number(env("PORTCULLIS_PORT")), hostname: "127.0.0.1", onListen: () => {} }, (req) => {
  const path = new URL(req.url).pathname;
  if (req.method === "POST" && path === "/token") return exchange(req);
  return new Response("not found", { status: 404 });
});
