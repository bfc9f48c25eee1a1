-- Portcullis outbox retention, least privilege, and one-call statements.
--
-- 1. A message's content (subject, rendered HTML and text, link, one-time code, token hash)
--    exists only while its row is `queued` for a consumer. Any other status (the function sent
--    it, a consumer marked it sent or failed, it expired) clears it, by trigger, whoever writes
--    the row. Rows the function sends itself never store content at all.
-- 2. `portcullis_fn` may change only the bookkeeping columns of outbox rows, so it cannot
--    rewrite what a consumer will send (recipient, subject, link) and cannot delete rows.
-- 3. Retention without a cron to remember: the hooks call portcullis.outbox_retention() now and
--    then. It expires `queued` rows older than the OTP lifetime (the code in them is dead) and
--    deletes rows older than the retention period, a bounded batch per call.
-- 4. Each thing a hook does to the database is one call of a function here (claim a message,
--    record an attempt): one statement and one round trip for the hook, and plans PL/pgSQL
--    keeps per connection instead of a multi-step statement parsed and planned on every call
--    (the functions run unprepared statements, which transaction-mode poolers require).
--
-- Idempotent: applying it again changes nothing.

alter table portcullis.email_outbox
  alter column subject drop not null,
  alter column html drop not null,
  alter column text drop not null;
alter table portcullis.sms_outbox
  alter column body drop not null;

alter table portcullis.email_outbox drop constraint if exists email_outbox_status;
alter table portcullis.email_outbox add constraint email_outbox_status
  check (status in ('pending', 'queued', 'sent', 'failed', 'expired'));
alter table portcullis.sms_outbox drop constraint if exists sms_outbox_status;
alter table portcullis.sms_outbox add constraint sms_outbox_status
  check (status in ('pending', 'queued', 'sent', 'failed', 'expired'));

comment on table portcullis.email_outbox is
  'Every e-mail the Portcullis hooks produce. status: pending (being sent), queued (for a consumer: delivery = outbox), sent, failed, expired (queued longer than the OTP lifetime). Content (subject, html, text, link, token, token_hash) exists only while queued. Rows are deleted after the retention period.';
comment on table portcullis.sms_outbox is
  'Every SMS the Portcullis hooks produce (same statuses as email_outbox). body and token exist only while queued.';

create or replace function portcullis.email_outbox_forget_content() returns trigger
language plpgsql set search_path = pg_catalog, pg_temp as $$
begin
  if new.status <> 'queued' then
    new.subject := null;
    new.html := null;
    new.text := null;
    new.link := null;
    new.token := null;
    new.token_hash := null;
  end if;
  return new;
end
$$;

create or replace function portcullis.sms_outbox_forget_content() returns trigger
language plpgsql set search_path = pg_catalog, pg_temp as $$
begin
  if new.status <> 'queued' then
    new.body := null;
    new.token := null;
  end if;
  return new;
end
$$;

revoke all on function portcullis.email_outbox_forget_content() from public;
revoke all on function portcullis.sms_outbox_forget_content() from public;

drop trigger if exists forget_content on portcullis.email_outbox;
create trigger forget_content before insert or update on portcullis.email_outbox
  for each row execute function portcullis.email_outbox_forget_content();
drop trigger if exists forget_content on portcullis.sms_outbox;
create trigger forget_content before insert or update on portcullis.sms_outbox
  for each row execute function portcullis.sms_outbox_forget_content();

-- Rows that were sent before this migration lose their content now.
update portcullis.email_outbox set status = status where status <> 'queued' and html is not null;
update portcullis.sms_outbox set status = status where status <> 'queued' and body is not null;

-- Expires queued rows older than the OTP lifetimes and deletes rows older than keep_days:
-- (each per outbox)
-- at most 1000 rows of each kind per table and call, so a call's cost is bounded whatever the
-- table holds. Rows are deleted oldest first by id (ids grow with time), without another index
-- to maintain on every insert. Runs with the owner's rights so portcullis_fn needs no DELETE.
create or replace function portcullis.outbox_retention(
  email_expiry_seconds integer, sms_expiry_seconds integer,
  email_keep_days integer, sms_keep_days integer)
