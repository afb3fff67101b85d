//! Test kit: starts Debrief against a real database (SQLite file or a fresh PostgreSQL
//! database), with a real SMTP server on loopback, and gives each test a `TestApp` with one
//! method per endpoint.

pub mod browser;
pub mod console;
pub mod load;
pub mod mail;
pub mod portal;
pub mod receiver;
pub mod seed;
pub mod smtp;

use debrief_server::app::clock::Clock;
use debrief_server::app::config::Settings;
use debrief_server::app::Application;
use debrief_server::auth::{self, Role};
use debrief_server::jobs::runner::{Pass, Runner};
use debrief_server::outreach::store::Planner;
use debrief_server::platform::db::Db;
use serde_json::{json, Value};
use smtp::SmtpServer;
use std::collections::HashMap;
use std::path::PathBuf;

pub use debrief_server::platform::db::Backend;

/// Server URL of the PostgreSQL the tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("DEBRIEF_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// An empty database for one test: its URL, and the folder to keep alive while it is used.
pub async fn fresh_database(backend: Backend) -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = match backend {
        Backend::Sqlite => format!("sqlite://{}/debrief.db", dir.path().display()),
        Backend::Postgres => fresh_postgres_database().await,
    };
    (url, dir)
}

/// Creates an empty database for one test and returns its URL.
pub async fn fresh_postgres_database() -> String {
    use sqlx::Connection;
    let admin = postgres_admin_url();
    let name = format!("debrief_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| {
            panic!("PostgreSQL is not reachable at {admin}: {e} (scripts/test.sh starts one)")
        });
    sqlx::query(&format!("create database {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    format!("{base}/{name}")
}

/// The repository root, for the built widget and the server binary.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_owned()
}

pub struct TestApp {
    pub address: String,
    pub db: Db,
    /// The job runner (the outbox's worker), driven by the test.
    pub worker: Runner,
    /// The app's clock: it moves only when a test moves it.
    pub clock: Clock,
    /// What recording a deal needs (for the demo seed).
    pub planner: Planner,
    pub smtp: SmtpServer,
    /// An admin key.
    pub api_key: String,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// Starts the app with settings suited to most stories: email may go out at any hour, one
/// hour after the decision.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, &[]).await
}

