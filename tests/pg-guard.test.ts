// The functions' PostgreSQL path (functions/_shared/pg.ts: postgres.js on our own socket) must
// not give the password away: servers — or men in the middle of an unverified TLS connection —
// that ask for it in clear text or as MD5, or that accept the login without the SCRAM server
// signature, are refused before postgres.js answers.
import postgres from "postgres";
import { authWatcher, postgresQuery, target } from "../functions/_shared/pg.ts";
import { assert, assertEquals } from "./support.ts";

const T = (name: string, fn: () => Promise<void> | void) =>
  Deno.test({ name, fn, sanitizeResources: false, sanitizeOps: false });

const PASSWORD = "correct-horse-battery-staple";
type Script = "cleartext" | "md5" | "skip-final" | "trust";

function auth(code: number, extra: Uint8Array = new Uint8Array()): Uint8Array {
  const m = new Uint8Array(9 + extra.length);
  const v = new DataView(m.buffer);
  m[0] = 0x52;
  v.setUint32(1, 8 + extra.length);
  v.setUint32(5, code);
  m.set(extra, 9);
  return m;
}

/** Reads what the client sends until it closes; plays `script`. */
async function play(conn: Deno.Conn, script: Script): Promise<string> {
  let seen = new Uint8Array();
  const buf = new Uint8Array(65536);
  const read = async () => {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) return false;
    const next = new Uint8Array(seen.length + n);
    next.set(seen);
    next.set(buf.subarray(0, n), seen.length);
    seen = next;
    return true;
  };
  const enc = new TextEncoder();
  // The start-up message.
  if (!(await read())) return "";
  if (script === "cleartext") await conn.write(auth(3));
  else if (script === "md5") await conn.write(auth(5, enc.encode("salt")));
  else if (script === "trust") {
    await conn.write(auth(0));
    await conn.write(new Uint8Array([0x5a, 0, 0, 0, 5, 0x49]));
  } else {
    await conn.write(auth(10, enc.encode("SCRAM-SHA-256\0\0")));
    if (!(await read())) return new TextDecoder().decode(seen);
    const text = new TextDecoder().decode(seen);
    const nonce = text.split("r=")[1]?.replace(/\0.*$/s, "") ?? "";
    await conn.write(auth(11, enc.encode(`r=${nonce}fake,s=${btoa("0123456789abcdef")},i=4096`)));
    if (!(await read())) return new TextDecoder().decode(seen);
    await conn.write(auth(0));
    await conn.write(new Uint8Array([0x5a, 0, 0, 0, 5, 0x49]));
  }
  while (await read());
  return new TextDecoder().decode(seen);
}

/** A fake server on loopback, plain text (the guard is the same on TLS connections; the TLS
 * path is tested against the real server, and the Rust client's guard against fake TLS
 * servers in crates/platform/pgclient/tests). */
function fake(script: Script): { url: string; sent: Promise<string> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const sent = (async () => {
    const conn = await listener.accept();
    listener.close();
    return await play(conn, script);
  })();
  return { url: `postgres://portcullis_fn:${PASSWORD}@127.0.0.1:${port}/postgres?sslmode=disable`, sent };
}

async function refused(script: Script, want: string) {
  const { url, sent } = fake(script);
  const db = postgresQuery(postgres, target(url, () => ""), { max: 1, connect_timeout: 5 });
  let error = "";
  try {
    await db.query("select 1", []);
  } catch (e) {
    error = String((e as Error).message ?? e);
  }
  await db.close().catch(() => {});
  assert(error.includes(want), `expected a refusal naming "${want}", got: ${error || "success"}`);
  const seen = await sent;
  assert(!seen.includes(PASSWORD), "the password reached the server");
  assert(!seen.includes("select 1"), "a query reached the refused server");
}

T(
  "postgres.js through our socket: clear-text password requests are refused",
  () => refused("cleartext", "clear text"),
);
T("postgres.js through our socket: MD5 is refused", () => refused("md5", "MD5"));
T(
  "postgres.js through our socket: a login without the SCRAM server signature is refused",
  () => refused("skip-final", "without proving"),
);

T(
  "postgres.js through our socket: with a password, a login without SCRAM (trust, or an impostor) is refused",
  () => refused("trust", "without SCRAM"),
);

