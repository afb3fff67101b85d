//! Outreach: a decided deal arrives from the CRM, the program plans who on it is asked,
//! how and with what incentive, and the invitations, reminders and expiry are scheduled
//! for business hours in each buyer's own time zone.

pub mod decision;
pub mod follow_up;
pub mod history;
pub mod intake;
pub mod invitation_email;
pub mod plan;
pub mod routes;
pub mod schedule;
pub mod store;

pub use decision::Outcome;
