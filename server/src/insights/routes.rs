//! The coded store's staff API: the taxonomy and its changes, the coding queue, coding,
//! the coded insights, the lexicons and how well they agree with analysts.

use super::coding::{self, Coding, Insight};
use super::queue::{self, Review, Uncoded};
use super::suggestions::{self, Agreement, Lexicon};
use super::taxonomy::{self, Change, Taxonomy, VersionedTaxonomy};
use crate::analytics::filter::{Filter, Params};
use crate::app::clock::Clock;
use crate::auth::{Permission, Staff};
use crate::platform::db::Db;
use crate::surveys::definitions::Definitions;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::{query, Json};
use actix_web::{web, HttpRequest, HttpResponse};
use debrief_common::{ErrorBody, Locale};
use serde::{Deserialize, Serialize};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/insights/taxonomy", web::get().to(get_taxonomy))
        .route(
            "/api/v1/insights/taxonomy/versions/{version}",
            web::get().to(get_taxonomy_version),
        )
        .route(
            "/api/v1/insights/taxonomy/changes",
            web::post().to(change_taxonomy),
        )
        .route("/api/v1/insights/queue", web::get().to(get_queue))
        .route("/api/v1/insights/reviews", web::post().to(post_review))
        .route("/api/v1/insights/agreement", web::get().to(get_agreement))
        .route(
            "/api/v1/insights/lexicons/{locale}",
            web::get().to(get_lexicon),
        )
        .route(
            "/api/v1/insights/lexicons/{locale}",
            web::put().to(put_lexicon),
        )
        .route("/api/v1/insights", web::get().to(list_insights))
        .route("/api/v1/insights", web::post().to(post_insight))
        .route("/api/v1/insights/{id}", web::delete().to(delete_insight));
}

#[utoipa::path(get, path = "/api/v1/insights/taxonomy", tag = "insights", responses((status = 200, body = VersionedTaxonomy, description = "The taxonomy in force (version 0: the built-in one)"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn get_taxonomy(staff: Staff, db: web::Data<Db>) -> ApiResult<HttpResponse> {
    staff.require(Permission::ReadInsights)?;
    let (version, taxonomy) = taxonomy::VERSIONS.current(&db).await?;
    Ok(HttpResponse::Ok().json(VersionedTaxonomy { version, taxonomy }))
}

#[utoipa::path(get, path = "/api/v1/insights/taxonomy/versions/{version}", tag = "insights", params(("version" = i64, Path)), responses((status = 200, body = VersionedTaxonomy), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn get_taxonomy_version(
    staff: Staff,
    version: web::Path<String>,
    db: web::Data<Db>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::ReadInsights)?;
    let version: i64 = version
        .parse()
        .ok()
        .filter(|v| *v >= 0)
        .ok_or_else(|| ApiError::field("version", "must be a version number"))?;
    let taxonomy = taxonomy::VERSIONS
        .at(&db, version)
        .await?
        .ok_or(ApiError::NotFound("taxonomy version"))?;
    Ok(HttpResponse::Ok().json(VersionedTaxonomy { version, taxonomy }))
}

/// Changes to make, in order, as one new version.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxonomyChanges {
    pub changes: Vec<Change>,
}

#[utoipa::path(post, path = "/api/v1/insights/taxonomy/changes", tag = "insights", request_body = TaxonomyChanges, responses((status = 201, body = VersionedTaxonomy, description = "Stored as the next version"), (status = 422, description = "A change that cannot be made, or a taxonomy out of shape (15 to 25 drivers, 4 to 10 per family), the field named", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn change_taxonomy(
    staff: Staff,
    body: Json<TaxonomyChanges>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::ManageTaxonomy)?;
    let (_, current) = taxonomy::VERSIONS.current(&db).await?;
    let next = current
        .with(&body.0.changes)
        .map_err(|(field, message)| ApiError::field(&field, message))?;
    let version = taxonomy::VERSIONS
        .store(&db, &next, &staff.name, clock.now())
        .await?;
    Ok(HttpResponse::Created().json(VersionedTaxonomy {
        version,
        taxonomy: next,
    }))
}

