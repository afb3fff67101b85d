//! The alerts' staff API: rules, their firings, acknowledging and snoozing them, and
//! evaluating the rules now.

use super::delivery::{Firing, FIRING_COLUMNS};
use super::evaluation;
use super::rules::{self, Rule, StoredRule};
use crate::app::clock::Clock;
use crate::app::config::Settings;
use crate::auth::{Permission, Staff};
use crate::insights::taxonomy;
use crate::platform::db::time::to_db;
use crate::platform::db::Db;
use crate::surveys::definitions::Definitions;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::{query, Json};
use actix_web::{web, HttpRequest, HttpResponse};
use debrief_common::ErrorBody;
use serde::{Deserialize, Serialize};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/alerts/rules", web::get().to(list_rules))
        .route("/api/v1/alerts/rules", web::post().to(create_rule))
        .route("/api/v1/alerts/rules/{id}", web::get().to(get_rule))
        .route("/api/v1/alerts/rules/{id}", web::put().to(put_rule))
        .route("/api/v1/alerts/rules/{id}", web::delete().to(delete_rule))
        .route("/api/v1/alerts/firings", web::get().to(list_firings))
        .route(
            "/api/v1/alerts/firings/{id}/acknowledge",
            web::post().to(acknowledge),
        )
        .route("/api/v1/alerts/firings/{id}/snooze", web::post().to(snooze))
        .route("/api/v1/alerts/evaluate", web::post().to(evaluate));
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RuleList {
    pub rules: Vec<StoredRule>,
}

#[utoipa::path(get, path = "/api/v1/alerts/rules", tag = "alerts", responses((status = 200, body = RuleList, description = "Every rule, webhook secrets withheld"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn list_rules(staff: Staff, db: web::Data<Db>) -> ApiResult<HttpResponse> {
    staff.require(Permission::ReadAlerts)?;
    let rules = rules::all(&db)
        .await?
        .into_iter()
        .map(|r| StoredRule {
            rule: r.rule.redacted(),
            ..r
        })
        .collect();
    Ok(HttpResponse::Ok().json(RuleList { rules }))
}

/// Checks a rule as sent, its receivers' addresses included.
async fn checked(rule: &Rule, db: &Db, settings: &Settings) -> ApiResult<()> {
    let (_, taxonomy) = taxonomy::VERSIONS.current(db).await?;
    rule.check(&taxonomy)
        .map_err(|(field, message)| ApiError::field(&field, message))?;
    rule.check_receivers(settings.webhooks_allow_private)
        .await
        .map_err(|(field, message)| ApiError::field(&field, message))
}

#[utoipa::path(post, path = "/api/v1/alerts/rules", tag = "alerts", request_body = Rule, responses((status = 201, body = StoredRule, description = "Stored; each webhook receiver's signing secret is shown this once"), (status = 422, description = "An impossible window or threshold, a private receiver address, or another field, named", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn create_rule(
    staff: Staff,
    body: Json<Rule>,
    db: web::Data<Db>,
    settings: web::Data<Settings>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::ManageAlerts)?;
    let stored = create(&db, &settings, &staff.name, body.0, clock.now()).await?;
    Ok(HttpResponse::Created().json(stored))
}

/// Checks and stores a new rule by `author`; as shown this once (new secrets included).
pub async fn create(
    db: &Db,
    settings: &Settings,
    author: &str,
    rule: Rule,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<StoredRule> {
    checked(&rule, db, settings).await?;
    let rule = rule.with_secrets();
    let id = rules::create(db, &rule, author, now).await?;
    Ok(StoredRule {
        id,
        rule: rule.masked(),
        updated_at: to_db(now),
    })
}

/// Replaces rule `id` with `rule` as an editor sent it back (masked URLs and withheld
/// secrets stand for the stored ones); as shown this once.
pub async fn replace(
    db: &Db,
    settings: &Settings,
    id: &str,
    rule: Rule,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<StoredRule> {
    let stored = rules::get(db, id)
        .await?
        .ok_or(ApiError::NotFound("alert rule"))?;
    let rule = rule
        .unmasked(&stored.rule)
        .map_err(|(field, message)| ApiError::field(&field, message))?;
    checked(&rule, db, settings).await?;
    let rule = rules::replace(db, id, rule, now)
        .await?
        .ok_or(ApiError::NotFound("alert rule"))?;
    Ok(StoredRule {
        id: id.to_owned(),
        rule: rule.masked(),
        updated_at: to_db(now),
    })
}

#[utoipa::path(get, path = "/api/v1/alerts/rules/{id}", tag = "alerts", params(("id" = String, Path)), responses((status = 200, body = StoredRule), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn get_rule(
    staff: Staff,
    id: web::Path<String>,
    db: web::Data<Db>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::ReadAlerts)?;
    let rule = rules::get(&db, &id)
        .await?
        .ok_or(ApiError::NotFound("alert rule"))?;
    Ok(HttpResponse::Ok().json(StoredRule {
        rule: rule.rule.redacted(),
        ..rule
    }))
}

#[utoipa::path(put, path = "/api/v1/alerts/rules/{id}", tag = "alerts", params(("id" = String, Path)), request_body = Rule, responses((status = 200, body = StoredRule, description = "Replaced; a webhook receiver sent without its secret keeps the one it had"), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn put_rule(
    staff: Staff,
    id: web::Path<String>,
    body: Json<Rule>,
    db: web::Data<Db>,
    settings: web::Data<Settings>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::ManageAlerts)?;
    let stored = replace(&db, &settings, &id, body.0, clock.now()).await?;
    Ok(HttpResponse::Ok().json(stored))
}

