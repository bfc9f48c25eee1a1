// Supabase Storage's sign endpoints (specs/signed-urls.md §2), as the sign function calls them
// (SUPABASE_URL points at the provider fakes, so they live under /storage/v1 there):
//
//   POST /storage/v1/object/sign/{bucket}/{path}         {"expiresIn": N}          → {"signedURL"}
//   POST /storage/v1/object/sign/{bucket}                {"expiresIn": N, "paths"} → [{error, path, signedURL}]
//   POST /storage/v1/object/upload/sign/{bucket}/{path}  {}                        → {"url", "token"}
//   GET  /storage/v1/object/sign/{bucket}/{path}?token=…         the object, if the token is for it
//   PUT  /storage/v1/object/upload/sign/{bucket}/{path}?token=…  stores the body, if the token is for it
//   GET  /_control/storage                               {requests, problems}
//
// Each sign call is checked against the contract: POST, `content-type: application/json`, the
// body's exact members, and the credentials of the bucket's mode. In user mode the `apikey`
// is the project's publishable key and the bearer a user JWT (verified with the project's
// secret) — and Storage's RLS is played by a policy that lets a user sign only under
// `users/{sub}/`. In service mode both are the service key and RLS is bypassed. A call that
// breaks the contract is answered as Storage answers a bad request and recorded as a problem.
import { jwtVerify } from "jose";

const env = (k: string) => Deno.env.get(k) ?? "";
const ANON = env("PORTCULLIS_TEST_STORAGE_ANON_KEY");
const SERVICE = env("PORTCULLIS_TEST_STORAGE_SERVICE_KEY");
const SECRET = new TextEncoder().encode(env("PORTCULLIS_TEST_JWT_SECRET"));

interface Call {
  path: string;
  body: unknown;
  apikey: string;
  authorization: string;
  status: number;
}
const calls: Call[] = [];
const problems: string[] = [];
// One object a service-mode bucket can sign (nothing our test policy lets users upload there).
const objects = new Map<string, Uint8Array>([[
  "vault/shared/handbook.txt",
  new TextEncoder().encode("handbook"),
]]);

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

/** Storage's answer to a request it cannot take (`statusCode` is a string there). */
function storageError(statusCode: string, error: string, message: string): Response {
  return json(400, { statusCode, error, message });
}

// A token is base64url without padding, as the JWTs Storage issues are.
const b64url = (s: string) => btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const unb64url = (s: string) => atob(s.replace(/-/g, "+").replace(/_/g, "/"));

function token(object: string, expiresIn: number): string {
  return b64url(JSON.stringify({ url: object, exp: Math.floor(Date.now() / 1000) + expiresIn }));
}

function tokenFor(url: URL, object: string): boolean {
  try {
    const t = JSON.parse(unb64url(url.searchParams.get("token") ?? ""));
    return t.url === object && t.exp >= Math.floor(Date.now() / 1000);
  } catch {
    return false;
  }
}

/** Who is calling, per the credentials: a user's `sub`, "service", or a problem. */
async function caller(req: Request, found: string[]): Promise<string | null> {
  const apikey = req.headers.get("apikey") ?? "";
  const bearer = (req.headers.get("authorization") ?? "").replace(/^Bearer /, "");
  if (apikey === SERVICE) {
    if (bearer !== SERVICE) found.push("service mode: the bearer must be the service key");
    return "service";
  }
  if (apikey !== ANON) {
    found.push("apikey is neither the publishable nor the service key");
    return null;
  }
  try {
    const { payload } = await jwtVerify(bearer, SECRET, { audience: "authenticated" });
    return String(payload.sub);
  } catch (e) {
    found.push(`user mode: the bearer is not a valid user JWT (${e})`);
    return null;
  }
}

const allowed = (who: string, object: string) =>
  who === "service" || object.split("/").slice(1, 3).join("/") === `users/${who}`;

