//! The delivery state machine in-process, with a stopped clock: whatever the providers and the
//! database do, a call ends (bounded attempts and polls) and maps to the right answer.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::cell::RefCell;
use std::future::Future;
use std::pin::pin;
use std::task::{Poll, Waker};

use portcullis_core::{
    Db, DbError, FixedClock, MapEnv, Outbound, OutboundError, OutboundRequest, OutboundResponse,
    RandomError, Row, SecureRandom, Statement, UnixTime,
};
use portcullis_hooks_service::Hooks;
use portcullis_service::{Context, Function, Level, Log, Method, Request};
use portcullis_webhooks::SigningSecret;
use serde_json::{Value, json};

const NOW: i64 = 1_790_000_000;
const SECRET: &str = "v1,whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = std::task::Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

struct Zeros;
impl SecureRandom for Zeros {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        dest.fill(0);
        Ok(())
    }
}

/// Dice that never come up: no housekeeping on the request.
struct Ones;
impl SecureRandom for Ones {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        dest.fill(0xff);
        Ok(())
    }
}

#[derive(Default)]
struct Logs(RefCell<Vec<String>>);
impl Log for Logs {
    fn log(&self, _level: Level, code: &str, message: &str) {
        self.0.borrow_mut().push(format!("{code}: {message}"));
    }
}

/// Answers by statement: `claim` is what `portcullis.email_claim` returns (`id`, `claim`).
struct ScriptDb {
    claim: Vec<Row>,
    seen: RefCell<Vec<Statement>>,
}
impl Db for ScriptDb {
    async fn query(&self, s: &Statement) -> Result<Vec<Row>, DbError> {
        self.seen.borrow_mut().push(s.clone());
        Ok(if s.sql.contains("portcullis.email_claim(") {
            self.claim.clone()
        } else {
            Vec::new()
        })
    }
}

const CLAIM: &str = "select id::text, claim from portcullis.email_claim(";

/// Providers answering from a function of (url, call number).
struct Providers {
    answer: fn(&str, usize) -> Result<OutboundResponse, OutboundError>,
    sent: RefCell<Vec<String>>,
    waited: RefCell<u32>,
}
impl Outbound for Providers {
    async fn send(&self, r: OutboundRequest) -> Result<OutboundResponse, OutboundError> {
        let n = self.sent.borrow().len();
        assert!(r.timeout_ms <= 2000, "one attempt waits at most 2 s");
        self.sent.borrow_mut().push(r.url.clone());
        (self.answer)(&r.url, n)
    }
    async fn wait(&self, ms: u32) {
        *self.waited.borrow_mut() += ms;
    }
}

fn hooks() -> Hooks {
    let mut env = MapEnv::default();
    env.set("PORTCULLIS_HOOK_SECRETS", SECRET);
    env.set(
        "PORTCULLIS_HOOKS_POLICY",
        r#"{"send_email": {"delivery": ["resend", "postmark"], "from": "Acme <a@acme.test>"}}"#,
    );
    env.set("PORTCULLIS_RESEND_API_KEY", "re_key");
    env.set("PORTCULLIS_POSTMARK_SERVER_TOKEN", "pm_token");
    Hooks::from_env(&env).unwrap()
}

fn request() -> Request {
    let body = json!({
        "metadata": {"uuid": "6f1e0000-0000-4000-8000-00000000000a"},
        "user": {"id": "8c7e6b2a-0000-4000-8000-000000000001", "email": "ada@example.com"},
        "email_data": {"token": "123456", "token_hash": "h", "redirect_to": "", "email_action_type": "magiclink",
                       "site_url": "https://x.supabase.co/auth/v1", "token_new": "", "token_hash_new": "",
                       "old_email": "", "old_phone": "", "provider": "", "factor_type": ""}
    })
    .to_string();
    let s = SigningSecret::parse(SECRET).unwrap();
    let id = "3a1bd4a8-5b39-4a6b-9c3a-1f2e3d4c5b6a";
    Request::new(Method::Post, "/send-email")
        .with_header("Webhook-Id", id)
        .with_header("Webhook-Timestamp", NOW.to_string())
        .with_header(
            "Webhook-Signature",
            s.sign(id, UnixTime::from_secs(NOW), body.as_bytes()),
        )
        .with_body(body.as_bytes())
}

fn run(db: &ScriptDb, http: &Providers, logs: &Logs) -> Value {
    run_with(&Zeros, db, http, logs)
}

fn run_with(random: &dyn SecureRandom, db: &ScriptDb, http: &Providers, logs: &Logs) -> Value {
    let clock = FixedClock(UnixTime::from_secs(NOW));
    let ctx = Context {
        clock: &clock,
        random,
        crypto: &portcullis_core::NoCrypto,
        db,
        http,
        log: logs,
    };
    let r = block_on(hooks().handle(&ctx, request()));
    assert_eq!(r.status.as_u16(), 200);
    serde_json::from_slice(&r.body).unwrap()
}

fn owned() -> Vec<Row> {
    claimed("owned")
}

fn claimed(claim: &str) -> Vec<Row> {
    vec![vec![Some("41".into()), Some(claim.into())]]
}

