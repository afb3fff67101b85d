//! After the first email: reminders to buyers who have not answered, expiry, incentives
//! earned and paid, and the suppression list staff keep.

use chrono::Duration;
use debrief_server::auth::Role;
use debrief_tests::{both_backends, lost_deal, TestApp};
use serde_json::{json, Value};

fn two_buyers(crm_id: &str) -> Value {
    let mut deal = lost_deal(crm_id);
    deal["contacts"].as_array_mut().expect("contacts").push(
        json!({ "name": "Sam Lee", "email": "sam@globex.example", "role": "Evaluator",
                      "locale": "en", "time_zone": "Europe/London" }),
    );
    deal
}

async fn reminders_go_at_3_and_7_days_and_stop_when_the_buyer_answers(mut app: TestApp) {
    app.post_decision(&two_buyers("R-1")).await;
    assert_eq!(app.deliver().await.sent, 2);
    let mut first = [app.next_invitation().await, app.next_invitation().await];
    first.sort_by(|a, b| a.to.cmp(&b.to));
    let [camille, sam] = first;

    // Nothing before day 3.
    app.clock.advance(Duration::days(3) - Duration::minutes(1));
    assert_eq!(app.deliver().await.sent, 0);
    app.clock.advance(Duration::minutes(1));
    assert_eq!(app.deliver().await.sent, 2);
    let mut reminders = [app.next_invitation().await, app.next_invitation().await];
    reminders.sort_by(|a, b| a.to.cmp(&b.to));
    assert!(
        reminders[0].subject.starts_with("Rappel"),
        "{}",
        reminders[0].subject
    );
    assert!(
        reminders[1].subject.starts_with("Reminder"),
        "{}",
        reminders[1].subject
    );
    // The reminder carries the very link of the first email.
    assert_eq!(reminders[0].token(), camille.token());
    assert_ne!(reminders[0].message_id, camille.message_id);

    // Sam answers; on day 7 only Camille is reminded again.
    let answered = app.post_response(&sam.token(), &json!({ "nps": 7 })).await;
    assert_eq!(answered.status, 201, "{}", answered.text);
    app.clock.advance(Duration::days(4));
    assert_eq!(app.deliver().await.sent, 1);
    assert_eq!(app.next_invitation().await.to, ["camille@globex.example"]);

    // After 30 days the invitation expires: no more reminders, and the link says so.
    app.clock.advance(Duration::days(24));
    app.deliver().await;
    assert!(app.smtp.try_next_mail().is_none());
    assert_eq!(app.get_survey(&camille.token()).await.status, 410);
    let answered = app.get_survey(&sam.token()).await;
    assert_eq!(
        answered.body["status"], "completed",
        "answered stays answered"
    );
    let (status,): (String,) = sqlx::query_as(
        "select i.status from invitations i join persons p on p.id = i.person_id where p.email = 'camille@globex.example'",
    )
    .fetch_one(app.db.pool())
    .await
    .expect("invitation");
    assert_eq!(status, "expired");
    // Each reminder is counted on its invitation, the two of day 3 recorded together.
    let reminded: Vec<(String, i64)> = sqlx::query_as(
        "select p.email, i.reminders_sent from invitations i join persons p on p.id = i.person_id
         order by p.email",
    )
    .fetch_all(app.db.pool())
    .await
    .expect("invitations");
    assert_eq!(
        reminded,
        [
            ("camille@globex.example".to_owned(), 2),
            ("sam@globex.example".to_owned(), 1)
        ]
    );
}

fn with_budget(when_spent: &str) -> Value {
    json!({
        "name": "Interviews with a budget",
        "incentives": [{ "key": "eur_100", "kind": "money", "amount": { "minor_units": 10000, "currency": "EUR" } }],
        "budget": { "currency": "EUR", "per_period_minor": 15000, "when_spent": when_spent },
        "segments": [{ "key": "all", "name": "All", "method": "survey", "incentive": "eur_100" }]
    })
}

