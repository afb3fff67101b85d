//! Invitations: who was asked, how, and how it ended. This module owns the kinds and
//! statuses, the table of named transitions, and the only SQL that changes `invitations`.

pub mod routes;
pub mod tokens;

use crate::platform::db::conn::Conn;
use crate::platform::db::rows;
use crate::platform::db::time::to_db;
use crate::text_enum;
use chrono::{DateTime, Utc};

text_enum! {
    /// How a buyer is asked.
    pub enum InvitationKind {
        Survey = "survey",
        /// A personal interview invitation.
        Interview = "interview",
    }
}

text_enum! {
    /// Where an invitation stands. Statuses only move forward, each through an
    /// [`Event`] whose guard lists the statuses it may start from.
    pub enum InvitationStatus {
        Scheduled = "scheduled",
        /// Planned but waiting for staff (the incentive budget ran out, set to hold).
        Held = "held",
        Sent = "sent",
        /// The buyer's browser loaded the survey.
        Opened = "opened",
        /// The buyer picked a score.
        Started = "started",
        Completed = "completed",
        /// Delivery gave up (staff may replay it).
        Failed = "failed",
        /// The receiving server refused the mailbox for good.
        Bounced = "bounced",
        /// The buyer asked for no more surveys.
        OptedOut = "opted_out",
        /// Not answered in time.
        Expired = "expired",
        /// Dropped before sending: the contact policy said no by then.
        Cancelled = "cancelled",
    }
}

use InvitationStatus::*;

impl InvitationStatus {
    /// Not answered and not closed: the buyer may still answer, or opt out.
    pub const UNANSWERED: [InvitationStatus; 4] = [Scheduled, Sent, Opened, Started];
}

/// Everything that can happen to an invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The email went out.
    Send,
    /// The buyer's browser loaded the survey.
    Open,
    /// The buyer engaged with the survey.
    Start,
    /// The buyer's answer is stored.
    Complete,
    /// Delivery gave up.
    Fail,
    /// The mailbox does not exist.
    Bounce,
    /// The buyer asked for no more surveys.
    OptOut,
    /// The answer window closed.
    Expire,
    /// The contact policy refused the send (cooldown, suppression found late).
    Cancel,
    /// Staff let a held invitation go.
    Release,
}

/// The rule of one event: the statuses it may start from, where it leads, and what it
/// stamps.
pub struct Transition {
    pub from: &'static [InvitationStatus],
    pub to: InvitationStatus,
    /// Extra `column = …` assignments; `$2` is the instant of the event. Earlier funnel
    /// steps are stamped too: a buyer who started has also opened, and one who opened has
    /// the link, however it reached them.
    stamps: &'static str,
}

impl Transition {
    /// The update's `set` list: the new status as `$1`, and the stamps (`$2`). Every
    /// change marks the invitation for the funnel's next fold (`analytics::funnel`).
    fn set(&self) -> String {
        if self.stamps.is_empty() {
            "status = $1, funnel_dirty = 1".to_owned()
        } else {
            format!("status = $1, funnel_dirty = 1, {}", self.stamps)
        }
    }
}

impl Event {
    pub const ALL: [Event; 10] = [
        Event::Send,
        Event::Open,
        Event::Start,
        Event::Complete,
        Event::Fail,
        Event::Bounce,
        Event::OptOut,
        Event::Expire,
        Event::Cancel,
        Event::Release,
    ];

