// Host helpers for the Rust adapter: each call crosses the JS/Wasm boundary once. No logic
// beyond shaping data.

// Measured in Deno: a Response built without an init and given its headers with
// `headers.set` costs about half as much as one built with a `headers` init object, and a
// shared init object is slower still.

/** The common answer: JSON with `cache-control: no-store`, and a status. `body` is a view of
 * Wasm memory: the Response constructor copies BufferSource bodies, per the Fetch spec. */
export function makeJsonResponse(status, body) {
  const r = new Response(body, status === 200 ? undefined : { status });
  const headers = r.headers;
  headers.set("content-type", "application/json");
  headers.set("cache-control", "no-store");
  return r;
}

/** A Response from a status, `name \n value \n …` headers and body bytes (a view of Wasm
 * memory, copied by the constructor). */
export function makeResponse(status, head, body) {
  const r = new Response(body.length === 0 ? null : body, status === 200 ? undefined : { status });
  const headers = r.headers;
  const parts = head.split("\n");
  for (let i = 0; i + 1 < parts.length; i += 2) headers.append(parts[i], parts[i + 1]);
  return r;
}

/** Fills `bytes` (a view of Wasm memory) from the platform CSPRNG. */
export function fillRandom(bytes) {
  crypto.getRandomValues(bytes);
}

/**
 * One outbound request with a timeout. Resolves to [status, body bytes, `name \n value \n …`
 * headers], [0, null] on timeout,
 * or [-1, message] on a network failure; never rejects. `body` is a view of Wasm memory, copied
 * before the request starts.
 */
const MAX_RESPONSE_BYTES = 1024 * 1024;

export async function httpFetch(method, url, head, body, timeoutMs) {
  const headers = {};
  const parts = head.split("\n");
  for (let i = 0; i + 1 < parts.length; i += 2) headers[parts[i]] = parts[i + 1];
  try {
    const response = await fetch(url, {
      method,
      headers,
      body: body.length === 0 ? undefined : body.slice(),
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
    let head = "";
    for (const [name, value] of response.headers) head += `${name}\n${value}\n`;
    // Our callers read small answers (provider replies, key sets): a larger body is refused
    // before it is read whole.
    const length = Number(response.headers.get("content-length"));
    if (length > MAX_RESPONSE_BYTES) {
      await response.body?.cancel();
      return [-1, `response body of ${length} bytes is over the limit`];
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.length > MAX_RESPONSE_BYTES) return [-1, "response body is over the limit"];
    return [response.status, bytes, head];
  } catch (e) {
    if (e && (e.name === "TimeoutError" || e.name === "AbortError")) return [0, null];
    return [-1, String((e && e.message) || e)];
  }
}

/** Resolves after `ms` milliseconds. */
export function wait(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// WebCrypto for the token layer. Keys arrive as canonical JWK JSON and are imported once per
// instance (non-extractable), cached under their public members only: a private key's `d`
// does not stay in the JavaScript heap as a map key.
const IMPORT = {
  ES256: [{ name: "ECDSA", namedCurve: "P-256" }, { name: "ECDSA", hash: "SHA-256" }],
  RS256: [{ name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, { name: "RSASSA-PKCS1-v1_5" }],
  EdDSA: [{ name: "Ed25519" }, { name: "Ed25519" }],
};
const imported = new Map();

// Returns the imported key itself once it is ready (so a verification is one WebCrypto call,
// no extra promise hop), else a promise of it. Public keys are cached under their JWK text as
// given with their algorithm (canonical, no secret in it: no parse per call); private keys
// under their public members only.
function importedKey(alg, jwk, usage) {
  const parsed = usage === "verify" ? null : JSON.parse(jwk);
  const cacheKey = parsed === null
    ? alg + "\n" + jwk
    : [usage, parsed.kty, parsed.crv, parsed.x, parsed.y, parsed.n, parsed.e].join("\n");
  const cached = imported.get(cacheKey);
  if (cached !== undefined) return cached;
  if (imported.size >= 64) imported.clear();
  const pending = crypto.subtle.importKey("jwk", parsed ?? JSON.parse(jwk), IMPORT[alg][0], false, [usage]);
  imported.set(cacheKey, pending);
  // Once imported, the key replaces its promise; a key the host refuses is not cached as a
  // failure forever.
  pending.then(
    (key) => imported.get(cacheKey) === pending && imported.set(cacheKey, key),
    () => imported.get(cacheKey) === pending && imported.delete(cacheKey),
  );
  return pending;
}

const ready = (key) => !(key instanceof Promise);

/** Verifies `sig` over `data` (views of Wasm memory, copied first): a promise of a boolean. */
export function cryptoVerify(alg, jwk, data, sig) {
  const message = data.slice();
  const signature = sig.slice();
  const key = importedKey(alg, jwk, "verify");
  const verify = (k) => crypto.subtle.verify(IMPORT[alg][1], k, signature, message);
  return ready(key) ? verify(key) : key.then(verify);
}

/** Signs `data` (a view of Wasm memory, copied first): a promise of the signature bytes. */
export function cryptoSign(alg, jwk, data) {
  const message = data.slice();
  const key = importedKey(alg, jwk, "sign");
  const sign = (k) => crypto.subtle.sign(IMPORT[alg][1], k, message);
  return (ready(key) ? sign(key) : key.then(sign)).then((
    sig,
  ) => new Uint8Array(sig));
}
