//! Evaluating the rules, on a schedule (a job that runs every hour, [`Evaluation`]): each
//! enabled rule's metric over its window, per group, against the window before or its
//! threshold. A finding is recorded as a firing, once per rule, group and window (a unique
//! key), unless that group is snoozed; each new firing queues its deliveries in the same
//! transaction.

use super::message::{describe, Figures};
use super::rules::{self, Comparison, Metric, Per, Rule, StoredRule, Unit};
use crate::analytics::filter::{Binds, Filter, Month};
use crate::insights::taxonomy::{self, Taxonomy};
use crate::jobs::runner::{Failure, Handler, JobResult, Outcome as JobOutcome};
use crate::jobs::{self, Job, JobKind, NewJob, Next};
use crate::platform::db::time::to_db;
use crate::platform::db::{self, Db};
use crate::surveys::definitions::Definitions;
use chrono::{DateTime, Duration, Utc};
use debrief_common::Locale;
use debrief_common::NpsSummary;
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use sqlx::Acquire;
use std::collections::BTreeMap;

/// A rule's window: months, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: Month,
    pub to: Month,
}

impl Window {
    /// The `months` up to and including the month of `now`, and the same number before.
    pub fn current_and_previous(now: DateTime<Utc>, months: u32) -> (Window, Window) {
        let n = i32::try_from(months).unwrap_or(1);
        let to = Month::of(now.date_naive());
        let current = Window {
            from: to.plus(1 - n),
            to,
        };
        let previous = Window {
            from: to.plus(1 - 2 * n),
            to: to.plus(-n),
        };
        (current, previous)
    }

    /// `2026-10..2026-12`.
    pub fn key(self) -> String {
        format!("{}..{}", self.from.label(), self.to.label())
    }
}

/// A value measured over a window: the metric (none without data) and its sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measure {
    pub value: Option<f64>,
    pub sample: u64,
}

