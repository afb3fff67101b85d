//! The account manager's pages: their decided deals with the buyers worth an interview
//! and why, a personal invitation written, previewed and sent, and their invitations with
//! how each ended and their participation against the target. An account manager sees
//! their own accounts only, whatever the URL says (the same scope as the API); program
//! owners and admins see every account.

use super::page::{
    render, render_with_status, see_other, OrPage, PageError, Posted, Section, Signed,
};
use crate::app::clock::Clock;
use crate::app::config::Settings;
use crate::app::PublicUrl;
use crate::auth::{Accounts, Permission};
use crate::interviews::candidates;
use crate::interviews::interviewers;
use crate::interviews::personal::{self, PersonalInvitation};
use crate::jobs::runner::Waker;
use crate::outreach::store::Planner;
use crate::platform::db::Db;
use crate::reports::facts::Words;
use crate::web::error::ApiError;
use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use debrief_common::Locale;
use serde_json::{json, Map, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(deals)
        .service(deal)
        .service(invite)
        .service(invitations);
}

/// `text` as one segment of a URL path: every byte but the unreserved ones (RFC 3986)
/// percent-encoded, so a CRM id with a space or a slash still names its deal.
fn path_segment(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Deals per page.
const PAGE: i64 = 25;

/// The condition on `accounts a` for the caller's scope, its bind, if any.
fn scope(accounts: &Accounts) -> (&'static str, Option<String>) {
    match accounts {
        Accounts::All => ("1 = 1", None),
        Accounts::ManagedBy(email) => ("a.manager_email = $1", Some(email.clone())),
        Accounts::None => ("1 = 0", None),
    }
}

/// `?page=` (1 by default), or a 422 naming it; and `?sent=`, the invitation just sent
/// (the invitations page marks it).
fn page_number(req: &HttpRequest, locale: Locale) -> Result<(i64, Option<String>), PageError> {
    let mut params = crate::analytics::filter::Params::of(req).page(locale)?;
    let page = params.take("page");
    let sent = params.take("sent");
    params.finish().page(locale)?;
    let page = match page {
        None => 1,
        Some(p) => p
            .parse::<i64>()
            .ok()
            .filter(|p| (1..=100_000).contains(p))
            .ok_or_else(|| PageError::field(locale, "page", "must be a page number"))?,
    };
    Ok((page, sent))
}

#[derive(sqlx::FromRow)]
struct DealRow {
    crm_id: String,
    outcome: String,
    decided_at: String,
    account_name: String,
    competitors: String,
    amount_minor: i64,
    currency: String,
}

fn money(minor: i64, currency: &str, locale: Locale) -> String {
    let money = crate::outreach::decision::Money {
        minor_units: minor,
        currency: currency.to_owned(),
    };
    crate::incentives::format_money(&money, locale)
}

fn deal_view(d: &DealRow, words: Words) -> Value {
    let competitors: Vec<String> = serde_json::from_str(&d.competitors).unwrap_or_default();
    json!({
        "crm_id": d.crm_id,
        "href": format!("/console/deals/{}", path_segment(&d.crm_id)),
        "outcome": words.outcome(&d.outcome),
        "decided": d.decided_at.get(..10),
        "account": d.account_name,
        "competitors": competitors.join(", "),
        "amount": money(d.amount_minor, &d.currency, words.0),
    })
}

#[get("/console/deals")]
async fn deals(
    req: HttpRequest,
    signed: Signed,
    db: web::Data<Db>,
    planner: web::Data<Planner>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, PageError> {
    signed.may(Permission::InviteToInterview)?;
    let locale = signed.locale();
    let words = Words(locale);
    let (page, _) = page_number(&req, locale)?;
    let accounts = signed.0.staff.accounts();
    let (condition, bind) = scope(&accounts);
    let sql = format!(
        "select d.crm_id, d.outcome, d.decided_at, d.account_name, d.competitors,
                d.amount_minor, d.currency
         from deals d join accounts a on a.id = d.account_id
         where {condition}
         order by d.decided_at desc, d.id desc limit {} offset {}",
        PAGE + 1,
        (page - 1) * PAGE
    );
    let mut query = sqlx::query_as::<_, DealRow>(&sql);
    if let Some(b) = bind {
        query = query.bind(b);
    }
    let mut rows = query.fetch_all(db.pool()).await?;
    let more = rows.len() as i64 > PAGE;
    rows.truncate(PAGE as usize);
    let now = clock.now();
    let t = super::page::pages().sentences(locale);
    let mut listed = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut view = deal_view(row, words);
        // The buyers worth an interview, and why: the same ranking as the API's.
        let suggested = match candidates::of_deal(&db, &planner.programs, &accounts, &row.crm_id, now).await {
            Ok((c, _)) => c
                .candidates
                .into_iter()
                .filter(|c| c.suggested)
                .map(|c| json!({ "name": c.name, "reason": t(&format!("reason_{}", c.buying_role.as_str())) }))
                .collect::<Vec<_>>(),
            Err(ApiError::Unexpected(e)) => return Err(PageError::Unexpected(e)),
            Err(_) => Vec::new(),
        };
        view["suggested"] = json!(suggested);
        listed.push(view);
    }
    let data = crate::web::pages::object(json!({
        "deals": listed,
        "mine": matches!(accounts, Accounts::ManagedBy(_)),
        "previous": (page > 1).then(|| format!("/console/deals?page={}", page - 1)),
        "next": more.then(|| format!("/console/deals?page={}", page + 1)),
        "page": page,
    }));
    Ok(render(&signed, Section::Deals, "deals", data))
}

/// The invitation form as last sent (kept when the page is shown again).
#[derive(Debug, Default, Clone)]
struct Draft {
    email: String,
    note: String,
    incentive: String,
    interviewer: String,
}

#[allow(clippy::too_many_arguments)]
async fn deal_page(
    signed: &Signed,
    db: &Db,
    planner: &Planner,
    crm_id: &str,
    now: chrono::DateTime<chrono::Utc>,
    draft: Draft,
    status: StatusCode,
    extra: Map<String, Value>,
) -> Result<HttpResponse, PageError> {
    let locale = signed.locale();
    let words = Words(locale);
    let t = super::page::pages().sentences(locale);
    let accounts = signed.0.staff.accounts();
    // Another manager's deal answers as one that does not exist: the same 403 as the API.
    let (found, program) = candidates::of_deal(db, &planner.programs, &accounts, crm_id, now)
        .await
        .page(locale)?;
    let row: DealRow = sqlx::query_as(
        "select d.crm_id, d.outcome, d.decided_at, d.account_name, d.competitors,
                d.amount_minor, d.currency
         from deals d where d.crm_id = $1",
    )
    .bind(crm_id)
    .fetch_one(db.pool())
    .await?;
    let chosen = if draft.email.is_empty() {
        found
            .candidates
            .iter()
            .find(|c| c.suggested)
            .map(|c| c.email.clone())
            .unwrap_or_default()
    } else {
        draft.email.clone()
    };
    let people: Vec<Value> = found
        .candidates
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let stopped = c
                .suppressed
                .map(|s| t(&format!("stop_suppressed_{}", s.as_str())))
                .or_else(|| c.capped.map(|r| t(&format!("stop_{r}"))))
                .or_else(|| {
                    (!c.already_invited.is_empty()).then(|| {
                        c.already_invited
                            .iter()
                            .map(|a| format!("{} ({})", t(&format!("kind_{}", a.kind)), t(&format!("status_{}", a.status))))
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                });
            json!({
                "n": i,
                "name": c.name,
                "email": c.email,
                "role": c.role,
                "buying_role": t(&format!("buying_role_{}", c.buying_role.as_str())),
                "reason": t(&format!("reason_{}", c.buying_role.as_str())),
                "suggested": c.suggested,
                "stopped": stopped,
                "invitable": c.suppressed.is_none() && c.capped.is_none() && c.already_invited.iter().all(|a| a.kind != "interview"),
                "checked": c.email == chosen,
            })
        })
        .collect();
    let incentives: Vec<Value> = program
        .incentives
        .iter()
        .map(|i| {
            json!({
                "value": i.key,
                "label": crate::incentives::describe(i.kind, i.amount.as_ref(), i.quantity, i.name.as_deref(), locale),
                "selected": i.key == draft.incentive,
            })
        })
        .collect();
    let interviewers: Vec<Value> = interviewers::list(db)
        .await?
        .into_iter()
        .filter(|i| i.availability.is_some())
        .map(|i| json!({ "selected": i.id == draft.interviewer, "value": i.id, "label": i.name }))
        .collect();
    let mut data = crate::web::pages::object(json!({
        "deal": deal_view(&row, words),
        "people": people,
        "incentives": incentives,
        "interviewers": interviewers,
        "note": draft.note,
        "action": format!("/console/deals/{}/invite", path_segment(crm_id)),
        "preview": null,
        "errors": [],
    }));
    for (k, v) in extra {
        data.insert(k, v);
    }
    Ok(render_with_status(
        signed,
        Section::Deals,
        status,
        "deal",
        data,
    ))
}

#[get("/console/deals/{crm_id}")]
async fn deal(
    signed: Signed,
    crm_id: web::Path<String>,
    db: web::Data<Db>,
    planner: web::Data<Planner>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, PageError> {
    signed.may(Permission::InviteToInterview)?;
    deal_page(
        &signed,
        &db,
        &planner,
        &crm_id,
        clock.now(),
        Draft::default(),
        StatusCode::OK,
        Map::new(),
    )
    .await
}

#[post("/console/deals/{crm_id}/invite")]
#[allow(clippy::too_many_arguments)]
async fn invite(
    posted: Posted,
    crm_id: web::Path<String>,
    db: web::Data<Db>,
    planner: web::Data<Planner>,
    clock: web::Data<Clock>,
    settings: web::Data<Settings>,
    public_url: web::Data<PublicUrl>,
    waker: web::Data<Waker>,
) -> Result<HttpResponse, PageError> {
    let Posted { signed, mut form } = posted;
    signed.may(Permission::InviteToInterview)?;
    let draft = Draft {
        email: form.take("email")?.unwrap_or_default(),
        note: form.take("note")?.unwrap_or_default(),
        incentive: form.take("incentive")?.unwrap_or_default(),
        interviewer: form.take("interviewer")?.unwrap_or_default(),
    };
    let action = form.take("action")?.unwrap_or_default();
    form.finish()?;
    let request = PersonalInvitation {
        crm_id: crm_id.to_string(),
        email: draft.email.clone(),
        note: Some(draft.note.clone()).filter(|n| !n.trim().is_empty()),
        incentive: Some(draft.incentive.clone()).filter(|i| !i.is_empty()),
        interviewer_id: Some(draft.interviewer.clone()).filter(|i| !i.is_empty()),
    };
    let now = clock.now();
    let locale = signed.locale();
    let staff = signed.0.staff.clone();
    // What went wrong, shown on the form with what was typed, or the page's own error.
    let shown = |e: ApiError| -> Result<(StatusCode, Value), PageError> {
        match e {
            ApiError::Validation(fields) => Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                super::page::field_errors(&fields),
            )),
            ApiError::Conflict { code, message } => Ok((
                StatusCode::CONFLICT,
                json!([{ "field": code, "message": message }]),
            )),
            other => Err(PageError::from_api(locale, other)),
        }
    };
    let checked = match personal::check(&db, &planner, &staff, request, now).await {
        Ok(c) => c,
        Err(e) => {
            let (status, errors) = shown(e)?;
            let extra = crate::web::pages::object(json!({ "errors": errors }));
            return deal_page(&signed, &db, &planner, &crm_id, now, draft, status, extra).await;
        }
    };
    match action.as_str() {
        "preview" => {
            let preview = personal::preview(&checked, &settings.company_name, &public_url.0)?;
            let extra = crate::web::pages::object(json!({
                "preview": {
                    "to": preview.to,
                    "reply_to": preview.reply_to,
                    "subject": preview.subject,
                    "text": preview.text,
                }
            }));
            deal_page(
                &signed,
                &db,
                &planner,
                &crm_id,
                now,
                draft,
                StatusCode::OK,
                extra,
            )
            .await
        }
        "send" => match personal::send(&db, &planner, &staff, checked, now).await {
            Ok(queued) => {
                waker.wake();
                Ok(see_other(&format!(
                    "/console/invitations?sent={}",
                    queued.invitation_id
                )))
            }
            Err(e) => {
                let (status, errors) = shown(e)?;
                let extra = crate::web::pages::object(json!({ "errors": errors }));
                deal_page(&signed, &db, &planner, &crm_id, now, draft, status, extra).await
            }
        },
        _ => Err(PageError::field(
            locale,
            "action",
            "must be preview or send",
        )),
    }
}

