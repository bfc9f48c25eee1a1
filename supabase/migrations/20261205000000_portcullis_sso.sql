-- Portcullis SSO portal: portal sessions, authorization codes, refresh-token families, consent
-- grants, the back-channel logout outbox and login throttling.
--
-- Secrets (session cookies, codes, refresh tokens) are stored as SHA-256 hashes only, unique,
-- looked up by hash. portcullis_fn has no rights on these tables: each step the sso function
-- takes is one call of a function below (security definer, fixed search_path) doing exactly
-- that step in one statement, with row locks where single use must hold under concurrency
-- (a code redeemed once, a refresh token rotated once). Idempotent; removed by uninstall.sql.

create table if not exists portcullis.sso_sessions (
  id uuid primary key default gen_random_uuid(),
  token_hash bytea not null,
  user_id uuid not null,
  aal text not null,
  -- [{"method": …, "timestamp": …}], as Supabase's amr claim.
  amr jsonb not null,
  auth_time timestamptz not null,
  created_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  expires_at timestamptz not null,
  remember boolean not null default false,
  user_agent text,
  ip inet,
  ended_at timestamptz,
  ended_reason text,
  constraint sso_sessions_hash unique (token_hash),
  constraint sso_sessions_hash_length check (octet_length(token_hash) = 32),
  constraint sso_sessions_aal check (aal in ('aal1', 'aal2')),
  constraint sso_sessions_reason check (ended_reason in ('logout', 'revoked', 'user_gone', 'admin'))
);
comment on table portcullis.sso_sessions is
  'Portal sessions: the hash of the browser''s opaque cookie, the user, how they signed in. Written only through the portcullis.sso_* functions.';
create index if not exists sso_sessions_user on portcullis.sso_sessions (user_id, created_at);
-- sso_prune's predicate.
create index if not exists sso_sessions_done on portcullis.sso_sessions
  ((coalesce(ended_at, expires_at)));

create table if not exists portcullis.sso_families (
  id uuid primary key default gen_random_uuid(),
  session_id uuid not null references portcullis.sso_sessions (id) on delete cascade,
  user_id uuid not null,
  client_id text not null,
  scopes text[] not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  revoked_at timestamptz,
  revoked_reason text,
  constraint sso_families_reason check (revoked_reason in
    ('logout', 'code_replay', 'refresh_reuse', 'revoked', 'user_gone', 'session_revoked'))
);
comment on table portcullis.sso_families is
  'One app session: the grant a code redemption starts and every refresh token rotated from it. Revoked as a whole.';
create index if not exists sso_families_session on portcullis.sso_families (session_id);
-- sso_prune's predicate.
create index if not exists sso_families_done on portcullis.sso_families
  ((coalesce(revoked_at, expires_at)));

create table if not exists portcullis.sso_codes (
  code_hash bytea primary key,
  session_id uuid not null references portcullis.sso_sessions (id) on delete cascade,
  client_id text not null,
  redirect_uri text not null,
  -- The authorization request named redirect_uri (then the token request must too).
  redirect_uri_sent boolean not null,
  challenge text not null,
  scopes text[] not null,
  nonce text,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  redeemed_at timestamptz,
  family_id uuid references portcullis.sso_families (id) on delete cascade,
  constraint sso_codes_hash_length check (octet_length(code_hash) = 32)
);
comment on table portcullis.sso_codes is
  'Authorization codes (hashes), single use: a second redemption revokes the family the first one started.';
create index if not exists sso_codes_expiry on portcullis.sso_codes (expires_at);
-- Deleting a session or family cascades here; logout and replay look codes up by these.
create index if not exists sso_codes_session on portcullis.sso_codes (session_id);
create index if not exists sso_codes_family on portcullis.sso_codes (family_id)
  where family_id is not null;

create table if not exists portcullis.sso_refresh_tokens (
  token_hash bytea primary key,
  family_id uuid not null references portcullis.sso_families (id) on delete cascade,
  created_at timestamptz not null default now(),
  rotated_at timestamptz,
  constraint sso_refresh_hash_length check (octet_length(token_hash) = 32)
);
comment on table portcullis.sso_refresh_tokens is
  'Refresh tokens (hashes) of each family; rotated once each, a successor derived from its parent.';
