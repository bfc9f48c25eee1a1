//! Sending e-mails and SMS: render, claim the outbox row, deliver, record.

use portcullis_core::{Db, DbError, Outbound, OutboundRequest, OutboundResponse, Statement};
use portcullis_hooks::delivery::{
    Channel, EmailProvider, Outcome, OutgoingEmail, OutgoingSms, SmsProvider,
};
use portcullis_hooks::email::{EmailData, PlannedEmail, Recipient, display_name, locale_for};
use portcullis_hooks::payload::is_uuid;
use portcullis_hooks::sms::PlannedSms;
use portcullis_hooks::{EmailPolicy, SmsPolicy, User};
use portcullis_service::{Context, Level};

use crate::providers::Providers;
use crate::send::{
    Claim, Deadline, Delivered, EMAIL_OUTBOX, Job, Outbox, Report, SMS_OUTBOX, deliver,
};

/// Why a message was not sent.
#[derive(Debug)]
pub(crate) enum SendError {
    /// The provider refused the recipient.
    Rejected,
    /// Every provider failed within the time.
    Failed,
    /// A concurrent call is still sending it.
    Busy,
    /// The outbox could not be written.
    Database(DbError),
}

fn user_locale(user: &User, default: &str) -> &'static str {
    let preference = user
        .user_metadata
        .as_ref()
        .and_then(|m| m.get("locale"))
        .and_then(serde_json::Value::as_str)
        .unwrap_or("");
    locale_for(preference, default)
}

struct EmailJob<'a> {
    provider: &'a EmailProvider,
    email: OutgoingEmail<'a>,
}

impl Job for EmailJob<'_> {
    fn channel(&self) -> Channel {
        self.provider.channel()
    }
    fn request(&self, timeout_ms: u32) -> OutboundRequest {
        self.provider.request(&self.email, timeout_ms)
    }
    fn outcome(&self, response: &OutboundResponse) -> Outcome {
        self.provider.outcome(response)
    }
}

struct SmsJob<'a> {
    provider: &'a SmsProvider,
    sms: OutgoingSms<'a>,
}

impl Job for SmsJob<'_> {
    fn channel(&self) -> Channel {
        self.provider.channel()
    }
    fn request(&self, timeout_ms: u32) -> OutboundRequest {
        self.provider.request(&self.sms, timeout_ms)
    }
    fn outcome(&self, response: &OutboundResponse) -> Outcome {
        self.provider.outcome(response)
    }
}

