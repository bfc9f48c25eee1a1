//! What a deployment allows: buckets (where and how to sign) and rules (who may touch which
//! keys, how). JSON read strictly (the CLI compiles the TOML form): every unknown member is an
//! error naming its path.
//!
//! **First match.** Rules are tried in order; the first whose bucket, role and path template
//! match the request decides it, allowing or refusing with its own limits (method, expiry,
//! content type, size, `aal2`). A later rule is never consulted, so a specific rule put first
//! narrows a broad one after it, and a refusal names exactly one rule. No rule matching is a
//! refusal too: nothing is allowed by default.

use std::fmt;

use portcullis_core::json::{JsonError, Strict, Value};

use crate::key::ObjectKey;
use crate::sigv4::{Algorithm, MAX_EXPIRES_SECS, Method, Style};
use crate::template::Template;

/// Where a bucket lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Amazon S3.
    S3,
    /// Cloudflare R2 (region `auto`; no presigned POST).
    R2,
    /// Google Cloud Storage's XML API with HMAC keys.
    Gcs,
    /// MinIO, SeaweedFS or any S3-compatible endpoint.
    Minio,
    /// Supabase Storage (its own sign endpoints).
    Supabase,
}

/// Whose authority a Supabase Storage bucket's sign calls carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageAuth {
    /// The user's own JWT (with the project's publishable/anon key as `apikey`): Storage
    /// applies the project's RLS on `storage.objects` as that user, after our policy.
    User,
    /// The service key (`apikey` and bearer): Storage's RLS is bypassed and our policy is the
    /// only guard.
    Service,
}

/// Supabase Storage's fixed lifetime of a signed upload URL (2 hours; not configurable).
pub const STORAGE_UPLOAD_EXPIRES: u32 = 7200;

/// One bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bucket {
    /// The name clients use (and the bucket's name at the backend).
    pub name: String,
    /// The backend.
    pub backend: Backend,
    /// `https` or `http`.
    pub scheme: String,
    /// Host, with `:port` when given.
    pub host: String,
    /// Signing region.
    pub region: String,
    /// URL style.
    pub style: Style,
    /// How URLs are signed: AWS4 everywhere, GOOG4 for GCS when asked (`signature = "goog4"`).
    pub algorithm: Algorithm,
    /// The environment variables holding the access key id, the secret and (temporary
    /// credentials) the session token. Names only: the values never enter the policy.
    pub access_key_id_env: String,
    /// See `access_key_id_env`.
    pub secret_env: String,
    /// See `access_key_id_env`.
    pub session_token_env: Option<String>,
    /// PUT URLs may be signed. A PUT URL's signature covers `host` and the content headers, not
    /// the absence of others: on a server that honours an unsigned `x-amz-copy-source`, a PUT
    /// URL for your own key copies any object of the bucket into it. AWS S3 refuses unsigned
    /// `x-amz-*` headers (on by default for `s3`); elsewhere the operator turns it on
    /// (`put_urls = true`) after checking their server (SeaweedFS refuses them: tested).
    /// Without it, `/sign` answers PUTs 400 `not_supported`; POST forms (`/upload`), which
    /// cannot copy, stay available.
    pub put_urls: bool,
    /// Supabase buckets: whose authority the sign calls carry, and the variable holding the
    /// key sent as `apikey` (user: the publishable/anon key; service: the service key, also
    /// the bearer). The endpoint is then the project's URL unless `endpoint` is given.
    pub storage: Option<(StorageAuth, String)>,
}

/// One rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The bucket it is about.
    pub bucket: String,
    /// The keys it is about.
    pub path: Template,
    /// The roles it is about (`authenticated` unless said).
    pub roles: Vec<String>,
    /// What it allows.
    pub methods: Vec<Method>,
    /// Longest URL lifetime.
    pub max_expires_in: u32,
    /// For uploads: media types allowed (`image/png`, `image/*`); empty allows any.
    pub content_types: Vec<String>,
    /// For uploads: the largest size; set, an upload must state its size (signed exactly).
    pub max_size: Option<u64>,
    /// The session must be `aal2`.
    pub require_aal2: bool,
    /// Tokens exchanged from a personal access token (`amr` method `pat`) are allowed. Off by
    /// default: a script's token is not a browser session, and its PAT scopes are not storage
    /// scopes.
    pub allow_pat_tokens: bool,
    /// Anonymous users (Supabase anonymous sign-ins: role `authenticated`, claim
    /// `is_anonymous: true`) are allowed. Off by default: anyone can become one, so storage
    /// they may write is storage anyone may fill.
    pub allow_anonymous: bool,
}

/// The policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Buckets by name.
    pub buckets: Vec<Bucket>,
    /// Rules, in order (first match).
    pub rules: Vec<Rule>,
    /// URL lifetime when a request names none (capped by the rule's maximum).
    pub default_expires_in: u32,
}

/// What a user asks to sign.
#[derive(Clone, Copy, Debug)]
pub struct Ask<'a> {
    /// The bucket.
    pub bucket: &'a str,
    /// The object.
    pub key: &'a ObjectKey,
    /// The method.
    pub method: Method,
    /// Asked lifetime.
    pub expires_in: Option<u32>,
    /// For uploads: the media type the client will send.
    pub content_type: Option<&'a str>,
    /// For uploads: the exact size the client will send (for a POST form: the most it may).
    pub content_length: Option<u64>,
    /// `key` is a directory: the ask covers every key under it (a presigned POST with a
    /// prefix). Only rules whose template ends in `**` and covers the directory match.
    pub under: bool,
}

