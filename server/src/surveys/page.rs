//! `GET /s/{token}`: the page a buyer lands on from the email. A small server-rendered
//! shell that loads the widget; unknown and expired links get a plain explanation.

use crate::app::clock::Clock;
use crate::app::config::Settings;
use crate::invitations::tokens::{resolve, Lookup};
use crate::invitations::InvitationStatus;
use crate::platform::db::Db;
use crate::web::html::{escape, html_page, invalid_link_page, message_page, server_error_page};
use actix_web::http::StatusCode;
use actix_web::{get, web, HttpRequest, HttpResponse};
use debrief_common::{Locale, NpsScore};

#[utoipa::path(get, path = "/s/{token}", tag = "pages", params(("token" = String, Path, description = "The buyer's token from the email link")), responses((status = 200, description = "The survey page (HTML) hosting the widget", content_type = "text/html"), (status = 404, description = "Invalid link page", content_type = "text/html"), (status = 410, description = "Expired link page", content_type = "text/html")))]
#[get("/s/{token}")]
pub async fn survey_page(
    token: web::Path<String>,
    req: HttpRequest,
    db: web::Data<Db>,
    settings: web::Data<Settings>,
    clock: web::Data<Clock>,
) -> HttpResponse {
    let lookup = match resolve(&db, &token, clock.now()).await {
        Ok(lookup) => lookup.survey_only(),
        Err(e) => {
            tracing::error!(error = ?e, "survey page lookup failed");
            return server_error_page();
        }
    };
    let invitation = match lookup {
        Lookup::Valid(invitation) => invitation,
        Lookup::Expired(_) => {
            return message_page(
                StatusCode::GONE,
                "This survey link has expired. Thank you for your time.",
                "Ce lien de questionnaire a expiré. Merci pour votre temps.",
            )
        }
        Lookup::Unknown => return invalid_link_page(),
    };
    if invitation.status == InvitationStatus::OptedOut {
        return message_page(
            StatusCode::GONE,
            "You asked not to receive our surveys, so this one is closed.",
            "Vous avez demandé à ne plus recevoir nos questionnaires : celui-ci est donc fermé.",
        );
    }
    // The score the buyer clicked in the email. Read by hand rather than with a typed
    // extractor: a mangled query (a duplicated or garbled parameter) must still open the
    // survey, just without a preselected score.
    let score = req
        .query_string()
        .split('&')
        .find_map(|pair| pair.strip_prefix("score="))
        .and_then(|s| s.parse::<i64>().ok())
        .and_then(|s| NpsScore::parse(s).ok())
        .map(|s| s.to_string())
        .unwrap_or_default();
    let strings = invitation.locale.strings();
    // The token was checked by `resolve` to be URL-safe base64, the score is digits, and
    // every other value is escaped: nothing here can break out of its attribute.
    let body = format!(
        r#"<main class="debrief-page">
  <div id="debrief-survey" data-token="{token}" data-score="{score}" data-locale="{locale}">
    <p class="debrief-loading">{loading}</p>
  </div>
  <noscript>{noscript}</noscript>
</main>
<script type="module" src="/widget/boot.js"></script>"#,
        token = escape(&token),
        locale = invitation.locale.code(),
        loading = escape(strings.loading),
        noscript = escape(match invitation.locale {
            Locale::Fr => "Ce questionnaire nécessite JavaScript.",
            Locale::En => "This survey needs JavaScript.",
        }),
    );
    html_page(
        StatusCode::OK,
        invitation.locale,
        &escape(&settings.company_name),
        &body,
    )
}
