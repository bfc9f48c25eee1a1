//! Migrations against a real server: install, idempotency, uninstall leaving nothing behind,
//! and the least-privilege role actually working.

use std::path::PathBuf;

use crate::pg::{Pg, TestPostgres};
use crate::util::{Result, note, random_hex, root, say};

/// `supabase/migrations/*.sql`, in version order.
pub fn migration_files() -> Result<Vec<PathBuf>> {
    let dir = root().join("supabase/migrations");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    Ok(files)
}

pub fn install(pg: &mut Pg) -> Result {
    for f in migration_files()? {
        let sql = std::fs::read_to_string(&f).map_err(|e| e.to_string())?;
        pg.execute(&sql)
            .map_err(|e| format!("{}: {e}", f.display()))?;
    }
    Ok(())
}

pub fn uninstall(pg: &mut Pg) -> Result {
    let sql = std::fs::read_to_string(root().join("supabase/uninstall.sql"))
        .map_err(|e| e.to_string())?;
    pg.execute(&sql).map_err(|e| format!("uninstall.sql: {e}"))
}

/// Every catalog fact an install could change, one line each, sorted. ACLs are compared as
/// effective privileges (a NULL ACL expanded with `acldefault`): granting and revoking again
/// leaves the owner's defaults stored explicitly, which is the same set of privileges.
const SNAPSHOT: &str = r#"
with user_ns as (
  select oid, nspname from pg_namespace
  where nspname !~ '^pg_' and nspname <> 'information_schema'
)
select line from (
  select 'schema ' || nspname || ' owner=' || pg_get_userbyid(nspowner) || ' acl=' || coalesce(nspacl, acldefault('n', nspowner))::text as line
    from pg_namespace where nspname !~ '^pg_(toast|temp)'
  union all select 'role ' || rolname || ' login=' || rolcanlogin || ' super=' || rolsuper || ' inherit=' || rolinherit
    || ' createrole=' || rolcreaterole || ' createdb=' || rolcreatedb || ' bypassrls=' || rolbypassrls || ' conn=' || rolconnlimit
    from pg_roles
  union all select 'member ' || m.member::regrole::text || ' in ' || m.roleid::regrole::text from pg_auth_members m
  union all select 'db ' || datname || ' acl=' || coalesce(datacl, acldefault('d', datdba))::text from pg_database
  union all select 'rel ' || c.oid::regclass::text || ' kind=' || c.relkind::text || ' owner=' || pg_get_userbyid(c.relowner)
    || ' rls=' || c.relrowsecurity
    || ' acl=' || coalesce(c.relacl, acldefault(case when c.relkind = 'S' then 's' else 'r' end::"char", c.relowner))::text
    from pg_class c join user_ns n on n.oid = c.relnamespace
  union all select 'col ' || a.attrelid::regclass::text || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
    || ' acl=' || coalesce(nullif(a.attacl::text, '{}'), '-')
    from pg_attribute a join pg_class c on c.oid = a.attrelid join user_ns n on n.oid = c.relnamespace
    where a.attnum > 0 and not a.attisdropped
  union all select 'proc ' || p.oid::regprocedure::text || ' acl=' || coalesce(p.proacl, acldefault('f', p.proowner))::text
    from pg_proc p join user_ns n on n.oid = p.pronamespace
  union all select 'type ' || t.oid::regtype::text from pg_type t join user_ns n on n.oid = t.typnamespace
  union all select 'constraint ' || c.conrelid::regclass::text || ' ' || c.conname
    from pg_constraint c join user_ns n on n.oid = c.connamespace
  union all select 'policy ' || polrelid::regclass::text || ' ' || polname || ' roles=' || polroles::regrole[]::text from pg_policy
  union all select 'trigger ' || tgrelid::regclass::text || ' ' || tgname from pg_trigger where not tgisinternal
  union all select 'defacl ' || pg_get_userbyid(defaclrole) || ' ' || defaclobjtype::text || ' ' || defaclacl::text from pg_default_acl
  union all select 'extension ' || extname from pg_extension
  union all select 'event_trigger ' || evtname from pg_event_trigger
  union all select 'comment ' || description from pg_description where objoid >= 16384
  union all select 'shcomment ' || description from pg_shdescription
) facts order by line"#;

pub fn snapshot(pg: &mut Pg) -> Result<Vec<String>> {
    pg.column(SNAPSHOT)
}

fn diff(before: &[String], after: &[String]) -> String {
    let added: Vec<&String> = after.iter().filter(|l| !before.contains(l)).collect();
    let removed: Vec<&String> = before.iter().filter(|l| !after.contains(l)).collect();
    let mut out = String::new();
    for l in added {
        out.push_str(&format!("\n  + {l}"));
    }
    for l in removed {
        out.push_str(&format!("\n  - {l}"));
    }
    out
}

