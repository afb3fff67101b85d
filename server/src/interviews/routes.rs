//! Interviewers and their availability, for staff:
//! - `GET /api/v1/interviewers`: staff with a calendar time zone, with what they publish;
//! - `GET`/`PUT /api/v1/interviewers/{id}/availability`: weekly hours, exceptions, the
//!   slots' length and the buffer between them; an interviewer publishes their own, a
//!   program owner anyone's;
//! - `GET /api/v1/interviewers/{id}/slots?tz=`: the free slots buyers are offered, with
//!   their local times in `tz` (the interviewer's zone by default);
//! - `GET /api/v1/deals/{crm_id}/interview-candidates`: who to invite, best first;
//! - `POST /api/v1/interviews/invitations/preview` and `POST /api/v1/interviews/invitations`:
//!   an account manager's personal invitation, read first, then sent.

use super::availability::{Availability, Window};
use super::booking;
use super::candidates::{self, Candidates};
use super::interviewers::{self, Found, Interviewer};
use super::personal::{self, InvitationPreview, PersonalInvitation, Queued};
use crate::app::clock::Clock;
use crate::app::config::Settings;
use crate::app::PublicUrl;
use crate::auth::{Permission, Staff};
use crate::jobs::runner::Waker;
use crate::outreach::store::Planner;
use crate::platform::db::Db;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::Json;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use debrief_common::ErrorBody;
use serde::{Deserialize, Serialize};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/interviewers", web::get().to(list_interviewers))
        .route(
            "/api/v1/interviewers/{id}/availability",
            web::get().to(get_availability),
        )
        .route(
            "/api/v1/interviewers/{id}/availability",
            web::put().to(put_availability),
        )
        .route("/api/v1/interviewers/{id}/slots", web::get().to(list_slots))
        .route(
            "/api/v1/deals/{crm_id}/interview-candidates",
            web::get().to(list_candidates),
        )
        .route(
            "/api/v1/interviews/invitations/preview",
            web::post().to(preview_invitation),
        )
        .route(
            "/api/v1/interviews/invitations",
            web::post().to(send_invitation),
        );
}

#[utoipa::path(post, path = "/api/v1/interviews/invitations/preview", tag = "interviews", request_body = PersonalInvitation, responses((status = 200, body = InvitationPreview, description = "The email as the buyer will read it, with a stand-in for their personal link"), (status = 409, description = "The contact policy stops it (suppressed, already_invited, person_cooldown, account_cooldown, account_cap)", body = ErrorBody), (status = 422, description = "Invalid fields, each named", body = ErrorBody), (status = 404, description = "No such deal", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, description = "The key's role may not, or the deal is on an account the manager does not manage", body = ErrorBody)), security(("api_key" = [])))]
pub async fn preview_invitation(
    staff: Staff,
    body: Json<PersonalInvitation>,
    db: web::Data<Db>,
    planner: web::Data<Planner>,
    settings: web::Data<Settings>,
    public_url: web::Data<PublicUrl>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::InviteToInterview)?;
    let checked = personal::check(&db, &planner, &staff, body.0, clock.now()).await?;
    let preview = personal::preview(&checked, &settings.company_name, &public_url.0)?;
    Ok(HttpResponse::Ok().json(preview))
}

#[utoipa::path(post, path = "/api/v1/interviews/invitations", tag = "interviews", request_body = PersonalInvitation, responses((status = 201, body = Queued, description = "Queued: the email goes at the buyer's next business hour"), (status = 409, description = "The contact policy stops it (suppressed, already_invited, person_cooldown, account_cooldown, account_cap)", body = ErrorBody), (status = 422, description = "Invalid fields, each named", body = ErrorBody), (status = 404, description = "No such deal", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, description = "The key's role may not, or the deal is on an account the manager does not manage", body = ErrorBody)), security(("api_key" = [])))]
pub async fn send_invitation(
    staff: Staff,
    body: Json<PersonalInvitation>,
    db: web::Data<Db>,
    planner: web::Data<Planner>,
    clock: web::Data<Clock>,
    waker: web::Data<Waker>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::InviteToInterview)?;
    let now = clock.now();
    let checked = personal::check(&db, &planner, &staff, body.0, now).await?;
    let invited = personal::send(&db, &planner, &staff, checked, now).await?;
    waker.wake();
    Ok(HttpResponse::Created().json(invited))
}

#[utoipa::path(get, path = "/api/v1/deals/{crm_id}/interview-candidates", tag = "interviews", params(("crm_id" = String, Path, description = "The deal's id in the CRM")), responses((status = 200, body = Candidates), (status = 404, description = "No such deal", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, description = "The key's role may not, or the deal is on an account the manager does not manage", body = ErrorBody)), security(("api_key" = [])))]
pub async fn list_candidates(
    staff: Staff,
    crm_id: web::Path<String>,
    db: web::Data<Db>,
    planner: web::Data<Planner>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::InviteToInterview)?;
    let (candidates, _) = candidates::of_deal(
        &db,
        &planner.programs,
        &staff.accounts(),
        &crm_id,
        clock.now(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(candidates))
}

/// Interviewers, by name.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InterviewerList {
    pub interviewers: Vec<Interviewer>,
}

