//! The widget's survey API: the versioned survey a buyer answers, answers saved as they go
//! (a retry stores nothing twice), and the completion.

use debrief_tests::{both_backends, lost_deal, TestApp};
use serde_json::{json, Value};

fn saved(document: &Value, question: &str) -> Option<Value> {
    document["answers"]
        .as_array()?
        .iter()
        .find(|a| a["question"] == question)
        .map(|a| a["value"].clone())
}

async fn a_buyer_saves_answers_as_they_go_resumes_and_completes(mut app: TestApp) {
    app.post_decision(&lost_deal("A-1")).await;
    let token = app.deliver_and_read_invitation().await.token();

    let document = app.survey_document(&token).await;
    assert_eq!(document.status, 200, "{}", document.text);
    assert_eq!(document.body["survey_key"], "win_loss");
    assert_eq!(document.body["version"], 1);
    assert_eq!(document.body["locale"], "fr");
    assert_eq!(document.body["context"]["deal"]["competitor"], "Northwind");
    assert_eq!(
        document.body["definition"]["pages"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    assert_eq!(document.body["answers"], json!([]));

    // The same save twice (a retry): one row.
    for _ in 0..2 {
        let reply = app
            .save_answers(&token, json!([{ "question": "nps", "value": 6 }]))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    assert_eq!(app.response_items().await.len(), 1);
    let reply = app
        .save_answers(
            &token,
            json!([{ "question": "reasons", "value": ["price"] }]),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);

    // Reopened: what was saved comes back.
    let resumed = app.survey_document(&token).await;
    assert_eq!(saved(&resumed.body, "nps"), Some(json!(6)));
    assert_eq!(saved(&resumed.body, "reasons"), Some(json!(["price"])));

    // A 9 hides "what could we have done better?": answering both at once is refused,
    // and nothing changes.
    let hidden = app
        .save_answers(
            &token,
            json!([{ "question": "nps", "value": 9 }, { "question": "improve", "value": "x" }]),
        )
        .await;
    assert_eq!(hidden.status, 422);
    assert_eq!(hidden.error_fields(), ["answers[1].question"]);
    assert_eq!(
        saved(&app.survey_document(&token).await.body, "nps"),
        Some(json!(6))
    );

    // Consent given, then taken back (the box unticked): nothing of it stays stored, and
    // the survey cannot be completed without it.
    for value in [true, false] {
        let reply = app
            .save_answers(&token, json!([{ "question": "consent", "value": value }]))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    assert_eq!(
        saved(&app.survey_document(&token).await.body, "consent"),
        None
    );
    assert_eq!(
        saved(&app.survey_document(&token).await.body, "reasons"),
        Some(json!(["price"]))
    );

    let unfinished = app.complete_survey(&token, json!([])).await;
    assert_eq!(unfinished.status, 422);
    assert!(unfinished.text.contains("consent"), "{}", unfinished.text);
    let done = app
        .complete_survey(&token, json!([{ "question": "consent", "value": true }]))
        .await;
    assert_eq!(done.status, 201, "{}", done.text);
    assert_eq!(app.get_survey(&token).await.body["status"], "completed");
    let p = app.participation().await;
    assert_eq!(p.body["overall"]["completed"], 1);
    assert_eq!(p.body["overall"]["nps"]["detractors"], 1);
    let late = app
        .save_answers(&token, json!([{ "question": "nps", "value": 10 }]))
        .await;
    assert_eq!(late.status, 409);
}

async fn a_buyer_keeps_the_survey_version_they_started_after_an_edit(mut app: TestApp) {
    app.post_decision(&lost_deal("A-2")).await;
    let first = app.deliver_and_read_invitation().await.token();
    let reply = app
        .save_answers(&first, json!([{ "question": "nps", "value": 3 }]))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);

    // The survey is edited: version 2 drops the question about the competitor.
    let mut edited: Value =
        serde_json::from_str(debrief_common::survey::DEFAULT_WIN_LOSS).expect("survey");
    edited["pages"][1]["questions"]
        .as_array_mut()
        .expect("questions")
        .retain(|q| q["id"] != "why_competitor");
    sqlx::query(
        "insert into survey_versions (survey_key, version, definition, created_at, created_by)
         values ('win_loss', 2, $1, '2026-11-23T00:00:00.000000Z', 'test')",
    )
    .bind(edited.to_string())
    .execute(app.db.pool())
    .await
    .expect("version 2");

    let mut other = lost_deal("A-3");
    other["contacts"][0]["email"] = json!("lou@initech.example");
    other["account"]["name"] = json!("Initech");
    app.post_decision(&other).await;
    let second = app.deliver_and_read_invitation().await.token();

    assert_eq!(app.survey_document(&second).await.body["version"], 2);
    let started = app.survey_document(&first).await;
    assert_eq!(
        started.body["version"], 1,
        "the started response keeps its version"
    );
    // Its answers are checked against version 1, which still asks about the competitor.
    let reply = app
        .save_answers(
            &first,
            json!([{ "question": "why_competitor", "value": "Price" }]),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let refused = app
        .save_answers(
            &second,
            json!([{ "question": "why_competitor", "value": "Price" }]),
        )
        .await;
    assert_eq!(refused.status, 422);
    assert_eq!(refused.error_fields(), ["answers[0].question"]);
}

async fn malformed_answers_name_the_field_and_store_nothing(mut app: TestApp) {
    app.post_decision(&lost_deal("A-4")).await;
    let token = app.deliver_and_read_invitation().await.token();
    let wrong_type = app
        .save_answers(&token, json!([{ "question": "nps", "value": "nine" }]))
        .await;
    assert_eq!(wrong_type.status, 422);
    assert_eq!(wrong_type.error_fields(), ["answers[0].value"]);
    let unknown = app
        .save_answers(&token, json!([{ "question": "mood", "value": 1 }]))
        .await;
    assert_eq!(unknown.error_fields(), ["answers[0].question"]);
    let too_long = app
        .save_answers(
            &token,
            json!([{ "question": "anything_else", "value": "x".repeat(2_001) }]),
        )
        .await;
    assert_eq!(too_long.error_fields(), ["answers[0].value"]);
    let not_a_list = app.save_answers(&token, json!({ "nps": 3 })).await;
    assert_eq!(not_a_list.status, 422, "{}", not_a_list.text);
    assert_eq!(app.count("responses").await, 0);
    assert_eq!(app.survey_document("nope").await.status, 404);
}

both_backends!(
    a_buyer_saves_answers_as_they_go_resumes_and_completes,
    a_buyer_keeps_the_survey_version_they_started_after_an_edit,
    malformed_answers_name_the_field_and_store_nothing,
);
