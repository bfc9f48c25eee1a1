//! The one SQL seam: Rust owns every statement; a runtime adapter owns the connection.
//!
//! The contract is deliberately text-only so that every driver we sit on (postgres.js on
//! Supabase, our own wire client over Hyperdrive on Cloudflare, PGlite in-process for local
//! work) behaves identically:
//! - parameters are text or NULL; statements cast them (`$1::uuid`);
//! - result columns are text or NULL; statements cast them (`claims::text`).
//!
//! So no driver-specific type mapping ever leaks into domain code.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;

/// A parameterised statement. Parameters are bound, never interpolated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// SQL text with `$1`, `$2`, … placeholders.
    pub sql: Cow<'static, str>,
    /// Parameter values as text; `None` is SQL NULL.
    pub params: Vec<Option<String>>,
}

impl Statement {
    /// A statement with no parameters yet.
    pub fn new(sql: impl Into<Cow<'static, str>>) -> Self {
        Self {
            sql: sql.into(),
            params: Vec::new(),
        }
    }

    /// Appends a parameter.
    #[must_use]
    pub fn bind(mut self, value: impl Into<String>) -> Self {
        self.params.push(Some(value.into()));
        self
    }

    /// Appends a parameter that may be NULL.
    #[must_use]
    pub fn bind_opt(mut self, value: Option<impl Into<String>>) -> Self {
        self.params.push(value.map(Into::into));
        self
    }
}

/// One result row: each column as text or NULL.
pub type Row = Vec<Option<String>>;

/// Executes statements. Implemented by the runtime adapters.
pub trait Db {
    /// Runs one statement and returns its rows (none for commands).
    fn query(&self, statement: &Statement) -> impl Future<Output = Result<Vec<Row>, DbError>>;
}

/// Why a statement did not run.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DbError {
    /// No database is configured for this deployment.
    NotConfigured,
    /// The database could not be reached or the session could not be established.
    Unavailable {
        /// For server logs only: what failed.
        detail: String,
    },
    /// The server rejected the statement.
    Rejected {
        /// The five-character SQLSTATE, e.g. `42P01` (undefined table).
        sqlstate: String,
        /// For server logs only: the server's message.
        detail: String,
    },
    /// The driver returned something outside the text contract.
    Protocol {
        /// For server logs only.
        detail: String,
    },
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotConfigured => f.write_str("no database configured"),
            Self::Unavailable { detail } => write!(f, "database unavailable: {detail}"),
            Self::Rejected { sqlstate, detail } => {
                write!(f, "database rejected statement ({sqlstate}): {detail}")
            }
            Self::Protocol { detail } => write!(f, "database driver protocol error: {detail}"),
        }
    }
}

impl std::error::Error for DbError {}

/// A [`Db`] for deployments without a database: every statement fails with
/// [`DbError::NotConfigured`].
#[derive(Clone, Copy, Debug, Default)]
pub struct NoDb;

impl Db for NoDb {
    async fn query(&self, _statement: &Statement) -> Result<Vec<Row>, DbError> {
        Err(DbError::NotConfigured)
    }
}

/// Quotes a possibly schema-qualified identifier (`schema.table`) for interpolation into SQL,
/// after checking each part is a plain identifier (`[A-Za-z_][A-Za-z0-9_$]*`, at most 63 bytes).
/// For configured table and column names, which cannot be bound as parameters.
///
/// Returns `None` when any part is not a plain identifier.
#[must_use]
pub fn quote_ident_path(path: &str) -> Option<String> {
    let mut out = String::with_capacity(path.len() + 4);
    for (i, part) in path.split('.').enumerate() {
        let mut chars = part.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
        if !first_ok || !rest_ok || part.len() > 63 || i > 1 {
            return None;
        }
        if i > 0 {
            out.push('.');
        }
        out.push('"');
        out.push_str(part);
        out.push('"');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_checked_and_quoted() {
        assert_eq!(
            quote_ident_path("portcullis.user_claims").as_deref(),
            Some("\"portcullis\".\"user_claims\"")
        );
        assert_eq!(quote_ident_path("claims").as_deref(), Some("\"claims\""));
        for bad in [
            "", "a.", ".a", "a.b.c", "1a", "a-b", "a\"b", "a;drop", "a b",
        ] {
            assert_eq!(quote_ident_path(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn statements_bind_in_order() {
        let s = Statement::new("select $1::uuid, $2")
            .bind("x")
            .bind_opt(None::<String>);
        assert_eq!(s.params, vec![Some("x".to_owned()), None]);
    }
}
