// deno-lint-ignore-file no-explicit-any -- hook answers are arbitrary JSON
// Shared helpers for the black-box suites: configuration from the harness, signing with the
// official Standard Webhooks library (the oracle), and GoTrue-shaped payloads.
import nodeAssert from "node:assert/strict";
import { Webhook } from "standardwebhooks";

export const BASE_URL = required("PORTCULLIS_BASE_URL").replace(/\/$/, "");
export const RUNTIME = Deno.env.get("PORTCULLIS_RUNTIME") ?? "unknown";
export const SECRETS = required("PORTCULLIS_TEST_SECRETS").split("|");
export const SIGNUP_SECRET = Deno.env.get("PORTCULLIS_TEST_SIGNUP_SECRET") ?? "";

export function required(name: string): string {
  const v = Deno.env.get(name);
  if (!v) throw new Error(`${name} must be set (run the suite through \`cargo xtask test\`)`);
  return v;
}

/** The library wants `whsec_…` (it strips `whsec_`); our configuration has `v1,whsec_…`. */
export function library(secret: string): Webhook {
  return new Webhook(secret.replace(/^v1,/, ""));
}

export interface Signed {
  headers: Record<string, string>;
  body: string;
}

/** Signs `body` like GoTrue does, with the official library. */
export function sign(
  body: string,
  opts: { secret?: string; id?: string; at?: Date } = {},
): Signed {
  const id = opts.id ?? crypto.randomUUID();
  const at = opts.at ?? new Date();
  const signature = library(opts.secret ?? SECRETS[0]).sign(id, at, body);
  return {
    body,
    headers: {
      "Content-Type": "application/json",
      "Webhook-Id": id,
      "Webhook-Timestamp": String(Math.floor(at.getTime() / 1000)),
      "Webhook-Signature": signature,
    },
  };
}

export async function post(
  path: string,
  signed: Signed,
  extra: Record<string, string> = {},
): Promise<Response> {
  return await fetch(`${BASE_URL}${path}`, {
    method: "POST",
    headers: { ...signed.headers, ...extra },
    body: signed.body,
  });
}

/** POSTs and returns status, content type and parsed JSON body. */
export async function call(
  path: string,
  signed: Signed,
): Promise<{ status: number; type: string; json: any }> {
  const r = await post(path, signed);
  const type = r.headers.get("content-type") ?? "";
  const text = await r.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${path}: body is not JSON (status ${r.status}): ${text.slice(0, 200)}`);
  }
  return { status: r.status, type, json };
}

export function uuid(): string {
  return crypto.randomUUID();
}

/** A custom-access-token payload as GoTrue builds it. */
export function accessTokenPayload(o: {
  userId?: string;
  method?: string;
  app?: Record<string, unknown>;
  user?: Record<string, unknown>;
  aud?: string | string[];
  omit?: string[];
} = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  const userId = o.userId ?? uuid();
  const claims: Record<string, unknown> = {
    iss: "https://project-ref.supabase.co/auth/v1",
    aud: o.aud ?? "authenticated",
    exp: now + 3600,
    iat: now,
    sub: userId,
    email: "ada@example.com",
    phone: "",
    role: "authenticated",
    aal: "aal1",
    amr: [{ method: o.method ?? "password", timestamp: now }],
    session_id: uuid(),
    is_anonymous: o.method === "anonymous",
    app_metadata: o.app ?? { provider: "email", providers: ["email"] },
    user_metadata: o.user ?? {},
  };
  for (const k of o.omit ?? []) delete claims[k];
  return {
    metadata: {
      uuid: uuid(),
      time: new Date().toISOString().replace("Z", "+00:00"),
      name: "customize-access-token",
      ip_address: "192.0.2.10",
    },
    user_id: userId,
    claims,
    authentication_method: o.method ?? "password",
  };
}

/** A before-user-created payload as GoTrue builds it (user not yet stored). */
export function signupPayload(
  o: { email?: string; provider?: string; anonymous?: boolean; ip?: string } = {},
) {
  const provider = o.provider ?? "email";
  return {
    metadata: {
      uuid: uuid(),
      time: new Date().toISOString(),
      name: "before-user-created",
      ip_address: o.ip ?? "192.0.2.10",
    },
    user: {
      id: uuid(),
      aud: "",
      role: "",
      email: o.email ?? "",
      phone: "",
      app_metadata: o.anonymous ? {} : { provider, providers: [provider] },
      user_metadata: {},
      identities: [],
      created_at: "0001-01-01T00:00:00Z",
      updated_at: "0001-01-01T00:00:00Z",
      is_anonymous: o.anonymous ?? false,
    },
  };
}

/** JSON as Go's encoder writes it: `<`, `>`, `&` escaped. */
export function goJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026");
}

// Assertions over Deno's built-in node:assert (no registry needed).
export function assert(cond: unknown, msg?: string): asserts cond {
  nodeAssert.ok(cond, msg);
}
export function assertEquals<T>(actual: T, expected: T, msg?: string) {
  nodeAssert.deepStrictEqual(actual, expected, msg);
}
export function assertMatch(actual: string, re: RegExp, msg?: string) {
  nodeAssert.match(actual, re, msg);
}
export function assertThrows(fn: () => unknown, msg?: string) {
  nodeAssert.throws(fn, msg);
}
