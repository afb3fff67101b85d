//! The program owner's dashboard: participation against target, the NPS trend with its
//! confidence band, drivers for wins and losses, the competitors, and the alerts still
//! open with their corrective action. One filter (period, segment, outcome, competitor)
//! narrows every part; every chart is followed by its table. The figures come from the
//! same functions as `/api/v1/analytics/*`, so a page never says what the API does not.

use super::page::{render, OrPage, PageError, Section, Signed};
use crate::alerts::delivery::open_firings;
use crate::alerts::message::{describe, Figures};
use crate::alerts::rules;
use crate::analytics::drivers::{self, DriverFigure, OutcomeDrivers};
use crate::analytics::filter::{Filter, Month, Params};
use crate::analytics::funnel::{self, FunnelBy, FunnelFigure};
use crate::analytics::nps::{self, NpsBy};
use crate::analytics::rollups;
use crate::app::clock::Clock;
use crate::auth::Permission;
use crate::outreach::Outcome;
use crate::platform::db::Db;
use crate::reports::facts::{in_force, Words};
use crate::surveys::definitions::Definitions;
use crate::web::charts::{self, Bar, Point, Split};
use actix_web::{get, web, HttpRequest, HttpResponse};
use debrief_common::Locale;
use serde_json::{json, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(dashboard);
}

/// Months shown when the filter names none: the last twelve, this one included.
const DEFAULT_MONTHS: i32 = 12;

/// Drivers shown per outcome, most mentioned first.
const TOP_DRIVERS: usize = 10;

