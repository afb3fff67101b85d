//! Recording a decided deal: one transaction upserts the deal, its account and buyers,
//! plans it under the program in force when it was decided, and applies the plan: the
//! invitations, their links, the incentive offers and every job (email, reminders,
//! expiry). Posting the same deal again updates it and never duplicates an invitation.

use super::decision::Decision;
use super::history;
use super::invitation_email::SendInvitation;
use super::plan::{self, Exclusion, LeftOut, Plan, Timing};
use crate::incentives;
use crate::invitations::tokens::Tokens;
use crate::invitations::{InvitationKind, InvitationStatus};
use crate::jobs::{self, JobKind};
use crate::people;
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
    // The transaction's first statement is a write. On SQLite a transaction that reads
    // first and writes later must upgrade its lock, and that upgrade fails at once (no
    // busy wait) if another connection wrote in between; writing first waits its turn.
    let mut conn = db.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    let stored = store_deal(&mut tx, decision, now).await?;
    let program = planner
        .programs
        .in_force_at(&mut tx, decision.decided_at)
        .await?;
    let history = history::load(&mut tx, std::slice::from_ref(decision), &program, true).await?;
    let plan = plan::plan(decision, &program, &history, &planner.timing, now);
    let created_ids = apply(&mut tx, &stored, &plan, &planner.tokens, now).await?;
    let invitations = invitations_of(&mut tx, &stored.deal_id, &created_ids).await?;
    tx.commit().await?;

    Ok(RecordedDecision {
        deal_id: stored.deal_id,
        crm_id: decision.crm_id.clone(),
        created: stored.created,
        program_version: plan.program_version,
        segment: plan.segment,
        method: plan.method,
        excluded: plan.deal_excluded,
        invitations,
        left_out: plan.left_out,
    })
}

/// A deal as written: its id and the ids of its account and buyers.
pub struct StoredDeal {
    pub deal_id: String,
    pub account_id: String,
    pub created: bool,
    /// Per address: (contact id, person id).
    pub contacts: HashMap<String, (String, String)>,
}

async fn store_deal(
    tx: &mut AnyConnection,
    decision: &Decision,
    now: DateTime<Utc>,
) -> anyhow::Result<StoredDeal> {
    let stamp = to_db(now);
    let account_id =
        people::upsert_account(tx, &decision.account_key, &decision.account_name, now).await?;
    let new_id = db::new_id();
    let (deal_id,): (String,) = sqlx::query_as(
        "insert into deals (id, account_id, crm_id, outcome, decided_at, amount_minor, currency, sales_cycle_days,
             competitors, region, persona, product_line, company_type, icp_fit, renewal_date,
             strategic, account_name, account_manager_name, account_manager_email, created_at, updated_at,
             declined_reason, declined_detail, request_kind)
         values ($1, $20, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19,
             $21, $22, $23)
         on conflict (crm_id) do update set
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
             request_kind = excluded.request_kind,
             updated_at = excluded.updated_at
         returning id",
    )
    .bind(&new_id)
    .bind(&decision.crm_id)
    .bind(decision.outcome.as_str())
    .bind(to_db(decision.decided_at))
    .bind(decision.amount.minor_units)
    .bind(&decision.amount.currency)
    .bind(decision.sales_cycle_days)
    .bind(serde_json::to_string(&decision.competitors)?)
    .bind(decision.region.as_deref())
    .bind(decision.persona.as_deref())
    .bind(decision.product_line.as_deref())
    .bind(decision.company_type.as_deref())
    .bind(decision.icp_fit.map(|f| f.as_str()))
    .bind(decision.renewal_date.map(|d| d.to_string()))
    .bind(i64::from(decision.strategic))
    .bind(&decision.account_name)
    .bind(&decision.account_manager.name)
    .bind(&decision.account_manager.email)
    .bind(&stamp)
    .bind(&account_id)
    .bind(decision.declined.as_ref().map(|d| d.reason.as_str()))
    .bind(decision.declined.as_ref().and_then(|d| d.detail.clone()))
    .bind(decision.request_kind.as_deref())
    .fetch_one(&mut *tx)
    .await?;

    let mut contacts = HashMap::with_capacity(decision.contacts.len());
    for contact in &decision.contacts {
        let person_id = people::upsert_person(tx, &contact.email, &contact.name, now).await?;
        let (contact_id,): (String,) = sqlx::query_as(
            "insert into contacts (id, deal_id, name, person_id, role, locale, time_zone, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $8)
             on conflict (deal_id, person_id) do update set
                 name = excluded.name, role = excluded.role, locale = excluded.locale,
                 time_zone = excluded.time_zone, updated_at = excluded.updated_at
             returning id",
        )
        .bind(db::new_id())
        .bind(&deal_id)
        .bind(&contact.name)
        .bind(&person_id)
        .bind(contact.role.as_deref())
        .bind(contact.locale.code())
        .bind(contact.time_zone.name())
        .bind(&stamp)
        .fetch_one(&mut *tx)
        .await?;
        contacts.insert(contact.email.clone(), (contact_id, person_id));
    }
    Ok(StoredDeal {
        created: deal_id == new_id,
        deal_id,
        account_id,
        contacts,
    })
}

