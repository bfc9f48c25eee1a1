// Black-box suite for the delivery hooks (send-email, send-sms, verification attempts, after
// user created) against a served build, a real PostgreSQL and the provider fakes
// (tests/fakes/providers.ts). The servers run tests/fixtures/hooks-policy.json:
// e-mail via Resend then Postmark (some types to the outbox), SMS via Twilio then Vonage (MFA to
// the outbox), attempt limits of 3, provisioning into public.profiles.
import postgres from "postgres";
import { assert, assertEquals, assertMatch, call, required, RUNTIME, sign, uuid } from "./support.ts";

const FAKES = required("PORTCULLIS_FAKES_URL");
const admin = postgres(required("PORTCULLIS_ADMIN_DB_URL"), { max: 4, onnotice: () => {} });
const T = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name: `[${RUNTIME}] ${name}`, fn, sanitizeResources: false, sanitizeOps: false });

// deno-lint-ignore no-explicit-any
type Json = any;
interface Recorded {
  provider: string;
  path: string;
  headers: Record<string, string>;
  body: Json;
  recipient: string;
  status: number;
  problems: string[];
}

async function requests(match: string): Promise<Recorded[]> {
  const r = await fetch(`${FAKES}/_control/requests?match=${encodeURIComponent(match)}`);
  return await r.json();
}

async function failing(provider: string, match: string, mode: string, extra: Record<string, unknown> = {}) {
  const r = await fetch(`${FAKES}/_control/rules`, {
    method: "POST",
    body: JSON.stringify({ provider, match, mode, ...extra }),
  });
  await r.body?.cancel();
}

function assertConforming(reqs: Recorded[]) {
  for (const r of reqs) {
    assertEquals(r.problems, [], `${r.provider} ${r.path}: the request breaks the provider's API`);
  }
}

function tag(name: string): string {
  return `${name}-${RUNTIME}-${uuid().slice(0, 8)}`;
}

function user(o: Record<string, unknown> = {}) {
  return {
    id: uuid(),
    aud: "authenticated",
    role: "authenticated",
    email: "",
    phone: "",
    app_metadata: { provider: "email", providers: ["email"] },
    user_metadata: {},
    identities: [],
    created_at: new Date().toISOString(),
    updated_at: new Date().toISOString(),
    is_anonymous: false,
    ...o,
  };
}

function emailPayload(type: string, u: Json, data: Record<string, string> = {}, hookUuid = uuid()) {
  return {
    metadata: {
      uuid: hookUuid,
      time: new Date().toISOString(),
      name: "send-email",
      ip_address: "192.0.2.10",
    },
    user: u,
    email_data: {
      token: "305805",
      token_hash: "7d8a1f0c2b9e4d3a5f6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b",
      redirect_to: "https://app.example.com/welcome?from=email&x=1",
      email_action_type: type,
      site_url: "https://abcdefghijklmnop.supabase.co/auth/v1",
      token_new: "",
      token_hash_new: "",
      old_email: "",
      old_phone: "",
      provider: "",
      factor_type: "",
      ...data,
    },
  };
}

function smsPayload(u: Json, sms: Record<string, string>, hookUuid = uuid()) {
  return { metadata: { uuid: hookUuid, time: new Date().toISOString(), name: "send-sms" }, user: u, sms };
}

const send = (path: string, payload: unknown) => call(path, sign(JSON.stringify(payload)));

function assertOk(r: { status: number; json: Json }) {
  assertEquals([r.status, r.json], [200, {}]);
}

function assertHookError(r: { status: number; json: Json }, httpCode: number) {
  assertEquals(r.status, 200, "refusals are error objects on a 200");
  assertEquals(r.json.error?.http_code, httpCode, JSON.stringify(r.json));
  assert(typeof r.json.error.message === "string" && r.json.error.message.length > 0);
}

function phone(): string {
  return "49151" + String(Math.floor(Math.random() * 1e8)).padStart(8, "0");
}

