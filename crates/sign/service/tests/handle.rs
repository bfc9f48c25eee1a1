//! The sign function in process: authentication, the all-or-none batch with each refusal
//! naming its object and rule, what is signed (expiry, signed headers, download names) and the
//! configuration's errors.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::future::Future;
use std::pin::pin;
use std::task::{Poll, Waker};

use portcullis_core::{FixedClock, MapEnv, NoDb, NoOutbound, RandomError, SecureRandom, UnixTime};
use portcullis_jwt::native::RustCrypto;
use portcullis_jwt::{HmacKey, SigningKey, sign_payload};
use portcullis_service::{Context, Function, Method, NoLog, Request, Response};
use portcullis_sign_service::{Sign, content_disposition};
use serde_json::{Value, json};

const NOW: i64 = 1_796_000_000;
const URL: &str = "https://abcdefghijklmnop.supabase.co";
const SECRET: &str = "test-project-legacy-jwt-secret-with-32-plus-bytes";
const USER: &str = "8a7a3b0e-1b2c-4d5e-8f90-0123456789ab";
const POLICY: &str = r#"{
  "buckets": {"media": {"backend": "minio", "endpoint": "http://127.0.0.1:8333", "put_urls": true,
                        "access_key_id_env": "MEDIA_KEY", "secret_env": "MEDIA_SECRET"}},
  "rules": [
    {"bucket": "media", "path": "users/{sub}/**", "methods": ["GET", "PUT", "DELETE"],
     "max_expires_in": 900, "content_types": ["image/*"], "max_size": 1048576},
    {"bucket": "media", "path": "public/**", "methods": ["GET"]}
  ]
}"#;

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

struct Zeros;
impl SecureRandom for Zeros {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        dest.fill(0);
        Ok(())
    }
}

fn env(extra: &[(&str, &str)]) -> MapEnv {
    let mut env = MapEnv::from_pairs([
        ("SUPABASE_URL", URL),
        ("PORTCULLIS_JWT_SECRET", SECRET),
        ("PORTCULLIS_SIGN_POLICY", POLICY),
        ("MEDIA_KEY", "AKIAMEDIAEXAMPLE0000"),
        ("MEDIA_SECRET", "media-secret-access-key-for-the-tests-0000"),
    ]);
    for (k, v) in extra {
        env.set(k, *v);
    }
    env
}

fn run(s: &Sign, req: Request) -> Response {
    let clock = FixedClock(UnixTime::from_secs(NOW));
    let ctx = Context {
        clock: &clock,
        random: &Zeros,
        crypto: &RustCrypto,
        db: &NoDb,
        http: &NoOutbound,
        log: &NoLog,
    };
    block_on(s.handle(&ctx, req))
}

fn body(r: &Response) -> Value {
    serde_json::from_slice(&r.body).unwrap_or(Value::Null)
}

fn jwt(sub: &str) -> String {
    jwt_with(sub, "password")
}

fn jwt_with(sub: &str, method: &str) -> String {
    let claims = json!({
        "iss": format!("{URL}/auth/v1"), "sub": sub, "aud": "authenticated",
        "role": "authenticated", "exp": NOW + 600, "iat": NOW, "aal": "aal1",
        "amr": [{"method": method, "timestamp": NOW}],
    });
    let key = SigningKey::Hs256 {
        key: HmacKey::new(SECRET.as_bytes().to_vec()).unwrap(),
        kid: None,
    };
    block_on(sign_payload(&key, &claims.to_string(), &RustCrypto)).unwrap()
}

fn sign_request(token: Option<&str>, body: &Value) -> Request {
    let r = Request::new(Method::Post, "/portcullis-sign/sign")
        .with_header("content-type", "application/json")
        .with_body(body.to_string());
    match token {
        Some(t) => r.with_header("authorization", format!("Bearer {t}")),
        None => r,
    }
}

#[test]
fn only_a_signed_in_user_gets_urls() {
    let s = Sign::from_env(&env(&[])).unwrap();
    let ask = json!({"bucket": "media", "objects": [{"key": "public/a.png", "method": "GET"}]});
    let r = run(&s, sign_request(None, &ask));
    assert_eq!(r.status.as_u16(), 401);
    assert_eq!(r.headers.get("www-authenticate"), Some("Bearer"));
    let r = run(&s, sign_request(Some("not.a.token"), &ask));
    assert_eq!(
        (r.status.as_u16(), body(&r)["error"].as_str()),
        (401, Some("invalid_token"))
    );
    assert!(
        r.headers
            .get("www-authenticate")
            .unwrap()
            .contains("invalid_token")
    );
    let r = run(&s, Request::new(Method::Get, "/portcullis-sign/sign"));
    assert_eq!(
        (r.status.as_u16(), r.headers.get("allow")),
        (405, Some("POST"))
    );
    assert_eq!(
        run(&s, Request::new(Method::Post, "/portcullis-sign/other"))
            .status
            .as_u16(),
        404
    );
}

