//! Exports, as an analyst takes the program to a spreadsheet: responses, coded insights
//! and participation, as CSV read back by a real parser and as JSON Lines, filtered like
//! the dashboards; what a buyer typed as a formula arrives as text, and bad parameters are
//! named. (The hundred-thousand-response volume runs in its own binary, `tests/export`.)

use crate::analytics::{a_season, quarter_program};
use crate::reports::a_buyer_types;
use debrief_server::auth::Role;
use debrief_tests::{both_backends, TestApp};
use serde_json::{json, Value};

/// A buyer's words that a spreadsheet would run.
const FORMULA: &str = "=HYPERLINK(\"http://evil.example\",\"Cliquez\")";

fn records(csv_text: &str) -> (Vec<String>, Vec<csv::StringRecord>) {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = reader
        .headers()
        .expect("a header")
        .iter()
        .map(str::to_owned)
        .collect();
    let records = reader
        .records()
        .map(|r| r.expect("a well-formed record"))
        .collect();
    (headers, records)
}

fn column(headers: &[String], name: &str) -> usize {
    headers
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("{name} in {headers:?}"))
}

async fn an_analyst_takes_the_quarter_to_a_spreadsheet(mut app: TestApp) {
    app.put_program(&quarter_program()).await;
    let start = chrono::NaiveDate::from_ymd_opt(2026, 7, 6).expect("a Monday");
    let answered = a_season(&mut app, start, 2, 5, &|outcome, _, _, _| {
        if outcome == "won" {
            9
        } else {
            4
        }
    })
    .await;
    let typed = format!("{FORMULA} le prix était trop élevé.");
    a_buyer_types(
        &mut app,
        chrono::NaiveDate::from_ymd_opt(2026, 7, 15).expect("day"),
        &typed,
    )
    .await;
    let analyst = app.key_with_role(Role::Analyst).await;
    let queue = app.get_as(&analyst, "/api/v1/insights/queue").await;
    let text = queue.body["texts"]
        .as_array()
        .expect("texts")
        .iter()
        .find(|t| t["text"] == typed.as_str())
        .expect("the typed words")
        .clone();
    let coded = app
        .post_as(
            &analyst,
            "/api/v1/insights",
            &json!({ "response_id": text["response_id"], "question_id": text["question_id"],
                     "item": text["item"], "driver": "price", "influence": -2,
                     "excerpt": FORMULA }),
        )
        .await;
    assert_eq!(coded.status, 201, "{}", coded.body);

    // Insights: every one, the formula as text, influences as numbers.
    let insights = app.get_as(&analyst, "/api/v1/exports/insights").await;
    assert_eq!(insights.status, 200, "{}", insights.text);
    let (headers, rows) = records(&insights.text);
    assert_eq!(rows.len() as i64, app.count("insights").await);
    let (excerpt, influence) = (column(&headers, "excerpt"), column(&headers, "influence"));
    let typed_row = rows
        .iter()
        .find(|r| !r[excerpt].is_empty())
        .expect("the analyst's coding");
    assert_eq!(&typed_row[excerpt], format!("'{FORMULA}"));
    assert_eq!(&typed_row[influence], "-2");
    assert_eq!(&typed_row[column(&headers, "driver")], "price");
    assert!(rows.iter().all(|r| r[influence].parse::<i64>().is_ok()));

    // Responses: each once, the buyer's words kept exactly inside the answers' JSON.
    let responses = app.get_as(&analyst, "/api/v1/exports/responses").await;
    assert_eq!(responses.status, 200, "{}", responses.text);
    let (headers, rows) = records(&responses.text);
    assert_eq!(rows.len(), answered.len() + 1);
    let answers = column(&headers, "answers");
    let typed_answers: Vec<Value> = rows
        .iter()
        .map(|r| serde_json::from_str(&r[answers]).expect("JSON"))
        .filter(|a: &Value| a["anything_else"] == typed.as_str())
        .collect();
    assert_eq!(typed_answers.len(), 1);
    // A choice picked reads as picked; a driver's rating as its influence.
    assert_eq!(typed_answers[0]["reasons"], json!({ "price": true }));
    let mut scores: Vec<i64> = rows
        .iter()
        .map(|r| r[column(&headers, "nps")].parse().expect("an NPS"))
        .collect();
    let mut expected: Vec<i64> = answered.iter().map(|a| a.score).chain([2]).collect();
    scores.sort_unstable();
    expected.sort_unstable();
    assert_eq!(scores, expected);

    // The same as JSON Lines, and nothing outside the months asked for.
    let lines = app
        .get_as(
            &analyst,
            "/api/v1/exports/responses?format=jsonl&from=2026-07&to=2026-07",
        )
        .await;
    assert_eq!(lines.status, 200, "{}", lines.text);
    let lines: Vec<Value> = lines
        .text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), answered.len() + 1);
    assert!(lines.iter().all(|l| l["month"] == "2026-07"), "{lines:?}");
    let august = app
        .get_as(
            &analyst,
            "/api/v1/exports/responses?format=jsonl&from=2026-08",
        )
        .await;
    assert_eq!(august.status, 200);
    assert_eq!(august.text, "");

    // Participation: every invitation with the steps it reached.
    let participation = app
        .get_as(&analyst, "/api/v1/exports/participation?format=jsonl")
        .await;
    assert_eq!(participation.status, 200, "{}", participation.text);
    let invitations: Vec<Value> = participation
        .text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(invitations.len() as i64, app.count("invitations").await);
    assert!(
        invitations
            .iter()
            .all(|i| i["completed_at"].is_string() && i["method"] == "survey"),
        "{invitations:?}"
    );

    for (path, field) in [
        ("/api/v1/exports/responses?format=xlsx", "format"),
        ("/api/v1/exports/insights?from=2026/07", "from"),
        ("/api/v1/exports/responses?colour=red", "colour"),
        (
            "/api/v1/exports/participation?competitor=Northwind",
            "competitor",
        ),
    ] {
        let refused = app.get_as(&analyst, path).await;
        assert_eq!(refused.status, 422, "{path}: {}", refused.body);
        assert_eq!(refused.error_fields(), [field], "{path}");
    }
}

both_backends!(an_analyst_takes_the_quarter_to_a_spreadsheet);
