//! The hooks function in-process: routing, verification, the wire contract, the policies,
//! the claims lookup, configuration errors and the error mapping.

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
    ConfigProblem, Db, DbError, FixedClock, MapEnv, NoOutbound, RandomError, Row, SecureRandom,
    Statement, UnixTime,
};
use portcullis_hooks::claims::Problem;
use portcullis_hooks::{AccessTokenError, SchemaViolation};
use portcullis_hooks_service::{Hook, Hooks, HooksError};
use portcullis_service::{Context, Function, Level, Log, Method, Request, Response, Status};
use portcullis_webhooks::{SigningSecret, VerifyError};
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

#[derive(Default)]
struct Logs(RefCell<Vec<(Level, String, String)>>);
impl Log for Logs {
    fn log(&self, level: Level, code: &str, message: &str) {
        self.0
            .borrow_mut()
            .push((level, code.to_owned(), message.to_owned()));
    }
}
impl Logs {
    fn codes(&self) -> Vec<String> {
        self.0.borrow().iter().map(|(_, c, _)| c.clone()).collect()
    }
    fn all_text(&self) -> String {
        format!("{:?}", self.0.borrow())
    }
}

/// A database that records statements and answers from a script.
#[derive(Default)]
struct FakeDb {
    seen: RefCell<Vec<Statement>>,
    answer: RefCell<Option<Result<Vec<Row>, DbError>>>,
}
impl Db for FakeDb {
    async fn query(&self, statement: &Statement) -> Result<Vec<Row>, DbError> {
        self.seen.borrow_mut().push(statement.clone());
        self.answer.borrow().clone().unwrap_or(Ok(Vec::new()))
    }
}

fn hooks(pairs: &[(&str, &str)]) -> Hooks {
    let mut env = MapEnv::default();
    env.set_asset(
        "disposable_domains.txt",
        include_str!("../../domain/data/disposable_domains.txt"),
    );
    env.set("PORTCULLIS_HOOK_SECRETS", SECRET);
    for (k, v) in pairs {
        env.set(k, *v);
    }
    Hooks::from_env(&env).unwrap()
}

fn signed(path: &str, body: &[u8], secret: &str) -> Request {
    let s = SigningSecret::parse(secret).unwrap();
    let id = "3a1bd4a8-5b39-4a6b-9c3a-1f2e3d4c5b6a";
    let ts = UnixTime::from_secs(NOW);
    Request::new(Method::Post, path)
        .with_header("Content-Type", "application/json")
        .with_header("Webhook-Id", id)
        .with_header("Webhook-Timestamp", NOW.to_string())
        .with_header("Webhook-Signature", s.sign(id, ts, body))
        .with_body(body)
}

fn run(h: &Hooks, db: &FakeDb, logs: &Logs, req: Request) -> Response {
    let clock = FixedClock(UnixTime::from_secs(NOW));
    let ctx = Context {
        clock: &clock,
        random: &Zeros,
        crypto: &portcullis_core::NoCrypto,
        db,
        http: &NoOutbound,
        log: logs,
    };
    block_on(h.handle(&ctx, req))
}

fn body_json(r: &Response) -> Value {
    assert_eq!(r.headers.get("content-type"), Some("application/json"));
    serde_json::from_slice(&r.body).unwrap()
}

fn token_payload(method: &str) -> Value {
    json!({
        "metadata": {"uuid": "6f1e0000-0000-4000-8000-00000000000a", "time": "2026-09-21T12:26:40.123+02:00", "name": "customize-access-token", "ip_address": "192.0.2.1"},
        "user_id": "8c7e6b2a-0000-4000-8000-000000000001",
        "authentication_method": method,
        "claims": {
            "iss": "https://ref.supabase.co/auth/v1", "aud": ["authenticated"],
            "exp": NOW + 3600, "iat": NOW, "sub": "8c7e6b2a-0000-4000-8000-000000000001",
            "email": "ada@example.com", "phone": "", "role": "authenticated", "aal": "aal1",
            "amr": [{"method": "password", "timestamp": NOW}],
            "session_id": "2f1c0000-0000-4000-8000-000000000002", "is_anonymous": false,
            "app_metadata": {"provider": "email", "role": "admin", "org": "acme"},
            "user_metadata": {"name": "<script>alert(1)</script>"},
            "future_claim": {"x": 1}
        }
    })
}