#[test]
fn a_batch_is_signed_with_each_objects_limits() {
    let s = Sign::from_env(&env(&[])).unwrap();
    let ask = json!({"bucket": "media", "objects": [
        {"key": format!("users/{USER}/photo 1.png"), "method": "PUT", "content_type": "image/png",
         "content_length": 2048, "expires_in": 900},
        {"key": format!("users/{USER}/résumé.pdf"), "method": "GET", "download_name": "résumé \"v2\".pdf"},
        {"key": "public/logo.svg", "method": "GET"},
    ]});
    let r = run(&s, sign_request(Some(&jwt(USER)), &ask));
    assert_eq!(
        r.status.as_u16(),
        200,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(r.headers.get("cache-control"), Some("no-store"));
    let urls = body(&r)["urls"].as_array().unwrap().clone();
    assert_eq!(urls.len(), 3);
    let put = &urls[0];
    assert_eq!(put["method"], "PUT");
    assert_eq!(put["expires_at"], NOW + 900);
    let u = put["url"].as_str().unwrap();
    assert!(
        u.starts_with(&format!(
            "http://127.0.0.1:8333/media/users/{USER}/photo%201.png?"
        )),
        "{u}"
    );
    assert!(u.contains("X-Amz-Expires=900&"), "{u}");
    assert!(
        u.contains("X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost"),
        "{u}"
    );
    assert!(u.contains(
        "X-Amz-Credential=AKIAMEDIAEXAMPLE0000%2F20261130%2Fus-east-1%2Fs3%2Faws4_request"
    ));
    assert!(!u.contains("media-secret"), "the secret never appears");
    assert_eq!(
        put["headers"],
        json!({"content-length": "2048", "content-type": "image/png"})
    );
    // The default lifetime (300 s, under the rule's 900) and the download name, RFC 5987.
    assert_eq!(urls[1]["expires_at"], NOW + 300);
    // The header value, query-encoded once: %25 for each % of the RFC 5987 encoding.
    assert!(
        urls[1]["url"].as_str().unwrap().contains(
            "response-content-disposition=attachment%3B%20filename%3D%22r_sum_%20_v2_.pdf%22%3B%20filename%2A%3DUTF-8%27%27r%25C3%25A9sum%25C3%25A9%2520%2522v2%2522.pdf&"
        ),
        "{}",
        urls[1]["url"]
    );
    assert!(urls[1].get("headers").is_none());
}

#[test]
fn one_refused_object_signs_nothing_and_says_why() {
    let s = Sign::from_env(&env(&[])).unwrap();
    let other = "0b0b0b0b-1b2c-4d5e-8f90-0123456789ab";
    let ask = json!({"bucket": "media", "objects": [
        {"key": format!("users/{USER}/ok.png"), "method": "GET"},
        {"key": format!("users/{other}/theirs.png"), "method": "GET"},
        {"key": format!("users/{USER}/../{other}/x.png"), "method": "GET"},
        {"key": format!("users/{USER}/big.png"), "method": "PUT", "content_type": "image/png", "content_length": 2_000_000},
        {"key": format!("users/{USER}/page.html"), "method": "PUT", "content_type": "text/html", "content_length": 10},
        {"key": "public/a.png", "method": "DELETE"},
        {"key": format!("users/{USER}/long.png"), "method": "GET", "expires_in": 901},
    ]});
    let r = run(&s, sign_request(Some(&jwt(USER)), &ask));
    assert_eq!(
        r.status.as_u16(),
        403,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let b = body(&r);
    assert!(b.get("urls").is_none(), "nothing signed");
    let refused: Vec<(u64, &str, Value)> = b["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["index"].as_u64().unwrap(),
                o["error"].as_str().unwrap(),
                o["rule"].clone(),
            )
        })
        .collect();
    assert_eq!(
        refused,
        vec![
            (1, "no_rule", Value::Null),
            (2, "bad_key", Value::Null),
            (3, "size_not_allowed", json!(0)),
            (4, "content_type_not_allowed", json!(0)),
            (5, "method_not_allowed", json!(1)),
            (6, "expires_in_too_long", json!(0)),
        ]
    );
    assert!(
        b["refused"][0].get("rule").is_none() && b["refused"][1].get("rule").is_none(),
        "no rule decided: no `rule` member, as in /upload"
    );
    assert!(!String::from_utf8_lossy(&r.body).contains("X-Amz-Signature"));
}

