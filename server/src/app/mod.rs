//! Building and running the application: the HTTP server and the job runner, side by side
//! in one process. Start-up registers each feature's routes and job handlers.

pub mod clock;
pub mod config;
pub mod metrics;
pub mod openapi;
pub mod telemetry;

use crate::analytics::participation::get_participation;
use crate::app::config::Settings;
use crate::channels::email::mailer::Mailer;
use crate::channels::email::templates::Templates;
use crate::invitations::tokens::Tokens;
use crate::jobs::runner::{Handler, Runner, Waker};
use crate::outreach::intake::Intake;
use crate::outreach::invitation_email::{EmailContext, Expiry, InvitationEmails};
use crate::outreach::plan::Timing;
use crate::outreach::routes::{import_decisions, post_decision};
use crate::outreach::store::Planner;
use crate::platform::db::Db;
use crate::programs::store::Programs;
use crate::surveys::definitions::Definitions;
use crate::surveys::ingest::Ingest;
use crate::surveys::{page::survey_page, routes as survey_routes};
use crate::web::error::ApiError;
use actix_web::dev::Server;
use actix_web::middleware::Compress;
use actix_web::{get, web, App, HttpResponse, HttpServer};
use anyhow::Context;
use clock::Clock;
use std::net::TcpListener;
use std::sync::Arc;

/// The base of the links emailed to buyers (`DEBRIEF_PUBLIC_URL`, or the loopback address
/// served on).
#[derive(Debug, Clone)]
pub struct PublicUrl(pub String);

pub struct Application {
    port: u16,
    public_url: String,
    db: Db,
    server: Server,
    waker: Waker,
    runner: Runner,
    planner: Planner,
    coder: crate::insights::coding::Coder,
    mail_description: String,
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
        // In the background: an instance serves while it folds, and a failure (another
        // instance folding the same rows) is logged, not fatal.
        let folding = db.clone();
        tokio::spawn(async move {
            match crate::insights::coding::fold_excerpts(&folding).await {
                Ok(0) => {}
                Ok(folded) => tracing::info!(folded, "coded excerpts folded for search"),
                Err(e) => tracing::warn!(error = %e, "folding coded excerpts for search"),
            }
        });
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
        let waker = Waker::default();
        let mailer = Arc::new(Mailer::new(&settings.mail.transport)?);
        let mail_description = mailer.describe();
        let planner = Planner {
            programs: Programs::default(),
            tokens: Tokens::load(
                &db,
                settings.secret_key.as_ref().map(|s| s.0.as_str()),
                clock.now(),
            )
            .await?,
            timing: Timing {
                business_hours: settings.outreach.business_hours.clone(),
                delay_after_decision: settings.outreach.delay_after_decision,
            },
        };
        planner.tokens.backfill(&db, clock.now()).await?;
        let definitions = Definitions::default();
        definitions.ensure_builtin(&db, clock.now()).await?;
        let metrics = metrics::Metrics::new()?;
        let (handlers, digests) = job_handlers(
            &db,
            &settings,
            mailer,
            &public_url,
            &planner,
            &metrics,
            &definitions,
        )?;
        crate::alerts::evaluation::schedule(&db, clock.now()).await?;
        crate::reports::digest::schedule(&db, clock.now()).await?;
        let runner = Runner::new(db.clone(), clock.clone(), settings.jobs.clone(), handlers);

