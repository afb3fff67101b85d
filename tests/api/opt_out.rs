//! A buyer who asks for no more surveys gets none, on this deal or the next.

use debrief_tests::{both_backends, lost_deal, TestApp};
use serde_json::json;

async fn a_buyer_opts_out_from_the_email_and_is_never_surveyed_again(mut app: TestApp) {
    app.post_decision(&lost_deal("O-1")).await;
    let invitation = app.deliver_and_read_invitation().await;
    let opt_out = invitation
        .list_unsubscribe
        .clone()
        .expect("List-Unsubscribe header");
    assert!(
        invitation.html.contains(&opt_out.replace('=', "&#x3D;"))
            || invitation.html.contains(&opt_out)
    );
    assert!(invitation.text.contains(&opt_out));

    // Following the link only asks; a mail scanner's GET must not opt anyone out.
    let page = app
        .survey_page(&opt_out.replacen(&app.address, "", 1))
        .await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("<form method=\"post\""), "{}", page.text);
    assert_eq!(app.count("suppressions").await, 0);

    // The mail client's one-click POST (RFC 8058).
    let response = app.post_form(&opt_out, "List-Unsubscribe=One-Click").await;
    assert_eq!(response.status, 200);
    assert!(response.text.contains("ne recevrez plus"));

    // The open survey closes…
    let token = invitation.token();
    assert_eq!(app.get_survey(&token).await.status, 410);
    assert_eq!(
        app.post_response(&token, &json!({ "nps": 5 })).await.status,
        410
    );

    // …its reminders stop…
    app.clock.advance(chrono::Duration::days(7));
    assert_eq!(app.deliver().await.sent, 0, "no reminder after an opt-out");
    assert!(app.smtp.try_next_mail().is_none());

    // …and the same buyer on a later deal, spelled differently, is not emailed.
    let mut next = lost_deal("O-2");
    next["contacts"][0]["email"] = json!("Camille@Globex.example");
    let reply = app.post_decision(&next).await;
    assert_eq!(reply.body["invitations"], json!([]));
    assert_eq!(reply.body["left_out"][0]["reason"], "suppressed");
    assert_eq!(app.deliver().await.sent, 0);
    assert!(app.smtp.try_next_mail().is_none());
    assert_eq!(app.participation().await.body["overall"]["opted_out"], 1);
}

async fn an_opt_out_stops_an_email_already_queued(mut app: TestApp) {
    // A program without a cooldown, so the same buyer is invited on a second deal.
    app.put_program(&json!({
        "name": "No cooldown",
        "contact_policy": { "person_cooldown_days": 0 },
        "segments": [{ "key": "all", "name": "All", "method": "survey" }]
    }))
    .await;
    app.post_decision(&lost_deal("O-3")).await;
    let first = app.deliver_and_read_invitation().await;

    // The same buyer turns up on another deal; that email is queued, not yet sent, when
    // they opt out from the first one.
    app.post_decision(&lost_deal("O-4")).await;
    let opt_out = first.list_unsubscribe.clone().expect("header");
    assert_eq!(app.post_form(&opt_out, "").await.status, 200);

    let pass = app.deliver().await;
    assert_eq!(
        (pass.sent, pass.skipped),
        (0, 1),
        "the queued email is dropped"
    );
    assert!(app.smtp.try_next_mail().is_none());
}

async fn a_mangled_opt_out_link_gets_a_clear_page(app: TestApp) {
    let page = app.survey_page("/u/not-a-token").await;
    assert_eq!(page.status, 404);
    assert!(page.text.contains("not valid"));
    let unknown = format!("{}/u/{}", app.address, "Z".repeat(43));
    assert_eq!(app.post_form(&unknown, "").await.status, 404);
    assert_eq!(app.count("suppressions").await, 0);
}

both_backends!(
    a_buyer_opts_out_from_the_email_and_is_never_surveyed_again,
    an_opt_out_stops_an_email_already_queued,
    a_mangled_opt_out_link_gets_a_clear_page,
);
