//! The monthly digest: each department's reader gets, in their language, last month's
//! participation against target, the NPS and its trend, the drivers that won and lost
//! deals in their field, three of the buyers' strongest words, and the alerts still open.
//!
//! A schedule job (`digest_schedule`) runs on the first of each month at 07:00 UTC and
//! queues one `digest_email` job per subscriber, keyed by month and subscriber: two
//! instances, a restart or a replay never send a month's digest twice. Each email is
//! rendered when it is sent, from the aggregates, and retried on its own.

use super::facts::{weighing, Facts, Period, Words};
use super::subscribers::{self, Subscriber};
use crate::alerts::message::{describe, Figures};
use crate::alerts::rules;
use crate::analytics::drivers::OutcomeDrivers;
use crate::analytics::filter::Month;
use crate::channels::email::staff;
use crate::channels::email::templates::Rendered;
use crate::insights::taxonomy::Taxonomy;
use crate::jobs::runner::{one_by_one, Failure, Handler, JobResult, Outcome};
use crate::jobs::{self, Job, JobKind, NewJob, Next};
use crate::outreach::invitation_email::EmailContext;
use crate::platform::db::Db;
use crate::surveys::definitions::Definitions;
use crate::text_enum;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use debrief_common::Locale;
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

text_enum! {
    /// Who reads a digest: each department sees the drivers of its own field.
    pub enum Department {
        Sales = "sales",
        Product = "product",
        Marketing = "marketing",
        CustomerSuccess = "customer_success",
        Leadership = "leadership",
    }
}

impl Department {
    /// The driver families it acts on; leadership reads them all.
    fn families(self) -> Option<&'static [&'static str]> {
        match self {
            Department::Sales => Some(&["sales_experience", "price_and_packaging"]),
            Department::Product => Some(&["product_service"]),
            Department::Marketing => Some(&["company", "price_and_packaging"]),
            Department::CustomerSuccess => Some(&["customer_support", "product_service"]),
            Department::Leadership => None,
        }
    }

    /// Sales, marketing and leadership read the competitors; product and leadership the
    /// unmet needs behind the requests we declined.
    fn reads_competitors(self) -> bool {
        matches!(
            self,
            Department::Sales | Department::Marketing | Department::Leadership
        )
    }

    fn reads_needs(self) -> bool {
        matches!(self, Department::Product | Department::Leadership)
    }

    pub fn label(self, locale: Locale) -> &'static str {
        let fr = locale == Locale::Fr;
        match (self, fr) {
            (Department::Sales, false) => "Sales",
            (Department::Sales, true) => "Ventes",
            (Department::Product, false) => "Product",
            (Department::Product, true) => "Produit",
            (Department::Marketing, _) => "Marketing",
            (Department::CustomerSuccess, false) => "Customer success",
            (Department::CustomerSuccess, true) => "Succès client",
            (Department::Leadership, false) => "Leadership",
            (Department::Leadership, true) => "Direction",
        }
    }
}

/// A participation line.
#[derive(Debug, Serialize)]
struct Rate {
    completed: String,
    invited: String,
    rate: String,
    target: String,
    below: bool,
}

#[derive(Debug, Serialize)]
struct TrendLine {
    month: String,
    nps: String,
    sample: String,
}

#[derive(Debug, Serialize)]
struct DriverLine {
    driver: String,
    share: String,
    mentions: String,
    /// Times it was the only driver against us ('' when never, or for wins).
    alone: String,
}

#[derive(Debug, Serialize)]
struct WordsLine {
    excerpt: String,
    driver: String,
    outcome: String,
}

#[derive(Debug, Serialize)]
struct CompetitorLine {
    name: String,
    won: String,
    lost: String,
    win_rate: String,
    why_we_lose: String,
}

#[derive(Debug, Serialize)]
struct NeedLine {
    driver: String,
    requests: String,
}

#[derive(Debug, Serialize)]
struct AlertLine {
    rule: String,
    message: String,
    action: String,
}

