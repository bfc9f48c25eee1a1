//! Sending one message exactly once: the outbox row is the lock, the providers are tried in
//! order within the deadline.
//!
//! # Exactly once
//! Every message has a unique outbox key (hook uuid, recipient, type). The call that inserts
//! the row owns the message. A duplicate (GoTrue's retry, or the same request arriving twice
//! at once) finds the row — in the same statement (`portcullis.email_claim`) — and:
//! - `sent` / `queued`: succeeds without sending;
//! - `pending`: waits for the owner (polling) and answers as it does;
//! - `failed`, or `pending` untouched for 15 s (the owner died): takes it over and sends.
//!
//! # Within GoTrue's 5 s
//! The whole hook gets [`BUDGET_MS`]; one provider request at most [`ATTEMPT_TIMEOUT_MS`].
//! Transient failures move on to the next provider, then back off and go round again while
//! time remains. A rejected recipient stops at once (it is rejected everywhere); a provider
//! that refuses our credentials is skipped for the rest of the call.

use portcullis_core::{
    Clock, Db, DbError, Outbound, OutboundError, OutboundRequest, OutboundResponse, Statement,
};
use portcullis_hooks::delivery::{Channel, Outcome};
use portcullis_service::{Context, Level};

/// Time for a whole hook call, leaving GoTrue's 5 s budget room for the network.
pub const BUDGET_MS: u64 = 3500;
/// Longest single provider request.
pub const ATTEMPT_TIMEOUT_MS: u64 = 2000;
/// Below this, starting another request is pointless.
const MIN_ATTEMPT_MS: u64 = 250;
/// Provider requests per message, whatever the clock says.
const MAX_ATTEMPTS: u32 = 6;
/// Polls of a row another call is sending, whatever the clock says.
const MAX_POLLS: u32 = 40;
const POLL_MS: u32 = 100;

/// A deadline on the context's clock.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline(u64);

impl Deadline {
    /// [`BUDGET_MS`] from now.
    pub(crate) fn start(clock: &dyn Clock) -> Self {
        Self(clock.millis().saturating_add(BUDGET_MS))
    }

    fn remaining(self, clock: &dyn Clock) -> u64 {
        self.0.saturating_sub(clock.millis())
    }
}

/// An outbox table.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Outbox {
    /// `portcullis.email_outbox`, …
    pub table: &'static str,
    /// `email`, `sms`: for logs.
    pub medium: &'static str,
}

/// The e-mail outbox.
pub(crate) const EMAIL_OUTBOX: Outbox = Outbox {
    table: "portcullis.email_outbox",
    medium: "email",
};
/// The SMS outbox.
pub(crate) const SMS_OUTBOX: Outbox = Outbox {
    table: "portcullis.sms_outbox",
    medium: "sms",
};

/// Who sends the message.
#[derive(Debug)]
pub(crate) enum Claim {
    /// This call: the row id.
    Owned(String),
    /// Already sent or queued (by this or an earlier call).
    Done,
    /// Another call is still sending it and did not finish in time.
    Busy,
}

impl Outbox {
    /// Claims the message with `claim` (a call of `portcullis.email_claim` / `sms_claim`
    /// answering `(id, claim)`: one statement inserts the row, takes over a failed or stale one,
    /// or reports its status), asking again while another call is sending it.
    ///
    /// # Errors
    /// The database failed.
    pub(crate) async fn claim<D: Db, H: Outbound>(
        self,
        ctx: &Context<'_, D, H>,
        claim: &Statement,
        deadline: Deadline,
    ) -> Result<Claim, DbError> {
        for _ in 0..MAX_POLLS {
            let row = ctx.db.query(claim).await?.into_iter().next();
            let cell = |i: usize| row.as_ref().and_then(|r| r.get(i).cloned().flatten());
            match (cell(0), cell(1).as_deref()) {
                (Some(id), Some("owned")) => return Ok(Claim::Owned(id)),
                (_, Some("sent" | "queued" | "expired")) => return Ok(Claim::Done),
                // pending (another call is sending it), or gone in between: look again.
                _ => {}
            }
            if deadline.remaining(ctx.clock) < u64::from(POLL_MS) + MIN_ATTEMPT_MS {
                break;
            }
            ctx.http.wait(POLL_MS).await;
        }
        Ok(Claim::Busy)
    }

