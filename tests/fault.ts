// Fault test: load on /send-email while the harness restarts PostgreSQL (xtask test starts
// this script, then restarts the server a few seconds in). Every request gets its own
// metadata.uuid, as GoTrue's calls do. Afterwards:
// - every answer is one GoTrue handles: 200 {} (sent or queued), or a 200 error object
//   (GoTrue shows the user an error; a retry carries the same uuid), or 503 + retry-after;
//   nothing else (no 5xx, no hang past GoTrue's 5 s);
// - errors are bounded: only around the restart, and the function recovers without a restart;
// - every accepted e-mail has exactly one outbox row: nothing lost, nothing doubled.
// Prints a JSON summary; exits non-zero when a check fails.
import postgres from "postgres";
import { required, sign } from "./support.ts";

const BASE = required("PORTCULLIS_BASE_URL");
const admin = postgres(required("PORTCULLIS_ADMIN_DB_URL"), { max: 2, onnotice: () => {} });
const seconds = Number(Deno.env.get("PORTCULLIS_FAULT_SECONDS") ?? "12");
const concurrency = 16;
const run = crypto.randomUUID().slice(0, 8);

interface Outcome {
  uuid: string;
  started: number;
  ms: number;
  kind: "accepted" | "error_object" | "retry" | "bad";
  detail: string;
}

function payload(uuid: string, i: number) {
  return {
    metadata: { uuid, time: new Date().toISOString(), name: "send-email", ip_address: "192.0.2.1" },
    user: {
      id: crypto.randomUUID(),
      aud: "authenticated",
      role: "authenticated",
      email: `fault-${run}-${i}@example.com`,
      phone: "",
      app_metadata: { provider: "email" },
      user_metadata: { locale: "en" },
      identities: [],
      is_anonymous: false,
    },
    email_data: {
      token: "305805",
      token_hash: "7d8a1f0c2b9e4d3a5f6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b",
      redirect_to: "",
      email_action_type: "password_changed_notification",
      site_url: "https://abcdefghijklmnop.supabase.co/auth/v1",
      token_new: "",
      token_hash_new: "",
      old_email: "",
      old_phone: "",
      provider: "",
      factor_type: "",
    },
  };
}

async function one(i: number, t0: number): Promise<Outcome> {
  const uuid = crypto.randomUUID();
  const signed = sign(JSON.stringify(payload(uuid, i)));
  const started = performance.now();
  let kind: Outcome["kind"] = "bad";
  let detail = "";
  try {
    const r = await fetch(`${BASE}/send-email`, {
      method: "POST",
      headers: signed.headers,
      body: signed.body,
      signal: AbortSignal.timeout(5000),
    });
    const text = await r.text();
    detail = `${r.status} ${text.slice(0, 120)}`;
    if (r.status === 200 && text === "{}") kind = "accepted";
    else if (r.status === 200 && JSON.parse(text)?.error?.http_code >= 400) kind = "error_object";
    else if (r.status === 503 && r.headers.get("retry-after")) kind = "retry";
  } catch (e) {
    detail = String(e);
  }
  return { uuid, started: started - t0, ms: performance.now() - started, kind, detail };
}

const outcomes: Outcome[] = [];
const t0 = performance.now();
let n = 0;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (performance.now() - t0 < seconds * 1000) outcomes.push(await one(n++, t0));
  }),
);
// Recovered: a calm batch after the load, all accepted.
const after: Outcome[] = [];
for (let i = 0; i < 20; i++) after.push(await one(n++, t0));

const count = (k: Outcome["kind"]) => outcomes.filter((o) => o.kind === k).length;
const accepted = outcomes.filter((o) => o.kind === "accepted").concat(
  after.filter((o) => o.kind === "accepted"),
);
const rows = await admin`select hook_uuid::text as uuid, count(*)::int as n from portcullis.email_outbox
  where recipient like ${`fault-${run}-%`} group by hook_uuid`;
const byUuid = new Map(rows.map((r) => [r.uuid as string, r.n as number]));
const lost = accepted.filter((o) => byUuid.get(o.uuid) !== 1).map((o) => o.uuid);
const doubled = rows.filter((r) => (r.n as number) > 1).map((r) => r.uuid);
const errors = outcomes.filter((o) => o.kind !== "accepted");
const firstError = errors.length ? Math.min(...errors.map((o) => o.started)) : null;
const lastError = errors.length ? Math.max(...errors.map((o) => o.started + o.ms)) : null;
const summary = {
  requests: outcomes.length,
  accepted: count("accepted"),
  error_objects: count("error_object"),
  retry_503: count("retry"),
  bad: count("bad"),
  bad_examples: outcomes.filter((o) => o.kind === "bad").slice(0, 5).map((o) => o.detail),
  slowest_ms: Math.round(Math.max(...outcomes.map((o) => o.ms))),
  error_window_ms: firstError === null ? null : [Math.round(firstError), Math.round(lastError!)],
  after_recovery_accepted: after.filter((o) => o.kind === "accepted").length,
  lost: lost.length,
  doubled: doubled.length,
};
console.log(JSON.stringify(summary));
await admin.end();
const failures = [];
if (summary.bad > 0) failures.push("answers GoTrue cannot handle (or no answer within 5 s)");
if (summary.after_recovery_accepted !== after.length) failures.push("the function did not recover");
if (summary.lost > 0 || summary.doubled > 0) failures.push("accepted e-mails must have exactly one row");
if (errors.length > outcomes.length / 2) failures.push("errors are not bounded to the restart");
if (failures.length) {
  console.error(failures.join("; "));
  Deno.exit(1);
}
