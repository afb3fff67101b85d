//! `/u/{token}`: the opt-out link in every survey email.
//!
//! GET shows a confirmation button rather than opting out at once, because mail scanners
//! follow links; POST opts out. POST is also the RFC 8058 one-click target that mail
//! clients call from the `List-Unsubscribe` header.

use super::opt_out_person;
use crate::app::clock::Clock;
use crate::app::config::Settings;
use crate::invitations::tokens::{resolve, Invitation, Lookup};
use crate::platform::db::Db;
use crate::web::extract::read_body;
use crate::web::pages::pages;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/u/{token}")
            .route(web::get().to(confirm_page))
            .route(web::post().to(opt_out)),
    );
}

fn failure(e: anyhow::Error) -> HttpResponse {
    tracing::error!(error = ?e, "opt-out failed");
    pages().message(StatusCode::INTERNAL_SERVER_ERROR, None, "server_error")
}

/// An expired link still opts out: nobody should be stuck receiving mail.
async fn invitation_for(
    db: &Db,
    token: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<Invitation>, anyhow::Error> {
    Ok(match resolve(db, token, now).await? {
        Lookup::Valid(invitation) | Lookup::Expired(invitation) => Some(invitation),
        Lookup::Unknown => None,
    })
}

#[utoipa::path(get, path = "/u/{token}", tag = "pages", params(("token" = String, Path, description = "The buyer's token from the email link")), responses((status = 200, description = "Asks to confirm the opt-out (HTML)", content_type = "text/html"), (status = 404, content_type = "text/html")))]
async fn confirm_page(
    token: web::Path<String>,
    db: web::Data<Db>,
    settings: web::Data<Settings>,
    clock: web::Data<Clock>,
) -> HttpResponse {
    let invitation = match invitation_for(&db, &token, clock.now()).await {
        Ok(Some(invitation)) => invitation,
        Ok(None) => return pages().message(StatusCode::NOT_FOUND, None, "invalid_link"),
        Err(e) => return failure(e),
    };
    // The form has no action: it posts back to this same URL, token included.
    let company = settings.company_name.as_str();
    pages().render(
        StatusCode::OK,
        invitation.locale,
        company,
        "opt_out_confirm",
        serde_json::Map::new(),
        &[("company", company)],
    )
}

#[utoipa::path(post, path = "/u/{token}", tag = "pages", params(("token" = String, Path, description = "The buyer's token from the email link")), responses((status = 200, description = "Opted out; also the RFC 8058 one-click target (HTML)", content_type = "text/html"), (status = 404, content_type = "text/html")))]
async fn opt_out(
    token: web::Path<String>,
    mut payload: web::Payload,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> HttpResponse {
    let now = clock.now();
    // The one-click body is `List-Unsubscribe=One-Click`; its content changes nothing, but
    // it is read so the connection stays usable.
    if read_body(&mut payload, 1024).await.is_err() {
        return pages().message(StatusCode::PAYLOAD_TOO_LARGE, None, "request_too_large");
    }
    let invitation = match invitation_for(&db, &token, now).await {
        Ok(Some(invitation)) => invitation,
        Ok(None) => return pages().message(StatusCode::NOT_FOUND, None, "invalid_link"),
        Err(e) => return failure(e),
    };
    if let Err(e) = opt_out_person(&db, &invitation.person_id, now).await {
        return failure(e);
    }
    pages().message(StatusCode::OK, Some(invitation.locale), "opted_out")
}
