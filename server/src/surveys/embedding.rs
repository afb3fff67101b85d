//! Where the widget may run. A program lists the origins allowed to embed it (a customer
//! portal); the buyer API answers those origins and no other (CORS), and the survey pages
//! may be framed by them and no other (`frame-ancestors`). Debrief's own pages are always
//! allowed. The list is the program's in force now, so an edit applies at once.

use crate::app::clock::Clock;
use crate::outreach::store::Planner;
use crate::platform::db::Db;
use crate::web::html::FRAME_ANCESTORS;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use debrief_common::{ErrorBody, FieldError};

/// The origins the program in force allows to embed the widget.
async fn allowed_origins(req: &ServiceRequest) -> anyhow::Result<Vec<String>> {
    let (Some(db), Some(planner), Some(clock)) = (
        req.app_data::<web::Data<Db>>(),
        req.app_data::<web::Data<Planner>>(),
        req.app_data::<web::Data<Clock>>(),
    ) else {
        anyhow::bail!("the embedding check has no database");
    };
    let mut conn = db.pool().acquire().await?;
    let program = planner.programs.in_force_at(&mut conn, clock.now()).await?;
    Ok(program.embed_origins.clone())
}

/// The request's own origin, as a browser on Debrief's pages would send it.
fn own_origin(req: &ServiceRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host()).to_ascii_lowercase()
}

/// The `Origin` of a cross-origin request; `None` for Debrief's own pages and for clients
/// that are not browsers.
fn foreign_origin(req: &ServiceRequest) -> Option<String> {
    let origin = req.headers().get(header::ORIGIN)?.to_str().ok()?;
    let origin = origin.to_ascii_lowercase();
    (origin != own_origin(req)).then_some(origin)
}

fn refused(origin: &str) -> HttpResponse {
    HttpResponse::Forbidden().json(ErrorBody {
        error: "origin_not_allowed".into(),
        message:
            "this page may not embed the survey: add its origin to the program's embed_origins"
                .into(),
        fields: vec![FieldError::new(
            "Origin",
            format!(
                "{} is not among the program's embed_origins",
                shorten(origin)
            ),
        )],
    })
}

fn shorten(s: &str) -> String {
    s.chars().take(100).collect()
}

/// CORS for the buyer API: an allowed origin gets its answer (and the preflight its
/// permission); any other cross-origin request is refused with a 403 before it reaches the
/// handler, so it changes nothing.
pub async fn buyer_cors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(origin) = foreign_origin(&req) else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let allowed = match allowed_origins(&req).await {
        Ok(list) => list.contains(&origin),
        Err(e) => {
            tracing::error!(error = ?e, "reading the embed origins failed");
            let response = HttpResponse::InternalServerError().finish();
            return Ok(req.into_response(response).map_into_right_body());
        }
    };
    if !allowed {
        return Ok(req.into_response(refused(&origin)).map_into_right_body());
    }
    let allow = HeaderValue::from_str(&origin).map_err(actix_web::error::ErrorBadRequest)?;
    if req.method() == Method::OPTIONS {
        let response = HttpResponse::build(StatusCode::NO_CONTENT)
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, allow))
            .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST, PUT"))
            .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, "content-type"))
            .insert_header((header::ACCESS_CONTROL_MAX_AGE, "600"))
            .insert_header((header::VARY, "Origin"))
            .finish();
        return Ok(req.into_response(response).map_into_right_body());
    }
    let mut response = next.call(req).await?;
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    Ok(response.map_into_left_body())
}

/// `frame-ancestors` on the survey pages (`/s/…`): Debrief itself and the allowed
/// origins. Every other page keeps the shell's `frame-ancestors 'self'`.
pub async fn frame_ancestors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if !req.path().starts_with("/s/") {
        return next.call(req).await;
    }
    let origins = allowed_origins(&req).await.unwrap_or_else(|e| {
        // Framing falls back to Debrief alone: the page itself still works.
        tracing::error!(error = ?e, "reading the embed origins failed");
        Vec::new()
    });
    let mut response = next.call(req).await?;
    let headers = response.headers_mut();
    let policy = headers
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .map(|csp| {
            let mut ancestors = String::from(FRAME_ANCESTORS);
            for o in &origins {
                ancestors.push(' ');
                ancestors.push_str(o);
            }
            csp.replace(FRAME_ANCESTORS, &ancestors)
        });
    if let Some(policy) = policy.and_then(|p| HeaderValue::from_str(&p).ok()) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    Ok(response)
}
