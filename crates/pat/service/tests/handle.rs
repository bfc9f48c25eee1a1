//! The pat function in process: configuration errors, the error mapping of every route, and
//! the order of the exchange's checks (garbage never reaches the database).

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
    Db, DbError, FixedClock, MapEnv, NoOutbound, RandomError, Row, SecureRandom, Statement,
    UnixTime,
};
use portcullis_jwt::native::RustCrypto;
use portcullis_jwt::{HmacKey, SigningKey, sign_payload};
use portcullis_pat_service::Pat;
use portcullis_service::{Context, Function, Level, Log, Method, Request, Response};
use serde_json::{Value, json};

const NOW: i64 = 1_796_000_000;
const URL: &str = "https://abcdefghijklmnop.supabase.co";
const SECRET: &str = "test-project-legacy-jwt-secret-with-32-plus-bytes";
const USER: &str = "8a7a3b0e-1b2c-4d5e-8f90-0123456789ab";

fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = std::task::Context::from_waker(Waker::noop());
    for _ in 0..10_000 {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
    panic!("pending")
}

struct Counter(std::cell::Cell<u8>);
impl SecureRandom for Counter {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        for b in dest {
            *b = self.0.get();
            self.0.set(self.0.get().wrapping_add(61));
        }
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

/// Records statements and answers one scripted row.
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
impl FakeDb {
    fn answering(cols: &[Option<&str>]) -> Self {
        let db = Self::default();
        *db.answer.borrow_mut() = Some(Ok(vec![
            cols.iter().map(|c| c.map(str::to_owned)).collect(),
        ]));
        db
    }
}

fn env(extra: &[(&str, &str)]) -> MapEnv {
    let mut env = MapEnv::from_pairs([
        ("SUPABASE_URL", URL),
        ("SUPABASE_JWKS", r#"{"keys":[]}"#),
        ("PORTCULLIS_JWT_SECRET", SECRET),
        ("PORTCULLIS_PAT_PREFIX", "acme_pat"),
        (
            "PORTCULLIS_PAT_INTROSPECTION_SECRET",
            "introspection-secret-for-the-test-backend-0001",
        ),
    ]);
    for (k, v) in extra {
        env.set(k, *v);
    }
    env
}

fn pat(extra: &[(&str, &str)]) -> Pat {
    Pat::from_env(&env(extra)).unwrap()
}

fn run(p: &Pat, db: &FakeDb, req: Request) -> (Response, Logs) {
    let logs = Logs::default();
    let clock = FixedClock(UnixTime::from_secs(NOW));
    let random = Counter(std::cell::Cell::new(7));
    let ctx = Context {
        clock: &clock,
        random: &random,
        crypto: &RustCrypto,
        db,
        http: &NoOutbound,
        log: &logs,
    };
    (block_on(p.handle(&ctx, req)), logs)
}

fn body(r: &Response) -> Value {
    serde_json::from_slice(&r.body).unwrap_or(Value::Null)
}

fn user_jwt(extra: Value) -> String {
    let mut claims = json!({
        "iss": format!("{URL}/auth/v1"), "sub": USER, "aud": "authenticated",
        "role": "authenticated", "exp": NOW + 600, "iat": NOW, "aal": "aal1",
        "amr": [{"method": "password", "timestamp": NOW}],
    });
    for (k, v) in extra.as_object().unwrap() {
        claims[k] = v.clone();
    }
    let key = SigningKey::Hs256 {
        key: HmacKey::new(SECRET.as_bytes().to_vec()).unwrap(),
        kid: None,
    };
    block_on(sign_payload(&key, &claims.to_string(), &RustCrypto)).unwrap()
}

fn form(pairs: &[(&str, &str)]) -> Request {
    let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    Request::new(Method::Post, "/portcullis-pat/token")
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_body(body.join("&"))
}

const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const PAT_TYPE: &str = "urn:portcullis:params:oauth:token-type:pat";

/// A well-formed token of this deployment (valid checksum).
fn well_formed() -> String {
    let p = portcullis_pat::token::Prefix::new("acme_pat").unwrap();
    portcullis_pat::token::Pat::generate(&p, &Counter(std::cell::Cell::new(1)))
        .unwrap()
        .expose()
        .to_owned()
}

#[test]
fn configuration_errors_name_the_variable() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("SUPABASE_URL", "ftp://x")], "SUPABASE_URL"),
        (
            &[("PORTCULLIS_JWT_SECRET", "short")],
            "PORTCULLIS_JWT_SECRET",
        ),
        (&[("SUPABASE_JWKS", "{not json")], "SUPABASE_JWKS"),
        (
            &[("PORTCULLIS_PAT_SIGNING_KEY", r#"{"kty":"RSA"}"#)],
            "PORTCULLIS_PAT_SIGNING_KEY",
        ),
        (
            &[("PORTCULLIS_PAT_PREFIX", "Bad-Prefix")],
            "PORTCULLIS_PAT_PREFIX",
        ),
        (
            &[("PORTCULLIS_PAT_POLICY", r#"{"max_tokens":1}"#)],
            "PORTCULLIS_PAT_POLICY",
        ),
        (
            &[("PORTCULLIS_PAT_PEPPER", "short")],
            "PORTCULLIS_PAT_PEPPER",
        ),
        (
            &[("PORTCULLIS_CLIENT_IP_HEADER", "x-client-ip")],
            "PORTCULLIS_CLIENT_IP_HEADER",
        ),
        (
            &[("PORTCULLIS_CORS_ORIGINS", "javascript:alert(1)")],
            "PORTCULLIS_CORS_ORIGINS",
        ),
        (
            &[("PORTCULLIS_MAX_BODY_BYTES", "10")],
            "PORTCULLIS_MAX_BODY_BYTES",
        ),
    ];
    for (pairs, var) in cases {
        let err = Pat::from_env(&env(pairs)).unwrap_err();
        assert_eq!(err.var, *var, "{pairs:?}");
        let text = err.to_string();
        for (_, v) in *pairs {
            if v.len() > 3 {
                assert!(!text.contains(v), "the value is not echoed: {text}");
            }
        }
    }
    let mut no_key = env(&[]);
    no_key.set("PORTCULLIS_JWT_SECRET", "");
    no_key.set(
        "SUPABASE_JWKS",
        r#"{"keys":[{"kty":"oct","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC0xMjM0"}]}"#,
    );
    let err = Pat::from_env(&no_key).unwrap_err();
    assert_eq!(err.var, "PORTCULLIS_PAT_SIGNING_KEY", "minting needs a key");
    assert!(Pat::from_env(&MapEnv::default()).is_err());
}

#[test]
fn garbage_subject_tokens_cost_no_database_work() {
    let p = pat(&[]);
    let valid = well_formed();
    let mut typo = valid.clone();
    typo.pop();
    typo.push(if valid.ends_with('A') { 'B' } else { 'A' });
    for token in [
        "garbage",
        "ghp_0123456789abcdefghijklmnopqrstuvwxyz",
        typo.as_str(),
        "acme_pat_",
        &format!("{valid}x"),
    ] {
        let db = FakeDb::default();
        let (r, _) = run(
            &p,
            &db,
            form(&[
                ("grant_type", GRANT),
                ("subject_token", token),
                ("subject_token_type", PAT_TYPE),
            ]),
        );
        assert_eq!(r.status, 400, "{token}");
        assert_eq!(body(&r)["error"], "invalid_request");
        assert!(db.seen.borrow().is_empty(), "{token}: no statement");
    }
    // A well-formed one is looked up: one statement, by hash (never the token itself).
    let db = FakeDb::answering(&[Some("unknown")]);
    let (r, _) = run(
        &p,
        &db,
        form(&[
            ("grant_type", GRANT),
            ("subject_token", &valid),
            ("subject_token_type", PAT_TYPE),
        ]),
    );
    assert_eq!(r.status, 400);
    let seen = db.seen.borrow();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].sql.contains("portcullis.pat_exchange"));
    let params = format!("{:?}", seen[0].params);
    assert!(
        !params.contains(&valid),
        "the token never reaches the database"
    );
}