#[test]
fn bad_requests_are_named() {
    let s = Sign::from_env(&env(&[])).unwrap();
    let token = jwt(USER);
    let many: Vec<Value> = (0..101)
        .map(|i| json!({"key": format!("public/{i}"), "method": "GET"}))
        .collect();
    for (ask, path) in [
        (
            json!({"objects": [{"key": "public/a", "method": "GET"}]}),
            "bucket",
        ),
        (json!({"bucket": "media", "objects": many}), "objects"),
        (json!({"bucket": "media", "objects": []}), "objects"),
        (
            json!({"bucket": "media", "objects": [{"key": "public/a", "method": "POST"}]}),
            "objects[0].method",
        ),
        (
            json!({"bucket": "media", "objects": [{"key": "public/a", "method": "GET", "download_name": ""}]}),
            "objects[0].download_name",
        ),
        (
            json!({"bucket": "media", "objects": [{"key": "public/a", "method": "GET", "content_type": "a/b"}]}),
            "objects[0].content_type",
        ),
        (
            json!({"bucket": "media", "objects": [{"key": "public/a", "method": "PUT", "content_type": "image/png;a=,text/html"}]}),
            "objects[0].content_type",
        ),
        (
            json!({"bucket": "media", "objects": [{"key": "public/a", "method": "GET", "expires_in": 0}]}),
            "objects[0].expires_in",
        ),
        (
            json!({"bucket": "media", "objects": [{"key": "public/a", "method": "GET", "colour": 1}]}),
            "objects[0].colour",
        ),
        (
            json!({"bucket": "media", "objects": [], "extra": 1}),
            "objects",
        ),
    ] {
        let r = run(&s, sign_request(Some(&token), &ask));
        assert_eq!(r.status.as_u16(), 400, "{ask}");
        let message = body(&r)["message"].as_str().unwrap().to_owned();
        assert!(message.starts_with(path), "{ask}: {message}");
    }
    let r = run(
        &s,
        sign_request(
            Some(&token),
            &json!({"bucket": "nope", "objects": [{"key": "public/a", "method": "GET"}]}),
        ),
    );
    assert_eq!(
        (r.status.as_u16(), body(&r)["refused"][0]["error"].as_str()),
        (403, Some("unknown_bucket"))
    );
}

#[test]
fn configuration_errors_name_the_variable_never_a_value() {
    let e = Sign::from_env(&env(&[("MEDIA_SECRET", "")])).unwrap_err();
    assert!(e.to_string().contains("MEDIA_SECRET"), "{e}");
    let e = Sign::from_env(&env(&[("PORTCULLIS_SIGN_POLICY", "{\"rulez\": []}")])).unwrap_err();
    assert!(e.to_string().contains("rulez"), "{e}");
    // Nothing prints a credential: not the function's Debug, not its credentials'.
    let s = Sign::from_env(&env(&[])).unwrap();
    let printed = format!("{s:?}");
    assert!(
        printed.contains("AKIAMEDIAEXAMPLE0000"),
        "the access key id is not secret"
    );
    assert!(!printed.contains("media-secret-access-key"), "{printed}");
    assert!(!printed.contains(SECRET), "{printed}");
    let s = Sign::from_env(&env(&[
        ("PORTCULLIS_SIGN_POLICY", STORAGE_POLICY),
        ("ANON_KEY", "anon-publishable-key"),
        ("SERVICE_KEY", "service-role-secret-key"),
    ]))
    .unwrap();
    let printed = format!("{s:?}");
    assert!(!printed.contains("service-role-secret-key"), "{printed}");
    assert!(printed.contains("/storage/v1"), "{printed}");
}

#[test]
fn download_names_follow_rfc_6266_and_5987() {
    assert_eq!(
        content_disposition("report.pdf"),
        "attachment; filename=\"report.pdf\""
    );
    assert_eq!(
        content_disposition("résumé \"v2\".pdf"),
        "attachment; filename=\"r_sum_ _v2_.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22v2%22.pdf"
    );
}

#[test]
fn a_token_exchanged_from_a_pat_signs_nothing_by_default() {
    let s = Sign::from_env(&env(&[])).unwrap();
    let ask = json!({"bucket": "media", "objects": [{"key": format!("users/{USER}/a.png"), "method": "GET"}]});
    let r = run(&s, sign_request(Some(&jwt_with(USER, "pat")), &ask));
    assert_eq!(r.status.as_u16(), 403);
    assert_eq!(body(&r)["refused"][0]["error"], "pat_token_not_allowed");
    let r = run(&s, sign_request(Some(&jwt_with(USER, "password")), &ask));
    assert_eq!(r.status.as_u16(), 200);
}

fn upload_request(token: &str, body: &Value) -> Request {
    Request::new(Method::Post, "/portcullis-sign/upload")
        .with_header("content-type", "application/json")
        .with_header("authorization", format!("Bearer {token}"))
        .with_body(body.to_string())
}

