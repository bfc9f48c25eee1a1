// deno-lint-ignore-file no-explicit-any -- rows are whatever the functions return
// The sso function's state layer (supabase/migrations/*_portcullis_sso.sql) on a real
// PostgreSQL, called as portcullis_fn exactly as the function calls it: single use under
// concurrency (codes, refresh tokens), the order of refusals, what each refusal leaves intact,
// logout racing redemption and refresh (interleaved deterministically with open transactions
// and lock waits), consent, user state, the back-channel outbox and throttling. The admin
// connection only seeds `auth.users` and moves clocks (timestamps) back.
import assert from "node:assert/strict";
import postgres from "postgres";

function required(name: string): string {
  const v = Deno.env.get(name);
  if (!v) throw new Error(`${name} must be set (run the suite through \`cargo xtask test\`)`);
  return v;
}

const admin = postgres(required("PORTCULLIS_ADMIN_DB_URL"), { max: 2, onnotice: () => {} });
const fn = postgres(required("PORTCULLIS_FN_DB_URL"), { max: 12, onnotice: () => {} });
const opts = { sanitizeOps: false, sanitizeResources: false };

const hex = () =>
  Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0")).join("");
const nowSecs = () => Math.floor(Date.now() / 1000);

async function newUser(): Promise<string> {
  const id = crypto.randomUUID();
  await admin`insert into auth.users (id, email, phone, raw_app_meta_data, raw_user_meta_data)
    values (${id}, ${`${id.slice(0, 8)}@example.com`}, ${null}, ${admin.json({ provider: "email" })},
      ${admin.json({ name: "Ada" })})`;
  return id;
}

async function login(user: string, authTime = nowSecs(), ttl = 3600) {
  const cookie = hex();
  const [r] = await fn`select * from portcullis.sso_login(${cookie}, ${user}::uuid, 'aal1',
    ${fn.json([{ method: "password", timestamp: authTime }])}::jsonb, ${authTime}::bigint, ${ttl},
    false, 'Mozilla/5.0', '127.0.0.1'::inet)`;
  assert.equal(r.outcome, "created");
  return { cookie, id: r.id as string, user };
}
type Session = Awaited<ReturnType<typeof login>>;

interface AuthorizeOpts {
  client?: string;
  redirect?: string;
  sent?: boolean;
  scopes?: string[];
  nonce?: string | null;
  maxAge?: number | null;
  needsConsent?: boolean;
  grant?: boolean;
  ttl?: number;
}

async function authorize(cookie: string | null, o: AuthorizeOpts = {}) {
  const code = hex();
  const challenge = hex().slice(0, 43);
  const [r]: any[] = await fn`select * from portcullis.sso_authorize(${cookie}, ${code},
    ${o.client ?? "app-a"}, ${o.redirect ?? "https://a.example/cb"}, ${o.sent ?? true}, ${challenge},
    ${o.scopes ?? ["openid", "email"]}::text[], ${o.nonce === undefined ? "n-1" : o.nonce},
    ${o.maxAge ?? null}::integer, ${o.needsConsent ?? false}, ${o.grant ?? false}, ${o.ttl ?? 60})`;
  return {
    outcome: r.outcome as string,
    session_id: r.session_id as string,
    code,
    challenge,
    client: o.client ?? "app-a",
    redirect: o.redirect ?? "https://a.example/cb",
  };
}

async function redeem(
  a: { code: string; challenge: string; client: string; redirect: string },
  o: { client?: string; redirect?: string | null; challenge?: string; sql?: any } = {},
) {
  const sql = o.sql ?? fn;
  const refresh = hex();
  const [r] = await sql`select * from portcullis.sso_redeem(${a.code}, ${o.client ?? a.client},
    ${o.redirect === undefined ? a.redirect : o.redirect}, ${o.challenge ?? a.challenge}, ${refresh}, 86400)`;
  return { ...r, refresh };
}

async function refresh(
  token: string,
  o: { client?: string; successor?: string; scopes?: string[] | null; sql?: any } = {},
) {
  const sql = o.sql ?? fn;
  const successor = o.successor ?? hex();
  const [r] = await sql`select * from portcullis.sso_refresh(${token}, ${o.client ?? "app-a"}, ${successor},
    10, ${o.scopes ?? null}::text[])`;
  return { ...r, successor };
}

