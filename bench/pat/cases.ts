// The pat function's in-process cases, shared by the Deno driver (bench/pat/inproc.ts, which
// times them in process) and the workerd one (bench/pat/worker.ts, timed from outside: isolate
// clocks do not advance during a request). Each case is ours (the pat Wasm module behind the
// real shim, or the token layer's bench module) against what a user would write instead
// (TypeScript with `jose`), doing the same work on the same inputs. Both sides get the same
// stub database (an async function answering what each statement expects), so what is
// measured is the function, not PostgreSQL.
//
// (a) JWT verification inside a request: `GET /tokens` with a user's token, per algorithm
//     (HS256, ES256, RS256, EdDSA): ours cold (a different token every time: signature checked),
//     ours cached (the same token again: the verified-token cache), and jose's `jwtVerify`.
// (a') Verification alone, where ours needs no host call (bench/jwt-wasm): HS256 cold, and a
//     token from the verified-token cache against jose verifying each algorithm.
// (b) Minting inside the exchange: `POST /token` (RFC 8693 form, PAT format and checksum,
//     SHA-256, the stub lookup, a Supabase-shaped JWT signed ES256 or HS256) against the same
//     steps with jose's `SignJWT`.
import { Served, wasmModule } from "../../functions/_shared/adapter.ts";
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT } from "jose";
import { checksum, makeExchange } from "../ts-pat/exchange.ts";

/** One operation: a promise when it waits for something (ours completes verification alone
 * synchronously, and is timed so: there is nothing to await). */
export type Run = () => Promise<void> | void;
export type Case = [name: string, ours: Run, ts: Run];

/** Initialised module glue (wasm-bindgen's generated types are not imported here). */
// deno-lint-ignore no-explicit-any
type Glue = any;

export interface Instances {
  /** A pat module instance that mints ES256 (a private JWK like `supabase gen signing-key`'s). */
  es?: Glue;
  /** Another instance of it (one function per instance) that mints HS256 with the secret. */
  hs?: Glue;
  /** The token layer's bench module (bench/jwt-wasm), for verification alone. */
  jwt?: Glue;
}

