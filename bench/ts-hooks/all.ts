// All seven hooks as a team would write them in TypeScript with the official `standardwebhooks`
// library and postgres.js, implementing bench/hooks-policy.json: the comparison for every hook
// bench (in process: bench/hooks/inproc.ts; end to end: deno.ts and worker.ts here). The SQL is
// what such a team writes (a plain insert per outbox row, one upsert for a failed attempt); the
// database is whatever `sql(text, params)` the caller passes (postgres.js, or the in-process
// bench's stub shared with ours).
import { Webhook } from "standardwebhooks";

/** Rows as arrays of text (or null), as postgres.js `.values()` gives them. */
export type Sql = (text: string, params: unknown[]) => Promise<unknown[][]>;
export type Handler = (req: Request, sql?: Sql) => Promise<Response>;

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

const escape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

const enc = encodeURIComponent;

/** The e-mail as the simple comparison renders it: one fixed English template literal. */
// deno-lint-ignore no-explicit-any
function renderSimple(p: any) {
  const d = p.email_data;
  const link = `${d.site_url}/verify?token=${enc(d.token_hash)}&type=${
    enc(d.email_action_type)
  }&redirect_to=${enc(d.redirect_to)}`;
  const name = p.user.user_metadata?.full_name ?? "";
  const subject = "Your sign-in link for Acme Notes";
  const html = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${
    escape(subject)
  }</title></head>
<body style="margin:0;background:#f3f4f6"><table role="presentation" width="100%"><tr><td align="center">
<table role="presentation" width="560" style="background:#fff"><tr><td style="padding:32px 40px;font-family:sans-serif">
<h1>Sign in to Acme Notes</h1><p>Hi ${escape(name)},</p><p>Use the button below to sign in.</p>
<a href="${
    escape(link)
  }" style="display:inline-block;padding:12px 24px;background:#4f46e5;color:#fff">Sign in</a>
<p>Or enter this code:</p><p style="font-size:28px;letter-spacing:6px">${escape(d.token)}</p>
<p>If the button doesn't work, copy this link into your browser:<br><a href="${escape(link)}">${
    escape(link)
  }</a></p>
