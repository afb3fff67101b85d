//! Decision-intake benchmark: `POST /api/v1/decisions` under wrk on loopback, against a
//! bare actix-web handler that only parses the same JSON, in the same run.
//!
//!     scripts/bench.sh intake               # 10 s per server
//!     DEBRIEF_BENCH_SECONDS=30 scripts/bench.sh intake

use actix_web::{web, HttpResponse};
use debrief_server::auth::{self, Role};
use debrief_server::demo::demo_program;
use debrief_server::outreach::decision::DecisionRequest;
use debrief_server::programs::definition::ProgramRequest;
use debrief_tests::load::{bare_server, baseline_then_debrief, bench_app, report};

/// A deal as a CRM posts it: three buyers. `CRM_ID` is replaced per request by wrk.
const DEAL: &str = r#"{"crm_id":"CRM_ID","outcome":"lost","decided_at":"DECIDED_AT",
"amount":{"minor_units":2400000,"currency":"EUR"},"sales_cycle_days":94,
"competitors":["Northwind"],"region":"EMEA","persona":"VP Sales","product_line":"Forecasting",
"company_type":"mid_market","icp_fit":"high","renewal_date":"2027-03-31","strategic":false,
"account":{"crm_id":"ACC-CRM_ID","name":"Globex","manager":{"name":"Ana Duarte","email":"ana@acme.example"}},
"contacts":[
{"name":"Camille Martin","email":"camille.CRM_ID@globex.example","role":"Economic buyer","locale":"fr-FR","time_zone":"Europe/Paris"},
{"name":"Sam Lee","email":"sam.CRM_ID@globex.example","role":"Evaluator","locale":"en-GB","time_zone":"Europe/London"},
{"name":"Dana Whitaker","email":"dana.CRM_ID@globex.example","role":"Decision maker","locale":"en-US","time_zone":"America/New_York"}]}"#;

/// wrk's script: every request a new deal (a CRM id unique to the run, the thread and
/// the request).
fn lua(key: &str) -> String {
    let nonce = std::process::id();
    let body = DEAL.replace('\n', "").replace(
        "DECIDED_AT",
        &(chrono::Utc::now() - chrono::Duration::hours(2)).to_rfc3339(),
    );
    format!(
        r#"local counter = 0
local prefix = ""
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function init(args) prefix = "{nonce}-" .. tostring(tid) end
local template = [[{body}]]
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"
function request()
  counter = counter + 1
  local body = template:gsub("CRM_ID", prefix .. "-" .. counter)
  return wrk.format(nil, nil, nil, body)
end
"#
    )
}

/// The baseline: the same route, parsing the same JSON into the same type, nothing else.
async fn bare(body: web::Bytes) -> HttpResponse {
    match serde_json::from_slice::<DecisionRequest>(&body) {
        Ok(deal) => HttpResponse::Created().json(serde_json::json!({ "crm_id": deal.crm_id })),
        Err(e) => HttpResponse::UnprocessableEntity().body(e.to_string()),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let seconds = debrief_tests::load::seconds();
    let dir = tempfile::tempdir().expect("temp dir");

    let (bare_url, bare_server) = bare_server(2, |cfg| {
        cfg.route("/api/v1/decisions", web::post().to(bare));
    });

    let app = bench_app(dir.path(), &[]).await;
    let program: ProgramRequest = serde_json::from_value(demo_program()).expect("program");
    app.planner()
        .programs
        .save(
            app.db(),
            &program,
            None,
            "bench",
            chrono::Utc::now() - chrono::Duration::days(1),
        )
        .await
        .expect("program saved");
    let key = auth::create_key(app.db(), "bench", Role::Integration, None)
        .await
        .expect("key");
    let port = app.port();
    let db = app.db().clone();
    tokio::spawn(app.run_until_stopped());

    let (baseline, debrief) = baseline_then_debrief(
        dir.path(),
        &lua(&key),
        &format!("{bare_url}/api/v1/decisions"),
        || bare_server.stop(true),
        &format!("http://127.0.0.1:{port}/api/v1/decisions"),
        32,
        seconds,
    )
    .await;
    let (deals,): (i64,) = sqlx::query_as("select count(*) from deals")
        .fetch_one(db.pool())
        .await
        .expect("count");

    report(
        "req/s",
        "validate, plan, record (SQLite)",
        &baseline,
        &debrief,
    );
    println!("deals recorded: {deals}; wrk -t2 -c32 -d{seconds}s");
}
