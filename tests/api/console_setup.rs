//! Program setup in the console beyond segments: the survey editor (wording in each
//! language, structure as JSON or a SurveyJS import, the widget's preview documents) and
//! the interview guide editor. Each save is the next version, checked as the API checks it.

use debrief_server::auth::Role;
use debrief_tests::console::{signed_in, Page};
use debrief_tests::{both_backends, TestApp};
use serde_json::{json, Value};

const EDITOR: &str = "/console/program/surveys/win_loss";
const API: &str = "/api/v1/program/surveys/win_loss";

/// The value of the input named `name` on `page`, as the browser reads it.
fn input_value(page: &Page, name: &str) -> Option<String> {
    page.body
        .split(&format!("name=\"{name}\""))
        .nth(1)?
        .split("value=\"")
        .nth(1)?
        .split('"')
        .next()
        .map(|v| {
            v.replace("&#x27;", "'")
                .replace("&#x3D;", "=")
                .replace("&amp;", "&")
        })
}

async fn stored(app: &TestApp) -> Value {
    app.get_as(&app.api_key, API).await.body
}

/// A program owner rewords the first question in French, sees the widget's documents
/// follow before saving, saves it as the next version, and is told by name what would
/// break it: an emptied translation, a text the survey does not have, a stale version.
async fn a_program_owner_rewords_the_survey_in_french(app: TestApp) {
    let mut olga = signed_in(&app, Role::ProgramOwner, "Olga Owner", "olga@acme.example").await;
    let editor = olga.get(EDITOR).await;
    assert_eq!(editor.status, 200, "{}", editor.body);
    let before = stored(&app).await;
    let version = before["version"].as_i64().expect("version");
    let field = "text:pages[0].questions[0].title.fr";
    let shown = input_value(&editor, field).expect("the French title's field");
    assert_eq!(
        shown,
        before["definition"]["pages"][0]["questions"][0]["title"]["fr"]
            .as_str()
            .expect("a French title")
    );
    // Both languages of every question, labelled by what holds them.
    assert!(editor
        .body
        .contains("name=\"text:pages[0].questions[0].title.en\""));
    let v = version.to_string();
    let reworded = "Recommanderiez-vous <Acme> à un confrère ?";

    // The preview: the draft as the widget reads it, in each language, saving nothing.
    let preview = olga
        .post(
            &editor,
            &format!("{EDITOR}/preview?part=wording"),
            &[
                ("version", &v),
                (field, reworded),
                ("preview_outcome", "lost"),
                ("preview_competitor", "Northwind"),
            ],
        )
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    let documents: Value = serde_json::from_str(&preview.body).expect("JSON");
    let fr = &documents["documents"]["fr"];
    assert_eq!(fr["locale"], "fr");
    assert_eq!(
        fr["definition"]["pages"][0]["questions"][0]["title"]["fr"],
        reworded
    );
    assert_eq!(fr["context"]["deal"]["competitor"], "Northwind");
    assert_eq!(fr["context"]["deal"]["outcome"], "lost");
    assert!(fr["sentences"]["next"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
    assert_eq!(
        stored(&app).await["version"],
        version,
        "a preview saves nothing"
    );

    // An emptied translation, and a text the survey does not have: named, nothing stored.
    let refused = olga
        .post(
            &editor,
            &format!("{EDITOR}/wording"),
            &[("version", &v), (field, " ")],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused
        .body
        .contains("<code>pages[0].questions[0].title.fr</code>"));
    let made_up = "text:pages[7].questions[0].title.fr";
    let refused = olga
        .post(
            &editor,
            &format!("{EDITOR}/wording"),
            &[("version", &v), (made_up, "x")],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains(&format!("<code>{made_up}</code>")));
    assert_eq!(stored(&app).await["version"], version);

    // A form without the version it was read at is refused: it would land on any version.
    let refused = olga
        .post(&editor, &format!("{EDITOR}/wording"), &[(field, reworded)])
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("<code>version</code>"));
    assert_eq!(stored(&app).await["version"], version);

    // Saved: the next version, with the buyer's words escaped on the page.
    let saved = olga
        .post(
            &editor,
            &format!("{EDITOR}/wording"),
            &[("version", &v), (field, reworded)],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let after = stored(&app).await;
    assert_eq!(after["version"], version + 1);
    assert_eq!(after["created_by"], "Olga Owner");
    assert_eq!(
        after["definition"]["pages"][0]["questions"][0]["title"]["fr"],
        reworded
    );
    // Only the French title changed.
    let mut expected = before["definition"].clone();
    expected["pages"][0]["questions"][0]["title"]["fr"] = json!(reworded);
    let read = |v: &Value| {
        serde_json::from_value::<debrief_common::survey::Definition>(v.clone()).expect("a survey")
    };
    assert_eq!(read(&after["definition"]), read(&expected));
    let page = olga.follow(saved).await;
    assert!(page.body.contains("Saved as a new version."));
    assert!(page.body.contains("&lt;Acme&gt;") && !page.body.contains("<Acme>"));

    // Saved again from the page read before: someone saved since.
    let stale = olga
        .post(
            &editor,
            &format!("{EDITOR}/wording"),
            &[("version", &v), (field, "Autre")],
        )
        .await;
    assert_eq!(stale.status, 409, "{}", stale.body);
    assert!(stale.body.contains("<code>version</code>"));
    assert!(
        stale.body.contains("value=\"Autre\""),
        "what was typed stays"
    );
    assert_eq!(stored(&app).await["version"], version + 1);
}

/// The structure as JSON: a typo is named and kept in the box, a SurveyJS survey is
/// imported only once its unmapped parts are accepted.
async fn a_program_owner_restructures_the_survey_from_surveyjs(app: TestApp) {
    let mut olga = signed_in(&app, Role::ProgramOwner, "Olga Owner", "olga@acme.example").await;
    let editor = olga.get(EDITOR).await;
    let version = stored(&app).await["version"].as_i64().expect("version");
    let v = version.to_string();
    let path = format!("{EDITOR}/structure");
    let typo = "{\"pages\": [";
    let refused = olga
        .post(
            &editor,
            &path,
            &[("version", &v), ("format", "debrief"), ("structure", typo)],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("<code>structure</code>"));
    assert!(refused.body.contains("{&quot;pages&quot;: [</textarea>"));

    let survey = crate::survey_admin::surveyjs_with_a_dropdown().to_string();
    let fields = [
        ("version", v.as_str()),
        ("format", "surveyjs"),
        ("structure", survey.as_str()),
    ];
    let refused = olga.post(&editor, &path, &fields).await;
    assert_eq!(refused.status, 422);
    assert!(refused
        .body
        .contains("<code>pages[0].elements[1].type</code>"));
    assert_eq!(stored(&app).await["version"], version);
    let mut accepted = fields.to_vec();
    accepted.push(("accept_unmapped", "on"));
    let saved = olga.post(&editor, &path, &accepted).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let after = stored(&app).await;
    assert_eq!(after["version"], version + 1);
    let questions = &after["definition"]["pages"][0]["questions"];
    assert_eq!(questions.as_array().map(Vec::len), Some(2));
    assert_eq!(questions[1]["title"]["fr"], "Pourquoi ?");
    // The wording form now holds the imported questions.
    let editor = olga.get(EDITOR).await;
    assert_eq!(
        input_value(&editor, "text:pages[0].questions[1].title.fr").as_deref(),
        Some("Pourquoi ?")
    );
}

/// The guide's wording in both languages and its stages as JSON, each saved as the
/// next version; interviewers read it on the same page.
async fn a_program_owner_edits_the_interview_guide(app: TestApp) {
    let mut olga = signed_in(&app, Role::ProgramOwner, "Olga Owner", "olga@acme.example").await;
    let page = olga.get("/console/program/guide").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("The built-in guide."));
    let field = "text:stages[0].title.fr";
    assert!(input_value(&page, field).is_some());
    let saved = olga
        .post(
            &page,
            "/console/program/guide/wording",
            &[("version", "0"), (field, "Le déclencheur du projet")],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let guide = app.get_as(&app.api_key, "/api/v1/interview-guide").await;
    assert_eq!(guide.body["version"], 1);
    assert_eq!(
        guide.body["guide"]["stages"][0]["title"]["fr"],
        "Le déclencheur du projet"
    );
    // What the check refuses is named: an empty title, a stage of 31 minutes, a stale save.
    let page = olga.get("/console/program/guide").await;
    let refused = olga
        .post(
            &page,
            "/console/program/guide/wording",
            &[("version", "1"), (field, "")],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains(&format!("<code>{field}</code>")));
    let mut stages = guide.body["guide"].clone();
    stages["stages"][0]["minutes"] = json!(31);
    let long = stages.to_string();
    let refused = olga
        .post(
            &page,
            "/console/program/guide/structure",
            &[("version", "1"), ("structure", &long)],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("<code>stages[0].minutes</code>"));
    let stale = olga
        .post(
            &page,
            "/console/program/guide/wording",
            &[("version", "0"), (field, "Autre")],
        )
        .await;
    assert_eq!(stale.status, 409);
    let guide = app.get_as(&app.api_key, "/api/v1/interview-guide").await;
    assert_eq!(guide.body["version"], 1, "nothing stored by a refusal");
}

/// The editors are the program's: analysts and account managers open none of them, and
/// a form posted without its CSRF secret is refused.
async fn only_owners_open_the_survey_and_guide_editors(app: TestApp) {
    for (role, email) in [
        (Role::Analyst, "ann@acme.example"),
        (Role::AccountManager, "ana@acme.example"),
    ] {
        let mut member = signed_in(&app, role, "Someone", email).await;
        for path in [
            EDITOR,
            "/console/program/surveys/win_loss/frame?locale=fr",
            "/console/program/guide",
        ] {
            assert_eq!(member.get(path).await.status, 403, "{role:?} {path}");
        }
    }
    let mut olga = signed_in(&app, Role::ProgramOwner, "Olga Owner", "olga@acme.example").await;
    assert_eq!(
        olga.get("/console/program/surveys/nps_only").await.status,
        404
    );
    // The frame the widget draws the preview in: framed by Debrief's own pages only.
    let frame = olga
        .get("/console/program/surveys/declined_request/frame?locale=fr")
        .await;
    assert_eq!(frame.status, 200);
    assert!(frame.body.contains("data-debrief-preview"));
    let policy = frame
        .headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(policy.contains("frame-ancestors 'self'"), "{policy}");
    let editor = olga.get(EDITOR).await;
    let v = stored(&app).await["version"].to_string();
    let forged = olga
        .post_raw(
            &format!("{EDITOR}/wording"),
            &[
                ("version", &v),
                ("text:pages[0].questions[0].title.fr", "x"),
            ],
        )
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert!(editor.status == 200);
}

both_backends!(
    a_program_owner_rewords_the_survey_in_french,
    a_program_owner_restructures_the_survey_from_surveyjs,
    a_program_owner_edits_the_interview_guide,
    only_owners_open_the_survey_and_guide_editors,
);
