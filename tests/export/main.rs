//! Exports at volume: a hundred thousand responses stream out as CSV and as JSON Lines
//! while the server holds a few buffers, never the file. Alone in its test binary so that
//! no other story's allocations blur the process's peak memory.

use debrief_server::auth::Role;
use debrief_tests::{spawn_app, Backend};
use std::io::Write;

const RESPONSES: usize = 100_000;

/// The process's resident memory and its peak since the last reset, in bytes.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or_else(|| panic!("{name} in {status}"))
            * 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Downloads `path` into a file chunk by chunk; its size, and how much the process's
/// peak memory grew over its memory before.
async fn download(
    app: &debrief_tests::TestApp,
    key: &str,
    path: &str,
    into: &std::path::Path,
) -> (reqwest::header::HeaderMap, u64, u64) {
    // Linux's "reset the peak resident set" (proc(5), clear_refs).
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak");
    let (before, _) = memory();
    let mut response = app
        .http
        .get(format!("{}{path}", app.address))
        .bearer_auth(key)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200, "{path}");
    let headers = response.headers().clone();
    let mut file = std::fs::File::create(into).expect("file");
    let mut size = 0;
    while let Some(chunk) = response.chunk().await.expect("chunk") {
        size += chunk.len() as u64;
        file.write_all(&chunk).expect("write");
    }
    let (_, peak) = memory();
    (headers, size, peak.saturating_sub(before))
}

async fn a_hundred_thousand_responses_stream_out_in_constant_memory(backend: Backend) {
    let app = spawn_app(backend).await;
    debrief_tests::seed::fill(&app.db, RESPONSES).await;
    let analyst = app.key_with_role(Role::Analyst).await;
    let dir = tempfile::tempdir().expect("dir");

    let csv_path = dir.path().join("responses.csv");
    let (headers, size, growth) =
        download(&app, &analyst, "/api/v1/exports/responses", &csv_path).await;
    assert!(
        headers["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("text/csv")),
        "{headers:?}"
    );
    assert!(
        headers["content-disposition"]
            .to_str()
            .is_ok_and(|d| d.starts_with("attachment; filename=\"debrief-responses-")),
        "{headers:?}"
    );
    // The file is tens of megabytes; the server held a few buffers of it at a time.
    assert!(size > 20_000_000, "{size} bytes");
    // What the server may hold whatever the size: SQLite's page cache on the export's
    // connection (8 MiB, `platform::db`) and a few buffers. A server that built the
    // file before sending it would hold all of it (tens of megabytes) and more.
    assert!(
        growth < 16 * 1024 * 1024 && growth < size / 2,
        "{backend:?}: the peak grew by {growth} bytes for a {size}-byte export"
    );

    // A real CSV parser reads every response back, each with its answers.
    let mut reader = csv::Reader::from_path(&csv_path).expect("csv");
    let columns: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(columns[0], "response_id");
    let at = |name: &str| columns.iter().position(|c| c == name).expect(name);
    let (nps, answers, month, method) = (at("nps"), at("answers"), at("month"), at("method"));
    let mut read = 0;
    let mut ids = std::collections::BTreeSet::new();
    for record in reader.records() {
        let record = record.expect("a well-formed record");
        assert_eq!(record.len(), columns.len());
        let score: i64 = record[nps].parse().expect("an NPS");
        assert!((0..=10).contains(&score), "{record:?}");
        let answers: serde_json::Value =
            serde_json::from_str(&record[answers]).expect("answers as JSON");
        if &record[method] == "survey" {
            assert_eq!(
                answers["drivers"].as_object().map(|d| d.len()),
                Some(8),
                "{record:?}"
            );
        }
        assert_eq!(record[month].len(), 7, "{record:?}");
        ids.insert(record[0].to_owned());
        read += 1;
    }
    assert_eq!(read, RESPONSES);
    assert_eq!(ids.len(), RESPONSES, "each response once");

    // JSON Lines, filtered to a quarter and a segment: as many as the store holds there.
    let path = "/api/v1/exports/responses?format=jsonl&from=2025-04&to=2025-06&segment=segment_2";
    let jsonl_path = dir.path().join("responses.jsonl");
    let (_, size, growth) = download(&app, &analyst, path, &jsonl_path).await;
    assert!(growth < 16 * 1024 * 1024, "{growth} for {size}");
    let (expected,): (i64,) = sqlx::query_as(
        "select count(*) from responses
         where month between '2025-04' and '2025-06' and segment_key = 'segment_2'",
    )
    .fetch_one(app.db.pool())
    .await
    .expect("count");
    let text = std::fs::read_to_string(&jsonl_path).expect("read");
    let mut lines = 0;
    for line in text.lines() {
        let response: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        assert_eq!(response["segment"], "segment_2");
        assert!(
            response["month"]
                .as_str()
                .is_some_and(|m| ("2025-04"..="2025-06").contains(&m)),
            "{response}"
        );
        lines += 1;
    }
    assert!(expected > 1_000, "{expected}");
    assert_eq!(lines, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_responses_stream_out_in_constant_memory_on_both_databases() {
    // One after the other: each measures the process's peak alone.
    a_hundred_thousand_responses_stream_out_in_constant_memory(Backend::Sqlite).await;
    a_hundred_thousand_responses_stream_out_in_constant_memory(Backend::Postgres).await;
}
