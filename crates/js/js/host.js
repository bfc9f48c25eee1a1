// Host helpers for the Rust adapter: each call crosses the JS/Wasm boundary once instead of
// once per header. No logic beyond shaping data.

/** `method \n url \n name \n value \n …` (header names and values cannot contain `\n`). */
export function requestHead(request) {
  let head = request.method + "\n" + request.url + "\n";
  for (const [name, value] of request.headers) head += name + "\n" + value + "\n";
  return head;
}

/** A Response from a status, `name \n value \n …` headers and body bytes (copied). */
export function makeResponse(status, head, body) {
  const headers = new Headers();
  const parts = head.split("\n");
  for (let i = 0; i + 1 < parts.length; i += 2) headers.append(parts[i], parts[i + 1]);
  return new Response(body.length === 0 ? null : body.slice(), { status, headers });
}

/** Fills `bytes` (a view of Wasm memory) from the platform CSPRNG. */
export function fillRandom(bytes) {
  crypto.getRandomValues(bytes);
}
