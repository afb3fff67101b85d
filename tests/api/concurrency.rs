//! Several instances share one database: every email goes out once, every buyer answers
//! once, however the requests and workers interleave.

use debrief_tests::{both_backends, lost_deal, TestApp};
use serde_json::json;

async fn two_workers_on_one_database_send_each_email_exactly_once(mut app: TestApp) {
    for i in 0..12 {
        let mut deal = lost_deal(&format!("C-{i}"));
        deal["contacts"][0]["email"] = json!(format!("buyer{i}@globex.example"));
        assert_eq!(app.post_decision(&deal).await.status, 201);
    }
    // A second instance's worker: same database, its own lease owner.
    let other = app.second_worker();
    let (a, b) = tokio::join!(app.worker.run_once(), other.run_once());
    let (a, b) = (a.expect("pass"), b.expect("pass"));
    let (more_a, more_b) = tokio::join!(app.worker.run_once(), other.run_once());
    let sent = a.sent + b.sent + more_a.expect("pass").sent + more_b.expect("pass").sent;
    assert_eq!(sent, 12);

    let mut recipients = Vec::new();
    for _ in 0..12 {
        recipients.extend(app.smtp.next_mail().await.to);
    }
    recipients.sort();
    recipients.dedup();
    assert_eq!(recipients.len(), 12, "every buyer got exactly one email");
    assert!(
        app.smtp.try_next_mail().is_none(),
        "and nobody got a second one"
    );
}

async fn two_simultaneous_answers_store_one(mut app: TestApp) {
    app.post_decision(&lost_deal("C-R")).await;
    let token = app.deliver_and_read_invitation().await.token();
    let (nine, two) = (json!({ "nps": 9 }), json!({ "nps": 2 }));
    let (first, second) = tokio::join!(
        app.post_response(&token, &nine),
        app.post_response(&token, &two)
    );
    let mut statuses = [first.status, second.status];
    statuses.sort();
    assert_eq!(statuses, [201, 409]);
    assert_eq!(app.count("responses").await, 1);
}

both_backends!(
    two_workers_on_one_database_send_each_email_exactly_once,
    two_simultaneous_answers_store_one,
);
