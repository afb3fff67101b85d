//! A program owner watches participation and NPS, overall and by outcome.

use debrief_tests::{both_backends, lost_deal, TestApp};
use serde_json::json;

async fn participation_and_nps_add_up_by_outcome(mut app: TestApp) {
    let mut won = lost_deal("P-WON");
    won["outcome"] = json!("won");
    won["contacts"] = json!([
        { "name": "Dana", "email": "dana@initech.example", "locale": "en", "time_zone": "America/New_York" },
        { "name": "Eli", "email": "eli@initech.example", "locale": "en", "time_zone": "America/Chicago" }
    ]);
    app.post_decision(&won).await;
    app.post_decision(&lost_deal("P-LOST")).await;
    assert_eq!(app.deliver().await.sent, 3);
    let mut tokens = std::collections::HashMap::new();
    for _ in 0..3 {
        let invitation = app.next_invitation().await;
        tokens.insert(invitation.to[0].clone(), invitation.token());
    }
    app.post_response(&tokens["dana@initech.example"], &json!({ "nps": 10 }))
        .await;
    app.post_response(
        &tokens["camille@globex.example"],
        &json!({ "nps": 3, "reason": "Prix" }),
    )
    .await;
    app.get_survey(&tokens["eli@initech.example"]).await;

    let p = app.participation().await;
    assert_eq!(p.status, 200);
    let overall = &p.body["overall"];
    assert_eq!(overall["invited"], 3);
    assert_eq!(overall["sent"], 3);
    assert_eq!(overall["opened"], 3);
    assert_eq!(overall["completed"], 2);
    assert_eq!(overall["rates"]["completed"], 0.667);
    assert_eq!(overall["nps"]["sample_size"], 2);
    assert_eq!(overall["nps"]["score"], 0.0, "one promoter, one detractor");

    let won = &p.body["by_outcome"]["won"];
    assert_eq!(
        (won["invited"].clone(), won["completed"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(won["nps"]["score"], 100.0);
    assert_eq!(p.body["by_outcome"]["lost"]["nps"]["score"], -100.0);
    assert_eq!(
        p.body["by_outcome"]["declined"]["rates"]["completed"],
        json!(null)
    );
    assert_eq!(
        p.body["by_outcome"]["declined"]["nps"]["score"],
        json!(null)
    );
}

both_backends!(participation_and_nps_add_up_by_outcome);
