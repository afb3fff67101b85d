//! The whole product, as its users meet it: the real `debrief` binary on a random port, a
//! real SMTP server receiving the invitation, and headless Chromium answering the survey.

use debrief_tests::browser::Browser;
use debrief_tests::mail::Invitation;
use debrief_tests::portal::Portal;
use debrief_tests::smtp::SmtpServer;
use debrief_tests::{fresh_postgres_database, lost_deal, workspace_root};
use fantoccini::{key::Key, Locator};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

mod interview;

/// The `debrief` binary, as built by scripts/test.sh (which names it in DEBRIEF_BIN).
fn server_binary() -> PathBuf {
    if let Ok(path) = std::env::var("DEBRIEF_BIN") {
        return PathBuf::from(path);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace_root().join("target"));
    let binary = target.join("debug/debrief");
    assert!(
        binary.exists(),
        "{} is missing: run scripts/test.sh, which builds it before the tests",
        binary.display()
    );
    binary
}

struct RunningServer {
    url: String,
    /// Printed on the first start of a database only.
    admin_key: Option<String>,
    child: Child,
    _dir: tempfile::TempDir,
}

/// Starts the binary as an operator would, and reads the address and the first-start admin
/// key from what it prints.
async fn start_server(database_url: Option<String>, smtp_port: u16) -> RunningServer {
    start_server_with(database_url, smtp_port, &[]).await
}

/// As [`start_server`], with extra `DEBRIEF_*` settings.
async fn start_server_with(
    database_url: Option<String>,
    smtp_port: u16,
    settings: &[(&str, &str)],
) -> RunningServer {
    let dir = tempfile::tempdir().expect("temp dir");
    let widget_dir = workspace_root().join("widget/dist");
    assert!(
        widget_dir.join("embed.js").exists(),
        "the widget is not built: run scripts/test.sh (it runs scripts/build-widget.sh)"
    );
    let mut command = Command::new(server_binary());
    command
        .arg("serve")
        .env("DEBRIEF_BIND", "127.0.0.1:0")
        .env("DEBRIEF_DATA_DIR", dir.path())
        .env("DEBRIEF_WIDGET_DIR", &widget_dir)
        .env("DEBRIEF_SMTP_HOST", "127.0.0.1")
        .env("DEBRIEF_SMTP_PORT", smtp_port.to_string())
        .env("DEBRIEF_SMTP_TLS", "none")
        .env("DEBRIEF_BUSINESS_HOURS", "00:00-24:00")
        .env("DEBRIEF_BUSINESS_DAYS", "mon-sun")
        .env("DEBRIEF_COMPANY_NAME", "Acme Analytics")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    if let Some(url) = database_url {
        command.env("DEBRIEF_DATABASE_URL", url);
    }
    for (key, value) in settings {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("start the debrief binary");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let (mut url, mut admin_key) = (None, None);
    let read = async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            if let Some(key) = line.split_whitespace().find(|w| w.starts_with("dbk_")) {
                admin_key = Some(key.to_owned());
            }
            if let Some(rest) = line.split("listening on ").nth(1) {
                url = rest.split_whitespace().next().map(str::to_owned);
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), read)
        .await
        .expect("the server did not start within 60 s");
    // Keep draining stdout so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    RunningServer {
        url: url.expect("the server printed its address"),
        admin_key,
        child,
        _dir: dir,
    }
}

impl RunningServer {
    /// Runs `debrief ARGS` on this server's database, as its operator would; what it
    /// printed.
    async fn cli(&self, args: &[&str]) -> String {
        let output = Command::new(server_binary())
            .args(args)
            .env("DEBRIEF_DATA_DIR", self._dir.path())
            .env("RUST_LOG", "warn")
            .output()
            .await
            .expect("run the debrief binary");
        assert!(
            output.status.success(),
            "debrief {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("UTF-8")
    }

    fn key(&self) -> &str {
        self.admin_key
            .as_deref()
            .expect("the first start printed an admin key")
    }

    /// Posts a decided deal as the CRM would, and expects it to be created.
    async fn post_decision(&self, deal: &Value) {
        let reply = reqwest::Client::new()
            .post(format!("{}/api/v1/decisions", self.url))
            .bearer_auth(self.key())
            .json(deal)
            .send()
            .await
            .expect("post decision");
        assert_eq!(reply.status().as_u16(), 201);
    }
}

async fn participation(server: &RunningServer) -> Value {
    reqwest::Client::new()
        .get(format!("{}/api/v1/participation", server.url))
        .bearer_auth(server.key())
        .send()
        .await
        .expect("participation")
        .json()
        .await
        .expect("JSON")
}

async fn wait_for(browser: &Browser, css: &str) -> fantoccini::elements::Element {
    browser
        .client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} did not appear: {e}"))
}

