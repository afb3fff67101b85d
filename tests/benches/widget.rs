//! Survey load benchmark: how soon a buyer who opens the survey link from the email sees
//! a survey they can answer, in headless Chromium on a phone-sized window, with nothing
//! cached (a first visit), at the machine's full CPU speed and with the CPU slowed 4× and
//! 6× by DevTools (a mid-range and a low-end phone). Measured from the navigation's start:
//!
//! - first contentful paint: the server-rendered form, which can be answered at once
//!   (the buyer's first interaction needs no wasm);
//! - widget ready: the widget has downloaded, started, read the survey and drawn it in
//!   place of the form (the host element's `data-debrief-state` leaves `loading`).
//!
//! The baseline, in the same run: a bare actix-web handler serving a one-line HTML page,
//! the fastest first paint this browser makes here.
//!
//!     scripts/bench.sh widget
//!     DEBRIEF_BENCH_RUNS=30 scripts/bench.sh widget

use actix_web::{web, HttpResponse};
use chrono::Utc;
use debrief_server::outreach::decision::DecisionRequest;
use debrief_server::outreach::store::record_decisions;
use debrief_tests::browser::Browser;
use debrief_tests::load::{bare_server, bench_app};
use debrief_tests::{lost_deal, workspace_root};
use serde_json::{json, Value};

/// Marks the moment the widget leaves its loading state; runs before the page's scripts.
const OBSERVER: &str = r#"
new MutationObserver((_, observer) => {
  const host = document.querySelector("[data-debrief-state]");
  if (host && host.dataset.debriefState !== "loading") {
    performance.mark("debrief-ready");
    observer.disconnect();
  }
}).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-debrief-state"] });
"#;

/// Waits for the page's paint and, where `widget`, for the widget; gives the timings.
const TIMINGS: &str = r#"
const [widget, done] = arguments;
const started = performance.now();
function poll() {
  const ready = performance.getEntriesByName("debrief-ready")[0];
  const fcp = performance.getEntriesByName("first-contentful-paint")[0];
  if (fcp && (ready || !widget)) {
    done({ fcp: fcp.startTime, ready: ready ? ready.startTime : null });
  } else if (performance.now() - started > 30000) {
    done({ fcp: fcp ? fcp.startTime : null, ready: null });
  } else {
    setTimeout(poll, 5);
  }
}
poll();
"#;

struct Timing {
    fcp: f64,
    ready: Option<f64>,
}

/// Loads `url` `runs` times in a fresh, uncached window at CPU slowdown `rate`.
async fn measure(url: &str, widget: bool, rate: u32, runs: usize) -> Vec<Timing> {
    let browser = Browser::start(390, 844).await;
    browser.devtools("Network.enable", json!({})).await;
    browser
        .devtools("Network.setCacheDisabled", json!({ "cacheDisabled": true }))
        .await;
    browser
        .devtools(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": OBSERVER }),
        )
        .await;
    browser
        .devtools("Emulation.setCPUThrottlingRate", json!({ "rate": rate }))
        .await;
    let mut timings = Vec::with_capacity(runs);
    for _ in 0..runs {
        // A blank page between runs: each load is a navigation from nothing.
        browser.client.goto("about:blank").await.expect("blank");
        browser.client.goto(url).await.expect("page loads");
        let found: Value = browser
            .client
            .execute_async(TIMINGS, vec![json!(widget)])
            .await
            .expect("timings");
        let fcp = found["fcp"]
            .as_f64()
            .unwrap_or_else(|| panic!("no first paint at {url}: {found}"));
        let ready = found["ready"].as_f64();
        assert!(
            ready.is_some() || !widget,
            "the widget never took over at {url}"
        );
        timings.push(Timing { fcp, ready });
    }
    browser.close().await;
    timings
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn worst(values: &[f64]) -> f64 {
    values.iter().copied().fold(0.0, f64::max)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let runs: usize = debrief_tests::load::knob("DEBRIEF_BENCH_RUNS", 15);
    let dir = tempfile::tempdir().expect("temp dir");
    let widget_dir = workspace_root().join("widget/dist");
    assert!(
        widget_dir.join("embed.js").exists(),
        "the widget is not built (scripts/bench.sh widget builds it)"
    );

    let (bare_url, _bare_server) = bare_server(1, |cfg| {
        cfg.route(
            "/",
            web::get().to(|| async {
                HttpResponse::Ok()
                    .content_type("text/html; charset=utf-8")
                    .body("<!doctype html><html lang=en><title>Survey</title><p>Hello</p>")
            }),
        );
    });

    let widget_dir = widget_dir.display().to_string();
    let app = bench_app(
        dir.path(),
        &[
            ("DEBRIEF_WIDGET_DIR", widget_dir.as_str()),
            ("DEBRIEF_DELAY_MINUTES", "43200"),
        ],
    )
    .await;
    let now = Utc::now();
    let request: DecisionRequest =
        serde_json::from_value(lost_deal("LOAD-1")).expect("deal parses");
    let decision = request.parse(now).expect("deal is valid");
    record_decisions(app.db(), app.planner(), &[decision], now)
        .await
        .expect("deal recorded");
    let (invitation,): (String,) = sqlx::query_as("select id from invitations")
        .fetch_one(app.db().pool())
        .await
        .expect("invitation");
    let token = app.planner().tokens.for_invitation(&invitation);
    let survey = format!("http://127.0.0.1:{}/s/{token}", app.port());
    tokio::spawn(app.run_until_stopped());
    let baseline_url = format!("{bare_url}/");

    println!("| page | CPU | first contentful paint (median, worst) | ratio to baseline | widget ready (median, worst) |");
    println!("|---|---|---:|---:|---:|");
    for rate in [1, 4, 6] {
        let cpu = if rate == 1 {
            "full speed".to_owned()
        } else {
            format!("{rate}× slower")
        };
        let bare = measure(&baseline_url, false, rate, runs).await;
        let bare_fcp: Vec<f64> = bare.iter().map(|t| t.fcp).collect();
        let base = median(bare_fcp.clone());
        println!(
            "| bare one-line page (baseline) | {cpu} | {:.0} ms, {:.0} ms | 1.00 | |",
            base,
            worst(&bare_fcp)
        );
        let loaded = measure(&survey, true, rate, runs).await;
        let fcp: Vec<f64> = loaded.iter().map(|t| t.fcp).collect();
        let ready: Vec<f64> = loaded.iter().filter_map(|t| t.ready).collect();
        println!(
            "| Debrief survey link | {cpu} | {:.0} ms, {:.0} ms | {:.2} | {:.0} ms, {:.0} ms |",
            median(fcp.clone()),
            worst(&fcp),
            median(fcp.clone()) / base,
            median(ready.clone()),
            worst(&ready)
        );
    }
    println!("{runs} uncached loads each, headless Chromium at 390×844, over loopback");
}
