//! Email goes out through the outbox: refused addresses are not retried, passing failures
//! are, and nothing is sent twice.

use debrief_server::auth::Role;
use debrief_tests::mail::Invitation;
use debrief_tests::smtp::{free_port, SmtpServer};
use debrief_tests::{both_backends, lost_deal, spawn_app_with, Backend, TestApp};
use serde_json::json;

async fn a_mailbox_that_does_not_exist_bounces_and_is_never_emailed_again(mut app: TestApp) {
    app.smtp.reject_recipients(Some("550 5.1.1 no such user"));
    app.post_decision(&lost_deal("D-1")).await;
    let pass = app.deliver().await;
    assert_eq!(pass.dead, 1);
    assert_eq!(app.deliver().await, Default::default(), "not retried");

    let dead = app.dead_jobs().await;
    assert!(
        dead[0]["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("no such user"),
        "{dead:?}"
    );
    let p = app.participation().await;
    assert_eq!(p.body["overall"]["invited"], 1);
    assert_eq!(p.body["overall"]["sent"], 0);
    assert_eq!(p.body["overall"]["bounced"], 1);

    // The mailbox is suppressed: a later deal with the same buyer sends nothing, even
    // once the server would accept mail again.
    app.smtp.reject_recipients(None);
    let reply = app.post_decision(&lost_deal("D-1b")).await;
    assert_eq!(reply.body["invitations"], json!([]));
    assert_eq!(
        reply.body["left_out"],
        json!([{ "email": "camille@globex.example", "reason": "bounced" }])
    );
    assert_eq!(app.deliver().await.sent, 0);
    assert!(app.smtp.try_next_mail().is_none());
    let suppressions = app.get_as(&app.api_key, "/api/v1/suppressions").await;
    assert_eq!(
        suppressions.body["suppressions"][0]["source"],
        "hard_bounce"
    );
    assert!(suppressions.body["suppressions"][0]["note"]
        .as_str()
        .is_some_and(|n| n.contains("no such user")));
    // No reminder follows a bounce.
    app.clock.advance(chrono::Duration::days(7));
    assert_eq!(app.deliver().await.sent, 0);
    assert!(app.smtp.try_next_mail().is_none());
}

async fn a_temporary_failure_is_retried_and_then_delivered(mut app: TestApp) {
    app.smtp
        .reject_recipients(Some("451 4.3.0 try again later"));
    app.post_decision(&lost_deal("D-2")).await;
    assert_eq!(app.deliver().await.retried, 1);
    let (status, attempts): (String, i64) =
        sqlx::query_as("select status, attempts from jobs where kind = 'survey_invitation'")
            .fetch_one(app.db.pool())
            .await
            .expect("job");
    assert_eq!((status.as_str(), attempts), ("pending", 1));

    app.smtp.reject_recipients(None);
    assert_eq!(app.deliver().await.sent, 1);
    let invitation = app.next_invitation().await;
    let message_id = invitation.message_id.clone().expect("a Message-ID");
    assert!(message_id.ends_with("@debrief.localhost"), "{message_id}");
    // The link minted for the successful attempt works.
    assert_eq!(app.get_survey(&invitation.token()).await.status, 200);
    assert_eq!(app.participation().await.body["overall"]["sent"], 1);
}

async fn staff_see_a_dead_email_with_its_reason_and_replay_it(mut app: TestApp) {
    app.smtp
        .reject_recipients(Some("554 5.7.1 relay access denied"));
    app.post_decision(&lost_deal("D-3")).await;
    assert_eq!(app.deliver().await.dead, 1);

    let dead = app.dead_jobs().await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0]["kind"], "survey_invitation");
    assert!(
        dead[0]["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("relay access denied"),
        "{dead:?}"
    );

    // The relay is fixed; the program owner replays the email.
    app.smtp.reject_recipients(None);
    let id = dead[0]["id"].as_str().expect("id");
    let replayed = app
        .post_as(
            &app.api_key,
            &format!("/api/v1/jobs/{id}/replay"),
            &json!({}),
        )
        .await;
    assert_eq!(replayed.status, 200, "{}", replayed.text);
    assert_eq!(replayed.body["status"], "pending");
    assert!(app.dead_jobs().await.is_empty());
    assert_eq!(app.deliver().await.sent, 1);
    assert_eq!(app.next_invitation().await.to, ["camille@globex.example"]);

    // Replaying what is not dead is a 404 that changes nothing.
    let again = app
        .post_as(
            &app.api_key,
            &format!("/api/v1/jobs/{id}/replay"),
            &json!({}),
        )
        .await;
    assert_eq!(again.status, 404);
    assert_eq!(app.deliver().await.sent, 0);
}

