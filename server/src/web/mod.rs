//! The web layer shared by every feature: API errors and extractors, and the HTML shell
//! (with its Content-Security-Policy) of the pages buyers see.

pub mod error;
pub mod extract;
pub mod html;
