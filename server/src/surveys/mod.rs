//! Surveys: the buyer's personal link, the page that hosts the widget, and the answers.

pub mod answers;
pub mod page;
pub mod routes;
pub mod tokens;

use crate::text_enum;

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
