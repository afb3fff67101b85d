//! Opt-out: a buyer who asks for no more surveys never gets another one, whatever deal
//! they turn up on next. Checked when an invitation is created and again just before
//! each email, so an opt-out also stops what is already queued.

pub mod routes;

use crate::invitations::{self, Event, Target};
use crate::people::suppressions::{self, SuppressionSource};
use crate::platform::db::Db;
use chrono::{DateTime, Utc};
use sqlx::Acquire;

/// Opts out the person a buyer link was sent to: [`opt_out_email`] on their address.
pub async fn opt_out_person(db: &Db, person_id: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
    let (email,): (String,) = sqlx::query_as("select email from persons where id = $1")
        .bind(person_id)
        .fetch_one(db.pool())
        .await?;
    opt_out_email(db, &email, now).await
}

/// Records the opt-out of an address and closes every invitation of theirs that is not
/// yet answered, on every deal.
pub async fn opt_out_email(db: &Db, email: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
    // Write first: see `outreach::store::record_decision` on SQLite transactions.
    let mut conn = db.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    suppressions::suppress(
        &mut tx,
        email,
        SuppressionSource::BuyerLink,
        None,
        None,
        now,
    )
    .await?;
    invitations::apply(&mut *tx, Target::AllOf { email }, Event::OptOut, now).await?;
    crate::interviews::lifecycle::decline_invited_of(&mut tx, email, now).await?;
    crate::incentives::cancel_lapsed_of(&mut tx, email, "opted_out", now).await?;
    tx.commit().await?;
    Ok(())
}
