//! Outreach: a decided deal arrives from the CRM and each buyer on it gets an invitation,
//! scheduled for business hours in their own time zone.

pub mod decision;
pub mod invitation_email;
pub mod routes;
pub mod schedule;
pub mod store;

pub use decision::Outcome;
