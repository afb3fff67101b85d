//! Debrief: a win-loss program that asks buyers themselves, right after the decision.
//!
//! Feature folders own their routes, domain types, queries and job handlers:
//! - `outreach`: decided deals come in from the CRM and are planned (pure) and applied;
//! - `programs`: the versioned program: segments, rules, methods, sampling, contact policy;
//! - `incentives`: the offer ledger, budgets and payout export;
//! - `surveys`: buyer links, the survey page and the answers;
//! - `invitations`: who was asked, how, and the transitions of their invitation;
//! - `jobs`: the durable outbox: every email is a job, run with leases and retries;
//! - `channels`: how messages leave (the SMTP mailer and email templates);
//! - `people`: persons and accounts across deals, and the suppression list (staff API);
//! - `opt_out`: buyers who asked for no more surveys, honoured everywhere;
//! - `analytics`: participation and NPS for program owners;
//! - `auth`: staff API keys and their roles.
//!
//! Beneath them: `app` (start-up, settings, clock, logs), `platform` (storage, text enums)
//! and `web` (errors, extractors, the HTML shell).

pub mod alerts;
pub mod analytics;
pub mod app;
pub mod auth;
pub mod channels;
pub mod console;
pub mod demo;
pub mod exports;
pub mod incentives;
pub mod insights;
pub mod interviews;
pub mod invitations;
pub mod jobs;
pub mod opt_out;
pub mod outreach;
pub mod people;
pub mod platform;
pub mod programs;
pub mod reports;
pub mod surveys;
pub mod web;
