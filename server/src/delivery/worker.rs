//! The delivery worker: claims due outbox jobs and performs them. Runs beside the HTTP
//! server in the same process; several processes may share one PostgreSQL database.

use super::invitation_email::{self, EmailContext};
use super::mailer::Mailer;
use super::outbox::{self, backoff, Job, JobKind};
use super::templates::Templates;
use crate::app::clock::Clock;
use crate::app::config::Settings;
use crate::invitations::{self, Event, InvitationStatus, Target};
use crate::platform::db::Db;
use anyhow::Context;
use futures_util::StreamExt;
use lettre::message::Mailbox;
use sqlx::Acquire;
use std::sync::Arc;
use tokio::sync::Notify;

/// Lets request handlers wake the worker when they queue something due now, so a new
/// email does not wait for the next poll.
#[derive(Clone, Default)]
pub struct WorkerWaker(Arc<Notify>);

impl WorkerWaker {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

pub struct Worker {
    db: Db,
    mailer: Mailer,
    templates: Templates,
    settings: Arc<Settings>,
    from: Mailbox,
    public_url: String,
    /// Identifies this process's leases.
    owner: String,
    clock: Clock,
}

/// What one pass of the worker did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pass {
    pub sent: usize,
    /// Jobs with nothing left to do (the buyer opted out, or already has the link).
    pub skipped: usize,
    pub retried: usize,
    pub dead: usize,
}

impl Pass {
    pub fn is_empty(&self) -> bool {
        self.sent + self.skipped + self.retried + self.dead == 0
    }
}

impl Worker {
    pub fn new(
        db: Db,
        settings: Arc<Settings>,
        public_url: String,
        clock: Clock,
    ) -> anyhow::Result<Worker> {
        let from = settings.mail.from.parse().with_context(|| {
            format!(
                "DEBRIEF_MAIL_FROM is not a valid mailbox: {:?}",
                settings.mail.from
            )
        })?;
        Ok(Worker {
            mailer: Mailer::new(&settings.mail.transport)?,
            templates: Templates::load()?,
            db,
            settings,
            from,
            public_url,
            owner: crate::platform::db::new_id(),
            clock,
        })
    }

    pub fn describe_mail(&self) -> String {
        self.mailer.describe()
    }