fn pct(n: u64, of: u64) -> Option<f64> {
    (of > 0).then(|| (n as f64 * 1000.0 / of as f64).round() / 10.0)
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// The rule's metric over `window`, per group ('' when the rule has no `per`).
pub async fn measure(
    db: &Db,
    rule: &Rule,
    taxonomy: &Taxonomy,
    window: Window,
) -> anyhow::Result<BTreeMap<String, Measure>> {
    let filter = Filter {
        from: Some(window.from),
        to: Some(window.to),
        segment: rule.segment.clone(),
        outcome: rule.outcome,
        competitor: rule.competitor.clone(),
        ..Filter::default()
    };
    let per = match rule.per {
        Some(Per::Segment) => Some("segment_key"),
        Some(Per::Competitor) => Some("competitor"),
        Some(Per::Outcome) => Some("outcome"),
        None => None,
    };
    let mut binds = Binds::default();
    let conditions = filter.sliced("r", per, &mut |v| binds.bind(v));
    let column = per.map(|c| format!("r.{c}"));
    let column = column.as_deref();
    // Without groups, one row for the whole slice: PostgreSQL refuses `group by ''`, and
    // sums over no rows are null.
    let group = column.unwrap_or("''");
    let grouped = column.map_or(String::new(), |c| format!("group by {c}"));
    let mut out = BTreeMap::new();
    match rule.metric {
        Metric::Nps => {
            let sql = format!(
                "select {group}, cast(coalesce(sum(r.promoters), 0) as bigint), cast(coalesce(sum(r.passives), 0) as bigint),
                        cast(coalesce(sum(r.detractors), 0) as bigint)
                 from nps_rollup r where {conditions} {grouped}"
            );
            let rows: Vec<(String, i64, i64, i64)> =
                binds.query_as(&sql).fetch_all(db.pool()).await?;
            for (key, promoters, passives, detractors) in rows {
                let s = NpsSummary {
                    promoters: count(promoters),
                    passives: count(passives),
                    detractors: count(detractors),
                };
                out.insert(
                    key,
                    Measure {
                        value: s.score(),
                        sample: s.sample_size(),
                    },
                );
            }
        }
        Metric::Participation => {
            let sql = format!(
                "select {group}, cast(coalesce(sum(r.completed), 0) as bigint), cast(coalesce(sum(r.invited), 0) as bigint)
                 from funnel_rollup r where {conditions} {grouped}"
            );
            let rows: Vec<(String, i64, i64)> = binds.query_as(&sql).fetch_all(db.pool()).await?;
            for (key, completed, invited) in rows {
                out.insert(
                    key,
                    Measure {
                        value: pct(count(completed), count(invited)),
                        sample: count(invited),
                    },
                );
            }
        }
        Metric::DriverNegativeShare => {
            let watched = rule.driver.as_deref().unwrap_or_default();
            // The driver and those merged into it.
            let drivers: Vec<String> = taxonomy
                .counted_under(watched)
                .into_iter()
                .map(|d| binds.bind(d.to_owned()))
                .collect();
            if drivers.is_empty() {
                return Ok(out);
            }
            let sql = format!(
                "select {group}, cast(coalesce(sum(r.negative), 0) as bigint), cast(coalesce(sum(r.mentions), 0) as bigint)
                 from driver_rollup r where {conditions} and r.driver in ({})
                 {grouped}",
                drivers.join(", ")
            );
            let rows: Vec<(String, i64, i64)> = binds.query_as(&sql).fetch_all(db.pool()).await?;
            for (key, negative, mentions) in rows {
                out.insert(
                    key,
                    Measure {
                        value: pct(count(negative), count(mentions)),
                        sample: count(mentions),
                    },
                );
            }
        }
        Metric::WinRate => {
            let sql = format!(
                "select {group},
                        cast(coalesce(sum(case when r.outcome = 'won' then r.responses else 0 end), 0) as bigint),
                        cast(coalesce(sum(r.responses), 0) as bigint)
                 from coded_rollup r where {conditions} and r.outcome in ('won', 'lost')
                 {grouped}"
            );
            let rows: Vec<(String, i64, i64)> = binds.query_as(&sql).fetch_all(db.pool()).await?;
            for (key, won, decided) in rows {
                out.insert(
                    key,
                    Measure {
                        value: pct(count(won), count(decided)),
                        sample: count(decided),
                    },
                );
            }
        }
    }
    Ok(out)
}

/// What a rule found for one group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The group ('' for the whole slice).
    pub group: String,
    pub window: String,
    pub value: f64,
    /// The previous window's value, for a change.
    pub baseline: Option<f64>,
    pub sample: u64,
    pub message: String,
}

/// Where the rule's groups are found wanting: the findings, each with a sentence saying
/// what moved.
pub fn judge(
    rule: &Rule,
    window: (Window, Window),
    current: &BTreeMap<String, Measure>,
    previous: &BTreeMap<String, Measure>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (group, now) in current {
        let Some(value) = now.value.filter(|_| now.sample >= rule.min_sample) else {
            continue;
        };
        let figures = |baseline: Option<f64>| Finding {
            group: group.clone(),
            window: window.0.key(),
            value,
            baseline,
            sample: now.sample,
            message: describe(
                rule,
                Figures {
                    group,
                    window: &window.0.key(),
                    value,
                    baseline,
                    sample: now.sample,
                },
                Locale::En,
            ),
        };
        let finding = match &rule.comparison {
            Comparison::PreviousWindow { change, unit: by } => {
                let Some(before) = previous
                    .get(group)
                    .filter(|m| m.sample >= rule.min_sample)
                    .and_then(|m| m.value)
                else {
                    continue;
                };
                let moved = match by {
                    Unit::Points => value - before,
                    Unit::Percent if before != 0.0 => (value - before) / before.abs() * 100.0,
                    Unit::Percent => continue,
                };
                let reached = if *change < 0.0 {
                    moved <= *change
                } else {
                    moved >= *change
                };
                if !reached {
                    continue;
                }
                figures(Some(before))
            }
            Comparison::Threshold { below, above } => {
                let crossed = below.is_some_and(|b| value < b) || above.is_some_and(|a| value > a);
                if !crossed {
                    continue;
                }
                figures(None)
            }
        };
        findings.push(finding);
    }
    findings
}

