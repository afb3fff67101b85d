//! Alerts, for program owners and admins: the firings still to act on (acknowledge,
//! snooze), the rules with where each is told (Slack, Teams, signed webhooks, email) and
//! how its last firing was delivered, and a rule editor. Everything goes through the same
//! functions as `/api/v1/alerts/*`, so a rule the page accepts is one the API accepts.

use super::page::{
    field_errors, render_with_status, see_other, Form, PageError, Posted, Section, Signed,
};
use crate::alerts::delivery::{open_firings, Firing};
use crate::alerts::routes::{acknowledge_firing, create, replace, snooze_firing};
use crate::alerts::rules::{self, Comparison, Metric, Per, Receiver, Rule, StoredRule, Unit};
use crate::app::clock::Clock;
use crate::app::config::Settings;
use crate::auth::Permission;
use crate::insights::taxonomy;
use crate::outreach::store::Planner;
use crate::outreach::Outcome;
use crate::platform::db::Db;
use crate::reports::facts::Words;
use crate::web::error::ApiError;
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use debrief_common::{FieldError, Locale};
use serde_json::{json, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(alerts)
        .service(new_rule)
        .service(edit_rule)
        .service(create_rule)
        .service(save_rule)
        .service(delete_rule)
        .service(acknowledge)
        .service(snooze);
}

const BASE: &str = "/console/operations/alerts";

/// Receivers a rule may have, as the API checks it.
const MAX_RECEIVERS: usize = 10;

/// Empty receiver slots the editor offers after the stored ones.
const EMPTY_SLOTS: usize = 2;

/// The rule as the editor's fields hold it: text, as typed.
#[derive(Debug, Clone, Default)]
struct Draft {
    name: String,
    metric: String,
    driver: String,
    segment: String,
    outcome: String,
    competitor: String,
    per: String,
    window_months: String,
    against: String,
    change: String,
    unit: String,
    below: String,
    above: String,
    min_sample: String,
    action: String,
    owners: String,
    locale: String,
    /// (kind, URL) per slot: the stored receivers, then empty slots to add more.
    receivers: Vec<(String, String)>,
    enabled: bool,
}

