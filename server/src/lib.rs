//! Debrief: a win-loss program that asks buyers themselves, right after the decision.
//!
//! Feature folders own their routes, domain types and queries:
//! - `outreach`: decided deals come in from the CRM and become scheduled invitations;
//! - `surveys`: buyer links, the survey page and the answers;
//! - `delivery`: the durable outbox and the worker that sends email;
//! - `opt_out`: buyers who asked for no more surveys, honoured everywhere;
//! - `analytics`: participation and NPS for program owners;
//! - `auth`: staff API keys and their roles.

pub mod analytics;
pub mod auth;
pub mod config;
pub mod db;
pub mod delivery;
pub mod demo;
pub mod error;
pub mod extract;
pub mod opt_out;
pub mod outreach;
pub mod startup;
pub mod surveys;
pub mod telemetry;

mod text_enum;
