//! The job runner: claims due jobs with a lease, hands each kind's batch to its registered
//! handler, then records every result in one transaction: the handler's own writes and
//! the job's bookkeeping (done, retry later, or dead) commit together.
//!
//! Delivery is at least once. A job is marked done only after its side effect; should the
//! process die in between (or the database stay down past the recording retries), the
//! lease runs out and the job runs again. Handlers keep that window small and make their
//! writes idempotent (guarded status transitions, unique keys).

use super::{Job, JobKind, JobStatus, Next};
use crate::app::clock::Clock;
use crate::platform::db::time::to_db;
use crate::platform::db::{dialect, rows, Db};
use chrono::{DateTime, Duration, Utc};
use futures_util::future::BoxFuture;
use sqlx::{Acquire, AnyConnection};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Notify;

/// A write to make when a job's result is recorded, in the runner's transaction.
pub trait Effect: std::any::Any + Send + Sync {
    fn apply<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, anyhow::Result<()>>;

    /// This write as the start of a batch, when one statement can make the same write for
    /// many jobs: a pass of 256 sends then marks its invitations sent with one statement
    /// instead of 256 (see [`Effect::absorb`]).
    fn batch(&self) -> Option<Box<dyn Effect>> {
        None
    }

    /// Takes `next`, the following job's write, into this batch; false when it is another
    /// kind of write or the batch is full.
    fn absorb(&mut self, _next: &dyn Effect) -> bool {
        false
    }
}

pub type Effects = Vec<Box<dyn Effect>>;

const NO_EFFECTS: &Effects = &Vec::new();

/// What a handler did with one job.
pub enum Outcome {
    /// The side effect happened (the email went out).
    Performed(Effects),
    /// The side effect happened, and the job goes on as its next step, its attempts
    /// counted afresh: one row carries an invitation through its email, its reminders and
    /// its expiry, each step scheduled when the one before happened.
    Continued(Effects, Next),
    /// Nothing was left to do (the buyer opted out meanwhile, or already answered).
    Skipped(Effects),
    /// Not now: run again at this instant, the attempt not counted (outside the buyer's
    /// business hours, say).
    Later(DateTime<Utc>),
    /// Work done inside the process only (nothing was sent), and the job runs again as
    /// its next step: a schedule, such as the hourly evaluation of alert rules.
    Recur(Next),
}

/// A failed attempt. `if_final` is written only when the runner gives up on the job:
/// at once for a permanent failure, or once attempts run out.
pub struct Failure {
    pub permanent: bool,
    pub message: String,
    pub if_final: Effects,
}

impl Failure {
    pub fn temporary(message: impl Into<String>) -> Failure {
        Failure {
            permanent: false,
            message: message.into(),
            if_final: Vec::new(),
        }
    }

    pub fn permanent(message: impl Into<String>) -> Failure {
        Failure {
            permanent: true,
            message: message.into(),
            if_final: Vec::new(),
        }
    }

    pub fn if_final(mut self, effects: Effects) -> Failure {
        self.if_final = effects;
        self
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Failure {
        Failure::temporary(format!("{e:#}"))
    }
}

pub type JobResult = (Job, Result<Outcome, Failure>);

/// Jobs claimed for a pass, and the instant they were claimed at.
struct Claimed {
    jobs: Vec<Job>,
    now: DateTime<Utc>,
}

/// Performs the jobs of one kind. Handlers live in their feature folders and are
/// registered at start-up.
pub trait Handler: Send + Sync + 'static {
    fn kind(&self) -> JobKind;

    /// Performs a batch of claimed jobs; one result per job, in any order. A batch lets
    /// a handler load what it needs in one query and send over several connections.
    fn perform<'a>(&'a self, jobs: Vec<Job>, now: DateTime<Utc>) -> BoxFuture<'a, Vec<JobResult>>;
}

/// Performs `jobs` one after another, each by `each`: for handlers whose jobs gain
/// nothing from running side by side (one email each, from figures the next reuses).
pub async fn one_by_one<F, Fut>(jobs: Vec<Job>, mut each: F) -> Vec<JobResult>
where
    F: FnMut(Job) -> Fut,
    Fut: std::future::Future<Output = JobResult>,
{
    let mut results = Vec::with_capacity(jobs.len());
    for job in jobs {
        results.push(each(job).await);
    }
    results
}

