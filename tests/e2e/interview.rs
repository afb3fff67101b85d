//! The interview story end to end: an account manager invites a lost deal's economic buyer
//! with a personal note; the email arrives over SMTP with Reply-To the manager; the buyer
//! books in Chromium in Europe/Paris, by keyboard, against an interviewer in New York;
//! both get a calendar event a standard parser reads at the right instant; the buyer moves
//! it; the interviewer notes the interview against the guide; the incentive is earned.

use super::*;
use chrono::{DateTime, Utc};
use debrief_tests::mail::{calendar_event, CalendarMail};
use serde_json::json;

async fn api(server: &RunningServer, key: &str, method: &str, path: &str, body: Value) -> Value {
    let client = reqwest::Client::new();
    let url = format!("{}{path}", server.url);
    let request = match method {
        "get" => client.get(url),
        "put" => client.put(url).json(&body),
        _ => client.post(url).json(&body),
    };
    let reply = request.bearer_auth(key).send().await.expect("request");
    let status = reply.status();
    let body: Value = reply.json().await.expect("JSON");
    assert!(status.is_success(), "{method} {path}: {status} {body}");
    body
}

/// The next two calendar messages, the buyer's first.
async fn two_calendar_mails(smtp: &mut SmtpServer) -> (CalendarMail, CalendarMail) {
    let mut mails = Vec::new();
    while mails.len() < 2 {
        mails.extend(CalendarMail::parse(&smtp.next_mail().await));
    }
    mails.sort_by_key(|m| m.to[0] != "camille@globex.example");
    let interviewer = mails.pop().expect("two");
    (mails.pop().expect("two"), interviewer)
}

/// The slot a radio button offers, as an instant.
async fn slot_of(radio: &fantoccini::elements::Element) -> DateTime<Utc> {
    let value = radio.attr("value").await.expect("attr").expect("a value");
    DateTime::parse_from_rfc3339(&value)
        .expect("an instant")
        .with_timezone(&Utc)
}

