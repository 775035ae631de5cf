//! What commands print: aligned tables in Coder's style (upper-case headers, two spaces
//! between columns), JSON for scripts, and relative times.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::{CliError, Result};

/// Renders rows under upper-cased headers, each column as wide as its widest cell.
pub(crate) fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let width = |i: usize| {
        rows.iter()
            .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
            .chain(std::iter::once(headers[i].chars().count()))
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..headers.len()).map(width).collect();
    let mut out = String::new();
    let header_row: Vec<String> = headers.iter().map(|h| h.to_uppercase()).collect();
    for row in std::iter::once(&header_row).chain(rows) {
        let mut line = String::new();
        for (i, w) in widths.iter().enumerate() {
            let cell = row.get(i).map_or("", String::as_str);
            if i + 1 == widths.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A column a table command offers: Coder's name for it, and its cell for one row.
pub(crate) struct Column<'a, T> {
    name: &'static str,
    cell: Box<dyn Fn(&T) -> String + 'a>,
}

/// A column named `name` (Coder's spelling) whose cells `cell` renders.
pub(crate) fn column<'a, T>(name: &'static str, cell: impl Fn(&T) -> String + 'a) -> Column<'a, T> {
    Column {
        name,
        cell: Box::new(cell),
    }
}

/// Renders `rows` in the columns chosen with `-c` (Coder's names, any case), or in
/// `defaults` when none were chosen; an unknown name is a usage error listing the choices.
pub(crate) fn select<T>(
    rows: &[T],
    columns: &[Column<'_, T>],
    defaults: &[&str],
    chosen: &[String],
) -> Result<String> {
    let wanted: Vec<&str> = if chosen.is_empty() {
        defaults.to_vec()
    } else {
        chosen.iter().map(|c| c.trim()).collect()
    };
    let picked = wanted
        .iter()
        .map(|w| {
            columns
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(w))
                .ok_or_else(|| {
                    let names: Vec<&str> = columns.iter().map(|c| c.name).collect();
                    CliError::Usage(format!(
                        "unknown column {w:?} for --column: choose from {}",
                        names.join(", ")
                    ))
                })
        })
        .collect::<Result<Vec<_>>>()?;
    let headers: Vec<&str> = picked.iter().map(|c| c.name).collect();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| picked.iter().map(|c| (c.cell)(row)).collect())
        .collect();
    Ok(table(&headers, &cells))
}

/// Pretty JSON with a trailing newline: the stable `-o json` form.
pub(crate) fn json<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    serde_json::to_string_pretty(value)
        .map(|s| s + "\n")
        .map_err(|e| CliError::Usage(format!("cannot encode JSON: {e}")))
}

/// `3m ago`, `2h ago`, `5d ago` (Coder's `last built` style); `in 2h` for the future.
pub(crate) fn relative(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - t).num_seconds();
    let (abs, future) = (secs.unsigned_abs(), secs < 0);
    let text = match abs {
        0..=59 => format!("{abs}s"),
        60..=3599 => format!("{}m", abs / 60),
        3600..=86_399 => format!("{}h", abs / 3600),
        _ => format!("{}d", abs / 86_400),
    };
    if future {
        format!("in {text}")
    } else {
        format!("{text} ago")
    }
}

/// A timestamp for tables: `2026-01-27 09:00 UTC`.
pub(crate) fn timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_and_upper_case_headers() {
        let rows = vec![
            vec![
                "admin/dev".to_owned(),
                "local".to_owned(),
                "Running".to_owned(),
            ],
            vec![
                "admin/a".to_owned(),
                "terraform-x".to_owned(),
                "Stopped".to_owned(),
            ],
        ];
        assert_eq!(
            table(&["workspace", "template", "status"], &rows),
            "WORKSPACE  TEMPLATE     STATUS\n\
             admin/dev  local        Running\n\
             admin/a    terraform-x  Stopped\n"
        );
    }

    #[test]
    fn empty_trailing_cells_leave_no_trailing_spaces() {
        let rows = vec![vec!["a".to_owned(), String::new()]];
        assert_eq!(table(&["x", "yy"], &rows), "X  YY\na\n");
    }

    #[test]
    fn columns_are_chosen_by_coders_names_in_any_case() {
        let rows = [(1, "a"), (2, "b")];
        let columns = [
            column("id", |r: &(i32, &str)| r.0.to_string()),
            column("name", |r: &(i32, &str)| r.1.to_owned()),
        ];
        let pick = |chosen: &[&str]| {
            let chosen: Vec<String> = chosen.iter().map(|c| (*c).to_owned()).collect();
            select(&rows, &columns, &["id", "name"], &chosen)
        };
        assert_eq!(pick(&[]).unwrap(), "ID  NAME\n1   a\n2   b\n");
        assert_eq!(pick(&["NAME"]).unwrap(), "NAME\na\nb\n");
        assert_eq!(
            pick(&["name", "size"]).unwrap_err().to_string(),
            "unknown column \"size\" for --column: choose from id, name"
        );
    }

    #[test]
    fn relative_times() {
        let now: DateTime<Utc> = "2026-01-27T12:00:00Z".parse().unwrap();
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(relative(at("2026-01-27T11:59:30Z"), now), "30s ago");
        assert_eq!(relative(at("2026-01-27T11:15:00Z"), now), "45m ago");
        assert_eq!(relative(at("2026-01-27T07:00:00Z"), now), "5h ago");
        assert_eq!(relative(at("2026-01-24T12:00:00Z"), now), "3d ago");
        assert_eq!(relative(at("2026-01-27T14:00:00Z"), now), "in 2h");
    }
}
