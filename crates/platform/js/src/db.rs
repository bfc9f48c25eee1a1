//! The database through a JavaScript query function (postgres.js, PGlite, …).

use js_sys::Array;
use portcullis_core::{Db, DbError, Row, Statement};
use wasm_bindgen::prelude::*;

use crate::task::HostFuture;

/// Calls `query(sql, params) => Promise<(string|null)[][]>`; a rejection carrying a
/// five-character `code` is a server error (SQLSTATE), any other is "unavailable".
#[derive(Debug)]
pub struct JsDb(Option<js_sys::Function>);

impl JsDb {
    /// Wraps the query function (`None`: no database configured).
    #[must_use]
    pub fn new(query: Option<js_sys::Function>) -> Self {
        Self(query)
    }
}

fn error_field(e: &JsValue, field: &str) -> Option<String> {
    js_sys::Reflect::get(e, &JsValue::from_str(field))
        .ok()
        .and_then(|v| v.as_string())
}

fn to_db_error(e: &JsValue) -> DbError {
    let detail = error_field(e, "message")
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "query function failed".into());
    match error_field(e, "code") {
        Some(code) if code.len() == 5 && code.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            DbError::Rejected {
                sqlstate: code,
                detail,
            }
        }
        _ => DbError::Unavailable { detail },
    }
}

fn protocol(detail: &str) -> DbError {
    DbError::Protocol {
        detail: detail.into(),
    }
}

impl Db for JsDb {
    async fn query(&self, statement: &Statement) -> Result<Vec<Row>, DbError> {
        let Some(query) = &self.0 else {
            return Err(DbError::NotConfigured);
        };
        let params: Array = statement
            .params
            .iter()
            .map(|p| p.as_deref().map_or(JsValue::NULL, JsValue::from_str))
            .collect();
        let promise = query
            .call2(
                &JsValue::UNDEFINED,
                &JsValue::from_str(&statement.sql),
                &params,
            )
            .map_err(|e| to_db_error(&e))?;
        let result = HostFuture::new(&promise)
            .await
            .map_err(|e| to_db_error(&e))?;
        let rows: Array = result
            .dyn_into()
            .map_err(|_| protocol("the query function must resolve to an array of rows"))?;
        rows.iter()
            .map(|row| {
                let cells: Array = row
                    .dyn_into()
                    .map_err(|_| protocol("each row must be an array"))?;
                cells
                    .iter()
                    .map(|cell| {
                        if cell.is_null() || cell.is_undefined() {
                            Ok(None)
                        } else {
                            cell.as_string().map(Some).ok_or_else(|| {
                                protocol("cells must be text or null (cast columns to text)")
                            })
                        }
                    })
                    .collect()
            })
            .collect()
    }
}
