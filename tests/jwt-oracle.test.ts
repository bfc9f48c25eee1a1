// The token layer against `jose` for what the served suite (tests/pat.test.ts) does not cover:
// a deployment that mints with the legacy HS256 secret. The pat module runs in process behind
// the real shim (functions/_shared/adapter.ts) with a stub database; jose verifies the token it
// mints, and jose-signed HS256 user tokens (with and without a hosted-style kid) are accepted
// while ones under another secret are refused.
import assert from "node:assert/strict";
import { decodeProtectedHeader, jwtVerify, SignJWT } from "jose";
import { Served, wasmModule } from "../functions/_shared/adapter.ts";
import { checksum } from "./pat-format.ts";

const wasm = await import("../functions/portcullis-pat/wasm/portcullis_pat.js");
wasm.initSync({
  module: await Deno.readFile(
    new URL("../functions/portcullis-pat/wasm/portcullis_pat_bg.wasm", import.meta.url),
  ),
});
const URL_ = "https://abcdefghijklmnop.supabase.co";
const SECRET = "oracle-project-legacy-jwt-secret-with-32-plus-bytes";
const secret = new TextEncoder().encode(SECRET);
const env: Record<string, string> = {
  SUPABASE_URL: URL_,
  SUPABASE_JWKS: '{"keys":[]}',
  PORTCULLIS_JWT_SECRET: SECRET,
  PORTCULLIS_PAT_PREFIX: "oracle_pat",
};
const served = new Served(
  wasmModule(
    wasm,
    (get: (n: string) => string | undefined, hasDb: boolean) => new wasm.PatFunction(get, hasDb),
  ),
  (name) => env[name],
  true,
);
const USER = "8c7e6b2a-0000-4000-8000-000000000001";
const now = Math.floor(Date.now() / 1000);
const query = async (text: string) => {
  await Promise.resolve();
  if (text.includes("pat_list")) return [["[]"]];
  if (text.includes("pat_exchange")) {
    return [[
      "ok",
      "5d1c3b7e-0000-4000-8000-000000000001",
      USER,
      "{data:read}",
      String(now + 86400),
      null,
      "ada@example.com",
      "",
      '{"provider": "email"}',
      "{}",
      "false",
    ]];
  }
  throw new Error(text);
};

Deno.test("jose verifies the HS256 token the exchange mints (no kid, integer times)", async () => {
  const random = "x".repeat(30);
  const r = await served.fetch(
    new Request("http://h/portcullis-pat/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
        subject_token: `oracle_pat_${random}${checksum(random)}`,
        subject_token_type: "urn:portcullis:params:oauth:token-type:pat",
      }),
    }),
    query,
  );
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  assert.deepEqual(decodeProtectedHeader(body.access_token), { alg: "HS256", typ: "JWT" });
  const { payload } = await jwtVerify(body.access_token, secret, {
    issuer: `${URL_}/auth/v1`,
    audience: "authenticated",
    algorithms: ["HS256"],
  });
  assert.equal(payload.sub, USER);
  assert.ok(Number.isInteger(payload.exp) && Number.isInteger(payload.iat));
});

Deno.test("HS256 user tokens signed by jose: accepted with any kid, refused under another secret", async () => {
  const claims = {
    iss: `${URL_}/auth/v1`,
    sub: USER,
    aud: "authenticated",
    role: "authenticated",
    exp: now + 600,
    iat: now,
  };
  const get = async (token: string) => {
    const r = await served.fetch(
      new Request("http://h/portcullis-pat/tokens", { headers: { authorization: `Bearer ${token}` } }),
      query,
    );
    await r.body?.cancel();
    return r.status;
  };
  assert.equal(await get(await new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).sign(secret)), 200);
  assert.equal(
    await get(
      await new SignJWT(claims).setProtectedHeader({ alg: "HS256", kid: "WFfTACHsaHoCuL/S" }).sign(secret),
    ),
    200,
  );
  const other = new TextEncoder().encode("another-secret-another-secret-another-secret");
  assert.equal(await get(await new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).sign(other)), 401);
});
