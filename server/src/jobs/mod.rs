//! The durable outbox: every side effect that leaves the process (an email, a webhook) is a
//! job row first, written in the same transaction as the change that caused it, and then
//! performed by the [`runner`] with leases, retries and dead letters.
//!
//! A job has a kind (which handler performs it), a dedupe key (unique: queueing the same
//! work twice is a no-op, which makes re-posting a deal safe) and a JSON payload.

pub mod routes;
pub mod runner;

use crate::platform::db::time::to_db;
use crate::platform::db::{self, Db};
use crate::text_enum;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

text_enum! {
    /// What a job does. An open-ended set: each value is also a row of the `job_kinds`
    /// reference table, which a migration extends when a kind is added.
    pub enum JobKind {
        /// Email a survey invitation (payload: the invitation).
        SurveyInvitation = "survey_invitation",
        /// Email an interview invitation (payload: the invitation).
        InterviewInvitation = "interview_invitation",
        /// Remind a buyer who has not answered (payload: the invitation, the reminder's number).
        InvitationReminder = "invitation_reminder",
        /// Close an unanswered invitation (payload: the invitation).
        InvitationExpiry = "invitation_expiry",
        /// Send a booked interview's calendar message, to the buyer or the interviewer
        /// (payload: the interview, its SEQUENCE, the recipient).
        InterviewCalendar = "interview_calendar",
        /// Remind a buyer of their booked interview (payload: the booking, hours before).
        InterviewReminder = "interview_reminder",
        /// Evaluate the alert rules; one job that goes on every hour.
        AlertEvaluation = "alert_evaluation",
        /// Tell a firing to one receiver, or its rule's owners (payload: the firing).
        AlertDelivery = "alert_delivery",
        /// Queue last month's digest for every reader; one job that goes on every month.
        DigestSchedule = "digest_schedule",
        /// Email a month's digest to one reader (payload: the reader, the month).
        DigestEmail = "digest_email",
        /// Email a staff member their one-time sign-in link (payload: the link).
        SignInEmail = "sign_in_email",
    }
}

text_enum! {
    pub enum JobStatus {
        Pending = "pending",
        Done = "done",
        /// Gave up: attempts exhausted or a permanent failure. Kept with its last error
        /// for staff to read and replay.
        Dead = "dead",
    }
}

/// A claimed job, as a handler sees it.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub kind: JobKind,
    pub dedupe_key: String,
    payload: String,
    /// Attempts including the current one.
    pub attempts: u32,
    /// The runner holding the lease; every bookkeeping update checks it still does.
    pub owner: String,
    /// Until when the lease holds. A handler must not start a side effect after it.
    pub lease_until: DateTime<Utc>,
}

impl Job {
    pub fn payload<T: DeserializeOwned>(&self) -> anyhow::Result<T> {
        serde_json::from_str(&self.payload)
            .map_err(|e| anyhow::anyhow!("job {} has an unreadable payload: {e}", self.id))
    }
}

/// What a job does and when: its kind, its payload and when it is due. A new job starts
/// with one; a job that goes on (see [`runner::Outcome::Continued`]) moves to the next.
#[derive(Debug, Clone)]
pub struct Next {
    pub kind: JobKind,
    pub payload: String,
    pub run_at: DateTime<Utc>,
}

impl Next {
    pub fn new(
        kind: JobKind,
        payload: &impl Serialize,
        run_at: DateTime<Utc>,
    ) -> anyhow::Result<Next> {
        Ok(Next {
            kind,
            payload: serde_json::to_string(payload)?,
            run_at,
        })
    }
}

/// A job to queue: its first step, under a dedupe key.
#[derive(Debug, Clone)]
pub struct NewJob {
    dedupe_key: String,
    step: Next,
}

