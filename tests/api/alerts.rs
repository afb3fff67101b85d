//! Alerts, as a program owner lives them: a rule on lost deals per competitor; two months
//! of answers in which the NPS of losses to one competitor drops 12 points; exactly one
//! alert, told to a receiver on loopback with a valid Standard Webhooks signature, retried
//! when the receiver is down for a moment, and never repeated for the same month; a
//! competitor with three answers, whatever they say, alerts no one.

use crate::analytics::{decide_and_answer, expected_nps, Answer};
use debrief_server::auth::Role;
use debrief_tests::receiver::Receiver;
use debrief_tests::{spawn_app, spawn_app_with, Backend, TestApp};
use serde_json::{json, Value};

/// Buyers who lost to `competitor`, answering `scores`.
fn losses<'a>(competitor: &'a str, scores: &[(i64, usize)]) -> Vec<Answer<'a>> {
    scores
        .iter()
        .flat_map(|(score, n)| std::iter::repeat_n(*score, *n))
        .map(|score| Answer {
            outcome: "lost",
            competitor: Some(competitor),
            score,
        })
        .collect()
}

pub fn rule(receiver: &str) -> Value {
    json!({
        "name": "Losses getting worse against a competitor",
        "metric": "nps", "outcome": "lost", "per": "competitor",
        "window_months": 1,
        "comparison": { "against": "previous_window", "change": -10, "unit": "points" },
        "min_sample": 5,
        "action": "Run a deeper satisfaction survey, find the points of dissatisfaction, act on them.",
        "owners": ["owner@acme.example"],
        "receivers": [{ "kind": "webhook", "url": receiver }],
    })
}

/// Standard Webhooks verification, written here from the specification: the signature
/// is the base64 HMAC-SHA256 of `id.timestamp.body` under the secret's decoded key.
pub fn verifies(secret: &str, id: &str, timestamp: &str, body: &str, signature: &str) -> bool {
    use base64::Engine;
    use hmac::Mac;
    let engine = base64::engine::general_purpose::STANDARD;
    let Some(key) = secret
        .strip_prefix("whsec_")
        .and_then(|k| engine.decode(k).ok())
    else {
        return false;
    };
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key) else {
        return false;
    };
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    let expected = format!("v1,{}", engine.encode(mac.finalize().into_bytes()));
    signature.split(' ').any(|s| s == expected)
}

