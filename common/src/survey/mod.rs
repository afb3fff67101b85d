//! Surveys: the versioned definition a program owner writes, its logic, the answers a
//! buyer gives and the one validator of both, plus what the widget needs to show a buyer
//! their survey.

pub mod answers;
pub mod definition;
pub mod flow;
pub mod logic;
pub mod validate;

pub use answers::{Answer, AnswerItem, AnswerValue, AnswersRequest, Influence};
pub use definition::{
    Choice, Definition, Driver, DriverFamily, Page, Question, QuestionKind, Text,
};
pub use logic::{Answers, Condition, DealAttribute, SurveyContext};
pub use validate::{validate_answers, validate_definition, Completeness, Hidden};

use crate::locale::Locale;
use crate::map::Map;
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

/// `GET /api/v1/surveys/{token}/definition`: the survey version a buyer answers, the deal
/// as its conditions and texts read it, and what they saved so far, to resume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SurveyDocument {
    pub survey_key: String,
    pub version: i64,
    /// The buyer's language when the survey is written in it, else its default.
    pub locale: Locale,
    pub definition: Definition,
    pub context: SurveyContext,
    pub answers: Vec<AnswerItem>,
    pub complete: bool,
    /// The words around the questions (buttons, scale ends, messages), from the same
    /// catalogue as the no-JS form, in `locale`: keyed as in [`SENTENCES`].
    #[serde(default)]
    pub sentences: Map<String, String>,
}

/// The catalogue keys a survey's pages show around the questions, sent with the survey so
/// that the widget and the no-JS form say the same thing in the buyer's language.
pub const SENTENCES: &[&str] = &[
    "form_progress",
    "form_errors",
    "required",
    "answer_required",
    "answer_invalid",
    "next",
    "back",
    "finish",
    "other_label",
    "times_label",
    "yes",
    "no",
    "consent_label",
    "nps_low",
    "nps_high",
    "influence_very_negative",
    "influence_negative",
    "influence_neutral",
    "influence_positive",
    "influence_very_positive",
    "influence_not_a_factor",
    "thanks",
    "page_title",
    "saving",
    "save_failed",
    "sending",
    "survey_closed",
    "already_answered",
];

/// The default win-loss survey, in English and French: NPS, the reasons ("price, and
/// what else?"), twenty decision drivers in five families, the follow-ups for a low score
/// and a lost deal, and the interview opt-in.
pub const DEFAULT_WIN_LOSS: &str = include_str!("../../surveys/win_loss.json");

/// The default survey for our own no-go: what the buyer needed that we could not offer,
/// what they did instead, and whether they would come back.
pub const DEFAULT_DECLINED_REQUEST: &str = include_str!("../../surveys/declined_request.json");

#[cfg(test)]
mod tests;