/// Waits for an element and clicks it, as a buyer would.
async fn click(browser: &Browser, css: &str) {
    wait_for(browser, css)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

/// The survey widget on Debrief's own page: it draws itself in the shadow root of
/// `#debrief-survey`, out of reach of the page's CSS, so its elements are found there.
struct Widget<'b> {
    browser: &'b Browser,
    host: &'static str,
}

impl<'b> Widget<'b> {
    fn on(browser: &'b Browser) -> Self {
        Widget {
            browser,
            host: "#debrief-survey",
        }
    }

    /// Waits until the widget shows an element matching `css`.
    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        let mut last = String::new();
        for _ in 0..300 {
            match self.try_find(css).await {
                Ok(element) => return element,
                Err(e) => last = e,
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the widget never showed {css}: {last}");
    }

    async fn try_find(&self, css: &str) -> Result<fantoccini::elements::Element, String> {
        let host = self
            .browser
            .client
            .find(Locator::Css(self.host))
            .await
            .map_err(|e| e.to_string())?;
        let shadow = host.shadow_root().await.map_err(|e| e.to_string())?;
        shadow
            .find(Locator::Css(css))
            .await
            .map_err(|e| e.to_string())
    }

    /// Whether the widget shows `css` now.
    async fn shows(&self, css: &str) -> bool {
        self.try_find(css).await.is_ok()
    }

    /// The radio or checkbox of `question` with `value`.
    async fn input(&self, question: &str, value: &str) -> fantoccini::elements::Element {
        self.find(&format!("input[name$='q.{question}'][value='{value}']"))
            .await
    }

    async fn is_checked(&self, question: &str, value: &str) -> bool {
        self.input(question, value)
            .await
            .is_selected()
            .await
            .expect("selected state")
    }

    /// Presses keys on an element, as a keyboard user does once it has the focus.
    async fn press(&self, css: &str, keys: &str) {
        self.find(css)
            .await
            .send_keys(keys)
            .await
            .unwrap_or_else(|e| panic!("keys on {css}: {e}"));
    }

    async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("text")
    }
}

