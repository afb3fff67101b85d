//! A CRM connector backfills its history: many decided deals in one request, planned in
//! order exactly as if they had been posted one by one.

use debrief_server::auth::Role;
use debrief_tests::{both_backends, lost_deal, spawn_app, Backend, TestApp};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// A program whose every rule has something to bite on in a backfill: a sampled volume
/// survey, a strategic segment with a quota and a budget, declined requests, cooldowns
/// and caps per account.
fn busy_program() -> Value {
    json!({
        "name": "Backfill",
        "contact_policy": { "person_cooldown_days": 90, "account_max_per_decision": 2 },
        "incentives": [
            { "key": "eur_50", "kind": "money", "amount": { "minor_units": 5000, "currency": "EUR" } }
        ],
        "budget": { "currency": "EUR", "per_period_minor": 60000, "when_spent": "hold" },
        "segments": [
            { "key": "strategic", "name": "Strategic", "method": "interview", "incentive": "eur_50",
              "contacts": "deciders", "max_contacts_per_deal": 2, "target_per_period": 10,
              "max_outcome_share": 0.7,
              "rules": [ { "attribute": "strategic", "is": true } ] },
            { "key": "declined", "name": "Declined", "method": "survey", "survey": "declined_request",
              "rules": [ { "attribute": "outcome", "any_of": ["declined"] } ] },
            { "key": "volume", "name": "Volume", "method": "survey", "sample_rate": 0.5,
              "rules": [ { "attribute": "amount", "currency": "EUR", "max": 2000000 } ] }
        ]
    })
}

/// The `n`th deal of a backfill: 25 accounts, buyers who recur across deals, every
/// outcome, and some deals no segment takes.
fn backfill_deal(n: usize) -> Value {
    let mut deal = lost_deal(&format!("B-{n}"));
    let outcomes = ["won", "lost", "no_decision", "declined"];
    deal["outcome"] = json!(outcomes[n % 4]);
    if n % 4 == 3 {
        deal["declined"] = json!({ "reason": "capacity" });
    }
    deal["strategic"] = json!(n.is_multiple_of(5));
    deal["amount"]["minor_units"] = json!(if n.is_multiple_of(7) {
        9_000_000
    } else {
        400_000 + n as i64
    });
    let decided = chrono::Utc::now() - chrono::Duration::hours(200 - (n as i64 % 150));
    deal["decided_at"] = json!(decided.to_rfc3339());
    deal["account"]["name"] = json!(format!("Account {}", n % 25));
    let roles = ["Decision maker", "Evaluator", "User"];
    deal["contacts"] = (0..3)
        .map(|c| {
            // Buyers recur: an account's deals draw on its five buyers.
            let person = (n / 25 + c) % 5;
            json!({ "name": format!("Buyer {person}"), "email": format!("buyer{person}@a{}.example", n % 25),
                    "role": roles[c], "locale": "en", "time_zone": "Europe/Berlin" })
        })
        .collect();
    deal
}

/// What planning made of a deal, as staff see it: segment, exclusion, who was invited
/// how, and who was left out why.
fn outcome_of(segment: &Value, excluded: &Value, invited: Vec<String>, left_out: &Value) -> Value {
    let mut invited = invited;
    invited.sort();
    let mut left: Vec<String> = left_out
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            format!(
                "{} {}",
                l["email"].as_str().unwrap_or(""),
                l["reason"].as_str().unwrap_or("")
            )
        })
        .collect();
    left.sort();
    json!({ "segment": segment, "excluded": excluded, "invited": invited, "left_out": left })
}

async fn import(app: &TestApp, key: &str, deals: &[Value]) -> debrief_tests::Reply {
    app.post_as(key, "/api/v1/decisions/import", &json!({ "deals": deals }))
        .await
}

async fn a_backfill_plans_exactly_as_posting_the_deals_one_by_one(backend: Backend) {
    let deals: Vec<Value> = (0..240).map(backfill_deal).collect();

    let one_by_one = spawn_app(backend).await;
    one_by_one.put_program(&busy_program()).await;
    let mut expected = BTreeMap::new();
    for deal in &deals {
        let reply = one_by_one.post_decision(deal).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        let invited = reply.body["invitations"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| {
                format!(
                    "{} {} {}",
                    i["contact_email"].as_str().unwrap_or(""),
                    i["kind"],
                    i["status"]
                )
            })
            .collect();
        expected.insert(
            deal["crm_id"].as_str().unwrap_or_default().to_owned(),
            outcome_of(
                &reply.body["segment"],
                &reply.body["excluded"],
                invited,
                &reply.body["left_out"],
            ),
        );
    }

    let imported = spawn_app(backend).await;
    imported.put_program(&busy_program()).await;
    let reply = import(&imported, &imported.api_key, &deals).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["deals"], 240);
    assert_eq!(reply.body["created"], 240);
    // The same invitations, read back from what was stored.
    let stored: Vec<(String, String, String, String)> = sqlx::query_as(
        "select d.crm_id, p.email, i.kind, i.status from invitations i
         join deals d on d.id = i.deal_id join persons p on p.id = i.person_id",
    )
    .fetch_all(imported.db.pool())
    .await
    .expect("invitations");
    let mut invited: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (crm_id, email, kind, status) in stored {
        invited
            .entry(crm_id)
            .or_default()
            .push(format!("{email} \"{kind}\" \"{status}\""));
    }
    let mut actual = BTreeMap::new();
    for result in reply.body["results"].as_array().into_iter().flatten() {
        let crm_id = result["crm_id"].as_str().unwrap_or_default().to_owned();
        let mine = invited.remove(&crm_id).unwrap_or_default();
        assert_eq!(result["invitations"], mine.len(), "{crm_id}");
        actual.insert(
            crm_id,
            outcome_of(
                &result["segment"],
                &result["excluded"],
                mine,
                &result["left_out"],
            ),
        );
    }
    assert_eq!(actual.len(), 240);
    for (crm_id, want) in &expected {
        assert_eq!(actual.get(crm_id), Some(want), "deal {crm_id}");
    }
    // Every rule had something to do, or the comparison proves little.
    let reasons = &reply.body["left_out"];
    for reason in [
        "sampled_out",
        "person_cooldown",
        "account_cap",
        "no_eligible_contact",
    ] {
        assert!(
            reasons[reason].as_u64().unwrap_or(0) > 0,
            "no {reason} in {reasons}"
        );
    }
    assert!(
        reply.body["held"].as_u64().unwrap_or(0) > 0,
        "the budget never ran out"
    );
    assert_eq!(
        one_by_one.count("jobs").await,
        imported.count("jobs").await,
        "the same emails, reminders and expiries are queued"
    );
    assert_eq!(
        one_by_one.count("incentives").await,
        imported.count("incentives").await
    );
}

