//! A program owner designs the win-loss program: segments pick who is asked and how, the
//! contact policy protects buyers, and the preview shows the effect before anything goes.

use debrief_tests::{both_backends, lost_deal, TestApp, PROGRAM_ACCESS};
use serde_json::{json, Value};

/// A program as a real team would start: strategic interviews, declined requests, and a
/// sampled volume survey.
pub fn win_loss_program() -> Value {
    json!({
        "name": "Win-loss FY27",
        "contact_policy": { "person_cooldown_days": 90, "account_max_per_decision": 3 },
        "incentives": [
            { "key": "eur_100", "kind": "money", "amount": { "minor_units": 10000, "currency": "EUR" } },
            { "key": "early_access", "kind": "early_access", "name": "the forecasting beta" }
        ],
        "segments": [
            { "key": "strategic", "name": "Strategic deals", "method": "interview", "incentive": "eur_100",
              "contacts": "deciders", "max_contacts_per_deal": 2,
              "rules": [ { "attribute": "strategic", "is": true },
                         { "attribute": "amount", "currency": "EUR", "min": 5000000 },
                         { "attribute": "competitor", "any_of": ["Northwind"] } ] },
            { "key": "declined", "name": "Declined requests", "method": "survey", "survey": "declined_request",
              "rules": [ { "attribute": "outcome", "any_of": ["declined"] } ] },
            { "key": "volume", "name": "Volume", "method": "survey", "sample_rate": 0.25,
              "incentive": "early_access",
              "rules": [ { "attribute": "amount", "currency": "EUR", "max": 2000000 } ] }
        ]
    })
}

fn small_win(crm_id: &str, email: &str) -> Value {
    let mut deal = lost_deal(crm_id);
    deal["outcome"] = json!("won");
    deal["strategic"] = json!(false);
    deal["amount"]["minor_units"] = json!(500_000);
    deal["account"]["name"] = json!(format!("Account of {crm_id}"));
    deal["contacts"][0]["email"] = json!(email);
    deal
}

async fn a_strategic_loss_gets_an_interview_with_100_eur_and_small_wins_are_sampled(
    mut app: TestApp,
) {
    app.put_program(&win_loss_program()).await;

    let mut strategic = lost_deal("S-1");
    strategic["amount"]["minor_units"] = json!(8_000_000);
    let reply = app.post_decision(&strategic).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.body["segment"], "strategic");
    assert_eq!(reply.body["method"], "interview");
    assert_eq!(reply.body["program_version"], 1);
    let invitation = &reply.body["invitations"][0];
    assert_eq!(
        (
            invitation["kind"].as_str(),
            invitation["incentive"].as_str()
        ),
        (Some("interview"), Some("eur_100"))
    );
    // The interview's own lifecycle starts with the invitation.
    let (status,): (String,) =
        sqlx::query_as("select status from interviews where invitation_id = $1")
            .bind(invitation["invitation_id"].as_str().expect("invitation id"))
            .fetch_one(app.db.pool())
            .await
            .expect("the interview");
    assert_eq!(status, "invited");

    assert_eq!(app.deliver().await.sent, 1);
    let mail = app.next_invitation().await;
    assert!(
        mail.subject.contains("30 minutes avec Ana Duarte"),
        "{}",
        mail.subject
    );
    assert!(
        mail.text.contains("une carte cadeau de 100 EUR"),
        "{}",
        mail.text
    );
    assert!(
        mail.score_links.is_empty(),
        "an interview invitation carries no survey"
    );
    assert_eq!(mail.reply_to.as_deref(), Some("ana@acme.example"));

    // A 5k EUR win lands in the volume segment. Over 2,000 such deals the preview draws
    // about a quarter, and the same deal always draws the same way.
    let one = app
        .post_decision(&small_win("W-1", "w1@initech.example"))
        .await;
    assert_eq!(one.body["segment"], "volume", "{}", one.text);
    let mut invited = 0;
    for batch in 0..40 {
        let deals: Vec<Value> = (0..50)
            .map(|i| {
                small_win(
                    &format!("W-{batch}-{i}"),
                    &format!("b{batch}-{i}@buyers.example"),
                )
            })
            .collect();
        let preview = app.preview(&json!({ "deals": deals })).await;
        assert_eq!(preview.status, 200, "{}", preview.text);
        assert_eq!(preview.body["segments"][2]["deals_matched"], 50);
        invited += preview.body["invitations"].as_u64().unwrap_or_default();
    }
    // Binomial(2000, 0.25): standard deviation 19.4; four of them either side.
    assert!(
        (423..=577).contains(&invited),
        "{invited} of 2000 sampled in"
    );
    assert_eq!(app.count("deals").await, 2, "a preview stores nothing");
}

