// The TypeScript comparison hook on Deno (as a Supabase Edge Function would run it).
import { makeHandler } from "./hook.ts";

const handler = makeHandler(Deno.env.get("PORTCULLIS_HOOK_SECRETS") ?? "");
Deno.serve({ port: Number(Deno.env.get("PORTCULLIS_PORT")), hostname: "127.0.0.1" }, handler);