#[test]
fn an_upload_form_is_bounded_by_the_rule() {
    let s = Sign::from_env(&env(&[])).unwrap();
    let token = jwt(USER);
    // The rule's maximum bounds a form that asks none.
    let key = format!("users/{USER}/avatar.png");
    let r = run(
        &s,
        upload_request(
            &token,
            &json!({"bucket": "media", "key": key, "content_type": "image/png"}),
        ),
    );
    assert_eq!(
        r.status.as_u16(),
        200,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let b = body(&r);
    assert_eq!(b["url"], "http://127.0.0.1:8333/media");
    assert_eq!(b["max_size"], 1_048_576);
    assert_eq!(b["key"], key.as_str());
    assert_eq!(b["expires_at"], NOW + 300);
    let fields = b["fields"].as_object().unwrap();
    assert_eq!(fields["key"], key.as_str());
    assert_eq!(fields["Content-Type"], "image/png");
    assert_eq!(fields["x-amz-algorithm"], "AWS4-HMAC-SHA256");
    let policy = portcullis_core::encoding::base64_decode(fields["policy"].as_str().unwrap())
        .map(|p| String::from_utf8(p).unwrap())
        .unwrap();
    assert!(
        policy.contains(r#"["content-length-range", 0, 1048576]"#),
        "{policy}"
    );
    assert!(!b.to_string().contains("media-secret"));
    // A smaller maximum asked, and a prefix the rule covers.
    let r = run(
        &s,
        upload_request(
            &token,
            &json!({"bucket": "media", "prefix": format!("users/{USER}/inbox/"),
                    "content_type": "image/jpeg", "max_size": 5000, "expires_in": 60}),
        ),
    );
    assert_eq!(
        r.status.as_u16(),
        200,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let b = body(&r);
    assert_eq!(b["max_size"], 5000);
    assert_eq!(
        b["fields"]["key"],
        format!("users/{USER}/inbox/${{filename}}")
    );
    let policy = portcullis_core::encoding::base64_decode(b["fields"]["policy"].as_str().unwrap())
        .map(|p| String::from_utf8(p).unwrap())
        .unwrap();
    assert!(
        policy.contains(&format!(
            r#"["starts-with", "$key", "users/{USER}/inbox/"]"#
        )),
        "{policy}"
    );
}

#[test]
fn an_upload_form_is_refused_outside_the_rule() {
    let s = Sign::from_env(&env(&[])).unwrap();
    let token = jwt(USER);
    let own = format!("users/{USER}/a.png");
    for (ask, status, error, rule) in [
        (
            json!({"bucket": "media", "key": own, "content_type": "image/png", "max_size": 1_048_577}),
            403,
            "size_not_allowed",
            Some(0),
        ),
        (
            json!({"bucket": "media", "key": own, "content_type": "text/html"}),
            403,
            "content_type_not_allowed",
            Some(0),
        ),
        (
            json!({"bucket": "media", "key": own}),
            403,
            "content_type_not_allowed",
            Some(0),
        ),
        (
            json!({"bucket": "media", "key": "users/someone-else/a.png", "content_type": "image/png"}),
            403,
            "no_rule",
            None,
        ),
        (
            json!({"bucket": "media", "key": "public/a.png", "content_type": "image/png"}),
            403,
            "method_not_allowed",
            Some(1),
        ),
        (
            json!({"bucket": "media", "prefix": "users/", "content_type": "image/png"}),
            403,
            "no_rule",
            None,
        ),
        (
            json!({"bucket": "media", "prefix": format!("users/{USER}/../x/"), "content_type": "image/png"}),
            403,
            "bad_key",
            None,
        ),
        (
            json!({"bucket": "media", "key": own, "content_type": "image/png", "expires_in": 901}),
            403,
            "expires_in_too_long",
            Some(0),
        ),
        (
            json!({"bucket": "other", "key": own}),
            403,
            "unknown_bucket",
            None,
        ),
    ] {
        let r = run(&s, upload_request(&token, &ask));
        let b = body(&r);
        assert_eq!(r.status.as_u16(), status, "{ask}: {b}");
        assert_eq!(b["error"], "refused", "{ask}");
        assert_eq!(b["refused"][0]["error"], error, "{ask}");
        assert_eq!(b["refused"][0]["rule"].as_u64(), rule, "{ask}");
        assert!(b.get("url").is_none());
    }
    for (ask, path) in [
        (
            json!({"bucket": "media", "key": own, "prefix": "users/"}),
            "key",
        ),
        (json!({"bucket": "media"}), "key"),
        (
            json!({"bucket": "media", "prefix": format!("users/{USER}")}),
            "prefix",
        ),
        (
            json!({"bucket": "media", "key": own, "max_size": "big"}),
            "max_size",
        ),
        (json!({"bucket": "media", "key": own, "extra": 1}), "extra"),
    ] {
        let r = run(&s, upload_request(&token, &ask));
        let b = body(&r);
        assert_eq!(
            (r.status.as_u16(), b["error"].as_str()),
            (400, Some("invalid_request")),
            "{ask}: {b}"
        );
        assert!(b["message"].as_str().unwrap().contains(path), "{ask}: {b}");
    }
}

#[test]
fn an_upload_form_needs_a_bound_and_a_backend_that_takes_forms() {
    let policy = r#"{
      "buckets": {
        "r2": {"backend": "r2", "endpoint": "https://acct.r2.cloudflarestorage.com",
               "access_key_id_env": "MEDIA_KEY", "secret_env": "MEDIA_SECRET"},
        "open": {"backend": "minio", "endpoint": "http://127.0.0.1:8333",
                 "access_key_id_env": "MEDIA_KEY", "secret_env": "MEDIA_SECRET"}
      },
      "rules": [
        {"bucket": "r2", "path": "users/{sub}/**", "methods": ["PUT"], "max_size": 1000},
        {"bucket": "open", "path": "users/{sub}/**", "methods": ["PUT"]}
      ]
    }"#;
    let s = Sign::from_env(&env(&[("PORTCULLIS_SIGN_POLICY", policy)])).unwrap();
    let token = jwt(USER);
    let key = format!("users/{USER}/a.bin");
    let r = run(
        &s,
        upload_request(&token, &json!({"bucket": "r2", "key": key})),
    );
    let b = body(&r);
    assert_eq!(
        (r.status.as_u16(), b["error"].as_str()),
        (400, Some("not_supported")),
        "{b}"
    );
    assert!(b["message"].as_str().unwrap().contains("R2"));
    let r = run(
        &s,
        upload_request(&token, &json!({"bucket": "open", "key": key})),
    );
    let b = body(&r);
    assert_eq!(r.status.as_u16(), 400, "{b}");
    assert!(b["message"].as_str().unwrap().contains("max_size"), "{b}");
    let r = run(
        &s,
        upload_request(
            &token,
            &json!({"bucket": "open", "key": key, "max_size": 10}),
        ),
    );
    assert_eq!(
        r.status.as_u16(),
        200,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    // A MinIO bucket without put_urls: forms yes (above), PUT URLs no (a PUT URL could carry an
    // unsigned x-amz-copy-source there); GETs are untouched.
    let ask =
        json!({"bucket": "open", "objects": [{"key": key, "method": "PUT", "content_length": 5}]});
    let r = run(&s, sign_request(Some(&token), &ask));
    let b = body(&r);
    assert_eq!(
        (r.status.as_u16(), b["error"].as_str()),
        (400, Some("not_supported")),
        "{b}"
    );
    assert!(b["message"].as_str().unwrap().contains("put_urls"), "{b}");
}

#[test]
fn browsers_from_listed_origins_only() {
    let s = Sign::from_env(&env(&[("PORTCULLIS_CORS_ORIGINS", "https://app.example")])).unwrap();
    let pre = |origin: &str| {
        Request::new(Method::Options, "/portcullis-sign/sign")
            .with_header("origin", origin.to_owned())
    };
    let r = run(&s, pre("https://app.example"));
    assert_eq!(r.status.as_u16(), 204);
    assert_eq!(
        r.headers.get("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(
        r.headers.get("access-control-allow-methods"),
        Some("POST, OPTIONS")
    );
    assert_eq!(run(&s, pre("https://evil.example")).status.as_u16(), 403);
    let ask = json!({"bucket": "media", "objects": [{"key": "public/a.png", "method": "GET"}]});
    let r = run(
        &s,
        sign_request(Some(&jwt(USER)), &ask).with_header("origin", "https://app.example"),
    );
    assert_eq!(r.status.as_u16(), 200);
    assert_eq!(
        r.headers.get("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(r.headers.get("vary"), Some("origin"));
    // Errors carry them too, so the page can read why.
    let r = run(
        &s,
        sign_request(None, &ask).with_header("origin", "https://app.example"),
    );
    assert_eq!(r.status.as_u16(), 401);
    assert_eq!(
        r.headers.get("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert!(Sign::from_env(&env(&[("PORTCULLIS_CORS_ORIGINS", "*")])).is_err());
}

/// Supabase Storage as the tests need it: records each request and answers from a script.
struct Storage {
    seen: std::cell::RefCell<Vec<portcullis_core::OutboundRequest>>,
    answer: fn(&portcullis_core::OutboundRequest) -> portcullis_core::OutboundResponse,
}

impl portcullis_core::Outbound for Storage {
    async fn send(
        &self,
        request: portcullis_core::OutboundRequest,
    ) -> Result<portcullis_core::OutboundResponse, portcullis_core::OutboundError> {
        let answer = (self.answer)(&request);
        self.seen.borrow_mut().push(request);
        Ok(answer)
    }
    async fn wait(&self, _ms: u32) {}
}

const STORAGE_POLICY: &str = r#"{
  "buckets": {
    "avatars": {"backend": "supabase", "auth": "user", "apikey_env": "ANON_KEY"},
    "vault": {"backend": "supabase", "auth": "service", "apikey_env": "SERVICE_KEY",
              "endpoint": "http://127.0.0.1:54321"}
  },
  "rules": [
    {"bucket": "avatars", "path": "users/{sub}/**", "methods": ["GET", "PUT"], "max_expires_in": 7200},
    {"bucket": "vault", "path": "users/{sub}/**", "methods": ["GET"]}
  ]
}"#;

fn run_with(s: &Sign, req: Request, storage: &Storage) -> Response {
    run_logged(s, req, storage, &Logs::default())
}

#[derive(Default)]
struct Logs(std::cell::RefCell<Vec<String>>);
impl portcullis_service::Log for Logs {
    fn log(&self, _level: portcullis_service::Level, code: &str, message: &str) {
        self.0.borrow_mut().push(format!("{code}: {message}"));
    }
}

fn run_logged(s: &Sign, req: Request, storage: &Storage, logs: &Logs) -> Response {
    let clock = FixedClock(UnixTime::from_secs(NOW));
    let ctx = Context {
        clock: &clock,
        random: &Zeros,
        crypto: &RustCrypto,
        db: &NoDb,
        http: storage,
        log: logs,
    };
    block_on(s.handle(&ctx, req))
}

/// `%XX` decoded (the paths we send are UTF-8 encoded once).
fn decoded(path: &str) -> String {
    let b = path.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(u8::from_str_radix(&path[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn storage_answers(r: &portcullis_core::OutboundRequest) -> portcullis_core::OutboundResponse {
    let path = r.url.split_once("/storage/v1").map_or("", |(_, p)| p);
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    let answer = if let Some(one) = path.strip_prefix("/object/upload/sign/") {
        // Storage writes the paths back decoded (single) or as asked (batch), never encoded.
        let one = decoded(one);
        json!({"url": format!("/object/upload/sign/{one}?token=up"), "token": "up"})
    } else if let Some(one) = path
        .strip_prefix("/object/sign/")
        .filter(|p| p.contains('/'))
    {
        if one.contains("missing") {
            return portcullis_core::OutboundResponse::new(
                400,
                r#"{"statusCode":"404","error":"not_found","message":"Object not found"}"#,
            );
        }
        let one = decoded(one);
        json!({"signedURL": format!("/object/sign/{one}?token=dl")})
    } else {
        let bucket = path.trim_start_matches("/object/sign/");
        Value::Array(
            body["paths"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    let p = p.as_str().unwrap();
                    if p.contains("gone") {
                        json!({"error": "Either the object does not exist or you do not have access to it", "path": p, "signedURL": null})
                    } else {
                        json!({"error": null, "path": p, "signedURL": format!("/object/sign/{bucket}/{p}?token=b")})
                    }
                })
                .collect(),
        )
    };
    portcullis_core::OutboundResponse::new(200, answer.to_string())
}

#[test]
fn supabase_storage_signs_with_the_users_jwt_or_the_service_key() {
    let s = Sign::from_env(&env(&[
        ("PORTCULLIS_SIGN_POLICY", STORAGE_POLICY),
        ("ANON_KEY", "anon-publishable-key"),
        ("SERVICE_KEY", "service-role-secret-key"),
    ]))
    .unwrap();
    let storage = Storage {
        seen: Default::default(),
        answer: storage_answers,
    };
    let token = jwt(USER);
    let me = format!("users/{USER}");
    let ask = json!({"bucket": "avatars", "objects": [
        {"key": format!("{me}/a b#?token=x.png"), "method": "GET", "expires_in": 60},
        {"key": format!("{me}/c.png"), "method": "GET", "expires_in": 60, "download_name": "Ä.png"},
        {"key": format!("{me}/d é.png"), "method": "GET", "expires_in": 120},
        {"key": format!("{me}/new #1.png"), "method": "PUT"},
    ]});
    let r = run_with(&s, sign_request(Some(&token), &ask), &storage);
    assert_eq!(
        r.status.as_u16(),
        200,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let seen = storage.seen.take();
    let calls: Vec<(String, String)> = seen
        .iter()
        .map(|r| (r.url.clone(), String::from_utf8(r.body.clone()).unwrap()))
        .collect();
    let base = format!("{URL}/storage/v1");
    assert_eq!(
        calls,
        vec![
            (
                format!("{base}/object/upload/sign/avatars/{me}/new%20%231.png"),
                "{}".to_owned()
            ),
            (
                format!("{base}/object/sign/avatars"),
                json!({"expiresIn": 60, "paths": [format!("{me}/a b#?token=x.png"), format!("{me}/c.png")]})
                    .to_string()
            ),
            (
                format!("{base}/object/sign/avatars/{me}/d%20%C3%A9.png"),
                r#"{"expiresIn":120}"#.to_owned()
            ),
        ]
    );
    for r in &seen {
        assert_eq!(r.method, "POST");
        let h: std::collections::BTreeMap<_, _> = r.headers.iter().cloned().collect();
        assert_eq!(h["apikey"], "anon-publishable-key");
        assert_eq!(
            h["authorization"],
            format!("Bearer {token}"),
            "the user's own JWT"
        );
        assert_eq!(h["content-type"], "application/json");
    }
    let urls = body(&r)["urls"].as_array().unwrap().clone();
    assert_eq!(
        urls.iter()
            .map(|u| u["url"].as_str().unwrap())
            .collect::<Vec<_>>(),
        vec![
            format!("{base}/object/sign/avatars/{me}/a%20b%23%3Ftoken%3Dx.png?token=b"),
            format!("{base}/object/sign/avatars/{me}/c.png?token=b&download=%C3%84.png"),
            format!("{base}/object/sign/avatars/{me}/d%20%C3%A9.png?token=dl"),
            format!("{base}/object/upload/sign/avatars/{me}/new%20%231.png?token=up"),
        ]
    );
    assert_eq!(
        urls.iter()
            .map(|u| u["expires_at"].as_i64().unwrap() - NOW)
            .collect::<Vec<_>>(),
        vec![60, 60, 120, 7200],
        "Storage's upload URLs last two hours"
    );

    // The service key bucket: the key is the bearer, never the user's JWT.
    let ask = json!({"bucket": "vault", "objects": [{"key": format!("{me}/x"), "method": "GET"}]});
    let r = run_with(&s, sign_request(Some(&token), &ask), &storage);
    assert_eq!(
        r.status.as_u16(),
        200,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let seen = storage.seen.take();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].url,
        format!("http://127.0.0.1:54321/storage/v1/object/sign/vault/{me}/x")
    );
    let h: std::collections::BTreeMap<_, _> = seen[0].headers.iter().cloned().collect();
    assert_eq!(h["apikey"], "service-role-secret-key");
    assert_eq!(h["authorization"], "Bearer service-role-secret-key");
    assert!(
        !String::from_utf8_lossy(&r.body).contains("service-role"),
        "the key never leaves"
    );

    // Our policy first: a refused object makes no call at all.
    let ask = json!({"bucket": "vault", "objects": [{"key": "users/other/x", "method": "GET"}]});
    let r = run_with(&s, sign_request(Some(&token), &ask), &storage);
    assert_eq!(r.status.as_u16(), 403);
    assert!(storage.seen.take().is_empty());

    // Storage's refusals (RLS, a missing object) sign nothing and name the objects.
    let ask = json!({"bucket": "avatars", "objects": [
        {"key": format!("{me}/missing.png"), "method": "GET"},
        {"key": format!("{me}/ok.png"), "method": "PUT"},
    ]});
    let logs = Logs::default();
    let r = run_logged(&s, sign_request(Some(&token), &ask), &storage, &logs);
    assert_eq!(
        r.status.as_u16(),
        403,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(
        logs.0.take(),
        vec!["storage_refused: Supabase Storage answered 400 (404 not_found)".to_owned()],
        "Storage's own code, for the operator"
    );
    let b = body(&r);
    assert_eq!(
        b["refused"],
        json!([{"index": 0, "key": format!("{me}/missing.png"), "error": "storage_refused"}])
    );
    assert!(b.get("urls").is_none());
    let ask = json!({"bucket": "avatars", "objects": [
        {"key": format!("{me}/gone.png"), "method": "GET"},
        {"key": format!("{me}/here.png"), "method": "GET"},
    ]});
    let r = run_with(&s, sign_request(Some(&token), &ask), &storage);
    assert_eq!(r.status.as_u16(), 403);
    assert_eq!(
        body(&r)["refused"],
        json!([{"index": 0, "key": format!("{me}/gone.png"), "error": "storage_refused"}]),
        "only the object Storage refused"
    );

    // At most 10 Storage calls per request, refused before any is made.
    storage.seen.take();
    let eleven: Vec<Value> = (0..11)
        .map(|i| json!({"key": format!("{me}/{i}.png"), "method": "PUT"}))
        .collect();
    let ask = json!({"bucket": "avatars", "objects": eleven});
    let r = run_with(&s, sign_request(Some(&token), &ask), &storage);
    assert_eq!(
        (r.status.as_u16(), body(&r)["error"].as_str()),
        (400, Some("invalid_request"))
    );
    assert!(storage.seen.take().is_empty());
    let ten: Vec<Value> = (0..10)
        .map(|i| json!({"key": format!("{me}/{i}.png"), "method": "PUT"}))
        .collect();
    let ask = json!({"bucket": "avatars", "objects": ten});
    let r = run_with(&s, sign_request(Some(&token), &ask), &storage);
    assert_eq!(r.status.as_u16(), 200);
    assert_eq!(storage.seen.take().len(), 10);

    // Storage's URLs bind no content type or length: asking for one is an error, not a
    // promise silently dropped.
    storage.seen.take();
    for extra in [
        json!({"content_type": "image/png"}),
        json!({"content_length": 5}),
    ] {
        let mut o = json!({"key": format!("{me}/n.png"), "method": "PUT"});
        o.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let ask = json!({"bucket": "avatars", "objects": [o]});
        let r = run_with(&s, sign_request(Some(&token), &ask), &storage);
        assert_eq!(
            (r.status.as_u16(), body(&r)["error"].as_str()),
            (400, Some("invalid_request")),
            "{extra}"
        );
    }
    assert!(storage.seen.take().is_empty());

    // An upload asks Storage's fixed lifetime or none; no forms, no DELETE rules.
    let ask = json!({"bucket": "avatars", "objects": [{"key": format!("{me}/n.png"), "method": "PUT", "expires_in": 60}]});
    let r = run_with(&s, sign_request(Some(&token), &ask), &storage);
    assert_eq!(r.status.as_u16(), 400);
    assert!(body(&r)["message"].as_str().unwrap().contains("7200"));
    let r = run_with(
        &s,
        upload_request(
            &token,
            &json!({"bucket": "avatars", "key": format!("{me}/n.png"), "max_size": 5}),
        ),
        &storage,
    );
    assert_eq!(
        (r.status.as_u16(), body(&r)["error"].as_str()),
        (400, Some("not_supported"))
    );
}

#[test]
fn supabase_storage_failures_are_a_bad_gateway() {
    let s = Sign::from_env(&env(&[
        ("PORTCULLIS_SIGN_POLICY", STORAGE_POLICY),
        ("ANON_KEY", "anon-publishable-key"),
        ("SERVICE_KEY", "service-role-secret-key"),
    ]))
    .unwrap();
    let ask = json!({"bucket": "avatars", "objects": [{"key": format!("users/{USER}/a"), "method": "GET"}]});
    for answer in [
        (|_: &portcullis_core::OutboundRequest| portcullis_core::OutboundResponse::new(503, "down"))
            as fn(&portcullis_core::OutboundRequest) -> portcullis_core::OutboundResponse,
        |_| portcullis_core::OutboundResponse::new(200, "not json"),
        |_| portcullis_core::OutboundResponse::new(302, ""),
        |_| portcullis_core::OutboundResponse::new(429, "slow down"),
        |_| portcullis_core::OutboundResponse::new(101, ""),
        |_| {
            portcullis_core::OutboundResponse::new(
                200,
                r#"{"signedURL": "https://evil.example/x?token=1"}"#,
            )
        },
        |_| portcullis_core::OutboundResponse::new(200, "{}"),
        |_| {
            portcullis_core::OutboundResponse::new(200, r#"{"signedURL": "/object/sign/a?token="}"#)
        },
        |_| {
            portcullis_core::OutboundResponse::new(
                200,
                r#"{"signedURL": "/object/sign/a?token=x%22%3E&b"}"#,
            )
        },
        |_| portcullis_core::OutboundResponse::new(200, r#"{"signedURL": "/object/sign/a"}"#),
    ] {
        let storage = Storage {
            seen: Default::default(),
            answer,
        };
        let r = run_with(&s, sign_request(Some(&jwt(USER)), &ask), &storage);
        assert_eq!(
            (r.status.as_u16(), body(&r)["error"].as_str()),
            (502, Some("storage_unavailable")),
            "{}",
            String::from_utf8_lossy(&r.body)
        );
        assert!(!String::from_utf8_lossy(&r.body).contains("evil"));
    }
}

#[test]
fn supabase_buckets_are_configured_explicitly() {
    for (policy, says) in [
        (
            r#"{"buckets": {"b": {"backend": "supabase", "apikey_env": "K"}}, "rules": []}"#,
            "auth",
        ),
        (
            r#"{"buckets": {"b": {"backend": "supabase", "auth": "user"}}, "rules": []}"#,
            "apikey_env",
        ),
        (
            r#"{"buckets": {"b": {"backend": "supabase", "auth": "root", "apikey_env": "K"}}, "rules": []}"#,
            "auth",
        ),
        (
            r#"{"buckets": {"b": {"backend": "supabase", "auth": "user", "apikey_env": "K", "access_key_id_env": "A", "secret_env": "S"}}, "rules": []}"#,
            "access_key_id_env",
        ),
        (
            r#"{"buckets": {"b": {"backend": "minio", "endpoint": "http://127.0.0.1:1", "access_key_id_env": "A", "secret_env": "S", "auth": "user"}}, "rules": []}"#,
            "auth",
        ),
        (
            r#"{"buckets": {"b": {"backend": "supabase", "auth": "user", "apikey_env": "K"}}, "rules": [{"bucket": "b", "path": "**", "methods": ["DELETE"]}]}"#,
            "methods",
        ),
        (
            r#"{"buckets": {"b": {"backend": "supabase", "auth": "user", "apikey_env": "K"}}, "rules": [{"bucket": "b", "path": "**", "methods": ["PUT"], "max_expires_in": 7200, "max_size": 10}]}"#,
            "file_size_limit",
        ),
        (
            r#"{"buckets": {"b": {"backend": "supabase", "auth": "user", "apikey_env": "K"}}, "rules": [{"bucket": "b", "path": "**", "methods": ["PUT"]}]}"#,
            "7200",
        ),
    ] {
        let e = Sign::from_env(&env(&[("PORTCULLIS_SIGN_POLICY", policy), ("K", "k")]))
            .err()
            .unwrap_or_else(|| panic!("accepted: {policy}"))
            .to_string();
        assert!(e.contains(says), "{policy}: {e}");
    }
}