const outbox = (hookUuid: string) =>
  admin`select email_type, recipient, status, delivery, attempts, last_error, subject, html, text, link, token, token_hash, provider_message_id
        from portcullis.email_outbox where hook_uuid = ${hookUuid} order by id`;

// ---- the fakes themselves ----

T("fakes: requests that break a provider's API are answered as the provider would and flagged", async () => {
  const to = `${tag("fake")}@example.com`;
  const r = await fetch(`${FAKES}/resend/emails`, {
    method: "POST",
    headers: { authorization: "Bearer wrong", "content-type": "application/json", "x-fake-selftest": "1" },
    body: JSON.stringify({ to: [to], subject: "x" }),
  });
  assertEquals(r.status, 401);
  await r.body?.cancel();
  const [rec] = await requests(to);
  assert(
    rec.problems.includes("missing from") && rec.problems.some((p) => p.startsWith("authorization")),
    rec.problems.join(),
  );
  const v = await fetch(`${FAKES}/vonage/sms/json`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "x-fake-selftest": "1" },
    body: new URLSearchParams({
      api_key: "k",
      api_secret: "bad",
      from: "x",
      to: "+4915100000000",
      text: "hi",
    }),
  });
  assertEquals((await v.json()).messages[0].status, "4");
  const [vrec] = await requests("+4915100000000");
  assert(vrec.problems.includes("to must not start with +"), vrec.problems.join());
  // With the right credentials, a request that breaks the API is refused as the provider would.
  const bad = await fetch(`${FAKES}/resend/emails`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${Deno.env.get("PORTCULLIS_RESEND_API_KEY") ?? "re_test_4Fq9xWm2Lk7Zp3Rt"}`,
      "content-type": "application/json",
      "x-fake-selftest": "1",
    },
    body: JSON.stringify({ from: "Acme <a@acme.test>", to: [to], html: "<p>x</p>" }),
  });
  assertEquals(bad.status, 422, "missing subject is a validation error, not a 200");
  await bad.body?.cancel();
  const tw = await fetch(
    `${FAKES}/twilio/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json`,
    {
      method: "POST",
      headers: {
        authorization: `Basic ${btoa("AC0123456789abcdef0123456789abcdef:twilio-test-token-5d8e")}`,
        "content-type": "application/json",
        "x-fake-selftest": "1",
      },
      body: JSON.stringify({ To: "+4915100000001", From: "+15005550006", Body: "hi" }),
    },
  );
  assertEquals(tw.status, 400, "JSON where Twilio wants a form is refused");
  await tw.body?.cancel();
});

// ---- send email ----

T("send email: verification e-mails go to Resend with the documented request and an exact link", async () => {
  const to = `${tag("signup")}@example.com`;
  const u = user({
    email: to,
    user_metadata: { full_name: "Ada <script>alert(1)</script>", locale: "de-AT" },
  });
  const payload = emailPayload("signup", u);
  assertOk(await send("/send-email", payload));
  const reqs = await requests(to);
  assertConforming(reqs);
  assertEquals(reqs.map((r) => [r.provider, r.status]), [["resend", 200]]);
  const b = reqs[0].body;
  assertEquals(b.to, [to]);
  assertEquals(b.from, "Acme Notes <auth@acme.test>");
  assertEquals(b.reply_to, "support@acme.test");
  assertEquals(b.subject, "Bestätigen Sie Ihre E-Mail-Adresse für Acme Notes");
  const link =
    "https://abcdefghijklmnop.supabase.co/auth/v1/verify?token=7d8a1f0c2b9e4d3a5f6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b&type=signup&redirect_to=https%3A%2F%2Fapp.example.com%2Fwelcome%3Ffrom%3Demail%26x%3D1";
  assert(b.html.includes(`href="${link.replaceAll("&", "&amp;")}"`), "the HTML links the exact verify URL");
  assert(b.text.includes(link), "the text part has the exact verify URL");
  assert(b.html.includes("305805") && b.text.includes("305805"));
  assert(
    !b.html.includes("<script>") && b.html.includes("Ada &lt;script&gt;alert(1)&lt;/script&gt;"),
    "display name escaped",
  );
  assert(b.html.includes('<html lang="de"'), "locale from user_metadata.locale");
  assertMatch(reqs[0].headers["idempotency-key"], /^portcullis-email-\d+$/);
  const [row] = await outbox(payload.metadata.uuid);
  assertEquals([row.email_type, row.status, row.delivery, row.attempts], ["signup", "sent", "resend", 1]);
  assertEquals([row.subject, row.html, row.text, row.link, row.token, row.token_hash], [
    null,
    null,
    null,
    null,
    null,
    null,
  ], "a sent row keeps no code, link or content");
  assert(row.provider_message_id, "the provider's id is recorded");
});

T("send email: secure e-mail change sends two e-mails with crossed tokens", async () => {
  const t = tag("change");
  const [oldAddr, newAddr] = [`${t}-old@example.com`, `${t}-new@example.com`];
  const payload = emailPayload("email_change", user({ email: oldAddr, new_email: newAddr }), {
    token_new: "771904",
    token_hash_new: "pkce_0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5",
  });
  assertOk(await send("/send-email", payload));
  const reqs = await requests(t);
  assertConforming(reqs);
  const byTo = Object.fromEntries(reqs.map((r) => [r.recipient, r.body]));
  assert(
    byTo[oldAddr].text.includes("305805") && byTo[oldAddr].text.includes("token=pkce_0a1b2c3d"),
    "current address: token + token_hash_new",
  );
  assert(
    byTo[newAddr].text.includes("771904") && byTo[newAddr].text.includes("token=7d8a1f0c"),
    "new address: token_new + token_hash",
  );
  assertEquals((await outbox(payload.metadata.uuid)).map((r: Json) => [r.recipient, r.status]), [[
    oldAddr,
    "sent",
  ], [newAddr, "sent"]]);
});

T(
  "send email: notifications configured for the outbox are queued, to the old address, without codes",
  async () => {
    const t = tag("notify");
    const [oldAddr, newAddr] = [`${t}-old@example.com`, `${t}-new@example.com`];
    const payload = emailPayload("email_changed_notification", user({ email: newAddr }), {
      token: "",
      token_hash: "",
      old_email: oldAddr,
    });
    assertOk(await send("/send-email", payload));
    assertEquals(await requests(t), [], "the outbox channel calls no provider");
    const [row] = await outbox(payload.metadata.uuid);
    assertEquals([row.recipient, row.status, row.delivery, row.token, row.link], [
      oldAddr,
      "queued",
      "outbox",
      null,
      null,
    ]);
    assert(
      row.html.includes(oldAddr.replace("@", "@")) && row.text.includes(newAddr),
      "rendered for the consumer",
    );
  },
);

T("send email: every GoTrue type renders and is accepted", async () => {
  const types = [
    "signup",
    "invite",
    "magiclink",
    "recovery",
    "reauthentication",
    "password_changed_notification",
    "phone_changed_notification",
    "identity_linked_notification",
    "identity_unlinked_notification",
    "mfa_factor_enrolled_notification",
    "mfa_factor_unenrolled_notification",
  ];
  for (const type of types) {
    const to = `${tag(type.replaceAll("_", "-"))}@example.com`;
    const notification = type.endsWith("_notification");
    const payload = emailPayload(type, user({ email: to, user_metadata: { locale: "fr" } }), {
      token: notification ? "" : "305805",
      token_hash: ["reauthentication"].includes(type) || notification ? "" : "abc123",
      old_phone: "4915112345678",
      provider: "github",
      factor_type: "totp",
    });
    assertOk(await send("/send-email", payload));
    const [row] = await outbox(payload.metadata.uuid);
    assertEquals(row.email_type, type);
    // Queued rows carry the message for a consumer; the rest went to a provider (recorded).
    const sent = row.status === "queued" ? null : (await requests(to))[0];
    assertEquals(row.status, type === "password_changed_notification" ? "queued" : "sent", type);
    const m = sent
      ? { subject: sent.body.subject ?? sent.body.Subject, html: sent.body.html ?? sent.body.HtmlBody }
      : row;
    assert(m.subject.length > 0 && !m.subject.includes("{{"), `${type}: subject`);
    assert(m.html.includes('<html lang="fr"'), `${type}: locale`);
    assertEquals(m.html.includes("305805"), !notification, `${type}: code only in verification e-mails`);
    if (type === "reauthentication") {
      assertEquals(m.subject, "Your Acme Notes code: 305805", "configured subject template");
    }
    if (type === "identity_linked_notification") {
      assertEquals([row.delivery, sent?.provider], ["postmark", "postmark"], "per-type channel");
    }
  }
});

T("send email: a retried call (same metadata.uuid) never sends twice", async () => {
  const to = `${tag("retry")}@example.com`;
  const payload = emailPayload("magiclink", user({ email: to }));
  assertOk(await send("/send-email", payload));
  assertOk(await send("/send-email", payload)); // GoTrue's retry: new webhook-id, same uuid
  assertEquals((await requests(to)).length, 1);
  assertEquals((await outbox(payload.metadata.uuid)).length, 1);
});

T("send email: 10 concurrent identical calls send one e-mail and write one row", async () => {
  const to = `${tag("parallel")}@example.com`;
  await failing("resend", to, "slow", { delay_ms: 400, times: 1 });
  const payload = emailPayload("recovery", user({ email: to }));
  const answers = await Promise.all(Array.from({ length: 10 }, () => send("/send-email", payload)));
  for (const a of answers) assertOk(a);
  assertEquals((await requests(to)).length, 1, "one provider request");
  const rows = await outbox(payload.metadata.uuid);
  assertEquals(rows.map((r: Json) => [r.status, r.attempts]), [["sent", 1]]);
});

T("send email: Resend failing (5xx) fails over to Postmark", async () => {
  const to = `${tag("failover")}@example.com`;
  await failing("resend", to, "5xx");
  const payload = emailPayload("invite", user({ email: to }));
  assertOk(await send("/send-email", payload));
  const reqs = await requests(to);
  assertConforming(reqs);
  assertEquals(reqs.map((r) => [r.provider, r.status]), [["resend", 503], ["postmark", 200]]);
  const pm = reqs[1].body;
  assertEquals([pm.To, pm.From, pm.MessageStream, pm.Tag], [
    to,
    "Acme Notes <auth@acme.test>",
    "outbound",
    "invite",
  ]);
  const [row] = await outbox(payload.metadata.uuid);
  assertEquals([row.status, row.delivery, row.attempts], ["sent", "postmark", 2]);
});

T("send email: a provider refusing our credentials is skipped for the next one", async () => {
  const to = `${tag("revoked")}@example.com`;
  await failing("resend", to, "auth");
  const payload = emailPayload("recovery", user({ email: to }));
  assertOk(await send("/send-email", payload));
  assertEquals((await requests(to)).map((r) => [r.provider, r.status]), [["resend", 403], ["postmark", 200]]);
  const [row] = await outbox(payload.metadata.uuid);
  assertEquals([row.status, row.delivery, row.attempts], ["sent", "postmark", 2]);
});

T(
  "send SMS: Vonage credentials refused after Twilio failed: 503 error object, row failed with both reasons",
  async () => {
    const number = phone();
    await failing("twilio", number, "5xx", { times: 100 });
    await failing("vonage", number, "auth", { times: 100 });
    const payload = smsPayload(user({ phone: number }), { otp: "424242", phone: number });
    assertHookError(await send("/send-sms", payload), 503);
    const providers = (await requests(number)).map((r) => r.provider);
    assertEquals(
      providers.filter((p) => p === "vonage").length,
      1,
      "a provider refusing our credentials is not retried",
    );
    assert(providers.filter((p) => p === "twilio").length >= 2, "the transient one is retried");
    const [row] =
      await admin`select status, last_error from portcullis.sms_outbox where hook_uuid = ${payload.metadata.uuid}`;
    assertEquals(row.status, "failed");
    assertMatch(row.last_error, /twilio: HTTP 503/);
    assertMatch(row.last_error, /vonage: HTTP 200: status 4/);
    await fetch(`${FAKES}/_control/rules`, { method: "DELETE" }).then((r) => r.body?.cancel());
  },
);

T("send email: a hanging provider is cut off and the other one used, inside GoTrue's budget", async () => {
  const to = `${tag("timeout")}@example.com`;
  await failing("resend", to, "timeout", { delay_ms: 8000 });
  const payload = emailPayload("magiclink", user({ email: to }));
  const started = Date.now();
  assertOk(await send("/send-email", payload));
  const elapsed = Date.now() - started;
  assert(elapsed < 5000, `answered in ${elapsed} ms, inside GoTrue's 5 s`);
  const [row] = await outbox(payload.metadata.uuid);
  assertEquals([row.status, row.delivery], ["sent", "postmark"]);
});