#[test]
fn custom_access_token_passes_claims_through_by_default() {
    let h = hooks(&[]);
    let (db, logs) = (FakeDb::default(), Logs::default());
    let payload = token_payload("password");
    let body = serde_json::to_vec(&payload).unwrap();
    let r = run(
        &h,
        &db,
        &logs,
        signed("/custom-access-token", &body, SECRET),
    );
    assert_eq!(r.status, Status::OK);
    assert_eq!(body_json(&r), json!({"claims": payload["claims"]}));
    assert!(
        db.seen.borrow().is_empty(),
        "no lookup configured, no query"
    );
    assert!(logs.codes().is_empty());
}

#[test]
fn supabase_path_prefixes_and_trailing_slash_route_the_same() {
    let h = hooks(&[]);
    let body = serde_json::to_vec(&token_payload("otp")).unwrap();
    for path in [
        "/portcullis-hooks/custom-access-token",
        "/functions/v1/portcullis-hooks/custom-access-token",
        "/custom-access-token/",
    ] {
        let r = run(
            &h,
            &FakeDb::default(),
            &Logs::default(),
            signed(path, &body, SECRET),
        );
        assert_eq!(r.status, 200, "{path}");
        assert!(body_json(&r)["claims"].is_object(), "{path}");
    }
}

#[test]
fn go_escaped_bodies_verify_over_the_raw_bytes() {
    let h = hooks(&[]);
    let text = serde_json::to_string(&token_payload("password"))
        .unwrap()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e");
    let r = run(
        &h,
        &FakeDb::default(),
        &Logs::default(),
        signed("/custom-access-token", text.as_bytes(), SECRET),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        body_json(&r)["claims"]["user_metadata"]["name"],
        "<script>alert(1)</script>"
    );
}

#[test]
fn transport_errors_are_precise_and_json() {
    let h = hooks(&[("PORTCULLIS_MAX_BODY_BYTES", "2048")]);
    let (db, logs) = (FakeDb::default(), Logs::default());
    let body = serde_json::to_vec(&token_payload("password")).unwrap();

    let r = run(&h, &db, &logs, signed("/send-fax", &body, SECRET));
    assert_eq!(
        (r.status, body_json(&r)["error"].clone()),
        (Status::NOT_FOUND, json!("not_found"))
    );

    let mut get = signed("/custom-access-token", &body, SECRET);
    get.method = Method::Get;
    let r = run(&h, &db, &logs, get);
    assert_eq!(r.status, Status::METHOD_NOT_ALLOWED);
    assert_eq!(r.headers.get("allow"), Some("POST"));

    let big = vec![b' '; 2049];
    let r = run(&h, &db, &logs, signed("/custom-access-token", &big, SECRET));
    assert_eq!(r.status, Status::PAYLOAD_TOO_LARGE);

    let mut unsigned = signed("/custom-access-token", &body, SECRET);
    unsigned.headers.remove("webhook-signature");
    let r = run(&h, &db, &logs, unsigned);
    assert_eq!(r.status, Status::UNAUTHORIZED);
    assert_eq!(body_json(&r)["error"], "missing_webhook_signature");

    let other = SigningSecret::from_bytes(vec![9; 32])
        .unwrap()
        .to_config_text();
    let r = run(
        &h,
        &db,
        &logs,
        signed("/custom-access-token", &body, other.expose()),
    );
    assert_eq!(r.status, Status::UNAUTHORIZED);
    assert_eq!(body_json(&r)["error"], "invalid_webhook_signature");
    assert!(
        logs.codes()
            .contains(&"invalid_webhook_signature".to_owned())
    );
}

