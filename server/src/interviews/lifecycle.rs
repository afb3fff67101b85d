//! An interview's lifecycle, beside its invitation: invited, then booked, then completed,
//! no_show, cancelled, declined or expired. Every interview invitation has one from the
//! moment it is written, whoever wrote it (the program's plan, a survey's follow-up, an
//! account manager).

use crate::platform::db::conn::Conn;
use crate::platform::db::rows::Param;
use crate::platform::db::time::to_db;
use crate::text_enum;
use chrono::{DateTime, Utc};

text_enum! {
    /// Where an interview stands.
    pub enum InterviewStatus {
        /// Asked; no slot booked yet.
        Invited = "invited",
        Booked = "booked",
        /// Held and noted: the incentive is earned.
        Completed = "completed",
        /// Booked, but the buyer did not come.
        NoShow = "no_show",
        /// Called off, by the buyer from their link or by staff.
        Cancelled = "cancelled",
        /// The buyer said no.
        Declined = "declined",
        /// Never booked before the invitation expired.
        Expired = "expired",
    }
}

/// Who asked for an interview, when not the program itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct Asked<'a> {
    /// The account manager's staff id.
    pub by: Option<&'a str>,
    /// Their personal note, shown to the buyer as typed (escaped).
    pub note: Option<&'a str>,
    /// The interviewer they asked for.
    pub interviewer: Option<&'a str>,
}

/// Opens the lifecycle of new interview invitations, in the caller's transaction.
pub async fn open<C: Conn>(
    conn: &mut C,
    invitation_ids: &[String],
    asked: Asked<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let stamp = to_db(now);
    let rows: Vec<Vec<Param>> = invitation_ids
        .iter()
        .map(|id| {
            vec![
                id.into(),
                InterviewStatus::Invited.as_str().into(),
                asked.by.into(),
                asked.note.into(),
                asked.interviewer.into(),
                (&stamp).into(),
                (&stamp).into(),
            ]
        })
        .collect();
    conn.execute_many(
        "insert into interviews (invitation_id, status, invited_by, note, interviewer_id, \
         created_at, updated_at)",
        "",
        rows,
    )
    .await?;
    Ok(())
}

/// Whether the interview of `invitation_id` went past invited (booked, or closed): false
/// for an invitation that is not an interview's.
pub async fn is_past_invited(
    conn: &mut sqlx::AnyConnection,
    invitation_id: &str,
) -> sqlx::Result<bool> {
    let (past,): (i64,) =
        sqlx::query_as("select count(*) from interviews where invitation_id = $1 and status <> $2")
            .bind(invitation_id)
            .bind(InterviewStatus::Invited.as_str())
            .fetch_one(conn)
            .await?;
    Ok(past > 0)
}

/// Closes a still-invited interview as `to` (its invitation expired or was cancelled
/// unanswered); whether it did (not for one booked or closed already, nor for an
/// invitation that is not an interview's).
pub async fn close_invited(
    conn: &mut sqlx::AnyConnection,
    invitation_id: &str,
    to: InterviewStatus,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let stamp = to_db(now);
    let closed = sqlx::query(
        "update interviews set status = $1, closed_at = $2, updated_at = $2
         where invitation_id = $3 and status = $4",
    )
    .bind(to.as_str())
    .bind(&stamp)
    .bind(invitation_id)
    .bind(InterviewStatus::Invited.as_str())
    .execute(conn)
    .await?;
    Ok(closed.rows_affected() > 0)
}

/// Closes, as declined, the still-invited interviews of the buyer at `email` (they asked
/// for no more invitations); booked ones stand, held unless called off.
pub async fn decline_invited_of(
    conn: &mut sqlx::AnyConnection,
    email: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let stamp = to_db(now);
    sqlx::query(
        "update interviews set status = $1, closed_at = $2, updated_at = $2
         where status = $3 and invitation_id in (
             select i.id from invitations i join persons p on p.id = i.person_id
             where p.email = $4)",
    )
    .bind(InterviewStatus::Declined.as_str())
    .bind(&stamp)
    .bind(InterviewStatus::Invited.as_str())
    .bind(email)
    .execute(conn)
    .await?;
    Ok(())
}
