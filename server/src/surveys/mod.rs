//! Surveys: the buyer's personal link, the page that hosts the widget, and the answers.

pub mod answers;
pub mod page;
pub mod routes;
pub mod tokens;

use crate::db::time::to_db;
use crate::text_enum;
use chrono::{DateTime, Utc};

text_enum! {
    /// Where an invitation stands. Moves forward only, so each step is a single guarded
    /// update (`where status in (earlier steps)`).
    pub enum InvitationStatus {
        Scheduled = "scheduled",
        Sent = "sent",
        /// The buyer's browser loaded the survey.
        Opened = "opened",
        /// The buyer picked a score.
        Started = "started",
        Completed = "completed",
        /// Delivery gave up.
        Failed = "failed",
        /// The buyer asked for no more surveys.
        OptedOut = "opted_out",
    }
}

impl InvitationStatus {
    /// Not answered and not closed: the buyer may still answer, or opt out.
    pub const UNANSWERED: [InvitationStatus; 4] = [
        InvitationStatus::Scheduled,
        InvitationStatus::Sent,
        InvitationStatus::Opened,
        InvitationStatus::Started,
    ];
}

/// Which invitations a [`transition`] applies to.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    Invitation(&'a str),
    /// Every invitation, on every deal, of the contacts with this address.
    AllOf {
        email: &'a str,
    },
}

impl Target<'_> {
    fn sql(&self) -> &'static str {
        match self {
            Target::Invitation(_) => "id = $3",
            Target::AllOf { .. } => "contact_id in (select id from contacts where email = $3)",
        }
    }

    fn value(&self) -> &str {
        match self {
            Target::Invitation(id) => id,
            Target::AllOf { email } => email,
        }
    }
}

/// Moves invitations to `to` if, and only if, they are in one of `from`: the one way a
/// status changes, so no step can be undone by a late or racing request. `stamps` are
/// extra `column = …` assignments that may use `$2`, the time of the change. Returns how
/// many invitations moved.
pub async fn transition<'c, E>(
    executor: E,
    target: Target<'_>,
    to: InvitationStatus,
    from: &[InvitationStatus],
    stamps: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<u64>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let placeholders: Vec<String> = (0..from.len()).map(|i| format!("${}", i + 4)).collect();
    let sql = format!(
        "update invitations set status = $1 {stamps} where {} and status in ({})",
        target.sql(),
        placeholders.join(", ")
    );
    let mut query = sqlx::query(&sql)
        .bind(to.as_str())
        .bind(to_db(now))
        .bind(target.value());
    for status in from {
        query = query.bind(status.as_str());
    }
    Ok(query.execute(executor).await?.rows_affected())
}