/// A lost deal is posted; the French buyer clicks 9 in the email and answers the
/// three-page survey in the widget on a 320 px phone, by keyboard only: "price" asks what
/// else weighed, the lost deal asks about the competitor, the driver matrix takes a
/// rating. The program owner sees 1/1 and NPS 100.
async fn a_buyer_answers_from_the_email_in_a_real_browser(database_url: Option<String>) {
    let mut smtp = SmtpServer::start().await;
    let server = start_server(database_url, smtp.port).await;

    server.post_decision(&lost_deal("E2E-1")).await;

    // The worker in the server process sends it; the test waits for the mail to arrive.
    let invitation = Invitation::parse(&smtp.next_mail().await);
    assert_eq!(invitation.to, ["camille@globex.example"]);
    let link = invitation.link_for_score(9).to_owned();

    let browser = Browser::start(320, 800).await;
    browser.client.goto(&link).await.expect("open the link");
    let w = Widget::on(&browser);
    // The widget has taken over the server-rendered page: its progress line is French.
    assert_eq!(w.text(".debrief-progress").await, "Page 1 sur 3");
    assert!(
        w.is_checked("nps", "9").await,
        "score 9 is preselected from the email"
    );

    // The page fits a 320 px screen: nothing scrolls sideways.
    let overflow = browser
        .client
        .execute(
            "return document.documentElement.scrollWidth - window.innerWidth;",
            vec![],
        )
        .await
        .expect("measure");
    assert!(
        overflow.as_i64().unwrap_or(1) <= 0,
        "horizontal overflow: {overflow}"
    );

    // Keyboard: arrow keys move along the scale like any radio group.
    w.press("input[name$='q.nps'][value='9']", &Key::Right.to_string())
        .await;
    assert!(w.is_checked("nps", "10").await, "arrow right selects 10");
    w.press("input[name$='q.nps'][value='10']", &Key::Left.to_string())
        .await;
    assert!(w.is_checked("nps", "9").await, "arrow left returns to 9");

    // Screen readers: the question is the legend of its group, with the company's name.
    assert!(w
        .text("fieldset[id$='q-nps'] legend")
        .await
        .contains("Acme Analytics"));

    // "Price" asks what else weighed on the decision, at once.
    assert!(!w.shows("textarea").await);
    w.press("input[name$='q.reasons'][value='price']", " ")
        .await;
    w.press(
        "textarea",
        "Le prix par siège, et le calendrier de déploiement.",
    )
    .await;
    // Enter in a field sends the page, as in any form.
    w.press(
        "input[name$='q.reasons'][value='price']",
        &Key::Enter.to_string(),
    )
    .await;

    // Page 2: the drivers, and the competitor the deal was lost to.
    assert_eq!(w.text(".debrief-progress").await, "Page 2 sur 3");
    assert!(w
        .text("fieldset[id$='q-why_competitor'] legend")
        .await
        .contains("Northwind"));
    // A high score does not ask what we could have done better.
    assert!(!w.shows("fieldset[id$='q-improve']").await);
    w.press("input[name$='q.drivers.price'][value='very_negative']", " ")
        .await;
    w.press(
        "input[name$='q.drivers.understood_need'][value='positive']",
        " ",
    )
    .await;
    w.press("button.debrief-submit", &Key::Enter.to_string())
        .await;

    // Page 3: the consent is required; space ticks it, Enter finishes.
    assert_eq!(w.text(".debrief-progress").await, "Page 3 sur 3");
    w.press("input[name$='q.consent']", " ").await;
    w.press("button.debrief-submit", &Key::Enter.to_string())
        .await;
    let done = w.text(".debrief-done").await;
    assert!(done.contains("Merci"), "thanks in French: {done}");
    // The page around the widget can tell too: the element says the survey is done.
    wait_for(&browser, "#debrief-survey[data-debrief-state='done']").await;

    // Opening the link again says it was answered.
    browser.client.goto(&link).await.expect("reopen");
    let answered = wait_for(&browser, "[role=alert]").await;
    assert!(answered.text().await.expect("text").contains("Merci"));
    browser.close().await;

    let p = participation(&server).await;
    let overall = &p["overall"];
    assert_eq!(overall["invited"], 1);
    assert_eq!(overall["completed"], 1);
    assert_eq!(overall["rates"]["completed"], 1.0);
    assert_eq!(overall["nps"]["score"], 100.0);
    assert_eq!(overall["nps"]["sample_size"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_buyer_answers_from_the_email_in_a_real_browser() {
    a_buyer_answers_from_the_email_in_a_real_browser(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_buyer_answers_from_the_email_in_a_real_browser() {
    a_buyer_answers_from_the_email_in_a_real_browser(Some(fresh_postgres_database().await)).await;
}

/// An unknown link in a real browser shows a plain explanation, not a stack trace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mistyped_link_shows_a_clear_page() {
    let smtp = SmtpServer::start().await;
    let server = start_server(None, smtp.port).await;
    let browser = Browser::start(800, 600).await;
    browser
        .client
        .goto(&format!("{}/s/{}", server.url, "x".repeat(43)))
        .await
        .expect("open");
    let alert = wait_for(&browser, "[role=alert]").await;
    assert!(alert.text().await.expect("text").contains("not valid"));
    browser.close().await;
}

/// A buyer who wants no more surveys follows the email's opt-out link and confirms in the
/// browser; the survey link closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyer_opts_out_in_a_real_browser() {
    let mut smtp = SmtpServer::start().await;
    let server = start_server(None, smtp.port).await;
    server.post_decision(&lost_deal("E2E-OPT")).await;
    let invitation = Invitation::parse(&smtp.next_mail().await);
    let opt_out = invitation
        .list_unsubscribe
        .clone()
        .expect("List-Unsubscribe");

    let browser = Browser::start(360, 800).await;
    browser
        .client
        .goto(&opt_out)
        .await
        .expect("open opt-out link");
    click(&browser, "form button[type=submit]").await;
    // In the buyer's language (French): the link says who they are.
    let done = wait_for(&browser, "[role=alert]").await;
    assert!(done
        .text()
        .await
        .expect("text")
        .contains("vous ne recevrez plus nos questionnaires"));

    browser
        .client
        .goto(invitation.link_for_score(5))
        .await
        .expect("open survey");
    let closed = wait_for(&browser, "[role=alert]").await;
    assert!(closed
        .text()
        .await
        .expect("text")
        .contains("Vous avez demandé à ne plus recevoir"));
    browser.close().await;
    assert_eq!(participation(&server).await["overall"]["opted_out"], 1);
}

/// A deal with one buyer of its own, at its own account.
fn deal_for(n: usize) -> Value {
    let mut deal = lost_deal(&format!("LOAD-{n}"));
    deal["account"]["name"] = serde_json::json!(format!("Account {n}"));
    deal["contacts"][0]["email"] = serde_json::json!(format!("buyer{n}@example.com"));
    deal
}

async fn post_deals(servers: &[&RunningServer], count: usize) {
    use futures_util::StreamExt;
    futures_util::stream::iter(0..count)
        .map(|n| async move {
            let deal = deal_for(n);
            servers[n % servers.len()].post_decision(&deal).await
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
}

/// Emails this process sent, from its own `/metrics`.
async fn emails_sent(server: &RunningServer) -> u64 {
    let text = reqwest::get(format!("{}/metrics", server.url))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body");
    text.lines()
        .find_map(|l| l.strip_prefix("debrief_emails_sent_total{kind=\"survey_invitation\"} "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Two server processes on one PostgreSQL share the outbox: 1,000 invitations, each sent
/// once, with 1,000 distinct Message-IDs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_postgres_send_1000_invitations_once_each() {
    let mut smtp = SmtpServer::start().await;
    let database = fresh_postgres_database().await;
    let settings = [
        ("DEBRIEF_DELAY_MINUTES", "0"),
        ("DEBRIEF_JOB_BATCH", "50"),
        ("DEBRIEF_POLL_INTERVAL_MS", "50"),
    ];
    let first = start_server_with(Some(database.clone()), smtp.port, &settings).await;
    let mut second = start_server_with(Some(database), smtp.port, &settings).await;
    second.admin_key = first.admin_key.clone();
    post_deals(&[&first, &second], 1_000).await;

    let mut ids = std::collections::HashSet::new();
    for _ in 0..1_000 {
        let mail = Invitation::parse(&smtp.next_mail().await);
        let id = mail.message_id.expect("a Message-ID");
        assert!(ids.insert(id.clone()), "{id} arrived twice");
    }
    let (a, b) = (emails_sent(&first).await, emails_sent(&second).await);
    assert_eq!(
        a + b,
        1_000,
        "sent by the first process: {a}, by the second: {b}"
    );
    assert!(smtp.try_next_mail().is_none());
}

/// `kill -9` in the middle of a batch, then a restart: every invitation arrives; only the
/// messages in flight at the kill may arrive twice (the documented at-least-once window:
/// the pass being recorded and the pass being sent, two batches at most).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_9_mid_batch_loses_no_invitation() {
    const DEALS: usize = 120;
    const BATCH: usize = 20;
    let mut smtp = SmtpServer::start().await;
    smtp.slow_down(Duration::from_millis(40));
    let database = fresh_postgres_database().await;
    let batch = BATCH.to_string();
    let settings = [
        ("DEBRIEF_DELAY_MINUTES", "0"),
        ("DEBRIEF_JOB_BATCH", batch.as_str()),
        ("DEBRIEF_POLL_INTERVAL_MS", "50"),
        // The shortest lease: the killed process's jobs are free again after it.
        ("DEBRIEF_LEASE_SECONDS", "30"),
    ];
    let mut first = start_server_with(Some(database.clone()), smtp.port, &settings).await;
    post_deals(&[&first], DEALS).await;

    let mut received = Vec::new();
    while received.len() < 30 {
        received.push(smtp.next_mail().await.to.join(","));
    }
    first.child.start_kill().expect("SIGKILL");
    first.child.wait().await.expect("the process ended");

    let mut restarted = start_server_with(Some(database), smtp.port, &settings).await;
    restarted.admin_key = first.admin_key.clone();
    let mut distinct: std::collections::HashSet<String> = received.iter().cloned().collect();
    while distinct.len() < DEALS {
        let mail = tokio::time::timeout(Duration::from_secs(90), smtp.next_mail())
            .await
            .expect("every invitation arrives once the lease runs out");
        received.push(mail.to.join(","));
        distinct.insert(mail.to.join(","));
    }
    let twice = received.len() - distinct.len();
    assert!(
        twice <= 2 * BATCH,
        "{twice} duplicates: more than the two batches that can be in flight"
    );
    let pending = reqwest::Client::new()
        .get(format!("{}/api/v1/jobs?status=dead", restarted.url))
        .bearer_auth(restarted.key())
        .send()
        .await
        .expect("jobs")
        .json::<Value>()
        .await
        .expect("json");
    assert_eq!(pending["jobs"], serde_json::json!([]), "nothing gave up");
}

/// SIGTERM in the middle of the sending, as a service manager stops the process: it claims
/// nothing more, finishes and records the pass in flight, and exits cleanly in time. A
/// restart sends the rest, and no buyer gets an invitation twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_batch_finishes_the_pass_and_exits_in_time() {
    const DEALS: usize = 60;
    let mut smtp = SmtpServer::start().await;
    // Slow enough that the sending is still going when the signal comes.
    smtp.slow_down(Duration::from_millis(300));
    let database = fresh_postgres_database().await;
    let settings = [
        ("DEBRIEF_DELAY_MINUTES", "0"),
        ("DEBRIEF_JOB_BATCH", "20"),
        ("DEBRIEF_POLL_INTERVAL_MS", "50"),
        // Far longer than the test: a job left leased by the stopped process would never
        // reach the restarted one, and the test would fail waiting for it.
        ("DEBRIEF_LEASE_SECONDS", "3600"),
    ];
    let mut first = start_server_with(Some(database.clone()), smtp.port, &settings).await;
    post_deals(&[&first], DEALS).await;
    let mut received = Vec::new();
    while received.len() < 10 {
        received.push(smtp.next_mail().await.to.join(","));
    }
    let pid = first.child.id().expect("the server is running");
    let signalled = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .await
        .expect("run kill");
    assert!(signalled.success());
    // The bound: the pass in flight's 10 s grace, then 10 s for requests in flight.
    let status = tokio::time::timeout(Duration::from_secs(25), first.child.wait())
        .await
        .expect("the server exits within 25 s of SIGTERM")
        .expect("exit status");
    assert!(status.success(), "a clean exit after SIGTERM: {status}");
    while let Some(mail) = smtp.try_next_mail() {
        received.push(mail.to.join(","));
    }
    let before_restart = received.len();
    assert!(
        before_restart < DEALS,
        "the signal came mid-sending: some invitations are left for the restart"
    );

    let _restarted = start_server_with(Some(database), smtp.port, &settings).await;
    while received.len() < DEALS {
        let mail = tokio::time::timeout(Duration::from_secs(60), smtp.next_mail())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{} of {DEALS} invitations arrived ({before_restart} before the restart)",
                    received.len()
                )
            });
        received.push(mail.to.join(","));
    }
    let distinct: std::collections::HashSet<&String> = received.iter().collect();
    assert_eq!(distinct.len(), DEALS, "no buyer got an invitation twice");
}

/// A buyer whose browser runs no JavaScript, on a 320 px phone, follows the email's link
/// and answers the whole survey as plain forms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyer_without_javascript_answers_the_survey_on_a_phone() {
    let mut smtp = SmtpServer::start().await;
    let server = start_server(None, smtp.port).await;
    server.post_decision(&lost_deal("E2E-NOJS")).await;
    let invitation = Invitation::parse(&smtp.next_mail().await);
    let browser = Browser::without_javascript(320, 640).await;
    let c = &browser.client;
    c.goto(invitation.link_for_score(3))
        .await
        .expect("open the link");
    // The page is the survey itself, as a form: no widget is needed to answer.
    // The score clicked in the email is ticked, for the buyer to confirm.
    let score = wait_for(&browser, "input[name='q.nps'][value='3']").await;
    assert!(
        score.is_selected().await.expect("state"),
        "3 is preselected"
    );
    click(&browser, "input[name='q.reasons'][value='product_fit']").await;
    // Nothing sticks out sideways: the form ends within the page's width.
    let form = wait_for(&browser, "form.debrief-form").await;
    let (x, _, width, _) = form.rectangle().await.expect("form size");
    let page = wait_for(&browser, "html").await;
    let (_, _, page_width, _) = page.rectangle().await.expect("page size");
    assert!(x + width <= page_width, "{x} + {width} within {page_width}");
    click(&browser, "button[value='next']").await;

    // A low score asks what could have been better.
    wait_for(&browser, "textarea[name='q.improve']")
        .await
        .send_keys("Un meilleur support <b>")
        .await
        .expect("type");
    click(&browser, "button[value='next']").await;
    click(&browser, "input[name='q.consent']").await;
    click(&browser, "button[value='next']").await;
    // Only the thanks page has a paragraph in the alert role (an error shows a div).
    let thanks = wait_for(&browser, "p[role=alert]").await;
    assert!(
        thanks.text().await.expect("text").starts_with("Merci"),
        "the thanks page"
    );
    let p = participation(&server).await;
    assert_eq!(p["overall"]["completed"], 1, "{p}");
    browser.close().await;
}

/// A gateway that opens the email's score link in a headless browser, runs the page's
/// scripts and does nothing else, leaves no answer: only a provisional score.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_headless_visit_that_does_nothing_creates_no_answer() {
    let mut smtp = SmtpServer::start().await;
    let server = start_server(None, smtp.port).await;
    server.post_decision(&lost_deal("E2E-SCAN")).await;
    let invitation = Invitation::parse(&smtp.next_mail().await);
    let browser = Browser::start(800, 600).await;
    browser
        .client
        .goto(invitation.link_for_score(10))
        .await
        .expect("open the link");
    // The widget loads, with the clicked score ticked, and nobody sends it.
    let w = Widget::on(&browser);
    w.find(".debrief-progress").await;
    assert!(w.is_checked("nps", "10").await);
    browser.close().await;
    let p = participation(&server).await;
    assert_eq!(p["overall"]["nps"]["sample_size"], 0, "{p}");
    assert_eq!(p["overall"]["provisional_nps"]["sample_size"], 1);
    assert_eq!(p["overall"]["completed"], 0);
}

