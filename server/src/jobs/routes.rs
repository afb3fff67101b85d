//! Dead letters, for staff: `GET /api/v1/jobs?status=dead` lists jobs the runner gave up
//! on, with their last error; `POST /api/v1/jobs/{id}/replay` queues one again.

use super::{JobStatus, JobView};
use crate::app::clock::Clock;
use crate::auth::{Permission, Staff};
use crate::jobs::runner::Waker;
use crate::platform::db::Db;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::read_body;
use actix_web::{web, HttpResponse};
use debrief_common::ErrorBody;
use serde::Deserialize;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/jobs", web::get().to(list_jobs))
        .route("/api/v1/jobs/{id}/replay", web::post().to(replay_job));
}

/// Jobs, newest first.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct JobList {
    pub jobs: Vec<JobView>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `dead` (the default), `pending` or `done`.
    pub status: Option<String>,
    /// At most this many, newest first (1 to 500, default 100).
    pub limit: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/jobs", tag = "delivery", params(ListQuery), responses((status = 200, body = JobList), (status = 422, description = "Invalid fields, each named", body = ErrorBody), (status = 401, description = "No valid API key", body = ErrorBody), (status = 403, description = "The key's role may not", body = ErrorBody)), security(("api_key" = [])))]
async fn list_jobs(
    staff: Staff,
    query: web::Query<ListQuery>,
    db: web::Data<Db>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::ManageDelivery)?;
    let status = match query.status.as_deref() {
        None => JobStatus::Dead,
        Some(s) => s
            .parse()
            .map_err(|e: String| ApiError::field("status", e))?,
    };
    let limit = match query.limit.as_deref() {
        None => 100,
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=500).contains(n))
            .ok_or_else(|| ApiError::field("limit", "must be a whole number from 1 to 500"))?,
    };
    let jobs: Vec<JobView> = super::list(&db, status, limit).await?;
    Ok(HttpResponse::Ok().json(JobList { jobs }))
}

#[utoipa::path(post, path = "/api/v1/jobs/{id}/replay", tag = "delivery", params(("id" = String, Path)), responses((status = 200, body = super::JobView), (status = 404, body = ErrorBody), (status = 401, description = "No valid API key", body = ErrorBody), (status = 403, description = "The key's role may not", body = ErrorBody)), security(("api_key" = [])))]
async fn replay_job(
    staff: Staff,
    id: web::Path<String>,
    mut payload: web::Payload,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    waker: web::Data<Waker>,
) -> ApiResult<HttpResponse> {
    // Nothing in the body, but reading it keeps the connection usable.
    read_body(&mut payload, 1024).await?;
    staff.require(Permission::ManageDelivery)?;
    match super::replay(&db, &id, clock.now()).await? {
        Some(job) => {
            waker.wake();
            Ok(HttpResponse::Ok().json(job))
        }
        None => Err(ApiError::NotFound("no dead job has this id")),
    }
}
