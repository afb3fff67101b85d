//! The HTTP API, story by story, against SQLite and PostgreSQL alike.

mod bad_input;
mod booking;
mod concurrency;
mod decisions;
mod delivery;
mod demo;
mod email_scores;
mod embedding;
mod follow_up;
mod import;
mod interview_candidates;
mod interview_funnel;
mod interview_notes;
mod interviewers;
mod metrics;
mod migrations;
mod openapi;
mod opt_out;
mod participation;
mod personal_invitation;
mod program;
mod survey_admin;
mod survey_api;
mod survey_form;
mod surveys;
mod widget_assets;
