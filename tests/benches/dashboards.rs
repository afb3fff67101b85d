//! Dashboard benchmark: every dashboard query at 10k, 100k and 1M responses, on SQLite and
//! (with DEBRIEF_TEST_PG_URL) PostgreSQL, beside the full scan the aggregates replace.
//!
//!     scripts/bench.sh dashboards
//!     DEBRIEF_BENCH_SIZES=10000,100000 scripts/bench.sh dashboards
//!     DEBRIEF_BENCH_BACKENDS=postgres scripts/bench.sh dashboards
//!
//! Each size is a fresh database filled by SQL (deals, buyers, invitations and complete
//! responses over 24 months, 5 segments, 4 outcomes, 6 competitors and none, 4 regions;
//! an NPS and 8 driver ratings each; one in a hundred with words an analyst coded), then
//! coded by the real coder, which builds the aggregates. Each query then runs 30 times
//! after a warm-up; the table gives its median and 95th percentile.

use chrono::Utc;
use debrief_server::analytics::drivers;
use debrief_server::analytics::filter::{Filter, Month};
use debrief_server::analytics::funnel::{self, FunnelBy};
use debrief_server::analytics::nps::{self, NpsBy};
use debrief_server::analytics::participation;
use debrief_server::insights::coding;
use debrief_server::insights::taxonomy;
use debrief_server::outreach::Outcome;
use debrief_server::platform::db::Db;
use debrief_server::surveys::definitions::Definitions;
use debrief_tests::{fresh_database, Backend};
use std::future::Future;
use std::time::Instant;

/// The built-in taxonomy's drivers, as the ratings name them.
fn driver_ids() -> Vec<String> {
    taxonomy::builtin()
        .drivers
        .into_iter()
        .map(|d| d.id)
        .collect()
}

/// `case ({expr}) when 0 then 'a' when 1 then 'b' … end`.
fn pick(expr: &str, values: &[&str]) -> String {
    let arms: String = values
        .iter()
        .enumerate()
        .map(|(i, v)| format!(" when {i} then {v}"))
        .collect();
    format!("case ({expr}){arms} end")
}