/// Writes a plan: the deal's verdict, then each new invitation with its link, incentive
/// offer and jobs. Returns the ids of the invitations it created.
pub async fn apply(
    tx: &mut AnyConnection,
    deal: &StoredDeal,
    plan: &Plan,
    tokens: &Tokens,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<String>> {
    let stamp = to_db(now);
    sqlx::query(
        "update deals set program_version = $1, segment_key = $2, outside_reason = $3 where id = $4",
    )
    .bind(plan.program_version)
    .bind(plan.segment.as_deref())
    .bind(plan.deal_excluded.map(|e| e.as_str()))
    .bind(&deal.deal_id)
    .execute(&mut *tx)
    .await?;

    let mut created = Vec::with_capacity(plan.invitations.len());
    for planned in &plan.invitations {
        let Some((contact_id, person_id)) = deal.contacts.get(&planned.email) else {
            anyhow::bail!("the plan names a buyer the deal does not have");
        };
        let inserted: Option<(String,)> = sqlx::query_as(
            "insert into invitations (id, deal_id, contact_id, kind, status, status_reason, scheduled_for,
                 created_at, person_id, account_id, program_version, segment_key, survey_key,
                 incentive_key, expires_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
             on conflict (contact_id, kind) do nothing
             returning id",
        )
        .bind(db::new_id())
        .bind(&deal.deal_id)
        .bind(contact_id)
        .bind(planned.kind.as_str())
        .bind(planned.status.as_str())
        .bind(planned.status_reason)
        .bind(to_db(planned.scheduled_for))
        .bind(&stamp)
        .bind(person_id)
        .bind(&deal.account_id)
        .bind(plan.program_version)
        .bind(plan.segment.as_deref())
        .bind(planned.survey.map(|s| s.as_str()))
        .bind(planned.incentive.as_ref().map(|i| i.key.as_str()))
        .bind(to_db(planned.expires_at))
        .fetch_optional(&mut *tx)
        .await?;
        // Already there: a concurrent post of the same deal got in first.
        let Some((invitation_id,)) = inserted else {
            continue;
        };
        sqlx::query(
            "insert into invitation_tokens (token_hash, invitation_id, created_at, expires_at)
             values ($1, $2, $3, $4)",
        )
        .bind(tokens.stored_hash(&invitation_id))
        .bind(&invitation_id)
        .bind(&stamp)
        .bind(to_db(planned.expires_at))
        .execute(&mut *tx)
        .await?;
        if let Some(incentive) = &planned.incentive {
            incentives::offer(
                tx,
                &invitation_id,
                &deal.account_id,
                incentive,
                &plan.period,
                now,
            )
            .await?;
        }
        if planned.status == InvitationStatus::Scheduled {
            schedule_jobs(
                tx,
                &invitation_id,
                planned.kind,
                planned.scheduled_for,
                &planned.reminders,
                planned.expires_at,
                now,
            )
            .await?;
        }
        created.push(invitation_id);
    }
    Ok(created)
}

/// Queues an invitation's email, its reminders and its expiry. Dedupe keys make this
/// safe to call twice (a held invitation released twice queues nothing more).
pub async fn schedule_jobs(
    tx: &mut AnyConnection,
    invitation_id: &str,
    kind: InvitationKind,
    send_at: DateTime<Utc>,
    reminders: &[DateTime<Utc>],
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let job_kind = match kind {
        InvitationKind::Survey => JobKind::SurveyInvitation,
        InvitationKind::Interview => JobKind::InterviewInvitation,
    };
    jobs::enqueue(
        tx,
        job_kind,
        &format!("{job_kind}:{invitation_id}"),
        &SendInvitation {
            invitation_id: invitation_id.to_owned(),
            reminder: None,
            any_hour: false,
        },
        send_at,
        now,
    )
    .await?;
    for (n, at) in reminders.iter().enumerate() {
        let number = u32::try_from(n + 1)?;
        jobs::enqueue(
            tx,
            JobKind::InvitationReminder,
            &format!("reminder:{invitation_id}:{number}"),
            &SendInvitation {
                invitation_id: invitation_id.to_owned(),
                reminder: Some(number),
                any_hour: false,
            },
            *at,
            now,
        )
        .await?;
    }
    jobs::enqueue(
        tx,
        JobKind::InvitationExpiry,
        &format!("expiry:{invitation_id}"),
        &SendInvitation {
            invitation_id: invitation_id.to_owned(),
            reminder: None,
            any_hour: false,
        },
        expires_at,
        now,
    )
    .await?;
    Ok(())
}

async fn invitations_of(
    tx: &mut AnyConnection,
    deal_id: &str,
    created: &[String],
) -> anyhow::Result<Vec<RecordedInvitation>> {
    let rows: Vec<(String, String, String, String, String, Option<String>)> = sqlx::query_as(
        "select i.id, p.email, i.kind, i.status, i.scheduled_for, i.incentive_key
         from invitations i join persons p on p.id = i.person_id
         where i.deal_id = $1 order by i.created_at, p.email",
    )
    .bind(deal_id)
    .fetch_all(&mut *tx)
    .await?;
    rows.into_iter()
        .map(|(id, email, kind, status, scheduled_for, incentive)| {
            Ok(RecordedInvitation {
                created: created.contains(&id),
                invitation_id: id,
                contact_email: email,
                kind: kind.parse().map_err(anyhow::Error::msg)?,
                status: status.parse().map_err(anyhow::Error::msg)?,
                scheduled_for,
                incentive,
            })
        })
        .collect()
}