create index if not exists sso_refresh_family on portcullis.sso_refresh_tokens (family_id);

create table if not exists portcullis.sso_grants (
  user_id uuid not null,
  client_id text not null,
  scopes text[] not null,
  granted_at timestamptz not null default now(),
  primary key (user_id, client_id)
);
comment on table portcullis.sso_grants is
  'Consent a user gave a client that is not first-party, and for which scopes.';

create table if not exists portcullis.sso_logout_outbox (
  id bigint generated always as identity primary key,
  client_id text not null,
  uri text not null,
  user_id uuid not null,
  session_id uuid not null,
  created_at timestamptz not null default now(),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  delivered_at timestamptz,
  gave_up_at timestamptz,
  last_status integer
);
comment on table portcullis.sso_logout_outbox is
  'Back-channel logout deliveries: one row per app to tell, retried with backoff until delivered or given up.';
create index if not exists sso_outbox_due on portcullis.sso_logout_outbox (next_attempt_at)
  where delivered_at is null and gave_up_at is null;
create index if not exists sso_outbox_done on portcullis.sso_logout_outbox
  ((coalesce(delivered_at, gave_up_at)));

create table if not exists portcullis.sso_throttle (
  key text primary key,
  window_started_at timestamptz not null,
  count integer not null
);
comment on table portcullis.sso_throttle is
  'Fixed-window counters for login and token-endpoint throttling, per account, per address, per client.';
create index if not exists sso_throttle_window on portcullis.sso_throttle (window_started_at);

alter table portcullis.sso_sessions enable row level security;
alter table portcullis.sso_families enable row level security;
alter table portcullis.sso_codes enable row level security;
alter table portcullis.sso_refresh_tokens enable row level security;
alter table portcullis.sso_grants enable row level security;
alter table portcullis.sso_logout_outbox enable row level security;
alter table portcullis.sso_throttle enable row level security;
revoke all on portcullis.sso_sessions, portcullis.sso_families, portcullis.sso_codes,
  portcullis.sso_refresh_tokens, portcullis.sso_grants, portcullis.sso_logout_outbox,
  portcullis.sso_throttle from public;