/// A buyer answers page 1 with a low score, sees the follow-up it asks for, and leaves.
/// The same link, opened again later, resumes on page 2 with page 1's answers kept; the
/// partial response counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyer_who_leaves_after_page_one_resumes_from_the_same_link() {
    let mut smtp = SmtpServer::start().await;
    let server = start_server(None, smtp.port).await;
    server.post_decision(&lost_deal("E2E-RESUME")).await;
    let invitation = Invitation::parse(&smtp.next_mail().await);
    let link = format!("{}/s/{}", server.url, invitation.token());

    let browser = Browser::start(320, 800).await;
    browser.client.goto(&link).await.expect("open the link");
    let w = Widget::on(&browser);
    w.find(".debrief-progress").await;
    w.input("nps", "3").await.click().await.expect("pick 3");
    w.input("reasons", "vendor")
        .await
        .click()
        .await
        .expect("tick");
    w.find("button.debrief-submit")
        .await
        .click()
        .await
        .expect("next");
    // A score of 6 or less asks what we could have done better.
    assert_eq!(w.text(".debrief-progress").await, "Page 2 sur 3");
    assert!(w
        .text("fieldset[id$='q-improve'] legend")
        .await
        .contains("mieux"));
    // Nothing is left to save once the page says so (each answer was saved on the way).
    wait_until_saved(&w).await;
    browser.close().await;

    let p = participation(&server).await;
    assert_eq!(
        p["overall"]["nps"]["sample_size"], 1,
        "the partial response counts: {p}"
    );
    assert_eq!(p["overall"]["completed"], 0);

    let browser = Browser::start(320, 800).await;
    browser.client.goto(&link).await.expect("reopen the link");
    let w = Widget::on(&browser);
    assert_eq!(w.text(".debrief-progress").await, "Page 2 sur 3");
    w.find("button.debrief-back")
        .await
        .click()
        .await
        .expect("back");
    assert_eq!(w.text(".debrief-progress").await, "Page 1 sur 3");
    assert!(w.is_checked("nps", "3").await);
    assert!(w.is_checked("reasons", "vendor").await);
    browser.close().await;
}

