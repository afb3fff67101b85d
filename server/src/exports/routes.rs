//! `/api/v1/exports/{responses,insights,participation}`: each a streamed CSV or JSON Lines
//! download, filtered like the dashboards.

use super::{stream, Cell, Flat, Format, Records};
use crate::analytics::filter::{Binds, Filter, FilterQuery, Params};
use crate::app::clock::Clock;
use crate::auth::{Permission, Staff};
use crate::platform::db::Db;
use crate::surveys::definitions::Definitions;
use crate::web::error::{ApiError, ApiResult};
use actix_web::{web, HttpRequest, HttpResponse};
use debrief_common::ErrorBody;
use serde::Deserialize;
use serde_json::{Map, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/exports/responses", web::get().to(export_responses))
        .route("/api/v1/exports/insights", web::get().to(export_insights))
        .route(
            "/api/v1/exports/participation",
            web::get().to(export_participation),
        );
}

/// The parameters every export takes, besides the dashboards' filter.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// csv (the default) or jsonl.
    pub format: Option<String>,
}

/// The caller may read the dashboards; the format and the filter, checked.
fn start(staff: &Staff, req: &HttpRequest) -> ApiResult<(Format, Filter)> {
    staff.require(Permission::ReadParticipation)?;
    let mut params = Params::of(req)?;
    let format = match params.take("format").as_deref() {
        None | Some("csv") => Format::Csv,
        Some("jsonl") => Format::JsonLines,
        Some(_) => return Err(ApiError::field("format", "must be csv or jsonl")),
    };
    let filter = Filter::take(&mut params)?;
    params.finish()?;
    Ok((format, filter))
}

fn file_name(what: &str, clock: &Clock) -> String {
    format!("debrief-{what}-{}", clock.now().format("%Y-%m-%d"))
}

/// A response row, one per answer item (a response without items comes once).
#[derive(sqlx::FromRow)]
pub struct ResponseRow {
    id: String,
    crm_id: Option<String>,
    survey_key: Option<String>,
    status: String,
    submitted_at: Option<String>,
    locale: Option<String>,
    outcome: Option<String>,
    segment_key: Option<String>,
    competitor: Option<String>,
    region: Option<String>,
    persona: Option<String>,
    product_line: Option<String>,
    amount_band: Option<String>,
    period: Option<String>,
    month: Option<String>,
    question_id: Option<String>,
    item: Option<String>,
    number: Option<i64>,
    text: Option<String>,
}

const RESPONSE_COLUMNS: &[&str] = &[
    "response_id",
    "crm_id",
    "survey",
    "method",
    "status",
    "submitted_at",
    "locale",
    "outcome",
    "segment",
    "competitor",
    "region",
    "persona",
    "product_line",
    "amount_band",
    "period",
    "month",
    "nps",
    "answers",
];

/// Responses, a record each: the frozen deal, the NPS, and every answer as JSON
/// (`question` → a number, the buyer's words, the choices picked, or driver → influence).
#[derive(Default)]
struct Responses {
    current: Option<(ResponseRow, Map<String, Value>)>,
}

impl Responses {
    fn record(row: ResponseRow, mut answers: Map<String, Value>) -> Vec<Cell> {
        let nps = answers.remove("nps").and_then(|v| v.as_i64());
        let method = if row.survey_key.as_deref() == Some(crate::interviews::notes::SURVEY_KEY) {
            "interview"
        } else {
            "survey"
        };
        vec![
            row.id.into(),
            row.crm_id.into(),
            row.survey_key.into(),
            method.to_owned().into(),
            row.status.into(),
            row.submitted_at.into(),
            row.locale.into(),
            row.outcome.into(),
            row.segment_key.into(),
            row.competitor.into(),
            row.region.into(),
            row.persona.into(),
            row.product_line.into(),
            row.amount_band.into(),
            row.period.into(),
            row.month.into(),
            nps.into(),
            Cell::Json(Value::Object(answers)),
        ]
    }