async function userinfo(family: string) {
  const [r] = await fn`select * from portcullis.sso_userinfo(${family}::uuid)`;
  return r;
}

async function logout(
  s: Session,
  o: { target?: string | null; clients?: string[]; uris?: string[]; sql?: any } = {},
) {
  const sql = o.sql ?? fn;
  return await sql`select * from portcullis.sso_logout(${s.cookie}, ${o.target ?? null}::uuid, 'logout',
    ${o.clients ?? ["app-a", "app-b"]}::text[], ${
    o.uris ?? ["https://a.example/bc", "https://b.example/bc"]
  }::text[])`;
}

async function family(id: string) {
  const [r] = await admin`select revoked_at, revoked_reason, scopes,
    (select count(*)::int from portcullis.sso_refresh_tokens t where t.family_id = f.id) as tokens
    from portcullis.sso_families f where f.id = ${id}::uuid`;
  return r;
}

/** A started session, an issued code and its redemption. */
async function signedIn(o: AuthorizeOpts = {}) {
  const s = await login(await newUser());
  const a = await authorize(s.cookie, o);
  assert.equal(a.outcome, "issued");
  const r = await redeem(a);
  assert.equal(r.outcome, "ok");
  return { s, a, r };
}

/** Runs `first` in a transaction held open until `second`, started meanwhile on another
 * connection, is seen waiting for a lock; then commits and returns both results. */
async function interleave<A, B>(first: (tx: any) => Promise<A>, second: () => Promise<B>): Promise<[A, B]> {
  let release!: () => void;
  const held = new Promise<void>((r) => release = r);
  let firstResult!: A;
  let started!: () => void;
  const ran = new Promise<void>((r) => started = r);
  const tx = fn.begin(async (tx) => {
    firstResult = await first(tx);
    started();
    await held;
  });
  await ran;
  const pending = second();
  for (let i = 0;; i++) {
    const [w] = await admin`select count(*)::int as n from pg_stat_activity
      where wait_event_type = 'Lock' and usename = 'portcullis_fn'`;
    if (w.n > 0) break;
    if (i > 500) throw new Error("the second call never waited for the first one's lock");
    await new Promise((r) => setTimeout(r, 10));
  }
  release();
  await tx;
  return [firstResult, await pending];
}

Deno.test("flow: login, authorize, redeem, refresh and userinfo carry the user's facts", opts, async () => {
  const { s, r } = await signedIn({ scopes: ["openid", "email", "profile"] });
  assert.equal(r.user_id, s.user);
  assert.equal(r.session_id, s.id);
  assert.equal(r.nonce, "n-1");
  assert.equal(r.aal, "aal1");
  assert.deepEqual(r.scopes, ["openid", "email", "profile"]);
  assert.equal(r.email, `${s.user.slice(0, 8)}@example.com`);
  assert.equal(JSON.parse(r.amr)[0].method, "password");
  assert.equal(JSON.parse(r.user_metadata).name, "Ada");
  assert.ok(Number(r.family_expires_at) > nowSecs() + 86000);
  const n = await refresh(r.refresh);
  assert.equal(n.outcome, "rotated");
  assert.equal(n.family_id, r.family_id);
  assert.equal(n.email, r.email);
  const u = await userinfo(r.family_id);
  assert.equal(u.outcome, "ok");
  assert.equal(u.user_id, s.user);
  const [row] =
    await admin`select octet_length(token_hash) as n from portcullis.sso_sessions where id = ${s.id}::uuid`;
  assert.equal(row.n, 32, "the cookie is stored as its 32-byte hash");
});

Deno.test("item 16: an expired code is refused and starts nothing", opts, async () => {
  const s = await login(await newUser());
  const a = await authorize(s.cookie);
  await admin`update portcullis.sso_codes set expires_at = now() - interval '1 second'
    where code_hash = decode(${a.code}, 'hex')`;
  assert.equal((await redeem(a)).outcome, "expired");
  const [c] =
    await admin`select count(*)::int as n from portcullis.sso_families where session_id = ${s.id}::uuid`;
  assert.equal(c.n, 0);
});