fn number(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

impl Draft {
    /// A new rule's fields: NPS down 10 points over a month, against the month before.
    fn new_rule() -> Draft {
        Draft {
            metric: Metric::Nps.as_str().into(),
            window_months: "1".into(),
            against: "previous_window".into(),
            change: "-10".into(),
            unit: Unit::Points.as_str().into(),
            min_sample: "30".into(),
            locale: Locale::En.code().into(),
            enabled: true,
            receivers: vec![Default::default(); EMPTY_SLOTS],
            ..Draft::default()
        }
    }

    /// A stored rule's fields, as [`Rule::redacted`] shows it.
    fn of(rule: &Rule) -> Draft {
        let (against, change, unit, below, above) = match &rule.comparison {
            Comparison::PreviousWindow { change, unit } => (
                "previous_window",
                change.to_string(),
                unit.as_str().to_owned(),
                String::new(),
                String::new(),
            ),
            Comparison::Threshold { below, above } => (
                "threshold",
                String::new(),
                Unit::Points.as_str().to_owned(),
                number(*below),
                number(*above),
            ),
        };
        let mut receivers: Vec<(String, String)> = rule
            .receivers
            .iter()
            .map(|r| {
                let kind = match r {
                    Receiver::Slack { .. } => "slack",
                    Receiver::Teams { .. } => "teams",
                    Receiver::Webhook { .. } => "webhook",
                };
                (kind.to_owned(), r.url().to_owned())
            })
            .collect();
        let room = MAX_RECEIVERS
            .saturating_sub(receivers.len())
            .min(EMPTY_SLOTS);
        receivers.extend(std::iter::repeat_n(Default::default(), room));
        Draft {
            name: rule.name.clone(),
            metric: rule.metric.as_str().into(),
            driver: rule.driver.clone().unwrap_or_default(),
            segment: rule.segment.clone().unwrap_or_default(),
            outcome: rule
                .outcome
                .map(|o| o.as_str().to_owned())
                .unwrap_or_default(),
            competitor: rule.competitor.clone().unwrap_or_default(),
            per: rule.per.map(|p| p.as_str().to_owned()).unwrap_or_default(),
            window_months: rule.window_months.to_string(),
            against: against.into(),
            change,
            unit,
            below,
            above,
            min_sample: rule.min_sample.to_string(),
            action: rule.action.clone(),
            owners: rule.owners.join("\n"),
            locale: rule.locale.code().into(),
            receivers,
            enabled: rule.enabled,
        }
    }

    fn read(form: &mut Form) -> Result<Draft, PageError> {
        let mut take = |name: &str| -> Result<String, PageError> {
            Ok(form.take(name)?.unwrap_or_default().trim().to_owned())
        };
        let mut draft = Draft {
            name: take("name")?,
            metric: take("metric")?,
            driver: take("driver")?,
            segment: take("segment")?,
            outcome: take("outcome")?,
            competitor: take("competitor")?,
            per: take("per")?,
            window_months: take("window_months")?,
            against: take("against")?,
            change: take("change")?,
            unit: take("unit")?,
            below: take("below")?,
            above: take("above")?,
            min_sample: take("min_sample")?,
            action: take("action")?,
            owners: take("owners")?,
            locale: take("locale")?,
            enabled: take("enabled")? == "on",
            ..Draft::default()
        };
        // As many slots as the page showed: each stored receiver and a few empty ones.
        for i in 0..MAX_RECEIVERS {
            let kind = form.take(&format!("receiver_kind_{i}"))?;
            let url = form.take(&format!("receiver_url_{i}"))?;
            if kind.is_none() && url.is_none() {
                break;
            }
            draft.receivers.push((
                kind.unwrap_or_default().trim().to_owned(),
                url.unwrap_or_default().trim().to_owned(),
            ));
        }
        Ok(draft)
    }

    /// The API names a receiver by its place among those kept (`receivers[1].url`); the
    /// page names the slot it was typed in (`receiver_url_2`), empty slots skipped.
    fn name_slots(&self, fields: &mut [FieldError]) {
        let filled: Vec<usize> = (0..self.receivers.len())
            .filter(|&i| self.receivers[i] != Default::default())
            .collect();
        for f in fields {
            let Some(rest) = f.field.strip_prefix("receivers[") else {
                continue;
            };
            let Some((k, tail)) = rest.split_once(']') else {
                continue;
            };
            if let Some(slot) = k.parse::<usize>().ok().and_then(|k| filled.get(k)) {
                let field = if tail == ".url" { "url" } else { "kind" };
                f.field = format!("receiver_{field}_{slot}");
            }
        }
    }

    /// The rule the fields describe; each field that does not read is named.
    fn rule(&self) -> Result<Rule, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut bad = |field: &str, message: &str| {
            errors.push(FieldError {
                field: field.to_owned(),
                message: message.to_owned(),
            });
        };
        let optional = |v: &str| (!v.is_empty()).then(|| v.to_owned());
        let metric = self
            .metric
            .parse::<Metric>()
            .map_err(|e| bad("metric", &e))
            .ok();
        let outcome = match self.outcome.as_str() {
            "" => None,
            o => o.parse::<Outcome>().map_err(|e| bad("outcome", &e)).ok(),
        };
        let per = match self.per.as_str() {
            "" => None,
            p => p.parse::<Per>().map_err(|e| bad("per", &e)).ok(),
        };
        let window_months = self
            .window_months
            .parse::<u32>()
            .map_err(|_| bad("window_months", "must be a whole number of months, 1 to 12"))
            .ok();
        let min_sample = self
            .min_sample
            .parse::<u64>()
            .map_err(|_| bad("min_sample", "must be a whole number, 1 to 1,000,000"))
            .ok();
        let float = |field: &str, v: &str, bad: &mut dyn FnMut(&str, &str)| -> Option<f64> {
            if v.is_empty() {
                return None;
            }
            let parsed = v
                .replace(',', ".")
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite());
            if parsed.is_none() {
                bad(field, "must be a number");
            }
            parsed
        };
        let comparison = match self.against.as_str() {
            "previous_window" => {
                let unit = self.unit.parse::<Unit>().map_err(|e| bad("unit", &e)).ok();
                let change = float("change", &self.change, &mut bad);
                if self.change.is_empty() {
                    bad("change", "is required to compare with the window before");
                }
                unit.zip(change)
                    .map(|(unit, change)| Comparison::PreviousWindow { change, unit })
            }
            "threshold" => Some(Comparison::Threshold {
                below: float("below", &self.below, &mut bad),
                above: float("above", &self.above, &mut bad),
            }),
            _ => {
                bad("against", "must be previous_window or threshold");
                None
            }
        };
        let locale = Locale::parse(&self.locale)
            .map_err(|_| bad("locale", "must be en or fr"))
            .ok();
        let owners: Vec<String> = self
            .owners
            .split([',', '\n', ';'])
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_owned)
            .collect();
        let mut receivers = Vec::new();
        for (i, (kind, url)) in self.receivers.iter().enumerate() {
            let url = url.clone();
            match (kind.as_str(), url.is_empty()) {
                ("", true) => {}
                ("", false) => bad(&format!("receiver_kind_{i}"), "pick where to send"),
                (_, true) => bad(&format!("receiver_url_{i}"), "is required"),
                ("slack", _) => receivers.push(Receiver::Slack { url }),
                ("teams", _) => receivers.push(Receiver::Teams { url }),
                ("webhook", _) => receivers.push(Receiver::Webhook { url, secret: None }),
                _ => bad(
                    &format!("receiver_kind_{i}"),
                    "must be slack, teams or webhook",
                ),
            }
        }
        match (metric, window_months, min_sample, comparison, locale) {
            (
                Some(metric),
                Some(window_months),
                Some(min_sample),
                Some(comparison),
                Some(locale),
            ) if errors.is_empty() => Ok(Rule {
                name: self.name.clone(),
                metric,
                driver: optional(&self.driver),
                segment: optional(&self.segment),
                outcome,
                competitor: optional(&self.competitor),
                per,
                window_months,
                comparison,
                min_sample,
                action: self.action.clone(),
                owners,
                locale,
                receivers,
                enabled: self.enabled,
            }),
            _ => Err(errors),
        }
    }
}

