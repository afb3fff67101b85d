//! The built widget under `/widget`. Its script and wasm carry a hash of their content in
//! their names, so a browser keeps them for a year without asking again; only `embed.js`
//! (the name a portal writes in its page) and the style are revalidated.
//!
//! Each file is served as `scripts/build-widget.sh` stored it beside the original,
//! compressed once at the highest settings (`.br` by brotli, `.gz` by zopfli), in the best
//! encoding the browser accepts. Compressing per download, as the `Compress` middleware
//! does for everything else, would spend CPU at every buyer's first visit and, at the quick
//! levels a server can afford per request (gzip 1, brotli 3), send about a fifth more.

use actix_files::NamedFile;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{
    self, AcceptEncoding, ContentEncoding, Encoding, HeaderValue, Preference, Quality,
};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest};
use std::path::PathBuf;

/// Where the built widget is (`widget/dist` by default).
#[derive(Clone)]
pub struct WidgetDir(pub PathBuf);

/// The encodings stored beside each file, best first, with the suffix of their file.
const STORED: [(ContentEncoding, &str); 2] = [
    (ContentEncoding::Brotli, "br"),
    (ContentEncoding::Gzip, "gz"),
];

/// A name the build writes: letters, digits, `.`, `-` and `_`, not hidden, and not one of
/// the compressed copies themselves (they are reached through `Accept-Encoding`).
fn is_servable(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        && !STORED
            .iter()
            .any(|(_, suffix)| name.rsplit('.').next() == Some(*suffix))
}

/// How much the browser wants `encoding`: its quality in `Accept-Encoding`, or that of `*`;
/// `None` when it is not listed, or listed with `q=0`.
fn wanted(accept: &AcceptEncoding, encoding: &Encoding) -> Option<Quality> {
    let mut any = None;
    for item in &accept.0 {
        match &item.item {
            Preference::Specific(e) if e == encoding => {
                return Some(item.quality).filter(|q| *q > Quality::ZERO);
            }
            Preference::Any => any = Some(item.quality),
            Preference::Specific(_) => {}
        }
    }
    any.filter(|q| *q > Quality::ZERO)
}

/// `GET /widget/{file}`: the file in the best stored encoding the browser accepts.
#[utoipa::path(get, path = "/widget/{file}", tag = "widget", params(("file" = String, Path, description = "`embed.js`, `debrief.css`, or a content-hashed script or wasm that `embed.js` names")), responses((status = 200, description = "The file, brotli- or gzip-encoded as `Accept-Encoding` allows (`Vary: Accept-Encoding`); content-hashed names are cacheable for a year", content((String = "text/javascript"), (String = "application/wasm"), (String = "text/css"))), (status = 404, description = "No such file")))]
pub async fn widget_file(
    req: HttpRequest,
    file: web::Path<String>,
    dir: web::Data<WidgetDir>,
) -> actix_web::Result<NamedFile> {
    let name = file.into_inner();
    if !is_servable(&name) {
        return Err(actix_web::error::ErrorNotFound("no such file"));
    }
    let original = dir.0.join(&name);
    let extension = name.rsplit('.').next().unwrap_or_default();
    let mime = actix_files::file_extension_to_mime(extension);
    // The browser's order (highest quality first; brotli before gzip when equal, it is the
    // smaller), then the plain file, which any client can read: all a request without the
    // header gets. A range request gets the plain file too: actix-files would cut the
    // compressed copy and label the slice as not encoded.
    let mut copies: Vec<(Quality, ContentEncoding, PathBuf)> = Vec::new();
    if let Some(accept) = req
        .get_header::<AcceptEncoding>()
        .filter(|_| !req.headers().contains_key(header::RANGE))
    {
        for (encoding, suffix) in STORED {
            if let Some(quality) = wanted(&accept, &Encoding::Known(encoding)) {
                let copy = original.with_file_name(format!("{name}.{suffix}"));
                copies.push((quality, encoding, copy));
            }
        }
    }
    copies.sort_by_key(|c| std::cmp::Reverse(c.0));
    let plain = (ContentEncoding::Identity, original);
    for (encoding, path) in copies.into_iter().map(|(_, e, p)| (e, p)).chain([plain]) {
        if let Ok(file) = NamedFile::open_async(&path).await {
            // Identity too is said, so that `Compress` leaves the file as it is.
            return Ok(file
                .set_content_type(mime)
                .set_content_encoding(encoding)
                .disable_content_disposition()
                .prefer_utf8(true));
        }
    }
    Err(actix_web::error::ErrorNotFound("no such file"))
}

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
        // Caches keep one copy per encoding.
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
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
    use super::{is_hashed, is_servable};

    #[test]
    fn only_built_names_are_served() {
        assert!(is_servable("debrief_widget_bg.a1b2c3d4e5f60718.wasm"));
        assert!(is_servable("embed.js"));
        for name in [
            "",
            ".env",
            "..",
            "embed.js.br",
            "embed.js.gz",
            "a/b.js",
            "a\\b.js",
            "%2e%2e",
        ] {
            assert!(!is_servable(name), "{name}");
        }
        assert!(!is_servable(&"a".repeat(200)));
    }

    #[test]
    fn only_content_hashed_names_are_cached_for_good() {
        assert!(is_hashed("/widget/debrief_widget.0123456789abcdef.js"));
        assert!(is_hashed("/widget/debrief_widget_bg.a1b2c3d4e5f60718.wasm"));
        assert!(!is_hashed("/widget/embed.js"));
        assert!(!is_hashed("/widget/debrief.css"));
    }
}
