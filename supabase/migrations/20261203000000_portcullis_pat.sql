-- Portcullis personal access tokens: the tokens (hashes only), their usage and their events.
--
-- A token is stored as the SHA-256 (or peppered HMAC-SHA-256) of its full text, unique, and
-- looked up by that hash; its text is shown once, at creation, and never reaches the database.
-- portcullis_fn has no rights on these tables at all: each thing the pat function does is one
-- call of a function below, which runs with the owner's rights (security definer, fixed
-- search_path) and does exactly that one thing. Idempotent; removed by uninstall.sql.

create table if not exists portcullis.pat_tokens (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null,
  name text not null,
  token_hash bytea not null,
  hint text not null,
  scopes text[] not null default '{}',
  allowed_ips cidr[],
  created_at timestamptz not null default now(),
  expires_at timestamptz,
  -- In the future while a rotated token's overlap runs; the token is refused from then on.
  revoked_at timestamptz,
  revoked_reason text,
  rotated_to uuid,
  last_used_at timestamptz,
  last_used_ip inet,
  use_count bigint not null default 0,
  -- The exchange rate limit's current window.
  window_started_at timestamptz,
  window_count integer not null default 0,
  constraint pat_tokens_hash unique (token_hash),
  constraint pat_tokens_hash_length check (octet_length(token_hash) = 32),
  constraint pat_tokens_name_length check (char_length(name) between 1 and 100),
  constraint pat_tokens_reason check (revoked_reason in ('user', 'rotated', 'leaked', 'admin'))
);
comment on table portcullis.pat_tokens is
  'Personal access tokens: SHA-256 hashes only, with scopes, expiry, IP allow-list, usage and revocation. Written only through the portcullis.pat_* functions.';
create index if not exists pat_tokens_user on portcullis.pat_tokens (user_id, created_at);

create table if not exists portcullis.pat_events (
  id bigint generated always as identity primary key,
  token_id uuid not null,
  user_id uuid not null,
  kind text not null,
  detail jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  constraint pat_events_kind check (kind in ('created', 'rotated', 'revoked', 'leaked'))
);
comment on table portcullis.pat_events is
  'What happened to personal access tokens: created, rotated, revoked, leaked (a secret-scanning report, with where it was found).';
create index if not exists pat_events_token on portcullis.pat_events (token_id, created_at);

alter table portcullis.pat_tokens enable row level security;
alter table portcullis.pat_events enable row level security;
revoke all on portcullis.pat_tokens, portcullis.pat_events from public;

do $$
begin
  -- On Supabase, tokens and their events go with their user.
  if to_regclass('auth.users') is not null then
    if not exists (
      select 1 from pg_catalog.pg_constraint
      where conname = 'pat_tokens_user_fk' and conrelid = 'portcullis.pat_tokens'::regclass
    ) then
      alter table portcullis.pat_tokens
        add constraint pat_tokens_user_fk foreign key (user_id) references auth.users (id) on delete cascade;
    end if;
    if not exists (
      select 1 from pg_catalog.pg_constraint
      where conname = 'pat_events_user_fk' and conrelid = 'portcullis.pat_events'::regclass
    ) then
      alter table portcullis.pat_events
        add constraint pat_events_user_fk foreign key (user_id) references auth.users (id) on delete cascade;
    end if;
  end if;
end
$$;

-- A token's state at `now`, for lists and errors. (Columns, not the row type: a function
-- taking the table's type would make the table undroppable by uninstall.sql.)
create or replace function portcullis.pat_state(p_revoked_at timestamptz, p_expires_at timestamptz)
returns text language sql stable set search_path = pg_catalog, pg_temp as $$
  select case
    when p_revoked_at is not null and p_revoked_at <= now() then 'revoked'
    when p_expires_at is not null and p_expires_at <= now() then 'expired'
    when p_revoked_at is not null then 'rotating'
    else 'active' end
$$;

-- Creates a token for p_user unless they have p_max live tokens already. One call; the
-- per-user advisory lock makes the count exact under concurrent creates.
create or replace function portcullis.pat_create(
  p_user uuid, p_name text, p_hash text, p_hint text, p_scopes text[], p_expires_at timestamptz,
  p_allowed_ips cidr[], p_max integer,
  out outcome text, out id uuid, out created_at timestamptz)
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  live integer;
begin
  perform pg_advisory_xact_lock(hashtextextended('portcullis.pat:' || p_user::text, 0));
  if to_regclass('auth.users') is not null then
    perform 1 from auth.users u where u.id = p_user and u.deleted_at is null
      and (u.banned_until is null or u.banned_until <= now());
    if not found then
      outcome := 'user_gone';
      return;
    end if;
  end if;
  select count(*) into live from portcullis.pat_tokens t
    where t.user_id = p_user and (t.revoked_at is null or t.revoked_at > now())
      and (t.expires_at is null or t.expires_at > now());
  if live >= p_max then
    outcome := 'limit';
    return;
  end if;
  insert into portcullis.pat_tokens as t (user_id, name, token_hash, hint, scopes, expires_at, allowed_ips)
    values (p_user, p_name, decode(p_hash, 'hex'), p_hint, p_scopes, p_expires_at, p_allowed_ips)
    returning t.id, t.created_at into id, created_at;
  insert into portcullis.pat_events (token_id, user_id, kind, detail)
    values (id, p_user, 'created', jsonb_build_object('name', p_name, 'scopes', to_jsonb(p_scopes)));
  outcome := 'created';
