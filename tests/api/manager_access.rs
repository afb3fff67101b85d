//! The full matrix of an account manager's access: every staff endpoint of the OpenAPI
//! document, called by the manager of the account its resource belongs to (Ana) and by
//! another manager (Bob). Ana may act where account managers may; Bob never gets through
//! to Ana's account, and never reads anything of it. A new staff endpoint fails this test
//! until its row is added.

use crate::interview_notes::{notes, two_booked_interviews};
use crate::program::win_loss_program;
use debrief_tests::{lost_deal, Backend, TestApp};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// `(method, path, body, Ana's status, Bob's status)`, paths as the document names them.
type Row = (&'static str, &'static str, Value, u16, u16);

fn matrix() -> Vec<Row> {
    let camille = json!({ "crm_id": "S-1", "email": "camille@globex.example" });
    let availability = json!({ "slot_minutes": 30, "weekly": [] });
    let suppression = json!({ "email": "someone@elsewhere.example" });
    let alert_rule = json!({
        "name": "NPS below zero", "metric": "nps", "window_months": 1,
        "comparison": { "against": "threshold", "below": 0 }, "min_sample": 5,
        "action": "Call the buyers.",
    });
    vec![
        // Everyone's data, not an account's: not for account managers at all.
        ("post", "/api/v1/decisions", lost_deal("S-9"), 403, 403),
        (
            "post",
            "/api/v1/decisions/import",
            json!({ "deals": [lost_deal("S-9")] }),
            403,
            403,
        ),
        ("get", "/api/v1/participation", Value::Null, 403, 403),
        ("get", "/api/v1/analytics/nps", Value::Null, 403, 403),
        ("get", "/api/v1/analytics/funnel", Value::Null, 403, 403),
        ("get", "/api/v1/alerts/rules", Value::Null, 403, 403),
        ("post", "/api/v1/alerts/rules", alert_rule.clone(), 403, 403),
        ("get", "/api/v1/alerts/rules/{id}", Value::Null, 403, 403),
        ("put", "/api/v1/alerts/rules/{id}", alert_rule, 403, 403),
        ("delete", "/api/v1/alerts/rules/{id}", Value::Null, 403, 403),
        ("get", "/api/v1/alerts/firings", Value::Null, 403, 403),
        (
            "post",
            "/api/v1/alerts/firings/{id}/acknowledge",
            Value::Null,
            403,
            403,
        ),
        (
            "post",
            "/api/v1/alerts/firings/{id}/snooze",
            json!({ "until": "2027-01-01T00:00:00Z" }),
            403,
            403,
        ),
        ("post", "/api/v1/alerts/evaluate", Value::Null, 403, 403),
        ("get", "/api/v1/digests/subscribers", Value::Null, 403, 403),
        (
            "post",
            "/api/v1/digests/subscribers",
            json!({ "email": "ana@acme.example", "department": "sales", "locale": "en" }),
            403,
            403,
        ),
        (
            "delete",
            "/api/v1/digests/subscribers/{id}",
            Value::Null,
            403,
            403,
        ),
        ("get", "/api/v1/digests/preview", Value::Null, 403, 403),
        ("post", "/api/v1/digests/send", json!({}), 403, 403),
        ("get", "/api/v1/reports/quarterly", Value::Null, 403, 403),
        ("get", "/api/v1/exports/responses", Value::Null, 403, 403),
        ("get", "/api/v1/exports/insights", Value::Null, 403, 403),
        (
            "get",
            "/api/v1/exports/participation",
            Value::Null,
            403,
            403,
        ),
        ("get", "/api/v1/analytics/drivers", Value::Null, 403, 403),
        (
            "get",
            "/api/v1/analytics/competitors",
            Value::Null,
            403,
            403,
        ),
        ("get", "/api/v1/analytics/verbatims", Value::Null, 403, 403),
        ("get", "/api/v1/analytics/declined", Value::Null, 403, 403),
        ("get", "/api/v1/program", Value::Null, 403, 403),
        ("put", "/api/v1/program", win_loss_program(), 403, 403),
        ("get", "/api/v1/program/versions", Value::Null, 403, 403),
        (
            "get",
            "/api/v1/program/versions/{version}",
            Value::Null,
            403,
            403,
        ),
        (
            "post",
            "/api/v1/program/preview",
            json!({ "program": win_loss_program() }),
            403,
            403,
        ),
        (
            "get",
            "/api/v1/program/surveys/{key}",
            Value::Null,
            403,
            403,
        ),
        ("put", "/api/v1/program/surveys/{key}", json!({}), 403, 403),
        (
            "get",
            "/api/v1/program/surveys/{key}/versions/{version}",
            Value::Null,
            403,
            403,
        ),
        (
            "post",
            "/api/v1/invitations/{id}/release",
            Value::Null,
            403,
            403,
        ),
        ("get", "/api/v1/suppressions", Value::Null, 403, 403),
        ("post", "/api/v1/suppressions", suppression, 403, 403),
        (
            "post",
            "/api/v1/suppressions/{id}/lift",
            json!({ "reason": "asked" }),
            403,
            403,
        ),
        ("get", "/api/v1/incentives", Value::Null, 403, 403),
        ("get", "/api/v1/incentives/payouts", Value::Null, 403, 403),
        ("post", "/api/v1/incentives/payouts", json!({}), 403, 403),
        (
            "post",
            "/api/v1/incentives/{id}/fulfil",
            json!({}),
            403,
            403,
        ),
        ("get", "/api/v1/jobs", Value::Null, 403, 403),
        ("post", "/api/v1/jobs/{id}/replay", Value::Null, 403, 403),
        (
            "put",
            "/api/v1/interview-guide",
            json!({ "stages": [] }),
            403,
            403,
        ),
        (
            "put",
            "/api/v1/interviewers/{id}/availability",
            availability,
            403,
            403,
        ),
        // Shared by every manager: who interviews, when, and the guide.
        ("get", "/api/v1/interviewers", Value::Null, 200, 200),
        (
            "get",
            "/api/v1/interviewers/{id}/availability",
            Value::Null,
            200,
            200,
        ),
        (
            "get",
            "/api/v1/interviewers/{id}/slots",
            Value::Null,
            200,
            200,
        ),
        ("get", "/api/v1/interview-guide", Value::Null, 200, 200),
        (
            "get",
            "/api/v1/interview-guide/versions/{version}",
            Value::Null,
            200,
            200,
        ),
        // Each manager's own accounts' funnel (Bob's holds none of Ana's: checked below).
        (
            "get",
            "/api/v1/participation/interviews",
            Value::Null,
            200,
            200,
        ),
        // Ana's account: hers, not Bob's. (Camille is invited already: Ana is let
        // through to the contact policy, which refuses a second invitation.)
        (
            "get",
            "/api/v1/deals/{crm_id}/interview-candidates",
            Value::Null,
            200,
            403,
        ),
        (
            "post",
            "/api/v1/interviews/invitations/preview",
            camille.clone(),
            409,
            403,
        ),
        ("post", "/api/v1/interviews/invitations", camille, 409, 403),
        (
            "get",
            "/api/v1/interviews/{id}/notes",
            Value::Null,
            200,
            403,
        ),
        // Noting and no-shows are the interviewer's (Ivy's) and program staff's.
        ("put", "/api/v1/interviews/{id}/notes", notes(), 403, 403),
        (
            "post",
            "/api/v1/interviews/{id}/no-show",
            Value::Null,
            403,
            403,
        ),
        // The taxonomy is no account's: every manager reads it. Coding is analysts' work.
        ("get", "/api/v1/insights/taxonomy", Value::Null, 200, 200),
        (
            "get",
            "/api/v1/insights/taxonomy/versions/{version}",
            Value::Null,
            200,
            200,
        ),
        (
            "post",
            "/api/v1/insights/taxonomy/changes",
            json!({ "changes": [{ "op": "retire", "driver": "demo" }] }),
            403,
            403,
        ),
        ("get", "/api/v1/insights/queue", Value::Null, 403, 403),
        (
            "post",
            "/api/v1/insights/reviews",
            json!({ "response_id": "r", "question_id": "q" }),
            403,
            403,
        ),
        ("get", "/api/v1/insights/agreement", Value::Null, 403, 403),
        (
            "get",
            "/api/v1/insights/lexicons/{locale}",
            Value::Null,
            403,
            403,
        ),
        (
            "put",
            "/api/v1/insights/lexicons/{locale}",
            json!({ "entries": [] }),
            403,
            403,
        ),
        (
            "post",
            "/api/v1/insights",
            json!({ "response_id": "r", "question_id": "q", "driver": "price",
                    "influence": -1, "excerpt": "x" }),
            403,
            403,
        ),
        ("delete", "/api/v1/insights/{id}", Value::Null, 403, 403),
        // Each manager reads the insights of their own accounts (checked below).
        ("get", "/api/v1/insights", Value::Null, 200, 200),
        // Ana moves Lee's interview to next Tuesday, then calls it off.
        (
            "post",
            "/api/v1/interviews/{id}/reschedule",
            json!({ "starts_at": "2026-12-08T14:00:00Z" }),
            200,
            403,
        ),
        (
            "post",
            "/api/v1/interviews/{id}/cancel",
            Value::Null,
            200,
            403,
        ),
    ]
}