async fn importing_the_same_deals_again_updates_them_and_invites_nobody_twice(app: TestApp) {
    app.put_program(&busy_program()).await;
    let deals: Vec<Value> = (0..40).map(backfill_deal).collect();
    let first = import(&app, &app.api_key, &deals).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let invitations = first.body["invitations"].as_u64().unwrap_or(0);
    assert!(invitations > 0);
    let jobs = app.count("jobs").await;

    let again = import(&app, &app.api_key, &deals).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(
        (
            again.body["created"].as_u64(),
            again.body["updated"].as_u64()
        ),
        (Some(0), Some(40))
    );
    assert_eq!(again.body["invitations"], 0);
    assert_eq!(app.count("invitations").await, invitations as i64);
    assert_eq!(app.count("jobs").await, jobs);
    assert_eq!(app.count("deals").await, 40);
    assert_eq!(app.count("persons").await, first_persons(&deals));
}

fn first_persons(deals: &[Value]) -> i64 {
    let emails: std::collections::BTreeSet<&str> = deals
        .iter()
        .flat_map(|d| d["contacts"].as_array().into_iter().flatten())
        .filter_map(|c| c["email"].as_str())
        .collect();
    emails.len() as i64
}

async fn a_faulty_import_names_each_fault_and_stores_nothing(app: TestApp) {
    let mut deals: Vec<Value> = (0..5).map(backfill_deal).collect();
    deals[2]["contacts"][1]["email"] = json!("not an address");
    deals[4]["crm_id"] = deals[1]["crm_id"].clone();
    let reply = import(&app, &app.api_key, &deals).await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    assert_eq!(
        reply.error_fields(),
        ["deals[2].contacts[1].email", "deals[4].crm_id"]
    );
    assert_eq!(app.count("deals").await, 0);

    let empty = import(&app, &app.api_key, &[]).await;
    assert_eq!(
        (empty.status, empty.error_fields()),
        (422, vec!["deals".to_owned()])
    );

    let too_many: Vec<Value> = (0..1_001).map(backfill_deal).collect();
    let reply = import(&app, &app.api_key, &too_many).await;
    assert_eq!(
        (reply.status, reply.error_fields()),
        (422, vec!["deals".to_owned()])
    );

    let huge = format!("{{\"deals\": [\"{}\"]}}", "x".repeat(5 * 1024 * 1024));
    let reply = app
        .http
        .post(format!("{}/api/v1/decisions/import", app.address))
        .bearer_auth(&app.api_key)
        .header("Content-Type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("request");
    assert_eq!(reply.status(), 413);
    assert_eq!(app.count("deals").await, 0);
}

async fn analysts_and_account_managers_cannot_import(app: TestApp) {
    let deals = vec![backfill_deal(1)];
    for (role, status) in [
        (Role::Integration, 200),
        (Role::Admin, 200),
        (Role::ProgramOwner, 200),
        (Role::Analyst, 403),
        (Role::AccountManager, 403),
    ] {
        let key = app.key_with_role(role).await;
        let reply = import(&app, &key, &deals).await;
        assert_eq!(reply.status, status, "{role:?}: {}", reply.text);
    }
    let reply = import(&app, "not-a-key", &deals).await;
    assert_eq!(reply.status, 401);
}

mod sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_backfill_plans_exactly_as_posting_the_deals_one_by_one() {
        super::a_backfill_plans_exactly_as_posting_the_deals_one_by_one(super::Backend::Sqlite)
            .await
    }
}

mod postgres {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_backfill_plans_exactly_as_posting_the_deals_one_by_one() {
        super::a_backfill_plans_exactly_as_posting_the_deals_one_by_one(super::Backend::Postgres)
            .await
    }
}

mod stories {
    use super::*;
    both_backends!(
        importing_the_same_deals_again_updates_them_and_invites_nobody_twice,
        a_faulty_import_names_each_fault_and_stores_nothing,
        analysts_and_account_managers_cannot_import,
    );
}
