//! The coded store, as analysts use it: a buyer's driver ratings are coded on their own;
//! an analyst codes the buyer's free text from the queue, helped by suggestions, quoting
//! the buyer's exact words; the program reshapes the taxonomy without losing what was
//! coded; and the lexicon is tuned against how often analysts agree with it.

use debrief_server::auth::Role;
use debrief_tests::{both_backends, lost_deal, TestApp};
use serde_json::{json, Value};

const PRICE_TEXT: &str =
    "Le prix était trop élevé pour nous. Et l'intégration avec notre CRM manquait.";
const COMPETITOR_TEXT: &str = "Northwind avait une meilleure démo.";

/// Camille lost the deal to Northwind and answers the whole survey.
async fn camille_answers(app: &mut TestApp) -> String {
    app.post_decision(&lost_deal("A-1")).await;
    let token = app.deliver_and_read_invitation().await.token();
    let done = app
        .complete_survey(
            &token,
            json!([
                { "question": "nps", "value": 4 },
                { "question": "reasons", "value": ["price"] },
                { "question": "price_what_else", "value": PRICE_TEXT },
                { "question": "drivers", "value": {
                    "price": "very_negative", "integration": "negative",
                    "demo": "positive", "trust": "not_a_factor" } },
                { "question": "why_competitor", "value": COMPETITOR_TEXT },
                { "question": "consent", "value": true },
            ]),
        )
        .await;
    assert_eq!(done.status, 201, "{}", done.text);
    token
}

fn drivers(page: &Value) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = page["insights"]
        .as_array()
        .expect("insights")
        .iter()
        .map(|i| {
            (
                i["driver"].as_str().unwrap_or("").to_owned(),
                i["influence"].as_i64().unwrap_or(99),
            )
        })
        .collect();
    out.sort();
    out
}

fn queued<'a>(queue: &'a Value, question: &str) -> Option<&'a Value> {
    queue["texts"]
        .as_array()?
        .iter()
        .find(|t| t["question_id"] == question)
}

async fn insight_count(app: &TestApp) -> i64 {
    app.count("insights").await
}