fn basic(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// Ivy, an interviewer in New York free every day from 8:00 to 18:00: her key, from the
/// command line as an operator makes it.
async fn ivy_every_day(server: &RunningServer) -> String {
    let ivy = server
        .cli(&[
            "keys",
            "create",
            "--role",
            "analyst",
            "--name",
            "Ivy Chen",
            "--email",
            "ivy@acme.example",
            "--time-zone",
            "America/New_York",
        ])
        .await
        .trim()
        .to_owned();
    let interviewers = api(
        server,
        server.key(),
        "get",
        "/api/v1/interviewers",
        Value::Null,
    )
    .await;
    let ivy_id = interviewers["interviewers"][0]["id"]
        .as_str()
        .expect("Ivy")
        .to_owned();
    let days: Vec<Value> = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ]
    .iter()
    .map(|d| json!({ "day": d, "hours": [{ "from": "08:00", "to": "18:00" }] }))
    .collect();
    let hours = json!({ "slot_minutes": 45, "buffer_minutes": 15, "weekly": days });
    let path = format!("/api/v1/interviewers/{ivy_id}/availability");
    api(server, &ivy, "put", &path, hours).await;
    ivy
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_booking_page_follows_the_browsers_zone_and_books_at_320_px_without_javascript() {
    let mut smtp = SmtpServer::start().await;
    let server = start_server(None, smtp.port).await;
    let program = json!({ "name": "Interviews", "segments": [{ "key": "all", "name": "All", "method": "interview" }] });
    api(&server, server.key(), "put", "/api/v1/program", program).await;
    ivy_every_day(&server).await;
    server.post_decision(&lost_deal("E2E-ZONE")).await;
    let link = format!(
        "{}/i/{}",
        server.url,
        Invitation::parse(&smtp.next_mail().await).booking_token()
    );

    // The CRM says Paris; the browser is in Tokyo: the page follows the browser.
    let browser = Browser::start(360, 800).await;
    browser.set_time_zone("Asia/Tokyo").await;
    browser.client.goto(&link).await.expect("open");
    wait_for(
        &browser,
        "select[name=tz] option[value='Asia/Tokyo'][selected]",
    )
    .await;
    let url = browser.client.current_url().await.expect("url");
    assert!(url.as_str().ends_with("?tz=Asia%2FTokyo"), "{url}");
    browser.close().await;

    // Without JavaScript, on a 320 px phone: the CRM's zone, and nothing wider than it.
    let browser = Browser::without_javascript(320, 640).await;
    browser.client.goto(&link).await.expect("open");
    wait_for(
        &browser,
        "select[name=tz] option[value='Europe/Paris'][selected]",
    )
    .await;
    let page = wait_for(&browser, "html").await;
    let (_, _, page_width, _) = page.rectangle().await.expect("page size");
    for css in [
        "form.debrief-form",
        "select[name=tz]",
        "button.debrief-submit",
    ] {
        let (x, _, width, _) = wait_for(&browser, css)
            .await
            .rectangle()
            .await
            .expect("size");
        assert!(
            x + width <= page_width,
            "{css}: {x} + {width} within {page_width}"
        );
    }
    click(&browser, "input[name=slot]").await;
    click(&browser, "button.debrief-submit").await;
    let booked = wait_for(&browser, "#booked-title").await;
    assert!(booked
        .text()
        .await
        .expect("text")
        .contains("Votre échange est réservé"));
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_invites_and_the_buyer_books_moves_and_is_interviewed_in_a_real_browser() {
    let mut smtp = SmtpServer::start().await;
    let server = start_server(None, smtp.port).await;
    let admin = server.key().to_owned();
    let program = json!({
        "name": "Win-loss",
        "incentives": [
            { "key": "eur_100", "kind": "money", "amount": { "minor_units": 10000, "currency": "EUR" } }
        ],
        "segments": [{ "key": "all", "name": "All", "method": "survey" }]
    });
    api(&server, &admin, "put", "/api/v1/program", program).await;
    let key_of = |printed: String| printed.trim().to_owned();
    let ana = key_of(
        server
            .cli(&[
                "keys",
                "create",
                "--role",
                "account_manager",
                "--name",
                "Ana Duarte",
                "--email",
                "ana@acme.example",
            ])
            .await,
    );
    let ivy = ivy_every_day(&server).await;
    // A lost deal: its survey goes out as the program says.
    server.post_decision(&lost_deal("E2E-INT")).await;
    let survey = Invitation::parse(&smtp.next_mail().await);
    assert!(!survey.score_links.is_empty());

    // Ana invites its economic buyer herself.
    let invited = api(
        &server,
        &ana,
        "post",
        "/api/v1/interviews/invitations",
        json!({
            "crm_id": "E2E-INT",
            "email": "camille@globex.example",
            "note": "Camille, votre regard nous serait précieux.",
            "incentive": "eur_100"
        }),
    )
    .await;
    let invitation_id = invited["invitation_id"].as_str().expect("id").to_owned();
    let mail = Invitation::parse(&smtp.next_mail().await);
    assert_eq!(mail.to, ["camille@globex.example"]);
    assert_eq!(mail.reply_to.as_deref(), Some("ana@acme.example"));
    assert!(
        mail.text.contains("votre regard nous serait précieux"),
        "{}",
        mail.text
    );
    let link = format!("{}/i/{}", server.url, mail.booking_token());

    // Camille's browser is in Paris.
    let browser = Browser::start(360, 800).await;
    browser.set_time_zone("Europe/Paris").await;
    browser
        .client
        .goto(&link)
        .await
        .expect("open the booking link");
    let zone = wait_for(&browser, "select[name=tz]").await;
    assert_eq!(
        zone.prop("value").await.expect("prop").as_deref(),
        Some("Europe/Paris")
    );
    let first = wait_for(&browser, "input[name=slot]").await;
    let slot = slot_of(&first).await;
    // Its label reads the Paris wall time of that instant.
    let paris = slot
        .with_timezone(&chrono_tz::Europe::Paris)
        .format("%H:%M")
        .to_string();
    let label = first
        .find(Locator::XPath(".."))
        .await
        .expect("label")
        .text()
        .await
        .expect("text");
    assert!(label.contains(&paris), "{label} shows {paris}");
    // By keyboard: space ticks the slot, enter sends the form.
    first.send_keys(" ").await.expect("space");
    assert!(first.is_selected().await.expect("state"));
    wait_for(&browser, "button.debrief-submit")
        .await
        .send_keys(&Key::Enter.to_string())
        .await
        .expect("enter");
    let booked = wait_for(&browser, "#booked-title").await;
    assert!(booked
        .text()
        .await
        .expect("text")
        .contains("Votre échange est réservé"));
    check_axe(&browser, "the booking page").await;

    // Both calendars: the same instant, each in its own zone.
    let (to_camille, to_ivy) = two_calendar_mails(&mut smtp).await;
    assert_eq!(to_ivy.to, ["ivy@acme.example"]);
    let new_york = slot
        .with_timezone(&chrono_tz::America::New_York)
        .format("%-I:%M")
        .to_string();
    assert!(
        to_ivy.subject.contains(&new_york),
        "{} at {new_york}",
        to_ivy.subject
    );
    assert!(
        to_camille.subject.contains(&paris),
        "{} at {paris}",
        to_camille.subject
    );
    for mail in [&to_camille, &to_ivy] {
        let invite = calendar_event(&mail.ics);
        assert_eq!(invite["DTSTART"], basic(slot));
        assert_eq!(invite["SEQUENCE"], "0");
    }

    // She moves it to the next slot offered.
    let radios = browser
        .client
        .find_all(Locator::Css("input[name=slot]"))
        .await
        .expect("slots");
    let later = radios.get(1).expect("another slot");
    let moved_to = slot_of(later).await;
    later.click().await.expect("pick");
    click(&browser, "button.debrief-submit").await;
    wait_for(&browser, "#booked-title").await;
    let (to_camille, _) = two_calendar_mails(&mut smtp).await;
    let update = calendar_event(&to_camille.ics);
    assert_eq!(update["SEQUENCE"], "1");
    assert_eq!(update["DTSTART"], basic(moved_to));
    browser.close().await;

    // Ivy holds the conversation and notes it against the guide; the 100 EUR are earned.
    let guide = api(&server, &ivy, "get", "/api/v1/interview-guide", Value::Null).await;
    let notes = json!({
        "guide_version": guide["version"],
        "duration_minutes": 38,
        "nps": 7,
        "stages": [{ "stage": "decision", "notes": "Chose on integration depth.",
                     "verbatims": ["On a choisi celui qui s’intégrait le mieux."] }]
    });
    let path = format!("/api/v1/interviews/{invitation_id}/notes");
    api(&server, &ivy, "put", &path, notes).await;
    let incentives = api(&server, &admin, "get", "/api/v1/incentives", Value::Null).await;
    let earned = incentives["incentives"]
        .as_array()
        .expect("incentives")
        .iter()
        .find(|i| i["invitation_id"] == invitation_id.as_str())
        .expect("the interview's incentive");
    assert_eq!(earned["status"], "earned");
}
