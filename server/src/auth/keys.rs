//! API keys, for machines and scripts: `dbk_` + 256 random bits, stored as SHA-256, each
//! with one role.

use super::members::{upsert_member, Member};
use super::secrets::{hash_secret, random_secret};
use super::Role;
use crate::platform::db::{self, time::to_db, Db};
use anyhow::Context;

pub(super) const KEY_PREFIX: &str = "dbk_";

/// Creates a key and returns it in clear: the only time it exists outside the caller. An
/// account manager's key needs its holder.
pub async fn create_key(
    db: &Db,
    name: &str,
    role: Role,
    holder: Option<&Member>,
) -> anyhow::Result<String> {
    if role == Role::AccountManager && holder.is_none() {
        anyhow::bail!("an account manager's key needs their email address (--email)");
    }
    let staff_id = match holder {
        Some(member) => Some(upsert_member(db, member).await?),
        None => None,
    };
    let key = format!("{KEY_PREFIX}{}", random_secret());
    sqlx::query(
        "insert into api_keys (id, name, role, key_hash, created_at, staff_id) \
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(db::new_id())
    .bind(name)
    .bind(role.as_str())
    .bind(hash_secret(&key))
    .bind(to_db(chrono::Utc::now()))
    .bind(staff_id)
    .execute(db.pool())
    .await
    .context("storing the API key")?;
    Ok(key)
}

pub async fn active_key_count(db: &Db) -> anyhow::Result<i64> {
    let (n,): (i64,) = sqlx::query_as("select count(*) from api_keys where revoked_at is null")
        .fetch_one(db.pool())
        .await?;
    Ok(n)
}
