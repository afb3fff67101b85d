//! Why we win and why we lose: drivers for wins against losses, by competitor, the
//! buyers' strongest words per driver, and the unmet needs behind declined requests.
//! Driver shares read `driver_totals` (or, by segment, `driver_rollup`) and
//! `coded_rollup` (see [`super::rollups`]); the verbatims and declined requests read the
//! analysts' insights, a small share of the coded store, through their own index.

use super::filter::{Binds, Dashboard, Filter, FilterQuery};
use crate::insights::taxonomy::Taxonomy;
use crate::platform::db::Db;
use crate::web::error::{ApiError, ApiResult};
use actix_web::{web, HttpResponse};
use debrief_common::ErrorBody;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/analytics/drivers", web::get().to(get_drivers))
        .route(
            "/api/v1/analytics/competitors",
            web::get().to(get_competitors),
        )
        .route("/api/v1/analytics/verbatims", web::get().to(get_verbatims))
        .route("/api/v1/analytics/declined", web::get().to(get_declined));
}

/// Counts for one driver (or family) among some responses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Mentions {
    /// Responses that mention it.
    pub mentions: u64,
    /// Of those, where it weighed for us, and against us.
    pub positive: u64,
    pub negative: u64,
    /// Responses where it was the only driver against us: given alone, it may be the
    /// easy excuse (price, most often).
    pub sole_negative: u64,
}

impl std::ops::AddAssign for Mentions {
    fn add_assign(&mut self, o: Mentions) {
        self.mentions += o.mentions;
        self.positive += o.positive;
        self.negative += o.negative;
        self.sole_negative += o.sole_negative;
    }
}

fn share(n: u64, of: u64) -> Option<f64> {
    (of > 0).then(|| (n as f64 / of as f64 * 1000.0).round() / 1000.0)
}

/// A driver's or a family's figures.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DriverFigure {
    pub id: String,
    pub label_en: String,
    pub label_fr: String,
    /// The driver's family; none for a family.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    #[serde(flatten)]
    pub counts: Mentions,
    /// Shares of its mentions that were positive, negative; with `mentions` as sample.
    pub positive_share: Option<f64>,
    pub negative_share: Option<f64>,
    /// Share of the coded responses that mention it.
    pub prevalence: Option<f64>,
}

/// The drivers of one outcome's responses.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OutcomeDrivers {
    /// Responses with at least one driver coded: the sample size.
    pub responses: u64,
    /// Most mentioned first.
    pub drivers: Vec<DriverFigure>,
    pub families: Vec<DriverFigure>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DriverReport {
    /// By outcome (won, lost, no_decision, declined), each listed.
    pub by_outcome: BTreeMap<String, OutcomeDrivers>,
}

struct DriverRow {
    group_key: String,
    driver: String,
    mentions: i64,
    positive: i64,
    negative: i64,
    sole_negative: i64,
}