returns integer
language sql security definer set search_path = pg_catalog, pg_temp as $$
  with expired_email as (
    update portcullis.email_outbox set status = 'expired', updated_at = now()
    where id in (
      select id from portcullis.email_outbox
      where status = 'queued'
        and created_at < now() - make_interval(secs => greatest(email_expiry_seconds, 60))
      order by created_at limit 1000)
    returning 1
  ), expired_sms as (
    update portcullis.sms_outbox set status = 'expired', updated_at = now()
    where id in (
      select id from portcullis.sms_outbox
      where status = 'queued'
        and created_at < now() - make_interval(secs => greatest(sms_expiry_seconds, 60))
      order by created_at limit 1000)
    returning 1
  ), old_email as (
    delete from portcullis.email_outbox
    where id in (
      select id from (select id, created_at, status from portcullis.email_outbox order by id limit 1000) o
      where created_at < now() - make_interval(days => greatest(email_keep_days, 1)) and status <> 'queued')
    returning 1
  ), old_sms as (
    delete from portcullis.sms_outbox
    where id in (
      select id from (select id, created_at, status from portcullis.sms_outbox order by id limit 1000) o
      where created_at < now() - make_interval(days => greatest(sms_keep_days, 1)) and status <> 'queued')
    returning 1
  )
  select ((select count(*) from expired_email) + (select count(*) from expired_sms)
        + (select count(*) from old_email) + (select count(*) from old_sms))::integer
$$;
revoke all on function portcullis.outbox_retention(integer, integer, integer, integer) from public;
grant execute on function portcullis.outbox_retention(integer, integer, integer, integer) to portcullis_fn;

-- Claims message `key` for the caller: inserts the row, or takes over one whose sender failed
-- or died (pending for 15 s), else reports the row's status. `claim` is 'owned' (send it),
-- or the status of another call's row; no row at all means it vanished meanwhile (ask again).
create or replace function portcullis.email_claim(
  p_hook_uuid uuid, p_email_type text, p_user_id uuid, p_recipient text, p_locale text,
  p_subject text, p_html text, p_text text, p_link text, p_token text, p_token_hash text,
  p_redirect_to text, p_delivery text, p_status text,
  out id bigint, out claim text)
language plpgsql set search_path = pg_catalog, pg_temp as $$
begin
  insert into portcullis.email_outbox as o (hook_uuid, email_type, user_id, recipient, locale,
      subject, html, text, link, token, token_hash, redirect_to, delivery, status)
    values (p_hook_uuid, p_email_type, p_user_id, p_recipient, p_locale, p_subject, p_html, p_text,
      p_link, p_token, p_token_hash, p_redirect_to, p_delivery, p_status)
    on conflict (hook_uuid, recipient, email_type) do nothing
    returning o.id into id;
  if found then
    claim := 'owned';
    return;
  end if;
  update portcullis.email_outbox as o set status = 'pending', updated_at = now()
    where o.hook_uuid = p_hook_uuid and o.recipient = p_recipient and o.email_type = p_email_type
      and (o.status = 'failed' or (o.status = 'pending' and o.updated_at < now() - interval '15 seconds'))
    returning o.id into id;
  if found then
    claim := 'owned';
    return;
  end if;
  select o.id, o.status into id, claim from portcullis.email_outbox as o
    where o.hook_uuid = p_hook_uuid and o.recipient = p_recipient and o.email_type = p_email_type;
end
$$;

create or replace function portcullis.sms_claim(
  p_hook_uuid uuid, p_sms_type text, p_user_id uuid, p_recipient text, p_locale text,
  p_body text, p_token text, p_delivery text, p_status text,
  out id bigint, out claim text)
language plpgsql set search_path = pg_catalog, pg_temp as $$
begin
  insert into portcullis.sms_outbox as o (hook_uuid, sms_type, user_id, recipient, locale, body,
      token, delivery, status)
    values (p_hook_uuid, p_sms_type, p_user_id, p_recipient, p_locale, p_body, p_token, p_delivery,
      p_status)
    on conflict (hook_uuid, recipient, sms_type) do nothing
    returning o.id into id;
  if found then
    claim := 'owned';
    return;
  end if;
  update portcullis.sms_outbox as o set status = 'pending', updated_at = now()
    where o.hook_uuid = p_hook_uuid and o.recipient = p_recipient and o.sms_type = p_sms_type
      and (o.status = 'failed' or (o.status = 'pending' and o.updated_at < now() - interval '15 seconds'))
    returning o.id into id;
  if found then
    claim := 'owned';
    return;
  end if;
  select o.id, o.status into id, claim from portcullis.sms_outbox as o
    where o.hook_uuid = p_hook_uuid and o.recipient = p_recipient and o.sms_type = p_sms_type;
