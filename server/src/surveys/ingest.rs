//! Group commit for answers saved as buyers go. The widget saves after every question,
//! and a survey sent to a whole segment is answered by many buyers at once; each save in
//! its own transaction would queue for SQLite's single writer, and read its buyer's link,
//! progress and deal in queries of its own. Instead, saves that arrive while a group is
//! being written wait together: in one transaction, their links, progress and deals are
//! read, each page is checked against the version its buyer answers, and every valid page
//! is written. A lone save is written at once: nothing waits for company. Each buyer is
//! still told exactly what happened to their own answers.
//!
//! On SQLite the one writer's serial path bounds the answers taken a second, so it
//! drives a connection of its own, on a thread of its own (`platform::db::direct`); on
//! PostgreSQL, several writers run side by side on pooled connections.

use super::answers::{FrozenDeal, SurveyedDeal};
use super::definitions::Definitions;
use super::progress::{self, Page, Progress, Saved};
use crate::app::clock::Clock;
use crate::invitations::tokens::{resolve_many, Invitation, Lookup};
use crate::invitations::InvitationStatus;
use crate::platform::db::conn::{Begin, Commit, Conn};
use crate::platform::db::{Backend, Db};
use crate::platform::group_commit::next_group;
use crate::programs::store::Programs;
use crate::web::error::{ApiError, ApiResult};
use chrono::{DateTime, Utc};
use debrief_common::survey::{validate_answers, AnswerItem, Answers, Completeness, Hidden};
use futures_util::FutureExt;
use std::future::Future;
use tokio::sync::{mpsc, oneshot};

/// Saves per group: a transaction short enough that nothing else waits long for SQLite's
/// writer.
const GROUP_MAX: usize = 256;

/// Saves waiting for the writer, beyond which a request waits to be queued.
const QUEUE: usize = 4_096;

/// What a save tells the buyer's browser: the version answered and the questions that
/// now hold an answer. Small on purpose: the widget saves after every question.
#[derive(Debug, serde::Serialize)]
pub struct SavedAnswers {
    pub survey_key: String,
    pub version: i64,
    pub answered: Vec<String>,
}

struct Posted {
    token: String,
    items: Vec<AnswerItem>,
    reply: oneshot::Sender<ApiResult<SavedAnswers>>,
}

/// What the writer reads and writes with.
#[derive(Clone)]
struct Writer {
    db: Db,
    definitions: Definitions,
    programs: Programs,
    company: String,
    clock: Clock,
}

/// The queues in front of the answer writers; one set per application. A buyer's saves
/// always go to the same writer, so they are stored in the order they arrived.
#[derive(Clone)]
pub struct Ingest {
    queues: Vec<mpsc::Sender<Posted>>,
}

impl Ingest {
    /// Starts the writers, which end when the last `Ingest` is dropped.
    pub fn start(
        db: Db,
        definitions: Definitions,
        programs: Programs,
        company: String,
        clock: Clock,
    ) -> Ingest {
        // Each with its own queue and connection: on PostgreSQL, groups written side by
        // side go faster than one after the other.
        let writers = db.writers();
        let writer = Writer {
            db,
            definitions,
            programs,
            company,
            clock,
        };
        let queues = (0..writers)
            .map(|_| {
                let (queue, posted) = mpsc::channel(QUEUE / writers);
                writer.clone().start(posted);
                queue
            })
            .collect();
        Ingest { queues }
    }

    /// Saves a buyer's answers, each replacing what was saved for its question, with the
    /// others that arrive meanwhile; answers once committed.
    pub async fn save(&self, token: String, items: Vec<AnswerItem>) -> ApiResult<SavedAnswers> {
        let (reply, saved) = oneshot::channel();
        // Tokens are random: their hash spreads buyers evenly over the writers.
        let mut hasher = std::hash::DefaultHasher::new();
        std::hash::Hash::hash(&token, &mut hasher);
        let writer = std::hash::Hasher::finish(&hasher) as usize % self.queues.len();
        self.queues[writer]
            .send(Posted {
                token,
                items,
                reply,
            })
            .await
            .map_err(|_| anyhow::anyhow!("the answer writer has stopped"))?;
        saved
            .await
            .map_err(|_| anyhow::anyhow!("the answer writer stopped before saving"))?
    }
}

