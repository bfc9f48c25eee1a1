//! The sign function's service layer (contract: `specs/signed-urls.md`; issue 9).
//!
//! `POST /sign` `{"bucket", "objects": [{"key", "method", "expires_in"?, "content_type"?,
//! "content_length"?, "download_name"?}]}` → `{"urls": [{"key", "method", "url", "expires_at",
//! "headers"?}]}`, authorised by the user's Supabase JWT (`portcullis_service::auth`) and the
//! policy (`portcullis_sign::policy`, first match). A batch is all or none: when any object is
//! refused, the answer names each refused object and the rule that refused it, and nothing is
//! signed. URLs are signed synchronously in Wasm (no host round trip per HMAC).
//!
//! Storage credentials come from the environment variables the policy names, read once at
//! start-up; they never appear in an answer or a log line.

use std::fmt::Write as _;

use portcullis_core::json::{JsonError, Strict, Value};
use portcullis_core::{
    ConfigError, Db, Env, Outbound, OutboundRequest, OutboundResponse, Secret, check_base_url,
};
use portcullis_jwt::project::Project;
use portcullis_service::auth::{AuthError, authenticate};
use portcullis_service::cors::{Cors, ENV_CORS_ORIGINS};
use portcullis_service::join::join_all;
use portcullis_service::{
    Context, Function, Level, Log, Method as HttpMethod, Request, Response, Status, error_response,
    json_response, route,
};
use portcullis_sign::key::ObjectKey;
use portcullis_sign::policy::{
    Ask, Asker, Backend, Bucket, Policy, STORAGE_UPLOAD_EXPIRES, StorageAuth, strict_media_type,
};
use portcullis_sign::post::{PostKey, PostPolicy, presign_post};
use portcullis_sign::sigv4::uri_encode;
use portcullis_sign::sigv4::{Credentials, Method, Presign, SignError, Signer};
use serde::Serialize;
use serde_json::json;

/// The policy (JSON; the CLI compiles the TOML form): buckets and rules.
pub const ENV_POLICY: &str = "PORTCULLIS_SIGN_POLICY";
/// Objects per `POST /sign`.
pub const MAX_OBJECTS: usize = 100;
/// Largest request body.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// The function.
#[derive(Debug)]
pub struct Sign {
    project: Project,
    policy: Policy,
    /// Per bucket (same order as the policy's), how its URLs are signed.
    access: Vec<Access>,
    /// Browser origins allowed (`PORTCULLIS_CORS_ORIGINS`).
    cors: Cors,
}

/// How one bucket's URLs are made.
#[derive(Debug)]
enum Access {
    /// Signed here (SigV4) with these credentials.
    Sigv4(Credentials),
    /// Asked of Supabase Storage (spec §2) at `base` (`…/storage/v1`).
    Storage {
        base: String,
        auth: StorageAuth,
        apikey: Secret<String>,
    },
}

/// How long a call to Storage may take.
const STORAGE_TIMEOUT_MS: u32 = 10_000;

fn read_secret(env: &dyn Env, name: &str) -> Result<String, ConfigError> {
    env.var(name)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ConfigError::invalid(name, "required by PORTCULLIS_SIGN_POLICY"))
}

impl Sign {
    fn from_config(env: &dyn Env) -> Result<Self, ConfigError> {
        let project = Project::from_env(env)?;
        let text = env.required(ENV_POLICY)?;
        let policy = Policy::from_json(&text)
            .map_err(|e| ConfigError::invalid(ENV_POLICY, e.to_string()))?;
        let mut access = Vec::new();
        for b in &policy.buckets {
            if let Some((auth, key_env)) = &b.storage {
                let base = if b.host.is_empty() {
                    format!("{}/storage/v1", project.url)
                } else {
                    format!("{}://{}/storage/v1", b.scheme, b.host)
                };
                check_base_url(&base).map_err(|e| {
                    ConfigError::invalid(ENV_POLICY, format!("buckets.{}.endpoint: {e}", b.name))
                })?;
                access.push(Access::Storage {
                    base,
                    auth: *auth,
                    apikey: Secret::new(read_secret(env, key_env)?),
                });
                continue;
            }
            access.push(Access::Sigv4(Credentials {
                access_key_id: read_secret(env, &b.access_key_id_env)?,
                secret: Secret::new(read_secret(env, &b.secret_env)?),
                session_token: b
                    .session_token_env
                    .as_deref()
                    .map(|n| read_secret(env, n))
                    .transpose()?,
            }));
        }
        Ok(Self {
            project,
            policy,
            access,
            cors: Cors::from_env(env, ENV_CORS_ORIGINS, "POST, OPTIONS")?,
        })
    }
}

