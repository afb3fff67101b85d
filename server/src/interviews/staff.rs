//! After booking, for staff:
//! - `GET`/`PUT /api/v1/interview-guide`, `GET /api/v1/interview-guide/versions/{version}`:
//!   the guide in force, a new version of it, an older one;
//! - `GET`/`PUT /api/v1/interviews/{id}/notes`: what the interviewer noted; noting a booked
//!   interview completes it and earns its incentive;
//! - `POST /api/v1/interviews/{id}/no-show`, `POST /api/v1/interviews/{id}/cancel` and
//!   `POST /api/v1/interviews/{id}/reschedule`.
//!
//! An interview's interviewer acts on it whatever their role; program staff on any; an
//! account manager reads, and calls off, those of the accounts they manage. To anyone
//! else an interview answers as one that does not exist.

use super::booking;
use super::guide::{self, Guide, Versioned};
use super::lifecycle::InterviewStatus;
use super::notes::{self, Notes, Parties};
use crate::app::clock::Clock;
use crate::auth::{Accounts, Permission, Role, Staff};
use crate::jobs::runner::Waker;
use crate::outreach::store::Planner;
use crate::platform::db::Db;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::Json;
use actix_web::{web, HttpResponse};
use debrief_common::ErrorBody;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/v1/interview-guide")
            .route(web::get().to(get_guide))
            .route(web::put().to(put_guide)),
    )
    .route(
        "/api/v1/interview-guide/versions/{version}",
        web::get().to(get_guide_version),
    )
    .service(
        web::resource("/api/v1/interviews/{id}/notes")
            .route(web::get().to(get_notes))
            .route(web::put().to(put_notes)),
    )
    .route("/api/v1/interviews/{id}/no-show", web::post().to(no_show))
    .route("/api/v1/interviews/{id}/cancel", web::post().to(cancel))
    .route(
        "/api/v1/interviews/{id}/reschedule",
        web::post().to(reschedule),
    );
}

#[utoipa::path(get, path = "/api/v1/interview-guide", tag = "interviews", responses((status = 200, body = Versioned, description = "The guide in force (version 0: the built-in one)"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn get_guide(staff: Staff, db: web::Data<Db>) -> ApiResult<HttpResponse> {
    staff.require(Permission::ReadInterviews)?;
    Ok(HttpResponse::Ok().json(guide::current(&db).await?))
}

#[utoipa::path(get, path = "/api/v1/interview-guide/versions/{version}", tag = "interviews", params(("version" = i64, Path)), responses((status = 200, body = Versioned), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn get_guide_version(
    staff: Staff,
    version: web::Path<String>,
    db: web::Data<Db>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::ReadInterviews)?;
    let version: i64 = version
        .parse()
        .map_err(|_| ApiError::field("version", "must be a whole number"))?;
    let guide = guide::version(&db, version)
        .await?
        .ok_or(ApiError::NotFound("no such guide version"))?;
    Ok(HttpResponse::Ok().json(Versioned { version, guide }))
}

#[utoipa::path(put, path = "/api/v1/interview-guide", tag = "interviews", request_body = Guide, responses((status = 200, body = Versioned, description = "Stored as the next version"), (status = 422, description = "Invalid fields, each named", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn put_guide(
    staff: Staff,
    body: Json<Guide, { 256 * 1024 }>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::ManageProgram)?;
    let guide = body.0;
    guide::check(&guide).map_err(|(field, message)| ApiError::field(&field, message))?;
    let version = guide::store(&db, &guide, &staff.name, clock.now()).await?;
    Ok(HttpResponse::Ok().json(Versioned { version, guide }))
}

/// The interview `id`, for `staff` to read (`manage` false) or act on.
async fn interview_for(staff: &Staff, db: &Db, id: &str, manage: bool) -> ApiResult<Parties> {
    let hidden = || match staff.accounts() {
        Accounts::All => ApiError::NotFound("interview"),
        _ => ApiError::Forbidden {
            role: staff.role.to_string(),
            action: "act on interviews of accounts they do not manage",
        },
    };
    let Some(parties) = notes::parties(db, id).await? else {
        return Err(hidden());
    };
    let interviewer = staff.member.as_ref().map(|(own, _)| own);
    if interviewer.is_some() && parties.interviewer_id.as_ref() == interviewer {
        return Ok(parties);
    }
    let managed = staff.role == Role::AccountManager
        && staff.accounts().include(parties.manager_email.as_deref());
    if staff.role == Role::AccountManager && !managed {
        return Err(hidden());
    }
    staff.require(if manage {
        Permission::ManageInterviews
    } else {
        Permission::ReadInterviews
    })?;
    Ok(parties)
}

#[utoipa::path(get, path = "/api/v1/interviews/{id}/notes", tag = "interviews", params(("id" = String, Path, description = "The interview's invitation id")), responses((status = 200, body = Notes), (status = 404, description = "No such interview, or not noted yet", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn get_notes(
    staff: Staff,
    id: web::Path<String>,
    db: web::Data<Db>,
) -> ApiResult<HttpResponse> {
    interview_for(&staff, &db, &id, false).await?;
    let notes = notes::read(&db, &id)
        .await?
        .ok_or(ApiError::NotFound("no notes for this interview yet"))?;
    Ok(HttpResponse::Ok().json(notes))
}