async fn a_buyers_ratings_are_coded_and_an_analyst_codes_their_words(mut app: TestApp) {
    camille_answers(&mut app).await;
    let analyst = app.key_with_role(Role::Analyst).await;

    // The ratings are coded as she gave them, with the deal as it stood; "not a factor"
    // is no mention.
    let ratings = app.get_as(&analyst, "/api/v1/insights?source=matrix").await;
    assert_eq!(ratings.status, 200, "{}", ratings.body);
    assert_eq!(
        drivers(&ratings.body),
        [
            ("demo".to_owned(), 1),
            ("integration".to_owned(), -1),
            ("price".to_owned(), -2)
        ]
    );
    let first = &ratings.body["insights"][0];
    assert_eq!(first["deal"]["outcome"], "lost");
    assert_eq!(first["deal"]["deal_competitor"], "Northwind");
    assert_eq!(first["deal"]["region"], "EMEA");
    assert_eq!(first["deal"]["amount_band"], "10k_to_50k");
    assert!(first["deal"]["month"].is_string(), "{first}");
    assert_eq!(first["method"], "survey");
    assert_eq!(first["excerpt"], Value::Null);

    // Her words wait in the queue, with the drivers the French lexicon suggests, each
    // quoting the sentence it was found in.
    let queue = app.get_as(&analyst, "/api/v1/insights/queue").await;
    assert_eq!(queue.status, 200, "{}", queue.body);
    let text = queued(&queue.body, "price_what_else").expect("her answer is queued");
    assert_eq!(text["text"], PRICE_TEXT);
    assert_eq!(text["locale"], "fr");
    let suggestions = text["suggestions"].as_array().expect("suggestions");
    assert_eq!(suggestions[0]["driver"], "price");
    assert_eq!(
        suggestions[0]["excerpt"],
        "Le prix était trop élevé pour nous."
    );
    assert!(
        suggestions.iter().any(|s| s["driver"] == "integration"),
        "{suggestions:?}"
    );
    let response_id = text["response_id"].as_str().expect("response").to_owned();

    // Wrong codings are refused, naming the field, and store nothing.
    let coding = |driver: &str, influence: i64, excerpt: &str| {
        json!({
            "response_id": response_id, "question_id": "price_what_else",
            "driver": driver, "influence": influence, "excerpt": excerpt,
            "tags": ["pricing", "competition"], "competitor": "Northwind", "suggested": true,
        })
    };
    let before = insight_count(&app).await;
    for (body, field) in [
        (
            coding("weather", -2, "Le prix était trop élevé pour nous."),
            "driver",
        ),
        (
            coding("price", 3, "Le prix était trop élevé pour nous."),
            "influence",
        ),
        (
            coding("price", -2, "Le prix était bien trop élevé"),
            "excerpt",
        ),
        (coding("price", -2, ""), "excerpt"),
        (
            json!({ "response_id": response_id, "question_id": "nps", "driver": "price",
                    "influence": -2, "excerpt": "4" }),
            "question_id",
        ),
        (
            json!({ "response_id": "nobody", "question_id": "price_what_else",
                    "driver": "price", "influence": -2, "excerpt": "prix" }),
            "response_id",
        ),
    ] {
        let refused = app.post_as(&analyst, "/api/v1/insights", &body).await;
        assert_eq!(refused.status, 422, "{body}: {}", refused.body);
        assert_eq!(refused.error_fields(), [field], "{body}");
    }
    let mut tagged = coding("price", -2, "Le prix était trop élevé pour nous.");
    tagged["tags"] = json!(["Pricing!"]);
    let refused = app.post_as(&analyst, "/api/v1/insights", &tagged).await;
    assert_eq!(refused.error_fields(), ["tags"]);
    assert_eq!(insight_count(&app).await, before);

    // She said two things in one answer: a deal is not one reason.
    for (driver, influence, excerpt) in [
        ("price", -2, "Le prix était trop élevé pour nous."),
        ("integration", -1, "l'intégration avec notre CRM manquait"),
    ] {
        let coded = app
            .post_as(
                &analyst,
                "/api/v1/insights",
                &coding(driver, influence, excerpt),
            )
            .await;
        assert_eq!(coded.status, 201, "{}", coded.body);
        assert_eq!(coded.body["deal"]["outcome"], "lost");
        assert_eq!(coded.body["competitor"], "Northwind");
        assert_eq!(coded.body["tags"], json!(["competition", "pricing"]));
    }
    let queue = app.get_as(&analyst, "/api/v1/insights/queue").await;
    assert!(
        queued(&queue.body, "price_what_else").is_none(),
        "coded: out of the queue"
    );

    // The other answer holds nothing to code for this analyst: set aside.
    assert!(queued(&queue.body, "why_competitor").is_some());
    let review = json!({ "response_id": response_id, "question_id": "why_competitor" });
    let reviewed = app
        .post_as(&analyst, "/api/v1/insights/reviews", &review)
        .await;
    assert_eq!(reviewed.status, 204, "{}", reviewed.body);
    let queue = app.get_as(&analyst, "/api/v1/insights/queue").await;
    assert!(queued(&queue.body, "why_competitor").is_none());

    // The lexicon suggested price and integration, which she coded, and demo for the
    // answer set aside: two of three suggestions taken.
    let agreement = app.get_as(&analyst, "/api/v1/insights/agreement").await;
    assert_eq!(agreement.status, 200, "{}", agreement.body);
    assert_eq!(agreement.body["texts"], 2);
    assert_eq!(agreement.body["suggested"], 3);
    assert_eq!(agreement.body["agreed"], 2);
    assert_eq!(agreement.body["agreement_rate"], 0.667);
    assert_eq!(agreement.body["coverage"], 1.0);

    // Listed by driver, with the buyer's words and tags.
    let price = app
        .get_as(&analyst, "/api/v1/insights?driver=price&source=analyst")
        .await;
    assert_eq!(
        price.body["insights"][0]["excerpt"],
        "Le prix était trop élevé pour nous."
    );
    assert_eq!(price.body["insights"][0]["suggested"], true);
    let tagged = app.get_as(&analyst, "/api/v1/insights?tag=pricing").await;
    assert_eq!(drivers(&tagged.body).len(), 2);

    // An analyst's correction removes their insight; a rating stays as the buyer gave it.
    let id = price.body["insights"][0]["id"].as_str().expect("id");
    let removed = app
        .delete_as(&analyst, &format!("/api/v1/insights/{id}"))
        .await;
    assert_eq!(removed.status, 204);
    let rating = ratings.body["insights"][0]["id"].as_str().expect("id");
    let kept = app
        .delete_as(&analyst, &format!("/api/v1/insights/{rating}"))
        .await;
    assert_eq!(kept.status, 409);
    assert_eq!(insight_count(&app).await, before + 1);
}

