//! One error type for the JSON API. Every arm maps to a status code and a JSON body that
//! names the fields at fault; unexpected errors are logged in full and answered opaquely.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use debrief_common::{ErrorBody, FieldError};

pub type ApiResult<T, E = ApiError> = Result<T, E>;

#[derive(thiserror::Error)]
pub enum ApiError {
    #[error("the request has invalid fields")]
    Validation(Vec<FieldError>),
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("send the body as JSON with Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("a valid API key is required in the Authorization header (Bearer <key>)")]
    Unauthorized,
    #[error("this API key's role ({role}) may not {action}")]
    Forbidden { role: String, action: &'static str },
    #[error("{0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Gone(&'static str),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// Too much of a costly thing under way at once: try again in a while.
    #[error("{0}")]
    TooBusy(&'static str),
    #[error("an unexpected error occurred")]
    Unexpected(#[from] anyhow::Error),
}

// Hand-written: field messages and JSON parse errors echo the caller's input (email
// addresses among it), and actix logs error responses with `{:?}` at debug level.
impl std::fmt::Debug for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Validation(fields) => f
                .debug_tuple("Validation")
                .field(&fields.iter().map(|e| e.field.as_str()).collect::<Vec<_>>())
                .finish(),
            ApiError::Unexpected(e) => f.debug_tuple("Unexpected").field(e).finish(),
            other => f.write_str(other.code()),
        }
    }
}

impl ApiError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "validation_failed",
            ApiError::MalformedJson(_) => "malformed_json",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden { .. } => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::Gone(_) => "gone",
            ApiError::Conflict { code, .. } => code,
            ApiError::TooBusy(_) => "too_busy",
            ApiError::Unexpected(_) => "internal_error",
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::Unexpected(e.into())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) | ApiError::MalformedJson(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::TooBusy(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Unexpected(e) = self {
            tracing::error!(error = ?e, "request failed");
        }
        let fields = match self {
            ApiError::Validation(fields) => fields.clone(),
            _ => Vec::new(),
        };
        let mut response = HttpResponse::build(self.status_code());
        if matches!(self, ApiError::Unauthorized) {
            response.insert_header(("WWW-Authenticate", "Bearer"));
        }
        if matches!(self, ApiError::TooBusy(_)) {
            response.insert_header(("Retry-After", "30"));
        }
        response.json(ErrorBody {
            error: self.code().to_owned(),
            message: self.to_string(),
            fields,
        })
    }
}
