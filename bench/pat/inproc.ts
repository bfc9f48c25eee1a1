// The pat function in process, in Deno: the cases of bench/pat/cases.ts (ours against jose,
// the same work), alternated over many rounds. Prints one JSON line:
// {case: {ours: {median, min}, ts: {median, min}}}, µs per request.
import { type Instances, patCases, type Run } from "./cases.ts";

// One module instance per function instance (the shim registers its scheduler per instance):
// the second is the same glue under another specifier.
const moduleBytes = await Deno.readFile(
  new URL("../../functions/portcullis-pat/wasm/portcullis_pat_bg.wasm", import.meta.url),
);
async function instance(tag: string) {
  const glue = await import(`../../functions/portcullis-pat/wasm/portcullis_pat.js?${tag}`);
  glue.initSync({ module: moduleBytes });
  return glue;
}
const inst: Instances = { es: await instance("es256"), hs: await instance("hs256") };
// The token layer's bench module (bench/jwt-wasm), built by `cargo xtask bench --pat`.
try {
  const glue = await import(new URL("../../target/bench/jwt/portcullis_bench_jwt.js", import.meta.url).href);
  glue.initSync({
    module: await Deno.readFile(
      new URL("../../target/bench/jwt/portcullis_bench_jwt_bg.wasm", import.meta.url),
    ),
  });
  inst.jwt = glue;
} catch (e) {
  if (!(e instanceof TypeError) || !String(e).includes("Module not found")) throw e;
  console.error(
    "bench/jwt-wasm is not built: verification alone skipped (cargo xtask bench --pat builds it)",
  );
}
const cases = await patCases(inst);

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
const n = Number(Deno.env.get("BENCH_N") ?? "400");
const only = Deno.env.get("BENCH_ONLY");
const out: Record<string, unknown> = {};
for (const [name, a, b] of cases.filter(([c]) => !only || c.includes(only))) {
  for (let i = 0; i < 300; i++) {
    await a();
    await b();
  }
  const s = { ours: [] as number[], ts: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    s.ours.push(await round(a, n));
    s.ts.push(await round(b, n));
  }
  out[name] = { ours: stats(s.ours), ts: stats(s.ts) };
}
console.log(JSON.stringify(out));