async fn a_buyer_invited_ten_days_ago_is_skipped_and_a_fourth_contact_is_capped(app: TestApp) {
    app.put_program(&json!({
        "name": "Everyone",
        "segments": [{ "key": "all", "name": "All", "method": "survey" }]
    }))
    .await;
    app.post_decision(&lost_deal("C-1")).await;
    app.clock.advance(chrono::Duration::days(10));

    let mut next = lost_deal("C-2");
    next["decided_at"] = json!(app.clock.now().to_rfc3339());
    let contacts = next["contacts"].as_array_mut().expect("contacts");
    for (name, email) in [
        ("Ida", "ida@globex.example"),
        ("Jon", "jon@globex.example"),
        ("Kai", "kai@globex.example"),
        ("Lea", "lea@globex.example"),
    ] {
        contacts.push(
            json!({ "name": name, "email": email, "locale": "en", "time_zone": "Europe/Paris" }),
        );
    }
    let expected = json!([
        { "email": "camille@globex.example", "reason": "person_cooldown" },
        { "email": "lea@globex.example", "reason": "account_cap" }
    ]);
    let preview = app.preview(&json!({ "deals": [next.clone()] })).await;
    assert_eq!(
        preview.body["plans"][0]["left_out"], expected,
        "{}",
        preview.text
    );
    assert_eq!(preview.body["left_out"]["person_cooldown"], 1);
    assert_eq!(
        app.count("invitations").await,
        1,
        "the preview changed nothing"
    );

    let reply = app.post_decision(&next).await;
    assert_eq!(reply.body["left_out"], expected);
    let invited: Vec<&str> = reply.body["invitations"]
        .as_array()
        .expect("invitations")
        .iter()
        .filter_map(|i| i["contact_email"].as_str())
        .collect();
    assert_eq!(
        invited,
        [
            "ida@globex.example",
            "jon@globex.example",
            "kai@globex.example"
        ]
    );
}

async fn a_declined_request_gets_the_declined_request_survey(mut app: TestApp) {
    app.put_program(&win_loss_program()).await;
    let mut declined = lost_deal("D-1");
    declined["outcome"] = json!("declined");
    declined["declined"] = json!({ "reason": "capacity", "detail": "No trainer free before May." });
    declined["request_kind"] = json!("on-site training");
    let reply = app.post_decision(&declined).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.body["segment"], "declined");

    assert_eq!(app.deliver().await.sent, 1);
    let mail = app.next_invitation().await;
    assert!(
        mail.subject.contains("de quoi aviez-vous besoin"),
        "{}",
        mail.subject
    );
    assert!(mail.text.contains("(on-site training)"), "{}", mail.text);
    assert_eq!(mail.score_links.len(), 11);

    // Why we declined is only for declined deals.
    let mut won = lost_deal("D-2");
    won["declined"] = json!({ "reason": "price" });
    let refused = app.post_decision(&won).await;
    assert_eq!(refused.status, 422);
    assert_eq!(refused.error_fields(), ["declined"]);
}

