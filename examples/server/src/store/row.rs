//! How stored rows map to Rust: wire enums as their text ([`WireText`]), and `prefixed_row!`
//! for the rows a joined query reads next to each other (workspace, build, job), which derives
//! `FromRow` and also reads the same struct from `prefix`-named columns, from one declaration
//! of the fields.

use coder_core::model::{
    LogLevel, LogSource, ProvisionerJobStatus, ProvisionerJobType, ProvisionerType,
    WorkspaceTransition,
};
use coder_core::wire::WireEnum;

/// A wire enum's text as stored (`running`, `start`); fields decode it with
/// `#[sqlx(try_from = "WireText")]`, through `WireEnum::from_wire`, so a string this version
/// does not know survives as `Unknown`. Values are bound with `as_str()`.
#[derive(sqlx::Type)]
#[sqlx(transparent)]
pub(crate) struct WireText(String);

macro_rules! from_wire_text {
    ($($enum:ty),* $(,)?) => {
        $(impl From<WireText> for $enum {
            fn from(text: WireText) -> Self {
                <$enum>::from_wire(&text.0)
            }
        })*
    };
}

from_wire_text!(
    LogLevel,
    LogSource,
    ProvisionerJobStatus,
    ProvisionerJobType,
    ProvisionerType,
    WorkspaceTransition,
);

/// A struct read from the columns of a joined query whose names carry a prefix (`b_id`).
pub(crate) trait FromPrefixed<R>: Sized {
    /// Reads the struct from the columns named `prefix` + field name.
    fn from_prefixed(row: &R, prefix: &str) -> sqlx::Result<Self>;
}

/// Declares a stored row struct whose field names are its columns: derives `sqlx::FromRow`,
/// lists the columns (`COLUMNS`, for `t.col AS pcol` aliases) and implements [`FromPrefixed`]
/// for both backends' rows. A field takes `#[sqlx(json)]` (a JSON column) or
/// `#[sqlx(try_from = "WireText")]` (a wire enum), read the same way in both mappings.
macro_rules! prefixed_row {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[doc = $doc:expr])*
                $(#[sqlx($($attr:tt)*)])?
                pub $field:ident: $ty:ty,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(sqlx::FromRow)]
        pub struct $name {
            $(
                $(#[doc = $doc])*
                $(#[sqlx($($attr)*)])?
                pub $field: $ty,
            )*
        }

        impl $name {
            /// The columns, in declaration order.
            pub(crate) const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),*];
        }

        $crate::store::row::prefixed_row!(
            @decode $name, sqlx::sqlite::SqliteRow, [$($field: $ty [$($($attr)*)?]),*]
        );
        $crate::store::row::prefixed_row!(
            @decode $name, sqlx::postgres::PgRow, [$($field: $ty [$($($attr)*)?]),*]
        );
    };
    (@decode $name:ident, $row:ty, [$($field:ident: $ty:ty [$($attr:tt)*]),*]) => {
        impl $crate::store::row::FromPrefixed<$row> for $name {
            fn from_prefixed(row: &$row, prefix: &str) -> sqlx::Result<Self> {
                use sqlx::Row as _;
                Ok(Self {
                    $($field: $crate::store::row::prefixed_row!(
                        @get row, format!("{prefix}{}", stringify!($field)), $ty, $($attr)*
                    ),)*
                })
            }
        }
    };
    (@get $row:ident, $col:expr, $ty:ty, json) => {
        $row.try_get::<sqlx::types::Json<$ty>, _>($col.as_str())?.0
    };
    (@get $row:ident, $col:expr, $ty:ty, try_from = "WireText") => {
        <$ty>::from($row.try_get::<$crate::store::row::WireText, _>($col.as_str())?)
    };
    (@get $row:ident, $col:expr, $ty:ty,) => {
        $row.try_get::<$ty, _>($col.as_str())?
    };
}
pub(crate) use prefixed_row;

/// `t.a AS pa, t.b AS pb, ...`: a row's columns under a prefix, for a joined query.
pub(crate) fn aliased(table: &str, prefix: &str, cols: &[&str]) -> String {
    cols.iter()
        .map(|c| format!("{table}.{c} AS {prefix}{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}
