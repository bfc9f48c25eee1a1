// The TypeScript comparison hooks on Deno (as a Supabase Edge Function would run them): one
// postgres.js pool per process when PORTCULLIS_DB_URL is set. /send-email-branded is
// /send-email rendering our branded layout (the same e-mail work as ours).
import postgres from "postgres";
import { makeBrandedRenderer, makeHandlers, overPostgres, route } from "./all.ts";

const url = Deno.env.get("PORTCULLIS_DB_URL");
const sql = url ? overPostgres(postgres(url, { max: 4, prepare: false, onnotice: () => {} })) : undefined;
const read = (path: string) => Deno.readTextFile(new URL(`../../${path}`, import.meta.url));
const list = await read("crates/hooks/domain/data/disposable_domains.txt");
const disposable = new Set(list.split("\n").filter((l) => l && !l.startsWith("#")));
const secret = Deno.env.get("PORTCULLIS_HOOK_SECRETS") ?? "";
const branded = makeBrandedRenderer(
  await read("crates/hooks/domain/src/email/layout.html"),
  await read("crates/hooks/domain/src/email/layout.txt"),
);
const handler = route({
  ...makeHandlers(secret, disposable),
  "/send-email-branded": makeHandlers(secret, disposable, branded)["/send-email"],
});
Deno.serve(
  { port: Number(Deno.env.get("PORTCULLIS_PORT")), hostname: "127.0.0.1" },
  (req) => handler(req, sql),
);
