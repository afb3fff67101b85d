//! Interviewers publish when they can interview, as weekly hours in their calendar's time
//! zone; buyers are offered the free slots, shown in their own zone.

use debrief_server::auth::Role;
use debrief_tests::{both_backends, TestApp};
use serde_json::{json, Value};

/// Tuesdays 9:00–12:00 with 45-minute interviews and 15 minutes between; 22 December off.
fn tuesday_mornings() -> Value {
    json!({
        "slot_minutes": 45,
        "buffer_minutes": 15,
        "weekly": [{ "day": "tuesday", "hours": [{ "from": "09:00", "to": "12:00" }] }],
        "exceptions": [{ "date": "2026-12-08", "hours": [] }]
    })
}

/// Ivy, an analyst who interviews from New York: her key and staff id.
async fn ivy(app: &TestApp) -> (String, String) {
    app.interviewer_key(
        Role::Analyst,
        "Ivy Chen",
        "ivy@acme.example",
        "America/New_York",
    )
    .await
}

fn availability(id: &str) -> String {
    format!("/api/v1/interviewers/{id}/availability")
}

async fn an_interviewer_publishes_hours_and_buyers_see_slots_in_their_own_zone(app: TestApp) {
    // Sunday 29 November 2026, noon in New York.
    app.set_clock("2026-11-29T17:00:00Z");
    let (ivy, id) = ivy(&app).await;
    let listed = app.get_as(&app.api_key, "/api/v1/interviewers").await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["interviewers"][0]["name"], "Ivy Chen");
    assert_eq!(
        listed.body["interviewers"][0]["time_zone"],
        "America/New_York"
    );
    assert_eq!(listed.body["interviewers"][0]["availability"], Value::Null);

    // An analyst by role, Ivy publishes her own hours.
    let published = app
        .put_as(&ivy, &availability(&id), &tuesday_mornings(), None)
        .await;
    assert_eq!(published.status, 200, "{}", published.text);
    assert_eq!(published.body["availability"], tuesday_mornings());

    // A buyer in Paris sees 9:00 in New York as 15:00 (UTC-5 and UTC+1 in December).
    let slots = app
        .get_as(
            &app.api_key,
            &format!("/api/v1/interviewers/{id}/slots?tz=Europe/Paris"),
        )
        .await;
    assert_eq!(slots.status, 200, "{}", slots.text);
    assert_eq!(slots.body["time_zone"], "Europe/Paris");
    let local: Vec<&str> = slots.body["slots"]
        .as_array()
        .expect("slots")
        .iter()
        .map(|s| s["local_start"].as_str().expect("local start"))
        .collect();
    assert_eq!(
        local,
        [
            // Tuesday 1 December; the 8th is off; the 15th; the 22nd is past three weeks.
            "2026-12-01T15:00:00+01:00",
            "2026-12-01T16:00:00+01:00",
            "2026-12-01T17:00:00+01:00",
            "2026-12-15T15:00:00+01:00",
            "2026-12-15T16:00:00+01:00",
            "2026-12-15T17:00:00+01:00",
        ]
    );
    assert_eq!(slots.body["slots"][0]["starts_at"], "2026-12-01T14:00:00Z");
    assert_eq!(slots.body["slots"][0]["ends_at"], "2026-12-01T14:45:00Z");

    // Monday 21:30 in New York: Tuesday 9:00 is within 12 hours' notice, no longer offered.
    app.set_clock("2026-12-01T02:30:00Z");
    let slots = app
        .get_as(&ivy, &format!("/api/v1/interviewers/{id}/slots"))
        .await;
    assert_eq!(slots.body["time_zone"], "America/New_York");
    assert_eq!(
        slots.body["slots"][0]["local_start"],
        "2026-12-01T10:00:00-05:00"
    );
}

async fn each_role_may_see_or_publish_availability_as_its_own(app: TestApp) {
    let (_, id) = ivy(&app).await;
    let (own, _) = app
        .interviewer_key(
            Role::AccountManager,
            "Ana Duarte",
            "ana@acme.example",
            "Europe/Lisbon",
        )
        .await;
    let body = tuesday_mornings();
    // (role, may list and read, may publish someone else's)
    for (role, read, publish) in [
        (Role::Admin, 200, 200),
        (Role::ProgramOwner, 200, 200),
        (Role::AccountManager, 200, 403),
        (Role::Analyst, 403, 403),
        (Role::Integration, 403, 403),
    ] {
        let key = app.key_with_role(role).await;
        for path in [
            "/api/v1/interviewers".to_owned(),
            availability(&id),
            format!("/api/v1/interviewers/{id}/slots"),
        ] {
            assert_eq!(
                app.get_as(&key, &path).await.status,
                read,
                "{role:?} GET {path}"
            );
        }
        let put = app.put_as(&key, &availability(&id), &body, None).await;
        assert_eq!(put.status, publish, "{role:?} publishes Ivy's");
        if publish == 403 {
            assert_eq!(put.body["error"], "forbidden");
        }
    }
    // An account manager who interviews publishes their own, not Ivy's.
    let ana = app.get_as(&app.api_key, "/api/v1/interviewers").await.body["interviewers"][0]["id"]
        .as_str()
        .expect("Ana first by name")
        .to_owned();
    assert_eq!(
        app.put_as(&own, &availability(&ana), &body, None)
            .await
            .status,
        200
    );
    assert_eq!(
        app.put_as(&own, &availability(&id), &body, None)
            .await
            .status,
        403
    );
    assert_eq!(
        app.get_as(&app.api_key, "/api/v1/interviewers")
            .await
            .status,
        200
    );
    let no_key = reqwest::Client::new()
        .get(format!("{}/api/v1/interviewers", app.address))
        .send()
        .await
        .expect("request");
    assert_eq!(no_key.status(), 401);
}

