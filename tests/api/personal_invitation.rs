//! An account manager invites a buyer of their lost deal to an interview, personally: a
//! note of their own, an incentive, their name on the email and their address for the
//! replies. They read it first; the contact policy still applies, and says why.

use debrief_server::auth::Role;
use debrief_tests::{both_backends, camille_and_lee, lost_deal, TestApp};
use serde_json::{json, Value};

/// Surveys for every deal, and a catalogue to offer from: interviews come only from the
/// managers here.
fn surveys_and_a_catalogue() -> Value {
    json!({
        "name": "Win-loss",
        "contact_policy": { "person_cooldown_days": 90, "account_max_per_decision": 3 },
        "incentives": [
            { "key": "eur_100", "kind": "money", "amount": { "minor_units": 10000, "currency": "EUR" } }
        ],
        "segments": [{ "key": "all", "name": "All", "method": "survey" }]
    })
}

async fn a_lost_deal(app: &TestApp) {
    app.set_clock("2026-11-29T17:00:00Z");
    app.put_program(&surveys_and_a_catalogue()).await;
    let mut deal = lost_deal("S-1");
    deal["decided_at"] = json!("2026-11-29T15:00:00Z");
    deal["contacts"] = camille_and_lee();
    let reply = app.post_decision(&deal).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
}

const PREVIEW: &str = "/api/v1/interviews/invitations/preview";
const SEND: &str = "/api/v1/interviews/invitations";

fn to_camille() -> Value {
    json!({
        "crm_id": "S-1",
        "email": "Camille@Globex.example",
        "note": "Camille, merci pour nos échanges.\n<b>Votre avis compte</b>, même après ce choix.",
        "incentive": "eur_100"
    })
}

async fn a_manager_reads_then_sends_a_personal_invitation_signed_with_their_name(mut app: TestApp) {
    a_lost_deal(&app).await;
    // Drain the survey invitations the program sent.
    app.deliver().await;
    while app.smtp.try_next_mail().is_some() {}
    let ana = app.manager_key("Ana Duarte", "ana@acme.example").await;

    let preview = app.post_as(&ana, PREVIEW, &to_camille()).await;
    assert_eq!(preview.status, 200, "{}", preview.text);
    assert_eq!(preview.body["to"], "camille@globex.example");
    assert_eq!(preview.body["reply_to"], "ana@acme.example");
    let text = preview.body["text"].as_str().expect("text");
    assert!(
        text.contains("<b>Votre avis compte</b>, même après ce choix."),
        "{text}"
    );
    assert!(
        text.contains("que nous travaillions ensemble ou non"),
        "{text}"
    );
    assert!(text.contains("100 EUR"), "{text}");
    assert!(text.contains("Ana Duarte"), "{text}");
    let html = preview.body["html"].as_str().expect("html");
    assert!(
        html.contains("&lt;b&gt;Votre avis compte&lt;/b&gt;"),
        "{html}"
    );
    assert!(!html.contains("<b>Votre"), "the note is escaped");
    assert_eq!(app.count("interviews").await, 0, "a preview stores nothing");

    let sent = app.post_as(&ana, SEND, &to_camille()).await;
    assert_eq!(sent.status, 201, "{}", sent.text);
    assert_eq!(sent.body["status"], "scheduled");
    assert_eq!(app.deliver().await.sent, 1);
    let mail = app.next_invitation().await;
    assert_eq!(mail.to, ["camille@globex.example"]);
    assert_eq!(mail.reply_to.as_deref(), Some("ana@acme.example"));
    assert!(mail.subject.contains("Ana Duarte"), "{}", mail.subject);
    assert!(
        mail.text.contains("<b>Votre avis compte</b>"),
        "{}",
        mail.text
    );
    assert!(
        mail.html.contains("&lt;b&gt;Votre avis compte"),
        "{}",
        mail.html
    );
    assert!(
        mail.text.contains("une carte cadeau de 100 EUR"),
        "{}",
        mail.text
    );
    assert_eq!(
        mail.booking_token().len(),
        43,
        "with the buyer's own booking link"
    );
    let (by, status): (String, String) = sqlx::query_as(
        "select s.email, v.status from interviews v join staff s on s.id = v.invited_by",
    )
    .fetch_one(app.db.pool())
    .await
    .expect("interview");
    assert_eq!(
        (by.as_str(), status.as_str()),
        ("ana@acme.example", "invited")
    );

    // Twice is once: the second is refused, and says why.
    let again = app.post_as(&ana, SEND, &to_camille()).await;
    assert_eq!(again.status, 409);
    assert_eq!(again.body["error"], "already_invited");
}

