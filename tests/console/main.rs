//! The staff console in headless Chromium, as its people use it: a program owner signs in
//! through the emailed link and reads the dashboard filtered to the deals lost to one
//! competitor; an account manager invites a buyer with a note and cannot open another
//! manager's deal by editing the URL; an analyst codes three texts by keyboard and the
//! dashboard's driver table changes. axe-core checks every page they open, at 1280 and
//! 375 pixels, in English and French.

use debrief_server::auth::Role;
use debrief_tests::browser::Browser;
use debrief_tests::console::{ana_and_bobs_deals, member, signed_in_with};
use debrief_tests::{lost_deal, spawn_app, Backend, TestApp};
use fantoccini::key::Key;
use fantoccini::Locator;
use mail_parser::MessageParser;
use serde_json::json;

/// Signs the browser in through a one-time link, as a member following it would: the
/// link's page, then its button. Waits for the page it leads to.
async fn follow_link(browser: &Browser, link: &str) {
    let c = &browser.client;
    c.goto(link).await.expect("link");
    accessible(browser, "the link's page").await;
    browser.confirm_sign_in().await;
}

/// A member with `role`, signed in in `browser` through a link the command line would
/// print; opens `path`.
async fn sign_in_as(
    browser: &Browser,
    app: &TestApp,
    (role, name, email, locale): (Role, &str, &str, debrief_common::Locale),
    path: &str,
) {
    let id = member(app, role, name, email, locale).await;
    let token = debrief_server::auth::links::mint(&app.db, &id, app.clock.now())
        .await
        .expect("link");
    follow_link(
        browser,
        &format!("{}/console/sign-in/link/{token}", app.address),
    )
    .await;
    browser
        .client
        .goto(&format!("{}{path}", app.address))
        .await
        .expect("page");
}

/// axe-core finds nothing wrong with the page as it stands.
async fn accessible(browser: &Browser, what: &str) {
    let violations = browser.axe_violations().await;
    assert!(violations.is_empty(), "{what}: {violations:#?}");
}

/// The page's main text, once the page has loaded: a page replaced under the reader (a
/// form just sent) is read again.
async fn text(browser: &Browser) -> String {
    let mut last = None;
    for _ in 0..50 {
        let read = async {
            let main = browser.client.find(Locator::Css("main")).await?;
            main.text().await
        };
        match read.await {
            Ok(text) => return text,
            Err(e) => last = Some(e),
        }
    }
    panic!("the page's text: {last:?}");
}