fn choices(values: &[(&str, String)], chosen: &str) -> Vec<Value> {
    values
        .iter()
        .map(|(v, label)| json!({ "value": v, "label": label, "selected": *v == chosen }))
        .collect()
}

/// The editor: `id` none for a new rule.
#[allow(clippy::too_many_arguments)]
async fn editor(
    signed: &Signed,
    db: &Db,
    planner: &Planner,
    now: chrono::DateTime<chrono::Utc>,
    id: Option<&str>,
    draft: &Draft,
    status: StatusCode,
    extra: Value,
) -> Result<HttpResponse, PageError> {
    let locale = signed.locale();
    let words = Words(locale);
    let t = super::page::pages().sentences(locale);
    let metrics: Vec<(&str, String)> = Metric::ALL
        .iter()
        .map(|m| (m.as_str(), t(&format!("alert_metric_{}", m.as_str()))))
        .collect();
    let (_, taxonomy) = taxonomy::VERSIONS.current(db).await?;
    let drivers: Vec<(&str, String)> = taxonomy
        .drivers
        .iter()
        .filter(|d| d.status == taxonomy::DriverStatus::Active)
        .map(|d| (d.id.as_str(), words.driver(&taxonomy, &d.id)))
        .collect();
    let mut conn = db.pool().acquire().await?;
    let program = planner.programs.in_force_at(&mut conn, now).await?;
    drop(conn);
    let segments: Vec<(&str, String)> = program
        .segments
        .iter()
        .map(|s| (s.key.as_str(), s.name.clone()))
        .collect();
    let outcomes: Vec<(&str, String)> = Outcome::ALL
        .iter()
        .map(|o| (o.as_str(), words.outcome(o.as_str())))
        .collect();
    let pers: Vec<(&str, String)> = Per::ALL
        .iter()
        .map(|p| (p.as_str(), t(&format!("alert_per_{}", p.as_str()))))
        .collect();
    let units: Vec<(&str, String)> = Unit::ALL
        .iter()
        .map(|u| (u.as_str(), t(&format!("alert_unit_{}", u.as_str()))))
        .collect();
    let kinds: Vec<(&str, String)> = ["slack", "teams", "webhook"]
        .into_iter()
        .map(|k| (k, t(&format!("alert_receiver_{k}"))))
        .collect();
    let receivers: Vec<Value> = draft
        .receivers
        .iter()
        .enumerate()
        .map(|(i, (kind, url))| json!({ "i": i, "n": i + 1, "kinds": choices(&kinds, kind), "url": url }))
        .collect();
    let mut data = crate::web::pages::object(json!({
        "id": id,
        "action_url": id.map_or_else(|| format!("{BASE}/new"), |id| format!("{BASE}/{id}")),
        "delete_url": id.map(|id| format!("{BASE}/{id}/delete")),
        "draft": {
            "name": draft.name,
            "competitor": draft.competitor,
            "window_months": draft.window_months,
            "previous": draft.against != "threshold",
            "change": draft.change,
            "below": draft.below,
            "above": draft.above,
            "min_sample": draft.min_sample,
            "action": draft.action,
            "owners": draft.owners,
            "enabled": draft.enabled,
            "fr": draft.locale == "fr",
        },
        "metrics": choices(&metrics, &draft.metric),
        "drivers": choices(&drivers, &draft.driver),
        "segments": choices(&segments, &draft.segment),
        "outcomes": choices(&outcomes, &draft.outcome),
        "pers": choices(&pers, &draft.per),
        "units": choices(&units, &draft.unit),
        "receivers": receivers,
        "errors": [],
        "secrets": [],
    }));
    super::page::merge(&mut data, extra);
    Ok(render_with_status(
        signed,
        Section::Operations,
        status,
        "alert_rule",
        data,
    ))
}

