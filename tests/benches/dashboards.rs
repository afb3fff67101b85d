//! Dashboard benchmark: every dashboard query at 10k, 100k and 1M responses, on SQLite and
//! (with DEBRIEF_TEST_PG_URL) PostgreSQL, beside the full scan the aggregates replace.
//!
//!     scripts/bench.sh dashboards
//!     DEBRIEF_BENCH_SIZES=10000,100000 scripts/bench.sh dashboards
//!     DEBRIEF_BENCH_BACKENDS=postgres scripts/bench.sh dashboards
//!
//! Each size is a fresh database filled by SQL (deals, buyers, invitations and complete
//! responses over 24 months, 5 segments, 4 outcomes, 6 competitors and none, 4 regions,
//! 3 product lines;
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

async fn fill(db: &Db, n: usize) -> (f64, f64, f64) {
    let start = Instant::now();
    debrief_tests::seed::fill(db, n).await;
    let filled = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let definitions = Definitions::default();
    definitions
        .ensure_builtin(db, Utc::now())
        .await
        .expect("built-in surveys");
    // The coder updates the same aggregate rows again and again, and PostgreSQL keeps
    // each old version until a vacuum: autovacuum clears them on a server that runs it,
    // but this machine's cluster runs with autovacuum off, where a million responses
    // left 1.4 million dead rows behind 74,000 live ones and the coding crawled. Vacuum
    // the aggregates every half minute while coding, as autovacuum would.
    let vacuum = (db.backend() == debrief_server::platform::db::Backend::Postgres).then(|| {
        let db = db.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                let _ = sqlx::query(
                    "vacuum driver_rollup, coded_rollup, nps_rollup, declined_rollup,
                            unmet_need_rollup, slice_values, responses",
                )
                .execute(db.pool())
                .await;
            }
        })
    });
    let coded = coding::catch_up(db, &definitions, Utc::now())
        .await
        .expect("coding");
    if let Some(vacuum) = vacuum {
        vacuum.abort();
    }
    assert_eq!(coded, n, "every response coded");
    let coding = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let folded = funnel::catch_up(db).await.expect("funnel");
    assert_eq!(folded, n, "every invitation counted");
    let folding = start.elapsed().as_secs_f64();
    // A store filled in seconds has no planner statistics yet, and its aggregates carry
    // one dead row version per update the coder made: autovacuum would gather the one and
    // clear the other within a minute on a live server. Do it now, as it would have, so
    // that the queries are planned and read as in production (SQLite has neither).
    if db.backend() == debrief_server::platform::db::Backend::Postgres {
        sqlx::query("vacuum analyze")
            .execute(db.pool())
            .await
            .expect("vacuum analyze");
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
    let emea = Filter {
        region: Some("EMEA".into()),
        ..Filter::default()
    };
    let emea_planning = Filter {
        region: Some("EMEA".into()),
        product_line: Some("Planning".into()),
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
                "NPS by segment, EMEA, Planning",
                time(|| nps::nps(&db, &emea_planning, NpsBy::Segment)).await,
            ));
            rows.push((
                "drivers, EMEA, Planning",
                time(|| drivers::drivers(&db, &emea_planning, &taxonomy)).await,
            ));
            rows.push((
                "funnel by segment, EMEA",
                time(|| funnel::funnel(&db, &emea, FunnelBy::Segment, (0.25, 0.41))).await,
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
            rows.extend(pages(*backend, &url).await);
            for (query, (p50, p95)) in rows {
                println!("| {backend:?} | {n} | {query} | {p50:.2} | {p95:.2} |");
            }
        }
    }
}

/// The console's pages over the filled store, each asked 30 times after a warm-up by a
/// signed-in member, as a browser would over loopback: the time includes HTTP and the
/// rendering, an upper bound of the server's.
async fn pages(backend: Backend, url: &str) -> Vec<(&'static str, (f64, f64))> {
    use debrief_server::auth::Role;
    use debrief_tests::console::{signed_in, Visitor};
    let app = debrief_tests::spawn_app_with(backend, &[("DEBRIEF_DATABASE_URL", url)]).await;
    // The seed's five segments, so that the program pages have something to show.
    let segments: Vec<serde_json::Value> = (0..5)
        .map(|i| serde_json::json!({ "key": format!("segment_{i}"), "name": format!("Segment {i}"), "method": "survey" }))
        .collect();
    let program = app
        .put_program(&serde_json::json!({ "name": "Win-loss", "segments": segments }))
        .await;
    assert!(program.status < 300, "{}", program.text);
    let mut owner = signed_in(&app, Role::ProgramOwner, "Olga", "olga@acme.example").await;
    let mut analyst = signed_in(&app, Role::Analyst, "Ann", "ann@acme.example").await;
    // One of the seed's forty managers: a fortieth of the accounts.
    let mut manager = signed_in(
        &app,
        Role::AccountManager,
        "Manager",
        "manager0@acme.example",
    )
    .await;
    let mut admin = signed_in(&app, Role::Admin, "Ada", "ada@acme.example").await;
    // As `time`, which cannot lend the visitor (and its cookies) to each run.
    async fn page(visitor: &mut Visitor, path: &str) -> (f64, f64) {
        let mut times = Vec::with_capacity(30);
        for run in 0..31 {
            let start = Instant::now();
            let page = visitor.get(path).await;
            assert_eq!(page.status, 200, "{path}");
            if run > 0 {
                times.push(start.elapsed().as_secs_f64() * 1e3);
            }
        }
        times.sort_by(f64::total_cmp);
        (times[14], times[28])
    }
    vec![
        (
            "page: dashboard",
            page(&mut owner, "/console/dashboard").await,
        ),
        (
            "page: dashboard, EMEA, Planning",
            page(
                &mut owner,
                "/console/dashboard?region=EMEA&product_line=Planning",
            )
            .await,
        ),
        (
            "page: dashboard, losses to Northwind",
            page(
                &mut owner,
                "/console/dashboard?outcome=lost&competitor=Northwind",
            )
            .await,
        ),
        ("page: program", page(&mut owner, "/console/program").await),
        (
            "page: segment editor",
            page(&mut owner, "/console/program/segments/segment_1").await,
        ),
        (
            "page: survey editor",
            page(&mut owner, "/console/program/surveys/win_loss").await,
        ),
        (
            "page: interview guide",
            page(&mut owner, "/console/program/guide").await,
        ),
        (
            "page: operations",
            page(&mut owner, "/console/operations").await,
        ),
        (
            "page: coding queue",
            page(&mut analyst, "/console/coding").await,
        ),
        ("page: my deals", page(&mut manager, "/console/deals").await),
        (
            "page: my invitations",
            page(&mut manager, "/console/invitations").await,
        ),
        ("page: team", page(&mut admin, "/console/team").await),
        (
            "page: alerts",
            page(&mut owner, "/console/operations/alerts").await,
        ),
        (
            "page: coded store search",
            page(&mut analyst, "/console/insights").await,
        ),
        (
            "page: coded store search, words and driver",
            page(&mut analyst, "/console/insights?text=pricing&driver=price").await,
        ),
    ]
}
