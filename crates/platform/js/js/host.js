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
 * One outbound request with a timeout. Resolves to [status, body bytes], [0, null] on timeout,
 * or [-1, message] on a network failure; never rejects. `body` is a view of Wasm memory, copied
 * before the request starts.
 */
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
    return [response.status, new Uint8Array(await response.arrayBuffer())];
  } catch (e) {
    if (e && (e.name === "TimeoutError" || e.name === "AbortError")) return [0, null];
    return [-1, String((e && e.message) || e)];
  }
}

/** Resolves after `ms` milliseconds. */
export function wait(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