end
$$;

-- The user's tokens as a JSON array, newest first: never a hash.
create or replace function portcullis.pat_list(p_user uuid) returns text
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
  select coalesce(json_agg(json_build_object(
      'id', t.id, 'name', t.name, 'hint', t.hint, 'scopes', t.scopes,
      'allowed_ips', t.allowed_ips, 'created_at', t.created_at, 'expires_at', t.expires_at,
      'last_used_at', t.last_used_at, 'last_used_ip', host(t.last_used_ip), 'use_count', t.use_count,
      'revoked_at', t.revoked_at, 'revoked_reason', t.revoked_reason, 'rotated_to', t.rotated_to,
      'status', portcullis.pat_state(t.revoked_at, t.expires_at)) order by t.created_at desc, t.id), '[]')::text
  from portcullis.pat_tokens t where t.user_id = p_user
$$;

-- Replaces p_id (p_user's) with a new token: same name, scopes and allow-list, a lifetime as
-- long as the old one's (at most p_max_lifetime seconds); the old one stays valid for
-- p_overlap seconds, then counts as revoked.
create or replace function portcullis.pat_rotate(
  p_user uuid, p_id uuid, p_hash text, p_hint text, p_overlap integer, p_max_lifetime bigint,
  p_max integer,
  out outcome text, out id uuid, out name text, out scopes text[], out allowed_ips text[],
  out created_at timestamptz, out expires_at timestamptz, out old_valid_until timestamptz)
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  old portcullis.pat_tokens;
  live integer;
begin
  perform pg_advisory_xact_lock(hashtextextended('portcullis.pat:' || p_user::text, 0));
  select * into old from portcullis.pat_tokens t where t.id = p_id and t.user_id = p_user for update;
  if not found then
    outcome := 'not_found';
    return;
  end if;
  if portcullis.pat_state(old.revoked_at, old.expires_at) <> 'active' then
    outcome := portcullis.pat_state(old.revoked_at, old.expires_at);
    return;
  end if;
  -- Tokens still in an overlap count: rotating the new token again and again cannot pile up
  -- live ones (at most p_max others, plus this one while its overlap runs).
  select count(*) into live from portcullis.pat_tokens t
    where t.user_id = p_user and t.id <> p_id and (t.revoked_at is null or t.revoked_at > now())
      and (t.expires_at is null or t.expires_at > now());
  if live >= p_max then
    outcome := 'limit';
    return;
  end if;
  insert into portcullis.pat_tokens as t (user_id, name, token_hash, hint, scopes, expires_at, allowed_ips)
    values (p_user, old.name, decode(p_hash, 'hex'), p_hint, old.scopes,
      case when old.expires_at is null then null
        else now() + least(old.expires_at - old.created_at, make_interval(secs => p_max_lifetime)) end,
      old.allowed_ips)
    returning t.id, t.name, t.scopes, t.allowed_ips::text[], t.created_at, t.expires_at
    into id, name, scopes, allowed_ips, created_at, expires_at;
  update portcullis.pat_tokens t set revoked_at = now() + make_interval(secs => p_overlap),
      revoked_reason = 'rotated', rotated_to = pat_rotate.id
    where t.id = p_id
    returning t.revoked_at into old_valid_until;
  insert into portcullis.pat_events (token_id, user_id, kind, detail)
    values (p_id, p_user, 'rotated', jsonb_build_object('new_token_id', id, 'overlap_seconds', p_overlap));
  outcome := 'rotated';
end
$$;

-- Revokes p_id (p_user's) now; idempotent (an overlap still running ends now).
create or replace function portcullis.pat_revoke(p_user uuid, p_id uuid, p_reason text) returns text
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  before timestamptz;
begin
  select t.revoked_at into before from portcullis.pat_tokens t
    where t.id = p_id and t.user_id = p_user for update;
  if not found then
    return 'not_found';
  end if;
  if before is null or before > now() then
    update portcullis.pat_tokens t set revoked_at = now(),
        revoked_reason = case when before is null then p_reason else t.revoked_reason end
      where t.id = p_id;
    insert into portcullis.pat_events (token_id, user_id, kind, detail)
      values (p_id, p_user, 'revoked', jsonb_build_object('reason', p_reason));
  end if;
  return 'revoked';
end
$$;

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
      retry_after := greatest(1, ceil(extract(epoch from
        t.window_started_at + make_interval(secs => p_window) - now()))::integer);
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

-- RFC 7662 introspection of a token by hash: read-only (not usage, not rate-limited).
create or replace function portcullis.pat_introspect(
  p_hash text,
  out active boolean, out token_id uuid, out user_id uuid, out name text, out scopes text[],
  out created_at timestamptz, out expires_at timestamptz)
language plpgsql stable security definer set search_path = pg_catalog, pg_temp as $$
declare
  t portcullis.pat_tokens;
begin
  active := false;
  select * into t from portcullis.pat_tokens x where x.token_hash = decode(p_hash, 'hex');
  if not found or portcullis.pat_state(t.revoked_at, t.expires_at) not in ('active', 'rotating') then
    return;
  end if;
  if to_regclass('auth.users') is not null then
    perform 1 from auth.users a where a.id = t.user_id and a.deleted_at is null
      and (a.banned_until is null or a.banned_until <= now());
    if not found then
      return;
    end if;
  end if;
  active := true;
  token_id := t.id;
  user_id := t.user_id;
  name := t.name;
  scopes := t.scopes;
  created_at := t.created_at;
  expires_at := least(t.expires_at, t.revoked_at);
end
$$;

-- A secret-scanning report (GitHub's partner protocol), one call for the whole batch: each
-- reported hash that is one of ours is revoked (reason `leaked`) if it was live, the leak is
-- recorded with where it was found, and the owner's e-mail is queued in the hooks' outbox
-- (status `queued`, for the outbox consumer) when the token was live: one message per token,
-- whatever GitHub resends.
-- Returns one row per input position: `revoked`, `already_revoked` or `unknown`.
create or replace function portcullis.pat_report_leaks(
  p_hashes text[], p_urls text[], p_sources text[], p_subjects text[], p_htmls text[],
  p_texts text[])
returns table (item integer, outcome text, token_id uuid)
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  i integer;
  t portcullis.pat_tokens;
  was_live boolean;
  recipient text;
begin
  for i in 1 .. coalesce(array_length(p_hashes, 1), 0) loop
    item := i;
    select * into t from portcullis.pat_tokens x
      where x.token_hash = decode(p_hashes[i], 'hex') for update;
    if not found then
      outcome := 'unknown';
      token_id := null;
      return next;
      continue;
    end if;
    token_id := t.id;
    was_live := t.revoked_at is null or t.revoked_at > now();
    if was_live then
      update portcullis.pat_tokens x set revoked_at = now(), revoked_reason = 'leaked'
        where x.id = t.id;
    end if;
    insert into portcullis.pat_events (token_id, user_id, kind, detail)
      values (t.id, t.user_id, 'leaked', jsonb_build_object(
        'url', p_urls[i], 'source', p_sources[i], 'was_live', was_live));
    recipient := null;
    if to_regclass('auth.users') is not null then
      select a.email into recipient from auth.users a where a.id = t.user_id;
    end if;
    -- A token that was already dead harms no one: recorded, but no e-mail.
    if was_live and recipient is not null and recipient <> '' then
      perform portcullis.email_claim(
        md5('portcullis.pat.leaked:' || t.id::text)::uuid, 'pat_leaked', t.user_id, recipient,
        'en', p_subjects[i], p_htmls[i], p_texts[i], null, null, null, null, 'outbox', 'queued');
    end if;
    outcome := case when was_live then 'revoked' else 'already_revoked' end;
    return next;
  end loop;
end
$$;

do $$
declare
  f text;
begin
  foreach f in array array[
    'portcullis.pat_create(uuid, text, text, text, text[], timestamptz, cidr[], integer)',
    'portcullis.pat_list(uuid)',
    'portcullis.pat_rotate(uuid, uuid, text, text, integer, bigint, integer)',
    'portcullis.pat_revoke(uuid, uuid, text)',
    'portcullis.pat_exchange(text, inet, integer, integer)',
    'portcullis.pat_introspect(text)',
    'portcullis.pat_report_leaks(text[], text[], text[], text[], text[], text[])'
  ] loop
    execute format('revoke all on function %s from public', f);
    execute format('grant execute on function %s to portcullis_fn', f);
  end loop;
  revoke all on function portcullis.pat_state(timestamptz, timestamptz) from public;
end
$$;

insert into portcullis.migrations (version) values ('20261203000000') on conflict (version) do nothing;
