//! People and accounts: a person is one buyer address across deals, an account one buying
//! company. Contact caps, cooldowns, suppressions and bounces hang off them.

pub mod routes;
pub mod suppressions;

use crate::platform::db::rows::insert_many;
use crate::platform::db::{self, time::to_db};
use chrono::{DateTime, Utc};
use sqlx::AnyConnection;
use std::collections::HashMap;

/// Creates or renames accounts, given as key → name; their ids by key. One row per key:
/// PostgreSQL refuses to upsert one row twice in a statement.
pub async fn upsert_accounts(
    conn: &mut AnyConnection,
    names: HashMap<&str, &str>,
    now: DateTime<Utc>,
) -> sqlx::Result<HashMap<String, String>> {
    upsert(conn, "accounts", "key", names, now).await
}

/// Creates or renames persons, given as (lower-cased) address → name; their ids by
/// address.
pub async fn upsert_persons(
    conn: &mut AnyConnection,
    names: HashMap<&str, &str>,
    now: DateTime<Utc>,
) -> sqlx::Result<HashMap<String, String>> {
    upsert(conn, "persons", "email", names, now).await
}

async fn upsert(
    conn: &mut AnyConnection,
    table: &str,
    key: &str,
    names: HashMap<&str, &str>,
    now: DateTime<Utc>,
) -> sqlx::Result<HashMap<String, String>> {
    let stamp = to_db(now);
    let rows = names
        .into_iter()
        .map(|(k, name)| {
            vec![
                db::new_id().into(),
                k.into(),
                name.into(),
                (&stamp).into(),
                (&stamp).into(),
            ]
        })
        .collect();
    let ids: Vec<(String, String)> = insert_many(
        conn,
        &format!("insert into {table} (id, {key}, name, created_at, updated_at)"),
        &format!(
            "on conflict ({key}) do update set name = excluded.name, updated_at = excluded.updated_at
             returning {key}, id"
        ),
        rows,
    )
    .await?;
    Ok(ids.into_iter().collect())
}