Deno.test(
  "item 17: a second valid redemption is refused and revokes the first one's tokens",
  opts,
  async () => {
    const { a, r } = await signedIn();
    assert.equal((await redeem(a)).outcome, "replayed");
    assert.equal((await family(r.family_id)).revoked_reason, "code_replay");
    assert.equal((await refresh(r.refresh)).outcome, "revoked");
    assert.equal((await userinfo(r.family_id)).outcome, "revoked");
  },
);

Deno.test("item 18: a replay with invalid parameters revokes nothing", opts, async () => {
  const { a, r } = await signedIn();
  for (
    const bad of [
      { challenge: hex().slice(0, 43) },
      { client: "app-b" },
      { redirect: "https://a.example/cb/" },
      { redirect: null },
    ]
  ) {
    assert.equal((await redeem(a, bad)).outcome, "invalid", JSON.stringify(bad));
  }
  assert.equal((await family(r.family_id)).revoked_at, null);
  assert.equal((await refresh(r.refresh)).outcome, "rotated");
});

Deno.test("item 19: ten parallel redemptions make exactly one success", opts, async () => {
  const s = await login(await newUser());
  const a = await authorize(s.cookie);
  const all = await Promise.all(Array.from({ length: 10 }, () => redeem(a)));
  const ok = all.filter((r) => r.outcome === "ok");
  assert.equal(ok.length, 1, JSON.stringify(all.map((r) => r.outcome)));
  assert.deepEqual(all.filter((r) => r.outcome !== "ok").map((r) => r.outcome), Array(9).fill("replayed"));
  const [c] =
    await admin`select count(*)::int as n from portcullis.sso_families where session_id = ${s.id}::uuid`;
  assert.equal(c.n, 1, "one family only");
  // The nine are second valid redemptions (item 17): the one success is revoked too.
  assert.equal((await family(ok[0].family_id)).revoked_reason, "code_replay");
});

Deno.test("item 20: another client cannot redeem a code, and its attempt spends nothing", opts, async () => {
  const s = await login(await newUser());
  const a = await authorize(s.cookie);
  assert.equal((await redeem(a, { client: "app-b" })).outcome, "invalid");
  assert.equal((await redeem(a)).outcome, "ok");
});

Deno.test("item 22: redirect_uri at redemption equals the authorization request's", opts, async () => {
  const s = await login(await newUser());
  const sent = await authorize(s.cookie, { sent: true });
  assert.equal((await redeem(sent, { redirect: null })).outcome, "invalid", "sent at authorize, omitted now");
  assert.equal((await redeem(sent, { redirect: "https://A.example/cb" })).outcome, "invalid");
  assert.equal((await redeem(sent)).outcome, "ok");
  const implied = await authorize(s.cookie, { sent: false });
  assert.equal((await redeem(implied, { redirect: "https://a.example/other" })).outcome, "invalid");
  assert.equal((await redeem(implied, { redirect: null })).outcome, "ok", "omitted both times");
});

Deno.test("unknown codes and tokens, and malformed arguments, change nothing", opts, async () => {
  const { a, r } = await signedIn();
  assert.equal((await redeem({ ...a, code: hex() })).outcome, "unknown");
  assert.equal((await refresh(hex())).outcome, "unknown");
  // NULL where a check compares would skip it: refused outright (22004), not answered.
  for (
    const call of [
      fn`select * from portcullis.sso_redeem(${a.code}, ${null}, null, ${a.challenge}, ${hex()}, 60)`,
      fn`select * from portcullis.sso_redeem(${a.code}, ${a.client}, null, ${null}, ${hex()}, 60)`,
      fn`select * from portcullis.sso_refresh(${r.refresh}, ${null}, ${hex()}, 10, null)`,
      fn`select * from portcullis.sso_refresh(${r.refresh}, 'app-a', ${null}, 10, null)`,
      fn`select * from portcullis.sso_authorize(${hex()}, ${hex()}, 'app-a', 'https://a.example/cb', true,
        'c', '{openid}', null, null, ${null}::boolean, false, 60)`,
    ]
  ) {
    await assert.rejects(call, (e: any) => e.code === "22004");
  }
  assert.equal((await family(r.family_id)).revoked_at, null);
  assert.equal((await family(r.family_id)).tokens, 1, "no rotation happened");
});