/// Who asks: the verified token.
#[derive(Clone, Copy, Debug)]
pub struct Asker<'a> {
    /// The whole payload (templates read claims from it).
    pub claims: &'a Value,
    /// `role`.
    pub role: &'a str,
    /// `aal`.
    pub aal: Option<&'a str>,
    /// The token was exchanged from a personal access token (`amr` method `pat`).
    pub from_pat: bool,
    /// An anonymous sign-in (`is_anonymous: true`).
    pub anonymous: bool,
}

/// An allowed request: the rule that allowed it and the lifetime to sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grant {
    /// Index of the deciding rule.
    pub rule: usize,
    /// Lifetime in seconds.
    pub expires_in: u32,
}

/// Why a request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// No such bucket in the policy.
    UnknownBucket,
    /// No rule matches this bucket, role and key.
    NoRule,
    /// The deciding rule does not allow the method.
    Method,
    /// Longer than the deciding rule allows.
    Expiry,
    /// A media type the rule does not allow, or none where the rule lists some.
    ContentType,
    /// No size, or over the rule's maximum.
    Size,
    /// The rule needs an `aal2` session.
    Aal2,
    /// A token exchanged from a personal access token, which the rule does not allow.
    PatToken,
    /// An anonymous user, which the rule does not allow.
    Anonymous,
    /// A prefix upload whose directory an earlier rule also reaches into (first match would
    /// decide some keys under it by that rule): ask for an exact key or a deeper prefix.
    PrefixOverlap,
}

impl Reason {
    /// A stable code for clients.
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Self::UnknownBucket => "unknown_bucket",
            Self::NoRule => "no_rule",
            Self::Method => "method_not_allowed",
            Self::Expiry => "expires_in_too_long",
            Self::ContentType => "content_type_not_allowed",
            Self::Size => "size_not_allowed",
            Self::Aal2 => "aal2_required",
            Self::PatToken => "pat_token_not_allowed",
            Self::Anonymous => "anonymous_not_allowed",
            Self::PrefixOverlap => "prefix_overlaps_rule",
        }
    }
}

/// A refusal: why, and which rule decided (none for an unknown bucket or no match).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refused {
    /// Why.
    pub reason: Reason,
    /// The deciding rule's index.
    pub rule: Option<usize>,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rule {
            Some(i) => write!(f, "{} (rule {i})", self.reason.code()),
            None => f.write_str(self.reason.code()),
        }
    }
}

/// RFC 9110 `token` characters.
fn token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// The media type of a `Content-Type` value that is exactly `type/subtype` with optional
/// `; name=value` parameters of token characters, lowercased; `None` for anything else. A
/// comma, a quote or a second type is refused: browsers take the last type of a list
/// (`image/png, text/html` would be served as HTML), so the signed header must hold one.
#[must_use]
pub fn strict_media_type(value: &str) -> Option<String> {
    let mut parts = value.split(';');
    let essence = parts.next()?.trim();
    let (major, minor) = essence.split_once('/')?;
    if !token(major) || !token(minor) {
        return None;
    }
    for param in parts {
        let (name, v) = param.trim().split_once('=')?;
        if !token(name) || !token(v) {
            return None;
        }
    }
    Some(essence.to_ascii_lowercase())
}

fn type_allowed(allowed: &[String], asked: &str) -> bool {
    let Some(asked) = strict_media_type(asked) else {
        return false;
    };
    allowed.iter().any(|a| match a.strip_suffix("/*") {
        Some(major) => asked
            .split_once('/')
            .is_some_and(|(m, sub)| m == major && !sub.is_empty()),
        None => *a == asked,
    })
}

impl Policy {
    /// Decides `ask` for `asker`.
    ///
    /// # Errors
    /// The [`Refused`] naming why and which rule.
    pub fn decide(&self, ask: &Ask<'_>, asker: &Asker<'_>) -> Result<Grant, Refused> {
        let refuse = |reason, rule| Err(Refused { reason, rule });
        if !self.buckets.iter().any(|b| b.name == ask.bucket) {
            return refuse(Reason::UnknownBucket, None);
        }
        let Some((i, rule)) = self.rules.iter().enumerate().find(|(_, r)| {
            r.bucket == ask.bucket
                && r.roles.iter().any(|role| role == asker.role)
                && if ask.under {
                    r.path.covers_dir(ask.key, asker.claims)
                } else {
                    r.path.matches(ask.key, asker.claims)
                }
        }) else {
            return refuse(Reason::NoRule, None);
        };
        if ask.under
            && let Some(j) = self.rules.iter().take(i).position(|r| {
                r.bucket == ask.bucket
                    && r.roles.iter().any(|role| role == asker.role)
                    && r.path.overlaps_dir(ask.key, asker.claims)
            })
        {
            return refuse(Reason::PrefixOverlap, Some(j));
        }
        let at = Some(i);
        if asker.from_pat && !rule.allow_pat_tokens {
            return refuse(Reason::PatToken, at);
        }
        if asker.anonymous && !rule.allow_anonymous {
            return refuse(Reason::Anonymous, at);
        }
        if rule.require_aal2 && asker.aal != Some("aal2") {
            return refuse(Reason::Aal2, at);
        }
        if !rule.methods.contains(&ask.method) {
            return refuse(Reason::Method, at);
        }
        let expires_in = ask
            .expires_in
            .unwrap_or_else(|| self.default_expires_in.min(rule.max_expires_in));
        if expires_in == 0 || expires_in > rule.max_expires_in {
            return refuse(Reason::Expiry, at);
        }
        if ask.method == Method::Put {
            if !rule.content_types.is_empty()
                && !ask
                    .content_type
                    .is_some_and(|t| type_allowed(&rule.content_types, t))
            {
                return refuse(Reason::ContentType, at);
            }
            if let Some(max) = rule.max_size
                && ask.content_length.is_none_or(|n| n > max)
            {
                return refuse(Reason::Size, at);
            }
        }
        Ok(Grant {
            rule: i,
            expires_in,
        })
    }