/// The payload of a delivery job: a firing, and which receiver (none: the owners' email).
#[derive(Debug, Serialize, Deserialize)]
pub struct Delivery {
    pub firing_id: String,
    pub receiver: Option<usize>,
}

/// Records a finding as a firing unless the rule already fired for this group and window,
/// or the group is snoozed; queues its deliveries with it. The firing's id when new.
async fn record(
    db: &Db,
    rule: &StoredRule,
    finding: &Finding,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<String>> {
    let stamp = to_db(now);
    let mut conn = db.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    // One statement, a write from the start: on SQLite the transaction takes the write
    // lock here, so no other writer slips in between a check and the insert.
    let id = db::new_id();
    let inserted = sqlx::query(
        "insert into alert_firings (id, rule_id, group_key, window_key, value, baseline, sample,
             message, status, fired_at)
         select $1, $2, $3, $4, cast($5 as double precision),
             cast(cast($6 as text) as double precision),
             cast($7 as bigint), $8, 'open', $9
         where not exists (select 1 from alert_firings s
                           where s.rule_id = $2 and s.group_key = $3
                             and s.status = 'snoozed' and s.snoozed_until > $9)
         on conflict (rule_id, group_key, window_key) do nothing",
    )
    .bind(&id)
    .bind(&rule.id)
    .bind(&finding.group)
    .bind(&finding.window)
    .bind(finding.value)
    // As text, a null or not: PostgreSQL prepares the statement once per connection with
    // the types of its first binds, and a later float sent where a null was typed at
    // first fails ("incorrect binary data format"). Rust prints a float exactly.
    .bind(finding.baseline.map(|b| b.to_string()))
    .bind(i64::try_from(finding.sample).unwrap_or(i64::MAX))
    .bind(&finding.message)
    .bind(&stamp)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(None);
    }
    let mut deliveries = Vec::new();
    for i in 0..rule.rule.receivers.len() {
        let payload = Delivery {
            firing_id: id.clone(),
            receiver: Some(i),
        };
        deliveries.push(NewJob::new(
            JobKind::AlertDelivery,
            format!("alert:{id}:{i}"),
            &payload,
            now,
        )?);
    }
    if !rule.rule.owners.is_empty() {
        let payload = Delivery {
            firing_id: id.clone(),
            receiver: None,
        };
        deliveries.push(NewJob::new(
            JobKind::AlertDelivery,
            format!("alert:{id}:owners"),
            &payload,
            now,
        )?);
    }
    jobs::enqueue_many(&mut tx, deliveries, now).await?;
    tx.commit().await?;
    Ok(Some(id))
}

