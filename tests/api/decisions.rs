//! A CRM reports decided deals; each buyer gets exactly one invitation.

use chrono::SubsecRound;
use debrief_tests::{both_backends, lost_deal, TestApp};
use serde_json::json;

async fn a_lost_deal_becomes_a_french_invitation_with_eleven_clickable_scores(mut app: TestApp) {
    let reply = app.post_decision(&lost_deal("OPP-1")).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.body["created"], true);
    assert_eq!(reply.body["invitations"][0]["status"], "scheduled");

    let pass = app.deliver().await;
    assert_eq!(pass.sent, 1);
    let mail = app.smtp.next_mail().await;
    let invitation = debrief_tests::mail::Invitation::parse(&mail);

    assert_eq!(invitation.to, ["camille@globex.example"]);
    assert!(
        invitation.subject.contains("Camille Martin"),
        "{}",
        invitation.subject
    );
    assert!(
        invitation.html.contains("Quelle est la probabilité"),
        "French HTML part"
    );
    assert!(invitation.text.contains("Répondre ici"), "French text part");
    assert_eq!(invitation.reply_to.as_deref(), Some("ana@acme.example"));
    assert_eq!(invitation.score_links.len(), 11);
    for (score, link) in invitation.score_links.iter().enumerate() {
        assert!(link.starts_with(&app.address), "{link}");
        assert!(link.ends_with(&format!("?score={score}")), "{link}");
    }
    // The token in the link is never stored in clear.
    let token = invitation.token();
    assert!(token.len() >= 43);
    let (stored,): (i64,) =
        sqlx::query_as("select count(*) from invitation_tokens where token_hash = $1")
            .bind(&token)
            .fetch_one(app.db.pool())
            .await
            .expect("query");
    assert_eq!(stored, 0, "the clear token must not be in the database");
    assert_eq!(app.get_survey(&token).await.status, 200);
}

async fn posting_the_same_deal_again_updates_it_and_never_duplicates_invitations(mut app: TestApp) {
    assert_eq!(app.post_decision(&lost_deal("OPP-2")).await.status, 201);
    app.deliver().await;
    app.smtp.next_mail().await;

    let mut updated = lost_deal("OPP-2");
    updated["outcome"] = json!("no_decision");
    updated["amount"]["minor_units"] = json!(5_000_000);
    let reply = app.post_decision(&updated).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["created"], false);
    assert_eq!(reply.body["invitations"][0]["created"], false);
    assert_eq!(reply.body["invitations"][0]["status"], "sent");

    assert_eq!(app.deliver().await.sent, 0, "no second email");
    assert!(app.smtp.try_next_mail().is_none());
    assert_eq!(app.count("deals").await, 1);
    assert_eq!(app.count("invitations").await, 1);
    let participation = app.participation().await;
    assert_eq!(
        participation.body["by_outcome"]["no_decision"]["invited"],
        1
    );
    assert_eq!(participation.body["by_outcome"]["lost"]["invited"], 0);
}

async fn a_buyer_added_to_a_known_deal_is_the_only_one_newly_invited(mut app: TestApp) {
    app.post_decision(&lost_deal("OPP-3")).await;
    app.deliver().await;
    app.smtp.next_mail().await;

    let mut deal = lost_deal("OPP-3");
    deal["contacts"].as_array_mut().expect("array").push(json!({
        "name": "Sam Lee", "email": "sam@globex.example", "locale": "en-GB", "time_zone": "Europe/London"
    }));
    let reply = app.post_decision(&deal).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["invitations"][1]["created"], true);

    assert_eq!(app.deliver().await.sent, 1);
    let invitation = app.next_invitation().await;
    assert_eq!(invitation.to, ["sam@globex.example"]);
    assert!(invitation
        .html
        .contains("How likely are you to recommend Acme Analytics"));
}

async fn a_fresh_decision_waits_an_hour_before_the_buyer_is_emailed(mut app: TestApp) {
    let mut deal = lost_deal("OPP-4");
    let decided = (chrono::Utc::now() - chrono::Duration::minutes(5)).trunc_subsecs(0);
    deal["decided_at"] = json!(decided.to_rfc3339());
    let reply = app.post_decision(&deal).await;
    let scheduled: chrono::DateTime<chrono::Utc> = reply.body["invitations"][0]["scheduled_for"]
        .as_str()
        .expect("scheduled_for")
        .parse()
        .expect("a date-time");
    assert!(scheduled >= decided + chrono::Duration::hours(1));
    assert_eq!(app.deliver().await.sent, 0, "too early to send");
    assert!(app.smtp.try_next_mail().is_none());
}

async fn a_crm_posting_many_deals_at_once_gets_every_one_recorded(app: TestApp) {
    // A CRM's webhook fires for a whole team closing the quarter: concurrent posts, the
    // same account, new and known buyers. None may fail for the others.
    let deals: Vec<_> = (0..24)
        .map(|n| {
            let mut deal = lost_deal(&format!("OPP-RUSH-{n}"));
            deal["contacts"][0]["email"] = json!(format!("buyer{}@globex.example", n % 6));
            deal
        })
        .collect();
    let replies = futures_util::future::join_all(deals.iter().map(|d| app.post_decision(d))).await;
    let mut invited = 0;
    for (deal, reply) in deals.iter().zip(&replies) {
        assert_eq!(reply.status, 201, "{}", reply.text);
        // Each reply is about its own deal, even when recorded with others: its one buyer
        // is either invited or left out with a reason.
        assert_eq!(reply.body["crm_id"], deal["crm_id"]);
        let invitations = reply.body["invitations"].as_array().expect("invitations");
        let left_out = reply.body["left_out"].as_array().expect("left_out");
        assert_eq!(invitations.len() + left_out.len(), 1, "{}", reply.text);
        for i in invitations {
            assert_eq!(i["contact_email"], deal["contacts"][0]["email"]);
            assert_eq!(i["created"], true);
        }
        invited += invitations.len() as i64;
    }
    assert!(invited >= 1, "the first buyer is invited");
    assert_eq!(app.count("invitations").await, invited);
    assert_eq!(app.count("deals").await, 24);
    assert_eq!(app.count("persons").await, 6, "one person per address");
    assert_eq!(app.count("accounts").await, 1);
}

both_backends!(
    a_lost_deal_becomes_a_french_invitation_with_eleven_clickable_scores,
    posting_the_same_deal_again_updates_it_and_never_duplicates_invitations,
    a_buyer_added_to_a_known_deal_is_the_only_one_newly_invited,
    a_fresh_decision_waits_an_hour_before_the_buyer_is_emailed,
    a_crm_posting_many_deals_at_once_gets_every_one_recorded,
);
