//! The custom access token policy: a declarative description of how GoTrue's claims are
//! reshaped, compiled once at start-up and applied per request.
//!
//! Order of application (each step sees the original claims as its source):
//! 1. rules whose `methods` match and carry `reject` refuse the token;
//! 2. looked-up claims are merged (never over reserved claims);
//! 3. `copy`, then `static` (base, then each matching rule);
//! 4. the role mapping;
//! 5. `drop` (base and matching rules);
//! 6. the size limit, shrinking by the configured order or refusing;
//! 7. GoTrue's schema check, so the answer is never one GoTrue would refuse.

use std::collections::BTreeMap;
use std::fmt;

use portcullis_core::Statement;
use portcullis_core::sql::quote_ident_path;
use serde::Deserialize;
use serde_json::Value;

use crate::claims::{self, SchemaViolation};
use crate::path::{Root, SourcePath, remove_nested};
use crate::payload::{CustomAccessTokenInput, Object};
use crate::policy::PolicyError;

/// Every `authentication_method` GoTrue sends (spec §6).
pub const AUTHENTICATION_METHODS: [&str; 17] = [
    "oauth",
    "password",
    "otp",
    "totp",
    "recovery",
    "invite",
    "sso/saml",
    "magiclink",
    "email/signup",
    "email_change",
    "token_refresh",
    "anonymous",
    "mfa/phone",
    "mfa/webauthn",
    "web3",
    "oauth_provider/authorization_code",
    "passkey",
];

/// Postgres roles a token must never carry: they bypass row-level security or administer
/// the project.
fn is_privileged_role(role: &str) -> bool {
    role == "service_role"
        || role == "authenticator"
        || role == "postgres"
        || role.starts_with("supabase_")
        || role.starts_with("pg_")
        || role == "dashboard_user"
        || role == "pgbouncer"
}

fn is_role_name(role: &str) -> bool {
    let mut chars = role.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && role.len() <= 63
}

// ---- configuration document (JSON or TOML) ----

/// `[access_token]` as written by the user.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct AccessTokenDoc {
    copy: BTreeMap<String, CopyDoc>,
    #[serde(rename = "static")]
    static_claims: Object,
    role: Option<RoleDoc>,
    drop: Vec<String>,
    max_bytes: Option<usize>,
    on_oversize: Option<OversizeDoc>,
    shrink: Option<Vec<String>>,
    lookup: Option<LookupDoc>,
    rules: Vec<RuleDoc>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
