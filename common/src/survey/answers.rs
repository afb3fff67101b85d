//! Answers, one per question: what the widget and the no-JS form send, and what they mean
//! once checked against the question. The server stores one row per answer.

use crate::map::Map;
use serde::{Deserialize, Serialize};

/// `PUT /api/v1/surveys/{token}/answers`: answers to save, each replacing what was saved
/// for its question (a retry stores nothing twice).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswersRequest {
    pub answers: Vec<AnswerItem>,
}

/// One answer as sent: `{"question": "nps", "value": 9}`, with `text` for "Other, please
/// say" or the times that suit an interview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerItem {
    pub question: String,
    pub value: AnswerValue,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// A value of whatever JSON shape; the question decides whether the shape is right.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AnswerValue {
    Flag(bool),
    Number(i64),
    Text(String),
    List(Vec<String>),
    Map(Map<String, String>),
}

/// An answer checked against its question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Answer {
    /// NPS or rating.
    Score(i64),
    Choice {
        choice: String,
        other: Option<String>,
    },
    Choices {
        choices: Vec<String>,
        other: Option<String>,
    },
    Text(String),
    Drivers(Map<String, Influence>),
    InterviewOptIn {
        yes: bool,
        times: Option<String>,
    },
    Consent(bool),
}

impl Answer {
    /// As it is sent: the inverse of the validator's reading, for a client resuming.
    pub fn to_item(&self, question: &str) -> AnswerItem {
        let (value, text) = match self {
            Answer::Score(n) => (AnswerValue::Number(*n), None),
            Answer::Choice { choice, other } => (AnswerValue::Text(choice.clone()), other.clone()),
            Answer::Choices { choices, other } => {
                (AnswerValue::List(choices.clone()), other.clone())
            }
            Answer::Text(t) => (AnswerValue::Text(t.clone()), None),
            Answer::Drivers(rated) => (
                AnswerValue::Map(
                    rated
                        .iter()
                        .map(|(d, i)| (d.clone(), i.code().to_owned()))
                        .collect(),
                ),
                None,
            ),
            Answer::InterviewOptIn { yes, times } => (AnswerValue::Flag(*yes), times.clone()),
            Answer::Consent(ticked) => (AnswerValue::Flag(*ticked), None),
        };
        AnswerItem {
            question: question.to_owned(),
            value,
            text,
        }
    }

    /// Nothing picked, typed, rated or ticked: no answer at all.
    pub fn is_blank(&self) -> bool {
        match self {
            Answer::Choices { choices, .. } => choices.is_empty(),
            Answer::Text(t) => t.is_empty(),
            Answer::Drivers(rated) => rated.is_empty(),
            // Consent is recorded only when given: unticked is none.
            Answer::Consent(ticked) => !ticked,
            _ => false,
        }
    }

    pub fn number(&self) -> Option<i64> {
        match self {
            Answer::Score(n) => Some(*n),
            _ => None,
        }
    }

    /// The choice ids picked, for conditions.
    pub fn chosen(&self) -> Vec<&str> {
        match self {
            Answer::Choice { choice, .. } => vec![choice.as_str()],
            Answer::Choices { choices, .. } => choices.iter().map(String::as_str).collect(),
            _ => Vec::new(),
        }
    }

    pub fn flag(&self) -> Option<bool> {
        match self {
            Answer::InterviewOptIn { yes, .. } => Some(*yes),
            Answer::Consent(ticked) => Some(*ticked),
            _ => None,
        }
    }
}

/// How a decision driver weighed on the buyer's choice of us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Influence {
    VeryNegative,
    Negative,
    Neutral,
    Positive,
    VeryPositive,
    NotAFactor,
}

impl Influence {
    pub const ALL: [Influence; 6] = [
        Influence::VeryNegative,
        Influence::Negative,
        Influence::Neutral,
        Influence::Positive,
        Influence::VeryPositive,
        Influence::NotAFactor,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Influence::VeryNegative => "very_negative",
            Influence::Negative => "negative",
            Influence::Neutral => "neutral",
            Influence::Positive => "positive",
            Influence::VeryPositive => "very_positive",
            Influence::NotAFactor => "not_a_factor",
        }
    }

    pub fn parse(code: &str) -> Option<Influence> {
        Influence::ALL.into_iter().find(|i| i.code() == code)
    }

    /// −2 to +2; none for "not a factor", which is left out of averages.
    pub fn score(self) -> Option<i8> {
        match self {
            Influence::VeryNegative => Some(-2),
            Influence::Negative => Some(-1),
            Influence::Neutral => Some(0),
            Influence::Positive => Some(1),
            Influence::VeryPositive => Some(2),
            Influence::NotAFactor => None,
        }
    }
}
