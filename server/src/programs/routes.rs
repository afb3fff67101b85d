//! The program's staff API:
//! - `GET /api/v1/program`: the version in force (the built-in program, version 0, until
//!   one is stored), with an `ETag` to send back as `If-Match`;
//! - `PUT /api/v1/program`: stores a new version, effective for deals decided from now;
//! - `GET /api/v1/program/versions` and `/versions/{n}`: the history;
//! - `POST /api/v1/program/preview`: a dry run over posted deals or a stored period, with
//!   the current or a draft definition. It sends nothing and changes nothing.

use super::definition::ProgramRequest;
use super::store::{built_in_request, Programs, SaveError, StoredVersion};
use super::Program;
use crate::app::clock::Clock;
use crate::auth::{Permission, Staff};
use crate::outreach::decision::{Decision, DecisionRequest};
use crate::outreach::history;
use crate::outreach::plan::{self, History, Plan};
use crate::outreach::store::Planner;
use crate::platform::db::Db;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::{if_match, Json};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use debrief_common::ErrorBody;
use debrief_common::FieldError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/program", web::get().to(get_program))
        .route("/api/v1/program", web::put().to(put_program))
        .route("/api/v1/program/versions", web::get().to(list_versions))
        .route(
            "/api/v1/program/versions/{version}",
            web::get().to(get_version),
        )
        .route("/api/v1/program/preview", web::post().to(preview));
}

fn etag(version: i64) -> header::EntityTag {
    header::EntityTag::new_strong(version.to_string())
}

#[utoipa::path(get, path = "/api/v1/program", tag = "program", responses((status = 200, description = "The program in force, with an ETag", body = StoredVersion), (status = 401, description = "No valid API key", body = ErrorBody), (status = 403, description = "The key's role may not", body = ErrorBody)), security(("api_key" = [])))]
async fn get_program(staff: Staff, db: web::Data<Db>) -> ApiResult<HttpResponse> {
    staff.require(Permission::ReadProgram)?;
    let current = match Programs::current(&db).await? {
        Some(v) => v,
        None => StoredVersion {
            version: 0,
            effective_from: String::new(),
            created_at: String::new(),
            created_by: "built-in".into(),
            definition: built_in_request(),
        },
    };
    Ok(HttpResponse::Ok()
        .insert_header(header::ETag(etag(current.version)))
        .json(current))
}

#[utoipa::path(put, path = "/api/v1/program", tag = "program", request_body = ProgramRequest, params(("If-Match" = Option<String>, Header, description = "The ETag read; a newer version makes this a 409")), responses((status = 200, description = "Stored as the next version", body = StoredVersion), (status = 422, description = "Invalid fields, each named", body = ErrorBody), (status = 409, description = "The program changed meanwhile", body = ErrorBody), (status = 401, description = "No valid API key", body = ErrorBody), (status = 403, description = "The key's role may not", body = ErrorBody)), security(("api_key" = [])))]
async fn put_program(
    staff: Staff,
    req: HttpRequest,
    body: Json<ProgramRequest>,
    db: web::Data<Db>,
    planner: web::Data<Planner>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::ManageProgram)?;
    let expected = if_match(&req)?;
    match planner
        .programs
        .save(&db, &body.0, expected, &staff.name, clock.now())
        .await
    {
        Ok(stored) => Ok(HttpResponse::Ok()
            .insert_header(header::ETag(etag(stored.version)))
            .json(stored)),
        Err(SaveError::Invalid(fields)) => Err(ApiError::Validation(fields)),
        Err(e @ SaveError::Stale { .. }) => Err(ApiError::Conflict {
            code: "program_changed",
            message: format!("{e}; read it again and re-apply your change"),
        }),
        Err(SaveError::Database(e)) => Err(ApiError::Unexpected(e)),
    }
}

#[utoipa::path(get, path = "/api/v1/program/versions", tag = "program", responses((status = 200, body = VersionList), (status = 401, description = "No valid API key", body = ErrorBody), (status = 403, description = "The key's role may not", body = ErrorBody)), security(("api_key" = [])))]
async fn list_versions(staff: Staff, db: web::Data<Db>) -> ApiResult<HttpResponse> {
    staff.require(Permission::ReadProgram)?;
    let versions = Programs::history(&db).await?;
    Ok(HttpResponse::Ok().json(VersionList { versions }))
}

