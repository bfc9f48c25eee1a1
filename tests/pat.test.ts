// deno-lint-ignore-file no-explicit-any -- API answers are arbitrary JSON
// Black-box suite of the pat function, run against the Deno and the workerd build on a real
// PostgreSQL. The oracle is `jose`: it signs the users' tokens we must accept or refuse, and it
// verifies the tokens we mint against the project's JWKS. Supabase Auth's JWKS endpoint is the
// fake in tests/fakes/providers.ts; `auth.users` is tests/fixtures/supabase-auth.sql.
import assert from "node:assert/strict";
import postgres from "postgres";
import { base62, crc32 } from "./pat-format.ts";
import { base64url, createLocalJWKSet, exportJWK, generateKeyPair, type JWK, jwtVerify, SignJWT } from "jose";

function required(name: string): string {
  const v = Deno.env.get(name);
  if (!v) throw new Error(`${name} must be set (run the suite through \`cargo xtask test\`)`);
  return v;
}

const BASE = required("PORTCULLIS_PAT_URL").replace(/\/$/, "");
const FAKES = required("PORTCULLIS_FAKES_URL").replace(/\/$/, "");
const RUNTIME = Deno.env.get("PORTCULLIS_RUNTIME") ?? "unknown";
const ISSUER = `${FAKES}/auth/v1`;
const JWT_SECRET = new TextEncoder().encode(required("PORTCULLIS_TEST_JWT_SECRET"));
const PAT_PUBLIC: JWK = JSON.parse(required("PORTCULLIS_TEST_PAT_PUBLIC_JWK"));
const INTROSPECTION = required("PORTCULLIS_TEST_INTROSPECTION_SECRET");
const PREFIX = "acme_pat";
const PAT_TYPE = "urn:portcullis:params:oauth:token-type:pat";
const GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
const admin = postgres(required("PORTCULLIS_ADMIN_DB_URL"), { max: 4, onnotice: () => {} });

// The project's signing keys, made by jose: ES256 (current), RS256 and EdDSA (also accepted by
// GoTrue), plus a standby key published later; and the key pat mints with, imported.
const run = crypto.randomUUID().slice(0, 8);
const keys = {
  ES256: { ...(await generateKeyPair("ES256", { extractable: true })), kid: `es-${run}` },
  RS256: {
    ...(await generateKeyPair("RS256", { extractable: true, modulusLength: 2048 })),
    kid: `rs-${run}`,
  },
  EdDSA: { ...(await generateKeyPair("EdDSA", { extractable: true })), kid: `ed-${run}` },
};
const standby = { ...(await generateKeyPair("ES256", { extractable: true })), kid: `standby-${run}` };
async function publicJwk(k: { publicKey: CryptoKey; kid: string }, alg: string): Promise<JWK> {
  return { ...(await exportJWK(k.publicKey)), kid: k.kid, alg, use: "sig" };
}
const published: JWK[] = [
  await publicJwk(keys.ES256, "ES256"),
  await publicJwk(keys.RS256, "RS256"),
  await publicJwk(keys.EdDSA, "EdDSA"),
  PAT_PUBLIC,
];
async function publish(jwks: JWK[], mode = "ok") {
  const r = await fetch(`${FAKES}/_control/jwks`, {
    method: "PUT",
    body: JSON.stringify({ jwks: { keys: jwks }, mode }),
  });
  assert.equal(r.status, 200);
  await r.body?.cancel();
}
async function jwksFetches(): Promise<number> {
  const r = await (await fetch(`${FAKES}/_control/jwks`)).json();
  assert.deepEqual(r.problems, [], "the JWKS endpoint was called as GoTrue's is");
  return r.fetches;
}
await publish(published);

async function newUser(extra: { phone?: string; meta?: Record<string, string> } = {}): Promise<string> {
  const id = crypto.randomUUID();
  const app = JSON.stringify({ provider: "email", providers: ["email"] });
  const meta = JSON.stringify({ name: "Ada", ...extra.meta });
  await admin`insert into auth.users (id, email, phone, raw_app_meta_data, raw_user_meta_data)
    values (${id}, ${`${id.slice(0, 8)}@example.com`}, ${
    extra.phone ?? null
  }, ${app}::text::jsonb, ${meta}::text::jsonb)`;
  return id;
}

type Alg = "ES256" | "RS256" | "EdDSA" | "HS256";
async function userJwt(
  sub: string,
  opts: { alg?: Alg; claims?: Record<string, unknown>; header?: Record<string, unknown> } = {},
): Promise<string> {
  const alg = opts.alg ?? "ES256";
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: ISSUER,
    sub,
    aud: "authenticated",
    role: "authenticated",
    exp: now + 3600,
    iat: now,
    aal: "aal1",
    amr: [{ method: "password", timestamp: now }],
    session_id: crypto.randomUUID(),
    is_anonymous: false,
    email: "ada@example.com",
    ...opts.claims,
  };
  const jwt = new SignJWT(claims as any);
  if (alg === "HS256") {
    return await jwt.setProtectedHeader({ alg, typ: "JWT", ...opts.header }).sign(JWT_SECRET);
  }
  const k = keys[alg];
  return await jwt.setProtectedHeader({ alg, kid: k.kid, typ: "JWT", ...opts.header }).sign(k.privateKey);
}

interface Answer {
  status: number;
  headers: Headers;
  json: any;
}
async function api(
  method: string,
  path: string,
  opts: { jwt?: string; body?: unknown; headers?: Record<string, string>; raw?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.jwt) headers.authorization = `Bearer ${opts.jwt}`;
  let body: string | undefined = opts.raw;
  if (opts.body !== undefined) {
    headers["content-type"] ??= "application/json";
    body = JSON.stringify(opts.body);
  }
  const r = await fetch(`${BASE}${path}`, { method, headers, body });
  const text = await r.text();
  let json: any = null;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`${method} ${path}: not JSON (${r.status}): ${text.slice(0, 200)}`);
    }
  }
  return { status: r.status, headers: r.headers, json };
}

