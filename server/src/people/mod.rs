//! People and accounts: a person is one buyer address across deals, an account one buying
//! company. Contact caps, cooldowns, suppressions and bounces hang off them.

pub mod routes;
pub mod suppressions;

use crate::platform::db::{self, time::to_db};
use chrono::{DateTime, Utc};
use sqlx::AnyConnection;

/// The account with this key (CRM id or name), created or renamed as the CRM says.
pub async fn upsert_account(
    conn: &mut AnyConnection,
    key: &str,
    name: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<String> {
    let (id,): (String,) = sqlx::query_as(
        "insert into accounts (id, key, name, created_at, updated_at) values ($1, $2, $3, $4, $4)
         on conflict (key) do update set name = excluded.name, updated_at = excluded.updated_at
         returning id",
    )
    .bind(db::new_id())
    .bind(key)
    .bind(name)
    .bind(to_db(now))
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// The person with this (lower-cased) address, created or renamed as the CRM says.
pub async fn upsert_person(
    conn: &mut AnyConnection,
    email: &str,
    name: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<String> {
    let (id,): (String,) = sqlx::query_as(
        "insert into persons (id, email, name, created_at, updated_at) values ($1, $2, $3, $4, $4)
         on conflict (email) do update set name = excluded.name, updated_at = excluded.updated_at
         returning id",
    )
    .bind(db::new_id())
    .bind(email)
    .bind(name)
    .bind(to_db(now))
    .fetch_one(conn)
    .await?;
    Ok(id)
}