</td></tr></table></td></tr></table></body></html>`;
  const text = `Sign in to Acme Notes\n\nHi ${name},\n\nSign in: ${link}\n\nOr enter this code: ${d.token}\n`;
  return { subject, html, text, link };
}

/**
 * The e-mail as ours renders it (same work): our own branded layout (layout.html, 3.4 KB) and
 * text part, placeholders filled and escaped, wording for the user's locale picked from a table.
 */
export function makeBrandedRenderer(layoutHtml: string, layoutText: string) {
  const words: Record<string, Record<string, string>> = {
    en: {
      subject: "Your sign-in link for {{app_name}}",
      preheader: "Sign in to {{app_name}} with one click.",
      heading: "Sign in to {{app_name}}",
      intro: "Use the button below to sign in. The link works once.",
      button: "Sign in",
      code_intro: "Or enter this code:",
      outro: "If you didn't ask for this, you can ignore this email.",
      greeting: "Hi {{name}},",
      link_fallback: "If the button doesn't work, copy this link into your browser:",
      sent_to: "This email was sent to {{to}} by {{app_name}}.",
      help: "Need help? Contact us at {{support_contact}}.",
    },
  };
  const fill = (t: string, v: Record<string, string>) =>
    t.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (_, k) => v[k] ?? "");
  const fillEscaped = (t: string, v: Record<string, string>) =>
    t.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (_, k) => escape(v[k] ?? ""));
  const conditionals = (t: string, v: Record<string, string>) =>
    t.replace(
      /\{\{#if ([a-z_]+)\}\}([\s\S]*?)(?:\{\{else\}\}([\s\S]*?))?\{\{\/if\}\}/g,
      (_, k, a, b) => (v[k] ? a : b ?? ""),
    );
  // deno-lint-ignore no-explicit-any
  return (p: any) => {
    const d = p.email_data;
    const link = `${d.site_url}/verify?token=${enc(d.token_hash)}&type=${
      enc(d.email_action_type)
    }&redirect_to=${enc(d.redirect_to)}`;
    const locale = String(p.user.user_metadata?.locale ?? "en").slice(0, 2);
    const w = words[locale] ?? words.en;
    const v: Record<string, string> = {
      app_name: "Acme Notes",
      app_url: "https://app.example.com",
      brand_color: "#4f46e5",
      logo_url: "",
      name: p.user.user_metadata?.full_name ?? "",
      to: p.user.email,
      email: p.user.email,
      otp: d.token,
      link,
      lang: locale,
      support_url: "mailto:support@example.com",
      support_contact: "support@example.com",
      footer: "Acme Inc. · 1 Example Street · Berlin",
      button_text_color: "#ffffff",
    };
    const t: Record<string, string> = { ...v };
    for (const [k, s] of Object.entries(w)) t[`t_${k}`] = fill(s, v);
    t.t_subject = t.t_subject ?? fill(w.subject, v);
    const html = fillEscaped(conditionals(layoutHtml, t), t);
    const text = fill(conditionals(layoutText, t), t);
    return { subject: fill(w.subject, v), html, text, link };
  };
}

// deno-lint-ignore no-explicit-any
type Render = (p: any) => { subject: string; html: string; text: string; link: string };

const ROLES: Record<string, string> = { admin: "app_admin" };

// The failed-attempt upsert: count within a 900 s window, lock from the fifth failure for
// 60 s doubling up to an hour (the policy's limits), one statement.
const FAILED = `with s as (select now() as t)
  insert into portcullis.verification_attempts as a
    (kind, user_id, factor_id, failures, window_started_at, last_failure_at, locked_until)
  select $1, $2::uuid, $3, 1, s.t, s.t, null from s
  on conflict (kind, user_id, factor_id) do update set
    failures = case when a.window_started_at <= now() - interval '900 seconds'
      and (a.locked_until is null or a.locked_until <= now()) then 1 else a.failures + 1 end,
    window_started_at = case when a.window_started_at <= now() - interval '900 seconds'
      and (a.locked_until is null or a.locked_until <= now()) then now() else a.window_started_at end,
    last_failure_at = now(),
    locked_until = case when a.failures + 1 >= 5
      then now() + make_interval(secs => least(3600, 60 * power(2, least(a.failures + 1 - 5, 30)))) else a.locked_until end
  returning failures, extract(epoch from (locked_until - now()))::text as locked_for`;
const LOCKED = `select 1 from portcullis.verification_attempts
  where kind = $1 and user_id = $2::uuid and factor_id = $3 and locked_until > now()`;
const CLEAR =
  `delete from portcullis.verification_attempts where kind = $1 and user_id = $2::uuid and factor_id = $3`;

/** The handlers by path, each `(request, sql)`; `disposable` is the blocked-domain list. */
export function makeHandlers(
  secret: string,
  disposable: Set<string>,
  render: Render = renderSimple,
): Record<string, Handler> {
  const wh = new Webhook(secret.replace(/^v1,/, ""));
  // deno-lint-ignore no-explicit-any
  const hook = (f: (p: any, sql: Sql) => Response | Promise<Response>): Handler => async (req, sql) => {
    if (req.method !== "POST") return json(405, { error: "method_not_allowed" });
    const body = await req.text();
    // deno-lint-ignore no-explicit-any
    let p: any;
    try {
      p = wh.verify(body, Object.fromEntries(req.headers));
    } catch {
      return json(401, { error: "invalid_signature" });
    }
    try {
      return await f(p, sql ?? (() => Promise.reject(new Error("no database configured"))));
    } catch (e) {
      console.error(e);
      return json(200, {
        error: { http_code: 500, message: "The authentication hook could not process this request." },
      });
    }
  };
  const attempt = (kind: string) =>
    hook(async (p, sql) => {
      const key = [kind, p.user_id, p.factor_id ?? ""];
      let decision = "continue";
      let message = "";
      if (p.valid) {
        const locked = await sql(LOCKED, key);
        if (locked.length) decision = "reject";
        else await sql(CLEAR, key);
      } else {
        const [row] = await sql(FAILED, key);
        const lockedFor = Number(row?.[1] ?? 0);
        if (lockedFor > 0) {
          decision = "reject";
          message = `Too many failed attempts. Try again in ${Math.ceil(lockedFor / 60)} minute(s).`;
        }
      }
      return json(
        200,
        kind === "mfa" ? { decision, message } : { decision, message, should_logout_user: false },
      );
    });
  return {
    "/custom-access-token": hook((p) => {
      const claims = { ...p.claims };
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
    }),
    "/before-user-created": hook((p) => {
      const email = String(p.user?.email ?? "").toLowerCase();
      const domain = email.slice(email.lastIndexOf("@") + 1);
      const labels = domain.split(".");
      const suffixes = labels.map((_, i) => labels.slice(i).join("."));
      if (suffixes.includes("competitor.example")) {
        return json(200, { error: { http_code: 403, message: "Sign-up is not allowed for this account." } });
      }
      if (suffixes.some((s) => disposable.has(s))) {
        return json(200, { error: { http_code: 403, message: "Please use a permanent e-mail address." } });
      }
      return json(200, {});
    }),
    "/send-email": hook(async (p, sql) => {
      const m = render(p);
      const d = p.email_data;
      await sql(
        `insert into portcullis.email_outbox (hook_uuid, email_type, user_id, recipient, locale, subject,
          html, text, link, token, token_hash, redirect_to, delivery, status)
        values ($1, $2, $3, $4, 'en', $5, $6, $7, $8, $9, $10, $11, 'outbox', 'queued')
        on conflict (hook_uuid, recipient, email_type) do nothing`,
        [
          p.metadata.uuid,
          d.email_action_type,
          p.user.id,
          p.user.email,
          m.subject,
          m.html,
          m.text,
          m.link,
          d.token,
          d.token_hash,
          d.redirect_to,
        ],
      );
      return json(200, {});
    }),
    "/send-sms": hook(async (p, sql) => {
      const body = `${p.sms.otp} is your Acme Notes verification code. Don't share it with anyone.`;
      await sql(
        `insert into portcullis.sms_outbox (hook_uuid, sms_type, user_id, recipient, locale, body, token, delivery, status)
        values ($1, $2, $3, $4, 'en', $5, $6, 'outbox', 'queued')
        on conflict (hook_uuid, recipient, sms_type) do nothing`,
        [p.metadata.uuid, p.sms.sms_type ?? "otp", p.user.id, `+${p.sms.phone}`, body, p.sms.otp],
      );
      return json(200, {});
    }),
    "/mfa-verification-attempt": attempt("mfa"),
    "/password-verification-attempt": attempt("password"),
    "/after-user-created": hook(async (p, sql) => {
      await sql(
        "insert into portcullis.events (name, hook_uuid, user_id, payload) values ('user_created', $1, $2, $3) on conflict do nothing",
        [p.metadata.uuid, p.user.id, JSON.stringify(p.user)],
      );
      return json(200, {});
    }),
  };
}

/** One handler for every path: the hook named by the path's last segment. */
export function route(handlers: Record<string, Handler>): Handler {
  return (req, sql) => {
    const path = new URL(req.url).pathname;
    const h = handlers[path.slice(path.lastIndexOf("/"))];
    return h ? h(req, sql) : Promise.resolve(json(404, { error: "not_found" }));
  };
}

/** `sql` over a postgres.js client: text statements, rows as arrays. */
// deno-lint-ignore no-explicit-any
export const overPostgres = (client: any): Sql => (text, params) => client.unsafe(text, params).values();