/** The cases the given instances can run (at least one of `es` and `hs`). */
export async function patCases(inst: Instances): Promise<Case[]> {
  const URL_ = "https://abcdefghijklmnop.supabase.co";
  const ISSUER = `${URL_}/auth/v1`;
  const SECRET = "bench-project-legacy-jwt-secret-with-32-plus-bytes";
  const secretBytes = new TextEncoder().encode(SECRET);
  const keys = {
    ES256: { ...(await generateKeyPair("ES256", { extractable: true })), kid: "es" },
    RS256: { ...(await generateKeyPair("RS256", { extractable: true, modulusLength: 2048 })), kid: "rs" },
    EdDSA: { ...(await generateKeyPair("EdDSA", { extractable: true })), kid: "ed" },
  };
  const jwks = {
    keys: await Promise.all(
      Object.entries(keys).map(async ([alg, k]) => ({ ...(await exportJWK(k.publicKey)), alg, kid: k.kid })),
    ),
  };
  const minting = await generateKeyPair("ES256", { extractable: true });
  const mintingJwk = { ...(await exportJWK(minting.privateKey)), kid: "pat-minting", alg: "ES256" };

  function served(wasm: Glue, extra: Record<string, string>) {
    const env: Record<string, string> = {
      SUPABASE_URL: URL_,
      SUPABASE_JWKS: JSON.stringify(jwks),
      PORTCULLIS_JWT_SECRET: SECRET,
      PORTCULLIS_PAT_PREFIX: "bench_pat",
      PORTCULLIS_PAT_POLICY: JSON.stringify({ rate_limit: { requests: 1000000, window_seconds: 60 } }),
      ...extra,
    };
    return new Served(
      wasmModule(
        wasm,
        (get: (name: string) => string | undefined, hasDb: boolean) => new wasm.PatFunction(get, hasDb),
      ),
      (name) => env[name],
      true,
    );
  }
  const oursEs = inst.es && served(inst.es, { PORTCULLIS_PAT_SIGNING_KEY: JSON.stringify(mintingJwk) });
  const oursHs = inst.hs && served(inst.hs, {});
  // Verification does not depend on how the instance mints.
  const oursAny = (oursEs ?? oursHs)!;

  const USER = "8c7e6b2a-0000-4000-8000-000000000001";
  const PAT_ID = "5d1c3b7e-0000-4000-8000-000000000001";
  const EXP = Math.floor(Date.now() / 1000) + 30 * 86400;
  const userRow = [
    "ok",
    PAT_ID,
    USER,
    "{data:read,data:write}",
    String(EXP),
    null,
    "ada@example.com",
    "",
    '{"provider": "email", "providers": ["email"]}',
    '{"name": "Ada"}',
    "false",
  ];
  // The stub database, after a promise hop (as a driver would).
  const query = async (text: string, _params: unknown[]) => {
    await Promise.resolve();
    if (text.includes("pat_list")) return [["[]"]];
    if (text.includes("pat_exchange")) return [userRow];
    throw new Error(`unexpected statement: ${text}`);
  };

  const now = () => Math.floor(Date.now() / 1000);
  type Alg = keyof typeof keys | "HS256";
  async function userToken(alg: Alg, n: number): Promise<string> {
    const claims = {
      iss: ISSUER,
      sub: USER,
      aud: "authenticated",
      role: "authenticated",
      exp: now() + 3600,
      iat: now(),
      aal: "aal1",
      amr: [{ method: "password", timestamp: now() }],
      session_id: "2b7f2f0e-4c7b-4f1e-9a55-6d2c8a0e1f3a",
      email: "ada@example.com",
      jti: String(n),
    };
    const jwt = new SignJWT(claims);
    if (alg === "HS256") return await jwt.setProtectedHeader({ alg, typ: "JWT" }).sign(secretBytes);
    return await jwt.setProtectedHeader({ alg, kid: keys[alg].kid, typ: "JWT" }).sign(keys[alg].privateKey);
  }

  // What a user writes instead: jose against the project's keys (a JWKS they fetched once, or
  // the legacy secret), the same claims checks, the same statement, the same answer.
  const localJwks = createLocalJWKSet(jwks);
  const json = (status: number, body: string, extra: Record<string, string> = {}) =>
    new Response(body, {
      status,
      headers: { "content-type": "application/json", "cache-control": "no-store", ...extra },
    });
  async function tsList(req: Request): Promise<Response> {
    const token = req.headers.get("authorization")?.replace(/^Bearer /i, "") ?? "";
    try {
      const alg = JSON.parse(atob(token.split(".")[0].replace(/-/g, "+").replace(/_/g, "/"))).alg;
      const options = { issuer: ISSUER, audience: "authenticated", clockTolerance: 30 };
      const { payload } = alg === "HS256"
        ? await jwtVerify(token, secretBytes, { ...options, algorithms: ["HS256"] })
        : await jwtVerify(token, localJwks, { ...options, algorithms: ["ES256", "RS256", "EdDSA"] });
      if (payload.role !== "authenticated" || typeof payload.sub !== "string") throw new Error("not a user");
      const rows = await query("select portcullis.pat_list($1::uuid)", [payload.sub]);
      return json(200, `{"tokens":${rows[0][0]}}`);
    } catch {
      return json(401, '{"error":"invalid_token"}', { "www-authenticate": 'Bearer error="invalid_token"' });
    }
  }

  const tsExchangeEs = makeExchange({
    prefix: "bench_pat",
    issuer: ISSUER,
    query,
    sign: (c) =>
      new SignJWT(c).setProtectedHeader({ alg: "ES256", kid: "pat-minting", typ: "JWT" }).sign(
        minting.privateKey,
      ),
  });
  const tsExchangeHs = makeExchange({
    prefix: "bench_pat",
    issuer: ISSUER,
    query,
    sign: (c) => new SignJWT(c).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(secretBytes),
  });

  const B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  const random30 = Array.from(crypto.getRandomValues(new Uint8Array(30)), (b) => B62[b % 62]).join("");
  const PAT = `bench_pat_${random30}${checksum(random30)}`;
  const exchangeRequest = (prefix: string) =>
    new Request(`http://127.0.0.1${prefix}/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
        subject_token: PAT,
        subject_token_type: "urn:portcullis:params:oauth:token-type:pat",
        scope: "data:read",
      }).toString(),
    });

  async function ok(r: Response, who: string) {
    const text = await r.text();
    if (r.status !== 200) throw new Error(`${who}: ${r.status} ${text.slice(0, 300)}`);
  }

  const cases: Case[] = [];
  // More distinct tokens than the verified-token cache holds (1024): every "cold" request checks
  // a signature.
  const POOL = 2000;
  for (const alg of ["HS256", "ES256", "RS256", "EdDSA"] as Alg[]) {
    const pool = await Promise.all(Array.from({ length: POOL }, (_, i) => userToken(alg, i)));
    let i = 0;
    const get = (prefix: string, token: string) =>
      new Request(`http://127.0.0.1${prefix}/tokens`, { headers: { authorization: `Bearer ${token}` } });
    const ts: Run = async () => ok(await tsList(get("", pool[i++ % POOL])), `ts ${alg}`);
    cases.push([
      `verify ${alg} (cold)`,
      async () => ok(await oursAny.fetch(get("/portcullis-pat", pool[i++ % POOL]), query), `ours ${alg}`),
      ts,
    ]);
    cases.push([
      `verify ${alg} (cached)`,
      async () => ok(await oursAny.fetch(get("/portcullis-pat", pool[0]), query), `ours ${alg}`),
      ts,
    ]);
  }
  if (oursEs) {
    cases.push([
      "exchange, mint ES256",
      async () => ok(await oursEs.fetch(exchangeRequest("/portcullis-pat"), query), "ours exchange"),
      async () => ok(await tsExchangeEs(exchangeRequest("")), "ts exchange"),
    ]);
  }
  if (oursHs) {
    cases.push([
      "exchange, mint HS256",
      async () => ok(await oursHs.fetch(exchangeRequest("/portcullis-pat"), query), "ours exchange"),
      async () => ok(await tsExchangeHs(exchangeRequest("")), "ts exchange"),
    ]);
  }

  // (a') Verification alone, where ours needs no host call: the token layer's bench module
  // (bench/jwt-wasm, built by `cargo xtask bench --pat`) against jose's jwtVerify on the same
  // tokens. HS256 cold (a different token each time) and every algorithm from the cache.
  if (inst.jwt) {
    const glue = inst.jwt;
    const v = new glue.Verifier(JSON.stringify(jwks), SECRET, ISSUER);
    const options = { issuer: ISSUER, audience: "authenticated", clockTolerance: 30 };
    const check = (ok: boolean) => {
      if (!ok) throw new Error("ours refused a token");
    };
    const hsPool = await Promise.all(Array.from({ length: POOL }, (_, i) => userToken("HS256", 100_000 + i)));
    let h = 0;
    const joseHs: Run = async () => {
      await jwtVerify(hsPool[h++ % POOL], secretBytes, { ...options, algorithms: ["HS256"] });
    };
    cases.push([
      "verify alone HS256 (cold)",
      () => check(v.verify(hsPool[h++ % POOL], Date.now() / 1000)),
      joseHs,
    ]);
    // The verified-token cache is keyed by the token's hash, whatever its algorithm: one cached
    // token stands for all, against jose verifying each algorithm.
    const cached = hsPool[0];
    check(v.verify(cached, Date.now() / 1000));
    cases.push([
      "verify alone, ours cached vs jose HS256",
      () => check(v.verify(cached, Date.now() / 1000)),
      joseHs,
    ]);
    for (const alg of ["ES256", "RS256", "EdDSA"] as Alg[]) {
      const pool = await Promise.all(Array.from({ length: 200 }, (_, i) => userToken(alg, 200_000 + i)));
      let i = 0;
      cases.push([
        `verify alone, ours cached vs jose ${alg}`,
        () => check(v.verify(cached, Date.now() / 1000)),
        async () => {
          await jwtVerify(pool[i++ % 200], localJwks, { ...options, algorithms: [alg] });
        },
      ]);
    }
  }
  return cases;
}