#[utoipa::path(get, path = "/api/v1/interviewers", tag = "interviews", responses((status = 200, body = InterviewerList), (status = 401, description = "No valid API key", body = ErrorBody), (status = 403, description = "The key's role may not", body = ErrorBody)), security(("api_key" = [])))]
pub async fn list_interviewers(staff: Staff, db: web::Data<Db>) -> ApiResult<HttpResponse> {
    staff.require(Permission::ReadInterviewers)?;
    let interviewers = interviewers::list(&db).await?;
    Ok(HttpResponse::Ok().json(InterviewerList { interviewers }))
}

/// Whether `staff` is the staff member `id`: an interviewer reads and publishes their own
/// availability whatever their role.
fn is_self(staff: &Staff, id: &str) -> bool {
    staff.member.as_ref().is_some_and(|(own, _)| own == id)
}

/// The interviewer `id`, for `staff` allowed `permission` on anyone's.
async fn interviewer_for(
    staff: &Staff,
    permission: Permission,
    db: &Db,
    id: &str,
) -> ApiResult<Interviewer> {
    if !is_self(staff, id) {
        staff.require(permission)?;
    }
    match interviewers::find(db, id).await? {
        Found::Interviewer(interviewer) => Ok(interviewer),
        Found::NoTimeZone => Err(ApiError::Conflict {
            code: "no_time_zone",
            message: "this staff member has no calendar time zone, so cannot interview \
                      (debrief keys create --email … --time-zone …)"
                .into(),
        }),
        Found::Unknown => Err(ApiError::NotFound("interviewer")),
    }
}

#[utoipa::path(get, path = "/api/v1/interviewers/{id}/availability", tag = "interviews", params(("id" = String, Path, description = "The interviewer's id")), responses((status = 200, body = Interviewer), (status = 404, description = "No such staff member", body = ErrorBody), (status = 409, description = "A staff member without a calendar time zone", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn get_availability(
    staff: Staff,
    id: web::Path<String>,
    db: web::Data<Db>,
) -> ApiResult<HttpResponse> {
    let interviewer = interviewer_for(&staff, Permission::ReadInterviewers, &db, &id).await?;
    Ok(HttpResponse::Ok().json(interviewer))
}

#[utoipa::path(put, path = "/api/v1/interviewers/{id}/availability", tag = "interviews", params(("id" = String, Path, description = "The interviewer's id")), request_body = Availability, responses((status = 200, body = Interviewer), (status = 404, description = "No such staff member", body = ErrorBody), (status = 409, description = "A staff member without a calendar time zone", body = ErrorBody), (status = 422, description = "Invalid fields, each named", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn put_availability(
    staff: Staff,
    id: web::Path<String>,
    body: Json<Availability>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    let mut interviewer = interviewer_for(&staff, Permission::ManageInterviewers, &db, &id).await?;
    let availability = body.0;
    availability
        .check()
        .map_err(|(field, message)| ApiError::field(&field, message))?;
    interviewers::publish(
        &db,
        &interviewer.id,
        &availability,
        &staff.name,
        clock.now(),
    )
    .await?;
    interviewer.availability = Some(availability);
    Ok(HttpResponse::Ok().json(interviewer))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SlotsQuery {
    /// The time zone to show local times in (IANA name); the interviewer's by default.
    pub tz: Option<String>,
}

/// A free slot.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SlotView {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The start in the zone asked for, with its offset (2026-12-01T15:00:00+01:00).
    pub local_start: String,
}

/// The slots buyers are offered, soonest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SlotList {
    pub interviewer_id: String,
    /// The zone of `local_start`.
    pub time_zone: String,
    pub slots: Vec<SlotView>,
}

#[utoipa::path(get, path = "/api/v1/interviewers/{id}/slots", tag = "interviews", params(("id" = String, Path, description = "The interviewer's id"), SlotsQuery), responses((status = 200, body = SlotList), (status = 404, description = "No such staff member", body = ErrorBody), (status = 409, description = "A staff member without a calendar time zone", body = ErrorBody), (status = 422, description = "Invalid fields, each named", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn list_slots(
    staff: Staff,
    id: web::Path<String>,
    query: web::Query<SlotsQuery>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    let interviewer = interviewer_for(&staff, Permission::ReadInterviewers, &db, &id).await?;
    let zone: Tz = match query.tz.as_deref() {
        None => interviewer.time_zone,
        Some(name) => name
            .parse()
            .map_err(|_| ApiError::field("tz", "must be an IANA time zone, as Europe/Paris"))?,
    };
    let now = clock.now();
    let taken = booking::taken_of(&db, &interviewer.id, now).await?;
    let slots = interviewer
        .availability
        .as_ref()
        .map(|a| {
            a.slots(
                interviewer.time_zone,
                &taken,
                clock.now(),
                Window::default(),
            )
        })
        .unwrap_or_default();
    let slots = slots
        .into_iter()
        .map(|s| SlotView {
            starts_at: s.starts,
            ends_at: s.ends,
            local_start: s.starts.with_timezone(&zone).to_rfc3339(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(SlotList {
        interviewer_id: interviewer.id,
        time_zone: zone.name().to_owned(),
        slots,
    }))
}
