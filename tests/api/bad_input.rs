//! Malformed, oversized and hostile requests get a clear 4xx naming the field, and change
//! nothing already stored.

use debrief_server::auth::Role;
use debrief_tests::{both_backends, lost_deal, TestApp};
use serde_json::json;

async fn each_bad_field_is_named_and_nothing_is_stored(app: TestApp) {
    let mut deal = lost_deal("BAD-1");
    deal["outcome"] = json!("postponed");
    deal["contacts"][0]["email"] = json!("camille-at-globex");
    deal["contacts"][0]["locale"] = json!("tlh");
    let reply = app.post_decision(&deal).await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    assert_eq!(reply.body["error"], "validation_failed");
    assert_eq!(
        reply.error_fields(),
        ["outcome", "contacts[0].email", "contacts[0].locale"]
    );

    // "*" stands for every region and product line on the dashboards.
    let mut everywhere = lost_deal("BAD-5");
    everywhere["region"] = json!("*");
    everywhere["product_line"] = json!(" * ");
    let reply = app.post_decision(&everywhere).await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    assert_eq!(reply.error_fields(), ["region", "product_line"]);

    let mut no_contacts = lost_deal("BAD-2");
    no_contacts["contacts"] = json!([]);
    let reply = app.post_decision(&no_contacts).await;
    assert_eq!(reply.status, 422);
    assert_eq!(reply.error_fields(), ["contacts"]);

    assert_eq!(app.count("deals").await, 0);
    // Only the schedules there from the start: alert rules, monthly digests.
    let (jobs,): (i64,) = sqlx::query_as(
        "select count(*) from jobs where kind not in ('alert_evaluation', 'digest_schedule')",
    )
    .fetch_one(app.db.pool())
    .await
    .expect("jobs");
    assert_eq!(jobs, 0);
}

async fn malformed_json_and_wrong_types_are_422(app: TestApp) {
    let reply = app
        .post_decision_raw(&app.api_key, "{\"crm_id\": ".into())
        .await;
    assert_eq!(reply.status, 422);
    assert_eq!(reply.body["error"], "malformed_json");

    let mut deal = lost_deal("BAD-3");
    deal["amount"]["minor_units"] = json!("lots");
    let reply = app.post_decision(&deal).await;
    assert_eq!(reply.status, 422);
    assert_eq!(reply.error_fields(), ["amount.minor_units"]);

    let mut deal = lost_deal("BAD-4");
    deal["outcom"] = json!("won");
    let reply = app.post_decision(&deal).await;
    assert_eq!(
        reply.status, 422,
        "unknown fields are typos: {}",
        reply.text
    );
    assert!(reply.body["fields"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("outcom"));
}

async fn an_oversized_body_is_413(app: TestApp) {
    let mut deal = lost_deal("BIG-1");
    deal["region"] = json!("x".repeat(70 * 1024));
    let reply = app.post_decision(&deal).await;
    assert_eq!(reply.status, 413);
    assert_eq!(reply.body["error"], "payload_too_large");
    assert_eq!(app.count("deals").await, 0);
}

async fn keys_are_required_and_roles_are_enforced(app: TestApp) {
    let body = lost_deal("AUTH-1").to_string();
    assert_eq!(app.post_decision_raw("", body.clone()).await.status, 401);
    assert_eq!(
        app.post_decision_raw("dbk_not-a-real-key", body.clone())
            .await
            .status,
        401
    );
    let analyst = app.key_with_role(Role::Analyst).await;
    let reply = app.post_decision_raw(&analyst, body.clone()).await;
    assert_eq!(reply.status, 403);
    assert!(reply.body["message"]
        .as_str()
        .unwrap_or_default()
        .contains("analyst"));
    assert_eq!(app.participation_as(&analyst).await.status, 200);

    let manager = app.key_with_role(Role::AccountManager).await;
    assert_eq!(
        app.post_decision_raw(&manager, body.clone()).await.status,
        403
    );
    assert_eq!(app.participation_as(&manager).await.status, 403);
    let owner = app.key_with_role(Role::ProgramOwner).await;
    assert_eq!(app.participation_as(&owner).await.status, 200);

    let crm = app.key_with_role(Role::Integration).await;
    assert_eq!(app.post_decision_raw(&crm, body).await.status, 201);
    assert_eq!(app.participation_as(&crm).await.status, 403);
    assert_eq!(app.participation_as("nope").await.status, 401);
}

async fn a_rejected_update_leaves_the_stored_deal_unchanged(app: TestApp) {
    assert_eq!(app.post_decision(&lost_deal("KEEP-1")).await.status, 201);
    let mut bad = lost_deal("KEEP-1");
    bad["outcome"] = json!("won");
    bad["contacts"][0]["time_zone"] = json!("Nowhere/Special");
    assert_eq!(app.post_decision(&bad).await.status, 422);

    let (outcome,): (String,) = sqlx::query_as("select outcome from deals where crm_id = 'KEEP-1'")
        .fetch_one(app.db.pool())
        .await
        .expect("deal");
    assert_eq!(outcome, "lost");
    assert_eq!(app.count("contacts").await, 1);
}

async fn a_form_post_is_refused_with_415(app: TestApp) {
    let response = app
        .http
        .post(format!("{}/api/v1/decisions", app.address))
        .bearer_auth(&app.api_key)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("crm_id=1")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status().as_u16(), 415);
}

async fn hostile_text_is_stored_verbatim_but_escaped_in_the_email(mut app: TestApp) {
    let mut deal = lost_deal("XSS-1");
    deal["contacts"][0]["name"] = json!("<script>alert(1)</script> Camille");
    assert_eq!(app.post_decision(&deal).await.status, 201);
    let invitation = app.deliver_and_read_invitation().await;
    assert!(
        !invitation.html.contains("<script>"),
        "HTML part must escape names"
    );
    assert!(invitation.html.contains("&lt;script&gt;"));
    assert!(
        invitation
            .text
            .contains("<script>alert(1)</script> Camille"),
        "text is not markup"
    );
}

both_backends!(
    each_bad_field_is_named_and_nothing_is_stored,
    malformed_json_and_wrong_types_are_422,
    an_oversized_body_is_413,
    keys_are_required_and_roles_are_enforced,
    a_rejected_update_leaves_the_stored_deal_unchanged,
    a_form_post_is_refused_with_415,
    hostile_text_is_stored_verbatim_but_escaped_in_the_email,
);