async function createPat(jwt: string, body: Record<string, unknown> = {}): Promise<any> {
  const r = await api("POST", "/tokens", {
    jwt,
    body: { name: "ci", scopes: ["data:read"], expires_in: 86400, ...body },
  });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  return r.json;
}

async function exchange(
  pat: string,
  extra: Record<string, string> = {},
  headers: Record<string, string> = {},
) {
  const form = new URLSearchParams({
    grant_type: GRANT,
    subject_token: pat,
    subject_token_type: PAT_TYPE,
    ...extra,
  });
  const r = await fetch(`${BASE}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: form.toString(),
  });
  return { status: r.status, headers: r.headers, json: await r.json() };
}

const projectJwks = () => createLocalJWKSet({ keys: published });

function assertInvalidToken(r: Answer, why: string) {
  assert.equal(r.status, 401, `${why}: ${JSON.stringify(r.json)}`);
  const challenge = r.headers.get("www-authenticate") ?? "";
  assert.match(challenge, /^Bearer error="invalid_token", error_description="[ -~]+"$/, why);
  assert.equal(r.json.error, "invalid_token", why);
}

Deno.test(`[${RUNTIME}] a user creates a PAT: GitHub's format with a CRC32 checksum, shown once, stored as a hash`, async () => {
  const user = await newUser();
  const created = await createPat(await userJwt(user), {
    name: "deploy bot",
    scopes: ["data:read", "data:write"],
  });
  const token: string = created.token;
  assert.match(token, /^acme_pat_[0-9A-Za-z]{36}$/);
  const body = token.slice(PREFIX.length + 1);
  assert.equal(body.slice(30), base62(crc32(new TextEncoder().encode(body.slice(0, 30))), 6));
  assert.equal(created.hint, `${PREFIX}_…${token.slice(-4)}`);
  assert.deepEqual(created.scopes, ["data:read", "data:write"]);
  assert.ok(Date.parse(created.expires_at) - Date.parse(created.created_at) > 86_390_000);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token)));
  const [row] = await admin`select encode(token_hash, 'hex') as hash, row_to_json(t)::text as everything
    from portcullis.pat_tokens t where id = ${created.id}`;
  assert.equal(row.hash, Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join(""));
  assert.ok(!row.everything.includes(body), "the token itself is stored nowhere");
  const list = await api("GET", "/tokens", { jwt: await userJwt(user, { alg: "RS256" }) });
  assert.equal(list.status, 200);
  assert.equal(list.json.tokens.length, 1);
  const listed = list.json.tokens[0];
  assert.equal(listed.id, created.id);
  assert.equal(listed.status, "active");
  assert.equal(listed.use_count, 0);
  assert.ok(!JSON.stringify(list.json).includes(body), "never the secret in a list");
  assert.ok(!("token_hash" in listed) && !("token" in listed));
});

Deno.test(`[${RUNTIME}] creation is checked against the policy and the request`, async () => {
  const user = await newUser();
  const jwt = await userJwt(user, { alg: "EdDSA" });
  const cases: [unknown, number, RegExp][] = [
    [{ scopes: ["data:read"], expires_in: 3600 }, 400, /name/],
    [{ name: "x", scopes: ["admin"], expires_in: 3600 }, 400, /scopes/],
    [{ name: "x", scopes: ["data:read"] }, 400, /expire/],
    [{ name: "x", scopes: ["data:read"], expires_in: 31 * 86400 }, 400, /lifetime/],
    [{ name: "x", scopes: ["data:read"], expires_in: 10 }, 400, /lifetime/],
    [
      { name: "x", scopes: ["data:read"], expires_in: 3600, expires_at: "2030-01-01T00:00:00Z" },
      400,
      /not both/,
    ],
    [{ name: "x", scopes: ["data:read"], expires_at: "tomorrow" }, 400, /RFC 3339/],
    [{ name: "x", scopes: ["data:read"], expires_in: 3600, allowed_ips: ["10.0.0.1/8"] }, 400, /allowed_ips/],
    [{ name: "x", scopes: ["data:read"], expires_in: 3600, admin: true }, 400, /admin/],
    [{ name: "x".repeat(101), scopes: [], expires_in: 3600 }, 400, /name/],
  ];
  for (const [body, status, message] of cases) {
    const r = await api("POST", "/tokens", { jwt, body });
    assert.equal(r.status, status, JSON.stringify(body));
    assert.equal(r.json.error, "invalid_request");
    assert.match(r.json.message, message, JSON.stringify(body));
  }
  const text = await api("POST", "/tokens", {
    jwt,
    raw: "name=x",
    headers: { "content-type": "text/plain" },
  });
  assert.equal(text.status, 415);
  const [{ n }] = await admin`select count(*)::int as n from portcullis.pat_tokens where user_id = ${user}`;
  assert.equal(n, 0, "nothing was created by a refused request");
  // The policy's limit: five live tokens per user, exact under concurrent creates.
  const results = await Promise.all(
    Array.from(
      { length: 8 },
      () => api("POST", "/tokens", { jwt, body: { name: "c", scopes: [], expires_in: 3600 } }),
    ),
  );
  assert.deepEqual(results.map((r) => r.status).sort(), [201, 201, 201, 201, 201, 409, 409, 409]);
  assert.equal(results.find((r) => r.status === 409)!.json.error, "token_limit");
});