impl NewJob {
    pub fn new(
        kind: JobKind,
        dedupe_key: String,
        payload: &impl Serialize,
        run_at: DateTime<Utc>,
    ) -> anyhow::Result<NewJob> {
        Ok(NewJob {
            dedupe_key,
            step: Next::new(kind, payload, run_at)?,
        })
    }
}

/// Queues jobs in the caller's transaction. A job whose dedupe key exists already
/// (whatever its status) is left out: that work is already planned or done. Returns how
/// many were queued.
pub async fn enqueue_many(
    conn: &mut AnyConnection,
    jobs: Vec<NewJob>,
    now: DateTime<Utc>,
) -> anyhow::Result<u64> {
    let stamp = to_db(now);
    let rows = jobs
        .into_iter()
        .map(|job| {
            vec![
                db::new_id().into(),
                job.step.kind.as_str().into(),
                job.dedupe_key.into(),
                job.step.payload.into(),
                JobStatus::Pending.as_str().into(),
                0i64.into(),
                to_db(job.step.run_at).into(),
                (&stamp).into(),
            ]
        })
        .collect();
    Ok(db::rows::execute_many(
        conn,
        "insert into jobs (id, kind, dedupe_key, payload, status, attempts, run_at, created_at)",
        "on conflict (dedupe_key) do nothing",
        rows,
    )
    .await?)
}

/// Makes a pending job due now, with a new payload. False when there is no pending job
/// with this dedupe key.
pub async fn expedite(
    db: &Db,
    dedupe_key: &str,
    payload: &impl Serialize,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let moved = sqlx::query(
        "update jobs set run_at = $1, payload = $2 where dedupe_key = $3 and status = $4",
    )
    .bind(to_db(now))
    .bind(serde_json::to_string(payload)?)
    .bind(dedupe_key)
    .bind(JobStatus::Pending.as_str())
    .execute(db.pool())
    .await?
    .rows_affected();
    Ok(moved == 1)
}

/// A job as staff see it in the dead-letter list.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JobView {
    pub id: String,
    pub kind: JobKind,
    pub status: JobStatus,
    pub attempts: i64,
    pub run_at: String,
    pub last_error: Option<String>,
    pub created_at: String,
    pub done_at: Option<String>,
}

type JobRow = (
    String,
    String,
    String,
    i64,
    String,
    Option<String>,
    String,
    Option<String>,
);

fn view(
    (id, kind, status, attempts, run_at, last_error, created_at, done_at): JobRow,
) -> anyhow::Result<JobView> {
    Ok(JobView {
        id,
        kind: kind.parse().map_err(anyhow::Error::msg)?,
        status: status.parse().map_err(anyhow::Error::msg)?,
        attempts,
        run_at,
        last_error,
        created_at,
        done_at,
    })
}

/// Jobs with a status, newest first, at most `limit`.
pub async fn list(db: &Db, status: JobStatus, limit: i64) -> anyhow::Result<Vec<JobView>> {
    let rows: Vec<JobRow> = sqlx::query_as(
        "select id, kind, status, attempts, run_at, last_error, created_at, done_at
         from jobs where status = $1 order by created_at desc, id desc limit $2",
    )
    .bind(status.as_str())
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.into_iter().map(view).collect()
}

/// Puts a dead job back in the queue, due at once, with a fresh count of attempts.
/// `None` when there is no dead job with this id.
pub async fn replay(db: &Db, id: &str, now: DateTime<Utc>) -> anyhow::Result<Option<JobView>> {
    let row: Option<JobRow> = sqlx::query_as(
        "update jobs set status = $1, attempts = 0, run_at = $2, lease_owner = null, lease_until = null
         where id = $3 and status = $4
         returning id, kind, status, attempts, run_at, last_error, created_at, done_at",
    )
    .bind(JobStatus::Pending.as_str())
    .bind(to_db(now))
    .bind(id)
    .bind(JobStatus::Dead.as_str())
    .fetch_optional(db.pool())
    .await?;
    row.map(view).transpose()
}
