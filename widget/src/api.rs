//! The widget's calls to the server. One request function maps every HTTP outcome to one
//! typed error, so components never look at status codes.

use debrief_common::{AnswerRequest, ErrorBody, FieldError, SurveyView};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// Unknown or expired link.
    InvalidLink,
    AlreadyAnswered,
    Refused(Vec<FieldError>),
    /// No answer, or one we could not read: worth retrying.
    Network,
}

async fn request(method: &str, url: &str, body: Option<String>) -> Result<(u16, String), ApiError> {
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(body) = body {
        init.set_body(&body.into());
    }
    let request = Request::new_with_str_and_init(url, &init).map_err(|_| ApiError::Network)?;
    if method == "POST" {
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

// JSON through the browser's own parser and serde-wasm-bindgen: compiling serde_json into
// the widget would cost the buyer's download more than it saves.
fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ()> {
    let value = js_sys::JSON::parse(text).map_err(drop)?;
    serde_wasm_bindgen::from_value(value).map_err(drop)
}

fn to_json<T: serde::Serialize>(value: &T) -> Option<String> {
    let value = serde_wasm_bindgen::to_value(value).ok()?;
    js_sys::JSON::stringify(&value).ok()?.as_string()
}

fn classify(status: u16, body: &str) -> ApiError {
    match status {
        404 | 410 => ApiError::InvalidLink,
        409 => ApiError::AlreadyAnswered,
        422 => ApiError::Refused(
            from_json::<ErrorBody>(body)
                .map(|b| b.fields)
                .unwrap_or_default(),
        ),
        _ => ApiError::Network,
    }
}

/// Calls `base + path` and returns the body when the status is `expected`; any other
/// answer becomes its typed error.
async fn call(
    method: &str,
    base: &str,
    path: &str,
    body: Option<String>,
    expected: u16,
) -> Result<String, ApiError> {
    let url = format!("{}{path}", base.trim_end_matches('/'));
    let (status, text) = request(method, &url, body).await?;
    if status == expected {
        Ok(text)
    } else {
        Err(classify(status, &text))
    }
}

pub async fn load(base: &str, token: &str) -> Result<SurveyView, ApiError> {
    let body = call("GET", base, &format!("/api/v1/surveys/{token}"), None, 200).await?;
    from_json(&body).map_err(|_| ApiError::Network)
}

pub async fn report_start(base: &str, token: &str) -> Result<(), ApiError> {
    let path = format!("/api/v1/surveys/{token}/start");
    call("POST", base, &path, Some(String::new()), 204)
        .await
        .map(drop)
}

pub async fn submit(base: &str, token: &str, answer: &AnswerRequest) -> Result<(), ApiError> {
    let body = to_json(answer).ok_or(ApiError::Network)?;
    let path = format!("/api/v1/responses/{token}");
    call("POST", base, &path, Some(body), 201).await.map(drop)
}
