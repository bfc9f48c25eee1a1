-- Portcullis pat retention, and the exchange's Retry-After bounded by its window.
--
-- Retention: tokens revoked or expired longer ago than the policy's
-- `retention_days`, and events older than that, are deleted a bounded batch at a time (at most
-- 1000 of each per call) by the pat function itself now and then, after a management call: no
-- cron for the user to remember. Until then a revoked or expired token stays listed (status
-- revoked / expired) and its hash keeps answering "revoked" rather than "unknown".
-- Runs with the owner's rights so portcullis_fn needs no DELETE.
--
-- Idempotent: applying it again changes nothing.

-- What retention looks for, so a call reads only the rows it deletes (neither column changes
-- when a token is exchanged, so exchanges stay heap-only updates).
create index if not exists pat_tokens_gone on portcullis.pat_tokens ((least(revoked_at, expires_at)));
create index if not exists pat_events_created on portcullis.pat_events (created_at);

create or replace function portcullis.pat_retention(keep_days integer)
returns integer
language sql security definer set search_path = pg_catalog, pg_temp as $$
  with old_tokens as (
    delete from portcullis.pat_tokens
    where id in (
      select id from portcullis.pat_tokens
      -- least() ignores nulls: whichever of revoked_at and expires_at is set and earliest.
      where least(revoked_at, expires_at) < now() - make_interval(days => greatest(coalesce(keep_days, 90), 1))
      limit 1000)
    returning 1
  ), old_events as (
    delete from portcullis.pat_events
    where id in (
      select id from portcullis.pat_events
      where created_at < now() - make_interval(days => greatest(coalesce(keep_days, 90), 1))
      limit 1000)
    returning 1
  )
  select ((select count(*) from old_tokens) + (select count(*) from old_events))::integer
$$;
revoke all on function portcullis.pat_retention(integer) from public;
grant execute on function portcullis.pat_retention(integer) to portcullis_fn;

-- The exchange again (20261203000000), with Retry-After never past the window.
-- One exchange, checks in the spec's order: hash lookup, revoked, expired, the owner's state
-- (read fresh from auth.users), IP allow-list, rate limit; then usage is recorded. The row
-- lock makes the rate limit and the counts exact under concurrency.
create or replace function portcullis.pat_exchange(
  p_hash text, p_ip inet, p_limit integer, p_window integer,
  out outcome text, out token_id uuid, out user_id uuid, out scopes text[],
  out expires_at timestamptz, out retry_after integer, out email text, out phone text,
  out app_metadata text, out user_metadata text, out is_anonymous boolean)
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  t portcullis.pat_tokens;
  u record;
begin
  select * into t from portcullis.pat_tokens x where x.token_hash = decode(p_hash, 'hex') for update;
  if not found then
    outcome := 'unknown';
    return;
  end if;
  token_id := t.id;
  user_id := t.user_id;
  if t.revoked_at is not null and t.revoked_at <= now() then
    outcome := 'revoked';
    return;
  end if;
  if t.expires_at is not null and t.expires_at <= now() then
    outcome := 'expired';
    return;
  end if;
  if to_regclass('auth.users') is null then
    outcome := 'no_auth_schema';
    return;
  end if;
  select a.email, a.phone, a.raw_app_meta_data, a.raw_user_meta_data, a.banned_until,
      a.deleted_at, a.is_anonymous
    into u from auth.users a where a.id = t.user_id;
  if not found or u.deleted_at is not null then
    outcome := 'user_gone';
    return;
  end if;
  if u.banned_until is not null and u.banned_until > now() then
    outcome := 'user_banned';
    return;
  end if;
  if t.allowed_ips is not null and (p_ip is null or not (p_ip <<= any (t.allowed_ips))) then
    outcome := 'ip_refused';
    return;
  end if;
  if t.window_started_at is not null and t.window_started_at > now() - make_interval(secs => p_window) then
    if t.window_count >= p_limit then
      outcome := 'rate_limited';
      -- Clamped to the window: an exchange whose transaction started before the one that
      -- opened the window (it waited for the row lock) sees a start after its now().
      retry_after := least(p_window, greatest(1, ceil(extract(epoch from
        t.window_started_at + make_interval(secs => p_window) - now()))::integer));
      return;
    end if;
    update portcullis.pat_tokens x set window_count = x.window_count + 1
      where x.id = t.id;
  else
    update portcullis.pat_tokens x set window_started_at = now(), window_count = 1
      where x.id = t.id;
  end if;
  update portcullis.pat_tokens x set use_count = x.use_count + 1, last_used_at = now(),
      last_used_ip = p_ip
    where x.id = t.id;
  outcome := 'ok';
  scopes := t.scopes;
  -- A token in its rotation overlap mints nothing that outlives the overlap.
  expires_at := least(t.expires_at, t.revoked_at);
  email := coalesce(u.email, '');
  phone := coalesce(u.phone, '');
  app_metadata := coalesce(u.raw_app_meta_data, '{}'::jsonb)::text;
  user_metadata := coalesce(u.raw_user_meta_data, '{}'::jsonb)::text;
  is_anonymous := coalesce(u.is_anonymous, false);
end
$$;

insert into portcullis.migrations (version) values ('20261204000000') on conflict (version) do nothing;
