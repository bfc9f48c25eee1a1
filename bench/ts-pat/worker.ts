// The TypeScript pat exchange (bench/ts-pat/exchange.ts) as a Cloudflare Worker, for the
// end-to-end comparison on workerd in `cargo xtask bench --pat`: postgres.js over the Hyperdrive
// binding, a client per request (Workers cannot share sockets across requests), closed after the
// answer, as ours does. Bindings: HYPERDRIVE, PORTCULLIS_PAT_SIGNING_KEY (a private JWK with
// kid), PORTCULLIS_PAT_PREFIX, SUPABASE_URL.
import postgres from "postgres";
import { importJWK, SignJWT } from "jose";
import { makeExchange } from "./exchange.ts";

interface Env {
  HYPERDRIVE: { connectionString: string };
  PORTCULLIS_PAT_SIGNING_KEY: string;
  PORTCULLIS_PAT_PREFIX: string;
  SUPABASE_URL: string;
}

let signing: Promise<{ key: CryptoKey | Uint8Array; kid: string }> | undefined;

export default {
  async fetch(req: Request, env: Env, ctx: { waitUntil(p: Promise<unknown>): void }): Promise<Response> {
    if (req.method !== "POST" || new URL(req.url).pathname !== "/token") {
      return new Response("not found", { status: 404 });
    }
    signing ??= (async () => {
      const jwk = JSON.parse(env.PORTCULLIS_PAT_SIGNING_KEY);
      const key = await importJWK({ kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y, d: jwk.d }, "ES256");
      return { key, kid: jwk.kid };
    })();
    const { key, kid } = await signing;
    const client = postgres(env.HYPERDRIVE.connectionString, {
      max: 1,
      prepare: false,
      fetch_types: false,
      onnotice: () => {},
    });
    try {
      return await makeExchange({
        prefix: env.PORTCULLIS_PAT_PREFIX,
        issuer: `${env.SUPABASE_URL}/auth/v1`,
        query: async (text, params) =>
          (await client.unsafe(text, params as string[]).values()) as (string | null)[][],
        sign: (c) => new SignJWT(c).setProtectedHeader({ alg: "ES256", kid, typ: "JWT" }).sign(key),
      })(req);
    } finally {
      ctx.waitUntil(client.end());
    }
  },
};
