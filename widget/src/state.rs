//! The survey's state as a pure reducer: every transition is a plain function, tested with
//! native `cargo test`, no browser needed.

use debrief_common::{AnswerRequest, FieldError, Locale, NpsScore, SurveyStatus, SurveyView};
use std::rc::Rc;
use yew::Reducible;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Loading,
    Open,
    Submitting,
    Done,
    AlreadyAnswered,
    /// Unknown or expired link.
    Invalid,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SurveyState {
    pub phase: Phase,
    pub locale: Locale,
    pub company: String,
    pub nps: Option<NpsScore>,
    pub reason: String,
    /// The survey ends by asking for a 30-minute conversation.
    pub offers_interview: bool,
    /// The buyer ticked "yes" to it.
    pub interview: bool,
    /// Messages next to fields, after a refused submit.
    pub errors: Vec<FieldError>,
    /// A sentence above the button, e.g. after a network failure.
    pub banner: Option<&'static str>,
    /// Whether the server was told the buyer started; sent once.
    pub started_reported: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// The survey loaded; `preselect` is the score clicked in the email, if any.
    Loaded {
        view: SurveyView,
        preselect: Option<NpsScore>,
    },
    LinkInvalid,
    /// Loading failed for a reason that may pass (network).
    LoadFailed,
    Pick(NpsScore),
    EditReason(String),
    /// The buyer ticked or unticked the follow-up conversation.
    ToggleInterview(bool),
    StartReported,
    /// The answer was refused, by the shared rules before sending or (should the two ever
    /// disagree) by the server: show why next to the fields.
    Refused(Vec<FieldError>),
    Submitting,
    Submitted,
    AlreadyAnswered,
    NetworkFailed,
}

impl SurveyState {
    pub fn new(locale: Locale) -> Self {
        SurveyState {
            phase: Phase::Loading,
            locale,
            company: String::new(),
            nps: None,
            reason: String::new(),
            offers_interview: false,
            interview: false,
            errors: Vec::new(),
            banner: None,
            started_reported: false,
        }
    }

    /// The answer to send, or the reasons it cannot be sent yet: the same rules the
    /// server applies.
    pub fn submission(&self) -> Result<AnswerRequest, Vec<FieldError>> {
        let request = AnswerRequest {
            nps: self.nps.map(|s| i64::from(s.value())),
            reason: self.reason.clone(),
            interview: self.offers_interview && self.interview,
        };
        request.validate().map(|_| request)
    }

    /// Whether the server should now hear that the buyer started.
    pub fn should_report_start(&self) -> bool {
        self.phase == Phase::Open && self.nps.is_some() && !self.started_reported
    }

    /// The localized message for a field, if it has an error.
    pub fn error_for(&self, field: &str) -> Option<&'static str> {
        let strings = self.locale.strings();
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|_| match field {
                "nps" => strings.pick_a_score,
                _ => strings.reason_too_long,
            })
    }

    pub fn apply(&self, action: Action) -> SurveyState {
        let mut next = self.clone();
        match action {
            Action::Loaded { view, preselect } => {
                next.locale = view.locale;
                next.company = view.company;
                next.offers_interview = view.offers_interview;
                match view.status {
                    SurveyStatus::Completed => next.phase = Phase::AlreadyAnswered,
                    SurveyStatus::Open => {
                        next.phase = Phase::Open;
                        if preselect.is_some() {
                            next.nps = preselect;
                        }
                    }
                }
            }
            Action::LinkInvalid => next.phase = Phase::Invalid,
            Action::LoadFailed => {
                next.banner = Some(next.locale.strings().load_error);
            }
            Action::Pick(score) if self.phase == Phase::Open => {
                next.nps = Some(score);
                next.errors.retain(|e| e.field != "nps");
            }
            Action::EditReason(text) if self.phase == Phase::Open => {
                next.reason = text;
                next.errors.retain(|e| e.field != "reason");
            }
            Action::ToggleInterview(yes) if self.phase == Phase::Open => next.interview = yes,
            Action::StartReported => next.started_reported = true,
            Action::Refused(errors) => {
                next.phase = if self.phase == Phase::Submitting {
                    Phase::Open
                } else {
                    self.phase
                };
                next.errors = errors;
            }
            Action::Submitting if self.phase == Phase::Open => {
                next.phase = Phase::Submitting;
                next.banner = None;
                next.errors.clear();
            }
            Action::Submitted => next.phase = Phase::Done,
            Action::AlreadyAnswered => next.phase = Phase::AlreadyAnswered,
            Action::NetworkFailed => {
                if self.phase == Phase::Submitting {
                    next.phase = Phase::Open;
                }
                next.banner = Some(next.locale.strings().network_error);
            }
            // Input after the survey closed (a late click during submit) changes nothing.
            Action::Pick(_)
            | Action::EditReason(_)
            | Action::ToggleInterview(_)
            | Action::Submitting => {}
        }
        next
    }
}