Deno.test(`[${RUNTIME}] the exchange issues a Supabase JWT that jose verifies against the project's JWKS`, async () => {
  const phone = `1415${String(Math.floor(Math.random() * 1e7)).padStart(7, "0")}`;
  const user = await newUser({ phone, meta: { plan: "pro" } });
  const pat =
    (await createPat(await userJwt(user, { alg: "HS256" }), { scopes: ["data:read", "data:write"] })).token;
  const r = await exchange(pat);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.headers.get("cache-control"), "no-store");
  assert.equal(r.headers.get("pragma"), "no-cache");
  assert.equal(r.json.token_type, "Bearer");
  assert.equal(r.json.issued_token_type, "urn:ietf:params:oauth:token-type:access_token");
  assert.equal(r.json.expires_in, 900);
  assert.equal(r.json.scope, "data:read data:write");
  const { payload, protectedHeader } = await jwtVerify(r.json.access_token, projectJwks(), {
    issuer: ISSUER,
    audience: "authenticated",
    algorithms: ["ES256"],
  });
  assert.equal(protectedHeader.kid, PAT_PUBLIC.kid);
  assert.equal(payload.sub, user);
  assert.equal(payload.role, "authenticated");
  assert.equal(payload.aal, "aal1");
  assert.equal(payload.session_id, "00000000-0000-0000-0000-000000000000");
  assert.equal(payload.is_anonymous, false);
  assert.equal(payload.phone, phone);
  assert.deepEqual(payload.user_metadata, { name: "Ada", plan: "pro" });
  assert.deepEqual((payload.app_metadata as any).provider, "email");
  assert.equal(payload.scope, "data:read data:write");
  assert.equal(typeof payload.pat_id, "string");
  const amr = payload.amr as any[];
  assert.equal(amr.length, 1);
  assert.equal(amr[0].method, "pat");
  assert.ok(
    Number.isInteger(payload.exp) && Number.isInteger(payload.iat) && Number.isInteger(amr[0].timestamp),
  );
  assert.equal(payload.exp! - payload.iat!, 900);
  // Read fresh from auth.users at each exchange.
  await admin`update auth.users set email = 'renamed@example.com' where id = ${user}`;
  const again = await exchange(pat);
  const second = (await jwtVerify(again.json.access_token, projectJwks())).payload;
  assert.equal(second.email, "renamed@example.com");
  const [row] = await admin`select use_count::int, last_used_at is not null as used from portcullis.pat_tokens
    where id = ${payload.pat_id as string}`;
  assert.deepEqual({ ...row }, { use_count: 2, used: true });
  // Narrowing, and what cannot be asked for (a second token: each has 5 exchanges a minute).
  const pat2 = (await createPat(await userJwt(user), { scopes: ["data:read", "data:write"] })).token;
  const narrow = await exchange(pat2, { scope: "data:read" });
  assert.equal(narrow.status, 200);
  assert.equal(narrow.json.scope, "data:read");
  assert.equal((await jwtVerify(narrow.json.access_token, projectJwks())).payload.scope, "data:read");
  const wide = await exchange(pat2, { scope: "data:read storage:read" });
  assert.deepEqual([wide.status, wide.json.error], [400, "invalid_scope"]);
  const target = await exchange(pat2, { audience: "https://elsewhere.example" });
  assert.deepEqual([target.status, target.json.error], [400, "invalid_target"]);
  const ok = await exchange(pat2, { audience: "authenticated", resource: `${FAKES}/rest/v1` });
  assert.equal(ok.status, 200);
  const jwtType = await exchange(pat2, { requested_token_type: "urn:ietf:params:oauth:token-type:jwt" });
  assert.equal(jwtType.json.issued_token_type, "urn:ietf:params:oauth:token-type:jwt");
});

Deno.test(`[${RUNTIME}] the exchange refuses bad requests and tokens with RFC 6749 errors`, async () => {
  const user = await newUser();
  const pat = (await createPat(await userJwt(user))).token;
  const typo = pat.slice(0, -1) + (pat.endsWith("A") ? "B" : "A");
  const cases: [Record<string, string>, number, string, RegExp?][] = [
    [{ subject_token: typo }, 400, "invalid_request", /not valid/],
    [{ subject_token: "ghp_" + pat.slice(9) }, 400, "invalid_request", /not valid/],
    [
      {
        subject_token: `${PREFIX}_${"a".repeat(30)}${
          base62(crc32(new TextEncoder().encode("a".repeat(30))), 6)
        }`,
      },
      400,
      "invalid_request",
      /not valid/,
    ],
    [{ grant_type: "password" }, 400, "unsupported_grant_type"],
    [{ subject_token_type: "urn:ietf:params:oauth:token-type:saml2" }, 400, "invalid_request"],
    [{ actor_token: "x", actor_token_type: PAT_TYPE }, 400, "invalid_request"],
  ];
  for (const [extra, status, error, description] of cases) {
    const r = await exchange(pat, extra);
    assert.equal(r.status, status, JSON.stringify(extra));
    assert.equal(r.json.error, error, JSON.stringify(extra));
    assert.match(r.json.error_description, /^[ !#-[\]-~]+$/, "printable ASCII without quote or backslash");
    if (description) assert.match(r.json.error_description, description);
  }
  const repeated = await fetch(`${BASE}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: `grant_type=${GRANT}&subject_token=${pat}&subject_token=${pat}&subject_token_type=${PAT_TYPE}`,
  });
  assert.equal(repeated.status, 400);
  assert.equal((await repeated.json()).error, "invalid_request");
  const json = await fetch(`${BASE}/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ grant_type: GRANT, subject_token: pat }),
  });
  assert.equal(json.status, 400);
  await json.body?.cancel();
  const [row] = await admin`select use_count::int from portcullis.pat_tokens where user_id = ${user}`;
  assert.equal(row.use_count, 0, "refused requests are not usage");
});

