//! Incentives for staff:
//! - `GET /api/v1/incentives?status=earned`: the ledger, newest first;
//! - `GET /api/v1/incentives/payouts?format=csv|json`: earned, unfulfilled incentives, to
//!   pay (a read: nothing changes);
//! - `POST /api/v1/incentives/payouts?format=csv|json`: the same list, marked fulfilled
//!   under one payout reference, so a second export never pays twice;
//! - `POST /api/v1/incentives/{id}/fulfil`: one incentive, fulfilled by hand.

use super::{Fulfilment, IncentiveStatus};
use crate::app::clock::Clock;
use crate::auth::{Permission, Staff};
use crate::platform::db::{self, Db};
use crate::web::error::{ApiError, ApiResult};
use crate::web::extract::read_body;
use actix_web::{web, HttpResponse};
use debrief_common::ErrorBody;
use serde::{Deserialize, Serialize};
use sqlx::Acquire;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/incentives", web::get().to(list))
        .route("/api/v1/incentives/payouts", web::get().to(payouts))
        .route("/api/v1/incentives/payouts", web::post().to(export_payouts))
        .route("/api/v1/incentives/{id}/fulfil", web::post().to(fulfil));
}

/// One ledger entry, with who it is owed to.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct IncentiveView {
    pub id: String,
    pub invitation_id: String,
    pub status: String,
    pub incentive_key: String,
    pub kind: String,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    pub quantity: Option<i64>,
    pub label: Option<String>,
    pub period: String,
    pub buyer_name: String,
    pub buyer_email: String,
    pub account_name: String,
    pub offered_at: String,
    pub earned_at: Option<String>,
    pub fulfilled_at: Option<String>,
    pub payout_reference: Option<String>,
}

const SELECT: &str =
    "select n.id, n.invitation_id, n.status, n.incentive_key, n.kind, n.amount_minor,
        n.currency, n.quantity, n.label, n.period, c.name as buyer_name, p.email as buyer_email,
        a.name as account_name, n.offered_at, n.earned_at, n.fulfilled_at, n.payout_reference
    from incentives n
    join invitations i on i.id = n.invitation_id
    join contacts c on c.id = i.contact_id
    join persons p on p.id = i.person_id
    join accounts a on a.id = n.account_id";

/// Ledger entries, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncentiveList {
    pub incentives: Vec<IncentiveView>,
}

/// Incentives to pay; `payout_reference` names the batch once exported.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PayoutBatch {
    pub payout_reference: Option<String>,
    pub incentives: Vec<IncentiveView>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub status: Option<String>,
    pub format: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/incentives", tag = "incentives", params(ListQuery), responses((status = 200, body = IncentiveList), (status = 422, description = "Invalid fields, each named", body = ErrorBody), (status = 401, description = "No valid API key", body = ErrorBody), (status = 403, description = "The key's role may not", body = ErrorBody)), security(("api_key" = [])))]
async fn list(
    staff: Staff,
    query: web::Query<ListQuery>,
    db: web::Data<Db>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::ManageIncentives)?;
    let status: Option<IncentiveStatus> = query
        .status
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|e: String| ApiError::field("status", e))?;
    let sql = format!(
        "{SELECT} where ($1 is null or n.status = $1) order by n.offered_at desc, n.id limit 1000"
    );
    let rows: Vec<IncentiveView> = sqlx::query_as(&sql)
        .bind(status.map(|s| s.as_str()))
        .fetch_all(db.pool())
        .await?;
    Ok(HttpResponse::Ok().json(IncentiveList { incentives: rows }))
}

enum Format {
    Csv,
    Json,
}

fn format(query: &ListQuery) -> Result<Format, ApiError> {
    if query.status.is_some() {
        return Err(ApiError::field(
            "status",
            "payouts are always the earned, unfulfilled incentives",
        ));
    }
    match query.format.as_deref() {
        None | Some("json") => Ok(Format::Json),
        Some("csv") => Ok(Format::Csv),
        Some(_) => Err(ApiError::field("format", "must be csv or json")),
    }
}

#[utoipa::path(get, path = "/api/v1/incentives/payouts", tag = "incentives", params(ListQuery), responses((status = 200, description = "JSON, or CSV with format=csv", content((PayoutBatch = "application/json"), (String = "text/csv"))), (status = 422, description = "Invalid fields, each named", body = ErrorBody), (status = 401, description = "No valid API key", body = ErrorBody), (status = 403, description = "The key's role may not", body = ErrorBody)), security(("api_key" = [])))]
async fn payouts(
    staff: Staff,
    query: web::Query<ListQuery>,
    db: web::Data<Db>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::ManageIncentives)?;
    let format = format(&query)?;
    let sql = format!("{SELECT} where n.status = $1 order by n.earned_at, n.id");
    let rows: Vec<IncentiveView> = sqlx::query_as(&sql)
        .bind(IncentiveStatus::Earned.as_str())
        .fetch_all(db.pool())
        .await?;
    Ok(render(format, None, rows))
}

