//! Program setup beyond the segments: the program's name and period, its participation
//! targets, the contact caps, the incentives offered and the budget they draw on, and
//! the portals allowed to embed the widget. Saved as the program's next version through
//! the same check and store as `PUT /api/v1/program`: a value the API refuses is refused
//! here, named by its path in the program (`incentives[1].amount`).

use super::page::{
    field_errors, render_with_status, see_other, Form, PageError, Posted, Section, Signed,
};
use crate::app::clock::Clock;
use crate::auth::Permission;
use crate::incentives::{major_text, minor_units};
use crate::outreach::decision::AmountRequest;
use crate::outreach::store::Planner;
use crate::platform::db::Db;
use crate::programs::definition::{
    BudgetRequest, ContactPolicyRequest, IncentiveRequest, ProgramRequest, SendingRequest,
};
use crate::programs::store::{built_in_request, Programs};
use crate::programs::IncentiveKind;
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use debrief_common::FieldError;
use serde_json::{json, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(settings).service(save);
}

const PATH: &str = "/console/program/settings";

/// Blank incentive rows offered below the program's: room to add without a script.
const BLANK_INCENTIVES: usize = 2;

/// An incentive row as typed.
#[derive(Debug, Clone, Default)]
struct IncentiveRow {
    key: String,
    kind: String,
    amount: String,
    currency: String,
    quantity: String,
    name: String,
}

/// The form as typed: text, kept to show it again.
#[derive(Debug, Clone, Default)]
struct Draft {
    name: String,
    period: String,
    survey_target: String,
    interview_target: String,
    person_cooldown_days: String,
    account_max_per_decision: String,
    account_cooldown_days: String,
    budget_currency: String,
    budget_per_period: String,
    budget_per_account: String,
    budget_when_spent: String,
    incentives: Vec<IncentiveRow>,
    embed_origins: String,
    sending_hours: String,
    sending_days: String,
    sender_name: String,
}

fn text<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

/// A share (0.41) as the percentage people type (41).
fn percent(share: Option<f64>) -> String {
    share.map_or_else(String::new, |s| {
        let p = (s * 1000.0).round() / 10.0;
        p.to_string()
    })
}

impl Draft {
    fn of(p: &ProgramRequest) -> Draft {
        let policy = p.contact_policy.clone().unwrap_or_default();
        let sending = p.sending.clone().unwrap_or_default();
        let budget = p.budget.as_ref();
        let currency = budget.map(|b| b.currency.clone()).unwrap_or_default();
        let money = |m: Option<i64>| m.map_or_else(String::new, |m| major_text(m, &currency));
        let mut incentives: Vec<IncentiveRow> = p
            .incentives
            .iter()
            .map(|i| IncentiveRow {
                key: i.key.clone(),
                kind: i.kind.clone(),
                amount: i
                    .amount
                    .as_ref()
                    .map_or_else(String::new, |a| major_text(a.minor_units, &a.currency)),
                currency: i
                    .amount
                    .as_ref()
                    .map(|a| a.currency.clone())
                    .unwrap_or_default(),
                quantity: text(i.quantity),
                name: i.name.clone().unwrap_or_default(),
            })
            .collect();
        incentives.extend(std::iter::repeat_n(
            IncentiveRow::default(),
            BLANK_INCENTIVES,
        ));
        Draft {
            name: p.name.clone(),
            period: p.period.clone().unwrap_or_else(|| "quarter".into()),
            survey_target: percent(p.survey_target),
            interview_target: percent(p.interview_target),
            person_cooldown_days: text(policy.person_cooldown_days),
            account_max_per_decision: text(policy.account_max_per_decision),
            account_cooldown_days: text(policy.account_cooldown_days),
            budget_currency: currency.clone(),
            budget_per_period: money(budget.and_then(|b| b.per_period_minor)),
            budget_per_account: money(budget.and_then(|b| b.per_account_minor)),
            budget_when_spent: budget
                .and_then(|b| b.when_spent.clone())
                .unwrap_or_else(|| "send_without".into()),
            incentives,
            embed_origins: p.embed_origins.join("\n"),
            sending_hours: sending.hours.clone().unwrap_or_default(),
            sending_days: sending.days.clone().unwrap_or_default(),
            sender_name: sending.sender_name.clone().unwrap_or_default(),
        }
    }