    /// Runs until `shutdown` resolves. Sleeps until woken or the poll interval passes.
    pub async fn run(self, waker: WorkerWaker, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let idle = match self.run_once().await {
                Ok(pass) => pass.is_empty(),
                Err(e) => {
                    tracing::error!(error = ?e, "delivery pass failed");
                    true
                }
            };
            if idle {
                tokio::select! {
                    _ = &mut shutdown => return,
                    _ = waker.0.notified() => {}
                    _ = tokio::time::sleep(self.settings.worker.poll_interval) => {}
                }
            }
        }
    }

    /// One pass: claims the jobs due now and performs them, a few at a time. Tests call
    /// this directly instead of waiting on the background loop.
    pub async fn run_once(&self) -> anyhow::Result<Pass> {
        let now = self.clock.now();
        let jobs = outbox::claim_due(
            &self.db,
            &self.owner,
            now,
            self.settings.worker.lease,
            CLAIM_BATCH,
        )
        .await?;
        // Concurrent sends use the SMTP pool's connections in parallel: one connection
        // alone is bound by round trips (and lettre's delayed-ACK stalls), not bandwidth.
        let outcomes: Vec<anyhow::Result<Outcome>> = futures_util::stream::iter(jobs)
            .map(|job| self.perform(job))
            .buffer_unordered(SEND_CONCURRENCY)
            .collect()
            .await;
        let mut pass = Pass::default();
        for outcome in outcomes {
            match outcome? {
                Outcome::Sent => pass.sent += 1,
                Outcome::Skipped => pass.skipped += 1,
                Outcome::Retried => pass.retried += 1,
                Outcome::Dead => pass.dead += 1,
            }
        }
        Ok(pass)
    }

    async fn perform(&self, job: Job) -> anyhow::Result<Outcome> {
        let result = match job.kind {
            JobKind::SurveyInvitation => self.send_invitation(&job).await,
        };
        match result {
            Ok(outcome) => Ok(outcome),
            Err(failure) => {
                let gives_up =
                    failure.permanent || job.attempts >= self.settings.worker.max_attempts;
                // The error text stays in the outbox row, not the log: SMTP servers echo
                // recipient addresses in their answers.
                tracing::warn!(
                    job = %job.id, kind = %job.kind, attempts = job.attempts, gives_up,
                    "delivery attempt failed"
                );
                self.record_failure(&job, &failure.message, gives_up)
                    .await?;
                Ok(if gives_up {
                    Outcome::Dead
                } else {
                    Outcome::Retried
                })
            }
        }
    }

    async fn send_invitation(&self, job: &Job) -> Result<Outcome, Failure> {
        let now = self.clock.now();
        let Some(invitation) = invitation_email::load(&self.db, &job.subject_id).await? else {
            return Err(Failure::permanent("the invitation no longer exists"));
        };
        if invitation.status != InvitationStatus::Scheduled {
            // Already sent by an earlier attempt whose bookkeeping was lost, or the buyer
            // is already further along: nothing to send.
            let mut conn = self.db.pool().acquire().await.map_err(Failure::from_db)?;
            outbox::mark_done(&mut conn, job, now)
                .await
                .map_err(Failure::from_db)?;
            return Ok(Outcome::Skipped);
        }
        if invitation.suppressed {
            // Opted out after this email was queued: the opt-out wins. (Opting out closes
            // queued invitations too, but not one still being written by a concurrent
            // deal update; this check covers that.)
            let mut conn = self.db.pool().acquire().await.map_err(Failure::from_db)?;
            let mut tx = conn.begin().await.map_err(Failure::from_db)?;
            invitations::apply(
                &mut *tx,
                Target::Invitation(&job.subject_id),
                Event::OptOut,
                now,
            )
            .await
            .map_err(Failure::from_db)?;
            outbox::mark_done(&mut tx, job, now)
                .await
                .map_err(Failure::from_db)?;
            tx.commit().await.map_err(Failure::from_db)?;
            return Ok(Outcome::Skipped);
        }
        let ctx = EmailContext {
            templates: &self.templates,
            from: &self.from,
            company: &self.settings.company_name,
            public_url: &self.public_url,
            link_validity: self.settings.outreach.link_validity,
        };
        let message =
            invitation_email::build(&self.db, &ctx, &job.subject_id, &invitation, now).await?;
        let lease_until = self.clock.now() + self.settings.worker.lease;
        if !outbox::renew_lease(&self.db, job, lease_until)
            .await
            .map_err(Failure::from_db)?
        {
            // Our lease ran out and another worker owns the job now: sending too would
            // email the buyer twice.
            return Ok(Outcome::Skipped);
        }
        self.mailer.send(message).await.map_err(|e| Failure {
            permanent: e.permanent,
            message: e.message,
        })?;

        // The email is gone: a failure from here on would send it again on retry, so the
        // bookkeeping is retried on its own first (a busy SQLite writer is the usual cause).
        // Only a database down for longer than that leads to a second email.
        for pause_ms in [50, 200, 1_000] {
            match self.record_sent(job).await {
                Ok(()) => return Ok(Outcome::Sent),
                Err(e) => {
                    tracing::warn!(job = %job.id, error = %e, "sent; recording it failed, retrying");
                    tokio::time::sleep(std::time::Duration::from_millis(pause_ms)).await;
                }
            }
        }
        self.record_sent(job).await.map_err(Failure::from_db)?;
        Ok(Outcome::Sent)
    }

    async fn record_sent(&self, job: &Job) -> sqlx::Result<()> {
        let mut conn = self.db.pool().acquire().await?;
        let mut tx = conn.begin().await?;
        invitations::apply(
            &mut *tx,
            Target::Invitation(&job.subject_id),
            Event::Send,
            self.clock.now(),
        )
        .await?;
        outbox::mark_done(&mut tx, job, self.clock.now()).await?;
        tx.commit().await
    }

    async fn record_failure(&self, job: &Job, error: &str, gives_up: bool) -> anyhow::Result<()> {
        let mut conn = self.db.pool().acquire().await?;
        let mut tx = conn.begin().await?;
        let retry_at = (!gives_up)
            .then(|| self.clock.now() + backoff(self.settings.worker.base_backoff, job.attempts));
        outbox::mark_failed(&mut tx, job, error, retry_at).await?;
        if gives_up && job.kind == JobKind::SurveyInvitation {
            invitations::apply(
                &mut *tx,
                Target::Invitation(&job.subject_id),
                Event::Fail,
                self.clock.now(),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Jobs sent at once (the SMTP pool holds as many connections). A pass claims no more
/// than it sends at once, so no claimed job waits in line while its lease runs down.
pub(crate) const SEND_CONCURRENCY: usize = 4;
const CLAIM_BATCH: i64 = SEND_CONCURRENCY as i64;

/// What became of one job in a pass.
enum Outcome {
    Sent,
    Skipped,
    Retried,
    Dead,
}

/// A failed attempt.
struct Failure {
    permanent: bool,
    message: String,
}

impl Failure {
    fn permanent(message: &str) -> Self {
        Failure {
            permanent: true,
            message: message.into(),
        }
    }

    fn from_db(e: sqlx::Error) -> Self {
        Failure {
            permanent: false,
            message: format!("database: {e}"),
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure {
            permanent: false,
            message: format!("{e:#}"),
        }
    }
}