    /// The bucket named `name`.
    #[must_use]
    pub fn bucket(&self, name: &str) -> Option<&Bucket> {
        self.buckets.iter().find(|b| b.name == name)
    }

    /// Reads the policy document.
    ///
    /// # Errors
    /// [`JsonError`] naming the member at fault.
    pub fn from_json(text: &str) -> Result<Self, JsonError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| JsonError::new("", format!("not JSON: {e}")))?;
        let mut s = Strict::new(&value, "")?;
        let default_expires_in = match s.u64("default_expires_in")? {
            None => 300,
            Some(v) => expires(v, &s.path_of("default_expires_in"))?,
        };
        let buckets = s.tables("buckets", |name, one| {
            if !bucket_name_ok(name) {
                return Err(JsonError::new(
                    one.path(),
                    "a bucket name: 1-63 of a-z 0-9 . - _, a letter or digit first and last",
                ));
            }
            bucket(name, one)
        })?;
        let trusted: Vec<String> = s
            .strings("trusted_claims")?
            .into_iter()
            .map(str::to_owned)
            .collect();
        let rules_path = s.path_of("rules");
        let mut rules = Vec::new();
        for (i, r) in s.array("rules")?.iter().enumerate() {
            let path = format!("{rules_path}[{i}]");
            let mut r = Strict::new(r, &path)?;
            let rule = rule(&mut r, &buckets, &trusted)?;
            r.finish()?;
            rules.push(rule);
        }
        s.finish()?;
        Ok(Self {
            buckets,
            rules,
            default_expires_in,
        })
    }
}

fn expires(v: u64, path: &str) -> Result<u32, JsonError> {
    u32::try_from(v)
        .ok()
        .filter(|v| (1..=MAX_EXPIRES_SECS).contains(v))
        .ok_or_else(|| JsonError::new(path, "must be between 1 and 604800 seconds"))
}

fn required<'a>(s: &mut Strict<'a>, key: &'a str) -> Result<&'a str, JsonError> {
    let path = s.path_of(key);
    s.str(key)?
        .filter(|v| !v.is_empty())
        .ok_or_else(|| JsonError::new(path, "required"))
}

fn env_name(s: &mut Strict<'_>, key: &'static str) -> Result<Option<String>, JsonError> {
    let path = s.path_of(key);
    match s.str(key)? {
        None => Ok(None),
        Some(v)
            if !v.is_empty()
                && v.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_') =>
        {
            Ok(Some(v.to_owned()))
        }
        Some(_) => Err(JsonError::new(
            path,
            "the name of an environment variable ([A-Z0-9_]), never the secret itself",
        )),
    }
}