fn expect_same(what: &str, before: &[String], after: &[String]) -> Result {
    if before == after {
        Ok(())
    } else {
        Err(format!("{what}: catalog differs:{}", diff(before, after)))
    }
}

/// Mirrors the part of a Supabase database the functions meet: the API roles, `auth.users`,
/// `auth.sessions` and `auth.uid()`/`auth.role()`/`auth.jwt()` (tests/fixtures/supabase-auth.sql,
/// also loaded by `cargo xtask dev`).
pub fn supabase_like(pg: &mut Pg) -> Result {
    let sql = std::fs::read_to_string(root().join("tests/fixtures/supabase-auth.sql"))
        .map_err(|e| format!("tests/fixtures/supabase-auth.sql: {e}"))?;
    pg.execute(&sql)
}

/// Install twice, uninstall twice, and compare catalogs each way; then the same with an
/// operator grant on a table outside our schema, which uninstall must revoke.
pub fn migration_suite(server: &TestPostgres) -> Result {
    say("migrations: install twice, uninstall, catalog diff");
    let mut pg = server.connect()?;
    supabase_like(&mut pg)?;
    let pristine = snapshot(&mut pg)?;

    install(&mut pg)?;
    let once = snapshot(&mut pg)?;
    let changes = diff(&pristine, &once);
    if !changes.contains("schema portcullis") || !changes.contains("role portcullis_fn login=false")
    {
        return Err(format!(
            "install did not create the schema and role:{changes}"
        ));
    }
    let versions = pg.column("select version from portcullis.migrations order by 1")?;
    install(&mut pg)?;
    expect_same("second install", &once, &snapshot(&mut pg)?)?;
    let again = pg.column("select version from portcullis.migrations order by 1")?;
    if versions != again || versions.len() != migration_files()?.len() {
        return Err(format!(
            "migration records changed on re-install: {versions:?} -> {again:?}"
        ));
    }
    note(format!(
        "install is idempotent ({} catalog facts added)",
        once.len() - pristine.len()
    ));

    uninstall(&mut pg)?;
    expect_same("uninstall", &pristine, &snapshot(&mut pg)?)?;
    uninstall(&mut pg)?;
    expect_same("second uninstall", &pristine, &snapshot(&mut pg)?)?;

    // An operator grants our role a custom claims table elsewhere (whole table and single
    // columns), a function, the database itself, plus default privileges.
    install(&mut pg)?;
    let db = pg.column("select current_database()")?.concat();
    pg.execute(&format!(
        "create table public.custom_claims (user_id uuid primary key, claims jsonb, note text);
         create function public.claims_for(uuid) returns jsonb language sql as 'select null::jsonb';
         grant select on public.custom_claims to portcullis_fn;
         grant update (claims), select (note) on public.custom_claims to portcullis_fn;
         grant execute on function public.claims_for(uuid) to portcullis_fn;
         grant usage on schema auth to portcullis_fn;
         grant connect, temporary, create on database \"{db}\" to portcullis_fn;
         alter default privileges in schema public grant select on tables to portcullis_fn;
         alter role portcullis_fn login password 'x';"
    ))?;
    uninstall(&mut pg)?;
    pg.execute("drop table public.custom_claims; drop function public.claims_for(uuid)")?;
    expect_same(
        "uninstall after operator grants",
        &pristine,
        &snapshot(&mut pg)?,
    )?;
    note(
        "uninstall leaves the catalog exactly as before install (table, column, function, database and default grants revoked)",
    );

    // Objects of the user's that depend on ours: uninstall refuses, names them, changes nothing.
    install(&mut pg)?;
    for (setup, names, teardown) in [
        (
            "create view public.pending_mail as select id, recipient from portcullis.email_outbox",
            "view pending_mail",
            "drop view public.pending_mail",
        ),
        (
            "create table public.claim_refs (user_id uuid references portcullis.user_claims (user_id))",
            "claim_refs_user_id_fkey on table claim_refs",
            "drop table public.claim_refs",
        ),
        (
            "create table public.docs (id int); alter table public.docs enable row level security;
             create policy mail_readers on public.docs using (exists (select 1 from portcullis.events))",
            "policy mail_readers on table docs",
            "drop table public.docs",
        ),
    ] {
        pg.execute(setup)?;
        let before = snapshot(&mut pg)?;
        match uninstall(&mut pg) {
            Err(e) if e.contains("not uninstalled") && e.contains(names) => {}
            other => {
                return Err(format!(
                    "uninstall with `{names}` depending on Portcullis should refuse and name it: {other:?}"
                ));
            }
        }
        expect_same("refused uninstall", &before, &snapshot(&mut pg)?)?;
        pg.execute(teardown)?;
    }
    // An object the role owns is not ours to drop either.
    pg.execute("create table public.owned_by_fn (a int); alter table public.owned_by_fn owner to portcullis_fn")?;
    let before = snapshot(&mut pg)?;
    match uninstall(&mut pg) {
        Err(e) if e.contains("owns") && e.contains("owned_by_fn") => {}
        other => {
            return Err(format!(
                "uninstall must refuse while portcullis_fn owns a table: {other:?}"
            ));
        }
    }
    expect_same("refused uninstall", &before, &snapshot(&mut pg)?)?;
    pg.execute("drop table public.owned_by_fn")?;
    uninstall(&mut pg)?;
    expect_same(
        "uninstall after the refusals",
        &pristine,
        &snapshot(&mut pg)?,
    )?;
    note(
        "uninstall refuses, names the objects and changes nothing when a view, foreign key or policy depends on Portcullis or portcullis_fn owns a table",
    );
    Ok(())
}