impl Reducible for SurveyState {
    type Action = Action;
    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        Rc::new(self.apply(action))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use debrief_common::REASON_MAX_CHARS;

    fn open(preselect: Option<i64>) -> SurveyState {
        SurveyState::new(Locale::En).apply(Action::Loaded {
            view: SurveyView {
                status: SurveyStatus::Open,
                locale: Locale::Fr,
                company: "Acme".into(),
                offers_interview: false,
            },
            preselect: preselect.map(score),
        })
    }

    fn score(v: i64) -> NpsScore {
        NpsScore::parse(v).expect("valid score")
    }

    #[test]
    fn a_buyer_arriving_from_score_9_in_the_email_sees_9_selected_in_their_language() {
        let s = open(Some(9));
        assert_eq!(s.phase, Phase::Open);
        assert_eq!(s.nps, Some(score(9)));
        assert_eq!(s.locale, Locale::Fr);
        assert!(s.should_report_start());
    }

    #[test]
    fn submitting_without_a_score_shows_the_score_message_and_sends_nothing() {
        let s = open(None);
        let errors = s.submission().expect_err("no score yet");
        let s = s.apply(Action::Refused(errors));
        assert_eq!(s.phase, Phase::Open);
        assert_eq!(s.error_for("nps"), Some(Locale::Fr.strings().pick_a_score));
        // Picking a score clears the message.
        let s = s.apply(Action::Pick(score(3)));
        assert_eq!(s.error_for("nps"), None);
    }

    #[test]
    fn an_overlong_reason_is_refused_by_the_shared_rule() {
        let s = open(Some(7)).apply(Action::EditReason("x".repeat(REASON_MAX_CHARS + 1)));
        let errors = s.submission().expect_err("too long");
        assert_eq!(errors[0].field, "reason");
    }

    #[test]
    fn a_full_answer_goes_through_submitting_to_done() {
        let s = open(Some(9)).apply(Action::EditReason("Great onboarding".into()));
        let request = s.submission().expect("valid");
        assert_eq!(request.nps, Some(9));
        let s = s.apply(Action::Submitting);
        assert_eq!(s.phase, Phase::Submitting);
        // A click during the submit does not change the answer being sent.
        let s = s.apply(Action::Pick(score(1)));
        assert_eq!(s.nps, Some(score(9)));
        assert_eq!(s.apply(Action::Submitted).phase, Phase::Done);
    }

    #[test]
    fn a_network_failure_keeps_the_answer_and_offers_a_retry() {
        let s = open(Some(4))
            .apply(Action::EditReason("Price".into()))
            .apply(Action::Submitting)
            .apply(Action::NetworkFailed);
        assert_eq!(s.phase, Phase::Open);
        assert_eq!(s.reason, "Price");
        assert!(s.banner.is_some());
    }

    #[test]
    fn an_answered_survey_says_so() {
        let s = SurveyState::new(Locale::En).apply(Action::Loaded {
            view: SurveyView {
                status: SurveyStatus::Completed,
                locale: Locale::En,
                company: "Acme".into(),
                offers_interview: false,
            },
            preselect: Some(score(9)),
        });
        assert_eq!(s.phase, Phase::AlreadyAnswered);
        assert!(!s.should_report_start());
    }

    #[test]
    fn start_is_reported_once() {
        let s = open(Some(5)).apply(Action::StartReported);
        assert!(!s.should_report_start());
    }

    #[test]
    fn a_buyer_asks_for_a_conversation_only_where_the_survey_offers_one() {
        let loaded = |offers_interview| {
            SurveyState::new(Locale::En).apply(Action::Loaded {
                view: SurveyView {
                    status: SurveyStatus::Open,
                    locale: Locale::En,
                    company: "Acme".into(),
                    offers_interview,
                },
                preselect: NpsScore::parse(9).ok(),
            })
        };
        let yes = loaded(true).apply(Action::ToggleInterview(true));
        assert!(yes.submission().expect("valid").interview);
        let changed_mind = yes.apply(Action::ToggleInterview(false));
        assert!(!changed_mind.submission().expect("valid").interview);
        // Never sent where it was not asked, whatever the state says.
        let not_offered = loaded(false).apply(Action::ToggleInterview(true));
        assert!(!not_offered.submission().expect("valid").interview);
    }
}
