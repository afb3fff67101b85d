//! A quarter of a program, as the dashboards read it: a season of decided deals whose
//! buyers answer, then NPS by segment, month and quarter, drivers for wins against
//! losses, competitors, the buyers' words and declined requests, each checked against a
//! computation made here from what the buyers were made to answer.

use debrief_server::auth::Role;
use debrief_tests::{both_backends, lost_deal, TestApp};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// What every buyer of a season adds at the end.
pub const ANYTHING_ELSE: &str = "Le prix comptait. La démo aussi.";

/// Deterministic draws (a linear congruential generator): the same quarter every run.
pub struct Draws(u64);

impl Draws {
    pub fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// One buyer's answer, as the test made it.
#[derive(Debug, Clone)]
pub struct Answered {
    pub segment: String,
    pub outcome: String,
    pub competitor: Option<String>,
    pub region: &'static str,
    pub product_line: &'static str,
    pub month: String,
    pub score: i64,
    /// Drivers rated, with their influence code.
    pub ratings: Vec<(&'static str, &'static str)>,
}

/// Two segments by deal size, every buyer surveyed.
pub fn quarter_program() -> Value {
    json!({
        "name": "Win-loss, one quarter",
        "contact_policy": { "person_cooldown_days": 90, "account_max_per_decision": 3 },
        "segments": [
            { "key": "enterprise", "name": "Enterprise", "method": "survey",
              "rules": [ { "attribute": "amount", "currency": "EUR", "min": 5000000 } ] },
            { "key": "mid_market", "name": "Mid-market", "method": "survey",
              "rules": [ { "attribute": "amount", "currency": "EUR", "max": 4999999 } ] }
        ]
    })
}

/// The NPS of `scores`, computed here: % promoters − % detractors, one decimal.
pub fn expected_nps<'a>(scores: impl IntoIterator<Item = &'a i64>) -> Option<f64> {
    let (mut promoters, mut detractors, mut n) = (0.0_f64, 0.0_f64, 0.0_f64);
    for s in scores {
        n += 1.0;
        if *s >= 9 {
            promoters += 1.0;
        } else if *s <= 6 {
            detractors += 1.0;
        }
    }
    (n > 0.0).then(|| ((promoters - detractors) * 100.0 / n * 10.0).round() / 10.0)
}

/// A buyer's NPS, from their deal's outcome and competitor and the week it was decided.
pub type Scorer = dyn Fn(&str, Option<&str>, u32, &mut Draws) -> i64;

