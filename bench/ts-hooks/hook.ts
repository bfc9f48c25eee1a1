// The custom-access-token hook as a team would write it in TypeScript with the official
// `standardwebhooks` library, implementing the same policy as bench/hooks-policy.json:
// copy app_metadata.org_id, map app_metadata.role admin -> app_admin (+ user_role claim),
// add a static claim, drop app_metadata.providers. Used as the comparison in cargo xtask bench.
import { Webhook } from "standardwebhooks";

const ROLES: Record<string, string> = { admin: "app_admin" };

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

export function makeHandler(secret: string): (req: Request) => Promise<Response> {
  const wh = new Webhook(secret.replace(/^v1,/, ""));
  return async (req) => {
    if (!new URL(req.url).pathname.endsWith("/custom-access-token")) return json(404, { error: "not_found" });
    if (req.method !== "POST") return json(405, { error: "method_not_allowed" });
    const body = await req.text();
    // deno-lint-ignore no-explicit-any
    let payload: any;
    try {
      payload = wh.verify(body, Object.fromEntries(req.headers));
    } catch {
      return json(401, { error: "invalid_signature" });
    }
    const claims = { ...payload.claims };
    const app = claims.app_metadata ?? {};
    if (app.org_id !== undefined) claims.org_id = app.org_id;
    claims.portcullis = true;
    if (typeof app.role === "string") {
      if (ROLES[app.role]) claims.role = ROLES[app.role];
      claims.user_role = app.role;
    }
    if (claims.app_metadata) {
      const { providers: _, ...rest } = claims.app_metadata;
      claims.app_metadata = rest;
    }
    return json(200, { claims });
  };
}