async fn an_incentive_is_earned_once_and_a_spent_budget_sends_without_it(mut app: TestApp) {
    app.put_program(&with_budget("send_without")).await;
    let reply = app.post_decision(&two_buyers("I-1")).await;
    let offered: Vec<&str> = reply.body["invitations"]
        .as_array()
        .expect("invitations")
        .iter()
        .map(|i| i["incentive"].as_str().unwrap_or("none"))
        .collect();
    // 100 EUR of a 150 EUR budget: the second buyer is invited without it.
    assert_eq!(offered, ["eur_100", "none"], "{}", reply.text);
    app.deliver().await;
    let mut mails = [app.next_invitation().await, app.next_invitation().await];
    mails.sort_by(|a, b| a.to.cmp(&b.to));
    assert!(
        mails[0].text.contains("carte cadeau de 100 EUR"),
        "{}",
        mails[0].text
    );
    assert!(!mails[1].text.contains("gift card"), "{}", mails[1].text);

    // Two answers at once: one is stored, and the incentive is earned once.
    let token = mails[0].token();
    let answer = json!({ "nps": 9 });
    let (a, b) = tokio::join!(
        app.post_response(&token, &answer),
        app.post_response(&token, &answer),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409]);
    let earned = app
        .get_as(&app.api_key, "/api/v1/incentives?status=earned")
        .await;
    assert_eq!(
        earned.body["incentives"].as_array().map(Vec::len),
        Some(1),
        "{}",
        earned.text
    );

    // The payout export pays it once.
    let csv = app
        .post_as(
            &app.api_key,
            "/api/v1/incentives/payouts?format=csv",
            &json!({}),
        )
        .await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(lines.len(), 2, "{}", csv.text);
    assert!(
        lines[1].contains("camille@globex.example") && lines[1].contains(",10000,EUR,"),
        "{}",
        lines[1]
    );
    let again = app
        .post_as(
            &app.api_key,
            "/api/v1/incentives/payouts?format=json",
            &json!({}),
        )
        .await;
    assert_eq!(again.body["incentives"], json!([]));
    let fulfilled = app
        .get_as(&app.api_key, "/api/v1/incentives?status=fulfilled")
        .await;
    assert!(fulfilled.body["incentives"][0]["fulfilled_at"].is_string());
    // Paid is paid: marking it fulfilled again by hand is refused.
    let id = fulfilled.body["incentives"][0]["id"].as_str().expect("id");
    let again = app
        .post_as(
            &app.api_key,
            &format!("/api/v1/incentives/{id}/fulfil"),
            &json!({}),
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.text);
}