/// Weeks of decided deals from Monday `start` (13 for a quarter), `per_week` each, every
/// buyer answering; `score` picks a buyer's NPS from the deal (outcome, competitor, week).
pub async fn a_season(
    app: &mut TestApp,
    start: chrono::NaiveDate,
    weeks: u32,
    per_week: u32,
    score: &Scorer,
) -> Vec<Answered> {
    let mut draws = Draws(7);
    let mut answered = Vec::new();
    let mut n = 0;
    for week in 0..weeks {
        let monday = start + chrono::Duration::weeks(i64::from(week));
        app.set_clock(&format!("{monday}T09:00:00Z"));
        let mut deals: BTreeMap<String, Answered> = BTreeMap::new();
        for _ in 0..per_week {
            n += 1;
            let outcome = ["won", "won", "lost", "lost", "lost", "no_decision"]
                [usize::try_from(draws.next(6)).unwrap_or(0)];
            let competitor = [Some("Northwind"), Some("Northwind"), Some("Initech"), None]
                [usize::try_from(draws.next(4)).unwrap_or(0)];
            let enterprise = draws.next(3) == 0;
            let mut deal = lost_deal(&format!("Q-{n}"));
            deal["outcome"] = json!(outcome);
            deal["decided_at"] = json!(format!("{monday}T08:00:00Z"));
            deal["strategic"] = json!(false);
            deal["amount"]["minor_units"] = json!(if enterprise { 9_000_000 } else { 1_500_000 });
            deal["competitors"] = json!(competitor.into_iter().collect::<Vec<_>>());
            deal["account"]["name"] = json!(format!("Account {n}"));
            // Every region with every product line, apart from the draws.
            let region = ["EMEA", "NA", "APAC"][usize::try_from(n % 3).unwrap_or(0)];
            let product_line = ["Forecasting", "Planning"][usize::try_from(n / 3 % 2).unwrap_or(0)];
            deal["region"] = json!(region);
            deal["product_line"] = json!(product_line);
            let email = format!("buyer{n}@account{n}.example");
            deal["contacts"][0]["email"] = json!(email);
            let reply = app.post_decision(&deal).await;
            assert_eq!(reply.status, 201, "{}", reply.text);
            let price = if outcome == "lost" {
                "very_negative"
            } else {
                "neutral"
            };
            let demo = if outcome == "won" {
                "very_positive"
            } else {
                "negative"
            };
            deals.insert(
                email,
                Answered {
                    segment: reply.body["segment"].as_str().unwrap_or("").to_owned(),
                    outcome: outcome.to_owned(),
                    competitor: competitor.map(str::to_owned),
                    region,
                    product_line,
                    month: monday.format("%Y-%m").to_string(),
                    score: score(outcome, competitor, week, &mut draws),
                    ratings: vec![("price", price), ("demo", demo)],
                },
            );
        }
        // The next morning the invitations go out, and every buyer answers.
        app.set_clock(&format!("{}T10:00:00Z", monday + chrono::Duration::days(1)));
        app.deliver().await;
        for _ in 0..per_week {
            let mail = app.next_invitation().await;
            let buyer = deals
                .get(&mail.to[0])
                .unwrap_or_else(|| panic!("an invitation to {:?}", mail.to))
                .clone();
            let ratings: serde_json::Map<String, Value> = buyer
                .ratings
                .iter()
                .map(|(d, i)| ((*d).to_owned(), json!(i)))
                .collect();
            let answers = vec![
                json!({ "question": "nps", "value": buyer.score }),
                json!({ "question": "reasons", "value": ["product_fit"] }),
                json!({ "question": "drivers", "value": ratings }),
                json!({ "question": "anything_else", "value": ANYTHING_ELSE }),
                json!({ "question": "consent", "value": true }),
            ];
            let done = app.complete_survey(&mail.token(), json!(answers)).await;
            assert_eq!(done.status, 201, "{}", done.text);
            answered.push(buyer);
        }
    }
    answered
}

fn count_lost(answered: &[Answered]) -> usize {
    answered.iter().filter(|a| a.outcome == "lost").count()
}

fn group<'a>(report: &'a Value, key: &str) -> &'a Value {
    report["groups"]
        .as_array()
        .and_then(|g| g.iter().find(|g| g["key"] == key))
        .unwrap_or_else(|| panic!("group {key} in {report}"))
}

fn usual_score(outcome: &str, _: Option<&str>, _: u32, draws: &mut Draws) -> i64 {
    let base: i64 = match outcome {
        "won" => 7,
        "lost" => 3,
        _ => 5,
    };
    let spread = i64::try_from(draws.next(5)).unwrap_or(0);
    (base + spread - 1).clamp(0, 10)
}