export async function storage(req: Request, url: URL): Promise<Response | null> {
  if (url.pathname === "/_control/storage") return json(200, { requests: calls, problems });
  const base = "/storage/v1/object/";
  if (!url.pathname.startsWith(base)) return null;
  const rest = url.pathname.slice(base.length);
  const [route, ...parts] = rest.startsWith("upload/sign/")
    ? ["upload", ...rest.slice("upload/sign/".length).split("/")]
    : rest.startsWith("sign/")
    ? ["sign", ...rest.slice("sign/".length).split("/")]
    : [""];
  let object: string;
  try {
    object = parts.map(decodeURIComponent).join("/");
  } catch {
    return storageError("400", "InvalidKey", "the path is not percent-encoded UTF-8");
  }
  if (req.method === "GET" && route === "sign") {
    const bytes = objects.get(object);
    if (!tokenFor(url, object)) return storageError("400", "InvalidJWT", "invalid signature");
    if (!bytes) return storageError("404", "not_found", "Object not found");
    const headers: Record<string, string> = {};
    const download = url.searchParams.get("download");
    if (download !== null) {
      headers["content-disposition"] = `attachment; filename="${encodeURIComponent(download)}"`;
    }
    return new Response(bytes as Uint8Array<ArrayBuffer>, { headers });
  }
  if (req.method === "PUT" && route === "upload") {
    if (!tokenFor(url, object)) return storageError("400", "InvalidJWT", "invalid signature");
    objects.set(object, new Uint8Array(await req.arrayBuffer()));
    return json(200, { Key: object });
  }
  const found: string[] = [];
  if (req.method !== "POST") found.push(`method ${req.method}`);
  if (!(req.headers.get("content-type") ?? "").startsWith("application/json")) found.push("content-type");
  let body: Record<string, unknown> = {};
  try {
    body = await req.json();
  } catch {
    found.push("the body is not JSON");
  }
  const who = await caller(req, found);
  const members = Object.keys(body).sort().join(",");
  const expiresIn = body.expiresIn;
  const batch = route === "sign" && parts.length === 1;
  if (route === "upload") {
    if (members !== "") found.push(`upload sign takes {} (got ${members})`);
  } else if (route === "sign") {
    if (members !== (batch ? "expiresIn,paths" : "expiresIn")) found.push(`members ${members}`);
    if (!Number.isInteger(expiresIn) || (expiresIn as number) < 1) {
      found.push("expiresIn: a positive integer");
    }
    if (batch && !(Array.isArray(body.paths) && body.paths.length > 0)) found.push("paths: a non-empty list");
  } else {
    found.push(`unknown route ${url.pathname}`);
  }
  const record = (status: number) =>
    calls.push({
      path: url.pathname,
      body,
      apikey: req.headers.get("apikey") ?? "",
      authorization: req.headers.get("authorization") ?? "",
      status,
    });
  if (found.length > 0 || who === null) {
    problems.push(...found.map((p) => `${url.pathname}: ${p}`));
    record(400);
    return storageError("400", "InvalidRequest", found.join("; "));
  }
  record(200);
  if (route === "upload") {
    if (!allowed(who, object)) {
      return storageError("403", "Unauthorized", "new row violates row-level security policy");
    }
    const t = token(object, 7200);
    // Storage writes the path back `decodeURI`d (a space comes back as a space) and the batch's
    // as asked: the function must build its URLs from the token, not from these.
    return json(200, { url: `/object/upload/sign/${decodeURI(parts.join("/"))}?token=${t}`, token: t });
  }
  if (batch) {
    const bucket = parts[0];
    return json(
      200,
      (body.paths as string[]).map((p) => {
        const o = `${bucket}/${p}`;
        return allowed(who, o) && objects.has(o)
          ? {
            error: null,
            path: p,
            signedURL: `/object/sign/${o}?token=${token(o, expiresIn as number)}`,
          }
          : {
            error: "Either the object does not exist or you do not have access to it",
            path: p,
            signedURL: null,
          };
      }),
    );
  }
  if (!allowed(who, object) || !objects.has(object)) {
    return storageError("404", "not_found", "Object not found");
  }
  return json(200, {
    signedURL: `/object/sign/${decodeURI(parts.join("/"))}?token=${token(object, expiresIn as number)}`,
  });
}
