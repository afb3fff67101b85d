//! Recording decided deals, one posted or thousands imported: in one transaction, the
//! deals are planned under the program in force when each was decided, then written with
//! their accounts, buyers and the plan: the invitations, their links, the incentive
//! offers and each invitation's job (its email, then on the same row its reminders and
//! expiry). Posting the same deal again updates it and never duplicates an invitation.
//! Every statement writes many rows at once, so an import of 100,000 deals costs a few
//! hundred statements, not a million.

use super::decision::Decision;
use super::history;
use super::invitation_email::SendInvitation;
use super::plan::{self, Exclusion, LeftOut, Plan, PlannedInvitation, Timing};
use crate::incentives;
use crate::interviews::lifecycle::{self, Asked};
use crate::invitations::tokens::Tokens;
use crate::invitations::{InvitationKind, InvitationStatus};
use crate::jobs::{self, JobKind, NewJob};
use crate::people;
use crate::platform::db::rows::{execute_many, insert_many, list, upsert_keyed, Keyed, Param};
use crate::platform::db::{self, time::to_db, Db};
use crate::programs::store::Programs;
use crate::programs::Method;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{Acquire, AnyConnection};
use std::collections::HashMap;

/// What planning needs beyond the deal: the program versions, the link key and the
/// sending window. One per application, shared by the routes and the demo.
#[derive(Clone)]
pub struct Planner {
    pub programs: Programs,
    pub tokens: Tokens,
    pub timing: Timing,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RecordedDecision {
    pub deal_id: String,
    pub crm_id: String,
    /// True when this request created the deal; false when it updated it.
    pub created: bool,
    pub program_version: i64,
    /// The segment that took the deal, or none when it is outside the program.
    pub segment: Option<String>,
    pub method: Option<Method>,
    /// Why nobody on the deal was invited, when that is the case for the whole deal.
    pub excluded: Option<Exclusion>,
    pub invitations: Vec<RecordedInvitation>,
    /// Buyers on the deal who were not invited by this request, and why.
    pub left_out: Vec<LeftOut>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RecordedInvitation {
    pub invitation_id: String,
    pub contact_email: String,
    pub kind: InvitationKind,
    pub status: InvitationStatus,
    pub scheduled_for: String,
    /// The incentive offered, by catalogue key.
    pub incentive: Option<String>,
    /// True when this request created the invitation.
    pub created: bool,
}

pub async fn record_decision(
    db: &Db,
    planner: &Planner,
    decision: &Decision,
    now: DateTime<Utc>,
) -> anyhow::Result<RecordedDecision> {
    record_group(db, planner, std::slice::from_ref(decision), now)
        .await?
        .pop()
        .ok_or_else(|| anyhow::anyhow!("the deal was not recorded"))
}

/// Records deals posted one by one, at most a few hundred, with distinct CRM ids, in one
/// transaction (see [`super::intake`]): each is planned as if posted after the one before.
pub async fn record_group(
    db: &Db,
    planner: &Planner,
    decisions: &[Decision],
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<RecordedDecision>> {
    let mut conn = db.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    let recorded = record_in(&mut tx, planner, decisions, now, None).await?;
    let deal_ids: Vec<&str> = recorded.iter().map(|r| r.deal_id.as_str()).collect();
    let mut invitations = invitations_of(&mut tx, &deal_ids).await?;
    tx.commit().await?;
    decisions
        .iter()
        .zip(recorded)
        .map(|(decision, one)| {
            let mut of_deal = invitations.remove(&one.deal_id).unwrap_or_default();
            for invitation in &mut of_deal {
                invitation.created = one.created_invitations.contains(&invitation.invitation_id);
            }
            Ok(RecordedDecision {
                deal_id: one.deal_id,
                crm_id: decision.crm_id.clone(),
                created: one.created,
                program_version: one.plan.program_version,
                segment: one.plan.segment,
                method: one.plan.method,
                excluded: one.plan.deal_excluded,
                invitations: of_deal,
                left_out: one.plan.left_out,
            })
        })
        .collect()
}

/// Deals per transaction in an import: large enough that the commit and the history
/// queries are shared by many deals, small enough that a live decision waits little.
pub const IMPORT_CHUNK: usize = 1_000;

/// Records many decided deals, in order, as if each were posted after the one before it:
/// a buyer invited by an earlier deal of the import is in cooldown for a later one, and
/// quotas and budgets count the import's own invitations. Deals are written in
/// transactions of [`IMPORT_CHUNK`]; each CRM id must appear once.
pub async fn record_decisions(
    db: &Db,
    planner: &Planner,
    decisions: &[Decision],
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<Recorded>> {
    let mut seen = std::collections::HashSet::with_capacity(decisions.len());
    if let Some(twice) = decisions.iter().find(|d| !seen.insert(d.crm_id.as_str())) {
        anyhow::bail!("deal {} appears twice in one import", twice.crm_id);
    }
    let mut recorded = Vec::with_capacity(decisions.len());
    let mut carried = HashMap::new();
    for chunk in decisions.chunks(IMPORT_CHUNK) {
        let mut conn = db.pool().acquire().await?;
        let mut tx = conn.begin().await?;
        // A failed chunk fails the import, so what is carried is always committed.
        recorded.extend(record_in(&mut tx, planner, chunk, now, Some(&mut carried)).await?);
        tx.commit().await?;
    }
    Ok(recorded)
}

/// One deal as written and planned.
#[derive(Debug)]
pub struct Recorded {
    pub deal_id: String,
    /// True when this call created the deal; false when it updated it.
    pub created: bool,
    pub plan: Plan,
    /// The invitations this call created.
    pub created_invitations: Vec<String>,
}

/// Records deals with distinct CRM ids in the caller's transaction: accounts first, then,
/// for each run of deals under one program version, history, plans and writes. A run
/// sees the writes of the runs before it.
async fn record_in(
    tx: &mut AnyConnection,
    planner: &Planner,
    decisions: &[Decision],
    now: DateTime<Utc>,
    mut carried: Option<&mut HashMap<i64, history::Carried>>,
) -> anyhow::Result<Vec<Recorded>> {
    // The transaction's first statement is a write. On SQLite a transaction that reads
    // first and writes later must upgrade its lock, and that upgrade fails at once (no
    // busy wait) if another connection wrote in between; writing first waits its turn.
    let accounts = store_accounts(tx, decisions, now).await?;
    let decided: Vec<DateTime<Utc>> = decisions.iter().map(|d| d.decided_at).collect();
    let programs = planner.programs.in_force_for(tx, &decided).await?;
    let mut recorded = Vec::with_capacity(decisions.len());
    let mut start = 0;
    while start < decisions.len() {
        let program = &programs[start];
        let end = start
            + programs[start..]
                .iter()
                .take_while(|p| p.version == program.version)
                .count();
        let run = &decisions[start..end];
        let held = carried.as_deref().and_then(|c| c.get(&program.version));
        let mut history = history::load(tx, run, program, true, held).await?;
        let plans: Vec<Plan> = run
            .iter()
            .map(|deal| {
                let plan = plan::plan(deal, program, &history, &planner.timing, now);
                history.record(deal, &plan, now);
                plan
            })
            .collect();
        if let Some(carried) = carried.as_deref_mut() {
            carried.entry(program.version).or_default().keep(&history);
        }
        recorded.extend(write_run(tx, run, plans, &accounts, &planner.tokens, now).await?);
        start = end;
    }
    Ok(recorded)
}

/// Creates or renames the deals' accounts (the last deal's name and manager win, as
/// posting in order would leave them); their ids by account key.
async fn store_accounts(
    tx: &mut AnyConnection,
    decisions: &[Decision],
    now: DateTime<Utc>,
) -> anyhow::Result<HashMap<String, String>> {
    let accounts = decisions
        .iter()
        .map(|d| {
            let named = people::AccountNamed {
                name: &d.account_name,
                manager_email: &d.account_manager.email,
            };
            (d.account_key.as_str(), named)
        })
        .collect();
    Ok(people::upsert_accounts(tx, accounts, now).await?)
}

/// Writes a run of planned deals: the deals with their verdict, their buyers, then each
/// new invitation with its link, incentive offer and jobs.
async fn write_run(
    tx: &mut AnyConnection,
    run: &[Decision],
    plans: Vec<Plan>,
    accounts: &HashMap<String, String>,
    tokens: &Tokens,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<Recorded>> {
    let stamp = to_db(now);
    let account_of = |d: &Decision| {
        accounts
            .get(&d.account_key)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("account {} was not stored", d.account_key))
    };

    let mut new_ids = Vec::with_capacity(run.len());
    let mut rows = Vec::with_capacity(run.len());
    for (d, plan) in run.iter().zip(&plans) {
        let id = db::new_id();
        new_ids.push(id.clone());
        rows.push((
            d.crm_id.clone(),
            id.clone(),
            vec![
                id.into(),
                account_of(d)?.into(),
                (&d.crm_id).into(),
                d.outcome.as_str().into(),
                to_db(d.decided_at).into(),
                d.amount.minor_units.into(),
                (&d.amount.currency).into(),
                d.sales_cycle_days.into(),
                serde_json::to_string(&d.competitors)?.into(),
                d.region.as_deref().into(),
                d.persona.as_deref().into(),
                d.product_line.as_deref().into(),
                d.company_type.as_deref().into(),
                d.icp_fit.map(|f| f.as_str()).into(),
                d.renewal_date.map(|r| r.to_string()).into(),
                i64::from(d.strategic).into(),
                (&d.account_name).into(),
                (&d.account_manager.name).into(),
                (&d.account_manager.email).into(),
                (&stamp).into(),
                (&stamp).into(),
                d.declined.as_ref().map(|x| x.reason.as_str()).into(),
                d.declined.as_ref().and_then(|x| x.detail.clone()).into(),
                d.request_kind.as_deref().into(),
                plan.program_version.into(),
                plan.segment.as_deref().into(),
                plan.deal_excluded.map(|e| e.as_str()).into(),
            ],
        ));
    }
    let deals = Keyed {
        table: "deals",
        key: "crm_id",
        head: "insert into deals (id, account_id, crm_id, outcome, decided_at, amount_minor, currency,
             sales_cycle_days, competitors, region, persona, product_line, company_type, icp_fit,
             renewal_date, strategic, account_name, account_manager_name, account_manager_email,
             created_at, updated_at, declined_reason, declined_detail, request_kind,
             program_version, segment_key, outside_reason)",
        upsert: "on conflict (crm_id) do update set
             account_id = excluded.account_id, outcome = excluded.outcome, decided_at = excluded.decided_at,
             amount_minor = excluded.amount_minor, currency = excluded.currency,
             sales_cycle_days = excluded.sales_cycle_days, competitors = excluded.competitors,
             region = excluded.region, persona = excluded.persona,
             product_line = excluded.product_line, company_type = excluded.company_type,
             icp_fit = excluded.icp_fit, renewal_date = excluded.renewal_date,
             strategic = excluded.strategic, account_name = excluded.account_name,
             account_manager_name = excluded.account_manager_name,
             account_manager_email = excluded.account_manager_email,
             declined_reason = excluded.declined_reason, declined_detail = excluded.declined_detail,
             request_kind = excluded.request_kind, program_version = excluded.program_version,
             segment_key = excluded.segment_key, outside_reason = excluded.outside_reason,
             updated_at = excluded.updated_at",
    };
    let deal_ids = upsert_keyed(tx, &deals, rows).await?;

    // Buyers: one person per address across the run (the last name wins), then one
    // contact row per deal and person.
    let person_names = run
        .iter()
        .flat_map(|d| &d.contacts)
        .map(|c| (c.email.as_str(), c.name.as_str()))
        .collect();
    let person_ids = people::upsert_persons(tx, person_names, now).await?;
    let lookup = |map: &HashMap<String, String>, key: &str, what: &str| {
        map.get(key)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("{what} {key} was not stored"))
    };
    // A new deal's buyers and invitations cannot conflict with stored rows, so their ids
    // are the ones generated here; only a deal posted before needs them read back.
    let fresh: std::collections::HashSet<&str> = run
        .iter()
        .zip(&new_ids)
        .filter(|(d, id)| deal_ids.get(&d.crm_id) == Some(*id))
        .map(|(d, _)| d.crm_id.as_str())
        .collect();
    // A deal posted again may have changed: its invitations are counted again under it.
    let known: Vec<&str> = run
        .iter()
        .filter(|d| !fresh.contains(d.crm_id.as_str()))
        .filter_map(|d| deal_ids.get(&d.crm_id).map(String::as_str))
        .collect();
    crate::analytics::funnel::refile(tx, &known).await?;
    let mut contact_ids: HashMap<(String, String), String> = HashMap::new();
    let (mut new_rows, mut known_rows) = (Vec::new(), Vec::new());
    for d in run {
        let deal_id = lookup(&deal_ids, &d.crm_id, "deal")?;
        for c in &d.contacts {
            let id = db::new_id();
            let person_id = lookup(&person_ids, &c.email, "person")?;
            let row = vec![
                id.clone().into(),
                deal_id.clone().into(),
                (&c.name).into(),
                person_id.clone().into(),
                c.role.as_deref().into(),
                c.locale.code().into(),
                c.time_zone.name().into(),
                (&stamp).into(),
                (&stamp).into(),
            ];
            if fresh.contains(d.crm_id.as_str()) {
                contact_ids.insert((deal_id.clone(), person_id), id);
                new_rows.push(row);
            } else {
                known_rows.push(row);
            }
        }
    }
    const CONTACTS: &str = "insert into contacts (id, deal_id, name, person_id, role, locale,
         time_zone, created_at, updated_at)";
    execute_many(tx, CONTACTS, "", new_rows).await?;
    contact_ids.extend(
        insert_many::<(String, String, String)>(
            tx,
            CONTACTS,
            "on conflict (deal_id, person_id) do update set
                 name = excluded.name, role = excluded.role, locale = excluded.locale,
                 time_zone = excluded.time_zone, updated_at = excluded.updated_at
             returning deal_id, person_id, id",
            known_rows,
        )
        .await?
        .into_iter()
        .map(|(deal, person, id)| ((deal, person), id)),
    );

    let mut planned_by_contact: HashMap<String, (usize, &PlannedInvitation)> = HashMap::new();
    let mut inserted: Vec<(String, String)> = Vec::new();
    let (mut new_rows, mut known_rows) = (Vec::new(), Vec::new());
    for (i, (d, plan)) in run.iter().zip(&plans).enumerate() {
        let deal_id = lookup(&deal_ids, &d.crm_id, "deal")?;
        let account_id = account_of(d)?;
        for planned in &plan.invitations {
            let person_id = lookup(&person_ids, &planned.email, "person")?;
            let contact_id = contact_ids
                .get(&(deal_id.clone(), person_id.clone()))
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("the plan names a buyer the deal does not have"))?;
            planned_by_contact.insert(contact_id.clone(), (i, planned));
            let id = db::new_id();
            let row = NewInvitation {
                id: &id,
                deal_id: &deal_id,
                contact_id: &contact_id,
                person_id: &person_id,
                account_id: &account_id,
                kind: planned.kind,
                status: planned.status,
                status_reason: planned.status_reason,
                scheduled_for: planned.scheduled_for,
                expires_at: planned.expires_at,
                program_version: plan.program_version,
                segment_key: plan.segment.as_deref(),
                survey_key: planned.survey.map(|s| s.as_str()),
                incentive_key: planned.incentive.as_ref().map(|i| i.key.as_str()),
            }
            .row(now);
            if fresh.contains(d.crm_id.as_str()) {
                inserted.push((contact_id, id));
                new_rows.push(row);
            } else {
                known_rows.push(row);
            }
        }
    }
    execute_many(tx, INVITATIONS, "", new_rows).await?;
    // `on conflict do nothing`: a concurrent post of the same deal may have got in
    // first, and then that one stands.
    inserted.extend(
        insert_many::<(String, String)>(
            tx,
            INVITATIONS,
            "on conflict (contact_id, kind) do nothing returning contact_id, id",
            known_rows,
        )
        .await?,
    );