Deno.test("a logout in progress makes a redemption racing it find the session ended", opts, async () => {
  const s = await login(await newUser());
  const a = await authorize(s.cookie);
  const [, r] = await interleave((tx) => logout(s, { sql: tx }), () => redeem(a));
  assert.equal(r.outcome, "session_ended");
  const [c] =
    await admin`select count(*)::int as n from portcullis.sso_families where session_id = ${s.id}::uuid`;
  assert.equal(c.n, 0);
});

Deno.test(
  "a redemption in progress makes a logout racing it wait, then revoke its family",
  opts,
  async () => {
    const s = await login(await newUser());
    const a = await authorize(s.cookie);
    const [r, rows] = await interleave((tx) => redeem(a, { sql: tx }), () => logout(s));
    assert.equal(r.outcome, "ok");
    assert.equal((await family(r.family_id)).revoked_reason, "logout");
    assert.deepEqual(rows.map((x: any) => x.client_id), ["app-a"], "the app that now holds a family is told");
  },
);

Deno.test(
  "a refresh in progress makes a logout racing it wait, then revoke the successor too",
  opts,
  async () => {
    const { s, r } = await signedIn();
    const [n] = await interleave((tx) => refresh(r.refresh, { sql: tx }), () => logout(s));
    assert.equal(n.outcome, "rotated");
    assert.equal((await family(r.family_id)).revoked_reason, "logout");
    assert.equal((await refresh(n.successor)).outcome, "revoked");
  },
);

Deno.test(
  "items 39-40: each refresh rotates; a retry inside the grace window gets the same successor; reuse revokes",
  opts,
  async () => {
    const { r } = await signedIn();
    const first = await refresh(r.refresh);
    assert.equal(first.outcome, "rotated");
    const again = await refresh(r.refresh, { successor: first.successor });
    assert.equal(again.outcome, "retry");
    assert.equal((await family(r.family_id)).tokens, 2, "a retry makes no new token");
    const next = await refresh(first.successor);
    assert.equal(next.outcome, "rotated");
    // The successor is used now: the parent again is reuse.
    assert.equal((await refresh(r.refresh, { successor: first.successor })).outcome, "reuse");
    assert.equal((await family(r.family_id)).revoked_reason, "refresh_reuse");
    assert.equal((await refresh(next.successor)).outcome, "revoked");
  },
);

Deno.test(
  "item 40: a retry after the grace window is reuse, and the window is capped at 60 s",
  opts,
  async () => {
    const { r } = await signedIn();
    const first = await refresh(r.refresh);
    await admin`update portcullis.sso_refresh_tokens set rotated_at = now() - interval '61 seconds'
    where token_hash = decode(${r.refresh}, 'hex')`;
    const [late] =
      await fn`select outcome from portcullis.sso_refresh(${r.refresh}, 'app-a', ${first.successor},
    3600, null)`;
    assert.equal(late.outcome, "reuse", "a grace of an hour is treated as 60 s");
    assert.equal((await family(r.family_id)).revoked_reason, "refresh_reuse");
  },
);

Deno.test("item 41: another client's refresh token revokes nothing; scope only narrows", opts, async () => {
  const { r } = await signedIn({ scopes: ["openid", "email"] });
  assert.equal((await refresh(r.refresh, { client: "app-b" })).outcome, "foreign");
  assert.equal((await family(r.family_id)).revoked_at, null);
  assert.equal((await refresh(r.refresh, { scopes: ["openid", "phone"] })).outcome, "scope");
  const narrow = await refresh(r.refresh, { scopes: ["openid"] });
  assert.equal(narrow.outcome, "rotated");
  assert.deepEqual(narrow.scopes, ["openid"]);
  assert.deepEqual((await family(r.family_id)).scopes, ["openid", "email"], "the grant itself is unchanged");
  assert.deepEqual((await refresh(narrow.successor)).scopes, ["openid", "email"]);
});