T(
  "send email: every provider down → bounded retries, 503 error object, failure recorded; a later retry sends",
  async () => {
    const to = `${tag("down")}@example.com`;
    await failing("resend", to, "5xx", { times: 100 });
    await failing("postmark", to, "5xx", { times: 100 });
    const payload = emailPayload("magiclink", user({ email: to }));
    const started = Date.now();
    const r = await send("/send-email", payload);
    assert(Date.now() - started < 5000, "inside GoTrue's budget");
    assertHookError(r, 503);
    const reqs = await requests(to);
    assert(reqs.length >= 2 && reqs.length <= 6, `bounded retries (${reqs.length})`);
    assert(!JSON.stringify(r.json).includes("305805"), "no code in the answer");
    let [row] = await outbox(payload.metadata.uuid);
    assertEquals([row.status, row.attempts], ["failed", reqs.length]);
    assertMatch(row.last_error, /HTTP 503/);
    // The providers recover; GoTrue retries the same call: it takes the failed row over.
    await fetch(`${FAKES}/_control/rules`, { method: "DELETE" }).then((r) => r.body?.cancel());
    assertOk(await send("/send-email", payload));
    [row] = await outbox(payload.metadata.uuid);
    assertEquals([row.status, row.attempts, row.last_error], ["sent", reqs.length + 1, null]);
  },
);