fn bucket(name: &str, s: &mut Strict<'_>) -> Result<Bucket, JsonError> {
    let backend_path = s.path_of("backend");
    let backend = match required(s, "backend")? {
        "s3" => Backend::S3,
        "r2" => Backend::R2,
        "gcs" => Backend::Gcs,
        "minio" => Backend::Minio,
        "supabase" => Backend::Supabase,
        _ => {
            return Err(JsonError::new(
                backend_path,
                "one of s3, r2, gcs, minio, supabase",
            ));
        }
    };
    let endpoint_path = s.path_of("endpoint");
    let endpoint = match (s.str("endpoint")?, backend) {
        (Some(e), _) => e.to_owned(),
        // The project's URL, filled in by the service (empty host here).
        (None, Backend::Supabase) => "https://".to_owned(),
        (None, Backend::Gcs) => "https://storage.googleapis.com".to_owned(),
        (None, Backend::S3) => {
            let region_path = s.path_of("region");
            let region = s
                .str("region")?
                .ok_or_else(|| JsonError::new(region_path, "required"))?;
            format!("https://s3.{region}.amazonaws.com")
        }
        (None, _) => return Err(JsonError::new(endpoint_path, "required")),
    };
    let (scheme, host) = endpoint
        .split_once("://")
        .filter(|(scheme, host)| {
            matches!(*scheme, "https" | "http")
                && (!host.is_empty() || backend == Backend::Supabase)
                && host.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
                })
        })
        .and_then(|(scheme, host)| Some((scheme, canonical_host(scheme, host)?)))
        .ok_or_else(|| {
            JsonError::new(
                endpoint_path,
                "scheme://host[:port] (https or http, no path, no credentials)",
            )
        })?;
    let region = match (s.str("region")?, backend) {
        (Some(r), _) => r.to_owned(),
        (None, Backend::R2 | Backend::Gcs) => "auto".to_owned(),
        (None, _) => "us-east-1".to_owned(),
    };
    let style_path = s.path_of("style");
    let style = match (s.str("style")?, backend) {
        (Some("path"), _) => Style::Path,
        (Some("virtual"), _) => Style::VirtualHost,
        (None, Backend::S3) => Style::VirtualHost,
        (None, _) => Style::Path,
        (Some(_), _) => return Err(JsonError::new(style_path, "path or virtual")),
    };
    let signature_path = s.path_of("signature");
    let algorithm = match (s.str("signature")?, backend) {
        (None | Some("aws4"), _) => Algorithm::Aws4,
        (Some("goog4"), Backend::Gcs) => Algorithm::Goog4,
        (Some("goog4"), _) => {
            return Err(JsonError::new(signature_path, "goog4 is for gcs buckets"));
        }
        (Some(_), _) => return Err(JsonError::new(signature_path, "aws4 or goog4")),
    };
    let put_path = s.path_of("put_urls");
    let put_urls = match (s.bool("put_urls")?, backend) {
        (Some(_), Backend::Supabase) => {
            return Err(JsonError::new(
                put_path,
                "supabase buckets sign uploads through Storage",
            ));
        }
        (Some(v), _) => v,
        (None, b) => matches!(b, Backend::S3 | Backend::Supabase),
    };
    let access_path = s.path_of("access_key_id_env");
    let secret_path = s.path_of("secret_env");
    let access_key_id_env = env_name(s, "access_key_id_env")?;
    let secret_env = env_name(s, "secret_env")?;
    let session_token_env = env_name(s, "session_token_env")?;
    if algorithm == Algorithm::Goog4 && session_token_env.is_some() {
        return Err(JsonError::new(
            s.path_of("session_token_env"),
            "GCS HMAC keys have no session token",
        ));
    }
    let auth_path = s.path_of("auth");
    let auth = s.str("auth")?;
    let apikey_path = s.path_of("apikey_env");
    let apikey_env = env_name(s, "apikey_env")?;
    let storage = match (backend, auth) {
        (Backend::Supabase, Some(mode)) => {
            let mode = match mode {
                "user" => StorageAuth::User,
                "service" => StorageAuth::Service,
                _ => return Err(JsonError::new(auth_path, "user or service")),
            };
            let key = apikey_env.ok_or_else(|| {
                JsonError::new(
                    &apikey_path,
                    "required: the variable holding the publishable (user) or service key",
                )
            })?;
            Some((mode, key))
        }
        (Backend::Supabase, None) => {
            return Err(JsonError::new(
                auth_path,
                "required: user (Storage RLS applies as the user) or service (our policy is the only guard)",
            ));
        }
        (_, None) if apikey_env.is_none() => None,
        (_, _) => {
            return Err(JsonError::new(
                auth_path,
                "auth and apikey_env are for supabase buckets",
            ));
        }
    };
    let (access_key_id_env, secret_env) = match (backend, access_key_id_env, secret_env) {
        (Backend::Supabase, None, None) if session_token_env.is_none() => {
            (String::new(), String::new())
        }
        (Backend::Supabase, _, _) => {
            return Err(JsonError::new(
                access_path,
                "supabase buckets are signed by Storage: no S3 credentials",
            ));
        }
        (_, Some(a), Some(k)) => (a, k),
        (_, None, _) => return Err(JsonError::new(access_path, "required")),
        (_, _, None) => return Err(JsonError::new(secret_path, "required")),
    };
    Ok(Bucket {
        name: name.to_owned(),
        backend,
        scheme: scheme.to_owned(),
        host,
        region,
        style,
        algorithm,
        access_key_id_env,
        secret_env,
        session_token_env,
        put_urls,
        storage,
    })
}

/// A bucket name that is one DNS label run (it becomes part of a host in virtual-host style
/// and of every path): 1–63 bytes of `a-z 0-9 . - _`, starting and ending with a letter or
/// digit.
fn bucket_name_ok(name: &str) -> bool {
    let b = name.as_bytes();
    let edge = |c: Option<&u8>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (1..=63).contains(&b.len())
        && edge(b.first())
        && edge(b.last())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b".-_".contains(c))
}

/// Claims a template may read: `sub`, `app_metadata.*` (only the server writes them), and the
/// top-level claims the policy lists in `trusted_claims` (set by a custom access token hook).
/// Everything else (`email`, `phone`, `user_metadata`, …) a user can influence.
fn claim_trusted(path: &[String], trusted: &[String]) -> bool {
    match path {
        [one] if one == "sub" => true,
        [first, _, ..] if first == "app_metadata" => true,
        [first, ..] => first != "user_metadata" && trusted.iter().any(|t| t == first),
        [] => false,
    }
}

