//! What the server and the widget must agree on, byte for byte: the survey a buyer sees,
//! the answer they send back, how it is validated, and how NPS is computed.
//!
//! This crate compiles for `wasm32-unknown-unknown` with serde alone, so the widget
//! refuses exactly what the server refuses.

pub mod answer;
pub mod error;
pub mod locale;
pub mod map;
pub mod nps;
pub mod survey;

pub use answer::{AnswerRequest, ValidAnswer, REASON_MAX_CHARS};
pub use error::{ErrorBody, FieldError};
pub use locale::Locale;
pub use nps::{NpsCategory, NpsScore, NpsSummary};
pub use survey::{SurveyStatus, SurveyView};
