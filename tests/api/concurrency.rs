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

/// The invitation's job, among the schedules (alert evaluation, digests) every app has.
const INVITATION_JOB: &str = "where kind not in ('alert_evaluation', 'digest_schedule')";

async fn a_worker_that_outran_its_lease_leaves_the_job_to_the_one_that_took_it_over(
    mut app: TestApp,
) {
    app.post_decision(&lost_deal("C-L")).await;
    // A relay so slow that the first worker's send outlasts its lease.
    app.smtp.slow_down(std::time::Duration::from_millis(1_500));
    let first = tokio::spawn({
        let worker = app.worker.clone();
        async move { worker.run_once().await.expect("pass") }
    });
    // Once the first worker holds the job, its lease runs out and a second instance
    // claims the job again.
    loop {
        let (owner,): (Option<String>,) =
            sqlx::query_as(&format!("select lease_owner from jobs {INVITATION_JOB}"))
                .fetch_one(app.db.pool())
                .await
                .expect("job");
        if owner.is_some() {
            break;
        }
        tokio::task::yield_now().await;
    }
    app.clock.advance(chrono::Duration::minutes(3));
    let second = app.second_worker().run_once().await.expect("pass");
    let first = first.await.expect("first worker");
    // Both sent (the documented at-least-once window), but only the job's current owner
    // recorded its send: one invitation sent, its job on to its first reminder.
    assert_eq!(first.sent + second.sent, 1, "{first:?} {second:?}");
    let (status, attempts, owner): (String, i64, Option<String>) = sqlx::query_as(&format!(
        "select status, attempts, lease_owner from jobs {INVITATION_JOB}"
    ))
    .fetch_one(app.db.pool())
    .await
    .expect("job");
    assert_eq!((status.as_str(), attempts, owner), ("pending", 0, None));
    assert_eq!(app.participation().await.body["overall"]["sent"], 1);
    // The two copies carry one Message-ID, so the buyer's mail server keeps one.
    let (a, b) = (app.next_invitation().await, app.next_invitation().await);
    assert_eq!(a.message_id, b.message_id);
    assert!(a.message_id.is_some());
}

/// Saves that arrive together are written together; each buyer is still told what
/// happened to their own answers, and only the valid ones are stored.
async fn buyers_saving_at_once_each_get_their_own_outcome(mut app: TestApp) {
    for i in 0..6 {
        let mut deal = lost_deal(&format!("G-{i}"));
        deal["contacts"][0]["email"] = json!(format!("buyer{i}@globex.example"));
        assert_eq!(app.post_decision(&deal).await.status, 201);
    }
    app.deliver().await;
    let mut tokens = Vec::new();
    for _ in 0..6 {
        tokens.push(app.next_invitation().await.token());
    }
    // The last buyer has finished already.
    let done = &tokens[5];
    assert_eq!(
        app.save_answers(
            done,
            json!([{ "question": "nps", "value": 10 }, { "question": "reasons", "value": ["price"] }])
        )
            .await
            .status,
        200
    );
    let completed = app
        .complete_survey(done, json!([{ "question": "consent", "value": true }]))
        .await;
    assert_eq!(completed.status, 201, "{}", completed.text);

    let nps = |n: i64| json!([{ "question": "nps", "value": n }]);
    let unknown = "A".repeat(43);
    let (a, b, c, d, again, invalid, late, nobody) = tokio::join!(
        app.save_answers(&tokens[0], nps(1)),
        app.save_answers(&tokens[1], nps(2)),
        app.save_answers(&tokens[2], nps(3)),
        // One buyer twice at once (a retry racing its original): both saved, one row.
        app.save_answers(&tokens[3], nps(4)),
        app.save_answers(&tokens[3], nps(4)),
        app.save_answers(&tokens[4], json!([{ "question": "nps", "value": "nine" }])),
        app.save_answers(done, nps(0)),
        app.save_answers(&unknown, nps(5)),
    );
    for (reply, n) in [(&a, 1), (&b, 2), (&c, 3), (&d, 4), (&again, 4)] {
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.body["answered"], json!(["nps"]));
        assert_eq!(reply.body["version"], 1);
        let document = app.survey_document(&tokens[n - 1]).await;
        assert_eq!(
            document.body["answers"],
            json!([{ "question": "nps", "value": n }]),
            "buyer {n}"
        );
    }
    assert_eq!(invalid.status, 422);
    assert_eq!(invalid.error_fields(), ["answers[0].value"]);
    assert_eq!(
        app.survey_document(&tokens[4]).await.body["answers"],
        json!([])
    );
    assert_eq!(late.status, 409, "{}", late.text);
    assert_eq!(nobody.status, 404);
    // The finished buyer's answer stands.
    let (score,): (Option<i64>,) = sqlx::query_as(
        "select number from response_items where question_id = 'nps' and number in (0, 10)",
    )
    .fetch_one(app.db.pool())
    .await
    .expect("the finished buyer's score");
    assert_eq!(score, Some(10));
    // Four buyers saved, one finished: five responses, one score each.
    assert_eq!(app.count("responses").await, 5);
    let scores: i64 = app
        .response_items()
        .await
        .iter()
        .filter(|(q, _, _)| q == "nps")
        .count() as i64;
    assert_eq!(scores, 5);
}

both_backends!(
    two_workers_on_one_database_send_each_email_exactly_once,
    two_simultaneous_answers_store_one,
    buyers_saving_at_once_each_get_their_own_outcome,
    a_worker_that_outran_its_lease_leaves_the_job_to_the_one_that_took_it_over,
);
