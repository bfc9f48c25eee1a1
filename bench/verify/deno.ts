// (a) Standard Webhooks verification cost in Deno, microseconds per operation, in one process:
// - ours: the hooks function's verifier (Rust → Wasm), given the body bytes as the shim has them;
// - standardwebhooks verify(): what a TypeScript hook calls (it also JSON-parses the payload);
// - standardwebhooks sign+compare: the library's verification work without the JSON.parse.
// Prints one JSON line per body size.
import { initSync, Verifier } from "../../target/bench/verify/portcullis_bench_verify.js";
import { Webhook } from "standardwebhooks";
import { input, SECRET, SIZES } from "./common.ts";

initSync({
  module: await Deno.readFile(
    new URL("../../target/bench/verify/portcullis_bench_verify_bg.wasm", import.meta.url),
  ),
});
const ours = new Verifier(SECRET);
const lib = new Webhook(SECRET.slice(3));

/** Median over rounds of the mean cost of `fn`, each round at least `ms` long. */
function measure(fn: () => void, rounds = 7, ms = 300): number {
  for (let i = 0; i < 2000; i++) fn(); // warm up the JITs
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const start = performance.now();
    while (performance.now() - start < ms) {
      for (let i = 0; i < 100; i++) fn();
      n += 100;
    }
    samples.push(((performance.now() - start) * 1000) / n);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

for (const size of SIZES) {
  const x = input(size);
  const date = new Date(Number(x.ts) * 1000);
  if (!ours.verify(x.id, x.ts, x.sig, x.bytes, Date.now() / 1000)) {
    throw new Error("ours refused a valid signature");
  }
  lib.verify(x.body, x.headers);
  const result = {
    runtime: "deno",
    size,
    ours_us: measure(() => {
      if (!ours.verify(x.id, x.ts, x.sig, x.bytes, Date.now() / 1000)) throw new Error("refused");
    }),
    lib_verify_us: measure(() => void lib.verify(x.body, x.headers)),
    lib_sign_compare_us: measure(() => {
      if (lib.sign(x.id, date, x.body) !== x.sig) throw new Error("mismatch");
    }),
  };
  console.log(JSON.stringify(result));
}