        let data_db = web::Data::new(db.clone());
        let data_settings = web::Data::from(settings.clone());
        let data_waker = web::Data::new(waker.clone());
        let data_clock = web::Data::new(clock.clone());
        let data_planner = web::Data::new(planner.clone());
        let data_ingest = web::Data::new(Ingest::start(
            db.clone(),
            definitions.clone(),
            planner.programs.clone(),
            settings.company_name.clone(),
            clock.clone(),
        ));
        let coder = crate::insights::coding::Coder {
            db: db.clone(),
            definitions: definitions.clone(),
            clock: clock.clone(),
        };
        let data_definitions = web::Data::new(definitions);
        let data_intake = web::Data::new(Intake::start(db.clone(), planner.clone(), clock.clone()));
        let data_metrics = web::Data::from(metrics.clone());
        let data_public_url = web::Data::new(PublicUrl(public_url.clone()));
        let data_digests = web::Data::from(digests);
        let data_throttle = web::Data::new(crate::auth::links::Throttle::behind(
            settings.trusted_proxies.clone(),
        ));
        let widget_dir = settings.widget_dir.clone();
        let widget_built = widget_dir.join("embed.js").exists();
        if !widget_built {
            tracing::warn!(
                dir = %widget_dir.display(),
                "the widget is not built here: survey pages will not load it (run scripts/build-widget.sh)"
            );
        }
        let server = HttpServer::new(move || {
            let mut app = App::new()
                .wrap(actix_web::middleware::from_fn(
                    crate::surveys::embedding::frame_ancestors,
                ))
                .wrap(Compress::default())
                .wrap(telemetry::access_log())
                .wrap(actix_web::middleware::from_fn(metrics::middleware))
                .app_data(data_db.clone())
                .app_data(data_settings.clone())
                .app_data(data_waker.clone())
                .app_data(data_clock.clone())
                .app_data(data_planner.clone())
                .app_data(data_definitions.clone())
                .app_data(data_intake.clone())
                .app_data(data_ingest.clone())
                .app_data(data_metrics.clone())
                .app_data(data_public_url.clone())
                .app_data(data_digests.clone())
                .app_data(data_throttle.clone())
                // Routes are tried in the order they are registered, and each request is
                // matched twice (to route it, then for its metrics and log line): the
                // buyers' answers, saved after every question, come first.
                .configure(survey_routes::configure)
                .service(health)
                .route("/metrics", web::get().to(metrics::scrape))
                .route("/api/v1/openapi.json", web::get().to(openapi::document))
                .service(post_decision)
                .service(import_decisions)
                .service(get_participation)
                .configure(crate::jobs::routes::configure)
                .configure(crate::programs::routes::configure)
                .configure(crate::invitations::routes::configure)
                .configure(crate::people::routes::configure)
                .configure(crate::incentives::routes::configure)
                .configure(crate::interviews::routes::configure)
                .configure(crate::interviews::page::configure)
                .configure(crate::interviews::staff::configure)
                .configure(crate::analytics::interviews::configure)
                .configure(crate::insights::routes::configure)
                .configure(crate::alerts::routes::configure)
                .configure(crate::analytics::nps::configure)
                .configure(crate::analytics::funnel::configure)
                .configure(crate::analytics::drivers::configure)
                .configure(crate::reports::routes::configure)
                .configure(crate::exports::routes::configure)
                .configure(crate::surveys::form::configure)
                .configure(crate::surveys::admin::configure)
                .service(survey_page)
                .configure(crate::opt_out::routes::configure)
                .configure(crate::console::configure);
            if widget_built {
                // Module scripts and wasm are fetched with CORS: a portal embedding the
                // widget loads them from here.
                app = app.service(
                    web::resource("/widget/{file}")
                        .wrap(actix_web::middleware::from_fn(
                            crate::web::assets::widget_headers,
                        ))
                        .app_data(web::Data::new(crate::web::assets::WidgetDir(
                            widget_dir.clone(),
                        )))
                        .route(web::get().to(crate::web::assets::widget_file))
                        .route(web::head().to(crate::web::assets::widget_file)),
                );
            }
            app.default_service(web::to(not_found))
        })
        .workers(2)
        // SIGTERM and Ctrl-C are handled in `run_until_stopped`, which stops the job
        // runner at once instead of after the requests have drained.
        .disable_signals()
        // On shutdown, requests in flight get this long.
        .shutdown_timeout(10)
        .listen(listener)?
        .run();

