// deno-lint-ignore-file no-explicit-any -- hook answers are arbitrary JSON
// Black-box conformance suite for the hooks function, run against any base URL: the harness
// runs it against the Deno-served Supabase build and the workerd-served Cloudflare build, both
// on a real PostgreSQL. The servers run tests/fixtures/hooks-policy.json.
import { Ajv } from "ajv";
import postgres from "postgres";
import schema from "./schemas/gotrue-access-token.schema.json" with { type: "json" };
import {
  accessTokenPayload,
  assert,
  assertEquals,
  assertMatch,
  BASE_URL,
  call,
  goJson,
  post,
  required,
  RUNTIME,
  SECRETS,
  sign,
  type Signed,
  SIGNUP_SECRET,
  signupPayload,
  uuid,
} from "./support.ts";

const validateClaims = new Ajv({ strict: false }).compile(schema);
const admin = postgres(required("PORTCULLIS_ADMIN_DB_URL"), { max: 2, onnotice: () => {} });
const T = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name: `[${RUNTIME}] ${name}`, fn, sanitizeResources: false, sanitizeOps: false });

/** A user with extra claims, as an operator would store them (auth.users exists first). */
async function userWithClaims(claims: postgres.JSONValue): Promise<string> {
  const userId = uuid();
  await admin`insert into auth.users (id, email) values (${userId}, ${userId + "@example.com"})`;
  await admin`insert into portcullis.user_claims (user_id, claims) values (${userId}, ${admin.json(claims)})`;
  return userId;
}

function assertSchema(claims: unknown) {
  if (!validateClaims(claims)) {
    throw new Error(`claims fail GoTrue's schema: ${JSON.stringify(validateClaims.errors)}`);
  }
}

function assertHookError(r: { status: number; type: string; json: any }, httpCode: number, message?: string) {
  assertEquals(r.status, 200, "refusals are error objects on a 200 (spec section 2)");
  assertMatch(r.type, /^application\/json/);
  assertEquals(r.json.error.http_code, httpCode);
  assert(typeof r.json.error.message === "string" && r.json.error.message.length > 0);
  if (message) assertEquals(r.json.error.message, message);
}

// ---- custom access token ----

T("custom access token: policy, lookup row and GoTrue schema", async () => {
  const userId = await userWithClaims({ plan: "team", sub: "someone-else", tier: 2 });
  const payload = accessTokenPayload({
    userId,
    app: { provider: "email", providers: ["email", "google"], role: "admin", org_id: "org_42" },
    user: { locale: "de", name: "<b>Ada</b>" },
  });
  const r = await call("/custom-access-token", sign(JSON.stringify(payload)));
  assertEquals(r.status, 200);
  assertMatch(r.type, /^application\/json/);
  const c = r.json.claims;
  assertSchema(c);
  const input = (payload as any).claims;
  assertEquals(c.sub, userId, "lookup rows cannot override reserved claims");
  assertEquals([c.exp, c.iat, c.session_id, c.aud], [input.exp, input.iat, input.session_id, input.aud]);
  assertEquals(c.org_id, "org_42");
  assertEquals(c.locale, "de");
  assertEquals(c.plan, "team");
  assertEquals(c.tier, 2, "lookup claims merge");
  assertEquals(c.portcullis, true);
  assertEquals(c.role, "app_admin");
  assertEquals(c.user_role, "admin");
  assertEquals(c.app_metadata, { provider: "email", role: "admin", org_id: "org_42" }, "providers dropped");
  assertEquals(c.user_metadata, { locale: "de", name: "<b>Ada</b>" });
});

T("custom access token: aud as string or array, amr kept, no lookup row", async () => {
  for (const aud of ["authenticated", ["authenticated", "https://api.example.com"]]) {
    const payload = accessTokenPayload({ aud });
    const r = await call("/custom-access-token", sign(JSON.stringify(payload)));
    assertEquals(r.status, 200);
    assertSchema(r.json.claims);
    assertEquals(r.json.claims.aud, aud);
    assertEquals(r.json.claims.amr, (payload as any).claims.amr);
    assertEquals(r.json.claims.plan, undefined);
    assertEquals(r.json.claims.role, "authenticated", "no mapped role: GoTrue's stays");
    assertEquals(r.json.claims.locale, "en", "copy default");
  }
});