async fn a_drop_of_12_points_against_one_competitor_fires_one_signed_alert(backend: Backend) {
    let mut app: TestApp =
        spawn_app_with(backend, &[("DEBRIEF_WEBHOOKS_ALLOW_PRIVATE", "true")]).await;
    let started = app.clock.now();
    app.put_program(&crate::analytics::quarter_program()).await;
    // The receiver is down for the first delivery.
    let receiver = Receiver::start(1).await;
    let owner = app.key_with_role(Role::ProgramOwner).await;
    let created = app
        .post_as(&owner, "/api/v1/alerts/rules", &rule(&receiver.url))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let secret = created.body["receivers"][0]["secret"]
        .as_str()
        .expect("the secret, shown once")
        .to_owned();
    // A rule on the whole slice, with no groups: losses' NPS below 30.
    let whole = json!({
        "name": "Losses below 30", "metric": "nps", "outcome": "lost", "window_months": 1,
        "comparison": { "against": "threshold", "below": 30 }, "min_sample": 5,
        "action": "Read the losses' answers.",
    });
    let whole = app.post_as(&owner, "/api/v1/alerts/rules", &whole).await;
    assert_eq!(whole.status, 201, "{}", whole.body);
    let listed = app.get_as(&owner, "/api/v1/alerts/rules").await;
    assert!(
        !listed.text.contains(&secret),
        "the secret is not shown again"
    );

    // October: 25 losses to Northwind (NPS 20), 25 to Initech (NPS 20), 3 to Globex.
    let october = chrono::NaiveDate::from_ymd_opt(2026, 10, 5).expect("day");
    let mut deals = losses("Northwind", &[(9, 10), (7, 10), (3, 5)]);
    deals.extend(losses("Initech", &[(9, 10), (7, 10), (3, 5)]));
    deals.extend(losses("Globex", &[(10, 3)]));
    decide_and_answer(&mut app, october, "oct", &deals).await;
    // November: Northwind's losses drop 12 points (to NPS 8); Initech's hold; Globex's
    // three buyers turn to detractors (−200 points, but three answers are noise).
    let november = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).expect("day");
    let mut deals = losses("Northwind", &[(9, 8), (7, 11), (3, 6)]);
    deals.extend(losses("Initech", &[(9, 10), (7, 10), (3, 5)]));
    deals.extend(losses("Globex", &[(2, 3)]));
    decide_and_answer(&mut app, november, "nov", &deals).await;
    let northwind_before = expected_nps(
        &[9; 10]
            .iter()
            .chain(&[7; 10])
            .chain(&[3; 5])
            .copied()
            .collect::<Vec<_>>(),
    );
    let northwind_after = expected_nps(
        &[9; 8]
            .iter()
            .chain(&[7; 11])
            .chain(&[3; 6])
            .copied()
            .collect::<Vec<_>>(),
    );
    assert_eq!((northwind_before, northwind_after), (Some(20.0), Some(8.0)));

    // The owner evaluates the rules on 20 November, as the hourly schedule would; the
    // delivery goes out through the outbox (and is retried).
    app.set_clock("2026-11-20T12:00:00Z");
    let evaluated = app
        .post_as(&owner, "/api/v1/alerts/evaluate", &Value::Null)
        .await;
    assert_eq!(evaluated.status, 200, "{}", evaluated.body);
    for _ in 0..3 {
        app.deliver().await;
    }
    let firings = app.get_as(&owner, "/api/v1/alerts/firings").await;
    assert_eq!(firings.status, 200, "{}", firings.body);
    let ours: Vec<&Value> = firings.body["firings"]
        .as_array()
        .expect("firings")
        .iter()
        .filter(|f| f["rule_id"] == created.body["id"])
        .collect();
    assert_eq!(ours.len(), 1, "exactly one alert: {ours:?}");
    let firing = ours[0];
    assert_eq!(firing["group_key"], "Northwind");
    assert_eq!(firing["window_key"], "2026-11..2026-11");
    assert_eq!(firing["value"].as_f64(), northwind_after);
    assert_eq!(firing["baseline"].as_f64(), northwind_before);
    assert_eq!(firing["sample"], 25);
    assert_eq!(firing["status"], "open");
    let below: Vec<&Value> = firings.body["firings"]
        .as_array()
        .expect("firings")
        .iter()
        .filter(|f| f["rule_id"] == whole.body["id"])
        .collect();
    assert_eq!(below.len(), 1, "{below:?}");
    assert_eq!(below[0]["group_key"], "");
    assert_eq!(below[0]["sample"], 53);

    // Told once to the receiver, after one refused attempt, with a valid signature.
    let received = receiver.received();
    assert_eq!(
        received.iter().map(|r| r.status).collect::<Vec<_>>(),
        [503, 200],
        "retried once"
    );
    for r in &received {
        assert_eq!(r.path, "/hooks/debrief");
        let header = |name: &str| r.headers.get(name).map(String::as_str).unwrap_or("");
        assert!(
            verifies(
                &secret,
                header("webhook-id"),
                header("webhook-timestamp"),
                &r.body,
                header("webhook-signature")
            ),
            "signature of {r:?}"
        );
        assert_eq!(
            header("webhook-id"),
            received[0].headers["webhook-id"],
            "one id across retries"
        );
        let ts: i64 = header("webhook-timestamp").parse().expect("unix seconds");
        assert_eq!(ts, app.clock.now().timestamp());
    }
    // A signature over another body does not verify.
    assert!(!verifies(
        &secret,
        &received[1].headers["webhook-id"],
        &received[1].headers["webhook-timestamp"],
        &received[1].body.replace("Northwind", "Initech"),
        &received[1].headers["webhook-signature"]
    ));
    let body: Value = serde_json::from_str(&received[1].body).expect("JSON");
    assert_eq!(body["type"], "alert.fired");
    assert_eq!(body["data"]["group"], "Northwind");
    assert!(
        body["data"]["action"]
            .as_str()
            .is_some_and(|a| a.starts_with("Run a deeper satisfaction survey")),
        "{body}"
    );

    // The owner is emailed too, with a Message-ID.
    let mail = app.smtp.next_mail().await;
    assert_eq!(mail.to, ["owner@acme.example"]);
    let parsed = mail_parser::MessageParser::default()
        .parse(&mail.data)
        .expect("a MIME message");
    assert!(parsed.message_id().is_some_and(|id| id.contains('@')));
    assert_eq!(
        parsed.subject(),
        Some("Alert: Losses getting worse against a competitor")
    );
    let text = parsed.body_text(0).expect("a text part");
    assert!(
        text.contains("NPS on lost deals against Northwind: 8.0"),
        "{text}"
    );
    assert!(text.contains("-12.0 points from 20.0"), "{text}");

    // The next evaluation finds the same drop: no second alert.
    app.set_clock("2026-11-20T14:00:00Z");
    let again = app
        .post_as(&owner, "/api/v1/alerts/evaluate", &Value::Null)
        .await;
    assert_eq!(
        again.body["fired"],
        json!([]),
        "deduplicated: {}",
        again.text
    );
    // The schedule: the evaluation job, due since the app started, runs and comes back an
    // hour later; whatever month it reads, nothing fires twice.
    let due = started + chrono::Duration::hours(2);
    app.set_clock(&due.to_rfc3339());
    for _ in 0..3 {
        app.deliver().await;
    }
    let (run_at,): (String,) =
        sqlx::query_as("select run_at from jobs where kind = 'alert_evaluation'")
            .fetch_one(app.db.pool())
            .await
            .expect("the evaluation job");
    let next: chrono::DateTime<chrono::Utc> = run_at.parse().expect("instant");
    assert_eq!(next, due + chrono::Duration::hours(1));
    assert_eq!(receiver.received().len(), 2, "told once");

    // Acknowledged, then snoozed past the month's end.
    let id = firing["id"].as_str().expect("id");
    let acked = app
        .post_as(
            &owner,
            &format!("/api/v1/alerts/firings/{id}/acknowledge"),
            &Value::Null,
        )
        .await;
    assert_eq!(acked.status, 200, "{}", acked.body);
    assert_eq!(acked.body["status"], "acknowledged");
    let snoozed = app
        .post_as(
            &owner,
            &format!("/api/v1/alerts/firings/{id}/snooze"),
            &json!({ "until": "2026-12-31T00:00:00Z" }),
        )
        .await;
    assert_eq!(snoozed.body["status"], "snoozed");
    let bad = app
        .post_as(
            &owner,
            &format!("/api/v1/alerts/firings/{id}/snooze"),
            &json!({ "until": "2020-01-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(bad.error_fields(), ["until"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_drop_of_12_points_against_one_competitor_fires_one_signed_alert() {
    a_drop_of_12_points_against_one_competitor_fires_one_signed_alert(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_drop_of_12_points_against_one_competitor_fires_one_signed_alert() {
    a_drop_of_12_points_against_one_competitor_fires_one_signed_alert(Backend::Postgres).await
}

async fn impossible_rules_and_private_receivers_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = app.key_with_role(Role::ProgramOwner).await;
    let before = app.count("alert_rules").await;
    let public = "https://hooks.example.com/debrief";
    let mut cases = Vec::new();
    for (edit, field) in [
        (json!({ "window_months": 0 }), "window_months"),
        (json!({ "window_months": 24 }), "window_months"),
        (
            json!({ "comparison": { "against": "previous_window", "change": -300, "unit": "points" } }),
            "comparison.change",
        ),
        (
            json!({ "comparison": { "against": "threshold", "below": -100 } }),
            "comparison.below",
        ),
        (json!({ "min_sample": 0 }), "min_sample"),
        (json!({ "metric": "driver_negative_share" }), "driver"),
        (
            json!({ "receivers": [{ "kind": "webhook", "url": "http://127.0.0.1:9/hook" }] }),
            "receivers[0].url",
        ),
        (
            json!({ "receivers": [{ "kind": "slack", "url": "http://10.0.0.7/hook" }] }),
            "receivers[0].url",
        ),
        (
            json!({ "receivers": [{ "kind": "teams", "url": "http://localhost/hook" }] }),
            "receivers[0].url",
        ),
        (
            json!({ "receivers": [{ "kind": "webhook", "url": public, "secret": "not-a-secret" }] }),
            "receivers[0].secret",
        ),
    ] {
        let mut body = rule(public);
        body["receivers"] = json!([]);
        for (k, v) in edit.as_object().expect("edit") {
            body[k] = v.clone();
        }
        cases.push((body, field));
    }
    for (body, field) in cases {
        let refused = app.post_as(&owner, "/api/v1/alerts/rules", &body).await;
        assert_eq!(refused.status, 422, "{body}: {}", refused.body);
        assert_eq!(refused.error_fields(), [field], "{body}");
    }
    assert_eq!(app.count("alert_rules").await, before, "nothing stored");
    // The three built-in rules are there from the start.
    let rules = app.get_as(&owner, "/api/v1/alerts/rules").await;
    let names: Vec<&str> = rules.body["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "NPS down 10 points",
            "Participation down 10%",
            "Losing more to a competitor"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_impossible_rules_and_private_receivers_are_refused() {
    impossible_rules_and_private_receivers_are_refused(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_impossible_rules_and_private_receivers_are_refused() {
    impossible_rules_and_private_receivers_are_refused(Backend::Postgres).await
}
