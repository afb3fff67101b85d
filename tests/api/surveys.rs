//! A buyer opens their link, answers once, and only their own survey.

use debrief_tests::{both_backends, lost_deal, TestApp};
use serde_json::json;

async fn a_buyer_answers_once_and_a_second_answer_is_refused(mut app: TestApp) {
    app.post_decision(&lost_deal("S-1")).await;
    let token = app.deliver_and_read_invitation().await.token();

    let survey = app.get_survey(&token).await;
    assert_eq!(survey.status, 200);
    assert_eq!(survey.body["status"], "open");
    assert_eq!(survey.body["locale"], "fr");
    assert_eq!(survey.body["company"], "Acme Analytics");

    let reply = app
        .post_response(&token, &json!({ "nps": 9, "reason": "Le prix" }))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);

    let again = app
        .post_response(&token, &json!({ "nps": 2, "reason": "changed my mind" }))
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(again.body["error"], "already_answered");
    assert_eq!(app.get_survey(&token).await.body["status"], "completed");

    // One row per question.
    let items = app.response_items().await;
    assert_eq!(
        items,
        [
            ("nps".to_owned(), Some(9), None),
            ("reason".to_owned(), None, Some("Le prix".to_owned()))
        ],
        "the first answer stands"
    );
}

async fn an_answer_keeps_the_deal_as_it_was_when_the_crm_edits_it_later(mut app: TestApp) {
    let deal = lost_deal("S-9");
    app.post_decision(&deal).await;
    let token = app.deliver_and_read_invitation().await.token();
    let reply = app.post_response(&token, &json!({ "nps": 9 })).await;
    assert_eq!(reply.status, 201, "{}", reply.text);

    // The CRM corrects the deal afterwards: now a win, in another region.
    let mut edited = deal.clone();
    edited["outcome"] = json!("won");
    edited["region"] = json!("APAC");
    assert_eq!(app.post_decision(&edited).await.status, 200);

    let frozen: (String, Option<String>, Option<String>, String, String) =
        sqlx::query_as("select outcome, competitor, region, amount_band, period from responses")
            .fetch_one(app.db.pool())
            .await
            .expect("one response");
    let decided: chrono::DateTime<chrono::Utc> = deal["decided_at"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .expect("decided_at");
    use chrono::Datelike;
    let quarter = format!("{}-Q{}", decided.year(), (decided.month() - 1) / 3 + 1);
    assert_eq!(
        frozen,
        (
            "lost".to_owned(),
            Some("Northwind".to_owned()),
            Some("EMEA".to_owned()),
            "10k_to_50k".to_owned(),
            quarter
        )
    );
    // Participation counts the score under the outcome the buyer answered about.
    let p = app.participation().await;
    assert_eq!(
        p.body["by_outcome"]["lost"]["nps"]["sample_size"], 1,
        "{}",
        p.text
    );
    assert_eq!(p.body["by_outcome"]["won"]["nps"]["sample_size"], 0);
}

async fn invalid_answers_name_the_field_and_store_nothing(mut app: TestApp) {
    app.post_decision(&lost_deal("S-2")).await;
    let token = app.deliver_and_read_invitation().await.token();

    let reply = app
        .post_response(&token, &json!({ "nps": 11, "reason": "x".repeat(2001) }))
        .await;
    assert_eq!(reply.status, 422);
    assert_eq!(reply.error_fields(), ["nps", "reason"]);
    let reply = app
        .post_response(&token, &json!({ "reason": "no score" }))
        .await;
    assert_eq!(reply.error_fields(), ["nps"]);
    let reply = app.post_response(&token, &json!({ "nps": "nine" })).await;
    assert_eq!(reply.error_fields(), ["nps"]);
    assert_eq!(app.count("responses").await, 0);
    assert_eq!(app.get_survey(&token).await.body["status"], "open");
}

async fn a_token_opens_only_its_own_buyers_survey(mut app: TestApp) {
    let mut deal = lost_deal("S-3");
    deal["contacts"].as_array_mut().expect("array").push(json!({
        "name": "Sam Lee", "email": "sam@globex.example", "locale": "en", "time_zone": "Europe/London"
    }));
    app.post_decision(&deal).await;
    app.deliver().await;
    let first = app.next_invitation().await;
    let second = app.next_invitation().await;
    assert_ne!(first.token(), second.token());

    app.post_response(&first.token(), &json!({ "nps": 10 }))
        .await;
    assert_eq!(
        app.get_survey(&first.token()).await.body["status"],
        "completed"
    );
    assert_eq!(app.get_survey(&second.token()).await.body["status"], "open");
}

async fn unknown_and_expired_links_get_a_clear_answer(mut app: TestApp) {
    let unknown = "A".repeat(43);
    let page = app.survey_page(&format!("/s/{unknown}")).await;
    assert_eq!(page.status, 404);
    assert!(page.text.contains("not valid"), "{}", page.text);
    assert!(
        !page.text.contains("debrief_widget"),
        "no widget for a dead link"
    );
    assert_eq!(app.get_survey(&unknown).await.status, 404);
    assert_eq!(app.get_survey("../../etc/passwd").await.status, 404);
    assert_eq!(
        app.post_response("short", &json!({ "nps": 3 }))
            .await
            .status,
        404
    );

    app.post_decision(&lost_deal("S-4")).await;
    let token = app.deliver_and_read_invitation().await.token();
    // Time passes: the link's validity runs out.
    sqlx::query("update invitation_tokens set expires_at = '2000-01-01T00:00:00.000000Z'")
        .execute(app.db.pool())
        .await
        .expect("expire");
    let page = app.survey_page(&format!("/s/{token}")).await;
    assert_eq!(page.status, 410);
    // In the buyer's language, now that the link says who they are.
    assert!(
        page.text.contains("Ce lien de questionnaire a expiré"),
        "{}",
        page.text
    );
    assert_eq!(
        app.post_response(&token, &json!({ "nps": 3 })).await.status,
        410
    );
}

async fn the_survey_page_hosts_the_widget_with_the_clicked_score(mut app: TestApp) {
    app.post_decision(&lost_deal("S-5")).await;
    let invitation = app.deliver_and_read_invitation().await;
    let link = invitation.link_for_score(9).replacen(&app.address, "", 1);

    let page = app.survey_page(&link).await;
    assert_eq!(page.status, 200);
    assert!(
        page.text.contains(r#"data-debrief-score="9""#),
        "{}",
        page.text
    );
    assert!(page
        .text
        .contains(&format!(r#"data-debrief-token="{}""#, invitation.token())));
    // The page is the survey itself, answerable before the widget loads, with 9 ticked.
    assert!(
        page.text.contains(r#"name="q.nps" value="9" checked"#),
        "{}",
        page.text
    );
    assert!(page
        .text
        .contains(&format!(r#"action="/s/{}/form""#, invitation.token())));
    assert!(page.text.contains(r#"<html lang="fr">"#));
    assert!(page.text.contains("/widget/embed.js"));

    // A tampered score is dropped, never echoed into the page.
    let hostile = format!("/s/{}?score=%22%3E%3Cscript%3E", invitation.token());
    let page = app.survey_page(&hostile).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains(r#"data-debrief-score="""#));
    assert!(!page.text.contains("<script>"));
}

async fn opening_and_starting_move_the_funnel_forward_only(mut app: TestApp) {
    app.post_decision(&lost_deal("S-6")).await;
    let token = app.deliver_and_read_invitation().await.token();
    app.get_survey(&token).await;
    assert_eq!(app.start_survey(&token).await.status, 204);
    let funnel = app.participation().await.body["overall"].clone();
    assert_eq!(
        (
            funnel["sent"].clone(),
            funnel["opened"].clone(),
            funnel["started"].clone()
        ),
        (json!(1), json!(1), json!(1))
    );
    assert_eq!(funnel["completed"], 0);

    app.post_response(&token, &json!({ "nps": 6 })).await;
    // Re-opening a finished survey does not move it back.
    app.get_survey(&token).await;
    assert_eq!(app.start_survey(&token).await.status, 409);
    assert_eq!(app.participation().await.body["overall"]["completed"], 1);
}

both_backends!(
    a_buyer_answers_once_and_a_second_answer_is_refused,
    an_answer_keeps_the_deal_as_it_was_when_the_crm_edits_it_later,
    invalid_answers_name_the_field_and_store_nothing,
    a_token_opens_only_its_own_buyers_survey,
    unknown_and_expired_links_get_a_clear_answer,
    the_survey_page_hosts_the_widget_with_the_clicked_score,
    opening_and_starting_move_the_funnel_forward_only,
);
