//! The only SQL that differs between SQLite and PostgreSQL. Keep this file small: every
//! other query in the code base is written once and runs on both.

use super::Backend;

/// Row locking for a queue claim. PostgreSQL needs `SKIP LOCKED` so that several instances
/// claim different rows; SQLite serialises writers, so a plain select is already exclusive.
pub fn skip_locked(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "for update skip locked",
        Backend::Sqlite => "",
    }
}

/// Row locks for a read that a write in the same transaction depends on. SQLite's writer
/// holds the whole database already.
pub fn lock_rows(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "for update",
        Backend::Sqlite => "",
    }
}

/// A select list that gathers every row of the query into one JSON array of objects, one
/// per row, with `fields` as `(name, expression)`. A batch read of hundreds of rows then
/// crosses from sqlx's SQLite thread as one value instead of thousands: each row handed
/// over costs a wake-up and a copy of each value, more than the database's own work.
pub fn json_rows(backend: Backend, fields: &[(&str, &str)]) -> String {
    let pairs = fields
        .iter()
        .map(|(name, expr)| format!("'{name}', {expr}"))
        .collect::<Vec<_>>()
        .join(", ");
    match backend {
        Backend::Sqlite => format!("json_group_array(json_object({pairs}))"),
        Backend::Postgres => format!("coalesce(json_agg(json_build_object({pairs})), '[]')::text"),
    }
}