/// Waits until the widget has no answer left to save.
async fn wait_until_saved(w: &Widget<'_>) {
    for _ in 0..300 {
        if w.text(".debrief-saving").await.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the widget never finished saving");
}

/// axe-core finds nothing wrong with any page a buyer meets: the form's pages (a question
/// of every type, a page with faults marked, the thanks page), the widget as it loads, the
/// opt-out page and a dead link's page, at 320 px.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axe_finds_no_violation_on_any_page_a_buyer_meets() {
    let mut smtp = SmtpServer::start().await;
    let server = start_server(None, smtp.port).await;
    server.post_decision(&lost_deal("E2E-AXE")).await;
    let invitation = Invitation::parse(&smtp.next_mail().await);
    let browser = Browser::start(320, 800).await;
    let c = &browser.client;
    let check = |what: &'static str| {
        let browser = &browser;
        async move {
            let violations = browser.axe_violations().await;
            assert!(violations.is_empty(), "{what}: {violations:#?}");
        }
    };

    // The widget answers another buyer's survey: the form below starts from nothing.
    let mut other = lost_deal("E2E-AXE-WIDGET");
    other["account"]["name"] = "Initech".into();
    other["contacts"][0]["email"] = "dominique@initech.example".into();
    server.post_decision(&other).await;
    let widget_invitation = Invitation::parse(&smtp.next_mail().await);
    c.goto(widget_invitation.link_for_score(4))
        .await
        .expect("open the link");
    let w = Widget::on(&browser);
    w.find(".debrief-progress").await;
    check("the widget's first page").await;
    // Sent without the required answers: the faults are marked.
    w.find("button.debrief-submit")
        .await
        .click()
        .await
        .expect("next");
    w.find(".debrief-errors").await;
    check("the widget with faults").await;
    w.input("reasons", "price")
        .await
        .click()
        .await
        .expect("tick");
    w.find("textarea").await;
    check("the widget with a revealed question").await;
    w.find("button.debrief-submit")
        .await
        .click()
        .await
        .expect("next");
    w.find("input[name$='q.drivers.price']").await;
    check("the widget's driver matrix").await;

    let form = format!("{}/s/{}/form", server.url, invitation.token());
    c.goto(&form).await.expect("the form");
    wait_for(&browser, "input[name='q.nps']").await;
    check("the form's first page").await;
    // Sent without the required answers: the page comes back with its faults marked.
    click(&browser, "button[value='next']").await;
    wait_for(&browser, ".debrief-errors").await;
    check("a page with faults").await;
    click(&browser, "input[name='q.nps'][value='4']").await;
    click(&browser, "input[name='q.reasons'][value='price']").await;
    click(&browser, "button[value='next']").await;
    wait_for(&browser, "textarea[name='q.price_what_else']").await;
    check("a page with a revealed question").await;
    click(&browser, "button[value='next']").await;
    wait_for(&browser, "input[name='q.drivers.price']").await;
    check("the driver matrix").await;
    click(&browser, "button[value='next']").await;
    click(&browser, "input[name='q.consent']").await;
    check("the last page").await;
    click(&browser, "button[value='next']").await;
    wait_for(&browser, "p[role=alert]").await;
    check("the thanks page").await;

    let opt_out = invitation
        .list_unsubscribe
        .clone()
        .expect("List-Unsubscribe");
    c.goto(&opt_out).await.expect("the opt-out page");
    wait_for(&browser, "form button[type=submit]").await;
    check("the opt-out page").await;
    c.goto(&format!("{}/s/{}", server.url, "x".repeat(43)))
        .await
        .expect("a dead link");
    wait_for(&browser, "[role=alert]").await;
    check("a dead link").await;
    browser.close().await;
}