Deno.test("reuse is detected before the scope check", opts, async () => {
  const { r } = await signedIn();
  const first = await refresh(r.refresh);
  await refresh(first.successor);
  assert.equal(
    (await refresh(r.refresh, { successor: first.successor, scopes: ["admin"] })).outcome,
    "reuse",
  );
  assert.equal((await family(r.family_id)).revoked_reason, "refresh_reuse");
});

Deno.test("item 42: ten parallel refreshes of one token make one successor", opts, async () => {
  const { r } = await signedIn();
  const successor = hex();
  const all = await Promise.all(Array.from({ length: 10 }, () => refresh(r.refresh, { successor })));
  const outcomes = all.map((x) => x.outcome).sort();
  assert.deepEqual(outcomes, ["retry", ...Array(8).fill("retry"), "rotated"].sort());
  assert.equal((await family(r.family_id)).tokens, 2);
  assert.equal((await family(r.family_id)).revoked_at, null);
});

Deno.test("a banned user is refused without losing the grant; a deleted one loses it", opts, async () => {
  const { s, r } = await signedIn();
  await admin`update auth.users set banned_until = now() + interval '1 hour' where id = ${s.user}::uuid`;
  assert.equal((await refresh(r.refresh)).outcome, "user_banned");
  assert.equal((await authorize(s.cookie)).outcome, "user_banned");
  assert.equal((await userinfo(r.family_id)).outcome, "user_banned");
  assert.equal((await family(r.family_id)).tokens, 1, "nothing rotated");
  await admin`update auth.users set banned_until = now() - interval '1 second' where id = ${s.user}::uuid`;
  const n = await refresh(r.refresh);
  assert.equal(n.outcome, "rotated", "the ban ended: the token works again");
  await admin`update auth.users set deleted_at = now() where id = ${s.user}::uuid`;
  assert.equal((await refresh(n.successor)).outcome, "user_gone");
  assert.equal((await family(r.family_id)).revoked_reason, "user_gone");
  const [l] =
    await fn`select outcome from portcullis.sso_login(${hex()}, ${s.user}::uuid, 'aal1', '[]', 0, 60,
    false, null, null)`;
  assert.equal(l.outcome, "user_gone");
});

Deno.test("item 27: consent is required, recorded for exactly its scopes, and merged", opts, async () => {
  const s = await login(await newUser());
  const third = { client: "app-c", redirect: "https://c.example/cb", needsConsent: true };
  assert.equal((await authorize(s.cookie, { ...third, scopes: ["openid"] })).outcome, "consent_required");
  assert.equal((await authorize(s.cookie, { ...third, scopes: ["openid"], grant: true })).outcome, "issued");
  assert.equal((await authorize(s.cookie, { ...third, scopes: ["openid"] })).outcome, "issued", "remembered");
  assert.equal(
    (await authorize(s.cookie, { ...third, scopes: ["openid", "email"] })).outcome,
    "consent_required",
  );
  await authorize(s.cookie, { ...third, scopes: ["email"], grant: true });
  const [g] =
    await admin`select scopes from portcullis.sso_grants where user_id = ${s.user}::uuid and client_id = 'app-c'`;
  assert.deepEqual(g.scopes, ["email", "openid"]);
  assert.equal((await authorize(s.cookie, { ...third, scopes: ["openid", "email"] })).outcome, "issued");
  const other = await login(await newUser());
  assert.equal(
    (await authorize(other.cookie, { ...third, scopes: ["openid"] })).outcome,
    "consent_required",
    "per user",
  );
});