/// How each receiver of `rule` was told of its last firing, if it fired.
async fn deliveries(
    db: &Db,
    rule: &StoredRule,
    t: &dyn Fn(&str) -> String,
) -> anyhow::Result<(Option<String>, Vec<Value>)> {
    let last: Option<(String, String)> = sqlx::query_as(
        "select id, fired_at from alert_firings where rule_id = $1
         order by fired_at desc, id desc limit 1",
    )
    .bind(&rule.id)
    .fetch_optional(db.pool())
    .await?;
    let Some((firing, fired_at)) = last else {
        return Ok((None, Vec::new()));
    };
    let mut told = Vec::new();
    let targets = rule
        .rule
        .receivers
        .iter()
        .enumerate()
        .map(|(i, r)| (format!("alert:{firing}:{i}"), receiver_label(r, t)))
        .chain((!rule.rule.owners.is_empty()).then(|| {
            (
                format!("alert:{firing}:owners"),
                format!(
                    "{} ({})",
                    t("alert_receiver_email"),
                    rule.rule.owners.join(", ")
                ),
            )
        }));
    for (key, to) in targets {
        let job: Option<(String, i64, Option<String>)> =
            sqlx::query_as("select status, attempts, last_error from jobs where dedupe_key = $1")
                .bind(&key)
                .fetch_optional(db.pool())
                .await?;
        let (state, error) = match job {
            Some((status, attempts, error)) => {
                let state = match status.as_str() {
                    "done" => t("alert_delivered"),
                    "dead" => format!("{} ({attempts})", t("alert_gave_up")),
                    _ if attempts > 0 => format!("{} ({attempts})", t("alert_retrying")),
                    _ => t("alert_queued"),
                };
                (state, error.filter(|_| status != "done"))
            }
            None => (t("alert_not_queued"), None),
        };
        told.push(json!({ "to": to, "state": state, "error": error }));
    }
    Ok((fired_at.get(..16).map(|s| s.replace('T', " ")), told))
}

fn receiver_label(r: &Receiver, t: &dyn Fn(&str) -> String) -> String {
    let kind = match r {
        Receiver::Slack { .. } => "slack",
        Receiver::Teams { .. } => "teams",
        Receiver::Webhook { .. } => "webhook",
    };
    format!("{}: {}", t(&format!("alert_receiver_{kind}")), r.url())
}

