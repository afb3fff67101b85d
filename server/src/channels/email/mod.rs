//! Email: the SMTP (or `.eml` file) mailer and the handlebars templates.

pub mod mailer;
pub mod staff;
pub mod templates;
