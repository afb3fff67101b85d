//! The staff console, as its people meet it without a script: signing in by an emailed
//! link or a password, forms that carry their CSRF secret, sessions that end, pages that
//! keep to each role, the team an admin keeps, and the dashboard's figures.

use crate::analytics::{decide_and_rate, expected_nps, Answer};
use chrono::Duration;
use debrief_server::auth::Role;
use debrief_tests::console::{ana_and_bobs_deals, member, signed_in, Page, Visitor};
use debrief_tests::{both_backends, lost_deal, TestApp};
use mail_parser::MessageParser;
use serde_json::json;

/// A program owner the admin added, who may sign in.
async fn olga(app: &TestApp) {
    let en = debrief_common::Locale::En;
    member(
        app,
        Role::ProgramOwner,
        "Olga Owner",
        "olga@acme.example",
        en,
    )
    .await;
}

/// Asks for a sign-in link for `email` from the sign-in page, as a visitor would.
async fn ask_for_link(visitor: &mut Visitor, email: &str) -> Page {
    let form = visitor.get("/console/sign-in").await;
    visitor
        .post(&form, "/console/sign-in/link", &[("email", email)])
        .await
}

/// The link in the sign-in email, its Message-ID checked.
async fn link_from_email(app: &mut TestApp) -> String {
    app.deliver().await;
    let mail = app.smtp.next_mail().await;
    assert_eq!(mail.to, ["olga@acme.example"]);
    let parsed = MessageParser::default().parse(&mail.data).expect("MIME");
    assert!(parsed.message_id().is_some_and(|id| id.contains('@')));
    assert_eq!(parsed.subject(), Some("Your sign-in link for Debrief"));
    let text = parsed.body_text(0).expect("text part").into_owned();
    let html = parsed.body_html(0).expect("HTML part").into_owned();
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/console/sign-in/link/"))
        .expect("a link in the text")
        .to_owned();
    assert!(html.contains(&link), "the HTML part carries the same link");
    link
}

async fn a_member_signs_in_through_the_emailed_link_once(mut app: TestApp) {
    olga(&app).await;
    let mut browser = Visitor::new(&app);
    // A page asks them to sign in, and comes back after.
    let page = browser.get("/console/dashboard?outcome=lost").await;
    assert_eq!(page.status, 303);
    assert_eq!(
        page.location.as_deref(),
        Some("/console/sign-in?next=%2Fconsole%2Fdashboard%3Foutcome%3Dlost")
    );
    let form = browser.follow(page).await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("Email me a sign-in link"));
    let csrf_cookie = form.cookie_line("debrief_csrf").expect("a CSRF cookie");
    assert!(csrf_cookie.contains("HttpOnly") && csrf_cookie.contains("SameSite=Lax"));
    let sent = browser
        .post(
            &form,
            "/console/sign-in/link",
            &[
                ("email", "Olga@Acme.example"),
                ("next", "/console/dashboard?outcome=lost"),
                ("lang", "en"),
            ],
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert!(sent.body.contains("a sign-in link is on its way"));
    // Nothing leaves from the request: the outbox sends it.
    assert!(app.smtp.try_next_mail().is_none());
    let link = link_from_email(&mut app).await;

    let mut browser = Visitor::new(&app);
    let confirm = browser.get(&link).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.body.contains("Continue to the console"));
    // Opening the link signs nobody in: a mail scanner that follows it uses nothing up.
    assert!(!browser.cookies.contains_key("debrief_session"));
    let path = link.trim_start_matches(&app.address).to_owned();
    let signed = browser
        .post(
            &confirm,
            &path,
            &[("next", "/console/dashboard?outcome=lost")],
        )
        .await;
    assert_eq!(signed.status, 303);
    assert_eq!(
        signed.location.as_deref(),
        Some("/console/dashboard?outcome=lost")
    );
    let session = signed
        .cookie_line("debrief_session")
        .expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/console"] {
        assert!(session.contains(attribute), "{session}");
    }
    let dashboard = browser.follow(signed).await;
    assert_eq!(dashboard.status, 200);
    assert!(dashboard.body.contains("Program dashboard"));
    assert!(dashboard.body.contains("Olga Owner"));

    // The link works once.
    let mut again = Visitor::new(&app);
    let used = again.get(&link).await;
    assert_eq!(used.status, 410);
    assert!(used.body.contains("expired or was used already"));

    // An unknown address gets the same answer, and no email.
    let unknown = ask_for_link(&mut again, "nobody@acme.example").await;
    assert_eq!(unknown.status, 200);
    assert!(unknown.body.contains("a sign-in link is on its way"));
    app.deliver().await;
    assert!(app.smtp.try_next_mail().is_none());

    // A link not used within fifteen minutes no longer works.
    ask_for_link(&mut again, "olga@acme.example").await;
    let late = link_from_email(&mut app).await;
    app.clock.advance(Duration::minutes(16));
    let page = again.get(&late).await;
    assert_eq!(page.status, 410);

    // One network asks for Olga's links five times an hour at most (two were asked
    // above): a stranger cannot spend her whole quota, and is told to wait.
    for n in 0..3 {
        let asked = ask_for_link(&mut again, "olga@acme.example").await;
        assert_eq!(asked.status, 200, "request {n}");
    }
    let refused = ask_for_link(&mut again, "olga@acme.example").await;
    assert_eq!(refused.status, 429);
    assert!(refused
        .body
        .contains("Too many links were asked for from your network"));
    app.deliver().await;
    let mut sent = 0;
    while app.smtp.try_next_mail().is_some() {
        sent += 1;
    }
    assert_eq!(sent, 3, "only what was allowed went out");
    // An hour on, the network may ask again.
    app.clock.advance(Duration::minutes(61));
    let asked = ask_for_link(&mut again, "olga@acme.example").await;
    assert_eq!(asked.status, 200);
}

async fn a_form_posted_without_its_csrf_secret_is_refused(app: TestApp) {
    let mut owner = signed_in(&app, Role::ProgramOwner, "Olga Owner", "olga@acme.example").await;
    let page = owner.get("/console/account").await;
    assert_eq!(page.status, 200);
    let before = app.count("staff_sessions where ended_at is null").await;
    // Another site's form: no secret, or a wrong one.
    for fields in [vec![], vec![("_csrf", "forged")]] {
        let refused = owner.post_raw("/console/sign-out", &fields).await;
        assert_eq!(refused.status, 403);
        assert!(refused.body.contains("This form has expired"));
    }
    let refused = owner
        .post_raw("/console/account/language", &[("locale", "fr")])
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        app.count("staff_sessions where ended_at is null").await,
        before
    );
    let (locale,): (String,) =
        sqlx::query_as("select locale from staff where email = 'olga@acme.example'")
            .fetch_one(app.db.pool())
            .await
            .expect("locale");
    assert_eq!(locale, "en", "nothing changed");
    // The sign-in forms carry one too, double-submitted.
    let mut stranger = Visitor::new(&app);
    let refused = stranger
        .post_raw("/console/sign-in/link", &[("email", "olga@acme.example")])
        .await;
    assert_eq!(refused.status, 403);

    // With the page's own secret, it goes through.
    let out = owner.post(&page, "/console/sign-out", &[]).await;
    assert_eq!(out.status, 303);
    assert_eq!(out.location.as_deref(), Some("/console/sign-in"));
    assert_eq!(owner.get("/console/account").await.status, 303);
}

