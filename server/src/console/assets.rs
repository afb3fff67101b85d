//! The console's stylesheet and script, compiled into the binary and served under
//! `/console/assets/` with an ETag of their content: browsers revalidate and get a 304
//! until a new build changes them.

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
use std::sync::LazyLock;

const CSS: &str = include_str!("static/console.css");
const JS: &str = include_str!("static/console.js");

/// `(name, content type, content, ETag)`.
static FILES: LazyLock<[(&str, &str, &str, String); 2]> = LazyLock::new(|| {
    let etag = |s: &str| format!("\"{}\"", &crate::auth::hash_secret(s)[..16]);
    [
        ("console.css", "text/css; charset=utf-8", CSS, etag(CSS)),
        ("console.js", "text/javascript; charset=utf-8", JS, etag(JS)),
    ]
});

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(asset);
}

#[get("/console/assets/{name}")]
async fn asset(req: HttpRequest, name: web::Path<String>) -> HttpResponse {
    let Some((_, kind, content, etag)) = FILES.iter().find(|(n, ..)| *n == name.as_str()) else {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("No such file.");
    };
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut response = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, etag.clone()))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if fresh {
        response.finish()
    } else {
        response.content_type(*kind).body(*content)
    }
}
