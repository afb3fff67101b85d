//! Writing a decided deal: one transaction upserts the deal and its contacts, creates any
//! missing invitation and queues its email in the outbox. Posting the same deal again
//! updates it and, thanks to the unique keys, never creates a second invitation.

use super::decision::Decision;
use super::invitation_email::SendInvitation;
use crate::app::config::OutreachSettings;
use crate::invitations::{InvitationKind, InvitationStatus};
use crate::jobs::{self, JobKind};
use crate::people;
use crate::people::suppressions::{self, SuppressionSource};
use crate::platform::db::{self, time::to_db, Db};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Acquire;

#[derive(Debug, Serialize)]
pub struct RecordedDecision {
    pub deal_id: String,
    pub crm_id: String,
    /// True when this request created the deal; false when it updated it.
    pub created: bool,
    pub invitations: Vec<RecordedInvitation>,
}

#[derive(Debug, Serialize)]
pub struct RecordedInvitation {
    pub invitation_id: String,
    pub contact_email: String,
    pub status: InvitationStatus,
    pub scheduled_for: String,
    /// True when this request created the invitation.
    pub created: bool,
}

pub async fn record_decision(
    db: &Db,
    decision: &Decision,
    settings: &OutreachSettings,
    now: DateTime<Utc>,
) -> anyhow::Result<RecordedDecision> {
    let stamp = to_db(now);
    // The transaction's first statement is a write. On SQLite a transaction that reads
    // first and writes later must upgrade its lock, and that upgrade fails at once (no
    // busy wait) if another connection wrote in between; writing first waits its turn.
    let mut conn = db.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    let account_id =
        people::upsert_account(&mut tx, &decision.account_key, &decision.account_name, now).await?;
    let new_id = db::new_id();
    let (deal_id,): (String,) = sqlx::query_as(
        "insert into deals (id, account_id, crm_id, outcome, decided_at, amount_minor, currency, sales_cycle_days,
             competitors, region, persona, product_line, company_type, icp_fit, renewal_date,
             strategic, account_name, account_manager_name, account_manager_email, created_at, updated_at)
         values ($1, $20, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19)
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
    .fetch_one(&mut *tx)
    .await?;

    // The first email waits at least the configured delay after the decision, and never
    // goes out for a time already past.
    let earliest = (decision.decided_at + settings.delay_after_decision).max(now);

    let mut invitations = Vec::with_capacity(decision.contacts.len());
    for contact in &decision.contacts {
        let person_id = people::upsert_person(&mut tx, &contact.email, &contact.name, now).await?;
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

        let scheduled_at = settings
            .business_hours
            .next_slot(earliest, contact.time_zone);
        let scheduled_for = to_db(scheduled_at);
        // A buyer who opted out is still recorded on the deal, so the CRM's view stays
        // complete, but gets no invitation email.
        let status = match suppressions::active(&mut tx, &contact.email).await? {
            None => InvitationStatus::Scheduled,
            Some(SuppressionSource::HardBounce) => InvitationStatus::Bounced,
            Some(SuppressionSource::BuyerLink | SuppressionSource::Staff) => {
                InvitationStatus::OptedOut
            }
        };
        let inserted: Option<(String,)> = sqlx::query_as(
            "insert into invitations (id, deal_id, contact_id, kind, status, scheduled_for, created_at,
                 person_id, account_id)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             on conflict (contact_id, kind) do nothing
             returning id",
        )
        .bind(db::new_id())
        .bind(&deal_id)
        .bind(&contact_id)
        .bind(InvitationKind::Survey.as_str())
        .bind(status.as_str())
        .bind(&scheduled_for)
        .bind(&stamp)
        .bind(&person_id)
        .bind(&account_id)
        .fetch_optional(&mut *tx)
        .await?;

        let recorded = match inserted {
            Some((invitation_id,)) => {
                if status == InvitationStatus::Scheduled {
                    jobs::enqueue(
                        &mut tx,
                        JobKind::SurveyInvitation,
                        &format!("survey_invitation:{invitation_id}"),
                        &SendInvitation {
                            invitation_id: invitation_id.clone(),
                        },
                        scheduled_at,
                        now,
                    )
                    .await?;
                }
                RecordedInvitation {
                    invitation_id,
                    contact_email: contact.email.clone(),
                    status,
                    scheduled_for,
                    created: true,
                }
            }
            None => {
                let (invitation_id, status, scheduled_for): (String, String, String) = sqlx::query_as(
                    "select id, status, scheduled_for from invitations where contact_id = $1 and kind = $2",
                )
                .bind(&contact_id)
                .bind(InvitationKind::Survey.as_str())
                .fetch_one(&mut *tx)
                .await?;
                RecordedInvitation {
                    invitation_id,
                    contact_email: contact.email.clone(),
                    status: status.parse().map_err(anyhow::Error::msg)?,
                    scheduled_for,
                    created: false,
                }
            }
        };
        invitations.push(recorded);
    }
    tx.commit().await?;

    // The upsert kept our fresh id only if it inserted.
    Ok(RecordedDecision {
        created: deal_id == new_id,
        deal_id,
        crm_id: decision.crm_id.clone(),

        invitations,
    })
}
