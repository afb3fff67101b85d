//! The widget's components.

pub mod question;
pub mod survey;