impl From<(String, String, i64, i64, i64, i64)> for DriverRow {
    fn from(
        (group_key, driver, mentions, positive, negative, sole_negative): (
            String,
            String,
            i64,
            i64,
            i64,
            i64,
        ),
    ) -> DriverRow {
        DriverRow {
            group_key,
            driver,
            mentions,
            positive,
            negative,
            sole_negative,
        }
    }
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Driver sums by `group` (key columns of the aggregate, their values joined by `|` in
/// the key) and driver as coded, counted under the driver each has become (merges);
/// `extra` narrows the rows. Grouped by plain columns, in the order of a covering index,
/// so that the database reads the aggregate in order without sorting it.
async fn driver_sums(
    db: &Db,
    filter: &Filter,
    (group, extra): (&[&str], &str),
    taxonomy: &Taxonomy,
) -> anyhow::Result<BTreeMap<String, BTreeMap<String, Mentions>>> {
    let mut binds = Binds::default();
    let conditions = filter.sliced("r", None, &mut |v| binds.bind(v));
    let columns = group.join(", ");
    let sql = format!(
        "select {columns}, r.driver, cast(sum(r.mentions) as bigint),
                cast(sum(r.positive) as bigint), cast(sum(r.negative) as bigint),
                cast(sum(r.sole_negative) as bigint)
         from driver_rollup r where {conditions} and {extra}
         group by {columns}, r.driver"
    );
    // The key is one column or two (competitor and outcome).
    let rows: Vec<DriverRow> = if group.len() == 1 {
        let rows: Vec<(String, String, i64, i64, i64, i64)> =
            binds.query_as(&sql).fetch_all(db.pool()).await?;
        rows.into_iter().map(DriverRow::from).collect()
    } else {
        let rows: Vec<(String, String, String, i64, i64, i64, i64)> =
            binds.query_as(&sql).fetch_all(db.pool()).await?;
        rows.into_iter()
            .map(|(a, b, driver, m, p, n, s)| {
                DriverRow::from((format!("{a}|{b}"), driver, m, p, n, s))
            })
            .collect()
    };
    let mut out: BTreeMap<String, BTreeMap<String, Mentions>> = BTreeMap::new();
    for row in rows {
        let driver = taxonomy
            .reporting(&row.driver)
            .map_or(row.driver, |d| d.id.clone());
        *out.entry(row.group_key)
            .or_default()
            .entry(driver)
            .or_default() += Mentions {
            mentions: count(row.mentions),
            positive: count(row.positive),
            negative: count(row.negative),
            sole_negative: count(row.sole_negative),
        };
    }
    Ok(out)
}

/// Coded responses by `group`, as [`driver_sums`].
async fn coded_sums(
    db: &Db,
    filter: &Filter,
    (group, extra): (&[&str], &str),
) -> anyhow::Result<BTreeMap<String, u64>> {
    let mut binds = Binds::default();
    let conditions = filter.sliced("r", None, &mut |v| binds.bind(v));
    let key = group.join(" || '|' || ");
    let columns = group.join(", ");
    let sql = format!(
        "select {key}, cast(sum(r.responses) as bigint) from coded_rollup r
         where {conditions} and {extra} group by {columns}"
    );
    let rows: Vec<(String, i64)> = binds.query_as(&sql).fetch_all(db.pool()).await?;
    Ok(rows.into_iter().map(|(k, n)| (k, count(n))).collect())
}

fn figure(
    taxonomy: &Taxonomy,
    id: &str,
    counts: Mentions,
    responses: u64,
    family: bool,
) -> DriverFigure {
    let (label, family_id) = if family {
        (taxonomy.family(id).map(|f| f.label.clone()), None)
    } else {
        let d = taxonomy.driver(id);
        (d.map(|d| d.label.clone()), d.map(|d| d.family.clone()))
    };
    DriverFigure {
        id: id.to_owned(),
        label_en: label
            .as_ref()
            .map_or_else(|| id.to_owned(), |l| l.en.clone()),
        label_fr: label.map_or_else(|| id.to_owned(), |l| l.fr),
        family: family_id,
        counts,
        positive_share: share(counts.positive, counts.mentions),
        negative_share: share(counts.negative, counts.mentions),
        prevalence: share(counts.mentions, responses),
    }
}

fn outcome_drivers(
    taxonomy: &Taxonomy,
    drivers: BTreeMap<String, Mentions>,
    responses: u64,
) -> OutcomeDrivers {
    let mut families: BTreeMap<String, Mentions> = BTreeMap::new();
    for (id, counts) in &drivers {
        if let Some(family) = taxonomy.driver(id).map(|d| d.family.clone()) {
            *families.entry(family).or_default() += *counts;
        }
    }
    let mut drivers: Vec<DriverFigure> = drivers
        .into_iter()
        .map(|(id, c)| figure(taxonomy, &id, c, responses, false))
        .collect();
    drivers.sort_by(|a, b| {
        b.counts
            .mentions
            .cmp(&a.counts.mentions)
            .then(a.id.cmp(&b.id))
    });
    let families = families
        .into_iter()
        .map(|(id, c)| figure(taxonomy, &id, c, responses, true))
        .collect();
    OutcomeDrivers {
        responses,
        drivers,
        families,
    }
}

/// Drivers by outcome, of the responses in `filter`.
pub async fn drivers(
    db: &Db,
    filter: &Filter,
    taxonomy: &Taxonomy,
) -> anyhow::Result<DriverReport> {
    let by_outcome: (&[&str], &str) = (&["r.outcome"], "1 = 1");
    let mut sums = driver_sums(db, filter, by_outcome, taxonomy).await?;
    let coded = coded_sums(db, filter, by_outcome).await?;
    let mut by_outcome = BTreeMap::new();
    for outcome in crate::outreach::Outcome::ALL {
        let key = outcome.as_str();
        by_outcome.insert(
            key.to_owned(),
            outcome_drivers(
                taxonomy,
                sums.remove(key).unwrap_or_default(),
                coded.get(key).copied().unwrap_or(0),
            ),
        );
    }
    Ok(DriverReport { by_outcome })
}

#[utoipa::path(get, path = "/api/v1/analytics/drivers", tag = "analytics", params(FilterQuery), responses((status = 200, body = DriverReport, description = "Per outcome, the share of positive and negative mentions per driver and family, with sample sizes"), (status = 422, description = "A parameter, named", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn get_drivers(d: Dashboard) -> ApiResult<HttpResponse> {
    d.params.finish()?;
    Ok(HttpResponse::Ok().json(drivers(&d.db, &d.filter, &d.taxonomy).await?))
}

/// How we fare against one competitor.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CompetitorFigure {
    pub competitor: String,
    /// Coded responses of deals won against them, and lost to them.
    pub won: u64,
    pub lost: u64,
    /// `won / (won + lost)` among those buyers.
    pub win_rate: Option<f64>,
    /// Why we beat them: the drivers most often positive in wins, first.
    pub why_we_win: Vec<DriverFigure>,
    /// Why we lose to them: the drivers most often negative in losses, first.
    pub why_we_lose: Vec<DriverFigure>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CompetitorReport {
    /// Most answers first.
    pub competitors: Vec<CompetitorFigure>,
}

/// Per competitor met, of the responses in `filter`.
pub async fn competitors(
    db: &Db,
    filter: &Filter,
    taxonomy: &Taxonomy,
) -> anyhow::Result<CompetitorReport> {
    // Keyed `competitor|outcome`, of wins and losses against a named competitor.
    let against: (&[&str], &str) = (
        &["r.competitor", "r.outcome"],
        "r.competitor <> '' and r.outcome in ('won', 'lost')",
    );
    let mut counts: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for (key, n) in coded_sums(db, filter, against).await? {
        if let Some((competitor, outcome)) = key.rsplit_once('|') {
            let e = counts.entry(competitor.to_owned()).or_default();
            if outcome == "won" {
                e.0 += n;
            } else {
                e.1 += n;
            }
        }
    }
    let sides: BTreeMap<(String, String), BTreeMap<String, Mentions>> =
        driver_sums(db, filter, against, taxonomy)
            .await?
            .into_iter()
            .filter_map(|(key, drivers)| {
                let (competitor, outcome) = key.rsplit_once('|')?;
                Some(((competitor.to_owned(), outcome.to_owned()), drivers))
            })
            .collect();
    let top = |side: Option<&BTreeMap<String, Mentions>>, responses: u64, positive: bool| {
        let mut figures: Vec<DriverFigure> = side
            .into_iter()
            .flatten()
            .filter(|(_, c)| {
                if positive {
                    c.positive > 0
                } else {
                    c.negative > 0
                }
            })
            .map(|(id, c)| figure(taxonomy, id, *c, responses, false))
            .collect();
        figures.sort_by(|a, b| {
            let key = |f: &DriverFigure| {
                if positive {
                    f.counts.positive
                } else {
                    f.counts.negative
                }
            };
            key(b).cmp(&key(a)).then(a.id.cmp(&b.id))
        });
        figures.truncate(5);
        figures
    };
    let mut competitors: Vec<CompetitorFigure> = counts
        .into_iter()
        .map(|(competitor, (won, lost))| CompetitorFigure {
            why_we_win: top(sides.get(&(competitor.clone(), "won".into())), won, true),
            why_we_lose: top(sides.get(&(competitor.clone(), "lost".into())), lost, false),
            win_rate: share(won, won + lost),
            competitor,
            won,
            lost,
        })
        .collect();
    competitors.sort_by_key(|c| std::cmp::Reverse(c.won + c.lost));
    Ok(CompetitorReport { competitors })
}

#[utoipa::path(get, path = "/api/v1/analytics/competitors", tag = "analytics", params(FilterQuery), responses((status = 200, body = CompetitorReport, description = "Per competitor: how often we win, why we beat them and why we lose to them"), (status = 422, description = "A parameter, named", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn get_competitors(d: Dashboard) -> ApiResult<HttpResponse> {
    d.params.finish()?;
    Ok(HttpResponse::Ok().json(competitors(&d.db, &d.filter, &d.taxonomy).await?))
}

