// deno-lint-ignore-file no-explicit-any -- API answers are arbitrary JSON
// Black-box suite of the sign function, run against the Deno and the workerd build. The users'
// tokens are signed by `jose` (HS256, the project's legacy secret); the URLs and forms the
// function issues are used for real on SeaweedFS, the S3 server the harness starts
// (PORTCULLIS_TEST_S3_URL). The policy is `suite_policy` in crates/xtask/src/sign.rs; its rules,
// by index: 0 users/{sub}/private/** GET aal2 · 1 users/{sub}/** GET HEAD PUT DELETE, ≤900 s,
// image/* text/plain, ≤4096 B · 2 orgs/{app_metadata.org_id}/** GET PUT text/plain ≤1024 B ·
// 3 public/** GET HEAD, anon and anonymous sign-ins too · 4 scripts/{sub}/** GET, PAT tokens allowed · 5 archive (R2).
import assert from "node:assert/strict";
import { SignJWT } from "jose";

function required(name: string): string {
  const v = Deno.env.get(name);
  if (!v) throw new Error(`${name} must be set (run the suite through \`cargo xtask test\`)`);
  return v;
}

const BASE = required("PORTCULLIS_SIGN_URL").replace(/\/$/, "");
const FAKES = required("PORTCULLIS_FAKES_URL").replace(/\/$/, "");
const S3 = required("PORTCULLIS_TEST_S3_URL").replace(/\/$/, "");
const RUNTIME = Deno.env.get("PORTCULLIS_RUNTIME") ?? "unknown";
const SECRET = new TextEncoder().encode(required("PORTCULLIS_TEST_JWT_SECRET"));
const ORIGIN = "https://app.example.com";

async function jwt(sub: string, claims: Record<string, unknown> = {}, secret = SECRET): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return await new SignJWT({
    role: "authenticated",
    aal: "aal1",
    amr: [{ method: "password", timestamp: now }],
    session_id: crypto.randomUUID(),
    ...claims,
  })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(`${FAKES}/auth/v1`)
    .setAudience("authenticated")
    .setSubject(sub)
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(secret);
}

