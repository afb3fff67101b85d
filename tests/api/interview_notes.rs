//! After the conversation, the interviewer notes it against the guide: notes and the
//! buyer's exact words per stage, the NPS, how long it took. That completes it and earns
//! the incentive. A no-show or a call-off closes it instead, and the offer lapses.

use crate::program::win_loss_program;
use debrief_server::auth::Role;
use debrief_tests::{both_backends, camille_and_lee, lost_deal, TestApp};
use serde_json::{json, Value};

/// Ivy publishes Tuesday mornings; Camille and Lee, a strategic loss's deciders, are
/// invited (with 100 EUR) and book the first two slots. Ivy's key and the two interviews'
/// ids, Camille's first.
pub(crate) async fn two_booked_interviews(app: &mut TestApp) -> (String, String, String) {
    app.set_clock("2026-11-29T17:00:00Z");
    let (ivy, _) = app.ivy_on_tuesday_mornings().await;
    app.put_program(&win_loss_program()).await;
    let mut deal = lost_deal("S-1");
    deal["amount"]["minor_units"] = json!(8_000_000);
    deal["decided_at"] = json!("2026-11-29T15:00:00Z");
    deal["contacts"] = camille_and_lee();
    assert_eq!(app.post_decision(&deal).await.status, 201);
    assert_eq!(app.deliver().await.sent, 2);
    let mut booked = Vec::new();
    for _ in 0..2 {
        let mail = app.next_invitation().await;
        booked.push((mail.to[0].clone(), mail.booking_token()));
    }
    booked.sort();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    for ((_, token), slot) in booked
        .iter()
        .zip(["2026-12-01T14:00:00Z", "2026-12-01T15:00:00Z"])
    {
        let reply = client
            .post(format!("{}/i/{token}", app.address))
            .form(&[("slot", slot), ("tz", "Europe/Paris")])
            .send()
            .await
            .expect("booking");
        assert_eq!(reply.status(), 303);
    }
    let id_of = |email: &str| {
        let db = app.db.clone();
        let email = email.to_owned();
        async move {
            let (id,): (String,) = sqlx::query_as(
                "select i.id from invitations i join persons p on p.id = i.person_id
                 where p.email = $1 and i.kind = 'interview'",
            )
            .bind(email)
            .fetch_one(db.pool())
            .await
            .expect("interview");
            id
        }
    };
    let camille = id_of("camille@globex.example").await;
    let lee = id_of("lee@globex.example").await;
    (ivy, camille, lee)
}

pub(crate) fn notes() -> Value {
    json!({
        "guide_version": 0,
        "duration_minutes": 42,
        "nps": 6,
        "stages": [
            { "stage": "pricing", "notes": "Price was the reason given; the integration was the reason.",
              "verbatims": ["« Le prix n’était qu’un prétexte. »", "Your API <docs> were \"thin\"."] },
            { "stage": "conclusion", "notes": "Open to a call in Q2.", "verbatims": [] }
        ]
    })
}

async fn status_of(app: &TestApp, table: &str, id: &str) -> String {
    let (status,): (String,) = sqlx::query_as(&format!(
        "select status from {table} where {} = $1",
        if table == "invitations" {
            "id"
        } else {
            "invitation_id"
        }
    ))
    .bind(id)
    .fetch_one(app.db.pool())
    .await
    .expect("status");
    status
}

