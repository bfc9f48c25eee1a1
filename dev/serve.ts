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

Deno.addSignalListener("SIGINT", async () => {
  await db.close();
  Deno.exit(0);
});

await import("../functions/portcullis-hooks/index.ts");
