//! Group commit for decisions posted one by one. A CRM that closes a quarter fires many
//! webhooks at once; each in its own transaction would queue for SQLite's single writer
//! and read the period's tallies once per deal. Instead, posts that arrive while a write
//! is under way wait together and are recorded in one transaction, in arrival order,
//! exactly as an import records its deals (one after the other, each seeing the ones
//! before it). A lone post is recorded at once: nothing waits for company.

use super::decision::Decision;
use super::store::{record_decision, record_group, Planner, RecordedDecision};
use crate::app::clock::Clock;
use crate::platform::db::Db;
use crate::platform::group_commit::next_group;
use futures_util::FutureExt;
use tokio::sync::{mpsc, oneshot};

/// Decisions per group: a transaction short enough that nothing else waits long.
const GROUP_MAX: usize = 256;

/// Posts waiting for the writer, beyond which a post waits to be queued.
const QUEUE: usize = 1_024;

struct Posted {
    decision: Decision,
    reply: oneshot::Sender<anyhow::Result<RecordedDecision>>,
}

/// The queue in front of the writer; one per application.
#[derive(Clone)]
pub struct Intake {
    queue: mpsc::Sender<Posted>,
}

impl Intake {
    /// Starts the writer task, which ends when the last `Intake` is dropped.
    pub fn start(db: Db, planner: Planner, clock: Clock) -> Intake {
        let (queue, posted) = mpsc::channel(QUEUE);
        tokio::spawn(write(db, planner, clock, posted));
        Intake { queue }
    }

    /// Records one decided deal with the others posted meanwhile; its plan and
    /// invitations once committed.
    pub async fn record(&self, decision: Decision) -> anyhow::Result<RecordedDecision> {
        let (reply, recorded) = oneshot::channel();
        self.queue
            .send(Posted { decision, reply })
            .await
            .map_err(|_| anyhow::anyhow!("the decision writer has stopped"))?;
        recorded
            .await
            .map_err(|_| anyhow::anyhow!("the decision writer stopped before recording"))?
    }
}

async fn write(db: Db, planner: Planner, clock: Clock, mut posted: mpsc::Receiver<Posted>) {
    let mut held_over: Option<Posted> = None;
    // The same deal twice goes in the next group: the second post updates what the
    // first recorded, as it would one after the other.
    while let Some(group) = next_group(&mut posted, &mut held_over, GROUP_MAX, |p| {
        p.decision.crm_id.clone()
    })
    .await
    {
        // A panic while recording fails that group's posts (their replies are dropped),
        // not every post after it.
        let recording = record(&db, &planner, clock.now(), group);
        if std::panic::AssertUnwindSafe(recording)
            .catch_unwind()
            .await
            .is_err()
        {
            tracing::error!("recording a group of decisions panicked");
        }
    }
}

async fn record(
    db: &Db,
    planner: &Planner,
    now: chrono::DateTime<chrono::Utc>,
    group: Vec<Posted>,
) {
    let (decisions, replies): (Vec<Decision>, Vec<_>) =
        group.into_iter().map(|p| (p.decision, p.reply)).unzip();
    match record_group(db, planner, &decisions, now).await {
        Ok(recorded) => {
            for (reply, recorded) in replies.into_iter().zip(recorded) {
                // The client may have gone; what was recorded stays recorded.
                let _ = reply.send(Ok(recorded));
            }
        }
        // One deal's failure must not fail the others: each alone, then.
        Err(e) if decisions.len() > 1 => {
            tracing::warn!(error = %e, deals = decisions.len(), "recording a group failed; recording its deals one by one");
            for (reply, decision) in replies.into_iter().zip(&decisions) {
                let _ = reply.send(record_decision(db, planner, decision, now).await);
            }
        }
        Err(e) => {
            if let Some(reply) = replies.into_iter().next() {
                let _ = reply.send(Err(e));
            }
        }
    }
}
