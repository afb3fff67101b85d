//! `GET /api/v1/participation/interviews`: the interview funnel (invited, then booked,
//! then completed, with no-show and decline rates), overall and by segment, account
//! manager, outcome or month, against the target of the program in force (by default 41%
//! of the buyers invited, what good programs reach). An account manager sees their own
//! accounts' only.

use crate::app::clock::Clock;
use crate::auth::{Accounts, Permission, Role, Staff};
use crate::interviews::lifecycle::InterviewStatus;
use crate::outreach::store::Planner;
use crate::platform::db::Db;
use crate::web::error::{ApiError, ApiResult};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use debrief_common::ErrorBody;
use serde::{Deserialize, Serialize};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/api/v1/participation/interviews",
        web::get().to(get_interview_funnel),
    );
}

/// What the funnel is broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Segment,
    AccountManager,
    Outcome,
    /// The month the invitation went out (`2026-11`).
    Period,
}

impl Dimension {
    /// The SQL expression of a row's group.
    fn expression(self) -> &'static str {
        match self {
            // Personal invitations belong to no segment.
            Dimension::Segment => "coalesce(i.segment_key, 'personal')",
            Dimension::AccountManager => "lower(d.account_manager_email)",
            Dimension::Outcome => "d.outcome",
            Dimension::Period => "substr(i.sent_at, 1, 7)",
        }
    }
}

/// InterviewCounts of one group.
#[derive(Debug, Default, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct InterviewCounts {
    /// Invitations sent.
    pub invited: u64,
    /// Of those, booked at some point (whatever came of it).
    pub booked: u64,
    pub completed: u64,
    pub no_show: u64,
    pub declined: u64,
    pub cancelled: u64,
    pub expired: u64,
}

/// A group's funnel, its rates (0 to 1, none when nobody was invited or booked) and how
/// it stands against the target.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InterviewTotals {
    #[serde(flatten)]
    pub counts: InterviewCounts,
    /// Completed of invited: the participation the target is about.
    pub participation: Option<f64>,
    pub booked_rate: Option<f64>,
    /// No-shows of booked.
    pub no_show_rate: Option<f64>,
    /// Declined of invited.
    pub decline_rate: Option<f64>,
    pub meets_target: Option<bool>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InterviewGroup {
    pub key: String,
    #[serde(flatten)]
    pub funnel: InterviewTotals,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InterviewFunnel {
    pub target: f64,
    pub by: Dimension,
    pub overall: InterviewTotals,
    pub groups: Vec<InterviewGroup>,
}

fn share(part: u64, whole: u64) -> Option<f64> {
    // Three decimals: enough for a dashboard, stable for a test.
    (whole > 0).then(|| (part as f64 / whole as f64 * 1000.0).round() / 1000.0)
}

impl InterviewCounts {
    fn funnel(self, target: f64) -> InterviewTotals {
        let participation = share(self.completed, self.invited);
        InterviewTotals {
            counts: self,
            participation,
            booked_rate: share(self.booked, self.invited),
            no_show_rate: share(self.no_show, self.booked),
            decline_rate: share(self.declined, self.invited),
            meets_target: participation.map(|p| p >= target),
        }
    }

    fn add(&mut self, other: InterviewCounts) {
        self.invited += other.invited;
        self.booked += other.booked;
        self.completed += other.completed;
        self.no_show += other.no_show;
        self.declined += other.declined;
        self.cancelled += other.cancelled;
        self.expired += other.expired;
    }
}

/// The query, read by hand: a wrong value is a 422 naming its field.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FunnelQuery {
    /// `segment` (the default), `account_manager`, `outcome` or `period`.
    pub by: Option<String>,
    /// The first day of invitations counted (YYYY-MM-DD), included.
    pub from: Option<String>,
    /// The last day counted (YYYY-MM-DD), included.
    pub to: Option<String>,
}

fn read_query(req: &HttpRequest) -> ApiResult<(Dimension, Option<NaiveDate>, Option<NaiveDate>)> {
    let query: FunnelQuery = serde_urlencoded::from_str(req.query_string())
        .map_err(|e| ApiError::field("query", e.to_string()))?;
    let by = match query.by.as_deref() {
        None => Dimension::Segment,
        Some(by) => {
            serde_json::from_value(serde_json::Value::String(by.to_owned())).map_err(|_| {
                ApiError::field("by", "must be segment, account_manager, outcome or period")
            })?
        }
    };
    let day = |field: &str, value: Option<String>| {
        value
            .map(|v| {
                NaiveDate::parse_from_str(&v, "%Y-%m-%d")
                    .map_err(|_| ApiError::field(field, "must be a date as YYYY-MM-DD"))
            })
            .transpose()
    };
    let from = day("from", query.from)?;
    let to = day("to", query.to)?;
    if let (Some(from), Some(to)) = (from, to) {
        if from > to {
            return Err(ApiError::field("to", "must not be before from"));
        }
    }
    Ok((by, from, to))
}

