// Local fakes of the four delivery APIs Portcullis calls: Resend, Postmark, Twilio, Vonage.
//
// Each fake checks a request against the provider's documented API (endpoint, method, auth,
// content type, required fields), answers as the provider does, and records the request with
// any `problems` it found. A request with problems is refused the way the provider refuses
// it (validation error, missing parameters): a client that breaks the API cannot pass a test
// by accident, and the suite's last test checks every recorded request. Tests read the recordings and can make a provider fail for matching
// recipients (5xx, 4xx, timeouts, slowness) through /_control.
//
//   POST   /_control/rules     {provider, match, mode: "5xx"|"4xx"|"auth"|"timeout"|"slow", times?, delay_ms?}
//                               ("auth": the provider's answer to revoked credentials)
//   DELETE /_control/rules
//   GET    /_control/requests?match=<substring of the recipient>
//
// Credentials come from the same variables the functions read.
//
// It also plays Supabase Auth's JWKS endpoint for the pat function (SUPABASE_URL points here):
//   GET    /auth/v1/.well-known/jwks.json   the published keys, `Cache-Control: public, max-age=600`
//                                         as GoTrue sends them (GET only, JSON accepted)
//   PUT    /_control/jwks                  {jwks, mode?: "ok"|"down"|"garbage"} what it publishes
//   GET    /_control/jwks                  {fetches, problems}: how often it was fetched, and any
//                                         request that broke the contract
// The initial set comes from PORTCULLIS_TEST_JWKS.
//
// And Supabase Storage's sign endpoints for the sign function: see storage.ts.
//
// And GitHub's secret-scanning key list (PORTCULLIS_GITHUB_KEYS_URL points here):
//   GET    /github/meta/public_keys/secret_scanning   {"public_keys":[…]} as GitHub answers
//   PUT    /_control/github-keys                      the list to serve

import { storage } from "./storage.ts";

type Provider = "resend" | "postmark" | "twilio" | "vonage";
interface Rule {
  provider: Provider;
  match: string;
  mode: "5xx" | "4xx" | "auth" | "timeout" | "slow";
  times?: number;
  delay_ms?: number;
}
interface Recorded {
  provider: Provider;
  method: string;
  path: string;
  at: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
  recipient: string;
  status: number;
  problems: string[];
}

const env = (k: string) => Deno.env.get(k) ?? "";
const RESEND_KEY = env("PORTCULLIS_RESEND_API_KEY");
const POSTMARK_TOKEN = env("PORTCULLIS_POSTMARK_SERVER_TOKEN");
const TWILIO_SID = env("PORTCULLIS_TWILIO_ACCOUNT_SID");
const TWILIO_TOKEN = env("PORTCULLIS_TWILIO_AUTH_TOKEN");
const VONAGE_KEY = env("PORTCULLIS_VONAGE_API_KEY");
const VONAGE_SECRET = env("PORTCULLIS_VONAGE_API_SECRET");

let rules: Rule[] = [];
const recorded: Recorded[] = [];
const EMAIL = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/;
const E164 = /^\+[1-9][0-9]{1,14}$/;
const SENDER = /^(.+<)?[^\s@<>]+@[^\s@<>]+>?$/;

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

async function readBody(
  req: Request,
  problems: string[],
  kind: "json" | "form",
): Promise<Record<string, unknown>> {
  const type = req.headers.get("content-type") ?? "";
  const text = await req.text();
  if (kind === "json") {
    if (!type.startsWith("application/json")) {
      problems.push(`content-type ${type}, expected application/json`);
    }
    try {
      const v = JSON.parse(text);
      if (typeof v === "object" && v && !Array.isArray(v)) return v;
      problems.push("body is not a JSON object");
    } catch {
      problems.push("body is not JSON");
    }
    return {};
  }
  if (!type.startsWith("application/x-www-form-urlencoded")) {
    problems.push(`content-type ${type}, expected form encoding`);
  }
  return Object.fromEntries(new URLSearchParams(text));
}

