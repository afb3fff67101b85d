//! The buyer's progress through a survey, and the answer itself.

use crate::invitations::{self, Event, Target};
use crate::outreach::follow_up::{self, FollowUp};
use crate::platform::db::{self, time::to_db, Db};
use chrono::{DateTime, Utc};
use debrief_common::{Locale, ValidAnswer};
use sqlx::Acquire;

pub async fn mark_opened(db: &Db, invitation_id: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
    invitations::apply(
        db.pool(),
        Target::Invitation(invitation_id),
        Event::Open,
        now,
    )
    .await?;
    Ok(())
}

pub async fn mark_started(db: &Db, invitation_id: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
    invitations::apply(
        db.pool(),
        Target::Invitation(invitation_id),
        Event::Start,
        now,
    )
    .await?;
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
pub enum Recorded {
    /// With the interview invitation the answer asked for, if any.
    Saved {
        interview: Option<String>,
    },
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
    follow_up: Option<&FollowUp<'_>>,
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
    let completed = invitations::apply(
        &mut *tx,
        Target::Invitation(invitation_id),
        Event::Complete,
        now,
    )
    .await?;
    if completed == 0 {
        tx.rollback().await?;
        return Ok(Recorded::Closed);
    }
    // In the same transaction as the completion that earned it: exactly once.
    crate::incentives::earn(&mut tx, invitation_id, now).await?;
    // The buyer said yes to a conversation: invited with the answer, or not at all.
    let interview = match follow_up.filter(|_| answer.interview) {
        Some(follow_up) => follow_up::invite(&mut tx, follow_up, invitation_id, now).await?,
        None => None,
    };
    tx.commit().await?;
    Ok(Recorded::Saved { interview })
}