/// The funnel by `by`, of the accounts in `accounts`, of invitations sent from `from` to
/// `to` (days, UTC, both included).
pub async fn funnel(
    db: &Db,
    by: Dimension,
    accounts: &Accounts,
    (from, to): (Option<NaiveDate>, Option<NaiveDate>),
    target: f64,
) -> anyhow::Result<InterviewFunnel> {
    let mut filters = vec!["i.sent_at is not null".to_owned()];
    let mut binds: Vec<String> = Vec::new();
    let mut bind = |value: String| {
        binds.push(value);
        format!("${}", binds.len())
    };
    match accounts {
        Accounts::All => {}
        Accounts::ManagedBy(email) => {
            filters.push(format!("a.manager_email = {}", bind(email.clone())))
        }
        Accounts::None => filters.push("1 = 0".to_owned()),
    }
    // Instants are stored as fixed-width RFC 3339 text: a day's bounds compare as text.
    if let Some(from) = from {
        filters.push(format!("i.sent_at >= {}", bind(format!("{from}T00:00:00"))));
    }
    if let Some(to) = to.and_then(|t| t.succ_opt()) {
        filters.push(format!("i.sent_at < {}", bind(format!("{to}T00:00:00"))));
    }
    let status = |s: InterviewStatus| {
        format!(
            "sum(case when v.status = '{}' then 1 else 0 end)",
            s.as_str()
        )
    };
    let sql = format!(
        "select {key} as key, count(*),
                sum(case when exists (select 1 from interview_bookings b
                                      where b.invitation_id = v.invitation_id)
                    then 1 else 0 end),
                {completed}, {no_show}, {declined}, {cancelled}, {expired}
         from interviews v
         join invitations i on i.id = v.invitation_id
         join deals d on d.id = i.deal_id
         join accounts a on a.id = i.account_id
         where {filters}
         group by {key} order by {key}",
        key = by.expression(),
        completed = status(InterviewStatus::Completed),
        no_show = status(InterviewStatus::NoShow),
        declined = status(InterviewStatus::Declined),
        cancelled = status(InterviewStatus::Cancelled),
        expired = status(InterviewStatus::Expired),
        filters = filters.join(" and "),
    );
    type Row = (Option<String>, i64, i64, i64, i64, i64, i64, i64);
    let mut query = sqlx::query_as::<_, Row>(&sql);
    for value in &binds {
        query = query.bind(value);
    }
    let rows = query.fetch_all(db.pool()).await?;
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    let mut overall = InterviewCounts::default();
    let groups = rows
        .into_iter()
        .map(
            |(key, invited, booked, completed, no_show, declined, cancelled, expired)| {
                let counts = InterviewCounts {
                    invited: count(invited),
                    booked: count(booked),
                    completed: count(completed),
                    no_show: count(no_show),
                    declined: count(declined),
                    cancelled: count(cancelled),
                    expired: count(expired),
                };
                overall.add(counts);
                InterviewGroup {
                    key: key.unwrap_or_default(),
                    funnel: counts.funnel(target),
                }
            },
        )
        .collect();
    Ok(InterviewFunnel {
        target,
        by,
        overall: overall.funnel(target),
        groups,
    })
}

#[utoipa::path(get, path = "/api/v1/participation/interviews", tag = "analytics", params(FunnelQuery), responses((status = 200, body = InterviewFunnel), (status = 422, description = "Invalid fields, each named", body = ErrorBody), (status = 401, description = "No valid API key", body = ErrorBody), (status = 403, description = "The key's role may not", body = ErrorBody)), security(("api_key" = [])))]
pub async fn get_interview_funnel(
    staff: Staff,
    req: HttpRequest,
    db: web::Data<Db>,
    planner: web::Data<Planner>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    // An account manager reads their own accounts' funnel; the others need the right.
    if staff.role != Role::AccountManager {
        staff.require(Permission::ReadParticipation)?;
    }
    let (by, from, to) = read_query(&req)?;
    let mut conn = db.pool().acquire().await?;
    let program = planner.programs.in_force_at(&mut conn, clock.now()).await?;
    drop(conn);
    let funnel = funnel(
        &db,
        by,
        &staff.accounts(),
        (from, to),
        program.interview_target,
    )
    .await?;
    Ok(HttpResponse::Ok().json(funnel))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_shares_of_their_own_base_measured_against_the_target() {
        let counts = InterviewCounts {
            invited: 3,
            booked: 2,
            completed: 1,
            no_show: 1,
            declined: 1,
            ..InterviewCounts::default()
        };
        let funnel = counts.funnel(0.41);
        assert_eq!(funnel.participation, Some(0.333));
        assert_eq!(funnel.no_show_rate, Some(0.5), "of those booked");
        assert_eq!(funnel.decline_rate, Some(0.333), "of those invited");
        assert_eq!(funnel.meets_target, Some(false));
        let none = InterviewCounts::default().funnel(0.41);
        assert_eq!((none.participation, none.meets_target), (None, None));
    }
}
