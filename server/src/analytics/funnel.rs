//! The participation funnel (invited, sent, opened, started, completed, opted out,
//! bounced) by segment, method, outcome, account manager, month or quarter, against the
//! program's target rates; read from `funnel_rollup`, which [`fold`] keeps up to date
//! (see the migration that adds it for how it stays right under concurrent writes).

use super::filter::{Binds, Dashboard, Filter, FilterQuery, Month};
use super::participation::Funnel;
use crate::app::clock::Clock;
use crate::outreach::store::Planner;
use crate::platform::db::rows::{execute_many, Param};
use crate::platform::db::{dialect, Db};
use crate::web::error::{ApiError, ApiResult};
use actix_web::{web, HttpResponse};
use debrief_common::ErrorBody;
use serde::{Deserialize, Serialize};
use sqlx::Acquire;
use std::collections::BTreeMap;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/analytics/funnel", web::get().to(get_funnel));
}

/// The funnel's steps as bits of `invitations.funnel_counted`.
const STEPS: [(&str, i64); 7] = [
    ("sent", 1),
    ("opened", 2),
    ("started", 4),
    ("completed", 8),
    ("opted_out", 16),
    ("bounced", 32),
    ("invited", 64),
];

/// The steps an invitation has reached, as bits, from its columns.
fn reached() -> String {
    let stamp =
        |column: &str, bit: i64| format!("case when {column} is not null then {bit} else 0 end");
    format!(
        "(64 + {} + {} + {} + {} + case when status = 'opted_out' then 16 else 0 end
              + case when status = 'bounced' then 32 else 0 end)",
        stamp("sent_at", 1),
        stamp("opened_at", 2),
        stamp("started_at", 4),
        stamp("completed_at", 8),
    )
}

/// An invitation's key in the aggregate: its method and segment, and its deal as frozen
/// when first counted.
#[derive(sqlx::FromRow)]
struct Filed {
    kind: String,
    segment_key: String,
    frozen_outcome: Option<String>,
    frozen_month: Option<String>,
    frozen_manager: Option<String>,
    frozen_region: Option<String>,
    frozen_product_line: Option<String>,
    /// The steps to add: those a fold added, or those counted before (to take back).
    steps: i64,
}

impl Filed {
    fn key(self) -> (Key, i64) {
        let key = Key {
            month: self.frozen_month.unwrap_or_default(),
            segment_key: self.segment_key,
            region: self.frozen_region.unwrap_or_default(),
            product_line: self.frozen_product_line.unwrap_or_default(),
            method: self.kind,
            outcome: self.frozen_outcome.unwrap_or_default(),
            manager: self.frozen_manager.unwrap_or_default(),
        };
        (key, self.steps)
    }
}

/// A row of `funnel_rollup`, sliced as the migration that makes it a cube says.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    month: String,
    segment_key: String,
    region: String,
    product_line: String,
    method: String,
    outcome: String,
    manager: String,
}

impl Key {
    /// The eight rows it adds to: segment, region and product line each kept or '*'.
    fn slices(&self) -> impl Iterator<Item = Key> + '_ {
        super::rollups::slices([&self.segment_key, &self.region, &self.product_line]).map(
            |[segment_key, region, product_line]| Key {
                segment_key,
                region,
                product_line,
                ..self.clone()
            },
        )
    }
}