/// How many to list.
fn limit(value: Option<&str>, default: i64, max: i64) -> ApiResult<i64> {
    match value {
        None => Ok(default),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| ApiError::field("limit", format!("must be 1 to {max}"))),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// How many texts, 1 to 200 (default 50).
    pub limit: Option<String>,
}

/// Texts to code, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Queue {
    pub texts: Vec<Uncoded>,
}

#[utoipa::path(get, path = "/api/v1/insights/queue", tag = "insights", params(QueueQuery), responses((status = 200, body = Queue, description = "Buyers' free text no analyst has coded or set aside, newest first, each with suggested drivers"), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn get_queue(
    staff: Staff,
    req: HttpRequest,
    db: web::Data<Db>,
    definitions: web::Data<Definitions>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::CodeInsights)?;
    let q: QueueQuery = query(&req)?;
    let limit = limit(q.limit.as_deref(), 50, 200)?;
    // Texts enter the queue as the coder claims their responses.
    coding::catch_up(&db, &definitions, clock.now()).await?;
    let (_, taxonomy) = taxonomy::VERSIONS.current(&db).await?;
    let texts = queue::uncoded(&db, &taxonomy, limit).await?;
    Ok(HttpResponse::Ok().json(Queue { texts }))
}

#[utoipa::path(post, path = "/api/v1/insights", tag = "insights", request_body = Coding, responses((status = 201, body = Insight, description = "Coded, with the response's frozen deal"), (status = 422, description = "An unknown or retired driver, an influence out of -2..2, an excerpt not in the text, or another field, named", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn post_insight(
    staff: Staff,
    body: Json<Coding>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::CodeInsights)?;
    let (version, taxonomy) = taxonomy::VERSIONS.current(&db).await?;
    let insight =
        coding::code(&db, (version, &taxonomy), &body.0, &staff.name, clock.now()).await?;
    Ok(HttpResponse::Created().json(insight))
}

#[utoipa::path(delete, path = "/api/v1/insights/{id}", tag = "insights", params(("id" = String, Path)), responses((status = 204, description = "Removed"), (status = 404, body = ErrorBody), (status = 409, description = "A driver-matrix rating: coded as the buyer gave it", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn delete_insight(
    staff: Staff,
    id: web::Path<String>,
    db: web::Data<Db>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::CodeInsights)?;
    if coding::uncode(&db, &id).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::NotFound("insight"))
    }
}

#[utoipa::path(post, path = "/api/v1/insights/reviews", tag = "insights", request_body = Review, responses((status = 204, description = "The text leaves the queue"), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn post_review(
    staff: Staff,
    body: Json<Review>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::CodeInsights)?;
    queue::review(&db, &body.0, &staff.name, clock.now()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InsightQuery {
    /// A driver: its insights, and those of drivers merged into it.
    pub driver: Option<String>,
    /// won, lost, no_decision or declined.
    pub outcome: Option<String>,
    pub segment: Option<String>,
    /// The competitor the deal met.
    pub competitor: Option<String>,
    /// `matrix` or `analyst`.
    pub source: Option<String>,
    /// A tag.
    pub tag: Option<String>,
    /// Words the buyer's excerpt contains, whatever the case (1 to 200 characters): only
    /// insights with the buyer's words.
    pub text: Option<String>,
    /// The deal's region.
    pub region: Option<String>,
    /// The deal's product line.
    pub product_line: Option<String>,
    /// The first month of decisions (YYYY-MM), included.
    pub from: Option<String>,
    /// The last month (YYYY-MM), included.
    pub to: Option<String>,
    /// 1 to 500 (default 100).
    pub limit: Option<String>,
    /// The last id of the page before: the next page starts after it.
    pub after: Option<String>,
}

/// A page of insights, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InsightPage {
    pub insights: Vec<ListedInsight>,
    /// Pass as `after` for the next page; none on the last.
    pub next: Option<String>,
}

