//! Request extractors shared by every JSON endpoint: a size-capped body read and a JSON
//! parse whose errors name the offending field.

use crate::web::error::ApiError;
use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

/// Largest body any endpoint accepts.
pub const BODY_LIMIT: usize = 64 * 1024;

/// A JSON body of type `T`, at most `LIMIT` bytes ([`BODY_LIMIT`] unless an endpoint
/// takes bulk data). Type errors become a 422 naming the field path (`contacts[1].email`),
/// not a bare serde message.
pub struct Json<T, const LIMIT: usize = BODY_LIMIT>(pub T);

impl<T: DeserializeOwned + 'static, const LIMIT: usize> FromRequest for Json<T, LIMIT> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || mime.ends_with("+json")
            })
            .unwrap_or(false);
        let declared_len = req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if declared_len.is_some_and(|n| n > LIMIT) {
                return Err(ApiError::PayloadTooLarge { limit: LIMIT });
            }
            let body = read_body(&mut payload, LIMIT).await?;
            if !is_json {
                return Err(ApiError::UnsupportedMediaType);
            }
            parse_json(&body).map(Json)
        })
    }
}

/// Reads the whole body, refusing more than `limit` bytes. Reading (rather than ignoring)
/// the body also keeps the connection reusable for the client's next request.
pub async fn read_body<S>(payload: &mut S, limit: usize) -> Result<Vec<u8>, ApiError>
where
    S: futures_util::Stream<Item = Result<actix_web::web::Bytes, actix_web::error::PayloadError>>
        + Unpin,
{
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::MalformedJson(e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::MalformedJson(inner.to_string())
        } else {
            let field = if path == "." { "body".to_owned() } else { path };
            ApiError::field(&field, strip_position(&inner.to_string()))
        }
    })?;
    // Trailing garbage after the value is as malformed as a missing brace.
    de.end()
        .map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    Ok(value)
}

/// serde's messages end in "at line 1 column 52", which means nothing to an API user once
/// the field is named.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// The version an `If-Match` header names (`"3"`, `W/"3"` or `3`), if any: how a staff
/// client says which version it edited, so that a newer one makes its change a 409.
pub fn if_match(req: &actix_web::HttpRequest) -> Result<Option<i64>, ApiError> {
    let Some(value) = req.headers().get(actix_web::http::header::IF_MATCH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse::<i64>().ok())
        .map(Some)
        .ok_or_else(|| ApiError::field("If-Match", "must be the ETag read, e.g. \"3\""))
}

/// One value of the query string, read by hand rather than with a typed extractor: a
/// buyer's mangled link (a duplicated or garbled parameter) must still open its page.
pub fn query_value<'r>(req: &'r actix_web::HttpRequest, name: &str) -> Option<&'r str> {
    req.query_string()
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

/// The score a buyer clicked in the email (`?score=N`), when it is one.
pub fn clicked_score(req: &actix_web::HttpRequest) -> Option<debrief_common::NpsScore> {
    query_value(req, "score")
        .and_then(|s| s.parse::<i64>().ok())
        .and_then(|s| debrief_common::NpsScore::parse(s).ok())
}

/// A typed query string: an unknown or malformed parameter is a 422 naming it.
pub fn query<T: DeserializeOwned>(req: &actix_web::HttpRequest) -> Result<T, ApiError> {
    serde_urlencoded::from_str(req.query_string()).map_err(|e| {
        let message = e.to_string();
        // serde names the parameter in backticks: "unknown field `sort`, expected …".
        let field = message
            .split('`')
            .nth(1)
            .filter(|f| !f.is_empty() && f.len() <= 40)
            .unwrap_or("query");
        ApiError::field(field, message.clone())
    })
}