async fn a_quarter_of_answers_reads_the_same_on_every_dashboard(mut app: TestApp) {
    app.put_program(&quarter_program()).await;
    let start = chrono::NaiveDate::from_ymd_opt(2026, 7, 6).expect("a Monday");
    let answered = a_season(&mut app, start, 13, 6, &usual_score).await;
    assert_eq!(answered.len(), 78);
    let analyst = app.key_with_role(Role::Analyst).await;

    // NPS per segment, as computed here.
    let by_segment = app
        .get_as(&analyst, "/api/v1/analytics/nps?by=segment")
        .await;
    assert_eq!(by_segment.status, 200, "{}", by_segment.body);
    for segment in ["enterprise", "mid_market"] {
        let scores: Vec<i64> = answered
            .iter()
            .filter(|a| a.segment == segment)
            .map(|a| a.score)
            .collect();
        let figure = group(&by_segment.body, segment);
        assert_eq!(figure["sample_size"], scores.len(), "{segment}");
        assert_eq!(figure["score"].as_f64(), expected_nps(&scores), "{segment}");
        let (low, high) = (figure["low"].as_f64(), figure["high"].as_f64());
        assert!(
            low < figure["score"].as_f64() && figure["score"].as_f64() < high,
            "{segment}: {figure}"
        );
    }
    let all: Vec<i64> = answered.iter().map(|a| a.score).collect();
    assert_eq!(
        by_segment.body["overall"]["score"].as_f64(),
        expected_nps(&all)
    );

    // The trend, month by month and for the quarter.
    let by_month = app.get_as(&analyst, "/api/v1/analytics/nps?by=month").await;
    let months: Vec<&str> = by_month.body["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter_map(|g| g["key"].as_str())
        .collect();
    assert_eq!(months, ["2026-07", "2026-08", "2026-09"]);
    for month in months {
        let scores: Vec<i64> = answered
            .iter()
            .filter(|a| a.month == month)
            .map(|a| a.score)
            .collect();
        assert_eq!(
            group(&by_month.body, month)["score"].as_f64(),
            expected_nps(&scores)
        );
    }
    let quarter = app
        .get_as(
            &analyst,
            "/api/v1/analytics/nps?by=quarter&from=2026-06&to=2026-10",
        )
        .await;
    let keys: Vec<&str> = quarter.body["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter_map(|g| g["key"].as_str())
        .collect();
    assert_eq!(
        keys,
        ["2026-Q2", "2026-Q3", "2026-Q4"],
        "every quarter of the range"
    );
    assert_eq!(
        group(&quarter.body, "2026-Q3")["score"].as_f64(),
        expected_nps(&all)
    );
    assert_eq!(group(&quarter.body, "2026-Q2")["sample_size"], 0);
    assert_eq!(group(&quarter.body, "2026-Q2")["score"], Value::Null);

    // Lost deals against Northwind alone.
    let northwind_losses: Vec<i64> = answered
        .iter()
        .filter(|a| a.outcome == "lost" && a.competitor.as_deref() == Some("Northwind"))
        .map(|a| a.score)
        .collect();
    let slice = app
        .get_as(
            &analyst,
            "/api/v1/analytics/nps?by=competitor&outcome=lost&competitor=Northwind",
        )
        .await;
    assert_eq!(
        group(&slice.body, "Northwind")["score"].as_f64(),
        expected_nps(&northwind_losses)
    );

    // By region and product line: each slice, and each region grouped, as computed here.
    let nps_of = |keep: &dyn Fn(&Answered) -> bool| {
        expected_nps(
            &answered
                .iter()
                .filter(|a| keep(a))
                .map(|a| a.score)
                .collect::<Vec<_>>(),
        )
    };
    let na_planning = app
        .get_as(
            &analyst,
            "/api/v1/analytics/nps?by=segment&region=NA&product_line=Planning",
        )
        .await;
    assert_eq!(na_planning.status, 200, "{}", na_planning.body);
    for segment in ["enterprise", "mid_market"] {
        assert_eq!(
            group(&na_planning.body, segment)["score"].as_f64(),
            nps_of(&|a| a.segment == segment && a.region == "NA" && a.product_line == "Planning"),
            "{segment}"
        );
    }
    let by_region = app
        .get_as(&analyst, "/api/v1/analytics/nps?by=region&outcome=lost")
        .await;
    let regions: Vec<&str> = by_region.body["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter_map(|g| g["key"].as_str())
        .collect();
    assert_eq!(regions, ["APAC", "EMEA", "NA"]);
    for region in regions {
        assert_eq!(
            group(&by_region.body, region)["score"].as_f64(),
            nps_of(&|a| a.region == region && a.outcome == "lost"),
            "{region}"
        );
    }
    let emea_drivers = app
        .get_as(&analyst, "/api/v1/analytics/drivers?region=EMEA")
        .await;
    let emea_lost = answered
        .iter()
        .filter(|a| a.outcome == "lost" && a.region == "EMEA")
        .count();
    assert!(emea_lost > 0 && emea_lost < count_lost(&answered));
    assert_eq!(
        emea_drivers.body["by_outcome"]["lost"]["responses"],
        emea_lost
    );
    let forecasting = app
        .get_as(
            &analyst,
            "/api/v1/analytics/funnel?by=segment&product_line=Forecasting",
        )
        .await;
    for segment in ["enterprise", "mid_market"] {
        let invited = answered
            .iter()
            .filter(|a| a.segment == segment && a.product_line == "Forecasting")
            .count();
        assert_eq!(group(&forecasting.body, segment)["invited"], invited);
    }

    // Drivers: lost buyers rated price against us, won buyers the demo for us.
    let drivers = app.get_as(&analyst, "/api/v1/analytics/drivers").await;
    assert_eq!(drivers.status, 200, "{}", drivers.body);
    let count = |outcome: &str| answered.iter().filter(|a| a.outcome == outcome).count();
    let side = |outcome: &str| &drivers.body["by_outcome"][outcome];
    let driver = |outcome: &str, id: &str| {
        side(outcome)["drivers"]
            .as_array()
            .and_then(|d| d.iter().find(|d| d["id"] == id).cloned())
            .unwrap_or_else(|| panic!("{id} among {outcome}"))
    };
    assert_eq!(side("lost")["responses"], count("lost"));
    assert_eq!(driver("lost", "price")["negative"], count("lost"));
    assert_eq!(driver("lost", "price")["negative_share"], 1.0);
    // Price was never the only reason: the demo weighed against us too.
    assert_eq!(driver("lost", "price")["sole_negative"], 0);
    assert_eq!(driver("won", "demo")["positive"], count("won"));
    assert_eq!(driver("won", "price")["positive"], 0);
    assert_eq!(driver("won", "price")["mentions"], count("won"));
    let family = side("lost")["families"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["id"] == "price_and_packaging").cloned())
        .expect("a family");
    assert_eq!(family["negative"], count("lost"));
    assert_eq!(family["label_fr"], "Prix et offre");

    // Competitors: every won buyer against Northwind rated the demo for us.
    let competitors = app.get_as(&analyst, "/api/v1/analytics/competitors").await;
    let northwind = competitors.body["competitors"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["competitor"] == "Northwind").cloned())
        .expect("Northwind");
    let against = |outcome: &str| {
        answered
            .iter()
            .filter(|a| a.outcome == outcome && a.competitor.as_deref() == Some("Northwind"))
            .count()
    };
    assert_eq!(northwind["won"], against("won"));
    assert_eq!(northwind["lost"], against("lost"));
    assert_eq!(northwind["why_we_win"][0]["id"], "demo");
    // Both weighed against us in every loss: a tie, listed by id.
    let lose: Vec<&str> = northwind["why_we_lose"]
        .as_array()
        .expect("why we lose")
        .iter()
        .filter_map(|d| d["id"].as_str())
        .collect();
    assert_eq!(lose, ["demo", "price"]);

    // The funnel: every buyer was invited and answered, above the 25% survey target.
    let funnel = app
        .get_as(&analyst, "/api/v1/analytics/funnel?by=segment")
        .await;
    assert_eq!(funnel.status, 200, "{}", funnel.body);
    for segment in ["enterprise", "mid_market"] {
        let invited = answered.iter().filter(|a| a.segment == segment).count();
        let figure = group(&funnel.body, segment);
        assert_eq!(figure["invited"], invited, "{segment}");
        assert_eq!(figure["sent"], invited, "{segment}");
        assert_eq!(figure["completed"], invited, "{segment}");
        assert_eq!(figure["participation"], 1.0);
        assert_eq!(figure["target"], 0.25);
        assert_eq!(figure["meets_target"], true);
    }
    let by_outcome = app
        .get_as(&analyst, "/api/v1/analytics/funnel?by=outcome&from=2026-08")
        .await;
    let lost_since_august = answered
        .iter()
        .filter(|a| a.outcome == "lost" && a.month.as_str() >= "2026-08")
        .count();
    assert_eq!(
        group(&by_outcome.body, "lost")["completed"],
        lost_since_august
    );

    // Bad parameters are named.
    for (path, field) in [
        ("/api/v1/analytics/nps?by=colour", "by"),
        ("/api/v1/analytics/nps?from=2026-13", "from"),
        ("/api/v1/analytics/nps?from=2026-09&to=2026-08", "to"),
        ("/api/v1/analytics/drivers?outcome=maybe", "outcome"),
        ("/api/v1/analytics/drivers?colour=red", "colour"),
        ("/api/v1/analytics/nps?by=month&by=quarter", "by"),
        ("/api/v1/analytics/verbatims?driver=weather", "driver"),
        ("/api/v1/analytics/verbatims?limit=50", "limit"),
        (
            "/api/v1/analytics/funnel?competitor=Northwind",
            "competitor",
        ),
        ("/api/v1/analytics/funnel?by=colour", "by"),
        ("/api/v1/analytics/nps?region=*", "region"),
        ("/api/v1/analytics/drivers?product_line=", "product_line"),
        ("/api/v1/analytics/declined?region=EMEA", "region"),
    ] {
        let refused = app.get_as(&analyst, path).await;
        assert_eq!(refused.status, 422, "{path}: {}", refused.body);
        assert_eq!(refused.error_fields(), [field], "{path}");
    }
}

async fn the_strongest_words_and_the_unmet_needs_are_listed_largest_first(mut app: TestApp) {
    app.put_program(&crate::program::win_loss_program()).await;
    let analyst = app.key_with_role(Role::Analyst).await;
    // Three buyers whose requests we declined say what they needed.
    let needs = [
        (
            "D-1",
            "Nous avions besoin d'une intégration SAP. Le reste convenait.",
        ),
        ("D-2", "Il nous fallait une intégration avec notre ERP."),
        ("D-3", "Les délais de mise en œuvre étaient trop longs."),
    ];
    for (n, (crm_id, text)) in needs.iter().enumerate() {
        let mut deal = lost_deal(crm_id);
        deal["outcome"] = json!("declined");
        deal["account"]["name"] = json!(format!("Declined {n}"));
        deal["contacts"][0]["email"] = json!(format!("need{n}@elsewhere.example"));
        deal["persona"] = json!(if n == 0 { "CIO" } else { "VP Sales" });
        assert_eq!(app.post_decision(&deal).await.status, 201);
        let token = app.deliver_and_read_invitation().await.token();
        let done = app
            .complete_survey(
                &token,
                json!([
                    { "question": "needed", "value": text },
                    { "question": "instead", "value": "other_vendor" },
                ]),
            )
            .await;
        assert_eq!(done.status, 201, "{}", done.text);
    }
    let queue = app.get_as(&analyst, "/api/v1/insights/queue").await;
    let mut implementation = None;
    for text in queue.body["texts"].as_array().expect("texts") {
        let words = text["text"].as_str().expect("text");
        let (driver, excerpt) = if words.contains("intégration") {
            ("integration", words.split('.').next().expect("a sentence"))
        } else {
            (
                "implementation",
                "Les délais de mise en œuvre étaient trop longs",
            )
        };
        let coded = app
            .post_as(
                &analyst,
                "/api/v1/insights",
                &json!({ "response_id": text["response_id"], "question_id": "needed",
                         "driver": driver, "influence": -2, "excerpt": excerpt }),
            )
            .await;
        assert_eq!(coded.status, 201, "{}", coded.body);
        if driver == "implementation" {
            implementation = coded.body["id"].as_str().map(str::to_owned);
        }
    }
    let declined = app.get_as(&analyst, "/api/v1/analytics/declined").await;
    assert_eq!(declined.status, 200, "{}", declined.body);
    assert_eq!(declined.body["answered"], 3);
    assert_eq!(declined.body["coded"], 3);
    assert_eq!(declined.body["instead"]["other_vendor"], 3);
    let needs = declined.body["unmet_needs"].as_array().expect("needs");
    assert_eq!(needs[0]["driver"], "integration");
    assert_eq!(needs[0]["requests"], 2);
    assert_eq!(needs[0]["by_requester"], json!({ "CIO": 1, "VP Sales": 1 }));
    let mut examples: Vec<&str> = needs[0]["examples"]
        .as_array()
        .expect("examples")
        .iter()
        .filter_map(|e| e.as_str())
        .collect();
    examples.sort_unstable();
    assert_eq!(
        examples,
        [
            "Il nous fallait une intégration avec notre ERP",
            "Nous avions besoin d'une intégration SAP"
        ]
    );
    assert_eq!(needs[1]["driver"], "implementation");

    // The analyst takes one coding back: the need it made goes with it.
    let id = implementation.expect("the implementation coding's id");
    let gone = app
        .delete_as(&analyst, &format!("/api/v1/insights/{id}"))
        .await;
    assert!(gone.status < 300, "{}", gone.body);
    let declined = app.get_as(&analyst, "/api/v1/analytics/declined").await;
    assert_eq!(declined.body["answered"], 3);
    assert_eq!(declined.body["coded"], 2);
    let needs = declined.body["unmet_needs"].as_array().expect("needs");
    assert_eq!(needs.len(), 1, "{needs:?}");
    assert_eq!(needs[0]["driver"], "integration");

    let words = app
        .get_as(
            &analyst,
            "/api/v1/analytics/verbatims?driver=integration&limit=1",
        )
        .await;
    assert_eq!(words.status, 200, "{}", words.body);
    let integration = words.body["by_driver"]["integration"]
        .as_array()
        .expect("words");
    assert_eq!(integration.len(), 1);
    assert!(
        integration[0]["excerpt"]
            .as_str()
            .is_some_and(|e| e.contains("intégration")),
        "{integration:?}"
    );
}

async fn the_aggregates_equal_a_recount_after_concurrent_coding(mut app: TestApp) {
    use debrief_server::analytics::rollups;
    use debrief_server::insights::coding;
    use debrief_server::surveys::definitions::Definitions;
    app.put_program(&quarter_program()).await;
    let start = chrono::NaiveDate::from_ymd_opt(2026, 7, 6).expect("a Monday");
    a_season(&mut app, start, 4, 6, &usual_score).await;
    let analyst = app.key_with_role(Role::Analyst).await;
    // Read here rather than from the queue, whose reading would have the coder claim
    // every response first.
    let texts: Vec<String> = sqlx::query_as::<_, (String,)>(
        "select id from responses where coded_at is null order by id",
    )
    .fetch_all(app.db.pool())
    .await
    .expect("responses")
    .into_iter()
    .map(|(id,)| id)
    .collect();
    assert_eq!(
        texts.len(),
        24,
        "nothing coded yet: every answer is waiting"
    );

    // Two coders (as two instances would run) claim the ratings while analysts code
    // the same responses' words, and take back every other coding.
    let coder = |db: debrief_server::platform::db::Db, now| async move {
        coding::catch_up(&db, &Definitions::default(), now)
            .await
            .expect("coding")
    };
    let now = app.clock.now();
    let first = tokio::spawn(coder(app.db.clone(), now));
    let second = tokio::spawn(coder(app.db.clone(), now));
    let analysts = texts.iter().enumerate().map(|(n, response)| {
        let app = &app;
        let analyst = &analyst;
        async move {
            let coded = app
                .post_as(
                    analyst,
                    "/api/v1/insights",
                    &json!({ "response_id": response, "question_id": "anything_else",
                             "driver": if n % 3 == 0 { "demo" } else { "price" },
                             "influence": -1, "excerpt": "Le prix comptait." }),
                )
                .await;
            assert_eq!(coded.status, 201, "{}", coded.body);
            if n % 2 == 0 {
                let id = coded.body["id"].as_str().expect("id");
                let removed = app
                    .delete_as(analyst, &format!("/api/v1/insights/{id}"))
                    .await;
                assert_eq!(removed.status, 204);
            }
        }
    });
    futures_util::future::join_all(analysts).await;
    // On PostgreSQL a coder skips a response an analyst holds locked: the background
    // coder (here, a last catch-up) codes it after.
    let coded = first.await.expect("first coder")
        + second.await.expect("second coder")
        + coding::catch_up(&app.db, &Definitions::default(), now)
            .await
            .expect("coding");
    assert_eq!(coded, 24, "each response coded once");
    // The queue holds the words whose coding was taken back (every other one), and none
    // of those coded, whichever of the coder and the analyst went first.
    let waiting = app
        .get_as(&analyst, "/api/v1/insights/queue?limit=200")
        .await;
    let mut waiting: Vec<&str> = waiting.body["texts"]
        .as_array()
        .expect("texts")
        .iter()
        .filter_map(|t| t["response_id"].as_str())
        .collect();
    waiting.sort_unstable();
    let taken_back: Vec<&str> = texts.iter().step_by(2).map(String::as_str).collect();
    let mut expected = taken_back.clone();
    expected.sort_unstable();
    assert_eq!(waiting, expected);
    let stored = rollups::stored(&app.db).await.expect("stored");
    // The funnel too counts each invitation once, whoever folded it.
    let folds = tokio::join!(
        debrief_server::analytics::funnel::catch_up(&app.db),
        debrief_server::analytics::funnel::catch_up(&app.db)
    );
    assert_eq!(folds.0.expect("fold") + folds.1.expect("fold"), 24);
    let (invited, completed): (i64, i64) = sqlx::query_as(
        "select cast(sum(invited) as bigint), cast(sum(completed) as bigint) from funnel_rollup
         where segment_key = '*' and region = '*' and product_line = '*'",
    )
    .fetch_one(app.db.pool())
    .await
    .expect("funnel");
    assert_eq!((invited, completed), (24, 24));
    assert_eq!(stored, rollups::recount(&app.db).await.expect("recount"));
    assert_ne!(stored, rollups::Deltas::default());
}

both_backends!(
    a_quarter_of_answers_reads_the_same_on_every_dashboard,
    the_aggregates_equal_a_recount_after_concurrent_coding,
    the_strongest_words_and_the_unmet_needs_are_listed_largest_first,
);

/// A deal decided on `day` (lost, against `competitor`), whose buyer answers `score`.
pub struct Answer<'a> {
    pub outcome: &'a str,
    pub competitor: Option<&'a str>,
    pub score: i64,
}

