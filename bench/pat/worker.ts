// The pat function in process, on workerd: the cases of bench/pat/cases.ts behind
// GET /?case=NAME&impl=ours|ts&n=K, which runs case NAME's side K times and answers K (and
// GET /cases lists them). Isolate clocks do not advance during execution, so the client times
// requests with n=K and n=0 and divides the difference by K. One pat instance per Worker (the
// shim registers its scheduler per instance): MINT (a text binding, ES256 or HS256) says how it
// mints.
import * as pat from "../../functions/portcullis-pat/wasm/portcullis_pat.js";
// @ts-ignore: a Wasm module import, resolved by workerd.
import patWasm from "./portcullis_pat_bg.wasm";
import * as jwt from "../../target/bench/jwt/portcullis_bench_jwt.js";
// @ts-ignore: a Wasm module import, resolved by workerd.
import jwtWasm from "./portcullis_bench_jwt_bg.wasm";
import { type Case, patCases } from "./cases.ts";

pat.initSync({ module: patWasm });
jwt.initSync({ module: jwtWasm });
let cases: Promise<Map<string, Case>> | undefined;

export default {
  async fetch(req: Request, env: { MINT?: string }): Promise<Response> {
    // Keys and tokens are made on the first request (no random values in the global scope).
    cases ??= patCases(env.MINT === "HS256" ? { hs: pat, jwt } : { es: pat, jwt }).then((list) =>
      new Map(list.map((c) => [c[0], c]))
    );
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