#[test]
fn providers_down_end_after_bounded_attempts_with_a_503_error_object_and_a_failed_row() {
    let db = ScriptDb {
        claim: owned(),
        seen: RefCell::default(),
    };
    let http = Providers {
        answer: |_, _| {
            Ok(OutboundResponse {
                headers: Vec::new(),
                status: 503,
                body: Vec::new(),
            })
        },
        sent: RefCell::default(),
        waited: RefCell::default(),
    };
    let logs = Logs::default();
    let answer = run(&db, &http, &logs);
    assert_eq!(answer["error"]["http_code"], 503);
    let sent = http.sent.borrow();
    assert_eq!(
        sent.len(),
        6,
        "the attempt limit holds even when the clock stands still"
    );
    assert_eq!(
        sent.iter().filter(|u| u.ends_with("/emails")).count(),
        3,
        "alternating providers"
    );
    assert!(*http.waited.borrow() > 0, "back-off between rounds");
    let update = db
        .seen
        .borrow()
        .iter()
        .find(|s| {
            s.sql
                .starts_with("update portcullis.email_outbox set status = $2")
        })
        .cloned()
        .unwrap();
    assert_eq!(update.params[1].as_deref(), Some("failed"));
    assert_eq!(update.params[5].as_deref(), Some("6"));
    assert!(
        update.params[4]
            .as_deref()
            .unwrap()
            .contains("resend: HTTP 503; postmark: HTTP 503")
    );
    assert!(
        !logs
            .0
            .borrow()
            .iter()
            .any(|l| l.contains("123456") || l.contains("re_key")),
        "no code or key in logs"
    );
}

#[test]
fn a_rejected_recipient_is_a_400_at_once_without_trying_the_next_provider() {
    let db = ScriptDb {
        claim: owned(),
        seen: RefCell::default(),
    };
    let http = Providers {
        answer: |_, _| {
            Ok(OutboundResponse {
                headers: Vec::new(),
                status: 422,
                body: br#"{"name":"validation_error","message":"Invalid `to` field."}"#.to_vec(),
            })
        },
        sent: RefCell::default(),
        waited: RefCell::default(),
    };
    let answer = run(&db, &http, &Logs::default());
    assert_eq!(answer["error"]["http_code"], 400);
    assert_eq!(http.sent.borrow().len(), 1);
}

#[test]
fn timeouts_and_network_errors_fail_over() {
    let db = ScriptDb {
        claim: owned(),
        seen: RefCell::default(),
    };
    let http = Providers {
        answer: |url, n| match n {
            0 => Err(OutboundError::Timeout),
            1 => Err(OutboundError::Network {
                detail: "reset".into(),
            }),
            _ if url.ends_with("/emails") => Ok(OutboundResponse {
                headers: Vec::new(),
                status: 200,
                body: br#"{"id":"r1"}"#.to_vec(),
            }),
            _ => panic!("postmark asked twice"),
        },
        sent: RefCell::default(),
        waited: RefCell::default(),
    };
    assert_eq!(run(&db, &http, &Logs::default()), json!({}));
    assert_eq!(http.sent.borrow().len(), 3);
}

#[test]
fn a_duplicate_waits_for_the_owner_boundedly_then_answers_busy() {
    let db = ScriptDb {
        claim: claimed("pending"),
        seen: RefCell::default(),
    };
    let http = Providers {
        answer: |_, _| panic!("a duplicate never sends"),
        sent: RefCell::default(),
        waited: RefCell::default(),
    };
    let answer = run(&db, &http, &Logs::default());
    assert_eq!(answer["error"]["http_code"], 503);
    let polls = db
        .seen
        .borrow()
        .iter()
        .filter(|s| s.sql.starts_with(CLAIM))
        .count();
    assert_eq!(
        polls, 40,
        "bounded polling with a stopped clock, one statement a poll"
    );
}

#[test]
fn a_duplicate_of_a_sent_message_succeeds_without_sending() {
    let db = ScriptDb {
        claim: claimed("sent"),
        seen: RefCell::default(),
    };
    let http = Providers {
        answer: |_, _| panic!("never sends"),
        sent: RefCell::default(),
        waited: RefCell::default(),
    };
    assert_eq!(run(&db, &http, &Logs::default()), json!({}));
    assert_eq!(
        db.seen
            .borrow()
            .iter()
            .filter(|s| s.sql.starts_with(CLAIM))
            .count(),
        1,
        "a duplicate of a sent message costs one statement"
    );
}

fn sent_ok() -> Providers {
    Providers {
        answer: |_, _| {
            Ok(OutboundResponse {
                headers: Vec::new(),
                status: 200,
                body: br#"{"id":"r1"}"#.to_vec(),
            })
        },
        sent: RefCell::default(),
        waited: RefCell::default(),
    }
}

#[test]
fn provider_rows_store_no_content_and_retention_runs_now_and_then() {
    let retention = |random: &dyn SecureRandom| {
        let db = ScriptDb {
            claim: owned(),
            seen: RefCell::default(),
        };
        assert_eq!(
            run_with(random, &db, &sent_ok(), &Logs::default()),
            json!({})
        );
        let seen = db.seen.borrow();
        let insert = seen.iter().find(|s| s.sql.starts_with(CLAIM)).unwrap();
        // subject, html, text, link, token, token_hash: a provider sends, nothing is kept.
        assert_eq!(insert.params[5..11], [None, None, None, None, None, None]);
        assert_eq!(insert.params[13].as_deref(), Some("pending"));
        seen.iter()
            .find(|s| s.sql.contains("portcullis.outbox_retention("))
            .map(|s| s.params.clone())
    };
    assert_eq!(
        retention(&Zeros),
        Some(
            ["3600", "3600", "30", "30"]
                .map(|p| Some(p.to_owned()))
                .to_vec()
        ),
        "policy defaults: OTP lifetime 1 h, rows kept 30 days"
    );
    assert_eq!(retention(&Ones), None, "not on every request");
}
