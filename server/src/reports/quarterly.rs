//! The quarterly report: one printable page a program owner takes to the leadership
//! meeting. Why we win, why we lose, how the market sees us (each family of drivers),
//! each competitor, the trend of each sector (segment) against the quarter before, and the
//! points that need attention. Every chart is a table with bars drawn by width, so it
//! reads without colour and prints as it shows; the browser's "print to PDF" makes the
//! PDF (no PDF crate renders this as well as the browser).

use super::facts::{weighing, Facts, Words};
use crate::alerts::message::{describe, Figures};
use crate::alerts::rules;
use crate::analytics::drivers::{DriverFigure, Mentions, Verbatim};
use crate::insights::taxonomy::Taxonomy;
use crate::platform::db::Db;
use debrief_common::Locale;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Serialize)]
struct Bar {
    label: String,
    value: String,
    /// The bar's width in percent of the row, as CSS: `62%`.
    width: String,
    detail: String,
    quote: String,
}

#[derive(Debug, Serialize)]
struct Family {
    label: String,
    positive: String,
    positive_width: String,
    negative: String,
    negative_width: String,
    mentions: String,
}

#[derive(Debug, Serialize)]
struct Competitor {
    name: String,
    won: String,
    lost: String,
    win_rate: String,
    width: String,
    why_we_win: String,
    why_we_lose: String,
}

#[derive(Debug, Serialize)]
struct Sector {
    segment: String,
    nps: String,
    before: String,
    change: String,
    sample: String,
}

#[derive(Debug, Serialize)]
struct Summary {
    nps: String,
    nps_before: String,
    answers: String,
    surveys: String,
    interviews: String,
    declined: String,
}

/// What `quarterly_report.hbs` prints, written in the reader's language.
#[derive(Debug, Serialize)]
pub struct ReportData {
    quarter: String,
    summary: Summary,
    why_we_win: Vec<Bar>,
    why_we_lose: Vec<Bar>,
    perception: Vec<Family>,
    competitors: Vec<Competitor>,
    sectors: Vec<Sector>,
    attention: Vec<String>,
}

fn width(share: Option<f64>) -> String {
    format!("{:.0}%", share.unwrap_or(0.0).clamp(0.0, 1.0) * 100.0)
}

fn share(n: u64, of: u64) -> Option<f64> {
    (of > 0).then(|| n as f64 / of as f64)
}

/// The first of the buyers' strongest words about `driver`, in an outcome.
fn quote(facts: &Facts, driver: &str, outcome: &str) -> String {
    facts
        .words
        .get(driver)
        .into_iter()
        .flatten()
        .find(|v: &&Verbatim| v.outcome.as_deref() == Some(outcome))
        .map(|v| v.excerpt.clone())
        .unwrap_or_default()
}

/// The five drivers that weighed most for (`positive`) or against us in `outcome`.
fn bars(
    facts: &Facts,
    taxonomy: &Taxonomy,
    words: Words,
    outcome: &str,
    positive: bool,
) -> Vec<Bar> {
    let Some(drivers) = facts.drivers.by_outcome.get(outcome) else {
        return Vec::new();
    };
    let fr = words.0 == Locale::Fr;
    weighing(drivers, positive, |_| true)
        .into_iter()
        .take(5)
        .map(|(d, weight)| {
            let prevalence = share(weight, drivers.responses);
            let alone = if !positive && d.counts.sole_negative > 0 {
                if fr {
                    format!(
                        "; seule raison dans {} d'entre elles",
                        d.counts.sole_negative
                    )
                } else {
                    format!("; the only reason in {} of them", d.counts.sole_negative)
                }
            } else {
                String::new()
            };
            let detail = if fr {
                format!("{weight} réponses sur {}{alone}", drivers.responses)
            } else {
                format!("{weight} of {} answers{alone}", drivers.responses)
            };
            Bar {
                label: words.driver(taxonomy, &d.id),
                value: words.percent(prevalence),
                width: width(prevalence),
                detail,
                quote: quote(facts, &d.id, outcome),
            }
        })
        .collect()
}

