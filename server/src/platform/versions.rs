//! Definitions kept as numbered versions: the interview guide and the driver taxonomy. A
//! stored version never changes (notes and coded insights name the version they followed);
//! an edit is the next version. Version 0 is the built-in definition, in the code.
//!
//! Each such table has the same columns: `version` (primary key), `definition` (JSON),
//! `created_at` and `created_by`.

use crate::platform::db::time::to_db;
use crate::platform::db::Db;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A table of versions, and the built-in version 0.
pub struct Versions<T> {
    /// A constant table name: it is spliced into the SQL.
    pub table: &'static str,
    pub builtin: fn() -> T,
}

impl<T: Serialize + DeserializeOwned> Versions<T> {
    /// Version `version`: 0 is the built-in one; none for a version never stored.
    pub async fn at(&self, db: &Db, version: i64) -> anyhow::Result<Option<T>> {
        if version == 0 {
            return Ok(Some((self.builtin)()));
        }
        let row: Option<(String,)> = sqlx::query_as(&format!(
            "select definition from {} where version = $1",
            self.table
        ))
        .bind(version)
        .fetch_optional(db.pool())
        .await?;
        row.map(|(d,)| serde_json::from_str(&d).map_err(anyhow::Error::from))
            .transpose()
    }

    /// The version in force, with its number: the newest stored, else the built-in one.
    pub async fn current(&self, db: &Db) -> anyhow::Result<(i64, T)> {
        let row: Option<(i64, String)> = sqlx::query_as(&format!(
            "select version, definition from {} order by version desc limit 1",
            self.table
        ))
        .fetch_optional(db.pool())
        .await?;
        Ok(match row {
            Some((version, definition)) => (version, serde_json::from_str(&definition)?),
            None => (0, (self.builtin)()),
        })
    }

    /// Stores `definition` as version `read + 1` if `read` is still the newest (0: none
    /// stored yet); `None` when someone stored another since, which an editor who read
    /// `read` must see rather than overwrite.
    pub async fn store_after(
        &self,
        db: &Db,
        definition: &T,
        read: i64,
        by: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<i64>> {
        let json = serde_json::to_string(definition)?;
        let sql = format!(
            "insert into {table} (version, definition, created_at, created_by)
             select cast($4 as bigint) + 1, $1, $2, $3
             where (select coalesce(max(version), 0) from {table}) = cast($4 as bigint)
             returning version",
            table = self.table
        );
        let inserted: Result<Option<(i64,)>, sqlx::Error> = sqlx::query_as(&sql)
            .bind(&json)
            .bind(to_db(now))
            .bind(by)
            .bind(read)
            .fetch_optional(db.pool())
            .await;
        match inserted {
            Ok(stored) => Ok(stored.map(|(version,)| version)),
            // Two editors of the same version at once: the primary key keeps one.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Stores `definition` as the next version; its number. Two edits at once: the second
    /// gets the next number, or, should both pick one, the primary key refuses it and it is
    /// retried.
    pub async fn store(
        &self,
        db: &Db,
        definition: &T,
        by: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<i64> {
        let json = serde_json::to_string(definition)?;
        let sql = format!(
            "insert into {table} (version, definition, created_at, created_by)
             select coalesce(max(version), 0) + 1, $1, $2, $3 from {table}
             returning version",
            table = self.table
        );
        for _ in 0..3 {
            let inserted: Result<(i64,), sqlx::Error> = sqlx::query_as(&sql)
                .bind(&json)
                .bind(to_db(now))
                .bind(by)
                .fetch_one(db.pool())
                .await;
            match inserted {
                Ok((version,)) => return Ok(version),
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => continue,
                Err(e) => return Err(e.into()),
            }
        }
        anyhow::bail!("{} kept changing while it was stored", self.table)
    }
}
