//! What the widget needs to show a buyer their survey.

use crate::locale::Locale;
use serde::{Deserialize, Serialize};

/// Whether the buyer can still answer.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SurveyStatus {
    Open,
    Completed,
}

/// Answer of `GET /api/v1/surveys/{token}`. Carries no personal data beyond the first
/// name used in the greeting: the token is the only key, and a leaked link should reveal
/// as little as possible.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SurveyView {
    pub status: SurveyStatus,
    pub locale: Locale,
    /// The vendor's name, for "How likely are you to recommend {company}".
    pub company: String,
    /// The survey ends by asking whether the buyer would talk to us for 30 minutes.
    #[serde(default)]
    pub offers_interview: bool,
}
