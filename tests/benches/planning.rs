//! Planning benchmark: decided deals (three buyers each) through the demo program's
//! segments and contact policy into SQLite, by the import path, at two sizes, against
//! the one-deal-per-transaction path a live `POST /api/v1/decisions` takes.
//!
//!     scripts/bench.sh planning            # 10k and 100k deals
//!     DEBRIEF_BENCH_SIZES=1000,10000 scripts/bench.sh planning

use chrono::{DateTime, Duration, Utc};
use debrief_server::demo::demo_program;
use debrief_server::invitations::tokens::Tokens;
use debrief_server::outreach::decision::{Decision, DecisionRequest};
use debrief_server::outreach::plan::Timing;
use debrief_server::outreach::schedule::BusinessHours;
use debrief_server::outreach::store::{record_decision, record_decisions, Planner};
use debrief_server::platform::db::Db;
use debrief_server::programs::definition::ProgramRequest;
use debrief_server::programs::store::Programs;
use serde_json::json;
use std::time::Instant;

/// Accounts the deals spread over: a mid-size company's CRM.
const ACCOUNTS: usize = 20_000;

/// The `n`th deal: outcomes, sizes and strategic flags in the demo's proportions; every
/// fifth deal re-uses a buyer of the account's previous deal, so cooldowns have work.
fn deal(n: usize, decided_at: DateTime<Utc>) -> serde_json::Value {
    let outcome = ["won", "lost", "lost", "no_decision", "won", "declined"][n % 6];
    let strategic = n.is_multiple_of(5);
    let amount = if strategic {
        8_000_000
    } else {
        300_000 + (n % 50) as i64 * 10_000
    };
    let account = n % ACCOUNTS;
    let roles = ["Decision maker", "Evaluator", "User"];
    let contacts: Vec<_> = (0..3)
        .map(|c| {
            let who = if c == 0 && n % 5 == 1 && n >= ACCOUNTS { n - ACCOUNTS } else { n };
            json!({ "name": format!("Buyer {who}-{c}"), "email": format!("b{who}.{c}@acc{account}.example"),
                    "role": roles[c], "locale": "en", "time_zone": "Europe/Berlin" })
        })
        .collect();
    let mut deal = json!({
        "crm_id": format!("BENCH-{n}"), "outcome": outcome, "decided_at": decided_at.to_rfc3339(),
        "amount": { "minor_units": amount, "currency": "EUR" }, "sales_cycle_days": 30 + n % 200,
        "competitors": ["Northwind"], "region": "EMEA", "strategic": strategic,
        "account": { "crm_id": format!("ACC-{account}"), "name": format!("Account {account}"),
                     "manager": { "name": "Ana Duarte", "email": "ana@acme.example" } },
        "contacts": contacts
    });
    if outcome == "declined" {
        deal["declined"] = json!({ "reason": "capacity" });
    }
    deal
}

fn decisions(count: usize, now: DateTime<Utc>) -> Vec<Decision> {
    (0..count)
        .map(|n| {
            // Spread over the last 80 days, oldest first, as a backfill sends them.
            let decided_at =
                now - Duration::minutes(80 * 24 * 60 * (count - n) as i64 / count as i64);
            let request: DecisionRequest =
                serde_json::from_value(deal(n, decided_at)).expect("bench deal parses");
            request.parse(now).expect("bench deal is valid")
        })
        .collect()
}

struct Setup {
    db: Db,
    planner: Planner,
    _dir: tempfile::TempDir,
}

async fn setup(now: DateTime<Utc>) -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::connect(&format!("sqlite://{}/bench.db", dir.path().display()))
        .await
        .expect("database");
    db.migrate().await.expect("migrations");
    let planner = Planner {
        programs: Programs::default(),
        tokens: Tokens::from_base64("YmVuY2gtYmVuY2gtYmVuY2gtYmVuY2gtYmVuY2gtYmU=").expect("key"),
        timing: Timing {
            business_hours: BusinessHours::parse("09:00-17:00", "mon-fri").expect("hours"),
            delay_after_decision: Duration::hours(1),
        },
    };
    let program: ProgramRequest = serde_json::from_value(demo_program()).expect("program");
    planner
        .programs
        .save(&db, &program, None, "bench", now - Duration::days(100))
        .await
        .expect("program saved");
    Setup {
        db,
        planner,
        _dir: dir,
    }
}

async fn count(db: &Db, table: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(&format!("select count(*) from {table}"))
        .fetch_one(db.pool())
        .await
        .expect("count");
    n
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // RUST_LOG=sqlx::query=debug shows each statement with its time, to find a slow one.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
    let now = Utc::now();
    let sizes: Vec<usize> = std::env::var("DEBRIEF_BENCH_SIZES")
        .unwrap_or_else(|_| "10000,100000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    // The live path reads whole-period aggregates per deal (see BENCHMARKS.md): 2,000 deals
    // show its rate without taking minutes.
    let baseline_size: usize = debrief_tests::load::knob("DEBRIEF_BENCH_BASELINE", 2_000);

    println!("| path | deals | contacts | seconds | µs per deal | deals/s | invitations | jobs |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let report = |path: &str, deals: usize, secs: f64, invitations: i64, jobs: i64| {
        println!(
            "| {path} | {deals} | {} | {secs:.2} | {:.1} | {:.0} | {invitations} | {jobs} |",
            deals * 3,
            secs * 1e6 / deals as f64,
            deals as f64 / secs
        );
    };

    // Baseline: one transaction per deal, as live posts are recorded.
    if baseline_size > 0 {
        let s = setup(now).await;
        let deals = decisions(baseline_size, now);
        let start = Instant::now();
        for d in &deals {
            record_decision(&s.db, &s.planner, d, now)
                .await
                .expect("recorded");
        }
        let secs = start.elapsed().as_secs_f64();
        report(
            "per deal (baseline)",
            baseline_size,
            secs,
            count(&s.db, "invitations").await,
            count(&s.db, "jobs").await,
        );
    }

    for size in sizes {
        let s = setup(now).await;
        let deals = decisions(size, now);
        let start = Instant::now();
        let recorded = record_decisions(&s.db, &s.planner, &deals, now)
            .await
            .expect("imported");
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(recorded.len(), size);
        report(
            "import",
            size,
            secs,
            count(&s.db, "invitations").await,
            count(&s.db, "jobs").await,
        );
    }
}