async function call(
  route: string,
  token: string | null,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const r = await fetch(`${BASE}${route}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: typeof body === "string"
      ? body
      : body instanceof Uint8Array
      ? body as Uint8Array<ArrayBuffer>
      : JSON.stringify(body),
  });
  const text = await r.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch { /* not JSON: kept as text for the assertion message */ }
  return { status: r.status, body: parsed, headers: r.headers };
}

const sign = (token: string | null, body: unknown, headers?: Record<string, string>) =>
  call("/sign", token, body, headers);
const upload = (token: string | null, body: unknown) => call("/upload", token, body);

/** One signed URL, asserted granted. */
async function one(token: string, object: Record<string, unknown>, bucket = "media"): Promise<any> {
  const r = await sign(token, { bucket, objects: [object] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.urls.length, 1);
  return r.body.urls[0];
}

/** The URL used as a client would: the answer's status and body. */
async function use(
  method: string,
  url: string,
  headers: Record<string, string> = {},
  body?: Uint8Array<ArrayBuffer> | string,
): Promise<{ status: number; body: Uint8Array<ArrayBuffer>; headers: Headers }> {
  const r = await fetch(url, { method, headers, body });
  return { status: r.status, body: new Uint8Array(await r.arrayBuffer()), headers: r.headers };
}

const user = crypto.randomUUID();
const token = await jwt(user);
const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test(`[${RUNTIME}] only a signed-in user gets URLs, with precise refusals`, async () => {
  const ask = { bucket: "media", objects: [{ key: "public/a.txt", method: "GET" }] };
  let r = await sign(null, ask);
  assert.equal(r.status, 401);
  assert.equal(r.headers.get("www-authenticate"), "Bearer");
  r = await sign("not.a.jwt", ask);
  assert.equal(r.status, 401);
  assert.equal(r.body.error, "invalid_token");
  r = await sign(await jwt(user, {}, bytes("another-secret-that-is-long-enough-to-be-a-key")), ask);
  assert.equal(r.status, 401, "a token signed with another key");
  const expired = await new SignJWT({ role: "authenticated" })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuer(`${FAKES}/auth/v1`)
    .setAudience("authenticated")
    .setSubject(user)
    .setExpirationTime(Math.floor(Date.now() / 1000) - 120)
    .sign(SECRET);
  r = await sign(expired, ask);
  assert.equal(r.status, 401);
  const get = await fetch(`${BASE}/sign`);
  assert.equal(get.status, 405);
  assert.equal(get.headers.get("allow"), "POST");
  await get.body?.cancel();
  const other = await call("/nope", token, ask);
  assert.equal(other.status, 404);
});

Deno.test(`[${RUNTIME}] URLs we issue work on SeaweedFS: PUT, GET, HEAD, DELETE`, async () => {
  const key = `users/${user}/notes/ä b+c=d&e;f.txt`;
  const content = bytes(`hello from ${RUNTIME}`);
  const put = await one(token, {
    key,
    method: "PUT",
    content_type: "text/plain",
    content_length: content.length,
    expires_in: 900,
  });
  assert.equal(put.key, key);
  assert.equal(put.method, "PUT");
  assert.deepEqual(put.headers, { "content-length": String(content.length), "content-type": "text/plain" });
  assert.ok(put.url.startsWith(`${S3}/media/users/${user}/notes/%C3%A4%20b%2Bc%3Dd%26e%3Bf.txt?`), put.url);
  const now = Math.floor(Date.now() / 1000);
  assert.ok(Math.abs(put.expires_at - (now + 900)) <= 5, `expires_at ${put.expires_at}`);
  assert.ok(!put.url.includes("portcullis-test-secret"), "the secret never appears");
  let s3 = await use("PUT", put.url, { "content-type": "text/plain" }, content);
  assert.equal(s3.status, 200, new TextDecoder().decode(s3.body));

  const get = await one(token, { key, method: "GET" });
  s3 = await use("GET", get.url);
  assert.equal(s3.status, 200);
  assert.deepEqual(s3.body, content);
  const head = await one(token, { key, method: "HEAD" });
  s3 = await use("HEAD", head.url);
  assert.equal(s3.status, 200);
  assert.equal(s3.headers.get("content-length"), String(content.length));

  // Another user's object, for a PUT URL turned into a server-side copy of it.
  const other = crypto.randomUUID();
  const secret = bytes(`secret of ${other}`);
  const theirs = await one(await jwt(other), {
    key: `users/${other}/secret.txt`,
    method: "PUT",
    content_type: "text/plain",
    content_length: secret.length,
  });
  assert.equal((await use("PUT", theirs.url, { "content-type": "text/plain" }, secret)).status, 200);

  // Tampering is refused by the server: another signature, key, method; an expired URL;
  // another content type than the one signed for the PUT; an unsigned copy source (a PUT
  // URL must not read another object: S3 and SeaweedFS refuse unsigned x-amz-* headers).
  const last = get.url.at(-1) === "0" ? "1" : "0";
  for (
    const [what, method, url, headers, body] of [
      ["a tampered signature", "GET", get.url.slice(0, -1) + last, {}, undefined],
      ["another key", "GET", get.url.replace("notes", "n0tes"), {}, undefined],
      ["another method", "DELETE", get.url, {}, undefined],
      ["another content type", "PUT", put.url, { "content-type": "text/html" }, content],
      [
        "a longer body than signed",
        "PUT",
        put.url,
        { "content-type": "text/plain" },
        new Uint8Array([...content, 33]),
      ],
      [
        "a copy of another object",
        "PUT",
        put.url,
        { "content-type": "text/plain", "x-amz-copy-source": `media/users/${other}/secret.txt` },
        content,
      ],
    ] as [string, string, string, Record<string, string>, Uint8Array<ArrayBuffer> | undefined][]
  ) {
    s3 = await use(method, url, headers, body);
    assert.equal(s3.status, 403, what);
  }
  // A body of no declared length (chunked): the signed content-length is missing, refused.
  // `duplex` is the Fetch standard's member for a streamed request body (not in Deno's types).
  const streamed: RequestInit & { duplex: "half" } = {
    method: "PUT",
    headers: { "content-type": "text/plain" },
    body: new ReadableStream({
      start(c) {
        c.enqueue(content);
        c.enqueue(new Uint8Array(4096));
        c.close();
      },
    }),
    duplex: "half",
  };
  const chunked = await fetch(put.url, streamed);
  await chunked.body?.cancel();
  assert.equal(chunked.status, 403, "a chunked body where a length was signed");
  assert.deepEqual((await use("GET", get.url)).body, content, "the object is still ours");
  const short = await one(token, { key, method: "GET", expires_in: 1 });
  await new Promise((r) => setTimeout(r, 2100));
  s3 = await use("GET", short.url);
  assert.equal(s3.status, 403, "an expired URL");

  const del = await one(token, { key, method: "DELETE" });
  s3 = await use("DELETE", del.url);
  assert.equal(s3.status, 204);
  s3 = await use("GET", get.url);
  assert.equal(s3.status, 404, "gone after DELETE");
});

Deno.test(`[${RUNTIME}] a download name is an RFC 6266/5987 response override`, async () => {
  const key = `users/${user}/report.txt`;
  const content = bytes("quarterly");
  const put = await one(token, {
    key,
    method: "PUT",
    content_type: "text/plain",
    content_length: content.length,
  });
  assert.equal((await use("PUT", put.url, { "content-type": "text/plain" }, content)).status, 200);
  const get = await one(token, { key, method: "GET", download_name: "Bericht März.txt" });
  assert.ok(get.url.includes("response-content-disposition="), get.url);
  const s3 = await use("GET", get.url);
  assert.equal(s3.status, 200);
  assert.equal(
    s3.headers.get("content-disposition"),
    `attachment; filename="Bericht M_rz.txt"; filename*=UTF-8''Bericht%20M%C3%A4rz.txt`,
  );
});

Deno.test(`[${RUNTIME}] a batch is all or none, and each refusal names its object and rule`, async () => {
  const ask = {
    bucket: "media",
    objects: [
      { key: `users/${user}/ok.png`, method: "GET" },
      { key: `users/${crypto.randomUUID()}/theirs.png`, method: "GET" },
      { key: `users/${user}/big.png`, method: "PUT", content_type: "image/png", content_length: 4097 },
      { key: `users/${user}/../x.png`, method: "GET" },
    ],
  };
  const r = await sign(token, ask);
  assert.equal(r.status, 403, JSON.stringify(r.body));
  assert.equal(r.body.error, "refused");
  assert.equal(r.body.urls, undefined, "nothing is signed");
  assert.deepEqual(
    r.body.refused.map((x: any) => [x.index, x.error, x.rule ?? null]),
    [[1, "no_rule", null], [2, "size_not_allowed", 1], [3, "bad_key", null]],
  );
  const many = {
    bucket: "media",
    objects: Array.from({ length: 101 }, () => ({ key: "public/a", method: "GET" })),
  };
  const big = await sign(token, many);
  assert.equal(big.status, 400);
  assert.match(big.body.message, /objects/);
  const fifty = await sign(token, { ...many, objects: many.objects.slice(0, 50) });
  assert.equal(fifty.status, 200);
  assert.equal(fifty.body.urls.length, 50);
});

Deno.test(`[${RUNTIME}] the policy's refusals`, async () => {
  const strong = await jwt(user, { aal: "aal2" });
  // A Supabase anonymous sign-in: role `authenticated`, `is_anonymous: true`.
  const guestId = crypto.randomUUID();
  const guest = await jwt(guestId, { is_anonymous: true });
  const scripted = await jwt(user, { amr: [{ method: "pat", timestamp: 1 }], scope: "storage:read" });
  const me = `users/${user}`;
  const cases: [string, string, string, Record<string, unknown>, string, number | null][] = [
    ["own object", "media", "granted", { key: `${me}/a.png`, method: "GET" }, "", 1],
    ["private without aal2", "media", token, { key: `${me}/private/a`, method: "GET" }, "aal2_required", 0],
    ["private with aal2", "media", strong, { key: `${me}/private/a`, method: "GET" }, "", 0],
    [
      "private PUT with aal2",
      "media",
      strong,
      { key: `${me}/private/a`, method: "PUT" },
      "method_not_allowed",
      0,
    ],
    [
      "someone else's",
      "media",
      token,
      { key: `users/${crypto.randomUUID()}/a`, method: "GET" },
      "no_rule",
      null,
    ],
    [
      "too long",
      "media",
      token,
      { key: `${me}/a`, method: "GET", expires_in: 901 },
      "expires_in_too_long",
      1,
    ],
    [
      "html upload",
      "media",
      token,
      { key: `${me}/a.html`, method: "PUT", content_type: "text/html", content_length: 1 },
      "content_type_not_allowed",
      1,
    ],
    [
      "upload without a size",
      "media",
      token,
      {
        key: `${me}/a.png`,
        method: "PUT",
        content_type: "image/png",
      },
      "size_not_allowed",
      1,
    ],
    ["public DELETE", "media", token, { key: "public/a", method: "DELETE" }, "method_not_allowed", 3],
    [
      "anonymous sign-in on its own",
      "media",
      guest,
      { key: `users/${guestId}/a`, method: "GET" },
      "anonymous_not_allowed",
      1,
    ],
    ["anonymous sign-in on public", "media", guest, { key: "public/a", method: "GET" }, "", 3],
    ["unknown bucket", "nope", token, { key: `${me}/a`, method: "GET" }, "unknown_bucket", null],
    [
      "PAT token on own object",
      "media",
      scripted,
      { key: `${me}/a`, method: "GET" },
      "pat_token_not_allowed",
      1,
    ],
    ["PAT token where allowed", "media", scripted, { key: `scripts/${user}/run.sh`, method: "GET" }, "", 4],
  ];
  // The project's legacy anon key is no user's token (issuer `supabase`, no audience): 401.
  const now = Math.floor(Date.now() / 1000);
  const anonKey = await new SignJWT({ iss: "supabase", ref: "portcullis", role: "anon" })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(SECRET);
  const anonAsks = await sign(anonKey, { bucket: "media", objects: [{ key: "public/a", method: "GET" }] });
  assert.equal(anonAsks.status, 401, JSON.stringify(anonAsks.body));
  for (const [what, bucket, who, object, error, rule] of cases) {
    const r = await sign(who === "granted" ? token : who, { bucket, objects: [object] });
    if (error === "") {
      assert.equal(r.status, 200, `${what}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.urls.length, 1, what);
    } else {
      assert.equal(r.status, 403, `${what}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.refused[0].error, error, what);
      assert.equal(r.body.refused[0].rule ?? null, rule, what);
    }
  }
});

