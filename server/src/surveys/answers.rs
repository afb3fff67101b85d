//! The buyer's progress through a survey, and the answer itself.

use super::InvitationStatus::{self, *};
use crate::db::{self, time::to_db, Db};
use chrono::{DateTime, Utc};
use debrief_common::{Locale, ValidAnswer};
use sqlx::Acquire;

/// Moves an invitation forward to `to`, stamping when that step first happened. Does
/// nothing if it is already there or past it.
async fn advance(
    db: &Db,
    invitation_id: &str,
    to: InvitationStatus,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    // Earlier funnel steps are stamped too: a buyer who started has also opened, and one
    // who opened has the link, however it reached them (the worker then skips the email).
    let (stamps, from): (&str, &[InvitationStatus]) = match to {
        Opened => ("", &[Scheduled, Sent]),
        Started => (
            ", started_at = coalesce(started_at, $2)",
            &[Scheduled, Sent, Opened],
        ),
        _ => anyhow::bail!("advance() only handles opened and started"),
    };
    let placeholders: Vec<String> = (0..from.len()).map(|i| format!("${}", i + 4)).collect();
    let sql = format!(
        "update invitations set status = $1, sent_at = coalesce(sent_at, $2),
             opened_at = coalesce(opened_at, $2){stamps}
         where id = $3 and status in ({})",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(&sql)
        .bind(to.as_str())
        .bind(to_db(now))
        .bind(invitation_id);
    for status in from {
        query = query.bind(status.as_str());
    }
    query.execute(db.pool()).await?;
    Ok(())
}

pub async fn mark_opened(db: &Db, invitation_id: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
    advance(db, invitation_id, Opened, now).await
}

pub async fn mark_started(db: &Db, invitation_id: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
    advance(db, invitation_id, Started, now).await
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
    let completed = sqlx::query(
        "update invitations set status = $1, completed_at = $2,
             sent_at = coalesce(sent_at, $2), opened_at = coalesce(opened_at, $2),
             started_at = coalesce(started_at, $2)
         where id = $3 and status in ($4, $5, $6, $7)",
    )
    .bind(Completed.as_str())
    .bind(&stamp)
    .bind(invitation_id)
    .bind(Scheduled.as_str())
    .bind(Sent.as_str())
    .bind(Opened.as_str())
    .bind(Started.as_str())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if completed == 0 {
        tx.rollback().await?;
        return Ok(Recorded::Closed);
    }
    tx.commit().await?;
    Ok(Recorded::Saved)
}