/// A page of a customer portal embedding two surveys with one script tag, themed through
/// CSS custom properties, with CSS of its own that must not reach the widgets.
fn portal_page(debrief: &str, tokens: &[String]) -> String {
    let hosts: String = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| {
            format!(r#"<div class="survey" id="survey-{i}" data-debrief-token="{t}" data-debrief-locale="fr"></div>"#)
        })
        .collect();
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Acme portal</title>
<style>
  button {{ background: rgb(255, 0, 0) !important; }}
  legend {{ font-size: 40px; }}
  #survey-1 {{ --debrief-accent: rgb(0, 128, 0); }}
</style></head>
<body><main><h1>Acme customer portal</h1>{hosts}<p id="portal-text">Portal text</p></main>
<script type="module" src="{debrief}/widget/embed.js"></script></body></html>"#
    )
}

/// A portal the program allows embeds two surveys on one page: both work, keep unique ids,
/// take the portal's theme and none of its CSS. A portal the program does not list gets
/// no survey: the browser is refused, and the buyer told plainly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_runs_in_an_allowed_portal_and_is_refused_in_another() {
    let mut smtp = SmtpServer::start().await;
    let server = start_server(None, smtp.port).await;
    let mut tokens = Vec::new();
    for (n, email) in ["camille@globex.example", "dominique@initech.example"]
        .iter()
        .enumerate()
    {
        let mut deal = lost_deal(&format!("E2E-PORTAL-{n}"));
        deal["account"]["name"] = format!("Account {n}").into();
        deal["contacts"][0]["email"] = (*email).into();
        server.post_decision(&deal).await;
        tokens.push(Invitation::parse(&smtp.next_mail().await).token());
    }
    let allowed = Portal::start(portal_page(&server.url, &tokens)).await;
    let stranger = Portal::start(portal_page(&server.url, &tokens[..1])).await;
    let program = serde_json::json!({
        "name": "Win-loss",
        "segments": [{ "key": "all", "name": "All decided deals", "method": "survey" }],
        "embed_origins": [allowed.url],
    });
    let stored = reqwest::Client::new()
        .put(format!("{}/api/v1/program", server.url))
        .bearer_auth(server.key())
        .json(&program)
        .send()
        .await
        .expect("store the program");
    assert_eq!(stored.status().as_u16(), 200);

    let browser = Browser::start(360, 900).await;
    browser.client.goto(&allowed.url).await.expect("the portal");
    for host in ["#survey-0", "#survey-1"] {
        let w = Widget {
            browser: &browser,
            host,
        };
        assert_eq!(w.text(".debrief-progress").await, "Page 1 sur 3", "{host}");
    }
    let w1 = Widget {
        browser: &browser,
        host: "#survey-1",
    };
    // Answering in the second widget touches the second survey only.
    w1.input("nps", "7").await.click().await.expect("pick 7");
    assert!(w1.is_checked("nps", "7").await);
    assert!(
        !Widget {
            browser: &browser,
            host: "#survey-0"
        }
        .is_checked("nps", "7")
        .await
    );
    let checks = browser
        .client
        .execute(
            r#"const roots = [...document.querySelectorAll('[data-debrief-token]')].map(h => h.shadowRoot);
               const ids = roots.flatMap(r => [...r.querySelectorAll('[id]')].map(e => e.id));
               const style = (r, css, p) => getComputedStyle(r.querySelector(css))[p];
               return {
                 ids: ids.length, unique: new Set(ids).size,
                 button0: style(roots[0], 'button.debrief-submit', 'backgroundColor'),
                 button1: style(roots[1], 'button.debrief-submit', 'backgroundColor'),
                 legend: style(roots[0], 'legend', 'fontSize'),
                 portalText: getComputedStyle(document.getElementById('portal-text')).fontSize,
               };"#,
            vec![],
        )
        .await
        .expect("inspect");
    assert!(checks["ids"].as_u64().unwrap_or(0) > 10, "{checks}");
    assert_eq!(
        checks["ids"], checks["unique"],
        "ids are unique on the page"
    );
    // The portal's `button` rule does not reach in; its custom property does.
    assert_eq!(checks["button0"], "rgb(29, 78, 216)", "{checks}");
    assert_eq!(checks["button1"], "rgb(0, 128, 0)", "{checks}");
    assert_ne!(checks["legend"], "40px", "{checks}");
    // And the widget's style does not reach out.
    assert_eq!(checks["portalText"], "16px", "{checks}");
    check_axe(&browser, "a portal with two widgets").await;

    browser
        .client
        .goto(&stranger.url)
        .await
        .expect("another site");
    let w = Widget {
        browser: &browser,
        host: "#survey-0",
    };
    let refused = w.text(".debrief-error").await;
    assert!(refused.contains("charger"), "{refused}");
    browser.close().await;
    // The refused page opened nothing: only the allowed portal's visits count.
    let p = participation(&server).await;
    assert_eq!(p["overall"]["opened"], 2, "{p}");
}

async fn check_axe(browser: &Browser, what: &str) {
    let violations = browser.axe_violations().await;
    assert!(violations.is_empty(), "{what}: {violations:#?}");
}
