use super::*;
use crate::locale::Locale;
use serde_json::json;

fn default_survey() -> Definition {
    serde_json::from_str(DEFAULT_WIN_LOSS).expect("the default survey parses")
}

pub(crate) fn lost_to_northwind() -> SurveyContext {
    SurveyContext {
        company: "Acme".into(),
        deal: [
            (DealAttribute::Outcome, "lost".to_owned()),
            (DealAttribute::Competitor, "Northwind".to_owned()),
        ]
        .into_iter()
        .collect(),
    }
}

fn items(value: serde_json::Value) -> Vec<AnswerItem> {
    serde_json::from_value(value).expect("answer items")
}

fn fields(errors: &[crate::FieldError]) -> Vec<&str> {
    errors.iter().map(|e| e.field.as_str()).collect()
}

#[test]
fn the_default_survey_is_valid_in_english_and_french_with_twenty_drivers_in_five_families() {
    let survey = default_survey();
    assert_eq!(validate_definition(&survey), Ok(()));
    assert_eq!(survey.locales, [Locale::En, Locale::Fr]);
    let Some(QuestionKind::DriverMatrix { drivers }) = survey.question("drivers").map(|q| &q.kind)
    else {
        panic!("the default survey rates drivers");
    };
    assert!((15..=25).contains(&drivers.len()), "{}", drivers.len());
    let families: std::collections::BTreeSet<DriverFamily> =
        drivers.iter().map(|d| d.family).collect();
    assert_eq!(families.len(), 5);
    let title = &survey.question("why_competitor").expect("question").title;
    assert_eq!(
        logic::fill(
            title.get(Locale::Fr, survey.default_locale),
            &lost_to_northwind()
        ),
        "Pourquoi avez-vous choisi Northwind ?"
    );
}

#[test]
fn a_faulty_definition_names_the_path_of_each_fault() {
    let mut survey = serde_json::to_value(default_survey()).expect("json");
    let page0 = &mut survey["pages"][0]["questions"];
    // A second question with the id of the first.
    page0[1]["id"] = json!("nps");
    // A French text left out.
    page0[2]["title"]
        .as_object_mut()
        .expect("text")
        .remove("fr");
    // A condition on a question that does not exist…
    page0[2]["visible_if"] = json!({ "answer": "reason", "any_of": ["price"] });
    let page1 = &mut survey["pages"][1]["questions"];
    // …and one on a question further on: a possible cycle.
    page1[1]["visible_if"] = json!({ "answer": "consent", "is": true });
    // A placeholder that is not a deal attribute.
    page1[2]["title"]["en"] = json!("Why {competitr}?");
    // A test that does not fit the question.
    survey["pages"][2]["questions"][1]["visible_if"] =
        json!({ "answer": "anything_else", "at_most": 3 });
    let survey: Definition = serde_json::from_value(survey).expect("well-formed");
    let errors = validate_definition(&survey).expect_err("invalid");
    assert_eq!(
        fields(&errors),
        [
            "pages[0].questions[1].id",
            "pages[0].questions[2].title.fr",
            "pages[0].questions[2].visible_if.answer",
            "pages[1].questions[1].visible_if.answer",
            "pages[1].questions[2].title.en",
            "pages[2].questions[1].visible_if",
        ],
        "{errors:#?}"
    );
    assert!(
        errors[3].message.contains("comes later"),
        "{}",
        errors[3].message
    );
}

#[test]
fn an_unknown_question_type_does_not_parse() {
    let mut survey = serde_json::to_value(default_survey()).expect("json");
    survey["pages"][0]["questions"][0]["type"] = json!("slider");
    let error = serde_json::from_value::<Definition>(survey).expect_err("unknown type");
    assert!(error.to_string().contains("slider"), "{error}");
}