Deno.test("max_age and session expiry", opts, async () => {
  const s = await login(await newUser(), nowSecs() - 600);
  assert.equal((await authorize(s.cookie, { maxAge: 300 })).outcome, "max_age");
  assert.equal((await authorize(s.cookie, { maxAge: 900 })).outcome, "issued");
  assert.equal((await authorize(hex())).outcome, "no_session");
  const { s: t, r } = await signedIn();
  await admin`update portcullis.sso_sessions set expires_at = now() - interval '1 second' where id = ${t.id}::uuid`;
  assert.equal((await authorize(t.cookie)).outcome, "no_session");
  assert.equal((await refresh(r.refresh)).outcome, "session_ended");
  assert.equal((await userinfo(r.family_id)).outcome, "revoked");
  assert.equal((await logout(t)).length, 0, "an expired session cannot log out (it is over)");
  const [row] = await fn`select * from portcullis.sso_session(${t.cookie})`;
  assert.equal(row, undefined);
});

Deno.test(
  "item 45: logout ends the session, revokes every app's family, and queues back-channel deliveries",
  opts,
  async () => {
    const { s, a, r } = await signedIn();
    const b = await authorize(s.cookie, { client: "app-b", redirect: "https://b.example/cb" });
    const rb = await redeem(b);
    assert.equal(rb.outcome, "ok");
    const other = await login(s.user);
    const rows = await logout(s, {
      clients: ["app-a", "app-b", "app-z"],
      uris: ["https://a/bc", "https://b/bc", "https://z/bc"],
    });
    assert.deepEqual(rows.map((x: any) => [x.client_id, x.uri]).sort(), [["app-a", "https://a/bc"], [
      "app-b",
      "https://b/bc",
    ]]);
    assert.ok(rows.every((x: any) => x.session_id === s.id && x.user_id === s.user));
    assert.equal((await refresh(r.refresh)).outcome, "revoked");
    assert.equal((await refresh(rb.refresh, { client: "app-b" })).outcome, "revoked");
    assert.equal((await authorize(s.cookie)).outcome, "no_session");
    assert.equal(
      (await redeem(await authorize(other.cookie))).outcome,
      "ok",
      "the user's other session lives on",
    );
    assert.equal((await logout(s)).length, 0, "a second logout finds nothing");
    void a;
  },
);

Deno.test("revoking another session of one's own, never someone else's", opts, async () => {
  const mine = await login(await newUser());
  const second = await login(mine.user);
  const stranger = await login(await newUser());
  await fn`select * from portcullis.sso_logout(${mine.cookie}, ${stranger.id}::uuid, 'revoked', '{}', '{}')`;
  assert.equal((await authorize(stranger.cookie)).outcome, "issued");
  const [list] = await fn`select portcullis.sso_sessions_list(${mine.cookie}) as j`;
  const sessions = JSON.parse(list.j);
  assert.deepEqual(sessions.map((x: any) => x.id).sort(), [mine.id, second.id].sort());
  assert.equal(sessions.find((x: any) => x.current).id, mine.id);
  await fn`select * from portcullis.sso_logout(${mine.cookie}, ${second.id}::uuid, 'revoked', '{}', '{}')`;
  assert.equal((await authorize(second.cookie)).outcome, "no_session");
  assert.equal((await authorize(mine.cookie)).outcome, "issued");
  await assert.rejects(
    fn`select * from portcullis.sso_logout(${mine.cookie}, null, 'logout', '{app-a}', '{}')`,
    (e: any) => e.code === "2202E",
  );
  await assert.rejects(
    fn`select * from portcullis.sso_logout(${mine.cookie}, null, 'admin', '{}', '{}')`,
    (e: any) => e.code === "22023",
  );
  assert.equal((await authorize(mine.cookie)).outcome, "issued", "the refused calls ended nothing");
});