enum CopyDoc {
    Path(String),
    Full(CopyFullDoc),
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CopyFullDoc {
    from: String,
    default: Option<Value>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleDoc {
    from: String,
    #[serde(default)]
    map: BTreeMap<String, String>,
    default: Option<String>,
    claim: Option<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum OversizeDoc {
    Shrink,
    Reject,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum OnErrorDoc {
    #[default]
    Reject,
    Skip,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct LookupDoc {
    table: String,
    key_column: String,
    claims_column: String,
    on_error: OnErrorDoc,
    merge: bool,
}

impl Default for LookupDoc {
    fn default() -> Self {
        Self {
            table: "portcullis.user_claims".into(),
            key_column: "user_id".into(),
            claims_column: "claims".into(),
            on_error: OnErrorDoc::Reject,
            merge: true,
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RuleDoc {
    methods: Vec<String>,
    copy: BTreeMap<String, CopyDoc>,
    #[serde(rename = "static")]
    static_claims: Object,
    drop: Vec<String>,
    reject: Option<String>,
}

// ---- compiled policy ----

#[derive(Clone, Debug)]
struct Copy {
    claim: String,
    from: SourcePath,
    default: Option<Value>,
}

#[derive(Clone, Debug)]
enum DropTarget {
    Claim(String),
    Nested {
        top: &'static str,
        keys: Vec<String>,
    },
}

impl DropTarget {
    fn parse(text: &str, at: &str) -> Result<Self, PolicyError> {
        if let Some((top, rest)) = text.split_once('.') {
            let top = match top {
                "app_metadata" => "app_metadata",
                "user_metadata" => "user_metadata",
                _ => {
                    return Err(PolicyError::new(
                        at,
                        format!(
                            "`{text}`: only keys inside app_metadata or user_metadata can be dropped by path"
                        ),
                    ));
                }
            };
            let keys: Vec<String> = rest.split('.').map(str::to_owned).collect();
            if keys.iter().any(String::is_empty) {
                return Err(PolicyError::new(at, format!("`{text}` has an empty key")));
            }
            return Ok(Self::Nested { top, keys });
        }
        if text.is_empty() {
            return Err(PolicyError::new(at, "empty claim name"));
        }
        if claims::is_required(text) {
            return Err(PolicyError::new(
                at,
                format!("`{text}` is required by Supabase Auth and cannot be dropped"),
            ));
        }
        Ok(Self::Claim(text.to_owned()))
    }

    fn apply(&self, claims: &mut Object) -> bool {
        match self {
            Self::Claim(name) => claims.remove(name).is_some(),
            Self::Nested { top, keys } => {
                remove_nested(claims, top, keys);
                true
            }
        }
    }
}

#[derive(Clone, Debug)]
struct RoleMapping {
    from: SourcePath,
    map: BTreeMap<String, String>,
    default: Option<String>,
    claim: Option<String>,
}

#[derive(Clone, Debug)]
struct Rule {
    methods: Vec<String>,
    copies: Vec<Copy>,
    statics: Vec<(String, Value)>,
    drops: Vec<DropTarget>,
    reject: Option<String>,
}

impl Rule {
    fn matches(&self, method: &str) -> bool {
        self.methods.iter().any(|m| m == method)
    }
}

/// How the claims lookup is done and what happens when it fails.
#[derive(Clone, Debug)]
pub struct Lookup {
    sql: String,
    /// Whether a failed lookup refuses the token (`true`) or is skipped.
    pub fail_closed: bool,
    merge: bool,
}

impl Lookup {
    /// The statement that fetches the user's extra claims (one text column holding a JSON
    /// object, zero or one row).
    #[must_use]
    pub fn statement(&self, user_id: &str) -> Statement {
        Statement::new(self.sql.clone()).bind(user_id)
    }
}

/// What to do when the claims exceed `max_bytes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Oversize {
    Shrink,
    Reject,
}

/// The compiled custom access token policy.
#[derive(Clone, Debug, Default)]
pub struct AccessTokenPolicy {
    copies: Vec<Copy>,
    statics: Vec<(String, Value)>,
    role: Option<RoleMapping>,
    drops: Vec<DropTarget>,
    max_bytes: Option<usize>,
    oversize: Option<Oversize>,
    shrink: Vec<DropTarget>,
    lookup: Option<Lookup>,
    rules: Vec<Rule>,
}

fn check_custom_claim(name: &str, at: &str) -> Result<(), PolicyError> {
    if name.is_empty() || name.len() > 255 {
        return Err(PolicyError::new(at, "claim names must be 1 to 255 bytes"));
    }
    if claims::is_reserved(name) {
        return Err(PolicyError::new(
            at,
            format!(
                "`{name}` is a reserved claim; a policy can only add custom claims (use `role` for the role)"
            ),
        ));
    }
    Ok(())
}

fn compile_copies(
    docs: BTreeMap<String, CopyDoc>,
    at: &str,
    has_lookup: bool,
) -> Result<Vec<Copy>, PolicyError> {
    docs.into_iter()
        .map(|(claim, doc)| {
            let at = format!("{at}.{claim}");
            check_custom_claim(&claim, &at)?;
            let (from, default) = match doc {
                CopyDoc::Path(p) => (p, None),
                CopyDoc::Full(f) => (f.from, f.default),
            };
            let from = SourcePath::parse(&from).map_err(|r| PolicyError::new(&at, r))?;
            if from.root == Root::Lookup && !has_lookup {
                return Err(PolicyError::new(
                    &at,
                    "reads `lookup.…` but no [access_token.lookup] is configured",
                ));
            }
            Ok(Copy {
                claim,
                from,
                default,
            })
        })
        .collect()
}

fn compile_statics(docs: Object, at: &str) -> Result<Vec<(String, Value)>, PolicyError> {
    docs.into_iter()
        .map(|(k, v)| {
            check_custom_claim(&k, &format!("{at}.{k}"))?;
            Ok((k, v))
        })
        .collect()
}

fn compile_drops(docs: &[String], at: &str) -> Result<Vec<DropTarget>, PolicyError> {
    docs.iter()
        .enumerate()
        .map(|(i, d)| DropTarget::parse(d, &format!("{at}[{i}]")))
        .collect()
}

impl AccessTokenPolicy {
    pub(crate) fn compile(doc: AccessTokenDoc) -> Result<Self, PolicyError> {
        const AT: &str = "access_token";
        let lookup = doc
            .lookup
            .map(|l| {
                let quote = |name: &str, field: &str| {
                    quote_ident_path(name).ok_or_else(|| {
                        PolicyError::new(
                            &format!("{AT}.lookup.{field}"),
                            format!("`{name}` is not a plain identifier (letters, digits, `_`; `schema.table` for tables)"),
                        )
                    })
                };
                let table = quote(&l.table, "table")?;
                let key = quote(&l.key_column, "key_column")?;
                let column = quote(&l.claims_column, "claims_column")?;
                if key.contains('.') || column.contains('.') {
                    return Err(PolicyError::new(&format!("{AT}.lookup"), "column names cannot be qualified"));
                }
                Ok(Lookup {
                    sql: format!("select {column}::text from {table} where {key} = $1::uuid limit 1"),
                    fail_closed: l.on_error == OnErrorDoc::Reject,
                    merge: l.merge,
                })
            })
            .transpose()?;
        let has_lookup = lookup.is_some();

        let role = doc
            .role
            .map(|r| {
                let at = format!("{AT}.role");
                let from = SourcePath::parse(&r.from).map_err(|e| PolicyError::new(&format!("{at}.from"), e))?;
                if from.root == Root::UserMetadata {
                    return Err(PolicyError::new(
                        &format!("{at}.from"),
                        "user_metadata is writable by the user and must not decide the role; use app_metadata or lookup",
                    ));
                }
                if from.root == Root::Lookup && !has_lookup {
                    return Err(PolicyError::new(&format!("{at}.from"), "reads `lookup.…` but no [access_token.lookup] is configured"));
                }
                for (app_role, pg_role) in r.map.iter().map(|(k, v)| (k.as_str(), v)).chain(r.default.iter().map(|d| ("default", d))) {
                    let at = format!("{at}.map.{app_role}");
                    if !is_role_name(pg_role) {
                        return Err(PolicyError::new(&at, format!("`{pg_role}` is not a Postgres role name")));
                    }
                    if is_privileged_role(pg_role) {
                        return Err(PolicyError::new(&at, format!("`{pg_role}` bypasses row-level security or administers the project; tokens must never carry it")));
                    }
                }
                if let Some(claim) = &r.claim {
                    check_custom_claim(claim, &format!("{at}.claim"))?;
                }
                Ok(RoleMapping { from, map: r.map, default: r.default, claim: r.claim })
            })
            .transpose()?;

        let rules = doc
            .rules
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                let at = format!("{AT}.rules[{i}]");
                if r.methods.is_empty() {
                    return Err(PolicyError::new(&format!("{at}.methods"), "list at least one authentication method"));
                }
                for m in &r.methods {
                    if !AUTHENTICATION_METHODS.contains(&m.as_str()) {
                        return Err(PolicyError::new(
                            &format!("{at}.methods"),
                            format!("`{m}` is not an authentication method Supabase Auth sends; expected one of: {}", AUTHENTICATION_METHODS.join(", ")),
                        ));
                    }
                }
                if r.reject.as_deref().is_some_and(|m| m.trim().is_empty()) {
                    return Err(PolicyError::new(&format!("{at}.reject"), "the rejection message must not be empty"));
                }
                Ok(Rule {
                    methods: r.methods,
                    copies: compile_copies(r.copy, &format!("{at}.copy"), has_lookup)?,
                    statics: compile_statics(r.static_claims, &format!("{at}.static"))?,
                    drops: compile_drops(&r.drop, &format!("{at}.drop"))?,
                    reject: r.reject,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;

        if doc.max_bytes.is_some_and(|m| m < 256) {
            return Err(PolicyError::new(
                &format!("{AT}.max_bytes"),
                "must be at least 256",
            ));
        }
        if doc.max_bytes.is_none() && (doc.on_oversize.is_some() || doc.shrink.is_some()) {
            return Err(PolicyError::new(
                &format!("{AT}.max_bytes"),
                "`on_oversize` and `shrink` need `max_bytes`",
            ));
        }
        let shrink = match &doc.shrink {
            Some(list) => compile_drops(list, &format!("{AT}.shrink"))?,
            None => vec![DropTarget::Claim("user_metadata".into())],
        };
        Ok(Self {
            copies: compile_copies(doc.copy, &format!("{AT}.copy"), has_lookup)?,
            statics: compile_statics(doc.static_claims, &format!("{AT}.static"))?,
            role,
            drops: compile_drops(&doc.drop, &format!("{AT}.drop"))?,
            max_bytes: doc.max_bytes,
            oversize: doc.on_oversize.map(|o| match o {
                OversizeDoc::Shrink => Oversize::Shrink,
                OversizeDoc::Reject => Oversize::Reject,
            }),
            shrink,
            lookup,
            rules,
        })
    }

    /// The claims lookup, when one is configured.
    #[must_use]
    pub fn lookup(&self) -> Option<&Lookup> {
        self.lookup.as_ref()
    }

    /// Applies the policy. `looked_up` is the lookup row's JSON object, if any.
    ///
    /// # Errors
    /// [`AccessTokenError`] when a rule refuses the token, the claims cannot be made to fit,
    /// or they would fail GoTrue's schema.
    pub fn apply(
        &self,
        input: &CustomAccessTokenInput,
        looked_up: Option<&Object>,
    ) -> Result<Applied, AccessTokenError> {
        let method = input.authentication_method.as_str();
        let rules: Vec<&Rule> = self.rules.iter().filter(|r| r.matches(method)).collect();
        if let Some(message) = rules.iter().find_map(|r| r.reject.as_ref()) {
            return Err(AccessTokenError::Refused {
                message: message.clone(),
            });
        }

        let source = &input.claims;
        let mut out = source.clone();
        let mut ignored = Vec::new();

        if let (Some(lookup), Some(row)) = (&self.lookup, looked_up)
            && lookup.merge
        {
            for (k, v) in row {
                if claims::is_reserved(k) {
                    ignored.push(k.clone());
                } else {
                    out.insert(k.clone(), v.clone());
                }
            }
        }

        let copies = self
            .copies
            .iter()
            .chain(rules.iter().flat_map(|r| r.copies.iter()));
        for c in copies {
            if let Some(v) = c.from.get(source, looked_up).or(c.default.as_ref()) {
                out.insert(c.claim.clone(), v.clone());
            }
        }
        let statics = self
            .statics
            .iter()
            .chain(rules.iter().flat_map(|r| r.statics.iter()));
        for (k, v) in statics {
            out.insert(k.clone(), v.clone());
        }

        if let Some(role) = &self.role {
            let app_roles: Vec<&str> = match role.from.get(source, looked_up) {
                Some(Value::String(s)) => vec![s.as_str()],
                Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            let mapped = app_roles
                .iter()
                .find_map(|r| role.map.get(*r).map(|pg| (*r, pg)));
            match (mapped, &role.default) {
                (Some((_, pg)), _) | (None, Some(pg)) => {
                    out.insert("role".into(), Value::String(pg.clone()));
                }
                (None, None) => {}
            }
            if let Some(claim) = &role.claim {
                match mapped.map(|(app, _)| app).or(app_roles.first().copied()) {
                    Some(app) => out.insert(claim.clone(), Value::String(app.to_owned())),
                    None => out.remove(claim),
                };
            }
        }

        let drops = self
            .drops
            .iter()
            .chain(rules.iter().flat_map(|r| r.drops.iter()));
        for d in drops {
            d.apply(&mut out);
        }

        if let Some(max) = self.max_bytes {
            let mut size = encoded_len(&out);
            if size > max && self.oversize != Some(Oversize::Reject) {
                for d in &self.shrink {
                    if size <= max {
                        break;
                    }
                    if d.apply(&mut out) {
                        size = encoded_len(&out);
                    }
                }
            }
            if size > max {
                return Err(AccessTokenError::TooLarge { size, max });
            }
        }

        claims::check_gotrue_schema(&out).map_err(AccessTokenError::Schema)?;
        Ok(Applied {
            claims: out,
            ignored_lookup_claims: ignored,
        })
    }
}

fn encoded_len(claims: &Object) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing to a counter cannot fail; on the impossible error the size reads as 0.
    let _ = serde_json::to_writer(&mut counter, claims);
    counter.0
}

/// The result of applying the policy.
#[derive(Clone, Debug, PartialEq)]
pub struct Applied {
    /// The claims to answer with.
    pub claims: Object,
    /// Reserved claim names found in the lookup row and not merged (for a warning in logs).
    pub ignored_lookup_claims: Vec<String>,
}

/// Why the policy refuses to produce claims.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum AccessTokenError {
    /// A rule refuses tokens for this authentication method.
    Refused {
        /// The configured message, shown to the end user.
        message: String,
    },
    /// The claims exceed `max_bytes` even after shrinking.
    TooLarge {
        /// Encoded size in bytes.
        size: usize,
        /// The configured limit.
        max: usize,
    },
    /// The claims would fail GoTrue's schema (the input was already invalid).
    Schema(SchemaViolation),
}

impl fmt::Display for AccessTokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused { message } => write!(f, "refused by policy: {message}"),
            Self::TooLarge { size, max } => {
                write!(
                    f,
                    "access token claims are {size} bytes, over the {max}-byte limit"
                )
            }
            Self::Schema(v) => write!(f, "claims would be refused by Supabase Auth: {v}"),
        }
    }
}

impl std::error::Error for AccessTokenError {}