end
$$;

-- A failed verification: one upsert that also computes the lock (N failures within the window
-- lock for lockout_seconds, doubling per further failure up to max_lockout_seconds; a window
-- that is over, with no lock running, starts again at 1). Returns the count and how long the
-- lock still runs (null: none).
create or replace function portcullis.attempt_failure(
  p_kind text, p_user_id uuid, p_factor_id text, p_window_seconds float8, p_max_failures integer,
  p_lockout_seconds float8, p_max_lockout_seconds float8,
  out failures integer, out locked_for float8)
language plpgsql set search_path = pg_catalog, pg_temp as $$
declare
  t timestamptz := now();
  w interval := make_interval(secs => p_window_seconds);
begin
  insert into portcullis.verification_attempts as a
      (kind, user_id, factor_id, failures, window_started_at, last_failure_at, locked_until)
    values (p_kind, p_user_id, p_factor_id, 1, t, t,
      case when 1 >= p_max_failures then t + make_interval(secs => least(p_max_lockout_seconds, p_lockout_seconds)) end)
    on conflict (kind, user_id, factor_id) do update set
      failures = case when a.window_started_at <= t - w and (a.locked_until is null or a.locked_until <= t)
        then 1 else a.failures + 1 end,
      window_started_at = case when a.window_started_at <= t - w and (a.locked_until is null or a.locked_until <= t)
        then t else a.window_started_at end,
      last_failure_at = t,
      locked_until = case
        when a.window_started_at <= t - w and (a.locked_until is null or a.locked_until <= t)
          then case when 1 >= p_max_failures then t + make_interval(secs => least(p_max_lockout_seconds, p_lockout_seconds)) end
        when a.failures + 1 >= p_max_failures
          then t + make_interval(secs => least(p_max_lockout_seconds,
            p_lockout_seconds * power(2::float8, least(a.failures + 1 - p_max_failures, 30))))
        else a.locked_until end
    returning a.failures, extract(epoch from (a.locked_until - t))::float8 into failures, locked_for;
end
$$;

-- A successful verification: clears the counter unless a lock is running (then the right
-- password is refused too). Returns the state the decision needs.
create or replace function portcullis.attempt_success(
  p_kind text, p_user_id uuid, p_factor_id text,
  out failures integer, out locked_for float8)
language plpgsql set search_path = pg_catalog, pg_temp as $$
begin
  select a.failures, extract(epoch from (a.locked_until - now()))::float8 into failures, locked_for
    from portcullis.verification_attempts as a
    where a.kind = p_kind and a.user_id = p_user_id and a.factor_id = p_factor_id
      and a.locked_until > now();
  if found then
    return;
  end if;
  delete from portcullis.verification_attempts as a
    where a.kind = p_kind and a.user_id = p_user_id and a.factor_id = p_factor_id;
  failures := 0;
end
$$;

do $$
declare
  f text;
begin
  foreach f in array array[
    'portcullis.email_claim(uuid, text, uuid, text, text, text, text, text, text, text, text, text, text, text)',
    'portcullis.sms_claim(uuid, text, uuid, text, text, text, text, text, text)',
    'portcullis.attempt_failure(text, uuid, text, float8, integer, float8, float8)',
    'portcullis.attempt_success(text, uuid, text)'
  ] loop
    execute format('revoke all on function %s from public', f);
    execute format('grant execute on function %s to portcullis_fn', f);
  end loop;
end
$$;

-- Bookkeeping columns only.
revoke update on portcullis.email_outbox, portcullis.sms_outbox from portcullis_fn;
grant update (status, delivery, provider_message_id, attempts, last_error, updated_at, sent_at)
  on portcullis.email_outbox, portcullis.sms_outbox to portcullis_fn;

insert into portcullis.migrations (version) values ('20261201000000') on conflict (version) do nothing;