fn rule(s: &mut Strict<'_>, buckets: &[Bucket], trusted: &[String]) -> Result<Rule, JsonError> {
    let bucket_path = s.path_of("bucket");
    let bucket = required(s, "bucket")?.to_owned();
    if !buckets.iter().any(|b| b.name == bucket) {
        return Err(JsonError::new(bucket_path, "no such bucket in [buckets]"));
    }
    let path_path = s.path_of("path");
    let source = required(s, "path")?;
    // user_metadata is the user's own to write (supabase-js `updateUser`): a template over it
    // would let anyone choose what they may touch.
    if source.contains("{user_metadata") {
        return Err(JsonError::new(
            path_path,
            "user_metadata is set by the user; use app_metadata or sub",
        ));
    }
    let path = Template::parse(source).map_err(|e| JsonError::new(&path_path, e.to_string()))?;
    if let Some(claim) = path.claims().find(|c| !claim_trusted(c, trusted)) {
        return Err(JsonError::new(
            path_path,
            format!(
                "{{{}}}: templates read sub, app_metadata.* and the claims listed in trusted_claims (a user can influence the others)",
                claim.join(".")
            ),
        ));
    }
    let methods_path = s.path_of("methods");
    let methods = s
        .strings("methods")?
        .into_iter()
        .map(|m| {
            Method::parse(m)
                .ok_or_else(|| JsonError::new(&methods_path, "GET, HEAD, PUT or DELETE"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if methods.is_empty() {
        return Err(JsonError::new(methods_path, "at least one method"));
    }

    let mut roles: Vec<String> = s.strings("roles")?.into_iter().map(str::to_owned).collect();
    if roles.is_empty() {
        roles.push("authenticated".to_owned());
    }
    let max_path = s.path_of("max_expires_in");
    let max_expires_in = match s.u64("max_expires_in")? {
        None => 3600,
        Some(v) => expires(v, &max_path)?,
    };
    let types_path = s.path_of("content_types");
    let content_types = s
        .strings("content_types")?
        .into_iter()
        .map(|t| {
            let t = t.to_ascii_lowercase();
            let ok = t.split_once('/').is_some_and(|(major, minor)| {
                !major.is_empty()
                    && !minor.is_empty()
                    && major != "*"
                    && t.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"/*.+-_".contains(&b))
                    && (minor == "*" || !minor.contains('*'))
            });
            if ok {
                Ok(t)
            } else {
                Err(JsonError::new(&types_path, "type/subtype or type/*"))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let max_size = s.u64("max_size")?;
    if buckets
        .iter()
        .any(|b| b.name == bucket && b.backend == Backend::Supabase)
    {
        // Storage signs GET (downloads) and PUT (uploads, 2 hours, binding neither type nor
        // size): a rule must not promise what its URLs cannot hold.
        if methods
            .iter()
            .any(|m| !matches!(m, Method::Get | Method::Put))
        {
            return Err(JsonError::new(
                methods_path,
                "Supabase Storage signs GET and PUT only",
            ));
        }
        if methods.contains(&Method::Put) {
            if !content_types.is_empty() || max_size.is_some() {
                return Err(JsonError::new(
                    types_path,
                    "Supabase Storage upload URLs bind neither type nor size: set the bucket's allowed_mime_types and file_size_limit in Storage instead",
                ));
            }
            if max_expires_in < STORAGE_UPLOAD_EXPIRES {
                return Err(JsonError::new(
                    max_path,
                    "Supabase Storage upload URLs last 7200 s: allow at least that for PUT",
                ));
            }
        }
    }
    let require_aal2 = s.bool("require_aal2")?.unwrap_or(false);
    let allow_pat_tokens = s.bool("allow_pat_tokens")?.unwrap_or(false);
    let allow_anonymous = s.bool("allow_anonymous")?.unwrap_or(false);
    Ok(Rule {
        bucket,
        path,
        roles,
        methods,
        max_expires_in,
        content_types,
        max_size,
        require_aal2,
        allow_pat_tokens,
        allow_anonymous,
    })
}

/// The host as clients send it in `host` (the header the URL is signed for): lowercase, the
/// scheme's default port dropped. `None` for a port that is not 1..=65535.
fn canonical_host(scheme: &str, host: &str) -> Option<String> {
    let host = host.to_ascii_lowercase();
    let (name, port) = match host.rsplit_once(':') {
        // `[::1]` alone has colons but no port.
        Some((name, port)) if !port.ends_with(']') => (name, Some(port)),
        _ => (host.as_str(), None),
    };
    let Some(port) = port else {
        return Some(host.clone());
    };
    let n: u16 = port.parse().ok().filter(|n| *n > 0)?;
    if port.starts_with('0') || name.is_empty() || (name.contains(':') && !name.ends_with(']')) {
        return None;
    }
    let default = match scheme {
        "https" => 443,
        _ => 80,
    };
    Some(if n == default {
        name.to_owned()
    } else {
        format!("{name}:{n}")
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use serde_json::json;

    use super::*;

    const POLICY: &str = r#"{
      "default_expires_in": 600,
      "buckets": {
        "media": {"backend": "minio", "endpoint": "http://127.0.0.1:8333", "put_urls": true,
                  "access_key_id_env": "MEDIA_KEY", "secret_env": "MEDIA_SECRET"},
        "files": {"backend": "s3", "region": "eu-west-1",
                  "access_key_id_env": "AWS_KEY", "secret_env": "AWS_SECRET", "session_token_env": "AWS_TOKEN"}
      },
      "rules": [
        {"bucket": "media", "path": "users/{sub}/private/**", "methods": ["GET"], "require_aal2": true},
        {"bucket": "media", "path": "users/{sub}/**", "methods": ["GET", "PUT", "DELETE"],
         "max_expires_in": 900, "content_types": ["image/*", "application/pdf"], "max_size": 1048576},
        {"bucket": "media", "path": "public/**", "methods": ["GET", "HEAD"], "roles": ["authenticated", "anon"]}
      ]
    }"#;

    fn ask<'a>(key: &'a ObjectKey, method: Method) -> Ask<'a> {
        Ask {
            bucket: "media",
            key,
            method,
            expires_in: None,
            content_type: None,
            content_length: None,
            under: false,
        }
    }

    #[test]
    fn first_match_decides_and_names_its_rule() {
        let p = Policy::from_json(POLICY).unwrap();
        assert_eq!(
            p.bucket("files").unwrap().host,
            "s3.eu-west-1.amazonaws.com"
        );
        assert_eq!(p.bucket("files").unwrap().style, Style::VirtualHost);
        assert_eq!(p.bucket("media").unwrap().style, Style::Path);
        let claims = json!({"sub": "u1"});
        let user = Asker {
            claims: &claims,
            role: "authenticated",
            aal: Some("aal1"),
            from_pat: false,
            anonymous: false,
        };
        let k = |s: &str| ObjectKey::parse(s).unwrap();
        let (own, private, other, public) = (
            k("users/u1/a.png"),
            k("users/u1/private/x"),
            k("users/u2/a.png"),
            k("public/logo.svg"),
        );
        assert_eq!(
            p.decide(&ask(&own, Method::Get), &user),
            Ok(Grant {
                rule: 1,
                expires_in: 600
            })
        );
        // The private rule comes first and decides: no fall-through to the broader rule.
        let refused = |reason, rule| Err(Refused { reason, rule });
        assert_eq!(
            p.decide(&ask(&private, Method::Get), &user),
            refused(Reason::Aal2, Some(0))
        );
        let strong = Asker {
            aal: Some("aal2"),
            ..user
        };
        assert!(p.decide(&ask(&private, Method::Get), &strong).is_ok());
        assert_eq!(
            p.decide(&ask(&private, Method::Put), &strong),
            refused(Reason::Method, Some(0))
        );
        assert_eq!(
            p.decide(&ask(&other, Method::Get), &user),
            refused(Reason::NoRule, None)
        );
        assert_eq!(
            p.decide(&ask(&public, Method::Delete), &user),
            refused(Reason::Method, Some(2))
        );
        let anon = Asker {
            role: "anon",
            ..user
        };
        assert!(p.decide(&ask(&public, Method::Head), &anon).is_ok());
        assert_eq!(
            p.decide(&ask(&own, Method::Get), &anon),
            refused(Reason::NoRule, None)
        );
        let mut a = ask(&own, Method::Get);
        a.bucket = "nope";
        assert_eq!(p.decide(&a, &user), refused(Reason::UnknownBucket, None));
        // Expiry, media type and size for uploads.
        let mut a = ask(&own, Method::Get);
        a.expires_in = Some(901);
        assert_eq!(p.decide(&a, &user), refused(Reason::Expiry, Some(1)));
        a.expires_in = Some(900);
        assert_eq!(
            p.decide(&a, &user),
            Ok(Grant {
                rule: 1,
                expires_in: 900
            })
        );
        let mut up = ask(&own, Method::Put);
        up.content_length = Some(10);
        assert_eq!(p.decide(&up, &user), refused(Reason::ContentType, Some(1)));
        for (t, ok) in [
            ("image/png", true),
            ("IMAGE/PNG; x=1", true),
            ("application/pdf", true),
            ("image/", false),
            ("text/html", false),
            ("application/pdfx", false),
            ("image/png;a=,text/html", false),
            ("image/x,text/html", false),
            ("image/png, text/html", false),
            ("image/png; charset=\"x\"", false),
            ("image/png;", false),
        ] {
            up.content_type = Some(t);
            assert_eq!(p.decide(&up, &user).is_ok(), ok, "{t}");
        }
        up.content_type = Some("image/png");
        up.content_length = None;
        assert_eq!(p.decide(&up, &user), refused(Reason::Size, Some(1)));
        up.content_length = Some(1_048_577);
        assert_eq!(p.decide(&up, &user), refused(Reason::Size, Some(1)));
    }

    #[test]
    fn a_prefix_upload_needs_a_covering_rule_and_no_earlier_overlap() {
        let p = Policy::from_json(POLICY).unwrap();
        let claims = json!({"sub": "u1"});
        let user = Asker {
            claims: &claims,
            role: "authenticated",
            aal: Some("aal2"),
            from_pat: false,
            anonymous: false,
        };
        let k = |s: &str| ObjectKey::parse(s).unwrap();
        let (home, photos, private, other) = (
            k("users/u1"),
            k("users/u1/photos"),
            k("users/u1/private"),
            k("users/u2"),
        );
        let up = |key| Ask {
            content_type: Some("image/png"),
            content_length: Some(1000),
            under: true,
            ..ask(key, Method::Put)
        };
        let refused = |reason, rule| Err(Refused { reason, rule });
        // users/u1/ reaches into users/u1/private/, which rule 0 decides (GET only).
        assert_eq!(
            p.decide(&up(&home), &user),
            refused(Reason::PrefixOverlap, Some(0))
        );
        assert_eq!(
            p.decide(&up(&photos), &user),
            Ok(Grant {
                rule: 1,
                expires_in: 600
            })
        );
        assert_eq!(
            p.decide(&up(&private), &user),
            refused(Reason::Method, Some(0))
        );
        assert_eq!(p.decide(&up(&other), &user), refused(Reason::NoRule, None));
        // The same directory asked as an exact key is another question.
        let exact = Ask {
            under: false,
            ..up(&photos)
        };
        assert!(p.decide(&exact, &user).is_ok());
    }

    #[test]
    fn anonymous_users_need_a_rule_that_allows_them() {
        let policy = POLICY.replace(
            r#""path": "public/**", "methods": ["GET", "HEAD"],"#,
            r#""path": "public/**", "methods": ["GET", "HEAD"], "allow_anonymous": true,"#,
        );
        assert_ne!(policy, POLICY);
        let p = Policy::from_json(&policy).unwrap();
        let claims = json!({"sub": "u1", "is_anonymous": true});
        let guest = Asker {
            claims: &claims,
            role: "authenticated",
            aal: Some("aal1"),
            from_pat: false,
            anonymous: true,
        };
        let own = ObjectKey::parse("users/u1/a.png").unwrap();
        let public = ObjectKey::parse("public/a.png").unwrap();
        assert_eq!(
            p.decide(&ask(&own, Method::Get), &guest),
            Err(Refused {
                reason: Reason::Anonymous,
                rule: Some(1)
            })
        );
        assert!(p.decide(&ask(&public, Method::Get), &guest).is_ok());
        let signed_in = Asker {
            anonymous: false,
            ..guest
        };
        assert!(p.decide(&ask(&own, Method::Get), &signed_in).is_ok());
    }

    #[test]
    fn tokens_from_a_pat_need_a_rule_that_allows_them() {
        let policy = POLICY.replace(
            r#""path": "public/**", "methods": ["GET", "HEAD"],"#,
            r#""path": "public/**", "methods": ["GET", "HEAD"], "allow_pat_tokens": true,"#,
        );
        assert_ne!(policy, POLICY);
        let p = Policy::from_json(&policy).unwrap();
        let claims = json!({"sub": "u1"});
        let script = Asker {
            claims: &claims,
            role: "authenticated",
            aal: Some("aal1"),
            from_pat: true,
            anonymous: false,
        };
        let own = ObjectKey::parse("users/u1/a.png").unwrap();
        let public = ObjectKey::parse("public/a.png").unwrap();
        assert_eq!(
            p.decide(&ask(&own, Method::Get), &script),
            Err(Refused {
                reason: Reason::PatToken,
                rule: Some(1)
            })
        );
        assert!(p.decide(&ask(&public, Method::Get), &script).is_ok());
    }

    #[test]
    fn gcs_signs_aws4_unless_asked_for_goog4() {
        let p = Policy::from_json(
            r#"{"buckets":{"a":{"backend":"gcs","access_key_id_env":"K","secret_env":"S"},
                           "g":{"backend":"gcs","access_key_id_env":"K","secret_env":"S","signature":"goog4"}}}"#,
        )
        .unwrap();
        let (a, g) = (p.bucket("a").unwrap(), p.bucket("g").unwrap());
        assert_eq!(
            (a.algorithm, g.algorithm),
            (Algorithm::Aws4, Algorithm::Goog4)
        );
        assert_eq!(
            (g.host.as_str(), g.region.as_str()),
            ("storage.googleapis.com", "auto")
        );
    }

    #[test]
    fn endpoints_are_the_host_clients_send() {
        let host = |endpoint: &str| {
            Policy::from_json(&format!(
                r#"{{"buckets":{{"b":{{"backend":"minio","endpoint":"{endpoint}","access_key_id_env":"K","secret_env":"S"}}}}}}"#
            ))
            .map(|p| p.bucket("b").unwrap().host.clone())
            .map_err(|e| e.to_string())
        };
        for (endpoint, canonical) in [
            ("https://S3.Example.COM:443", "s3.example.com"),
            ("http://127.0.0.1:80", "127.0.0.1"),
            ("https://minio.example.com:80", "minio.example.com:80"),
            ("http://h:8333", "h:8333"),
            ("http://[::1]:9000", "[::1]:9000"),
            ("http://[::1]", "[::1]"),
        ] {
            assert_eq!(host(endpoint).as_deref(), Ok(canonical), "{endpoint}");
        }
        for bad in [
            "http://h:0",
            "http://h:65536",
            "http://h:",
            "http://h:08",
            "http://::1:9000",
            "http://:9000",
        ] {
            assert!(
                host(bad).unwrap_err().contains("buckets.b.endpoint"),
                "{bad}"
            );
        }
    }

    #[test]
    fn put_urls_only_where_the_operator_vouches_for_the_server() {
        let with = |backend: &str, extra: &str| {
            Policy::from_json(&format!(
                r#"{{"buckets":{{"b":{{"backend":"{backend}","endpoint":"https://h","region":"r",
                  "access_key_id_env":"K","secret_env":"S"{extra}}}}}}}"#
            ))
            .map(|p| p.bucket("b").unwrap().put_urls)
            .map_err(|e| e.to_string())
        };
        assert_eq!(
            with("s3", ""),
            Ok(true),
            "AWS S3 refuses unsigned x-amz-* headers"
        );
        assert_eq!(with("s3", r#","put_urls":false"#), Ok(false));
        for backend in ["minio", "r2", "gcs"] {
            assert_eq!(with(backend, ""), Ok(false), "{backend}");
            assert_eq!(with(backend, r#","put_urls":true"#), Ok(true), "{backend}");
        }
        let supabase = Policy::from_json(
            r#"{"buckets":{"b":{"backend":"supabase","auth":"user","apikey_env":"K","put_urls":true}}}"#,
        );
        assert!(supabase.unwrap_err().to_string().contains("put_urls"));
    }

    #[test]
    fn templates_read_only_claims_the_user_cannot_write() {
        let with = |path: &str, trusted: &str| {
            Policy::from_json(&format!(
                r#"{{"buckets":{{"b":{{"backend":"s3","region":"r","access_key_id_env":"K","secret_env":"S"}}}},
                  {trusted}"rules":[{{"bucket":"b","path":"{path}","methods":["GET"]}}]}}"#
            ))
            .map_err(|e| e.to_string())
        };
        for ok in [
            "users/{sub}/**",
            "orgs/{app_metadata.org_id}/**",
            "t/{app_metadata.a.b}/*",
        ] {
            assert!(with(ok, "").is_ok(), "{ok}");
        }
        for bad in [
            "users/{email}/**",
            "users/{phone}/**",
            "users/{user_metadata.org}/**",
            "users/{app_metadata}/**",
            "users/{tenant}/**",
            "users/{sub}/{email}",
        ] {
            let e = with(bad, "").unwrap_err();
            assert!(e.contains("rules[0].path"), "{bad}: {e}");
        }
        // A claim a custom access token hook sets, listed as trusted.
        assert!(with("t/{tenant}/**", r#""trusted_claims":["tenant"],"#).is_ok());
        assert!(
            with(
                "t/{user_metadata.x}/**",
                r#""trusted_claims":["user_metadata"],"#
            )
            .is_err(),
            "user_metadata is never trusted"
        );
    }

    #[test]
    fn bucket_names_are_host_and_path_safe() {
        let with = |name: &str| {
            Policy::from_json(&format!(
                r#"{{"buckets":{{"{name}":{{"backend":"s3","region":"r","access_key_id_env":"K","secret_env":"S"}}}}}}"#
            ))
        };
        for ok in ["b", "my-bucket.with.dots", "a_b", &"x".repeat(63)] {
            assert!(with(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Media",
            "evil.example#",
            "a/b",
            ".a",
            "a-",
            "a b",
            &"x".repeat(64),
        ] {
            assert!(with(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_policies_name_the_member() {
        for (bad, path) in [
            (
                r#"{"buckets":{"b":{"backend":"ftp"}}}"#,
                "buckets.b.backend",
            ),
            (
                r#"{"buckets":{"b":{"backend":"minio","access_key_id_env":"K","secret_env":"S"}}}"#,
                "buckets.b.endpoint",
            ),
            (
                r#"{"buckets":{"b":{"backend":"minio","endpoint":"http://h/path","access_key_id_env":"K","secret_env":"S"}}}"#,
                "buckets.b.endpoint",
            ),
            (
                r#"{"buckets":{"b":{"backend":"r2","endpoint":"https://a.r2.cloudflarestorage.com","access_key_id_env":"K","secret_env":"wJalrXUtnFEMI/K7MDENG"}}}"#,
                "buckets.b.secret_env",
            ),
            (
                r#"{"buckets":{"b":{"backend":"r2","endpoint":"https://h","access_key_id_env":"K"}}}"#,
                "buckets.b.secret_env",
            ),
            (
                r#"{"buckets":{"b":{"backend":"r2","endpoint":"https://h","access_key_id_env":"K","secret_env":"S","extra":1}}}"#,
                "buckets.b.extra",
            ),
            (
                r#"{"rules":[{"bucket":"x","path":"a/**","methods":["GET"]}]}"#,
                "rules[0].bucket",
            ),
            (r#"{"default_expires_in":604801}"#, "default_expires_in"),
            (
                r#"{"buckets":{"b":{"backend":"minio","endpoint":"http://h","access_key_id_env":"K","secret_env":"S","signature":"goog4"}}}"#,
                "buckets.b.signature",
            ),
            (
                r#"{"buckets":{"b":{"backend":"gcs","access_key_id_env":"K","secret_env":"S","signature":"goog4","session_token_env":"T"}}}"#,
                "buckets.b.session_token_env",
            ),
            (
                r#"{"buckets":{"b":{"backend":"gcs","access_key_id_env":"K","secret_env":"S","signature":"v2"}}}"#,
                "buckets.b.signature",
            ),
            (r#"{"rulez":[]}"#, "rulez"),
        ] {
            let e = Policy::from_json(bad).unwrap_err();
            assert_eq!(e.path, path, "{bad}: {e}");
        }
        let base = r#"{"buckets":{"b":{"backend":"r2","endpoint":"https://h","access_key_id_env":"K","secret_env":"S"}},"rules":[RULE]}"#;
        for (rule, path) in [
            (
                r#"{"bucket":"b","path":"a/../b","methods":["GET"]}"#,
                "rules[0].path",
            ),
            (
                r#"{"bucket":"b","path":"a/**","methods":[]}"#,
                "rules[0].methods",
            ),
            (
                r#"{"bucket":"b","path":"a/**","methods":["POST"]}"#,
                "rules[0].methods",
            ),
            (
                r#"{"bucket":"b","path":"a/**","methods":["GET"],"content_types":["*/*"]}"#,
                "rules[0].content_types",
            ),
            (
                r#"{"bucket":"b","path":"a/**","methods":["GET"],"max_expires_in":0}"#,
                "rules[0].max_expires_in",
            ),
            (
                r#"{"bucket":"b","path":"a/**","methods":["GET"],"maxsize":1}"#,
                "rules[0].maxsize",
            ),
            (
                r#"{"bucket":"b","path":"orgs/{user_metadata.org}/**","methods":["GET"]}"#,
                "rules[0].path",
            ),
        ] {
            let e = Policy::from_json(&base.replace("RULE", rule)).unwrap_err();
            assert_eq!(e.path, path, "{rule}: {e}");
        }
    }
}
