// A Wasm trap does not poison the function: the shim answers the requests of the trapped
// instance with 500, re-creates the instance, and serves on. Tested with the testbed function
// (crates/js-testbed: routes that panic under panic = "abort", a real trap) through the real
// shared shim, in process on Deno and served by workerd.
import { Served } from "../functions/_shared/adapter.ts";
import { assert, assertEquals, required } from "./support.ts";

const T = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, fn, sanitizeResources: false, sanitizeOps: false });

const dir = required("PORTCULLIS_TESTBED_DIR");
const glue = await import(`file://${dir}/portcullis_js_testbed.js`);
glue.initSync({ module: await Deno.readFile(`${dir}/portcullis_js_testbed_bg.wasm`) });

function serve() {
  return new Served(
    {
      create: (env: (n: string) => string | undefined, hasDb: boolean) =>
        new glue.TestbedFunction(env, hasDb),
      poll: glue.poll,
      setHost: glue.setHost,
      settle: glue.settle,
      reset: glue.__wbg_reset_state,
    },
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