/// How the runner claims and retries.
#[derive(Debug, Clone)]
pub struct RunnerSettings {
    /// How often the runner looks for due jobs when nothing woke it.
    pub poll_interval: std::time::Duration,
    /// Attempts before a job is dead.
    pub max_attempts: u32,
    /// First retry delay; doubles each attempt, capped at six hours.
    pub base_backoff: Duration,
    /// How long a claimed job is reserved for one runner.
    pub lease: Duration,
    /// Jobs claimed per pass.
    pub batch: i64,
    /// How long a pass in flight may take to finish once shutdown is asked for.
    pub shutdown_grace: std::time::Duration,
}

/// Lets request handlers wake the runner when they queue something due now, so it does not
/// wait for the next poll.
#[derive(Clone, Default)]
pub struct Waker(Arc<Notify>);

impl Waker {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Side effects performed (emails sent, webhooks called).
    pub sent: usize,
    /// Jobs with nothing left to do.
    pub skipped: usize,
    pub retried: usize,
    pub dead: usize,
    /// Jobs put off to a later instant (outside business hours).
    pub postponed: usize,
}

impl Pass {
    fn count(&mut self, counted: Counted) {
        match counted {
            Counted::Sent => self.sent += 1,
            Counted::Skipped => self.skipped += 1,
            Counted::Retried => self.retried += 1,
            Counted::Dead => self.dead += 1,
            Counted::Postponed => self.postponed += 1,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.sent + self.skipped + self.retried + self.dead + self.postponed == 0
    }
}

impl std::ops::AddAssign for Pass {
    fn add_assign(&mut self, other: Pass) {
        self.sent += other.sent;
        self.skipped += other.skipped;
        self.retried += other.retried;
        self.dead += other.dead;
        self.postponed += other.postponed;
    }
}

#[derive(Clone)]
pub struct Runner {
    db: Db,
    clock: Clock,
    settings: RunnerSettings,
    handlers: Arc<HashMap<JobKind, Arc<dyn Handler>>>,
    /// Identifies this runner's leases.
    owner: String,
}

impl Runner {
    pub fn new(
        db: Db,
        clock: Clock,
        settings: RunnerSettings,
        handlers: Vec<Arc<dyn Handler>>,
    ) -> Runner {
        let handlers = handlers.into_iter().map(|h| (h.kind(), h)).collect();
        Runner {
            db,
            clock,
            settings,
            handlers: Arc::new(handlers),
            owner: crate::platform::db::new_id(),
        }
    }

    /// The same handlers under another lease owner: a second instance on the same
    /// database, as tests of several instances need.
    pub fn another_instance(&self) -> Runner {
        Runner {
            owner: crate::platform::db::new_id(),
            ..self.clone()
        }
    }

    /// Runs passes until `shutdown` resolves. When idle it waits to be woken or for the
    /// poll interval. Passes overlap: while one pass's results are recorded, the next
    /// pass claims and performs (its jobs cannot be the same: those are still leased).
    /// On shutdown it claims nothing more; the pass in flight gets `shutdown_grace` to
    /// finish and be recorded, after which its unrecorded jobs are released for another
    /// instance (or the next start) to run.
    pub async fn run(self, waker: Waker, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut recording: Option<tokio::task::JoinHandle<anyhow::Result<Pass>>> = None;
        // The next pass's jobs, claimed before the last pass was recorded.
        let mut claimed: Option<Claimed> = None;
        loop {
            let ahead = claimed.take();
            let perform = async {
                let claim = match ahead {
                    Some(claim) => claim,
                    None => self.claim().await?,
                };
                Ok::<_, anyhow::Error>(self.perform(claim).await)
            };
            tokio::pin!(perform);
            let performed = tokio::select! {
                performed = &mut perform => performed,
                () = &mut shutdown => {
                    let finish = async {
                        if let Some(previous) = recording.take() {
                            recorded(previous.await);
                        }
                        match perform.await {
                            Ok(results) => recorded(Ok(self.record(results).await)),
                            Err(e) => tracing::error!(error = ?e, "job pass failed during shutdown"),
                        }
                    };
                    if tokio::time::timeout(self.settings.shutdown_grace, finish).await.is_err() {
                        tracing::warn!("shutdown: a job pass did not finish in time; releasing its jobs");
                        if let Err(e) = self.release_leases().await {
                            tracing::error!(error = ?e, "releasing job leases failed");
                        }
                    }
                    return;
                }
            };
            // One recording in flight at most.
            if let Some(previous) = recording.take() {
                recorded(previous.await);
            }
            let busy = match performed {
                Ok(results) if !results.is_empty() => {
                    // The next pass is claimed before this one is recorded, not during:
                    // on SQLite both write, and a claim that found the recording's
                    // transaction open would sleep in SQLite's busy handler (1, 2, 5,
                    // 10 ms…) while the SMTP connections wait for work.
                    claimed = match self.claim().await {
                        Ok(claim) if !claim.jobs.is_empty() => Some(claim),
                        Ok(_) => None,
                        Err(e) => {
                            tracing::error!(error = ?e, "claiming jobs failed");
                            None
                        }
                    };
                    let runner = self.clone();
                    recording = Some(tokio::spawn(async move { runner.record(results).await }));
                    true
                }
                Ok(_) => false,
                Err(e) => {
                    tracing::error!(error = ?e, "job pass failed");
                    false
                }
            };
            if !busy {
                tokio::select! {
                    () = &mut shutdown => return,
                    () = waker.0.notified() => {}
                    () = tokio::time::sleep(self.settings.poll_interval) => {}
                }
            }
        }
    }