fn count(locale: Locale, n: u64) -> String {
    // Thousands grouped as each language writes them.
    let digits = n.to_string();
    let sep = if locale == Locale::Fr {
        '\u{202f}'
    } else {
        ','
    };
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

fn funnel_row(words: Words, t: &dyn Fn(&str) -> String, key: &str, f: &FunnelFigure) -> Value {
    json!({
        "label": t(key),
        "invited": count(words.0, f.steps.invited),
        "sent": count(words.0, f.steps.sent),
        "opened": count(words.0, f.steps.opened),
        "started": count(words.0, f.steps.started),
        "completed": count(words.0, f.steps.completed),
        "participation": words.percent(f.participation),
        "target": words.percent(f.target),
        "meets": f.meets_target,
    })
}

fn driver_rows(words: Words, outcome: &OutcomeDrivers) -> Vec<(Split, Value)> {
    let mut top: Vec<&DriverFigure> = outcome.drivers.iter().collect();
    top.truncate(TOP_DRIVERS);
    top.into_iter()
        .map(|d| {
            let label = match words.0 {
                Locale::Fr => d.label_fr.clone(),
                Locale::En => d.label_en.clone(),
            };
            let negative = d.negative_share.unwrap_or(0.0) * 100.0;
            let positive = d.positive_share.unwrap_or(0.0) * 100.0;
            let split = Split {
                label: label.clone(),
                negative,
                positive,
                note: format!("(n={})", d.counts.mentions),
            };
            let row = json!({
                "driver": label,
                "mentions": count(words.0, d.counts.mentions),
                "negative": words.percent(d.negative_share),
                "positive": words.percent(d.positive_share),
                "prevalence": words.percent(d.prevalence),
                "sole": count(words.0, d.counts.sole_negative),
            });
            (split, row)
        })
        .collect()
}

#[get("/console/dashboard")]
#[allow(clippy::too_many_arguments)]
async fn dashboard(
    req: HttpRequest,
    signed: Signed,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    definitions: web::Data<Definitions>,
    programs: web::Data<crate::outreach::store::Planner>,
) -> Result<HttpResponse, PageError> {
    signed.may(Permission::ReadParticipation)?;
    let locale = signed.locale();
    let words = Words(locale);
    let catalogue = super::page::pages().sentences(locale);
    let t = |k: &str| catalogue(k);
    let now = clock.now();

    let mut params = Params::of(&req).page(locale)?.without_empty();
    let mut filter = Filter::take(&mut params).page(locale)?;
    params.finish().page(locale)?;
    let this_month = Month::of(now.date_naive());
    if filter.to.is_none() {
        filter.to = Some(this_month);
    }
    if filter.from.is_none() {
        filter.from = filter.to.map(|to| to.plus(1 - DEFAULT_MONTHS));
    }

    let (taxonomy, program) = in_force(&db, &definitions, &programs.programs, now).await?;
    funnel::catch_up(&db).await?;
    let targets = (program.survey_target, program.interview_target);

    // Participation: invitations have no single competitor, so that part ignores it and
    // says so.
    let funnel_filter = Filter {
        competitor: None,
        ..filter.clone()
    };
    let by_method = funnel::funnel(&db, &funnel_filter, FunnelBy::Method, targets).await?;
    let method = |m: &str| {
        by_method
            .groups
            .iter()
            .find(|g| g.key == m)
            .map(|g| &g.funnel)
    };
    let mut funnel_rows = Vec::new();
    let mut funnel_bars = Vec::new();
    for (key, label) in [("survey", "dash_surveys"), ("interview", "dash_interviews")] {
        if let Some(f) = method(key) {
            funnel_rows.push(funnel_row(words, &t, label, f));
            funnel_bars.push(Bar {
                label: t(label),
                percent: f.participation.map(|p| p * 100.0),
                target: f.target.map(|p| p * 100.0),
                caption: format!(
                    "{} ({} / {}) · {} {}",
                    words.percent(f.participation),
                    count(locale, f.steps.completed),
                    count(locale, f.steps.invited),
                    t("dash_target"),
                    words.percent(f.target)
                ),
            });
        }
    }
    let funnel_chart = charts::bars(
        "funnel-chart",
        &t("dash_participation"),
        &t("dash_participation_desc"),
        &funnel_bars,
    );

    // NPS by month, with its 95% confidence interval.
    let trend = nps::nps(&db, &filter, NpsBy::Month).await?;
    let points: Vec<Point> = trend
        .groups
        .iter()
        .map(|g| Point {
            label: g.key.clone(),
            value: g.nps.score,
            low: g.nps.low,
            high: g.nps.high,
        })
        .collect();
    let trend_rows: Vec<Value> = trend
        .groups
        .iter()
        .map(|g| {
            json!({
                "month": Month::parse(&g.key).map_or_else(|| g.key.clone(), |m| words.month(m)),
                "nps": words.nps(g.nps.score),
                "low": words.nps(g.nps.low),
                "high": words.nps(g.nps.high),
                "sample": count(locale, g.nps.sample_size),
            })
        })
        .collect();
    let trend_chart = charts::trend("nps-chart", &t("dash_nps"), &t("dash_nps_desc"), &points);

    // Drivers for wins and for losses.
    let report = drivers::drivers(&db, &filter, &taxonomy).await?;
    let mut outcomes = Vec::new();
    for outcome in [Outcome::Won, Outcome::Lost] {
        let Some(od) = report.by_outcome.get(outcome.as_str()) else {
            continue;
        };
        if filter.outcome.is_some_and(|o| o != outcome) {
            continue;
        }
        let rows = driver_rows(words, od);
        let (splits, table): (Vec<Split>, Vec<Value>) = rows.into_iter().unzip();
        let title = t(&format!("dash_drivers_{}", outcome.as_str()));
        outcomes.push(json!({
            "id": format!("drivers-{}", outcome.as_str()),
            "title": title,
            "responses": count(locale, od.responses),
            "chart": charts::diverging(
                &format!("drivers-{}", outcome.as_str()),
                &title,
                &t("dash_drivers_desc"),
                (&t("dash_against_us"), &t("dash_for_us")),
                &splits,
            ),
            "rows": table,
        }));
    }

    // Competitors.
    let competitors = drivers::competitors(&db, &filter, &taxonomy).await?;
    let label = |d: &DriverFigure| match locale {
        Locale::Fr => d.label_fr.clone(),
        Locale::En => d.label_en.clone(),
    };
    let competitor_rows: Vec<Value> = competitors
        .competitors
        .iter()
        .map(|c| {
            json!({
                "name": c.competitor,
                "won": count(locale, c.won),
                "lost": count(locale, c.lost),
                "win_rate": words.percent(c.win_rate),
                "why_win": c.why_we_win.iter().take(3).map(label).collect::<Vec<_>>().join(", "),
                "why_lose": c.why_we_lose.iter().take(3).map(label).collect::<Vec<_>>().join(", "),
            })
        })
        .collect();

    // Alerts still open, each with what to do.
    let firings = open_firings(&db, 20).await?;
    let mut alerts = Vec::new();
    for firing in &firings {
        if let Some(rule) = rules::get(&db, &firing.rule_id).await? {
            alerts.push(json!({
                "rule": rule.rule.name,
                "message": describe(&rule.rule, Figures::of(firing), locale),
                "action": rule.rule.action,
                "status": t(&format!("alert_{}", firing.status)),
                "fired": firing.fired_at.get(..10),
            }));
        }
    }

    // The filter's choices.
    let segments: Vec<Value> = program
        .segments
        .iter()
        .map(|s| json!({ "value": s.key, "label": s.name, "selected": filter.segment.as_deref() == Some(s.key.as_str()) }))
        .collect();
    let outcome_options: Vec<Value> = Outcome::ALL
        .iter()
        .map(|o| json!({ "value": o.as_str(), "label": words.outcome(o.as_str()), "selected": filter.outcome == Some(*o) }))
        .collect();
    let known: Vec<(String,)> = sqlx::query_as(&format!(
        "select distinct competitor from coded_rollup r
             where competitor <> '' and {} order by competitor",
        rollups::every_slice("r")
    ))
    .fetch_all(db.pool())
    .await?;
    let competitor_options: Vec<Value> = known
        .into_iter()
        .map(|(c,)| json!({ "selected": filter.competitor.as_deref() == Some(c.as_str()), "value": c }))
        .collect();
    let mut sliced = Vec::new();
    for (dimension, chosen) in [
        ("region", &filter.region),
        ("product_line", &filter.product_line),
    ] {
        let options: Vec<Value> = rollups::values(&db, dimension)
            .await?
            .into_iter()
            .map(|v| json!({ "selected": chosen.as_deref() == Some(v.as_str()), "value": v }))
            .collect();
        sliced.push(options);
    }
    let [region_options, product_line_options] =
        <[Vec<Value>; 2]>::try_from(sliced).unwrap_or_default();

    let data = crate::web::pages::object(json!({
        "filter": {
            "from": filter.from.map(Month::label),
            "to": filter.to.map(Month::label),
            "segments": segments,
            "outcomes": outcome_options,
            "competitors": competitor_options,
            "competitor": filter.competitor,
            "regions": region_options,
            "product_lines": product_line_options,
        },
        "period": format!(
            "{} – {}",
            filter.from.map_or_else(String::new, |m| words.month(m)),
            filter.to.map_or_else(String::new, |m| words.month(m)),
        ),
        "funnel": { "chart": funnel_chart, "rows": funnel_rows, "overall": funnel_row(words, &t, "dash_all", &by_method.overall) },
        "nps": {
            "chart": trend_chart,
            "rows": trend_rows,
            "overall": words.nps(trend.overall.score),
            "low": words.nps(trend.overall.low),
            "high": words.nps(trend.overall.high),
            "sample": count(locale, trend.overall.sample_size),
        },
        "outcomes": outcomes,
        "competitors": competitor_rows,
        "alerts": alerts,
    }));
    Ok(render(&signed, Section::Dashboard, "dashboard", data))
}

#[cfg(test)]
mod tests {
    use super::count;
    use debrief_common::Locale;

    #[test]
    fn counts_are_grouped_as_each_language_writes_them() {
        assert_eq!(count(Locale::En, 1_234_567), "1,234,567");
        assert_eq!(count(Locale::Fr, 1_234), "1\u{202f}234");
        assert_eq!(count(Locale::En, 999), "999");
    }
}