#[test]
fn every_exchange_outcome_has_its_answer() {
    let p = pat(&[]);
    let valid = well_formed();
    let req = || {
        form(&[
            ("grant_type", GRANT),
            ("subject_token", &valid),
            ("subject_token_type", PAT_TYPE),
        ])
    };
    for (outcome, status, error, retry) in [
        ("unknown", 400, "invalid_request", None),
        ("revoked", 400, "invalid_request", None),
        ("expired", 400, "invalid_request", None),
        ("user_gone", 400, "invalid_request", None),
        ("user_banned", 400, "invalid_request", None),
        ("ip_refused", 400, "invalid_request", None),
        ("rate_limited", 429, "invalid_request", Some("17")),
        ("no_auth_schema", 500, "server_error", None),
        ("surprise", 500, "server_error", None),
    ] {
        let db = FakeDb::answering(&[Some(outcome), None, None, None, None, Some("17")]);
        let (r, logs) = run(&p, &db, req());
        assert_eq!(r.status, status, "{outcome}");
        assert_eq!(body(&r)["error"], error, "{outcome}");
        assert_eq!(r.headers.get("retry-after"), retry, "{outcome}");
        if status == 500 {
            assert_eq!(logs.0.borrow()[0].1, "database_contract");
            assert_eq!(
                body(&r)["error_description"],
                "the function failed to process the request",
                "RFC 6749 section 5.2 shape on the token endpoint"
            );
        }
    }
    let db = FakeDb::default();
    *db.answer.borrow_mut() = Some(Err(DbError::Unavailable {
        detail: "connection refused to 10.0.0.5".into(),
    }));
    let (r, logs) = run(&p, &db, req());
    assert_eq!(r.status, 503);
    assert_eq!(body(&r)["error"], "temporarily_unavailable");
    assert_eq!(r.headers.get("retry-after"), Some("5"));
    assert!(
        !String::from_utf8_lossy(&r.body).contains("10.0.0.5"),
        "no internals to clients"
    );
    assert!(logs.0.borrow()[0].2.contains("10.0.0.5"), "but in the log");
}

