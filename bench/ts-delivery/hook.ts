// The send-email (outbox) and password-verification-attempt hooks as a team would write them in
// TypeScript: the official `standardwebhooks` library and postgres.js, the same outbox table,
// the same attempt-limit statement and the same answers as Portcullis. The comparison in
// `cargo xtask bench`.
import { Webhook } from "standardwebhooks";
import type { Sql } from "postgres";

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

const escape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

// deno-lint-ignore no-explicit-any
function render(p: any) {
  const d = p.email_data;
  const link = `${d.site_url}/verify?token=${encodeURIComponent(d.token_hash)}&type=${
    encodeURIComponent(d.email_action_type)
  }&redirect_to=${encodeURIComponent(d.redirect_to)}`;
  const name = p.user.user_metadata?.full_name ?? "";
  const subject = "Your sign-in link for Acme Notes";
  const html = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${escape(subject)}</title></head>
<body style="margin:0;background:#f3f4f6"><table role="presentation" width="100%"><tr><td align="center">
<table role="presentation" width="560" style="background:#fff"><tr><td style="padding:32px 40px;font-family:sans-serif">
<h1>Sign in to Acme Notes</h1><p>Hi ${escape(name)},</p><p>Use the button below to sign in.</p>
<a href="${escape(link)}" style="display:inline-block;padding:12px 24px;background:#4f46e5;color:#fff">Sign in</a>
<p>Or enter this code:</p><p style="font-size:28px;letter-spacing:6px">${escape(d.token)}</p>
<p>If the button doesn't work, copy this link into your browser:<br><a href="${escape(link)}">${escape(link)}</a></p>
</td></tr></table></td></tr></table></body></html>`;
  const text = `Sign in to Acme Notes\n\nHi ${name},\n\nSign in: ${link}\n\nOr enter this code: ${d.token}\n`;
  return { subject, html, text, link };
}

const LOCK = `with s as (select now() as t)
  insert into portcullis.verification_attempts as a
    (kind, user_id, factor_id, failures, window_started_at, last_failure_at, locked_until)
  select 'password', $1::uuid, '', 1, s.t, s.t, null from s
  on conflict (kind, user_id, factor_id) do update set
    failures = case when a.window_started_at <= now() - interval '900 seconds'
      and (a.locked_until is null or a.locked_until <= now()) then 1 else a.failures + 1 end,
    window_started_at = case when a.window_started_at <= now() - interval '900 seconds'
      and (a.locked_until is null or a.locked_until <= now()) then now() else a.window_started_at end,
    last_failure_at = now(),
    locked_until = case when a.failures + 1 >= 5
      then now() + make_interval(secs => least(3600, 60 * power(2, least(a.failures + 1 - 5, 30)))) else a.locked_until end
  returning failures, extract(epoch from (locked_until - now())) as locked_for`;

export function makeHandler(secret: string, db: () => Sql, after: (sql: Sql) => void) {
  const wh = new Webhook(secret.replace(/^v1,/, ""));
  return async (req: Request): Promise<Response> => {
    if (req.method !== "POST") return json(405, { error: "method_not_allowed" });
    const path = new URL(req.url).pathname;
    const body = await req.text();
    // deno-lint-ignore no-explicit-any
    let p: any;
    try {
      p = wh.verify(body, Object.fromEntries(req.headers));
    } catch {
      return json(401, { error: "invalid_signature" });
    }
    const sql = db();
    try {
      if (path.endsWith("/send-email")) {
        const m = render(p);
        await sql`insert into portcullis.email_outbox (hook_uuid, email_type, user_id, recipient, locale, subject,
            html, text, link, token, token_hash, redirect_to, delivery, status)
          values (${p.metadata.uuid}, ${p.email_data.email_action_type}, ${p.user.id}, ${p.user.email}, 'en',
            ${m.subject}, ${m.html}, ${m.text}, ${m.link}, ${p.email_data.token}, ${p.email_data.token_hash},
            ${p.email_data.redirect_to}, 'outbox', 'queued')
          on conflict (hook_uuid, recipient, email_type) do nothing`;
        return json(200, {});
      }
      if (path.endsWith("/password-verification-attempt")) {
        if (p.valid) {
          const [locked] = await sql`select 1 from portcullis.verification_attempts
            where kind = 'password' and user_id = ${p.user_id} and factor_id = '' and locked_until > now()`;
          if (!locked) {
            await sql`delete from portcullis.verification_attempts where kind = 'password' and user_id = ${p.user_id} and factor_id = ''`;
          }
          return json(200, { decision: locked ? "reject" : "continue", message: "", should_logout_user: false });
        }
        const [row] = await sql.unsafe(LOCK, [p.user_id]);
        const locked = row.locked_for !== null && Number(row.locked_for) > 0;
        return json(200, {
          decision: locked ? "reject" : "continue",
          message: locked ? `Too many failed attempts. Try again in ${Math.ceil(Number(row.locked_for) / 60)} minute(s).` : "",
          should_logout_user: false,
        });
      }
      return json(404, { error: "not_found" });
    } catch (e) {
      console.error(e);
      return json(200, { error: { http_code: 500, message: "The authentication hook could not process this request." } });
    } finally {
      after(sql);
    }
  };
}
