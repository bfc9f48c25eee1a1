// A Wasm trap does not poison the function: the shim answers the requests of the trapped
// instance with 500, re-creates the instance, and serves on. Tested with the testbed function
// (crates/platform/js-testbed: routes that panic under panic = "abort", a real trap) through the real
// shared shim, in process on Deno and served by workerd.
import { Served, wasmModule } from "../functions/_shared/adapter.ts";
import { assert, assertEquals, required } from "./support.ts";

const T = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, fn, sanitizeResources: false, sanitizeOps: false });

const dir = required("PORTCULLIS_TESTBED_DIR");
const glue = await import(`file://${dir}/portcullis_js_testbed.js`);
glue.initSync({ module: await Deno.readFile(`${dir}/portcullis_js_testbed_bg.wasm`) });

function serve() {
  return new Served(
    wasmModule(
      glue,
      (env: (n: string) => string | undefined, hasDb: boolean) => new glue.TestbedFunction(env, hasDb),
    ),
    () => undefined,
    false,
  );
}

async function status(served: ReturnType<typeof serve>, path: string): Promise<[number, string]> {
  const r = await served.fetch(new Request(`http://testbed${path}`, { method: "POST" }));
  return [r.status, await r.text()];
}

T("Deno: a request that traps gets a 500; the next one is served by a new instance", async () => {
  const s = serve();
  assertEquals((await status(s, "/ok"))[0], 200);
  const [code, body] = await status(s, "/trap");
  assertEquals(code, 500);
  assertEquals(JSON.parse(body).error, "internal_error");
  assertEquals(s.crashes, 1);
  for (let i = 0; i < 20; i++) assertEquals((await status(s, "/ok"))[0], 200, `request ${i} after the trap`);
  assertEquals((await status(s, "/wait"))[0], 200, "parked tasks work on the new instance");
});

T("Deno: a trap in a parked task fails every request of that instance, then all is well", async () => {
  const s = serve();
  const waiting = [status(s, "/wait"), status(s, "/wait")];
  const trapping = status(s, "/trap-later");
  const answers = await Promise.all([...waiting, trapping]);
  assertEquals(answers.map(([c]) => c), [500, 500, 500], "in-flight requests of the trapped instance");
  assertEquals(s.crashes, 1);
  const after = await Promise.all([status(s, "/wait"), status(s, "/ok"), status(s, "/wait")]);
  assertEquals(after.map(([c]) => c), [200, 200, 200]);
  // Traps again and again: each is recovered.
  for (let i = 0; i < 5; i++) {
    assertEquals((await status(s, "/trap"))[0], 500);
    assertEquals((await status(s, "/ok"))[0], 200);
  }
  assertEquals(s.crashes, 6);
});

const WORKER = Deno.env.get("PORTCULLIS_TESTBED_WORKER_URL");

T("workerd: the same shim recovers from traps, at once and in parked tasks", async () => {
  assert(WORKER, "PORTCULLIS_TESTBED_WORKER_URL must be set");
  const call = async (path: string) => {
    const r = await fetch(`${WORKER}${path}`, { method: "POST" });
    await r.body?.cancel();
    return r.status;
  };
  assertEquals(await call("/ok"), 200);
  assertEquals(await call("/trap"), 500);
  for (let i = 0; i < 10; i++) assertEquals(await call("/ok"), 200, `request ${i} after the trap`);
  const answers = await Promise.all([call("/wait"), call("/trap-later"), call("/wait")]);
  assertEquals(answers[1], 500);
  assertEquals(await Promise.all([call("/wait"), call("/ok")]), [200, 200]);
});

T("the shim itself: a body without Content-Length is read only up to the function's limit", async () => {
  // A stand-in for the Wasm module that records what reached it: this checks the shim, not
  // Rust's own bound (which would also answer 413, but only after the whole body was read).
  const seen: number[] = [];
  const app = {
    headerNames: () => ["content-length"],
    maxBody: () => 1000,
    tooLarge: () => new Response("too large", { status: 413 }),
    handle: (_m: string, _u: string, _h: string, body: Uint8Array) => {
      seen.push(body.length);
      return new Response(String(body.reduce((a, b) => a + b, 0)));
    },
    free: () => {},
  };
  const served = new Served(
    {
      create: () => app,
      poll: () => undefined,
      setHost: () => {},
      settle: () => {},
      reset: () => {},
    },
    () => undefined,
    false,
  );
  const stream = (chunks: number) => {
    let pulled = 0;
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (pulled === chunks) return c.close();
        pulled++;
        c.enqueue(new Uint8Array(100).fill(1));
      },
      cancel() {
        cancelled = true;
      },
    }, { highWaterMark: 0 });
    return { body, pulled: () => pulled, cancelled: () => cancelled };
  };
  const post = (body: ReadableStream<Uint8Array>) =>
    served.fetch(new Request("http://fn/x", { method: "POST", body, duplex: "half" } as RequestInit));

  // Within the limit: read whole, handed over as one body.
  const ok = stream(10);
  const r = await post(ok.body);
  assertEquals([r.status, await r.text()], [200, "1000"]);
  assertEquals(seen, [1000]);
  // An endless body: refused after the chunk that crosses the limit, the rest never pulled.
  const endless = stream(1_000_000);
  const big = await post(endless.body);
  assertEquals(big.status, 413);
  assert(endless.pulled() <= 12, `pulled ${endless.pulled()} chunks of 100 B for a 1000 B limit`);
  assert(endless.cancelled(), "the body stream was cancelled");
  assertEquals(seen, [1000], "nothing over the limit reached the function");
});
