//! Encoding of times, ids and flags in columns, and typed getters on rows.

use chrono::{DateTime, SecondsFormat, Utc};
use coder_core::model::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;
use uuid::Uuid;

use crate::error::{Error, Result};

/// A time as stored: RFC 3339, UTC, microseconds (fixed width, so text order is time order).
pub fn ts(t: Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses a stored time.
pub fn parse_ts(s: &str) -> Result<Timestamp> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| Error::Internal(format!("stored time {s:?}: {e}")))
}

/// Typed column getters with errors that name the column.
pub(crate) trait RowExt {
    fn text(&self, col: &str) -> Result<String>;
    fn opt_text(&self, col: &str) -> Result<Option<String>>;
    fn int(&self, col: &str) -> Result<i64>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>>;
    fn bytes(&self, col: &str) -> Result<Vec<u8>>;
    fn flag(&self, col: &str) -> Result<bool> {
        Ok(self.int(col)? != 0)
    }
    fn uuid(&self, col: &str) -> Result<Uuid> {
        let s = self.text(col)?;
        Uuid::parse_str(&s).map_err(|e| Error::Internal(format!("column {col}: {e}")))
    }
    fn opt_uuid(&self, col: &str) -> Result<Option<Uuid>> {
        match self.opt_text(col)? {
            Some(s) if !s.is_empty() => Uuid::parse_str(&s)
                .map(Some)
                .map_err(|e| Error::Internal(format!("column {col}: {e}"))),
            _ => Ok(None),
        }
    }
    fn time(&self, col: &str) -> Result<Timestamp> {
        parse_ts(&self.text(col)?)
    }
    fn opt_time(&self, col: &str) -> Result<Option<Timestamp>> {
        self.opt_text(col)?.map(|s| parse_ts(&s)).transpose()
    }
    fn json<T: serde::de::DeserializeOwned>(&self, col: &str) -> Result<T> {
        let s = self.text(col)?;
        serde_json::from_str(&s).map_err(|e| Error::Internal(format!("column {col}: {e}")))
    }
}

impl RowExt for AnyRow {
    fn text(&self, col: &str) -> Result<String> {
        Ok(self.try_get::<String, _>(col)?)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>> {
        Ok(self.try_get::<Option<String>, _>(col)?)
    }
    fn int(&self, col: &str) -> Result<i64> {
        Ok(self.try_get::<i64, _>(col)?)
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>> {
        Ok(self.try_get::<Option<i64>, _>(col)?)
    }
    fn bytes(&self, col: &str) -> Result<Vec<u8>> {
        Ok(self.try_get::<Vec<u8>, _>(col)?)
    }
}

/// JSON text of a value (infallible for the plain data types stored here).
pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".to_owned())
}

/// A row whose columns of interest carry a prefix (`b_id`, `j_status`), for joined queries.
pub(crate) struct Prefixed<'a> {
    pub(crate) row: &'a AnyRow,
    pub(crate) prefix: &'static str,
}

impl Prefixed<'_> {
    fn col(&self, col: &str) -> String {
        format!("{}{col}", self.prefix)
    }
}

impl RowExt for Prefixed<'_> {
    fn text(&self, col: &str) -> Result<String> {
        self.row.text(&self.col(col))
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>> {
        self.row.opt_text(&self.col(col))
    }
    fn int(&self, col: &str) -> Result<i64> {
        self.row.int(&self.col(col))
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>> {
        self.row.opt_int(&self.col(col))
    }
    fn bytes(&self, col: &str) -> Result<Vec<u8>> {
        self.row.bytes(&self.col(col))
    }
}

/// `t.a AS pa, t.b AS pb, ...` for a joined query.
pub(crate) fn aliased(table: &str, prefix: &str, cols: &[&str]) -> String {
    cols.iter()
        .map(|c| format!("{table}.{c} AS {prefix}{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}