/// Each family across outcomes: how often it weighs for and against us.
fn perception(facts: &Facts, taxonomy: &Taxonomy, words: Words) -> Vec<Family> {
    let mut families: BTreeMap<&str, Mentions> = BTreeMap::new();
    for outcome in facts.drivers.by_outcome.values() {
        for f in &outcome.families {
            *families.entry(f.id.as_str()).or_default() += f.counts;
        }
    }
    taxonomy
        .families
        .iter()
        .filter_map(|f| {
            let m = families.get(f.id.as_str()).copied().unwrap_or_default();
            (m.mentions > 0).then(|| {
                let (pos, neg) = (share(m.positive, m.mentions), share(m.negative, m.mentions));
                Family {
                    label: words.family(taxonomy, &f.id),
                    positive: words.percent(pos),
                    positive_width: width(pos),
                    negative: words.percent(neg),
                    negative_width: width(neg),
                    mentions: m.mentions.to_string(),
                }
            })
        })
        .collect()
}

/// The points of attention: alerts still open, drivers whose share among losses grew by
/// 10 points or more, participation under target, sectors whose NPS fell 10 points.
async fn attention(
    db: &Db,
    facts: &Facts,
    taxonomy: &Taxonomy,
    words: Words,
) -> anyhow::Result<Vec<String>> {
    let fr = words.0 == Locale::Fr;
    let mut points = Vec::new();
    for firing in &facts.alerts {
        if let Some(rule) = rules::get(db, &firing.rule_id).await? {
            points.push(format!(
                "{}: {}",
                rule.rule.name,
                describe(&rule.rule, Figures::of(firing), words.0)
            ));
        }
    }
    if let (Some(now), Some(before)) = (
        facts.drivers.by_outcome.get("lost"),
        facts.drivers_before.by_outcome.get("lost"),
    ) {
        for d in &now.drivers {
            let was = before.drivers.iter().find(|b| b.id == d.id);
            // A driver no loss named the quarter before counts as none of them.
            let was = was.map_or(0, |b| b.counts.negative);
            let (Some(n), Some(b)) = (
                share(d.counts.negative, now.responses),
                share(was, before.responses),
            ) else {
                continue;
            };
            if d.counts.negative >= 5 && n - b >= 0.10 {
                let label = words.driver(taxonomy, &d.id);
                let (n, b) = (words.percent(Some(n)), words.percent(Some(b)));
                points.push(if fr {
                    format!("{label} pèse contre nous dans {n} des affaires perdues, contre {b} le trimestre précédent.")
                } else {
                    format!("{label} weighed against us in {n} of lost deals, up from {b} the quarter before.")
                });
            }
        }
    }
    for (key, target, name) in [
        (
            "survey",
            facts.funnel.survey_target,
            if fr { "enquêtes" } else { "surveys" },
        ),
        (
            "interview",
            facts.funnel.interview_target,
            if fr { "entretiens" } else { "interviews" },
        ),
    ] {
        let Some(group) = facts.funnel.groups.iter().find(|g| g.key == key) else {
            continue;
        };
        if let Some(p) = group.funnel.participation.filter(|p| *p < target) {
            let (p, t) = (words.percent(Some(p)), words.percent(Some(target)));
            points.push(if fr {
                format!("Participation aux {name} : {p}, sous l'objectif de {t}.")
            } else {
                format!("Participation in {name}: {p}, under the target of {t}.")
            });
        }
    }
    for s in sectors(facts, words) {
        if s.drop >= 10.0 {
            points.push(if fr {
                format!(
                    "Le NPS du segment {} passe de {} à {}.",
                    s.line.segment, s.line.before, s.line.nps
                )
            } else {
                format!(
                    "NPS in segment {} fell from {} to {}.",
                    s.line.segment, s.line.before, s.line.nps
                )
            });
        }
    }
    Ok(points)
}

