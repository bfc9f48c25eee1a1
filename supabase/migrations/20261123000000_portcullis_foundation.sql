-- Portcullis foundation: schema `portcullis`, the least-privilege role `portcullis_fn`, and the
-- optional claims table for the custom access token hook.
--
-- Idempotent: applying it again changes nothing. Remove everything with supabase/uninstall.sql.
-- Needs a role that may create schemas and roles (`postgres` on Supabase).

create schema if not exists portcullis;
comment on schema portcullis is 'Portcullis auth edge functions. Remove with supabase/uninstall.sql.';
revoke all on schema portcullis from public;

-- The functions connect as this role (give it LOGIN and a password to use it, see README).
do $$
begin
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'portcullis_fn') then
    create role portcullis_fn nologin noinherit;
  end if;
end
$$;
grant usage on schema portcullis to portcullis_fn;

create table if not exists portcullis.migrations (
  version text primary key,
  applied_at timestamptz not null default now()
);
revoke all on portcullis.migrations from public;

-- Extra access-token claims per user, read by the custom access token hook's lookup.
create table if not exists portcullis.user_claims (
  user_id uuid primary key,
  claims jsonb not null default '{}'::jsonb,
  updated_at timestamptz not null default now(),
  constraint user_claims_claims_is_object check (jsonb_typeof(claims) = 'object')
);
comment on table portcullis.user_claims is
  'Extra access-token claims per user, merged by the Portcullis custom access token hook.';
alter table portcullis.user_claims enable row level security;
revoke all on portcullis.user_claims from public;
grant select on portcullis.user_claims to portcullis_fn;

do $$
begin
  if not exists (
    select 1 from pg_catalog.pg_policies
    where schemaname = 'portcullis' and tablename = 'user_claims' and policyname = 'portcullis_fn_read'
  ) then
    create policy portcullis_fn_read on portcullis.user_claims for select to portcullis_fn using (true);
  end if;
  -- On Supabase, claims go with their user.
  if to_regclass('auth.users') is not null and not exists (
    select 1 from pg_catalog.pg_constraint
    where conname = 'user_claims_user_fk' and conrelid = 'portcullis.user_claims'::regclass
  ) then
    alter table portcullis.user_claims
      add constraint user_claims_user_fk foreign key (user_id) references auth.users (id) on delete cascade;
  end if;
end
$$;

insert into portcullis.migrations (version) values ('20261123000000') on conflict (version) do nothing;