#[utoipa::path(get, path = "/api/v1/program/versions/{version}", tag = "program", params(("version" = i64, Path)), responses((status = 200, body = StoredVersion), (status = 404, body = ErrorBody), (status = 401, description = "No valid API key", body = ErrorBody), (status = 403, description = "The key's role may not", body = ErrorBody)), security(("api_key" = [])))]
async fn get_version(
    staff: Staff,
    version: web::Path<String>,
    db: web::Data<Db>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::ReadProgram)?;
    let version: i64 = version
        .parse()
        .map_err(|_| ApiError::field("version", "must be a whole number"))?;
    match Programs::stored(&db, version).await? {
        Some(v) => Ok(HttpResponse::Ok().json(v)),
        None => Err(ApiError::NotFound("no program version has this number")),
    }
}

/// Every stored version, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VersionList {
    pub versions: Vec<StoredVersion>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    /// A draft definition to try; without it, the current program.
    pub program: Option<ProgramRequest>,
    /// Deals as the CRM would post them.
    pub deals: Option<Vec<DecisionRequest>>,
    /// Or the stored deals decided in this period (inclusive dates, UTC).
    pub period: Option<PeriodRequest>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PeriodRequest {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Preview {
    /// The version previewed; none for a draft.
    pub program_version: Option<i64>,
    pub deals: usize,
    pub invitations: usize,
    /// Buyers left out, by reason.
    pub left_out: BTreeMap<&'static str, usize>,
    pub segments: Vec<SegmentPreview>,
    pub plans: Vec<Plan>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SegmentPreview {
    pub key: String,
    pub name: String,
    pub method: super::Method,
    /// Deals that matched the segment: its pool.
    pub deals_matched: usize,
    pub deals_invited: usize,
    pub invitations: usize,
    pub target_per_period: Option<u32>,
    /// Fewer than three times the target in eligible deals: the target is at risk.
    pub pool_warning: bool,
    pub incentives_offered: usize,
    /// Invitations that go without their incentive because the budget is spent.
    pub incentives_withheld: usize,
    /// Invitations that would be held for staff because the budget is spent.
    pub held: usize,
}

/// Most stored deals a period preview replays.
const MAX_PREVIEW_DEALS: usize = 50_000;

#[utoipa::path(post, path = "/api/v1/program/preview", tag = "program", request_body = PreviewRequest, responses((status = 200, description = "What the program would do; nothing is sent or stored", body = Preview), (status = 422, description = "Invalid fields, each named", body = ErrorBody), (status = 401, description = "No valid API key", body = ErrorBody), (status = 403, description = "The key's role may not", body = ErrorBody)), security(("api_key" = [])))]
async fn preview(
    staff: Staff,
    body: Json<PreviewRequest>,
    db: web::Data<Db>,
    planner: web::Data<Planner>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::ManageProgram)?;
    let now = clock.now();
    let request = body.0;
    let (program, version) = match &request.program {
        Some(draft) => (
            Arc::new(
                draft
                    .parse(-1)
                    .map_err(|faults| ApiError::Validation(prefix("program", faults)))?,
            ),
            None,
        ),
        None => {
            let mut conn = db.pool().acquire().await?;
            let p = planner.programs.in_force_at(&mut conn, now).await?;
            let v = p.version;
            (p, Some(v))
        }
    };

    let (deals, replay) = match (&request.deals, &request.period) {
        (Some(deals), None) => {
            if deals.is_empty() || deals.len() > 100 {
                return Err(ApiError::field("deals", "must list 1 to 100 deals"));
            }
            let mut faults = Vec::new();
            let mut parsed = Vec::new();
            for (i, d) in deals.iter().enumerate() {
                match d.parse(now) {
                    Ok(d) => parsed.push(d),
                    Err(f) => faults.extend(prefix(&format!("deals[{i}]"), f)),
                }
            }
            if !faults.is_empty() {
                return Err(ApiError::Validation(faults));
            }
            (parsed, false)
        }
        (None, Some(period)) => {
            let day = |field: &str, v: &str| {
                NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
                    .map_err(|_| FieldError::new(field, "must be a date like 2026-10-01"))
            };
            let from = day("period.from", &period.from);
            let to = day("period.to", &period.to);
            let (from, to) = match (from, to) {
                (Ok(f), Ok(t)) if t >= f => (f, t),
                (Ok(_), Ok(_)) => {
                    return Err(ApiError::field(
                        "period.to",
                        "must not be before period.from",
                    ))
                }
                (a, b) => {
                    return Err(ApiError::Validation(
                        [a.err(), b.err()].into_iter().flatten().collect(),
                    ))
                }
            };
            let start = from.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
            let end = to
                .succ_opt()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc());
            let (Some(start), Some(end)) = (start, end) else {
                return Err(ApiError::field("period", "is out of range"));
            };
            let deals = history::decided_between(&db, start, end, MAX_PREVIEW_DEALS + 1).await?;
            if deals.len() > MAX_PREVIEW_DEALS {
                return Err(ApiError::field(
                    "period",
                    format!("holds more than {MAX_PREVIEW_DEALS} deals; preview a shorter period"),
                ));
            }
            (deals, true)
        }
        _ => {
            return Err(ApiError::field(
                "body",
                "give either deals (as the CRM posts them) or a period (from, to)",
            ))
        }
    };

    let preview = run(&db, &planner, &program, version, &deals, replay, now).await?;
    Ok(HttpResponse::Ok().json(preview))
}

