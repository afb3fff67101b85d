//! A program owner edits the win-loss survey: each edit is a new version, buyers who have
//! started keep theirs, and a faulty definition is refused with the path of each fault.

use debrief_common::survey::Definition;
use debrief_tests::{both_backends, lost_deal, surveyjs_load, TestApp, PROGRAM_ACCESS};
use serde_json::{json, Value};

const WIN_LOSS: &str = "/api/v1/program/surveys/win_loss";

fn default_survey() -> Value {
    serde_json::from_str(debrief_common::survey::DEFAULT_WIN_LOSS).expect("survey")
}

async fn an_edit_is_a_new_version_and_a_started_buyer_keeps_theirs(mut app: TestApp) {
    let current = app.get_as(&app.api_key, WIN_LOSS).await;
    assert_eq!(current.status, 200, "{}", current.text);
    assert_eq!(current.body["version"], 1);
    assert_eq!(current.body["created_by"], "built-in");

    app.post_decision(&lost_deal("V-1")).await;
    let started = app.deliver_and_read_invitation().await.token();
    let reply = app
        .save_answers(&started, json!([{ "question": "nps", "value": 7 }]))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);

    // The owner rewords the NPS question.
    let mut edited = default_survey();
    edited["pages"][0]["questions"][0]["title"]["en"] =
        json!("Would you recommend {company} to a peer?");
    let saved = app.put_as(&app.api_key, WIN_LOSS, &edited, Some(1)).await;
    assert_eq!(saved.status, 200, "{}", saved.text);
    assert_eq!(saved.body["version"], 2);
    assert_eq!(saved.body["responses"], 0);

    let first = app
        .get_as(&app.api_key, &format!("{WIN_LOSS}/versions/1"))
        .await;
    assert_eq!(first.body["responses"], 1, "version 1 keeps its answer");
    assert_eq!(app.survey_document(&started).await.body["version"], 1);

    let mut other = lost_deal("V-2");
    other["contacts"][0]["email"] = json!("lou@initech.example");
    other["contacts"][0]["locale"] = json!("en");
    other["account"]["name"] = json!("Initech");
    app.post_decision(&other).await;
    let fresh = app.deliver_and_read_invitation().await.token();
    let document = app.survey_document(&fresh).await;
    assert_eq!(document.body["version"], 2);
    assert_eq!(
        document.body["definition"]["pages"][0]["questions"][0]["title"]["en"],
        "Would you recommend {company} to a peer?"
    );
    // The form shows the new wording, filled in.
    let page = app.survey_page(&format!("/s/{fresh}/form")).await;
    assert!(
        page.text
            .contains("Would you recommend Acme Analytics to a peer?"),
        "{}",
        page.text
    );
}

async fn a_faulty_survey_is_refused_with_the_path_of_each_fault_and_nothing_is_stored(
    app: TestApp,
) {
    let mut missing_french = default_survey();
    missing_french["pages"][1]["questions"][1]["title"]
        .as_object_mut()
        .expect("text")
        .remove("fr");
    missing_french["pages"][2]["questions"][0]["visible_if"] =
        json!({ "answer": "consent", "is": true });
    let reply = app
        .put_as(&app.api_key, WIN_LOSS, &missing_french, None)
        .await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    assert_eq!(
        reply.error_fields(),
        [
            "pages[1].questions[1].title.fr",
            "pages[2].questions[0].visible_if.answer"
        ]
    );

    let mut unknown_type = default_survey();
    unknown_type["pages"][0]["questions"][0]["type"] = json!("slider");
    let reply = app
        .put_as(&app.api_key, WIN_LOSS, &unknown_type, None)
        .await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    assert!(
        reply.error_fields()[0].starts_with("pages[0].questions[0]"),
        "{:?}",
        reply.error_fields()
    );

    // Someone saved meanwhile: the stale edit is refused.
    let stale = app
        .put_as(&app.api_key, WIN_LOSS, &default_survey(), Some(7))
        .await;
    assert_eq!(stale.status, 409, "{}", stale.text);
    assert_eq!(app.get_as(&app.api_key, WIN_LOSS).await.body["version"], 1);
    assert_eq!(
        app.get_as(&app.api_key, "/api/v1/program/surveys/mood")
            .await
            .status,
        404
    );
}

