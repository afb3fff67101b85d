//! A buyer whose browser runs no JavaScript answers the whole survey as plain HTML forms,
//! page by page, in their language; leaves and comes back; and finishes.

use debrief_tests::{both_backends, lost_deal, Reply, TestApp};

/// A form body from its fields, as a browser encodes it.
fn form(fields: &[(&str, &str)]) -> String {
    let mut body = form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        body.append_pair(k, v);
    }
    body.finish()
}

async fn submit(app: &TestApp, token: &str, fields: &[(&str, &str)]) -> Reply {
    let url = format!("{}/s/{token}/form", app.address);
    app.post_form(&url, &form(fields)).await
}

async fn a_french_buyer_answers_the_whole_survey_without_javascript_and_resumes_it(
    mut app: TestApp,
) {
    app.post_decision(&lost_deal("F-1")).await;
    let token = app.deliver_and_read_invitation().await.token();

    // The email's link opens the survey as a form that posts without any script; the
    // widget, where it runs, takes it over.
    let host = app.survey_page(&format!("/s/{token}")).await;
    assert!(host
        .text
        .contains(&format!("<form method=\"post\" action=\"/s/{token}/form\"")));
    assert!(host.text.contains("Page 1 sur 3"), "{}", host.text);

    let first = app.survey_page(&format!("/s/{token}/form")).await;
    assert_eq!(first.status, 200);
    assert!(first.text.contains("Page 1 sur 3"), "{}", first.text);
    assert!(first.text.contains("recommandiez Acme Analytics"));
    assert!(!first.text.contains("<script"), "the form needs no script");

    // Price among the reasons: the page comes back asking what else weighed.
    let first_page = [
        ("page", "0"),
        ("nav", "next"),
        ("q.nps", "4"),
        ("q.reasons", "price"),
        ("q.reasons", "product_fit"),
    ];
    let page = submit(&app, &token, &first_page).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("Page 1 sur 3"));
    assert!(page.text.contains("et quoi d"), "{}", page.text);
    assert!(
        page.text.contains(r#"value="4" checked"#),
        "the score stays ticked"
    );

    let what_else = [("q.price_what_else", "L'intégration")];
    let second = submit(&app, &token, &[&first_page[..], &what_else].concat()).await;
    assert!(second.text.contains("Page 2 sur 3"), "{}", second.text);
    // A low score asks what we could have done better; a loss to Northwind asks why.
    assert!(
        second.text.contains("Qu&#x27;aurions-nous pu mieux faire"),
        "{}",
        second.text
    );
    assert!(second.text.contains("Pourquoi avez-vous choisi Northwind"));

    // The buyer leaves; the same link brings them back to page 2.
    let resumed = app.survey_page(&format!("/s/{token}/form")).await;
    assert!(resumed.text.contains("Page 2 sur 3"), "{}", resumed.text);

    let third = submit(
        &app,
        &token,
        &[
            ("page", "1"),
            ("nav", "next"),
            ("q.drivers.price", "very_negative"),
            ("q.drivers.trust", "positive"),
            ("q.improve", "<script>alert(1)</script>"),
        ],
    )
    .await;
    assert!(third.text.contains("Page 3 sur 3"), "{}", third.text);

    // Without the required consent the page comes back, the fault beside the question,
    // and the buyer's words escaped.
    let last_page = [
        ("page", "2"),
        ("nav", "next"),
        ("q.anything_else", "<b>Merci</b>"),
        ("q.interview", "no"),
    ];
    let refused = submit(&app, &token, &last_page).await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.text.contains("Veuillez répondre à cette question."),
        "{}",
        refused.text
    );
    assert!(
        refused.text.contains("&lt;b&gt;Merci&lt;/b&gt;") && !refused.text.contains("<b>Merci")
    );

    let done = submit(
        &app,
        &token,
        &[&last_page[..], &[("q.consent", "yes")]].concat(),
    )
    .await;
    assert_eq!(done.status, 200);
    assert!(
        done.text
            .contains("Merci ! Vos réponses ont été enregistrées."),
        "{}",
        done.text
    );

    // Stored one row per question, per choice and per driver, the buyer's words as given.
    let items = app.response_items().await;
    let find = |q: &str| items.iter().filter(|(id, _, _)| id == q).count();
    assert_eq!(find("reasons"), 2);
    assert_eq!(find("drivers"), 2);
    assert!(items.contains(&("nps".to_owned(), Some(4), None)));
    assert!(items.contains(&(
        "improve".to_owned(),
        None,
        Some("<script>alert(1)</script>".to_owned())
    )));
    assert!(items.contains(&("consent".to_owned(), Some(1), None)));
    let (status, version): (String, i64) =
        sqlx::query_as("select status, survey_version from responses")
            .fetch_one(app.db.pool())
            .await
            .expect("response");
    assert_eq!((status.as_str(), version), ("complete", 1));
    assert_eq!(app.get_survey(&token).await.body["status"], "completed");
    let p = app.participation().await;
    assert_eq!(p.body["overall"]["completed"], 1, "{}", p.text);
    assert_eq!(p.body["by_outcome"]["lost"]["nps"]["sample_size"], 1);

    // A second submit after the end changes nothing.
    let again = submit(
        &app,
        &token,
        &[("page", "0"), ("nav", "next"), ("q.nps", "10")],
    )
    .await;
    assert!(again.text.contains("Merci"));
    assert!(app
        .response_items()
        .await
        .contains(&("nps".to_owned(), Some(4), None)));
}

async fn a_tampered_or_oversized_form_gets_a_clear_answer_and_stores_nothing(mut app: TestApp) {
    app.post_decision(&lost_deal("F-2")).await;
    let token = app.deliver_and_read_invitation().await.token();

    let no_page = submit(&app, &token, &[("q.nps", "5")]).await;
    assert_eq!(no_page.status, 422);
    let not_a_score = submit(
        &app,
        &token,
        &[("page", "0"), ("nav", "next"), ("q.nps", "eleven")],
    )
    .await;
    assert_eq!(not_a_score.status, 422);
    assert!(not_a_score
        .text
        .contains("Veuillez vérifier cette réponse."));
    let out_of_range = submit(
        &app,
        &token,
        &[("page", "0"), ("nav", "next"), ("q.nps", "11")],
    )
    .await;
    assert_eq!(out_of_range.status, 422);
    let not_a_choice = submit(
        &app,
        &token,
        &[
            ("page", "0"),
            ("nav", "next"),
            ("q.nps", "5"),
            ("q.reasons", "bribes"),
        ],
    )
    .await;
    assert_eq!(not_a_choice.status, 422);
    let huge = "x".repeat(100 * 1024);
    let too_big = submit(&app, &token, &[("page", "0"), ("q.improve", &huge)]).await;
    assert_eq!(too_big.status, 413);
    assert_eq!(app.count("responses").await, 0);
    assert_eq!(app.count("response_items").await, 0);

    let unknown = app
        .survey_page(&format!("/s/{}/form", "A".repeat(43)))
        .await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.text.contains("not valid"));
}

both_backends!(
    a_french_buyer_answers_the_whole_survey_without_javascript_and_resumes_it,
    a_tampered_or_oversized_form_gets_a_clear_answer_and_stores_nothing,
);