T("custom access token: per-method rules", async () => {
  const anon = await call(
    "/custom-access-token",
    sign(JSON.stringify(accessTokenPayload({ method: "anonymous", user: { locale: "fr" } }))),
  );
  assertEquals(anon.status, 200);
  assertSchema(anon.json.claims);
  assertEquals(anon.json.claims.guest, true);
  assertEquals(anon.json.claims.user_metadata, undefined);
  assertEquals(anon.json.claims.locale, "fr");

  const saml = await call(
    "/custom-access-token",
    sign(JSON.stringify(accessTokenPayload({ method: "sso/saml" }))),
  );
  assertHookError(saml, 403, "Single sign-on users must sign in through their company portal.");
});

T("custom access token: claims GoTrue would refuse are an error object, not a forwarded 500", async () => {
  const r = await call(
    "/custom-access-token",
    sign(JSON.stringify(accessTokenPayload({ omit: ["session_id"] }))),
  );
  assertHookError(r, 500);
});

T("custom access token: Go-escaped bodies verify over the raw bytes", async () => {
  const payload = accessTokenPayload({ user: { bio: "<script>alert('&')</script>" } });
  const r = await call("/custom-access-token", sign(goJson(payload)));
  assertEquals(r.status, 200);
  assertEquals(r.json.claims.user_metadata.bio, "<script>alert('&')</script>");
});

T("custom access token: concurrent requests through the database", async () => {
  const userId = await userWithClaims({ plan: "pro" });
  const results = await Promise.all(
    Array.from(
      { length: 40 },
      () => call("/custom-access-token", sign(JSON.stringify(accessTokenPayload({ userId })))),
    ),
  );
  for (const r of results) {
    assertEquals(r.status, 200);
    assertEquals(r.json.claims.plan, "pro");
  }
});

// ---- before user created ----

const SIGNUP = (o: Parameters<typeof signupPayload>[0]) =>
  sign(JSON.stringify(signupPayload(o)), { secret: SIGNUP_SECRET });

T("before user created: allowed sign-ups get an empty object", async () => {
  for (
    const o of [{ email: "ada@example.com" }, { email: "", provider: "phone" }, {
      email: "ada@sub.example.org",
      provider: "google",
    }]
  ) {
    const r = await call("/before-user-created", SIGNUP(o));
    assertEquals([r.status, r.json], [200, {}], JSON.stringify(o));
    assertMatch(r.type, /^application\/json/);
  }
});

T("before user created: each rule refuses with 403 and its message", async () => {
  const generic = "Sign-ups from this address are not allowed.";
  const cases: [Parameters<typeof signupPayload>[0], string][] = [
    [{ email: "x@blocked.example" }, generic],
    [{ email: "x@eu.blocked.example" }, generic],
    [{ email: "x@mailinator.com" }, "Please use a permanent e-mail address."],
    [{ anonymous: true }, generic],
    [{ email: "ada@example.com", ip: "203.0.113.77" }, generic],
  ];
  for (const [o, message] of cases) {
    assertHookError(await call("/before-user-created", SIGNUP(o)), 403, message);
  }
});

T("before user created: has its own secret", async () => {
  const r = await post(
    "/before-user-created",
    sign(JSON.stringify(signupPayload({ email: "a@example.com" })), { secret: SECRETS[0] }),
  );
  assertEquals(r.status, 401);
  assertEquals((await r.json()).error, "invalid_webhook_signature");
});

// ---- verification (spec section 9) ----

T("verification: forgers get 401 JSON with a precise code", async () => {
  const body = JSON.stringify(accessTokenPayload());
  const good = sign(body);
  const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000);
  const cases: [string, Record<string, string>, string][] = [
    ["no signature", { ...good.headers, "Webhook-Signature": "" }, "missing_webhook_signature"],
    [
      "no id",
      Object.fromEntries(Object.entries(good.headers).filter(([k]) => k !== "Webhook-Id")),
      "missing_webhook_id",
    ],
    [
      "no timestamp",
      Object.fromEntries(Object.entries(good.headers).filter(([k]) => k !== "Webhook-Timestamp")),
      "missing_webhook_timestamp",
    ],
    ["bad timestamp", { ...good.headers, "Webhook-Timestamp": "yesterday" }, "invalid_webhook_timestamp"],
    ["stale", sign(body, { at: minutesAgo(6) }).headers, "webhook_timestamp_too_old"],
    ["future", sign(body, { at: minutesAgo(-6) }).headers, "webhook_timestamp_too_new"],
    [
      "wrong secret",
      sign(body, { secret: "whsec_" + btoa("an-attacker-chosen-secret-of-32b") }).headers,
      "invalid_webhook_signature",
    ],
    ["other id", { ...good.headers, "Webhook-Id": uuid() }, "invalid_webhook_signature"],
  ];
  for (const [name, headers, code] of cases) {
    const r = await fetch(`${BASE_URL}/custom-access-token`, { method: "POST", headers, body });
    assertEquals(r.status, 401, name);
    assertMatch(r.headers.get("content-type") ?? "", /^application\/json/, name);
    assertEquals((await r.json()).error, code, name);
  }
  const tampered = await fetch(`${BASE_URL}/custom-access-token`, {
    method: "POST",
    headers: good.headers,
    body: body.replace("aal1", "aal2"),
  });
  assertEquals(tampered.status, 401, "tampered body");
  await tampered.body?.cancel();
});

