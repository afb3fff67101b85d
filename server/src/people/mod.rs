//! People and accounts: a person is one buyer address across deals, an account one buying
//! company. Contact caps, cooldowns, suppressions and bounces hang off them.

pub mod routes;
pub mod suppressions;

use crate::platform::db::rows::{upsert_keyed, Keyed};
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
            let id = db::new_id();
            let row = vec![
                id.clone().into(),
                k.into(),
                name.into(),
                (&stamp).into(),
                (&stamp).into(),
            ];
            (k.to_owned(), id, row)
        })
        .collect();
    let head = format!("insert into {table} (id, {key}, name, created_at, updated_at)");
    let upsert = format!(
        "on conflict ({key}) do update set name = excluded.name, updated_at = excluded.updated_at"
    );
    let keyed = Keyed {
        table,
        key,
        head: &head,
        upsert: &upsert,
    };
    upsert_keyed(conn, &keyed, rows).await
}