/// Counts the steps up to `limit` changed invitations reached since they were last
/// counted; how many it folded. Safe to run from several instances at once: each claims
/// its rows (guarded update, `SKIP LOCKED` on PostgreSQL), and the counts and the claim
/// commit together.
pub async fn fold(db: &Db, limit: i64) -> anyhow::Result<usize> {
    let mut conn = db.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    let reached = reached();
    // Every right-hand side reads the row as it was: `funnel_added` is what this fold
    // counts, against what was counted before.
    let folded: Vec<Filed> = sqlx::query_as(&format!(
        "update invitations set
             funnel_dirty = 0,
             funnel_added = {reached} & ~funnel_counted,
             funnel_counted = {reached},
             frozen_outcome = coalesce(frozen_outcome,
                 (select d.outcome from deals d where d.id = invitations.deal_id)),
             frozen_month = coalesce(frozen_month,
                 (select substr(d.decided_at, 1, 7) from deals d where d.id = invitations.deal_id)),
             frozen_manager = coalesce(frozen_manager,
                 (select coalesce(a.manager_email, '') from accounts a
                  where a.id = invitations.account_id)),
             frozen_region = coalesce(frozen_region,
                 (select coalesce(d.region, '') from deals d where d.id = invitations.deal_id)),
             frozen_product_line = coalesce(frozen_product_line,
                 (select coalesce(d.product_line, '') from deals d
                  where d.id = invitations.deal_id))
         where funnel_dirty = 1 and id in (
             select id from invitations where funnel_dirty = 1 limit $1 {lock})
         returning kind, coalesce(segment_key, '') as segment_key, frozen_outcome,
             frozen_month, frozen_manager, frozen_region, frozen_product_line,
             funnel_added as steps",
        lock = dialect::skip_locked(db.backend()),
    ))
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    if folded.is_empty() {
        return Ok(0);
    }
    // Sorted keys (in `add_counts`): concurrent folds update shared rows in one order,
    // never deadlocking.
    let count = folded.len();
    add_counts(&mut tx, folded.into_iter().map(Filed::key), 1).await?;
    tx.commit().await?;
    Ok(count)
}

/// Adds `sign` times each invitation's steps to the aggregate, keys sorted.
async fn add_counts(
    conn: &mut sqlx::AnyConnection,
    rows: impl Iterator<Item = (Key, i64)>,
    sign: i64,
) -> anyhow::Result<()> {
    let mut sums: BTreeMap<Key, [i64; 7]> = BTreeMap::new();
    for (key, bits) in rows {
        if bits == 0 {
            continue;
        }
        for slice in key.slices() {
            let counts = sums.entry(slice).or_default();
            for (i, (_, bit)) in STEPS.iter().enumerate() {
                counts[i] += sign * i64::from(bits & bit != 0);
            }
        }
    }
    let values: Vec<(&'static str, String)> = sums
        .keys()
        .flat_map(|k| {
            [
                ("segment_key", k.segment_key.clone()),
                ("region", k.region.clone()),
                ("product_line", k.product_line.clone()),
            ]
        })
        .collect();
    let rows: Vec<Vec<Param>> = sums
        .into_iter()
        .map(|(key, counts)| {
            [
                key.month,
                key.segment_key,
                key.region,
                key.product_line,
                key.method,
                key.outcome,
                key.manager,
            ]
            .into_iter()
            .map(Param::from)
            .chain(counts.into_iter().map(Param::from))
            .collect()
        })
        .collect();
    execute_many(
        conn,
        "insert into funnel_rollup (month, segment_key, region, product_line, method, outcome,
             manager_email, sent, opened, started, completed, opted_out, bounced, invited)",
        "on conflict (segment_key, region, product_line, month, method, outcome, manager_email)
         do update set
             sent = funnel_rollup.sent + excluded.sent,
             opened = funnel_rollup.opened + excluded.opened,
             started = funnel_rollup.started + excluded.started,
             completed = funnel_rollup.completed + excluded.completed,
             opted_out = funnel_rollup.opted_out + excluded.opted_out,
             bounced = funnel_rollup.bounced + excluded.bounced,
             invited = funnel_rollup.invited + excluded.invited",
        rows,
    )
    .await?;
    super::rollups::add_values(conn, values.iter().map(|(d, v)| (*d, v.as_str()))).await
}

