//! `GET /s/{token}`: the page a buyer lands on from the email. A small server-rendered
//! shell that loads the widget; unknown and expired links get a plain explanation.

use crate::app::clock::Clock;
use crate::app::config::Settings;
use crate::invitations::tokens::{resolve, Lookup};
use crate::invitations::InvitationStatus;
use crate::platform::db::Db;
use crate::surveys::clicks;
use crate::web::extract::clicked_score;
use crate::web::pages::{object, pages};
use actix_web::http::StatusCode;
use actix_web::{get, web, HttpRequest, HttpResponse};

#[utoipa::path(get, path = "/s/{token}", tag = "pages", params(("token" = String, Path, description = "The buyer's token from the email link")), responses((status = 200, description = "The survey page (HTML) hosting the widget", content_type = "text/html"), (status = 404, description = "Invalid link page", content_type = "text/html"), (status = 410, description = "Expired link page", content_type = "text/html")))]
#[get("/s/{token}")]
pub async fn survey_page(
    token: web::Path<String>,
    req: HttpRequest,
    db: web::Data<Db>,
    settings: web::Data<Settings>,
    clock: web::Data<Clock>,
) -> HttpResponse {
    let pages = pages();
    let lookup = match resolve(&db, &token, clock.now()).await {
        Ok(lookup) => lookup.survey_only(),
        Err(e) => {
            tracing::error!(error = ?e, "survey page lookup failed");
            return pages.message(StatusCode::INTERNAL_SERVER_ERROR, None, "server_error");
        }
    };
    let invitation = match lookup {
        Lookup::Valid(invitation) => invitation,
        Lookup::Expired(invitation) => {
            return pages.message(StatusCode::GONE, Some(invitation.locale), "survey_expired")
        }
        Lookup::Unknown => return pages.message(StatusCode::NOT_FOUND, None, "invalid_link"),
    };
    let locale = invitation.locale;
    if invitation.status == InvitationStatus::OptedOut {
        return pages.message(StatusCode::GONE, Some(locale), "survey_opted_out");
    }
    // The score the buyer clicked in the email; a mangled one opens the survey without it.
    let clicked = clicked_score(&req);
    // A provisional score only: a mail scanner's GET lands here too. The page is served
    // whatever happens to the record.
    if let Some(score) = clicked {
        if let Err(e) = clicks::record(&db, &invitation.id, score, clock.now()).await {
            tracing::error!(error = ?e, "recording a clicked score failed");
        }
    }
    let score = clicked.map(|s| s.to_string()).unwrap_or_default();
    let data = serde_json::json!({
        "token": token.as_str(), "score": score, "locale": locale.code(),
    });
    pages.render(
        StatusCode::OK,
        locale,
        &settings.company_name,
        "survey_host",
        object(data),
        &[("company", &settings.company_name)],
    )
}
