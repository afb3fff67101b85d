//! `GET /s/{token}`: the page a buyer lands on from the email. The survey page they
//! stopped at, server-rendered as a form they can answer at once, inside the element the
//! widget takes over once it has loaded; the score clicked in the email is recorded as
//! provisional. Unknown and expired links get a plain explanation.

use crate::surveys::form::landing;
use crate::surveys::services::Surveying;
use actix_web::{get, web, HttpRequest, HttpResponse};

#[utoipa::path(get, path = "/s/{token}", tag = "pages", params(("token" = String, Path, description = "The buyer's token from the email link")), responses((status = 200, description = "The survey page (HTML): the page the buyer stopped at as a form, which the widget takes over", content_type = "text/html"), (status = 404, description = "Invalid link page", content_type = "text/html"), (status = 410, description = "Expired link page", content_type = "text/html")))]
#[get("/s/{token}")]
pub async fn survey_page(token: web::Path<String>, req: HttpRequest, s: Surveying) -> HttpResponse {
    landing(&token, &req, &s, true).await
}