    fn add(answers: &mut Map<String, Value>, row: &mut ResponseRow) {
        let Some(question) = row.question_id.take() else {
            return;
        };
        let item = row.item.take().unwrap_or_default();
        let value = match (row.number, row.text.take()) {
            (_, Some(text)) => Value::String(text),
            (Some(n), None) => Value::from(n),
            // A choice picked, with nothing typed.
            (None, None) if !item.is_empty() => Value::Bool(true),
            (None, None) => Value::Null,
        };
        if item.is_empty() {
            answers.insert(question, value);
            return;
        }
        // An item (a choice picked, a driver's rating, a quote) goes under its question.
        let slot = answers
            .entry(question)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(items) = slot {
            items.insert(item, value);
        }
    }
}

impl Records for Responses {
    type Row = ResponseRow;

    fn columns(&self) -> &'static [&'static str] {
        RESPONSE_COLUMNS
    }

    fn push(&mut self, mut row: ResponseRow) -> Option<Vec<Cell>> {
        let done = match &mut self.current {
            Some((current, answers)) if current.id == row.id => {
                Self::add(answers, &mut row);
                return None;
            }
            _ => self.current.take(),
        };
        let mut answers = Map::new();
        Self::add(&mut answers, &mut row);
        self.current = Some((row, answers));
        done.map(|(row, answers)| Self::record(row, answers))
    }

    fn finish(&mut self) -> Option<Vec<Cell>> {
        self.current
            .take()
            .map(|(row, answers)| Self::record(row, answers))
    }
}

#[utoipa::path(get, path = "/api/v1/exports/responses", tag = "exports", params(FilterQuery, ExportQuery), responses((status = 200, description = "Every response in the filter, streamed: its frozen deal, its NPS and its answers as JSON; CSV cells a spreadsheet would run are neutralised", content_type = "text/csv"), (status = 422, description = "A parameter, named", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn export_responses(
    staff: Staff,
    req: HttpRequest,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    let (format, filter) = start(&staff, &req)?;
    let mut binds = Binds::default();
    let conditions = filter.sql("r", &mut |v| binds.bind(v));
    // In the order of the responses' key, each response's items together.
    let sql = format!(
        "select r.id, d.crm_id, r.survey_key, r.status, r.submitted_at, r.locale, r.outcome,
                r.segment_key, r.competitor, r.region, r.persona, r.product_line,
                r.amount_band, r.period, r.month, t.question_id, t.item, t.number, t.text
         from responses r
         join invitations i on i.id = r.invitation_id
         join deals d on d.id = i.deal_id
         left join response_items t on t.response_id = r.id
         where {conditions}
         order by r.id, t.question_id, t.item"
    );
    stream(
        &db,
        sql,
        binds.0,
        Responses::default(),
        format,
        &file_name("responses", &clock),
    )
}

/// A coded insight, its columns named as the export names them.
#[derive(sqlx::FromRow, serde::Serialize)]
pub struct InsightRow {
    #[serde(rename = "insight_id")]
    id: String,
    response_id: String,
    question_id: String,
    item: String,
    driver: String,
    influence: i64,
    excerpt: Option<String>,
    #[serde(rename = "competitor_named")]
    competitor: Option<String>,
    source: String,
    coded_by: String,
    coded_at: String,
    outcome: Option<String>,
    #[serde(rename = "segment")]
    segment_key: Option<String>,
    deal_competitor: Option<String>,
    region: Option<String>,
    persona: Option<String>,
    product_line: Option<String>,
    amount_band: Option<String>,
    period: Option<String>,
    month: Option<String>,
    method: String,
}

const INSIGHT_COLUMNS: &[&str] = &[
    "insight_id",
    "response_id",
    "question_id",
    "item",
    "driver",
    "influence",
    "excerpt",
    "competitor_named",
    "source",
    "coded_by",
    "coded_at",
    "outcome",
    "segment",
    "deal_competitor",
    "region",
    "persona",
    "product_line",
    "amount_band",
    "period",
    "month",
    "method",
];