    fn read(form: &mut Form, rows: usize) -> Result<Draft, PageError> {
        let mut take = |name: &str| -> Result<String, PageError> {
            Ok(form.take(name)?.unwrap_or_default().trim().to_owned())
        };
        let mut draft = Draft {
            name: take("name")?,
            period: take("period")?,
            survey_target: take("survey_target")?,
            interview_target: take("interview_target")?,
            person_cooldown_days: take("person_cooldown_days")?,
            account_max_per_decision: take("account_max_per_decision")?,
            account_cooldown_days: take("account_cooldown_days")?,
            budget_currency: take("budget_currency")?.to_ascii_uppercase(),
            budget_per_period: take("budget_per_period")?,
            budget_per_account: take("budget_per_account")?,
            budget_when_spent: take("budget_when_spent")?,
            embed_origins: take("embed_origins")?,
            sending_hours: take("sending_hours")?,
            sending_days: take("sending_days")?.to_ascii_lowercase(),
            sender_name: take("sender_name")?,
            incentives: Vec::new(),
        };
        for i in 0..rows {
            draft.incentives.push(IncentiveRow {
                key: take(&format!("incentive_key_{i}"))?,
                kind: take(&format!("incentive_kind_{i}"))?,
                amount: take(&format!("incentive_amount_{i}"))?,
                currency: take(&format!("incentive_currency_{i}"))?.to_ascii_uppercase(),
                quantity: take(&format!("incentive_quantity_{i}"))?,
                name: take(&format!("incentive_name_{i}"))?,
            });
        }
        Ok(draft)
    }

    /// `base` with the form's values, and the fields that did not read as numbers.
    fn apply(&self, mut base: ProgramRequest) -> (ProgramRequest, Vec<FieldError>) {
        let mut faults = Vec::new();
        let mut keep =
            |r: Result<Option<i64>, FieldError>| r.map_err(|f| faults.push(f)).ok().flatten();
        let policy = ContactPolicyRequest {
            person_cooldown_days: keep(whole(
                "contact_policy.person_cooldown_days",
                &self.person_cooldown_days,
            )),
            account_max_per_decision: keep(whole(
                "contact_policy.account_max_per_decision",
                &self.account_max_per_decision,
            )),
            account_cooldown_days: keep(whole(
                "contact_policy.account_cooldown_days",
                &self.account_cooldown_days,
            )),
        };
        let currency = self.budget_currency.as_str();
        let budget = (!currency.is_empty()).then(|| BudgetRequest {
            currency: currency.to_owned(),
            per_period_minor: keep(money(
                "budget.per_period_minor",
                &self.budget_per_period,
                currency,
            )),
            per_account_minor: keep(money(
                "budget.per_account_minor",
                &self.budget_per_account,
                currency,
            )),
            when_spent: (!self.budget_when_spent.is_empty())
                .then(|| self.budget_when_spent.clone()),
        });
        let mut incentives = Vec::new();
        for row in &self.incentives {
            // A row left blank, or cleared, is no incentive.
            if row.key.is_empty() && row.kind.is_empty() {
                continue;
            }
            let at = |field: &str| format!("incentives[{}].{field}", incentives.len());
            let currency = if row.currency.is_empty() {
                currency.to_owned()
            } else {
                row.currency.clone()
            };
            let amount = keep(money(&at("amount"), &row.amount, &currency)).map(|minor_units| {
                AmountRequest {
                    minor_units,
                    currency: currency.clone(),
                }
            });
            incentives.push(IncentiveRequest {
                key: row.key.clone(),
                kind: row.kind.clone(),
                amount,
                quantity: keep(whole(&at("quantity"), &row.quantity)),
                name: (!row.name.is_empty()).then(|| row.name.clone()),
            });
        }
        let mut share =
            |field: &str, v: &str| share(field, v).map_err(|f| faults.push(f)).ok().flatten();
        base.survey_target = share("survey_target", &self.survey_target);
        base.interview_target = share("interview_target", &self.interview_target);
        base.name = self.name.clone();
        base.period = (!self.period.is_empty()).then(|| self.period.clone());
        base.contact_policy = Some(policy);
        base.budget = budget;
        base.incentives = incentives;
        let given = |v: &String| (!v.is_empty()).then(|| v.clone());
        let sending = SendingRequest {
            hours: given(&self.sending_hours),
            days: given(&self.sending_days),
            sender_name: given(&self.sender_name),
        };
        base.sending =
            (sending.hours.is_some() || sending.days.is_some() || sending.sender_name.is_some())
                .then_some(sending);
        base.embed_origins = self
            .embed_origins
            .lines()
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_owned)
            .collect();
        (base, faults)
    }
}

/// A whole number typed in `field`; none when left empty.
fn whole(field: &str, v: &str) -> Result<Option<i64>, FieldError> {
    if v.is_empty() {
        return Ok(None);
    }
    v.parse::<i64>()
        .map(Some)
        .map_err(|_| FieldError::new(field, "must be a whole number"))
}