    let mut created: Vec<Vec<String>> = vec![Vec::new(); run.len()];
    let mut interviews = Vec::new();
    let mut links = Vec::with_capacity(inserted.len());
    let mut offer_rows = Vec::new();
    let mut jobs = Vec::new();
    for (contact_id, invitation_id) in inserted {
        let Some(&(i, planned)) = planned_by_contact.get(&contact_id) else {
            continue;
        };
        let plan = &plans[i];
        links.push((invitation_id.clone(), planned.expires_at));
        if planned.kind == InvitationKind::Interview {
            interviews.push(invitation_id.clone());
        }
        if let Some(incentive) = &planned.incentive {
            offer_rows.push(incentives::offer_row(
                &invitation_id,
                &account_of(&run[i])?,
                incentive,
                &plan.period,
                now,
            ));
        }
        if planned.status == InvitationStatus::Scheduled {
            jobs.push(invitation_job(
                &invitation_id,
                planned.kind,
                planned.scheduled_for,
            )?);
        }
        created[i].push(invitation_id);
    }
    tokens.store_links(tx, &links, now).await?;
    lifecycle::open(tx, &interviews, Asked::default(), now).await?;
    incentives::offer_many(tx, offer_rows).await?;
    jobs::enqueue_many(tx, jobs, now).await?;