Deno.test(`[${RUNTIME}] revoked, expired, banned, deleted and off-list tokens exchange to nothing`, async () => {
  const user = await newUser();
  const jwt = await userJwt(user);
  const revoked = await createPat(jwt);
  const r = await api("DELETE", `/tokens/${revoked.id}`, { jwt });
  assert.equal(r.status, 204);
  assert.equal((await api("DELETE", `/tokens/${revoked.id}`, { jwt })).status, 204, "idempotent");
  let e = await exchange(revoked.token);
  assert.deepEqual([e.status, e.json.error], [400, "invalid_request"]);
  assert.match(e.json.error_description, /revoked/);

  const expired = await createPat(jwt, { expires_in: 120 });
  await admin`update portcullis.pat_tokens set expires_at = now() - interval '1 second' where id = ${expired.id}`;
  e = await exchange(expired.token);
  assert.match(e.json.error_description, /expired/);

  const listed = await createPat(jwt, { allowed_ips: ["203.0.113.0/24", "2001:db8::/32"] });
  e = await exchange(listed.token, {}, { "x-forwarded-for": "198.51.100.7" });
  assert.match(e.json.error_description ?? "", /address/);
  // The rightmost entry is the one the nearest proxy added; a client cannot prepend its way in.
  e = await exchange(listed.token, {}, { "x-forwarded-for": "203.0.113.77, 198.51.100.7" });
  assert.match(e.json.error_description ?? "", /address/, "a forged leftmost entry is ignored");
  e = await exchange(listed.token, {}, { "x-forwarded-for": "198.51.100.7, 203.0.113.77" });
  assert.equal(e.status, 200, JSON.stringify(e.json));
  e = await exchange(listed.token, {}, { "x-forwarded-for": "2001:db8:7::1" });
  assert.equal(e.status, 200);
  const [ip] =
    await admin`select host(last_used_ip) as ip from portcullis.pat_tokens where id = ${listed.id}`;
  assert.equal(ip.ip, "2001:db8:7::1");

  const live = await createPat(jwt);
  await admin`update auth.users set banned_until = now() + interval '1 day' where id = ${user}`;
  e = await exchange(live.token);
  assert.match(e.json.error_description, /owner/);
  await admin`update auth.users set banned_until = null where id = ${user}`;
  assert.equal((await exchange(live.token)).status, 200);
  await admin`delete from auth.users where id = ${user}`;
  e = await exchange(live.token);
  assert.deepEqual([e.status, e.json.error], [400, "invalid_request"]);
  const [{ n }] = await admin`select count(*)::int as n from portcullis.pat_tokens where user_id = ${user}`;
  assert.equal(n, 0, "a deleted user's tokens go with them");
});

Deno.test(`[${RUNTIME}] retention deletes tokens revoked or expired beyond retention_days, and old events`, async () => {
  const user = await newUser();
  const jwt = await userJwt(user);
  const live = await createPat(jwt);
  const [oldRevoked, recentRevoked, oldExpired] = [
    await createPat(jwt),
    await createPat(jwt),
    await createPat(jwt),
  ];
  for (const p of [oldRevoked, recentRevoked]) await api("DELETE", `/tokens/${p.id}`, { jwt });
  await admin`update portcullis.pat_tokens set revoked_at = now() - interval '91 days' where id = ${oldRevoked.id}`;
  await admin`update portcullis.pat_tokens set expires_at = now() - interval '91 days' where id = ${oldExpired.id}`;
  await admin`update portcullis.pat_events set created_at = now() - interval '91 days'
    where token_id = ${oldRevoked.id}`;
  // As the function calls it: its own role, one statement.
  const deleted = await admin.begin(async (tx: any) => {
    await tx.unsafe("set local role portcullis_fn");
    const [{ n }] = await tx`select portcullis.pat_retention(90) as n`;
    return n;
  });
  assert.ok(deleted >= 3, `two tokens and their old events at least, got ${deleted}`);
  const left = await admin`select id from portcullis.pat_tokens where user_id = ${user} order by created_at`;
  assert.deepEqual(left.map((r: any) => r.id).sort(), [live.id, recentRevoked.id].sort());
  const [{ old }] = await admin`select count(*)::int as old from portcullis.pat_events
    where token_id = ${oldRevoked.id}`;
  assert.equal(old, 0);
  const [{ recent }] = await admin`select count(*)::int as recent from portcullis.pat_events
    where token_id = ${recentRevoked.id}`;
  assert.ok(recent > 0, "recent events stay");
  // A deleted token's hash is unknown now: refused as such, and the live one still works.
  const gone = await exchange(oldRevoked.token);
  assert.equal(gone.status, 400);
  assert.doesNotMatch(gone.json.error_description, /revoked/, "deleted, not merely revoked");
  assert.equal((await exchange(live.token)).status, 200);
});

Deno.test(`[${RUNTIME}] the rate limit is exact under concurrency and answers 429 with Retry-After`, async () => {
  const user = await newUser();
  const pat = await createPat(await userJwt(user));
  const results = await Promise.all(Array.from({ length: 12 }, () => exchange(pat.token)));
  const statuses = results.map((r) => r.status).sort();
  assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429, 429, 429, 429, 429, 429]);
  const limited = results.find((r) => r.status === 429)!;
  const retry = Number(limited.headers.get("retry-after"));
  assert.ok(retry >= 1 && retry <= 60, `Retry-After ${retry}`);
  const [row] = await admin`select use_count::int from portcullis.pat_tokens where id = ${pat.id}`;
  assert.equal(row.use_count, 5, "every allowed exchange counted, none lost");
});

