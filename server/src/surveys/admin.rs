//! The program's surveys, for staff: read any version, and store an edit as a new version
//! (`program_owner` and `admin`; analysts read). A version is never changed once stored:
//! the answers given against it keep meaning what they meant.

use super::definitions::{Definitions, StoreError, StoredSurvey};
use super::surveyjs;
use crate::app::clock::Clock;
use crate::auth::{Permission, Staff};
use crate::platform::db::Db;
use crate::programs::SurveyKey;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::{if_match, parse_json, read_body};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use debrief_common::survey::{validate_definition, Definition};
use debrief_common::{ErrorBody, FieldError};

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

/// `?format=surveyjs` reads and writes SurveyJS JSON instead of this format;
/// `accept_unmapped=true` stores an import whose unmapped parts were reported and accepted.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct FormatQuery {
    /// `debrief` (the default) or `surveyjs`.
    pub format: Option<String>,
    /// With `format=surveyjs` on PUT: store even though some parts could not be mapped.
    pub accept_unmapped: Option<bool>,
}

impl FormatQuery {
    fn surveyjs(&self) -> ApiResult<bool> {
        match self.format.as_deref() {
            None | Some("debrief") => Ok(false),
            Some("surveyjs") => Ok(true),
            Some(_) => Err(ApiError::field("format", "must be debrief or surveyjs")),
        }
    }
}

/// The query, read by hand: a malformed one is a 422 naming `format`, not a bare 400.
fn format_query(req: &HttpRequest) -> ApiResult<FormatQuery> {
    serde_urlencoded::from_str(req.query_string())
        .map_err(|e| ApiError::field("format", e.to_string()))
}

fn known_key(key: &str) -> ApiResult<SurveyKey> {
    key.parse::<SurveyKey>()
        .map_err(|_| ApiError::NotFound("no survey has this key: win_loss or declined_request"))
}

fn found(stored: Option<StoredSurvey>, surveyjs: bool) -> ApiResult<HttpResponse> {
    let stored = stored.ok_or(ApiError::NotFound("no such survey version"))?;
    let tag = header::ETag(header::EntityTag::new_strong(stored.version.to_string()));
    if surveyjs {
        let definition: Definition = serde_json::from_value(stored.definition)
            .map_err(|e| ApiError::Unexpected(e.into()))?;
        return Ok(HttpResponse::Ok()
            .insert_header(tag)
            .json(surveyjs::export(&definition)));
    }
    Ok(HttpResponse::Ok().insert_header(tag).json(stored))
}

#[utoipa::path(get, path = "/api/v1/program/surveys/{key}", tag = "program", params(("key" = String, Path, description = "`win_loss` or `declined_request`"), FormatQuery), responses((status = 200, description = "The newest version, with its ETag, provenance and how many responses answer it; with `format=surveyjs`, its definition as SurveyJS JSON", content_type = "application/json"), (status = 404, body = ErrorBody), (status = 401, description = "No valid API key", body = ErrorBody), (status = 403, description = "The key's role may not", body = ErrorBody)), security(("api_key" = [])))]
async fn get_survey(
    staff: Staff,
    req: HttpRequest,
    key: web::Path<String>,
    db: web::Data<Db>,
    definitions: web::Data<Definitions>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::ReadProgram)?;
    let surveyjs = format_query(&req)?.surveyjs()?;
    let key = known_key(&key)?;
    found(definitions.stored(&db, key.as_str(), None).await?, surveyjs)
}

#[utoipa::path(get, path = "/api/v1/program/surveys/{key}/versions/{version}", tag = "program", params(("key" = String, Path), ("version" = i64, Path), FormatQuery), responses((status = 200, description = "That version, as its answers were given against it; with `format=surveyjs`, as SurveyJS JSON", content_type = "application/json"), (status = 404, body = ErrorBody), (status = 401, description = "No valid API key", body = ErrorBody), (status = 403, description = "The key's role may not", body = ErrorBody)), security(("api_key" = [])))]
async fn get_version(
    staff: Staff,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    db: web::Data<Db>,
    definitions: web::Data<Definitions>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::ReadProgram)?;
    let surveyjs = format_query(&req)?.surveyjs()?;
    let (key, version) = path.into_inner();
    let key = known_key(&key)?;
    let version = version
        .parse::<i64>()
        .map_err(|_| ApiError::field("version", "must be a whole number"))?;
    found(
        definitions.stored(&db, key.as_str(), Some(version)).await?,
        surveyjs,
    )
}

#[utoipa::path(put, path = "/api/v1/program/surveys/{key}", tag = "program", params(("key" = String, Path), ("If-Match" = Option<String>, Header, description = "The ETag read; a newer version makes this a 409"), FormatQuery), request_body(content = String, content_type = "application/json", description = "A survey definition (format 1): locales, pages, questions, logic; with `format=surveyjs`, SurveyJS JSON (pages, rating, radiogroup, checkbox, comment, text, boolean and matrix elements, simple visibleIf, localized strings)"), responses((status = 200, description = "Stored as the next version; buyers who have not started get it", content_type = "application/json"), (status = 422, description = "Each fault with its JSON path (`pages[1].questions[0].title.fr`); for a SurveyJS import, each part that could not be mapped, by its SurveyJS path, unless `accept_unmapped=true`", body = ErrorBody), (status = 409, description = "The survey changed meanwhile", body = ErrorBody), (status = 413, body = ErrorBody), (status = 404, body = ErrorBody), (status = 401, description = "No valid API key", body = ErrorBody), (status = 403, description = "The key's role may not", body = ErrorBody)), security(("api_key" = [])))]
async fn put_survey(
    staff: Staff,
    req: HttpRequest,
    key: web::Path<String>,
    mut payload: web::Payload,
    db: web::Data<Db>,
    definitions: web::Data<Definitions>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::ManageProgram)?;
    let key = known_key(&key)?;
    let query = format_query(&req)?;
    let surveyjs = query.surveyjs()?;
    let expected = if_match(&req)?;
    let body = read_body(&mut payload, DEFINITION_LIMIT).await?;
    let definition: Definition = if surveyjs {
        let imported = surveyjs::import(&parse_json::<serde_json::Value>(&body)?);
        if !imported.unmapped.is_empty() && query.accept_unmapped != Some(true) {
            // Each part that would be lost, by its path in the SurveyJS JSON: nothing is
            // dropped without the owner saying so (`accept_unmapped=true`).
            return Err(ApiError::Validation(
                imported
                    .unmapped
                    .into_iter()
                    .map(|r| FieldError::new(r.path, format!("not mapped: {}", r.message)))
                    .collect(),
            ));
        }
        imported.definition
    } else {
        parse_json(&body)?
    };
    validate_definition(&definition).map_err(ApiError::Validation)?;
    let now = clock.now();
    match definitions
        .store(&db, key.as_str(), &definition, expected, &staff.name, now)
        .await
    {
        Ok(version) => found(
            definitions.stored(&db, key.as_str(), Some(version)).await?,
            false,
        ),
        Err(e @ StoreError::Stale { .. }) => Err(ApiError::Conflict {
            code: "survey_changed",
            message: format!("{e}; read it again and re-apply your change"),
        }),
        Err(StoreError::Database(e)) => Err(ApiError::Unexpected(e)),
    }
}
