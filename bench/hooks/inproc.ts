// (b') The custom-access-token handler without HTTP, in Deno: the same signed request handed
// to our Wasm function's fetch() and to the TypeScript hook's handler, alternated over many
// rounds. Prints one JSON line: median and minimum µs per request for each.
import { HooksFunction, initSync } from "../../functions/portcullis-hooks/wasm/portcullis_hooks.js";
import { makeHandler } from "../ts-hooks/hook.ts";

const body = await Deno.readTextFile(Deno.env.get("BENCH_BODY")!);
const headers = {
  "content-type": "application/json",
  "content-length": String(new TextEncoder().encode(body).length),
  "webhook-id": Deno.env.get("BENCH_ID")!,
  "webhook-timestamp": Deno.env.get("BENCH_TS")!,
  "webhook-signature": Deno.env.get("BENCH_SIG")!,
};
initSync({ module: await Deno.readFile(new URL("../../functions/portcullis-hooks/wasm/portcullis_hooks_bg.wasm", import.meta.url)) });
const env: Record<string, string> = {
  PORTCULLIS_HOOK_SECRETS: Deno.env.get("PORTCULLIS_HOOK_SECRETS")!,
  PORTCULLIS_HOOKS_POLICY: Deno.env.get("PORTCULLIS_HOOKS_POLICY")!,
};
const ours = new HooksFunction((name: string) => env[name], undefined);
const ts = makeHandler(env.PORTCULLIS_HOOK_SECRETS);
const request = (path: string) => new Request(`http://127.0.0.1${path}`, { method: "POST", headers, body });
const run = {
  ours: async () => {
    const r = await ours.fetch(request("/portcullis-hooks/custom-access-token"));
    if (r.status !== 200) throw new Error(`ours: ${r.status}`);
    await r.text();
  },
  ts: async () => {
    const r = await ts(request("/custom-access-token"));
    if (r.status !== 200) throw new Error(`ts: ${r.status}`);
    await r.text();
  },
};
async function round(f: () => Promise<void>, n: number): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < n; i++) await f();
  return ((performance.now() - t) * 1000) / n;
}
for (let i = 0; i < 5000; i++) {
  await run.ours();
  await run.ts();
}
const samples: Record<string, number[]> = { ours: [], ts: [] };
for (let r = 0; r < 21; r++) {
  samples.ours.push(await round(run.ours, 3000));
  samples.ts.push(await round(run.ts, 3000));
}
const stats = (v: number[]) => {
  v.sort((a, b) => a - b);
  return { median: v[Math.floor(v.length / 2)], min: v[0] };
};
console.log(JSON.stringify({ ours: stats(samples.ours), ts: stats(samples.ts) }));