Deno.test(`[${RUNTIME}] claims never escape their segment`, async () => {
  // orgs/{app_metadata.org_id}/**: only a claim that is one safe segment matches anything.
  const asks = async (org: unknown, key: string) => {
    const t = await jwt(user, { app_metadata: { org_id: org } });
    return await sign(t, { bucket: "media", objects: [{ key, method: "GET" }] });
  };
  assert.equal((await asks("acme", "orgs/acme/plan.txt")).status, 200);
  assert.equal((await asks(42, "orgs/42/plan.txt")).status, 200, "an integer claim");
  // Each key is a valid key that a naive substitution of the claim would match, so only the
  // claim check can refuse it (`no_rule`); where the naive match is no valid key at all
  // (`..`, an empty segment, a control character), the key check refuses it (`bad_key`).
  for (
    const [org, key, error] of [
      ["acme/other", "orgs/acme/other/plan.txt", "no_rule"],
      ["..", "orgs/x/plan.txt", "no_rule"],
      ["..", "orgs/../plan.txt", "bad_key"],
      ["", "orgs/x/plan.txt", "no_rule"],
      ["", "orgs//plan.txt", "bad_key"],
      ["a%2Fb", "orgs/a%2Fb/plan.txt", "no_rule"],
      ["a%2Fb", "orgs/a/b/plan.txt", "no_rule"],
      ["a\u0000b", "orgs/a\u0000b/plan.txt", "bad_key"],
      ["a\nb", "orgs/a\nb/plan.txt", "bad_key"],
      ["*", "orgs/x/plan.txt", "no_rule"],
      ["**", "orgs/x/y/plan.txt", "no_rule"],
      ["{sub}", `orgs/${user}/plan.txt`, "no_rule"],
      [["acme"], "orgs/acme/plan.txt", "no_rule"],
      [{ id: "acme" }, "orgs/acme/plan.txt", "no_rule"],
      [true, "orgs/true/plan.txt", "no_rule"],
      [null, "orgs/null/plan.txt", "no_rule"],
      [1.5, "orgs/1.5/plan.txt", "no_rule"],
    ] as [unknown, string, string][]
  ) {
    const r = await asks(org, key);
    const what = `org ${JSON.stringify(org)}, key ${JSON.stringify(key)}: ${JSON.stringify(r.body)}`;
    assert.equal(r.status, 403, what);
    assert.equal(r.body.refused[0].error, error, what);
  }
  // A user whose own `sub` would escape gets nothing under users/, even by a valid key.
  for (
    const [sub, key, error] of [["a/b", "users/a/b/x", "no_rule"], ["a/../b", "users/a/../b/x", "bad_key"]]
  ) {
    const r = await sign(await jwt(sub), { bucket: "media", objects: [{ key, method: "GET" }] });
    assert.equal(r.status, 403, `${sub}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.refused[0].error, error, sub);
  }
});

Deno.test(`[${RUNTIME}] keys that are not exactly what they look like are refused`, async () => {
  const me = `users/${user}`;
  const bad = [
    `${me}/../${crypto.randomUUID()}/a`,
    `${me}/./a`,
    `${me}//a`,
    `${me}/a/`,
    `/${me}/a`,
    `${me}/a\u0000`,
    `${me}/a\u001b[31m`,
    `${me}/a\u007f`,
    `${me}/a\u202e.png`,
    `${me}/a\u200b`,
    `${me}/\ufeffa`,
    `${me}/a\\b`,
    `${me}/${"x".repeat(1025 - me.length - 1)}`,
    "",
  ];
  for (const key of bad) {
    const r = await sign(token, { bucket: "media", objects: [{ key, method: "GET" }] });
    assert.equal(r.status, 403, `${JSON.stringify(key)}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.refused[0].error, "bad_key", JSON.stringify(key));
  }
  // Exactly 1024 bytes is a key; it is signed as given.
  const longest = `${me}/${"x".repeat(1024 - me.length - 1)}`;
  assert.equal(new TextEncoder().encode(longest).length, 1024);
  const granted = await one(token, { key: longest, method: "GET" });
  assert.equal(granted.key, longest);
  // Not UTF-8 (a lone surrogate in JSON, or raw bytes): the body is refused as a whole.
  const lone = await sign(token, `{"bucket":"media","objects":[{"key":"${me}/\\ud800","method":"GET"}]}`);
  assert.equal(lone.status, 400, JSON.stringify(lone.body));
  const raw = new Uint8Array([
    ...bytes(`{"bucket":"media","objects":[{"key":"${me}/`),
    0xff,
    0xfe,
    ...bytes(`","method":"GET"}]}`),
  ]);
  const notUtf8 = await sign(token, raw);
  assert.equal(notUtf8.status, 400, JSON.stringify(notUtf8.body));
  // Percent signs and look-alike encodings are literal key bytes, encoded once.
  const literal = await one(token, { key: `${me}/100%25 %2F..%2e.txt`, method: "GET" });
  assert.ok(literal.url.includes(`/100%2525%20%252F..%252e.txt?`), literal.url);
});

Deno.test(`[${RUNTIME}] malformed requests are named, never half-read`, async () => {
  for (
    const [body, path] of [
      ["not json", "JSON"],
      [{ objects: [{ key: "public/a", method: "GET" }] }, "bucket"],
      [{ bucket: "media", objects: [] }, "objects"],
      [{ bucket: "media", objects: [{ key: "public/a", method: "PATCH" }] }, "objects[0].method"],
      [{ bucket: "media", objects: [{ key: "public/a", method: "GET", extra: 1 }] }, "extra"],
      [{ bucket: "media", objects: [{ key: "public/a", method: "GET", expires_in: -1 }] }, "expires_in"],
      [
        { bucket: "media", objects: [{ key: "public/a", method: "GET", content_type: "text/plain" }] },
        "content_type",
      ],
      [
        { bucket: "media", objects: [{ key: "a", method: "PUT", content_type: "text/html, image/png" }] },
        "content_type",
      ],
      [{ bucket: "media", objects: [{ key: "a", method: "PUT", download_name: "x" }] }, "download_name"],
    ] as [unknown, string][]
  ) {
    const r = await sign(token, body);
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error, "invalid_request");
    assert.ok(r.body.message.includes(path), `${r.body.message} names ${path}`);
  }
});

/** Posts a presigned form as a browser does: its fields, then the file. */
async function postForm(
  form: any,
  file: Uint8Array<ArrayBuffer>,
  type: string,
  name = "upload.png",
  key?: string,
): Promise<number> {
  const data = new FormData();
  for (const [k, v] of Object.entries(form.fields)) {
    data.append(k, k === "Content-Type" ? type : k === "key" && key !== undefined ? key : v as string);
  }
  data.append("file", new Blob([file], { type }), name);
  const r = await fetch(form.url, { method: "POST", body: data });
  await r.body?.cancel();
  return r.status;
}

Deno.test(`[${RUNTIME}] upload forms: bounded by the rule, enforced by SeaweedFS`, async () => {
  const key = `users/${user}/avatar.png`;
  let r = await upload(token, { bucket: "media", key, content_type: "image/png", max_size: 64 });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const form = r.body;
  assert.equal(form.url, `${S3}/media`);
  assert.equal(form.max_size, 64);
  assert.equal(form.fields.key, key);
  assert.ok(!JSON.stringify(form).includes("portcullis-test-secret"));
  const policy = JSON.parse(atob(form.fields.policy));
  assert.deepEqual(policy.conditions.find((c: any) => Array.isArray(c) && c[0] === "content-length-range"), [
    "content-length-range",
    0,
    64,
  ]);
  assert.ok((await postForm(form, new Uint8Array(10).fill(7), "image/png")) < 300, "within its limits");
  const get = await one(token, { key, method: "GET" });
  const s3 = await use("GET", get.url);
  assert.equal(s3.status, 200);
  assert.deepEqual(s3.body, new Uint8Array(10).fill(7));
  const over = await postForm(form, new Uint8Array(65).fill(7), "image/png");
  assert.ok(over >= 400 && over < 500, `over its size: ${over}`);
  const html = await postForm(form, bytes("<script>"), "text/html");
  assert.ok(html >= 400 && html < 500, `another type: ${html}`);

  // A prefix form: the browser names the file; the server holds it to the prefix.
  r = await upload(token, { bucket: "media", prefix: `users/${user}/inbox/`, content_type: "text/plain" });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.max_size, 4096, "the rule's maximum when none is asked");
  assert.equal(r.body.fields.key, `users/${user}/inbox/\${filename}`);
  assert.ok((await postForm(r.body, bytes("note"), "text/plain", "n1.txt")) < 300);
  const note = await one(token, { key: `users/${user}/inbox/n1.txt`, method: "GET" });
  assert.deepEqual((await use("GET", note.url)).body, bytes("note"));

  // The form is in the browser's hands: a changed key, or a hostile file name under the
  // prefix, must land nowhere outside what was granted, whatever the server makes of it.
  const other = crypto.randomUUID();
  const theirs = await jwt(other);
  const elsewhere = [`users/${other}/x.txt`, `users/${other}/y.txt`, `users/${user}/moved.png`];
  assert.ok(
    (await postForm(form, bytes("evil"), "image/png", "a.png", `users/${user}/moved.png`)) >= 400,
    "an exact form's key is fixed",
  );
  for (
    const [name, key] of [
      [`../../${other}/x.txt`, undefined],
      [`..\\..\\${other}\\x.txt`, undefined],
      ["a.txt", `users/${user}/inbox/../../${other}/y.txt`],
      ["a.txt", `users/${user}/inbox/..\\..\\${other}\\y.txt`],
      ["a.txt", `users/${other}/y.txt`],
    ] as [string, string | undefined][]
  ) {
    const status = await postForm(r.body, bytes("evil"), "text/plain", name, key);
    for (const k of elsewhere) {
      const owner = k.startsWith(`users/${other}/`) ? theirs : token;
      const got = await use("GET", (await one(owner, { key: k, method: "GET" })).url);
      assert.equal(got.status, 404, `${name} ${key} (answered ${status}) reached ${k}`);
    }
  }
});

Deno.test(`[${RUNTIME}] upload forms the policy refuses`, async () => {
  const me = `users/${user}`;
  for (
    const [what, ask, error, rule] of [
      [
        "over the rule's size",
        { key: `${me}/a.png`, content_type: "image/png", max_size: 4097 },
        "size_not_allowed",
        1,
      ],
      ["another type", { key: `${me}/a.html`, content_type: "text/html" }, "content_type_not_allowed", 1],
      [
        "someone else's",
        { key: `users/${crypto.randomUUID()}/a`, content_type: "image/png" },
        "no_rule",
        null,
      ],
      [
        "a prefix over a stricter rule",
        { prefix: `${me}/`, content_type: "image/png" },
        "prefix_overlaps_rule",
        0,
      ],
      ["a prefix above the user", { prefix: "users/", content_type: "image/png" }, "no_rule", null],
      ["a dot prefix", { prefix: `${me}/../`, content_type: "image/png" }, "bad_key", null],
    ] as [string, Record<string, unknown>, string, number | null][]
  ) {
    const r = await upload(token, { bucket: "media", ...ask });
    assert.equal(r.status, 403, `${what}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.refused[0].error, error, what);
    assert.equal(r.body.refused[0].rule ?? null, rule, what);
  }
  const r2 = await upload(token, { bucket: "archive", key: `${me}/a.bin`, max_size: 10 });
  assert.equal(r2.status, 400);
  assert.equal(r2.body.error, "not_supported");
  assert.match(r2.body.message, /R2/);
  // R2 signs uploads as PUT URLs instead, region auto.
  const put = await one(token, { key: `${me}/a.bin`, method: "PUT", content_length: 10 }, "archive");
  assert.ok(
    put.url.startsWith(`https://0123456789abcdef.r2.cloudflarestorage.com/archive/${me}/a.bin?`),
    put.url,
  );
  assert.ok(put.url.includes("%2Fauto%2Fs3%2Faws4_request"), put.url);
});

Deno.test(`[${RUNTIME}] browsers: listed origins only`, async () => {
  const pre = async (origin: string) => {
    const r = await fetch(`${BASE}/sign`, {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
      },
    });
    await r.body?.cancel();
    return r;
  };
  const ok = await pre(ORIGIN);
  assert.equal(ok.status, 204);
  assert.equal(ok.headers.get("access-control-allow-origin"), ORIGIN);
  assert.match(ok.headers.get("access-control-allow-headers") ?? "", /authorization/);
  const evil = await pre("https://app.example.com.evil.test");
  assert.equal(evil.status, 403);
  assert.equal(evil.headers.get("access-control-allow-origin"), null);
  const r = await sign(token, { bucket: "media", objects: [{ key: "public/a", method: "GET" }] }, {
    origin: ORIGIN,
  });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("access-control-allow-origin"), ORIGIN);
  assert.equal(r.headers.get("cache-control"), "no-store");
});

Deno.test(`[${RUNTIME}] Supabase Storage signs as the user (RLS applies) or with the service key`, async () => {
  const storageCalls = async () => (await (await fetch(`${FAKES}/_control/storage`)).json());
  const before = (await storageCalls()).requests.length;
  const me = `users/${user}`;
  // An upload URL from Storage, used for real: PUT to it.
  const up = await one(
    token,
    { key: `${me}/me 1#?.png`, method: "PUT" },
    "avatars",
  );
  assert.ok(
    up.url.startsWith(`${FAKES}/storage/v1/object/upload/sign/avatars/${me}/me%201%23%3F.png?token=`),
    up.url,
  );
  const now = Math.floor(Date.now() / 1000);
  assert.ok(Math.abs(up.expires_at - (now + 7200)) <= 5, "Storage's upload URLs last two hours");
  assert.equal((await use("PUT", up.url, { "content-type": "image/png" }, bytes("one"))).status, 200);
  const up2 = await one(token, { key: `${me}/two.png`, method: "PUT" }, "avatars");
  // Storage's URLs bind no content type: asking for one is an error, not a promise dropped.
  const typed = await sign(token, {
    bucket: "avatars",
    objects: [{ key: `${me}/t.png`, method: "PUT", content_type: "image/png" }],
  });
  assert.equal(typed.status, 400, JSON.stringify(typed.body));
  assert.equal((await use("PUT", up2.url, {}, bytes("two"))).status, 200);
  // Downloads: two with one lifetime go in one batch call, a third alone.
  const r = await sign(token, {
    bucket: "avatars",
    objects: [
      { key: `${me}/me 1#?.png`, method: "GET", expires_in: 60 },
      { key: `${me}/two.png`, method: "GET", expires_in: 60, download_name: "zwei.png" },
      { key: `${me}/two.png`, method: "GET", expires_in: 90 },
    ],
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const [a, b, c] = r.body.urls;
  assert.deepEqual((await use("GET", a.url)).body, bytes("one"));
  const got = await use("GET", b.url);
  assert.deepEqual(got.body, bytes("two"));
  assert.equal(got.headers.get("content-disposition"), `attachment; filename="zwei.png"`);
  assert.deepEqual((await use("GET", c.url)).body, bytes("two"));
  assert.ok(Math.abs(c.expires_at - (now + 90)) <= 5);

  const log = await storageCalls();
  assert.deepEqual(log.problems, [], "every call kept the contract of spec §2");
  const mine = log.requests.slice(before);
  // The calls of one request run concurrently: compared in any order.
  const sorted = (calls: [string, unknown][]) => calls.map((c) => JSON.stringify(c)).sort();
  assert.deepEqual(
    sorted(mine.map((x: any) => [x.path, x.body])),
    sorted([
      [`/storage/v1/object/upload/sign/avatars/${me}/me%201%23%3F.png`, {}],
      [`/storage/v1/object/upload/sign/avatars/${me}/two.png`, {}],
      ["/storage/v1/object/sign/avatars", { expiresIn: 60, paths: [`${me}/me 1#?.png`, `${me}/two.png`] }],
      [`/storage/v1/object/sign/avatars/${me}/two.png`, { expiresIn: 90 }],
    ]),
  );
  for (const x of mine) {
    assert.equal(x.authorization, `Bearer ${token}`, "the user's own JWT: Storage's RLS applies");
    assert.equal(x.apikey, "sb_publishable_portcullis-test-anon-0001");
  }

  // Our policy allows team/**, Storage's RLS does not: nothing is signed.
  const team = await sign(token, { bucket: "avatars", objects: [{ key: "team/plan.png", method: "GET" }] });
  assert.equal(team.status, 403, JSON.stringify(team.body));
  assert.deepEqual(team.body.refused, [{ index: 0, key: "team/plan.png", error: "storage_refused" }]);

  // The service-key bucket: our policy is the only guard, and the key never reaches the client.
  const doc = await one(token, { key: "shared/handbook.txt", method: "GET" }, "vault");
  assert.deepEqual((await use("GET", doc.url)).body, bytes("handbook"));
  assert.ok(!JSON.stringify(doc).includes("sb_secret"));
  const last = (await storageCalls()).requests.at(-1);
  assert.equal(last.apikey, "sb_secret_portcullis-test-service-0001");
  assert.equal(last.authorization, "Bearer sb_secret_portcullis-test-service-0001");
  const denied = await sign(token, { bucket: "vault", objects: [{ key: `${me}/x`, method: "GET" }] });
  assert.equal(denied.status, 403);
  assert.equal(denied.body.refused[0].error, "no_rule");
  assert.equal((await storageCalls()).requests.length, before + 6, "a refused object costs no call");
});
