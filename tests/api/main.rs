//! The HTTP API, story by story, against SQLite and PostgreSQL alike.

mod bad_input;
mod concurrency;
mod decisions;
mod delivery;
mod migrations;
mod opt_out;
mod participation;
mod surveys;
