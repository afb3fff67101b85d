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