T("send email: a bad address (provider 4xx) is a 400 error object and is not retried elsewhere", async () => {
  const to = `${tag("bounce")}@example.com`;
  await failing("resend", to, "4xx");
  const payload = emailPayload("signup", user({ email: to }));
  assertHookError(await send("/send-email", payload), 400);
  assertEquals((await requests(to)).map((r) => r.provider), ["resend"]);
  const [row] = await outbox(payload.metadata.uuid);
  assertEquals([row.status, row.delivery], ["failed", "resend"]);
  assertMatch(row.last_error, /422/);
});

T("send email: unknown types and missing uuids are refused without sending", async () => {
  const to = `${tag("unknown")}@example.com`;
  assertHookError(await send("/send-email", emailPayload("login", user({ email: to }))), 500);
  const p = emailPayload("signup", user({ email: to }));
  (p.metadata as Json).uuid = "not-a-uuid";
  assertHookError(await send("/send-email", p), 500);
  assertEquals(await requests(to), []);
});

// ---- send SMS ----

const smsOutbox = (hookUuid: string) =>
  admin`select sms_type, recipient, status, delivery, attempts, body, token from portcullis.sms_outbox where hook_uuid = ${hookUuid}`;

T("send SMS: OTP via Twilio with the documented form request, E.164 with +", async () => {
  const number = phone();
  const payload = smsPayload(user({ phone: number, user_metadata: { locale: "fr" } }), {
    otp: "123456",
    phone: number,
  });
  assertOk(await send("/send-sms", payload));
  const reqs = await requests(`+${number}`);
  assertConforming(reqs);
  assertEquals(reqs.map((r) => [r.provider, r.status]), [["twilio", 201]]);
  assertEquals(reqs[0].body.To, `+${number}`);
  assertEquals(reqs[0].body.From, "+15005550006");
  assertEquals(
    reqs[0].body.Body,
    "123456 est votre code de vérification Acme Notes. Ne le partagez pas.\n\n@app.example.com #123456",
  );
  const [row] = await smsOutbox(payload.metadata.uuid);
  assertEquals([row.sms_type, row.recipient, row.status, row.delivery, row.body, row.token], [
    "otp",
    `+${number}`,
    "sent",
    "twilio",
    null,
    null,
  ]);
});