#[test]
fn a_successful_exchange_mints_with_fresh_user_data_and_narrows_scope() {
    let p = pat(&[]);
    let valid = well_formed();
    let db = FakeDb::answering(&[
        Some("ok"),
        Some("5d1c3b7e-0000-4000-8000-000000000001"),
        Some(USER),
        Some("{data:read,data:write}"),
        Some(&(NOW + 300).to_string()),
        None,
        Some("ada@example.com"),
        Some(""),
        Some(r#"{"provider": "email"}"#),
        Some(r#"{"name": "Ada"}"#),
        Some("false"),
    ]);
    let (r, _) = run(
        &p,
        &db,
        form(&[
            ("grant_type", GRANT),
            ("subject_token", &valid),
            ("subject_token_type", PAT_TYPE),
            ("scope", "data:read"),
        ]),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.headers.get("cache-control"), Some("no-store"));
    assert_eq!(r.headers.get("pragma"), Some("no-cache"));
    let b = body(&r);
    assert_eq!(b["scope"], "data:read");
    assert_eq!(b["expires_in"], 300, "capped by the PAT's own expiry");
    let jwt = b["access_token"].as_str().unwrap();
    let payload: Value = serde_json::from_slice(
        &portcullis_core::encoding::base64url_decode(jwt.split('.').nth(1).unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(payload["exp"], NOW + 300);
    assert_eq!(payload["email"], "ada@example.com");
    assert_eq!(payload["app_metadata"]["provider"], "email");
    assert_eq!(payload["pat_id"], "5d1c3b7e-0000-4000-8000-000000000001");
    assert_eq!(
        payload["session_id"],
        "00000000-0000-0000-0000-000000000000"
    );
    assert_eq!(payload["iss"], format!("{URL}/auth/v1"));
    // Asking for more than the token has.
    let (r, _) = run(
        &p,
        &db,
        form(&[
            ("grant_type", GRANT),
            ("subject_token", &valid),
            ("subject_token_type", PAT_TYPE),
            ("scope", "admin"),
        ]),
    );
    assert_eq!(
        (r.status.as_u16(), body(&r)["error"].as_str()),
        (400, Some("invalid_scope"))
    );
}

#[test]
fn the_exchange_grants_only_what_todays_policy_allows() {
    let p = pat(&[(
        "PORTCULLIS_PAT_POLICY",
        r#"{"allowed_scopes":["data:read","files:read"]}"#,
    )]);
    let valid = well_formed();
    let answer = |scopes: &str| {
        FakeDb::answering(&[
            Some("ok"),
            Some("5d1c3b7e-0000-4000-8000-000000000001"),
            Some(USER),
            Some(scopes),
            None,
            None,
            Some("ada@example.com"),
            Some(""),
            Some("{}"),
            Some("{}"),
            Some("false"),
        ])
    };
    let exchange = || {
        form(&[
            ("grant_type", GRANT),
            ("subject_token", &valid),
            ("subject_token_type", PAT_TYPE),
        ])
    };
    // A token made when data:write was allowed keeps only what is allowed now.
    let (r, _) = run(&p, &answer("{data:read,data:write}"), exchange());
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(body(&r)["scope"], "data:read");
    // None of its scopes left: nothing, not an unscoped token.
    let (r, _) = run(&p, &answer("{data:write}"), exchange());
    assert_eq!(
        (r.status.as_u16(), body(&r)["error"].as_str()),
        (400, Some("invalid_scope"))
    );
}

#[test]
fn management_refusals_are_mapped_exactly() {
    let p = pat(&[("PORTCULLIS_PAT_POLICY", r#"{"require_aal2":true}"#)]);
    let get = |jwt: Option<&str>| {
        let mut r = Request::new(Method::Get, "/tokens");
        if let Some(j) = jwt {
            r = r.with_header("authorization", format!("Bearer {j}"));
        }
        r
    };
    let db = FakeDb::answering(&[Some("[]")]);
    let (r, _) = run(&p, &db, get(None));
    assert_eq!(
        (r.status.as_u16(), r.headers.get("www-authenticate")),
        (401, Some("Bearer"))
    );
    let (r, _) = run(&p, &db, get(Some("not.a.jwt")));
    assert_eq!(r.status, 401);
    assert!(
        r.headers
            .get("www-authenticate")
            .unwrap()
            .starts_with("Bearer error=\"invalid_token\"")
    );
    let pat_jwt = user_jwt(json!({"amr": [{"method": "pat", "timestamp": NOW}]}));
    let (r, _) = run(&p, &db, get(Some(&pat_jwt)));
    assert_eq!(
        (r.status.as_u16(), body(&r)["error"].as_str()),
        (403, Some("insufficient_scope"))
    );
    // Listing needs aal1 only; creating needs aal2 under this policy.
    let (r, _) = run(&p, &db, get(Some(&user_jwt(json!({})))));
    assert_eq!(r.status, 200);
    let create = |jwt: &str| {
        Request::new(Method::Post, "/tokens")
            .with_header("authorization", format!("Bearer {jwt}"))
            .with_header("content-type", "application/json")
            .with_body(r#"{"name":"ci","scopes":[],"expires_in":3600}"#)
    };
    let (r, _) = run(&p, &db, create(&user_jwt(json!({}))));
    assert_eq!(r.status, 403);
    assert!(body(&r)["message"].as_str().unwrap().contains("aal2"));
    let db = FakeDb::answering(&[
        Some("created"),
        Some("5d1c3b7e-0000-4000-8000-000000000002"),
        Some("2026-12-01T00:00:00+00:00"),
        Some("2026-12-01T01:00:00+00:00"),
    ]);
    let (r, _) = run(&p, &db, create(&user_jwt(json!({"aal": "aal2"}))));
    assert_eq!(r.status, 201);
    let token = body(&r)["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("acme_pat_"));
    let params = format!("{:?}", db.seen.borrow()[0].params);
    assert!(!params.contains(&token), "only its hash is stored");
    assert!(!params.contains(&token[9..]), "only its hash is stored");
    // Methods, routes, ids.
    let jwt = user_jwt(json!({}));
    for (method, path, status) in [
        (Method::Put, "/tokens", 405),
        (Method::Get, "/tokens/x/rotate", 405),
        (Method::Get, "/nope", 404),
        (Method::Delete, "/tokens/not-a-uuid", 404),
    ] {
        let req = Request::new(method, path).with_header("authorization", format!("Bearer {jwt}"));
        let (r, _) = run(&p, &FakeDb::default(), req);
        assert_eq!(r.status, status, "{method:?} {path}");
    }
}

#[test]
fn introspection_needs_its_secret_and_answers_inactive_for_garbage() {
    let p = pat(&[]);
    let req = |secret: &str, token: &str| {
        Request::new(Method::Post, "/introspect")
            .with_header("authorization", format!("Bearer {secret}"))
            .with_header("content-type", "application/x-www-form-urlencoded")
            .with_body(format!("token={token}"))
    };
    let db = FakeDb::default();
    let (r, _) = run(
        &p,
        &db,
        req("wrong-secret-wrong-secret-wrong-secret-wrong", "x"),
    );
    assert_eq!(
        (r.status.as_u16(), body(&r)["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let (r, _) = run(
        &p,
        &db,
        req("introspection-secret-for-the-test-backend-0001", "garbage"),
    );
    assert_eq!(
        (r.status.as_u16(), body(&r)),
        (200, json!({"active": false}))
    );
    assert!(db.seen.borrow().is_empty());
    let off = Pat::from_env(&{
        let mut e = env(&[]);
        e.set("PORTCULLIS_PAT_INTROSPECTION_SECRET", "");
        e
    })
    .unwrap();
    let (r, _) = run(&off, &db, req("anything", "x"));
    assert_eq!(r.status, 404);
}

/// Serves a scanner's key list.
struct GithubKeysEndpoint {
    body: String,
    calls: std::cell::Cell<u32>,
    url: &'static str,
}
impl portcullis_core::Outbound for GithubKeysEndpoint {
    async fn send(
        &self,
        request: portcullis_core::OutboundRequest,
    ) -> Result<portcullis_core::OutboundResponse, portcullis_core::OutboundError> {
        assert_eq!(request.method, "GET");
        assert_eq!(request.url, self.url);
        self.calls.set(self.calls.get() + 1);
        Ok(portcullis_core::OutboundResponse::new(
            200,
            self.body.clone(),
        ))
    }
    async fn wait(&self, _ms: u32) {}
}

const SOME_TOKEN_SHA256: &str = "9a45520a1213f15016d2d768b5fb3d904492a44ee274b44d4de8803e00fb536a";
const SAMPLE_ID: &str = "bcb53661c06b4728e59d897fb6165d5c9cda0fd9cdf9d09ead458168deb7518c";
const SAMPLE_KEY: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEYAGMWO8XgCamYKMJS6jc/qgvSlAd\nAjPuDPRcXU22YxgBrz+zoN19MzuRyW87qEt9/AmtoNP5GrobzUvQSyJFVw==\n-----END PUBLIC KEY-----\n";
const SAMPLE_BODY: &str = r#"[{"source":"commit","token":"some_token","type":"some_type","url":"https://example.com/base-repo-url/"}]"#;
const SAMPLE_SIGNATURE: &str = "MEQCIQDaMKqrGnE27S0kgMrEK0eYBmyG0LeZismAEz/BgZyt7AIfXt9fErtRS4XaeSt/AO1RtBY66YcAdjxji410VQV4xg==";

#[test]
fn githubs_documented_sample_verifies_and_tampering_does_not() {
    let p = pat(&[(
        "PORTCULLIS_GITHUB_KEYS_URL",
        "https://keys.example/meta/public_keys/secret_scanning",
    )]);
    let http = GithubKeysEndpoint {
        body: json!({"public_keys": [{"key_identifier": SAMPLE_ID, "key": SAMPLE_KEY, "is_current": true}]})
            .to_string(),
        calls: std::cell::Cell::new(0),
        url: "https://keys.example/meta/public_keys/secret_scanning",
    };
    let report = |body: &str, id: &str, sig: &str| {
        let mut r = Request::new(Method::Post, "/github/secret-scanning")
            .with_header("content-type", "application/json")
            .with_body(body.to_owned());
        if !id.is_empty() {
            r = r.with_header("github-public-key-identifier", id);
        }
        if !sig.is_empty() {
            r = r.with_header("github-public-key-signature", sig);
        }
        r
    };
    let go = |req: Request, db: &FakeDb| {
        let logs = Logs::default();
        let clock = FixedClock(UnixTime::from_secs(NOW));
        let random = Counter(std::cell::Cell::new(7));
        let ctx = Context {
            clock: &clock,
            random: &random,
            crypto: &RustCrypto,
            db,
            http: &http,
            log: &logs,
        };
        block_on(p.handle(&ctx, req))
    };
    let db = FakeDb::default();
    let r = go(report(SAMPLE_BODY, SAMPLE_ID, SAMPLE_SIGNATURE), &db);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    // `some_token` is not one of ours: labelled, and no database work.
    assert_eq!(
        body(&r),
        json!([{
            // SHA-256 of `some_token`, computed with sha256sum.
            "token_hash": SOME_TOKEN_SHA256,
            "token_type": "some_type",
            "label": "false_positive",
        }])
    );
    assert!(db.seen.borrow().is_empty());
    for (body_text, id, sig, status) in [
        (
            SAMPLE_BODY.replace("commit", "c0mmit"),
            SAMPLE_ID,
            SAMPLE_SIGNATURE,
            400,
        ),
        (SAMPLE_BODY.to_owned(), SAMPLE_ID, "", 400),
        (SAMPLE_BODY.to_owned(), "", SAMPLE_SIGNATURE, 400),
        (SAMPLE_BODY.to_owned(), "unknown-id", SAMPLE_SIGNATURE, 400),
        (SAMPLE_BODY.to_owned(), SAMPLE_ID, "MEUCIQ==", 400),
    ] {
        let r = go(report(&body_text, id, sig), &db);
        assert_eq!(r.status, status, "{id} {sig}");
    }
    assert!(
        db.seen.borrow().is_empty(),
        "nothing unverified reaches the database"
    );
    assert_eq!(
        http.calls.get(),
        1,
        "keys cached; an unknown id does not refetch a list fetched under 5 min ago"
    );
}

/// DER of a raw `r || s` ECDSA signature.
fn der(raw: &[u8]) -> Vec<u8> {
    let int = |b: &[u8]| {
        let mut v: Vec<u8> = b.iter().copied().skip_while(|x| *x == 0).collect();
        if v.first().is_none_or(|x| x & 0x80 != 0) {
            v.insert(0, 0);
        }
        let mut out = vec![2, v.len() as u8];
        out.extend(v);
        out
    };
    let body = [int(&raw[..32]), int(&raw[32..])].concat();
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}

#[test]
fn depsdev_reports_use_their_own_headers_and_keys_when_configured() {
    use portcullis_core::encoding::{base64_encode, base64url_decode};
    // RFC 7515 A.3's P-256 key as deps.dev's.
    let (x, y) = (
        "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
    );
    let private = portcullis_core::Secret::new(format!(
        r#"{{"crv":"P-256","d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI","kty":"EC","x":"{x}","y":"{y}"}}"#
    ));
    let mut spki = vec![
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
        0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04,
    ];
    spki.extend(base64url_decode(x).unwrap());
    spki.extend(base64url_decode(y).unwrap());
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        base64_encode(&spki)
    );
    let http = GithubKeysEndpoint {
        body: json!({"public_keys": [{"key_identifier": "depsdev-1", "key": pem, "is_current": true}]}).to_string(),
        calls: std::cell::Cell::new(0),
        url: "https://depsdev.example/keys",
    };
    let body = r#"[{"token":"not_ours","type":"acme_pat","url":"","source":"deps.dev"}]"#;
    let raw = block_on(portcullis_core::Crypto::sign(
        &RustCrypto,
        portcullis_core::SignatureAlg::Es256,
        &private,
        body.as_bytes(),
    ))
    .unwrap();
    let request = || {
        Request::new(Method::Post, "/github/secret-scanning")
            .with_header("content-type", "application/json")
            .with_header("gosst-public-key-identifier", "depsdev-1")
            .with_header("gosst-public-key-signature", base64_encode(&der(&raw)))
            .with_body(body.to_owned())
    };
    let go = |p: &Pat| {
        let logs = Logs::default();
        let clock = FixedClock(UnixTime::from_secs(NOW));
        let random = Counter(std::cell::Cell::new(7));
        let db = FakeDb::default();
        let ctx = Context {
            clock: &clock,
            random: &random,
            crypto: &RustCrypto,
            db: &db,
            http: &http,
            log: &logs,
        };
        block_on(p.handle(&ctx, request()))
    };
    assert_eq!(go(&pat(&[])).status, 400, "not accepted unless configured");
    assert_eq!(http.calls.get(), 0);
    let p = pat(&[(
        "PORTCULLIS_DEPSDEV_KEYS_URL",
        "https://depsdev.example/keys",
    )]);
    let r = go(&p);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(body_json(&r)[0]["label"], "false_positive");
    assert_eq!(http.calls.get(), 1, "deps.dev's own key list");
}

fn body_json(r: &Response) -> Value {
    body(r)
}