/// Starts the app with extra `DEBRIEF_*` settings.
pub async fn spawn_app_with(backend: Backend, overrides: &[(&str, &str)]) -> TestApp {
    // Server logs go through the test harness, so they show only for a failing test.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().expect("temp dir");
    let smtp = SmtpServer::start().await;
    let database_url = match backend {
        Backend::Sqlite => format!("sqlite://{}/debrief.db", dir.path().display()),
        Backend::Postgres => fresh_postgres_database().await,
    };
    let mut vars: HashMap<String, String> = [
        ("DEBRIEF_BIND", "127.0.0.1:0".to_owned()),
        ("DEBRIEF_DATABASE_URL", database_url),
        ("DEBRIEF_DATA_DIR", dir.path().display().to_string()),
        ("DEBRIEF_SMTP_HOST", "127.0.0.1".to_owned()),
        ("DEBRIEF_SMTP_PORT", smtp.port.to_string()),
        ("DEBRIEF_SMTP_TLS", "none".to_owned()),
        ("DEBRIEF_BUSINESS_HOURS", "00:00-24:00".to_owned()),
        ("DEBRIEF_BUSINESS_DAYS", "mon-sun".to_owned()),
        ("DEBRIEF_COMPANY_NAME", "Acme Analytics".to_owned()),
        ("DEBRIEF_RETRY_BASE_SECONDS", "0".to_owned()),
        (
            "DEBRIEF_WIDGET_DIR",
            workspace_root().join("widget/dist").display().to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (k, v) in overrides {
        vars.insert((*k).to_owned(), (*v).to_owned());
    }
    let settings = Settings::from_vars(vars).expect("test settings");
    // Whole seconds, like the instants a CRM sends.
    let start = chrono::DateTime::from_timestamp(chrono::Utc::now().timestamp(), 0).expect("now");
    let clock = Clock::manual(start);
    let app = Application::build_with_clock(settings, clock.clone())
        .await
        .expect("app starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    let db = app.db().clone();
    let worker = app.runner();
    let planner = app.planner().clone();
    let api_key = auth::create_key(&db, "test admin", Role::Admin, None)
        .await
        .expect("key");
    tokio::spawn(app.run_without_worker());
    TestApp {
        address,
        db,
        worker,
        clock,
        planner,
        smtp,
        api_key,
        http: reqwest::Client::new(),
        _dir: dir,
    }
}

/// An HTTP answer: status and JSON body (`Value::Null` when the body is not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub text: String,
}

impl Reply {
    async fn from(response: reqwest::Response) -> Reply {
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        Reply {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }

    /// The fields named in a 4xx error body.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["fields"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|f| f["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl TestApp {
    /// A key with `role`. An account manager's names its holder, one who manages none of
    /// the accounts the tests' deals name.
    pub async fn key_with_role(&self, role: Role) -> String {
        if role == Role::AccountManager {
            return self
                .manager_key("Other Manager", "other.manager@acme.example")
                .await;
        }
        auth::create_key(&self.db, "test", role, None)
            .await
            .expect("key")
    }

    /// A key for an interviewer: a staff member with a calendar time zone; their key has
    /// `role`. Gives the key and their staff id.
    pub async fn interviewer_key(
        &self,
        role: Role,
        name: &str,
        email: &str,
        time_zone: &str,
    ) -> (String, String) {
        let member = auth::Member::new(name, email, Some(time_zone)).expect("member");
        let key = auth::create_key(&self.db, name, role, Some(&member))
            .await
            .expect("key");
        let id = auth::upsert_member(&self.db, &member)
            .await
            .expect("member");
        (key, id)
    }

    /// Ivy, an analyst who interviews from New York, publishing Tuesday mornings 9:00 to
    /// 12:00 in 45-minute slots with 15 minutes between: her key and staff id.
    pub async fn ivy_on_tuesday_mornings(&self) -> (String, String) {
        let (ivy, id) = self
            .interviewer_key(
                Role::Analyst,
                "Ivy Chen",
                "ivy@acme.example",
                "America/New_York",
            )
            .await;
        let hours = json!({
            "slot_minutes": 45, "buffer_minutes": 15,
            "weekly": [{ "day": "tuesday", "hours": [{ "from": "09:00", "to": "12:00" }] }]
        });
        let path = format!("/api/v1/interviewers/{id}/availability");
        let reply = self.put_as(&ivy, &path, &hours, None).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        (ivy, id)
    }

    /// Moves the app's clock to `at`.
    pub fn set_clock(&self, at: &str) {
        let at = chrono::DateTime::parse_from_rfc3339(at)
            .expect("instant")
            .with_timezone(&chrono::Utc);
        self.clock.advance(at - self.clock.now());
    }

    /// An account manager's key, for the manager with this address.
    pub async fn manager_key(&self, name: &str, email: &str) -> String {
        let member = auth::Member::new(name, email, None).expect("member");
        auth::create_key(&self.db, name, Role::AccountManager, Some(&member))
            .await
            .expect("key")
    }

    pub async fn post_decision(&self, deal: &Value) -> Reply {
        self.post_decision_raw(&self.api_key, deal.to_string())
            .await
    }

    pub async fn post_decision_raw(&self, key: &str, body: String) -> Reply {
        let response = self
            .http
            .post(format!("{}/api/v1/decisions", self.address))
            .bearer_auth(key)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        Reply::from(response).await
    }

    pub async fn participation(&self) -> Reply {
        self.participation_as(&self.api_key).await
    }

    pub async fn participation_as(&self, key: &str) -> Reply {
        let response = self
            .http
            .get(format!("{}/api/v1/participation", self.address))
            .bearer_auth(key)
            .send()
            .await
            .expect("request");
        Reply::from(response).await
    }

    /// A staff GET with a given key.
    pub async fn get_as(&self, key: &str, path: &str) -> Reply {
        let response = self
            .http
            .get(format!("{}{path}", self.address))
            .bearer_auth(key)
            .send()
            .await
            .expect("request");
        Reply::from(response).await
    }

    /// A staff DELETE with a given key.
    pub async fn delete_as(&self, key: &str, path: &str) -> Reply {
        let response = self
            .http
            .delete(format!("{}{path}", self.address))
            .bearer_auth(key)
            .send()
            .await
            .expect("request");
        Reply::from(response).await
    }

    /// A staff POST of a JSON body with a given key.
    pub async fn post_as(&self, key: &str, path: &str, body: &Value) -> Reply {
        let response = self
            .http
            .post(format!("{}{path}", self.address))
            .bearer_auth(key)
            .json(body)
            .send()
            .await
            .expect("request");
        Reply::from(response).await
    }

    /// A staff PUT of a JSON body with a given key and, optionally, an `If-Match` version.
    pub async fn put_as(
        &self,
        key: &str,
        path: &str,
        body: &Value,
        if_match: Option<i64>,
    ) -> Reply {
        let mut request = self
            .http
            .put(format!("{}{path}", self.address))
            .bearer_auth(key)
            .json(body);
        if let Some(version) = if_match {
            request = request.header("If-Match", format!("\"{version}\""));
        }
        Reply::from(request.send().await.expect("request")).await
    }

    /// Stores a program version as the admin; panics unless it is accepted.
    pub async fn put_program(&self, definition: &Value) -> Reply {
        let reply = self
            .put_as(&self.api_key, "/api/v1/program", definition, None)
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply
    }

    /// A dry run of the program over a body of `deals` or a `period`.
    pub async fn preview(&self, body: &Value) -> Reply {
        self.post_as(&self.api_key, "/api/v1/program/preview", body)
            .await
    }

    /// Jobs the runner gave up on, as staff see them.
    pub async fn dead_jobs(&self) -> Vec<Value> {
        let reply = self.get_as(&self.api_key, "/api/v1/jobs?status=dead").await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        reply.body["jobs"].as_array().cloned().unwrap_or_default()
    }

    pub async fn get_survey(&self, token: &str) -> Reply {
        let response = self
            .http
            .get(format!("{}/api/v1/surveys/{token}", self.address))
            .send()
            .await
            .expect("request");
        Reply::from(response).await
    }

    pub async fn start_survey(&self, token: &str) -> Reply {
        let response = self
            .http
            .post(format!("{}/api/v1/surveys/{token}/start", self.address))
            .send()
            .await
            .expect("request");
        Reply::from(response).await
    }

    /// The survey a buyer answers, as the widget reads it to render and to resume.
    pub async fn survey_document(&self, token: &str) -> Reply {
        let response = self
            .http
            .get(format!(
                "{}/api/v1/surveys/{token}/definition",
                self.address
            ))
            .send()
            .await
            .expect("request");
        Reply::from(response).await
    }

    /// Saves answers as the buyer goes: `answers` is the list of `{question, value}`.
    pub async fn save_answers(&self, token: &str, answers: Value) -> Reply {
        let response = self
            .http
            .put(format!("{}/api/v1/surveys/{token}/answers", self.address))
            .json(&json!({ "answers": answers }))
            .send()
            .await
            .expect("request");
        Reply::from(response).await
    }

    /// Finishes the survey, with last answers if any.
    pub async fn complete_survey(&self, token: &str, answers: Value) -> Reply {
        let response = self
            .http
            .post(format!("{}/api/v1/surveys/{token}/complete", self.address))
            .json(&json!({ "answers": answers }))
            .send()
            .await
            .expect("request");
        Reply::from(response).await
    }

    pub async fn post_response(&self, token: &str, answer: &Value) -> Reply {
        let response = self
            .http
            .post(format!("{}/api/v1/responses/{token}", self.address))
            .json(answer)
            .send()
            .await
            .expect("request");
        Reply::from(response).await
    }

    /// A form POST to a full URL, as a browser or a mail client's one-click would send.
    pub async fn post_form(&self, url: &str, body: &str) -> Reply {
        let response = self
            .http
            .post(url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.to_owned())
            .send()
            .await
            .expect("request");
        Reply::from(response).await
    }

    pub async fn survey_page(&self, path_and_query: &str) -> Reply {
        let response = self
            .http
            .get(format!("{}{path_and_query}", self.address))
            .send()
            .await
            .expect("request");
        Reply::from(response).await
    }

    /// The job runner of a second instance on the same database.
    pub fn second_worker(&self) -> Runner {
        self.worker.another_instance()
    }

    /// Runs the job runner once, as the background loop would.
    pub async fn deliver(&self) -> Pass {
        self.worker.run_once().await.expect("delivery pass")
    }

    /// The next email received, read as a survey invitation.
    pub async fn next_invitation(&mut self) -> mail::Invitation {
        mail::Invitation::parse(&self.smtp.next_mail().await)
    }

    /// Delivers due mail and reads the next invitation received.
    pub async fn deliver_and_read_invitation(&mut self) -> mail::Invitation {
        self.deliver().await;
        self.next_invitation().await
    }

    /// A count straight from the database, for checking that nothing changed.
    pub async fn count(&self, table: &str) -> i64 {
        let (n,): (i64,) = sqlx::query_as(&format!("select count(*) from {table}"))
            .fetch_one(self.db.pool())
            .await
            .expect("count");
        n
    }

    /// Stored answers, one row per question: (question, number, text), by question id.
    pub async fn response_items(&self) -> Vec<(String, Option<i64>, Option<String>)> {
        sqlx::query_as("select question_id, number, text from response_items order by question_id")
            .fetch_all(self.db.pool())
            .await
            .expect("response items")
    }
}

/// Loads a survey's JSON into SurveyJS's own library (survey-core, under Node.js), as a
/// SurveyJS user would, and reports what it made of it: its JSON errors, its questions,
/// which of them are visible for the given answers (by SurveyJS's own expression engine),
/// the title of `title_of` in French, and the survey as SurveyJS writes it back.
pub fn surveyjs_load(survey: &Value, answers: &Value, title_of: &str) -> Value {
    let modules = std::env::var("DEBRIEF_NODE_MODULES").unwrap_or_else(|_| {
        format!(
            "{}/.cache/debrief/tools/npm/node_modules",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    assert!(
        std::path::Path::new(&modules).join("survey-core").exists(),
        "survey-core is not installed under {modules}: run scripts/setup.sh"
    );
    let script = r#"
        const [modules, surveyJson, answersJson, titleOf] = process.argv.slice(1);
        const { Model } = require(modules + "/survey-core");
        const survey = new Model(JSON.parse(surveyJson));
        survey.data = JSON.parse(answersJson);
        survey.locale = "fr";
        const question = survey.getQuestionByName(titleOf);
        const title = question ? question.title : null;
        // Written back as loaded, not in the language it was just shown in.
        survey.locale = "";
        console.log(JSON.stringify({
            errors: (survey.jsonErrors || []).map(e => String(e.message || e)),
            pages: survey.pages.length,
            questions: survey.getAllQuestions().map(q => q.name),
            visible: survey.getAllQuestions().filter(q => q.isVisible).map(q => q.name),
            title,
            json: survey.toJSON(),
        }));
    "#;
    let output = std::process::Command::new("node")
        .arg("-e")
        .arg(script)
        .arg(&modules)
        .arg(survey.to_string())
        .arg(answers.to_string())
        .arg(title_of)
        .output()
        .expect("run node (scripts/setup.sh installs it)");
    assert!(
        output.status.success(),
        "survey-core failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("node printed JSON")
}

/// Who may read and who may change the program and its surveys: (role, status of a read,
/// status of a change).
pub const PROGRAM_ACCESS: [(Role, u16, u16); 5] = [
    (Role::Admin, 200, 200),
    (Role::ProgramOwner, 200, 200),
    (Role::Analyst, 200, 403),
    (Role::AccountManager, 403, 403),
    (Role::Integration, 403, 403),
];

/// A decided deal as a CRM would post it: lost two hours ago, one French buyer in Paris.
pub fn lost_deal(crm_id: &str) -> Value {
    let decided = (chrono::Utc::now() - chrono::Duration::hours(2)).to_rfc3339();
    json!({
        "crm_id": crm_id,
        "outcome": "lost",
        "decided_at": decided,
        "amount": { "minor_units": 4_800_000, "currency": "EUR" },
        "sales_cycle_days": 94,
        "competitors": ["Northwind"],
        "region": "EMEA",
        "persona": "VP Sales",
        "product_line": "Forecasting",
        "company_type": "mid_market",
        "icp_fit": "high",
        "renewal_date": "2027-03-31",
        "strategic": true,
        "account": { "name": "Globex", "manager": { "name": "Ana Duarte", "email": "ana@acme.example" } },
        "contacts": [
            { "name": "Camille Martin", "email": "camille@globex.example", "role": "Economic buyer",
              "locale": "fr-FR", "time_zone": "Europe/Paris" }
        ]
    })
}

/// Two buyers who decided: Camille, the economic buyer, in Paris (French), and Lee, the
/// decision maker, in London.
pub fn camille_and_lee() -> Value {
    json!([
        { "name": "Camille Martin", "email": "camille@globex.example", "role": "Economic buyer",
          "locale": "fr-FR", "time_zone": "Europe/Paris" },
        { "name": "Lee Park", "email": "lee@globex.example", "role": "Decision maker",
          "locale": "en", "time_zone": "Europe/London" }
    ])
}

/// Runs each story against SQLite and PostgreSQL:
/// `both_backends!(a_story, another_story);` makes `sqlite::a_story` and `postgres::a_story`.
#[macro_export]
macro_rules! both_backends {
    ($($story:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $story() {
                    super::$story($crate::spawn_app($crate::Backend::Sqlite).await).await
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $story() {
                    super::$story($crate::spawn_app($crate::Backend::Postgres).await).await
                }
            )+
        }
    };
}