/// What `program` would do with `deals`: replayed at their decision (stored deals), or
/// as if they came in now.
async fn run(
    db: &Db,
    planner: &Planner,
    program: &Program,
    version: Option<i64>,
    deals: &[Decision],
    replay: bool,
    now: DateTime<Utc>,
) -> anyhow::Result<Preview> {
    let mut conn = db.pool().acquire().await?;
    let history = history::load(&mut conn, deals, program, !replay, None).await?;
    drop(conn);
    let plans = simulate(deals, program, history, planner, replay, now);
    Ok(summarise(program, version, deals, plans))
}

/// Deals a live preview replays at most: the most recent of its window. A program that
/// decides more in a quarter is previewed on its latest deals, and says so, so that the
/// editor answers as fast with a million deals stored as with a thousand.
pub const PREVIEW_SAMPLE: usize = 2_000;

/// The latest [`PREVIEW_SAMPLE`] deals decided in `window`, what `program` would have
/// done with them (the console's segment editor), and how many deals the window holds.
pub async fn replay_period(
    db: &Db,
    planner: &Planner,
    program: &Program,
    window: (DateTime<Utc>, DateTime<Utc>),
    now: DateTime<Utc>,
) -> ApiResult<(Vec<Decision>, Preview, usize)> {
    let (deals, total) = history::latest_decided(db, window, PREVIEW_SAMPLE).await?;
    let preview = run(db, planner, program, None, &deals, true, now).await?;
    Ok((deals, preview, total))
}

/// Plans deals in decision order, each seeing the ones before it, as if they had come
/// in one by one.
fn simulate(
    deals: &[Decision],
    program: &Program,
    mut history: History,
    planner: &Planner,
    replay: bool,
    now: DateTime<Utc>,
) -> Vec<Plan> {
    let mut order: Vec<&Decision> = deals.iter().collect();
    order.sort_by_key(|d| d.decided_at);
    order
        .into_iter()
        .map(|deal| {
            let at = if replay { deal.decided_at } else { now };
            let p = plan::plan(deal, program, &history, &planner.timing, at);
            history.record(deal, &p, at);
            p
        })
        .collect()
}

fn summarise(
    program: &Program,
    version: Option<i64>,
    deals: &[Decision],
    plans: Vec<Plan>,
) -> Preview {
    let mut left_out: BTreeMap<&'static str, usize> = BTreeMap::new();
    for p in &plans {
        for l in &p.left_out {
            *left_out.entry(l.reason.as_str()).or_default() += 1;
        }
    }
    let segments = program
        .segments
        .iter()
        .map(|s| {
            let mine: Vec<&Plan> = plans
                .iter()
                .filter(|p| p.segment.as_deref() == Some(&s.key))
                .collect();
            let invitations = mine.iter().flat_map(|p| &p.invitations);
            let deals_matched = mine.len();
            SegmentPreview {
                key: s.key.clone(),
                name: s.name.clone(),
                method: s.method,
                deals_matched,
                deals_invited: mine.iter().filter(|p| !p.invitations.is_empty()).count(),
                invitations: invitations.clone().count(),
                target_per_period: s.target_per_period,
                pool_warning: s
                    .target_per_period
                    .is_some_and(|t| deals_matched < 3 * t as usize),
                incentives_offered: invitations
                    .clone()
                    .filter(|i| i.incentive.is_some())
                    .count(),
                incentives_withheld: invitations.clone().filter(|i| i.incentive_withheld).count(),
                held: invitations
                    .filter(|i| i.status == crate::invitations::InvitationStatus::Held)
                    .count(),
            }
        })
        .collect();
    Preview {
        program_version: version,
        deals: deals.len(),
        invitations: plans.iter().map(|p| p.invitations.len()).sum(),
        left_out,
        segments,
        plans,
    }
}

pub fn prefix(at: &str, faults: Vec<FieldError>) -> Vec<FieldError> {
    faults
        .into_iter()
        .map(|f| FieldError::new(format!("{at}.{}", f.field), f.message))
        .collect()
}