async fn the_interviewer_notes_the_interview_against_the_guide_and_the_incentive_is_earned(
    mut app: TestApp,
) {
    let (ivy, camille, lee) = two_booked_interviews(&mut app).await;
    let guide = app.get_as(&ivy, "/api/v1/interview-guide").await;
    assert_eq!(guide.status, 200);
    assert_eq!(guide.body["version"], 0);
    let stages = guide.body["guide"]["stages"].as_array().expect("stages");
    assert_eq!(stages.len(), 9);
    assert_eq!(stages[4]["key"], "pricing");
    assert!(stages[4]["five_whys"][0]["fr"].as_str().is_some());

    // Before it, nobody missed it yet.
    let early = app
        .post_as(
            &ivy,
            &format!("/api/v1/interviews/{lee}/no-show"),
            &json!({}),
        )
        .await;
    assert_eq!(
        early.status, 409,
        "a no-show only once the interview has begun"
    );

    // After the conversation, Ivy notes it.
    app.set_clock("2026-12-01T15:00:00Z");
    let path = format!("/api/v1/interviews/{camille}/notes");
    let noted = app.put_as(&ivy, &path, &notes(), None).await;
    assert_eq!(noted.status, 200, "{}", noted.text);
    assert_eq!(status_of(&app, "interviews", &camille).await, "completed");
    assert_eq!(status_of(&app, "invitations", &camille).await, "completed");
    assert_eq!(status_of(&app, "incentives", &camille).await, "earned");
    // The buyer's words come back exactly as typed.
    let read = app.get_as(&app.api_key, &path).await;
    assert_eq!(read.status, 200);
    let pricing = &read.body["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .find(|s| s["stage"] == "pricing")
        .expect("pricing")["verbatims"];
    assert_eq!(
        pricing,
        &json!([
            "« Le prix n’était qu’un prétexte. »",
            "Your API <docs> were \"thin\"."
        ])
    );
    assert_eq!(read.body["nps"], 6);

    // Too late to call it off: it has begun.
    let late = app
        .post_as(
            &app.api_key,
            &format!("/api/v1/interviews/{lee}/cancel"),
            &json!({}),
        )
        .await;
    assert_eq!(late.status, 409);
    // Lee did not come: a no-show, and his offer lapses; once is enough.
    let no_show = format!("/api/v1/interviews/{lee}/no-show");
    assert_eq!(app.post_as(&ivy, &no_show, &json!({})).await.status, 200);
    assert_eq!(status_of(&app, "interviews", &lee).await, "no_show");
    assert_eq!(status_of(&app, "incentives", &lee).await, "cancelled");
    let again = app.post_as(&ivy, &no_show, &json!({})).await;
    assert_eq!(
        (again.status, again.body["error"].as_str()),
        (409, Some("not_booked"))
    );
    let late_notes = app
        .put_as(
            &ivy,
            &format!("/api/v1/interviews/{lee}/notes"),
            &notes(),
            None,
        )
        .await;
    assert_eq!(late_notes.status, 409, "a no-show is not noted as held");
}

async fn bad_notes_are_refused_by_field_and_change_nothing(mut app: TestApp) {
    let (ivy, camille, _) = two_booked_interviews(&mut app).await;
    let path = format!("/api/v1/interviews/{camille}/notes");
    assert_eq!(app.put_as(&ivy, &path, &notes(), None).await.status, 200);
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut body = notes();
        edit(&mut body);
        body
    };
    for (body, field) in [
        (with(&|b| b["nps"] = json!(11)), "nps"),
        (
            with(&|b| b["duration_minutes"] = json!(0)),
            "duration_minutes",
        ),
        (with(&|b| b["guide_version"] = json!(99)), "guide_version"),
        (
            with(&|b| b["stages"][0]["stage"] = json!("weather")),
            "stages[0].stage",
        ),
        (
            with(&|b| b["stages"][0]["verbatims"] = json!([""])),
            "stages[0].verbatims[0]",
        ),
        (
            with(&|b| b["stages"][0]["mood"] = json!("good")),
            "stages[0].mood",
        ),
        (with(&|b| b["nps"] = json!("six")), "nps"),
    ] {
        let reply = app.put_as(&ivy, &path, &body, None).await;
        assert_eq!(reply.status, 422, "{body}: {}", reply.text);
        assert_eq!(reply.body["fields"][0]["field"], field, "{body}");
    }
    let kept = app.get_as(&ivy, &path).await;
    assert_eq!(kept.body["duration_minutes"], 42, "what was noted is kept");
    assert_eq!(
        app.put_as(&ivy, "/api/v1/interviews/no-such-id/notes", &notes(), None)
            .await
            .status,
        404
    );

    // A program owner edits the guide: the next version; a bad one names its field.
    let owner = app.key_with_role(Role::ProgramOwner).await;
    let mut guide = app.get_as(&owner, "/api/v1/interview-guide").await.body["guide"].clone();
    guide["stages"][0]["minutes"] = json!(5);
    let stored = app
        .put_as(&owner, "/api/v1/interview-guide", &guide, None)
        .await;
    assert_eq!(
        (stored.status, stored.body["version"].as_i64()),
        (200, Some(1))
    );
    guide["stages"][1]["key"] = json!("Not A Key");
    let refused = app
        .put_as(&owner, "/api/v1/interview-guide", &guide, None)
        .await;
    assert_eq!(refused.status, 422);
    assert_eq!(refused.body["fields"][0]["field"], "stages[1].key");
    let v0 = app
        .get_as(&owner, "/api/v1/interview-guide/versions/0")
        .await;
    assert_eq!(
        v0.body["guide"]["stages"][0]["minutes"], 3,
        "the built-in guide stays"
    );
    assert_eq!(
        app.get_as(&owner, "/api/v1/interview-guide").await.body["version"],
        1
    );
    assert_eq!(
        app.get_as(&owner, "/api/v1/interview-guide/versions/7")
            .await
            .status,
        404
    );
}

