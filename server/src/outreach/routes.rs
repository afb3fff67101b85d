//! `POST /api/v1/decisions`: the CRM reports a decided deal.

use super::decision::DecisionRequest;
use super::intake::Intake;
use super::store::{record_decisions, Planner, RecordedDecision};
use crate::app::clock::Clock;
use crate::auth::{Permission, Staff};
use crate::jobs::runner::Waker;
use crate::platform::db::Db;
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::Json;
use actix_web::{post, web, HttpResponse};
use debrief_common::ErrorBody;

#[utoipa::path(post, path = "/api/v1/decisions", tag = "outreach", request_body = DecisionRequest, responses((status = 201, description = "Created and planned", body = RecordedDecision), (status = 200, description = "Updated; new buyers planned", body = RecordedDecision), (status = 422, description = "Invalid fields, each named", body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 401, description = "No valid API key", body = ErrorBody), (status = 403, description = "The key's role may not", body = ErrorBody)), security(("api_key" = [])))]
#[post("/api/v1/decisions")]
pub async fn post_decision(
    staff: Staff,
    body: Json<DecisionRequest>,
    intake: web::Data<Intake>,
    waker: web::Data<Waker>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::RecordDecisions)?;
    let decision = body.0.parse(clock.now()).map_err(ApiError::Validation)?;
    let recorded = intake.record(decision).await?;
    if recorded.invitations.iter().any(|i| i.created) {
        waker.wake();
    }
    let status = if recorded.created {
        actix_web::http::StatusCode::CREATED
    } else {
        actix_web::http::StatusCode::OK
    };
    Ok(HttpResponse::build(status).json(recorded))
}

/// Deals per import request. A CRM backfill sends its history in pages of this size.
pub const IMPORT_MAX_DEALS: usize = 1_000;

/// The largest import body: a thousand deals with a few buyers each fit with room.
const IMPORT_BODY_LIMIT: usize = 4 * 1024 * 1024;

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// Up to 1,000 decided deals, each as `POST /api/v1/decisions` takes it, in the order
    /// they were decided: each is planned as if posted after the one before.
    pub deals: Vec<DecisionRequest>,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ImportSummary {
    pub deals: usize,
    pub created: usize,
    pub updated: usize,
    /// Invitations created by this import.
    pub invitations: usize,
    /// Of those, held until staff release them (budget spent).
    pub held: usize,
    /// Deals no segment took.
    pub outside_program: usize,
    /// Buyers left out, by reason.
    pub left_out: std::collections::BTreeMap<String, usize>,
    /// Per deal, in the order posted.
    pub results: Vec<ImportedDeal>,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ImportedDeal {
    pub crm_id: String,
    pub deal_id: String,
    pub created: bool,
    pub segment: Option<String>,
    pub method: Option<crate::programs::Method>,
    pub excluded: Option<super::plan::Exclusion>,
    /// Invitations this import created for the deal.
    pub invitations: usize,
    pub left_out: Vec<super::plan::LeftOut>,
}

/// A CRM backfill or a nightly sync: many decided deals in one request, validated as a
/// whole (nothing is stored when any deal is invalid), then planned in order.
#[utoipa::path(post, path = "/api/v1/decisions/import", tag = "outreach", request_body = ImportRequest, responses((status = 200, description = "Recorded and planned", body = ImportSummary), (status = 422, description = "Invalid fields, each named (`deals[3].contacts[0].email`)", body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 401, description = "No valid API key", body = ErrorBody), (status = 403, description = "The key's role may not", body = ErrorBody)), security(("api_key" = [])))]
#[post("/api/v1/decisions/import")]
pub async fn import_decisions(
    staff: Staff,
    body: Json<ImportRequest, IMPORT_BODY_LIMIT>,
    db: web::Data<Db>,
    planner: web::Data<Planner>,
    waker: web::Data<Waker>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::RecordDecisions)?;
    let now = clock.now();
    let requests = body.0.deals;
    if requests.is_empty() {
        return Err(ApiError::field("deals", "must hold at least one deal"));
    }
    if requests.len() > IMPORT_MAX_DEALS {
        return Err(ApiError::field(
            "deals",
            format!("at most {IMPORT_MAX_DEALS} deals per request; send the rest in another"),
        ));
    }
    let mut faults = Vec::new();
    let mut decisions = Vec::with_capacity(requests.len());
    let mut first_at: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, request) in requests.iter().enumerate() {
        if let Some(first) = first_at.insert(request.crm_id.as_str(), i) {
            faults.push(debrief_common::FieldError::new(
                format!("deals[{i}].crm_id"),
                format!("appears twice in this import (first as deals[{first}])"),
            ));
            continue;
        }
        match request.parse(now) {
            Ok(d) => decisions.push(d),
            Err(errors) => faults.extend(errors.into_iter().map(|mut e| {
                e.field = format!("deals[{i}].{}", e.field);
                e
            })),
        }
    }
    if !faults.is_empty() {
        return Err(ApiError::Validation(faults));
    }
    let recorded = record_decisions(&db, &planner, &decisions, now).await?;
    let mut summary = ImportSummary {
        deals: recorded.len(),
        created: 0,
        updated: 0,
        invitations: 0,
        held: 0,
        outside_program: 0,
        left_out: Default::default(),
        results: Vec::with_capacity(recorded.len()),
    };
    for r in recorded {
        if r.created {
            summary.created += 1;
        } else {
            summary.updated += 1;
        }
        summary.invitations += r.created_invitations.len();
        summary.held += r
            .plan
            .invitations
            .iter()
            .filter(|i| i.status == crate::invitations::InvitationStatus::Held)
            .count();
        if r.plan.deal_excluded == Some(super::plan::Exclusion::OutsideProgram) {
            summary.outside_program += 1;
        }
        for l in &r.plan.left_out {
            *summary.left_out.entry(l.reason.to_string()).or_default() += 1;
        }
        summary.results.push(ImportedDeal {
            crm_id: r.plan.crm_id,
            deal_id: r.deal_id,
            created: r.created,
            segment: r.plan.segment,
            method: r.plan.method,
            excluded: r.plan.deal_excluded,
            invitations: r.created_invitations.len(),
            left_out: r.plan.left_out,
        });
    }
    if summary.invitations > 0 {
        waker.wake();
    }
    Ok(HttpResponse::Ok().json(summary))
}
