//! Program owners follow the interview funnel, invited to booked to completed, with its
//! no-show and decline rates, against the 41% good programs reach; by segment, account
//! manager, outcome and month. Each account manager sees their own accounts'.

use crate::interview_notes::{notes, two_booked_interviews};
use debrief_server::auth::Role;
use debrief_tests::{both_backends, lost_deal, TestApp};
use serde_json::json;

const FUNNEL: &str = "/api/v1/participation/interviews";

/// Camille's interview held, Lee's a no-show (Ana's account); Dana, on Bob's account,
/// declines.
async fn three_interviews(app: &mut TestApp) {
    let (ivy, camille, lee) = two_booked_interviews(app).await;
    app.set_clock("2026-12-01T15:00:00Z");
    let noted = app
        .put_as(
            &ivy,
            &format!("/api/v1/interviews/{camille}/notes"),
            &notes(),
            None,
        )
        .await;
    assert_eq!(noted.status, 200);
    let no_show = app
        .post_as(
            &ivy,
            &format!("/api/v1/interviews/{lee}/no-show"),
            &json!({}),
        )
        .await;
    assert_eq!(no_show.status, 200);
    // The calendar messages and reminders of the first two, out of the way.
    app.deliver().await;
    while app.smtp.try_next_mail().is_some() {}

    let mut deal = lost_deal("S-2");
    deal["amount"]["minor_units"] = json!(8_000_000);
    deal["decided_at"] = json!("2026-12-01T10:00:00Z");
    deal["account"] = json!({ "name": "Initech", "manager": { "name": "Bob Stone", "email": "bob@acme.example" } });
    deal["contacts"] = json!([{ "name": "Dana Fox", "email": "dana@initech.example",
        "role": "Decision maker", "locale": "en", "time_zone": "Europe/London" }]);
    assert_eq!(app.post_decision(&deal).await.status, 201);
    assert_eq!(app.deliver().await.sent, 1);
    let token = app.next_invitation().await.booking_token();
    let declined = reqwest::Client::new()
        .post(format!("{}/i/{token}/decline", app.address))
        .send()
        .await
        .expect("decline");
    assert_eq!(declined.status(), 200);
}

async fn the_funnel_shows_each_step_and_rate_against_the_target(mut app: TestApp) {
    three_interviews(&mut app).await;
    let owner = app.key_with_role(Role::ProgramOwner).await;

    let by_segment = app.get_as(&owner, FUNNEL).await;
    assert_eq!(by_segment.status, 200, "{}", by_segment.text);
    let overall = &by_segment.body["overall"];
    assert_eq!(by_segment.body["target"], 0.41);
    for (field, value) in [
        ("invited", 3),
        ("booked", 2),
        ("completed", 1),
        ("no_show", 1),
        ("declined", 1),
    ] {
        assert_eq!(overall[field], value, "{field}");
    }
    assert_eq!(overall["participation"], 0.333);
    assert_eq!(overall["no_show_rate"], 0.5);
    assert_eq!(overall["decline_rate"], 0.333);
    assert_eq!(overall["meets_target"], false);
    assert_eq!(by_segment.body["groups"][0]["key"], "strategic");

    let by_manager = app
        .get_as(&owner, &format!("{FUNNEL}?by=account_manager"))
        .await;
    let groups = &by_manager.body["groups"];
    assert_eq!(
        (
            groups[0]["key"].as_str(),
            groups[0]["invited"].as_u64(),
            groups[0]["completed"].as_u64()
        ),
        (Some("ana@acme.example"), Some(2), Some(1))
    );
    assert_eq!(
        (groups[1]["key"].as_str(), groups[1]["declined"].as_u64()),
        (Some("bob@acme.example"), Some(1))
    );
    let by_outcome = app.get_as(&owner, &format!("{FUNNEL}?by=outcome")).await;
    assert_eq!(by_outcome.body["groups"][0]["key"], "lost");
    let by_month = app.get_as(&owner, &format!("{FUNNEL}?by=period")).await;
    let months: Vec<&str> = by_month.body["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g["key"].as_str().expect("key"))
        .collect();
    assert_eq!(months, ["2026-11", "2026-12"]);
    // The program sets its own target: a third of invited buyers meets 30%.
    let mut program = crate::program::win_loss_program();
    program["interview_target"] = json!(1.5);
    let refused = app
        .put_as(&app.api_key, "/api/v1/program", &program, None)
        .await;
    assert_eq!(refused.status, 422);
    assert_eq!(refused.body["fields"][0]["field"], "interview_target");
    program["interview_target"] = json!(0.3);
    app.put_program(&program).await;
    let against_30 = app.get_as(&owner, FUNNEL).await;
    assert_eq!(against_30.body["target"], 0.3);
    assert_eq!(against_30.body["overall"]["meets_target"], true);

    // A period: December's invitations only (Dana's).
    let december = app
        .get_as(&owner, &format!("{FUNNEL}?from=2026-12-01&to=2026-12-31"))
        .await;
    assert_eq!(december.body["overall"]["invited"], 1);
}

async fn each_manager_sees_their_own_and_bad_queries_name_the_field(mut app: TestApp) {
    three_interviews(&mut app).await;
    let ana = app.manager_key("Ana Duarte", "ana@acme.example").await;
    let bob = app.manager_key("Bob Stone", "bob@acme.example").await;
    let theirs = |key: String| {
        let app = &app;
        async move { app.get_as(&key, FUNNEL).await.body["overall"]["invited"].clone() }
    };
    assert_eq!(theirs(ana).await, 2);
    assert_eq!(theirs(bob).await, 1);
    for (role, status) in [
        (Role::Analyst, 200),
        (Role::Admin, 200),
        (Role::Integration, 403),
    ] {
        let key = app.key_with_role(role).await;
        assert_eq!(app.get_as(&key, FUNNEL).await.status, status, "{role:?}");
    }
    for (query, field) in [
        ("by=weather", "by"),
        ("from=2026-13-01", "from"),
        ("to=yesterday", "to"),
        ("from=2026-12-02&to=2026-12-01", "to"),
    ] {
        let reply = app.get_as(&app.api_key, &format!("{FUNNEL}?{query}")).await;
        assert_eq!(reply.status, 422, "{query}");
        assert_eq!(reply.body["fields"][0]["field"], field, "{query}");
    }
}

both_backends!(
    the_funnel_shows_each_step_and_rate_against_the_target,
    each_manager_sees_their_own_and_bad_queries_name_the_field,
);