T("send SMS: phone change goes to the new number; Twilio down fails over to Vonage", async () => {
  const [current, next] = [phone(), phone()];
  await failing("twilio", next, "5xx");
  const payload = smsPayload(user({ phone: current, new_phone: next }), { otp: "654321", phone: next });
  assertOk(await send("/send-sms", payload));
  const reqs = await requests(next);
  assertConforming(reqs);
  assertEquals(reqs.map((r) => [r.provider, r.status]), [["twilio", 503], ["vonage", 200]]);
  assertEquals([reqs[1].body.to, reqs[1].body.from, reqs[1].body.api_secret], [
    next,
    "AcmeNotes",
    "[redacted]",
  ]);
  assertEquals(await requests(current), [], "never the old number");
  const [row] = await smsOutbox(payload.metadata.uuid);
  assertEquals([row.sms_type, row.status, row.delivery, row.attempts], ["phone_change", "sent", "vonage", 2]);
});

T("send SMS: MFA codes configured for the outbox are queued; an invalid number is a 400", async () => {
  const number = phone();
  const payload = smsPayload(user({ phone: number }), { otp: "999111", phone: number, sms_type: "mfa" });
  assertOk(await send("/send-sms", payload));
  assertOk(await send("/send-sms", payload));
  const rows = await smsOutbox(payload.metadata.uuid);
  assertEquals(rows.map((r: Json) => [r.sms_type, r.status, r.delivery]), [["mfa", "queued", "outbox"]]);
  assertEquals(await requests(number), []);
  const bad = phone();
  await failing("twilio", bad, "4xx");
  assertHookError(await send("/send-sms", smsPayload(user({ phone: bad }), { otp: "1", phone: bad })), 400);
  assertEquals((await requests(bad)).map((r) => r.provider), ["twilio"]);
});