    /// One pass: claims the jobs due now, performs them and records the results. Tests
    /// call this directly after moving the clock.
    pub async fn run_once(&self) -> anyhow::Result<Pass> {
        let claim = self.claim().await?;
        let results = self.perform(claim).await;
        if results.is_empty() {
            return Ok(Pass::default());
        }
        self.record(results).await
    }

    /// Claims the jobs due now.
    async fn claim(&self) -> anyhow::Result<Claimed> {
        let now = self.clock.now();
        Ok(Claimed {
            jobs: self.claim_due(now).await?,
            now,
        })
    }

    /// Hands each kind's batch of claimed jobs to its handler.
    async fn perform(&self, Claimed { jobs, now }: Claimed) -> Vec<JobResult> {
        if jobs.is_empty() {
            return Vec::new();
        }
        let mut by_kind: HashMap<JobKind, Vec<Job>> = HashMap::new();
        for job in jobs {
            by_kind.entry(job.kind).or_default().push(job);
        }
        let mut batches = Vec::new();
        let mut results: Vec<JobResult> = Vec::new();
        for (kind, jobs) in by_kind {
            match self.handlers.get(&kind) {
                Some(handler) => batches.push(handler.perform(jobs, now)),
                // A kind this build does not know (a newer instance queued it): leave it to
                // an instance that does, by letting the lease run out.
                None => tracing::warn!(%kind, "no handler for this job kind"),
            }
        }
        for batch in futures_util::future::join_all(batches).await {
            results.extend(batch);
        }
        results
    }

    async fn claim_due(&self, now: DateTime<Utc>) -> anyhow::Result<Vec<Job>> {
        let sql = format!(
            "update jobs set lease_owner = $1, lease_until = $2, attempts = attempts + 1
             where id in (
                 select id from jobs
                 where status = $3 and run_at <= $4 and (lease_until is null or lease_until < $4)
                 order by run_at
                 limit $5
                 {}
             )
             returning id, kind, dedupe_key, payload, attempts",
            dialect::skip_locked(self.db.backend())
        );
        let lease_until = now + self.settings.lease;
        let rows: Vec<(String, String, String, String, i64)> = sqlx::query_as(&sql)
            .bind(&self.owner)
            .bind(to_db(lease_until))
            .bind(JobStatus::Pending.as_str())
            .bind(to_db(now))
            .bind(self.settings.batch)
            .fetch_all(self.db.pool())
            .await?;
        rows.into_iter()
            .map(|(id, kind, dedupe_key, payload, attempts)| {
                Ok(Job {
                    id,
                    kind: kind.parse().map_err(anyhow::Error::msg)?,
                    dedupe_key,
                    payload,
                    attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                    owner: self.owner.clone(),
                    lease_until,
                })
            })
            .collect()
    }