/// Evaluates every enabled rule now; the ids of the new firings.
pub async fn evaluate_all(
    db: &Db,
    definitions: &Definitions,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<String>> {
    crate::insights::coding::catch_up(db, definitions, now).await?;
    crate::analytics::funnel::catch_up(db).await?;
    let (_, taxonomy) = taxonomy::VERSIONS.current(db).await?;
    let mut fired = Vec::new();
    for rule in rules::all(db).await? {
        if !rule.rule.enabled {
            continue;
        }
        let windows = Window::current_and_previous(now, rule.rule.window_months);
        let current = measure(db, &rule.rule, &taxonomy, windows.0).await?;
        let previous = match rule.rule.comparison {
            Comparison::PreviousWindow { .. } => {
                measure(db, &rule.rule, &taxonomy, windows.1).await?
            }
            Comparison::Threshold { .. } => BTreeMap::new(),
        };
        for finding in judge(&rule.rule, windows, &current, &previous) {
            if let Some(id) = record(db, &rule, &finding, now).await? {
                fired.push(id);
            }
        }
    }
    Ok(fired)
}

/// How often the rules are evaluated.
pub const EVERY: Duration = Duration::hours(1);

/// The one evaluation job: created at start if missing, it runs every hour and goes on
/// as its own next step.
pub async fn schedule(db: &Db, now: DateTime<Utc>) -> anyhow::Result<()> {
    let job = NewJob::new(
        JobKind::AlertEvaluation,
        "alerts:evaluate".to_owned(),
        &serde_json::json!({}),
        now,
    )?;
    let mut conn = db.pool().acquire().await?;
    jobs::enqueue_many(&mut conn, vec![job], now).await?;
    Ok(())
}

/// The handler of [`JobKind::AlertEvaluation`].
pub struct Evaluation {
    pub db: Db,
    pub definitions: Definitions,
}

impl Handler for Evaluation {
    fn kind(&self) -> JobKind {
        JobKind::AlertEvaluation
    }

    fn perform<'a>(&'a self, jobs: Vec<Job>, now: DateTime<Utc>) -> BoxFuture<'a, Vec<JobResult>> {
        Box::pin(async move {
            let mut results = Vec::with_capacity(jobs.len());
            for job in jobs {
                let result = match evaluate_all(&self.db, &self.definitions, now).await {
                    Ok(fired) => {
                        if !fired.is_empty() {
                            tracing::info!(firings = fired.len(), "alert rules fired");
                        }
                        Next::new(
                            JobKind::AlertEvaluation,
                            &serde_json::json!({}),
                            now + EVERY,
                        )
                        .map(JobOutcome::Recur)
                        .map_err(Failure::from)
                    }
                    Err(e) => Err(Failure::from(e)),
                };
                results.push((job, result));
            }
            results
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::rules::{Comparison, Metric, Per, Unit};

    fn rule(min_sample: u64) -> Rule {
        Rule {
            name: "NPS down".into(),
            metric: Metric::Nps,
            driver: None,
            segment: None,
            outcome: None,
            competitor: None,
            per: Some(Per::Competitor),
            window_months: 1,
            comparison: Comparison::PreviousWindow {
                change: -10.0,
                unit: Unit::Points,
            },
            min_sample,
            action: "Act.".into(),
            owners: Vec::new(),
            receivers: Vec::new(),
            locale: Default::default(),
            enabled: true,
        }
    }

    fn at(value: f64, sample: u64) -> Measure {
        Measure {
            value: Some(value),
            sample,
        }
    }

    #[test]
    fn windows_are_the_months_up_to_now_and_as_many_before() {
        let now = "2027-01-20T10:00:00Z".parse().expect("instant");
        let (current, previous) = Window::current_and_previous(now, 3);
        assert_eq!(current.key(), "2026-11..2027-01");
        assert_eq!(previous.key(), "2026-08..2026-10");
    }

    #[test]
    fn a_drop_alerts_only_where_both_windows_have_their_sample() {
        let now = "2026-12-05T10:00:00Z".parse().expect("instant");
        let windows = Window::current_and_previous(now, 1);
        let current = BTreeMap::from([
            ("Northwind".to_owned(), at(18.0, 25)),
            ("Initech".to_owned(), at(29.0, 25)),
            ("Globex".to_owned(), at(-40.0, 3)),
        ]);
        let previous = BTreeMap::from([
            ("Northwind".to_owned(), at(30.0, 25)),
            ("Initech".to_owned(), at(30.0, 25)),
            ("Globex".to_owned(), at(20.0, 25)),
        ]);
        let found = judge(&rule(5), windows, &current, &previous);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].group, "Northwind");
        assert_eq!(found[0].window, "2026-12..2026-12");
        assert_eq!(
            found[0].message,
            "NPS against Northwind: 18.0 in 2026-12..2026-12, -12.0 points from 30.0 in 2026-11..2026-11 (sample 25)."
        );
        // Three answers are noise, whatever they say.
        assert!(judge(&rule(30), windows, &current, &previous).is_empty());
    }
}
