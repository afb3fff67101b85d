//! What every feature stands on: storage (one portable query layer for SQLite and
//! PostgreSQL) and statuses stored as constrained text.

pub mod db;
pub mod group_commit;
pub mod text_enum;
pub mod versions;