    /// Records a pass's results. The side effects already happened, so a failure here
    /// would repeat them on retry: the whole recording is retried on its own first (a
    /// busy SQLite writer is the usual cause). Only a database down for longer than that
    /// leads to a second email.
    async fn record(&self, results: Vec<JobResult>) -> anyhow::Result<Pass> {
        let mut last_error = None;
        for pause_ms in [0, 50, 200, 1_000] {
            if pause_ms > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(pause_ms)).await;
            }
            match self.try_record(&results).await {
                Ok(pass) => return Ok(pass),
                Err(e) => {
                    tracing::warn!(error = %e, "recording job results failed, retrying");
                    last_error = Some(e);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("recording job results failed")))
    }

    async fn try_record(&self, results: &[JobResult]) -> anyhow::Result<Pass> {
        match self.record_at_once(results).await {
            Ok(Some(pass)) => return Ok(pass),
            // A job outran its lease and another runner took it: expected, not a failure.
            Ok(None) => {
                tracing::debug!("a job of the pass is no longer ours; recording job by job")
            }
            Err(e) => {
                tracing::warn!(error = %e, "recording a pass at once failed; recording job by job");
            }
        }
        self.record_job_by_job(results).await
    }

    /// The usual case, in few statements: every finished job is marked done by one
    /// update, then the handlers' writes follow, all in one transaction. `None` when a job
    /// is no longer ours (its lease ran out and another runner took it); that, or any
    /// error, undoes it all, and [`Runner::record_job_by_job`] takes over.
    async fn record_at_once(&self, results: &[JobResult]) -> anyhow::Result<Option<Pass>> {
        let now = self.clock.now();
        let mut conn = self.db.pool().acquire().await?;
        let mut tx = conn.begin().await?;
        let finished: Vec<&str> = results
            .iter()
            .filter(|(_, r)| matches!(r, Ok(Outcome::Performed(_) | Outcome::Skipped(_))))
            .map(|(job, _)| job.id.as_str())
            .collect();
        // Each update counts the rows it moved rather than returning them: sqlx's SQLite
        // driver hands each returned row across a thread, and a pass's jobs are nearly
        // always all still ours. When one is not (it outran its lease and another runner
        // took it over), the count falls short, and the pass is recorded job by job,
        // where each job's ownership is checked on its own.
        for chunk in finished.chunks(1_000) {
            let sql = format!(
                "update jobs set status = {}, done_at = {}, lease_owner = null, lease_until = null
                 where lease_owner = {} and id in ({})",
                rows::placeholder(&tx, 1),
                rows::placeholder(&tx, 2),
                rows::placeholder(&tx, 3),
                rows::list_from(&tx, 4, chunk.len()),
            );
            let mut q = sqlx::query(&sql)
                .bind(JobStatus::Done.as_str())
                .bind(to_db(now))
                .bind(&self.owner);
            for id in chunk {
                q = q.bind(*id);
            }
            if q.execute(&mut *tx).await?.rows_affected() != chunk.len() as u64 {
                return Ok(None);
            }
        }
        let continued: Vec<(&str, &Next)> = results
            .iter()
            .filter_map(|(job, r)| match r {
                Ok(Outcome::Continued(_, next) | Outcome::Recur(next)) => {
                    Some((job.id.as_str(), next))
                }
                _ => None,
            })
            .collect();
        for chunk in continued.chunks(1_000) {
            if self.go_on(&mut tx, chunk).await? != chunk.len() as u64 {
                return Ok(None);
            }
        }
        // Every finished and continued job is ours: the counts above said so.
        let mut pass = Pass::default();
        let mut writes: Vec<&dyn Effect> = Vec::new();
        for (job, result) in results {
            let counted = match result {
                Ok(
                    Outcome::Performed(effects)
                    | Outcome::Continued(effects, _)
                    | Outcome::Skipped(effects),
                ) => {
                    writes.extend(effects.iter().map(AsRef::as_ref));
                    if matches!(result, Ok(Outcome::Skipped(_))) {
                        Counted::Skipped
                    } else {
                        Counted::Sent
                    }
                }
                Ok(Outcome::Later(at)) => {
                    if !self.postpone(&mut tx, job, *at).await? {
                        continue;
                    }
                    Counted::Postponed
                }
                Ok(Outcome::Recur(_)) => Counted::Skipped,
                Err(failure) => match self.fail(&mut tx, job, failure, now).await? {
                    Some(counted) => counted,
                    None => continue,
                },
            };
            pass.count(counted);
        }
        apply_batched(&mut tx, writes, now).await?;
        tx.commit().await?;
        Ok(Some(pass))
    }