/// Buyers lost to Northwind and won against it, each rating a driver, over one month.
async fn a_month_of_answers(app: &mut TestApp) {
    let day = chrono::NaiveDate::from_ymd_opt(2026, 10, 6).expect("day");
    let deals = [
        ("lost", "Northwind", 2, "price"),
        ("lost", "Northwind", 9, "price"),
        ("lost", "Northwind", 4, "price"),
        ("won", "Northwind", 10, "demo"),
        ("lost", "Contoso", 10, "price"),
    ];
    app.set_clock(&format!("{day}T09:00:00Z"));
    let mut by_email = std::collections::BTreeMap::new();
    for (n, (outcome, competitor, score, driver)) in deals.iter().enumerate() {
        let mut deal = lost_deal(&format!("C-{n}"));
        deal["outcome"] = json!(outcome);
        deal["decided_at"] = json!(format!("{day}T08:00:00Z"));
        deal["strategic"] = json!(false);
        deal["amount"]["minor_units"] = json!(1_500_000);
        deal["competitors"] = json!([competitor]);
        deal["account"]["name"] = json!(format!("Account {n}"));
        let email = format!("buyer{n}@account{n}.example");
        deal["contacts"][0]["email"] = json!(email);
        deal["contacts"][0]["locale"] = json!("en");
        assert_eq!(app.post_decision(&deal).await.status, 201);
        let rating = if *outcome == "won" {
            "very_positive"
        } else {
            "very_negative"
        };
        by_email.insert(
            email,
            (
                *score,
                json!({ *driver: rating }),
                format!("The {driver} decided it for us, {n}."),
            ),
        );
    }
    app.set_clock(&format!("{}T10:00:00Z", day + chrono::Duration::days(1)));
    app.deliver().await;
    for _ in deals {
        let mail = app.next_invitation().await;
        let (score, rated, words) = by_email[&mail.to[0]].clone();
        let done = app
            .complete_survey(
                &mail.token(),
                json!([
                    { "question": "nps", "value": score },
                    { "question": "reasons", "value": ["product_fit"] },
                    { "question": "drivers", "value": rated },
                    { "question": "anything_else", "value": words },
                    { "question": "consent", "value": true },
                ]),
            )
            .await;
        assert_eq!(done.status, 201, "{}", done.text);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_owner_signs_in_by_email_and_reads_losses_to_one_competitor() {
    let mut app = spawn_app(Backend::Sqlite).await;
    a_month_of_answers(&mut app).await;
    // Olga is on the team; she has never signed in.
    let en = debrief_common::Locale::En;
    member(
        &app,
        Role::ProgramOwner,
        "Olga Owner",
        "olga@acme.example",
        en,
    )
    .await;

    let browser = Browser::start(1280, 900).await;
    let c = &browser.client;
    c.goto(&format!("{}/console/dashboard", app.address))
        .await
        .expect("dashboard");
    // Sent to sign in first.
    assert!(c
        .current_url()
        .await
        .expect("url")
        .path()
        .ends_with("/console/sign-in"));
    accessible(&browser, "sign-in page").await;
    c.find(Locator::Id("email"))
        .await
        .expect("email field")
        .send_keys("olga@acme.example")
        .await
        .expect("type");
    c.find(Locator::Css("form[action='/console/sign-in/link'] button"))
        .await
        .expect("button")
        .click()
        .await
        .expect("click");
    c.wait()
        .for_element(Locator::Css("p.notice[role='status']"))
        .await
        .expect("the answer to the form");
    assert!(text(&browser)
        .await
        .contains("a sign-in link is on its way"));

    app.deliver().await;
    while let Some(mail) = app.smtp.try_next_mail() {
        if mail.to != ["olga@acme.example"] {
            continue;
        }
        let parsed = MessageParser::default().parse(&mail.data).expect("MIME");
        let body = parsed.body_text(0).expect("text").into_owned();
        let link = body
            .split_whitespace()
            .find(|w| w.contains("/console/sign-in/link/"))
            .expect("link")
            .to_owned();
        follow_link(&browser, &link).await;
        break;
    }
    // Back where she was going.
    let url = c.current_url().await.expect("url");
    assert_eq!(url.path(), "/console/dashboard");
    accessible(&browser, "dashboard").await;

    // She narrows the segment to lost deals, and the count of last quarter's deals it
    // catches follows as she types, before she saves anything.
    c.goto(&format!("{}/console/program/segments/all", app.address))
        .await
        .expect("segment editor");
    c.wait()
        .for_element(Locator::XPath(
            "//p[@data-segment-count]/strong[text()='5']",
        ))
        .await
        .expect("all five deals caught");
    accessible(&browser, "segment editor").await;
    c.find(Locator::Css("#attr-0 option[value='outcome']"))
        .await
        .expect("the outcome attribute")
        .click()
        .await
        .expect("pick");
    c.find(Locator::Id("val-0"))
        .await
        .expect("values")
        .send_keys("lost")
        .await
        .expect("type");
    c.wait()
        .for_element(Locator::XPath(
            "//p[@data-segment-count]/strong[text()='4']",
        ))
        .await
        .expect("the count follows the rule: four lost deals");
    assert!(text(&browser).await.contains("Who would be invited"));
    let (versions,): (i64,) = sqlx::query_as("select count(*) from program_versions")
        .fetch_one(app.db.pool())
        .await
        .expect("versions");
    assert_eq!(versions, 0, "nothing saved by a preview");
    c.find(Locator::Css("button.primary"))
        .await
        .expect("save")
        .click()
        .await
        .expect("save");
    c.wait()
        .for_element(Locator::Css("h1"))
        .await
        .expect("the program page");
    c.goto(&format!("{}/console/dashboard", app.address))
        .await
        .expect("dashboard");

    // Filtered to lost deals against Northwind, through the form.
    c.find(Locator::Id("f-from"))
        .await
        .expect("from")
        .clear()
        .await
        .expect("clear");
    c.execute("document.getElementById('f-from').value = '2026-10'; document.getElementById('f-to').value = '2026-10';", vec![]).await.expect("months");
    c.find(Locator::Css("#f-outcome option[value='lost']"))
        .await
        .expect("lost")
        .click()
        .await
        .expect("pick");
    c.find(Locator::Css("#f-competitor option[value='Northwind']"))
        .await
        .expect("Northwind")
        .click()
        .await
        .expect("pick");
    c.find(Locator::Css("form.filters button[type='submit']"))
        .await
        .expect("apply")
        .click()
        .await
        .expect("apply");
    // The filtered page, not the one the click left: its form holds the choice.
    c.wait()
        .for_element(Locator::Css("#f-outcome option[selected][value='lost']"))
        .await
        .expect("the filtered dashboard");
    let page = text(&browser).await;
    // (1 promoter − 2 detractors) of 3: −33.3.
    assert!(page.contains("NPS: -33.3"), "{page}");
    assert!(
        page.contains("Why we lose") && !page.contains("Why we win"),
        "{page}"
    );
    let url = c.current_url().await.expect("url");
    assert!(url
        .query()
        .is_some_and(|q| q.contains("outcome=lost") && q.contains("competitor=Northwind")));
    accessible(&browser, "filtered dashboard").await;

    // At a phone's width, and printed, it still reads.
    browser
        .client
        .set_window_size(375, 800)
        .await
        .expect("narrow");
    accessible(&browser, "dashboard at 375 px").await;
    let overflow: bool = serde_json::from_value(
        c.execute(
            "return document.documentElement.scrollWidth > window.innerWidth + 1;",
            vec![],
        )
        .await
        .expect("width"),
    )
    .expect("bool");
    assert!(!overflow, "nothing wider than the phone's screen");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_manager_invites_a_buyer_with_a_note_and_no_one_elses() {
    let mut app = spawn_app(Backend::Sqlite).await;
    ana_and_bobs_deals(&mut app).await;

    for (width, locale) in [
        (1280, debrief_common::Locale::En),
        (375, debrief_common::Locale::Fr),
    ] {
        let email = format!("ana-{}@acme.example", locale.code());
        // Both Anas manage Globex: the deal names ana@, so give this one that address's
        // scope by making them its manager.
        sqlx::query("update accounts set manager_email = $1 where name = 'Globex'")
            .bind(&email)
            .execute(app.db.pool())
            .await
            .expect("manager");
        let browser = Browser::start(width, 900).await;
        let c = &browser.client;
        sign_in_as(
            &browser,
            &app,
            (Role::AccountManager, "Ana Duarte", &email, locale),
            "/console/deals",
        )
        .await;
        let page = text(&browser).await;
        assert!(
            page.contains("Globex") && !page.contains("Initech"),
            "{page}"
        );
        accessible(&browser, &format!("deals at {width}")).await;
        c.find(Locator::LinkText("Globex"))
            .await
            .expect("the deal")
            .click()
            .await
            .expect("open");
        accessible(&browser, &format!("deal at {width}")).await;
        if locale == debrief_common::Locale::En {
            c.find(Locator::Css("input[value='camille@globex.example']"))
                .await
                .expect("Camille")
                .click()
                .await
                .expect("pick");
            c.find(Locator::Id("note"))
                .await
                .expect("note")
                .send_keys("Camille, thank you: <b>your view</b> matters.")
                .await
                .expect("type");
            c.find(Locator::Css("button[value='preview']"))
                .await
                .expect("preview")
                .click()
                .await
                .expect("preview");
            c.wait()
                .for_element(Locator::Id("preview-title"))
                .await
                .expect("the preview");
            let page = text(&browser).await;
            assert!(
                page.contains("The email, as the buyer will read it"),
                "{page}"
            );
            assert!(
                page.contains("<b>your view</b> matters"),
                "the note as typed, as text: {page}"
            );
            accessible(&browser, "preview").await;
            c.find(Locator::Css("button[value='send']"))
                .await
                .expect("send")
                .click()
                .await
                .expect("send");
            c.wait()
                .for_element(Locator::Css("p.notice"))
                .await
                .expect("the invitations page");
            let page = text(&browser).await;
            assert!(page.contains("Your invitation is queued"), "{page}");
            assert!(page.contains("Camille Martin"));
            accessible(&browser, "invitations").await;
        } else {
            assert!(text(&browser).await.contains("Qui inviter"));
        }
        // Bob's deal, by editing the URL.
        c.goto(&format!("{}/console/deals/O-1", app.address))
            .await
            .expect("Bob's deal");
        let page = text(&browser).await;
        assert!(
            !page.contains("Initech") && !page.contains("peter@initech.example"),
            "{page}"
        );
        assert!(
            page.contains("Your role cannot open this page") || page.contains("Votre rôle"),
            "{page}"
        );
        browser.close().await;
    }
    app.deliver().await;
    let mail = app.next_invitation().await;
    assert_eq!(mail.to, ["camille@globex.example"]);
    assert!(
        mail.text.contains("<b>your view</b> matters"),
        "{}",
        mail.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_analyst_codes_three_texts_by_keyboard_and_the_dashboard_follows() {
    let mut app = spawn_app(Backend::Sqlite).await;
    a_month_of_answers(&mut app).await;
    let mut reader = signed_in_with(
        &app,
        Role::ProgramOwner,
        "Olga Owner",
        "olga@acme.example",
        debrief_common::Locale::En,
    )
    .await;
    let before = reader
        .get("/console/dashboard?from=2026-10&to=2026-10")
        .await
        .body;

    let browser = Browser::start(1280, 900).await;
    let c = &browser.client;
    let analyst = (
        Role::Analyst,
        "Ana Lyst",
        "ana.lyst@acme.example",
        debrief_common::Locale::En,
    );
    sign_in_as(&browser, &app, analyst, "/console/coding").await;
    accessible(&browser, "coding queue").await;
    for round in 0..3 {
        let page = text(&browser).await;
        assert!(page.contains("decided it for us"), "round {round}: {page}");
        // The analyst selects the words "decided it" in the buyer's text, as with the
        // mouse or shift and the arrows.
        c.execute(
            "const q = document.querySelector('[data-source]');
             const node = q.firstChild; const at = node.textContent.indexOf('decided it');
             const r = document.createRange(); r.setStart(node, at); r.setEnd(node, at + 10);
             const s = window.getSelection(); s.removeAllRanges(); s.addRange(r);
             document.dispatchEvent(new MouseEvent('mouseup'));",
            vec![],
        )
        .await
        .expect("select");
        // The key shown beside "Responsiveness", read from the page as the analyst reads it.
        let key: String = serde_json::from_value(
            c.execute(
                "return document.querySelector(\"input[name=driver][value='responsiveness']\").dataset.driverKey;",
                vec![],
            )
            .await
            .expect("key"),
        )
        .expect("a key");
        // Each key goes where the keyboard's focus is, as it would.
        for k in [key.clone(), "1".to_owned(), Key::Enter.to_string()] {
            let focused = c.active_element().await.expect("focus");
            focused.send_keys(&k).await.expect("key");
        }
        c.wait()
            .for_element(Locator::Css("p.notice"))
            .await
            .expect("the saved page");
        let page = text(&browser).await;
        assert!(page.contains("Saved."), "round {round}: {page}");
        // Done with this text, on to the next.
        c.find(Locator::Css("button[value='done']"))
            .await
            .expect("done")
            .click()
            .await
            .expect("done");
        // The queue's next text, not the saved page: its address has no `saved`.
        c.wait()
            .for_url(
                &url::Url::parse(&format!("{}/console/coding?skip=0", app.address)).expect("url"),
            )
            .await
            .expect("the queue again");
    }
    let after = reader
        .get("/console/dashboard?from=2026-10&to=2026-10")
        .await
        .body;
    let row = r#"<th scope="row">Responsiveness</th>"#;
    assert!(!before.contains(row), "no one had named it");
    assert!(
        after.contains(row),
        "the analyst's codings are in the driver table"
    );
    let (coded,): (i64,) = sqlx::query_as("select count(*) from insights where source = 'analyst'")
        .fetch_one(app.db.pool())
        .await
        .expect("count");
    assert_eq!(coded, 3);
    browser.close().await;
}

/// Every page of the console, in English and in French, at 1280 and at 375 pixels:
/// axe-core finds nothing wrong, and nothing is wider than a phone's screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_console_page_reads_in_both_languages_at_both_widths() {
    let mut app = spawn_app(Backend::Sqlite).await;
    app.put_program(&json!({
        "name": "Win-loss",
        "incentives": [
            { "key": "card_50", "kind": "money", "amount": { "minor_units": 5000, "currency": "EUR" } }
        ],
        "segments": [{ "key": "all", "name": "All", "method": "survey", "incentive": "card_50" }]
    }))
    .await;
    a_month_of_answers(&mut app).await;
    let pages = [
        "/console/dashboard",
        "/console/dashboard?outcome=lost&region=EMEA&product_line=Forecasting",
        "/console/program",
        "/console/program/settings",
        "/console/program/segments/all",
        "/console/program/surveys/win_loss",
        "/console/program/guide",
        "/console/deals",
        "/console/deals/C-0",
        "/console/invitations",
        "/console/coding",
        "/console/insights?text=decided",
        "/console/operations",
        "/console/operations/alerts",
        "/console/operations/alerts/new",
        "/console/team",
        "/console/account",
    ];
    for (locale, name, email) in [
        (debrief_common::Locale::En, "Ada Admin", "ada@acme.example"),
        (
            debrief_common::Locale::Fr,
            "Adèle Admin",
            "adele@acme.example",
        ),
    ] {
        let browser = Browser::start(1280, 900).await;
        sign_in_as(
            &browser,
            &app,
            (Role::Admin, name, email, locale),
            "/console/dashboard",
        )
        .await;
        for (width, height) in [(1280, 900), (375, 800)] {
            browser
                .client
                .set_window_size(width, height)
                .await
                .expect("size");
            for path in pages {
                let c = &browser.client;
                c.goto(&format!("{}{path}", app.address))
                    .await
                    .expect("page");
                let lang: String = serde_json::from_value(
                    c.execute("return document.documentElement.lang;", vec![])
                        .await
                        .expect("lang"),
                )
                .expect("text");
                assert_eq!(lang, locale.code(), "{path}");
                let status = text(&browser).await;
                assert!(
                    !status.contains("There is nothing here.")
                        && !status.contains("Il n'y a rien ici."),
                    "{path}: {status}"
                );
                accessible(&browser, &format!("{path} at {width} px in {locale:?}")).await;
                // The elements that stick out, named, when any does.
                let wide: Vec<String> = serde_json::from_value(
                    c.execute(
                        "if (document.documentElement.scrollWidth <= window.innerWidth + 1) return [];
                         const out = [...document.querySelectorAll('body *')]
                           .filter(e => !e.closest('.table-wrap') || e.matches('.table-wrap'))
                           .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
                           .slice(0, 5)
                           .map(e => e.tagName + '.' + e.className + '#' + e.id);
                         return out.length ? out : ['the page itself'];",
                        vec![],
                    )
                    .await
                    .expect("width"),
                )
                .expect("names");
                assert!(
                    wide.is_empty(),
                    "{path} is wider than {width} px in {locale:?}: {wide:?}"
                );
            }
        }
        browser.close().await;
    }
    // Signed out, the sign-in page too.
    let browser = Browser::start(375, 800).await;
    browser
        .client
        .goto(&format!("{}/console/sign-in", app.address))
        .await
        .expect("sign-in");
    accessible(&browser, "sign-in at 375 px").await;
    browser.close().await;
}

/// Runs `script` (a JS expression) in the frame of `lang` beside the survey editor until
/// it is true, checking at each animation frame for up to ten seconds.
async fn in_preview(browser: &Browser, lang: &str, script: &str) -> bool {
    let js = format!(
        "const done = arguments[arguments.length - 1];
         const until = performance.now() + 10000;
         const check = () => {{
           try {{
             const frame = document.querySelector('iframe[data-lang={lang}]');
             const host = frame.contentDocument.querySelector('[data-debrief-preview]');
             const root = host.shadowRoot;
             if (root && ({script})) return done(true);
           }} catch (e) {{}}
           if (performance.now() > until) return done(false);
           requestAnimationFrame(check);
         }};
         check();"
    );
    serde_json::from_value(
        browser
            .client
            .execute_async(&js, vec![])
            .await
            .expect("script"),
    )
    .unwrap_or(false)
}

/// A program owner rewords the survey's first question in French: the real widget beside
/// the editor, at a phone's width, shows the new words as she types, in French only, and
/// nothing is saved until she saves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_owner_rewords_the_survey_and_the_widget_preview_follows() {
    let app = spawn_app(Backend::Sqlite).await;
    let browser = Browser::start(1280, 900).await;
    sign_in_as(
        &browser,
        &app,
        (
            Role::ProgramOwner,
            "Olga Owner",
            "olga@acme.example",
            debrief_common::Locale::En,
        ),
        "/console/program/surveys/win_loss",
    )
    .await;
    let c = &browser.client;
    let english = "How likely are you to recommend";
    assert!(
        in_preview(
            &browser,
            "en",
            &format!("root.textContent.includes('{english}')")
        )
        .await,
        "the English widget shows the survey"
    );
    assert!(
        in_preview(
            &browser,
            "fr",
            "root.textContent.includes('Quelle est la probabilité')"
        )
        .await,
        "the French widget shows the survey"
    );
    accessible(&browser, "survey editor").await;
    let field = c
        .find(Locator::Css("[name='text:pages[0].questions[0].title.fr']"))
        .await
        .expect("the French title");
    field.clear().await.expect("clear");
    field
        .send_keys("Nous conseilleriez-vous à un confrère ?")
        .await
        .expect("type");
    assert!(
        in_preview(
            &browser,
            "fr",
            "root.textContent.includes('Nous conseilleriez-vous')"
        )
        .await,
        "the French preview follows the typing"
    );
    assert!(
        in_preview(
            &browser,
            "en",
            &format!("root.textContent.includes('{english}')")
        )
        .await,
        "the English one is unchanged"
    );
    // Nothing is saved until she saves.
    let (versions,): (i64,) = sqlx::query_as("select count(*) from survey_versions")
        .fetch_one(app.db.pool())
        .await
        .expect("versions");
    let (typed,): (i64,) = sqlx::query_as(
        "select count(*) from survey_versions where definition like '%Nous conseilleriez%'",
    )
    .fetch_one(app.db.pool())
    .await
    .expect("versions");
    assert_eq!(typed, 0, "a preview saves nothing");
    c.find(Locator::Css(
        "form[data-preview-part='wording'] button[type='submit']",
    ))
    .await
    .expect("save")
    .click()
    .await
    .expect("save");
    c.wait()
        .for_element(Locator::Css("p.notice"))
        .await
        .expect("saved");
    let (after,): (i64,) = sqlx::query_as("select count(*) from survey_versions")
        .fetch_one(app.db.pool())
        .await
        .expect("versions");
    assert_eq!(after, versions + 1, "saved once, by the button");
    assert!(
        in_preview(
            &browser,
            "fr",
            "root.textContent.includes('Nous conseilleriez-vous')"
        )
        .await,
        "the saved words, after the page reloads"
    );
    browser.close().await;
}
