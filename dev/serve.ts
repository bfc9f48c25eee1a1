// Local development: every Portcullis function on Deno with an embedded PGlite database
// (Postgres compiled to Wasm, in-process, persisted to PORTCULLIS_PGLITE_DIR). Started by
// `cargo xtask dev`; never deployed. The function shims are imported unchanged: only the
// database they see differs (runtime.ts picks up globalThis.portcullisDatabase).
import { PGlite } from "@electric-sql/pglite";
import { createLocalJWKSet, jwtVerify } from "jose";

const dir = Deno.env.get("PORTCULLIS_PGLITE_DIR");
if (!dir) throw new Error("PORTCULLIS_PGLITE_DIR must be set (run `cargo xtask dev`)");

const started = performance.now();
const db = await PGlite.create(dir);
// What a Supabase database has that the functions meet: the API roles, auth.users, auth.uid().
await db.exec(await Deno.readTextFile(new URL("../tests/fixtures/supabase-auth.sql", import.meta.url)));
const migrations = [...Deno.readDirSync(new URL("../supabase/migrations/", import.meta.url))]
  .filter((e) => e.isFile && e.name.endsWith(".sql"))
  .map((e) => e.name)
  .sort();
for (const name of migrations) {
  await db.exec(await Deno.readTextFile(new URL(`../supabase/migrations/${name}`, import.meta.url)));
}
// The demo user, and a table of theirs under RLS for the pat walkthrough.
const demo = Deno.env.get("PORTCULLIS_DEMO_USER_ID")!;
await db.query(
  `insert into auth.users (id, email, raw_app_meta_data, raw_user_meta_data)
   values ($1::uuid, 'demo@example.com', '{"provider":"email","providers":["email"]}', '{"name":"Demo"}')
   on conflict (id) do nothing`,
  [demo],
);
await db.exec(`
  create table if not exists public.notes (id bigint generated always as identity primary key,
    owner uuid not null default auth.uid(), body text not null);
  alter table public.notes enable row level security;
  do $$ begin
    if not exists (select 1 from pg_policies where tablename = 'notes' and policyname = 'owner') then
      create policy owner on public.notes for all to authenticated
        using (owner = auth.uid()) with check (owner = auth.uid());
      insert into public.notes (owner, body) values
        ('${demo}', 'the demo user''s first note'), ('${demo}', 'their second note'),
        ('00000000-0000-4000-8000-0000000000b0', 'someone else''s note');
    end if;
  end $$;
  grant select, insert on public.notes to authenticated;`);
// A demo user's extra claims, merged by the custom access token hook's lookup.
await db.query(
  `insert into portcullis.user_claims (user_id, claims) values ($1::uuid, $2::jsonb)
   on conflict (user_id) do update set claims = excluded.claims, updated_at = now()`,
  [demo, JSON.stringify({ plan: "pro", features: ["sso", "audit-log"] })],
);
console.log(
  `PGlite ready in ${Math.round(performance.now() - started)} ms (${migrations.length} migration(s) applied)`,
);

globalThis.portcullisDatabase = async (sql, params) =>
  (await db.query<(string | null)[]>(sql, params, { rowMode: "array" })).rows;

// The dev mailbox: what the send-email and send-sms hooks queued, readable in a browser on the
// next port (the outbox is the default delivery, so nothing leaves this machine).
const mailboxPort = Number(Deno.env.get("PORTCULLIS_PORT")) + 1;
const esc = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
Deno.serve({ port: mailboxPort, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
  const id = new URL(req.url).searchParams.get("email");
  if (id) {
    const r = await db.query<{ html: string }>(
      "select html from portcullis.email_outbox where id = $1::bigint",
      [id],
    );
    return new Response(r.rows[0]?.html ?? "not found", {
      headers: { "content-type": "text/html; charset=utf-8" },
    });
  }
  const emails = await db.query<Record<string, string>>(
    `select id::text, created_at::text, email_type, recipient, subject, status from portcullis.email_outbox order by id desc limit 50`,
  );
  const sms = await db.query<Record<string, string>>(
    `select created_at::text, sms_type, recipient, body, status from portcullis.sms_outbox order by id desc limit 50`,
  );
  const rows = emails.rows.map((e) =>
    `<tr><td>${esc(e.created_at)}</td><td>${esc(e.email_type)}</td><td>${esc(e.recipient)}</td><td>${
      e.subject === null ? "<i>content cleared</i>" : `<a href="?email=${e.id}">${esc(e.subject)}</a>`
    }</td><td>${esc(e.status)}</td></tr>`
  ).join("");
  const texts = sms.rows.map((m) =>
    `<tr><td>${esc(m.created_at)}</td><td>${esc(m.sms_type)}</td><td>${esc(m.recipient)}</td><td>${
      m.body === null ? "<i>content cleared</i>" : `<pre>${esc(m.body)}</pre>`
    }</td><td>${esc(m.status)}</td></tr>`
  ).join("");
  return new Response(
    `<!DOCTYPE html><meta charset="utf-8"><title>Portcullis dev mailbox</title><body style="font-family:sans-serif">
<h1>E-mails</h1><table border="1" cellpadding="6">${rows || "<tr><td>none yet</td></tr>"}</table>
<h1>SMS</h1><table border="1" cellpadding="6">${texts || "<tr><td>none yet</td></tr>"}</table>`,
    { headers: { "content-type": "text/html; charset=utf-8" } },
  );
});
console.log(`dev mailbox on http://127.0.0.1:${mailboxPort}/`);

