//! `GET /s/{token}`: the page a buyer lands on from the email. A small server-rendered
//! shell that loads the widget; unknown and expired links get a plain explanation.

use super::tokens::{resolve, Lookup};
use crate::config::Settings;
use crate::db::Db;
use actix_web::http::StatusCode;
use actix_web::{get, web, HttpRequest, HttpResponse};
use debrief_common::{Locale, NpsScore};

#[get("/s/{token}")]
pub async fn survey_page(
    token: web::Path<String>,
    req: HttpRequest,
    db: web::Data<Db>,
    settings: web::Data<Settings>,
) -> HttpResponse {
    let lookup = match resolve(&db, &token, chrono::Utc::now()).await {
        Ok(lookup) => lookup,
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
    if invitation.status == super::InvitationStatus::OptedOut {
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

pub(crate) fn invalid_link_page() -> HttpResponse {
    message_page(
        StatusCode::NOT_FOUND,
        "This link is not valid. Please check that the whole link was copied.",
        "Ce lien n’est pas valide. Vérifiez que le lien a été copié en entier.",
    )
}

pub(crate) fn server_error_page() -> HttpResponse {
    message_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong on our side. Please try again in a few minutes.",
        "Une erreur est survenue de notre côté. Veuillez réessayer dans quelques minutes.",
    )
}

/// A page with one message, in both languages: a dead link does not tell us the buyer's.
pub(crate) fn message_page(status: StatusCode, english: &str, french: &str) -> HttpResponse {
    let body = format!(
        r#"<main class="debrief-page"><p role="alert" lang="en">{}</p><p lang="fr">{}</p></main>"#,
        escape(english),
        escape(french)
    );
    html_page(status, Locale::En, "Debrief", &body)
}

pub(crate) fn html_page(
    status: StatusCode,
    locale: Locale,
    title: &str,
    body: &str,
) -> HttpResponse {
    let html = format!(
        r#"<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
<link rel="stylesheet" href="/widget/debrief.css">
</head>
<body>
{body}
</body>
</html>"#,
        lang = locale.code(),
    );
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        // The URL holds the buyer's token: keep it out of caches and Referer headers.
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header((
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data:; base-uri 'none'; form-action 'self'",
        ))
        .body(html)
}

/// Minimal HTML escaping for text and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }
}
