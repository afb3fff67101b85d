//! Headers for the built widget under `/widget`. Its script and wasm carry a hash of their
//! content in their names, so a browser keeps them for a year without asking again; only
//! `embed.js` (the name a portal writes in its page) and the style are revalidated.
//! The `Compress` middleware serves them with brotli or gzip, as the browser accepts.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;

/// `debrief_widget.0123456789abcdef.js`: a name with a 16-hex-digit content hash.
fn is_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    name.split('.')
        .any(|part| part.len() == 16 && part.bytes().all(|b| b.is_ascii_hexdigit()))
}

pub async fn widget_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let hashed = is_hashed(req.path());
    let mut response = next.call(req).await?;
    if response.status().is_success() || response.status().as_u16() == 304 {
        let headers = response.headers_mut();
        // Module scripts and wasm are fetched with CORS: a portal embedding the widget
        // loads them from here. They are public and carry no buyer data.
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(if hashed {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            }),
        );
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::is_hashed;

    #[test]
    fn only_content_hashed_names_are_cached_for_good() {
        assert!(is_hashed("/widget/debrief_widget.0123456789abcdef.js"));
        assert!(is_hashed("/widget/debrief_widget_bg.a1b2c3d4e5f60718.wasm"));
        assert!(!is_hashed("/widget/embed.js"));
        assert!(!is_hashed("/widget/debrief.css"));
    }
}