async fn a_faulty_program_is_refused_with_the_path_of_each_fault_and_nothing_is_saved(
    app: TestApp,
) {
    let mut program = win_loss_program();
    program["segments"][0]["rules"][0] = json!({ "attribute": "mood", "is": true });
    program["segments"][0]["rules"][1]["min"] = json!(9_000_000);
    program["segments"][0]["rules"][1]["max"] = json!(1_000);
    program["segments"][2]["rules"][0]["currency"] = json!("XYZ");
    program["segments"][2]["sample_rate"] = json!(1.5);
    program["segments"][1]
        .as_object_mut()
        .expect("segment")
        .remove("method");
    program["segments"][1]["reminder_days"] = json!([3, 40]);
    // Expiring on day 5 leaves no room for the default reminder on day 7.
    program["segments"][0]["expires_after_days"] = json!(5);
    let reply = app
        .put_as(&app.api_key, "/api/v1/program", &program, None)
        .await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    assert_eq!(
        reply.error_fields(),
        [
            "segments[0].expires_after_days",
            "segments[0].rules[0].attribute",
            "segments[0].rules[1].max",
            "segments[1].method",
            "segments[1].reminder_days[1]",
            "segments[2].sample_rate",
            "segments[2].rules[0].currency",
        ]
    );
    let versions = app.get_as(&app.api_key, "/api/v1/program/versions").await;
    assert_eq!(versions.body["versions"], json!([]));
    // The built-in program still runs.
    let current = app.get_as(&app.api_key, "/api/v1/program").await;
    assert_eq!(current.body["version"], 0);
}

