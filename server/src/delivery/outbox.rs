//! The durable outbox table: enqueue inside the caller's transaction, claim with a lease,
//! then mark done, retry later, or dead.

use crate::platform::db::time::to_db;
use crate::platform::db::{self, dialect, Db};
use crate::text_enum;
use chrono::{DateTime, Duration, Utc};
use sqlx::AnyConnection;

text_enum! {
    pub enum JobKind {
        /// Send the survey invitation email for the invitation named by `subject_id`.
        SurveyInvitation = "survey_invitation",
    }
}

text_enum! {
    pub enum JobStatus {
        Pending = "pending",
        Done = "done",
        /// Gave up: attempts exhausted or a permanent failure. Kept, with its last error,
        /// for the program owner to see.
        Dead = "dead",
    }
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub kind: JobKind,
    pub subject_id: String,
    /// Attempts including the current one.
    pub attempts: u32,
    /// The worker holding the lease; every later update checks it is still that worker.
    pub owner: String,
}

/// Queues a job in the caller's transaction. A second enqueue of the same kind and subject
/// is a no-op, which is what makes re-posting a deal safe.
pub async fn enqueue(
    conn: &mut AnyConnection,
    kind: JobKind,
    subject_id: &str,
    due_at: &str,
    now: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into outbox (id, kind, subject_id, status, attempts, next_attempt_at, created_at)
         values ($1, $2, $3, $4, 0, $5, $6)
         on conflict (kind, subject_id) do nothing",
    )
    .bind(db::new_id())
    .bind(kind.as_str())
    .bind(subject_id)
    .bind(JobStatus::Pending.as_str())
    .bind(due_at)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Claims up to `limit` due jobs for `owner` until `now + lease`. A job whose lease ran out
/// (its worker died mid-send) is due again.
pub async fn claim_due(
    db: &Db,
    owner: &str,
    now: DateTime<Utc>,
    lease: Duration,
    limit: i64,
) -> anyhow::Result<Vec<Job>> {
    let sql = format!(
        "update outbox set lease_owner = $1, lease_until = $2, attempts = attempts + 1
         where id in (
             select id from outbox
             where status = $3 and next_attempt_at <= $4 and (lease_until is null or lease_until < $4)
             order by next_attempt_at
             limit $5
             {}
         )
         returning id, kind, subject_id, attempts",
        dialect::skip_locked(db.backend())
    );
    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(&sql)
        .bind(owner)
        .bind(to_db(now + lease))
        .bind(JobStatus::Pending.as_str())
        .bind(to_db(now))
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.into_iter()
        .map(|(id, kind, subject_id, attempts)| {
            Ok(Job {
                id,
                kind: kind.parse().map_err(anyhow::Error::msg)?,
                subject_id,
                attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                owner: owner.to_owned(),
            })
        })
        .collect()
}

/// Extends the lease just before the job's side effect. `false` means the lease ran out
/// and another worker took the job over: this one must not perform it.
pub async fn renew_lease(db: &Db, job: &Job, until: DateTime<Utc>) -> sqlx::Result<bool> {
    let renewed = sqlx::query(
        "update outbox set lease_until = $1 where id = $2 and lease_owner = $3 and status = $4",
    )
    .bind(to_db(until))
    .bind(&job.id)
    .bind(&job.owner)
    .bind(JobStatus::Pending.as_str())
    .execute(db.pool())
    .await?
    .rows_affected();
    Ok(renewed == 1)
}

pub async fn mark_done(
    conn: &mut AnyConnection,
    job: &Job,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update outbox set status = $1, done_at = $2, lease_owner = null, lease_until = null
         where id = $3 and lease_owner = $4",
    )
    .bind(JobStatus::Done.as_str())
    .bind(to_db(now))
    .bind(&job.id)
    .bind(&job.owner)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a failed attempt: due again at `retry_at`, or dead when `None`.
pub async fn mark_failed(
    conn: &mut AnyConnection,
    job: &Job,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> sqlx::Result<()> {
    let (status, next) = match retry_at {
        Some(t) => (JobStatus::Pending, Some(to_db(t))),
        None => (JobStatus::Dead, None),
    };
    let error: String = error.chars().take(1_000).collect();
    sqlx::query(
        "update outbox set status = $1, next_attempt_at = coalesce($2, next_attempt_at),
             last_error = $3, lease_owner = null, lease_until = null
         where id = $4 and lease_owner = $5",
    )
    .bind(status.as_str())
    .bind(next)
    .bind(error)
    .bind(&job.id)
    .bind(&job.owner)
    .execute(conn)
    .await?;
    Ok(())
}

/// Exponential backoff: base, 2×base, 4×base… capped at six hours.
pub fn backoff(base: Duration, attempts: u32) -> Duration {
    let factor = 1i64 << attempts.saturating_sub(1).min(16);
    (base * i32::try_from(factor).unwrap_or(i32::MAX)).min(Duration::hours(6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_then_caps() {
        let base = Duration::seconds(30);
        assert_eq!(backoff(base, 1), Duration::seconds(30));
        assert_eq!(backoff(base, 2), Duration::seconds(60));
        assert_eq!(backoff(base, 4), Duration::seconds(240));
        assert_eq!(backoff(base, 40), Duration::hours(6));
    }
}