/// A deal the CRM corrected (its outcome, decision date or manager): its invitations'
/// counted steps are taken back from the keys they were filed under, and the invitations
/// are marked to be folded again under the deal as it is now. In the caller's
/// transaction, which has written the deal: the invitations are locked first.
pub async fn refile(conn: &mut sqlx::AnyConnection, deal_ids: &[&str]) -> anyhow::Result<()> {
    if deal_ids.is_empty() {
        return Ok(());
    }
    let marks = crate::platform::db::rows::list(conn, deal_ids.len());
    let lock = dialect::lock_rows(crate::platform::db::rows::backend(conn));
    let sql = format!(
        "select kind, coalesce(segment_key, '') as segment_key, frozen_outcome, frozen_month,
             frozen_manager, frozen_region, frozen_product_line, funnel_counted as steps
         from invitations where deal_id in ({marks}) {lock}"
    );
    let mut query = sqlx::query_as::<_, Filed>(&sql);
    for id in deal_ids {
        query = query.bind(*id);
    }
    // Every invitation of the deals is locked, counted or not: a fold under way on one of
    // them commits first, and what it counted is read here and taken back.
    let counted = query.fetch_all(&mut *conn).await?;
    add_counts(conn, counted.into_iter().map(Filed::key), -1).await?;
    let sql = format!(
        "update invitations set funnel_counted = 0, funnel_dirty = 1, frozen_outcome = null,
             frozen_month = null, frozen_manager = null, frozen_region = null,
             frozen_product_line = null
         where deal_id in ({marks})"
    );
    let mut query = sqlx::query(&sql);
    for id in deal_ids {
        query = query.bind(*id);
    }
    query.execute(&mut *conn).await?;
    Ok(())
}

/// Folds the changed invitations waiting when it starts: what readers call first (see
/// `insights::coding::catch_up` for why only those).
pub async fn catch_up(db: &Db) -> anyhow::Result<usize> {
    let (waiting,): (i64,) =
        sqlx::query_as("select count(*) from invitations where funnel_dirty = 1")
            .fetch_one(db.pool())
            .await?;
    let waiting = usize::try_from(waiting).unwrap_or(0);
    let mut total = 0;
    while total < waiting {
        let folded = fold(db, 5_000).await?;
        if folded == 0 {
            break;
        }
        total += folded;
    }
    Ok(total)
}

/// A group's funnel, its rates, and how it stands against its target.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FunnelFigure {
    #[serde(flatten)]
    pub steps: Funnel,
    /// Completed over invited, 0 to 1.
    pub participation: Option<f64>,
    pub open_rate: Option<f64>,
    /// The program's target for this group's method; for a mix, the methods' targets
    /// weighted by invitations.
    pub target: Option<f64>,
    pub meets_target: Option<bool>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FunnelGroup {
    /// The segment, method, outcome or manager ('' for none), month or quarter.
    pub key: String,
    #[serde(flatten)]
    pub funnel: FunnelFigure,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FunnelReport {
    pub overall: FunnelFigure,
    pub groups: Vec<FunnelGroup>,
    /// The program's targets: surveys, interviews.
    pub survey_target: f64,
    pub interview_target: f64,
}

/// What the funnel is grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FunnelBy {
    Segment,
    Method,
    Outcome,
    AccountManager,
    Month,
    Quarter,
}

impl FunnelBy {
    fn parse(value: Option<String>) -> ApiResult<FunnelBy> {
        match value {
            None => Ok(FunnelBy::Segment),
            Some(v) => serde_json::from_value(serde_json::Value::String(v)).map_err(|_| {
                ApiError::field(
                    "by",
                    "must be segment, method, outcome, account_manager, month or quarter",
                )
            }),
        }
    }

    fn column(self) -> &'static str {
        match self {
            FunnelBy::Segment => "segment_key",
            FunnelBy::Method => "method",
            FunnelBy::Outcome => "outcome",
            FunnelBy::AccountManager => "manager_email",
            FunnelBy::Month | FunnelBy::Quarter => "month",
        }
    }
}

fn rate(n: u64, of: u64) -> Option<f64> {
    (of > 0).then(|| (n as f64 / of as f64 * 1000.0).round() / 1000.0)
}

