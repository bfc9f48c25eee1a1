// POST /sign as a team would write it in TypeScript: `jose` checks the user's Supabase JWT (the
// legacy secret: HS256, issuer, audience, role), the body is validated, the same policy as the
// benchmark's (one rule: `users/{sub}/**`, GET/HEAD/PUT/DELETE, at most 900 s, 300 by default;
// keys refused for `.`/`..`/empty segments, control characters, `\` and over 1,024 bytes), and
// every URL is presigned with `aws4fetch` (WebCrypto HMACs, awaited). Used in process
// (bench/sign/cases.ts) and served (bench/ts-sign/deno.ts, bench/ts-sign/worker.ts).
import { jwtVerify } from "jose";
import { AwsClient } from "aws4fetch";

export interface SignConfig {
  /** The project URL (`iss` is `{url}/auth/v1`). */
  supabaseUrl: string;
  jwtSecret: string;
  /** `http(s)://host[:port]` of the S3 endpoint (path style). */
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

const METHODS = new Set(["GET", "HEAD", "PUT", "DELETE"]);
const MAX_EXPIRES = 900;
const DEFAULT_EXPIRES = 300;

const json = (status: number, body: unknown, extra: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store", ...extra },
  });

// deno-lint-ignore no-control-regex -- control characters are what it refuses
const UNSAFE = /[\u0000-\u001f\u007f\\]/;
function badKey(key: string): boolean {
  return new TextEncoder().encode(key).length > 1024 || UNSAFE.test(key) ||
    key.split("/").some((s) => s === "" || s === "." || s === "..");
}

/** S3's UriEncode of a key: every byte outside `A-Za-z0-9-._~` and `/` percent-encoded. */
function encodeKey(key: string): string {
  return encodeURIComponent(key).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%2F/g, "/");
}

export function makeSign(c: SignConfig): (req: Request) => Promise<Response> {
  const secret = new TextEncoder().encode(c.jwtSecret);
  const issuer = `${c.supabaseUrl}/auth/v1`;
  const aws = new AwsClient({
    accessKeyId: c.accessKeyId,
    secretAccessKey: c.secretAccessKey,
    service: "s3",
    region: c.region,
  });
  return async (req: Request): Promise<Response> => {
    const token = req.headers.get("authorization")?.match(/^Bearer (.+)$/i)?.[1];
    if (!token) return json(401, { error: "invalid_token" }, { "www-authenticate": "Bearer" });
    let sub: string;
    try {
      const { payload } = await jwtVerify(token, secret, {
        issuer,
        audience: "authenticated",
        algorithms: ["HS256"],
        clockTolerance: 30,
      });
      if (payload.role !== "authenticated" || typeof payload.sub !== "string") throw new Error("not a user");
      sub = payload.sub;
    } catch {
      return json(401, { error: "invalid_token" }, { "www-authenticate": 'Bearer error="invalid_token"' });
    }
    // deno-lint-ignore no-explicit-any
    let body: any;
    try {
      body = await req.json();
    } catch {
      return json(400, { error: "invalid_request", message: "the body is not JSON" });
    }
    if (body?.bucket !== c.bucket) {
      return json(403, { error: "refused", refused: [{ error: "unknown_bucket" }] });
    }
    const objects = body.objects;
    if (!Array.isArray(objects) || objects.length < 1 || objects.length > 100) {
      return json(400, { error: "invalid_request", message: "objects: 1 to 100 objects" });
    }
    const refused = [];
    for (const [index, o] of objects.entries()) {
      if (typeof o?.key !== "string" || !METHODS.has(o?.method)) {
        return json(400, { error: "invalid_request", message: `objects[${index}]` });
      }
      const expires = o.expires_in ?? DEFAULT_EXPIRES;
      if (badKey(o.key)) refused.push({ index, key: o.key, error: "bad_key" });
      else if (!o.key.startsWith(`users/${sub}/`)) refused.push({ index, key: o.key, error: "no_rule" });
      else if (!Number.isInteger(expires) || expires < 1 || expires > MAX_EXPIRES) {
        refused.push({ index, key: o.key, error: "expires_in_too_long", rule: 0 });
      }
    }
    if (refused.length > 0) return json(403, { error: "refused", refused });
    const now = Math.floor(Date.now() / 1000);
    const urls = await Promise.all(objects.map(async (o) => {
      const expires = o.expires_in ?? DEFAULT_EXPIRES;
      const url = new URL(`${c.endpoint}/${c.bucket}/${encodeKey(o.key)}`);
      url.searchParams.set("X-Amz-Expires", String(expires));
      const signed = await aws.sign(url.toString(), { method: o.method, aws: { signQuery: true } });
      return { key: o.key, method: o.method, url: signed.url, expires_at: now + expires };
    }));
    return json(200, { urls });
  };
}