/// One object asked for, read from the body.
struct Object<'a> {
    key: &'a str,
    method: Method,
    expires_in: Option<u32>,
    content_type: Option<&'a str>,
    content_length: Option<u64>,
    download_name: Option<&'a str>,
}

enum Failure {
    Auth(AuthError),
    NotFound,
    MethodNotAllowed,
    BadRequest(String),
    /// The bucket's backend cannot do this.
    Unsupported(&'static str),
    /// Supabase Storage did not answer, or not as documented.
    StorageUnavailable,
    /// Objects refused: `[{index, key, error, message, rule?}]`.
    Refused(Vec<Value>),
    /// Our fault (a clock out of range, a configuration the policy should have refused):
    /// logged, answered 500 without detail.
    Internal(String),
}

impl From<SignError> for Failure {
    fn from(e: SignError) -> Self {
        match e {
            // What the client asked (the policy checks these first; kept as the last guard).
            SignError::Expires | SignError::SizeRange | SignError::Prefix => {
                Self::BadRequest(e.to_string())
            }
            SignError::Time | SignError::HeaderName | SignError::SessionToken => {
                Self::Internal(e.to_string())
            }
        }
    }
}

impl From<AuthError> for Failure {
    fn from(e: AuthError) -> Self {
        Self::Auth(e)
    }
}

impl From<JsonError> for Failure {
    fn from(e: JsonError) -> Self {
        Self::BadRequest(e.to_string())
    }
}

impl Failure {
    fn into_response(self, log: &dyn Log) -> Response {
        match self {
            Self::Auth(e) => e.into_response(log),
            Self::NotFound => error_response(Status::NOT_FOUND, "not_found", "no such route"),
            Self::MethodNotAllowed => {
                let mut r = error_response(
                    Status::METHOD_NOT_ALLOWED,
                    "method_not_allowed",
                    "this route takes POST",
                );
                r.headers.append_static("allow", "POST");
                r
            }
            Self::BadRequest(message) => {
                error_response(Status::BAD_REQUEST, "invalid_request", &message)
            }
            Self::Unsupported(message) => {
                error_response(Status::BAD_REQUEST, "not_supported", message)
            }
            Self::StorageUnavailable => error_response(
                Status::BAD_GATEWAY,
                "storage_unavailable",
                "Supabase Storage did not sign the objects; try again",
            ),
            Self::Internal(detail) => {
                log.log(Level::Error, "sign_failed", &detail);
                error_response(
                    Status::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "the function failed to process the request",
                )
            }
            Self::Refused(objects) => json_response(
                Status::FORBIDDEN,
                &json!({
                    "error": "refused",
                    "message": "some objects are not allowed; nothing was signed",
                    "refused": objects,
                }),
            ),
        }
    }
}

fn unseen(c: char) -> bool {
    portcullis_sign::key::unseen(c)
}

/// An asked lifetime: 1 second or more (the rule bounds it from above).
fn expires_in(v: u64, path: &str) -> Result<u32, JsonError> {
    match u32::try_from(v) {
        Ok(0) => Err(JsonError::new(path, "at least 1 second")),
        Ok(n) => Ok(n),
        Err(_) => Err(JsonError::new(path, "too large")),
    }
}

fn read_object<'a>(value: &'a Value, path: &str) -> Result<Object<'a>, JsonError> {
    let mut s = Strict::new(value, path)?;
    let key_path = s.path_of("key");
    let key = s
        .str("key")?
        .ok_or_else(|| JsonError::new(&key_path, "required"))?;
    let method_path = s.path_of("method");
    let method = s
        .str("method")?
        .and_then(Method::parse)
        .ok_or_else(|| JsonError::new(&method_path, "GET, HEAD, PUT or DELETE"))?;
    let expires_path = s.path_of("expires_in");
    let expires_in = s
        .u64("expires_in")?
        .map(|v| expires_in(v, &expires_path))
        .transpose()?;
    let content_type = s.str("content_type")?;
    let content_length = s.u64("content_length")?;
    let name_path = s.path_of("download_name");
    let download_name = s.str("download_name")?;
    if download_name.is_some_and(|n| n.is_empty() || n.len() > 255 || n.chars().any(unseen)) {
        return Err(JsonError::new(
            name_path,
            "1 to 255 bytes, no control characters",
        ));
    }
    if download_name.is_some() && method != Method::Get {
        return Err(JsonError::new(name_path, "only for GET"));
    }
    if (content_type.is_some() || content_length.is_some()) && method != Method::Put {
        return Err(JsonError::new(
            s.path_of("content_type"),
            "content_type and content_length are for PUT",
        ));
    }
    if content_type.is_some_and(|t| strict_media_type(t).is_none()) {
        return Err(JsonError::new(
            s.path_of("content_type"),
            "one media type: type/subtype, optional ; name=value parameters of token characters",
        ));
    }
    s.finish()?;
    Ok(Object {
        key,
        method,
        expires_in,
        content_type,
        content_length,
        download_name,
    })
}