async fn two_owners_editing_at_once_never_leave_a_mixed_program(app: TestApp) {
    let base = app.get_as(&app.api_key, "/api/v1/program").await;
    assert_eq!(base.body["version"], 0);
    let mut a = win_loss_program();
    a["name"] = json!("Owner A");
    let mut b = win_loss_program();
    b["name"] = json!("Owner B");
    b["segments"].as_array_mut().expect("segments").truncate(1);
    let (ra, rb) = tokio::join!(
        app.put_as(&app.api_key, "/api/v1/program", &a, Some(0)),
        app.put_as(&app.api_key, "/api/v1/program", &b, Some(0)),
    );
    let mut statuses = [ra.status, rb.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{} / {}", ra.text, rb.text);
    let versions = app.get_as(&app.api_key, "/api/v1/program/versions").await;
    let stored = &versions.body["versions"];
    assert_eq!(stored.as_array().map(Vec::len), Some(1));
    let winner = if ra.status == 200 { &a } else { &b };
    assert_eq!(
        &stored[0]["definition"], winner,
        "one whole definition, not a mix"
    );
    assert_eq!(stored[0]["created_by"], "test admin");
}

async fn a_program_change_applies_to_deals_decided_after_it(app: TestApp) {
    let mut surveys = win_loss_program();
    surveys["segments"] = json!([{ "key": "all", "name": "All", "method": "survey" }]);
    app.put_program(&surveys).await;
    let before = lost_deal("V-1");
    app.clock.advance(chrono::Duration::hours(1));
    let mut interviews = surveys.clone();
    interviews["segments"][0]["method"] = json!("interview");
    interviews["contact_policy"] = json!({ "person_cooldown_days": 0 });
    app.put_program(&interviews).await;
    app.clock.advance(chrono::Duration::minutes(5));

    let old = app.post_decision(&before).await;
    assert_eq!(
        (
            old.body["program_version"].as_i64(),
            old.body["method"].as_str()
        ),
        (Some(1), Some("survey"))
    );
    let mut after = lost_deal("V-2");
    after["decided_at"] = json!(app.clock.now().to_rfc3339());
    after["contacts"][0]["email"] = json!("someone.else@globex.example");
    let new = app.post_decision(&after).await;
    assert_eq!(
        (
            new.body["program_version"].as_i64(),
            new.body["method"].as_str()
        ),
        (Some(2), Some("interview"))
    );
    let (version, segment): (i64, String) = sqlx::query_as(
        "select i.program_version, i.segment_key from invitations i join deals d on d.id = i.deal_id where d.crm_id = 'V-2'",
    )
    .fetch_one(app.db.pool())
    .await
    .expect("invitation");
    assert_eq!((version, segment.as_str()), (2, "all"));
}

async fn a_period_preview_replays_stored_deals_with_a_draft_and_warns_of_a_thin_pool(app: TestApp) {
    for n in 0..4 {
        let mut deal = lost_deal(&format!("P-{n}"));
        deal["amount"]["minor_units"] = json!(8_000_000);
        deal["account"]["name"] = json!(format!("Account {n}"));
        deal["contacts"][0]["email"] = json!(format!("buyer{n}@example.com"));
        app.post_decision(&deal).await;
    }
    let (deals, invitations, jobs) = (
        app.count("deals").await,
        app.count("invitations").await,
        app.count("jobs").await,
    );
    let today = app.clock.now().date_naive();
    let preview = app
        .preview(&json!({
            "program": win_loss_program(),
            "period": { "from": (today - chrono::Duration::days(7)).to_string(), "to": today.to_string() }
        }))
        .await;
    assert_eq!(preview.status, 200, "{}", preview.text);
    assert_eq!(preview.body["program_version"], Value::Null);
    assert_eq!(preview.body["deals"], 4);
    let strategic = &preview.body["segments"][0];
    assert_eq!(strategic["deals_matched"], 4);
    assert_eq!(strategic["incentives_offered"], 4);
    // Four deals for a target of ten completed interviews: far below three times it.
    assert_eq!(strategic["pool_warning"], true);
    assert_eq!(
        (
            app.count("deals").await,
            app.count("invitations").await,
            app.count("jobs").await
        ),
        (deals, invitations, jobs),
        "a preview changes nothing"
    );

    let bad = app
        .preview(&json!({ "period": { "from": "2026-12-01", "to": "2026-11-01" } }))
        .await;
    assert_eq!(
        (bad.status, bad.error_fields()),
        (422, vec!["period.to".to_owned()])
    );
    let neither = app.preview(&json!({})).await;
    assert_eq!(
        (neither.status, neither.error_fields()),
        (422, vec!["body".to_owned()])
    );
}

async fn only_owners_change_the_program_and_analysts_read_it(app: TestApp) {
    let body = json!({ "deals": [lost_deal("R-1")] });
    let first = app
        .put_as(&app.api_key, "/api/v1/program", &win_loss_program(), None)
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    for (role, read, write) in PROGRAM_ACCESS {
        let key = app.key_with_role(role).await;
        assert_eq!(
            app.get_as(&key, "/api/v1/program").await.status,
            read,
            "{role} reads"
        );
        assert_eq!(
            app.get_as(&key, "/api/v1/program/versions").await.status,
            read,
            "{role} lists"
        );
        assert_eq!(
            app.get_as(&key, "/api/v1/program/versions/1").await.status,
            read,
            "{role} reads an old version"
        );
        assert_eq!(
            app.post_as(&key, "/api/v1/program/preview", &body)
                .await
                .status,
            write,
            "{role} previews"
        );
        let put = app
            .put_as(&key, "/api/v1/program", &win_loss_program(), None)
            .await;
        assert_eq!(put.status, write, "{role} changes: {}", put.text);
    }
    assert_eq!(app.get_as("dbk_nope", "/api/v1/program").await.status, 401);
}

/// A deal of `account` decided now on the test clock, with one buyer per address.
fn deal_at(app: &TestApp, crm_id: &str, account: &str, buyers: &[&str]) -> Value {
    let mut deal = lost_deal(crm_id);
    deal["decided_at"] = json!(app.clock.now().to_rfc3339());
    deal["account"]["name"] = json!(account);
    deal["contacts"] = buyers
        .iter()
        .map(|email| json!({ "name": "Buyer", "email": email, "locale": "en", "time_zone": "Europe/Paris" }))
        .collect();
    deal
}

fn invited(reply: &debrief_tests::Reply) -> Vec<(String, String)> {
    reply.body["invitations"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|i| {
                    let email = i["contact_email"].as_str().unwrap_or_default().to_owned();
                    let incentive = i["incentive"].as_str().unwrap_or("none").to_owned();
                    (email, incentive)
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn an_account_rests_between_program_contacts_whoever_the_buyer(app: TestApp) {
    app.put_program(&json!({
        "name": "One contact a month per account",
        "contact_policy": { "account_cooldown_days": 30 },
        "segments": [{ "key": "all", "name": "All", "method": "survey" }]
    }))
    .await;
    let first = app
        .post_decision(&deal_at(
            &app,
            "AC-1",
            "Globex",
            &["camille@globex.example"],
        ))
        .await;
    assert_eq!(invited(&first).len(), 1, "{}", first.text);

    app.clock.advance(chrono::Duration::days(5));
    let soon = deal_at(&app, "AC-2", "Globex", &["ida@globex.example"]);
    let preview = app.preview(&json!({ "deals": [soon.clone()] })).await;
    assert_eq!(
        preview.body["plans"][0]["deal_excluded"], "account_cooldown",
        "{}",
        preview.text
    );
    let reply = app.post_decision(&soon).await;
    assert_eq!(reply.body["excluded"], "account_cooldown", "{}", reply.text);
    assert!(invited(&reply).is_empty());
    // Another company is not held back by Globex's rest.
    let other = app
        .post_decision(&deal_at(&app, "AC-3", "Initech", &["sam@initech.example"]))
        .await;
    assert_eq!(invited(&other).len(), 1, "{}", other.text);

    app.clock.advance(chrono::Duration::days(26));
    let later = app
        .post_decision(&deal_at(&app, "AC-4", "Globex", &["jon@globex.example"]))
        .await;
    assert_eq!(
        invited(&later),
        [("jon@globex.example".to_owned(), "none".to_owned())],
        "31 days on, Globex may be asked again: {}",
        later.text
    );
}

async fn a_spent_account_budget_leaves_other_accounts_their_incentive(app: TestApp) {
    app.put_program(&json!({
        "name": "100 EUR per account",
        "incentives": [{ "key": "eur_100", "kind": "money", "amount": { "minor_units": 10000, "currency": "EUR" } }],
        "budget": { "currency": "EUR", "per_account_minor": 10000, "when_spent": "send_without" },
        "segments": [{ "key": "all", "name": "All", "method": "survey", "incentive": "eur_100" }]
    }))
    .await;
    let globex = app
        .post_decision(&deal_at(
            &app,
            "AB-1",
            "Globex",
            &["camille@globex.example", "ida@globex.example"],
        ))
        .await;
    assert_eq!(
        invited(&globex),
        [
            ("camille@globex.example".to_owned(), "eur_100".to_owned()),
            ("ida@globex.example".to_owned(), "none".to_owned()),
        ],
        "{}",
        globex.text
    );
    let initech = app
        .post_decision(&deal_at(&app, "AB-2", "Initech", &["sam@initech.example"]))
        .await;
    assert_eq!(
        invited(&initech),
        [("sam@initech.example".to_owned(), "eur_100".to_owned())],
        "{}",
        initech.text
    );
}

both_backends!(
    a_strategic_loss_gets_an_interview_with_100_eur_and_small_wins_are_sampled,
    a_buyer_invited_ten_days_ago_is_skipped_and_a_fourth_contact_is_capped,
    a_declined_request_gets_the_declined_request_survey,
    a_faulty_program_is_refused_with_the_path_of_each_fault_and_nothing_is_saved,
    two_owners_editing_at_once_never_leave_a_mixed_program,
    a_program_change_applies_to_deals_decided_after_it,
    a_period_preview_replays_stored_deals_with_a_draft_and_warns_of_a_thin_pool,
    only_owners_change_the_program_and_analysts_read_it,
    an_account_rests_between_program_contacts_whoever_the_buyer,
    a_spent_account_budget_leaves_other_accounts_their_incentive,
);
