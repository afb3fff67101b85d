//! A buyer invited to an interview books a slot from the link in the email, in their own
//! time zone, on a plain page; moves it; cancels it. Two buyers never get one slot.

use crate::program::win_loss_program;
use debrief_server::auth::Role;
use debrief_tests::mail::{calendar_event, CalendarMail, Invitation};
use debrief_tests::{both_backends, camille_and_lee, lost_deal, TestApp};
use serde_json::json;

/// A strategic loss whose deciders are invited to an interview; their booking tokens, in
/// the order of their addresses.
async fn invited_deciders(app: &mut TestApp, contacts: serde_json::Value) -> Vec<String> {
    app.put_program(&win_loss_program()).await;
    let mut deal = lost_deal("S-1");
    deal["amount"]["minor_units"] = json!(8_000_000);
    // Two hours before the app's clock.
    let decided = app.clock.now() - chrono::Duration::hours(2);
    deal["decided_at"] = json!(decided.to_rfc3339());
    deal["contacts"] = contacts;
    let reply = app.post_decision(&deal).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let sent = app.deliver().await.sent;
    let mut tokens = Vec::new();
    for _ in 0..sent {
        let mail = app.next_invitation().await;
        tokens.push((mail.to[0].clone(), mail.booking_token()));
    }
    tokens.sort();
    tokens.into_iter().map(|(_, token)| token).collect()
}

fn camille() -> serde_json::Value {
    json!([{ "name": "Camille Martin", "email": "camille@globex.example", "role": "Economic buyer",
             "locale": "fr-FR", "time_zone": "Europe/Paris" }])
}

/// Sends the booking form as a browser without JavaScript would.
async fn post_form(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .post(format!("{}{path}", app.address))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("request")
}

async fn page(app: &TestApp, path: &str) -> (u16, String) {
    let response = reqwest::get(format!("{}{path}", app.address))
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.text().await.expect("page"))
}

/// Delivers what is due; the calendar messages sent, by recipient.
async fn calendar_mails(app: &mut TestApp) -> Vec<CalendarMail> {
    app.deliver().await;
    let mut mails = Vec::new();
    while let Some(mail) = app.smtp.try_next_mail() {
        mails.extend(CalendarMail::parse(&mail));
    }
    mails.sort_by(|a, b| a.to.cmp(&b.to));
    mails
}

async fn interview_status(app: &TestApp) -> String {
    let (status,): (String,) = sqlx::query_as("select status from interviews")
        .fetch_one(app.db.pool())
        .await
        .expect("interview");
    status
}