async fn the_taxonomy_is_reshaped_and_what_was_coded_keeps_its_meaning(mut app: TestApp) {
    camille_answers(&mut app).await;
    let owner = app.key_with_role(Role::ProgramOwner).await;
    let first = app.get_as(&owner, "/api/v1/insights/taxonomy").await;
    assert_eq!(first.body["version"], 0);
    assert_eq!(
        first.body["taxonomy"]["drivers"].as_array().map(Vec::len),
        Some(22)
    );

    // A week later, integration and security become one driver; "demo" gets a clearer
    // name.
    app.clock.advance(chrono::Duration::days(7));
    let changes = json!({ "changes": [
        { "op": "merge", "drivers": ["integration", "security"], "into": "platform",
          "family": "product_service",
          "label": { "en": "Platform: integration and security",
                     "fr": "Plateforme : intégration et sécurité" } },
        { "op": "rename", "driver": "demo",
          "label": { "en": "Demo and trial", "fr": "Démo et essai" } },
    ]});
    let changed = app
        .post_as(&owner, "/api/v1/insights/taxonomy/changes", &changes)
        .await;
    assert_eq!(changed.status, 201, "{}", changed.body);
    assert_eq!(changed.body["version"], 1);

    // Camille's integration rating now counts under the platform driver; her demo rating
    // reads the new name through its unchanged id.
    let platform = app.get_as(&owner, "/api/v1/insights?driver=platform").await;
    assert_eq!(platform.status, 200, "{}", platform.body);
    assert_eq!(drivers(&platform.body), [("integration".to_owned(), -1)]);
    assert_eq!(platform.body["insights"][0]["counts_as"], "platform");
    assert_eq!(platform.body["insights"][0]["taxonomy_version"], 0);

    // The version before is kept as it was.
    let before = app
        .get_as(&owner, "/api/v1/insights/taxonomy/versions/0")
        .await;
    let integration = before.body["taxonomy"]["drivers"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["id"] == "integration").cloned())
        .expect("integration in version 0");
    assert_eq!(integration["status"], "active");

    // A retired driver is no longer coded; the refusal says what to do instead.
    let queue = app.get_as(&owner, "/api/v1/insights/queue").await;
    let text = queued(&queue.body, "price_what_else").expect("queued");
    assert!(
        text["suggestions"]
            .as_array()
            .expect("suggestions")
            .iter()
            .any(|s| s["driver"] == "platform"),
        "the lexicon's integration words suggest the merged driver: {text}"
    );
    let refused = app
        .post_as(
            &owner,
            "/api/v1/insights",
            &json!({ "response_id": text["response_id"], "question_id": "price_what_else",
                     "driver": "integration", "influence": -1,
                     "excerpt": "l'intégration avec notre CRM manquait" }),
        )
        .await;
    assert_eq!(refused.status, 422);
    assert_eq!(refused.error_fields(), ["driver"]);
    assert!(refused.text.contains("retired"), "{}", refused.text);

    // Changes that break the taxonomy's shape are refused, and store no version.
    for (body, field) in [
        (
            json!({ "changes": [{ "op": "retire", "driver": "roi" }] }),
            "drivers",
        ),
        (
            json!({ "changes": [{ "op": "retire", "driver": "integration" }] }),
            "changes[0].driver",
        ),
        (
            json!({ "changes": [{ "op": "add", "family": "company", "id": "security",
                               "label": { "en": "Again", "fr": "Encore" } }] }),
            "changes[0].id",
        ),
        (json!({ "changes": [] }), "changes"),
    ] {
        let refused = app
            .post_as(&owner, "/api/v1/insights/taxonomy/changes", &body)
            .await;
        assert_eq!(refused.status, 422, "{body}: {}", refused.body);
        assert_eq!(refused.error_fields(), [field], "{body}");
    }
    let now = app.get_as(&owner, "/api/v1/insights/taxonomy").await;
    assert_eq!(now.body["version"], 1);
}