async fn only_delivery_managers_see_and_replay_dead_letters(app: TestApp) {
    for role in [Role::Analyst, Role::AccountManager, Role::Integration] {
        let key = app.key_with_role(role).await;
        assert_eq!(app.get_as(&key, "/api/v1/jobs").await.status, 403, "{role}");
        let replay = app
            .post_as(&key, "/api/v1/jobs/anything/replay", &json!({}))
            .await;
        assert_eq!(replay.status, 403, "{role}");
    }
    let owner = app.key_with_role(Role::ProgramOwner).await;
    assert_eq!(app.get_as(&owner, "/api/v1/jobs").await.status, 200);
    assert_eq!(app.get_as("dbk_nope", "/api/v1/jobs").await.status, 401);

    let bad = app
        .get_as(&owner, "/api/v1/jobs?status=stuck&limit=0")
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert_eq!(bad.error_fields(), ["status"]);
    let bad = app.get_as(&owner, "/api/v1/jobs?limit=100000").await;
    assert_eq!(bad.error_fields(), ["limit"]);
}

/// The wire form of each part's body: its Content-Transfer-Encoding headers, in order.
fn transfer_encodings(data: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(data)
        .lines()
        .filter_map(|l| l.strip_prefix("Content-Transfer-Encoding: "))
        .map(|e| e.trim().to_ascii_lowercase())
        .collect()
}

/// The buyer's mail client shows the French text, accents and score links intact.
fn reads_in_french(mail: &debrief_tests::smtp::ReceivedMail) {
    let invitation = Invitation::parse(mail);
    assert!(
        invitation.text.contains("très probable"),
        "{}",
        invitation.text
    );
    assert!(invitation.html.contains("Très probable"));
    assert_eq!(invitation.score_links.len(), 11);
}

async fn a_french_invitation_goes_out_as_8bit_text_where_the_relay_takes_it(mut app: TestApp) {
    app.post_decision(&lost_deal("D-8BIT")).await;
    assert_eq!(app.deliver().await.sent, 1);
    let mail = app.smtp.next_mail().await;
    assert_eq!(transfer_encodings(&mail.data), ["8bit", "8bit"]);
    reads_in_french(&mail);
}

async fn a_relay_without_8bitmime_gets_the_french_invitation_encoded_and_it_reads_the_same(
    mut app: TestApp,
) {
    app.smtp.without_8bitmime();
    app.post_decision(&lost_deal("D-7BIT")).await;
    assert_eq!(app.deliver().await.sent, 1);
    let mail = app.smtp.next_mail().await;
    let encodings = transfer_encodings(&mail.data);
    assert_eq!(encodings.len(), 2);
    assert!(
        encodings
            .iter()
            .all(|e| e == "quoted-printable" || e == "base64"),
        "{encodings:?}"
    );
    assert!(mail.data.is_ascii(), "7-bit text only on the wire");
    reads_in_french(&mail);
}

both_backends!(
    a_french_invitation_goes_out_as_8bit_text_where_the_relay_takes_it,
    a_relay_without_8bitmime_gets_the_french_invitation_encoded_and_it_reads_the_same,
    a_mailbox_that_does_not_exist_bounces_and_is_never_emailed_again,
    a_temporary_failure_is_retried_and_then_delivered,
    staff_see_a_dead_email_with_its_reason_and_replay_it,
    only_delivery_managers_see_and_replay_dead_letters,
);

/// The mail server is down for a while, then comes up: every invitation arrives, once.
async fn an_smtp_outage_delays_mail_and_loses_none(backend: Backend) {
    let port = free_port();
    let app = spawn_app_with(backend, &[("DEBRIEF_SMTP_PORT", &port.to_string())]).await;
    for n in 0..20 {
        let mut deal = lost_deal(&format!("OUT-{n}"));
        deal["account"]["name"] = json!(format!("Account {n}"));
        deal["contacts"][0]["email"] = json!(format!("buyer{n}@example.com"));
        assert_eq!(app.post_decision(&deal).await.status, 201);
    }
    for _ in 0..3 {
        let pass = app.deliver().await;
        assert_eq!((pass.sent, pass.retried, pass.dead), (0, 20, 0));
        app.clock.advance(chrono::Duration::minutes(30));
    }

    let mut smtp = SmtpServer::start_on(port).await;
    let pass = app.deliver().await;
    assert_eq!((pass.sent, pass.retried), (20, 0));
    let mut ids = Vec::new();
    for _ in 0..20 {
        let mail = debrief_tests::mail::Invitation::parse(&smtp.next_mail().await);
        ids.push(mail.message_id.expect("a Message-ID"));
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 20, "twenty distinct emails");
    assert_eq!(app.deliver().await.sent, 0);
    assert!(smtp.try_next_mail().is_none(), "and none twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_an_smtp_outage_delays_mail_and_loses_none() {
    an_smtp_outage_delays_mail_and_loses_none(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_an_smtp_outage_delays_mail_and_loses_none() {
    an_smtp_outage_delays_mail_and_loses_none(Backend::Postgres).await;
}