#[utoipa::path(post, path = "/api/v1/incentives/payouts", tag = "incentives", params(ListQuery), responses((status = 200, description = "The batch, now fulfilled; JSON, or CSV with format=csv", content((PayoutBatch = "application/json"), (String = "text/csv"))), (status = 422, description = "Invalid fields, each named", body = ErrorBody), (status = 401, description = "No valid API key", body = ErrorBody), (status = 403, description = "The key's role may not", body = ErrorBody)), security(("api_key" = [])))]
async fn export_payouts(
    staff: Staff,
    query: web::Query<ListQuery>,
    mut payload: web::Payload,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    read_body(&mut payload, 1024).await?;
    staff.require(Permission::ManageIncentives)?;
    let format = format(&query)?;
    let reference = format!("payout-{}", db::new_id());
    let mut conn = db.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    super::fulfil(
        &mut tx,
        Fulfilment::Payout {
            reference: &reference,
        },
        &staff.name,
        clock.now(),
    )
    .await?;
    let sql = format!("{SELECT} where n.payout_reference = $1 order by n.earned_at, n.id");
    let rows: Vec<IncentiveView> = sqlx::query_as(&sql)
        .bind(&reference)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(render(format, Some(&reference), rows))
}

#[utoipa::path(post, path = "/api/v1/incentives/{id}/fulfil", tag = "incentives", params(("id" = String, Path)), responses((status = 200, body = IncentiveView), (status = 409, description = "Not an earned, unfulfilled incentive", body = ErrorBody), (status = 401, description = "No valid API key", body = ErrorBody), (status = 403, description = "The key's role may not", body = ErrorBody)), security(("api_key" = [])))]
async fn fulfil(
    staff: Staff,
    id: web::Path<String>,
    mut payload: web::Payload,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    read_body(&mut payload, 1024).await?;
    staff.require(Permission::ManageIncentives)?;
    let mut conn = db.pool().acquire().await?;
    let moved = super::fulfil(
        &mut conn,
        Fulfilment::One { id: &id },
        &staff.name,
        clock.now(),
    )
    .await?;
    if moved == 0 {
        return Err(ApiError::Conflict {
            code: "not_earned",
            message: "no earned, unfulfilled incentive has this id".into(),
        });
    }
    let sql = format!("{SELECT} where n.id = $1");
    let row: IncentiveView = sqlx::query_as(&sql)
        .bind(id.as_str())
        .fetch_one(db.pool())
        .await?;
    Ok(HttpResponse::Ok().json(row))
}

fn render(format: Format, reference: Option<&str>, rows: Vec<IncentiveView>) -> HttpResponse {
    match format {
        Format::Json => HttpResponse::Ok().json(PayoutBatch {
            payout_reference: reference.map(str::to_owned),
            incentives: rows,
        }),
        Format::Csv => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                "Content-Disposition",
                format!(
                    "attachment; filename=\"{}.csv\"",
                    reference.unwrap_or("payouts")
                ),
            ))
            .body(csv(&rows)),
    }
}

/// RFC 4180 CSV. Buyer names are outside input: a cell that a spreadsheet would run as a
/// formula (`=`, `+`, `-`, `@`) is prefixed with an apostrophe.
fn csv(rows: &[IncentiveView]) -> String {
    fn cell(value: &str) -> String {
        let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            format!("'{value}")
        } else {
            value.to_owned()
        };
        if value.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", value.replace('"', "\"\""))
        } else {
            value
        }
    }
    let mut out = String::from(
        "incentive_id,buyer_name,buyer_email,account,kind,amount_minor,currency,quantity,label,period,earned_at\r\n",
    );
    for r in rows {
        let fields = [
            r.id.clone(),
            r.buyer_name.clone(),
            r.buyer_email.clone(),
            r.account_name.clone(),
            r.kind.clone(),
            r.amount_minor.map(|a| a.to_string()).unwrap_or_default(),
            r.currency.clone().unwrap_or_default(),
            r.quantity.map(|q| q.to_string()).unwrap_or_default(),
            r.label.clone().unwrap_or_default(),
            r.period.clone(),
            r.earned_at.clone().unwrap_or_default(),
        ];
        out.push_str(&fields.iter().map(|f| cell(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}