    run.iter()
        .zip(plans)
        .zip(new_ids)
        .zip(created)
        .map(|(((d, plan), new_id), created_invitations)| {
            let deal_id = lookup(&deal_ids, &d.crm_id, "deal")?;
            Ok(Recorded {
                created: deal_id == new_id,
                deal_id,
                plan,
                created_invitations,
            })
        })
        .collect()
}

/// An invitation's job: its email, then, on the same row, its reminders and its expiry,
/// each scheduled when the step before it happened (see `invitation_email::next_step`).
/// The dedupe key makes queueing it twice harmless (a held invitation released twice
/// queues nothing more).
fn invitation_job(
    invitation_id: &str,
    kind: InvitationKind,
    send_at: DateTime<Utc>,
) -> anyhow::Result<NewJob> {
    let job_kind = match kind {
        InvitationKind::Survey => JobKind::SurveyInvitation,
        InvitationKind::Interview => JobKind::InterviewInvitation,
    };
    NewJob::new(
        job_kind,
        format!("{job_kind}:{invitation_id}"),
        &SendInvitation::step(invitation_id, None),
        send_at,
    )
}

/// The head of an invitation insert; [`NewInvitation::row`] gives the values.
pub(crate) const INVITATIONS: &str = "insert into invitations (id, deal_id, contact_id, kind,
     status, status_reason, scheduled_for, created_at, person_id, account_id, program_version,
     segment_key, survey_key, incentive_key, expires_at)";

