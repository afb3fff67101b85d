//! The HTML shell of every page a buyer sees: one place for the Content-Security-Policy,
//! the no-store and no-referrer headers (links carry buyer tokens), and escaping.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use debrief_common::Locale;

/// Who may frame a page: Debrief alone. The survey pages widen it to the origins allowed
/// to embed the widget (`surveys::embedding`), by replacing this directive.
pub const FRAME_ANCESTORS: &str = "frame-ancestors 'self'";

const CONTENT_SECURITY_POLICY: &str = concat!(
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; ",
    "img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
);

/// The shell of every page: `title` must be escaped already, `body` is markup.
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
        .insert_header(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
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
    use super::{escape, CONTENT_SECURITY_POLICY, FRAME_ANCESTORS};

    #[test]
    fn the_policy_carries_the_directive_survey_pages_widen() {
        assert!(CONTENT_SECURITY_POLICY.ends_with(FRAME_ANCESTORS));
    }

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }
}