/// Per method, the steps of a group: its figure is judged against each method's target.
#[derive(Debug, Default, Clone, Copy)]
struct ByMethod {
    survey: Funnel,
    interview: Funnel,
}

impl ByMethod {
    fn figure(self, targets: (f64, f64)) -> FunnelFigure {
        let mut steps = self.survey;
        steps += self.interview;
        let invited = steps.invited;
        let target = (invited > 0).then(|| {
            let t = (self.survey.invited as f64 * targets.0
                + self.interview.invited as f64 * targets.1)
                / invited as f64;
            (t * 1000.0).round() / 1000.0
        });
        let participation = rate(steps.completed, invited);
        FunnelFigure {
            steps,
            participation,
            open_rate: rate(steps.opened, steps.sent),
            target,
            meets_target: participation.zip(target).map(|(p, t)| p >= t),
        }
    }
}

/// The funnel of invitations in `filter`, by `by`; `targets` are the program's survey and
/// interview targets.
pub async fn funnel(
    db: &Db,
    filter: &Filter,
    by: FunnelBy,
    targets: (f64, f64),
) -> anyhow::Result<FunnelReport> {
    let mut binds = Binds::default();
    let column = by.column();
    let conditions = filter.sliced("r", Some(column), &mut |v| binds.bind(v));
    let sums: String = STEPS
        .iter()
        .map(|(step, _)| format!(", cast(sum(r.{step}) as bigint)"))
        .collect();
    let sql = format!(
        "select r.{column}, r.method{sums} from funnel_rollup r where {conditions}
         group by r.{column}, r.method"
    );
    type Row = (String, String, i64, i64, i64, i64, i64, i64, i64);
    let rows: Vec<Row> = binds.query_as(&sql).fetch_all(db.pool()).await?;
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    let mut groups: BTreeMap<String, ByMethod> = BTreeMap::new();
    let mut overall = ByMethod::default();
    for (key, method, sent, opened, started, completed, opted_out, bounced, invited) in rows {
        let steps = Funnel {
            invited: count(invited),
            sent: count(sent),
            opened: count(opened),
            started: count(started),
            completed: count(completed),
            opted_out: count(opted_out),
            bounced: count(bounced),
        };
        let key = match by {
            FunnelBy::Quarter => Month::parse(&key).map_or(key, Month::quarter),
            _ => key,
        };
        let group = groups.entry(key).or_default();
        if method == "interview" {
            group.interview += steps;
            overall.interview += steps;
        } else {
            group.survey += steps;
            overall.survey += steps;
        }
    }
    Ok(FunnelReport {
        overall: overall.figure(targets),
        groups: groups
            .into_iter()
            .map(|(key, g)| FunnelGroup {
                key,
                funnel: g.figure(targets),
            })
            .collect(),
        survey_target: targets.0,
        interview_target: targets.1,
    })
}

/// The query parameters besides the filter (which takes no competitor: an invitation's
/// deal may have met several).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FunnelQuery {
    /// segment (the default), method, outcome, account_manager, month or quarter.
    pub by: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/analytics/funnel", tag = "analytics", params(FilterQuery, FunnelQuery), responses((status = 200, body = FunnelReport, description = "The participation funnel, with rates against the program's targets"), (status = 422, description = "A parameter, named", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn get_funnel(
    dashboard: Dashboard,
    planner: web::Data<Planner>,
    clock: web::Data<Clock>,
) -> ApiResult<HttpResponse> {
    let Dashboard {
        filter,
        mut params,
        db,
        ..
    } = dashboard;
    let by = FunnelBy::parse(params.take("by"))?;
    params.finish()?;
    filter.without_competitor("the funnel")?;
    let mut conn = db.pool().acquire().await?;
    let program = planner.programs.in_force_at(&mut conn, clock.now()).await?;
    drop(conn);
    catch_up(&db).await?;
    let targets = (program.survey_target, program.interview_target);
    Ok(HttpResponse::Ok().json(funnel(&db, &filter, by, targets).await?))
}
