// The TypeScript POST /sign (bench/ts-sign/sign.ts) as a Cloudflare Worker, for the end-to-end
// comparison on workerd in `cargo xtask bench --sign`. Binding: BENCH_SIGN_CONFIG (JSON).
import { makeSign } from "./sign.ts";

let sign: ((req: Request) => Promise<Response>) | undefined;

export default {
  fetch(req: Request, env: { BENCH_SIGN_CONFIG: string }): Promise<Response> | Response {
    if (req.method !== "POST" || new URL(req.url).pathname !== "/sign") {
      return new Response("not found", { status: 404 });
    }
    sign ??= makeSign(JSON.parse(env.BENCH_SIGN_CONFIG));
    return sign(req);
  },
};
