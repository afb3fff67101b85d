//! The README's screenshots, made from the demo data: the demo's quarter is seeded as
//! `scripts/run.sh` seeds it, its three members sign in with the links the demo prints,
//! and headless Chromium photographs the pages each opens every morning, 1280 pixels wide.
//!
//!     scripts/screenshots.sh        (writes docs/screenshots/*.png)

use debrief_server::demo;
use debrief_tests::browser::Browser;
use debrief_tests::{spawn_app, workspace_root, Backend};
use fantoccini::Locator;

/// Each member's pages: (member's role as the demo names it, page, file).
const SHOTS: [(&str, &str, &str); 9] = [
    ("program owner", "/console/dashboard", "dashboard"),
    (
        "program owner",
        "/console/program/segments/volume",
        "segment-editor",
    ),
    (
        "program owner",
        "/console/program/settings",
        "program-settings",
    ),
    (
        "program owner",
        "/console/program/surveys/win_loss",
        "survey-editor",
    ),
    ("program owner", "/console/operations/alerts", "alerts"),
    ("account manager", "/console/deals", "deals"),
    ("account manager", "/console/invitations", "invitations"),
    ("analyst", "/console/coding", "coding-queue"),
    ("analyst", "/console/insights", "search"),
];

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let app = spawn_app(Backend::Sqlite).await;
    let now = app.clock.now();
    demo::seed(&app.db, &app.planner, &app.address, now)
        .await
        .expect("the demo's quarter");
    let links = demo::console_links(&app.db, &app.address, now)
        .await
        .expect("sign-in links");
    let out = workspace_root().join("docs/screenshots");
    std::fs::create_dir_all(&out).expect("docs/screenshots");
    for (who, link) in &links {
        let browser = Browser::start(1280, 1400).await;
        let c = &browser.client;
        c.goto(link).await.expect("the link's page");
        browser.confirm_sign_in().await;
        for (_, path, file) in SHOTS.iter().filter(|(role, _, _)| who.contains(role)) {
            c.goto(&format!("{}{path}", app.address))
                .await
                .expect("page");
            c.wait()
                .for_element(Locator::Css("main h1"))
                .await
                .expect("the page's title");
            // The survey editor's widgets draw once the page has sent them the draft.
            c.execute_async(
                "const done = arguments[arguments.length - 1];
                 const until = performance.now() + 10000;
                 const drawn = () => [...document.querySelectorAll('iframe[data-lang]')]
                   .every(f => f.contentDocument?.querySelector('[data-debrief-preview]')
                     ?.shadowRoot?.querySelector('h2, legend'));
                 const check = () => drawn() || performance.now() > until
                   ? done(true) : requestAnimationFrame(check);
                 check();",
                vec![],
            )
            .await
            .expect("the previews");
            let png = c.screenshot().await.expect("screenshot");
            let to = out.join(format!("{file}.png"));
            std::fs::write(&to, png).expect("write");
            println!("{}", to.display());
        }
        browser.close().await;
    }
}