fn describe_comparison(rule: &Rule, words: Words, t: &dyn Fn(&str) -> String) -> String {
    match &rule.comparison {
        Comparison::PreviousWindow { change, unit } => format!(
            "{} {}{} {}",
            t("alert_change"),
            if *change > 0.0 { "+" } else { "" },
            words.points(*change),
            t(&format!("alert_unit_{}", unit.as_str()))
        ),
        Comparison::Threshold { below, above } => [
            below.map(|b| format!("{} {}", t("alert_below"), words.points(b))),
            above.map(|a| format!("{} {}", t("alert_above"), words.points(a))),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · "),
    }
}

async fn list(
    signed: &Signed,
    db: &Db,
    status: StatusCode,
    extra: Value,
) -> Result<HttpResponse, PageError> {
    let locale = signed.locale();
    let words = Words(locale);
    let catalogue = super::page::pages().sentences(locale);
    let t = |k: &str| catalogue(k);
    let stored = rules::all(db).await?;
    let names: std::collections::HashMap<&str, &str> = stored
        .iter()
        .map(|r| (r.id.as_str(), r.rule.name.as_str()))
        .collect();
    let firings: Vec<Value> = open_firings(db, 50)
        .await?
        .iter()
        .map(|f: &Firing| {
            json!({
                "id": f.id,
                "rule": names.get(f.rule_id.as_str()).copied().unwrap_or(""),
                "group": f.group_key,
                "window": f.window_key,
                "message": f.message,
                "status": t(&format!("alert_{}", f.status)),
                "open": f.status == "open",
                "fired": f.fired_at.get(..10),
                "by": f.acknowledged_by,
            })
        })
        .collect();
    let mut rules_view = Vec::with_capacity(stored.len());
    for r in &stored {
        let shown = StoredRule {
            rule: r.rule.clone().redacted(),
            ..r.clone()
        };
        let (last, told) = deliveries(db, &shown, &t).await?;
        let rule = &shown.rule;
        let slice: Vec<String> = [
            rule.segment.clone(),
            rule.outcome.map(|o| words.outcome(o.as_str())),
            rule.competitor.clone(),
            rule.driver.as_ref().map(|d| d.to_string()),
        ]
        .into_iter()
        .flatten()
        .collect();
        rules_view.push(json!({
            "id": shown.id,
            "name": rule.name,
            "edit": format!("{BASE}/{}", shown.id),
            "metric": t(&format!("alert_metric_{}", rule.metric.as_str())),
            "slice": if slice.is_empty() { t("alert_whole_program") } else { slice.join(" · ") },
            "per": rule.per.map(|p| t(&format!("alert_per_{}", p.as_str()))),
            "comparison": describe_comparison(rule, words, &t),
            "window": rule.window_months,
            "min_sample": rule.min_sample,
            "action": rule.action,
            "enabled": rule.enabled,
            "last": last,
            "told": told,
        }));
    }
    let mut data = crate::web::pages::object(json!({
        "firings": firings,
        "rules": rules_view,
        "new_url": format!("{BASE}/new"),
        "notice": null,
        "errors": [],
    }));
    super::page::merge(&mut data, extra);
    Ok(render_with_status(
        signed,
        Section::Operations,
        status,
        "alerts",
        data,
    ))
}

#[get("/console/operations/alerts")]
async fn alerts(signed: Signed, db: web::Data<Db>) -> Result<HttpResponse, PageError> {
    signed.may(Permission::ReadAlerts)?;
    list(&signed, &db, StatusCode::OK, json!({})).await
}

#[get("/console/operations/alerts/new")]
async fn new_rule(
    signed: Signed,
    db: web::Data<Db>,
    planner: web::Data<Planner>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, PageError> {
    signed.may(Permission::ManageAlerts)?;
    let draft = Draft::new_rule();
    editor(
        &signed,
        &db,
        &planner,
        clock.now(),
        None,
        &draft,
        StatusCode::OK,
        json!({}),
    )
    .await
}

#[get("/console/operations/alerts/{id}")]
async fn edit_rule(
    signed: Signed,
    id: web::Path<String>,
    db: web::Data<Db>,
    planner: web::Data<Planner>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, PageError> {
    signed.may(Permission::ManageAlerts)?;
    let Some(stored) = rules::get(&db, &id).await? else {
        return Err(PageError::NotFound(signed.locale()));
    };
    let draft = Draft::of(&stored.rule.redacted());
    editor(
        &signed,
        &db,
        &planner,
        clock.now(),
        Some(&id),
        &draft,
        StatusCode::OK,
        json!({}),
    )
    .await
}

/// The webhook secrets to show this once: those of receivers not stored before.
fn new_secrets(saved: &Rule, before: &[Receiver]) -> Vec<Value> {
    saved
        .receivers
        .iter()
        .filter(|r| !before.iter().any(|b| b.url() == r.url()))
        .filter_map(|r| match r {
            Receiver::Webhook {
                url,
                secret: Some(secret),
            } => Some(json!({ "url": url, "secret": secret })),
            _ => None,
        })
        .collect()
}

/// Saves the posted rule (`id` none: a new one), or shows the editor again with what
/// was typed and each field at fault.
async fn save(
    posted: Posted,
    id: Option<String>,
    db: &Db,
    planner: &Planner,
    settings: &Settings,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<HttpResponse, PageError> {
    let Posted { signed, mut form } = posted;
    signed.may(Permission::ManageAlerts)?;
    let draft = Draft::read(&mut form)?;
    form.finish()?;
    let before = match &id {
        Some(id) => match rules::get(db, id).await? {
            Some(stored) => stored.rule.receivers,
            None => return Err(PageError::NotFound(signed.locale())),
        },
        None => Vec::new(),
    };
    let saved = match draft.rule() {
        Err(fields) => Err(ApiError::Validation(fields)),
        Ok(rule) => match &id {
            None => create(db, settings, &signed.0.staff.name, rule, now).await,
            Some(id) => replace(db, settings, id, rule, now).await,
        },
    };
    let t = super::page::pages().sentences(signed.locale());
    match saved {
        Ok(stored) => {
            let secrets = new_secrets(&stored.rule, &before);
            if secrets.is_empty() {
                return Ok(see_other(BASE));
            }
            // A signing secret is shown once: on the page that answers the save.
            let draft = Draft::of(&stored.rule.clone().redacted());
            editor(
                &signed,
                db,
                planner,
                now,
                Some(&stored.id),
                &draft,
                StatusCode::OK,
                json!({ "secrets": secrets, "notice": t("alert_saved") }),
            )
            .await
        }
        Err(ApiError::Validation(mut fields)) => {
            draft.name_slots(&mut fields);
            editor(
                &signed,
                db,
                planner,
                now,
                id.as_deref(),
                &draft,
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({ "errors": field_errors(&fields) }),
            )
            .await
        }
        Err(other) => Err(PageError::from_api(signed.locale(), other)),
    }
}

#[post("/console/operations/alerts/new")]
async fn create_rule(
    posted: Posted,
    db: web::Data<Db>,
    planner: web::Data<Planner>,
    settings: web::Data<Settings>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, PageError> {
    save(posted, None, &db, &planner, &settings, clock.now()).await
}

#[post("/console/operations/alerts/{id}")]
async fn save_rule(
    posted: Posted,
    id: web::Path<String>,
    db: web::Data<Db>,
    planner: web::Data<Planner>,
    settings: web::Data<Settings>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, PageError> {
    save(
        posted,
        Some(id.into_inner()),
        &db,
        &planner,
        &settings,
        clock.now(),
    )
    .await
}

#[post("/console/operations/alerts/{id}/delete")]
async fn delete_rule(
    posted: Posted,
    id: web::Path<String>,
    db: web::Data<Db>,
) -> Result<HttpResponse, PageError> {
    let Posted { signed, form } = posted;
    signed.may(Permission::ManageAlerts)?;
    form.finish()?;
    if rules::delete(&db, &id).await? {
        Ok(see_other(BASE))
    } else {
        Err(PageError::NotFound(signed.locale()))
    }
}

#[post("/console/operations/alerts/firings/{id}/acknowledge")]
async fn acknowledge(
    posted: Posted,
    id: web::Path<String>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, PageError> {
    let Posted { signed, form } = posted;
    signed.may(Permission::ReadAlerts)?;
    form.finish()?;
    acknowledge_firing(&db, &id, &signed.0.staff.name, clock.now())
        .await
        .map_err(|e| PageError::from_api(signed.locale(), e))?;
    Ok(see_other(BASE))
}

#[post("/console/operations/alerts/firings/{id}/snooze")]
async fn snooze(
    posted: Posted,
    id: web::Path<String>,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, PageError> {
    let Posted { signed, mut form } = posted;
    signed.may(Permission::ManageAlerts)?;
    let days = form.take("days")?.unwrap_or_default();
    form.finish()?;
    let locale = signed.locale();
    let days: i64 = days
        .parse()
        .ok()
        .filter(|d| (1..=365).contains(d))
        .ok_or_else(|| PageError::field(locale, "days", "must be 1 to 365"))?;
    let now = clock.now();
    match snooze_firing(&db, &id, now + chrono::Duration::days(days), now).await {
        Ok(_) => Ok(see_other(BASE)),
        Err(ApiError::Validation(fields)) => {
            list(
                &signed,
                &db,
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({ "errors": field_errors(&fields) }),
            )
            .await
        }
        Err(e) => Err(PageError::from_api(locale, e)),
    }
}