// ---- verification attempts ----

async function attempt(kind: "password" | "mfa", userId: string, valid: boolean, factorId = "f-1") {
  const body: Json = {
    metadata: { uuid: uuid(), time: new Date().toISOString(), name: `${kind}-verification` },
    user_id: userId,
    valid,
  };
  if (kind === "mfa") Object.assign(body, { factor_id: factorId, factor_type: "totp" });
  const r = await send(`/${kind}-verification-attempt`, body);
  assertEquals(r.status, 200);
  return r.json;
}

T(
  "password attempts: lock after 3 failures, refuse the right password while locked, log out after 4",
  async () => {
    const id = uuid();
    for (let i = 0; i < 2; i++) {
      assertEquals(await attempt("password", id, false), {
        decision: "continue",
        message: "",
        should_logout_user: false,
      });
    }
    const third = await attempt("password", id, false);
    assertEquals(third, {
      decision: "reject",
      message: "Too many attempts. Try again in 1 minute(s).",
      should_logout_user: false,
    });
    assertEquals(
      (await attempt("password", id, true)).decision,
      "reject",
      "a right guess during the lock is refused",
    );
    const fourth = await attempt("password", id, false);
    assertEquals([fourth.decision, fourth.should_logout_user], ["reject", true]);
    assertEquals(typeof fourth.should_logout_user, "boolean");
    const [row] = await admin`select failures, locked_until > now() + interval '100 seconds' as doubled
                            from portcullis.verification_attempts where kind = 'password' and user_id = ${id}`;
    assertEquals([row.failures, row.doubled], [4, true], "the lock doubles with each further failure");
  },
);

