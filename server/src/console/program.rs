//! Program setup: the segments, and an editor for each that shows, as the rules change,
//! how many of last quarter's decided deals each rule and the whole segment would catch,
//! and who would be invited. The preview replays the stored deals through the draft with
//! the planner itself (`programs::routes::replay_period`): what it shows is what saving
//! would do. Saving stores the program's next version, as `PUT /api/v1/program` does.

use super::page::{
    field_errors, render, render_with_status, see_other, OrPage, PageError, Posted, Section, Signed,
};
use crate::app::clock::Clock;
use crate::auth::Permission;
use crate::outreach::decision::Decision;
use crate::outreach::store::Planner;
use crate::platform::db::Db;
use crate::programs::definition::{
    allowed_fields, ProgramRequest, RuleRequest, SegmentRequest, ATTRIBUTES,
};
use crate::programs::routes::{replay_period, Preview};
use crate::programs::store::{built_in_request, Programs, SaveError};
use crate::programs::Program;
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use debrief_common::FieldError;
use serde_json::{json, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(program_page)
        .service(segment_page)
        .service(segment_preview)
        .service(segment_save);
}

/// The window previews replay: the last quarter, to now.
const QUARTER_DAYS: i64 = 91;

/// Blank rule rows offered below a segment's rules: room to add without a script.
const BLANK_RULES: usize = 2;

/// Buyers listed in a preview.
const LISTED: usize = 25;

fn quarter(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    (now - Duration::days(QUARTER_DAYS), now)
}

async fn current_definition(db: &Db) -> anyhow::Result<(ProgramRequest, Option<i64>)> {
    Ok(match Programs::current(db).await? {
        Some(stored) => (stored.definition, Some(stored.version)),
        None => (built_in_request(), None),
    })
}

fn attributes() -> Vec<&'static str> {
    ATTRIBUTES.split(',').map(str::trim).collect()
}

/// A rule as one line: `region: emea, na`, `amount: EUR 50,000.00 to …`.
fn describe(rule: &RuleRequest) -> String {
    let mut parts = Vec::new();
    if let Some(c) = &rule.currency {
        parts.push(c.clone());
    }
    match (rule.min, rule.max) {
        (Some(a), Some(b)) => parts.push(format!("{a} – {b}")),
        (Some(a), None) => parts.push(format!("≥ {a}")),
        (None, Some(b)) => parts.push(format!("≤ {b}")),
        (None, None) => {}
    }
    if let Some(list) = &rule.any_of {
        parts.push(list.join(", "));
    }
    if rule.none == Some(true) {
        parts.push("none".into());
    }
    if let Some(d) = rule.days {
        parts.push(format!("{d} days"));
    }
    if let Some(is) = rule.is {
        parts.push(if is { "yes" } else { "no" }.into());
    }
    format!("{}: {}", rule.attribute, parts.join(" "))
}