/// A buyer's words about a driver.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Verbatim {
    pub driver: String,
    pub influence: i64,
    pub excerpt: String,
    pub outcome: Option<String>,
    pub deal_competitor: Option<String>,
    pub segment_key: Option<String>,
    pub month: Option<String>,
    pub response_id: String,
}

#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct VerbatimReport {
    /// Per driver (as it counts today), the strongest words first, then the newest.
    pub by_driver: BTreeMap<String, Vec<Verbatim>>,
}

/// The query parameters besides the filter.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerbatimQuery {
    /// One driver; all when absent.
    pub driver: Option<String>,
    /// Per driver, 1 to 20 (default 3).
    pub limit: Option<String>,
}

/// The buyers' strongest words per driver, of the responses in `filter`.
pub async fn verbatims(
    db: &Db,
    filter: &Filter,
    taxonomy: &Taxonomy,
    driver: Option<&str>,
    limit: usize,
) -> anyhow::Result<VerbatimReport> {
    let coded: Vec<&str> = match driver {
        Some(driver) => taxonomy.counted_under(driver),
        None => taxonomy.drivers.iter().map(|d| d.id.as_str()).collect(),
    };
    // A few rows per driver as coded, each read in the order of `insights_verbatims`, so
    // that a large store is never read whole; the few that a merge folds together are
    // ranked again below. At most 400 drivers a statement: SQLite takes 500 parts in a
    // compound select, and ids are never reused, so a taxonomy only grows.
    let mut rows: Vec<Verbatim> = Vec::new();
    for drivers in coded.chunks(400) {
        let mut binds = Binds::default();
        let conditions = filter.sql_insights(&mut |v| binds.bind(v));
        let sql = drivers
            .iter()
            .enumerate()
            .map(|(i, d)| {
                format!(
                    "select * from (
                         select driver, influence, excerpt, outcome, deal_competitor,
                                segment_key, month, response_id
                         from insights n
                         where n.driver = {} and n.excerpt is not null and {conditions}
                         order by abs(n.influence) desc, n.coded_at desc, n.id desc
                         limit {limit}) v{i}",
                    binds.bind((*d).to_owned())
                )
            })
            .collect::<Vec<_>>()
            .join(" union all ");
        let found: Vec<Verbatim> = binds.query_as(&sql).fetch_all(db.pool()).await?;
        rows.extend(found);
    }
    let mut by_driver: BTreeMap<String, Vec<Verbatim>> = BTreeMap::new();
    for v in rows {
        let key = taxonomy
            .reporting(&v.driver)
            .map_or(v.driver.clone(), |d| d.id.clone());
        by_driver.entry(key).or_default().push(v);
    }
    for list in by_driver.values_mut() {
        list.sort_by_key(|v| std::cmp::Reverse(v.influence.abs()));
        list.truncate(limit);
    }
    Ok(VerbatimReport { by_driver })
}

