//! Scores clicked in the email. Corporate mail gateways open every link of an email, so a
//! click is only provisional: it never becomes, and never changes, a confirmed answer.

use debrief_tests::{both_backends, lost_deal, TestApp};
use serde_json::json;

async fn a_link_scanner_that_opens_every_link_creates_no_answer(mut app: TestApp) {
    app.post_decision(&lost_deal("K-1")).await;
    let invitation = app.deliver_and_read_invitation().await;
    assert_eq!(invitation.score_links.len(), 11);
    // The gateway opens every link: the eleven scores, the form, the opt-out page.
    for link in &invitation.score_links {
        let page = app.survey_page(&link.replacen(&app.address, "", 1)).await;
        assert_eq!(page.status, 200);
    }
    let token = invitation.token();
    assert_eq!(
        app.survey_page(&format!("/s/{token}/form?score=4"))
            .await
            .status,
        200
    );
    let opt_out = invitation.list_unsubscribe.clone().expect("header");
    assert_eq!(
        app.survey_page(&opt_out.replacen(&app.address, "", 1))
            .await
            .status,
        200
    );

    assert_eq!(app.count("responses").await, 0, "no answer");
    assert_eq!(app.count("suppressions").await, 0, "nobody opted out");
    let p = app.participation().await;
    assert_eq!(p.body["overall"]["nps"]["sample_size"], 0, "{}", p.text);
    // Eleven different scores from one invitation: a scanner, not a buyer.
    assert_eq!(p.body["overall"]["provisional_nps"]["sample_size"], 0);
}

async fn a_clicked_score_counts_as_provisional_until_the_buyer_confirms_one(mut app: TestApp) {
    app.post_decision(&lost_deal("K-2")).await;
    let invitation = app.deliver_and_read_invitation().await;
    let link = invitation.link_for_score(8).replacen(&app.address, "", 1);
    // The buyer clicks 8, and clicks it again later.
    assert_eq!(app.survey_page(&link).await.status, 200);
    assert_eq!(app.survey_page(&link).await.status, 200);
    let p = app.participation().await;
    let provisional = &p.body["by_outcome"]["lost"]["provisional_nps"];
    assert_eq!(provisional["sample_size"], 1, "{}", p.text);
    assert_eq!(provisional["passives"], 1);
    assert_eq!(p.body["overall"]["nps"]["sample_size"], 0, "not confirmed");

    // On the page, the buyer confirms a 9.
    let token = invitation.token();
    let reply = app.post_response(&token, &json!({ "nps": 9 })).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    // A scanner opening another score link afterwards changes nothing.
    let late = invitation.link_for_score(2).replacen(&app.address, "", 1);
    assert_eq!(app.survey_page(&late).await.status, 200);
    let p = app.participation().await;
    assert_eq!(p.body["overall"]["nps"]["sample_size"], 1);
    assert_eq!(p.body["overall"]["nps"]["promoters"], 1);
    assert_eq!(p.body["overall"]["provisional_nps"]["sample_size"], 0);
    assert!(app
        .response_items()
        .await
        .contains(&("nps".to_owned(), Some(9), None)));
}

async fn repeated_clicks_write_a_bounded_number_of_rows(mut app: TestApp) {
    app.post_decision(&lost_deal("K-3")).await;
    let invitation = app.deliver_and_read_invitation().await;
    let link = invitation.link_for_score(5).replacen(&app.address, "", 1);
    for _ in 0..30 {
        assert_eq!(app.survey_page(&link).await.status, 200);
    }
    assert_eq!(app.count("score_clicks").await, 20);
}

both_backends!(
    a_link_scanner_that_opens_every_link_creates_no_answer,
    a_clicked_score_counts_as_provisional_until_the_buyer_confirms_one,
    repeated_clicks_write_a_bounded_number_of_rows,
);
