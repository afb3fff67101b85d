//! The widget's behaviour as a buyer meets it, on the default win-loss survey, with no
//! browser: each story drives the reducer as the component does.

use super::*;
use debrief_common::survey::{AnswerValue, DealAttribute, Influence, DEFAULT_WIN_LOSS};

fn document(answers: Vec<AnswerItem>, outcome: &str) -> SurveyDocument {
    let definition: Definition = serde_json::from_str(DEFAULT_WIN_LOSS).expect("default survey");
    let context = SurveyContext {
        company: "Acme".into(),
        deal: [
            (DealAttribute::Outcome, outcome.to_owned()),
            (DealAttribute::Competitor, "Globex".to_owned()),
        ]
        .into_iter()
        .collect(),
    };
    SurveyDocument {
        survey_key: "win_loss".into(),
        version: 1,
        locale: Locale::Fr,
        definition,
        context,
        answers,
        complete: false,
        sentences: [("next", "Suivant"), ("finish", "Envoyer")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    }
}

fn loaded(answers: Vec<AnswerItem>, preselect: Option<i64>) -> SurveyState {
    SurveyState::new(Locale::En).apply(Action::Loaded {
        document: document(answers, "lost"),
        preselect: preselect.and_then(|s| NpsScore::parse(s).ok()),
        fields: Vec::new(),
    })
}

fn answer(question: &str, value: AnswerValue) -> Action {
    Action::Answer(AnswerItem {
        question: question.into(),
        value,
        text: None,
    })
}

fn list(items: &[&str]) -> AnswerValue {
    AnswerValue::List(items.iter().map(|s| (*s).to_owned()).collect())
}

fn ids(state: &SurveyState) -> Vec<&str> {
    state.questions().iter().map(|q| q.id.as_str()).collect()
}

/// The request the state asks for, acknowledged by the server.
fn acknowledged(state: SurveyState) -> SurveyState {
    match &state.command {
        Some((_, Command::Save(_))) => state.apply(Action::Saved),
        Some((_, Command::Complete(_))) => state.apply(Action::Completed),
        _ => state,
    }
}

#[test]
fn a_french_buyer_sees_their_language_and_the_first_page() {
    let s = loaded(Vec::new(), None);
    assert_eq!(s.phase, Phase::Open);
    assert_eq!(s.locale, Locale::Fr);
    assert_eq!(s.page, 0);
    assert_eq!(ids(&s), ["nps", "reasons"]);
    let nps = s.questions()[0].title.clone();
    assert!(s.text(&nps).contains("Acme"), "{}", s.text(&nps));
}

#[test]
fn each_answer_is_saved_as_the_buyer_goes() {
    let s = loaded(Vec::new(), None).apply(answer("nps", AnswerValue::Number(4)));
    match &s.command {
        Some((_, Command::Save(items))) => {
            assert_eq!(items.len(), 1);
            assert_eq!(items[0].question, "nps");
        }
        other => panic!("expected a save, got {other:?}"),
    }
    assert!(s.saving());
    // A second answer while the first is on its way waits for it, then goes alone.
    let s = s.apply(answer("reasons", list(&["vendor"])));
    assert!(s.command.is_none());
    let s = s.apply(Action::Saved);
    match &s.command {
        Some((_, Command::Save(items))) => assert_eq!(items[0].question, "reasons"),
        other => panic!("expected the second save, got {other:?}"),
    }
    assert!(!s.apply(Action::Saved).saving());
}

#[test]
fn price_asks_what_else_and_a_low_score_asks_what_to_improve() {
    let s = loaded(Vec::new(), None).apply(answer("nps", AnswerValue::Number(3)));
    assert!(!ids(&s).contains(&"price_what_else"));
    let s = acknowledged(s).apply(answer("reasons", list(&["price"])));
    assert_eq!(ids(&s), ["nps", "reasons", "price_what_else"]);
    let s = acknowledged(s).apply(Action::Next);
    assert_eq!(s.page, 1);
    assert!(ids(&s).contains(&"improve"), "{:?}", ids(&s));
    // A lost deal with a competitor asks why the buyer chose it.
    assert!(ids(&s).contains(&"why_competitor"));
}

#[test]
fn unticking_price_drops_its_follow_up_answer_as_the_server_does() {
    let s = loaded(Vec::new(), None)
        .apply(answer("reasons", list(&["price"])))
        .apply(Action::Saved)
        .apply(answer(
            "price_what_else",
            AnswerValue::Text("The rollout plan".into()),
        ))
        .apply(Action::Saved)
        .apply(answer("reasons", list(&["vendor"])));
    assert!(!s.answers.contains_key("price_what_else"));
    assert!(!ids(&s).contains(&"price_what_else"));
}

#[test]
fn next_without_the_required_answers_marks_them_and_stays() {
    let s = loaded(Vec::new(), None).apply(Action::Next);
    assert_eq!(s.page, 0);
    assert_eq!(s.faults.get("nps"), Some(&Fault::Missing));
    assert_eq!(s.faults.get("reasons"), Some(&Fault::Missing));
    assert_eq!(s.command, Some((1, Command::Focus(FocusTarget::Faults))));
    let s = s.apply(answer("nps", AnswerValue::Number(9)));
    assert_eq!(s.faults.get("nps"), None);
}

#[test]
fn an_out_of_range_answer_is_refused_by_the_shared_rules_and_not_sent() {
    let s = loaded(Vec::new(), None).apply(answer("nps", AnswerValue::Number(11)));
    assert_eq!(s.faults.get("nps"), Some(&Fault::Invalid));
    assert!(s.command.is_none());
    assert!(!s.answers.contains_key("nps"));
}

#[test]
fn a_buyer_who_left_after_page_one_resumes_on_page_two() {
    let saved = vec![
        AnswerItem {
            question: "nps".into(),
            value: AnswerValue::Number(8),
            text: None,
        },
        AnswerItem {
            question: "reasons".into(),
            value: list(&["product_fit"]),
            text: None,
        },
    ];
    let s = loaded(saved, None);
    assert_eq!(s.page, 1);
    assert_eq!(s.answers.get("nps"), Some(&Answer::Score(8)));
    // Back shows page one with the saved answers, and nothing is re-sent.
    let s = s.apply(Action::Back);
    assert_eq!(s.page, 0);
    assert!(!s.saving());
}

#[test]
fn the_score_from_the_email_is_ticked_but_saved_only_once_the_buyer_acts() {
    let s = loaded(Vec::new(), Some(9));
    assert_eq!(s.answers.get("nps"), Some(&Answer::Score(9)));
    assert!(
        s.command.is_none(),
        "a visit that does nothing sends nothing"
    );
    let s = s.apply(answer("reasons", list(&["support"])));
    match &s.command {
        Some((_, Command::Save(items))) => {
            let questions: Vec<&str> = items.iter().map(|i| i.question.as_str()).collect();
            assert_eq!(questions, ["nps", "reasons"]);
        }
        other => panic!("expected a save, got {other:?}"),
    }
}

#[test]
fn answers_given_in_the_page_before_the_widget_loaded_are_taken_over() {
    let fields = vec![
        ("page".to_owned(), "0".to_owned()),
        ("q.nps".to_owned(), "9".to_owned()),
        ("q.reasons".to_owned(), "price".to_owned()),
    ];
    let s = SurveyState::new(Locale::En).apply(Action::Loaded {
        document: document(Vec::new(), "won"),
        preselect: NpsScore::parse(9).ok(),
        fields,
    });
    assert_eq!(ids(&s), ["nps", "reasons", "price_what_else"]);
    match &s.command {
        Some((_, Command::Save(items))) => assert_eq!(items.len(), 2, "{items:?}"),
        other => panic!("expected a save, got {other:?}"),
    }
    // The email's score alone, unchanged, is no interaction.
    let untouched = SurveyState::new(Locale::En).apply(Action::Loaded {
        document: document(Vec::new(), "won"),
        preselect: NpsScore::parse(9).ok(),
        fields: vec![("q.nps".to_owned(), "9".to_owned())],
    });
    assert!(untouched.command.is_none());
}

#[test]
fn a_network_failure_keeps_the_answers_says_so_and_retries_with_backoff() {
    let s = loaded(Vec::new(), None)
        .apply(answer("nps", AnswerValue::Number(2)))
        .apply(Action::NetworkFailed);
    assert_eq!(s.failures, 1);
    assert_eq!(s.command, Some((2, Command::RetryIn(1_000))));
    assert!(s.unsaved.contains_key("nps"));
    // An answer changed meanwhile wins over the one that failed.
    let s = s.apply(answer("nps", AnswerValue::Number(3)));
    let s = s.apply(Action::NetworkFailed);
    assert_eq!(s.command, Some((4, Command::RetryIn(2_000))));
    let s = s.apply(Action::Retry);
    match &s.command {
        Some((_, Command::Save(items))) => {
            assert_eq!(items[0].value, AnswerValue::Number(3));
        }
        other => panic!("expected a retry, got {other:?}"),
    }
    let s = s.apply(Action::Saved);
    assert_eq!(s.failures, 0);
    assert_eq!(backoff(40), 30_000);
}

#[test]
fn a_buyer_goes_through_the_three_pages_and_finishes() {
    let mut s = loaded(Vec::new(), None);
    for action in [
        answer("nps", AnswerValue::Number(9)),
        answer("reasons", list(&["product_fit"])),
        Action::Next,
    ] {
        s = acknowledged(s.apply(action));
    }
    assert_eq!(s.page, 1);
    let mut rated = debrief_common::map::Map::new();
    rated.insert("price".to_owned(), "negative".to_owned());
    s = acknowledged(s.apply(answer("drivers", AnswerValue::Map(rated))));
    s = s.apply(Action::Next);
    assert_eq!(s.page, 2);
    assert!(s.is_last_page());
    // The consent is required: finishing without it is refused on the page.
    s = s.apply(Action::Next);
    assert_eq!(s.phase, Phase::Open);
    assert_eq!(s.faults.get("consent"), Some(&Fault::Missing));
    s = s
        .apply(Action::Draft {
            field: "q.anything_else".into(),
            text: "Ça s'est bien passé ".into(),
        })
        .apply(answer("consent", AnswerValue::Flag(true)));
    s = acknowledged(s);
    s = s.apply(Action::Next);
    assert_eq!(s.phase, Phase::Finishing);
    match &s.command {
        // The text typed and not yet left goes with the completion.
        Some((_, Command::Complete(items))) => {
            assert!(
                items.iter().any(|i| i.question == "anything_else"),
                "{items:?}"
            );
        }
        other => panic!("expected the completion, got {other:?}"),
    }
    // Typing shows what the buyer typed, trailing space included.
    assert_eq!(
        s.field_text("q.anything_else", None),
        "Ça s'est bien passé "
    );
    assert_eq!(s.apply(Action::Completed).phase, Phase::Done);
}

#[test]
fn a_refused_completion_returns_to_the_answer_at_fault() {
    let mut s = loaded(Vec::new(), None);
    for action in [
        answer("nps", AnswerValue::Number(9)),
        answer("reasons", list(&["product_fit"])),
        Action::Next,
        Action::Next,
        answer("consent", AnswerValue::Flag(true)),
    ] {
        s = acknowledged(s.apply(action));
    }
    let s = s.apply(Action::Next);
    assert_eq!(s.phase, Phase::Finishing);
    let s = s.apply(Action::Refused(vec![FieldError::new(
        "answers",
        "question \"nps\" is required",
    )]));
    assert_eq!(s.phase, Phase::Open);
}

#[test]
fn a_late_click_while_finishing_changes_nothing() {
    let s = SurveyState {
        phase: Phase::Finishing,
        ..loaded(Vec::new(), None)
    };
    let after = s.apply(answer("nps", AnswerValue::Number(1)));
    assert_eq!(after.answers, s.answers);
}

#[test]
fn an_answered_survey_says_so() {
    let mut doc = document(Vec::new(), "won");
    doc.complete = true;
    let s = SurveyState::new(Locale::En).apply(Action::Loaded {
        document: doc,
        preselect: None,
        fields: Vec::new(),
    });
    assert_eq!(s.phase, Phase::AlreadyAnswered);
}

#[test]
fn a_won_deal_skips_the_questions_for_lost_deals() {
    let s = SurveyState::new(Locale::En).apply(Action::Loaded {
        document: document(Vec::new(), "won"),
        preselect: None,
        fields: Vec::new(),
    });
    let s = acknowledged(s.apply(answer("nps", AnswerValue::Number(9))));
    let s = acknowledged(s.apply(answer("reasons", list(&["support"]))));
    let s = s.apply(Action::Next);
    assert!(!ids(&s).contains(&"why_competitor"));
    assert!(!ids(&s).contains(&"improve"));
}

/// A change as the form reports it: the field changed, and every field as posted.
fn changed(field: &str, fields: &[(&str, &str)]) -> Action {
    Action::Changed {
        field: field.to_owned(),
        fields: fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

fn saved_items(state: &SurveyState) -> Vec<AnswerItem> {
    match &state.command {
        Some((_, Command::Save(items))) => items.clone(),
        other => panic!("expected a save, got {other:?}"),
    }
}

#[test]
fn the_answer_is_read_from_the_form_as_the_buyer_left_it() {
    let s = loaded(Vec::new(), None).apply(changed("q.nps", &[("q.nps", "6")]));
    assert_eq!(s.answers.get("nps"), Some(&Answer::Score(6)));
    // Two boxes ticked quickly: the second change carries both, whatever the page showed.
    let s = acknowledged(s)
        .apply(changed(
            "q.reasons",
            &[("q.nps", "6"), ("q.reasons", "price")],
        ))
        .apply(Action::Saved)
        .apply(changed(
            "q.reasons",
            &[
                ("q.nps", "6"),
                ("q.reasons", "price"),
                ("q.reasons", "vendor"),
            ],
        ));
    assert_eq!(
        s.answers.get("reasons").map(Answer::chosen),
        Some(vec!["price", "vendor"])
    );
    assert_eq!(saved_items(&s)[0].value, list(&["price", "vendor"]));
    // Every box unticked takes the answer back, on the server too, and the follow-up of
    // price goes with it; the question is required, so the page does not go on without it.
    let s = acknowledged(s).apply(changed("q.reasons", &[("q.nps", "6")]));
    assert_eq!(saved_items(&s)[0].value, list(&[]));
    assert!(!s.answers.contains_key("reasons"));
    assert!(!ids(&s).contains(&"price_what_else"));
    let s = acknowledged(s).apply(Action::Next);
    assert_eq!(s.page, 0);
    assert_eq!(s.faults.get("reasons"), Some(&Fault::Missing));
}

#[test]
fn a_note_typed_beside_other_picks_other() {
    let s = loaded(Vec::new(), None).apply(changed(
        "q.reasons.other",
        &[
            ("q.reasons", "price"),
            ("q.reasons.other", "  Their roadmap "),
        ],
    ));
    let mut picked = s
        .answers
        .get("reasons")
        .map(Answer::chosen)
        .expect("answer");
    picked.sort_unstable();
    assert_eq!(picked, ["other", "price"]);
    assert_eq!(saved_items(&s)[0].text.as_deref(), Some("Their roadmap"));
    // "other" unticked: the note stays in its field but leaves the answer.
    let s = acknowledged(s).apply(changed(
        "q.reasons",
        &[("q.reasons", "price"), ("q.reasons.other", "Their roadmap")],
    ));
    assert_eq!(
        s.answers.get("reasons").map(Answer::chosen),
        Some(vec!["price"])
    );
    assert_eq!(saved_items(&s)[0].text, None);
    assert!(s.faults.is_empty());
    // A field of no question on the page, or a change once finished, is ignored.
    let s = acknowledged(s);
    assert_eq!(s.apply(changed("q.unknown", &[("q.unknown", "1")])), s);
    assert_eq!(s.apply(changed("name", &[])), s);
}

#[test]
fn only_fields_typed_in_are_drafts_and_a_draft_is_not_an_answer_until_left() {
    let s = loaded(Vec::new(), None).apply(Action::Draft {
        field: "q.reasons.other".into(),
        text: "Their road".into(),
    });
    assert!(s.command.is_none());
    assert_eq!(s.field_text("q.reasons.other", None), "Their road");
    assert!(!s.answers.contains_key("reasons"));
}

/// On the page at `page` (0, 1 or 2), the pages before answered and saved.
fn on_page(page: usize) -> SurveyState {
    let mut s = acknowledged(
        acknowledged(loaded(Vec::new(), None).apply(answer("nps", AnswerValue::Number(9))))
            .apply(answer("reasons", list(&["vendor"]))),
    );
    while s.page < page {
        s = acknowledged(s.apply(Action::Next));
    }
    assert_eq!(s.page, page);
    s
}

#[test]
fn the_driver_matrix_is_read_from_its_radio_groups() {
    let s = on_page(1).apply(changed(
        "q.drivers.understood_need",
        &[
            ("q.drivers.price", "very_negative"),
            ("q.drivers.understood_need", "positive"),
        ],
    ));
    match s.answers.get("drivers") {
        Some(Answer::Drivers(rated)) => {
            assert_eq!(rated.get("price"), Some(&Influence::VeryNegative));
            assert_eq!(rated.get("understood_need"), Some(&Influence::Positive));
        }
        other => panic!("expected ratings, got {other:?}"),
    }
}

#[test]
fn times_typed_for_an_interview_say_yes_and_consent_unticked_is_no_consent() {
    let s = on_page(2).apply(changed(
        "q.interview.times",
        &[("q.interview.times", "Tuesday mornings")],
    ));
    assert_eq!(
        s.answers.get("interview"),
        Some(&Answer::InterviewOptIn {
            yes: true,
            times: Some("Tuesday mornings".into())
        })
    );
    let s = acknowledged(s).apply(changed("q.consent", &[("q.consent", "yes")]));
    assert_eq!(s.answers.get("consent"), Some(&Answer::Consent(true)));
    // Unticked: the box sends nothing, and the consent given is taken back, on the server
    // too (a buyer who leaves now has not consented).
    let s = acknowledged(s).apply(changed("q.consent", &[]));
    assert!(!s.answers.contains_key("consent"));
    assert_eq!(saved_items(&s)[0].value, AnswerValue::Flag(false));
}
