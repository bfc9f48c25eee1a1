// The TypeScript comparison hook as a Cloudflare Worker.
import { makeHandler } from "./hook.ts";

let handler: ((req: Request) => Promise<Response>) | undefined;

export default {
  fetch(req: Request, env: { PORTCULLIS_HOOK_SECRETS: string }): Promise<Response> {
    handler ??= makeHandler(env.PORTCULLIS_HOOK_SECRETS);
    return handler(req);
  },
};
