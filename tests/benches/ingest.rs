//! Answer-ingest benchmark: `PUT /api/v1/surveys/{token}/answers` under wrk on loopback,
//! each request a distinct buyer's token, on SQLite, against a bare actix-web handler that
//! only parses the same JSON, in the same run. Afterwards every buyer who got a 2xx must
//! have their answer stored.
//!
//! The same run measures Debrief on PostgreSQL too, where one is reachable (the script
//! uses the machine's, or starts a throwaway cluster as the tests do).
//!
//!     scripts/bench.sh ingest               # 10 s per server
//!     DEBRIEF_BENCH_SECONDS=30 scripts/bench.sh ingest

use actix_web::{web, HttpResponse};
use chrono::{Duration, Utc};
use debrief_common::survey::AnswersRequest;
use debrief_server::outreach::decision::DecisionRequest;
use debrief_server::outreach::store::record_decisions;
use debrief_tests::load::{
    bare_server, baseline_then_debrief, bench_app, report_rows, write_script, wrk, Load,
};
use serde_json::json;

/// Deals decided before the run, three buyers each, each buyer with their own link: more
/// than a 10 s run uses at 30,000 answers/s, so that every request is a distinct buyer's
/// first answer (past the last buyer, wrk would start again at the first).
const DEALS: usize = 100_000;
const BODY: &str =
    r#"{"answers":[{"question":"nps","value":8},{"question":"reasons","value":["price"]}]}"#;

