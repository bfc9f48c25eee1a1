// The TypeScript comparison hooks as a Cloudflare Worker: postgres.js over the Hyperdrive
// binding when there is one, a client per request (Workers cannot share sockets across
// requests), closed after the answer. /send-email-branded renders our branded layout.
import postgres from "postgres";
import { type Handler, makeBrandedRenderer, makeHandlers, overPostgres, route } from "./all.ts";
// Bundled as text (esbuild --loader:.txt=text --loader:.html=text; wrangler: Text rules).
import list from "../../crates/hooks/domain/data/disposable_domains.txt";
import layoutHtml from "../../crates/hooks/domain/src/email/layout.html";
import layoutText from "../../crates/hooks/domain/src/email/layout.txt";

interface Env {
  PORTCULLIS_HOOK_SECRETS: string;
  HYPERDRIVE?: { connectionString: string };
}

let handler: Handler | undefined;

function make(secret: string): Handler {
  const disposable = new Set((list as string).split("\n").filter((l) => l && !l.startsWith("#")));
  const branded = makeBrandedRenderer(layoutHtml as string, layoutText as string);
  return route({
    ...makeHandlers(secret, disposable),
    "/send-email-branded": makeHandlers(secret, disposable, branded)["/send-email"],
  });
}

export default {
  async fetch(req: Request, env: Env, ctx: { waitUntil(p: Promise<unknown>): void }): Promise<Response> {
    handler ??= make(env.PORTCULLIS_HOOK_SECRETS);
    if (!env.HYPERDRIVE) return handler(req);
    const client = postgres(env.HYPERDRIVE.connectionString, {
      max: 1,
      prepare: false,
      fetch_types: false,
      onnotice: () => {},
    });
    try {
      return await handler(req, overPostgres(client));
    } finally {
      ctx.waitUntil(client.end());
    }
  },
};