#[utoipa::path(get, path = "/api/v1/exports/insights", tag = "exports", params(FilterQuery, ExportQuery), responses((status = 200, description = "Every coded insight in the filter, streamed, with its response's frozen deal; drivers as coded (the taxonomy says what each became)", content_type = "text/csv"), (status = 422, description = "A parameter, named", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn export_insights(
    staff: Staff,
    req: HttpRequest,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    definitions: web::Data<Definitions>,
) -> ApiResult<HttpResponse> {
    let (format, filter) = start(&staff, &req)?;
    // The ratings answered before the request are coded first.
    crate::insights::coding::catch_up(&db, &definitions, clock.now()).await?;
    let mut binds = Binds::default();
    let conditions = filter.sql_insights(&mut |v| binds.bind(v));
    let sql = format!(
        "select n.id, n.response_id, n.question_id, n.item, n.driver, n.influence, n.excerpt,
                n.competitor, n.source, n.coded_by, n.coded_at, n.outcome, n.segment_key,
                n.deal_competitor, n.region, n.persona, n.product_line, n.amount_band,
                n.period, n.month, n.method
         from insights n where {conditions}
         order by n.id"
    );
    stream(
        &db,
        sql,
        binds.0,
        Flat::<InsightRow>::new(INSIGHT_COLUMNS),
        format,
        &file_name("insights", &clock),
    )
}

/// An invitation and the steps it reached, its columns named as the export names them.
#[derive(sqlx::FromRow, serde::Serialize)]
pub struct InvitationRow {
    #[serde(rename = "invitation_id")]
    id: String,
    crm_id: String,
    method: String,
    status: String,
    #[serde(rename = "segment")]
    segment_key: Option<String>,
    outcome: Option<String>,
    month: Option<String>,
    #[serde(rename = "account_manager")]
    manager_email: Option<String>,
    scheduled_for: String,
    sent_at: Option<String>,
    opened_at: Option<String>,
    started_at: Option<String>,
    completed_at: Option<String>,
}

const PARTICIPATION_COLUMNS: &[&str] = &[
    "invitation_id",
    "crm_id",
    "method",
    "status",
    "segment",
    "outcome",
    "month",
    "account_manager",
    "scheduled_for",
    "sent_at",
    "opened_at",
    "started_at",
    "completed_at",
];

#[utoipa::path(get, path = "/api/v1/exports/participation", tag = "exports", params(FilterQuery, ExportQuery), responses((status = 200, description = "Every invitation in the filter, streamed, with the steps it reached: the funnel's rows (no competitor filter: a deal may have met several)", content_type = "text/csv"), (status = 422, description = "A parameter, named", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn export_participation(
    staff: Staff,
    req: HttpRequest,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    let (format, filter) = start(&staff, &req)?;
    filter.without_competitor("participation")?;
    // Every invitation filed under its frozen month and outcome, as the funnel counts it.
    crate::analytics::funnel::catch_up(&db).await?;
    let mut binds = Binds::default();
    let conditions = filter.sql("r", &mut |v| binds.bind(v));
    let sql = format!(
        "select r.* from (
             select i.id, d.crm_id, i.kind as method, i.status, i.segment_key,
                    i.frozen_outcome as outcome, i.frozen_month as month,
                    i.frozen_manager as manager_email, i.frozen_region as region,
                    i.frozen_product_line as product_line, i.scheduled_for, i.sent_at,
                    i.opened_at, i.started_at, i.completed_at
             from invitations i join deals d on d.id = i.deal_id) r
         where {conditions}
         order by r.id"
    );
    stream(
        &db,
        sql,
        binds.0,
        Flat::<InvitationRow>::new(PARTICIPATION_COLUMNS),
        format,
        &file_name("participation", &clock),
    )
}
