//! Opt-out: a buyer who asks for no more surveys never gets another one, whatever deal
//! they turn up on next. Checked when an invitation is created and again just before
//! each email, so an opt-out also stops what is already queued.

pub mod routes;

use crate::db::time::to_db;
use crate::db::Db;
use crate::surveys::InvitationStatus;
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

/// Records the opt-out of a contact's address and closes every invitation of theirs that
/// is not yet answered, on every deal.
pub async fn opt_out_contact(db: &Db, contact_id: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
    let (email,): (String,) = sqlx::query_as("select email from contacts where id = $1")
        .bind(contact_id)
        .fetch_one(db.pool())
        .await?;
    // Write first: see `outreach::store::record_decision` on SQLite transactions.
    let mut conn = db.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    sqlx::query(
        "insert into suppressions (email, source, created_at) values ($1, 'buyer_link', $2)
         on conflict (email) do nothing",
    )
    .bind(&email)
    .bind(to_db(now))
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "update invitations set status = $1
         where contact_id in (select id from contacts where email = $2)
           and status in ($3, $4, $5, $6)",
    )
    .bind(InvitationStatus::OptedOut.as_str())
    .bind(&email)
    .bind(InvitationStatus::Scheduled.as_str())
    .bind(InvitationStatus::Sent.as_str())
    .bind(InvitationStatus::Opened.as_str())
    .bind(InvitationStatus::Started.as_str())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