/// The statements that fill a database with `n` answered deals.
fn seed(n: usize) -> Vec<String> {
    let t = "'2026-11-01T00:00:00.000000Z'";
    let series = format!(
        "with recursive s(i) as (select 0 union all select i + 1 from s where i < {})",
        n - 1
    );
    let id = |prefix: &str| format!("'{prefix}' || cast(i as text)");
    let months: Vec<String> = (0..24)
        .map(|m| format!("'{}-{:02}'", 2025 + m / 12, m % 12 + 1))
        .collect();
    let months: Vec<&str> = months.iter().map(String::as_str).collect();
    // Every combination of the other attributes (lcm 420) falls in every month.
    let month = pick("(i / 420) % 24", &months);
    let outcome = pick(
        "i % 6",
        &[
            "'won'",
            "'lost'",
            "'lost'",
            "'no_decision'",
            "'won'",
            "'declined'",
        ],
    );
    let competitor = pick(
        "i % 7",
        &[
            "null",
            "'Northwind'",
            "'Initech'",
            "'Globex'",
            "'Umbrella'",
            "'Hooli'",
            "'Stark'",
        ],
    );
    let competitors = pick(
        "i % 7",
        &[
            "'[]'",
            "'[\"Northwind\"]'",
            "'[\"Initech\"]'",
            "'[\"Globex\"]'",
            "'[\"Umbrella\"]'",
            "'[\"Hooli\"]'",
            "'[\"Stark\"]'",
        ],
    );
    let region = pick("i % 4", &["'EMEA'", "'NA'", "'APAC'", "'LATAM'"]);
    let segment = "'segment_' || cast(i % 5 as text)";
    let decided = format!("{month} || '-15T10:00:00.000000Z'");
    let accounts = n.div_ceil(20);
    let mut statements = vec![
        format!(
            "with recursive s(i) as (select 0 union all select i + 1 from s where i < {})
             insert into accounts (id, key, name, created_at, updated_at, manager_email)
             select {}, {}, {}, {t}, {t}, 'manager' || cast(i % 40 as text) || '@acme.example'
             from s",
            accounts - 1,
            id("a"),
            id("crm:A"),
            id("Account ")
        ),
        format!(
            "{series} insert into deals (id, crm_id, account_id, outcome, decided_at,
                 amount_minor, currency, sales_cycle_days, competitors, region, persona,
                 product_line, account_name, account_manager_name, account_manager_email,
                 segment_key, program_version, created_at, updated_at)
             select {}, {}, 'a' || cast(i % {accounts} as text), {outcome}, {decided},
                 100000 * (i % 300), 'EUR', 30 + i % 200, {competitors}, {region},
                 {persona}, {line}, 'Account', 'Ana', 'ana@acme.example', {segment}, 1,
                 {t}, {t}
             from s",
            id("d"),
            id("CRM-"),
            persona = pick("i % 3", &["'CIO'", "'VP Sales'", "'CFO'"]),
            line = pick("i % 2", &["'Forecasting'", "'Planning'"]),
        ),
        format!(
            "{series} insert into persons (id, email, name, created_at, updated_at)
             select {}, 'buyer' || cast(i as text) || '@example.com', 'Buyer', {t}, {t} from s",
            id("p")
        ),
        format!(
            "{series} insert into contacts (id, deal_id, person_id, name, locale, time_zone,
                 created_at, updated_at)
             select {}, {}, {}, 'Buyer', 'en', 'Europe/Paris', {t}, {t} from s",
            id("c"),
            id("d"),
            id("p")
        ),
        format!(
            "{series} insert into invitations (id, deal_id, contact_id, person_id, account_id,
                 kind, status, segment_key, program_version, scheduled_for, sent_at, opened_at,
                 started_at, completed_at, created_at)
             select {}, {}, {}, {}, 'a' || cast(i % {accounts} as text),
                 case when i % 20 = 0 then 'interview' else 'survey' end, 'completed',
                 {segment}, 1, {t}, {t}, {t}, {t}, {t}, {t}
             from s",
            id("i"),
            id("d"),
            id("c"),
            id("p")
        ),
        format!(
            "{series} insert into responses (id, invitation_id, locale, submitted_at, outcome,
                 segment_key, competitor, region, persona, product_line, amount_band, period,
                 month, survey_key, survey_version, status, updated_at)
             select {}, {}, 'en', {t}, {outcome}, {segment}, {competitor}, {region}, 'CIO',
                 'Forecasting', '10k_to_50k', 'Q', {month},
                 case when i % 20 = 0 then 'interview' else 'win_loss' end,
                 case when i % 20 = 0 then 0 else 1 end, 'complete', {t}
             from s",
            id("r"),
            id("i")
        ),
        format!(
            "{series} insert into response_items (response_id, question_id, item, number, text)
             select {}, 'nps', '', (i * 7 + i / 3) % 11, null from s",
            id("r")
        ),
    ];
    let drivers = driver_ids();
    let quoted: Vec<String> = drivers.iter().map(|d| format!("'{d}'")).collect();
    let quoted: Vec<&str> = quoted.iter().map(String::as_str).collect();
    for k in 0..8 {
        statements.push(format!(
            "{series} insert into response_items (response_id, question_id, item, number, text)
             select {}, 'drivers', {}, ((i / 5 + {k}) % 5) - 2, null from s
             where i % 20 <> 0",
            id("r"),
            pick(&format!("(i + {}) % 22", k * 3), &quoted),
        ));
    }
    // One in a hundred said something an analyst coded.
    statements.push(format!(
        "{series} insert into response_items (response_id, question_id, item, number, text)
         select {}, 'anything_else', '', null, 'Verbatim ' || cast(i as text) || ' on pricing.'
         from s where i % 100 = 1",
        id("r")
    ));
    statements.push(format!(
        "{series} insert into insights (id, response_id, question_id, item, driver,
             taxonomy_version, influence, excerpt, competitor, source, suggested, coded_by,
             coded_at, outcome, segment_key, deal_competitor, region, persona, product_line,
             amount_band, period, month, method)
         select {}, {}, 'anything_else', '', {}, 0, (i % 5) - 2,
             'Verbatim ' || cast(i as text), null, 'analyst', 0, 'bench', {t}, {outcome},
             {segment}, {competitor}, {region}, 'CIO', 'Forecasting', '10k_to_50k', 'Q',
             {month}, 'survey'
         from s where i % 100 = 1",
        id("n"),
        id("r"),
        pick("i % 22", &quoted),
    ));
    statements
}

async fn fill(db: &Db, n: usize) -> (f64, f64, f64) {
    let start = Instant::now();
    let mut conn = db.pool().acquire().await.expect("connection");
    for sql in seed(n) {
        sqlx::query(&sql)
            .execute(&mut *conn)
            .await
            .unwrap_or_else(|e| panic!("{e}: {sql}"));
    }
    drop(conn);
    let filled = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let definitions = Definitions::default();
    definitions
        .ensure_builtin(db, Utc::now())
        .await
        .expect("built-in surveys");
    let coded = coding::catch_up(db, &definitions, Utc::now())
        .await
        .expect("coding");
    assert_eq!(coded, n, "every response coded");
    let coding = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let folded = funnel::catch_up(db).await.expect("funnel");
    assert_eq!(folded, n, "every invitation counted");
    let folding = start.elapsed().as_secs_f64();
    // A store filled in seconds has no planner statistics yet: autovacuum would gather
    // them within a minute on a live server. Gather them now, as it would have, so that
    // the queries are planned as they are in production (SQLite plans without them).
    if db.backend() == debrief_server::platform::db::Backend::Postgres {
        sqlx::query("analyze")
            .execute(db.pool())
            .await
            .expect("analyze");
    }
    (filled, coding, folding)
}

