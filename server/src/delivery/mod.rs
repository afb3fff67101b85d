//! Delivery: everything that leaves the process. Request handlers only write outbox rows;
//! the worker performs them with leases, retries and a recorded last error.

pub mod invitation_email;
pub mod mailer;
pub mod outbox;
pub mod templates;
pub mod worker;