    /// Each job in a savepoint of its own: one job's failing write must not undo the
    /// bookkeeping of the others, whose emails are already gone.
    async fn record_job_by_job(&self, results: &[JobResult]) -> anyhow::Result<Pass> {
        let now = self.clock.now();
        let mut conn = self.db.pool().acquire().await?;
        let mut tx = conn.begin().await?;
        let mut pass = Pass::default();
        for (job, result) in results {
            let mut one = tx.begin().await?;
            let counted = match result {
                Ok(Outcome::Later(at)) => {
                    if !self.postpone(&mut one, job, *at).await? {
                        one.rollback().await?;
                        continue;
                    }
                    Counted::Postponed
                }
                Ok(outcome) => {
                    let (effects, performed, next) = match outcome {
                        Outcome::Performed(effects) => (effects, true, None),
                        Outcome::Continued(effects, next) => (effects, true, Some(next)),
                        Outcome::Skipped(effects) => (effects, false, None),
                        Outcome::Recur(next) => (NO_EFFECTS, false, Some(next)),
                        Outcome::Later(_) => (NO_EFFECTS, false, None),
                    };
                    let ours = match next {
                        Some(next) => self.go_on(&mut one, &[(job.id.as_str(), next)]).await? == 1,
                        None => {
                            self.finish(&mut one, job, JobStatus::Done, None, None, now)
                                .await?
                        }
                    };
                    if !ours {
                        // Another runner took the job over; it records the result.
                        one.rollback().await?;
                        continue;
                    }
                    match apply(&mut one, effects, now).await {
                        Ok(()) => {}
                        Err(e) => {
                            // The side effect happened: never perform it again. Keep the
                            // error on the job for staff to see.
                            tracing::error!(job = %job.id, kind = %job.kind, error = ?e, "recording a job's writes failed");
                            one.rollback().await?;
                            one = tx.begin().await?;
                            let message = format!("performed, but recording failed: {e:#}");
                            self.finish(&mut one, job, JobStatus::Done, Some(&message), None, now)
                                .await?;
                        }
                    }
                    if performed {
                        Counted::Sent
                    } else {
                        Counted::Skipped
                    }
                }
                Err(failure) => match self.fail(&mut one, job, failure, now).await? {
                    Some(counted) => counted,
                    None => {
                        one.rollback().await?;
                        continue;
                    }
                },
            };
            one.commit().await?;
            pass.count(counted);
        }
        tx.commit().await?;
        Ok(pass)
    }