    /// Records the result of sending row `id`.
    ///
    /// # Errors
    /// The database failed.
    pub(crate) async fn record<D: Db, H: Outbound>(
        self,
        ctx: &Context<'_, D, H>,
        id: &str,
        report: &Report,
    ) -> Result<(), DbError> {
        let (status, channel, provider_id, error) = match &report.result {
            Delivered::Sent { channel, id } => ("sent", Some(*channel), Some(id.as_str()), None),
            Delivered::Rejected { channel, reason } => {
                ("failed", Some(*channel), None, Some(reason.as_str()))
            }
            Delivered::Failed { reason } => ("failed", None, None, Some(reason.as_str())),
        };
        let sql = "update {t} set status = $2, delivery = coalesce($3, delivery), \
                     provider_message_id = $4, last_error = $5, attempts = attempts + $6::int, \
                     sent_at = case when $2 = 'sent' then now() end, updated_at = now() \
                   where id = $1::bigint"
            .replace("{t}", self.table);
        let statement = Statement::new(sql)
            .bind(id)
            .bind(status)
            .bind_opt(channel.map(Channel::name))
            .bind_opt(provider_id.filter(|p| !p.is_empty()))
            .bind_opt(error)
            .bind(report.attempts.to_string());
        ctx.db.query(&statement).await.map(drop)
    }
}

/// A provider bound to one message.
pub(crate) trait Job {
    /// Which provider.
    fn channel(&self) -> Channel;
    /// The request, with this timeout.
    fn request(&self, timeout_ms: u32) -> OutboundRequest;
    /// How to read the answer.
    fn outcome(&self, response: &OutboundResponse) -> Outcome;
}

/// What delivery came to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Delivered {
    /// Accepted by a provider.
    Sent {
        /// Which.
        channel: Channel,
        /// Its message id.
        id: String,
    },
    /// The recipient cannot receive it.
    Rejected {
        /// Which provider said so.
        channel: Channel,
        /// What it said.
        reason: String,
    },
    /// Every provider failed or the time ran out.
    Failed {
        /// The last failure of each provider.
        reason: String,
    },
}

/// The result and the number of provider requests made.
#[derive(Debug)]
pub(crate) struct Report {
    /// The result.
    pub result: Delivered,
    /// Provider requests made.
    pub attempts: u32,
}

/// Tries `jobs` in order, round after round, until one accepts, the recipient is rejected, or
/// the deadline or attempt limit is reached.
pub(crate) async fn deliver<D: Db, H: Outbound, J: Job>(
    ctx: &Context<'_, D, H>,
    jobs: &[J],
    deadline: Deadline,
) -> Report {
    let mut attempts = 0u32;
    let mut skip = vec![false; jobs.len()];
    let mut last: Vec<String> = vec![String::new(); jobs.len()];
    let mut round = 0u32;
    'rounds: loop {
        for (i, job) in jobs.iter().enumerate() {
            if skip.get(i).copied().unwrap_or(true) {
                continue;
            }
            let remaining = deadline.remaining(ctx.clock);
            if remaining < MIN_ATTEMPT_MS || attempts >= MAX_ATTEMPTS {
                break 'rounds;
            }
            let timeout = u32::try_from(remaining.min(ATTEMPT_TIMEOUT_MS)).unwrap_or(u32::MAX);
            attempts += 1;
            let channel = job.channel();
            let outcome = match ctx.http.send(job.request(timeout)).await {
                Ok(response) => job.outcome(&response),
                Err(OutboundError::Timeout) => Outcome::Retry {
                    reason: format!("no answer within {timeout} ms"),
                },
                Err(e) => Outcome::Retry {
                    reason: e.to_string(),
                },
            };
            let note = |level, code: &str, reason: &str| {
                ctx.log.log(
                    level,
                    code,
                    &format!("{channel} attempt {attempts}: {reason}"),
                );
            };
            match outcome {
                Outcome::Sent { id } => {
                    return Report {
                        result: Delivered::Sent { channel, id },
                        attempts,
                    };
                }
                Outcome::Rejected { reason } => {
                    note(Level::Info, "delivery_rejected", &reason);
                    return Report {
                        result: Delivered::Rejected { channel, reason },
                        attempts,
                    };
                }
                Outcome::Misconfigured { reason } => {
                    note(Level::Error, "provider_misconfigured", &reason);
                    if let Some(s) = skip.get_mut(i) {
                        *s = true;
                    }
                    if let Some(l) = last.get_mut(i) {
                        *l = format!("{channel}: {reason}");
                    }
                }
                Outcome::Retry { reason } => {
                    note(Level::Warn, "delivery_retry", &reason);
                    if let Some(l) = last.get_mut(i) {
                        *l = format!("{channel}: {reason}");
                    }
                }
            }
        }
        if skip.iter().all(|s| *s) {
            break;
        }
        let backoff = 150u32 << round.min(3);
        if deadline.remaining(ctx.clock) < u64::from(backoff) + MIN_ATTEMPT_MS {
            break;
        }
        ctx.http.wait(backoff).await;
        round += 1;
    }
    let reason = last
        .into_iter()
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    Report {
        result: Delivered::Failed {
            reason: if reason.is_empty() {
                "no time left to try a provider".into()
            } else {
                reason
            },
        },
        attempts,
    }
}