        Ok(Application {
            port: address.port(),
            public_url,
            db,
            server,
            waker,
            runner,
            planner,
            coder,
            mail_description,
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

    /// Program versions, link key and sending window: what recording a deal needs.
    pub fn planner(&self) -> &Planner {
        &self.planner
    }

    /// The job runner of this application (its own lease owner). Tests drive it with
    /// [`Runner::run_once`] after moving the clock.
    pub fn runner(&self) -> Runner {
        self.runner.clone()
    }

    /// Serves HTTP and runs the jobs until SIGTERM or Ctrl-C. Then the server stops
    /// accepting connections, the runner claims nothing more and gets `shutdown_grace` to
    /// finish and record its pass (or release its jobs), and only then do requests in
    /// flight get their 10 s to finish: the HTTP workers' runtimes own some of the pooled
    /// database connections, and the runner's last recording must not find them gone.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        tracing::info!("email delivery: {}", self.mail_description);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let runner = self.runner.clone();
        let waker = self.waker.clone();
        let runner_task = tokio::spawn(async move {
            let mut stopped = stopped;
            runner
                .run(waker, async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                })
                .await;
        });
        let coder = self.coder.clone();
        let mut coder_stopped = stop.subscribe();
        let coder_task = tokio::spawn(async move {
            coder
                .run(async move {
                    let _ = coder_stopped.wait_for(|stop| *stop).await;
                })
                .await;
        });
        let handle = self.server.handle();
        // A task of its own: the server acts on `pause` and `stop` only while polled.
        let mut server = tokio::spawn(self.server);
        let ended_alone = tokio::select! {
            served = &mut server => Some(served),
            () = shutdown_signal() => None,
        };
        if ended_alone.is_none() {
            tracing::info!(
                "shutting down: no new connections or jobs; the pass in flight finishes"
            );
            handle.pause().await;
        }
        stop.send_replace(true);
        if let Err(e) = runner_task.await {
            tracing::error!(error = ?e, "the job runner stopped abnormally");
        }
        if let Err(e) = coder_task.await {
            tracing::error!(error = ?e, "the rating coder stopped abnormally");
        }
        let served = match ended_alone {
            Some(served) => served,
            None => {
                handle.stop(true).await;
                server.await
            }
        };
        served.context("HTTP server task")?.context("HTTP server")
    }

    /// Serves HTTP only; the caller drives the jobs with [`Runner::run_once`]. For tests
    /// that decide when email goes out.
    pub async fn run_without_worker(self) -> anyhow::Result<()> {
        self.server.await.context("HTTP server")
    }
}

/// Every job kind's handler, and the digests' (the preview renders with it too).
type JobHandlers = (Vec<Arc<dyn Handler>>, Arc<crate::reports::digest::Digests>);

/// Every job kind's handler, each from its feature folder.
fn job_handlers(
    db: &Db,
    settings: &Settings,
    mailer: Arc<Mailer>,
    public_url: &str,
    planner: &Planner,
    metrics: &Arc<metrics::Metrics>,
    definitions: &Definitions,
) -> anyhow::Result<JobHandlers> {
    let from = settings.mail.from.parse().with_context(|| {
        format!(
            "DEBRIEF_MAIL_FROM is not a valid mailbox: {:?}",
            settings.mail.from
        )
    })?;
    let emails = Arc::new(EmailContext {
        db: db.clone(),
        mailer,
        templates: Arc::new(Templates::load()?),
        from,
        company: settings.company_name.clone(),
        public_url: public_url.to_owned(),
        tokens: planner.tokens.clone(),
        programs: planner.programs.clone(),
        business_hours: settings.outreach.business_hours.clone(),
        metrics: metrics.clone(),
    });
    let mut handlers = InvitationEmails::handlers(emails.clone());
    handlers.extend(crate::interviews::emails::InterviewEmails::handlers(
        emails.clone(),
    ));
    handlers.push(Arc::new(Expiry));
    handlers.push(Arc::new(crate::alerts::evaluation::Evaluation {
        db: db.clone(),
        definitions: definitions.clone(),
    }));
    handlers.push(Arc::new(crate::alerts::delivery::Deliveries {
        email: emails.clone(),
        allow_private: settings.webhooks_allow_private,
    }));
    handlers.push(Arc::new(crate::console::sign_in::SignInEmails {
        email: emails.clone(),
    }));
    let digests = Arc::new(crate::reports::digest::Digests {
        email: emails,
        definitions: definitions.clone(),
    });
    handlers.push(digests.clone());
    handlers.push(Arc::new(crate::reports::digest::Schedule {
        db: db.clone(),
    }));
    Ok((handlers, digests))
}

#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "The database answers")))]
#[get("/healthz")]
async fn health(db: web::Data<Db>) -> Result<HttpResponse, ApiError> {
    sqlx::query("select 1").execute(db.pool()).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "status": "ok" })))
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("no such endpoint"))
}

/// SIGTERM (how service managers and orchestrators stop a process) or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
                return;
            }
            Err(e) => tracing::error!(error = %e, "cannot listen for SIGTERM; Ctrl-C still stops"),
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
