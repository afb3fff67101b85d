//! `POST /api/v1/invitations/{id}/release`: staff let a held invitation go (its budget
//! was topped up, or they decided to send it anyway). It is scheduled from now, at the
//! buyer's next business hour, with its reminders and expiry.

use super::{Event, InvitationKind, Target};
use crate::app::clock::Clock;
use crate::auth::{Permission, Staff};
use crate::outreach::store::{schedule_job, Planner};
use crate::platform::db::time::to_db;
use crate::platform::db::Db;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::read_body;
use actix_web::{web, HttpResponse};
use chrono_tz::Tz;
use debrief_common::ErrorBody;
use serde::Serialize;
use sqlx::Acquire;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/invitations/{id}/release", web::post().to(release));
}

/// A released invitation.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Released {
    pub invitation_id: String,
    pub scheduled_for: String,
    pub expires_at: String,
}

#[utoipa::path(post, path = "/api/v1/invitations/{id}/release", tag = "program", params(("id" = String, Path)), responses((status = 200, body = Released), (status = 409, description = "Not a held invitation", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn release(
    staff: Staff,
    id: web::Path<String>,
    mut payload: web::Payload,
    db: web::Data<Db>,
    planner: web::Data<Planner>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    read_body(&mut payload, 1024).await?;
    staff.require(Permission::ManageProgram)?;
    let now = clock.now();
    let row: Option<(String, Option<i64>, Option<String>, String)> = sqlx::query_as(
        "select i.kind, i.program_version, i.segment_key, c.time_zone
         from invitations i join contacts c on c.id = i.contact_id where i.id = $1",
    )
    .bind(id.as_str())
    .fetch_optional(db.pool())
    .await?;
    let Some((kind, version, segment, time_zone)) = row else {
        return Err(ApiError::NotFound("no invitation has this id"));
    };
    let kind: InvitationKind = kind.parse().map_err(anyhow::Error::msg)?;
    let tz: Tz = time_zone.parse().map_err(anyhow::Error::msg)?;
    // Version 0 is the built-in program.
    let program = planner
        .programs
        .version(&db, version.unwrap_or(0))
        .await?
        .unwrap_or_else(|| std::sync::Arc::new(crate::programs::Program::built_in()));
    // Invitations from before programs were versioned have no segment: the built-in
    // program's only one applies.
    let Some(segment) = program
        .segments
        .iter()
        .find(|s| Some(&s.key) == segment.as_ref())
        .or_else(|| program.segments.first())
    else {
        return Err(anyhow::anyhow!("program version {} has no segment", program.version).into());
    };
    let (send_at, expires_at) = planner
        .timing
        .for_program(&program)
        .schedule(now, tz, segment);

    let mut conn = db.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    let moved = super::apply(&mut *tx, Target::Invitation(&id), Event::Release, now).await?;
    if moved == 0 {
        return Err(ApiError::Conflict {
            code: "not_held",
            message: "this invitation is not held".into(),
        });
    }
    sqlx::query("update invitations set scheduled_for = $1, expires_at = $2 where id = $3")
        .bind(to_db(send_at))
        .bind(to_db(expires_at))
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
    sqlx::query("update invitation_tokens set expires_at = $1 where invitation_id = $2")
        .bind(to_db(expires_at))
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
    schedule_job(&mut tx, &id, kind, send_at, now).await?;
    tx.commit().await?;
    Ok(HttpResponse::Ok().json(Released {
        invitation_id: id.into_inner(),
        scheduled_for: to_db(send_at),
        expires_at: to_db(expires_at),
    }))
}
