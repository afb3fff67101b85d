//! An account manager asks whom to invite to an interview about a decided deal: the
//! buyers who can explain the final choice come first, with the reason, and whoever
//! cannot be asked is flagged.

use crate::program::win_loss_program;
use debrief_server::auth::Role;
use debrief_tests::{both_backends, lost_deal, TestApp};
use serde_json::{json, Value};

/// A strategic loss with four buyers; the CRM lists the sales contact first.
fn strategic_loss() -> Value {
    let mut deal = lost_deal("S-1");
    deal["amount"]["minor_units"] = json!(8_000_000);
    deal["contacts"] = json!([
        { "name": "Sam Sales", "email": "sam@globex.example", "role": "Sales contact",
          "locale": "en", "time_zone": "Europe/London" },
        { "name": "Eve Tan", "email": "eve@globex.example", "role": "Technical evaluator",
          "locale": "en", "time_zone": "Europe/London" },
        { "name": "Lee Park", "email": "lee@globex.example", "role": "CEO",
          "locale": "en", "time_zone": "Europe/London" },
        { "name": "Camille Martin", "email": "camille@globex.example", "role": "Economic buyer",
          "locale": "fr-FR", "time_zone": "Europe/Paris" }
    ]);
    deal
}

const PATH: &str = "/api/v1/deals/S-1/interview-candidates";

fn names(body: &Value, filter: impl Fn(&Value) -> bool) -> Vec<String> {
    body["candidates"]
        .as_array()
        .expect("candidates")
        .iter()
        .filter(|c| filter(c))
        .map(|c| c["name"].as_str().expect("name").to_owned())
        .collect()
}

async fn the_people_who_decided_come_first_and_blocked_ones_are_flagged(app: TestApp) {
    app.put_program(&win_loss_program()).await;
    let reply = app.post_decision(&strategic_loss()).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let ana = app.manager_key("Ana Duarte", "ana@acme.example").await;

    let candidates = app.get_as(&ana, PATH).await;
    assert_eq!(candidates.status, 200, "{}", candidates.text);
    assert_eq!(
        names(&candidates.body, |_| true),
        ["Lee Park", "Camille Martin", "Eve Tan", "Sam Sales"],
        "decision maker, economic buyer, evaluator, then the sales contact"
    );
    let lee = &candidates.body["candidates"][0];
    assert_eq!(lee["buying_role"], "decision_maker");
    assert_eq!(lee["reason"], "Decision maker: made the final call");
    // The program's strategic segment already invited its two deciders.
    for invited in &candidates.body["candidates"]
        .as_array()
        .expect("candidates")[..2]
    {
        assert_eq!(invited["already_invited"][0]["kind"], "interview");
        assert_eq!(invited["suggested"], false);
    }
    assert_eq!(
        names(&candidates.body, |c| c["suggested"] == true),
        ["Eve Tan"]
    );

    // Eve asks not to be contacted: she is flagged, and the next best is suggested.
    let suppressed = app
        .post_as(
            &app.api_key,
            "/api/v1/suppressions",
            &json!({ "email": "eve@globex.example" }),
        )
        .await;
    assert_eq!(suppressed.status, 201, "{}", suppressed.text);
    let candidates = app.get_as(&ana, PATH).await;
    assert_eq!(candidates.body["candidates"][2]["suppressed"], "staff");
    assert_eq!(
        names(&candidates.body, |c| c["suggested"] == true),
        ["Sam Sales"]
    );
}

async fn only_the_deals_manager_and_program_staff_see_its_candidates(app: TestApp) {
    app.put_program(&win_loss_program()).await;
    assert_eq!(app.post_decision(&strategic_loss()).await.status, 201);
    let ana = app.manager_key("Ana Duarte", "ana@acme.example").await;
    let bob = app.manager_key("Bob Stone", "bob@acme.example").await;
    assert_eq!(app.get_as(&ana, PATH).await.status, 200);

    // Bob manages other accounts: a 403 that says nothing of this one, the same as for a
    // deal that does not exist.
    let theirs = app.get_as(&bob, PATH).await;
    let unknown = app
        .get_as(&bob, "/api/v1/deals/NO-SUCH-DEAL/interview-candidates")
        .await;
    assert_eq!((theirs.status, unknown.status), (403, 403));
    assert_eq!(theirs.body, unknown.body);
    for secret in ["Globex", "S-1", "lee@globex.example", "lost"] {
        assert!(
            !theirs.text.contains(secret),
            "{secret} leaked: {}",
            theirs.text
        );
    }

    for (role, status) in [
        (Role::Admin, 200),
        (Role::ProgramOwner, 200),
        (Role::Analyst, 403),
        (Role::Integration, 403),
    ] {
        let key = app.key_with_role(role).await;
        assert_eq!(app.get_as(&key, PATH).await.status, status, "{role:?}");
    }
    let missing = app
        .get_as(
            &app.api_key,
            "/api/v1/deals/NO-SUCH-DEAL/interview-candidates",
        )
        .await;
    assert_eq!(missing.status, 404);
}

both_backends!(
    the_people_who_decided_come_first_and_blocked_ones_are_flagged,
    only_the_deals_manager_and_program_staff_see_its_candidates,
);