function rule(provider: Provider, recipient: string): Rule | undefined {
  const r = rules.find((r) => r.provider === provider && recipient.includes(r.match) && (r.times ?? 1) > 0);
  if (r && r.times !== undefined) r.times -= 1;
  return r;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Each handler: validate, then either the failure a rule asks for or the provider's success.
async function resend(req: Request, path: string, problems: string[]) {
  if (path !== "/emails" || req.method !== "POST") {
    return { status: 404, body: { name: "not_found" }, recipient: "" };
  }
  if (req.headers.get("authorization") !== `Bearer ${RESEND_KEY}`) {
    problems.push("authorization is not `Bearer <api key>`");
  }
  const b = await readBody(req, problems, "json");
  const to = Array.isArray(b.to) ? b.to : [b.to];
  for (const f of ["from", "to", "subject"]) if (!b[f]) problems.push(`missing ${f}`);
  if (!b.html && !b.text) problems.push("missing html/text");
  if (typeof b.from === "string" && !SENDER.test(b.from)) problems.push("from is not `Name <address>`");
  const key = req.headers.get("idempotency-key") ?? "";
  if (key.length > 256) problems.push("idempotency-key longer than 256");
  if (Array.isArray(b.tags)) {
    for (const t of b.tags as { name: string; value: string }[]) {
      if (!/^[A-Za-z0-9_-]+$/.test(t.name) || !/^[A-Za-z0-9_-]+$/.test(t.value)) {
        problems.push("tag with characters Resend refuses");
      }
    }
  }
  const recipient = String(to[0] ?? "");
  if (problems.some((p) => p.startsWith("authorization"))) {
    return {
      status: 401,
      body: { statusCode: 401, name: "missing_api_key", message: "Missing API key" },
      recipient,
    };
  }
  if (!to.every((t) => typeof t === "string" && EMAIL.test(t))) {
    return {
      status: 422,
      body: { statusCode: 422, name: "validation_error", message: "Invalid `to` field." },
      recipient,
    };
  }
  return {
    status: 200,
    body: { id: crypto.randomUUID() },
    recipient,
    fail4xx: { statusCode: 422, name: "validation_error", message: "Invalid `to` field." },
  };
}

async function postmark(req: Request, path: string, problems: string[]) {
  if (path !== "/email" || req.method !== "POST") {
    return { status: 404, body: { ErrorCode: 404 }, recipient: "" };
  }
  if (req.headers.get("x-postmark-server-token") !== POSTMARK_TOKEN) {
    problems.push("x-postmark-server-token is wrong");
  }
  if (!(req.headers.get("accept") ?? "").includes("application/json")) {
    problems.push("accept is not application/json");
  }
  const b = await readBody(req, problems, "json");
  for (const f of ["From", "To", "Subject"]) if (!b[f]) problems.push(`missing ${f}`);
  if (!b.HtmlBody && !b.TextBody) problems.push("missing HtmlBody/TextBody");
  const recipient = String(b.To ?? "");
  if (problems.some((p) => p.startsWith("x-postmark"))) {
    return {
      status: 401,
      body: {
        ErrorCode: 10,
        Message: "The Server Token you provided in the X-Postmark-Server-Token request header was invalid.",
      },
      recipient,
    };
  }
  if (!EMAIL.test(recipient)) {
    return { status: 422, body: { ErrorCode: 300, Message: "Invalid 'To' address." }, recipient };
  }
  return {
    status: 200,
    body: {
      To: recipient,
      SubmittedAt: new Date().toISOString(),
      MessageID: crypto.randomUUID(),
      ErrorCode: 0,
      Message: "OK",
    },
    recipient,
    fail4xx: {
      ErrorCode: 406,
      Message: "You tried to send to recipient(s) that have been marked as inactive.",
    },
    fail4xxStatus: 422,
  };
}

async function twilio(req: Request, path: string, problems: string[]) {
  const m = path.match(/^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/);
  if (!m || req.method !== "POST") {
    return { status: 404, body: { code: 20404, message: "not found" }, recipient: "" };
  }
  if (m[1] !== TWILIO_SID) problems.push(`account sid in the path is ${m[1]}`);
  const auth = req.headers.get("authorization") ?? "";
  if (auth !== `Basic ${btoa(`${TWILIO_SID}:${TWILIO_TOKEN}`)}`) {
    problems.push("authorization is not Basic <sid>:<token>");
  }
  const b = await readBody(req, problems, "form");
  if (!b.To) problems.push("missing To");
  if (!b.Body) problems.push("missing Body");
  if (!b.From && !b.MessagingServiceSid) problems.push("missing From or MessagingServiceSid");
  const recipient = String(b.To ?? "");
  if (problems.some((p) => p.startsWith("authorization"))) {
    return { status: 401, body: { code: 20003, message: "Authenticate", status: 401 }, recipient };
  }
  if (!E164.test(recipient)) {
    return {
      status: 400,
      body: {
        code: 21211,
        message: `The 'To' number ${recipient} is not a valid phone number.`,
        status: 400,
      },
      recipient,
    };
  }
  return {
    status: 201,
    body: {
      sid: `SM${crypto.randomUUID().replaceAll("-", "")}`,
      status: "queued",
      to: recipient,
      body: b.Body,
    },
    recipient,
    fail4xx: { code: 21211, message: "The 'To' number is not a valid phone number.", status: 400 },
    fail4xxStatus: 400,
  };
}

async function vonage(req: Request, path: string, problems: string[]) {
  if (path !== "/sms/json" || req.method !== "POST") return { status: 404, body: {}, recipient: "" };
  const b = await readBody(req, problems, "form");
  for (const f of ["api_key", "api_secret", "from", "to", "text"]) if (!b[f]) problems.push(`missing ${f}`);
  const recipient = String(b.to ?? "");
  if (recipient.startsWith("+")) problems.push("to must not start with +");
  if (typeof b.text === "string" && [...b.text].some((c) => c.charCodeAt(0) > 127) && b.type !== "unicode") {
    problems.push("non-ASCII text without type=unicode");
  }
  if (b.api_key !== VONAGE_KEY || b.api_secret !== VONAGE_SECRET) {
    return {
      status: 200,
      body: { "message-count": "1", messages: [{ status: "4", "error-text": "Bad Credentials" }] },
      recipient,
    };
  }
  if (!/^[1-9][0-9]{1,14}$/.test(recipient)) {
    return {
      status: 200,
      body: { "message-count": "1", messages: [{ status: "3", "error-text": "Invalid Message" }] },
      recipient,
    };
  }
  return {
    status: 200,
    body: {
      "message-count": "1",
      messages: [{
        to: recipient,
        "message-id": crypto.randomUUID(),
        status: "0",
        "remaining-balance": "10.0",
        "message-price": "0.03",
        network: "26202",
      }],
    },
    recipient,
    fail4xx: {
      "message-count": "1",
      messages: [{ status: "29", "error-text": "Non-Whitelisted Destination" }],
    },
    fail4xxStatus: 200,
  };
}

const HANDLERS = { resend, postmark, twilio, vonage };

let jwks: unknown = JSON.parse(Deno.env.get("PORTCULLIS_TEST_JWKS") ?? '{"keys":[]}');
let jwksMode: "ok" | "down" | "garbage" = "ok";
let jwksFetches = 0;
const jwksProblems: string[] = [];

let githubKeys: unknown = { public_keys: [] };

async function jwksControl(req: Request): Promise<Response> {
  if (req.method === "PUT") {
    const body = await req.json();
    if (body.jwks) jwks = body.jwks;
    jwksMode = body.mode ?? "ok";
    return json(200, {});
  }
  return json(200, { fetches: jwksFetches, problems: jwksProblems });
}

function jwksEndpoint(req: Request): Response {
  jwksFetches++;
  if (req.method !== "GET") jwksProblems.push(`method ${req.method}`);
  const accept = req.headers.get("accept") ?? "";
  if (accept && !accept.includes("json") && !accept.includes("*/*")) jwksProblems.push(`accept ${accept}`);
  if (jwksMode === "down") return new Response("upstream unavailable", { status: 503 });
  if (jwksMode === "garbage") return new Response("<html>not json</html>", { status: 200 });
  return new Response(JSON.stringify(jwks), {
    headers: { "content-type": "application/json", "cache-control": "public, max-age=600" },
  });
}

async function handle(req: Request): Promise<Response> {
  const url = new URL(req.url);
  const stored = await storage(req, url);
  if (stored) return stored;
  if (url.pathname === "/_control/rules") {
    if (req.method === "DELETE") {
      rules = [];
      return json(200, {});
    }
    rules.push(await req.json());
    return json(200, {});
  }
  if (url.pathname === "/_control/jwks") return await jwksControl(req);
  if (url.pathname === "/_control/github-keys") {
    githubKeys = await req.json();
    return json(200, {});
  }
  if (url.pathname === "/github/meta/public_keys/secret_scanning") {
    if (req.method !== "GET") return json(405, { message: "Not Found" });
    return json(200, githubKeys);
  }
  if (url.pathname === "/auth/v1/.well-known/jwks.json") return jwksEndpoint(req);
  if (url.pathname === "/_control/requests") {
    const match = url.searchParams.get("match") ?? "";
    return json(200, recorded.filter((r) => r.recipient.includes(match)));
  }
  const [, provider, ...rest] = url.pathname.split("/");
  const handler = HANDLERS[provider as Provider];
  if (!handler) return json(404, { error: "unknown provider" });
  const problems: string[] = [];
  const path = "/" + rest.join("/");
  const headers: Record<string, string> = {};
  for (const [k, v] of req.headers) {
    if (["idempotency-key", "user-agent", "content-type", "accept", "x-fake-selftest"].includes(k)) {
      headers[k] = v;
    }
  }
  // deno-lint-ignore no-explicit-any
  const answer: any = await handler(req.clone(), path, problems);
  // What each provider answers a request it cannot accept (when the handler did not already
  // answer an error, e.g. for credentials).
  const invalid: Record<Provider, [number, unknown]> = {
    resend: [422, {
      statusCode: 422,
      name: "validation_error",
      message: `Invalid request: ${problems.join("; ")}`,
    }],
    postmark: [422, { ErrorCode: 402, Message: `Invalid JSON or missing fields: ${problems.join("; ")}` }],
    twilio: [400, { code: 21604, message: `Invalid request: ${problems.join("; ")}`, status: 400 }],
    vonage: [200, {
      "message-count": "1",
      messages: [{ status: "2", "error-text": `Missing params: ${problems.join("; ")}` }],
    }],
  };
  if (problems.length > 0 && answer.fail4xx) {
    [answer.status, answer.body] = invalid[provider as Provider];
    delete answer.fail4xx;
  }
  const body = await readBody(req, [], provider === "twilio" || provider === "vonage" ? "form" : "json");
  for (const secret of ["api_key", "api_secret"]) if (secret in body) body[secret] = "[redacted]";
  let status = answer.status;
  let out = answer.body;
  const r = answer.fail4xx ? rule(provider as Provider, answer.recipient) : undefined;
  if (r?.mode === "5xx") {
    status = 503;
    out = { message: "Service Unavailable (fake)" };
  } else if (r?.mode === "4xx") {
    status = answer.fail4xxStatus ?? 422;
    out = answer.fail4xx;
  } else if (r?.mode === "auth") {
    const revoked: Record<Provider, [number, unknown]> = {
      resend: [403, {
        statusCode: 403,
        name: "restricted_api_key",
        message: "This API key is restricted to only send emails",
      }],
      postmark: [401, { ErrorCode: 10, Message: "Bad or missing Server API token." }],
      twilio: [401, { code: 20003, message: "Authenticate", status: 401 }],
      vonage: [200, { "message-count": "1", messages: [{ status: "4", "error-text": "Bad Credentials" }] }],
    };
    [status, out] = revoked[provider as Provider];
  } else if (r?.mode === "timeout") {
    await sleep(r.delay_ms ?? 10_000);
  } else if (r?.mode === "slow") {
    await sleep(r.delay_ms ?? 300);
  }
  recorded.push({
    provider: provider as Provider,
    method: req.method,
    path,
    at: Date.now(),
    headers,
    body,
    recipient: answer.recipient,
    status,
    problems,
  });
  return json(status, out);
}

const port = Number(Deno.env.get("PORTCULLIS_PORT") ?? "0");
Deno.serve({ port, hostname: "127.0.0.1", onListen: () => {} }, handle);