T("the guard itself: chunking does not matter, trust without a password and errors pass", () => {
  const bytes = new Uint8Array([
    ...auth(10, new TextEncoder().encode("SCRAM-SHA-256\0\0")),
    ...auth(11),
    ...auth(12),
    ...auth(0),
  ]);
  const whole = authWatcher();
  assertEquals(whole(bytes), "done");
  const split = authWatcher();
  let verdict: string | null = null;
  for (const b of bytes) verdict = split(new Uint8Array([b])) ?? verdict;
  assertEquals(verdict, "done");
  assertEquals(authWatcher()(auth(3))?.includes("clear text"), true);
  assertEquals(authWatcher(false)(auth(0)), "done");
  assertEquals(authWatcher(true)(auth(0))?.includes("without SCRAM"), true);
  assertEquals(authWatcher(true)(bytes), "done");
  // A server-final without the exchange before it proves nothing.
  assertEquals(authWatcher(true)(new Uint8Array([...auth(12), ...auth(0)]))?.includes("out of order"), true);
  assertEquals(
    authWatcher(true)(
      new Uint8Array([...auth(10, new TextEncoder().encode("SCRAM-SHA-256\0\0")), ...auth(12), ...auth(0)]),
    )?.includes("out of order"),
    true,
  );
  assertEquals(
    authWatcher()(new TextEncoder().encode("HTTP/1.1 200 OK\r\n"))?.includes("not the PostgreSQL protocol"),
    true,
  );
});

T("TLS settings follow sslmode: require off loopback, verify-full with a CA, disable on loopback", () => {
  const read = () => "PEM";
  assertEquals(target("postgres://u:p@db.example.com/x", read).sslmode, "require");
  assertEquals(target("postgres://u:p@db.example.com/x", read, "PEM").sslmode, "verify-full");
  assertEquals(target("postgres://u:p@db.example.com/x?sslrootcert=/ca.pem", read).ca, "PEM");
  assertEquals(target("postgres://u:p@127.0.0.1:5432/x", read).sslmode, "disable");
  assertEquals(
    target("postgres://u:p@localhost/x?sslmode=verify-ca&sslrootcert=/ca.pem", read).sslmode,
    "verify-ca",
  );
  const t = target("postgres://u:p@db.example.com/x?sslrootcert=system", read);
  assert(!t.url.includes("sslmode") && !t.url.includes("sslrootcert"), t.url);
  assertEquals(t.sslmode, "verify-full");
  assertEquals(t.requireScram, true);
  assertEquals(target("postgres://u@db.example.com/x", read).requireScram, false);
  const refusal = (url: string, ca?: string) => {
    try {
      target(url, read, ca);
    } catch (e) {
      const m = String((e as Error).message);
      assert(!m.includes("u:p@"), m);
      return m;
    }
    return "accepted";
  };
  assert(refusal("postgres://u:p@db.example.com/x?sslmode=verify_full").includes("sslmode=verify_full"));
  // Chain without name is only worth something against one's own CA (libpq refuses these too).
  assert(refusal("postgres://u:p@db.example.com/x?sslmode=verify-ca").includes("needs sslrootcert"));
  assertEquals(refusal("postgres://u:p@db.example.com/x?sslmode=verify-ca", "PEM"), "accepted");
  for (const mode of ["require", "verify-ca", "prefer"]) {
    const m = refusal(`postgres://u:p@db.example.com/x?sslmode=${mode}&sslrootcert=system`);
    assert(m.includes("use verify-full"), m);
  }
  // Clients disagree on which of two wins: refused.
  assert(
    refusal("postgres://u:p@db.example.com/x?sslmode=disable&sslmode=verify-full").includes("more than once"),
  );
  assert(
    refusal("postgres://u:p@db.example.com/x?sslrootcert=/a&sslrootcert=/b").includes("more than once"),
  );
});

T("Workers: plain by default only to Hyperdrive's endpoint or loopback", async () => {
  const { withDefaultMode } = await import("../functions/_shared/workers.ts");
  const mode = (url: string) => target(withDefaultMode(url), () => "").sslmode;
  assertEquals(mode("postgresql://u:p@0123abcd.hyperdrive.local:5432/db"), "disable");
  assertEquals(mode("postgresql://u:p@0123abcd.hyperdrive.local:5432/db?sslmode=disable"), "disable");
  assertEquals(mode("postgresql://u:p@127.0.0.1:6432/db"), "disable");
  assertEquals(mode("postgresql://u:p@db.example.com:5432/db"), "require");
  assertEquals(mode("postgresql://u:p@hyperdrive.local.evil.example/db"), "require");
});