T("verification: header forms GoTrue and others send, and secret rotation", async () => {
  const body = JSON.stringify(accessTokenPayload());
  const s = sign(body);
  const sig = s.headers["Webhook-Signature"];
  const bogus = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  for (const header of [`${bogus}, ${sig}`, `${sig},`, `v1a,xyz ${sig}`, `  ${sig}  `]) {
    const r = await post("/custom-access-token", s, { "Webhook-Signature": header });
    assertEquals(r.status, 200, header);
    await r.body?.cancel();
  }
  const rotated = await call("/custom-access-token", sign(body, { secret: SECRETS[1] }));
  assertEquals(rotated.status, 200, "second secret of the rotation list");
});

// ---- routing, limits, response discipline ----

T("routing and limits: 404, 405, 413 as JSON", async () => {
  const s = sign("{}");
  const notFound = await post("/send-telegram", s);
  assertEquals(notFound.status, 404);
  assertEquals((await notFound.json()).error, "not_found");

  const get = await fetch(`${BASE_URL}/custom-access-token`);
  assertEquals(get.status, 405);
  assertEquals(get.headers.get("allow"), "POST");
  assertEquals((await get.json()).error, "method_not_allowed");

  const big = sign(JSON.stringify({ pad: "x".repeat(70_000) }));
  const tooLarge = await post("/custom-access-token", big);
  assertEquals(tooLarge.status, 413);
  assertEquals((await tooLarge.json()).error, "payload_too_large");
});

/** POSTs `body` as a chunked stream: no Content-Length, so the limit is enforced while reading. */
async function postStreamed(path: string, signed: Signed, chunk = 4096): Promise<Response> {
  const bytes = new TextEncoder().encode(signed.body);
  let at = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      if (at >= bytes.length) return c.close();
      c.enqueue(bytes.slice(at, at + chunk));
      at += chunk;
    },
  });
  const headers = { ...signed.headers };
  return await fetch(
    `${BASE_URL}${path}`,
    { method: "POST", headers, body: stream, duplex: "half" } as RequestInit,
  );
}

T(
  "limits: a streamed body without Content-Length is read up to the limit, then refused with 413",
  async () => {
    const small = sign(JSON.stringify(accessTokenPayload()));
    const ok = await postStreamed("/custom-access-token", small, 100);
    assertEquals(ok.status, 200, "a streamed body within the limit is read whole");
    assert("claims" in (await ok.json()), "and verified over every chunk");
    const big = sign(JSON.stringify({ pad: "x".repeat(70_000) }));
    const r = await postStreamed("/custom-access-token", big);
    assertEquals(r.status, 413);
    assertEquals((await r.json()).error, "payload_too_large");
    // Just over the limit (65536) is refused; the limit itself is not the problem.
    const edge = sign("x".repeat(65_537));
    const e = await postStreamed("/custom-access-token", edge, 65_536);
    assertEquals(e.status, 413);
    await e.body?.cancel();
  },
);

T("response discipline: every verified request gets 200 + JSON, never a 4xx", async () => {
  const bodies = [
    JSON.stringify(accessTokenPayload()),
    JSON.stringify({ user_id: uuid() }),
    "[]",
    "not json at all",
    "",
    JSON.stringify(accessTokenPayload({ method: "sso/saml" })),
  ];
  for (const body of bodies) {
    const r = await post("/custom-access-token", sign(body));
    assertEquals(r.status, 200, body.slice(0, 40));
    assertMatch(r.headers.get("content-type") ?? "", /^application\/json/);
    const json = await r.json();
    assert(typeof json === "object" && json !== null);
    assert("claims" in json || (json.error?.http_code >= 400 && json.error?.message), JSON.stringify(json));
  }
});

T("teardown", async () => {
  await admin.end();
});
