// The sign function in process, in Deno: the cases of bench/sign/cases.ts (ours against
// aws4fetch, @aws-sdk/s3-request-presigner and a jose + aws4fetch function, the same work),
// alternated over many rounds. Prints one JSON line: {case: {ours: {median, min}, ts: {median,
// min}}}, µs per operation.
import { type Run, signCases } from "./cases.ts";

const glue = await import("../../functions/portcullis-sign/wasm/portcullis_sign.js");
glue.initSync({
  module: await Deno.readFile(
    new URL("../../functions/portcullis-sign/wasm/portcullis_sign_bg.wasm", import.meta.url),
  ),
});
const cases = await signCases(glue);

async function round(f: Run, n: number): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    const pending = f();
    if (pending) await pending;
  }
  return ((performance.now() - t) * 1000) / n;
}
const stats = (v: number[]) => {
  v.sort((a, b) => a - b);
  return { median: v[Math.floor(v.length / 2)], min: v[0] };
};
const rounds = Number(Deno.env.get("BENCH_ROUNDS") ?? "11");
const budgetMs = Number(Deno.env.get("BENCH_ROUND_MS") ?? "150");
const out: Record<string, unknown> = {};
for (const [name, a, b] of cases) {
  // Round sizes from a short calibration, so a batch of 100 and a single URL each run ~150 ms.
  for (let i = 0; i < 50; i++) {
    await a();
    await b();
  }
  const per = Math.max(await round(a, 20), await round(b, 20));
  const n = Math.max(10, Math.round((budgetMs * 1000) / per));
  const s = { ours: [] as number[], ts: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    s.ours.push(await round(a, n));
    s.ts.push(await round(b, n));
  }
  out[name] = { ours: stats(s.ours), ts: stats(s.ts) };
}
console.log(JSON.stringify(out));