Deno.test(`[${RUNTIME}] rotation: a new token, the old one valid for the overlap only`, async () => {
  const user = await newUser();
  const jwt = await userJwt(user);
  const old = await createPat(jwt, { name: "ci", scopes: ["data:write"], allowed_ips: ["0.0.0.0/0"] });
  // An overlap shorter than the exchange's 15 minutes: what the old token mints ends with it.
  const r = await api("POST", `/tokens/${old.id}/rotate`, { jwt, body: { overlap_seconds: 120 } });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.notEqual(r.json.token, old.token);
  assert.equal(r.json.name, "ci");
  assert.deepEqual(r.json.scopes, ["data:write"]);
  assert.deepEqual(r.json.allowed_ips, ["0.0.0.0/0"]);
  assert.equal(r.json.replaces.id, old.id);
  const headers = { "x-forwarded-for": "192.0.2.1" };
  const during = await exchange(old.token, {}, headers);
  assert.equal(during.status, 200, "still valid in the overlap");
  const overlapEnd = Math.floor(Date.parse(r.json.replaces.valid_until) / 1000);
  const minted = (await jwtVerify(during.json.access_token, projectJwks())).payload;
  assert.ok(minted.exp! <= overlapEnd + 1, "nothing minted from it outlives the overlap");
  assert.ok(during.json.expires_in <= 121, `expires_in ${during.json.expires_in}`);
  assert.equal((await exchange(r.json.token, {}, headers)).status, 200);
  const again = await api("POST", `/tokens/${old.id}/rotate`, { jwt, body: {} });
  assert.deepEqual([again.status, again.json.error], [409, "token_not_active"]);
  const list = await api("GET", "/tokens", { jwt });
  const states = Object.fromEntries(list.json.tokens.map((t: any) => [t.id, t.status]));
  assert.deepEqual(states, { [old.id]: "rotating", [r.json.id]: "active" });
  // Revoking during the overlap ends it now; overlap 0 ends it at once.
  assert.equal((await api("DELETE", `/tokens/${old.id}`, { jwt })).status, 204);
  assert.equal((await exchange(old.token, {}, headers)).status, 400);
  const now = await api("POST", `/tokens/${r.json.id}/rotate`, { jwt });
  assert.equal(now.status, 200);
  assert.equal((await exchange(r.json.token, {}, headers)).status, 400);
  const tooLong = await api("POST", `/tokens/${now.json.id}/rotate`, {
    jwt,
    body: { overlap_seconds: 90000 },
  });
  assert.equal(tooLong.status, 400);
});

Deno.test(`[${RUNTIME}] one user cannot see, rotate or revoke another's tokens (404, no enumeration)`, async () => {
  const ada = await newUser();
  const bob = await newUser();
  const mine = await createPat(await userJwt(ada));
  const bobJwt = await userJwt(bob);
  for (const [method, path] of [["DELETE", `/tokens/${mine.id}`], ["POST", `/tokens/${mine.id}/rotate`]]) {
    const r = await api(method, path, { jwt: bobJwt });
    assert.deepEqual([r.status, r.json.error], [404, "token_not_found"], `${method} ${path}`);
    const unknown = await api(method, path.replace(mine.id, crypto.randomUUID()), { jwt: bobJwt });
    assert.deepEqual([unknown.status, unknown.json], [404, r.json], "the same answer as an unknown id");
  }
  assert.deepEqual((await api("GET", "/tokens", { jwt: bobJwt })).json.tokens, []);
  assert.equal((await exchange(mine.token)).status, 200, "untouched");
});

Deno.test(`[${RUNTIME}] management needs a signed-in user's own session, not a PAT's token`, async () => {
  const user = await newUser();
  const pat = await createPat(await userJwt(user));
  const exchanged = (await exchange(pat.token)).json.access_token;
  const r = await api("GET", "/tokens", { jwt: exchanged });
  assert.equal(r.status, 403);
  assert.equal(r.json.error, "insufficient_scope");
  assert.match(r.headers.get("www-authenticate") ?? "", /^Bearer error="insufficient_scope"/);
  const none = await api("GET", "/tokens");
  assert.equal(none.status, 401);
  assert.equal(none.headers.get("www-authenticate"), "Bearer");
  assertInvalidToken(
    await api("GET", "/tokens", { jwt: await userJwt(user, { claims: { role: "anon" } }) }),
    "anon",
  );
  assertInvalidToken(
    await api("GET", "/tokens", { jwt: await userJwt(user, { claims: { role: "service_role" } }) }),
    "service_role",
  );
  assertInvalidToken(await api("GET", "/tokens", { jwt: await userJwt("not-a-uuid") }), "sub not a UUID");
});

Deno.test(`[${RUNTIME}] a standby key published before a rotation is picked up at once; random kids are not fetched for`, async () => {
  const user = await newUser();
  assert.equal((await api("GET", "/tokens", { jwt: await userJwt(user) })).status, 200);
  const before = await jwksFetches();
  published.push(await publicJwk(standby, "ES256"));
  await publish(published);
  const now = Math.floor(Date.now() / 1000);
  const rotated = await new SignJWT({
    iss: ISSUER,
    sub: user,
    aud: "authenticated",
    role: "authenticated",
    exp: now + 600,
    iat: now,
  }).setProtectedHeader({ alg: "ES256", kid: standby.kid }).sign(standby.privateKey);
  assert.equal(
    (await api("GET", "/tokens", { jwt: rotated })).status,
    200,
    "unknown kid: one refetch, accepted",
  );
  assert.equal(await jwksFetches(), before + 1);
  for (let i = 0; i < 5; i++) {
    const random = await userJwt(user, { header: { kid: `random-${i}` } });
    assertInvalidToken(await api("GET", "/tokens", { jwt: random }), "unknown kid");
  }
  assert.equal(await jwksFetches(), before + 1, "at most one refetch per 30 s");
  // The endpoint goes down: cached keys keep working, unknown ones are refused, never a 5xx.
  await publish(published, "down");
  assert.equal((await api("GET", "/tokens", { jwt: await userJwt(user, { alg: "RS256" }) })).status, 200);
  assertInvalidToken(
    await api("GET", "/tokens", { jwt: await userJwt(user, { header: { kid: "x" } }) }),
    "down",
  );
  await publish(published, "ok");
});

