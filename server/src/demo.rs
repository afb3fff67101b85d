//! The demo program: a few decided deals, two buyers who already answered, and a survey
//! link to try. Everything goes through the same code paths as real data.

use crate::invitations::tokens::{resolve, Lookup};
use crate::invitations::InvitationStatus;
use crate::outreach::decision::DecisionRequest;
use crate::outreach::store::{record_decision, Planner};
use crate::platform::db::Db;
use crate::surveys::answers::record_answer;
use anyhow::Context;
use chrono::{Duration, Utc};
use debrief_common::{AnswerRequest, Locale};
use serde_json::json;

/// Seeds the demo deals if they are missing, and returns a fresh survey link for a demo
/// buyer who has not answered yet (or `None` if every demo buyer has).
pub async fn seed(db: &Db, planner: &Planner, public_url: &str) -> anyhow::Result<Option<String>> {
    let now = Utc::now();
    let decided = (now - Duration::days(2)).to_rfc3339();
    let deals = [
        json!({
            "crm_id": "DEMO-1001", "outcome": "lost", "decided_at": decided,
            "amount": { "minor_units": 4_800_000, "currency": "EUR" }, "sales_cycle_days": 94,
            "competitors": ["Northwind Analytics"], "region": "EMEA", "persona": "VP Sales",
            "product_line": "Forecasting", "company_type": "mid_market", "icp_fit": "high",
            "strategic": true,
            "account": { "name": "Globex", "manager": { "name": "Ana Duarte", "email": "ana.duarte@debrief.localhost" } },
            "contacts": [
                { "name": "Camille Martin", "email": "camille.martin@globex.example", "role": "Economic buyer", "locale": "fr-FR", "time_zone": "Europe/Paris" },
                { "name": "Sam Lee", "email": "sam.lee@globex.example", "role": "Champion", "locale": "en-GB", "time_zone": "Europe/London" }
            ]
        }),
        json!({
            "crm_id": "DEMO-1002", "outcome": "won", "decided_at": decided,
            "amount": { "minor_units": 1_250_000, "currency": "EUR" }, "sales_cycle_days": 41,
            "competitors": [], "region": "NA", "persona": "RevOps", "product_line": "Pipeline",
            "company_type": "smb", "icp_fit": "medium",
            "account": { "name": "Initech", "manager": { "name": "Ben Okafor", "email": "ben.okafor@debrief.localhost" } },
            "contacts": [
                { "name": "Dana Whitaker", "email": "dana@initech.example", "role": "Head of RevOps", "locale": "en-US", "time_zone": "America/New_York" }
            ]
        }),
        json!({
            "crm_id": "DEMO-1003", "outcome": "no_decision", "decided_at": decided,
            "amount": { "minor_units": 600_000, "currency": "EUR" }, "sales_cycle_days": 120,
            "region": "EMEA", "icp_fit": "low",
            "account": { "name": "Umbrella", "manager": { "name": "Ana Duarte", "email": "ana.duarte@debrief.localhost" } },
            "contacts": [
                { "name": "Luc Girard", "email": "luc.girard@umbrella.example", "locale": "fr", "time_zone": "Europe/Paris" }
            ]
        }),
    ];
    let already_seeded: Option<(String,)> =
        sqlx::query_as("select id from deals where crm_id = 'DEMO-1001'")
            .fetch_optional(db.pool())
            .await?;
    if already_seeded.is_none() {
        let mut recorded = Vec::new();
        for deal in deals {
            let request: DecisionRequest = serde_json::from_value(deal)?;
            let decision = request
                .parse(now)
                .map_err(|e| anyhow::anyhow!("demo deal is invalid: {e:?}"))?;
            recorded.push(record_decision(db, planner, &decision, now).await?);
        }
        // Two buyers already answered, so the participation report has something in it.
        let answers = [
            (
                &recorded[1].invitations[0].invitation_id,
                9,
                "Setup took a day, not a quarter.",
            ),
            (
                &recorded[0].invitations[1].invitation_id,
                4,
                "Pricing per seat did not fit our team.",
            ),
        ];
        for (invitation_id, nps, reason) in answers {
            let answer = AnswerRequest {
                nps: Some(nps),
                reason: reason.into(),
            }
            .validate()
            .map_err(|e| anyhow::anyhow!("demo answer is invalid: {e:?}"))?;
            record_answer(db, invitation_id, Locale::En, &answer, now).await?;
        }
    }

    // A fresh link for the first demo buyer who has not answered.
    let open: Option<(String,)> = sqlx::query_as(
        "select i.id from invitations i join deals d on d.id = i.deal_id
         where d.crm_id like 'DEMO-%' and i.status <> $1
         order by d.crm_id, i.created_at limit 1",
    )
    .bind(InvitationStatus::Completed.as_str())
    .fetch_optional(db.pool())
    .await?;
    let Some((invitation_id,)) = open else {
        return Ok(None);
    };
    let token = planner.tokens.for_invitation(&invitation_id);
    // Proves the link works before printing it.
    match resolve(db, &token, now)
        .await
        .context("checking the demo link")?
    {
        Lookup::Valid(_) => Ok(Some(format!("{public_url}/s/{token}?score=8"))),
        other => anyhow::bail!("demo link does not resolve: {other:?}"),
    }
}
