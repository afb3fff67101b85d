//! The reports' staff API: the digest's readers, a digest's preview, sending a month's
//! digests now, and the quarterly report page.

use super::digest::{self, Department, Digests};
use super::facts::{Facts, Period};
use super::quarterly;
use super::subscribers::{self, NewSubscriber, Subscriber};
use crate::analytics::filter::{Month, Params};
use crate::app::clock::Clock;
use crate::auth::{Permission, Staff};
use crate::outreach::store::Planner;
use crate::platform::db::Db;
use crate::surveys::definitions::Definitions;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::Json;
use crate::web::pages::{object, pages};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use debrief_common::{ErrorBody, Locale};
use serde::{Deserialize, Serialize};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/api/v1/digests/subscribers",
        web::get().to(list_subscribers),
    )
    .route(
        "/api/v1/digests/subscribers",
        web::post().to(add_subscriber),
    )
    .route(
        "/api/v1/digests/subscribers/{id}",
        web::delete().to(remove_subscriber),
    )
    .route("/api/v1/digests/preview", web::get().to(preview))
    .route("/api/v1/digests/send", web::post().to(send))
    .route("/api/v1/reports/quarterly", web::get().to(quarterly_report));
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SubscriberList {
    pub subscribers: Vec<Subscriber>,
}

#[utoipa::path(get, path = "/api/v1/digests/subscribers", tag = "reports", responses((status = 200, body = SubscriberList, description = "Who reads the monthly digest, by department"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn list_subscribers(staff: Staff, db: web::Data<Db>) -> ApiResult<HttpResponse> {
    staff.require(Permission::ManageDigests)?;
    Ok(HttpResponse::Ok().json(SubscriberList {
        subscribers: subscribers::all(&db).await?,
    }))
}

#[utoipa::path(post, path = "/api/v1/digests/subscribers", tag = "reports", request_body = NewSubscriber, responses((status = 201, body = Subscriber, description = "Added: they get the next digest"), (status = 409, description = "That address already reads that department's digest", body = ErrorBody), (status = 422, description = "The email, name, department or locale, named", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn add_subscriber(
    staff: Staff,
    body: Json<NewSubscriber>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::ManageDigests)?;
    let checked = body
        .0
        .check()
        .map_err(|(field, message)| ApiError::field(field, message))?;
    match subscribers::add(&db, checked, &staff.name, clock.now()).await? {
        Some(added) => Ok(HttpResponse::Created().json(added)),
        None => Err(ApiError::Conflict {
            code: "already_subscribed",
            message: "that address already reads this department's digest".into(),
        }),
    }
}

#[utoipa::path(delete, path = "/api/v1/digests/subscribers/{id}", tag = "reports", params(("id" = String, Path)), responses((status = 204, description = "Removed: no more digests, including any queued"), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn remove_subscriber(
    staff: Staff,
    id: web::Path<String>,
    db: web::Data<Db>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::ManageDigests)?;
    if subscribers::remove(&db, &id).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::NotFound("digest subscriber"))
    }
}

/// A month parameter (`YYYY-MM`), the month before `now` when absent.
fn month(value: Option<String>, now: chrono::DateTime<chrono::Utc>) -> ApiResult<Month> {
    match value {
        None => Ok(Month::of(now.date_naive()).plus(-1)),
        Some(m) => {
            Month::parse(&m).ok_or_else(|| ApiError::field("month", "must be a month as YYYY-MM"))
        }
    }
}

fn locale(params: &mut Params) -> ApiResult<Locale> {
    match params.take("locale").as_deref() {
        None | Some("en") => Ok(Locale::En),
        Some("fr") => Ok(Locale::Fr),
        Some(_) => Err(ApiError::field("locale", "must be en or fr")),
    }
}

/// A digest as it would be sent.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DigestPreview {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The preview's parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PreviewQuery {
    /// sales, product, marketing, customer_success or leadership.
    pub department: String,
    /// en (the default) or fr.
    pub locale: Option<String>,
    /// YYYY-MM; the month before today when absent.
    pub month: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/digests/preview", tag = "reports", params(PreviewQuery), responses((status = 200, body = DigestPreview, description = "The digest a department's reader would get, rendered now"), (status = 422, description = "A parameter, named", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn preview(
    staff: Staff,
    req: HttpRequest,
    digests: web::Data<Digests>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::ManageDigests)?;
    let mut params = Params::of(&req)?;
    let now = clock.now();
    let department: Department = params
        .take("department")
        .ok_or_else(|| ApiError::field("department", "is required"))?
        .parse()
        .map_err(|e| ApiError::field("department", e))?;
    let locale = locale(&mut params)?;
    let month = month(params.take("month"), now)?;
    params.finish()?;
    let rendered = digests.render(month, department, locale, now).await?;
    Ok(HttpResponse::Ok().json(DigestPreview {
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendDigests {
    /// YYYY-MM; the month before today when absent.
    #[serde(default)]
    pub month: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DigestsQueued {
    pub month: String,
    /// Digests queued now; a reader who already has this month's is not sent it again.
    pub queued: u64,
}

#[utoipa::path(post, path = "/api/v1/digests/send", tag = "reports", request_body = SendDigests, responses((status = 202, body = DigestsQueued, description = "Queued in the outbox, once per reader and month"), (status = 422, description = "The month, named", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn send(
    staff: Staff,
    body: Json<SendDigests>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    waker: web::Data<crate::jobs::runner::Waker>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::ManageDigests)?;
    let now = clock.now();
    let month = month(body.0.month, now)?;
    // A month under way would take the place of its full digest, sent once on the first.
    if month >= Month::of(now.date_naive()) {
        return Err(ApiError::field(
            "month",
            "must be a month that has ended: its digest is sent once",
        ));
    }
    let queued = digest::queue(&db, month, now).await?;
    waker.wake();
    Ok(HttpResponse::Accepted().json(DigestsQueued {
        month: month.label(),
        queued,
    }))
}

/// The report's parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// The quarter, as `2026-Q3`; the last full quarter when absent.
    pub quarter: Option<String>,
    /// en (the default) or fr.
    pub locale: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/reports/quarterly", tag = "reports", params(ReportQuery), responses((status = 200, description = "The quarterly report, a printable HTML page", content_type = "text/html"), (status = 422, description = "A parameter, named", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn quarterly_report(
    staff: Staff,
    req: HttpRequest,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    definitions: web::Data<Definitions>,
    planner: web::Data<Planner>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::ReadParticipation)?;
    let mut params = Params::of(&req)?;
    let now = clock.now();
    let period = match params.take("quarter") {
        Some(q) => Period::quarter(&q)
            .ok_or_else(|| ApiError::field("quarter", "must be a quarter as YYYY-Qn"))?,
        None => {
            // The last full quarter: the one before the quarter of today.
            let today = Month::of(now.date_naive());
            let first = today.plus(-i32::try_from((today.month - 1) % 3).unwrap_or(0) - 3);
            Period {
                first,
                last: first.plus(2),
            }
        }
    };
    let locale = locale(&mut params)?;
    params.finish()?;
    let (facts, taxonomy) =
        Facts::as_they_stand(&db, &definitions, &planner.programs, period, 3, now).await?;
    let report = quarterly::report(&db, &facts, &taxonomy, locale).await?;
    let title = format!(
        "{} — {}",
        pages().sentences(locale)("report_title"),
        super::facts::Words(locale).quarter(period)
    );
    Ok(pages().render(
        StatusCode::OK,
        locale,
        &title,
        "quarterly_report",
        object(serde_json::json!({ "report": report })),
        &[],
    ))
}
