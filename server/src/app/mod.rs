//! Building and running the application: the HTTP server and the delivery worker, side by
//! side in one process.

pub mod clock;
pub mod config;
pub mod telemetry;

use crate::analytics::participation::get_participation;
use crate::app::config::Settings;
use crate::delivery::worker::{Worker, WorkerWaker};
use crate::outreach::routes::post_decision;
use crate::platform::db::Db;
use crate::surveys::{page::survey_page, routes as survey_routes};
use crate::web::error::ApiError;
use actix_web::dev::Server;
use actix_web::middleware::Compress;
use actix_web::{get, web, App, HttpResponse, HttpServer};
use anyhow::Context;
use clock::Clock;
use std::net::TcpListener;
use std::sync::Arc;

pub struct Application {
    port: u16,
    public_url: String,
    db: Db,
    settings: Arc<Settings>,
    clock: Clock,
    server: Server,
    waker: WorkerWaker,
}

impl Application {
    /// Connects to the database, applies migrations and binds the listener (port 0 picks a
    /// free port). Nothing is served until [`Application::run_until_stopped`].
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        Self::build_with_clock(settings, Clock::System).await
    }

    /// As [`Application::build`], with a given clock: tests pass a manual one and move it.
    pub async fn build_with_clock(settings: Settings, clock: Clock) -> anyhow::Result<Application> {
        let db = Db::connect(&settings.database_url).await?;
        db.migrate().await?;
        let listener = TcpListener::bind(&settings.bind)
            .with_context(|| format!("binding {}", settings.bind))?;
        let address = listener.local_addr()?;
        let public_url = match &settings.public_url {
            Some(url) => url.clone(),
            // Links derived from 0.0.0.0 or a private address would reach no buyer.
            None if address.ip().is_loopback() => format!("http://{address}"),
            None => anyhow::bail!(
                "DEBRIEF_PUBLIC_URL must be set when listening on {address}: it is the base of \
                 the links emailed to buyers"
            ),
        };
        let settings = Arc::new(settings);
        let waker = WorkerWaker::default();

        let data_db = web::Data::new(db.clone());
        let data_settings = web::Data::from(settings.clone());
        let data_waker = web::Data::new(waker.clone());
        let data_clock = web::Data::new(clock.clone());
        let widget_dir = settings.widget_dir.clone();
        let widget_built = widget_dir.join("debrief_widget_bg.wasm").exists();
        if !widget_built {
            tracing::warn!(
                dir = %widget_dir.display(),
                "the widget is not built here: survey pages will not load it (run scripts/build-widget.sh)"
            );
        }
        let server = HttpServer::new(move || {
            let mut app = App::new()
                .wrap(Compress::default())
                .wrap(telemetry::access_log())
                .app_data(data_db.clone())
                .app_data(data_settings.clone())
                .app_data(data_waker.clone())
                .app_data(data_clock.clone())
                .service(health)
                .service(post_decision)
                .service(get_participation)
                .configure(survey_routes::configure)
                .service(survey_page)
                .configure(crate::opt_out::routes::configure);
            if widget_built {
                app = app.service(
                    actix_files::Files::new("/widget", &widget_dir)
                        .use_etag(true)
                        .prefer_utf8(true),
                );
            }
            app.default_service(web::to(not_found))
        })
        .workers(2)
        .listen(listener)?
        .run();

        Ok(Application {
            port: address.port(),
            public_url,
            db,
            settings,
            clock,
            server,
            waker,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// A delivery worker for this application's database and settings.
    pub fn worker(&self) -> anyhow::Result<Worker> {
        Worker::new(
            self.db.clone(),
            self.settings.clone(),
            self.public_url.clone(),
            self.clock.clone(),
        )
    }

    /// Serves HTTP and runs the delivery worker until the server stops (Ctrl-C).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let worker = self.worker()?;
        tracing::info!("email delivery: {}", worker.describe_mail());
        let handle = self.server.handle();
        let waker = self.waker.clone();
        let worker_task = tokio::spawn(async move {
            worker.run(waker, std::future::pending()).await;
        });
        let served = self.server.await;
        worker_task.abort();
        handle.stop(true).await;
        served.context("HTTP server")
    }

    /// Serves HTTP only; the caller drives delivery with [`Worker::run_once`]. For tests
    /// that want to decide when email goes out.
    pub async fn run_without_worker(self) -> anyhow::Result<()> {
        self.server.await.context("HTTP server")
    }
}

#[get("/healthz")]
async fn health(db: web::Data<Db>) -> Result<HttpResponse, ApiError> {
    sqlx::query("select 1").execute(db.pool()).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "status": "ok" })))
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("no such endpoint"))
}
