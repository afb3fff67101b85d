//! An upgrade keeps what the previous release stored: data written in the old schema is
//! carried forward (queued email, dead letters, buyers, accounts) and keeps working.

use debrief_server::platform::db::Db;
use debrief_tests::{fresh_database, spawn_app_with, Backend};

/// The first release's schema.
const FIRST_RELEASE: i64 = 20261122000001;

async fn an_email_queued_before_the_upgrade_goes_out_after_it(backend: Backend) {
    let (url, _dir) = fresh_database(backend).await;
    let old = Db::connect(&url).await.expect("connect");
    old.migrate_up_to(FIRST_RELEASE).await.expect("old schema");
    let t = "2026-11-20T10:00:00.000000Z";
    for sql in [
        format!("insert into deals (id, crm_id, outcome, decided_at, amount_minor, currency, sales_cycle_days,
                     competitors, strategic, account_name, account_manager_name, account_manager_email,
                     created_at, updated_at)
                 values ('deal-1', 'OLD-1', 'lost', '{t}', 100, 'EUR', 30, '[]', 0, 'Globex',
                         'Ana', 'ana@acme.example', '{t}', '{t}')"),
        format!("insert into contacts (id, deal_id, name, email, locale, time_zone, created_at, updated_at)
                 values ('contact-1', 'deal-1', 'Camille', 'camille@globex.example', 'fr', 'Europe/Paris', '{t}', '{t}'),
                        ('contact-2', 'deal-1', 'Sam', 'sam@globex.example', 'en', 'Europe/London', '{t}', '{t}'),
                        ('contact-3', 'deal-1', 'Lou', 'lou@globex.example', 'en', 'Europe/London', '{t}', '{t}')"),
        format!("insert into invitations (id, deal_id, contact_id, kind, status, scheduled_for, created_at)
                 values ('inv-1', 'deal-1', 'contact-1', 'survey', 'scheduled', '{t}', '{t}'),
                        ('inv-2', 'deal-1', 'contact-2', 'survey', 'failed', '{t}', '{t}')"),
        format!("insert into invitations (id, deal_id, contact_id, kind, status, scheduled_for, created_at,
                     sent_at, completed_at)
                 values ('inv-3', 'deal-1', 'contact-3', 'survey', 'completed', '{t}', '{t}', '{t}', '{t}')"),
        format!("insert into responses (id, invitation_id, nps, reason, locale, submitted_at)
                 values ('resp-1', 'inv-3', 10, 'Great fit', 'en', '{t}')"),
        format!("insert into outbox (id, kind, subject_id, status, attempts, next_attempt_at, created_at, last_error)
                 values ('job-1', 'survey_invitation', 'inv-1', 'pending', 2, '{t}', '{t}', '451 busy'),
                        ('job-2', 'survey_invitation', 'inv-2', 'dead', 8, '{t}', '{t}', '550 no such user')"),
    ] {
        sqlx::query(&sql).execute(old.pool()).await.expect("old data");
    }
    old.pool().close().await;

    let mut app = spawn_app_with(backend, &[("DEBRIEF_DATABASE_URL", &url)]).await;
    let pass = app.deliver().await;
    assert_eq!(pass.sent, 1, "the queued email goes out after the upgrade");
    let invitation = app.next_invitation().await;
    assert_eq!(invitation.to, ["camille@globex.example"]);
    assert_eq!(app.get_survey(&invitation.token()).await.status, 200);

    let dead = app.dead_jobs().await;
    assert_eq!(dead.len(), 1, "the dead email is still there to replay");
    assert_eq!(dead[0]["last_error"], "550 no such user");
    assert_eq!(dead[0]["attempts"], 8);
    let participation = app.participation().await;
    assert_eq!(participation.body["overall"]["invited"], 3);
    assert_eq!(participation.body["overall"]["sent"], 2);
    // An answer given before the upgrade: its items, and the deal it was about.
    let lost = &participation.body["by_outcome"]["lost"]["nps"];
    assert_eq!(
        (lost["sample_size"].as_u64(), lost["score"].as_f64()),
        (Some(1), Some(100.0))
    );
    let items = app.response_items().await;
    assert_eq!(
        items,
        [
            ("nps".to_owned(), Some(10), None),
            ("reason".to_owned(), None, Some("Great fit".to_owned()))
        ]
    );
    let (band, period): (String, String) =
        sqlx::query_as("select amount_band, period from responses")
            .fetch_one(app.db.pool())
            .await
            .expect("response");
    assert_eq!((band.as_str(), period.as_str()), ("under_10k", "2026-Q4"));

    // The buyers became persons and the company an account, managed by the manager its
    // deal named, which a new deal reuses and hands to its own manager.
    assert_eq!(app.count("persons").await, 3);
    assert_eq!(app.count("accounts").await, 1);
    assert_eq!(manager_of_globex(&app).await, "ana@acme.example");
    let mut deal = debrief_tests::lost_deal("NEW-1");
    deal["account"]["name"] = serde_json::json!("GLOBEX");
    deal["account"]["manager"]["email"] = serde_json::json!("Bob@Acme.example");
    deal["contacts"][0]["email"] = serde_json::json!("Sam@Globex.example");
    assert_eq!(app.post_decision(&deal).await.status, 201);
    assert_eq!(app.count("persons").await, 3, "Sam is the same person");
    assert_eq!(app.count("accounts").await, 1, "Globex is the same account");
    assert_eq!(manager_of_globex(&app).await, "bob@acme.example");
}

async fn manager_of_globex(app: &debrief_tests::TestApp) -> String {
    let (email,): (String,) = sqlx::query_as("select manager_email from accounts")
        .fetch_one(app.db.pool())
        .await
        .expect("account");
    email
}

const OLD_DECISION: &str = "2026-11-20T10:00:00.000000Z";

/// A database migrated up to `version`, as an earlier release left it.
async fn old_schema(backend: Backend, version: i64) -> (Db, tempfile::TempDir) {
    let (url, dir) = fresh_database(backend).await;
    let old = Db::connect(&url).await.expect("connect");
    old.migrate_up_to(version).await.expect("old schema");
    (old, dir)
}

/// Globex, managed by Ana, and its deal lost on [`OLD_DECISION`] (80,000 EUR, EMEA).
fn globex_lost_deal() -> Vec<String> {
    let t = OLD_DECISION;
    vec![
        format!("insert into accounts (id, key, name, created_at, updated_at, manager_email)
                 values ('acct-1', 'name:globex', 'Globex', '{t}', '{t}', 'ana@acme.example')"),
        format!("insert into deals (id, crm_id, account_id, outcome, decided_at, amount_minor, currency,
                     sales_cycle_days, account_name, account_manager_name, account_manager_email,
                     region, created_at, updated_at)
                 values ('deal-1', 'OLD-1', 'acct-1', 'lost', '{t}', 8000000, 'EUR', 30, 'Globex',
                         'Ana', 'ana@acme.example', 'EMEA', '{t}', '{t}')"),
    ]
}

/// The last schema before interviews had a lifecycle of their own.
const BEFORE_INTERVIEWS: i64 = 20261126000002;

async fn interviews_invited_before_the_upgrade_keep_where_they_stand(backend: Backend) {
    let (old, _dir) = old_schema(backend, BEFORE_INTERVIEWS).await;
    let t = OLD_DECISION;
    let mut statements = globex_lost_deal();
    // A buyer per status the old invitation could be in, and the survey one left alone.
    let cases = [
        ("sent", "interview", Some("invited")),
        ("completed", "interview", Some("completed")),
        ("opted_out", "interview", Some("declined")),
        ("expired", "interview", Some("expired")),
        ("sent", "survey", None),
    ];
    for (n, (status, kind, _)) in cases.iter().enumerate() {
        statements.push(format!(
            "insert into persons (id, email, name, created_at, updated_at)
             values ('person-{n}', 'buyer{n}@globex.example', 'Buyer {n}', '{t}', '{t}')"
        ));
        statements.push(format!(
            "insert into contacts (id, deal_id, person_id, name, locale, time_zone, created_at, updated_at)
             values ('contact-{n}', 'deal-1', 'person-{n}', 'Buyer {n}', 'en', 'Europe/London', '{t}', '{t}')"
        ));
        statements.push(format!(
            "insert into invitations (id, deal_id, contact_id, person_id, account_id, kind, status,
                 scheduled_for, created_at)
             values ('inv-{n}', 'deal-1', 'contact-{n}', 'person-{n}', 'acct-1', '{kind}', '{status}',
                     '{t}', '{t}')"
        ));
    }
    for sql in statements {
        sqlx::query(&sql)
            .execute(old.pool())
            .await
            .expect("old data");
    }
    old.migrate().await.expect("upgrade");
    for (n, (_, _, expected)) in cases.iter().enumerate() {
        let status: Option<(String,)> =
            sqlx::query_as("select status from interviews where invitation_id = $1")
                .bind(format!("inv-{n}"))
                .fetch_optional(old.pool())
                .await
                .expect("interview");
        assert_eq!(status.map(|(s,)| s).as_deref(), *expected, "inv-{n}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_interviews_invited_before_the_upgrade_keep_where_they_stand() {
    interviews_invited_before_the_upgrade_keep_where_they_stand(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_interviews_invited_before_the_upgrade_keep_where_they_stand() {
    interviews_invited_before_the_upgrade_keep_where_they_stand(Backend::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_an_email_queued_before_the_upgrade_goes_out_after_it() {
    an_email_queued_before_the_upgrade_goes_out_after_it(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_an_email_queued_before_the_upgrade_goes_out_after_it() {
    an_email_queued_before_the_upgrade_goes_out_after_it(Backend::Postgres).await
}

/// The last schema where an interview's notes had tables of their own.
const BEFORE_INTERVIEW_RESPONSES: i64 = 20261126000005;

async fn interviews_noted_before_the_upgrade_read_the_same_after_it(backend: Backend) {
    use debrief_server::interviews::notes::{self, Notes, StageNotes};
    let (old, _dir) = old_schema(backend, BEFORE_INTERVIEW_RESPONSES).await;
    let t = OLD_DECISION;
    let mut statements = globex_lost_deal();
    statements.extend([
        format!("insert into persons (id, email, name, created_at, updated_at)
                 values ('person-1', 'sam@globex.example', 'Sam', '{t}', '{t}')"),
        format!("insert into contacts (id, deal_id, person_id, name, locale, time_zone, created_at, updated_at)
                 values ('contact-1', 'deal-1', 'person-1', 'Sam', 'fr', 'Europe/Paris', '{t}', '{t}')"),
        format!("insert into invitations (id, deal_id, contact_id, person_id, account_id, kind, status,
                     scheduled_for, completed_at, created_at)
                 values ('inv-1', 'deal-1', 'contact-1', 'person-1', 'acct-1', 'interview',
                         'completed', '{t}', '{t}', '{t}')"),
        format!("insert into interviews (invitation_id, status, created_at, updated_at)
                 values ('inv-1', 'completed', '{t}', '{t}')"),
        format!("insert into interview_notes (invitation_id, guide_version, duration_minutes, nps,
                     noted_by, noted_at)
                 values ('inv-1', 0, 42, 6, 'Ivy', '{t}')"),
        "insert into interview_stage_notes (invitation_id, stage, notes)
         values ('inv-1', 'pricing', 'Price was the excuse.')"
            .to_owned(),
        "insert into interview_verbatims (id, invitation_id, stage, position, text)
         values ('q-2', 'inv-1', 'pricing', 1, 'Second quote'), ('q-1', 'inv-1', 'pricing', 0, 'First quote')"
            .to_owned(),
    ]);
    for sql in statements {
        sqlx::query(&sql)
            .execute(old.pool())
            .await
            .expect("old data");
    }
    old.migrate().await.expect("upgrade");
    let read = notes::read(&old, "inv-1").await.expect("read");
    assert_eq!(
        read,
        Some(Notes {
            guide_version: 0,
            duration_minutes: 42,
            nps: Some(6),
            stages: vec![StageNotes {
                stage: "pricing".into(),
                notes: "Price was the excuse.".into(),
                verbatims: vec!["First quote".into(), "Second quote".into()],
            }],
        })
    );
    // The notes are now the interview's response, with the deal frozen as for a survey.
    let (outcome, region, locale, month, band): (String, String, String, String, String) =
        sqlx::query_as(
            "select outcome, region, locale, month, amount_band from responses
             where invitation_id = 'inv-1'",
        )
        .fetch_one(old.pool())
        .await
        .expect("response");
    assert_eq!(
        (outcome.as_str(), region.as_str(), locale.as_str()),
        ("lost", "EMEA", "fr")
    );
    assert_eq!((month.as_str(), band.as_str()), ("2026-11", "50k_to_250k"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_interviews_noted_before_the_upgrade_read_the_same_after_it() {
    interviews_noted_before_the_upgrade_read_the_same_after_it(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_interviews_noted_before_the_upgrade_read_the_same_after_it() {
    interviews_noted_before_the_upgrade_read_the_same_after_it(Backend::Postgres).await
}

/// The last schema before the aggregates were sliced by region and product line.
const BEFORE_SLICES: i64 = 20261130000001;

/// Rebuilt from what they count, the sliced aggregates hold what the coder and the
/// folder would have written: the same as a full recount, and every invitation's steps
/// under its region and product line. The words of coded responses wait in the
/// analysts' queue.
async fn answers_coded_before_the_upgrade_are_counted_by_region_and_product_line(backend: Backend) {
    use debrief_server::analytics::rollups;
    let (url, _dir) = fresh_database(backend).await;
    let old = Db::connect(&url).await.expect("connect");
    old.migrate_up_to(BEFORE_SLICES).await.expect("old schema");
    let t = OLD_DECISION;
    let mut statements = globex_lost_deal();
    statements.push("update deals set product_line = 'Planning'".to_owned());
    statements.push(format!(
        "insert into deals (id, crm_id, account_id, outcome, decided_at, amount_minor, currency,
             sales_cycle_days, account_name, account_manager_name, account_manager_email,
             region, product_line, created_at, updated_at)
         values ('deal-2', 'OLD-2', 'acct-1', 'won', '{t}', 100000, 'EUR', 30, 'Globex', 'Ana',
                 'ana@acme.example', 'NA', 'Forecasting', '{t}', '{t}')"
    ));
    // Five buyers: (deal, outcome, region, product line, NPS, coded, the steps counted
    // as bits: 64 invited, 1 sent, 2 opened, 4 started, 8 completed).
    let buyers = [
        ("deal-1", "lost", "EMEA", "Planning", 3, true, 79),
        ("deal-2", "won", "NA", "Forecasting", 10, true, 79),
        ("deal-1", "lost", "EMEA", "Planning", 7, true, 79),
        ("deal-2", "won", "NA", "Forecasting", 8, true, 67),
        ("deal-2", "won", "NA", "Forecasting", 9, false, 65),
    ];
    for (i, (deal, outcome, region, line, nps, coded, steps)) in buyers.into_iter().enumerate() {
        let coded_at = if coded {
            format!("'{t}'")
        } else {
            "null".into()
        };
        statements.extend([
            format!("insert into persons (id, email, name, created_at, updated_at)
                     values ('p{i}', 'b{i}@globex.example', 'B', '{t}', '{t}')"),
            format!("insert into contacts (id, deal_id, person_id, name, locale, time_zone, created_at, updated_at)
                     values ('c{i}', '{deal}', 'p{i}', 'B', 'en', 'Europe/Paris', '{t}', '{t}')"),
            format!("insert into invitations (id, deal_id, contact_id, person_id, account_id, kind,
                         status, segment_key, scheduled_for, created_at, funnel_dirty,
                         funnel_counted, frozen_outcome, frozen_month, frozen_manager)
                     values ('i{i}', '{deal}', 'c{i}', 'p{i}', 'acct-1', 'survey', 'completed',
                             'enterprise', '{t}', '{t}', 0, {steps}, '{outcome}', '2026-11',
                             'ana@acme.example')"),
            format!("insert into responses (id, invitation_id, locale, submitted_at, outcome,
                         segment_key, competitor, region, persona, product_line, amount_band,
                         period, month, survey_key, survey_version, status, updated_at, coded_at)
                     values ('r{i}', 'i{i}', 'en', '{t}', '{outcome}', 'enterprise', 'Northwind',
                             '{region}', 'CIO', '{line}', '10k_to_50k', '2026-Q4', '2026-11',
                             'win_loss', 1, 'complete', '{t}', {coded_at})"),
            format!("insert into response_items (response_id, question_id, item, number, text)
                     values ('r{i}', 'nps', '', {nps}, null)"),
        ]);
    }
    // Words from a coded response wait for an analyst; those of the one not coded yet
    // will when the coder claims it.
    for response in ["r1", "r4"] {
        statements.push(format!(
            "insert into response_items (response_id, question_id, item, number, text)
             values ('{response}', 'anything_else', '', null, 'The demo won us over.')"
        ));
    }
    // Price alone against us in the first loss; price and the demo in the second.
    for (id, response, driver, influence) in [
        ("n1", "r0", "price", -2),
        ("n2", "r0", "support", 1),
        ("n3", "r2", "price", -1),
        ("n4", "r2", "demo", -2),
        ("n5", "r1", "demo", 2),
    ] {
        statements.push(format!(
            "insert into insights (id, response_id, question_id, item, driver, taxonomy_version,
                 influence, source, suggested, coded_by, coded_at, outcome, month, method)
             values ('{id}', '{response}', 'drivers', '{driver}', '{driver}', 0, {influence},
                     'matrix', 0, 'coder', '{t}', 'lost', '2026-11', 'survey')"
        ));
    }
    for sql in statements {
        sqlx::query(&sql)
            .execute(old.pool())
            .await
            .unwrap_or_else(|e| panic!("{e}: {sql}"));
    }
    old.migrate().await.expect("upgrade");
    // The server as it starts after the upgrade: connections opened on the new schema
    // (SQLite connections that read the old one keep its column counts for `select *`).
    let old = Db::connect(&url).await.expect("reconnect");

    let stored = rollups::stored(&old).await.expect("stored");
    assert_ne!(stored, rollups::Deltas::default());
    assert_eq!(stored, rollups::recount(&old).await.expect("recount"));
    let read = |sql: &'static str| {
        let db = old.clone();
        async move {
            let (n,): (i64,) = sqlx::query_as(sql).fetch_one(db.pool()).await.expect(sql);
            n
        }
    };
    // Five buyers invited; two of the three who completed in EMEA, Planning; two in NA
    // opened.
    assert_eq!(
        read(
            "select cast(sum(invited) as bigint) from funnel_rollup
              where segment_key = '*' and region = '*' and product_line = '*'"
        )
        .await,
        5
    );
    assert_eq!(
        read(
            "select cast(sum(completed) as bigint) from funnel_rollup
              where segment_key = '*' and region = 'EMEA' and product_line = 'Planning'"
        )
        .await,
        2
    );
    assert_eq!(
        read(
            "select cast(sum(opened) as bigint) from funnel_rollup
              where segment_key = 'enterprise' and region = 'NA' and product_line = '*'"
        )
        .await,
        2
    );
    let queued: Vec<(String,)> = sqlx::query_as("select response_id from coding_queue")
        .fetch_all(old.pool())
        .await
        .expect("queue");
    assert_eq!(queued, [("r1".to_owned(),)]);
    let values: Vec<(String, String)> =
        sqlx::query_as("select dimension, value from slice_values order by dimension, value")
            .fetch_all(old.pool())
            .await
            .expect("values");
    let values: Vec<(&str, &str)> = values
        .iter()
        .map(|(d, v)| (d.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        values,
        [
            ("product_line", "Forecasting"),
            ("product_line", "Planning"),
            ("region", "EMEA"),
            ("region", "NA"),
            ("segment_key", "enterprise"),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_answers_coded_before_the_upgrade_are_counted_by_region_and_product_line() {
    answers_coded_before_the_upgrade_are_counted_by_region_and_product_line(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_answers_coded_before_the_upgrade_are_counted_by_region_and_product_line() {
    answers_coded_before_the_upgrade_are_counted_by_region_and_product_line(Backend::Postgres).await
}