impl Writer {
    /// On SQLite, the writer drives a connection of its own on a thread of its own (see
    /// `platform::db::direct`): its serial path is what bounds the answers SQLite takes a
    /// second. On PostgreSQL, where the database does the work, each writer is a task on
    /// a pooled connection.
    fn start(self, posted: mpsc::Receiver<Posted>) {
        if self.db.backend() == Backend::Postgres {
            tokio::spawn(self.run(
                posted,
                |db: Db| async move { Ok(db.pool().acquire().await?) },
            ));
            return;
        }
        let spawned = std::thread::Builder::new()
            .name("answer-writer".into())
            .spawn(move || {
                // Its own small runtime, for the queue.
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime.block_on(self.run(posted, |db: Db| async move {
                        db.direct()
                            .unwrap_or_else(|| Err(anyhow::anyhow!("not an SQLite database")))
                    })),
                    Err(e) => tracing::error!(error = %e, "the answer writer could not start"),
                }
            });
        if let Err(e) = spawned {
            // The queue's receiver is gone with the closure: saves answer 500.
            tracing::error!(error = %e, "the answer writer could not start");
        }
    }

    /// Takes groups off the queue and saves them, on a connection from `connect`, kept
    /// from one group to the next: SQLite empties a connection's page cache when another
    /// connection has written since it last read, so a writer taking whichever pooled
    /// connection is free would read the indexes back from the file at every group.
    async fn run<C, F>(self, mut posted: mpsc::Receiver<Posted>, connect: impl Fn(Db) -> F)
    where
        C: Begin,
        F: Future<Output = anyhow::Result<C>>,
    {
        let mut held: Option<C> = None;
        let mut held_over: Option<Posted> = None;
        // One buyer twice (a retry racing its original) goes in the next group: the
        // second save reads what the first stored, as one after the other.
        while let Some(group) =
            next_group(&mut posted, &mut held_over, GROUP_MAX, |p| p.token.clone()).await
        {
            // A panic while saving fails that group's saves (their replies are dropped),
            // not every save after it.
            if std::panic::AssertUnwindSafe(self.save_group(&mut held, &connect, group))
                .catch_unwind()
                .await
                .is_err()
            {
                tracing::error!("saving a group of answers panicked");
                held = None;
            }
        }
    }

    async fn save_group<C: Begin, F: Future<Output = anyhow::Result<C>>>(
        &self,
        held: &mut Option<C>,
        connect: &impl Fn(Db) -> F,
        group: Vec<Posted>,
    ) {
        let now = self.clock.now();
        let (saves, replies): (Vec<_>, Vec<_>) = group
            .into_iter()
            .map(|p| ((p.token, p.items), p.reply))
            .unzip();
        match self.save_held(held, connect, &saves, now).await {
            Ok(outcomes) => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    // The buyer may have gone; what was saved stays saved.
                    let _ = reply.send(outcome);
                }
            }
            // One buyer's failure must not fail the others: each alone, then.
            Err(e) if saves.len() > 1 => {
                tracing::warn!(error = %e, saves = saves.len(), "saving a group of answers failed; saving them one by one");
                for (reply, save) in replies.into_iter().zip(&saves) {
                    let one = std::slice::from_ref(save);
                    let outcome = match self.save_held(held, connect, one, now).await {
                        Ok(mut outcomes) => outcomes.pop().unwrap_or_else(|| {
                            Err(anyhow::anyhow!("a save gave no outcome").into())
                        }),
                        Err(e) => Err(e.into()),
                    };
                    let _ = reply.send(outcome);
                }
            }
            Err(e) => {
                if let Some(reply) = replies.into_iter().next() {
                    let _ = reply.send(Err(e.into()));
                }
            }
        }
    }

    /// Checks and saves each buyer's answers (distinct buyers) on the held connection,
    /// connecting if none is held, in one transaction with the reads they need; gives
    /// each its outcome, in order. An error here is the storage's, not a buyer's, and the
    /// connection may be broken: the next group takes another.
    async fn save_held<C: Begin, F: Future<Output = anyhow::Result<C>>>(
        &self,
        held: &mut Option<C>,
        connect: &impl Fn(Db) -> F,
        saves: &[(String, Vec<AnswerItem>)],
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<ApiResult<SavedAnswers>>> {
        let conn = match held {
            Some(conn) => conn,
            None => held.insert(connect(self.db.clone()).await?),
        };
        let saved = async {
            // Reads in the transaction too: on SQLite, a statement outside one is a read
            // transaction of its own, taking and releasing the WAL's locks (a third of
            // the writer's time went to those system calls, read one row at a time).
            let mut tx = conn.transaction().await?;
            let outcomes = self.save_in(&mut tx, saves, now).await?;
            tx.commit().await?;
            Ok(outcomes)
        }
        .await;
        if saved.is_err() {
            *held = None;
        }
        saved
    }

    /// [`Writer::save_held`]'s work, in its transaction.
    async fn save_in<C: Conn>(
        &self,
        conn: &mut C,
        saves: &[(String, Vec<AnswerItem>)],
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<ApiResult<SavedAnswers>>> {
        let tokens: Vec<&str> = saves.iter().map(|(t, _)| t.as_str()).collect();
        let lookups = resolve_many(conn, &tokens, now).await?;

        let mut outcomes: Vec<Option<ApiResult<SavedAnswers>>> = Vec::with_capacity(saves.len());
        let mut open: Vec<(usize, Invitation)> = Vec::with_capacity(saves.len());
        for (i, lookup) in lookups.into_iter().enumerate() {
            match opened(lookup) {
                Ok(invitation) => {
                    open.push((i, invitation));
                    outcomes.push(None);
                }
                Err(e) => outcomes.push(Some(Err(e))),
            }
        }
        let invitations: Vec<&Invitation> = open.iter().map(|(_, inv)| inv).collect();
        let progress = progress::open_many(conn, &self.definitions, &invitations).await?;

        // Checked, each against the version its buyer answers.
        struct Checked<'a> {
            at: usize,
            invitation: &'a Invitation,
            progress: Progress,
            answers: Answers,
            deal: FrozenDeal,
        }
        let mut checked: Vec<Checked> = Vec::with_capacity(open.len());
        for ((at, invitation), opened) in open.iter().zip(progress) {
            let Some((progress, deal)) = opened else {
                anyhow::bail!("no definition is stored for survey {}", invitation.survey());
            };
            match self.check(&progress, &deal, &saves[*at].1) {
                Ok(answers) => checked.push(Checked {
                    at: *at,
                    invitation,
                    deal: deal.frozen_in(conn, &self.programs).await?,
                    progress,
                    answers,
                }),
                Err(e) => outcomes[*at] = Some(Err(e)),
            }
        }

        let pages: Vec<Page> = checked
            .iter()
            .map(|c| Page {
                deal: &c.deal,
                invitation_id: &c.invitation.id,
                locale: c.invitation.locale,
                progress: &c.progress,
                answers: &c.answers,
            })
            .collect();
        let saved = progress::write_pages(conn, &pages, now).await?;
        for (c, saved) in checked.iter().zip(saved) {
            outcomes[c.at] = Some(match saved {
                Saved::Page => Ok(SavedAnswers {
                    survey_key: c.progress.survey_key.clone(),
                    version: c.progress.version,
                    answered: c.answers.keys().cloned().collect(),
                }),
                _ => Err(already_answered()),
            });
        }
        Ok(outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Err(anyhow::anyhow!("a save was left out").into())))
            .collect())
    }

    /// The buyer's answers merged into what they saved, if the version they answer takes
    /// them.
    fn check(
        &self,
        progress: &Progress,
        deal: &SurveyedDeal,
        items: &[AnswerItem],
    ) -> ApiResult<Answers> {
        if progress.complete {
            return Err(already_answered());
        }
        validate_answers(
            &progress.definition,
            &deal.context(&self.company),
            &progress.answers,
            items,
            Completeness::Partial,
            Hidden::Refuse,
        )
        .map_err(ApiError::Validation)
    }
}

/// The invitation a survey link opens, or why it opens none.
pub(super) fn opened(lookup: Lookup) -> ApiResult<Invitation> {
    match lookup.survey_only() {
        // An opted-out buyer's survey is closed for every purpose.
        Lookup::Valid(invitation) if invitation.status == InvitationStatus::OptedOut => {
            Err(opted_out())
        }
        Lookup::Valid(invitation) => Ok(invitation),
        Lookup::Expired(_) => Err(ApiError::Gone("this survey link has expired")),
        Lookup::Unknown => Err(ApiError::NotFound("no survey matches this link")),
    }
}

pub(super) fn already_answered() -> ApiError {
    ApiError::Conflict {
        code: "already_answered",
        message: "this survey has already been answered".into(),
    }
}

pub(super) fn opted_out() -> ApiError {
    ApiError::Gone("this buyer asked not to be surveyed")
}
