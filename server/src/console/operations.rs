//! Operations, for program owners and admins: the suppression list (search, add, lift)
//! and the dead letters (jobs the outbox gave up on, with their last error) to replay.
//! Both go through the same functions as `/api/v1/suppressions` and `/api/v1/jobs`.

use super::page::{
    field_errors, render_with_status, see_other, OrPage, PageError, Posted, Section, Signed,
};
use crate::app::clock::Clock;
use crate::auth::Permission;
use crate::jobs::{self, runner::Waker, JobStatus};
use crate::people::routes::{add_by_staff, lift_by_staff};
use crate::people::suppressions;
use crate::platform::db::Db;
use crate::web::error::ApiError;
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(operations)
        .service(suppress)
        .service(lift)
        .service(replay);
}

/// Entries and dead jobs listed.
const LISTED: i64 = 100;

async fn page(
    signed: &Signed,
    db: &Db,
    search: Option<String>,
    status: StatusCode,
    extra: Value,
) -> Result<HttpResponse, PageError> {
    let t = super::page::pages().sentences(signed.locale());
    let email = search
        .as_deref()
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty());
    let entries: Vec<Value> = suppressions::list(db, email.as_deref(), false, LISTED)
        .await?
        .into_iter()
        .map(|s| {
            json!({
                "id": s.id,
                "email": s.email,
                "source": t(&format!("stop_suppressed_{}", s.source)),
                "note": s.note,
                "when": s.created_at.get(..10),
                "by": s.created_by,
            })
        })
        .collect();
    let dead: Vec<Value> = jobs::list(db, JobStatus::Dead, LISTED)
        .await?
        .into_iter()
        .map(|j| {
            json!({
                "id": j.id,
                "kind": j.kind.as_str(),
                "attempts": j.attempts,
                "error": j.last_error,
                "when": j.created_at.get(..16).map(|s| s.replace('T', " ")),
            })
        })
        .collect();
    let mut data = crate::web::pages::object(json!({
        "entries": entries,
        "dead": dead,
        "search": email,
        "errors": [],
        "notice": null,
    }));
    super::page::merge(&mut data, extra);
    Ok(render_with_status(
        signed,
        Section::Operations,
        status,
        "operations",
        data,
    ))
}

#[get("/console/operations")]
async fn operations(
    req: HttpRequest,
    signed: Signed,
    db: web::Data<Db>,
) -> Result<HttpResponse, PageError> {
    signed.may(Permission::ManageDelivery)?;
    let mut params = crate::analytics::filter::Params::of(&req)
        .page(signed.locale())?
        .without_empty();
    let search = params.take("email");
    params.finish().page(signed.locale())?;
    page(&signed, &db, search, StatusCode::OK, json!({})).await
}

/// A form's API error shown on the page, or the page's own error.
async fn refused(signed: &Signed, db: &Db, e: ApiError) -> Result<HttpResponse, PageError> {
    match e {
        ApiError::Validation(fields) => {
            let errors = field_errors(&fields);
            page(
                signed,
                db,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({ "errors": errors }),
            )
            .await
        }
        other => Err(PageError::from_api(signed.locale(), other)),
    }
}

#[post("/console/operations/suppressions")]
async fn suppress(
    posted: Posted,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, PageError> {
    let Posted { signed, mut form } = posted;
    signed.may(Permission::ManageSuppressions)?;
    let email = form.take("email")?.unwrap_or_default();
    let note = form.take("note")?;
    form.finish()?;
    match add_by_staff(&db, &email, &note, &signed.0.staff.name, clock.now()).await {
        Ok(_) => Ok(see_other("/console/operations")),
        Err(e) => refused(&signed, &db, e).await,
    }
}

#[post("/console/operations/suppressions/{id}/lift")]
async fn lift(
    posted: Posted,
    id: web::Path<String>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, PageError> {
    let Posted { signed, mut form } = posted;
    signed.may(Permission::ManageSuppressions)?;
    let reason = form.take("reason")?;
    form.finish()?;
    match lift_by_staff(&db, &id, &reason, &signed.0.staff.name, clock.now()).await {
        Ok(_) => Ok(see_other("/console/operations")),
        Err(e) => refused(&signed, &db, e).await,
    }
}

#[post("/console/operations/jobs/{id}/replay")]
async fn replay(
    posted: Posted,
    id: web::Path<String>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    waker: web::Data<Waker>,
) -> Result<HttpResponse, PageError> {
    let Posted { signed, form } = posted;
    signed.may(Permission::ManageDelivery)?;
    form.finish()?;
    match jobs::replay(&db, &id, clock.now()).await? {
        Some(_) => {
            waker.wake();
            let t = super::page::pages().sentences(signed.locale());
            page(
                &signed,
                &db,
                None,
                StatusCode::OK,
                json!({ "notice": t("ops_replayed") }),
            )
            .await
        }
        None => Err(PageError::NotFound(signed.locale())),
    }
}