#[utoipa::path(delete, path = "/api/v1/alerts/rules/{id}", tag = "alerts", params(("id" = String, Path)), responses((status = 204, description = "Deleted, with its firings"), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn delete_rule(
    staff: Staff,
    id: web::Path<String>,
    db: web::Data<Db>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::ManageAlerts)?;
    if rules::delete(&db, &id).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::NotFound("alert rule"))
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FiringQuery {
    /// open, acknowledged, snoozed or resolved; all when absent.
    pub status: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FiringList {
    /// Newest first, at most 500.
    pub firings: Vec<Firing>,
}

const STATUSES: [&str; 4] = ["open", "acknowledged", "snoozed", "resolved"];

#[utoipa::path(get, path = "/api/v1/alerts/firings", tag = "alerts", params(FiringQuery), responses((status = 200, body = FiringList), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn list_firings(
    staff: Staff,
    req: HttpRequest,
    db: web::Data<Db>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::ReadAlerts)?;
    let q: FiringQuery = query(&req)?;
    if q.status.as_deref().is_some_and(|s| !STATUSES.contains(&s)) {
        return Err(ApiError::field(
            "status",
            "must be open, acknowledged, snoozed or resolved",
        ));
    }
    let firings: Vec<Firing> = sqlx::query_as(&format!(
        "select {FIRING_COLUMNS} from alert_firings
         where $1 is null or status = $1
         order by fired_at desc, id desc limit 500"
    ))
    .bind(q.status)
    .fetch_all(db.pool())
    .await?;
    Ok(HttpResponse::Ok().json(FiringList { firings }))
}

async fn firing(db: &Db, id: &str) -> ApiResult<Firing> {
    let firing: Option<Firing> = sqlx::query_as(&format!(
        "select {FIRING_COLUMNS} from alert_firings where id = $1"
    ))
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    firing.ok_or(ApiError::NotFound("firing"))
}

#[utoipa::path(post, path = "/api/v1/alerts/firings/{id}/acknowledge", tag = "alerts", params(("id" = String, Path)), responses((status = 200, body = Firing, description = "Acknowledged: someone is on it"), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn acknowledge(
    staff: Staff,
    id: web::Path<String>,
    mut payload: web::Payload,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    crate::web::extract::read_body(&mut payload, 1024).await?;
    staff.require(Permission::ReadAlerts)?;
    Ok(HttpResponse::Ok().json(acknowledge_firing(&db, &id, &staff.name, clock.now()).await?))
}

/// Firing `id` acknowledged by `who`: someone is on it.
pub async fn acknowledge_firing(
    db: &Db,
    id: &str,
    who: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<Firing> {
    firing(db, id).await?;
    sqlx::query(
        "update alert_firings set status = 'acknowledged', acknowledged_by = $1,
             acknowledged_at = $2, snoozed_until = null
         where id = $3 and status in ('open', 'snoozed')",
    )
    .bind(who)
    .bind(to_db(now))
    .bind(id)
    .execute(db.pool())
    .await?;
    firing(db, id).await
}

/// Firing `id`'s group kept quiet until `until` (after now, within a year).
pub async fn snooze_firing(
    db: &Db,
    id: &str,
    until: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<Firing> {
    if until <= now || until > now + chrono::Duration::days(366) {
        return Err(ApiError::field(
            "until",
            "must be after now and within a year",
        ));
    }
    firing(db, id).await?;
    sqlx::query(
        "update alert_firings set status = 'snoozed', snoozed_until = $1
         where id = $2 and status <> 'resolved'",
    )
    .bind(to_db(until))
    .bind(id)
    .execute(db.pool())
    .await?;
    firing(db, id).await
}

/// Until when a firing's group stays quiet.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Snooze {
    /// After now, and within a year.
    pub until: chrono::DateTime<chrono::Utc>,
}

#[utoipa::path(post, path = "/api/v1/alerts/firings/{id}/snooze", tag = "alerts", params(("id" = String, Path)), request_body = Snooze, responses((status = 200, body = Firing, description = "Snoozed: the rule does not fire again for this group until then"), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn snooze(
    staff: Staff,
    id: web::Path<String>,
    body: Json<Snooze>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    // Snoozing silences a group for up to a year: the rules' owners decide that.
    staff.require(Permission::ManageAlerts)?;
    Ok(HttpResponse::Ok().json(snooze_firing(&db, &id, body.0.until, clock.now()).await?))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Evaluated {
    /// The firings this evaluation recorded; their deliveries are queued.
    pub fired: Vec<Firing>,
}

#[utoipa::path(post, path = "/api/v1/alerts/evaluate", tag = "alerts", responses((status = 200, body = Evaluated, description = "Every enabled rule evaluated now, as the hourly schedule does"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn evaluate(
    staff: Staff,
    mut payload: web::Payload,
    db: web::Data<Db>,
    definitions: web::Data<Definitions>,
    clock: web::Data<Clock>,
    waker: web::Data<crate::jobs::runner::Waker>,
) -> ApiResult<HttpResponse> {
    crate::web::extract::read_body(&mut payload, 1024).await?;
    staff.require(Permission::ManageAlerts)?;
    let ids = evaluation::evaluate_all(&db, &definitions, clock.now()).await?;
    let mut fired = Vec::with_capacity(ids.len());
    for id in ids {
        fired.push(firing(&db, &id).await?);
    }
    waker.wake();
    Ok(HttpResponse::Ok().json(Evaluated { fired }))
}
