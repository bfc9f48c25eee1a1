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
use portcullis_core::json::{JsonError, Object, Strict, Value};
use portcullis_core::sql::quote_ident_path;

use crate::claims::{self, Claims, SchemaViolation};
use crate::path::{Root, SourcePath};

type PolicyError = JsonError;

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

    fn apply(&self, claims: &mut Claims<'_>) -> bool {
        match self {
            Self::Claim(name) => claims.remove(name),
            Self::Nested { top, keys } => match claims.object_mut(top) {
                Some(doc) => {
                    doc.remove_path(keys);
                    true
                }
                None => false,
            },
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

fn needs_lookup(from: &SourcePath, has_lookup: bool, at: &str) -> Result<(), PolicyError> {
    if from.root == Root::Lookup && !has_lookup {
        return Err(PolicyError::new(
            at,
            "reads `lookup.…` but no [access_token.lookup] is configured",
        ));
    }
    Ok(())
}

fn read_copies(
    r: &mut Strict<'_>,
    key: &'static str,
    has_lookup: bool,
) -> Result<Vec<Copy>, PolicyError> {
    let base = r.path_of(key);
    let Some(table) = r.free_object(key)? else {
        return Ok(Vec::new());
    };
    table
        .iter()
        .map(|(claim, spec)| {
            let at = format!("{base}.{claim}");
            check_custom_claim(claim, &at)?;
            let (from, default) = match spec {
                Value::String(from) => (from.as_str(), None),
                other => {
                    let mut o = Strict::new(other, &at)?;
                    let from = o
                        .str("from")?
                        .ok_or_else(|| PolicyError::new(o.path_of("from"), "required"))?;
                    let default = o.value("default").cloned();
                    o.finish()?;
                    (from, default)
                }
            };
            let from = SourcePath::parse(from).map_err(|e| PolicyError::new(&at, e))?;
            needs_lookup(&from, has_lookup, &at)?;
            Ok(Copy {
                claim: claim.clone(),
                from,
                default,
            })
        })
        .collect()
}

fn read_statics(
    r: &mut Strict<'_>,
    key: &'static str,
) -> Result<Vec<(String, Value)>, PolicyError> {
    let base = r.path_of(key);
    let Some(table) = r.free_object(key)? else {
        return Ok(Vec::new());
    };
    table
        .iter()
        .map(|(k, v)| {
            check_custom_claim(k, &format!("{base}.{k}"))?;
            Ok((k.clone(), v.clone()))
        })
        .collect()
}

fn read_drops(r: &mut Strict<'_>, key: &'static str) -> Result<Vec<DropTarget>, PolicyError> {
    let base = r.path_of(key);
    r.strings(key)?
        .iter()
        .enumerate()
        .map(|(i, d)| DropTarget::parse(d, &format!("{base}[{i}]")))
        .collect()
}

fn read_lookup(mut l: Strict<'_>) -> Result<Lookup, PolicyError> {
    let mut ident =
        |key: &'static str, default: &str, qualified: bool| -> Result<String, PolicyError> {
            let at = l.path_of(key);
            let name = l.str(key)?.unwrap_or(default);
            quote_ident_path(name)
                .filter(|q| qualified || !q.contains('.'))
                .ok_or_else(|| {
                    PolicyError::new(
                        at,
                        format!(
                            "`{name}` is not a plain identifier (letters, digits, `_`{})",
                            if qualified {
                                "; `schema.table` for tables"
                            } else {
                                ""
                            }
                        ),
                    )
                })
        };
    let table = ident("table", "portcullis.user_claims", true)?;
    let key = ident("key_column", "user_id", false)?;
    let column = ident("claims_column", "claims", false)?;
    let fail_closed = match l.str("on_error")? {
        None | Some("reject") => true,
        Some("skip") => false,
        Some(other) => {
            return Err(PolicyError::new(
                l.path_of("on_error"),
                format!("`{other}`: expected \"reject\" or \"skip\""),
            ));
        }
    };
    let merge = l.bool("merge")?.unwrap_or(true);
    l.finish()?;
    Ok(Lookup {
        sql: format!("select {column}::text from {table} where {key} = $1::uuid limit 1"),
        fail_closed,
        merge,
    })
}

fn read_role(mut r: Strict<'_>, has_lookup: bool) -> Result<RoleMapping, PolicyError> {
    let from_at = r.path_of("from");
    let from = r
        .str("from")?
        .ok_or_else(|| PolicyError::new(&from_at, "required, e.g. \"app_metadata.role\""))?;
    let from = SourcePath::parse(from).map_err(|e| PolicyError::new(&from_at, e))?;
    if from.root == Root::UserMetadata {
        return Err(PolicyError::new(
            &from_at,
            "user_metadata is writable by the user and must not decide the role; use app_metadata or lookup",
        ));
    }
    needs_lookup(&from, has_lookup, &from_at)?;
    let map_at = r.path_of("map");
    let mut map = BTreeMap::new();
    for (app_role, pg) in r.free_object("map")?.into_iter().flatten() {
        let pg = pg.as_str().ok_or_else(|| {
            PolicyError::new(
                format!("{map_at}.{app_role}"),
                "expected a role name string",
            )
        })?;
        map.insert(app_role.clone(), pg.to_owned());
    }
    let default = r.str("default")?.map(str::to_owned);
    let claim = r.str("claim")?.map(str::to_owned);
    for (app_role, pg_role) in map
        .iter()
        .map(|(k, v)| (k.as_str(), v))
        .chain(default.iter().map(|d| ("default", d)))
    {
        let at = format!("{map_at}.{app_role}");
        if !is_role_name(pg_role) {
            return Err(PolicyError::new(
                &at,
                format!("`{pg_role}` is not a Postgres role name"),
            ));
        }
        if is_privileged_role(pg_role) {
            return Err(PolicyError::new(
                &at,
                format!(
                    "`{pg_role}` bypasses row-level security or administers the project; tokens must never carry it"
                ),
            ));
        }
    }
    if let Some(claim) = &claim {
        check_custom_claim(claim, &r.path_of("claim"))?;
    }
    r.finish()?;
    Ok(RoleMapping {
        from,
        map,
        default,
        claim,
    })
}

fn read_rule(mut r: Strict<'_>, has_lookup: bool) -> Result<Rule, PolicyError> {
    let methods_at = r.path_of("methods");
    let methods: Vec<String> = r
        .strings("methods")?
        .into_iter()
        .map(str::to_owned)
        .collect();
    if methods.is_empty() {
        return Err(PolicyError::new(
            &methods_at,
            "list at least one authentication method",
        ));
    }
    for m in &methods {
        if !AUTHENTICATION_METHODS.contains(&m.as_str()) {
            return Err(PolicyError::new(
                &methods_at,
                format!(
                    "`{m}` is not an authentication method Supabase Auth sends; expected one of: {}",
                    AUTHENTICATION_METHODS.join(", ")
                ),
            ));
        }
    }
    let reject = r.str("reject")?.map(str::to_owned);
    if reject.as_deref().is_some_and(|m| m.trim().is_empty()) {
        return Err(PolicyError::new(
            r.path_of("reject"),
            "the rejection message must not be empty",
        ));
    }
    let rule = Rule {
        methods,
        copies: read_copies(&mut r, "copy", has_lookup)?,
        statics: read_statics(&mut r, "static")?,
        drops: read_drops(&mut r, "drop")?,
        reject,
    };
    r.finish()?;
    Ok(rule)
}

impl AccessTokenPolicy {
    /// Compiles `[access_token]`.
    pub(crate) fn read(mut r: Strict<'_>) -> Result<Self, PolicyError> {
        let lookup = r.object("lookup")?.map(read_lookup).transpose()?;
        let has_lookup = lookup.is_some();
        let role = r
            .object("role")?
            .map(|o| read_role(o, has_lookup))
            .transpose()?;
        let max_at = r.path_of("max_bytes");
        let max_bytes = r
            .u64("max_bytes")?
            .map(|m| usize::try_from(m).unwrap_or(usize::MAX));
        if max_bytes.is_some_and(|m| m < 256) {
            return Err(PolicyError::new(&max_at, "must be at least 256"));
        }
        let oversize = match r.str("on_oversize")? {
            None => None,
            Some("shrink") => Some(Oversize::Shrink),
            Some("reject") => Some(Oversize::Reject),
            Some(other) => {
                return Err(PolicyError::new(
                    r.path_of("on_oversize"),
                    format!("`{other}`: expected \"shrink\" or \"reject\""),
                ));
            }
        };
        let has_shrink = r.value("shrink").is_some();
        if max_bytes.is_none() && (oversize.is_some() || has_shrink) {
            return Err(PolicyError::new(
                &max_at,
                "`on_oversize` and `shrink` need `max_bytes`",
            ));
        }
        let shrink = if has_shrink {
            read_drops(&mut r, "shrink")?
        } else {
            vec![DropTarget::Claim("user_metadata".into())]
        };
        let rules_at = r.path_of("rules");
        let rules = r
            .array("rules")?
            .iter()
            .enumerate()
            .map(|(i, v)| read_rule(Strict::new(v, &format!("{rules_at}[{i}]"))?, has_lookup))
            .collect::<Result<Vec<_>, _>>()?;
        let policy = Self {
            copies: read_copies(&mut r, "copy", has_lookup)?,
            statics: read_statics(&mut r, "static")?,
            role,
            drops: read_drops(&mut r, "drop")?,
            max_bytes,
            oversize,
            shrink,
            lookup,
            rules,
        };
        r.finish()?;
        Ok(policy)
    }

    /// The claims lookup, when one is configured.
    #[must_use]
    pub fn lookup(&self) -> Option<&Lookup> {
        self.lookup.as_ref()
    }

    /// The message of the first rule that refuses tokens for `method`, if any.
    #[must_use]
    pub fn refusal(&self, method: &str) -> Option<&str> {
        self.rules
            .iter()
            .filter(|r| r.matches(method))
            .find_map(|r| r.reject.as_deref())
    }

    /// Applies the policy to the claims GoTrue sent for `method`, in place. `looked_up` is
    /// the lookup row's JSON object, if any.
    ///
    /// Working in place is sound because no step writes what a later step reads: sources are
    /// `app_metadata`, `user_metadata` and the lookup row, while every write goes to a custom
    /// claim or the role, and drops run last.
    ///
    /// # Errors
    /// [`AccessTokenError`] when a rule refuses the token, the claims cannot be made to fit,
    /// or they would fail GoTrue's schema.
    pub fn apply<'a>(
        &self,
        mut claims: Claims<'a>,
        method: &str,
        looked_up: Option<&Object>,
    ) -> Result<Applied<'a>, AccessTokenError> {
        if let Some(message) = self.refusal(method) {
            return Err(AccessTokenError::Refused {
                message: message.to_owned(),
            });
        }
        let rules: Vec<&Rule> = self.rules.iter().filter(|r| r.matches(method)).collect();
        let mut ignored = Vec::new();

        if let (Some(lookup), Some(row)) = (&self.lookup, looked_up)
            && lookup.merge
        {
            for (k, v) in row {
                if claims::is_reserved(k) {
                    ignored.push(k.clone());
                } else {
                    claims.insert(k.clone(), v.clone());
                }
            }
        }

        let copies = self
            .copies
            .iter()
            .chain(rules.iter().flat_map(|r| r.copies.iter()));
        for c in copies {
            let value = c
                .from
                .get(&mut claims, looked_up)
                .or(c.default.as_ref())
                .cloned();
            if let Some(v) = value {
                claims.insert(c.claim.clone(), v);
            }
        }
        let statics = self
            .statics
            .iter()
            .chain(rules.iter().flat_map(|r| r.statics.iter()));
        for (k, v) in statics {
            claims.insert(k.clone(), v.clone());
        }

        if let Some(role) = &self.role {
            let app_roles: Vec<String> = match role.from.get(&mut claims, looked_up) {
                Some(Value::String(s)) => vec![s.clone()],
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
                _ => Vec::new(),
            };
            let mapped = app_roles
                .iter()
                .find_map(|r| role.map.get(r).map(|pg| (r.as_str(), pg)));
            match (mapped, &role.default) {
                (Some((_, pg)), _) | (None, Some(pg)) => {
                    claims.insert("role".into(), Value::String(pg.clone()));
                }
                (None, None) => {}
            }
            if let Some(claim) = &role.claim {
                match mapped
                    .map(|(app, _)| app)
                    .or(app_roles.first().map(String::as_str))
                {
                    Some(app) => claims.insert(claim.clone(), Value::String(app.to_owned())),
                    None => {
                        claims.remove(claim);
                    }
                }
            }
        }

        let drops = self
            .drops
            .iter()
            .chain(rules.iter().flat_map(|r| r.drops.iter()));
        for d in drops {
            d.apply(&mut claims);
        }

        if let Some(max) = self.max_bytes {
            let mut size = claims.encoded_len();
            if size > max && self.oversize != Some(Oversize::Reject) {
                for d in &self.shrink {
                    if size <= max {
                        break;
                    }
                    if d.apply(&mut claims) {
                        size = claims.encoded_len();
                    }
                }
            }
            if size > max {
                return Err(AccessTokenError::TooLarge { size, max });
            }
        }

        claims
            .check_gotrue_schema()
            .map_err(AccessTokenError::Schema)?;
        Ok(Applied {
            claims,
            ignored_lookup_claims: ignored,
        })
    }
}

/// The result of applying the policy.
#[derive(Clone, Debug)]
pub struct Applied<'a> {
    /// The claims to answer with.
    pub claims: Claims<'a>,
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