/// Installs for the function tests; gives `portcullis_fn` a password; checks its privileges.
/// Returns the role's connection URL.
pub fn prepare_function_role(server: &TestPostgres) -> Result<String> {
    let mut pg = server.connect()?;
    supabase_like(&mut pg)?;
    install(&mut pg)?;
    let password = random_hex(16)?;
    pg.execute(&format!(
        "alter role portcullis_fn login password '{password}'"
    ))?;
    let url = server.url("portcullis_fn", &password);

    say("least privilege: what portcullis_fn can and cannot do");
    let mut f = Pg::connect(&url)?;
    f.query(
        "select claims::text from portcullis.user_claims where user_id = $1::uuid",
        &[Some("00000000-0000-4000-8000-000000000000")],
    )?;
    // What the delivery hooks do, as that role.
    let rows = f.query(
        "insert into portcullis.email_outbox (hook_uuid, email_type, recipient, locale, subject, html, text, delivery)
         values (gen_random_uuid(), 'signup', 'a@example.com', 'en', 's', 'h', 't', 'outbox') returning id::text",
        &[],
    )?;
    let id = rows
        .first()
        .and_then(|r| r.first())
        .cloned()
        .flatten()
        .ok_or("no id returned")?;
    f.query(
        "update portcullis.email_outbox set status = 'queued', attempts = 0, last_error = null where id = $1::bigint",
        &[Some(&id)],
    )?;
    // Content lives only while a row is queued: the trigger clears it on any other status.
    let content = |f: &mut Pg| -> Result<Vec<Option<String>>> {
        Ok(f.query(
            "select html, link, token from portcullis.email_outbox where id = $1::bigint",
            &[Some(&id)],
        )?
        .into_iter()
        .next()
        .unwrap_or_default())
    };
    f.query(
        "update portcullis.email_outbox set html = 'h', link = 'l', token = '1' where false",
        &[],
    )
    .err()
    .filter(|e| e.contains("42501"))
    .ok_or("portcullis_fn may update outbox content")?;
    f.query(
        "insert into portcullis.email_outbox (hook_uuid, email_type, recipient, locale, subject, html, text, link, token, delivery, status)
         values (gen_random_uuid(), 'signup', 'q@example.com', 'en', 's', 'h', 't', 'l', '1', 'outbox', 'queued')",
        &[],
    )?;
    if content(&mut f)?.iter().any(Option::is_some) {
        return Err("a pending row kept its content".into());
    }
    let queued = f.query(
        "select count(*)::text from portcullis.email_outbox where status = 'queued' and html = 'h' and token = '1'",
        &[],
    )?;
    if queued != [[Some("1".to_owned())]] {
        return Err(format!("a queued row must keep its content: {queued:?}"));
    }
    f.query(
        "update portcullis.email_outbox set status = 'sent', sent_at = now() where status = 'queued'",
        &[],
    )?;
    let left = f.query(
        "select count(*)::text from portcullis.email_outbox where html is not null or token is not null",
        &[],
    )?;
    if left != [[Some("0".to_owned())]] {
        return Err(format!("sent rows kept their content: {left:?}"));
    }
    // Retention: a queued row past the OTP lifetime expires (content gone), rows past the
    // retention period are deleted, recent rows stay.
    f.query(
        "insert into portcullis.email_outbox (hook_uuid, email_type, recipient, locale, subject, html, text, token, delivery, status, created_at)
         values (gen_random_uuid(), 'old-sent', 'r@example.com', 'en', null, null, null, null, 'resend', 'sent', now() - interval '31 days'),
                (gen_random_uuid(), 'stale-queued', 'r@example.com', 'en', 's', 'h', 't', '1', 'outbox', 'queued', now() - interval '2 hours'),
                (gen_random_uuid(), 'fresh-queued', 'r@example.com', 'en', 's', 'h', 't', '1', 'outbox', 'queued', now() - interval '5 minutes')",
        &[],
    )?;
    let changed = f.query(
        "select portcullis.outbox_retention(3600, 3600, 30, 30)::text",
        &[],
    )?;
    let left = f.column(
        "select email_type || ':' || status || ':' || (html is not null)::text from portcullis.email_outbox
         where recipient = 'r@example.com' order by email_type",
    )?;
    if changed != [[Some("2".to_owned())]]
        || left != ["fresh-queued:queued:true", "stale-queued:expired:false"]
    {
        return Err(format!(
            "outbox retention: changed {changed:?}, left {left:?}"
        ));
    }
    note(
        "outbox content exists only while queued; retention (as portcullis_fn) expires stale queued rows and deletes old ones",
    );
    // A queued message the consumer marked failed, claimed again (GoTrue calls again with the
    // same metadata.uuid): queued again with its content, not left pending and empty.
    let claim_email = "select claim || ':' || id::text from portcullis.email_claim(
        'a6c1b0de-0000-4000-8000-000000000001', 'magiclink', null, 'c@example.com', 'en',
        's', 'h', 't', 'l', '1', null, null, 'outbox', 'queued')";
    let claim_sms = "select claim || ':' || id::text from portcullis.sms_claim(
        'a6c1b0de-0000-4000-8000-000000000002', 'otp', null, '+14155550123', 'en',
        'code 1', '1', 'outbox', 'queued')";
    for (claim, table, content) in [
        (claim_email, "email_outbox", "html"),
        (claim_sms, "sms_outbox", "body"),
    ] {
        let first = f.column(claim)?;
        pg.execute(&format!(
            "update portcullis.{table} set status = 'failed', attempts = 3, last_error = 'x' where status = 'queued' and recipient in ('c@example.com', '+14155550123')"
        ))?;
        let again = f.column(claim)?;
        let row = f.column(&format!(
            "select status || ':' || ({content} is not null)::text || ':' || attempts::text || ':' || (last_error is null)::text from portcullis.{table} where recipient in ('c@example.com', '+14155550123')"
        ))?;
        let owned = |v: &[String]| v.first().is_some_and(|c| c.starts_with("owned:"));
        if !owned(&first) || again != first || row != ["queued:true:0:true"] {
            return Err(format!(
                "{table}: a failed queued row claimed again must be queued with its content: first {first:?}, again {again:?}, row {row:?}"
            ));
        }
    }
    note("a failed queued message claimed again is queued again with its content (e-mail, SMS)");
    f.query(
        "insert into portcullis.verification_attempts (kind, user_id, failures, window_started_at, last_failure_at)
         values ('password', gen_random_uuid(), 1, now(), now())",
        &[],
    )?;
    f.query("delete from portcullis.verification_attempts", &[])?;
    f.query(
        "insert into portcullis.events (name, hook_uuid, payload) values ('user_created', gen_random_uuid(), '{}')",
        &[],
    )?;
    note("can read claims and write the outboxes, events and attempts");
    for (sql, what) in [
        ("delete from portcullis.email_outbox", "delete outbox rows"),
        (
            "update portcullis.email_outbox set recipient = 'x@evil.example'",
            "change an outbox recipient",
        ),
        (
            "update portcullis.sms_outbox set body = 'x'",
            "change an SMS body",
        ),
        (
            "update portcullis.email_outbox set subject = 'x', status = status",
            "change an outbox subject",
        ),
        (
            "update portcullis.events set payload = '{}'",
            "rewrite events",
        ),
        (
            "insert into portcullis.user_claims (user_id) values (gen_random_uuid())",
            "write its claims table",
        ),
        ("select count(*) from auth.users", "read auth.users"),
        (
            "select count(*) from portcullis.pat_tokens",
            "read the token table (only the pat_* functions may)",
        ),
        (
            "update portcullis.pat_tokens set revoked_at = null",
            "un-revoke tokens",
        ),
        (
            "select count(*) from portcullis.pat_events",
            "read token events",
        ),
        (
            "select count(*) from portcullis.sso_sessions",
            "read portal sessions (only the sso_* functions may)",
        ),
        (
            "update portcullis.sso_families set revoked_at = null",
            "un-revoke sso grants",
        ),
        (
            "select count(*) from portcullis.sso_refresh_tokens",
            "read sso refresh tokens",
        ),
        (
            "select * from portcullis.user_state(gen_random_uuid())",
            "call the internal user_state",
        ),
        (
            "create table portcullis.x (a int)",
            "create tables in its schema",
        ),
        ("create table public.x (a int)", "create tables in public"),
    ] {
        match f.query(sql, &[]) {
            Err(e) if e.contains("42501") => note(format!("cannot {what} (42501)")),
            other => return Err(format!("portcullis_fn could {what}: {other:?}")),
        }
    }
    Ok(url)
}