async fn owners_edit_surveys_and_analysts_read_them(app: TestApp) {
    for (role, read, write) in PROGRAM_ACCESS {
        let key = app.key_with_role(role).await;
        assert_eq!(
            app.get_as(&key, WIN_LOSS).await.status,
            read,
            "{role} reads"
        );
        assert_eq!(
            app.get_as(&key, &format!("{WIN_LOSS}/versions/1"))
                .await
                .status,
            read,
            "{role} reads a version"
        );
        let put = app.put_as(&key, WIN_LOSS, &default_survey(), None).await;
        assert_eq!(put.status, write, "{role} edits: {}", put.text);
    }
    assert_eq!(app.get_as("dbk_nope", WIN_LOSS).await.status, 401);
}

async fn the_survey_goes_out_to_surveyjs_and_comes_back_the_same(app: TestApp) {
    let exported = app
        .get_as(&app.api_key, &format!("{WIN_LOSS}?format=surveyjs"))
        .await;
    assert_eq!(exported.status, 200, "{}", exported.text);

    // SurveyJS's own library loads it without a complaint, speaks French, and its own
    // expression engine shows the follow-ups as the survey means them.
    let low = surveyjs_load(
        &exported.body,
        &json!({ "nps": 4, "reasons": ["price"] }),
        "improve",
    );
    assert_eq!(low["errors"], json!([]), "{low:#}");
    assert_eq!(low["pages"], 3);
    assert_eq!(low["title"], "Qu'aurions-nous pu mieux faire ?");
    let visible = |l: &Value, q: &str| {
        l["visible"]
            .as_array()
            .is_some_and(|v| v.iter().any(|n| n == q))
    };
    assert!(visible(&low, "improve") && visible(&low, "price_what_else"));
    let high = surveyjs_load(
        &exported.body,
        &json!({ "nps": 9, "reasons": ["product_fit"] }),
        "nps",
    );
    assert!(!visible(&high, "improve") && !visible(&high, "price_what_else"));

    // What SurveyJS writes back imports as the same survey, with nothing lost.
    let back = app
        .put_as(
            &app.api_key,
            &format!("{WIN_LOSS}?format=surveyjs"),
            &low["json"],
            Some(1),
        )
        .await;
    assert_eq!(back.status, 200, "{}", back.text);
    assert_eq!(back.body["version"], 2);
    let first = app
        .get_as(&app.api_key, &format!("{WIN_LOSS}/versions/1"))
        .await;
    // The same survey; version 1 is the built-in file, which leaves defaults unwritten.
    let read = |v: &Value| -> Definition {
        serde_json::from_value(v["definition"].clone()).expect("a definition")
    };
    assert_eq!(read(&back.body), read(&first.body));
}

/// A SurveyJS survey of three questions, the second of a type Debrief does not map
/// (`pages[0].elements[1].type`).
pub fn surveyjs_with_a_dropdown() -> Value {
    json!({
        "pages": [{ "name": "p1", "elements": [
            { "type": "rating", "name": "nps", "rateMin": 0, "rateMax": 10, "isRequired": true,
              "title": { "default": "Would you recommend us?", "fr": "Nous recommanderiez-vous ?" } },
            { "type": "dropdown", "name": "country", "choices": ["FR", "DE"] },
            { "type": "comment", "name": "why", "visibleIf": "{nps} <= 6",
              "title": { "default": "Why?", "fr": "Pourquoi ?" } }
        ] }]
    })
}

async fn a_surveyjs_import_reports_what_it_cannot_map_and_stores_only_when_accepted(app: TestApp) {
    let survey = surveyjs_with_a_dropdown();
    let path = format!("{WIN_LOSS}?format=surveyjs");
    let refused = app.put_as(&app.api_key, &path, &survey, None).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(refused.error_fields(), ["pages[0].elements[1].type"]);
    assert_eq!(app.get_as(&app.api_key, WIN_LOSS).await.body["version"], 1);

    let accepted = app
        .put_as(
            &app.api_key,
            &format!("{path}&accept_unmapped=true"),
            &survey,
            None,
        )
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    let questions = &accepted.body["definition"]["pages"][0]["questions"];
    assert_eq!(questions.as_array().map(Vec::len), Some(2));
    assert_eq!(
        questions[1]["visible_if"],
        json!({ "answer": "nps", "at_most": 6 })
    );

    let bad_format = app
        .get_as(&app.api_key, &format!("{WIN_LOSS}?format=xml"))
        .await;
    assert_eq!(bad_format.error_fields(), ["format"]);
}

both_backends!(
    an_edit_is_a_new_version_and_a_started_buyer_keeps_theirs,
    a_faulty_survey_is_refused_with_the_path_of_each_fault_and_nothing_is_stored,
    owners_edit_surveys_and_analysts_read_them,
    the_survey_goes_out_to_surveyjs_and_comes_back_the_same,
    a_surveyjs_import_reports_what_it_cannot_map_and_stores_only_when_accepted,
);