function segments(t: string): string[] {
  return t.split(".");
}
function b64json(v: unknown): string {
  return base64url.encode(typeof v === "string" ? v : JSON.stringify(v));
}
async function hmac(input: string, key: Uint8Array<ArrayBuffer>): Promise<string> {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return base64url.encode(
    new Uint8Array(await crypto.subtle.sign("HMAC", k, new TextEncoder().encode(input))),
  );
}
async function esSign(input: string): Promise<Uint8Array> {
  return new Uint8Array(
    await crypto.subtle.sign(
      { name: "ECDSA", hash: "SHA-256" },
      keys.ES256.privateKey,
      new TextEncoder().encode(input),
    ),
  );
}
function der(raw: Uint8Array): Uint8Array {
  const int = (b: Uint8Array) => {
    let v = Array.from(b);
    while (v.length > 1 && v[0] === 0 && v[1] < 0x80) v = v.slice(1);
    if (v[0] >= 0x80) v = [0, ...v];
    return [2, v.length, ...v];
  };
  const body = [...int(raw.slice(0, 32)), ...int(raw.slice(32))];
  return new Uint8Array([0x30, body.length, ...body]);
}

Deno.test(`[${RUNTIME}] the refusal list of spec section 1: 401 invalid_token, never a 5xx`, async () => {
  const user = await newUser();
  const now = Math.floor(Date.now() / 1000);
  const good = {
    iss: ISSUER,
    sub: user,
    aud: "authenticated",
    role: "authenticated",
    exp: now + 600,
    iat: now,
  };
  const es = async (header: unknown, payload: unknown) => {
    const input = `${b64json(header)}.${b64json(payload)}`;
    return `${input}.${base64url.encode(await esSign(input))}`;
  };
  const hs = async (header: unknown, payload: unknown, key = JWT_SECRET) => {
    const input = `${b64json(header)}.${b64json(payload)}`;
    return `${input}.${await hmac(input, key)}`;
  };
  const esHeader = { alg: "ES256", kid: keys.ES256.kid };
  const valid = await es(esHeader, good);
  const [h, p, s] = segments(valid);
  const rawSig = base64url.decode(s);
  const publicPem = JSON.stringify(published[0]);
  const cases: [string, string][] = [
    ["alg none", `${b64json({ alg: "none" })}.${p}.`],
    ["alg None", `${b64json({ alg: "None" })}.${p}.`],
    ["RS256 named for an EC key", `${b64json({ alg: "RS256", kid: keys.ES256.kid })}.${p}.${s}`],
    [
      "HMAC keyed with the public key",
      await hs({ alg: "HS256", kid: keys.ES256.kid }, good, new TextEncoder().encode(publicPem)),
    ],
    ["unknown kid", await es({ alg: "ES256", kid: "never-published" }, good)],
    ["crit", await es({ ...esHeader, crit: ["exp"] }, good)],
    ["b64", await es({ ...esHeader, b64: false }, good)],
    ["embedded jwk", await es({ ...esHeader, jwk: published[0] }, good)],
    ["jku", await es({ ...esHeader, jku: "https://evil.example/jwks.json" }, good)],
    ["x5u", await es({ ...esHeader, x5u: "https://evil.example/cert.pem" }, good)],
    ["x5c", await es({ ...esHeader, x5c: ["MIIB"] }, good)],
    ["duplicate header member", await es(`{"alg":"ES256","kid":"${keys.ES256.kid}","alg":"ES256"}`, good)],
    ["padding", `${h}.${p}.${s}==`],
    ["standard alphabet", `${h}.${p}.${s.slice(0, -1)}+`],
    ["slash", `${h}.${p.slice(0, -1)}/.${s}`],
    ["whitespace", `${h}. ${p}.${s}`],
    ["two segments", `${h}.${p}`],
    ["four segments", `${valid}.${s}`],
    ["header an array", await es(["ES256"], good)],
    ["payload not an object", await es(esHeader, "[1,2]")],
    ["DER signature", `${h}.${p}.${base64url.encode(der(rawSig))}`],
    ["short signature", `${h}.${p}.${base64url.encode(rawSig.slice(1))}`],
    ["wrong signature", `${h}.${p}.${base64url.encode(new Uint8Array(64).fill(7))}`],
    ["no exp", await es(esHeader, { ...good, exp: undefined })],
    ["fractional exp", await es(esHeader, { ...good, exp: now + 600.5 })],
    ["string exp", await es(esHeader, { ...good, exp: String(now + 600) })],
    ["expired 31 s ago", await es(esHeader, { ...good, exp: now - 31 })],
    ["nbf in the future", await es(esHeader, { ...good, nbf: now + 120 })],
    ["iat in the future", await es(esHeader, { ...good, iat: now + 120 })],
    ["other issuer", await es(esHeader, { ...good, iss: "https://other.supabase.co/auth/v1" })],
    ["no aud", await es(esHeader, { ...good, aud: undefined })],
    ["aud without ours", await es(esHeader, { ...good, aud: ["storage"] })],
    ["over 8 KiB", await es(esHeader, { ...good, pad: "x".repeat(8300) })],
    [
      "HS256 with the wrong secret",
      await hs({ alg: "HS256" }, good, new TextEncoder().encode("x".repeat(40))),
    ],
  ];
  const failures: string[] = [];
  for (const [why, token] of cases) {
    const r = await api("GET", "/tokens", { jwt: token });
    const challenge = r.headers.get("www-authenticate") ?? "";
    if (r.status !== 401 || !challenge.startsWith('Bearer error="invalid_token"')) {
      failures.push(`${why}: ${r.status} ${challenge} ${JSON.stringify(r.json)}`);
    }
  }
  assert.deepEqual(failures, []);
  // Controls: what jose signs with every algorithm GoTrue uses is accepted, as is an HS256
  // token with a hosted-style kid the JWKS never lists, and skew within 30 s.
  for (const alg of ["ES256", "RS256", "EdDSA", "HS256"] as Alg[]) {
    assert.equal((await api("GET", "/tokens", { jwt: await userJwt(user, { alg }) })).status, 200, alg);
  }
  const hosted = await userJwt(user, { alg: "HS256", header: { kid: "WFfTACHsaHoCuL/S" } });
  assert.equal((await api("GET", "/tokens", { jwt: hosted })).status, 200);
  assert.equal(
    (await api("GET", "/tokens", { jwt: await es(esHeader, { ...good, exp: now - 20 }) })).status,
    200,
  );
  assert.equal(
    (await api("GET", "/tokens", { jwt: await es(esHeader, { ...good, aud: ["x", "authenticated"] }) }))
      .status,
    200,
  );
});