// A stand-in for the project's JWKS endpoint and Data API on PORTCULLIS_PORT + 3 (SUPABASE_URL
// in dev): the JWKS publishes the pat signing key as an imported key would be; /rest/v1/<table>
// does what PostgREST does with a bearer token (the key with the token's kid, or the legacy
// secret for HS256; 30 s skew; `set local role` from the role claim; request.jwt.claims for
// auth.uid()), for `select=*` reads only.
const jwks = JSON.parse(Deno.env.get("PORTCULLIS_DEV_JWKS") ?? '{"keys":[]}');
const projectKeys = createLocalJWKSet(jwks);
const legacy = new TextEncoder().encode(Deno.env.get("PORTCULLIS_JWT_SECRET") ?? "");
const projectPort = Number(Deno.env.get("PORTCULLIS_PORT")) + 3;
Deno.serve({ port: projectPort, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
  const url = new URL(req.url);
  const cors = { "access-control-allow-origin": "*", "access-control-allow-headers": "*" };
  if (req.method === "OPTIONS") return new Response(null, { status: 204, headers: cors });
  if (url.pathname === "/auth/v1/.well-known/jwks.json") {
    return Response.json(jwks, { headers: { "cache-control": "public, max-age=600" } });
  }
  const table = url.pathname.match(/^\/rest\/v1\/([a-z_]+)$/)?.[1];
  if (!table || req.method !== "GET") {
    return Response.json({ message: "not in the dev stand-in" }, { status: 404 });
  }
  const bearer = req.headers.get("authorization")?.replace(/^Bearer /i, "");
  let claims: Record<string, unknown> = { role: "anon" };
  if (bearer) {
    try {
      const alg = JSON.parse(atob(bearer.split(".")[0].replace(/-/g, "+").replace(/_/g, "/"))).alg;
      const verified = alg === "HS256"
        ? await jwtVerify(bearer, legacy, { audience: "authenticated", clockTolerance: 30 })
        : await jwtVerify(bearer, projectKeys, { audience: "authenticated", clockTolerance: 30 });
      claims = verified.payload as Record<string, unknown>;
    } catch (e) {
      return Response.json({ code: "PGRST301", message: String(e) }, { status: 401, headers: cors });
    }
  }
  const role = claims.role === "authenticated" ? "authenticated" : "anon";
  try {
    const rows = await db.transaction(async (tx) => {
      await tx.exec(`set local role ${role}`);
      await tx.query("select set_config('request.jwt.claims', $1, true)", [JSON.stringify(claims)]);
      return (await tx.query(`select * from public.${table}`)).rows;
    });
    return Response.json(rows, { headers: cors });
  } catch (e) {
    return Response.json({ message: String(e) }, { status: 400, headers: cors });
  }
});
console.log(`dev project stand-in (JWKS, /rest/v1) on http://127.0.0.1:${projectPort}/`);

Deno.addSignalListener("SIGINT", async () => {
  await db.close();
  Deno.exit(0);
});

// Each shim listens on PORTCULLIS_PORT when it is imported: hooks on the base port, pat on +2,
// sign on +4 (its bucket is the SeaweedFS `cargo xtask dev` runs on +5).
const basePort = Deno.env.get("PORTCULLIS_PORT")!;
await import("../functions/portcullis-hooks/index.ts");
Deno.env.set("PORTCULLIS_PORT", String(Number(basePort) + 2));
await import("../functions/portcullis-pat/index.ts");
Deno.env.set("PORTCULLIS_PORT", String(Number(basePort) + 4));
await import("../functions/portcullis-sign/index.ts");
Deno.env.set("PORTCULLIS_PORT", basePort);