/// wrk's script: each thread takes every other token in turn.
fn lua(tokens: &[String]) -> String {
    let list = tokens
        .iter()
        .map(|t| format!("\"{t}\""))
        .collect::<Vec<_>>()
        .join(",");
    format!(
        r#"local tokens = {{{list}}}
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
local n = 0
function init(args) n = tid end
wrk.method = "PUT"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[{BODY}]]
function request()
  local token = tokens[(n % #tokens) + 1]
  n = n + 2
  return wrk.format(nil, "/api/v1/surveys/" .. token .. "/answers")
end
"#
    )
}

/// The baseline: the same route, parsing the same JSON into the same type, nothing else.
async fn bare(_token: web::Path<String>, body: web::Bytes) -> HttpResponse {
    match serde_json::from_slice::<AnswersRequest>(&body) {
        Ok(request) => HttpResponse::Ok().json(json!({ "answers": request.answers.len() })),
        Err(e) => HttpResponse::UnprocessableEntity().body(e.to_string()),
    }
}

fn decisions(now: chrono::DateTime<Utc>) -> Vec<debrief_server::outreach::decision::Decision> {
    (0..DEALS)
        .map(|n| {
            let contacts: Vec<_> = (0..3)
                .map(|c| json!({ "name": format!("Buyer {n}-{c}"), "email": format!("b{n}.{c}@acc{n}.example"),
                                 "locale": "en", "time_zone": "Europe/Berlin" }))
                .collect();
            let request: DecisionRequest = serde_json::from_value(json!({
                "crm_id": format!("INGEST-{n}"), "outcome": "lost",
                "decided_at": (now - Duration::hours(2)).to_rfc3339(),
                "amount": { "minor_units": 500_000, "currency": "EUR" }, "sales_cycle_days": 60,
                "competitors": ["Northwind"], "region": "EMEA",
                "account": { "crm_id": format!("ACC-{n}"), "name": format!("Account {n}"),
                             "manager": { "name": "Ana Duarte", "email": "ana@acme.example" } },
                "contacts": contacts
            }))
            .expect("deal parses");
            request.parse(now).expect("deal is valid")
        })
        .collect()
}

/// One engine's Debrief, ready to answer: its buyers invited, its server running.
struct Prepared {
    db: debrief_server::platform::db::Db,
    url: String,
    tokens: Vec<String>,
}

async fn prepare(dir: &std::path::Path, database_url: &str) -> Prepared {
    // The invitations' emails are not due during the run: only answers are measured.
    let app = bench_app(
        dir,
        &[
            ("DEBRIEF_DELAY_MINUTES", "43200"),
            ("DEBRIEF_DATABASE_URL", database_url),
        ],
    )
    .await;
    let now = Utc::now();
    for chunk in decisions(now).chunks(5_000) {
        record_decisions(app.db(), app.planner(), chunk, now)
            .await
            .expect("deals recorded");
    }
    // The set-up's WAL copied back before buyers answer, as the checkpointer does in the
    // first quiet second after an import: the run measures answers, not the import's tail.
    if app.db().backend() == debrief_server::platform::db::Backend::Sqlite {
        sqlx::query("pragma wal_checkpoint(truncate)")
            .execute(app.db().pool())
            .await
            .expect("the set-up checkpointed");
    }
    let ids: Vec<(String,)> = sqlx::query_as("select id from invitations order by id")
        .fetch_all(app.db().pool())
        .await
        .expect("invitations");
    let tokens: Vec<String> = ids
        .iter()
        .map(|(id,)| app.planner().tokens.for_invitation(id))
        .collect();
    let url = format!("http://127.0.0.1:{}", app.port());
    let db = app.db().clone();
    tokio::spawn(app.run_until_stopped());
    Prepared { db, url, tokens }
}

/// Every buyer whose answer got a 2xx has it stored: it was committed before the reply
/// (a buyer reached twice, once the run has used every token, saves it again).
async fn check_stored(prepared: &Prepared, load: &Load) -> i64 {
    let answered = load.requests.min(prepared.tokens.len() as u64);
    let (stored,): (i64,) = sqlx::query_as(
        "select count(*) from response_items where question_id = 'nps' and number = 8",
    )
    .fetch_one(prepared.db.pool())
    .await
    .expect("count");
    assert!(
        stored as u64 >= answered,
        "{stored} answers stored for {answered} buyers answered"
    );
    stored
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let seconds = debrief_tests::load::seconds();
    let dir = tempfile::tempdir().expect("temp dir");

    let (bare_url, bare_server) = bare_server(2, |cfg| {
        cfg.route("/api/v1/surveys/{token}/answers", web::put().to(bare));
    });

    let sqlite_url = format!("sqlite://{}/bench.db", dir.path().display());
    let sqlite = prepare(dir.path(), &sqlite_url).await;
    let (baseline, on_sqlite) = baseline_then_debrief(
        dir.path(),
        &lua(&sqlite.tokens),
        &bare_url,
        || bare_server.stop(true),
        &sqlite.url,
        64,
        seconds,
    )
    .await;
    let stored_sqlite = check_stored(&sqlite, &on_sqlite).await;
    let mut rows = vec![("validate against the version, save (SQLite)", &on_sqlite)];
    let mut notes = vec![format!(
        "SQLite: {} buyers invited; {} answers sent, {stored_sqlite} stored",
        sqlite.tokens.len(),
        on_sqlite.requests
    )];

    // PostgreSQL, where scripts/bench.sh found or started one.
    let on_postgres;
    if std::env::var("DEBRIEF_TEST_PG_URL").is_ok() {
        let postgres = prepare(dir.path(), &debrief_tests::fresh_postgres_database().await).await;
        let script = write_script(dir.path(), "postgres.lua", &lua(&postgres.tokens));
        on_postgres = wrk(&postgres.url, &script, 64, seconds);
        let stored = check_stored(&postgres, &on_postgres).await;
        rows.push((
            "validate against the version, save (PostgreSQL)",
            &on_postgres,
        ));
        notes.push(format!(
            "PostgreSQL: {} buyers invited; {} answers sent, {stored} stored",
            postgres.tokens.len(),
            on_postgres.requests
        ));
    }

    report_rows("answers/s", &baseline, &rows);
    for note in notes {
        println!("{note}");
    }
    println!("wrk -t2 -c64 -d{seconds}s, each server alone on the machine");
}
