//! `GET /api/v1/analytics/nps`: NPS by segment, outcome, competitor, region, method, or
//! over time by month or quarter, each with its sample size and 95% confidence interval.
//! Read from `nps_rollup` (see [`super::rollups`]).

use super::filter::{Binds, Dashboard, Filter, FilterQuery, Month};
use crate::platform::db::Db;
use crate::web::error::{ApiError, ApiResult};
use actix_web::{web, HttpResponse};
use debrief_common::{ErrorBody, NpsSummary};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/analytics/nps", web::get().to(get_nps));
}

/// What NPS is grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NpsBy {
    Segment,
    Outcome,
    Competitor,
    Region,
    Method,
    Month,
    Quarter,
}

impl NpsBy {
    fn parse(value: Option<String>) -> ApiResult<NpsBy> {
        match value {
            None => Ok(NpsBy::Segment),
            Some(v) => serde_json::from_value(serde_json::Value::String(v)).map_err(|_| {
                ApiError::field(
                    "by",
                    "must be segment, outcome, competitor, region, method, month or quarter",
                )
            }),
        }
    }

    /// The column grouped by; a quarter is summed from its months.
    fn column(self) -> &'static str {
        match self {
            NpsBy::Segment => "segment_key",
            NpsBy::Outcome => "outcome",
            NpsBy::Competitor => "competitor",
            NpsBy::Region => "region",
            NpsBy::Method => "method",
            NpsBy::Month | NpsBy::Quarter => "month",
        }
    }
}

/// An NPS figure.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct NpsFigure {
    /// −100 to 100; none without answers.
    pub score: Option<f64>,
    pub sample_size: u64,
    pub promoters: u64,
    pub passives: u64,
    pub detractors: u64,
    /// The 95% confidence interval's bounds.
    pub low: Option<f64>,
    pub high: Option<f64>,
}

impl From<NpsSummary> for NpsFigure {
    fn from(s: NpsSummary) -> NpsFigure {
        let interval = s.confidence_interval();
        NpsFigure {
            score: s.score(),
            sample_size: s.sample_size(),
            promoters: s.promoters,
            passives: s.passives,
            detractors: s.detractors,
            low: interval.map(|i| i.0),
            high: interval.map(|i| i.1),
        }
    }
}

/// One group's NPS.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NpsGroup {
    /// The segment, outcome, competitor, region or method ('' for none), the month
    /// (`2026-11`) or the quarter (`2026-Q4`).
    pub key: String,
    #[serde(flatten)]
    pub nps: NpsFigure,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NpsReport {
    pub overall: NpsFigure,
    /// By key; over time, every month or quarter of the range in order, empty ones with
    /// no score.
    pub groups: Vec<NpsGroup>,
}

/// The query parameters besides the filter.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NpsQuery {
    /// segment (the default), outcome, competitor, region, method, month or quarter.
    pub by: Option<String>,
}

/// NPS of the responses in `filter`, by `by`.
pub async fn nps(db: &Db, filter: &Filter, by: NpsBy) -> anyhow::Result<NpsReport> {
    let mut binds = Binds::default();
    let column = by.column();
    let conditions = filter.sliced("r", Some(column), &mut |v| binds.bind(v));
    let sql = format!(
        "select r.{column}, cast(sum(r.promoters) as bigint), cast(sum(r.passives) as bigint), cast(sum(r.detractors) as bigint)
         from nps_rollup r where {conditions}
         group by r.{column} order by r.{column}"
    );
    let rows: Vec<(String, i64, i64, i64)> = binds.query_as(&sql).fetch_all(db.pool()).await?;
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    let mut groups: BTreeMap<String, NpsSummary> = BTreeMap::new();
    let mut overall = NpsSummary::default();
    for (key, promoters, passives, detractors) in rows {
        let summary = NpsSummary {
            promoters: count(promoters),
            passives: count(passives),
            detractors: count(detractors),
        };
        overall += summary;
        let key = match by {
            NpsBy::Quarter => Month::parse(&key).map_or(key, Month::quarter),
            _ => key,
        };
        *groups.entry(key).or_default() += summary;
    }
    if matches!(by, NpsBy::Month | NpsBy::Quarter) {
        fill_periods(&mut groups, filter, by);
    }
    Ok(NpsReport {
        overall: overall.into(),
        groups: groups
            .into_iter()
            .map(|(key, s)| NpsGroup { key, nps: s.into() })
            .collect(),
    })
}

/// Lists every month or quarter of the range, so that a gap reads as a gap: from the
/// filter's bounds, else from the first to the last period with answers.
fn fill_periods(groups: &mut BTreeMap<String, NpsSummary>, filter: &Filter, by: NpsBy) {
    let months: Vec<Month> = groups
        .keys()
        .filter_map(|k| Month::parse(k).or_else(|| quarter_start(k)))
        .collect();
    let (Some(first), Some(last)) = (
        filter.from.or_else(|| months.iter().min().copied()),
        filter.to.or_else(|| months.iter().max().copied()),
    ) else {
        return;
    };
    let mut month = first;
    // Bounded: ten years of months at most, whatever the range asked.
    for _ in 0..120 {
        if month > last {
            break;
        }
        let key = match by {
            NpsBy::Quarter => month.quarter(),
            _ => month.label(),
        };
        groups.entry(key).or_default();
        month = month.plus(1);
    }
}

fn quarter_start(key: &str) -> Option<Month> {
    let (year, q) = key.split_once("-Q")?;
    let q: u32 = q.parse().ok().filter(|q| (1..=4).contains(q))?;
    Some(Month {
        year: year.parse().ok()?,
        month: (q - 1) * 3 + 1,
    })
}

#[utoipa::path(get, path = "/api/v1/analytics/nps", tag = "analytics", params(FilterQuery, NpsQuery), responses((status = 200, body = NpsReport, description = "NPS with sample sizes and 95% confidence intervals"), (status = 422, description = "A parameter, named", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn get_nps(dashboard: Dashboard) -> ApiResult<HttpResponse> {
    let Dashboard {
        filter,
        mut params,
        db,
        ..
    } = dashboard;
    let by = NpsBy::parse(params.take("by"))?;
    params.finish()?;
    Ok(HttpResponse::Ok().json(nps(&db, &filter, by).await?))
}