/// What the templates `monthly_digest.*` print: every figure already written in the
/// reader's language (the templates only test whether a part is there).
#[derive(Debug, Serialize)]
struct DigestData {
    company: String,
    department: String,
    focus: String,
    month: String,
    surveys: Option<Rate>,
    interviews: Option<Rate>,
    nps: String,
    nps_sample: String,
    nps_change: String,
    trend: Vec<TrendLine>,
    wins: Vec<DriverLine>,
    losses: Vec<DriverLine>,
    words: Vec<WordsLine>,
    competitors: Vec<CompetitorLine>,
    needs: Vec<NeedLine>,
    alerts: Vec<AlertLine>,
}

/// Months of NPS trend a digest shows.
const TREND: i32 = 6;

/// The drivers of `families` (all when `None`), as the taxonomy counts them today.
fn in_focus<'a>(taxonomy: &'a Taxonomy, families: Option<&[&str]>) -> Vec<&'a str> {
    taxonomy
        .drivers
        .iter()
        .filter(|d| families.is_none_or(|f| f.contains(&d.family.as_str())))
        .map(|d| d.id.as_str())
        .collect()
}

/// The three drivers of `focus` that weighed most for (`positive`) or against us.
fn top_drivers(
    outcome: Option<&OutcomeDrivers>,
    focus: &[&str],
    positive: bool,
    taxonomy: &Taxonomy,
    words: Words,
) -> Vec<DriverLine> {
    let Some(outcome) = outcome else {
        return Vec::new();
    };
    weighing(outcome, positive, |id| focus.contains(&id))
        .into_iter()
        .take(3)
        .map(|(d, _)| DriverLine {
            driver: words.driver(taxonomy, &d.id),
            share: words.percent(if positive {
                d.positive_share
            } else {
                d.negative_share
            }),
            mentions: d.counts.mentions.to_string(),
            alone: if positive || d.counts.sole_negative == 0 {
                String::new()
            } else {
                d.counts.sole_negative.to_string()
            },
        })
        .collect()
}