#[derive(sqlx::FromRow)]
struct InvitationRow {
    id: String,
    kind: String,
    status: String,
    interview_status: Option<String>,
    scheduled_for: String,
    crm_id: String,
    account_name: String,
    buyer: String,
}

#[get("/console/invitations")]
async fn invitations(
    req: HttpRequest,
    signed: Signed,
    db: web::Data<Db>,
    planner: web::Data<Planner>,
    clock: web::Data<Clock>,
) -> Result<HttpResponse, PageError> {
    signed.may(Permission::InviteToInterview)?;
    let locale = signed.locale();
    let words = Words(locale);
    let t = super::page::pages().sentences(locale);
    let (page, sent) = page_number(&req, locale)?;
    let accounts = signed.0.staff.accounts();
    let (condition, bind) = scope(&accounts);
    let sql = format!(
        "select i.id, i.kind, i.status, v.status as interview_status, i.scheduled_for,
                d.crm_id, d.account_name, c.name as buyer
         from invitations i
         join deals d on d.id = i.deal_id
         join accounts a on a.id = d.account_id
         join contacts c on c.id = i.contact_id
         left join interviews v on v.invitation_id = i.id
         where {condition}
         order by i.scheduled_for desc, i.id desc limit {} offset {}",
        PAGE + 1,
        (page - 1) * PAGE
    );
    let mut query = sqlx::query_as::<_, InvitationRow>(&sql);
    if let Some(b) = &bind {
        query = query.bind(b.clone());
    }
    let mut rows = query.fetch_all(db.pool()).await?;
    let more = rows.len() as i64 > PAGE;
    rows.truncate(PAGE as usize);
    let listed: Vec<Value> = rows
        .iter()
        .map(|r| {
            // An interview's own status says more than its invitation's (booked, no-show).
            let status = match (r.kind.as_str(), r.interview_status.as_deref()) {
                ("interview", Some(s)) => s,
                _ => r.status.as_str(),
            };
            json!({
                "buyer": r.buyer,
                "account": r.account_name,
                "deal": r.crm_id,
                "kind": t(&format!("kind_{}", r.kind)),
                "status": t(&format!("status_{status}")),
                "status_class": status,
                "when": r.scheduled_for.get(..10),
                "just_sent": sent.as_deref() == Some(r.id.as_str()),
            })
        })
        .collect();
    // Participation against target: from the funnel aggregate, by manager.
    let mut conn = db.pool().acquire().await?;
    let program = planner.programs.in_force_at(&mut conn, clock.now()).await?;
    drop(conn);
    let (who, manager) = match &accounts {
        Accounts::ManagedBy(email) => ("manager_email = $1", Some(email.clone())),
        _ => ("1 = 1", None),
    };
    let sql = format!(
        "select method, cast(sum(invited) as bigint), cast(sum(completed) as bigint)
         from funnel_rollup r where {who} and {every}
         group by method order by method",
        every = crate::analytics::rollups::every_slice("r"),
    );
    crate::analytics::funnel::catch_up(&db).await?;
    let mut query = sqlx::query_as::<_, (String, i64, i64)>(&sql);
    if let Some(m) = manager {
        query = query.bind(m);
    }
    let rates: Vec<Value> = query
        .fetch_all(db.pool())
        .await?
        .into_iter()
        .map(|(method, invited, completed)| {
            let target = if method == "interview" {
                program.interview_target
            } else {
                program.survey_target
            };
            let rate = (invited > 0).then(|| completed as f64 / invited as f64);
            json!({
                "method": t(&format!("kind_{method}")),
                "invited": invited,
                "completed": completed,
                "rate": words.percent(rate),
                "target": words.percent(Some(target)),
                "meets": rate.is_some_and(|r| r >= target),
            })
        })
        .collect();
    let data = crate::web::pages::object(json!({
        "invitations": listed,
        "rates": rates,
        "mine": matches!(accounts, Accounts::ManagedBy(_)),
        "notice": sent.is_some().then(|| t("invite_queued")),
        "previous": (page > 1).then(|| format!("/console/invitations?page={}", page - 1)),
        "next": more.then(|| format!("/console/invitations?page={}", page + 1)),
    }));
    Ok(render(&signed, Section::Invitations, "invitations", data))
}