#[get("/console/program")]
async fn program_page(
    signed: Signed,
    db: web::Data<Db>,
    planner: web::Data<Planner>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, PageError> {
    signed.may(Permission::ManageProgram)?;
    let locale = signed.locale();
    let (definition, version) = current_definition(&db).await?;
    let parsed = definition
        .parse(version.unwrap_or(0))
        .map_err(|f| PageError::Invalid(locale, f))?;
    let (deals, preview, total) =
        replay_period(&db, &planner, &parsed, quarter(clock.now()), clock.now())
            .await
            .page(locale)?;
    let segments: Vec<Value> = definition
        .segments
        .iter()
        .map(|s| {
            let figures = preview.segments.iter().find(|p| p.key == s.key);
            json!({
                "key": s.key,
                "name": s.name,
                "href": format!("/console/program/segments/{}", s.key),
                "method": s.method.clone().unwrap_or_else(|| "survey".into()),
                "rules": s.rules.iter().map(describe).collect::<Vec<_>>(),
                "matched": figures.map_or(0, |f| f.deals_matched),
                "invitations": figures.map_or(0, |f| f.invitations),
            })
        })
        .collect();
    let data = crate::web::pages::object(json!({
        "name": definition.name,
        "version": version,
        "segments": segments,
        "deals": total,
        "sample": sample(deals.len(), total),
        "invitations": preview.invitations,
    }));
    Ok(render(&signed, Section::Program, "program", data))
}

/// A segment's form as posted: its name, method and rule rows.
struct Draft {
    segment: SegmentRequest,
    /// Each row as typed, kept to show the form again.
    rows: Vec<[String; 7]>,
    /// How its buyers are asked, as typed: [`DELIVERY`]'s fields.
    delivery: [String; 4],
}

/// The segment's delivery fields: the incentive offered, the reminders' days after the
/// invitation, the days before it expires, and the completed answers aimed for per period.
const DELIVERY: [&str; 4] = [
    "incentive",
    "reminder_days",
    "expires_after_days",
    "target_per_period",
];

/// What the reminders field holds for a segment that sends none (empty is the program's
/// default reminders, which is not the same).
const NO_REMINDERS: &str = "none";

/// Whether the reminders field says "no reminders", in either language.
fn says_none(field: &str) -> bool {
    ["none", "aucune", "aucun"]
        .iter()
        .any(|w| field.trim().eq_ignore_ascii_case(w))
}

/// A segment's delivery fields as the form shows them.
fn delivery_of(s: &SegmentRequest) -> [String; 4] {
    let number = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    [
        s.incentive.clone().unwrap_or_default(),
        match s.reminder_days.as_deref() {
            None => String::new(),
            Some([]) => NO_REMINDERS.to_owned(),
            Some(days) => days
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        },
        number(s.expires_after_days),
        number(s.target_per_period),
    ]
}

/// The delivery fields that did not read: named, since the parsed segment drops them.
fn unreadable_delivery(delivery: &[String; 4], at: usize) -> Vec<FieldError> {
    let mut faults = Vec::new();
    let reminders_read = says_none(&delivery[1])
        || delivery[1]
            .split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .all(|d| d.parse::<i64>().is_ok());
    if !reminders_read {
        faults.push(FieldError::new(
            format!("segments[{at}].reminder_days"),
            "must be days after the invitation, like 3, 7",
        ));
    }
    for (i, field) in [(2, "expires_after_days"), (3, "target_per_period")] {
        if !delivery[i].is_empty() && delivery[i].parse::<i64>().is_err() {
            faults.push(FieldError::new(
                format!("segments[{at}].{field}"),
                "must be a whole number",
            ));
        }
    }
    faults
}

/// Reads the segment form. Rows without an attribute are blank and left out.
fn draft_of(form: &mut super::page::Form, base: &SegmentRequest) -> Result<Draft, PageError> {
    let name = form.take("name")?.unwrap_or_default();
    let method = form.take("method")?.filter(|m| !m.is_empty());
    let columns = [
        "rule_attribute",
        "rule_currency",
        "rule_min",
        "rule_max",
        "rule_values",
        "rule_days",
        "rule_is",
    ];
    let cols: Vec<Vec<String>> = columns.iter().map(|c| form.take_all(c)).collect();
    let n = cols[0].len();
    if cols.iter().any(|c| c.len() != n) || n > 40 {
        return Err(PageError::field(
            form.locale(),
            "rule_attribute",
            "each rule row must carry every rule field",
        ));
    }
    let mut rows = Vec::new();
    let mut rules = Vec::new();
    let table: Vec<[String; 7]> = (0..n)
        .map(|i| std::array::from_fn(|c| cols[c][i].trim().to_owned()))
        .collect();
    for row in table {
        if row[0].is_empty() {
            continue;
        }
        let number = |v: &str| v.replace([',', ' ', '_'], "").parse::<i64>().ok();
        let list: Vec<String> = row[4]
            .split(',')
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect();
        let takes = allowed_fields(&row[0]).unwrap_or(&[]);
        let competitor_none =
            row[0] == "competitor" && list.iter().any(|v| v.eq_ignore_ascii_case("none"));
        rules.push(RuleRequest {
            attribute: row[0].clone(),
            currency: (!row[1].is_empty()).then(|| row[1].to_uppercase()),
            // A number that does not read as one is kept as text for the parser to name.
            min: number(&row[2]),
            max: number(&row[3]),
            any_of: (!list.is_empty() && !competitor_none && takes.contains(&"any_of"))
                .then_some(list),
            none: competitor_none.then_some(true),
            days: number(&row[5]),
            is: match row[6].as_str() {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            },
        });
        rows.push(row);
    }
    let mut segment = base.clone();
    segment.name = name;
    segment.method = method.or_else(|| base.method.clone());
    segment.rules = rules;
    // A field the form did not send keeps the segment's value; one sent empty clears it
    // (back to the program's default).
    let mut delivery = delivery_of(base);
    for (i, field) in DELIVERY.iter().enumerate() {
        if let Some(v) = form.take(field)? {
            delivery[i] = v.trim().to_owned();
        }
    }
    let given = |v: &String| (!v.is_empty()).then(|| v.clone());
    segment.incentive = given(&delivery[0]);
    segment.reminder_days = given(&delivery[1]).map(|d| {
        if says_none(&d) {
            return Vec::new();
        }
        d.split(',')
            .filter_map(|d| d.trim().parse::<i64>().ok())
            .collect()
    });
    segment.expires_after_days = delivery[2].parse().ok();
    segment.target_per_period = delivery[3].parse().ok();
    Ok(Draft {
        segment,
        rows,
        delivery,
    })
}

/// Numbers that did not read as numbers: named, since the parsed rule drops them.
fn unreadable(rows: &[[String; 7]], at: usize) -> Vec<FieldError> {
    let mut faults = Vec::new();
    for (j, row) in rows.iter().enumerate() {
        for (c, field) in [(2, "min"), (3, "max"), (5, "days")] {
            let v = row[c].replace([',', ' ', '_'], "");
            if !v.is_empty() && v.parse::<i64>().is_err() {
                faults.push(FieldError::new(
                    format!("segments[{at}].rules[{j}].{field}"),
                    "must be a whole number",
                ));
            }
        }
    }
    faults
}

/// What the editor shows about a draft: per rule and for the segment, the deals of last
/// quarter caught, and who would be invited.
struct Figures {
    per_rule: Vec<usize>,
    alone: usize,
    preview: Preview,
    deals: usize,
    /// Deals the window holds, replayed or not.
    total: usize,
}

/// "The latest N deals": the note a preview carries when it replayed only part of its
/// window (see [`crate::programs::routes::PREVIEW_SAMPLE`]).
fn sample(replayed: usize, total: usize) -> Option<usize> {
    (replayed < total).then_some(replayed)
}

async fn figures(
    db: &Db,
    planner: &Planner,
    program: &Program,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Figures, crate::web::error::ApiError> {
    let (deals, preview, total) = replay_period(db, planner, program, quarter(now), now).await?;
    let segment = program.segments.iter().find(|s| s.key == key);
    let count = |f: &dyn Fn(&Decision) -> bool| deals.iter().filter(|d| f(d)).count();
    let per_rule = segment
        .map(|s| s.rules.iter().map(|r| count(&|d| r.matches(d))).collect())
        .unwrap_or_default();
    let alone = segment.map_or(0, |s| count(&|d| s.matches(d)));
    Ok(Figures {
        per_rule,
        alone,
        preview,
        deals: deals.len(),
        total,
    })
}

/// The segment editor of `key` for `draft` (the stored segment when none), with the
/// faults found so far: a 422 when there are any, else `status`.
async fn editor(
    (signed, db, planner, now): (&Signed, &Db, &Planner, DateTime<Utc>),
    key: &str,
    draft: Option<Draft>,
    errors: Vec<FieldError>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let template = "segment";
    let locale = signed.locale();
    let t = super::page::pages().sentences(locale);
    let (mut definition, version) = current_definition(db).await?;
    let Some(at) = definition.segments.iter().position(|s| s.key == key) else {
        return Err(PageError::NotFound(locale));
    };
    let delivery = match &draft {
        Some(d) => d.delivery.clone(),
        None => delivery_of(&definition.segments[at]),
    };
    let incentives: Vec<Value> = definition
        .incentives
        .iter()
        .map(|i| json!({ "value": i.key, "selected": delivery[0] == i.key }))
        .collect();
    let rows: Vec<[String; 7]> = match &draft {
        Some(d) => d.rows.clone(),
        None => definition.segments[at]
            .rules
            .iter()
            .map(|r| {
                [
                    r.attribute.clone(),
                    r.currency.clone().unwrap_or_default(),
                    r.min.map(|v| v.to_string()).unwrap_or_default(),
                    r.max.map(|v| v.to_string()).unwrap_or_default(),
                    match (&r.any_of, r.none) {
                        (Some(list), _) => list.join(", "),
                        (None, Some(true)) => "none".into(),
                        _ => String::new(),
                    },
                    r.days.map(|v| v.to_string()).unwrap_or_default(),
                    r.is.map(|v| if v { "yes" } else { "no" }.to_owned())
                        .unwrap_or_default(),
                ]
            })
            .collect(),
    };
    if let Some(d) = draft {
        definition.segments[at] = d.segment;
    }
    let segment = definition.segments[at].clone();
    // The draft's figures, or, when it does not parse, its faults and no figures.
    let mut faults = errors;
    let parsed = match definition.parse(-1) {
        Ok(p) => Some(p),
        Err(f) => {
            faults.extend(f);
            None
        }
    };
    let shown = match &parsed {
        Some(p) if faults.is_empty() => Some(figures(db, planner, p, key, now).await.page(locale)?),
        _ => None,
    };
    let rules: Vec<Value> = rows
        .iter()
        .chain(std::iter::repeat_n(&Default::default(), BLANK_RULES))
        .enumerate()
        .map(|(j, row): (usize, &[String; 7])| {
            json!({
                "n": j,
                "attributes": attributes().into_iter().map(|a| json!({ "value": a, "label": t(&format!("attribute_{a}")), "selected": row[0] == a })).collect::<Vec<_>>(),
                "currency": row[1], "min": row[2], "max": row[3], "values": row[4], "days": row[5],
                "is_yes": row[6] == "yes", "is_no": row[6] == "no",
                "caught": shown.as_ref().and_then(|f| f.per_rule.get(j)).copied(),
            })
        })
        .collect();
    let invited: Vec<Value> = shown
        .as_ref()
        .map(|f| {
            f.preview
                .plans
                .iter()
                .filter(|p| p.segment.as_deref() == Some(key))
                .flat_map(|p| p.invitations.iter().map(move |i| (p, i)))
                .take(LISTED)
                .map(|(p, i)| json!({ "name": i.name, "email": i.email, "deal": p.crm_id, "kind": t(&format!("kind_{}", i.kind.as_str())) }))
                .collect()
        })
        .unwrap_or_default();
    let mine = shown
        .as_ref()
        .and_then(|f| f.preview.segments.iter().find(|s| s.key == key));
    let data = crate::web::pages::object(json!({
        "key": key,
        "version": version,
        "name": segment.name,
        "method_survey": segment.method.as_deref() != Some("interview"),
        "method_interview": segment.method.as_deref() == Some("interview"),
        "rules": rules,
        "incentives": incentives,
        "reminder_days": delivery[1],
        "expires_after_days": delivery[2],
        "target_per_period": delivery[3],
        "errors": field_errors(&faults),
        "figures": shown.as_ref().map(|f| json!({
            "deals": f.deals,
            "sample": sample(f.deals, f.total),
            "total": f.total,
            "alone": f.alone,
            "taken": mine.map_or(0, |s| s.deals_matched),
            "invited_deals": mine.map_or(0, |s| s.deals_invited),
            "invitations": mine.map_or(0, |s| s.invitations),
            "listed": invited,
            "more": mine.is_some_and(|s| s.invitations > LISTED),
        })),
        "action": format!("/console/program/segments/{key}"),
        "preview_url": format!("/console/program/segments/{key}/preview"),
        "attributes_help": ATTRIBUTES,
    }));
    // A draft the program's parser refuses is a 422 too, with each field named.
    let status = if faults.is_empty() || status != StatusCode::OK {
        status
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(render_with_status(
        signed,
        Section::Program,
        status,
        template,
        data,
    ))
}

#[get("/console/program/segments/{key}")]
async fn segment_page(
    signed: Signed,
    key: web::Path<String>,
    db: web::Data<Db>,
    planner: web::Data<Planner>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, PageError> {
    signed.may(Permission::ManageProgram)?;
    editor(
        (&signed, &db, &planner, clock.now()),
        &key,
        None,
        Vec::new(),
        StatusCode::OK,
    )
    .await
}

/// Reads a posted segment form against the stored segment `key`.
async fn posted_draft(
    db: &Db,
    key: &str,
    form: &mut super::page::Form,
    locale: debrief_common::Locale,
) -> Result<(Draft, Vec<FieldError>), PageError> {
    let (definition, _) = current_definition(db).await?;
    let Some(at) = definition.segments.iter().position(|s| s.key == key) else {
        return Err(PageError::NotFound(locale));
    };
    let draft = draft_of(form, &definition.segments[at])?;
    let mut faults = unreadable(&draft.rows, at);
    faults.extend(unreadable_delivery(&draft.delivery, at));
    Ok((draft, faults))
}

/// The editor's figures for a draft, without saving: the form's preview button, and the
/// script's live preview as the rules change.
#[post("/console/program/segments/{key}/preview")]
async fn segment_preview(
    posted: Posted,
    key: web::Path<String>,
    db: web::Data<Db>,
    planner: web::Data<Planner>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, PageError> {
    let Posted { signed, mut form } = posted;
    signed.may(Permission::ManageProgram)?;
    let (draft, faults) = posted_draft(&db, &key, &mut form, signed.locale()).await?;
    form.finish()?;
    editor(
        (&signed, &db, &planner, clock.now()),
        &key,
        Some(draft),
        faults,
        StatusCode::OK,
    )
    .await
}

#[post("/console/program/segments/{key}")]
async fn segment_save(
    posted: Posted,
    key: web::Path<String>,
    db: web::Data<Db>,
    planner: web::Data<Planner>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, PageError> {
    let Posted { signed, mut form } = posted;
    signed.may(Permission::ManageProgram)?;
    let locale = signed.locale();
    let expected = form.take("version")?.and_then(|v| v.parse::<i64>().ok());
    let (draft, faults) = posted_draft(&db, &key, &mut form, locale).await?;
    form.finish()?;
    let now = clock.now();
    if !faults.is_empty() {
        return editor(
            (&signed, &db, &planner, now),
            &key,
            Some(draft),
            faults,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let (mut definition, _) = current_definition(&db).await?;
    let Some(at) = definition.segments.iter().position(|s| s.key == *key) else {
        return Err(PageError::NotFound(locale));
    };
    definition.segments[at] = draft.segment.clone();
    let author = &signed.0.staff.name;
    match save_next(&db, &planner, &definition, expected, author, now).await? {
        Ok(()) => Ok(see_other("/console/program")),
        Err((status, faults)) => {
            editor(
                (&signed, &db, &planner, now),
                &key,
                Some(draft),
                faults,
                status,
            )
            .await
        }
    }
}

/// Saves `definition` as the program's next version, checked as the API checks it; else
/// the status and the faults to show the form again with (a 422, or a 409 when someone
/// saved another version since `expected` was read).
pub(super) async fn save_next(
    db: &Db,
    planner: &Planner,
    definition: &ProgramRequest,
    expected: Option<i64>,
    author: &str,
    now: DateTime<Utc>,
) -> Result<Result<(), (StatusCode, Vec<FieldError>)>, PageError> {
    match planner
        .programs
        .save(db, definition, expected, author, now)
        .await
    {
        Ok(_) => Ok(Ok(())),
        Err(SaveError::Invalid(faults)) => Ok(Err((StatusCode::UNPROCESSABLE_ENTITY, faults))),
        Err(SaveError::Stale { .. }) => Ok(Err((
            StatusCode::CONFLICT,
            vec![FieldError::new(
                "version",
                "the program changed meanwhile: reload the page",
            )],
        ))),
        Err(SaveError::Database(e)) => Err(PageError::Unexpected(e)),
    }
}