/// Posts the deals decided on `day` (in EMEA and NA alternately, the first in EMEA),
/// delivers their invitations the next morning, and has every buyer answer; `tag` keeps
/// CRM ids and addresses apart between calls.
pub async fn decide_and_answer(
    app: &mut TestApp,
    day: chrono::NaiveDate,
    tag: &str,
    deals: &[Answer<'_>],
) {
    decide_and_rate(app, day, tag, deals, |_| None).await;
}

/// As [`decide_and_answer`], each buyer also rating the drivers `ratings` gives them
/// (driver → influence), which the coder turns into coded insights.
pub async fn decide_and_rate(
    app: &mut TestApp,
    day: chrono::NaiveDate,
    tag: &str,
    deals: &[Answer<'_>],
    ratings: impl Fn(&Answer<'_>) -> Option<Value>,
) {
    app.set_clock(&format!("{day}T09:00:00Z"));
    let mut scores = BTreeMap::new();
    for (n, deal) in deals.iter().enumerate() {
        let mut posted = lost_deal(&format!("{tag}-{n}"));
        posted["outcome"] = json!(deal.outcome);
        posted["decided_at"] = json!(format!("{day}T08:00:00Z"));
        posted["strategic"] = json!(false);
        posted["amount"]["minor_units"] = json!(1_500_000);
        posted["competitors"] = json!(deal.competitor.into_iter().collect::<Vec<_>>());
        posted["account"]["name"] = json!(format!("Account {tag}-{n}"));
        // Two regions, alternately; one product line.
        posted["region"] = json!(if n % 2 == 0 { "EMEA" } else { "NA" });
        posted["product_line"] = json!("Forecasting");
        let email = format!("buyer-{n}@{tag}.example").to_lowercase();
        posted["contacts"][0]["email"] = json!(email);
        let reply = app.post_decision(&posted).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        scores.insert(email, (deal.score, ratings(deal)));
    }
    app.set_clock(&format!("{}T10:00:00Z", day + chrono::Duration::days(1)));
    app.deliver().await;
    for _ in deals {
        let mail = app.next_invitation().await;
        let (score, rated) = scores[&mail.to[0]].clone();
        let mut answers = vec![
            json!({ "question": "nps", "value": score }),
            json!({ "question": "reasons", "value": ["product_fit"] }),
            json!({ "question": "consent", "value": true }),
        ];
        if let Some(rated) = rated {
            answers.push(json!({ "question": "drivers", "value": rated }));
        }
        let done = app.complete_survey(&mail.token(), json!(answers)).await;
        assert_eq!(done.status, 201, "{}", done.text);
    }
}
