// The one JavaScript shim between a Fetch runtime (Deno, the Supabase Edge Runtime, workerd)
// and a Portcullis function compiled to Wasm. It does the I/O the function declares — a few
// request headers and the body, bounded — and hands them to Rust in one call; it drives the
// requests that wait for I/O (the Rust side parks them as numbered tasks); and it recovers
// from a Wasm trap by answering the affected requests with 500 and re-creating the instance.
// No Portcullis logic lives here. See crates/platform/js/src/lib.rs for the Rust half.

/** The SQL seam's JavaScript side: text parameters in, rows of text (or null) out. */
export type Query = (sql: string, params: (string | null)[]) => Promise<(string | null)[][]>;

/** What a wasm-bindgen module built with `portcullis_js::export_function!` exports. */
export interface WasmApp {
  headerNames(): string[];
  maxBody(): number;
  tooLarge(): Response;
  handle(
    method: string,
    url: string,
    head: string,
    body: Uint8Array,
    query?: Query,
  ): Response | number | null;
  free(): void;
}

export interface WasmModule<A extends WasmApp> {
  /** `new Function(env, hasDb)`. */
  create(env: (name: string) => string | undefined, hasDb: boolean): A;
  poll(id: number): Response | undefined;
  setHost(wake: (id: number) => void, track: (promise: unknown, ticket: number) => void): void;
  settle(ticket: number, ok: boolean, value: unknown): void;
  /** Re-instantiates the module (wasm-bindgen `--experimental-reset-state-function`). */
  reset(): void;
}

/** What wasm-bindgen's glue exports next to the function class. */
export interface Glue {
  poll(id: number): Response | undefined;
  setHost(wake: (id: number) => void, track: (promise: unknown, ticket: number) => void): void;
  settle(ticket: number, ok: boolean, value: unknown): void;
  __wbg_reset_state(): void;
}

/** A [`WasmModule`] from a module's glue and how to build its function. */
export function wasmModule<A extends WasmApp>(
  glue: Glue,
  create: (env: (name: string) => string | undefined, hasDb: boolean) => A,
): WasmModule<A> {
  return {
    create,
    poll: (id) => glue.poll(id),
    setHost: (wake, track) => glue.setHost(wake, track),
    settle: (ticket, ok, value) => glue.settle(ticket, ok, value),
    reset: () => glue.__wbg_reset_state(),
  };
}

function internalError(): Response {
  return new Response(
    JSON.stringify({ error: "internal_error", message: "the function failed to process the request" }),
    { status: 500, headers: { "content-type": "application/json", "cache-control": "no-store" } },
  );
}

/** Reads at most `max` bytes of a body without Content-Length; `null` when it is longer. */
async function readStream(body: ReadableStream<Uint8Array>, max: number): Promise<Uint8Array | null> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > max) {
      reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Serves `module`'s function: build it once with `env`, answer each request with `fetch`.
 * `query` (when given) reaches the database for one request (Deno: a shared pool; Workers:
 * a per-request connection).
 */
export class Served<A extends WasmApp> {
  #module: WasmModule<A>;
  #env: (name: string) => string | undefined;
  #hasDb: boolean;
  #app!: A;
  #names!: string[];
  #max!: number;
  /** Requests waiting for a parked task of the current instance: task id -> settle. */
  #waiting = new Map<number, (r: Response) => void>();
  #scheduled = new Set<number>();
  #generation = 0;
  /** Traps recovered from (for tests and logs). */
  crashes = 0;

  constructor(module: WasmModule<A>, env: (name: string) => string | undefined, hasDb: boolean) {
    this.#module = module;
    this.#env = env;
    this.#hasDb = hasDb;
    this.#build();
  }

  #build() {
    const generation = this.#generation;
    this.#module.setHost(
      (id) => {
        if (generation !== this.#generation || this.#scheduled.has(id)) return;
        this.#scheduled.add(id);
        queueMicrotask(() => this.#step(id));
      },
      (promise, ticket) => {
        // Settled into the instance that asked; an outcome for a trapped instance is dropped.
        const settle = (ok: boolean, value: unknown) => {
          if (generation !== this.#generation) return;
          try {
            this.#module.settle(ticket, ok, value);
          } catch (e) {
            this.#crashed(e);
          }
        };
        Promise.resolve(promise).then((v) => settle(true, v), (e) => settle(false, e));
      },
    );
    this.#app = this.#module.create(this.#env, this.#hasDb);
    this.#names = this.#app.headerNames();
    this.#max = this.#app.maxBody();
  }

  #step(id: number) {
    this.#scheduled.delete(id);
    let r: Response | undefined;
    try {
      r = this.#module.poll(id);
    } catch (e) {
      this.#crashed(e);
      return;
    }
    if (r === undefined) return;
    const settle = this.#waiting.get(id);
    this.#waiting.delete(id);
    settle?.(r);
  }

  /** A trap (or any exception out of Wasm): every request of this instance gets a 500, the
   * instance is re-created. The old instance's pending callbacks are ignored. */
  #crashed(e: unknown) {
    this.crashes++;
    const trap = e instanceof WebAssembly.RuntimeError;
    console.error(JSON.stringify({
      level: "error",
      code: trap ? "wasm_trap" : "wasm_exception",
      message: `the function crashed (${String((e as Error)?.message ?? e)}); re-creating its instance`,
    }));
    const waiting = [...this.#waiting.values()];
    this.#waiting.clear();
    this.#scheduled.clear();
    this.#generation++;
    this.#module.reset();
    this.#build();
    for (const settle of waiting) settle(internalError());
  }

  /** Answers one request; never rejects. */
  async fetch(request: Request, query?: Query): Promise<Response> {
    const headers = request.headers;
    let head = "";
    let length: string | null = null;
    for (const name of this.#names) {
      const value = headers.get(name);
      if (value === null) continue;
      if (name === "content-length") length = value;
      head += name + "\n" + value + "\n";
    }
    let body: Uint8Array;
    try {
      if (length !== null) {
        // The runtime enforces Content-Length; a declared size over the limit is refused
        // before anything is read.
        if (!(Number(length) <= this.#max)) return this.#app.tooLarge();
        body = new Uint8Array(await request.arrayBuffer());
      } else if (request.body !== null) {
        const read = await readStream(request.body, this.#max);
        if (read === null) return this.#app.tooLarge();
        body = read;
      } else {
        body = new Uint8Array(0);
      }
    } catch {
      return new Response(
        JSON.stringify({ error: "bad_request", message: "the request body could not be read" }),
        { status: 400, headers: { "content-type": "application/json", "cache-control": "no-store" } },
      );
    }
    let r: Response | number | null;
    try {
      r = this.#app.handle(request.method, request.url, head, body, query);
    } catch (e) {
      this.#crashed(e);
      return internalError();
    }
    if (r === null) return internalError();
    if (typeof r !== "number") return r;
    const id = r;
    return await new Promise<Response>((resolve) => this.#waiting.set(id, resolve));
  }
}
