//! `GET /s/{token}`: the page a buyer lands on from the email. The survey page they
//! stopped at, server-rendered as a form they can answer at once, inside the element the
//! widget takes over once it has loaded; unknown and expired links get a plain explanation.

use crate::invitations::tokens::{resolve, Lookup};
use crate::surveys::clicks;
use crate::surveys::form::landing;
use crate::surveys::services::Surveying;
use crate::web::extract::clicked_score;
use crate::web::pages::pages;
use actix_web::http::StatusCode;
use actix_web::{get, web, HttpRequest, HttpResponse};

#[utoipa::path(get, path = "/s/{token}", tag = "pages", params(("token" = String, Path, description = "The buyer's token from the email link")), responses((status = 200, description = "The survey page (HTML): the page the buyer stopped at as a form, which the widget takes over", content_type = "text/html"), (status = 404, description = "Invalid link page", content_type = "text/html"), (status = 410, description = "Expired link page", content_type = "text/html")))]
#[get("/s/{token}")]
pub async fn survey_page(token: web::Path<String>, req: HttpRequest, s: Surveying) -> HttpResponse {
    // The score the buyer clicked in the email, recorded as provisional only: a mail
    // scanner's GET lands here too. The page is served whatever happens to the record.
    if let Some(score) = clicked_score(&req) {
        match resolve(&s.db, &token, s.clock.now()).await {
            Ok(lookup) => {
                if let Lookup::Valid(invitation) = lookup.survey_only() {
                    if let Err(e) =
                        clicks::record(&s.db, &invitation.id, score, s.clock.now()).await
                    {
                        tracing::error!(error = ?e, "recording a clicked score failed");
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = ?e, "survey page lookup failed");
                return pages().message(StatusCode::INTERNAL_SERVER_ERROR, None, "server_error");
            }
        }
    }
    landing(&token, &req, &s, true).await
}