#[utoipa::path(get, path = "/api/v1/analytics/verbatims", tag = "analytics", params(FilterQuery, VerbatimQuery), responses((status = 200, body = VerbatimReport, description = "The buyers' strongest words per driver"), (status = 422, description = "A parameter, named", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn get_verbatims(dashboard: Dashboard) -> ApiResult<HttpResponse> {
    let Dashboard {
        filter,
        mut params,
        taxonomy,
        db,
    } = dashboard;
    let driver = params.take("driver");
    let limit = params.take("limit");
    params.finish()?;
    if let Some(d) = &driver {
        if taxonomy.driver(d).is_none() {
            return Err(ApiError::field("driver", "is not a driver of the taxonomy"));
        }
    }
    let limit = match limit {
        None => 3,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=20).contains(n))
            .ok_or_else(|| ApiError::field("limit", "must be 1 to 20"))?,
    };
    Ok(
        HttpResponse::Ok()
            .json(verbatims(&db, &filter, &taxonomy, driver.as_deref(), limit).await?),
    )
}

/// An unmet need: a driver coded in the buyers' requests we declined.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UnmetNeed {
    pub driver: String,
    pub label_en: String,
    pub label_fr: String,
    /// Declined requests whose words name it (a request naming two drivers that a merge
    /// has since folded into this one counts twice).
    pub requests: u64,
    /// By request type (the deal's product line), requester profile (persona) and
    /// period: how many requests.
    pub by_request_type: BTreeMap<String, u64>,
    pub by_requester: BTreeMap<String, u64>,
    pub by_period: BTreeMap<String, u64>,
    /// Up to three of the buyers' words.
    pub examples: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeclinedReport {
    /// Answers about declined requests (the survey, and interviews of declined deals),
    /// and how many of them an analyst has coded.
    pub answered: u64,
    pub coded: u64,
    /// Largest first.
    pub unmet_needs: Vec<UnmetNeed>,
    /// What the buyers did instead (the survey's `instead` question): choice, count.
    pub instead: BTreeMap<String, u64>,
}