T("password attempts: success resets the counter", async () => {
  const id = uuid();
  await attempt("password", id, false);
  await attempt("password", id, false);
  assertEquals((await attempt("password", id, true)).decision, "continue");
  assertEquals((await admin`select 1 from portcullis.verification_attempts where user_id = ${id}`).length, 0);
  assertEquals((await attempt("password", id, false)).decision, "continue", "counting starts again");
});

T("password attempts: 20 concurrent failures lose no update", async () => {
  const id = uuid();
  await Promise.all(Array.from({ length: 20 }, () => attempt("password", id, false)));
  const [row] =
    await admin`select failures from portcullis.verification_attempts where kind = 'password' and user_id = ${id}`;
  assertEquals(row.failures, 20);
});

T("MFA attempts: counted per factor; the answer has no logout field", async () => {
  const id = uuid();
  for (let i = 0; i < 3; i++) await attempt("mfa", id, false, "factor-a");
  assertEquals((await attempt("mfa", id, true, "factor-a")).decision, "reject");
  const other = await attempt("mfa", id, true, "factor-b");
  assertEquals(other, { decision: "continue", message: "" });
});

T("attempts: malformed payloads are refused", async () => {
  const r = await send("/password-verification-attempt", {
    metadata: { uuid: uuid() },
    user_id: "nope",
    valid: false,
  });
  assertEquals(r.json.error?.http_code, 500);
});

// ---- after user created ----

T(
  "after user created: provisions the profile, records the event, sends one welcome e-mail, idempotently",
  async () => {
    await admin`create table if not exists public.profiles (id uuid primary key, email text, full_name text, created_at timestamptz default now())`;
    await admin`grant select, insert on public.profiles to portcullis_fn`;
    const to = `${tag("welcome")}@example.com`;
    const u = user({ email: to, user_metadata: { full_name: "Grace Hopper", locale: "de" } });
    const payload = {
      metadata: { uuid: uuid(), time: new Date().toISOString(), name: "after-user-created" },
      user: u,
    };
    assertOk(await send("/after-user-created", payload));
    assertOk(await send("/after-user-created", payload));
    const profiles = await admin`select email, full_name from public.profiles where id = ${u.id}`;
    assertEquals(profiles.map((p: Json) => [p.email, p.full_name]), [[to, "Grace Hopper"]]);
    const events =
      await admin`select name, payload->>'email' as email from portcullis.events where hook_uuid = ${payload.metadata.uuid}`;
    assertEquals(events.map((e: Json) => [e.name, e.email]), [["user_created", to]]);
    const reqs = await requests(to);
    assertConforming(reqs);
    assertEquals(reqs.length, 1, "one welcome e-mail");
    assertEquals(reqs[0].body.subject, "Willkommen bei Acme Notes");
    assert(reqs[0].body.html.includes('href="https://app.example.com"'), "the button opens the app");
  },
);

T("after user created: a database failure asks GoTrue to retry (503 + retry-after)", async () => {
  const u = user({ id: uuid(), email: "" });
  await admin`alter table public.profiles add constraint profiles_email_required check (email is not null) not valid`;
  try {
    const signed = sign(JSON.stringify({ metadata: { uuid: uuid() }, user: u }));
    const r = await fetch(`${required("PORTCULLIS_BASE_URL").replace(/\/$/, "")}/after-user-created`, {
      method: "POST",
      headers: signed.headers,
      body: signed.body,
    });
    await r.body?.cancel();
    assertEquals([r.status, r.headers.get("retry-after")], [503, "1"]);
  } finally {
    await admin`alter table public.profiles drop constraint profiles_email_required`;
  }
});

T("teardown", async () => {
  await admin.end();
});

// Last: nothing the function sent broke a provider's API, in any test of this run.
T("fakes: every request the function made conformed to its provider's documented API", async () => {
  const all = (await requests("")).filter((r) => r.headers["x-fake-selftest"] !== "1");
  assert(all.length > 20, `the suite made provider requests (${all.length})`);
  const broken = all.filter((r) => r.problems.length > 0).map((r) =>
    `${r.provider} ${r.path} ${r.recipient}: ${r.problems.join("; ")}`
  );
  assertEquals(broken, []);
});