/// An invitation to write, planned here or asked for in a survey (`follow_up`).
pub(crate) struct NewInvitation<'a> {
    pub id: &'a str,
    pub deal_id: &'a str,
    pub contact_id: &'a str,
    pub person_id: &'a str,
    pub account_id: &'a str,
    pub kind: InvitationKind,
    pub status: InvitationStatus,
    pub status_reason: Option<&'a str>,
    pub scheduled_for: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub program_version: i64,
    pub segment_key: Option<&'a str>,
    pub survey_key: Option<&'a str>,
    pub incentive_key: Option<&'a str>,
}

impl NewInvitation<'_> {
    /// Its values for [`INVITATIONS`], created `now`.
    pub fn row(&self, now: DateTime<Utc>) -> Vec<Param> {
        vec![
            self.id.into(),
            self.deal_id.into(),
            self.contact_id.into(),
            self.kind.as_str().into(),
            self.status.as_str().into(),
            self.status_reason.into(),
            to_db(self.scheduled_for).into(),
            to_db(now).into(),
            self.person_id.into(),
            self.account_id.into(),
            self.program_version.into(),
            self.segment_key.into(),
            self.survey_key.into(),
            self.incentive_key.into(),
            to_db(self.expires_at).into(),
        ]
    }
}

/// Queues one invitation's job (see [`invitation_job`]).
pub async fn schedule_job(
    tx: &mut AnyConnection,
    invitation_id: &str,
    kind: InvitationKind,
    send_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let job = invitation_job(invitation_id, kind, send_at)?;
    jobs::enqueue_many(tx, vec![job], now).await?;
    Ok(())
}

