//! The web layer shared by every feature: API errors and extractors, the HTML shell (with
//! its Content-Security-Policy) of the pages buyers see, and the pages themselves from
//! templates and one message catalogue per locale.

pub mod assets;
pub mod charts;
pub mod dates;
pub mod error;
pub mod extract;
pub mod html;
pub mod pages;
pub mod text;
