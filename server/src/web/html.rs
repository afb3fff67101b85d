//! The HTML shell of every page a buyer sees: one place for the Content-Security-Policy,
//! the no-store and no-referrer headers (links carry buyer tokens), and escaping.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use debrief_common::Locale;

pub fn invalid_link_page() -> HttpResponse {
    message_page(
        StatusCode::NOT_FOUND,
        "This link is not valid. Please check that the whole link was copied.",
        "Ce lien n’est pas valide. Vérifiez que le lien a été copié en entier.",
    )
}

pub fn server_error_page() -> HttpResponse {
    message_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong on our side. Please try again in a few minutes.",
        "Une erreur est survenue de notre côté. Veuillez réessayer dans quelques minutes.",
    )
}

/// A page with one message, in both languages: a dead link does not tell us the buyer's.
pub fn message_page(status: StatusCode, english: &str, french: &str) -> HttpResponse {
    let body = format!(
        r#"<main class="debrief-page"><p role="alert" lang="en">{}</p><p lang="fr">{}</p></main>"#,
        escape(english),
        escape(french)
    );
    html_page(status, Locale::En, "Debrief", &body)
}

pub fn html_page(status: StatusCode, locale: Locale, title: &str, body: &str) -> HttpResponse {
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