#[test]
fn a_low_score_and_price_bring_their_follow_ups_and_a_complete_answer_needs_the_required() {
    let survey = default_survey();
    let context = lost_to_northwind();
    let first_page = items(json!([
        { "question": "nps", "value": 4 },
        { "question": "reasons", "value": ["price", "other"], "text": "Their roadmap" },
        { "question": "price_what_else", "value": "Integration effort" }
    ]));
    let saved = validate_answers(
        &survey,
        &context,
        &Answers::new(),
        &first_page,
        Completeness::Partial,
        Hidden::Refuse,
    )
    .expect("page one saves");
    assert_eq!(saved.len(), 3);

    // A high score hides "what could we have done better?": answering it is refused.
    let hidden = items(json!([
        { "question": "nps", "value": 9 },
        { "question": "improve", "value": "Nothing" }
    ]));
    let errors = validate_answers(
        &survey,
        &context,
        &saved,
        &hidden,
        Completeness::Partial,
        Hidden::Refuse,
    )
    .expect_err("hidden question");
    assert_eq!(fields(&errors), ["answers[1].question"]);

    // Finishing without the consent is refused, naming the question.
    let last = items(json!([
        { "question": "improve", "value": "Faster answers" },
        { "question": "why_competitor", "value": "<b>Cheaper</b>" }
    ]));
    let errors = validate_answers(
        &survey,
        &context,
        &saved,
        &last,
        Completeness::Complete,
        Hidden::Refuse,
    )
    .expect_err("consent missing");
    assert_eq!(fields(&errors), ["answers"]);
    assert!(errors[0].message.contains("consent"));

    let done = items(json!([
        { "question": "improve", "value": "Faster answers" },
        { "question": "why_competitor", "value": "<b>Cheaper</b>" },
        { "question": "consent", "value": true }
    ]));
    let all = validate_answers(
        &survey,
        &context,
        &saved,
        &done,
        Completeness::Complete,
        Hidden::Refuse,
    )
    .expect("complete");
    // Buyer text is kept as written; it is escaped where shown.
    assert_eq!(all["why_competitor"], Answer::Text("<b>Cheaper</b>".into()));
    assert_eq!(all["nps"], Answer::Score(4));
    assert_eq!(all.len(), 6);
}

#[test]
fn a_changed_score_drops_the_answer_to_the_follow_up_it_hides() {
    let survey = default_survey();
    let context = SurveyContext::default();
    let low = items(json!([
        { "question": "nps", "value": 3 },
        { "question": "improve", "value": "Support" }
    ]));
    let stored = validate_answers(
        &survey,
        &context,
        &Answers::new(),
        &low,
        Completeness::Partial,
        Hidden::Refuse,
    )
    .expect("saved");
    let high = items(json!([{ "question": "nps", "value": 10 }]));
    let now = validate_answers(
        &survey,
        &context,
        &stored,
        &high,
        Completeness::Partial,
        Hidden::Refuse,
    )
    .expect("saved");
    assert_eq!(now.get("improve"), None);
    assert_eq!(now["nps"], Answer::Score(10));
}

#[test]
fn wrong_types_ranges_lengths_and_unknown_questions_name_the_answer() {
    let survey = default_survey();
    let context = SurveyContext::default();
    let bad = items(json!([
        { "question": "nps", "value": 11 },
        { "question": "reasons", "value": ["price", "price"] },
        { "question": "drivers", "value": { "price": "very_negative", "colour": "positive" } },
        { "question": "anything_else", "value": "x".repeat(2_001) },
        { "question": "interview", "value": "yes" },
        { "question": "mood", "value": 3 },
        { "question": "consent", "value": true, "text": "nul\u{0}" }
    ]));
    let errors = validate_answers(
        &survey,
        &context,
        &Answers::new(),
        &bad,
        Completeness::Partial,
        Hidden::Refuse,
    )
    .expect_err("invalid");
    let mut got = fields(&errors);
    got.sort_unstable();
    assert_eq!(
        got,
        [
            "answers[0].value",
            "answers[1].value",
            "answers[2].value",
            "answers[3].value",
            "answers[4].value",
            "answers[5].question",
            "answers[6].text",
        ],
        "{errors:#?}"
    );
}