-- A user's state read fresh from auth.users, with what tokens carry (email, phone, metadata,
-- is_anonymous): `outcome` `ok`, `user_gone` (deleted or missing) or `user_banned` (until
-- banned_until). Without auth.users (a database that is not Supabase's), `ok` with an empty
-- profile. Internal: only the security-definer functions call it.
create or replace function portcullis.user_state(p_user uuid,
  out outcome text, out email text, out phone text, out app_metadata text,
  out user_metadata text, out is_anonymous boolean)
language plpgsql stable security definer set search_path = pg_catalog, pg_temp as $$
declare
  u record;
begin
  if to_regclass('auth.users') is null then
    outcome := 'ok';
    email := ''; phone := ''; app_metadata := '{}'; user_metadata := '{}'; is_anonymous := false;
    return;
  end if;
  select a.email, a.phone, a.raw_app_meta_data, a.raw_user_meta_data, a.banned_until,
      a.deleted_at, a.is_anonymous as anon
    into u from auth.users a where a.id = p_user;
  if not found or u.deleted_at is not null then
    outcome := 'user_gone';
    return;
  end if;
  if u.banned_until is not null and u.banned_until > now() then
    outcome := 'user_banned';
    return;
  end if;
  outcome := 'ok';
  email := coalesce(u.email, '');
  phone := coalesce(u.phone, '');
  app_metadata := coalesce(u.raw_app_meta_data, '{}'::jsonb)::text;
  user_metadata := coalesce(u.raw_user_meta_data, '{}'::jsonb)::text;
  is_anonymous := coalesce(u.anon, false);
end
$$;

-- Counts one attempt against every key (fixed windows of p_window seconds, at most p_limit
-- attempts each): 0 when allowed, else the seconds until the fullest key's window ends.
create or replace function portcullis.sso_throttle_hit(p_keys text[], p_limit integer, p_window integer)
returns integer
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  k text;
  c integer;
  started timestamptz;
  wait integer := 0;
begin
  -- Sorted and distinct: concurrent calls lock the rows in one order (no deadlock), and a key
  -- given twice counts once.
  foreach k in array array(select distinct x from unnest(p_keys) x where x is not null order by 1) loop
    insert into portcullis.sso_throttle as t (key, window_started_at, count)
      values (k, now(), 1)
      on conflict (key) do update set
        window_started_at = case when t.window_started_at <= now() - make_interval(secs => p_window)
          then now() else t.window_started_at end,
        count = case when t.window_started_at <= now() - make_interval(secs => p_window)
          then 1 else t.count + 1 end
      returning t.count, t.window_started_at into c, started;
    if c > p_limit then
      wait := greatest(wait, greatest(1, ceil(extract(epoch from
        started + make_interval(secs => p_window) - now()))::integer));
    end if;
  end loop;
  return wait;
end
$$;

-- Starts a portal session for a user whose Supabase token the function verified: `created`
-- with its id, or the user's state (`user_gone`, `user_banned`).
create or replace function portcullis.sso_login(
  p_hash text, p_user uuid, p_aal text, p_amr jsonb, p_auth_time bigint, p_ttl integer,
  p_remember boolean, p_user_agent text, p_ip inet,
  out outcome text, out id uuid)
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  select u.outcome into outcome from portcullis.user_state(p_user) u;
  if outcome <> 'ok' then
    return;
  end if;
  insert into portcullis.sso_sessions as s (token_hash, user_id, aal, amr, auth_time, expires_at,
      remember, user_agent, ip)
    values (decode(p_hash, 'hex'), p_user, p_aal, p_amr, to_timestamp(p_auth_time),
      now() + make_interval(secs => p_ttl), p_remember, left(p_user_agent, 300), p_ip)
    returning s.id into id;
  outcome := 'created';
end
$$;

-- An authorization request from the browser holding session cookie p_session (hash): checks
-- the session (live; authenticated within p_max_age seconds when given), the user, and consent
-- when the client is not first-party (p_needs_consent), then issues the code (hash p_code,
-- p_code_ttl seconds). p_grant records consent just given (merged with earlier grants) before
-- that check. Outcomes: `issued`, `no_session`, `max_age`, `consent_required`, `user_gone`,
-- `user_banned`.
create or replace function portcullis.sso_authorize(
  p_session text, p_code text, p_client text, p_redirect_uri text, p_redirect_sent boolean,
  p_challenge text, p_scopes text[], p_nonce text, p_max_age integer, p_needs_consent boolean,
  p_grant boolean, p_code_ttl integer,
  out outcome text, out session_id uuid, out user_id uuid, out auth_time bigint)
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  s portcullis.sso_sessions;
begin
  if p_code is null or p_client is null or p_redirect_uri is null or p_redirect_sent is null
      or p_challenge is null or p_scopes is null or p_needs_consent is null or p_grant is null
      or p_code_ttl is null then
    raise exception 'sso_authorize: only p_session, p_nonce and p_max_age may be null'
      using errcode = '22004';
  end if;
  select * into s from portcullis.sso_sessions x
    where x.token_hash = decode(p_session, 'hex') and x.ended_at is null and x.expires_at > now();
  if not found then
    outcome := 'no_session';
    return;
  end if;
  session_id := s.id;
  user_id := s.user_id;
  auth_time := floor(extract(epoch from s.auth_time))::bigint;
  if p_max_age is not null and s.auth_time < now() - make_interval(secs => p_max_age) then
    outcome := 'max_age';
    return;
  end if;
  select u.outcome into outcome from portcullis.user_state(s.user_id) u;
  if outcome <> 'ok' then
    return;
  end if;
  if p_grant then
    insert into portcullis.sso_grants as g (user_id, client_id, scopes)
      values (s.user_id, p_client, p_scopes)
      on conflict on constraint sso_grants_pkey do update set
        scopes = array(select distinct x from unnest(g.scopes || excluded.scopes) x order by 1),
        granted_at = now();
  elsif p_needs_consent and not exists (
    select 1 from portcullis.sso_grants g
    where g.user_id = s.user_id and g.client_id = p_client and p_scopes <@ g.scopes
  ) then
    outcome := 'consent_required';
    return;
  end if;
  update portcullis.sso_sessions x set last_seen_at = now() where x.id = s.id;
  insert into portcullis.sso_codes (code_hash, session_id, client_id, redirect_uri,
      redirect_uri_sent, challenge, scopes, nonce, expires_at)
    values (decode(p_code, 'hex'), s.id, p_client, p_redirect_uri, p_redirect_sent, p_challenge,
      p_scopes, p_nonce, now() + make_interval(secs => p_code_ttl));
  outcome := 'issued';
end
$$;

-- What a family's tokens are minted from: the user (fresh), the portal session, the grant's
-- scopes (p_scopes when a refresh narrows them). No row unless family and session are live.
-- Shared by redemption and refresh, whose result columns follow `outcome` in this order.
drop function if exists portcullis.sso_mint_facts(uuid);
create or replace function portcullis.sso_mint_facts(p_family uuid, p_scopes text[],
  out family_id uuid, out user_id uuid, out session_id uuid, out aal text, out amr text,
  out auth_time bigint, out scopes text[], out family_expires_at bigint, out email text,
  out phone text, out app_metadata text, out user_metadata text, out is_anonymous boolean)
returns setof record
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
  select f.id, f.user_id, s.id, s.aal, s.amr::text, floor(extract(epoch from s.auth_time))::bigint,
    coalesce(p_scopes, f.scopes), floor(extract(epoch from f.expires_at))::bigint, u.email,
    u.phone, u.app_metadata, u.user_metadata, u.is_anonymous
  from portcullis.sso_families f join portcullis.sso_sessions s on s.id = f.session_id
    cross join lateral portcullis.user_state(f.user_id) u
  where f.id = p_family and f.revoked_at is null and f.expires_at > now()
    and s.ended_at is null and s.expires_at > now() and u.outcome = 'ok'
$$;

-- Redeems code p_code (hash) for p_client: the code must be the client's, unexpired, for
-- p_redirect_uri when one is sent (its authorization's otherwise), its challenge equal to
-- S256 of the verifier (p_challenge). A first redemption starts a family with refresh token
-- p_refresh (hash) for p_refresh_ttl seconds; a later one with good parameters revokes that
-- family (`replayed`); bad parameters change nothing (`invalid`). The portal session is read
-- `for share`: a logout running at the same time either ends it first (`session_ended`) or
-- waits and then revokes the family this starts. One row: `outcome` (`ok`, `unknown`,
-- `invalid`, `expired`, `replayed`, `session_ended`, `user_gone`, `user_banned`), then for
-- `ok` the nonce and sso_mint_facts' columns.
drop function if exists portcullis.sso_redeem(text, text, text, text, text, integer);
create or replace function portcullis.sso_redeem(
  p_code text, p_client text, p_redirect_uri text, p_challenge text, p_refresh text,
  p_refresh_ttl integer)
returns table (outcome text, nonce text, family_id uuid, user_id uuid, session_id uuid,
  aal text, amr text, auth_time bigint, scopes text[], family_expires_at bigint, email text,
  phone text, app_metadata text, user_metadata text, is_anonymous boolean)
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  c portcullis.sso_codes;
  s portcullis.sso_sessions;
  f uuid;
begin
  if p_code is null or p_client is null or p_challenge is null or p_refresh is null
      or p_refresh_ttl is null then
    raise exception 'sso_redeem: only p_redirect_uri may be null' using errcode = '22004';
  end if;
  select * into c from portcullis.sso_codes x where x.code_hash = decode(p_code, 'hex') for update;
  if not found then
    outcome := 'unknown';
    return next;
    return;
  end if;
  -- Item 22: a redirect_uri the authorization request sent must be sent again, the same.
  if c.client_id <> p_client or c.challenge <> p_challenge
      or (p_redirect_uri is not null and p_redirect_uri <> c.redirect_uri)
      or (p_redirect_uri is null and c.redirect_uri_sent) then
    outcome := 'invalid';
    return next;
    return;
  end if;
  if c.redeemed_at is not null then
    update portcullis.sso_families x set revoked_at = now(), revoked_reason = 'code_replay'
      where x.id = c.family_id and x.revoked_at is null;
    outcome := 'replayed';
    return next;
    return;
  end if;
  if c.expires_at <= now() then
    outcome := 'expired';
    return next;
    return;
  end if;
  select * into s from portcullis.sso_sessions x where x.id = c.session_id for share;
  if s.ended_at is not null or s.expires_at <= now() then
    outcome := 'session_ended';
    return next;
    return;
  end if;
  select u.outcome into outcome from portcullis.user_state(s.user_id) u;
  if outcome <> 'ok' then
    return next;
    return;
  end if;
  insert into portcullis.sso_families as x (session_id, user_id, client_id, scopes, expires_at)
    values (s.id, s.user_id, c.client_id, c.scopes, now() + make_interval(secs => p_refresh_ttl))
    returning x.id into f;
  insert into portcullis.sso_refresh_tokens (token_hash, family_id) values (decode(p_refresh, 'hex'), f);
  update portcullis.sso_codes x set redeemed_at = now(), family_id = f where x.code_hash = c.code_hash;
  return query select 'ok'::text, c.nonce, m.* from portcullis.sso_mint_facts(f, null) m;
end
$$;

-- Rotates refresh token p_token (hash) of p_client into p_successor (hash; derived from the
-- token, so a retry names the same one). The family row is locked first: concurrent refreshes
-- of one family are serialised and make at most one successor. In order: another client's
-- token revokes nothing (`foreign`); a revoked or expired family, or an ended portal session,
-- refuses (`revoked`, `expired`, `session_ended`); a rotated token is a retry (`retry`, the
-- same successor) within p_grace seconds (at most 60) while its successor is unused, and
-- otherwise reuse, which revokes the family (`reuse`); p_scopes, when given, may only narrow
-- (`scope`); a deleted user revokes the family (`user_gone`), a banned one is refused and
-- nothing changes, so the token works again when the ban ends (`user_banned`). One row:
-- `outcome`, then for `rotated` and `retry` sso_mint_facts' columns.
drop function if exists portcullis.sso_refresh(text, text, text, integer, text[]);
create or replace function portcullis.sso_refresh(
  p_token text, p_client text, p_successor text, p_grace integer, p_scopes text[])
returns table (outcome text, family_id uuid, user_id uuid, session_id uuid, aal text,
  amr text, auth_time bigint, scopes text[], family_expires_at bigint, email text, phone text,
  app_metadata text, user_metadata text, is_anonymous boolean)
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  t portcullis.sso_refresh_tokens;
  f portcullis.sso_families;
  s portcullis.sso_sessions;
  next_used boolean;
  retrying boolean := false;
begin
  if p_token is null or p_client is null or p_successor is null or p_grace is null then
    raise exception 'sso_refresh: only p_scopes may be null' using errcode = '22004';
  end if;
  select * into f from portcullis.sso_families x
    where x.id = (select r.family_id from portcullis.sso_refresh_tokens r
                  where r.token_hash = decode(p_token, 'hex'))
    for update;
  if not found then
    outcome := 'unknown';
    return next;
    return;
  end if;
  select * into t from portcullis.sso_refresh_tokens r where r.token_hash = decode(p_token, 'hex');
  -- Another client's token revokes nothing: its owner did no wrong.
  if f.client_id <> p_client then
    outcome := 'foreign';
  elsif f.revoked_at is not null then
    outcome := 'revoked';
  elsif f.expires_at <= now() then
    outcome := 'expired';
  end if;
  if outcome is not null then
    return next;
    return;
  end if;
  -- Not locked: a logout that ends the session meanwhile waits for this family's lock and
  -- then revokes it, successor and all.
  select * into s from portcullis.sso_sessions x where x.id = f.session_id;
  if s.ended_at is not null or s.expires_at <= now() then
    outcome := 'session_ended';
    return next;
    return;
  end if;
  if t.rotated_at is not null then
    select r.rotated_at is not null into next_used from portcullis.sso_refresh_tokens r
      where r.token_hash = decode(p_successor, 'hex') and r.family_id = f.id;
    if coalesce(next_used, true)
        or t.rotated_at < now() - make_interval(secs => least(greatest(p_grace, 0), 60)) then
      update portcullis.sso_families x set revoked_at = now(), revoked_reason = 'refresh_reuse'
        where x.id = f.id;
      outcome := 'reuse';
      return next;
      return;
    end if;
    retrying := true;
  end if;
  if p_scopes is not null and not (p_scopes <@ f.scopes) then
    outcome := 'scope';
    return next;
    return;
  end if;
  select u.outcome into outcome from portcullis.user_state(f.user_id) u;
  if outcome = 'user_gone' then
    update portcullis.sso_families x set revoked_at = now(), revoked_reason = 'user_gone'
      where x.id = f.id;
  end if;
  if outcome <> 'ok' then
    return next;
    return;
  end if;
  if not retrying then
    update portcullis.sso_refresh_tokens r set rotated_at = now() where r.token_hash = t.token_hash;
    insert into portcullis.sso_refresh_tokens (token_hash, family_id)
      values (decode(p_successor, 'hex'), f.id);
  end if;
  return query select case when retrying then 'retry' else 'rotated' end, m.*
    from portcullis.sso_mint_facts(f.id, p_scopes) m;
end
$$;

-- RFC 7009: revokes the family of refresh token p_token (hash), or family p_family (an access
-- token's grant, its signature already checked), if it is p_client's. `revoked`, `unknown`
-- (also for another client's: revocation answers 200 either way).
create or replace function portcullis.sso_revoke(p_token text, p_family uuid, p_client text)
returns text
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  f uuid;
begin
  update portcullis.sso_families x set revoked_at = now(), revoked_reason = 'revoked'
    where x.client_id = p_client and x.revoked_at is null and x.id = coalesce(p_family,
      (select r.family_id from portcullis.sso_refresh_tokens r where r.token_hash = decode(p_token, 'hex')))
    returning x.id into f;
  return case when f is null then 'unknown' else 'revoked' end;
end
$$;

-- userinfo: the user of family p_family when the family and its portal session are live
-- (a token from a replayed code, a revoked or expired grant, or an ended or expired session
-- gets `revoked`).
create or replace function portcullis.sso_userinfo(p_family uuid,
  out outcome text, out user_id uuid, out email text, out phone text, out user_metadata text,
  out scopes text[])
language plpgsql stable security definer set search_path = pg_catalog, pg_temp as $$
declare
  f portcullis.sso_families;
  u record;
begin
  select x.* into f from portcullis.sso_families x join portcullis.sso_sessions s on s.id = x.session_id
    where x.id = p_family and x.revoked_at is null and x.expires_at > now() and s.ended_at is null
      and s.expires_at > now();
  if not found then
    outcome := 'revoked';
    return;
  end if;
  select * into u from portcullis.user_state(f.user_id);
  outcome := u.outcome;
  user_id := f.user_id;
  email := u.email;
  phone := u.phone;
  user_metadata := u.user_metadata;
  scopes := f.scopes;
end
$$;

-- The portal session behind cookie p_session (hash), live: its id, user, aal, auth time; no
-- row without one.
drop function if exists portcullis.sso_session(text);
create or replace function portcullis.sso_session(p_session text,
  out id uuid, out user_id uuid, out aal text, out auth_time bigint, out expires_at bigint)
returns setof record
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
  select s.id, s.user_id, s.aal, floor(extract(epoch from s.auth_time))::bigint,
    floor(extract(epoch from s.expires_at))::bigint
  from portcullis.sso_sessions s
  where s.token_hash = decode(p_session, 'hex') and s.ended_at is null and s.expires_at > now()
$$;

-- The sessions of the user behind cookie p_session, newest first, as JSON (`current` marks
-- this browser's); NULL without a live session.
create or replace function portcullis.sso_sessions_list(p_session text) returns text
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
  with me as (
    select s.id, s.user_id from portcullis.sso_sessions s
    where s.token_hash = decode(p_session, 'hex') and s.ended_at is null and s.expires_at > now()
  )
  select coalesce(json_agg(json_build_object(
      'id', s.id, 'created_at', s.created_at, 'last_seen_at', s.last_seen_at,
      'expires_at', s.expires_at, 'aal', s.aal, 'user_agent', s.user_agent, 'ip', host(s.ip),
      'current', s.id = me.id,
      'apps', (select coalesce(json_agg(distinct f.client_id), '[]') from portcullis.sso_families f
               where f.session_id = s.id and f.revoked_at is null))
    order by s.created_at desc, s.id), '[]')::text
  from me join portcullis.sso_sessions s on s.user_id = me.user_id
    and s.ended_at is null and s.expires_at > now()
  group by me.id
$$;

-- Ends portal sessions of the user behind cookie p_session: that session itself (p_target
-- null) or another of theirs (p_target). Every app family of the ended sessions is revoked,
-- and one back-channel delivery per app that holds a family there and has a back-channel URI
-- (p_clients[i] -> p_uris[i]) is queued, claimed for delivery now (attempt 1; retried after
-- 30 s unless settled). Returns the queued rows; none when no session matched.
create or replace function portcullis.sso_logout(
  p_session text, p_target uuid, p_reason text, p_clients text[], p_uris text[])
returns table (outbox_id bigint, client_id text, uri text, user_id uuid, session_id uuid)
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
  me portcullis.sso_sessions;
  ended uuid;
begin
  if p_reason is null or p_reason not in ('logout', 'revoked') then
    raise exception 'sso_logout: p_reason is logout or revoked' using errcode = '22023';
  end if;
  if cardinality(p_clients) is distinct from cardinality(p_uris) then
    raise exception 'sso_logout: p_clients and p_uris differ in length' using errcode = '2202E';
  end if;
  select * into me from portcullis.sso_sessions s
    where s.token_hash = decode(p_session, 'hex') and s.ended_at is null and s.expires_at > now();
  if not found then
    return;
  end if;
  update portcullis.sso_sessions s set ended_at = now(), ended_reason = p_reason
    where s.id = coalesce(p_target, me.id) and s.user_id = me.user_id and s.ended_at is null
    returning s.id into ended;
  if ended is null then
    return;
  end if;
  update portcullis.sso_families f set revoked_at = now(),
      revoked_reason = case when p_reason = 'logout' then 'logout' else 'session_revoked' end
    where f.session_id = ended and f.revoked_at is null;
  return query
    insert into portcullis.sso_logout_outbox as o (client_id, uri, user_id, session_id, attempts,
        next_attempt_at)
      select c.client_id, c.uri, me.user_id, ended, 1, now() + interval '30 seconds'
      from unnest(p_clients, p_uris) as c (client_id, uri)
      where exists (select 1 from portcullis.sso_families f
                    where f.session_id = ended and f.client_id = c.client_id)
      returning o.id, o.client_id, o.uri, o.user_id, o.session_id;
end
$$;

-- Back-channel bookkeeping in one call: settles the deliveries just tried (p_ids[i] answered
-- p_statuses[i]; 0 for no answer): 200/204 delivered, else retried with backoff (30 s × 2^n,
-- at most an hour) until p_max_attempts; gives up due rows that have had p_max_attempts (a
-- claim whose delivery never settled); then claims up to p_claim due rows for delivery now.
create or replace function portcullis.sso_outbox(
  p_ids bigint[], p_statuses integer[], p_max_attempts integer, p_claim integer)
returns table (outbox_id bigint, client_id text, uri text, user_id uuid, session_id uuid)
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  if cardinality(p_ids) is distinct from cardinality(p_statuses) then
    raise exception 'sso_outbox: p_ids and p_statuses differ in length' using errcode = '2202E';
  end if;
  update portcullis.sso_logout_outbox o set
      last_status = r.status,
      delivered_at = case when r.status in (200, 204) then now() end,
      gave_up_at = case when r.status not in (200, 204) and o.attempts >= p_max_attempts then now() end,
      next_attempt_at = now() + least(interval '1 hour',
        make_interval(secs => 30 * power(2, least(greatest(o.attempts - 1, 0), 8))))
    from unnest(p_ids, p_statuses) as r (id, status)
    where o.id = r.id and o.delivered_at is null and o.gave_up_at is null;
  update portcullis.sso_logout_outbox o set gave_up_at = now()
    where o.delivered_at is null and o.gave_up_at is null and o.next_attempt_at <= now()
      and o.attempts >= p_max_attempts;
  return query
    update portcullis.sso_logout_outbox o set attempts = o.attempts + 1,
        next_attempt_at = now() + interval '30 seconds'
      where o.id in (select x.id from portcullis.sso_logout_outbox x
                     where x.delivered_at is null and x.gave_up_at is null and x.next_attempt_at <= now()
                       and x.attempts < p_max_attempts
                     order by x.next_attempt_at limit p_claim for update skip locked)
      returning o.id, o.client_id, o.uri, o.user_id, o.session_id;
end
$$;

-- Housekeeping, bounded: codes an hour past expiry, families a day past expiry or
-- revocation, sessions a day past their end, delivered or abandoned outbox rows after a week,
-- stale throttle windows. At most p_limit rows of each.
create or replace function portcullis.sso_prune(p_limit integer) returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  delete from portcullis.sso_codes where code_hash in (select c.code_hash from portcullis.sso_codes c
    where c.expires_at < now() - interval '1 hour' limit p_limit);
  delete from portcullis.sso_families where id in (select f.id from portcullis.sso_families f
    where coalesce(f.revoked_at, f.expires_at) < now() - interval '1 day' limit p_limit);
  delete from portcullis.sso_sessions where id in (select s.id from portcullis.sso_sessions s
    where coalesce(s.ended_at, s.expires_at) < now() - interval '1 day' limit p_limit);
  delete from portcullis.sso_logout_outbox where id in (select o.id from portcullis.sso_logout_outbox o
    where coalesce(o.delivered_at, o.gave_up_at) < now() - interval '7 days' limit p_limit);
  delete from portcullis.sso_throttle where key in (select t.key from portcullis.sso_throttle t
    where t.window_started_at < now() - interval '1 day' limit p_limit);
end
$$;

do $$
declare
  f text;
begin
  foreach f in array array[
    'portcullis.sso_throttle_hit(text[], integer, integer)',
    'portcullis.sso_login(text, uuid, text, jsonb, bigint, integer, boolean, text, inet)',
    'portcullis.sso_authorize(text, text, text, text, boolean, text, text[], text, integer, boolean, boolean, integer)',
    'portcullis.sso_redeem(text, text, text, text, text, integer)',
    'portcullis.sso_refresh(text, text, text, integer, text[])',
    'portcullis.sso_revoke(text, uuid, text)',
    'portcullis.sso_userinfo(uuid)',
    'portcullis.sso_session(text)',
    'portcullis.sso_sessions_list(text)',
    'portcullis.sso_logout(text, uuid, text, text[], text[])',
    'portcullis.sso_outbox(bigint[], integer[], integer, integer)',
    'portcullis.sso_prune(integer)'
  ] loop
    execute format('revoke all on function %s from public', f);
    execute format('grant execute on function %s to portcullis_fn', f);
  end loop;
  revoke all on function portcullis.user_state(uuid) from public;
  revoke all on function portcullis.sso_mint_facts(uuid, text[]) from public;
end
$$;

insert into portcullis.migrations (version) values ('20261205000000') on conflict (version) do nothing;