Deno.test(`[${RUNTIME}] introspection (RFC 7662) for a backend holding the secret`, async () => {
  const user = await newUser();
  const jwt = await userJwt(user);
  const pat = await createPat(jwt, { scopes: ["storage:read"] });
  const introspect = (token: string, secret = INTROSPECTION) =>
    fetch(`${BASE}/introspect`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token }).toString(),
    });
  const r = await introspect(pat.token);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("cache-control"), "no-store");
  const body = await r.json();
  assert.equal(body.active, true);
  assert.equal(body.sub, user);
  assert.equal(body.scope, "storage:read");
  assert.equal(body.pat_id, pat.id);
  assert.equal(body.name, "ci");
  assert.ok(Number.isInteger(body.exp) && Number.isInteger(body.iat));
  const wrong = await introspect(pat.token, "x".repeat(46));
  assert.equal(wrong.status, 401);
  assert.equal((await wrong.json()).error, "invalid_client");
  assert.deepEqual(await (await introspect("garbage")).json(), { active: false });
  await api("DELETE", `/tokens/${pat.id}`, { jwt });
  assert.deepEqual(await (await introspect(pat.token)).json(), { active: false });
  const [row] = await admin`select use_count::int from portcullis.pat_tokens where id = ${pat.id}`;
  assert.equal(row.use_count, 0, "introspection is not usage");
});

Deno.test(`[${RUNTIME}] browsers: CORS for the configured origin only`, async () => {
  const pre = (origin: string) =>
    fetch(`${BASE}/tokens`, {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization",
      },
    });
  const ok = await pre("https://app.example.com");
  assert.equal(ok.status, 204);
  assert.equal(ok.headers.get("access-control-allow-origin"), "https://app.example.com");
  assert.match(ok.headers.get("vary") ?? "", /origin/i);
  assert.match(ok.headers.get("access-control-allow-headers") ?? "", /authorization/);
  await ok.body?.cancel();
  const evil = await pre("https://evil.example");
  assert.equal(evil.status, 403);
  await evil.body?.cancel();
  const user = await newUser();
  const r = await api("GET", "/tokens", {
    jwt: await userJwt(user),
    headers: { origin: "https://app.example.com" },
  });
  assert.equal(r.headers.get("access-control-allow-origin"), "https://app.example.com");
  const other = await api("GET", "/tokens", {
    jwt: await userJwt(user),
    headers: { origin: "https://evil.example" },
  });
  assert.equal(other.headers.get("access-control-allow-origin"), null);
  assert.match(other.headers.get("vary") ?? "", /origin/i, "the answer varies by origin either way");
});

Deno.test(`[${RUNTIME}] RLS as the owner: what PostgREST does with the minted token reads exactly the owner's rows`, async () => {
  await admin.unsafe(`
    create table if not exists public.pat_notes (id bigint generated always as identity primary key,
      owner uuid not null default auth.uid(), body text not null);
    alter table public.pat_notes enable row level security;
    do $$ begin
      if not exists (select 1 from pg_policies where tablename = 'pat_notes' and policyname = 'owner') then
        create policy owner on public.pat_notes for all to authenticated
          using (owner = auth.uid()) with check (owner = auth.uid());
      end if;
    end $$;
    grant select, insert on public.pat_notes to authenticated;`);
  const ada = await newUser();
  const bob = await newUser();
  await admin`insert into public.pat_notes (owner, body) values (${ada}, 'ada 1'), (${ada}, 'ada 2'), (${bob}, 'bob 1')`;
  const adaPat = await createPat(await userJwt(ada), { scopes: ["data:read", "data:write"] });
  const bobPat = await createPat(await userJwt(bob));
  // As PostgREST: the key with the token's kid only, 30 s skew, aud checked when configured,
  // then `set local role` from the role claim and request.jwt.claims for auth.uid()/auth.jwt().
  const asPostgrest = async (jwt: string, sql: (tx: any) => Promise<any>) => {
    const { payload } = await jwtVerify(jwt, projectJwks(), {
      audience: "authenticated",
      clockTolerance: 30,
    });
    return await admin.begin(async (tx: any) => {
      const role = payload.role as string;
      assert.ok(["anon", "authenticated"].includes(role), `role ${role}`);
      await tx.unsafe(`set local role ${role}`);
      await tx`select set_config('request.jwt.claims', ${JSON.stringify(payload)}, true)`;
      return await sql(tx);
    });
  };
  const adaJwt = (await exchange(adaPat.token)).json.access_token;
  const rows = await asPostgrest(adaJwt, (tx) => tx`select body from public.pat_notes order by body`);
  assert.deepEqual(rows.map((r: any) => r.body), ["ada 1", "ada 2"]);
  const claims = await asPostgrest(
    adaJwt,
    (tx) => tx`select auth.uid()::text as uid, auth.jwt() ->> 'pat_id' as pat`,
  );
  assert.deepEqual({ ...claims[0] }, { uid: ada, pat: adaPat.id });
  await asPostgrest(adaJwt, (tx) => tx`insert into public.pat_notes (body) values ('ada 3')`);
  const bobJwt = (await exchange(bobPat.token)).json.access_token;
  const bobRows = await asPostgrest(bobJwt, (tx) => tx`select body, owner::text from public.pat_notes`);
  assert.deepEqual(bobRows.map((r: any) => r.body), ["bob 1"]);
  await assert.rejects(
    asPostgrest(bobJwt, (tx) => tx`insert into public.pat_notes (owner, body) values (${ada}, 'forged')`),
    /row-level security/,
  );
  await api("DELETE", `/tokens/${adaPat.id}`, { jwt: await userJwt(ada) });
  const refused = await exchange(adaPat.token);
  assert.equal(refused.status, 400);
  assert.equal(refused.json.access_token, undefined, "a revoked PAT exchanges to nothing");
});