async fn a_session_ends_after_half_a_day_unused_and_after_a_week_whatever(app: TestApp) {
    let mut owner = signed_in(&app, Role::ProgramOwner, "Olga Owner", "olga@acme.example").await;
    for _ in 0..3 {
        app.clock.advance(Duration::hours(11));
        assert_eq!(owner.get("/console/account").await.status, 200);
    }
    app.clock.advance(Duration::hours(13));
    let page = owner.get("/console/account").await;
    assert_eq!(page.status, 303, "half a day unused");

    let mut busy = signed_in(&app, Role::Analyst, "Ana Lyst", "ana@acme.example").await;
    // Used every eleven hours: 165 hours in, still there; at 176, past the week, gone.
    for _ in 0..15 {
        app.clock.advance(Duration::hours(11));
        assert_eq!(busy.get("/console/account").await.status, 200);
    }
    app.clock.advance(Duration::hours(11));
    assert_eq!(
        busy.get("/console/account").await.status,
        303,
        "a week at most"
    );
}

async fn a_password_signs_in_and_a_wrong_one_does_not(app: TestApp) {
    let mut owner = signed_in(&app, Role::ProgramOwner, "Olga Owner", "olga@acme.example").await;
    let page = owner.get("/console/account").await;
    let short = owner
        .post(
            &page,
            "/console/account/password",
            &[("password", "short"), ("confirm", "short")],
        )
        .await;
    assert_eq!(short.status, 422);
    assert!(short.body.contains("<code>password</code>"));
    let set = owner
        .post(
            &page,
            "/console/account/password",
            &[
                ("password", "a long passphrase"),
                ("confirm", "a long passphrase"),
            ],
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert!(set.body.contains("Your password is saved"));
    let (stored,): (String,) =
        sqlx::query_as("select password_hash from staff where email = 'olga@acme.example'")
            .fetch_one(app.db.pool())
            .await
            .expect("hash");
    assert!(stored.starts_with("$argon2id$") && !stored.contains("passphrase"));

    let mut browser = Visitor::new(&app);
    let form = browser.get("/console/sign-in").await;
    let wrong = browser
        .post(
            &form,
            "/console/sign-in/password",
            &[
                ("email", "olga@acme.example"),
                ("password", "a wrong passphrase"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("That email and password do not match"));
    assert!(!browser.cookies.contains_key("debrief_session"));
    // Five wrong passwords in a row lock password sign-ins for a quarter of an hour, even
    // with the right one; then it works again.
    for _ in 0..4 {
        let wrong = browser
            .post(
                &form,
                "/console/sign-in/password",
                &[
                    ("email", "olga@acme.example"),
                    ("password", "another guess"),
                ],
            )
            .await;
        assert_eq!(wrong.status, 401);
    }
    let right_password = [
        ("email", "olga@acme.example"),
        ("password", "a long passphrase"),
    ];
    let locked = browser
        .post(&form, "/console/sign-in/password", &right_password)
        .await;
    assert_eq!(locked.status, 429);
    assert!(locked.body.contains("Too many wrong passwords"));
    app.clock.advance(Duration::minutes(16));
    let right = browser
        .post(&form, "/console/sign-in/password", &right_password)
        .await;
    assert_eq!(right.status, 303);
    assert_eq!(right.location.as_deref(), Some("/console"));
    let home = browser.follow(right).await;
    assert!(home.body.contains("Program dashboard"));
}

/// Every page a role may not open answers 403, whatever the URL says.
async fn each_role_opens_only_its_own_pages(app: TestApp) {
    let cases = [
        (Role::AccountManager, "/console/dashboard", 403),
        (Role::AccountManager, "/console/team", 403),
        (Role::Analyst, "/console/team", 403),
        (Role::ProgramOwner, "/console/team", 403),
        (Role::Analyst, "/console/dashboard", 200),
        (Role::Admin, "/console/team", 200),
        (Role::AccountManager, "/console/account", 200),
        (Role::AccountManager, "/console/insights", 200),
        (Role::Analyst, "/console/operations", 403),
        (Role::ProgramOwner, "/console/operations", 200),
    ];
    for (i, (role, path, status)) in cases.into_iter().enumerate() {
        let email = format!("member{i}@acme.example");
        let mut member = signed_in(&app, role, "A Member", &email).await;
        let page = member.get(path).await;
        assert_eq!(page.status, status, "{role:?} on {path}: {}", page.body);
        // Nobody's menu offers what they cannot open.
        let menu = member.get("/console/account").await;
        assert_eq!(
            menu.body.contains(r#"href="/console/team""#),
            role == Role::Admin,
            "{role:?}"
        );
        assert!(
            menu.body.contains(r#"href="/console/insights""#),
            "{role:?}"
        );
        assert_eq!(
            menu.body.contains(r#"href="/console/operations""#),
            matches!(role, Role::Admin | Role::ProgramOwner),
            "{role:?}"
        );
    }
}

async fn an_admin_keeps_the_team_and_the_keys(mut app: TestApp) {
    let mut admin = signed_in(&app, Role::Admin, "Ada Admin", "ada@acme.example").await;
    let page = admin.get("/console/team").await;
    assert_eq!(page.status, 200);
    // Someone new gets their link by email.
    let added = admin
        .post(
            &page,
            "/console/team/members",
            &[
                ("name", "Olga Owner"),
                ("email", "olga@acme.example"),
                ("role", "program_owner"),
                ("locale", "en"),
            ],
        )
        .await;
    assert_eq!(added.status, 303);
    link_from_email(&mut app).await;
    let bad = admin
        .post(
            &page,
            "/console/team/members",
            &[
                ("name", "X"),
                ("email", "not an address"),
                ("role", "analyst"),
                ("locale", "en"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("<code>email</code>"));
    let bad = admin
        .post(
            &page,
            "/console/team/members",
            &[
                ("name", "X"),
                ("email", "x@acme.example"),
                ("role", "integration"),
                ("locale", "en"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("<code>role</code>"));

    // Changing someone's role ends their sessions.
    let mut olga = signed_in(&app, Role::ProgramOwner, "Olga Owner", "olga@acme.example").await;
    assert_eq!(olga.get("/console/dashboard").await.status, 200);
    let (olga_id,): (String,) =
        sqlx::query_as("select id from staff where email = 'olga@acme.example'")
            .fetch_one(app.db.pool())
            .await
            .expect("id");
    let page = admin.get("/console/team").await;
    let changed = admin
        .post(
            &page,
            &format!("/console/team/members/{olga_id}"),
            &[("action", "save"), ("role", "analyst"), ("locale", "fr")],
        )
        .await;
    assert_eq!(changed.status, 303);
    assert_eq!(olga.get("/console/dashboard").await.status, 303);
    // Olga's key for a script works while she does.
    let olga_member =
        debrief_server::auth::Member::new("Olga Owner", "olga@acme.example", None).expect("member");
    let olga_key = debrief_server::auth::create_key(
        &app.db,
        "Olga's script",
        Role::Analyst,
        Some(&olga_member),
    )
    .await
    .expect("key");
    assert_eq!(
        app.get_as(&olga_key, "/api/v1/insights/taxonomy")
            .await
            .status,
        200
    );
    // Disabled, nobody signs them in again, and their keys stop working.
    let disabled = admin
        .post(
            &page,
            &format!("/console/team/members/{olga_id}"),
            &[("action", "disable")],
        )
        .await;
    assert_eq!(disabled.status, 303);
    let mut browser = Visitor::new(&app);
    let form = browser.get("/console/sign-in").await;
    browser
        .post(
            &form,
            "/console/sign-in/link",
            &[("email", "olga@acme.example")],
        )
        .await;
    app.deliver().await;
    assert!(app.smtp.try_next_mail().is_none());
    assert_eq!(
        app.get_as(&olga_key, "/api/v1/insights/taxonomy")
            .await
            .status,
        401
    );
    // A member without a role shows as such, not as the first role of the list.
    let iris =
        debrief_server::auth::Member::new("Iris Moreau", "iris@acme.example", Some("Europe/Paris"))
            .expect("member");
    debrief_server::auth::upsert_member(&app.db, &iris)
        .await
        .expect("interviewer");
    let page = admin.get("/console/team").await;
    let iris_row = page
        .body
        .split_once("iris@acme.example")
        .and_then(|(_, rest)| rest.split("</tr>").next())
        .expect("Iris's row");
    assert!(
        iris_row.contains(r#"<option value="" selected>No access</option>"#),
        "{iris_row}"
    );
    // An admin cannot lock themselves out.
    let (ada_id,): (String,) =
        sqlx::query_as("select id from staff where email = 'ada@acme.example'")
            .fetch_one(app.db.pool())
            .await
            .expect("id");
    let refused = admin
        .post(
            &page,
            &format!("/console/team/members/{ada_id}"),
            &[("action", "save"), ("role", "analyst")],
        )
        .await;
    assert_eq!(refused.status, 422);

    // A key for a machine, shown once; revoked, the API refuses it.
    let created = admin
        .post(
            &page,
            "/console/team/keys",
            &[
                ("name", "CRM connector"),
                ("role", "integration"),
                ("holder", ""),
            ],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let key = created
        .body
        .split("dbk_")
        .nth(1)
        .map(|rest| format!("dbk_{}", &rest[..43]))
        .expect("the key, shown once");
    let deal = lost_deal("CRM-KEY-1");
    let posted = app.post_decision_raw(&key, deal.to_string()).await;
    assert_eq!(posted.status, 201, "the new key works");
    assert!(
        !admin.get("/console/team").await.body.contains(&key),
        "shown only once"
    );
    let (key_id,): (String,) =
        sqlx::query_as("select id from api_keys where name = 'CRM connector'")
            .fetch_one(app.db.pool())
            .await
            .expect("key id");
    let page = admin.get("/console/team").await;
    let revoked = admin
        .post(&page, &format!("/console/team/keys/{key_id}/revoke"), &[])
        .await;
    assert_eq!(revoked.status, 303);
    let refused = app
        .post_decision_raw(&key, lost_deal("CRM-KEY-2").to_string())
        .await;
    assert_eq!(refused.status, 401);
    // An account manager's key needs its holder.
    let refused = admin
        .post(
            &page,
            "/console/team/keys",
            &[("name", "AM"), ("role", "account_manager")],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("<code>holder</code>"));
}

/// Whatever a page is sent, it answers with a 4xx naming the field and changes nothing.
async fn console_forms_refuse_hostile_input_by_name(app: TestApp) {
    let mut admin = signed_in(&app, Role::Admin, "Ada Admin", "ada@acme.example").await;
    let page: Page = admin.get("/console/team").await;
    let staff_before = app.count("staff").await;
    let huge = "x".repeat(300 * 1024);
    // (path, fields, status, the field named)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "/console/team/members",
            vec![
                ("name", "A"),
                ("email", "a@acme.example"),
                ("role", "analyst"),
                ("locale", "en"),
                ("admin", "yes"),
            ],
            422,
            "admin",
        ),
        (
            "/console/team/members",
            vec![
                ("name", "A"),
                ("name", "B"),
                ("email", "a@acme.example"),
                ("role", "analyst"),
                ("locale", "en"),
            ],
            422,
            "name",
        ),
        (
            "/console/team/members",
            vec![
                ("name", "A"),
                ("email", "a@acme.example"),
                ("role", "analyst"),
                ("locale", "de"),
            ],
            422,
            "locale",
        ),
        ("/console/team/members", vec![("name", &huge)], 413, ""),
    ];
    for (path, fields, status, field) in cases {
        let answer = admin.post(&page, path, &fields).await;
        assert_eq!(
            answer.status,
            status,
            "{path} {field}: {}",
            answer.body.get(..300).unwrap_or(&answer.body)
        );
        if !field.is_empty() {
            assert!(
                answer.body.contains(&format!("<code>{field}</code>")),
                "{field}"
            );
        }
    }
    assert_eq!(app.count("staff").await, staff_before);
    // Dashboard parameters are checked as the API checks them.
    for (query, field) in [
        ("from=2026-13", "from"),
        ("outcome=maybe", "outcome"),
        ("colour=red", "colour"),
    ] {
        let answer = admin.get(&format!("/console/dashboard?{query}")).await;
        assert_eq!(answer.status, 422, "{query}");
        assert!(
            answer.body.contains(&format!("<code>{field}</code>")),
            "{query}"
        );
    }
    // After signing in, a visitor only ever lands on a console page.
    let mut browser = Visitor::new(&app);
    let form = browser
        .get("/console/sign-in?next=https://evil.example/")
        .await;
    assert!(!form.body.contains("evil.example"));
}

/// The dashboard says what the API says: filtered to losses against one competitor, its
/// NPS is the one computed here from the buyers' scores, and buyer-borne names are
/// escaped.
async fn the_dashboard_reads_losses_to_one_competitor_as_the_buyers_scored_them(mut app: TestApp) {
    let day = chrono::NaiveDate::from_ymd_opt(2026, 10, 6).expect("day");
    let hostile = "<script>alert(1)</script>";
    let deals = [
        Answer {
            outcome: "lost",
            competitor: Some("Northwind"),
            score: 2,
        },
        Answer {
            outcome: "lost",
            competitor: Some("Northwind"),
            score: 9,
        },
        Answer {
            outcome: "lost",
            competitor: Some("Northwind"),
            score: 4,
        },
        Answer {
            outcome: "won",
            competitor: Some("Northwind"),
            score: 10,
        },
        Answer {
            outcome: "lost",
            competitor: Some("Contoso"),
            score: 10,
        },
        Answer {
            outcome: "lost",
            competitor: Some(hostile),
            score: 8,
        },
    ];
    // Losses blame the price, wins praise the demo.
    decide_and_rate(&mut app, day, "dash", &deals, |a| {
        Some(if a.outcome == "won" {
            json!({ "demo": "very_positive" })
        } else {
            json!({ "price": "very_negative" })
        })
    })
    .await;
    let expected = expected_nps(&[2, 9, 4]).expect("an NPS");
    let mut owner = signed_in(&app, Role::ProgramOwner, "Olga Owner", "olga@acme.example").await;
    let filter = "from=2026-10&to=2026-10&outcome=lost&competitor=Northwind";
    let page = owner.get(&format!("/console/dashboard?{filter}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains(&format!("NPS: {expected:.1}")),
        "{expected}: {}",
        page.body
    );
    assert!(page.body.contains("n = 3"));
    assert!(page.body.contains("Why we lose") && !page.body.contains("Why we win"));
    assert!(page.body.contains("ignores the competitor filter"));
    // Narrowed to EMEA (the first, third and fifth deals): the losses scored 2 and 4.
    let emea = owner
        .get(&format!(
            "/console/dashboard?{filter}&region=EMEA&product_line=Forecasting"
        ))
        .await;
    assert_eq!(emea.status, 200, "{}", emea.body);
    let emea_nps = expected_nps(&[2, 4]).expect("an NPS");
    assert!(
        emea.body.contains(&format!("NPS: {emea_nps:.1}")),
        "{}",
        emea.body
    );
    assert!(emea.body.contains("n = 2"));
    assert!(emea
        .body
        .contains(r#"<option value="EMEA" selected>EMEA</option>"#));
    assert!(emea.body.contains(r#"<option value="NA">NA</option>"#));
    // Every competitor the API lists, with the same counts.
    let api = app
        .get_as(
            &app.api_key,
            &format!("/api/v1/analytics/competitors?{filter}"),
        )
        .await;
    let listed = api.body["competitors"].as_array().expect("competitors");
    assert_eq!(listed.len(), 1, "Northwind alone: {}", api.text);
    assert_eq!(
        (listed[0]["won"].as_u64(), listed[0]["lost"].as_u64()),
        (Some(0), Some(3))
    );
    for c in listed {
        let row = format!(
            r#"<th scope="row">{}</th><td class="num">{}</td><td class="num">{}</td>"#,
            c["competitor"].as_str().expect("name"),
            c["won"],
            c["lost"]
        );
        assert!(page.body.contains(&row), "{row}");
    }
    // All competitors met: the one with markup in its name is escaped.
    let all = owner
        .get("/console/dashboard?from=2026-10&to=2026-10")
        .await;
    assert!(!all.body.contains(hostile));
    assert!(
        all.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        all.body
            .split("script")
            .skip(1)
            .take(3)
            .collect::<Vec<_>>()
            .join(" | ")
    );
    assert!(all.body.contains("Why we win"));
    // Every chart has its table, and names itself.
    assert!(all.body.matches(r#"role="img""#).count() >= 3);
    assert!(all.body.contains("Show as a table"));
    // In French, as a French reader writes numbers.
    let mut french = debrief_tests::console::signed_in_with(
        &app,
        Role::Analyst,
        "Anaïs",
        "anais@acme.example",
        debrief_common::Locale::Fr,
    )
    .await;
    let page = french.get(&format!("/console/dashboard?{filter}")).await;
    assert!(
        page.body.contains(&format!(
            "NPS : {}",
            format!("{expected:.1}").replace('.', ",")
        )) || page.body.contains(&format!(
            "NPS: {}",
            format!("{expected:.1}").replace('.', ",")
        )),
        "{}",
        page.body
    );
    assert!(page.body.contains("Pourquoi nous perdons"));
    assert!(page.body.contains(r#"<html lang="fr">"#));
}

/// An account manager invites a buyer of their own deal with a note, reads the email
/// first, and finds it among their invitations; another manager's deal stays closed to
/// them, even by editing the URL or posting to it.
async fn an_account_manager_invites_their_buyer_and_nobody_elses(mut app: TestApp) {
    ana_and_bobs_deals(&mut app).await;

    let mut ana = signed_in(&app, Role::AccountManager, "Ana Duarte", "ana@acme.example").await;
    let deals = ana.get("/console/deals").await;
    assert_eq!(deals.status, 200, "{}", deals.body);
    assert!(deals.body.contains("Globex") && deals.body.contains("S-1"));
    assert!(!deals.body.contains("Initech") && !deals.body.contains("O-1"));
    assert!(
        deals.body.contains("Lee Park"),
        "the decision maker is suggested"
    );
    assert!(deals.body.contains("Decision maker: made the final call"));
    // Bob's deal, by its URL: the same refusal as the API's.
    assert_eq!(ana.get("/console/deals/O-1").await.status, 403);

    let page = ana.get("/console/deals/S-1").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Camille Martin") && page.body.contains("Lee Park"));
    let note = "Camille, merci pour nos échanges.\n<b>Votre avis compte</b>.";
    let fields = [
        ("email", "camille@globex.example"),
        ("note", note),
        ("incentive", "eur_100"),
        ("interviewer", ""),
    ];
    let mut preview_fields = fields.to_vec();
    preview_fields.push(("action", "preview"));
    let preview = ana
        .post(&page, "/console/deals/S-1/invite", &preview_fields)
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert!(preview
        .body
        .contains("The email, as the buyer will read it"));
    assert!(preview.body.contains("Ana Duarte"));
    assert!(preview
        .body
        .contains("&lt;b&gt;Votre avis compte&lt;/b&gt;"));
    assert!(!preview.body.contains("<b>Votre"));
    assert!(preview.body.contains("100 EUR"));
    assert_eq!(app.count("interviews").await, 0, "a preview stores nothing");

    let mut send_fields = fields.to_vec();
    send_fields.push(("action", "send"));
    let sent = ana
        .post(&page, "/console/deals/S-1/invite", &send_fields)
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let listed = ana.follow(sent).await;
    assert!(listed.body.contains("Your invitation is queued"));
    assert!(listed.body.contains("Camille Martin"));
    assert!(listed.body.contains("Interview") && listed.body.contains(">invited<"));
    assert!(!listed.body.contains("Initech"), "only Ana's accounts");
    app.deliver().await;
    let mail = app.next_invitation().await;
    assert_eq!(mail.to, ["camille@globex.example"]);
    assert!(
        mail.text.contains("<b>Votre avis compte</b>"),
        "{}",
        mail.text
    );

    // Posting to Bob's deal is refused and stores nothing; twice is once.
    let mut to_bobs = vec![
        ("email", "peter@initech.example"),
        ("note", ""),
        ("incentive", ""),
        ("interviewer", ""),
    ];
    to_bobs.push(("action", "send"));
    let refused = ana.post(&page, "/console/deals/O-1/invite", &to_bobs).await;
    assert_eq!(refused.status, 403);
    let again = ana
        .post(&page, "/console/deals/S-1/invite", &send_fields)
        .await;
    assert_eq!(again.status, 409);
    assert!(again.body.contains("already_invited"));
    assert_eq!(app.count("interviews").await, 1);
}

/// A program owner narrows a segment: the editor replays last quarter's deals through the
/// draft and says how many each rule and the segment would catch, and who would be asked;
/// a rule that cannot be read is named; saving stores the program's next version.
async fn a_program_owner_edits_a_segment_against_last_quarter(mut app: TestApp) {
    let day = chrono::NaiveDate::from_ymd_opt(2026, 10, 6).expect("day");
    let deals = [
        Answer {
            outcome: "lost",
            competitor: Some("Northwind"),
            score: 2,
        },
        Answer {
            outcome: "lost",
            competitor: Some("Northwind"),
            score: 9,
        },
        Answer {
            outcome: "won",
            competitor: Some("Northwind"),
            score: 10,
        },
        Answer {
            outcome: "lost",
            competitor: Some("Contoso"),
            score: 10,
        },
    ];
    decide_and_rate(&mut app, day, "seg", &deals, |_| None).await;
    let mut owner = signed_in(&app, Role::ProgramOwner, "Olga Owner", "olga@acme.example").await;
    let program = owner.get("/console/program").await;
    assert_eq!(program.status, 200, "{}", program.body);
    assert!(program.body.contains("All decided deals"));
    let page = owner.get("/console/program/segments/all").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains("These rules catch <strong>4</strong> of 4 deals"),
        "{}",
        page.body
    );
    let rule = |attribute: &'static str, values: &'static str, min: &'static str| {
        vec![
            ("name", "Lost deals"),
            ("method", "survey"),
            ("rule_attribute", attribute),
            ("rule_currency", ""),
            ("rule_min", min),
            ("rule_max", ""),
            ("rule_values", values),
            ("rule_days", ""),
            ("rule_is", ""),
        ]
    };
    let preview = owner
        .post(
            &page,
            "/console/program/segments/all/preview",
            &rule("outcome", "lost", ""),
        )
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert!(
        preview
            .body
            .contains("These rules catch <strong>3</strong> of 4 deals"),
        "{}",
        preview.body
    );
    assert!(preview.body.contains("Rule 0: 3 deals"));
    assert!(preview.body.contains("Who would be invited"));
    assert!(preview.body.contains("buyer-0@seg.example"));
    assert!(
        !preview.body.contains("buyer-2@seg.example"),
        "the won deal is out"
    );
    assert_eq!(
        app.count("program_versions").await,
        0,
        "a preview stores nothing"
    );
    // A bound that is not a number is named, and nothing is stored.
    let bad = owner
        .post(
            &page,
            "/console/program/segments/all/preview",
            &rule("sales_cycle_days", "", "ninety"),
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.body.contains("<code>segments[0].rules[0].min</code>"),
        "{}",
        bad.body
    );
    let bad = owner
        .post(
            &page,
            "/console/program/segments/all/preview",
            &rule("colour", "red", ""),
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.body
            .contains("<code>segments[0].rules[0].attribute</code>"),
        "{}",
        bad.body
    );
    // Saved, it is the program's next version.
    let saved = owner
        .post(
            &page,
            "/console/program/segments/all",
            &rule("outcome", "lost", ""),
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let stored = app.get_as(&app.api_key, "/api/v1/program").await;
    assert_eq!(stored.body["version"], 1);
    assert_eq!(
        stored.body["definition"]["segments"][0]["name"],
        "Lost deals"
    );
    assert_eq!(
        stored.body["definition"]["segments"][0]["rules"][0]["any_of"],
        json!(["lost"])
    );
    // An analyst may not.
    let mut analyst = signed_in(&app, Role::Analyst, "Ana Lyst", "ana@acme.example").await;
    assert_eq!(
        analyst.get("/console/program/segments/all").await.status,
        403
    );
}

/// A program owner keeps the operations: a relay refused an email, which they replay from
/// the dead letters once it is fixed; an address they mark do-not-contact loses what was
/// queued for it, and is found, and lifted, with a reason.
async fn a_program_owner_replays_a_dead_email_and_keeps_the_suppression_list(mut app: TestApp) {
    app.smtp
        .reject_recipients(Some("554 5.7.1 relay access denied"));
    assert_eq!(app.post_decision(&lost_deal("D-1")).await.status, 201);
    assert_eq!(app.deliver().await.dead, 1);
    let mut owner = signed_in(&app, Role::ProgramOwner, "Olga Owner", "olga@acme.example").await;
    let page = owner.get("/console/operations").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("relay access denied"),
        "the last error, to act on"
    );
    let dead = app.dead_jobs().await;
    let id = dead[0]["id"].as_str().expect("id");
    app.smtp.reject_recipients(None);
    let replayed = owner
        .post(&page, &format!("/console/operations/jobs/{id}/replay"), &[])
        .await;
    assert_eq!(replayed.status, 200, "{}", replayed.body);
    assert!(replayed.body.contains("Queued again"));
    assert!(!replayed.body.contains("relay access denied"));
    assert_eq!(app.deliver().await.sent, 1);
    assert_eq!(app.next_invitation().await.to, ["camille@globex.example"]);
    // Replaying twice finds nothing to replay.
    let again = owner
        .post(&page, &format!("/console/operations/jobs/{id}/replay"), &[])
        .await;
    assert_eq!(again.status, 404);

    // A second deal's buyer is queued; marked do-not-contact, their invitation goes.
    let mut second = lost_deal("D-2");
    second["contacts"][0]["email"] = json!("lee@globex.example");
    assert_eq!(app.post_decision(&second).await.status, 201);
    let bad = owner
        .post(
            &page,
            "/console/operations/suppressions",
            &[("email", "not an address"), ("note", "")],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("<code>email</code>"));
    let added = owner
        .post(
            &page,
            "/console/operations/suppressions",
            &[
                ("email", "Lee@Globex.example"),
                ("note", "asked us <b>by phone</b>"),
            ],
        )
        .await;
    assert_eq!(added.status, 303);
    assert_eq!(
        app.deliver().await.sent,
        0,
        "the queued invitation is cancelled"
    );
    let found = owner
        .get("/console/operations?email=lee@globex.example")
        .await;
    assert!(found.body.contains("lee@globex.example"));
    assert!(found.body.contains("asked us &lt;b&gt;by phone&lt;/b&gt;"));
    let (entry,): (String,) =
        sqlx::query_as("select id from suppressions where email = 'lee@globex.example'")
            .fetch_one(app.db.pool())
            .await
            .expect("entry");
    let lifted = owner
        .post(
            &page,
            &format!("/console/operations/suppressions/{entry}/lift"),
            &[("reason", "agreed again")],
        )
        .await;
    assert_eq!(lifted.status, 303);
    let after = owner
        .get("/console/operations?email=lee@globex.example")
        .await;
    assert!(after.body.contains("No address is suppressed"));
    // An analyst may not.
    let mut analyst = signed_in(&app, Role::Analyst, "Ana Lyst", "ana@acme.example").await;
    assert_eq!(analyst.get("/console/operations").await.status, 403);
}

/// An analyst searches what buyers said by words, driver and competitor, buyer markup
/// shown as text; an account manager finds only their own buyers' words.
async fn an_analyst_searches_the_buyers_words(mut app: TestApp) {
    app.set_clock("2026-11-29T17:00:00Z");
    let program = app
        .put_program(&json!({
            "name": "Win-loss",
            "contact_policy": { "person_cooldown_days": 90, "account_max_per_decision": 3 },
            "segments": [{ "key": "all", "name": "All", "method": "survey" }]
        }))
        .await;
    assert!(program.status < 300, "{}", program.text);
    // Ana's loss to Northwind (Globex) and Bob's loss to Initech's rival Contoso.
    let said = [
        (
            "S-1",
            "Globex",
            "ana@acme.example",
            "Northwind",
            "camille@globex.example",
            "Le prix était trop élevé <b>pour nous</b>.",
        ),
        (
            "O-1",
            "Initech",
            "bob@acme.example",
            "Contoso",
            "peter@initech.example",
            "The PRICE was fine; the demo was weak.",
        ),
    ];
    for (crm, account, manager, rival, buyer, _) in said {
        let mut deal = lost_deal(crm);
        deal["decided_at"] = json!("2026-11-29T15:00:00Z");
        deal["strategic"] = json!(false);
        deal["competitors"] = json!([rival]);
        deal["account"] =
            json!({ "name": account, "manager": { "name": manager, "email": manager } });
        deal["contacts"][0]["email"] = json!(buyer);
        assert_eq!(app.post_decision(&deal).await.status, 201);
    }
    app.set_clock("2026-11-30T10:00:00Z");
    app.deliver().await;
    for _ in said {
        let mail = app.next_invitation().await;
        let words = said.iter().find(|s| s.4 == mail.to[0]).expect("a buyer").5;
        let answers = json!([
            { "question": "nps", "value": 5 },
            { "question": "reasons", "value": ["product_fit"] },
            { "question": "anything_else", "value": words },
            { "question": "consent", "value": true },
        ]);
        let done = app.complete_survey(&mail.token(), answers).await;
        assert_eq!(done.status, 201, "{}", done.text);
    }
    let analyst_key = app.key_with_role(Role::Analyst).await;
    let queue = app.get_as(&analyst_key, "/api/v1/insights/queue").await;
    for text in queue.body["texts"].as_array().expect("texts") {
        let words = text["text"].as_str().expect("text");
        let (driver, influence, excerpt) = if words.starts_with("Le prix") {
            ("price", -2, "Le prix était trop élevé <b>pour nous</b>")
        } else {
            ("demo", -1, "the demo was weak")
        };
        let coded = app
            .post_as(
                &analyst_key,
                "/api/v1/insights",
                &json!({ "response_id": text["response_id"], "question_id": text["question_id"],
                         "item": text["item"], "driver": driver, "influence": influence,
                         "excerpt": excerpt }),
            )
            .await;
        assert_eq!(coded.status, 201, "{}", coded.body);
    }

    let mut analyst = signed_in(&app, Role::Analyst, "Ann Lyst", "ann@acme.example").await;
    // "prix" finds Camille's words, whatever the case; not Peter's.
    let found = analyst.get("/console/insights?text=PRIX").await;
    assert_eq!(found.status, 200, "{}", found.body);
    assert!(found
        .body
        .contains("Le prix était trop élevé &lt;b&gt;pour nous&lt;/b&gt;"));
    assert!(!found.body.contains("<b>pour nous</b>"));
    assert!(!found.body.contains("the demo was weak"));
    assert!(
        found.body.contains("− Very negative"),
        "the sign, not colour alone"
    );
    // Whatever the accents and their case: "ÉLEVÉ" and "eleve" find "élevé".
    for typed in ["%C3%89LEV%C3%89", "eleve"] {
        let found = analyst
            .get(&format!("/console/insights?text={typed}"))
            .await;
        assert!(found.body.contains("Le prix était trop élevé"), "{typed}");
        assert!(!found.body.contains("the demo was weak"), "{typed}");
    }
    // By driver and by competitor: the demo against Contoso.
    let demo = analyst.get("/console/insights?driver=demo").await;
    assert!(demo.body.contains("the demo was weak") && !demo.body.contains("Le prix"));
    let contoso = analyst
        .get("/console/insights?competitor=Contoso&outcome=lost")
        .await;
    assert!(contoso.body.contains("the demo was weak") && !contoso.body.contains("Le prix"));
    let nothing = analyst.get("/console/insights?text=100%25_off").await;
    assert!(nothing.body.contains("No coded words match this search."));
    // The API finds the same words.
    let api = app.get_as(&analyst_key, "/api/v1/insights?text=prix").await;
    assert_eq!(
        api.body["insights"].as_array().map(Vec::len),
        Some(1),
        "{}",
        api.text
    );
    // Bad parameters are named, on the page and by the API.
    for (query, field) in [
        ("driver=weather", "driver"),
        (&format!("text={}", "a".repeat(201)) as &str, "text"),
        ("from=2026-13", "from"),
        ("colour=red", "colour"),
    ] {
        let refused = analyst.get(&format!("/console/insights?{query}")).await;
        assert_eq!(refused.status, 422, "{query}");
        assert!(
            refused.body.contains(&format!("<code>{field}</code>")),
            "{query}: {}",
            refused.body
        );
    }
    // Ana, Globex's manager, finds Camille's words and not Peter's.
    let mut ana = signed_in(&app, Role::AccountManager, "Ana Duarte", "ana@acme.example").await;
    let hers = ana.get("/console/insights").await;
    assert_eq!(hers.status, 200, "{}", hers.body);
    assert!(hers.body.contains("Le prix") && !hers.body.contains("the demo was weak"));
}

/// The settings form with one incentive row (the 50 EUR card), `overrides` replacing
/// fields by name.
fn settings_form<'a>(overrides: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("rows", "2"),
        ("name", "Win-loss, EMEA"),
        ("period", "quarter"),
        ("survey_target", "30"),
        ("interview_target", "45"),
        ("person_cooldown_days", "60"),
        ("account_max_per_decision", "2"),
        ("account_cooldown_days", "30"),
        ("budget_currency", "eur"),
        ("budget_per_period", "1000"),
        ("budget_per_account", "100"),
        ("budget_when_spent", "hold"),
        ("embed_origins", "https://portal.example.com"),
        ("incentive_key_0", "card_50"),
        ("incentive_kind_0", "money"),
        ("incentive_amount_0", "50"),
        ("incentive_currency_0", ""),
        ("incentive_quantity_0", ""),
        ("incentive_name_0", ""),
        ("incentive_key_1", ""),
        ("incentive_kind_1", ""),
        ("incentive_amount_1", ""),
        ("incentive_currency_1", ""),
        ("incentive_quantity_1", ""),
        ("incentive_name_1", ""),
    ];
    for (name, value) in overrides {
        match fields.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = value,
            None => fields.push((name, value)),
        }
    }
    fields
}

/// A program owner sets the incentives, the budget, the caps and the targets, then a
/// segment's incentive and reminders; impossible values are named and store nothing.
async fn a_program_owner_sets_incentives_budget_and_reminders(mut app: TestApp) {
    app.put_program(&json!({
        "name": "Win-loss",
        "segments": [{ "key": "all", "name": "All", "method": "survey" }]
    }))
    .await;
    let mut olga = signed_in(&app, Role::ProgramOwner, "Olga Owner", "olga@acme.example").await;
    let page = olga.get("/console/program/settings").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(r#"value="Win-loss""#));
    let path = "/console/program/settings";
    for (overrides, field) in [
        (vec![("incentive_amount_0", "lots")], "incentives[0].amount"),
        (vec![("incentive_amount_0", "")], "incentives[0].amount"),
        (vec![("survey_target", "often")], "survey_target"),
        (vec![("budget_currency", "EURO")], "budget.currency"),
        (vec![("incentive_kind_0", "cash")], "incentives[0].kind"),
        (vec![("rows", "999")], "rows"),
    ] {
        let refused = olga.post(&page, path, &settings_form(&overrides)).await;
        assert_eq!(refused.status, 422, "{field}: {}", refused.body);
        assert!(
            refused.body.contains(&format!("<code>{field}</code>")),
            "{field}: {}",
            refused.body
        );
    }
    assert_eq!(app.count("program_versions").await, 1, "nothing stored");
    let saved = olga.post(&page, path, &settings_form(&[])).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let stored = app.get_as(&app.api_key, "/api/v1/program").await;
    let definition = &stored.body["definition"];
    assert_eq!(stored.body["version"], 2);
    assert_eq!(definition["name"], "Win-loss, EMEA");
    assert_eq!(
        definition["incentives"],
        json!([{ "key": "card_50", "kind": "money", "amount": { "minor_units": 5000, "currency": "EUR" } }])
    );
    assert_eq!(definition["budget"]["per_period_minor"], 100_000);
    assert_eq!(definition["budget"]["when_spent"], "hold");
    assert_eq!(definition["survey_target"], 0.3);
    assert_eq!(definition["contact_policy"]["person_cooldown_days"], 60);
    assert_eq!(definition["segments"][0]["key"], "all", "segments kept");
    // Shown back as typed.
    let again = olga.get(path).await;
    assert!(
        again
            .body
            .contains(r#"name="incentive_amount_0" type="text" inputmode="decimal" value="50""#),
        "{}",
        again.body
    );
    // The segment offers the card and reminds after 2 and 5 days.
    let segment = olga.get("/console/program/segments/all").await;
    assert!(
        segment
            .body
            .contains(r#"<option value="card_50">card_50</option>"#),
        "{}",
        segment.body
    );
    let form = |reminders: &'static str| {
        vec![
            ("name", "All"),
            ("method", "survey"),
            ("incentive", "card_50"),
            ("reminder_days", reminders),
            ("expires_after_days", "14"),
            ("target_per_period", ""),
            ("rule_attribute", ""),
            ("rule_currency", ""),
            ("rule_min", ""),
            ("rule_max", ""),
            ("rule_values", ""),
            ("rule_days", ""),
            ("rule_is", ""),
        ]
    };
    let refused = olga
        .post(&segment, "/console/program/segments/all", &form("soon"))
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused
        .body
        .contains("<code>segments[0].reminder_days</code>"));
    let saved = olga
        .post(&segment, "/console/program/segments/all", &form("2, 5"))
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let stored = app.get_as(&app.api_key, "/api/v1/program").await;
    let all = &stored.body["definition"]["segments"][0];
    assert_eq!(all["incentive"], "card_50");
    assert_eq!(all["reminder_days"], json!([2, 5]));
    assert_eq!(all["expires_after_days"], 14);
    // A segment that sends no reminders says so, and keeps saying so when saved again.
    let saved = olga
        .post(&segment, "/console/program/segments/all", &form("aucune"))
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let segment = olga.get("/console/program/segments/all").await;
    assert!(segment
        .body
        .contains(r#"name="reminder_days" type="text" value="none""#));
    let mut untouched = form("none");
    untouched.retain(|(name, _)| *name != "incentive");
    let saved = olga
        .post(&segment, "/console/program/segments/all", &untouched)
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let stored = app.get_as(&app.api_key, "/api/v1/program").await;
    let all = &stored.body["definition"]["segments"][0];
    assert_eq!(
        all["reminder_days"],
        json!([]),
        "no reminders, not the default"
    );
    assert_eq!(
        all["incentive"], "card_50",
        "a field not sent keeps its value"
    );
    // Quiet hours and a sender of its own: emails go out on Tuesdays from 10 to 11 in the
    // buyer's time zone, from "Acme Customer Insights" at the server's address.
    let settings = olga.get(path).await;
    let refused = olga
        .post(
            &settings,
            path,
            &settings_form(&[("sending_hours", "10-11")]),
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.body.contains("<code>sending.hours</code>"),
        "{}",
        refused.body
    );
    let refused = olga
        .post(
            &settings,
            path,
            &settings_form(&[("sender_name", "Acme <ops@evil.example>")]),
        )
        .await;
    assert!(refused.body.contains("<code>sending.sender_name</code>"));
    let quiet = [
        ("sending_hours", "10:00-11:00"),
        ("sending_days", "tue"),
        ("sender_name", "Acme Customer Insights"),
    ];
    let saved = olga.post(&settings, path, &settings_form(&quiet)).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    // Decided on a Wednesday evening: the survey waits for Tuesday 10:00 in Paris.
    app.set_clock("2026-12-02T18:00:00Z");
    let mut deal = debrief_tests::lost_deal("Q-1");
    deal["decided_at"] = json!("2026-12-02T17:00:00Z");
    deal["strategic"] = json!(false);
    assert_eq!(app.post_decision(&deal).await.status, 201);
    let (scheduled,): (String,) =
        sqlx::query_as("select scheduled_for from invitations i join deals d on d.id = i.deal_id where d.crm_id = 'Q-1'")
            .fetch_one(app.db.pool())
            .await
            .expect("invitation");
    assert!(
        scheduled.starts_with("2026-12-08T09:00:00"),
        "Tuesday 10:00 in Paris: {scheduled}"
    );
    app.deliver().await;
    assert!(app.smtp.try_next_mail().is_none(), "nothing before Tuesday");
    app.set_clock("2026-12-08T09:30:00Z");
    app.deliver().await;
    let mail = app.smtp.next_mail().await;
    let parsed = mail_parser::MessageParser::default()
        .parse(&mail.data)
        .expect("MIME");
    let from = parsed.from().and_then(|f| f.first()).expect("From");
    assert_eq!(from.name(), Some("Acme Customer Insights"));
    assert!(from.address().is_some_and(|a| !a.contains("evil")));
    // Not for an analyst.
    let mut ann = signed_in(&app, Role::Analyst, "Ann Lyst", "ann@acme.example").await;
    assert_eq!(ann.get(path).await.status, 403);
}

both_backends!(
    a_program_owner_replays_a_dead_email_and_keeps_the_suppression_list,
    a_program_owner_edits_a_segment_against_last_quarter,
    an_account_manager_invites_their_buyer_and_nobody_elses,
    the_dashboard_reads_losses_to_one_competitor_as_the_buyers_scored_them,
    an_analyst_searches_the_buyers_words,
    a_program_owner_sets_incentives_budget_and_reminders,
    a_member_signs_in_through_the_emailed_link_once,
    a_form_posted_without_its_csrf_secret_is_refused,
    a_session_ends_after_half_a_day_unused_and_after_a_week_whatever,
    a_password_signs_in_and_a_wrong_one_does_not,
    each_role_opens_only_its_own_pages,
    an_admin_keeps_the_team_and_the_keys,
    console_forms_refuse_hostile_input_by_name,
);

/// The fields of the alert editor for a rule on lost deals per competitor, told to
/// `receiver`; `overrides` replace fields by name.
fn alert_form<'a>(receiver: &'a str, overrides: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("name", "Losses getting worse against a competitor"),
        ("metric", "nps"),
        ("driver", ""),
        ("segment", ""),
        ("outcome", "lost"),
        ("competitor", ""),
        ("per", "competitor"),
        ("window_months", "1"),
        ("against", "previous_window"),
        ("change", "-10"),
        ("unit", "points"),
        ("below", ""),
        ("above", ""),
        ("min_sample", "4"),
        ("action", "Call the buyers who left for them this month."),
        ("owners", "owner@acme.example"),
        ("locale", "en"),
        ("receiver_kind_0", "webhook"),
        ("receiver_url_0", receiver),
        ("receiver_kind_1", ""),
        ("receiver_url_1", ""),
        ("receiver_kind_2", ""),
        ("receiver_url_2", ""),
        ("enabled", "on"),
    ];
    for (name, value) in overrides {
        if let Some(field) = fields.iter_mut().find(|(n, _)| n == name) {
            field.1 = value;
        }
    }
    fields
}

/// A program owner writes an alert rule in the console, is refused impossible values by
/// name, keeps the signing secret shown once, and acts on the alert when the NPS of
/// losses to Northwind drops: acknowledged, then snoozed, each told where it went.
async fn a_program_owner_keeps_the_alert_rules(backend: debrief_tests::Backend) {
    use crate::alerts::verifies;
    use crate::analytics::{decide_and_answer, Answer};
    use debrief_tests::receiver::Receiver;
    let mut app =
        debrief_tests::spawn_app_with(backend, &[("DEBRIEF_WEBHOOKS_ALLOW_PRIVATE", "true")]).await;
    app.put_program(&crate::analytics::quarter_program()).await;
    let receiver = Receiver::start(0).await;
    let mut olga = signed_in(&app, Role::ProgramOwner, "Olga Owner", "olga@acme.example").await;
    let defaults = olga.get("/console/operations/alerts").await;
    assert_eq!(defaults.status, 200, "{}", defaults.body);
    // The program's default rules, with their corrective action.
    assert!(defaults.body.contains("Has not fired yet."));
    assert!(!defaults
        .body
        .contains("Losses getting worse against a competitor"));

    // Impossible values are named, and what was typed stays.
    let editor = olga.get("/console/operations/alerts/new").await;
    assert_eq!(editor.status, 200, "{}", editor.body);
    let path = "/console/operations/alerts/new";
    for (field, value) in [
        ("change", "a lot"),
        ("window_months", "13"),
        ("min_sample", "0"),
    ] {
        let refused = olga
            .post(&editor, path, &alert_form(&receiver.url, &[(field, value)]))
            .await;
        assert_eq!(refused.status, 422, "{field}: {}", refused.body);
        assert!(
            refused.body.contains(&format!("<code>{field}</code>")),
            "{field}"
        );
        assert!(refused
            .body
            .contains("value=\"Losses getting worse against a competitor\""));
    }
    // The receiver's signing secret, shown this once.
    let created = olga
        .post(&editor, path, &alert_form(&receiver.url, &[]))
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let secret = created
        .body
        .split("<code>")
        .nth(1)
        .and_then(|s| s.split("</code>").next())
        .filter(|s| s.starts_with("whsec_"))
        .expect("the secret")
        // As the browser shows it: handlebars escapes base64's `=`.
        .replace("&#x3D;", "=");
    let list = olga.get("/console/operations/alerts").await;
    assert!(list
        .body
        .contains("Losses getting worse against a competitor"));
    assert!(list.body.contains("Has not fired yet."));
    assert!(!list.body.contains(&secret), "shown once");
    // Saved again as read back: the receiver keeps its secret.
    let id = rule_id(&app, "Losses getting worse against a competitor")
        .await
        .expect("stored");
    let edit = olga.get(&format!("/console/operations/alerts/{id}")).await;
    assert_eq!(edit.status, 200);
    assert!(!edit.body.contains(&secret));
    let saved = olga
        .post(
            &edit,
            &format!("/console/operations/alerts/{id}"),
            &alert_form(&receiver.url, &[("min_sample", "3")]),
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);

    // October: four losses to Northwind at NPS 75; November: four at −25.
    let loss = |score| Answer {
        outcome: "lost",
        competitor: Some("Northwind"),
        score,
    };
    let october = chrono::NaiveDate::from_ymd_opt(2026, 10, 5).expect("day");
    decide_and_answer(&mut app, october, "oct", &[9, 9, 9, 7].map(loss)).await;
    let november = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).expect("day");
    decide_and_answer(&mut app, november, "nov", &[9, 7, 3, 3].map(loss)).await;
    app.set_clock("2026-11-20T12:00:00Z");
    let owner = app.key_with_role(Role::ProgramOwner).await;
    let evaluated = app
        .post_as(&owner, "/api/v1/alerts/evaluate", &serde_json::Value::Null)
        .await;
    assert_eq!(evaluated.status, 200, "{}", evaluated.body);
    app.deliver().await;
    let received = receiver.received();
    assert_eq!(received.len(), 1, "told once");
    let header = |name: &str| received[0].headers.get(name).cloned().unwrap_or_default();
    assert!(verifies(
        &secret,
        &header("webhook-id"),
        &header("webhook-timestamp"),
        &received[0].body,
        &header("webhook-signature")
    ));

    // The alert waits on the page with its delivery; acknowledged, then snoozed.
    let page = olga.get("/console/operations/alerts").await;
    assert!(page.body.contains("Northwind"), "{}", page.body);
    assert!(page.body.contains("Signed webhook: "));
    assert!(page.body.contains("<strong>delivered</strong>"));
    let (firing,): (String,) = sqlx::query_as("select id from alert_firings where rule_id = $1")
        .bind(&id)
        .fetch_one(app.db.pool())
        .await
        .expect("a firing");
    let ack = olga
        .post(
            &page,
            &format!("/console/operations/alerts/firings/{firing}/acknowledge"),
            &[],
        )
        .await;
    assert_eq!(ack.status, 303, "{}", ack.body);
    let page = olga.get("/console/operations/alerts").await;
    assert!(
        page.body.contains("acknowledged</span> · Olga Owner"),
        "{}",
        page.body
    );
    let snooze = format!("/console/operations/alerts/firings/{firing}/snooze");
    let refused = olga.post(&page, &snooze, &[("days", "0")]).await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("<code>days</code>"));
    let snoozed = olga.post(&page, &snooze, &[("days", "7")]).await;
    assert_eq!(snoozed.status, 303, "{}", snoozed.body);
    let page = olga.get("/console/operations/alerts").await;
    assert!(
        !page.body.contains(&format!("firings/{firing}/")),
        "no longer waiting"
    );

    // Analysts read alerts but do not write rules; account managers see neither.
    let mut ann = signed_in(&app, Role::Analyst, "Ann Lyst", "ann@acme.example").await;
    assert_eq!(ann.get("/console/operations/alerts").await.status, 200);
    assert_eq!(ann.get("/console/operations/alerts/new").await.status, 403);
    let mut ana = signed_in(&app, Role::AccountManager, "Ana Duarte", "ana@acme.example").await;
    assert_eq!(ana.get("/console/operations/alerts").await.status, 403);

    // Deleted, with its alerts.
    let edit = olga.get(&format!("/console/operations/alerts/{id}")).await;
    let deleted = olga
        .post(
            &edit,
            &format!("/console/operations/alerts/{id}/delete"),
            &[],
        )
        .await;
    assert_eq!(deleted.status, 303);
    assert_eq!(
        rule_id(&app, "Losses getting worse against a competitor").await,
        None
    );
}

/// A rule told to four channels, two of them in one Slack workspace: the editor shows
/// every one (the channels' URLs masked), and dropping the first keeps each other
/// channel's own URL rather than the one that used to be at its place.
async fn an_owner_drops_one_of_a_rules_channels_and_the_others_keep_their_urls(
    backend: debrief_tests::Backend,
) {
    let app =
        debrief_tests::spawn_app_with(backend, &[("DEBRIEF_WEBHOOKS_ALLOW_PRIVATE", "true")]).await;
    app.put_program(&crate::analytics::quarter_program()).await;
    let owner = app.key_with_role(Role::ProgramOwner).await;
    let sales = "http://127.0.0.1:9/services/T1/B1/SALESSECRET";
    let product = "http://127.0.0.1:9/services/T1/B2/PRODUCTSECRET";
    let teams = "http://127.0.0.1:9/webhookb2/TEAMSSECRET";
    let hook = "http://127.0.0.1:9/hook";
    let mut rule = crate::alerts::rule(hook);
    rule["receivers"] = serde_json::json!([
        { "kind": "slack", "url": sales },
        { "kind": "slack", "url": product },
        { "kind": "teams", "url": teams },
        { "kind": "webhook", "url": hook },
    ]);
    let created = app.post_as(&owner, "/api/v1/alerts/rules", &rule).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().expect("id").to_owned();

    let mut olga = signed_in(&app, Role::ProgramOwner, "Olga Owner", "olga@acme.example").await;
    let path = format!("/console/operations/alerts/{id}");
    let edit = olga.get(&path).await;
    assert_eq!(edit.status, 200, "{}", edit.body);
    assert!(!edit.body.contains("SECRET"), "channel URLs are masked");
    // Every stored receiver, and room for two more.
    let value_of = |name: &str| {
        edit.body
            .split(&format!("name=\"{name}\" type=\"url\" value=\""))
            .nth(1)
            .and_then(|s| s.split('"').next())
            .map(|v| v.replace("&#x3D;", "="))
    };
    let shown: Vec<String> = (0..6)
        .map(|i| value_of(&format!("receiver_url_{i}")).expect("a slot"))
        .collect();
    assert!(value_of("receiver_url_6").is_none());
    assert_eq!(shown[3], hook);
    assert!(shown[4].is_empty() && shown[5].is_empty());

    // The sales channel is dropped; the rest is sent back as read.
    let mut form = alert_form("", &[]);
    form.retain(|(name, _)| !name.starts_with("receiver_"));
    let kinds = ["", "slack", "teams", "webhook", "", ""];
    let names: Vec<(String, String)> = (0..6)
        .map(|i| (format!("receiver_kind_{i}"), format!("receiver_url_{i}")))
        .collect();
    for (i, (kind, url)) in names.iter().enumerate() {
        form.push((kind, kinds[i]));
        form.push((url, if i == 0 { "" } else { &shown[i] }));
    }
    let saved = olga.post(&edit, &path, &form).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let (definition,): (String,) =
        sqlx::query_as("select definition from alert_rules where id = $1")
            .bind(&id)
            .fetch_one(app.db.pool())
            .await
            .expect("the rule");
    let definition: serde_json::Value = serde_json::from_str(&definition).expect("json");
    let urls: Vec<&str> = definition["receivers"]
        .as_array()
        .expect("receivers")
        .iter()
        .map(|r| r["url"].as_str().expect("url"))
        .collect();
    assert_eq!(urls, [product, teams, hook]);
}

/// The id of the stored rule named `name`.
async fn rule_id(app: &TestApp, name: &str) -> Option<String> {
    let rows: Vec<(String, String)> = sqlx::query_as("select id, definition from alert_rules")
        .fetch_all(app.db.pool())
        .await
        .expect("rules");
    rows.into_iter()
        .find(|(_, d)| {
            serde_json::from_str::<serde_json::Value>(d).is_ok_and(|d| d["name"] == name)
        })
        .map(|(id, _)| id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_program_owner_keeps_the_alert_rules() {
    a_program_owner_keeps_the_alert_rules(debrief_tests::Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_program_owner_keeps_the_alert_rules() {
    a_program_owner_keeps_the_alert_rules(debrief_tests::Backend::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_an_owner_drops_one_of_a_rules_channels_and_the_others_keep_their_urls() {
    an_owner_drops_one_of_a_rules_channels_and_the_others_keep_their_urls(
        debrief_tests::Backend::Sqlite,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_an_owner_drops_one_of_a_rules_channels_and_the_others_keep_their_urls() {
    an_owner_drops_one_of_a_rules_channels_and_the_others_keep_their_urls(
        debrief_tests::Backend::Postgres,
    )
    .await
}