struct SectorTrend {
    line: Sector,
    drop: f64,
}

fn sectors(facts: &Facts, words: Words) -> Vec<SectorTrend> {
    facts
        .by_segment
        .groups
        .iter()
        .map(|g| {
            let before = facts
                .by_segment_before
                .groups
                .iter()
                .find(|b| b.key == g.key)
                .and_then(|b| b.nps.score);
            let change = g.nps.score.zip(before).map(|(n, b)| n - b);
            SectorTrend {
                line: Sector {
                    segment: g.key.clone(),
                    nps: words.nps(g.nps.score),
                    before: words.nps(before),
                    change: change.map_or_else(|| words.none(), |c| words.points(c)),
                    sample: g.nps.sample_size.to_string(),
                },
                drop: change.map_or(0.0, |c| -c),
            }
        })
        .collect()
}

/// The report of `period` in `locale`.
pub async fn report(
    db: &Db,
    facts: &Facts,
    taxonomy: &Taxonomy,
    locale: Locale,
) -> anyhow::Result<ReportData> {
    let words = Words(locale);
    let rate = |key: &str| {
        facts
            .funnel
            .groups
            .iter()
            .find(|g| g.key == key)
            .and_then(|g| g.funnel.participation)
    };
    let names = |list: &[DriverFigure]| {
        list.iter()
            .take(2)
            .map(|d| words.driver(taxonomy, &d.id))
            .collect::<Vec<_>>()
            .join(", ")
    };
    Ok(ReportData {
        quarter: words.quarter(facts.period),
        summary: Summary {
            nps: words.nps(facts.nps.score),
            nps_before: words.nps(facts.nps_before.score),
            answers: facts.nps.sample_size.to_string(),
            surveys: words.percent(rate("survey")),
            interviews: words.percent(rate("interview")),
            declined: facts.declined.answered.to_string(),
        },
        why_we_win: bars(facts, taxonomy, words, "won", true),
        why_we_lose: bars(facts, taxonomy, words, "lost", false),
        perception: perception(facts, taxonomy, words),
        competitors: facts
            .competitors
            .competitors
            .iter()
            .map(|c| Competitor {
                name: c.competitor.clone(),
                won: c.won.to_string(),
                lost: c.lost.to_string(),
                win_rate: words.percent(c.win_rate),
                width: width(c.win_rate),
                why_we_win: names(&c.why_we_win),
                why_we_lose: names(&c.why_we_lose),
            })
            .collect(),
        sectors: sectors(facts, words).into_iter().map(|s| s.line).collect(),
        attention: attention(db, facts, taxonomy, words).await?,
    })
}

/// A report with `text` in every field and one row in every list: for the page test
/// that checks every template escapes what it prints.
#[cfg(test)]
pub fn sample(text: &str) -> ReportData {
    let s = || text.to_owned();
    ReportData {
        quarter: s(),
        summary: Summary {
            nps: s(),
            nps_before: s(),
            answers: s(),
            surveys: s(),
            interviews: s(),
            declined: s(),
        },
        why_we_win: vec![Bar {
            label: s(),
            value: s(),
            width: s(),
            detail: s(),
            quote: s(),
        }],
        why_we_lose: Vec::new(),
        perception: vec![Family {
            label: s(),
            positive: s(),
            positive_width: s(),
            negative: s(),
            negative_width: s(),
            mentions: s(),
        }],
        competitors: vec![Competitor {
            name: s(),
            won: s(),
            lost: s(),
            win_rate: s(),
            width: s(),
            why_we_win: s(),
            why_we_lose: s(),
        }],
        sectors: vec![Sector {
            segment: s(),
            nps: s(),
            before: s(),
            change: s(),
            sample: s(),
        }],
        attention: vec![s()],
    }
}