/// `Content-Disposition: attachment` for a download name (RFC 6266; RFC 5987 `filename*` for
/// anything beyond plain ASCII, with an ASCII fallback).
#[must_use]
pub fn content_disposition(name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut out = format!("attachment; filename=\"{fallback}\"");
    if fallback != name {
        out.push_str("; filename*=UTF-8''");
        for &b in name.as_bytes() {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                out.push(char::from(b));
            } else {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

impl Sign {
    async fn answer<D: Db, H: Outbound>(
        &self,
        ctx: &Context<'_, D, H>,
        request: &Request,
    ) -> Result<Response, Failure> {
        let path = route(request.path(), Self::NAME);
        if !matches!(path, "/sign" | "/upload") {
            return Err(Failure::NotFound);
        }
        if request.method != HttpMethod::Post {
            return Err(Failure::MethodNotAllowed);
        }
        let claims = authenticate(&self.project.verifier, ctx, request).await?;
        let payload: Value = serde_json::from_str(&claims.payload)
            .map_err(|_| Failure::Auth(AuthError::Refused(portcullis_jwt::Refusal::Malformed)))?;
        let asker = Asker {
            claims: &payload,
            role: &claims.role,
            aal: claims.aal.as_deref(),
            from_pat: claims.amr.iter().any(|m| m == "pat"),
            anonymous: payload.get("is_anonymous") == Some(&Value::Bool(true)),
        };
        let body: Value = serde_json::from_slice(&request.body)
            .map_err(|_| Failure::BadRequest("the body is not JSON".into()))?;
        let now = ctx.clock.now().secs();
        if path == "/upload" {
            return self.upload(&body, &asker, now);
        }
        let token = request.bearer().unwrap_or_default();
        self.sign(ctx, &body, &asker, token, now).await
    }

    /// A bucket of the policy and how its URLs are made.
    fn bucket(&self, name: &str) -> Option<(&Bucket, &Access)> {
        let at = self.policy.buckets.iter().position(|b| b.name == name)?;
        Some((self.policy.buckets.get(at)?, self.access.get(at)?))
    }

    /// `POST /sign`.
    async fn sign<D: Db, H: Outbound>(
        &self,
        ctx: &Context<'_, D, H>,
        body: &Value,
        asker: &Asker<'_>,
        token: &str,
        now: i64,
    ) -> Result<Response, Failure> {
        let mut s = Strict::new(body, "")?;
        let bucket_path = s.path_of("bucket");
        let bucket_name = s
            .str("bucket")?
            .ok_or_else(|| Failure::BadRequest(format!("{bucket_path}: required")))?;
        let objects_path = s.path_of("objects");
        let items = s.array("objects")?;
        if items.is_empty() || items.len() > MAX_OBJECTS {
            return Err(Failure::BadRequest(format!(
                "{objects_path}: 1 to {MAX_OBJECTS} objects"
            )));
        }
        let objects = items
            .iter()
            .enumerate()
            .map(|(i, v)| read_object(v, &format!("{objects_path}[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        s.finish()?;
        let (bucket, access) = self.bucket(bucket_name).unzip();
        let storage = matches!(access, Some(Access::Storage { .. }));
        // Every object is checked before any is signed: all or none.
        let mut refused = Vec::new();
        let mut granted = Vec::new();
        for (index, o) in objects.iter().enumerate() {
            if o.method == Method::Put && bucket.is_some_and(|b| !b.put_urls) {
                return Err(Failure::Unsupported(
                    "PUT URLs are off for this bucket (put_urls): upload with a POST form (/upload), \
                     or set put_urls = true once the server is known to refuse an unsigned x-amz-copy-source",
                ));
            }
            if storage && (o.content_type.is_some() || o.content_length.is_some()) {
                return Err(Failure::BadRequest(format!(
                    "objects[{index}]: Supabase Storage's signed URLs bind no content_type or content_length"
                )));
            }
            let key = match ObjectKey::parse(o.key) {
                Ok(k) => k,
                Err(e) => {
                    refused.push(refusal(
                        Some(index),
                        o.key,
                        "bad_key",
                        None,
                        Some(e.to_string()),
                    ));
                    continue;
                }
            };
            // Storage's upload URLs last 7200 s, whatever is asked: that is what is decided.
            let expires_in = if storage && o.method == Method::Put {
                if o.expires_in.is_some_and(|e| e != STORAGE_UPLOAD_EXPIRES) {
                    return Err(Failure::BadRequest(format!(
                        "objects[{index}].expires_in: Supabase Storage upload URLs last {STORAGE_UPLOAD_EXPIRES} s"
                    )));
                }
                Some(STORAGE_UPLOAD_EXPIRES)
            } else {
                o.expires_in
            };
            let ask = Ask {
                bucket: bucket_name,
                key: &key,
                method: o.method,
                expires_in,
                content_type: o.content_type,
                content_length: o.content_length,
                under: false,
            };
            match self.policy.decide(&ask, asker) {
                Ok(grant) => granted.push((key, grant.expires_in)),
                Err(r) => refused.push(refusal(Some(index), o.key, r.reason.code(), r.rule, None)),
            }
        }
        if !refused.is_empty() {
            return Err(Failure::Refused(refused));
        }
        let (Some(bucket), Some(access)) = (bucket, access) else {
            return Err(Failure::BadRequest("no such bucket".into()));
        };
        let creds = match access {
            Access::Sigv4(creds) => creds,
            Access::Storage { base, auth, apikey } => {
                let calls = StorageCalls {
                    base,
                    auth: *auth,
                    apikey,
                    token,
                    bucket: &bucket.name,
                };
                return calls.sign(ctx, &objects, &granted, now).await;
            }
        };
        let mut signer = Signer::with_algorithm(creds, bucket.algorithm);
        let mut urls = Vec::with_capacity(granted.len());
        for (o, (key, expires_in)) in objects.iter().zip(&granted) {
            let length = o.content_length.map(|n| n.to_string());
            let mut headers: Vec<(&str, &str)> = Vec::new();
            if let Some(t) = o.content_type {
                headers.push(("content-type", t));
            }
            if let Some(n) = &length {
                headers.push(("content-length", n));
            }
            let disposition = o.download_name.map(content_disposition);
            let query: Vec<(&str, &str)> = disposition
                .as_deref()
                .map(|d| vec![("response-content-disposition", d)])
                .unwrap_or_default();
            let signed = signer
                .presign(&Presign {
                    method: o.method,
                    scheme: &bucket.scheme,
                    host: &bucket.host,
                    bucket: &bucket.name,
                    key,
                    style: bucket.style,
                    region: &bucket.region,
                    time: now,
                    expires: *expires_in,
                    query: &query,
                    headers: &headers,
                })
                .map_err(Failure::from)?;
            urls.push(SignedUrl {
                key: key.as_str(),
                method: o.method.as_str(),
                url: signed.url,
                expires_at: now + i64::from(*expires_in),
                headers: (!signed.headers.is_empty()).then(|| signed.headers.into_iter().collect()),
            });
        }
        Ok(json_response(Status::OK, &Urls { urls }))
    }
}

/// The most calls one request makes to Supabase Storage (they run at once, each costs Storage
/// an RLS query, and Workers bound subrequests).
const MAX_STORAGE_CALLS: usize = 10;

/// One refused object: `{index?, key, error, rule?, message?}` (`rule` only where a rule
/// decided: `no_rule` and `bad_key` name none).
fn refusal(
    index: Option<usize>,
    key: &str,
    error: &str,
    rule: Option<usize>,
    message: Option<String>,
) -> Value {
    let mut entry = serde_json::Map::new();
    if let Some(i) = index {
        entry.insert("index".into(), i.into());
    }
    entry.insert("key".into(), key.into());
    entry.insert("error".into(), error.into());
    if let Some(r) = rule {
        entry.insert("rule".into(), r.into());
    }
    if let Some(m) = message {
        entry.insert("message".into(), m.into());
    }
    Value::Object(entry)
}

/// One signed object in the answer of `POST /sign`.
#[derive(Serialize)]
struct SignedUrl<'a> {
    key: &'a str,
    method: &'static str,
    url: String,
    expires_at: i64,
    /// The headers the client must send exactly (signed ones other than `host`).
    #[serde(skip_serializing_if = "Option::is_none")]
    headers: Option<std::collections::BTreeMap<String, String>>,
}

/// The answer of `POST /sign`.
#[derive(Serialize)]
struct Urls<'a> {
    urls: Vec<SignedUrl<'a>>,
}

/// The calls one `POST /sign` makes to Supabase Storage for a bucket there (spec §2): the
/// GETs grouped by lifetime (`POST /object/sign/{bucket}` with `paths` for two or more, the
/// single `POST /object/sign/{bucket}/{path}` for one), each PUT its own
/// `POST /object/upload/sign/{bucket}/{path}`; all at once.
struct StorageCalls<'a> {
    base: &'a str,
    auth: StorageAuth,
    apikey: &'a Secret<String>,
    /// The user's JWT (sent only in `user` mode).
    token: &'a str,
    bucket: &'a str,
}

enum Call {
    One(usize),
    Batch(u32, Vec<usize>),
    Upload(usize),
}

/// `…/{bucket}/{key}`, each byte outside the unreserved set percent-encoded (Storage decodes
/// the path; a key is never read as a query or fragment).
fn storage_path(route: &str, bucket: &str, key: &str) -> String {
    let mut p = String::with_capacity(route.len() + bucket.len() + key.len() + 2);
    p.push_str(route);
    p.push('/');
    uri_encode(&mut p, bucket, false);
    p.push('/');
    uri_encode(&mut p, key, true);
    p
}

/// The token of a relative URL Storage answered (`/object/…?token=…`), or `None`. Only the
/// token is taken: Storage writes the path back unencoded (batch) or `decodeURI`d (single), so
/// a key holding a space, `#` or `?` would come back as a different or broken URL; we write the
/// path ourselves, encoded once as it was asked. The token is a JWT (base64url and dots).
fn token_of(v: Option<&Value>) -> Option<&str> {
    let url = v.and_then(Value::as_str)?;
    if !url.starts_with("/object/") {
        return None;
    }
    // The key itself may hold `?token=`: the token is the last one.
    let at = url.rfind("?token=")?;
    let token = url.get(at + "?token=".len()..)?;
    let token = token.split_once('&').map_or(token, |(t, _)| t);
    (!token.is_empty()
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')))
    .then_some(token)
}

impl StorageCalls<'_> {
    /// The URL the client uses: `{base}/object/sign|upload/sign/{bucket}/{key}?token=…`.
    fn url(&self, call: &Call, key: &str, token: &str) -> String {
        let route = match call {
            Call::Upload(_) => "/object/upload/sign",
            Call::One(_) | Call::Batch(..) => "/object/sign",
        };
        let mut url = self.base.to_owned();
        url.push_str(&storage_path(route, self.bucket, key));
        url.push_str("?token=");
        url.push_str(token);
        url
    }

    fn request(&self, path: String, body: &Value) -> OutboundRequest {
        let bearer = match self.auth {
            StorageAuth::User => self.token,
            StorageAuth::Service => self.apikey.expose(),
        };
        OutboundRequest {
            method: "POST",
            url: format!("{}{path}", self.base),
            headers: vec![
                ("apikey", self.apikey.expose().clone()),
                ("authorization", format!("Bearer {bearer}")),
                ("content-type", "application/json".to_owned()),
            ],
            body: body.to_string().into_bytes(),
            timeout_ms: STORAGE_TIMEOUT_MS,
        }
    }

    async fn sign<D: Db, H: Outbound>(
        &self,
        ctx: &Context<'_, D, H>,
        objects: &[Object<'_>],
        granted: &[(ObjectKey, u32)],
        now: i64,
    ) -> Result<Response, Failure> {
        let mut calls = Vec::new();
        let mut groups: Vec<(u32, Vec<usize>)> = Vec::new();
        for (i, (o, (_, expires))) in objects.iter().zip(granted).enumerate() {
            if o.method == Method::Put {
                calls.push(Call::Upload(i));
            } else if let Some(g) = groups.iter_mut().find(|(e, _)| e == expires) {
                g.1.push(i);
            } else {
                groups.push((*expires, vec![i]));
            }
        }
        for (expires, group) in groups {
            match group.as_slice() {
                [one] => calls.push(Call::One(*one)),
                _ => calls.push(Call::Batch(expires, group)),
            }
        }
        if calls.len() > MAX_STORAGE_CALLS {
            return Err(Failure::BadRequest(format!(
                "objects: a Supabase Storage bucket takes at most {MAX_STORAGE_CALLS} calls per request \
                 (each PUT is one, the GETs one per distinct expires_in): split the batch"
            )));
        }
        let key = |i: usize| granted.get(i).map_or("", |(k, _)| k.as_str());
        let expires = |i: usize| granted.get(i).map_or(0, |(_, e)| *e);
        let requests: Vec<OutboundRequest> = calls
            .iter()
            .map(|c| match c {
                Call::One(i) => self.request(
                    storage_path("/object/sign", self.bucket, key(*i)),
                    &json!({"expiresIn": expires(*i)}),
                ),
                Call::Batch(e, group) => {
                    let mut path = String::from("/object/sign/");
                    uri_encode(&mut path, self.bucket, false);
                    let paths: Vec<&str> = group.iter().map(|i| key(*i)).collect();
                    self.request(path, &json!({"expiresIn": e, "paths": paths}))
                }
                Call::Upload(i) => self.request(
                    storage_path("/object/upload/sign", self.bucket, key(*i)),
                    &json!({}),
                ),
            })
            .collect();
        let answers = join_all(requests.into_iter().map(|r| ctx.http.send(r))).await;
        let mut urls: Vec<Option<String>> = vec![None; objects.len()];
        let mut refused = Vec::new();
        let unavailable = |what: &str| {
            ctx.log.log(Level::Warn, "storage_unavailable", what);
            Failure::StorageUnavailable
        };
        for (call, answer) in calls.iter().zip(answers) {
            let answer: OutboundResponse =
                answer.map_err(|e| unavailable(&format!("Supabase Storage: {e}")))?;
            // 2xx signs, 4xx (but 429) refuses; anything else (a redirect too: we never follow
            // one with credentials) is Storage not answering as documented.
            let ok = (200..300).contains(&answer.status);
            if !(ok || (400..500).contains(&answer.status)) || answer.status == 429 {
                return Err(unavailable(&format!(
                    "Supabase Storage answered {}",
                    answer.status
                )));
            }
            let value: Value = if ok {
                serde_json::from_slice(&answer.body)
                    .map_err(|_| unavailable("Supabase Storage answered no JSON"))?
            } else {
                // Storage's own code (`{"statusCode": "403", "error": "Unauthorized", …}`),
                // for the operator: the client learns only `storage_refused`.
                let said: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
                let code = |k: &str| -> String {
                    let v = said.get(k).and_then(Value::as_str).unwrap_or("-");
                    v.chars().filter(char::is_ascii_graphic).take(64).collect()
                };
                ctx.log.log(
                    Level::Info,
                    "storage_refused",
                    &format!(
                        "Supabase Storage answered {} ({} {})",
                        answer.status,
                        code("statusCode"),
                        code("error")
                    ),
                );
                Value::Null
            };
            let mut refuse = |i: usize| {
                refused.push(json!({"index": i, "key": key(i), "error": "storage_refused"}));
            };
            match call {
                Call::One(i) | Call::Upload(i) => {
                    let field = if matches!(call, Call::One(_)) {
                        "signedURL"
                    } else {
                        "url"
                    };
                    match token_of(value.get(field)) {
                        Some(t) if ok => {
                            if let Some(slot) = urls.get_mut(*i) {
                                *slot = Some(self.url(call, key(*i), t));
                            }
                        }
                        _ if ok => return Err(unavailable("Supabase Storage: no signed URL")),
                        _ => refuse(*i),
                    }
                }
                Call::Batch(_, group) => {
                    let entries = value.as_array();
                    for i in group {
                        if !ok {
                            refuse(*i);
                            continue;
                        }
                        let entry = entries.and_then(|list| {
                            list.iter()
                                .find(|e| e.get("path").and_then(Value::as_str) == Some(key(*i)))
                        });
                        let Some(entry) = entry else {
                            return Err(unavailable(
                                "Supabase Storage: a path missing from the batch",
                            ));
                        };
                        match token_of(entry.get("signedURL")) {
                            Some(t) if entry.get("error").is_none_or(Value::is_null) => {
                                if let Some(slot) = urls.get_mut(*i) {
                                    *slot = Some(self.url(call, key(*i), t));
                                }
                            }
                            _ => refuse(*i),
                        }
                    }
                }
            }
        }
        if !refused.is_empty() {
            refused.sort_by_key(|r| r.get("index").and_then(Value::as_u64));
            return Err(Failure::Refused(refused));
        }
        let mut out = Vec::with_capacity(objects.len());
        for (i, (o, url)) in objects.iter().zip(urls).enumerate() {
            let Some(mut url) = url else {
                return Err(unavailable("Supabase Storage: an object left unsigned"));
            };
            if let Some(name) = o.download_name {
                // Storage's own download override (`?download=name`).
                url.push_str("&download=");
                uri_encode(&mut url, name, false);
            }
            out.push(SignedUrl {
                key: key(i),
                method: o.method.as_str(),
                url,
                expires_at: now + i64::from(expires(i)),
                headers: None,
            });
        }
        Ok(json_response(Status::OK, &Urls { urls: out }))
    }
}

impl Sign {
    /// `POST /upload` `{"bucket", "key" | "prefix", "content_type"?, "max_size"?,
    /// "expires_in"?}` → `{"url", "fields", "expires_at", "max_size", …}`: a presigned POST
    /// form. The policy decides it as an upload (`PUT`) of `max_size` bytes (default: the
    /// deciding rule's `max_size`; one of the two is required, so every form is bounded). A
    /// `prefix` (`users/u1/photos/`) lets the browser name the file under it, and is allowed
    /// only where the deciding rule covers the whole directory and no earlier rule reaches into
    /// it.
    fn upload(&self, body: &Value, asker: &Asker<'_>, now: i64) -> Result<Response, Failure> {
        let mut s = Strict::new(body, "")?;
        let bucket_path = s.path_of("bucket");
        let bucket_name = s
            .str("bucket")?
            .ok_or_else(|| Failure::BadRequest(format!("{bucket_path}: required")))?;
        let key_path = s.path_of("key");
        let exact = s.str("key")?;
        let prefix_path = s.path_of("prefix");
        let prefix = s.str("prefix")?;
        let expires_path = s.path_of("expires_in");
        let expires_in = s
            .u64("expires_in")?
            .map(|v| expires_in(v, &expires_path))
            .transpose()?;
        let type_path = s.path_of("content_type");
        let content_type = s.str("content_type")?;
        if content_type.is_some_and(|t| strict_media_type(t).is_none()) {
            return Err(JsonError::new(type_path, "one media type: type/subtype").into());
        }
        let size_path = s.path_of("max_size");
        let max_size = s.u64("max_size")?;
        s.finish()?;
        let (asked, key, under) = match (exact, prefix) {
            (Some(k), None) => (k, ObjectKey::parse(k), false),
            (None, Some(p)) => match p.strip_suffix('/') {
                Some(dir) => (p, ObjectKey::parse(dir), true),
                None => {
                    return Err(Failure::BadRequest(format!(
                        "{prefix_path}: a directory ending in /"
                    )));
                }
            },
            _ => {
                return Err(Failure::BadRequest(format!(
                    "{key_path}: exactly one of key and prefix (a directory ending in /)"
                )));
            }
        };
        let refuse = |error: &str, rule: Option<usize>, message: Option<String>| {
            Failure::Refused(vec![refusal(None, asked, error, rule, message)])
        };
        let key = key.map_err(|e| refuse("bad_key", None, Some(e.to_string())))?;
        let ask = Ask {
            bucket: bucket_name,
            key: &key,
            method: Method::Put,
            expires_in,
            content_type,
            // The size is checked against the rule once it is known (below) when not asked.
            content_length: Some(max_size.unwrap_or(0)),
            under,
        };
        let grant = self
            .policy
            .decide(&ask, asker)
            .map_err(|r| refuse(r.reason.code(), r.rule, None))?;
        let rule_max = self.policy.rules.get(grant.rule).and_then(|r| r.max_size);
        let Some(max) = max_size.or(rule_max) else {
            return Err(Failure::BadRequest(format!(
                "{size_path}: required (the deciding rule sets no maximum size)"
            )));
        };
        let (bucket, access) = self
            .bucket(bucket_name)
            .ok_or_else(|| Failure::BadRequest("no such bucket".into()))?;
        if bucket.backend == Backend::R2 {
            return Err(Failure::Unsupported(
                "R2 does not accept presigned POST forms: sign a PUT with /sign (content_length bounds it)",
            ));
        }
        let Access::Sigv4(creds) = access else {
            return Err(Failure::Unsupported(
                "Supabase Storage has no POST forms: sign a PUT with /sign (its signed upload URL)",
            ));
        };
        let prefix_text;
        let post_key = if under {
            prefix_text = format!("{}/", key.as_str());
            PostKey::Prefix(&prefix_text)
        } else {
            PostKey::Exact(&key)
        };
        let form = presign_post(
            creds,
            &PostPolicy {
                scheme: &bucket.scheme,
                host: &bucket.host,
                bucket: &bucket.name,
                style: bucket.style,
                region: &bucket.region,
                time: now,
                expires: grant.expires_in,
                key: post_key,
                content_type,
                size: Some((0, max)),
            },
        )
        .map_err(Failure::from)?;
        let fields: serde_json::Map<String, Value> = form
            .fields
            .into_iter()
            .map(|(n, v)| (n, Value::String(v)))
            .collect();
        let mut answer = json!({
            "url": form.url,
            "fields": fields,
            "expires_at": now + i64::from(grant.expires_in),
            "max_size": max,
        });
        if let Some(object) = answer.as_object_mut() {
            object.insert(if under { "prefix" } else { "key" }.into(), asked.into());
            if let Some(t) = content_type {
                object.insert("content_type".into(), t.into());
            }
        }
        Ok(json_response(Status::OK, &answer))
    }
}

impl Function for Sign {
    const NAME: &'static str = "portcullis-sign";
    const USES_CRYPTO: bool = true;
    const HEADERS: &'static [&'static str] = &["authorization", "content-type", "origin"];

    fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        Self::from_config(env)
    }

    fn needs_db(&self) -> bool {
        false
    }

    fn max_body_bytes(&self) -> usize {
        MAX_BODY_BYTES
    }

    async fn handle<D: Db, H: Outbound>(
        &self,
        ctx: &Context<'_, D, H>,
        request: Request,
    ) -> Response {
        if request.method == HttpMethod::Options {
            return self.cors.preflight(&request);
        }
        let mut response = match self.answer(ctx, &request).await {
            Ok(r) => r,
            Err(e) => e.into_response(ctx.log),
        };
        self.cors.apply(&request, &mut response);
        response
    }
}
