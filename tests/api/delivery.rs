//! Email goes out through the outbox: refused addresses are not retried, passing failures
//! are, and nothing is sent twice.

use debrief_tests::{both_backends, lost_deal, TestApp};

async fn a_mailbox_that_does_not_exist_fails_once_and_for_all(app: TestApp) {
    app.smtp.reject_recipients(Some("550 5.1.1 no such user"));
    app.post_decision(&lost_deal("D-1")).await;
    let pass = app.deliver().await;
    assert_eq!(pass.dead, 1);
    assert_eq!(app.deliver().await, Default::default(), "not retried");

    let (status, last_error): (String, String) =
        sqlx::query_as("select status, last_error from outbox")
            .fetch_one(app.db.pool())
            .await
            .expect("job");
    assert_eq!(status, "dead");
    assert!(last_error.contains("no such user"), "{last_error}");
    let p = app.participation().await;
    assert_eq!(p.body["overall"]["invited"], 1);
    assert_eq!(p.body["overall"]["sent"], 0);
}

async fn a_temporary_failure_is_retried_and_then_delivered(mut app: TestApp) {
    app.smtp
        .reject_recipients(Some("451 4.3.0 try again later"));
    app.post_decision(&lost_deal("D-2")).await;
    assert_eq!(app.deliver().await.retried, 1);
    let (status, attempts): (String, i64) = sqlx::query_as("select status, attempts from outbox")
        .fetch_one(app.db.pool())
        .await
        .expect("job");
    assert_eq!((status.as_str(), attempts), ("pending", 1));

    app.smtp.reject_recipients(None);
    assert_eq!(app.deliver().await.sent, 1);
    let invitation = app.next_invitation().await;
    // The link minted for the successful attempt works.
    assert_eq!(app.get_survey(&invitation.token()).await.status, 200);
    assert_eq!(app.participation().await.body["overall"]["sent"], 1);
}

both_backends!(
    a_mailbox_that_does_not_exist_fails_once_and_for_all,
    a_temporary_failure_is_retried_and_then_delivered,
);
