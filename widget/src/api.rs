//! The widget's calls to the server. One request function maps every HTTP outcome to one
//! typed error, so components never look at status codes.

use crate::wire;
use debrief_common::survey::{AnswerItem, SurveyDocument};
use debrief_common::FieldError;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// Unknown link.
    InvalidLink,
    /// Expired, or the buyer opted out.
    Closed,
    AlreadyAnswered,
    Refused(Vec<FieldError>),
    /// No answer, or one we could not read: worth retrying.
    Network,
}

async fn request(method: &str, url: &str, body: Option<String>) -> Result<(u16, String), ApiError> {
    let init = RequestInit::new();
    init.set_method(method);
    let has_body = body.is_some();
    if let Some(body) = body {
        init.set_body(&body.into());
    }
    let request = Request::new_with_str_and_init(url, &init).map_err(|_| ApiError::Network)?;
    if has_body {
        request
            .headers()
            .set("Content-Type", "application/json")
            .map_err(|_| ApiError::Network)?;
    }
    let window = web_sys::window().ok_or(ApiError::Network)?;
    let response: Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(|_| ApiError::Network)?
        .dyn_into()
        .map_err(|_| ApiError::Network)?;
    let text = JsFuture::from(response.text().map_err(|_| ApiError::Network)?)
        .await
        .map_err(|_| ApiError::Network)?
        .as_string()
        .unwrap_or_default();
    Ok((response.status(), text))
}

fn parse(text: &str) -> Option<wasm_bindgen::JsValue> {
    js_sys::JSON::parse(text).ok()
}

fn classify(status: u16, body: &str) -> ApiError {
    match status {
        404 => ApiError::InvalidLink,
        410 => ApiError::Closed,
        409 => ApiError::AlreadyAnswered,
        422 => ApiError::Refused(
            parse(body)
                .and_then(|v| wire::error_fields(&v))
                .unwrap_or_default(),
        ),
        _ => ApiError::Network,
    }
}

fn url(base: &str, token: &str, tail: &str) -> String {
    let mut url = String::from(base.trim_end_matches('/'));
    url.push_str("/api/v1/surveys/");
    // Tokens are URL-safe by construction; anything else cannot be a token.
    url.extend(
        token
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_'),
    );
    url.push_str(tail);
    url
}

/// Calls the survey API and returns the body when the status is `expected`; any other
/// answer becomes its typed error.
async fn call(
    method: &str,
    url: &str,
    body: Option<String>,
    expected: u16,
) -> Result<String, ApiError> {
    let (status, text) = request(method, url, body).await?;
    if status == expected {
        Ok(text)
    } else {
        Err(classify(status, &text))
    }
}

/// The survey version the buyer answers, the deal behind it and what they saved so far.
pub async fn load(base: &str, token: &str) -> Result<SurveyDocument, ApiError> {
    let body = call("GET", &url(base, token, "/definition"), None, 200).await?;
    parse(&body)
        .and_then(|v| wire::document(&v))
        .ok_or(ApiError::Network)
}

/// Saves answers as the buyer goes, each replacing what was saved for its question; or,
/// when `last`, sends the last answers and records the response as complete.
pub async fn send(
    base: &str,
    token: &str,
    answers: Vec<AnswerItem>,
    last: bool,
) -> Result<(), ApiError> {
    let body = wire::answers_json(&answers);
    let (method, tail, expected) = if last {
        ("POST", "/complete", 201)
    } else {
        ("PUT", "/answers", 200)
    };
    call(method, &url(base, token, tail), Some(body), expected)
        .await
        .map(drop)
}