/// Sends (or queues) one e-mail, exactly once per hook call.
///
/// # Errors
/// [`SendError`]; the outbox records the failure.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn send_email<D: Db, H: Outbound>(
    ctx: &Context<'_, D, H>,
    policy: &EmailPolicy,
    providers: &Providers,
    hook_uuid: &str,
    user: &User,
    data: Option<&EmailData>,
    email: &PlannedEmail,
    deadline: Deadline,
) -> Result<(), SendError> {
    let channels = policy.channels(email.kind);
    let locale = user_locale(user, policy.default_locale);
    let name = display_name(user);
    let empty = EmailData::default();
    let d = data.unwrap_or(&empty);
    let render = || {
        policy.renderer.render(
            email,
            &Recipient {
                name: &name,
                email: &user.email,
                new_email: &user.new_email,
                old_email: &d.old_email,
                old_phone: &d.old_phone,
                provider: &d.provider,
                factor_type: &d.factor_type,
            },
            locale,
        )
    };
    // Content is stored only for a consumer (queued); rows we send ourselves keep none (the
    // database would clear it anyway) and are rendered only by the call that owns them.
    let queued = channels == [Channel::Outbox];
    let (subject, html, text) = match queued.then(render) {
        Some(r) => (Some(r.subject), Some(r.html), Some(r.text)),
        None => (None, None, None),
    };
    let stored = |v: &str| {
        Some(v)
            .filter(|v| queued && !v.is_empty())
            .map(str::to_owned)
    };
    let first = channels.first().copied().unwrap_or(Channel::Outbox);
    let claim = Statement::new(
        "select id::text, claim from portcullis.email_claim($1::uuid, $2, $3::uuid, $4, $5, $6, \
           $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(hook_uuid)
    .bind(email.kind.name())
    .bind_opt(is_uuid(&user.id).then_some(user.id.as_str()))
    .bind(email.to.as_str())
    .bind(locale)
    .bind_opt(subject)
    .bind_opt(html)
    .bind_opt(text)
    .bind_opt(stored(email.link.as_deref().unwrap_or_default()))
    .bind_opt(stored(&email.otp))
    .bind_opt(stored(&email.token_hash))
    .bind_opt(Some(d.redirect_to.as_str()).filter(|o| !o.is_empty()))
    .bind(first.name())
    .bind(if queued { "queued" } else { "pending" });
    let id = match EMAIL_OUTBOX
        .claim(ctx, &claim, deadline)
        .await
        .map_err(SendError::Database)?
    {
        Claim::Done => return Ok(()),
        Claim::Busy => return Err(SendError::Busy),
        // Queued for a consumer: the row is the record (no log line per message).
        Claim::Owned(_) if queued => return Ok(()),
        Claim::Owned(id) => id,
    };
    let rendered = render();
    let idempotency_key = format!("portcullis-email-{id}");
    let outgoing = OutgoingEmail {
        from: policy.from.as_deref().unwrap_or_default(),
        reply_to: policy.reply_to.as_deref(),
        to: &email.to,
        subject: &rendered.subject,
        html: &rendered.html,
        text: &rendered.text,
        tag: email.kind.name(),
        idempotency_key: &idempotency_key,
    };
    let jobs: Vec<EmailJob<'_>> = channels
        .iter()
        .filter_map(|c| providers.email(*c))
        .map(|provider| EmailJob {
            provider,
            email: outgoing,
        })
        .collect();
    let report = deliver(ctx, &jobs, deadline).await;
    finish(
        ctx,
        EMAIL_OUTBOX,
        &id,
        &report,
        email.kind.name(),
        &user.id,
        hook_uuid,
    )
    .await
}

/// Sends (or queues) one SMS, exactly once per hook call.
///
/// # Errors
/// [`SendError`]; the outbox records the failure.
pub(crate) async fn send_sms<D: Db, H: Outbound>(
    ctx: &Context<'_, D, H>,
    policy: &SmsPolicy,
    providers: &Providers,
    hook_uuid: &str,
    user: &User,
    sms: &PlannedSms,
    deadline: Deadline,
) -> Result<(), SendError> {
    let channels = policy.channels(sms.kind);
    let locale = user_locale(user, policy.default_locale);
    let body = policy.renderer.render(sms, locale);
    // As for e-mail: content only for a consumer.
    let queued = channels == [Channel::Outbox];
    let first = channels.first().copied().unwrap_or(Channel::Outbox);
    let claim = Statement::new(
        "select id::text, claim from portcullis.sms_claim($1::uuid, $2, $3::uuid, $4, $5, $6, $7, \
           $8, $9)",
    )
    .bind(hook_uuid)
    .bind(sms.kind.name())
    .bind_opt(is_uuid(&user.id).then_some(user.id.as_str()))
    .bind(sms.to.as_str())
    .bind(locale)
    .bind_opt(queued.then(|| body.clone()))
    .bind_opt(queued.then(|| sms.otp.clone()))
    .bind(first.name())
    .bind(if queued { "queued" } else { "pending" });
    let id = match SMS_OUTBOX
        .claim(ctx, &claim, deadline)
        .await
        .map_err(SendError::Database)?
    {
        Claim::Done => return Ok(()),
        Claim::Busy => return Err(SendError::Busy),
        // Queued for a consumer: the row is the record (no log line per message).
        Claim::Owned(_) if queued => return Ok(()),
        Claim::Owned(id) => id,
    };
    let outgoing = OutgoingSms {
        to: &sms.to,
        body: &body,
    };
    let jobs: Vec<SmsJob<'_>> = channels
        .iter()
        .filter_map(|c| providers.sms(*c))
        .map(|provider| SmsJob {
            provider,
            sms: outgoing,
        })
        .collect();
    let report = deliver(ctx, &jobs, deadline).await;
    finish(
        ctx,
        SMS_OUTBOX,
        &id,
        &report,
        sms.kind.name(),
        &user.id,
        hook_uuid,
    )
    .await
}

fn log_result<D, H>(
    ctx: &Context<'_, D, H>,
    medium: &str,
    kind: &str,
    user_id: &str,
    hook_uuid: &str,
    what: &str,
) {
    ctx.log.log(
        Level::Info,
        &format!("{medium}_delivered"),
        &format!("{kind} for user {user_id} (hook {hook_uuid}): {what}"),
    );
}

async fn finish<D: Db, H: Outbound>(
    ctx: &Context<'_, D, H>,
    outbox: Outbox,
    id: &str,
    report: &Report,
    kind: &str,
    user_id: &str,
    hook_uuid: &str,
) -> Result<(), SendError> {
    let recorded = outbox.record(ctx, id, report).await;
    let medium = outbox.medium;
    if let Err(e) = &recorded {
        // The provider's answer stands; the row stays `pending` and a retry will find it
        // stale after 15 s. Only a provider's "sent" would be lost, hence the error level.
        ctx.log.log(
            Level::Error,
            "outbox_update_failed",
            &format!("{medium} row {id} (hook {hook_uuid}): {e}"),
        );
    }
    match &report.result {
        Delivered::Sent { channel, .. } => {
            log_result(
                ctx,
                medium,
                kind,
                user_id,
                hook_uuid,
                &format!("sent via {channel} after {} attempt(s)", report.attempts),
            );
            Ok(())
        }
        Delivered::Rejected { channel, .. } => {
            ctx.log.log(
                Level::Warn,
                &format!("{medium}_rejected"),
                &format!("{kind} for user {user_id} (hook {hook_uuid}): {channel} refused the recipient; see outbox row {id}"),
            );
            Err(SendError::Rejected)
        }
        Delivered::Failed { .. } => {
            ctx.log.log(
                Level::Error,
                &format!("{medium}_failed"),
                &format!(
                    "{kind} for user {user_id} (hook {hook_uuid}): not sent after {} attempt(s); see outbox row {id}",
                    report.attempts
                ),
            );
            Err(SendError::Failed)
        }
    }
}