async fn the_contact_policy_and_bad_fields_stop_it_and_say_why(app: TestApp) {
    a_lost_deal(&app).await;
    let ana = app.manager_key("Ana Duarte", "ana@acme.example").await;
    let suppressed = app
        .post_as(
            &app.api_key,
            "/api/v1/suppressions",
            &json!({ "email": "lee@globex.example" }),
        )
        .await;
    assert_eq!(suppressed.status, 201);
    let to_lee = json!({ "crm_id": "S-1", "email": "lee@globex.example" });
    for path in [PREVIEW, SEND] {
        let refused = app.post_as(&ana, path, &to_lee).await;
        assert_eq!(refused.status, 409, "{path}");
        assert_eq!(refused.body["error"], "suppressed");
        assert!(refused.body["message"]
            .as_str()
            .expect("why")
            .contains("suppressed"));
    }
    let with = |field: &str, value: Value| {
        let mut body = to_camille();
        body[field] = value;
        body
    };
    for (body, field) in [
        (with("email", json!("nobody@globex.example")), "email"),
        (with("note", json!("x".repeat(1_001))), "note"),
        (with("note", json!("bell \u{7}")), "note"),
        (with("incentive", json!("gold_bars")), "incentive"),
        (
            with("interviewer_id", json!("no-such-interviewer")),
            "interviewer_id",
        ),
        (with("colour", json!("red")), "colour"),
        (with("crm_id", json!(42)), "crm_id"),
    ] {
        let reply = app.post_as(&ana, SEND, &body).await;
        assert_eq!(reply.status, 422, "{body}: {}", reply.text);
        assert_eq!(reply.body["fields"][0]["field"], field, "{body}");
    }
    assert_eq!(app.count("interviews").await, 0, "nothing was invited");
}

async fn only_the_deals_manager_and_program_staff_may_invite(app: TestApp) {
    a_lost_deal(&app).await;
    let bob = app.manager_key("Bob Stone", "bob@acme.example").await;
    for path in [PREVIEW, SEND] {
        let theirs = app.post_as(&bob, path, &to_camille()).await;
        let mut missing_deal = to_camille();
        missing_deal["crm_id"] = json!("NO-SUCH-DEAL");
        let unknown = app.post_as(&bob, path, &missing_deal).await;
        assert_eq!((theirs.status, unknown.status), (403, 403), "{path}");
        assert_eq!(theirs.body, unknown.body, "nothing tells the two apart");
        assert!(!theirs.text.contains("Globex") && !theirs.text.contains("camille"));
    }
    for (role, status) in [
        (Role::Analyst, 403),
        (Role::Integration, 403),
        (Role::ProgramOwner, 200),
        (Role::Admin, 200),
    ] {
        let key = app.key_with_role(role).await;
        let reply = app.post_as(&key, PREVIEW, &to_camille()).await;
        assert_eq!(reply.status, status, "{role:?}");
    }
    // Program staff without a name of their own sign as the deal's manager.
    let owner = app.key_with_role(Role::ProgramOwner).await;
    let preview = app.post_as(&owner, PREVIEW, &to_camille()).await;
    assert_eq!(preview.body["reply_to"], "ana@acme.example");
    assert_eq!(app.count("interviews").await, 0);
}

both_backends!(
    a_manager_reads_then_sends_a_personal_invitation_signed_with_their_name,
    the_contact_policy_and_bad_fields_stop_it_and_say_why,
    only_the_deals_manager_and_program_staff_may_invite,
);