/// The funnel by outcome as `/api/v1/participation` read it before the aggregates: every
/// invitation scanned (the baseline; 440 ms at 400k invitations on the release build).
async fn scan_funnel_by_outcome(db: &Db) -> anyhow::Result<Vec<(String, i64, i64, i64)>> {
    Ok(sqlx::query_as(
        "select d.outcome, count(*), count(i.sent_at), count(i.completed_at)
         from invitations i join deals d on d.id = i.deal_id
         group by d.outcome",
    )
    .fetch_all(db.pool())
    .await?)
}

/// Median and 95th percentile of 30 runs after a warm-up, in milliseconds.
async fn time<F, Fut, T>(mut run: F) -> (f64, f64)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    run().await.expect("warm-up");
    let mut times = Vec::with_capacity(30);
    for _ in 0..30 {
        let start = Instant::now();
        run().await.expect("query");
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    (times[14], times[28])
}

/// NPS by segment as the aggregates answer it, the slow way: every response's score read.
async fn scan_nps_by_segment(db: &Db) -> anyhow::Result<Vec<(String, i64, i64)>> {
    Ok(sqlx::query_as(
        "select r.segment_key, s.number, count(*)
         from responses r
         join response_items s on s.response_id = r.id and s.question_id = 'nps' and s.item = ''
         where r.status = 'complete'
         group by r.segment_key, s.number",
    )
    .fetch_all(db.pool())
    .await?)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let sizes: Vec<usize> = std::env::var("DEBRIEF_BENCH_SIZES")
        .unwrap_or_else(|_| "10000,100000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    // DEBRIEF_BENCH_BACKENDS=postgres runs one of the two.
    let only = std::env::var("DEBRIEF_BENCH_BACKENDS").unwrap_or_default();
    let mut backends = Vec::new();
    if only.is_empty() || only.contains("sqlite") {
        backends.push(Backend::Sqlite);
    }
    if std::env::var("DEBRIEF_TEST_PG_URL").is_ok()
        && (only.is_empty() || only.contains("postgres"))
    {
        backends.push(Backend::Postgres);
    }
    let taxonomy = taxonomy::builtin();
    let last_year = Filter {
        from: Month::parse("2026-01"),
        to: Month::parse("2026-12"),
        ..Filter::default()
    };
    let lost_to_northwind = Filter {
        outcome: Some(Outcome::Lost),
        competitor: Some("Northwind".into()),
        ..Filter::default()
    };
    println!("| backend | responses | query | p50 ms | p95 ms |");
    println!("|---|---:|---|---:|---:|");
    for backend in &backends {
        for &n in &sizes {
            let (url, _dir) = fresh_database(*backend).await;
            let db = Db::connect(&url).await.expect("database");
            db.migrate().await.expect("migrations");
            let (filled, coded, folded) = fill(&db, n).await;
            eprintln!(
                "{backend:?} {n}: filled in {filled:.1} s, coded in {coded:.1} s ({:.0} responses/s), \
                 funnel folded in {folded:.1} s ({:.0} invitations/s)",
                n as f64 / coded,
                n as f64 / folded
            );
            let none = Filter::default();
            let mut rows: Vec<(&str, (f64, f64))> = Vec::new();
            rows.push((
                "NPS by segment, full scan (baseline)",
                time(|| scan_nps_by_segment(&db)).await,
            ));
            rows.push((
                "funnel by outcome, full scan (baseline)",
                time(|| scan_funnel_by_outcome(&db)).await,
            ));
            rows.push((
                "funnel by segment",
                time(|| funnel::funnel(&db, &none, FunnelBy::Segment, (0.25, 0.41))).await,
            ));
            rows.push((
                "funnel by account manager, 2026",
                time(|| funnel::funnel(&db, &last_year, FunnelBy::AccountManager, (0.25, 0.41)))
                    .await,
            ));
            rows.push((
                "participation (as /api/v1/participation)",
                time(|| participation::participation(&db)).await,
            ));
            rows.push((
                "NPS by segment",
                time(|| nps::nps(&db, &none, NpsBy::Segment)).await,
            ));
            rows.push((
                "NPS by month, 2026",
                time(|| nps::nps(&db, &last_year, NpsBy::Month)).await,
            ));
            rows.push((
                "NPS by quarter",
                time(|| nps::nps(&db, &none, NpsBy::Quarter)).await,
            ));
            rows.push((
                "NPS of losses to Northwind by region",
                time(|| nps::nps(&db, &lost_to_northwind, NpsBy::Region)).await,
            ));
            rows.push((
                "drivers, wins vs losses",
                time(|| drivers::drivers(&db, &none, &taxonomy)).await,
            ));
            rows.push((
                "drivers, 2026",
                time(|| drivers::drivers(&db, &last_year, &taxonomy)).await,
            ));
            rows.push((
                "competitors",
                time(|| drivers::competitors(&db, &none, &taxonomy)).await,
            ));
            rows.push((
                "top 3 verbatims per driver",
                time(|| drivers::verbatims(&db, &none, &taxonomy, None, 3)).await,
            ));
            rows.push((
                "declined requests",
                time(|| drivers::declined(&db, &none, &taxonomy)).await,
            ));
            for (query, (p50, p95)) in rows {
                println!("| {backend:?} | {n} | {query} | {p50:.2} | {p95:.2} |");
            }
        }
    }
}