async fn a_buyer_in_paris_books_moves_and_cancels_from_the_link(mut app: TestApp) {
    // Sunday 29 November 2026, 18:00 in Paris.
    app.set_clock("2026-11-29T17:00:00Z");
    let (_, ivy) = app.ivy_on_tuesday_mornings().await;
    let token = invited_deciders(&mut app, camille()).await.remove(0);
    let link = format!("/i/{token}");

    // Her page is in French, in her zone: 9:00 in New York is 15:00 in Paris.
    let (status, html) = page(&app, &link).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("mardi 1 décembre 2026"), "{html}");
    assert!(html.contains(r#"value="2026-12-01T14:00:00Z""#), "{html}");
    assert!(html.contains("> 15:00"), "{html}");
    assert!(html.contains(r#"<option value="Europe/Paris" selected>"#));

    let booked = post_form(
        &app,
        &link,
        &[
            ("slot", "2026-12-01T14:00:00Z"),
            ("tz", "Europe/Paris"),
            ("phone", "+33 1 23 45 67 89"),
            ("prefers", "video"),
        ],
    )
    .await;
    assert_eq!(booked.status(), 303);
    assert_eq!(
        booked.headers()["location"].to_str().expect("location"),
        format!("{link}?tz=Europe%2FParis")
    );
    assert_eq!(interview_status(&app).await, "booked");

    // Both calendars get the event: Camille's in French at 15:00, Ivy's in English at
    // 9:00, one instant, one UID.
    let mails = calendar_mails(&mut app).await;
    assert_eq!(mails.len(), 2, "{mails:?}");
    let (to_camille, to_ivy) = (&mails[0], &mails[1]);
    assert_eq!(to_camille.to, ["camille@globex.example"]);
    assert_eq!(to_ivy.to, ["ivy@acme.example"]);
    assert!(
        to_camille.subject.contains("mardi 1 décembre 2026, 15:00"),
        "{}",
        to_camille.subject
    );
    assert!(
        to_ivy.subject.contains("Tuesday 1 December 2026, 9:00 am"),
        "{}",
        to_ivy.subject
    );
    assert_eq!(to_camille.reply_to.as_deref(), Some("ana@acme.example"));
    for mail in &mails {
        assert_eq!(mail.method, "REQUEST");
        assert!(mail.attached, "the event also comes as invite.ics");
        let invite = calendar_event(&mail.ics);
        assert_eq!(invite["DTSTART"], "20261201T140000Z");
        assert_eq!(invite["SEQUENCE"], "0");
        assert_eq!(invite["STATUS"], "CONFIRMED");
    }
    assert_eq!(
        calendar_event(&to_camille.ics)["UID"],
        calendar_event(&to_ivy.ics)["UID"]
    );
    let (_, html) = page(&app, &format!("{link}?tz=Europe/Paris")).await;
    assert!(html.contains("Votre échange est réservé"), "{html}");
    assert!(
        html.contains("mardi 1 décembre 2026, 15:00 – 15:45"),
        "{html}"
    );
    assert!(html.contains("Ivy Chen"));

    // Her calendar reads the same instant, whatever its zone.
    let (status, ics) = page(&app, &format!("{link}/invite.ics")).await;
    assert_eq!(status, 200);
    let first = calendar_event(&ics);
    assert_eq!(first["DTSTART"], "20261201T140000Z");
    assert_eq!(first["DTEND"], "20261201T144500Z");
    assert_eq!(first["SEQUENCE"], "0");
    assert_eq!(first["LOCATION"], "+33 1 23 45 67 89");

    // Ivy's 9:00 is no longer offered to anyone, nor 10:00 within the buffer... but 10:00
    // starts 15 minutes after 9:45, exactly the buffer: it stays.
    let key = app.key_with_role(Role::ProgramOwner).await;
    let slots = app
        .get_as(&key, &format!("/api/v1/interviewers/{ivy}/slots"))
        .await;
    let starts: Vec<&str> = slots.body["slots"]
        .as_array()
        .expect("slots")
        .iter()
        .map(|s| s["starts_at"].as_str().expect("start"))
        .take(2)
        .collect();
    assert_eq!(starts, ["2026-12-01T15:00:00Z", "2026-12-01T16:00:00Z"]);

    // She moves it to 17:00: the same event, one SEQUENCE later, and 15:00 is free again.
    let moved = post_form(
        &app,
        &link,
        &[("slot", "2026-12-01T16:00:00Z"), ("tz", "Europe/Paris")],
    )
    .await;
    assert_eq!(moved.status(), 303);
    let (_, ics) = page(&app, &format!("{link}/invite.ics")).await;
    let second = calendar_event(&ics);
    assert_eq!(second["UID"], first["UID"]);
    assert_eq!(second["SEQUENCE"], "1");
    assert_eq!(second["DTSTART"], "20261201T160000Z");
    let mails = calendar_mails(&mut app).await;
    assert_eq!(mails.len(), 2, "both calendars are updated");
    assert!(
        mails[0].subject.starts_with("Déplacé"),
        "{}",
        mails[0].subject
    );
    for mail in &mails {
        let update = calendar_event(&mail.ics);
        assert_eq!(
            (update["SEQUENCE"].as_str(), update["UID"].as_str()),
            ("1", first["UID"].as_str())
        );
        assert_eq!(update["DTSTART"], "20261201T160000Z");
    }
    let slots = app
        .get_as(&key, &format!("/api/v1/interviewers/{ivy}/slots"))
        .await;
    assert_eq!(slots.body["slots"][0]["starts_at"], "2026-12-01T14:00:00Z");

    // She cancels: the slot is free, and the link says so from then on.
    let cancelled = post_form(&app, &format!("{link}/cancel"), &[]).await;
    assert_eq!(cancelled.status(), 200);
    assert!(cancelled
        .text()
        .await
        .expect("page")
        .contains("Votre échange est annulé"));
    assert_eq!(interview_status(&app).await, "cancelled");
    let mails = calendar_mails(&mut app).await;
    assert_eq!(mails.len(), 2, "both calendars take it out");
    for mail in &mails {
        assert_eq!(mail.method, "CANCEL");
        let cancel = calendar_event(&mail.ics);
        assert_eq!(cancel["STATUS"], "CANCELLED");
        assert_eq!(cancel["SEQUENCE"], "2");
        assert_eq!(cancel["UID"], first["UID"]);
    }
    let again = post_form(
        &app,
        &link,
        &[("slot", "2026-12-01T14:00:00Z"), ("tz", "Europe/Paris")],
    )
    .await;
    assert_eq!(
        again.status(),
        409,
        "a cancelled interview is not booked again"
    );
    let (_, html) = page(&app, &link).await;
    assert!(html.contains("Votre échange est annulé"));
    let (count,): (i64,) =
        sqlx::query_as("select count(*) from interview_bookings where status = 'booked'")
            .fetch_one(app.db.pool())
            .await
            .expect("bookings");
    assert_eq!(count, 0);
}

async fn a_wrong_form_or_link_books_nothing_and_says_why(mut app: TestApp) {
    app.set_clock("2026-11-29T17:00:00Z");
    app.ivy_on_tuesday_mornings().await;
    let token = invited_deciders(&mut app, camille()).await.remove(0);
    let link = format!("/i/{token}");
    for (fields, status, says) in [
        (
            vec![("tz", "Europe/Paris")],
            422,
            "Merci de choisir un créneau.",
        ),
        (
            vec![("slot", "tuesday"), ("tz", "Europe/Paris")],
            422,
            "Merci de choisir un créneau.",
        ),
        (
            vec![("slot", "2026-12-01T14:00:00Z"), ("tz", "Mars/Olympus")],
            422,
            "Merci de choisir un fuseau horaire dans la liste.",
        ),
        (
            vec![
                ("slot", "2026-12-01T14:00:00Z"),
                ("tz", "Europe/Paris"),
                ("phone", "<script>alert(1)</script>"),
            ],
            422,
            "Merci de vérifier le numéro",
        ),
        (
            vec![
                ("slot", "2026-12-01T14:00:00Z"),
                ("tz", "Europe/Paris"),
                ("prefers", "carrier pigeon"),
            ],
            422,
            "Merci de choisir la visioconférence ou le téléphone.",
        ),
        // Not a slot: between two, in the past, outside the hours.
        (
            vec![("slot", "2026-12-01T14:10:00Z"), ("tz", "Europe/Paris")],
            409,
            "Ce créneau n’est plus disponible",
        ),
        (
            vec![("slot", "2026-11-24T14:00:00Z"), ("tz", "Europe/Paris")],
            409,
            "Ce créneau n’est plus disponible",
        ),
        (
            vec![("slot", "2026-12-02T14:00:00Z"), ("tz", "Europe/Paris")],
            409,
            "Ce créneau n’est plus disponible",
        ),
    ] {
        let reply = post_form(&app, &link, &fields).await;
        assert_eq!(reply.status(), status, "{fields:?}");
        let html = reply.text().await.expect("page");
        assert!(html.contains(says), "{fields:?}: {html}");
        assert!(!html.contains("<script>alert"), "typed text is escaped");
    }
    let oversized = post_form(&app, &link, &[("phone", &"1".repeat(10_000))]).await;
    assert_eq!(oversized.status(), 413);
    assert_eq!(
        app.count("interview_bookings").await,
        0,
        "nothing was booked"
    );
    assert_eq!(interview_status(&app).await, "invited");

    let (status, _) = page(&app, &format!("{link}?tz=Mars/Olympus")).await;
    assert_eq!(status, 422);
    for path in [
        "/i/not-a-token".to_owned(),
        format!("/i/{}x", &token[..42]),
        format!("{link}/invite.ics"),
    ] {
        let (status, _) = page(&app, &path).await;
        assert_eq!(status, 404, "{path}");
    }
    // Nothing booked yet: nothing to cancel.
    assert_eq!(
        post_form(&app, &format!("{link}/cancel"), &[])
            .await
            .status(),
        409
    );
    // A survey's link is not an interview's.
    let mut survey_deal = lost_deal("V-1");
    survey_deal["decided_at"] = json!("2026-11-29T15:00:00Z");
    survey_deal["strategic"] = json!(false);
    survey_deal["amount"]["minor_units"] = json!(500_000);
    survey_deal["contacts"][0]["email"] = json!("vera@initech.example");
    survey_deal["account"]["name"] = json!("Initech");
    let sent = app.post_decision(&survey_deal).await;
    assert_eq!(sent.status, 201, "{}", sent.text);
    assert_eq!(app.deliver().await.sent, 1, "{}", sent.text);
    let survey_token = app.next_invitation().await.token();
    let (status, _) = page(&app, &format!("/i/{survey_token}")).await;
    assert_eq!(status, 404, "a survey token opens no booking page");
    // Declining closes the invitation for good.
    let declined = post_form(&app, &format!("{link}/decline"), &[]).await;
    assert_eq!(declined.status(), 200);
    assert_eq!(interview_status(&app).await, "declined");
}

async fn two_buyers_racing_for_one_slot_never_both_get_it(mut app: TestApp) {
    app.set_clock("2026-11-29T17:00:00Z");
    app.ivy_on_tuesday_mornings().await;
    let tokens = invited_deciders(&mut app, camille_and_lee()).await;
    assert_eq!(tokens.len(), 2);
    // Several rounds, each both at once on one slot.
    for slot in [
        "2026-12-01T14:00:00Z",
        "2026-12-01T15:00:00Z",
        "2026-12-01T16:00:00Z",
    ] {
        let fields = [("slot", slot), ("tz", "Europe/London")];
        let (first, second) = (format!("/i/{}", tokens[0]), format!("/i/{}", tokens[1]));
        let (a, b) = tokio::join!(
            post_form(&app, &first, &fields),
            post_form(&app, &second, &fields),
        );
        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [303, 409], "{slot}");
        let (held,): (i64,) = sqlx::query_as(
            "select count(*) from interview_bookings where status = 'booked' and starts_at like $1",
        )
        .bind(format!("{}%", &slot[..16]))
        .fetch_one(app.db.pool())
        .await
        .expect("bookings");
        assert_eq!(held, 1, "{slot}");
    }
}

async fn a_booked_buyer_is_not_reminded_and_an_unbooked_invitation_expires(mut app: TestApp) {
    app.set_clock("2026-11-29T17:00:00Z");
    app.ivy_on_tuesday_mornings().await;
    let tokens = invited_deciders(&mut app, camille_and_lee()).await;
    // By address: Camille, then Lee.
    let lee = format!("/i/{}", tokens[1]);
    let booked = post_form(
        &app,
        &lee,
        &[("slot", "2026-12-15T14:00:00Z"), ("tz", "Europe/London")],
    )
    .await;
    assert_eq!(booked.status(), 303);
    // A month, day by day: the invitation's reminders (3 and 7 days) and expiry (30), and
    // Lee's interview on 15 December with its reminder the day before, come due.
    let (mut reminded, mut interview_reminders) = (Vec::new(), Vec::new());
    for _ in 0..32 {
        app.clock.advance(chrono::Duration::days(1));
        app.deliver().await;
        while let Some(mail) = app.smtp.try_next_mail() {
            if CalendarMail::parse(&mail).is_some() {
                continue;
            }
            let mail = Invitation::parse(&mail);
            if mail.subject.starts_with("Reminder: conversation") {
                interview_reminders.extend(mail.to);
            } else {
                reminded.extend(mail.to);
            }
        }
    }
    assert!(
        !reminded.iter().any(|to| to == "lee@globex.example"),
        "a booked buyer is not asked again to pick a time: {reminded:?}"
    );
    assert_eq!(
        reminded,
        ["camille@globex.example", "camille@globex.example"],
        "two reminders to the buyer who has not booked"
    );
    // The hour-before reminder came due after the interview had begun (a day's step):
    // it is not sent late.
    assert_eq!(interview_reminders, ["lee@globex.example"]);
    let statuses: Vec<(String, String)> = sqlx::query_as(
        "select p.email, v.status from interviews v
         join invitations i on i.id = v.invitation_id join persons p on p.id = i.person_id
         order by p.email",
    )
    .fetch_all(app.db.pool())
    .await
    .expect("interviews");
    assert_eq!(
        statuses,
        [
            ("camille@globex.example".to_owned(), "expired".to_owned()),
            ("lee@globex.example".to_owned(), "booked".to_owned())
        ]
    );
    let (status, html) = page(&app, &format!("/i/{}", tokens[0])).await;
    assert_eq!(status, 410, "{html}");
    // Lee's link still shows his booking after his invitation's expiry date.
    let (status, html) = page(&app, &lee).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Your conversation is booked"), "{html}");
}

/// Delivers what is due; the subjects of the interview reminders sent.
async fn reminders(app: &mut TestApp) -> Vec<String> {
    app.deliver().await;
    let mut subjects = Vec::new();
    while let Some(mail) = app.smtp.try_next_mail() {
        if CalendarMail::parse(&mail).is_none() {
            subjects.push(Invitation::parse(&mail).subject);
        }
    }
    subjects
}

async fn reminders_come_a_day_and_an_hour_before_and_never_once_cancelled(mut app: TestApp) {
    app.set_clock("2026-11-29T17:00:00Z");
    app.ivy_on_tuesday_mornings().await;
    let tokens = invited_deciders(&mut app, camille_and_lee()).await;
    let (camille, lee) = (format!("/i/{}", tokens[0]), format!("/i/{}", tokens[1]));
    for (link, slot) in [
        (&camille, "2026-12-01T14:00:00Z"),
        (&lee, "2026-12-15T14:00:00Z"),
    ] {
        let booked = post_form(&app, link, &[("slot", slot), ("tz", "Europe/Paris")]).await;
        assert_eq!(booked.status(), 303);
    }
    assert!(
        reminders(&mut app).await.is_empty(),
        "only the calendar messages"
    );
    // Lee cancels: none of his reminders will come.
    assert_eq!(
        post_form(&app, &format!("{lee}/cancel"), &[])
            .await
            .status(),
        200
    );

    app.set_clock("2026-11-30T13:59:59Z");
    assert!(
        reminders(&mut app).await.is_empty(),
        "not before the day before"
    );
    app.set_clock("2026-11-30T14:00:00Z");
    assert_eq!(
        reminders(&mut app).await,
        ["Rappel : échange avec Ivy Chen, mardi 1 décembre 2026, 15:00"]
    );
    app.set_clock("2026-12-01T13:00:00Z");
    assert_eq!(reminders(&mut app).await.len(), 1, "and an hour before");
    for at in ["2026-12-14T14:00:00Z", "2026-12-15T13:00:00Z"] {
        app.set_clock(at);
        assert!(reminders(&mut app).await.is_empty(), "Lee cancelled");
    }
}

async fn across_a_daylight_saving_change_both_sides_read_their_own_right_time(mut app: TestApp) {
    // New York moves to summer time on 14 March 2027, Paris on the 28th: for two weeks
    // they are five hours apart, not six.
    app.set_clock("2027-03-05T12:00:00Z");
    app.ivy_on_tuesday_mornings().await;
    let token = invited_deciders(&mut app, camille()).await.remove(0);
    let link = format!("/i/{token}");
    let (_, html) = page(&app, &link).await;
    // 9:00 in New York: 15:00 in Paris on the 9th, 14:00 on the 16th and the 23rd.
    for (day, value, time) in [
        ("mardi 9 mars 2027", "2027-03-09T14:00:00Z", "15:00"),
        ("mardi 16 mars 2027", "2027-03-16T13:00:00Z", "14:00"),
        ("mardi 23 mars 2027", "2027-03-23T13:00:00Z", "14:00"),
    ] {
        let at = html.find(day).unwrap_or_else(|| panic!("{day}: {html}"));
        let slot = format!(r#"value="{value}" required> {time}"#);
        assert!(html[at..].contains(&slot), "{slot}");
    }
    let booked = post_form(
        &app,
        &link,
        &[("slot", "2027-03-16T13:00:00Z"), ("tz", "Europe/Paris")],
    )
    .await;
    assert_eq!(booked.status(), 303);
    let mails = calendar_mails(&mut app).await;
    assert_eq!(mails.len(), 2);
    assert!(
        mails[0].subject.contains("mardi 16 mars 2027, 14:00"),
        "{}",
        mails[0].subject
    );
    assert!(
        mails[1].subject.contains("Tuesday 16 March 2027, 9:00 am"),
        "{}",
        mails[1].subject
    );
    for mail in &mails {
        assert_eq!(calendar_event(&mail.ics)["DTSTART"], "20270316T130000Z");
    }
}

async fn a_buyer_who_opts_out_has_declined_and_books_nothing(mut app: TestApp) {
    app.set_clock("2026-11-29T17:00:00Z");
    app.ivy_on_tuesday_mornings().await;
    let token = invited_deciders(&mut app, camille()).await.remove(0);
    // The email's opt-out link carries the same token.
    assert_eq!(
        post_form(&app, &format!("/u/{token}"), &[]).await.status(),
        200
    );
    assert_eq!(interview_status(&app).await, "declined");
    let refused = post_form(
        &app,
        &format!("/i/{token}"),
        &[("slot", "2026-12-01T14:00:00Z"), ("tz", "Europe/Paris")],
    )
    .await;
    assert_eq!(refused.status(), 409);
    assert_eq!(app.count("interview_bookings").await, 0);
}

async fn an_invitation_to_an_address_that_does_not_exist_closes_its_interview(app: TestApp) {
    app.set_clock("2026-11-29T17:00:00Z");
    app.put_program(&win_loss_program()).await;
    app.smtp.reject_recipients(Some("550 5.1.1 no such user"));
    let mut deal = lost_deal("S-1");
    deal["amount"]["minor_units"] = json!(8_000_000);
    deal["decided_at"] = json!("2026-11-29T15:00:00Z");
    deal["contacts"] = camille();
    assert_eq!(app.post_decision(&deal).await.status, 201);
    assert_eq!(app.deliver().await.sent, 0);
    assert_eq!(
        interview_status(&app).await,
        "cancelled",
        "not counted as invited"
    );
}

both_backends!(
    a_buyer_in_paris_books_moves_and_cancels_from_the_link,
    an_invitation_to_an_address_that_does_not_exist_closes_its_interview,
    a_buyer_who_opts_out_has_declined_and_books_nothing,
    across_a_daylight_saving_change_both_sides_read_their_own_right_time,
    reminders_come_a_day_and_an_hour_before_and_never_once_cancelled,
    a_booked_buyer_is_not_reminded_and_an_unbooked_invitation_expires,
    a_wrong_form_or_link_books_nothing_and_says_why,
    two_buyers_racing_for_one_slot_never_both_get_it,
);