/// The digest of `facts` for a reader of `department` in `locale`.
async fn data(
    db: &Db,
    facts: &Facts,
    taxonomy: &Taxonomy,
    department: Department,
    locale: Locale,
    company: &str,
) -> anyhow::Result<DigestData> {
    let words = Words(locale);
    let focus = in_focus(taxonomy, department.families());
    let rate = |key: &str, target: f64| {
        let group = facts.funnel.groups.iter().find(|g| g.key == key)?;
        let f = &group.funnel;
        (f.steps.invited > 0).then(|| Rate {
            completed: f.steps.completed.to_string(),
            invited: f.steps.invited.to_string(),
            rate: words.percent(f.participation),
            target: words.percent(Some(target)),
            below: f.participation.is_some_and(|p| p < target),
        })
    };
    let nps_change = match (facts.nps.score, facts.nps_before.score) {
        (Some(now), Some(before)) => words.points(now - before),
        _ => String::new(),
    };
    let trend = facts
        .trend
        .groups
        .iter()
        .map(|g| TrendLine {
            month: Month::parse(&g.key).map_or_else(|| g.key.clone(), |m| words.month(m)),
            nps: words.nps(g.nps.score),
            sample: g.nps.sample_size.to_string(),
        })
        .collect();
    let by_outcome = &facts.drivers.by_outcome;
    let strongest = facts.strongest_words(Some(&focus), 3);
    let mut alerts = Vec::new();
    for firing in &facts.alerts {
        let Some(rule) = rules::get(db, &firing.rule_id).await? else {
            continue;
        };
        alerts.push(AlertLine {
            message: describe(&rule.rule, Figures::of(firing), locale),
            rule: rule.rule.name,
            action: rule.rule.action,
        });
    }
    let competitors = if department.reads_competitors() {
        facts
            .competitors
            .competitors
            .iter()
            .take(3)
            .map(|c| CompetitorLine {
                name: c.competitor.clone(),
                won: c.won.to_string(),
                lost: c.lost.to_string(),
                win_rate: words.percent(c.win_rate),
                why_we_lose: c
                    .why_we_lose
                    .iter()
                    .take(2)
                    .map(|d| words.driver(taxonomy, &d.id))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
            .collect()
    } else {
        Vec::new()
    };
    let needs = if department.reads_needs() {
        facts
            .declined
            .unmet_needs
            .iter()
            .take(3)
            .map(|n| NeedLine {
                driver: words.driver(taxonomy, &n.driver),
                requests: n.requests.to_string(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let focus_label = match department.families() {
        Some(families) => families
            .iter()
            .map(|f| words.family(taxonomy, f))
            .collect::<Vec<_>>()
            .join(", "),
        None if locale == Locale::Fr => "tous".to_owned(),
        None => "all".to_owned(),
    };
    Ok(DigestData {
        company: company.to_owned(),
        department: department.label(locale).to_owned(),
        focus: focus_label,
        month: words.month(facts.period.last),
        surveys: rate("survey", facts.funnel.survey_target),
        interviews: rate("interview", facts.funnel.interview_target),
        nps: words.nps(facts.nps.score),
        nps_sample: facts.nps.sample_size.to_string(),
        nps_change,
        trend,
        wins: top_drivers(by_outcome.get("won"), &focus, true, taxonomy, words),
        losses: top_drivers(by_outcome.get("lost"), &focus, false, taxonomy, words),
        words: strongest
            .into_iter()
            .map(|v| WordsLine {
                excerpt: v.excerpt.clone(),
                driver: words.driver(taxonomy, &v.driver),
                outcome: words.outcome(v.outcome.as_deref().unwrap_or_default()),
            })
            .collect(),
        competitors,
        needs,
        alerts,
    })
}

/// Everything a digest is made from, for the job and the preview.
pub struct Digests {
    pub email: Arc<EmailContext>,
    pub definitions: Definitions,
}

impl Digests {
    /// The digest of `month` for `department` in `locale`, rendered.
    pub async fn render(
        &self,
        month: Month,
        department: Department,
        locale: Locale,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Rendered> {
        render(
            &self.email,
            &self.definitions,
            month,
            department,
            locale,
            now,
        )
        .await
    }

    async fn send(&self, job: &Job, now: DateTime<Utc>) -> Result<Outcome, Failure> {
        let due: Due = job
            .payload()
            .map_err(|e| Failure::permanent(e.to_string()))?;
        let month = Month::parse(&due.month)
            .ok_or_else(|| Failure::permanent("the digest's month is unreadable"))?;
        // Unsubscribed since: nothing to send.
        let Some(reader) = subscribers::get(&self.email.db, &due.subscriber_id).await? else {
            return Ok(Outcome::Skipped(Vec::new()));
        };
        let rendered = self
            .render(month, reader.department, reader.locale, now)
            .await?;
        if staff::send(
            &self.email,
            job,
            std::slice::from_ref(&reader.email),
            rendered,
        )
        .await?
        {
            Ok(Outcome::Performed(Vec::new()))
        } else {
            Ok(Outcome::Skipped(Vec::new()))
        }
    }
}

/// The digest of `month` for `department` in `locale`, from the aggregates as they stand.
pub async fn render(
    ctx: &EmailContext,
    definitions: &Definitions,
    month: Month,
    department: Department,
    locale: Locale,
    now: DateTime<Utc>,
) -> anyhow::Result<Rendered> {
    let db = &ctx.db;
    let period = Period::month(month);
    let (facts, taxonomy) =
        Facts::as_they_stand(db, definitions, &ctx.programs, period, TREND, now).await?;
    let data = data(db, &facts, &taxonomy, department, locale, &ctx.company).await?;
    ctx.templates
        .render("monthly_digest", locale, serde_json::to_value(data)?)
}

/// A digest email's job: whom, and which month.
#[derive(Debug, Serialize, Deserialize)]
pub struct Due {
    pub subscriber_id: String,
    /// `2026-11`.
    pub month: String,
}

/// Queues `month`'s digest for every subscriber, once each: a digest already queued or
/// sent for a subscriber and month is left alone. How many were queued.
pub async fn queue(db: &Db, month: Month, now: DateTime<Utc>) -> anyhow::Result<u64> {
    let readers: Vec<Subscriber> = subscribers::all(db).await?;
    let jobs = readers
        .iter()
        .map(|r| {
            NewJob::new(
                JobKind::DigestEmail,
                format!("digest:{}:{}", month.label(), r.id),
                &Due {
                    subscriber_id: r.id.clone(),
                    month: month.label(),
                },
                now,
            )
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut conn = db.pool().acquire().await?;
    jobs::enqueue_many(&mut conn, jobs, now).await
}

/// When the digests go out: the first of the month after `now`, at 07:00 UTC.
pub fn next_run(now: DateTime<Utc>) -> DateTime<Utc> {
    let next = Month::of(now.date_naive()).plus(1);
    let day = NaiveDate::from_ymd_opt(next.year, next.month, 1)
        .and_then(|d| d.and_hms_opt(7, 0, 0))
        .unwrap_or_default();
    Utc.from_utc_datetime(&day)
}

/// The one schedule job: created at start if missing, due on the next first of a month.
pub async fn schedule(db: &Db, now: DateTime<Utc>) -> anyhow::Result<()> {
    let job = NewJob::new(
        JobKind::DigestSchedule,
        "digests:schedule".to_owned(),
        &serde_json::json!({}),
        next_run(now),
    )?;
    let mut conn = db.pool().acquire().await?;
    jobs::enqueue_many(&mut conn, vec![job], now).await?;
    Ok(())
}

/// The handler of [`JobKind::DigestSchedule`]: queues the month just ended, then comes
/// back on the next first of a month.
pub struct Schedule {
    pub db: Db,
}

impl Handler for Schedule {
    fn kind(&self) -> JobKind {
        JobKind::DigestSchedule
    }

    fn perform<'a>(&'a self, jobs: Vec<Job>, now: DateTime<Utc>) -> BoxFuture<'a, Vec<JobResult>> {
        Box::pin(async move {
            let mut results = Vec::with_capacity(jobs.len());
            for job in jobs {
                let month = Month::of(now.date_naive()).plus(-1);
                let result = match queue(&self.db, month, now).await {
                    Ok(queued) => {
                        tracing::info!(queued, month = %month.label(), "monthly digests queued");
                        Next::new(
                            JobKind::DigestSchedule,
                            &serde_json::json!({}),
                            next_run(now),
                        )
                        .map(Outcome::Recur)
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

impl Handler for Digests {
    fn kind(&self) -> JobKind {
        JobKind::DigestEmail
    }

    fn perform<'a>(&'a self, jobs: Vec<Job>, now: DateTime<Utc>) -> BoxFuture<'a, Vec<JobResult>> {
        // One at a time: each gathers a month of figures, which the next reuses from the
        // database's cache.
        Box::pin(one_by_one(jobs, move |job| async move {
            let result = self.send(&job, now).await;
            (job, result)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;

    #[test]
    fn the_digests_go_out_on_the_first_of_the_next_month() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().expect("instant");
        assert_eq!(
            next_run(at("2026-11-24T19:00:00Z")),
            at("2026-12-01T07:00:00Z")
        );
        assert_eq!(
            next_run(at("2026-12-01T07:00:00Z")),
            at("2027-01-01T07:00:00Z")
        );
        assert_eq!(next_run(at("2026-12-01T07:00:00Z")).day(), 1);
    }

    #[test]
    fn every_department_reads_its_own_families_of_the_builtin_taxonomy() {
        let taxonomy = crate::insights::taxonomy::builtin();
        for department in Department::ALL {
            let focus = in_focus(&taxonomy, department.families());
            assert!(!focus.is_empty(), "{department}");
            if let Some(families) = department.families() {
                for f in families {
                    assert!(taxonomy.family(f).is_some(), "{department}: {f}");
                }
            }
        }
        assert_eq!(
            in_focus(&taxonomy, Department::Leadership.families()).len(),
            taxonomy.drivers.len()
        );
    }
}