async fn a_spent_budget_holds_invitations_until_staff_release_them(mut app: TestApp) {
    app.put_program(&with_budget("hold")).await;
    let reply = app.post_decision(&two_buyers("I-2")).await;
    let statuses: Vec<&str> = reply.body["invitations"]
        .as_array()
        .expect("invitations")
        .iter()
        .filter_map(|i| i["status"].as_str())
        .collect();
    assert_eq!(statuses, ["scheduled", "held"], "{}", reply.text);
    assert_eq!(app.deliver().await.sent, 1, "the held invitation waits");
    assert_eq!(app.next_invitation().await.to, ["camille@globex.example"]);

    // Staff let it go: it is sent now, without the incentive the budget could not cover.
    let held = reply.body["invitations"][1]["invitation_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let path = format!("/api/v1/invitations/{held}/release");
    for role in [Role::Analyst, Role::AccountManager, Role::Integration] {
        let key = app.key_with_role(role).await;
        let refused = app.post_as(&key, &path, &json!({})).await;
        assert_eq!(refused.status, 403, "{role} may not release");
    }
    let owner = app.key_with_role(Role::ProgramOwner).await;
    let released = app.post_as(&owner, &path, &json!({})).await;
    assert_eq!(released.status, 200, "{}", released.text);
    assert_eq!(app.deliver().await.sent, 1);
    let mail = app.next_invitation().await;
    assert_eq!(mail.to, ["sam@globex.example"]);
    assert_eq!(
        app.post_as(&app.api_key, &path, &json!({})).await.status,
        409,
        "released once"
    );
}

async fn staff_mark_a_buyer_do_not_contact_and_lift_it_on_record(mut app: TestApp) {
    app.post_decision(&lost_deal("X-1")).await;
    let added = app
        .post_as(
            &app.api_key,
            "/api/v1/suppressions",
            &json!({ "email": "Camille@Globex.example", "note": "Asked her AM for no surveys" }),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.text);
    assert_eq!(added.body["source"], "staff");
    assert_eq!(added.body["created_by"], "test admin");
    // The queued invitation does not go.
    assert_eq!(app.deliver().await.sent, 0);
    assert!(app.smtp.try_next_mail().is_none());

    let list = app
        .get_as(
            &app.api_key,
            "/api/v1/suppressions?email=camille@globex.example",
        )
        .await;
    let id = list.body["suppressions"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let lifted = app
        .post_as(
            &app.api_key,
            &format!("/api/v1/suppressions/{id}/lift"),
            &json!({ "reason": "She asked to hear from us again" }),
        )
        .await;
    assert_eq!(lifted.status, 200, "{}", lifted.text);
    assert_eq!(lifted.body["lifted_by"], "test admin");
    let active = app.get_as(&app.api_key, "/api/v1/suppressions").await;
    assert_eq!(active.body["suppressions"], json!([]));
    let history = app
        .get_as(&app.api_key, "/api/v1/suppressions?include_lifted=true")
        .await;
    assert_eq!(
        history.body["suppressions"][0]["lift_reason"],
        "She asked to hear from us again"
    );
    let twice = app
        .post_as(
            &app.api_key,
            &format!("/api/v1/suppressions/{id}/lift"),
            &json!({}),
        )
        .await;
    assert_eq!(twice.status, 404);

    let bad = app
        .post_as(
            &app.api_key,
            "/api/v1/suppressions",
            &json!({ "email": "not an address" }),
        )
        .await;
    assert_eq!(
        (bad.status, bad.error_fields()),
        (422, vec!["email".to_owned()])
    );
}

async fn only_owners_manage_suppressions_and_incentives(app: TestApp) {
    for (role, allowed) in [
        (Role::Admin, true),
        (Role::ProgramOwner, true),
        (Role::Analyst, false),
        (Role::AccountManager, false),
        (Role::Integration, false),
    ] {
        let key = app.key_with_role(role).await;
        let expect = if allowed { 200 } else { 403 };
        assert_eq!(
            app.get_as(&key, "/api/v1/suppressions").await.status,
            expect,
            "{role}"
        );
        assert_eq!(
            app.get_as(&key, "/api/v1/incentives").await.status,
            expect,
            "{role}"
        );
        assert_eq!(
            app.get_as(&key, "/api/v1/incentives/payouts?format=csv")
                .await
                .status,
            expect,
            "{role}"
        );
        let add = app
            .post_as(
                &key,
                "/api/v1/suppressions",
                &json!({ "email": format!("{role}@example.com") }),
            )
            .await;
        assert_eq!(add.status, if allowed { 201 } else { 403 }, "{role}");
        let lift = app
            .post_as(&key, "/api/v1/suppressions/none/lift", &json!({}))
            .await;
        assert_eq!(lift.status, if allowed { 404 } else { 403 }, "{role}");
        let payout = app
            .post_as(&key, "/api/v1/incentives/payouts", &json!({}))
            .await;
        assert_eq!(payout.status, expect, "{role}");
        let fulfil = app
            .post_as(&key, "/api/v1/incentives/none/fulfil", &json!({}))
            .await;
        assert_eq!(fulfil.status, if allowed { 409 } else { 403 }, "{role}");
    }
}

async fn a_buyer_who_says_yes_at_the_end_of_the_survey_is_invited_to_an_interview(
    mut app: TestApp,
) {
    app.put_program(&json!({
        "name": "Survey, then talk",
        "segments": [{ "key": "all", "name": "All", "method": "survey_then_interview" }]
    }))
    .await;
    let reply = app.post_decision(&lost_deal("F-1")).await;
    assert_eq!(
        reply.body["method"], "survey_then_interview",
        "{}",
        reply.text
    );
    let survey = app.deliver_and_read_invitation().await;
    assert_eq!(survey.score_links.len(), 11, "the survey goes first");
    let token = survey.token();
    let view = app.get_survey(&token).await;
    assert_eq!(view.body["offers_interview"], true, "{}", view.text);

    let answered = app
        .post_response(
            &token,
            &json!({ "nps": 6, "reason": "Pricing", "interview": true }),
        )
        .await;
    assert_eq!(answered.status, 201, "{}", answered.text);
    assert_eq!(answered.body["interview_requested"], true);
    assert_eq!(
        app.count("interviews").await,
        1,
        "its lifecycle starts as invited"
    );
    // The interview invitation goes through the outbox like any other, to the same buyer.
    assert_eq!(app.deliver().await.sent, 1);
    let interview = app.next_invitation().await;
    assert!(
        interview.subject.contains("30 minutes avec Ana Duarte"),
        "{}",
        interview.subject
    );
    assert!(interview.score_links.is_empty());
    assert_eq!(interview.to, survey.to);
    // Once: answering again is refused, and nothing more is queued.
    let again = app
        .post_response(&token, &json!({ "nps": 6, "interview": true }))
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(app.deliver().await.sent, 0);
    assert_eq!(app.count("invitations").await, 2);
}

async fn a_survey_that_does_not_ask_refuses_a_yes_and_a_no_invites_nobody(mut app: TestApp) {
    app.post_decision(&lost_deal("F-2")).await;
    let token = app.deliver_and_read_invitation().await.token();
    let view = app.get_survey(&token).await;
    assert_eq!(view.body["offers_interview"], false);
    let refused = app
        .post_response(&token, &json!({ "nps": 9, "interview": true }))
        .await;
    assert_eq!(
        (refused.status, refused.error_fields()),
        (422, vec!["interview".to_owned()])
    );
    assert_eq!(app.count("responses").await, 0, "nothing stored");

    // Where it is asked, a "no" is just an answer.
    app.put_program(&json!({
        "name": "Survey, then talk",
        "segments": [{ "key": "all", "name": "All", "method": "survey_then_interview" }]
    }))
    .await;
    let mut deal = lost_deal("F-3");
    deal["contacts"][0]["email"] = json!("noah@initech.example");
    deal["account"]["name"] = json!("Initech");
    app.post_decision(&deal).await;
    let token = app.deliver_and_read_invitation().await.token();
    let answered = app
        .post_response(&token, &json!({ "nps": 9, "interview": false }))
        .await;
    assert_eq!(answered.status, 201, "{}", answered.text);
    assert_eq!(answered.body["interview_requested"], false);
    assert_eq!(app.deliver().await.sent, 0);
}

async fn reminders_count_from_the_day_the_invitation_went_out(mut app: TestApp) {
    // The relay refuses mail for four days; the invitation goes out on day 4.
    app.smtp
        .reject_recipients(Some("451 4.3.0 try again later"));
    app.post_decision(&lost_deal("R-2")).await;
    assert_eq!(app.deliver().await.retried, 1);
    app.clock.advance(Duration::days(4));
    app.smtp.reject_recipients(None);
    assert_eq!(app.deliver().await.sent, 1);
    let invitation = app.next_invitation().await;

    // Reminders at +3 and +7 days from then: days 7 and 11, none lost to the outage.
    app.clock.advance(Duration::days(3) - Duration::minutes(1));
    assert_eq!(app.deliver().await.sent, 0);
    app.clock.advance(Duration::minutes(1));
    assert_eq!(app.deliver().await.sent, 1);
    let first = app.next_invitation().await;
    assert!(first.subject.starts_with("Rappel"), "{}", first.subject);
    assert_eq!(first.token(), invitation.token());
    app.clock.advance(Duration::days(4));
    assert_eq!(app.deliver().await.sent, 1);
    let second = app.next_invitation().await;
    assert!(second.subject.starts_with("Rappel"), "{}", second.subject);
    app.clock.advance(Duration::days(10));
    assert_eq!(app.deliver().await.sent, 0, "two reminders, no more");

    // One Message-ID per email, though one job sent all three.
    let ids = [invitation.message_id, first.message_id, second.message_id];
    assert!(ids.iter().all(Option::is_some), "{ids:?}");
    assert!(
        ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2],
        "{ids:?}"
    );
}

both_backends!(
    reminders_go_at_3_and_7_days_and_stop_when_the_buyer_answers,
    reminders_count_from_the_day_the_invitation_went_out,
    an_incentive_is_earned_once_and_a_spent_budget_sends_without_it,
    a_spent_budget_holds_invitations_until_staff_release_them,
    staff_mark_a_buyer_do_not_contact_and_lift_it_on_record,
    only_owners_manage_suppressions_and_incentives,
    a_buyer_who_says_yes_at_the_end_of_the_survey_is_invited_to_an_interview,
    a_survey_that_does_not_ask_refuses_a_yes_and_a_no_invites_nobody,
);
