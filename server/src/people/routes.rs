//! The suppression list, for staff:
//! - `GET /api/v1/suppressions?email=&include_lifted=true`: entries with source and time;
//! - `POST /api/v1/suppressions`: mark an address do-not-contact (queued invitations to it
//!   are cancelled);
//! - `POST /api/v1/suppressions/{id}/lift`: lift an entry, recording who and why.

use super::suppressions::{self, SuppressionSource, SuppressionView};
use crate::app::clock::Clock;
use crate::auth::{Permission, Staff};
use crate::incentives;
use crate::invitations::{self, Event, Target};
use crate::outreach::decision::parse_email;
use crate::platform::db::Db;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::Json;
use actix_web::{web, HttpResponse};
use debrief_common::ErrorBody;
use serde::Deserialize;
use sqlx::Acquire;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/suppressions", web::get().to(list))
        .route("/api/v1/suppressions", web::post().to(add))
        .route("/api/v1/suppressions/{id}/lift", web::post().to(lift));
}

/// Suppressions, newest first.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SuppressionList {
    pub suppressions: Vec<SuppressionView>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub email: Option<String>,
    pub include_lifted: Option<String>,
    pub limit: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/suppressions", tag = "suppressions", params(ListQuery), responses((status = 200, body = SuppressionList), (status = 422, description = "Invalid fields, each named", body = ErrorBody), (status = 401, description = "No valid API key", body = ErrorBody), (status = 403, description = "The key's role may not", body = ErrorBody)), security(("api_key" = [])))]
async fn list(
    staff: Staff,
    query: web::Query<ListQuery>,
    db: web::Data<Db>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::ManageSuppressions)?;
    let email = query
        .email
        .as_deref()
        .map(parse_email)
        .transpose()
        .map_err(|m| ApiError::field("email", m))?;
    let include_lifted = match query.include_lifted.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(ApiError::field("include_lifted", "must be true or false")),
    };
    let limit = match query.limit.as_deref() {
        None => 100,
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| ApiError::field("limit", "must be a whole number from 1 to 1000"))?,
    };
    let entries: Vec<SuppressionView> =
        suppressions::list(&db, email.as_deref(), include_lifted, limit).await?;
    Ok(HttpResponse::Ok().json(SuppressionList {
        suppressions: entries,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddRequest {
    pub email: String,
    pub note: Option<String>,
}

fn note(field: &str, value: &Option<String>) -> Result<Option<String>, ApiError> {
    match value {
        Some(n) if n.chars().count() > 500 => {
            Err(ApiError::field(field, "must be at most 500 characters"))
        }
        Some(n) if n.chars().any(|c| c.is_control() && c != '\n') => Err(ApiError::field(
            field,
            "must not contain control characters",
        )),
        Some(n) => Ok(Some(n.trim().to_owned()).filter(|n| !n.is_empty())),
        None => Ok(None),
    }
}

#[utoipa::path(post, path = "/api/v1/suppressions", tag = "suppressions", request_body = AddRequest, responses((status = 201, body = SuppressionView), (status = 422, description = "Invalid fields, each named", body = ErrorBody), (status = 401, description = "No valid API key", body = ErrorBody), (status = 403, description = "The key's role may not", body = ErrorBody)), security(("api_key" = [])))]
async fn add(
    staff: Staff,
    body: Json<AddRequest>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::ManageSuppressions)?;
    let entry = add_by_staff(&db, &body.0.email, &body.0.note, &staff.name, clock.now()).await?;
    Ok(HttpResponse::Created().json(entry))
}

/// Marks `email` do-not-contact on a staff member's word (`by`), with an optional `note`:
/// what is queued for the address is cancelled, and the offers it can no longer earn
/// lapse. The API and the console's operations page both add through here.
pub async fn add_by_staff(
    db: &Db,
    email: &str,
    note_text: &Option<String>,
    by: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<SuppressionView> {
    let email = parse_email(email).map_err(|m| ApiError::field("email", m))?;
    let note = note("note", note_text)?;
    let staff_name = by;
    let mut conn = db.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    suppressions::suppress(
        &mut tx,
        &email,
        SuppressionSource::Staff,
        note.as_deref(),
        Some(staff_name),
        now,
    )
    .await?;
    // What is queued for this address will not go; what was sent stays as it is, and its
    // reminders stop at the send-time check.
    invitations::apply(
        &mut *tx,
        Target::AllOf { email: &email },
        Event::Cancel,
        now,
    )
    .await?;
    incentives::cancel_lapsed_of(&mut tx, &email, "suppressed", now).await?;
    tx.commit().await?;
    let entry = suppressions::list(db, Some(&email), false, 1)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("the suppression just written is missing"))?;
    Ok(entry)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LiftRequest {
    pub reason: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/suppressions/{id}/lift", tag = "suppressions", params(("id" = String, Path)), request_body = LiftRequest, responses((status = 200, body = SuppressionView), (status = 404, body = ErrorBody), (status = 422, description = "Invalid fields, each named", body = ErrorBody), (status = 401, description = "No valid API key", body = ErrorBody), (status = 403, description = "The key's role may not", body = ErrorBody)), security(("api_key" = [])))]
async fn lift(
    staff: Staff,
    id: web::Path<String>,
    body: Json<LiftRequest>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::ManageSuppressions)?;
    let entry = lift_by_staff(&db, &id, &body.0.reason, &staff.name, clock.now()).await?;
    Ok(HttpResponse::Ok().json(entry))
}

/// Lifts suppression `id` on a staff member's word, with their reason checked.
pub async fn lift_by_staff(
    db: &Db,
    id: &str,
    reason: &Option<String>,
    by: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<SuppressionView> {
    let reason = note("reason", reason)?;
    match suppressions::lift(db, id, by, reason.as_deref(), now).await? {
        Some(entry) => Ok(entry),
        None => Err(ApiError::NotFound("no active suppression has this id")),
    }
}
