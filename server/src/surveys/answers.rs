//! The buyer's progress through a survey, and the answer itself.

use super::InvitationStatus::{self, *};
use super::{transition, Target};
use crate::db::{self, time::to_db, Db};
use chrono::{DateTime, Utc};
use debrief_common::{Locale, ValidAnswer};
use sqlx::Acquire;

// Earlier funnel steps are stamped too: a buyer who started has also opened, and one who
// opened has the link, however it reached them (the worker then skips the email).
const OPENED_STAMPS: &str =
    ", sent_at = coalesce(sent_at, $2), opened_at = coalesce(opened_at, $2)";

pub async fn mark_opened(db: &Db, invitation_id: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
    transition(
        db.pool(),
        Target::Invitation(invitation_id),
        Opened,
        &[Scheduled, Sent],
        OPENED_STAMPS,
        now,
    )
    .await?;
    Ok(())
}

pub async fn mark_started(db: &Db, invitation_id: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
    let stamps = format!("{OPENED_STAMPS}, started_at = coalesce(started_at, $2)");
    transition(
        db.pool(),
        Target::Invitation(invitation_id),
        Started,
        &[Scheduled, Sent, Opened],
        &stamps,
        now,
    )
    .await?;
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
pub enum Recorded {
    Saved,
    AlreadyAnswered,
    /// The invitation closed meanwhile (the buyer opted out): nothing was stored.
    Closed,
}

/// Stores the answer and completes the invitation, atomically. The unique key on
/// `responses.invitation_id` settles a race between two submits: one wins, the other is
/// told the survey was already answered.
pub async fn record_answer(
    db: &Db,
    invitation_id: &str,
    locale: Locale,
    answer: &ValidAnswer,
    now: DateTime<Utc>,
) -> anyhow::Result<Recorded> {
    let stamp = to_db(now);
    let mut conn = db.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    let inserted = sqlx::query(
        "insert into responses (id, invitation_id, nps, reason, locale, submitted_at)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (invitation_id) do nothing",
    )
    .bind(db::new_id())
    .bind(invitation_id)
    .bind(i64::from(answer.nps.value()))
    .bind(answer.reason.as_deref())
    .bind(locale.code())
    .bind(&stamp)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(Recorded::AlreadyAnswered);
    }
    // Guarded, so an opt-out that landed after the caller looked is not overwritten.
    let stamps =
        format!("{OPENED_STAMPS}, started_at = coalesce(started_at, $2), completed_at = $2");
    let completed = transition(
        &mut *tx,
        Target::Invitation(invitation_id),
        Completed,
        &InvitationStatus::UNANSWERED,
        &stamps,
        now,
    )
    .await?;
    if completed == 0 {
        tx.rollback().await?;
        return Ok(Recorded::Closed);
    }
    tx.commit().await?;
    Ok(Recorded::Saved)
}