async fn who_may_read_note_or_call_off_an_interview(mut app: TestApp) {
    let (ivy, camille, lee) = two_booked_interviews(&mut app).await;
    let notes_path = format!("/api/v1/interviews/{camille}/notes");
    assert_eq!(
        app.put_as(&ivy, &notes_path, &notes(), None).await.status,
        200
    );
    let ana = app.manager_key("Ana Duarte", "ana@acme.example").await;
    let bob = app.manager_key("Bob Stone", "bob@acme.example").await;
    let analyst = app.key_with_role(Role::Analyst).await;
    let integration = app.key_with_role(Role::Integration).await;
    let owner = app.key_with_role(Role::ProgramOwner).await;

    // Reading: the account's manager, analysts and program staff; not another manager.
    for (key, status) in [
        (&ana, 200),
        (&analyst, 200),
        (&owner, 200),
        (&integration, 403),
    ] {
        assert_eq!(app.get_as(key, &notes_path).await.status, status);
    }
    let theirs = app.get_as(&bob, &notes_path).await;
    let unknown = app
        .get_as(&bob, "/api/v1/interviews/no-such-id/notes")
        .await;
    assert_eq!((theirs.status, unknown.status), (403, 403));
    assert_eq!(
        theirs.body, unknown.body,
        "another's interview looks like none"
    );
    // Noting: the interviewer and program staff; not an analyst who did not interview.
    for (key, status) in [
        (&analyst, 403),
        (&ana, 403),
        (&integration, 403),
        (&owner, 200),
    ] {
        assert_eq!(
            app.put_as(key, &notes_path, &notes(), None).await.status,
            status
        );
    }
    // The guide: read by staff who take part, edited by program staff only.
    for (key, read, edit) in [
        (&analyst, 200, 403),
        (&ana, 200, 403),
        (&integration, 403, 403),
    ] {
        assert_eq!(
            app.get_as(key, "/api/v1/interview-guide").await.status,
            read
        );
        let guide = json!({ "stages": [] });
        assert_eq!(
            app.put_as(key, "/api/v1/interview-guide", &guide, None)
                .await
                .status,
            edit
        );
    }
    // Calling off: the account's manager may; Bob may not, and both calendars hear of it.
    let cancel = format!("/api/v1/interviews/{lee}/cancel");
    assert_eq!(app.post_as(&bob, &cancel, &json!({})).await.status, 403);
    assert_eq!(app.post_as(&analyst, &cancel, &json!({})).await.status, 403);
    while app.smtp.try_next_mail().is_some() {}
    app.deliver().await;
    while app.smtp.try_next_mail().is_some() {}
    let called_off = app.post_as(&ana, &cancel, &json!({})).await;
    assert_eq!(called_off.status, 200, "{}", called_off.text);
    assert_eq!(status_of(&app, "interviews", &lee).await, "cancelled");
    assert_eq!(app.deliver().await.sent, 2, "a CANCEL to Lee and to Ivy");
    let mut methods = Vec::new();
    while let Some(mail) = app.smtp.try_next_mail() {
        methods.extend(debrief_tests::mail::CalendarMail::parse(&mail).map(|m| m.method));
    }
    assert_eq!(methods, ["CANCEL", "CANCEL"]);
}

async fn staff_move_an_interview_and_both_calendars_follow(mut app: TestApp) {
    let (_, camille, _) = two_booked_interviews(&mut app).await;
    app.deliver().await;
    while app.smtp.try_next_mail().is_some() {}
    let owner = app.key_with_role(Role::ProgramOwner).await;
    let path = format!("/api/v1/interviews/{camille}/reschedule");
    // Lee holds 15:00 UTC; a time between slots is none; a word is not a time.
    for (body, status, code) in [
        (
            json!({ "starts_at": "2026-12-01T15:00:00Z" }),
            409,
            "slot_unavailable",
        ),
        (
            json!({ "starts_at": "2026-12-01T14:10:00Z" }),
            409,
            "slot_unavailable",
        ),
        (json!({ "starts_at": "tomorrow" }), 422, "validation_failed"),
    ] {
        let reply = app.post_as(&owner, &path, &body).await;
        assert_eq!(
            (reply.status, reply.body["error"].as_str()),
            (status, Some(code)),
            "{body}"
        );
    }
    let moved = app
        .post_as(
            &owner,
            &path,
            &json!({ "starts_at": "2026-12-08T14:00:00Z" }),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_eq!(app.deliver().await.sent, 2, "to Camille and to Ivy");
    while let Some(mail) = app.smtp.try_next_mail() {
        let mail = debrief_tests::mail::CalendarMail::parse(&mail).expect("a calendar message");
        let event = debrief_tests::mail::calendar_event(&mail.ics);
        assert_eq!(event["SEQUENCE"], "1");
        assert_eq!(event["DTSTART"], "20261208T140000Z");
    }
}

both_backends!(
    staff_move_an_interview_and_both_calendars_follow,
    the_interviewer_notes_the_interview_against_the_guide_and_the_incentive_is_earned,
    bad_notes_are_refused_by_field_and_change_nothing,
    who_may_read_note_or_call_off_an_interview,
);
