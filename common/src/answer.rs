//! The buyer's answer to the survey and the one set of rules that decides whether it is
//! acceptable. The widget runs `validate` before sending; the server runs it again.

use crate::error::FieldError;
use crate::nps::NpsScore;
use serde::{Deserialize, Serialize};

/// Long enough for a real explanation, short enough that nobody pastes a document.
pub const REASON_MAX_CHARS: usize = 2_000;

/// What the widget posts to `POST /api/v1/responses/{token}`. Loose types on purpose, so
/// a bad value becomes a field message rather than an opaque parse error.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AnswerRequest {
    pub nps: Option<i64>,
    #[serde(default)]
    pub reason: String,
    /// The buyer agreed to a follow-up conversation (offered when the survey's view says
    /// `offers_interview`).
    #[serde(default)]
    pub interview: bool,
}

/// An answer that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidAnswer {
    pub nps: NpsScore,
    /// Trimmed; `None` when the buyer left it empty (the reason is optional: a score alone
    /// still counts).
    pub reason: Option<String>,
    pub interview: bool,
}

impl AnswerRequest {
    pub fn validate(&self) -> Result<ValidAnswer, Vec<FieldError>> {
        let mut errors = Vec::new();
        let nps = match self.nps {
            None => {
                errors.push(FieldError::new("nps", "a score from 0 to 10 is required"));
                None
            }
            Some(v) => NpsScore::parse(v)
                .map_err(|e| errors.push(FieldError::new("nps", e)))
                .ok(),
        };
        let reason = self.reason.trim();
        let length = reason.chars().count();
        if length > REASON_MAX_CHARS {
            errors.push(FieldError::new(
                "reason",
                format!("must be at most {REASON_MAX_CHARS} characters, got {length}"),
            ));
        }
        if reason
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            errors.push(FieldError::new(
                "reason",
                "must not contain control characters",
            ));
        }
        match (nps, errors.is_empty()) {
            (Some(nps), true) => Ok(ValidAnswer {
                nps,
                reason: (!reason.is_empty()).then(|| reason.to_owned()),
                interview: self.interview,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(nps: Option<i64>, reason: &str) -> AnswerRequest {
        AnswerRequest {
            nps,
            reason: reason.to_owned(),
            interview: false,
        }
    }

    #[test]
    fn a_score_and_a_reason_are_accepted_and_trimmed() {
        let ok = answer(Some(9), "  Better onboarding \n")
            .validate()
            .expect("valid");
        assert_eq!(ok.nps.value(), 9);
        assert_eq!(ok.reason.as_deref(), Some("Better onboarding"));
    }

    #[test]
    fn the_reason_is_optional() {
        let ok = answer(Some(3), "   ").validate().expect("valid");
        assert_eq!(ok.reason, None);
    }

    #[test]
    fn a_missing_score_and_an_overlong_reason_are_both_reported() {
        let long = "x".repeat(REASON_MAX_CHARS + 1);
        let errors = answer(None, &long).validate().expect_err("invalid");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["nps", "reason"]);
    }

    #[test]
    fn the_limit_counts_characters_not_bytes() {
        let accented = "é".repeat(REASON_MAX_CHARS);
        assert!(answer(Some(5), &accented).validate().is_ok());
    }

    #[test]
    fn out_of_range_scores_name_the_field() {
        for bad in [-1, 11, i64::MAX] {
            let errors = answer(Some(bad), "").validate().expect_err("invalid");
            assert_eq!(errors[0].field, "nps");
        }
    }

    #[test]
    fn control_characters_are_refused() {
        assert!(answer(Some(5), "nul\u{0}byte").validate().is_err());
        assert!(answer(Some(5), "two\nlines\tok").validate().is_ok());
    }
}
