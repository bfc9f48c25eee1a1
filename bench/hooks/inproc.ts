// (b') Every hook's handler without HTTP and without PostgreSQL, in Deno: the same signed
// request handed to our Wasm function through the real shim (functions/_shared/adapter.ts) and
// to the TypeScript hooks (bench/ts-hooks/all.ts), alternated over many rounds. Both sides get
// the same stub database: an async function answering what each statement expects. send-email
// is compared twice: against the simple template literal, and against a TypeScript renderer
// doing the same work as ours (our branded layout, text part, escaping).
// Prints one JSON line: {hook: {ours: {median, min}, ts: {...}}}, µs per request.
import { Served, wasmModule } from "../../functions/_shared/adapter.ts";
import { makeBrandedRenderer, makeHandlers } from "../ts-hooks/all.ts";
import { Webhook } from "standardwebhooks";

const SECRET = Deno.env.get("PORTCULLIS_HOOK_SECRETS")!;
const policy = await Deno.readTextFile(new URL("../hooks-policy.json", import.meta.url));
// BENCH_GLUE / BENCH_WASM: another build of the module (a named one, for profiling).
const glue = Deno.env.get("BENCH_GLUE") ?? "../../functions/portcullis-hooks/wasm/portcullis_hooks.js";
const wasm = await import(glue.startsWith("/") ? `file://${glue}` : glue);
wasm.initSync({
  module: await Deno.readFile(
    Deno.env.get("BENCH_WASM") ??
      new URL("../../functions/portcullis-hooks/wasm/portcullis_hooks_bg.wasm", import.meta.url),
  ),
});
const env: Record<string, string> = {
  PORTCULLIS_HOOK_SECRETS: SECRET,
  PORTCULLIS_HOOKS_POLICY: JSON.stringify(JSON.parse(policy)),
};
const ours = new Served(
  wasmModule(
    wasm,
    (get: (n: string) => string | undefined, hasDb: boolean) => new wasm.HooksFunction(get, hasDb),
  ),
  (name) => env[name],
  true,
);

// The stub database: what each statement answers, after a promise hop (as a driver would).
const answer = (text: string): (string | null)[][] => {
  if (text.includes("_claim(")) return [["1", "owned"]];
  if (text.includes("attempt_") || text.includes("returning failures")) return [["1", null]];
  return [];
};
const query = async (text: string, _params: unknown[]) => {
  await Promise.resolve();
  return answer(text);
};

const root = new URL("../../", import.meta.url);
const disposable = new Set(
  (await Deno.readTextFile(new URL("crates/hooks/domain/data/disposable_domains.txt", root))).split("\n")
    .filter((
      l,
    ) => l && !l.startsWith("#")),
);
const ts = makeHandlers(SECRET, disposable);
const branded = makeHandlers(
  SECRET,
  disposable,
  makeBrandedRenderer(
    await Deno.readTextFile(new URL("crates/hooks/domain/src/email/layout.html", root)),
    await Deno.readTextFile(new URL("crates/hooks/domain/src/email/layout.txt", root)),
  ),
);

const now = Math.floor(Date.now() / 1000);
const user = (o: Record<string, unknown> = {}) => ({
  id: "8c7e6b2a-0000-4000-8000-000000000001",
  aud: "authenticated",
  role: "authenticated",
  email: "ada.lovelace@example.com",
  phone: "4915112345678",
  app_metadata: { provider: "email", providers: ["email"] },
  user_metadata: { full_name: "Ada Lovelace", locale: "en" },
  identities: [],
  created_at: "2026-11-01T10:00:00Z",
  updated_at: "2026-11-23T12:00:00Z",
  is_anonymous: false,
  ...o,
});
const meta = (name: string) => ({
  uuid: "6f1e0000-0000-4000-8000-00000000000a",
  time: "2026-11-23T12:00:00Z",
  name,
  ip_address: "192.0.2.1",
});
const payloads: Record<string, unknown> = {
  "/custom-access-token": JSON.parse(await Deno.readTextFile(Deno.env.get("BENCH_BODY")!)),
  "/before-user-created": { metadata: meta("before-user-created"), user: user() },
  "/send-email": {
    metadata: meta("send-email"),
    user: user(),
    email_data: {
      token: "305805",
      token_hash: "7d8a1f0c2b9e4d3a5f6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b",
      redirect_to: "https://app.example.com/welcome",
      email_action_type: "magiclink",
      site_url: "https://abcdefghijklmnop.supabase.co/auth/v1",
      token_new: "",
      token_hash_new: "",
      old_email: "",
      old_phone: "",
      provider: "",
      factor_type: "",
    },
  },
  "/send-sms": { metadata: meta("send-sms"), user: user(), sms: { otp: "123456", phone: "4915112345678" } },
  "/mfa-verification-attempt": {
    metadata: meta("mfa-verification"),
    user_id: user().id,
    factor_id: "f1",
    factor_type: "totp",
    valid: false,
  },
  "/password-verification-attempt": {
    metadata: meta("password-verification"),
    user_id: user().id,
    valid: false,
  },
  "/after-user-created": { metadata: meta("after-user-created"), user: user() },
};
const wh = new Webhook(SECRET.replace(/^v1,/, ""));
const signed = Object.fromEntries(
  Object.entries(payloads).map(([path, p]) => {
    const body = JSON.stringify(p);
    const id = "3a1bd4a8-5b39-4a6b-9c3a-1f2e3d4c5b6a";
    const at = new Date(now * 1000);
    const sig = wh.sign(id, at, body);
    const headers = {
      "content-type": "application/json",
      "content-length": String(new TextEncoder().encode(body).length),
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
      "webhook-signature": sig,
    };
    return [path, { body, headers }];
  }),
);

const request = (prefix: string, path: string) =>
  new Request(`http://127.0.0.1${prefix}${path}`, {
    method: "POST",
    headers: signed[path].headers,
    body: signed[path].body,
  });

async function check(r: Response, who: string, path: string) {
  const text = await r.text();
  if (r.status !== 200 || text.includes('"error"')) {
    throw new Error(`${who} ${path}: ${r.status} ${text.slice(0, 200)}`);
  }
}

type Run = () => Promise<void>;
const cases: [string, Run, Run][] = Object.keys(payloads).map((path) => [
  path,
  async () => check(await ours.fetch(request("/portcullis-hooks", path), query), "ours", path),
  async () => check(await ts[path](request("", path), query), "ts", path),
]);
cases.push([
  "/send-email (same work)",
  async () =>
    check(await ours.fetch(request("/portcullis-hooks", "/send-email"), query), "ours", "/send-email"),
  async () =>
    check(await branded["/send-email"](request("", "/send-email"), query), "ts branded", "/send-email"),
]);

async function round(f: Run, n: number): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < n; i++) await f();
  return ((performance.now() - t) * 1000) / n;
}
const stats = (v: number[]) => {
  v.sort((a, b) => a - b);
  return { median: v[Math.floor(v.length / 2)], min: v[0] };
};
const rounds = Number(Deno.env.get("BENCH_ROUNDS") ?? "15");
const out: Record<string, unknown> = {};
// BENCH_ONLY: a substring of the hooks to run (profiling).
const only = Deno.env.get("BENCH_ONLY");
for (const [name, a, b] of cases.filter(([n]) => !only || n.includes(only))) {
  for (let i = 0; i < 2000; i++) {
    await a();
    await b();
  }
  const s = { ours: [] as number[], ts: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    s.ours.push(await round(a, 1500));
    s.ts.push(await round(b, 1500));
  }
  out[name] = { ours: stats(s.ours), ts: stats(s.ts) };
}
console.log(JSON.stringify(out));
