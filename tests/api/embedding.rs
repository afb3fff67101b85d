//! Where the widget may run: the program lists the portals allowed to embed it. The buyer
//! API answers those origins (CORS) and refuses any other before anything is stored; the
//! survey page may be framed by them alone.

use debrief_tests::{both_backends, lost_deal, TestApp};
use serde_json::{json, Value};

const PORTAL: &str = "https://portal.acme.example";
const STRANGER: &str = "https://evil.example";

fn program(origins: Value) -> Value {
    json!({
        "name": "Win-loss",
        "segments": [{ "key": "all", "name": "All decided deals", "method": "survey" }],
        "embed_origins": origins,
    })
}

async fn store(app: &TestApp, origins: Value) -> debrief_tests::Reply {
    app.put_as(&app.api_key, "/api/v1/program", &program(origins), None)
        .await
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    origin: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = app
        .http
        .request(method, format!("{}{path}", app.address))
        .header("Origin", origin);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request")
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn a_portal_the_program_allows_embeds_the_survey_and_others_are_refused(mut app: TestApp) {
    // Written with a trailing slash, as people paste it: kept as written, matched as the
    // origin itself.
    let stored = app
        .put_program(&program(json!([format!("{PORTAL}/")])))
        .await;
    assert_eq!(
        stored.body["definition"]["embed_origins"][0],
        format!("{PORTAL}/")
    );
    app.post_decision(&lost_deal("EMB-1")).await;
    let invitation = app.deliver_and_read_invitation().await;
    let token = invitation.token();
    let definition = format!("/api/v1/surveys/{token}/definition");
    let answers = format!("/api/v1/surveys/{token}/answers");

    // The allowed portal: its preflight is granted, its requests answered for it.
    let preflight = send(&app, reqwest::Method::OPTIONS, &answers, PORTAL, None).await;
    assert_eq!(preflight.status(), 204);
    assert_eq!(
        header(&preflight, "access-control-allow-origin").as_deref(),
        Some(PORTAL)
    );
    assert!(header(&preflight, "access-control-allow-methods").is_some_and(|m| m.contains("PUT")));
    let read = send(&app, reqwest::Method::GET, &definition, PORTAL, None).await;
    assert_eq!(read.status(), 200);
    assert_eq!(
        header(&read, "access-control-allow-origin").as_deref(),
        Some(PORTAL)
    );
    let nps = json!({ "answers": [{ "question": "nps", "value": 8 }] });
    let saved = send(&app, reqwest::Method::PUT, &answers, PORTAL, Some(nps)).await;
    assert_eq!(saved.status(), 200);

    // Any other origin: refused, naming the Origin, and nothing it sent is stored.
    let preflight = send(&app, reqwest::Method::OPTIONS, &answers, STRANGER, None).await;
    assert_eq!(preflight.status(), 403);
    assert_eq!(header(&preflight, "access-control-allow-origin"), None);
    let overwrite = json!({ "answers": [{ "question": "nps", "value": 0 }] });
    let refused = send(
        &app,
        reqwest::Method::PUT,
        &answers,
        STRANGER,
        Some(overwrite),
    )
    .await;
    assert_eq!(refused.status(), 403);
    let body: Value = refused.json().await.expect("JSON");
    assert_eq!(body["error"], "origin_not_allowed");
    assert_eq!(body["fields"][0]["field"], "Origin");
    let document = app.survey_document(&token).await;
    let nps = document.body["answers"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["question"] == "nps"))
        .map(|i| i["value"].clone());
    assert_eq!(nps, Some(json!(8)), "the refused write changed nothing");

    // Debrief's own page (no Origin, or its own) needs no entry.
    let own = send(&app, reqwest::Method::GET, &definition, &app.address, None).await;
    assert_eq!(own.status(), 200);

    // The survey page may be framed by the portal, and by no one else.
    let page = app
        .http
        .get(format!("{}/s/{token}", app.address))
        .send()
        .await
        .expect("page");
    let csp = header(&page, "content-security-policy").expect("CSP");
    assert!(
        csp.contains(&format!("frame-ancestors 'self' {PORTAL}")),
        "{csp}"
    );
    // Other pages (the opt-out's button, say) are framed by no other site.
    let opt_out = invitation
        .list_unsubscribe
        .clone()
        .expect("List-Unsubscribe");
    let page = app.http.get(opt_out).send().await.expect("opt-out page");
    let csp = header(&page, "content-security-policy").expect("CSP");
    assert!(
        csp.contains("frame-ancestors 'self'") && !csp.contains(PORTAL),
        "{csp}"
    );
}

async fn an_origin_that_is_not_one_is_refused_naming_its_place(app: TestApp) {
    for (bad, why) in [
        ("portal.acme.example", "no scheme"),
        ("https://portal.acme.example/path", "a path"),
        ("https://*.acme.example", "a wildcard"),
        ("ftp://portal.acme.example", "another scheme"),
        ("https://portal.acme.example:99999", "a bad port"),
    ] {
        let reply = store(&app, json!([PORTAL, bad])).await;
        assert_eq!(reply.status, 422, "{why}: {}", reply.text);
        assert_eq!(reply.error_fields(), ["embed_origins[1]"], "{why}");
    }
    let twice = store(&app, json!([PORTAL, PORTAL])).await;
    assert_eq!(twice.error_fields(), ["embed_origins[1]"]);
}

both_backends!(
    a_portal_the_program_allows_embeds_the_survey_and_others_are_refused,
    an_origin_that_is_not_one_is_refused_naming_its_place,
);