async fn the_program_tunes_the_lexicon(mut app: TestApp) {
    camille_answers(&mut app).await;
    let analyst = app.key_with_role(Role::Analyst).await;
    let builtin = app.get_as(&analyst, "/api/v1/insights/lexicons/fr").await;
    assert_eq!(builtin.status, 200);
    assert!(builtin.body["entries"].as_array().map_or(0, Vec::len) > 40);

    let lexicon = json!({ "entries": [
        { "phrase": "meilleure démo", "driver": "demo", "influence": -1 },
        { "phrase": "CRM", "driver": "integration" },
    ]});
    let stored = app
        .put_as(&analyst, "/api/v1/insights/lexicons/fr", &lexicon, None)
        .await;
    assert_eq!(stored.status, 200, "{}", stored.body);
    let queue = app.get_as(&analyst, "/api/v1/insights/queue").await;
    let price = queued(&queue.body, "price_what_else").expect("queued");
    let suggested: Vec<&str> = price["suggestions"]
        .as_array()
        .expect("suggestions")
        .iter()
        .filter_map(|s| s["driver"].as_str())
        .collect();
    assert_eq!(
        suggested,
        ["integration"],
        "price is no longer in the lexicon"
    );
    let demo = &queued(&queue.body, "why_competitor").expect("queued")["suggestions"][0];
    assert_eq!(demo["driver"], "demo");
    assert_eq!(demo["influence"], -1);

    for (body, field) in [
        (
            json!({ "entries": [{ "phrase": "x", "driver": "weather" }] }),
            "entries[0].driver",
        ),
        (
            json!({ "entries": [{ "phrase": "  ", "driver": "demo" }] }),
            "entries[0].phrase",
        ),
        (
            json!({ "entries": [{ "phrase": "Démo", "driver": "demo" },
                                { "phrase": "demo", "driver": "trust" }] }),
            "entries[1].phrase",
        ),
        (
            json!({ "entries": [{ "phrase": "x", "driver": "demo", "influence": 5 }] }),
            "entries[0].influence",
        ),
    ] {
        let refused = app
            .put_as(&analyst, "/api/v1/insights/lexicons/fr", &body, None)
            .await;
        assert_eq!(refused.status, 422, "{body}: {}", refused.body);
        assert_eq!(refused.error_fields(), [field], "{body}");
    }
    let kept = app.get_as(&analyst, "/api/v1/insights/lexicons/fr").await;
    assert_eq!(
        kept.body, lexicon,
        "a refused lexicon leaves the stored one"
    );
    let unknown = app.get_as(&analyst, "/api/v1/insights/lexicons/de").await;
    assert_eq!(unknown.error_fields(), ["locale"]);
    let limit = app.get_as(&analyst, "/api/v1/insights?limit=0").await;
    assert_eq!(limit.error_fields(), ["limit"]);
    let unknown = app.get_as(&analyst, "/api/v1/insights?sort=driver").await;
    assert_eq!(unknown.error_fields(), ["sort"]);
}

both_backends!(
    a_buyers_ratings_are_coded_and_an_analyst_codes_their_words,
    the_taxonomy_is_reshaped_and_what_was_coded_keeps_its_meaning,
    the_program_tunes_the_lexicon,
);