Deno.test("the back-channel outbox settles, backs off without overflow, and gives up", opts, async () => {
  const { s } = await signedIn();
  const [row] = await logout(s, { clients: ["app-a"], uris: ["https://a/bc"] });
  const id = Number(row.outbox_id);
  const settle = (status: number, max = 5) =>
    fn`select * from portcullis.sso_outbox(${[id]}::bigint[], ${[status]}::integer[], ${max}, 0)`;
  await settle(503);
  let [o] = await admin`select attempts, delivered_at, gave_up_at, last_status,
    extract(epoch from next_attempt_at - now())::int as wait from portcullis.sso_logout_outbox where id = ${id}`;
  assert.equal(o.last_status, 503);
  assert.equal(o.gave_up_at, null);
  assert.ok(o.wait >= 25 && o.wait <= 31, `first retry in about 30 s, not ${o.wait}`);
  // Many attempts in: the backoff stays an hour (2^n would overflow an interval).
  await admin`update portcullis.sso_logout_outbox set attempts = 60 where id = ${id}`;
  await settle(0, 100);
  [o] = await admin`select extract(epoch from next_attempt_at - now())::int as wait, gave_up_at
    from portcullis.sso_logout_outbox where id = ${id}`;
  assert.ok(o.wait > 3500 && o.wait <= 3600, `capped at an hour, not ${o.wait}`);
  assert.equal(o.gave_up_at, null);
  // Due, with its attempts spent (a claim that never settled): given up, not claimed.
  await admin`update portcullis.sso_logout_outbox set next_attempt_at = now() - interval '1 second' where id = ${id}`;
  const claimed = await fn`select * from portcullis.sso_outbox('{}', '{}', 5, 10)`;
  assert.ok(!claimed.some((x: any) => Number(x.outbox_id) === id));
  [o] = await admin`select gave_up_at from portcullis.sso_logout_outbox where id = ${id}`;
  assert.notEqual(o.gave_up_at, null);
  // A delivered one.
  const { s: t } = await signedIn();
  const [d] = await logout(t, { clients: ["app-a"], uris: ["https://a/bc"] });
  await fn`select * from portcullis.sso_outbox(${[Number(d.outbox_id)]}::bigint[], ${[
    204,
  ]}::integer[], 5, 0)`;
  [o] = await admin`select delivered_at from portcullis.sso_logout_outbox where id = ${d.outbox_id}`;
  assert.notEqual(o.delivered_at, null);
  await assert.rejects(
    fn`select * from portcullis.sso_outbox('{1,2}', '{200}', 5, 0)`,
    (e: any) => e.code === "2202E",
  );
});

Deno.test("item 46: throttle windows count each distinct key once and report the wait", opts, async () => {
  const k = `acct:${hex()}`;
  const ip = `ip:${hex()}`;
  const hit = async (keys: string[]) =>
    (await fn`select portcullis.sso_throttle_hit(${keys}::text[], 3, 300) as w`)[0].w;
  assert.equal(await hit([k, ip, k]), 0);
  assert.equal(await hit([ip, k]), 0);
  assert.equal(await hit([k]), 0);
  const wait = await hit([k, ip]);
  assert.ok(wait > 290 && wait <= 300, `wait ${wait}`);
  const [c] = await admin`select count from portcullis.sso_throttle where key = ${ip}`;
  assert.equal(c.count, 3, "the duplicate key counted once");
  await admin`update portcullis.sso_throttle set window_started_at = now() - interval '301 seconds' where key in (${k}, ${ip})`;
  assert.equal(await hit([k, ip]), 0, "a new window");
});

Deno.test("prune removes only what is long over", opts, async () => {
  const { s: old } = await signedIn();
  const { s: live, r } = await signedIn();
  await admin`update portcullis.sso_sessions set ended_at = now() - interval '2 days' where id = ${old.id}::uuid`;
  await fn`select portcullis.sso_prune(1000)`;
  const rows =
    await admin`select id from portcullis.sso_sessions where id in (${old.id}::uuid, ${live.id}::uuid)`;
  assert.deepEqual(rows.map((x: any) => x.id), [live.id]);
  assert.equal((await refresh(r.refresh)).outcome, "rotated");
});

Deno.test("portcullis_fn reaches the sso tables only through the functions", opts, async () => {
  for (
    const q of [
      fn`select count(*) from portcullis.sso_sessions`,
      fn`select count(*) from portcullis.sso_refresh_tokens`,
      fn`update portcullis.sso_families set revoked_at = null`,
      fn`select * from portcullis.user_state(gen_random_uuid())`,
      fn`select * from portcullis.sso_mint_facts(gen_random_uuid(), null)`,
    ]
  ) {
    await assert.rejects(q, (e: any) => e.code === "42501");
  }
});

Deno.test({
  name: "close connections",
  ...opts,
  fn: async () => {
    await fn.end();
    await admin.end();
  },
});
