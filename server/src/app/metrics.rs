//! Prometheus metrics at `GET /metrics`: request latency by route pattern, emails sent,
//! failures and bounces by kind, and the outbox's depth by kind and status. Labels are
//! route patterns, kinds and statuses only: never a path (buyer tokens), an address or a
//! name.

use crate::jobs::JobKind;
use crate::platform::db::Db;
use crate::web::error::ApiError;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{web, HttpResponse};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::sync::Arc;
use std::time::Instant;

pub struct Metrics {
    registry: Registry,
    requests: HistogramVec,
    emails_sent: IntCounterVec,
    email_failures: IntCounterVec,
    bounces: IntCounterVec,
    jobs: IntGaugeVec,
}

impl Metrics {
    /// One registry per application, so several apps in one process (the tests) keep
    /// their own counts.
    pub fn new() -> anyhow::Result<Arc<Metrics>> {
        let registry = Registry::new_custom(Some("debrief".into()), None)?;
        let requests = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP requests by route pattern",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
            &["method", "route", "status"],
        )?;
        let emails_sent = IntCounterVec::new(
            Opts::new("emails_sent_total", "Emails accepted by the mail server"),
            &["kind"],
        )?;
        let email_failures = IntCounterVec::new(
            Opts::new("email_failures_total", "Email attempts that failed"),
            &["kind", "permanent"],
        )?;
        let bounces = IntCounterVec::new(
            Opts::new(
                "email_bounces_total",
                "Addresses refused for good (hard bounces)",
            ),
            &["kind"],
        )?;
        let jobs = IntGaugeVec::new(
            Opts::new("jobs", "Outbox jobs by kind and status"),
            &["kind", "status"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(emails_sent.clone()))?;
        registry.register(Box::new(email_failures.clone()))?;
        registry.register(Box::new(bounces.clone()))?;
        registry.register(Box::new(jobs.clone()))?;
        Ok(Arc::new(Metrics {
            registry,
            requests,
            emails_sent,
            email_failures,
            bounces,
            jobs,
        }))
    }

    pub fn email_sent(&self, kind: JobKind) {
        self.emails_sent.with_label_values(&[kind.as_str()]).inc();
    }

    pub fn email_failed(&self, kind: JobKind, permanent: bool, bounced: bool) {
        self.email_failures
            .with_label_values(&[kind.as_str(), if permanent { "true" } else { "false" }])
            .inc();
        if bounced {
            self.bounces.with_label_values(&[kind.as_str()]).inc();
        }
    }

    fn observe(&self, method: &str, route: &str, status: u16, started: Instant) {
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .observe(started.elapsed().as_secs_f64());
    }
}

/// The route pattern a request matched (`/s/{token}`, never the path with its token),
/// found once by [`middleware`] for the metrics and the access log alike: finding it walks
/// the routes again.
#[derive(Clone)]
pub struct Route(pub std::rc::Rc<str>);

/// Times every request by its route pattern. The outermost middleware, so that the
/// pattern it finds is there for the others.
pub async fn middleware<B: MessageBody>(
    req: ServiceRequest,
    next: actix_web::middleware::Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().to_string();
    let route: std::rc::Rc<str> = req
        .match_pattern()
        .map_or_else(|| "(unmatched)".into(), Into::into);
    actix_web::HttpMessage::extensions_mut(&req).insert(Route(route.clone()));
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let response = next.call(req).await?;
    if let Some(metrics) = metrics {
        metrics.observe(&method, &route, response.status().as_u16(), started);
    }
    Ok(response)
}

/// `GET /metrics`, in Prometheus' text format. The outbox depth is read at each scrape.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn scrape(
    metrics: web::Data<Metrics>,
    db: web::Data<Db>,
) -> Result<HttpResponse, ApiError> {
    let rows: Vec<(String, String, i64)> =
        sqlx::query_as("select kind, status, count(*) from jobs group by kind, status")
            .fetch_all(db.pool())
            .await?;
    metrics.jobs.reset();
    for (kind, status, n) in rows {
        metrics.jobs.with_label_values(&[&kind, &status]).set(n);
    }
    let mut body = Vec::new();
    TextEncoder::new()
        .encode(&metrics.registry.gather(), &mut body)
        .map_err(anyhow::Error::from)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body))
}