/// The deals' invitations by deal id, oldest first (`created` is left false).
async fn invitations_of(
    tx: &mut AnyConnection,
    deal_ids: &[&str],
) -> anyhow::Result<HashMap<String, Vec<RecordedInvitation>>> {
    let sql = format!(
        "select i.deal_id, i.id, p.email, i.kind, i.status, i.scheduled_for, i.incentive_key
         from invitations i join persons p on p.id = i.person_id
         where i.deal_id in ({}) order by i.created_at, p.email",
        list(tx, deal_ids.len())
    );
    #[derive(sqlx::FromRow)]
    struct Row {
        deal_id: String,
        id: String,
        email: String,
        kind: String,
        status: String,
        scheduled_for: String,
        incentive_key: Option<String>,
    }
    let mut query = sqlx::query_as::<_, Row>(&sql);
    for id in deal_ids {
        query = query.bind(*id);
    }
    let mut by_deal: HashMap<String, Vec<RecordedInvitation>> = HashMap::new();
    for row in query.fetch_all(&mut *tx).await? {
        by_deal
            .entry(row.deal_id)
            .or_default()
            .push(RecordedInvitation {
                created: false,
                invitation_id: row.id,
                contact_email: row.email,
                kind: row.kind.parse().map_err(anyhow::Error::msg)?,
                status: row.status.parse().map_err(anyhow::Error::msg)?,
                scheduled_for: row.scheduled_for,
                incentive: row.incentive_key,
            });
    }
    Ok(by_deal)
}
