// The TypeScript delivery hooks as a Cloudflare Worker: postgres.js over Hyperdrive, a client
// per request (Workers cannot share sockets across requests), closed after the answer.
import postgres from "postgres";
import { makeHandler } from "./hook.ts";

interface Env {
  PORTCULLIS_HOOK_SECRETS: string;
  HYPERDRIVE: { connectionString: string };
}

export default {
  fetch(req: Request, env: Env, ctx: { waitUntil(p: Promise<unknown>): void }): Promise<Response> {
    const handler = makeHandler(
      env.PORTCULLIS_HOOK_SECRETS,
      () => postgres(env.HYPERDRIVE.connectionString, { max: 1, prepare: false, fetch_types: false, onnotice: () => {} }),
      (sql) => ctx.waitUntil(sql.end()),
    );
    return handler(req);
  },
};