#[test]
fn stale_requests_are_refused() {
    let h = hooks(&[]);
    let body = serde_json::to_vec(&token_payload("password")).unwrap();
    let req = signed("/custom-access-token", &body, SECRET);
    let clock = FixedClock(UnixTime::from_secs(NOW + 301));
    let ctx = Context {
        clock: &clock,
        random: &Zeros,
        crypto: &portcullis_core::NoCrypto,
        db: &FakeDb::default(),
        http: &NoOutbound,
        log: &Logs::default(),
    };
    let r = block_on(h.handle(&ctx, req));
    assert_eq!(r.status, 401);
    assert_eq!(body_json(&r)["error"], "webhook_timestamp_too_old");
}

#[test]
fn per_hook_secrets_override_the_default() {
    let own = SigningSecret::from_bytes(vec![3; 32])
        .unwrap()
        .to_config_text();
    let h = hooks(&[("PORTCULLIS_HOOK_SECRETS_BEFORE_USER_CREATED", own.expose())]);
    let (db, logs) = (FakeDb::default(), Logs::default());
    let body = serde_json::to_vec(
        &json!({"metadata": {"uuid": "u"}, "user": {"id": "x", "email": "a@b.co"}}),
    )
    .unwrap();
    assert_eq!(
        run(
            &h,
            &db,
            &logs,
            signed("/before-user-created", &body, SECRET)
        )
        .status,
        401
    );
    assert_eq!(
        run(
            &h,
            &db,
            &logs,
            signed("/before-user-created", &body, own.expose())
        )
        .status,
        200
    );
    let token = serde_json::to_vec(&token_payload("password")).unwrap();
    assert_eq!(
        run(
            &h,
            &db,
            &logs,
            signed("/custom-access-token", &token, SECRET)
        )
        .status,
        200
    );
}

#[test]
fn a_hook_without_any_secret_is_refused() {
    let own = SigningSecret::from_bytes(vec![3; 32])
        .unwrap()
        .to_config_text();
    let env = MapEnv::from_pairs([(
        "PORTCULLIS_HOOK_SECRETS_CUSTOM_ACCESS_TOKEN",
        own.expose().as_str(),
    )]);
    let h = Hooks::from_env(&env).unwrap();
    let body = b"{}";
    let r = run(
        &h,
        &FakeDb::default(),
        &Logs::default(),
        signed("/before-user-created", body, own.expose()),
    );
    assert_eq!(r.status, 401);
    assert_eq!(body_json(&r)["error"], "hook_secret_not_configured");
}

#[test]
fn verified_but_malformed_payload_is_a_200_error_object_and_logs_no_content() {
    let h = hooks(&[]);
    let logs = Logs::default();
    let body = br#"{"user_id": "x", "claims": "secret-looking-value-123456"}"#;
    let r = run(
        &h,
        &FakeDb::default(),
        &logs,
        signed("/custom-access-token", body, SECRET),
    );
    assert_eq!(r.status, 200);
    let v = body_json(&r);
    assert_eq!(v["error"]["http_code"], 500);
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert_eq!(logs.codes(), vec!["invalid_payload"]);
    assert!(!logs.all_text().contains("secret-looking-value"));
}

const POLICY: &str = r#"
[access_token]
copy = { org = "app_metadata.org" }
[access_token.role]
from = "app_metadata.role"
map = { admin = "app_admin" }
[[access_token.rules]]
methods = ["anonymous"]
reject = "Guests cannot sign in here."
[before_user_created]
deny_email_domains = ["example.net"]
block_disposable_domains = true
message = "Sign-ups from this address are closed."
"#;

#[test]
fn policy_reshapes_claims_and_refusals_are_200_error_objects() {
    let h = hooks(&[("PORTCULLIS_HOOKS_POLICY", POLICY)]);
    let (db, logs) = (FakeDb::default(), Logs::default());
    let body = serde_json::to_vec(&token_payload("password")).unwrap();
    let v = body_json(&run(
        &h,
        &db,
        &logs,
        signed("/custom-access-token", &body, SECRET),
    ));
    assert_eq!(v["claims"]["org"], "acme");
    assert_eq!(v["claims"]["role"], "app_admin");

    let body = serde_json::to_vec(&token_payload("anonymous")).unwrap();
    let r = run(
        &h,
        &db,
        &logs,
        signed("/custom-access-token", &body, SECRET),
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        body_json(&r),
        json!({"error": {"http_code": 403, "message": "Guests cannot sign in here."}})
    );
}

