// The TypeScript delivery hooks on Deno (as a Supabase Edge Function): one pool per process.
import postgres from "postgres";
import { makeHandler } from "./hook.ts";

const sql = postgres(Deno.env.get("PORTCULLIS_DB_URL")!, { max: 4, prepare: false, onnotice: () => {} });
const handler = makeHandler(Deno.env.get("PORTCULLIS_HOOK_SECRETS") ?? "", () => sql, () => {});
Deno.serve({ port: Number(Deno.env.get("PORTCULLIS_PORT")), hostname: "127.0.0.1" }, handler);
