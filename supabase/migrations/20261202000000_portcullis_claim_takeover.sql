-- Portcullis: taking over an outbox row re-queues it for a consumer.
--
-- A claim that takes over a failed (or stale pending) row used to set it to `pending` in every
-- case. For the outbox delivery (the hook answers once the row is `queued`) that lost the
-- message: the consumer had marked the row `failed`, GoTrue called again with the same
-- `metadata.uuid`, the row became `pending` (its content cleared by the trigger), the hook
-- answered 200, and nothing would ever send it. Now the takeover sets the status the caller
-- asks for (`queued` or `pending`) and stores the content again, as the insert does. A row
-- re-queued for a consumer starts over (attempts, errors and the provider id cleared,
-- created_at now: retention's OTP lifetime counts from the new claim); a row we send again
-- keeps counting its attempts.
--
-- Storing content needs UPDATE on the content columns, which portcullis_fn does not have
-- (it may update bookkeeping columns only). The claim functions therefore run with the
-- owner's rights (security definer, fixed search_path) and change only the row of the given
-- (hook_uuid, recipient, type), and only when it failed or its sender died: nothing
-- portcullis_fn could not already do by inserting a new queued row.

create or replace function portcullis.email_claim(
  p_hook_uuid uuid, p_email_type text, p_user_id uuid, p_recipient text, p_locale text,
  p_subject text, p_html text, p_text text, p_link text, p_token text, p_token_hash text,
  p_redirect_to text, p_delivery text, p_status text,
  out id bigint, out claim text)
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  if p_status not in ('queued', 'pending') then
    raise exception 'email_claim: status must be queued or pending' using errcode = '22023';
  end if;
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
  update portcullis.email_outbox as o set status = p_status, updated_at = now(),
      user_id = p_user_id,
      -- Re-queued for a consumer: a new message for it. Sent by us: attempts keep counting.
      created_at = case when p_status = 'queued' then now() else o.created_at end,
      attempts = case when p_status = 'queued' then 0 else o.attempts end,
      last_error = case when p_status = 'queued' then null else o.last_error end,
      provider_message_id = case when p_status = 'queued' then null else o.provider_message_id end,
      locale = p_locale, subject = p_subject, html = p_html, text = p_text, link = p_link,
      token = p_token, token_hash = p_token_hash, redirect_to = p_redirect_to,
      delivery = p_delivery
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
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  if p_status not in ('queued', 'pending') then
    raise exception 'sms_claim: status must be queued or pending' using errcode = '22023';
  end if;
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
  update portcullis.sms_outbox as o set status = p_status, updated_at = now(),
      user_id = p_user_id,
      -- Re-queued for a consumer: a new message for it. Sent by us: attempts keep counting.
      created_at = case when p_status = 'queued' then now() else o.created_at end,
      attempts = case when p_status = 'queued' then 0 else o.attempts end,
      last_error = case when p_status = 'queued' then null else o.last_error end,
      provider_message_id = case when p_status = 'queued' then null else o.provider_message_id end,
      locale = p_locale, body = p_body, token = p_token, delivery = p_delivery
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

revoke all on function portcullis.email_claim(uuid, text, uuid, text, text, text, text, text, text,
  text, text, text, text, text) from public;
revoke all on function portcullis.sms_claim(uuid, text, uuid, text, text, text, text, text, text)
  from public;
grant execute on function portcullis.email_claim(uuid, text, uuid, text, text, text, text, text,
  text, text, text, text, text, text) to portcullis_fn;
grant execute on function portcullis.sms_claim(uuid, text, uuid, text, text, text, text, text, text)
  to portcullis_fn;

insert into portcullis.migrations (version) values ('20261202000000') on conflict (version) do nothing;