#[test]
fn before_user_created_allows_with_empty_object_and_refuses_with_403() {
    let h = hooks(&[("PORTCULLIS_HOOKS_POLICY", POLICY)]);
    let (db, logs) = (FakeDb::default(), Logs::default());
    let user = |email: &str| {
        serde_json::to_vec(&json!({
            "metadata": {"uuid": "u1", "time": "2026-09-21T10:26:40Z", "name": "before-user-created", "ip_address": "198.51.100.4"},
            "user": {"id": "8c7e6b2a-0000-4000-8000-000000000001", "aud": "", "role": "", "email": email, "phone": "",
                     "app_metadata": {"provider": "email", "providers": ["email"]}, "user_metadata": {}, "identities": [],
                     "created_at": "0001-01-01T00:00:00Z", "updated_at": "0001-01-01T00:00:00Z", "is_anonymous": false}
        }))
        .unwrap()
    };
    let r = run(
        &h,
        &db,
        &logs,
        signed("/before-user-created", &user("ada@example.com"), SECRET),
    );
    assert_eq!((r.status, body_json(&r)), (Status::OK, json!({})));
    for email in [
        "ada@example.net",
        "ada@sub.example.net",
        "ada@mailinator.com",
    ] {
        let r = run(
            &h,
            &db,
            &logs,
            signed("/before-user-created", &user(email), SECRET),
        );
        assert_eq!(r.status, 200);
        assert_eq!(
            body_json(&r),
            json!({"error": {"http_code": 403, "message": "Sign-ups from this address are closed."}}),
            "{email}"
        );
    }
    assert_eq!(
        logs.codes(),
        vec![
            "email_domain_denied",
            "email_domain_denied",
            "disposable_email_domain"
        ]
    );
    assert!(
        !logs.all_text().contains("ada@"),
        "no e-mail addresses in logs"
    );
}

const LOOKUP: &str = "[access_token.lookup]\n";

#[test]
fn lookup_runs_the_policy_statement_and_merges_the_row() {
    let h = hooks(&[("PORTCULLIS_HOOKS_POLICY", LOOKUP)]);
    assert!(h.needs_db());
    let (db, logs) = (FakeDb::default(), Logs::default());
    *db.answer.borrow_mut() = Some(Ok(vec![vec![Some(
        r#"{"plan":"pro","aud":"evil"}"#.into(),
    )]]));
    let body = serde_json::to_vec(&token_payload("password")).unwrap();
    let v = body_json(&run(
        &h,
        &db,
        &logs,
        signed("/custom-access-token", &body, SECRET),
    ));
    assert_eq!(v["claims"]["plan"], "pro");
    assert_eq!(v["claims"]["aud"], json!(["authenticated"]));
    let seen = db.seen.borrow();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].params,
        vec![Some("8c7e6b2a-0000-4000-8000-000000000001".to_owned())]
    );
    assert_eq!(logs.codes(), vec!["lookup_reserved_claims_ignored"]);
}

#[test]
fn a_refused_method_never_reaches_the_database() {
    let policy = "[access_token.lookup]\n[[access_token.rules]]\nmethods = [\"anonymous\"]\nreject = \"No guests.\"\n";
    let h = hooks(&[("PORTCULLIS_HOOKS_POLICY", policy)]);
    let db = FakeDb::default();
    let body = serde_json::to_vec(&token_payload("anonymous")).unwrap();
    let r = run(
        &h,
        &db,
        &Logs::default(),
        signed("/custom-access-token", &body, SECRET),
    );
    assert_eq!(body_json(&r)["error"]["http_code"], 403);
    assert!(db.seen.borrow().is_empty());
}

#[test]
fn lookup_without_a_row_or_with_null_passes_claims_through() {
    let h = hooks(&[("PORTCULLIS_HOOKS_POLICY", LOOKUP)]);
    let body = serde_json::to_vec(&token_payload("password")).unwrap();
    for answer in [vec![], vec![vec![None]]] {
        let db = FakeDb::default();
        *db.answer.borrow_mut() = Some(Ok(answer));
        let v = body_json(&run(
            &h,
            &db,
            &Logs::default(),
            signed("/custom-access-token", &body, SECRET),
        ));
        assert_eq!(v["claims"]["sub"], "8c7e6b2a-0000-4000-8000-000000000001");
        assert!(v["claims"].get("plan").is_none());
    }
}