Deno.test(`[${RUNTIME}] GitHub secret scanning: a leaked token is revoked, recorded, its owner's e-mail queued`, async () => {
  // GitHub's key, served by the fake key endpoint; reports are signed as GitHub signs them.
  const gh = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", gh.publicKey));
  const b64 = (b: Uint8Array) => btoa(String.fromCharCode(...b));
  const pem = `-----BEGIN PUBLIC KEY-----\n${
    b64(spki).replace(/(.{64})/g, "$1\n")
  }\n-----END PUBLIC KEY-----\n`;
  const keyId = `gh-${run}`;
  const r0 = await fetch(`${FAKES}/_control/github-keys`, {
    method: "PUT",
    body: JSON.stringify({ public_keys: [{ key_identifier: keyId, key: pem, is_current: true }] }),
  });
  await r0.body?.cancel();
  const report = async (items: unknown[], opts: { id?: string; tamper?: boolean } = {}) => {
    const body = JSON.stringify(items);
    const raw = new Uint8Array(
      await crypto.subtle.sign(
        { name: "ECDSA", hash: "SHA-256" },
        gh.privateKey,
        new TextEncoder().encode(body),
      ),
    );
    const signed = opts.tamper ? body.replace("commit", "c0mmit") : body;
    const r = await fetch(`${BASE}/github/secret-scanning`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "github-public-key-identifier": opts.id ?? keyId,
        "github-public-key-signature": b64(der(raw)),
      },
      body: signed,
    });
    return { status: r.status, json: await r.json() };
  };
  const user = await newUser();
  const jwt = await userJwt(user);
  const live = await createPat(jwt, { name: "laptop" });
  const revoked = await createPat(jwt);
  await api("DELETE", `/tokens/${revoked.id}`, { jwt });
  const unknown = `${PREFIX}_${"b".repeat(30)}${base62(crc32(new TextEncoder().encode("b".repeat(30))), 6)}`;
  const url = "https://github.com/acme/app/blob/0a1b2c/.env?plain=1&x=<y>";
  const items = [
    { token: live.token, type: "acme_pat", url, source: "commit" },
    { token: revoked.token, type: "acme_pat", url: "", source: "gist" },
    { token: unknown, type: "acme_pat", url, source: "commit" },
    { token: "ghp_notours", type: "acme_pat", url, source: "commit" },
  ];
  const unsigned = await fetch(`${BASE}/github/secret-scanning`, { method: "POST", body: "[]" });
  assert.equal(unsigned.status, 400);
  await unsigned.body?.cancel();
  assert.equal((await report(items, { tamper: true })).status, 400, "a bad signature is refused");
  assert.equal((await report(items, { id: "not-a-key" })).status, 400, "an unknown key is refused");
  assert.equal((await exchange(live.token)).status, 200, "nothing happened before a valid report");
  const r = await report(items);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const sha = async (t: string) =>
    Array.from(
      new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(t))),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
  assert.deepEqual(r.json, [
    { token_hash: await sha(live.token), token_type: "acme_pat", label: "true_positive" },
    { token_hash: await sha(revoked.token), token_type: "acme_pat", label: "true_positive" },
    { token_hash: await sha(unknown), token_type: "acme_pat", label: "false_positive" },
    { token_hash: await sha("ghp_notours"), token_type: "acme_pat", label: "false_positive" },
  ]);
  const e = await exchange(live.token);
  assert.deepEqual([e.status, e.json.error], [400, "invalid_request"]);
  const list = (await api("GET", "/tokens", { jwt })).json.tokens;
  assert.equal(list.find((t: any) => t.id === live.id).revoked_reason, "leaked");
  const events =
    await admin`select kind, detail from portcullis.pat_events where token_id = ${live.id} order by id`;
  assert.deepEqual(events.map((x: any) => x.kind), ["created", "leaked"]);
  assert.equal(events[1].detail.url, url);
  const mails =
    await admin`select recipient, status, delivery, subject, html, text from portcullis.email_outbox
    where user_id = ${user} and email_type = 'pat_leaked'`;
  assert.equal(mails.length, 1, "one message per token, however often GitHub reports it");
  const [mail] = mails;
  assert.equal(mail.recipient, `${user.slice(0, 8)}@example.com`);
  assert.deepEqual([mail.status, mail.delivery], ["queued", "outbox"]);
  assert.match(mail.subject, new RegExp(live.hint));
  assert.ok(mail.html.includes("&amp;x=&lt;y&gt;") && !mail.html.includes("<y>"));
  assert.ok(!mail.html.includes(live.token) && !mail.text.includes(live.token), "never the token itself");
  // GitHub resends: still one e-mail, still labelled.
  const again = await report(items.slice(0, 1));
  assert.equal(again.json[0].label, "true_positive");
  const [{ n }] = await admin`select count(*)::int as n from portcullis.email_outbox
    where user_id = ${user} and email_type = 'pat_leaked'`;
  assert.equal(n, 1);
});

Deno.test({
  name: `[${RUNTIME}] close the admin connection`,
  sanitizeResources: false,
  fn: async () => {
    await admin.end();
  },
});
