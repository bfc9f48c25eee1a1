-- Portcullis pat retention: tokens revoked or expired longer ago than the policy's
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

insert into portcullis.migrations (version) values ('20261204000000') on conflict (version) do nothing;