    /// The transition table, one arm per event: the whole life of an invitation.
    pub const fn transition(self) -> Transition {
        const OPENED: &str = "sent_at = coalesce(sent_at, $2), opened_at = coalesce(opened_at, $2)";
        const STARTED: &str =
            "sent_at = coalesce(sent_at, $2), opened_at = coalesce(opened_at, $2), \
                               started_at = coalesce(started_at, $2)";
        match self {
            // A failed invitation is sent again only when staff replay its dead email.
            Event::Send => Transition {
                from: &[Scheduled, Failed],
                to: Sent,
                stamps: "sent_at = $2",
            },
            Event::Open => Transition {
                from: &[Scheduled, Sent],
                to: Opened,
                stamps: OPENED,
            },
            Event::Start => Transition {
                from: &[Scheduled, Sent, Opened],
                to: Started,
                stamps: STARTED,
            },
            Event::Complete => Transition {
                from: &InvitationStatus::UNANSWERED,
                to: Completed,
                stamps: "sent_at = coalesce(sent_at, $2), opened_at = coalesce(opened_at, $2), \
                         started_at = coalesce(started_at, $2), completed_at = $2",
            },
            Event::Fail => Transition {
                from: &[Scheduled],
                to: Failed,
                stamps: "",
            },
            Event::Bounce => Transition {
                from: &[Scheduled, Failed],
                to: Bounced,
                stamps: "",
            },
            Event::OptOut => Transition {
                from: &[Scheduled, Held, Sent, Opened, Started],
                to: OptedOut,
                stamps: "",
            },
            Event::Expire => Transition {
                from: &[Scheduled, Held, Sent, Opened, Started, Failed],
                to: Expired,
                stamps: "",
            },
            Event::Cancel => Transition {
                from: &[Scheduled, Held, Failed],
                to: Cancelled,
                stamps: "",
            },
            Event::Release => Transition {
                from: &[Held],
                to: Scheduled,
                stamps: "status_reason = null",
            },
        }
    }
}

/// Which invitations an event applies to.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    Invitation(&'a str),
    /// Every invitation, on every deal, of the person with this address.
    AllOf {
        email: &'a str,
    },
}

impl Target<'_> {
    /// The condition, its values numbered from `$3`.
    fn sql(&self) -> String {
        match self {
            Target::Invitation(_) => "id = $3".to_owned(),
            Target::AllOf { .. } => {
                "person_id in (select id from persons where email = $3)".to_owned()
            }
        }
    }

    fn values(&self) -> Vec<&str> {
        match self {
            Target::Invitation(id) => vec![id],
            Target::AllOf { email } => vec![email],
        }
    }
}

/// Applies an event to the target's invitations that are in a state it may start from:
/// the one way a status changes, so no step can be undone by a late or racing request.
/// Returns how many invitations moved.
pub async fn apply<'c, E>(
    executor: E,
    target: Target<'_>,
    event: Event,
    now: DateTime<Utc>,
) -> sqlx::Result<u64>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let t = event.transition();
    let values = target.values();
    let first = 3 + values.len();
    let sql = format!(
        "update invitations set {} where {} and status in ({})",
        t.set(),
        target.sql(),
        rows::numbered(first, t.from.len())
    );
    let mut query = sqlx::query(&sql).bind(t.to.as_str()).bind(to_db(now));
    for value in values {
        query = query.bind(value);
    }
    for status in t.from {
        query = query.bind(status.as_str());
    }
    Ok(query.execute(executor).await?.rows_affected())
}

/// [`apply`] to many invitations at once, on any of the answer path's connections: the
/// outbox records a pass of sends, and the answer writer a group of first saves, in as
/// few statements as the connection runs them best (see `platform::db::conn`).
pub async fn apply_all<C: Conn>(
    conn: &mut C,
    ids: &[&str],
    event: Event,
    now: DateTime<Utc>,
) -> anyhow::Result<u64> {
    let t = event.transition();
    let set = t.set();
    let from = rows::numbered(3, t.from.len());
    let now = to_db(now);
    let before: Vec<&str> = [t.to.as_str(), now.as_str()]
        .into_iter()
        .chain(t.from.iter().map(|s| s.as_str()))
        .collect();
    conn.execute_in(&before, ids, |list| {
        format!("update invitations set {set} where status in ({from}) and id in ({list})")
    })
    .await
}

/// Notes why an invitation was held, cancelled or expired, next to its status.
pub async fn set_reason<'c, E>(executor: E, invitation_id: &str, reason: &str) -> sqlx::Result<()>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    sqlx::query("update invitations set status_reason = $1 where id = $2")
        .bind(reason)
        .bind(invitation_id)
        .execute(executor)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_event_leaves_a_closed_invitation() {
        for event in Event::ALL {
            let t = event.transition();
            for closed in [Completed, OptedOut, Bounced, Expired, Cancelled] {
                assert!(!t.from.contains(&closed), "{event:?} leaves {closed}");
            }
            assert!(
                !t.from.contains(&t.to) || t.to == Scheduled,
                "{event:?} loops"
            );
        }
    }
}
