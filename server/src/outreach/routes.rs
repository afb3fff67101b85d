//! `POST /api/v1/decisions`: the CRM reports a decided deal.

use super::decision::DecisionRequest;
use super::store::{record_decision, Planner, RecordedDecision};
use crate::app::clock::Clock;
use crate::auth::{Permission, Staff};
use crate::jobs::runner::Waker;
use crate::platform::db::Db;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::Json;
use actix_web::{post, web, HttpResponse};
use debrief_common::ErrorBody;

#[utoipa::path(post, path = "/api/v1/decisions", tag = "outreach", request_body = DecisionRequest, responses((status = 201, description = "Created and planned", body = RecordedDecision), (status = 200, description = "Updated; new buyers planned", body = RecordedDecision), (status = 422, description = "Invalid fields, each named", body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 401, description = "No valid API key", body = ErrorBody), (status = 403, description = "The key's role may not", body = ErrorBody)), security(("api_key" = [])))]
#[post("/api/v1/decisions")]
pub async fn post_decision(
    staff: Staff,
    body: Json<DecisionRequest>,
    db: web::Data<Db>,
    planner: web::Data<Planner>,
    waker: web::Data<Waker>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::RecordDecisions)?;
    let now = clock.now();
    let decision = body.0.parse(now).map_err(ApiError::Validation)?;
    let recorded = record_decision(&db, &planner, &decision, now).await?;
    if recorded.invitations.iter().any(|i| i.created) {
        waker.wake();
    }
    let status = if recorded.created {
        actix_web::http::StatusCode::CREATED
    } else {
        actix_web::http::StatusCode::OK
    };
    Ok(HttpResponse::build(status).json(recorded))
}