#[test]
fn lookup_failures_fail_closed_by_default_and_open_when_configured() {
    let body = serde_json::to_vec(&token_payload("password")).unwrap();
    let failures = [
        Err(DbError::Unavailable {
            detail: "connection refused".into(),
        }),
        Err(DbError::Rejected {
            sqlstate: "42P01".into(),
            detail: "relation does not exist".into(),
        }),
        Ok(vec![vec![Some("[1,2]".into())]]),
    ];
    for failure in failures {
        let h = hooks(&[("PORTCULLIS_HOOKS_POLICY", LOOKUP)]);
        let (db, logs) = (FakeDb::default(), Logs::default());
        *db.answer.borrow_mut() = Some(failure.clone());
        let r = run(
            &h,
            &db,
            &logs,
            signed("/custom-access-token", &body, SECRET),
        );
        assert_eq!(r.status, 200);
        assert_eq!(body_json(&r)["error"]["http_code"], 500, "{failure:?}");
        assert_eq!(logs.codes(), vec!["claims_lookup_failed"]);

        let h = hooks(&[(
            "PORTCULLIS_HOOKS_POLICY",
            "[access_token.lookup]\non_error = \"skip\"\n",
        )]);
        let db = FakeDb::default();
        *db.answer.borrow_mut() = Some(failure);
        let v = body_json(&run(
            &h,
            &db,
            &Logs::default(),
            signed("/custom-access-token", &body, SECRET),
        ));
        assert!(v["claims"].is_object());
    }
}

#[test]
fn configuration_errors_name_the_variable_and_never_echo_secrets() {
    let err = Hooks::from_env(&MapEnv::default()).unwrap_err();
    assert_eq!(
        (err.var.as_str(), &err.problem),
        ("PORTCULLIS_HOOK_SECRETS", &ConfigProblem::Missing)
    );

    let err = Hooks::from_env(&MapEnv::from_pairs([(
        "PORTCULLIS_HOOK_SECRETS",
        "v1,whsec_c2VjcmV0LXZhbHVl",
    )]))
    .unwrap_err();
    assert_eq!(err.var, "PORTCULLIS_HOOK_SECRETS");
    assert!(err.to_string().contains("at least 24"), "{err}");
    assert!(!err.to_string().contains("c2VjcmV0"));

    let err = Hooks::from_env(&MapEnv::from_pairs([
        ("PORTCULLIS_HOOK_SECRETS", SECRET),
        ("PORTCULLIS_HOOK_SECRETS_SEND_FAX", "ignored: not a hook"),
        ("PORTCULLIS_HOOK_SECRETS_CUSTOM_ACCESS_TOKEN", "v1,whsec_!!"),
    ]))
    .unwrap_err();
    assert_eq!(err.var, "PORTCULLIS_HOOK_SECRETS_CUSTOM_ACCESS_TOKEN");

    let err = Hooks::from_env(&MapEnv::from_pairs([
        ("PORTCULLIS_HOOK_SECRETS", SECRET),
        (
            "PORTCULLIS_HOOKS_POLICY",
            "[access_token]\ndrop = [\"sub\"]",
        ),
    ]))
    .unwrap_err();
    assert_eq!(err.var, "PORTCULLIS_HOOKS_POLICY");
    assert!(err.to_string().contains("access_token.drop[0]"), "{err}");

    for bad in ["12", "abc", "99999999999"] {
        let err = Hooks::from_env(&MapEnv::from_pairs([
            ("PORTCULLIS_HOOK_SECRETS", SECRET),
            ("PORTCULLIS_MAX_BODY_BYTES", bad),
        ]))
        .unwrap_err();
        assert_eq!(err.var, "PORTCULLIS_MAX_BODY_BYTES", "{bad}");
    }
}