    /// Records a failed attempt: retried later, or dead when the runner gives up. `None`
    /// when the lease is no longer ours.
    async fn fail(
        &self,
        conn: &mut AnyConnection,
        job: &Job,
        failure: &Failure,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<Counted>> {
        let gives_up = failure.permanent || job.attempts >= self.settings.max_attempts;
        // The error text stays on the job row, not in the log: SMTP servers
        // echo recipient addresses in their answers.
        tracing::warn!(
            job = %job.id, kind = %job.kind, attempts = job.attempts, gives_up,
            "job attempt failed"
        );
        let (status, retry_at) = if gives_up {
            (JobStatus::Dead, None)
        } else {
            let delay = backoff(self.settings.base_backoff, job.attempts);
            (JobStatus::Pending, Some(now + delay))
        };
        if !self
            .finish(conn, job, status, Some(&failure.message), retry_at, now)
            .await?
        {
            return Ok(None);
        }
        if gives_up {
            apply(conn, &failure.if_final, now).await?;
            Ok(Some(Counted::Dead))
        } else {
            Ok(Some(Counted::Retried))
        }
    }

    /// Ends this runner's hold on a job: done, dead, or pending again at `retry_at`.
    /// False when the lease is no longer ours.
    async fn finish(
        &self,
        conn: &mut AnyConnection,
        job: &Job,
        status: JobStatus,
        error: Option<&str>,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> sqlx::Result<bool> {
        let error: Option<String> = error.map(|e| e.chars().take(1_000).collect());
        let done_at = (status == JobStatus::Done).then(|| to_db(now));
        let finished = sqlx::query(
            "update jobs set status = $1, done_at = $2, last_error = coalesce($3, last_error),
                 run_at = coalesce($4, run_at), lease_owner = null, lease_until = null
             where id = $5 and lease_owner = $6",
        )
        .bind(status.as_str())
        .bind(done_at)
        .bind(error)
        .bind(retry_at.map(to_db))
        .bind(&job.id)
        .bind(&job.owner)
        .execute(conn)
        .await?
        .rows_affected();
        Ok(finished == 1)
    }

    /// Moves jobs to their next step, pending again; how many were still ours.
    async fn go_on(&self, conn: &mut AnyConnection, steps: &[(&str, &Next)]) -> sqlx::Result<u64> {
        let n = steps.len();
        let sql = format!(
            // `update … from`, on both engines; `values` columns are `column1`… on both.
            "update jobs set kind = next.kind, payload = next.payload, run_at = next.run_at,
                 attempts = 0, last_error = null, lease_owner = null, lease_until = null
             from (select column1 as id, column2 as kind, column3 as payload, column4 as run_at
                   from (values {}) as steps) as next
             where jobs.id = next.id and jobs.lease_owner = {}",
            rows::values(conn, n, 4),
            rows::placeholder(conn, 4 * n + 1),
        );
        let mut query = sqlx::query(&sql);
        for (id, next) in steps {
            query = query
                .bind(*id)
                .bind(next.kind.as_str())
                .bind(&next.payload)
                .bind(to_db(next.run_at));
        }
        Ok(query.bind(&self.owner).execute(conn).await?.rows_affected())
    }

    /// Puts a job off to `at` without counting the attempt. False when the lease is no
    /// longer ours.
    async fn postpone(
        &self,
        conn: &mut AnyConnection,
        job: &Job,
        at: DateTime<Utc>,
    ) -> sqlx::Result<bool> {
        let moved = sqlx::query(
            "update jobs set run_at = $1, lease_owner = null, lease_until = null,
                 attempts = case when attempts > 0 then attempts - 1 else 0 end
             where id = $2 and lease_owner = $3",
        )
        .bind(to_db(at))
        .bind(&job.id)
        .bind(&job.owner)
        .execute(conn)
        .await?
        .rows_affected();
        Ok(moved == 1)
    }

    /// Gives back every job this runner holds, due at once, its attempt not counted.
    async fn release_leases(&self) -> sqlx::Result<()> {
        sqlx::query(
            "update jobs set lease_owner = null, lease_until = null,
                 attempts = case when attempts > 0 then attempts - 1 else 0 end
             where lease_owner = $1 and status = $2",
        )
        .bind(&self.owner)
        .bind(JobStatus::Pending.as_str())
        .execute(self.db.pool())
        .await?;
        Ok(())
    }
}

/// Logs how recording a pass ended; its jobs' leases run out if it failed.
fn recorded(outcome: Result<anyhow::Result<Pass>, tokio::task::JoinError>) {
    match outcome {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::error!(error = ?e, "recording a job pass failed"),
        Err(e) => tracing::error!(error = ?e, "recording a job pass stopped abnormally"),
    }
}

enum Counted {
    Postponed,
    Sent,
    Skipped,
    Retried,
    Dead,
}

async fn apply(
    conn: &mut AnyConnection,
    effects: &Effects,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    for effect in effects {
        effect.apply(conn, now).await?;
    }
    Ok(())
}

/// Applies the jobs' writes in order, each run of writes that batch together as one
/// (see [`Effect::batch`]). Jobs of one pass ran concurrently, so only the order within
/// a job matters, and merging neighbours keeps every order.
async fn apply_batched(
    conn: &mut AnyConnection,
    effects: Vec<&dyn Effect>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let mut open: Option<Box<dyn Effect>> = None;
    for effect in effects {
        if let Some(batch) = open.as_mut() {
            if batch.absorb(effect) {
                continue;
            }
        }
        if let Some(batch) = open.take() {
            batch.apply(conn, now).await?;
        }
        match effect.batch() {
            Some(batch) => open = Some(batch),
            None => effect.apply(conn, now).await?,
        }
    }
    if let Some(batch) = open {
        batch.apply(conn, now).await?;
    }
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
