// Standard Webhooks oracle: the official npm library is the reference.
// 1. It signs random payloads; both served builds must accept every one, and refuse any
//    one-byte change.
// 2. Our signer (the native `portcullis hooks sign`, the same Rust code the Wasm runs)
//    signs random payloads; the library must verify every one, and refuse tampered ones.
import { assertEquals, assertThrows, library, required, SECRETS, sign } from "./support.ts";

const TARGETS = [required("PORTCULLIS_BASE_URL"), required("PORTCULLIS_WORKER_URL")];
const CLI = required("PORTCULLIS_CLI");

/** Deterministic random text: JSON-significant characters, unicode, escapes, long runs. */
function randomBody(seed: number): string {
  let x = seed * 2654435761 >>> 0;
  const next = () => (x = (x ^ (x << 13)) >>> 0, x = (x ^ (x >>> 17)) >>> 0, x = (x ^ (x << 5)) >>> 0);
  const alphabet = [
    '"',
    "\\",
    "{",
    "}",
    "<",
    ">",
    "&",
    "\u00e9",
    "\u4e2d",
    "\ud83d\ude00",
    "\n",
    " ",
    "a",
    "0",
    "\\u003c",
  ];
  const len = next() % 4096;
  let s = "";
  for (let i = 0; i < len; i++) {
    s += next() % 3 === 0 ? alphabet[next() % alphabet.length] : String.fromCharCode(32 + (next() % 95));
  }
  return seed % 2 === 0 ? JSON.stringify({ payload: s, n: seed }) : s;
}

Deno.test("library-signed random payloads are accepted by both builds", async () => {
  for (const base of TARGETS) {
    for (let seed = 1; seed <= 60; seed++) {
      const body = randomBody(seed);
      const secret = SECRETS[seed % SECRETS.length];
      const signed = sign(body, { secret });
      const ok = await fetch(`${base}/custom-access-token`, {
        method: "POST",
        headers: signed.headers,
        body,
      });
      assertEquals(ok.status, 200, `${base} seed ${seed}: a verified request is always answered 200`);
      await ok.body?.cancel();
      const tampered = body.length > 0
        ? body.slice(0, -1) + String.fromCharCode((body.charCodeAt(body.length - 1) + 1) % 128)
        : "x";
      const bad = await fetch(`${base}/custom-access-token`, {
        method: "POST",
        headers: signed.headers,
        body: tampered,
      });
      assertEquals(bad.status, 401, `${base} seed ${seed}: tampered body`);
      await bad.body?.cancel();
    }
  }
});

Deno.test("our signatures verify in the library", async () => {
  const items = Array.from({ length: 200 }, (_, i) => ({
    id: i % 2 ? crypto.randomUUID() : `msg_${i}`,
    timestamp: Math.floor(Date.now() / 1000) - (i % 250),
    // The library parses the payload as JSON after checking the signature.
    body: JSON.stringify({ text: randomBody(1000 + i), i }),
  }));
  const cmd = new Deno.Command(CLI, {
    args: ["hooks", "sign", "--secret", SECRETS.join("|"), "--batch"],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const writer = cmd.stdin.getWriter();
  await writer.write(new TextEncoder().encode(items.map((i) => JSON.stringify(i)).join("\n") + "\n"));
  await writer.close();
  const out = await cmd.output();
  assertEquals(out.code, 0);
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  assertEquals(lines.length, items.length);
  for (const [n, item] of items.entries()) {
    const signature = JSON.parse(lines[n]).signature as string;
    assertEquals(signature.split(", ").length, SECRETS.length, "one signature per configured secret");
    const headers = {
      "webhook-id": item.id,
      "webhook-timestamp": String(item.timestamp),
      "webhook-signature": signature,
    };
    for (const secret of SECRETS) {
      library(secret).verify(item.body, headers);
      assertThrows(() => library(secret).verify(item.body + " ", headers));
      assertThrows(() => library(secret).verify(item.body, { ...headers, "webhook-id": item.id + "x" }));
    }
  }
});

Deno.test("the library's own vector through our signer", async () => {
  const out = await new Deno.Command(CLI, {
    args: [
      "hooks",
      "sign",
      "--secret",
      "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      "--id",
      "msg_p5jXN8AQM9LWM0D4loKWxJek",
      "--timestamp",
      "1614265330",
    ],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const w = out.stdin.getWriter();
  await w.write(new TextEncoder().encode('{"test": 2432232314}'));
  await w.close();
  const headers = JSON.parse(new TextDecoder().decode((await out.output()).stdout));
  assertEquals(headers["webhook-signature"], "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
});