#[test]
fn every_error_variant_maps_to_its_status_and_body() {
    let cases: Vec<(HooksError, u16, Value)> = vec![
        (
            HooksError::NotFound,
            404,
            json!({"error": "not_found", "message": "no such hook"}),
        ),
        (
            HooksError::MethodNotAllowed,
            405,
            json!({"error": "method_not_allowed", "message": "hooks accept POST only"}),
        ),
        (
            HooksError::PayloadTooLarge { limit: 10 },
            413,
            json!({"error": "payload_too_large", "message": "request body is larger than 10 bytes"}),
        ),
        (
            HooksError::NotConfigured(Hook::CustomAccessToken),
            401,
            json!({"error": "hook_secret_not_configured", "message": "no webhook secret is configured for this hook"}),
        ),
        (
            HooksError::Unverified(VerifyError::TimestampTooNew),
            401,
            json!({"error": "webhook_timestamp_too_new", "message": "the webhook-timestamp is more than 5 minutes in the future"}),
        ),
        (
            HooksError::BadPayload,
            200,
            json!({"error": {"http_code": 500, "message": "The authentication hook could not process this request."}}),
        ),
        (
            HooksError::LookupFailed,
            200,
            json!({"error": {"http_code": 500, "message": "The authentication hook could not process this request."}}),
        ),
        (
            HooksError::AccessToken(AccessTokenError::Refused {
                message: "no".into(),
            }),
            200,
            json!({"error": {"http_code": 403, "message": "no"}}),
        ),
        (
            HooksError::AccessToken(AccessTokenError::TooLarge {
                size: 9000,
                max: 4096,
            }),
            200,
            json!({"error": {"http_code": 500, "message": "The access token would be too large."}}),
        ),
        (
            HooksError::AccessToken(AccessTokenError::Schema(SchemaViolation {
                claim: "exp".into(),
                problem: Problem::Missing,
            })),
            200,
            json!({"error": {"http_code": 500, "message": "The authentication hook could not process this request."}}),
        ),
        (
            HooksError::SignupRefused {
                message: "closed".into(),
            },
            200,
            json!({"error": {"http_code": 403, "message": "closed"}}),
        ),
        (
            HooksError::Unsendable,
            200,
            json!({"error": {"http_code": 500, "message": "The authentication hook could not process this request."}}),
        ),
        (
            HooksError::RecipientRejected,
            200,
            json!({"error": {"http_code": 400, "message": "This address cannot receive messages. Check it and try again."}}),
        ),
        (
            HooksError::DeliveryFailed,
            200,
            json!({"error": {"http_code": 503, "message": "The message could not be sent right now. Please try again in a moment."}}),
        ),
        (
            HooksError::DeliveryBusy,
            200,
            json!({"error": {"http_code": 503, "message": "The message is still being sent. Please wait a moment before trying again."}}),
        ),
        (
            HooksError::Database,
            200,
            json!({"error": {"http_code": 500, "message": "The authentication hook could not process this request."}}),
        ),
        (
            HooksError::RetryLater,
            503,
            json!({"error": "retry", "message": "the hook could not finish; retry"}),
        ),
    ];
    // Every variant is listed (the crate's own test `error_variants_are_all_listed` keeps the
    // list complete): each maps to its status, JSON body and extra headers.
    assert_eq!(cases.len(), 17);
    for (error, status, body) in cases {
        let label = format!("{error:?}");
        let extra = match &error {
            HooksError::MethodNotAllowed => Some(("allow", "POST")),
            HooksError::RetryLater => Some(("retry-after", "1")),
            _ => None,
        };
        let r = error.into_response();
        assert_eq!(r.status.as_u16(), status, "{label}");
        assert_eq!(
            r.headers.get("content-type"),
            Some("application/json"),
            "{label}"
        );
        assert_eq!(r.headers.get("cache-control"), Some("no-store"), "{label}");
        let names: Vec<&str> = r.headers.iter().map(|(n, _)| n).collect();
        let want = 2 + usize::from(extra.is_some());
        assert_eq!(names.len(), want, "{label}: {names:?}");
        if let Some((name, value)) = extra {
            assert_eq!(r.headers.get(name), Some(value), "{label}");
        }
        assert_eq!(body_json(&r), body, "{label}");
    }
}
