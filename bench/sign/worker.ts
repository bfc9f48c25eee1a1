// The sign function in process, on workerd: the cases of bench/sign/cases.ts behind
// GET /?case=NAME&impl=ours|ts&n=K, which runs case NAME's side K times and answers K (and
// GET /cases lists them). Isolate clocks do not advance during execution, so the client times
// requests with n=K and n=0 and divides the difference by K.
import * as sign from "../../functions/portcullis-sign/wasm/portcullis_sign.js";
// @ts-ignore: a Wasm module import, resolved by workerd.
import signWasm from "./portcullis_sign_bg.wasm";
import { type Case, signCases } from "./cases.ts";

sign.initSync({ module: signWasm });
let cases: Promise<Map<string, Case>> | undefined;

export default {
  async fetch(req: Request): Promise<Response> {
    // The token is made on the first request (no random values or clocks in the global scope).
    cases ??= signCases(sign).then((list) => new Map(list.map((c) => [c[0], c])));
    const all = await cases;
    const url = new URL(req.url);
    if (url.pathname === "/cases") return new Response([...all.keys()].join("\n"));
    const q = url.searchParams;
    const c = all.get(q.get("case") ?? "");
    if (!c) return new Response("no such case", { status: 404 });
    const run = q.get("impl") === "ours" ? c[1] : c[2];
    const n = Number(q.get("n"));
    try {
      for (let i = 0; i < n; i++) {
        const pending = run();
        if (pending) await pending;
      }
    } catch (e) {
      return new Response(String(e), { status: 500 });
    }
    return new Response(String(n));
  },
};
