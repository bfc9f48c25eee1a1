// The TypeScript POST /sign (bench/ts-sign/sign.ts) served on Deno, for the end-to-end
// comparison in `cargo xtask bench --sign`. Configuration: PORTCULLIS_PORT, and BENCH_SIGN_CONFIG (the
// JSON of `SignConfig` in sign.ts).
import { makeSign } from "./sign.ts";

const env = (k: string) => Deno.env.get(k) ?? "";
const sign = makeSign(JSON.parse(env("BENCH_SIGN_CONFIG")));
Deno.serve({ port: Number(env("PORTCULLIS_PORT")), hostname: "127.0.0.1", onListen: () => {} }, (req) => {
  if (req.method === "POST" && new URL(req.url).pathname === "/sign") return sign(req);
  return new Response("not found", { status: 404 });
});