/// An amount typed in major units in `field`, as minor units; none when left empty.
fn money(field: &str, v: &str, currency: &str) -> Result<Option<i64>, FieldError> {
    if v.is_empty() {
        return Ok(None);
    }
    minor_units(v, currency)
        .map(Some)
        .map_err(|m| FieldError::new(field, m))
}

/// A percentage typed in `field` (41, 41 %), as a share (0.41); none when left empty.
fn share(field: &str, v: &str) -> Result<Option<f64>, FieldError> {
    if v.is_empty() {
        return Ok(None);
    }
    match v
        .trim_end_matches('%')
        .trim()
        .replace(',', ".")
        .parse::<f64>()
    {
        Ok(p) if p.is_finite() => Ok(Some(p / 100.0)),
        _ => Err(FieldError::new(field, "must be a percentage, like 41")),
    }
}

async fn current(db: &Db) -> anyhow::Result<(ProgramRequest, Option<i64>)> {
    Ok(match Programs::current(db).await? {
        Some(stored) => (stored.definition, Some(stored.version)),
        None => (built_in_request(), None),
    })
}

fn page(
    signed: &Signed,
    draft: &Draft,
    version: Option<i64>,
    status: StatusCode,
    errors: &[FieldError],
) -> HttpResponse {
    let t = super::page::pages().sentences(signed.locale());
    let kinds: Vec<&str> = IncentiveKind::ALL.iter().map(|k| k.as_str()).collect();
    let incentives: Vec<Value> = draft
        .incentives
        .iter()
        .enumerate()
        .map(|(i, r)| {
            json!({
                "i": i,
                "n": i + 1,
                "key": r.key,
                "amount": r.amount,
                "currency": r.currency,
                "quantity": r.quantity,
                "name": r.name,
                "kinds": kinds.iter().map(|k| json!({
                    "value": k,
                    "label": t(&format!("incentive_kind_{k}")),
                    "selected": r.kind == *k,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let data = crate::web::pages::object(json!({
        "version": version,
        "draft": {
            "name": draft.name,
            "monthly": draft.period == "month",
            "survey_target": draft.survey_target,
            "interview_target": draft.interview_target,
            "person_cooldown_days": draft.person_cooldown_days,
            "account_max_per_decision": draft.account_max_per_decision,
            "account_cooldown_days": draft.account_cooldown_days,
            "budget_currency": draft.budget_currency,
            "budget_per_period": draft.budget_per_period,
            "budget_per_account": draft.budget_per_account,
            "hold": draft.budget_when_spent == "hold",
            "embed_origins": draft.embed_origins,
            "sending_hours": draft.sending_hours,
            "sending_days": draft.sending_days,
            "sender_name": draft.sender_name,
        },
        "incentives": incentives,
        "rows": draft.incentives.len(),
        "errors": field_errors(errors),
    }));
    render_with_status(signed, Section::Program, status, "settings", data)
}

#[get("/console/program/settings")]
async fn settings(signed: Signed, db: web::Data<Db>) -> Result<HttpResponse, PageError> {
    signed.may(Permission::ManageProgram)?;
    let (definition, version) = current(&db).await?;
    Ok(page(
        &signed,
        &Draft::of(&definition),
        version,
        StatusCode::OK,
        &[],
    ))
}

#[post("/console/program/settings")]
async fn save(
    posted: Posted,
    db: web::Data<Db>,
    planner: web::Data<Planner>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, PageError> {
    let Posted { signed, mut form } = posted;
    signed.may(Permission::ManageProgram)?;
    let locale = signed.locale();
    let expected = form.take("version")?.and_then(|v| v.parse::<i64>().ok());
    let rows = form
        .take("rows")?
        .and_then(|r| r.parse::<usize>().ok())
        .filter(|r| *r <= 60)
        .ok_or_else(|| {
            PageError::field(
                locale,
                "rows",
                "must be the form's number of incentive rows",
            )
        })?;
    let draft = Draft::read(&mut form, rows)?;
    form.finish()?;
    let (definition, version) = current(&db).await?;
    let (definition, faults) = draft.apply(definition);
    if !faults.is_empty() {
        return Ok(page(
            &signed,
            &draft,
            version,
            StatusCode::UNPROCESSABLE_ENTITY,
            &faults,
        ));
    }
    let author = &signed.0.staff.name;
    match super::program::save_next(&db, &planner, &definition, expected, author, clock.now())
        .await?
    {
        Ok(()) => Ok(see_other(PATH)),
        Err((status, faults)) => Ok(page(&signed, &draft, version, status, &faults)),
    }
}
