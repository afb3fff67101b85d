//! How messages leave the process. Only job handlers call these: request handlers queue
//! jobs instead (see `jobs`).

pub mod email;
pub mod icalendar;
pub mod webhooks;