/// Every operation of the document that takes a staff key.
async fn staff_operations(app: &TestApp) -> BTreeSet<(String, String)> {
    let doc: Value = reqwest::get(format!("{}/api/v1/openapi.json", app.address))
        .await
        .expect("document")
        .json()
        .await
        .expect("JSON");
    let mut operations = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            if operation["security"].is_array() {
                operations.insert((method.clone(), path.clone()));
            }
        }
    }
    operations
}

async fn one_id(app: &TestApp, sql: &str) -> String {
    let (id,): (String,) = sqlx::query_as(sql)
        .fetch_one(app.db.pool())
        .await
        .expect(sql);
    id
}

async fn call(app: &TestApp, key: &str, method: &str, path: &str, body: &Value) -> (u16, String) {
    let url = format!("{}{path}", app.address);
    let client = reqwest::Client::new();
    let request = match method {
        "get" => client.get(url),
        "put" => client.put(url),
        "delete" => client.delete(url),
        _ => client.post(url),
    }
    .bearer_auth(key);
    let request = if body.is_null() {
        request
    } else {
        request.json(body)
    };
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

async fn an_account_manager_reaches_their_own_accounts_and_nothing_of_anothers(backend: Backend) {
    let mut app = debrief_tests::spawn_app(backend).await;
    let (ivy, camille, lee) = two_booked_interviews(&mut app).await;
    // The day before the interviews: Lee's can still be moved and called off.
    app.set_clock("2026-11-30T12:00:00Z");
    let noted = format!("/api/v1/interviews/{camille}/notes");
    assert_eq!(app.put_as(&ivy, &noted, &notes(), None).await.status, 200);
    let suppressed = app
        .post_as(
            &app.api_key,
            "/api/v1/suppressions",
            &json!({ "email": "x@y.example" }),
        )
        .await;
    let suppression = suppressed.body["id"]
        .as_str()
        .expect("suppression id")
        .to_owned();
    let incentive = one_id(&app, "select id from incentives").await;
    // An analyst codes what Camille said in her interview.
    let coded = app
        .post_as(
            &app.api_key,
            "/api/v1/insights",
            &json!({
                "response_id": format!("interview-{camille}"),
                "question_id": "stage.pricing",
                "driver": "integration",
                "influence": -2,
                "excerpt": "the integration was the reason",
            }),
        )
        .await;
    assert_eq!(coded.status, 201, "{}", coded.body);
    let insight = coded.body["id"].as_str().expect("insight id").to_owned();
    let job = one_id(&app, "select id from jobs").await;
    let ivy_id = one_id(
        &app,
        "select id from staff where email = 'ivy@acme.example'",
    )
    .await;
    let ana = app.manager_key("Ana Duarte", "ana@acme.example").await;
    let bob = app.manager_key("Bob Stone", "bob@acme.example").await;

    let rows = matrix();
    let listed: BTreeSet<(String, String)> = rows
        .iter()
        .map(|(m, p, ..)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        listed,
        staff_operations(&app).await,
        "every staff endpoint has its row, and every row an endpoint"
    );
    for (method, template, body, for_ana, for_bob) in rows {
        let id = match template {
            p if p.starts_with("/api/v1/interviewers/") => ivy_id.as_str(),
            p if p.starts_with("/api/v1/suppressions/") => suppression.as_str(),
            p if p.starts_with("/api/v1/incentives/") => incentive.as_str(),
            p if p.starts_with("/api/v1/jobs/") => job.as_str(),
            p if p.starts_with("/api/v1/insights/") => insight.as_str(),
            p if p.ends_with("/cancel") || p.ends_with("/reschedule") => lee.as_str(),
            _ => camille.as_str(),
        };
        let version = if template.contains("interview-guide") || template.contains("taxonomy") {
            "0"
        } else {
            "1"
        };
        let path = template
            .replace("{id}", id)
            .replace("{crm_id}", "S-1")
            .replace("{key}", "win_loss")
            .replace("{locale}", "fr")
            .replace("{version}", version);
        // Bob first: his refusals must leave Ana's account as it was.
        let (status, text) = call(&app, &bob, method, &path, &body).await;
        assert_eq!(status, for_bob, "Bob {method} {path}: {text}");
        for secret in ["Globex", "camille@", "lee@", "Camille", "Prix"] {
            if for_bob == 403 {
                assert!(
                    !text.contains(secret),
                    "Bob {method} {path} reads {secret}: {text}"
                );
            }
        }
        let (status, text) = call(&app, &ana, method, &path, &body).await;
        assert_eq!(status, for_ana, "Ana {method} {path}: {text}");
    }
    // The funnel each sees: Ana her two interviews, Bob none of them.
    let funnel = |key: String| {
        let app = &app;
        async move {
            app.get_as(&key, "/api/v1/participation/interviews")
                .await
                .body["overall"]["invited"]
                .clone()
        }
    };
    assert_eq!(funnel(ana.clone()).await, 2);
    assert_eq!(funnel(bob.clone()).await, 0);
    // The insights each reads: Ana what Camille said, Bob nothing of it.
    let excerpts = |key: String| {
        let app = &app;
        async move {
            let page = app.get_as(&key, "/api/v1/insights").await;
            assert_eq!(page.status, 200, "{}", page.body);
            page.body["insights"]
                .as_array()
                .expect("insights")
                .iter()
                .map(|i| i["excerpt"].as_str().unwrap_or("").to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(excerpts(ana).await, ["the integration was the reason"]);
    assert!(excerpts(bob).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_an_account_manager_reaches_their_own_accounts_and_nothing_of_anothers() {
    an_account_manager_reaches_their_own_accounts_and_nothing_of_anothers(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_an_account_manager_reaches_their_own_accounts_and_nothing_of_anothers() {
    an_account_manager_reaches_their_own_accounts_and_nothing_of_anothers(Backend::Postgres).await
}