async fn bad_availability_is_refused_by_field_and_changes_nothing(app: TestApp) {
    let (ivy, id) = ivy(&app).await;
    assert_eq!(
        app.put_as(&ivy, &availability(&id), &tuesday_mornings(), None)
            .await
            .status,
        200
    );
    let day = |hours: Value| json!({ "slot_minutes": 30, "weekly": [{ "day": "monday", "hours": hours }] });
    for (body, field) in [
        (json!({ "slot_minutes": 60, "weekly": [] }), "slot_minutes"),
        (
            json!({ "slot_minutes": 30, "buffer_minutes": 600, "weekly": [] }),
            "buffer_minutes",
        ),
        (
            day(json!([{ "from": "12:00", "to": "09:00" }])),
            "weekly[0].hours",
        ),
        (
            day(json!([{ "from": "09:00", "to": "11:00" }, { "from": "10:30", "to": "12:00" }])),
            "weekly[0].hours",
        ),
        (
            day(json!([{ "from": "9h", "to": "12:00" }])),
            "weekly[0].hours[0].from",
        ),
        (
            json!({ "slot_minutes": 30, "weekly": [{ "day": "caturday", "hours": [] }] }),
            "weekly[0].day",
        ),
        (
            json!({ "slot_minutes": 30, "weekly": [], "exceptions": [{ "date": "2026-02-30" }] }),
            "exceptions[0].date",
        ),
        (
            json!({ "slot_minutes": 30, "weekly": [], "colour": "red" }),
            "colour",
        ),
    ] {
        let reply = app.put_as(&ivy, &availability(&id), &body, None).await;
        assert_eq!(reply.status, 422, "{body}: {}", reply.text);
        assert_eq!(reply.body["fields"][0]["field"], field, "{body}");
    }
    let malformed = reqwest::Client::new()
        .put(format!("{}{}", app.address, availability(&id)))
        .bearer_auth(&ivy)
        .header("Content-Type", "application/json")
        .body("{\"slot_minutes\": 30, \"weekly\": [")
        .send()
        .await
        .expect("request");
    assert_eq!(malformed.status(), 422);
    let oversized = json!({ "slot_minutes": 30, "weekly": [], "x": "a".repeat(100_000) });
    assert_eq!(
        app.put_as(&ivy, &availability(&id), &oversized, None)
            .await
            .status,
        413
    );
    let kept = app.get_as(&ivy, &availability(&id)).await;
    assert_eq!(
        kept.body["availability"],
        tuesday_mornings(),
        "what was stored is kept"
    );

    let bad_zone = app
        .get_as(
            &ivy,
            &format!("/api/v1/interviewers/{id}/slots?tz=Mars/Olympus"),
        )
        .await;
    assert_eq!(bad_zone.status, 422);
    assert_eq!(bad_zone.body["fields"][0]["field"], "tz");
    assert_eq!(
        app.get_as(&app.api_key, &availability("no-such-id"))
            .await
            .status,
        404
    );

    // A staff member without a calendar time zone cannot interview.
    let manager = app.manager_key("Bob Stone", "bob@acme.example").await;
    let bob = sqlx::query_as::<_, (String,)>("select id from staff where email = $1")
        .bind("bob@acme.example")
        .fetch_one(app.db.pool())
        .await
        .expect("bob")
        .0;
    let reply = app
        .put_as(&app.api_key, &availability(&bob), &tuesday_mornings(), None)
        .await;
    assert_eq!(reply.status, 409);
    assert_eq!(reply.body["error"], "no_time_zone");
    assert_eq!(app.get_as(&manager, &availability(&bob)).await.status, 409);
}

both_backends!(
    an_interviewer_publishes_hours_and_buyers_see_slots_in_their_own_zone,
    each_role_may_see_or_publish_availability_as_its_own,
    bad_availability_is_refused_by_field_and_changes_nothing,
);
