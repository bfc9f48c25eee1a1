-- Portcullis delivery: the e-mail and SMS outboxes, the event log, and verification attempts.
--
-- Outbox rows hold what a consumer needs to deliver a message, one-time codes and token hashes
-- included: row-level security is on and only portcullis_fn is granted access. A unique key per
-- (hook call, recipient, type) makes each message exist at most once, whatever Supabase Auth
-- retries. Idempotent: applying it again changes nothing.

create table if not exists portcullis.email_outbox (
  id bigint generated always as identity primary key,
  hook_uuid uuid not null,
  email_type text not null,
  user_id uuid,
  recipient text not null,
  locale text not null,
  subject text not null,
  html text not null,
  text text not null,
  link text,
  token text,
  token_hash text,
  redirect_to text,
  delivery text not null,
  status text not null default 'pending',
  provider_message_id text,
  attempts integer not null default 0,
  last_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  sent_at timestamptz,
  constraint email_outbox_status check (status in ('pending', 'queued', 'sent', 'failed')),
  constraint email_outbox_once unique (hook_uuid, recipient, email_type)
);
comment on table portcullis.email_outbox is
  'Every e-mail the Portcullis hooks produce. status: pending (being sent), queued (for a consumer: delivery = outbox), sent, failed. Holds OTPs and token hashes: keep private.';
create index if not exists email_outbox_queued on portcullis.email_outbox (created_at) where status = 'queued';

create table if not exists portcullis.sms_outbox (
  id bigint generated always as identity primary key,
  hook_uuid uuid not null,
  sms_type text not null,
  user_id uuid,
  recipient text not null,
  locale text not null,
  body text not null,
  token text,
  delivery text not null,
  status text not null default 'pending',
  provider_message_id text,
  attempts integer not null default 0,
  last_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  sent_at timestamptz,
  constraint sms_outbox_status check (status in ('pending', 'queued', 'sent', 'failed')),
  constraint sms_outbox_once unique (hook_uuid, recipient, sms_type)
);
comment on table portcullis.sms_outbox is
  'Every SMS the Portcullis hooks produce (same statuses as email_outbox). Holds OTPs: keep private.';
create index if not exists sms_outbox_queued on portcullis.sms_outbox (created_at) where status = 'queued';

create table if not exists portcullis.events (
  id bigint generated always as identity primary key,
  name text not null,
  hook_uuid uuid not null,
  user_id uuid,
  payload jsonb not null,
  created_at timestamptz not null default now(),
  constraint events_once unique (name, hook_uuid)
);
comment on table portcullis.events is 'Events for workflows to consume, e.g. user_created.';

create table if not exists portcullis.verification_attempts (
  kind text not null,
  user_id uuid not null,
  factor_id text not null default '',
  failures integer not null,
  window_started_at timestamptz not null,
  last_failure_at timestamptz not null,
  locked_until timestamptz,
  primary key (kind, user_id, factor_id),
  constraint verification_attempts_kind check (kind in ('password', 'mfa'))
);
comment on table portcullis.verification_attempts is
  'Failed password and MFA verifications per user (and factor), for the attempt-limit hooks. Pruned by the hooks themselves.';

do $$
declare
  t text;
begin
  foreach t in array array['email_outbox', 'sms_outbox', 'events', 'verification_attempts'] loop
    execute format('alter table portcullis.%I enable row level security', t);
    execute format('revoke all on portcullis.%I from public', t);
    if not exists (
      select 1 from pg_catalog.pg_policies
      where schemaname = 'portcullis' and tablename = t and policyname = 'portcullis_fn_all'
    ) then
      execute format(
        'create policy portcullis_fn_all on portcullis.%I for all to portcullis_fn using (true) with check (true)', t);
    end if;
  end loop;
end
$$;

grant select, insert, update on portcullis.email_outbox, portcullis.sms_outbox to portcullis_fn;
grant select, insert on portcullis.events to portcullis_fn;
grant select, insert, update, delete on portcullis.verification_attempts to portcullis_fn;

insert into portcullis.migrations (version) values ('20261124000000') on conflict (version) do nothing;