#[utoipa::path(put, path = "/api/v1/interviews/{id}/notes", tag = "interviews", params(("id" = String, Path, description = "The interview's invitation id")), request_body = Notes, responses((status = 200, body = Notes, description = "Stored; a booked interview is now completed and its incentive earned"), (status = 409, description = "Not a booked or completed interview", body = ErrorBody), (status = 422, description = "Invalid fields, each named", body = ErrorBody), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn put_notes(
    staff: Staff,
    id: web::Path<String>,
    body: Json<Notes, { 512 * 1024 }>,
    db: web::Data<Db>,
    planner: web::Data<Planner>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    interview_for(&staff, &db, &id, true).await?;
    let notes = body.0;
    let guide = guide::version(&db, notes.guide_version)
        .await?
        .ok_or_else(|| ApiError::field("guide_version", "is not a stored guide version"))?;
    notes::check(&notes, &guide).map_err(|(field, message)| ApiError::field(&field, message))?;
    notes::record(
        &db,
        &planner.programs,
        &id,
        &notes,
        &staff.name,
        clock.now(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(notes))
}

#[utoipa::path(post, path = "/api/v1/interviews/{id}/no-show", tag = "interviews", params(("id" = String, Path, description = "The interview's invitation id")), responses((status = 200, description = "Marked as a no-show"), (status = 409, description = "Not a booked interview", body = ErrorBody), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn no_show(
    staff: Staff,
    id: web::Path<String>,
    mut payload: web::Payload,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    crate::web::extract::read_body(&mut payload, 1024).await?;
    interview_for(&staff, &db, &id, true).await?;
    close(&db, &id, InterviewStatus::NoShow, clock.now()).await
}

#[utoipa::path(post, path = "/api/v1/interviews/{id}/cancel", tag = "interviews", params(("id" = String, Path, description = "The interview's invitation id")), responses((status = 200, description = "Called off; both calendars get the cancellation"), (status = 409, description = "Not a booked interview", body = ErrorBody), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn cancel(
    staff: Staff,
    id: web::Path<String>,
    mut payload: web::Payload,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    waker: web::Data<Waker>,
) -> ApiResult<HttpResponse> {
    crate::web::extract::read_body(&mut payload, 1024).await?;
    authorise_call_off(&staff, &db, &id).await?;
    let closed = close(&db, &id, InterviewStatus::Cancelled, clock.now()).await?;
    waker.wake();
    Ok(closed)
}

/// Where staff move an interview to.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RescheduleRequest {
    /// The new slot's start: one of the slots offered (`GET .../interviewers/{id}/slots`).
    pub starts_at: chrono::DateTime<chrono::Utc>,
}

#[utoipa::path(post, path = "/api/v1/interviews/{id}/reschedule", tag = "interviews", params(("id" = String, Path, description = "The interview's invitation id")), request_body = RescheduleRequest, responses((status = 200, description = "Moved; both calendars get the update"), (status = 409, description = "Not a booked interview, or the slot is not free", body = ErrorBody), (status = 422, description = "Invalid fields, each named", body = ErrorBody), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn reschedule(
    staff: Staff,
    id: web::Path<String>,
    body: Json<RescheduleRequest>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    waker: web::Data<Waker>,
) -> ApiResult<HttpResponse> {
    authorise_call_off(&staff, &db, &id).await?;
    let now = clock.now();
    let interview = booking::load(&db, &id)
        .await?
        .ok_or(ApiError::NotFound("interview"))?;
    let Some(held) = interview
        .booking
        .as_ref()
        .filter(|_| interview.status == InterviewStatus::Booked)
    else {
        return Err(ApiError::Conflict {
            code: "not_booked",
            message: "only a booked interview can be moved".into(),
        });
    };
    let request = booking::Request {
        starts: body.0.starts_at,
        buyer_zone: held.buyer_zone,
        phone: held.phone.clone(),
        prefers: held.prefers,
    };
    match booking::book(&db, &interview, &request, now).await {
        Ok(_) => {
            waker.wake();
            Ok(HttpResponse::Ok().json(serde_json::json!({
                "invitation_id": id.as_str(),
                "starts_at": request.starts,
            })))
        }
        Err(booking::Refused::Unavailable) => Err(ApiError::Conflict {
            code: "slot_unavailable",
            message: "that time is not among the free slots".into(),
        }),
        Err(booking::Refused::Closed(_)) => Err(ApiError::Conflict {
            code: "not_booked",
            message: "only a booked interview can be moved".into(),
        }),
        Err(booking::Refused::Storage(e)) => Err(e.into()),
    }
}

/// Who may call off or move an interview: its interviewer, program staff, and the manager
/// of its account.
async fn authorise_call_off(staff: &Staff, db: &Db, id: &str) -> ApiResult<()> {
    let parties = notes::parties(db, id).await?;
    let managed = staff.role == Role::AccountManager
        && parties
            .as_ref()
            .is_some_and(|p| staff.accounts().include(p.manager_email.as_deref()));
    if !managed {
        interview_for(staff, db, id, true).await?;
    }
    Ok(())
}

/// Moves a booked interview to `to`.
async fn close(
    db: &Db,
    id: &str,
    to: InterviewStatus,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<HttpResponse> {
    if booking::close(db, id, InterviewStatus::Booked, to, now).await? {
        Ok(HttpResponse::Ok().json(serde_json::json!({ "invitation_id": id, "status": to })))
    } else {
        Err(ApiError::Conflict {
            code: "not_booked",
            message: "only a booked interview can be closed this way: called off before it \
                      starts, or marked a no-show after"
                .into(),
        })
    }
}
