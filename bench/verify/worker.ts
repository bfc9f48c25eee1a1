// (a) on workerd: GET /?impl=ours|lib|lib_sign&size=N&n=K runs K verifications of a body of
// N bytes and answers how many succeeded. Isolate clocks do not advance during execution, so
// the client times requests with n=K and n=0 and divides the difference by K.
import { initSync, Verifier } from "../../target/bench/verify/portcullis_bench_verify.js";
// @ts-ignore: a Wasm module import, resolved by workerd.
import wasm from "./portcullis_bench_verify_bg.wasm";
import { Webhook } from "standardwebhooks";
import { type Input, input, SECRET } from "./common.ts";

initSync({ module: wasm });
const ours = new Verifier(SECRET);
const lib = new Webhook(SECRET.slice(3));
const inputs = new Map<number, Input>();

export default {
  fetch(req: Request): Response {
    const q = new URL(req.url).searchParams;
    const size = Number(q.get("size"));
    const n = Number(q.get("n"));
    const x = inputs.get(size) ?? inputs.set(size, input(size)).get(size)!;
    const date = new Date(Number(x.ts) * 1000);
    let ok = 0;
    switch (q.get("impl")) {
      case "ours":
        for (let i = 0; i < n; i++) if (ours.verify(x.id, x.ts, x.sig, x.bytes, Date.now() / 1000)) ok++;
        break;
      case "lib":
        for (let i = 0; i < n; i++) if (lib.verify(x.body, x.headers)) ok++;
        break;
      case "lib_sign":
        for (let i = 0; i < n; i++) if (lib.sign(x.id, date, x.body) === x.sig) ok++;
        break;
    }
    return new Response(String(ok));
  },
};
