//! Opt-out: a buyer who asks for no more surveys never gets another one, whatever deal
//! they turn up on next. Checked when an invitation is created and again just before
//! each email, so an opt-out also stops what is already queued.

pub mod routes;

use crate::invitations::{self, Event, Target};
use crate::platform::db::time::to_db;
use crate::platform::db::Db;
use chrono::{DateTime, Utc};
use sqlx::{Acquire, AnyConnection};

/// Whether this (lower-cased) address asked for no more surveys.
pub async fn is_suppressed(conn: &mut AnyConnection, email: &str) -> sqlx::Result<bool> {
    let row: Option<(String,)> = sqlx::query_as("select email from suppressions where email = $1")
        .bind(email)
        .fetch_optional(conn)
        .await?;
    Ok(row.is_some())
}

/// Records the opt-out of an address and closes every invitation of theirs that is not
/// yet answered, on every deal.
pub async fn opt_out_email(db: &Db, email: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
    // Write first: see `outreach::store::record_decision` on SQLite transactions.
    let mut conn = db.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    sqlx::query(
        "insert into suppressions (email, source, created_at) values ($1, 'buyer_link', $2)
         on conflict (email) do nothing",
    )
    .bind(email)
    .bind(to_db(now))
    .execute(&mut *tx)
    .await?;
    invitations::apply(&mut *tx, Target::AllOf { email }, Event::OptOut, now).await?;
    tx.commit().await?;
    Ok(())
}
