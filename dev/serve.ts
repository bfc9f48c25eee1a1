// Local development: every Portcullis function on Deno with an embedded PGlite database
// (Postgres compiled to Wasm, in-process, persisted to PORTCULLIS_PGLITE_DIR). Started by
// `cargo xtask dev`; never deployed. The function shims are imported unchanged: only the
// database they see differs (runtime.ts picks up globalThis.portcullisDatabase).
import { PGlite } from "@electric-sql/pglite";

const dir = Deno.env.get("PORTCULLIS_PGLITE_DIR");
if (!dir) throw new Error("PORTCULLIS_PGLITE_DIR must be set (run `cargo xtask dev`)");

const started = performance.now();
const db = await PGlite.create(dir);
const migrations = [...Deno.readDirSync(new URL("../supabase/migrations/", import.meta.url))]
  .filter((e) => e.isFile && e.name.endsWith(".sql"))
  .map((e) => e.name)
  .sort();
for (const name of migrations) {
  await db.exec(await Deno.readTextFile(new URL(`../supabase/migrations/${name}`, import.meta.url)));
}
// A demo user's extra claims, merged by the custom access token hook's lookup.
await db.query(
  `insert into portcullis.user_claims (user_id, claims) values ($1::uuid, $2::jsonb)
   on conflict (user_id) do update set claims = excluded.claims, updated_at = now()`,
  [Deno.env.get("PORTCULLIS_DEMO_USER_ID"), JSON.stringify({ plan: "pro", features: ["sso", "audit-log"] })],
);
console.log(`PGlite ready in ${Math.round(performance.now() - started)} ms (${migrations.length} migration(s) applied)`);

globalThis.portcullisDatabase = async (sql, params) =>
  (await db.query<(string | null)[]>(sql, params, { rowMode: "array" })).rows;

// The dev mailbox: what the send-email and send-sms hooks queued, readable in a browser on the
// next port (the outbox is the default delivery, so nothing leaves this machine).
const mailboxPort = Number(Deno.env.get("PORTCULLIS_PORT")) + 1;
const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
Deno.serve({ port: mailboxPort, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
  const id = new URL(req.url).searchParams.get("email");
  if (id) {
    const r = await db.query<{ html: string }>("select html from portcullis.email_outbox where id = $1::bigint", [id]);
    return new Response(r.rows[0]?.html ?? "not found", { headers: { "content-type": "text/html; charset=utf-8" } });
  }
  const emails = await db.query<Record<string, string>>(
    `select id::text, created_at::text, email_type, recipient, subject, status from portcullis.email_outbox order by id desc limit 50`,
  );
  const sms = await db.query<Record<string, string>>(
    `select created_at::text, sms_type, recipient, body, status from portcullis.sms_outbox order by id desc limit 50`,
  );
  const rows = emails.rows.map((e) =>
    `<tr><td>${esc(e.created_at)}</td><td>${esc(e.email_type)}</td><td>${esc(e.recipient)}</td><td>${e.subject === null ? "<i>content cleared</i>" : `<a href="?email=${e.id}">${esc(e.subject)}</a>`}</td><td>${esc(e.status)}</td></tr>`
  ).join("");
  const texts = sms.rows.map((m) =>
    `<tr><td>${esc(m.created_at)}</td><td>${esc(m.sms_type)}</td><td>${esc(m.recipient)}</td><td>${m.body === null ? "<i>content cleared</i>" : `<pre>${esc(m.body)}</pre>`}</td><td>${esc(m.status)}</td></tr>`
  ).join("");
  return new Response(
    `<!DOCTYPE html><meta charset="utf-8"><title>Portcullis dev mailbox</title><body style="font-family:sans-serif">
<h1>E-mails</h1><table border="1" cellpadding="6">${rows || "<tr><td>none yet</td></tr>"}</table>
<h1>SMS</h1><table border="1" cellpadding="6">${texts || "<tr><td>none yet</td></tr>"}</table>`,
    { headers: { "content-type": "text/html; charset=utf-8" } },
  );
});
console.log(`dev mailbox on http://127.0.0.1:${mailboxPort}/`);

Deno.addSignalListener("SIGINT", async () => {
  await db.close();
  Deno.exit(0);
});

await import("../functions/portcullis-hooks/index.ts");
