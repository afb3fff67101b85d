//! The program's surveys, for staff: read any version, and store an edit as a new version
//! (`program_owner` and `admin`; analysts read). A version is never changed once stored:
//! the answers given against it keep meaning what they meant.

use super::definitions::{Definitions, StoreError, StoredSurvey};
use crate::app::clock::Clock;
use crate::auth::{Permission, Staff};
use crate::platform::db::Db;
use crate::programs::SurveyKey;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::{if_match, Json};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use debrief_common::survey::{validate_definition, Definition};
use debrief_common::ErrorBody;

/// A survey definition is larger than a decision: 20 pages of translated texts.
const DEFINITION_LIMIT: usize = 512 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/v1/program/surveys/{key}")
            .route(web::get().to(get_survey))
            .route(web::put().to(put_survey)),
    )
    .service(
        web::resource("/api/v1/program/surveys/{key}/versions/{version}")
            .route(web::get().to(get_version)),
    );
}

fn known_key(key: &str) -> ApiResult<SurveyKey> {
    key.parse::<SurveyKey>()
        .map_err(|_| ApiError::NotFound("no survey has this key: win_loss or declined_request"))
}

fn found(stored: Option<StoredSurvey>) -> ApiResult<HttpResponse> {
    let stored = stored.ok_or(ApiError::NotFound("no such survey version"))?;
    Ok(HttpResponse::Ok()
        .insert_header(header::ETag(header::EntityTag::new_strong(
            stored.version.to_string(),
        )))
        .json(stored))
}

#[utoipa::path(get, path = "/api/v1/program/surveys/{key}", tag = "program", params(("key" = String, Path, description = "`win_loss` or `declined_request`")), responses((status = 200, description = "The newest version, with its ETag, provenance and how many responses answer it", content_type = "application/json"), (status = 404, body = ErrorBody), (status = 401, description = "No valid API key", body = ErrorBody), (status = 403, description = "The key's role may not", body = ErrorBody)), security(("api_key" = [])))]
async fn get_survey(
    staff: Staff,
    key: web::Path<String>,
    db: web::Data<Db>,
    definitions: web::Data<Definitions>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::ReadProgram)?;
    let key = known_key(&key)?;
    found(definitions.stored(&db, key.as_str(), None).await?)
}

#[utoipa::path(get, path = "/api/v1/program/surveys/{key}/versions/{version}", tag = "program", params(("key" = String, Path), ("version" = i64, Path)), responses((status = 200, description = "That version, as its answers were given against it", content_type = "application/json"), (status = 404, body = ErrorBody), (status = 401, description = "No valid API key", body = ErrorBody), (status = 403, description = "The key's role may not", body = ErrorBody)), security(("api_key" = [])))]
async fn get_version(
    staff: Staff,
    path: web::Path<(String, String)>,
    db: web::Data<Db>,
    definitions: web::Data<Definitions>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::ReadProgram)?;
    let (key, version) = path.into_inner();
    let key = known_key(&key)?;
    let version = version
        .parse::<i64>()
        .map_err(|_| ApiError::field("version", "must be a whole number"))?;
    found(definitions.stored(&db, key.as_str(), Some(version)).await?)
}

#[utoipa::path(put, path = "/api/v1/program/surveys/{key}", tag = "program", params(("key" = String, Path), ("If-Match" = Option<String>, Header, description = "The ETag read; a newer version makes this a 409")), request_body(content = String, content_type = "application/json", description = "A survey definition (format 1): locales, pages, questions, logic"), responses((status = 200, description = "Stored as the next version; buyers who have not started get it", content_type = "application/json"), (status = 422, description = "Each fault with its JSON path (`pages[1].questions[0].title.fr`)", body = ErrorBody), (status = 409, description = "The survey changed meanwhile", body = ErrorBody), (status = 413, body = ErrorBody), (status = 404, body = ErrorBody), (status = 401, description = "No valid API key", body = ErrorBody), (status = 403, description = "The key's role may not", body = ErrorBody)), security(("api_key" = [])))]
async fn put_survey(
    staff: Staff,
    req: HttpRequest,
    key: web::Path<String>,
    body: Json<Definition, DEFINITION_LIMIT>,
    db: web::Data<Db>,
    definitions: web::Data<Definitions>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::ManageProgram)?;
    let key = known_key(&key)?;
    let expected = if_match(&req)?;
    validate_definition(&body.0).map_err(ApiError::Validation)?;
    let now = clock.now();
    match definitions
        .store(&db, key.as_str(), &body.0, expected, &staff.name, now)
        .await
    {
        Ok(version) => found(definitions.stored(&db, key.as_str(), Some(version)).await?),
        Err(e @ StoreError::Stale { .. }) => Err(ApiError::Conflict {
            code: "survey_changed",
            message: format!("{e}; read it again and re-apply your change"),
        }),
        Err(StoreError::Database(e)) => Err(ApiError::Unexpected(e)),
    }
}