/// The recurring reasons behind declined requests, of the months in `filter`: read from
/// `unmet_need_rollup` and `declined_rollup`, with the buyers' words from [`verbatims`].
pub async fn declined(
    db: &Db,
    filter: &Filter,
    taxonomy: &Taxonomy,
) -> anyhow::Result<DeclinedReport> {
    let declined = Filter {
        outcome: Some(crate::outreach::Outcome::Declined),
        ..filter.clone()
    };
    let mut binds = Binds::default();
    let conditions = declined.sql("r", &mut |v| binds.bind(v));
    let sql = format!(
        "select r.driver, r.product_line, r.persona, r.period,
                cast(sum(r.requests) as bigint)
         from unmet_need_rollup r where {conditions}
         group by r.driver, r.product_line, r.persona, r.period"
    );
    let rows: Vec<(String, String, String, String, i64)> =
        binds.query_as(&sql).fetch_all(db.pool()).await?;
    let examples = verbatims(db, &declined, taxonomy, None, 3).await?;
    let mut needs: BTreeMap<String, UnmetNeed> = BTreeMap::new();
    for (driver, product_line, persona, period, n) in rows {
        let n = count(n);
        if n == 0 {
            continue;
        }
        // A request whose words name two drivers a merge has since folded together is
        // counted under the merged driver twice: the aggregate keeps drivers as coded.
        let driver = taxonomy.reporting(&driver).map_or(driver, |d| d.id.clone());
        let need = needs.entry(driver.clone()).or_insert_with(|| {
            let label = taxonomy.driver(&driver).map(|d| d.label.clone());
            UnmetNeed {
                label_en: label
                    .as_ref()
                    .map_or_else(|| driver.clone(), |l| l.en.clone()),
                label_fr: label.map_or_else(|| driver.clone(), |l| l.fr),
                examples: examples
                    .by_driver
                    .get(&driver)
                    .map(|words| {
                        let mut out: Vec<String> = Vec::new();
                        for w in words {
                            if !out.contains(&w.excerpt) {
                                out.push(w.excerpt.clone());
                            }
                        }
                        out
                    })
                    .unwrap_or_default(),
                driver,
                requests: 0,
                by_request_type: BTreeMap::new(),
                by_requester: BTreeMap::new(),
                by_period: BTreeMap::new(),
            }
        });
        need.requests += n;
        *need.by_request_type.entry(product_line).or_default() += n;
        *need.by_requester.entry(persona).or_default() += n;
        *need.by_period.entry(period).or_default() += n;
    }
    let mut unmet_needs: Vec<UnmetNeed> = needs.into_values().collect();
    unmet_needs.sort_by(|a, b| b.requests.cmp(&a.requests).then(a.driver.cmp(&b.driver)));

    let mut binds = Binds::default();
    let conditions = declined.sql("r", &mut |v| binds.bind(v));
    let sql = format!(
        "select r.instead, cast(sum(r.answered) as bigint), cast(sum(r.coded) as bigint)
         from declined_rollup r where {conditions}
         group by r.instead"
    );
    let choices: Vec<(String, i64, i64)> = binds.query_as(&sql).fetch_all(db.pool()).await?;
    let (mut answered, mut coded) = (0, 0);
    let mut instead = BTreeMap::new();
    for (choice, n, worded) in choices {
        answered += count(n);
        coded += count(worded);
        if !choice.is_empty() && n > 0 {
            instead.insert(choice, count(n));
        }
    }
    Ok(DeclinedReport {
        answered,
        coded,
        unmet_needs,
        instead,
    })
}

#[utoipa::path(get, path = "/api/v1/analytics/declined", tag = "analytics", params(FilterQuery), responses((status = 200, body = DeclinedReport, description = "The unmet needs behind declined requests, largest first, by request type, requester and period"), (status = 422, description = "A parameter, named", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)), security(("api_key" = [])))]
pub async fn get_declined(d: Dashboard) -> ApiResult<HttpResponse> {
    d.filter.without_slices("declined requests")?;
    d.params.finish()?;
    Ok(HttpResponse::Ok().json(declined(&d.db, &d.filter, &d.taxonomy).await?))
}
