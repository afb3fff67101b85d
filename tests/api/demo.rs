//! A newcomer starts the demo: a program with three segments, a quarter of deals, and an
//! invitation email at once, even on a Saturday night.

use chrono::{Datelike, Duration, Timelike};
use debrief_tests::{spawn_app_with, Backend, TestApp};
use serde_json::json;

async fn the_demo_seeds_a_program_and_a_quarter_and_shows_an_email_at_once(mut app: TestApp) {
    // Saturday 23:00 UTC: outside business hours everywhere in Europe and America.
    let now = app.clock.now();
    let days_to_saturday = (5 + 7 - i64::from(now.weekday().num_days_from_monday())) % 7;
    let saturday_night = (now + Duration::days(days_to_saturday))
        .with_hour(23)
        .and_then(|t| t.with_minute(0))
        .expect("a time");
    app.clock.advance(saturday_night - now + Duration::days(7));
    let now = app.clock.now();

    let link = debrief_server::demo::seed(&app.db, &app.planner, &app.address, now)
        .await
        .expect("demo seeds")
        .expect("a link to try");
    let program = app.get_as(&app.api_key, "/api/v1/program").await;
    assert_eq!(program.body["version"], 1);
    assert_eq!(
        program.body["definition"]["segments"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    assert_eq!(app.count("deals").await, 120);

    let pass = app.deliver().await;
    assert!(pass.sent >= 1, "{pass:?}");
    let mail = app.next_invitation().await;
    assert!(
        link.contains(&mail.token()),
        "the printed link is the emailed one"
    );
    assert_eq!(
        app.survey_page(&link.replacen(&app.address, "", 1))
            .await
            .status,
        200
    );

    let participation = app.participation().await;
    assert!(
        participation.body["overall"]["completed"].as_u64() > Some(10),
        "{}",
        participation.text
    );
    let today = now.date_naive();
    let preview = app
        .preview(&json!({ "period": { "from": (today - Duration::days(91)).to_string(), "to": today.to_string() } }))
        .await;
    assert_eq!(preview.body["deals"], 120, "{}", preview.text);

    // A demo interview to book: a page with slots, from the demo interviewer's hours.
    let booking = debrief_server::demo::booking_link(&app.db, &app.planner, &app.address, now)
        .await
        .expect("a booking link")
        .expect("a demo interview still to book");
    let page = app
        .survey_page(&booking.replacen(&app.address, "", 1))
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(
        page.text.contains(r#"name="slot""#),
        "slots to pick: {}",
        page.text
    );

    // Each kind of console user signs in with the printed link and finds their pages
    // filled.
    let links = debrief_server::demo::console_links(&app.db, &app.address, now)
        .await
        .expect("console links");
    assert_eq!(links.len(), 3);
    let pages = [
        vec![
            "/console/dashboard",
            "/console/deals",
            "/console/invitations",
            "/console/coding",
            "/console/team",
            "/console/program",
            "/console/operations",
            "/console/account",
        ],
        vec!["/console/deals", "/console/invitations", "/console/account"],
        vec!["/console/coding", "/console/dashboard", "/console/account"],
    ];
    for ((who, link), paths) in links.iter().zip(pages) {
        let mut visitor = debrief_tests::console::Visitor::new(&app);
        let confirm = visitor.get(link).await;
        assert_eq!(confirm.status, 200, "{who}");
        let path = link.replacen(&app.address, "", 1);
        let signed = visitor.post(&confirm, &path, &[("next", "/console")]).await;
        assert_eq!(signed.status, 303, "{who}");
        for path in paths {
            let page = visitor.get(path).await;
            assert_eq!(page.status, 200, "{who} on {path}: {}", page.body);
        }
        let home = visitor.get("/console").await;
        let home = visitor.follow(home).await;
        assert!(
            !home.body.contains("No decided deal yet"),
            "{who}: {}",
            home.body
        );
    }

    // A second start seeds nothing more.
    debrief_server::demo::seed(&app.db, &app.planner, &app.address, now)
        .await
        .expect("demo seeds again");
    assert_eq!(app.count("deals").await, 120);
}

async fn office_hours(backend: Backend) -> TestApp {
    spawn_app_with(
        backend,
        &[
            ("DEBRIEF_BUSINESS_HOURS", "09:00-17:00"),
            ("DEBRIEF_BUSINESS_DAYS", "mon-fri"),
        ],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_the_demo_seeds_a_program_and_a_quarter_and_shows_an_email_at_once() {
    the_demo_seeds_a_program_and_a_quarter_and_shows_an_email_at_once(
        office_hours(Backend::Sqlite).await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_demo_seeds_a_program_and_a_quarter_and_shows_an_email_at_once() {
    the_demo_seeds_a_program_and_a_quarter_and_shows_an_email_at_once(
        office_hours(Backend::Postgres).await,
    )
    .await;
}