#[test]
fn other_needs_its_text_and_drivers_take_the_five_point_scale_or_not_a_factor() {
    let survey = default_survey();
    let context = SurveyContext::default();
    let other_alone = items(json!([{ "question": "reasons", "value": ["other"] }]));
    let errors = validate_answers(
        &survey,
        &context,
        &Answers::new(),
        &other_alone,
        Completeness::Partial,
        Hidden::Refuse,
    )
    .expect_err("other needs text");
    assert_eq!(fields(&errors), ["answers[0].text"]);
    let rated = items(json!([{ "question": "drivers",
        "value": { "price": "very_negative", "support_quality": "not_a_factor", "trust": "very_positive" } }]));
    let answers = validate_answers(
        &survey,
        &context,
        &Answers::new(),
        &rated,
        Completeness::Partial,
        Hidden::Refuse,
    )
    .expect("rated");
    let Answer::Drivers(rated) = &answers["drivers"] else {
        panic!("drivers");
    };
    let scores: Vec<Option<i8>> = rated.values().map(|i| i.score()).collect();
    // By driver id: price, support_quality, trust.
    assert_eq!(scores, [Some(-2), None, Some(2)]);
}

#[test]
fn a_page_needs_its_own_required_questions_and_the_form_drops_what_a_same_page_answer_hid() {
    let survey = default_survey();
    let context = SurveyContext::default();
    let no_score = items(json!([{ "question": "reasons", "value": ["product_fit"] }]));
    let errors = validate_answers(
        &survey,
        &context,
        &Answers::new(),
        &no_score,
        Completeness::Page(0),
        Hidden::Refuse,
    )
    .expect_err("the score is required on page one");
    assert_eq!(fields(&errors), ["answers"]);
    assert!(errors[0].message.contains("nps"), "{}", errors[0].message);
    // Page two has nothing required: leaving it blank is fine.
    let page_one = items(json!([
        { "question": "nps", "value": 8 },
        { "question": "reasons", "value": ["product_fit"] },
        // Drawn while price was ticked; unticked in the same post.
        { "question": "price_what_else", "value": "Support" }
    ]));
    let saved = validate_answers(
        &survey,
        &context,
        &Answers::new(),
        &page_one,
        Completeness::Page(0),
        Hidden::Drop,
    )
    .expect("page one is done");
    assert_eq!(saved.get("price_what_else"), None);
    let page_two = validate_answers(
        &survey,
        &context,
        &saved,
        &[],
        Completeness::Page(1),
        Hidden::Drop,
    )
    .expect("page two has nothing required");
    assert_eq!(page_two, saved);
}

#[test]
fn the_declined_request_survey_is_valid() {
    let survey: Definition =
        serde_json::from_str(DEFAULT_DECLINED_REQUEST).expect("the declined-request survey parses");
    assert_eq!(validate_definition(&survey), Ok(()));
    assert!(survey.question("needed").is_some_and(|q| q.required));
}

#[test]
fn every_answer_sent_back_reads_as_the_same_answer() {
    let survey = default_survey();
    let context = SurveyContext::default();
    let sent = items(json!([
        { "question": "nps", "value": 3 },
        { "question": "reasons", "value": ["price", "other"], "text": "Roadmap" },
        { "question": "price_what_else", "value": "Support" },
        { "question": "drivers", "value": { "price": "negative", "trust": "not_a_factor" } },
        { "question": "interview", "value": true, "text": "Mornings" },
        { "question": "consent", "value": true }
    ]));
    let read = validate_answers(
        &survey,
        &context,
        &Answers::new(),
        &sent,
        Completeness::Partial,
        Hidden::Refuse,
    )
    .expect("valid");
    let back: Vec<AnswerItem> = read.iter().map(|(q, a)| a.to_item(q)).collect();
    let again = validate_answers(
        &survey,
        &context,
        &Answers::new(),
        &back,
        Completeness::Partial,
        Hidden::Refuse,
    )
    .expect("still valid");
    assert_eq!(again, read);
}

#[test]
fn driver_family_codes_are_the_json_names() {
    for family in DriverFamily::ALL {
        let json = serde_json::to_string(&family).expect("serialises");
        assert_eq!(json, format!("\"{}\"", family.code()));
        assert_eq!(DriverFamily::parse(family.code()), Some(family));
    }
    assert_eq!(DriverFamily::parse("pricing"), None);
}