/// An insight, with the driver it counts under today.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ListedInsight {
    #[serde(flatten)]
    pub insight: Insight,
    /// The driver it counts under in the taxonomy in force (after merges).
    pub counts_as: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/insights", tag = "insights", params(InsightQuery), responses((status = 200, body = InsightPage, description = "Coded insights, newest first; an account manager's, of their accounts"), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn list_insights(
    staff: Staff,
    req: HttpRequest,
    db: web::Data<Db>,
    definitions: web::Data<Definitions>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::ReadInsights)?;
    let mut params = Params::of(&req)?;
    let deal = Filter::take(&mut params)?;
    let driver = params.take("driver");
    let source = params.take("source");
    let tag = params.take("tag");
    let text = params.take("text");
    let after = params.take("after");
    let limit = limit(params.take("limit").as_deref(), 100, 500)?;
    params.finish()?;
    if let Some(source) = &source {
        source
            .parse::<coding::InsightSource>()
            .map_err(|e| ApiError::field("source", e))?;
    }
    if text
        .as_ref()
        .is_some_and(|t| t.trim().is_empty() || t.chars().count() > 200)
    {
        return Err(ApiError::field("text", "must be 1 to 200 characters"));
    }
    let (_, taxonomy) = taxonomy::VERSIONS.current(&db).await?;
    let drivers = coding::counted_as(&taxonomy, driver.as_deref())?;
    coding::catch_up(&db, &definitions, clock.now()).await?;
    let filter = coding::ListFilter {
        deal,
        drivers,
        source,
        tag,
        text,
        worded: false,
        after,
        accounts: staff.accounts(),
    };
    let insights = coding::list(&db, &filter, limit).await?;
    let next = (insights.len() == usize::try_from(limit).unwrap_or(usize::MAX))
        .then(|| insights.last().map(|i| i.id.clone()))
        .flatten();
    let insights = insights
        .into_iter()
        .map(|insight| ListedInsight {
            counts_as: taxonomy.reporting(&insight.driver).map(|d| d.id.clone()),
            insight,
        })
        .collect();
    Ok(HttpResponse::Ok().json(InsightPage { insights, next }))
}

fn locale(value: &str) -> ApiResult<Locale> {
    Locale::parse(value).map_err(|_| ApiError::field("locale", "must be en or fr"))
}

#[utoipa::path(get, path = "/api/v1/insights/lexicons/{locale}", tag = "insights", params(("locale" = String, Path, description = "en or fr")), responses((status = 200, body = Lexicon, description = "The program's lexicon, else the built-in one"), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn get_lexicon(
    staff: Staff,
    path: web::Path<String>,
    db: web::Data<Db>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::CodeInsights)?;
    let locale = locale(&path)?;
    Ok(HttpResponse::Ok().json(suggestions::lexicon(&db, locale).await?))
}

#[utoipa::path(put, path = "/api/v1/insights/lexicons/{locale}", tag = "insights", params(("locale" = String, Path, description = "en or fr")), request_body = Lexicon, responses((status = 200, body = Lexicon, description = "Stored in place of the one before"), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn put_lexicon(
    staff: Staff,
    path: web::Path<String>,
    body: Json<Lexicon, { 1024 * 1024 }>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::ManageTaxonomy)?;
    let locale = locale(&path)?;
    let (_, taxonomy) = taxonomy::VERSIONS.current(&db).await?;
    suggestions::check(&body.0, &taxonomy)
        .map_err(|(field, message)| ApiError::field(&field, message))?;
    suggestions::store(&db, locale, &body.0, &staff.name, clock.now()).await?;
    Ok(HttpResponse::Ok().json(body.0))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AgreementQuery {
    /// How many of the texts coded most recently, 1 to 5,000 (default 1,000).
    pub limit: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/insights/agreement", tag = "insights", params(AgreementQuery), responses((status = 200, body = Agreement, description = "How the lexicons in force agree with what analysts coded"), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn get_agreement(
    staff: Staff,
    req: HttpRequest,
    db: web::Data<Db>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::CodeInsights)?;
    let q: AgreementQuery = query(&req)?;
    let limit = limit(q.limit.as_deref(), 1_000, 5_000)?;
    let (_, taxonomy): (i64, Taxonomy) = taxonomy::VERSIONS.current(&db).await?;
    Ok(HttpResponse::Ok().json(queue::agreement(&db, &taxonomy, limit).await?))
}
