//! Ideal Interview Candidates: for a decided deal, the buyers who can explain the final
//! choice, best first, each with the reason and with what would stop an invitation
//! (suppressed, capped by the contact policy, already invited). The best candidate is not
//! always the sales contact: the one who signed off, or who held the budget, saw the
//! decision whole.

use crate::auth::Accounts;
use crate::outreach::plan::within;
use crate::people::roles::BuyingRole;
use crate::people::suppressions::SuppressionSource;
use crate::platform::db::time::from_db;
use crate::platform::db::Db;
use crate::programs::store::Programs;
use crate::programs::{ContactPolicy, Program};
use crate::web::error::{ApiError, ApiResult};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::sync::Arc;

/// Why this contact can explain the choice, for the account manager.
fn reason(role: BuyingRole) -> &'static str {
    match role {
        BuyingRole::DecisionMaker => "Decision maker: made the final call",
        BuyingRole::EconomicBuyer => {
            "Economic buyer: held the budget, so knows how price and terms weighed"
        }
        BuyingRole::Evaluator => "Evaluator: compared the products hands-on",
        BuyingRole::Other => "Took part in the deal; may have seen only part of the decision",
    }
}

/// An invitation a candidate already has on this deal.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AlreadyInvited {
    /// survey or interview.
    pub kind: String,
    pub status: String,
}

/// A contact of the deal, as a candidate for an interview.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Candidate {
    pub name: String,
    pub email: String,
    /// The role as the CRM gave it.
    pub role: Option<String>,
    pub buying_role: BuyingRole,
    pub reason: &'static str,
    /// Where the suppression came from, when the address may not be contacted.
    pub suppressed: Option<SuppressionSource>,
    /// The contact-policy rule an invitation would break now (person_cooldown,
    /// account_cooldown, account_cap).
    pub capped: Option<&'static str>,
    pub already_invited: Vec<AlreadyInvited>,
    /// Among the best to invite: nothing stops an invitation, and none has a better
    /// buying role and nothing stopping it.
    pub suggested: bool,
}

/// A deal's candidates, best first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Candidates {
    pub crm_id: String,
    pub outcome: String,
    pub candidates: Vec<Candidate>,
}

/// A contact as stored, with what the policy needs.
pub struct Contact {
    pub name: String,
    pub email: String,
    pub role: Option<String>,
    pub suppressed: Option<SuppressionSource>,
    pub person_last_sent: Option<DateTime<Utc>>,
    pub already_invited: Vec<AlreadyInvited>,
}

/// What the contact policy needs of the deal's account.
pub struct Account {
    /// The latest invitation sent about another of the account's decisions.
    pub last_sent: Option<DateTime<Utc>>,
    /// People of the account already asked about this decision.
    pub asked: usize,
}

/// Ranks a deal's contacts: by buying role, and within one, as the CRM listed them.
pub fn rank(
    contacts: Vec<Contact>,
    account: &Account,
    policy: &ContactPolicy,
    now: DateTime<Utc>,
) -> Vec<Candidate> {
    let account_cooldown = within(
        account.last_sent.as_ref(),
        now,
        policy.account_cooldown_days,
    );
    let mut candidates: Vec<Candidate> = contacts
        .into_iter()
        .map(|c| {
            let buying_role = BuyingRole::read(c.role.as_deref());
            let interviewed = c.already_invited.iter().any(|i| i.kind == "interview");
            let capped = if within(
                c.person_last_sent.as_ref(),
                now,
                policy.person_cooldown_days,
            ) {
                Some("person_cooldown")
            } else if account_cooldown {
                Some("account_cooldown")
            } else if c.already_invited.is_empty()
                && account.asked >= policy.account_max_per_decision
            {
                Some("account_cap")
            } else {
                None
            };
            Candidate {
                suggested: c.suppressed.is_none() && capped.is_none() && !interviewed,
                name: c.name,
                email: c.email,
                role: c.role,
                buying_role,
                reason: reason(buying_role),
                suppressed: c.suppressed,
                capped,
                already_invited: c.already_invited,
            }
        })
        .collect();
    // Stable: the CRM's order within a role.
    candidates.sort_by_key(|c| c.buying_role.rank());
    // Suggest the best role that anyone can still be asked in.
    let best = candidates
        .iter()
        .filter(|c| c.suggested)
        .map(|c| c.buying_role.rank())
        .min();
    for c in &mut candidates {
        c.suggested = c.suggested && Some(c.buying_role.rank()) == best;
    }
    candidates
}

/// The deal `crm_id`'s candidates, for a caller who sees `accounts`, and the program
/// in force for the deal. A deal on another manager's account answers as one that does not
/// exist would to them: 403, naming nothing.
pub async fn of_deal(
    db: &Db,
    programs: &Programs,
    accounts: &Accounts,
    crm_id: &str,
    now: DateTime<Utc>,
) -> ApiResult<(Candidates, Arc<Program>)> {
    let deal: Option<(String, String, String, String, Option<String>)> = sqlx::query_as(
        "select d.id, d.outcome, d.decided_at, d.account_id, a.manager_email \
         from deals d join accounts a on a.id = d.account_id where d.crm_id = $1",
    )
    .bind(crm_id)
    .fetch_optional(db.pool())
    .await?;
    let deal = deal.filter(|(.., manager)| accounts.include(manager.as_deref()));
    let Some((deal_id, outcome, decided_at, account_id, _)) = deal else {
        return Err(match accounts {
            Accounts::All => ApiError::NotFound("deal"),
            _ => ApiError::Forbidden {
                role: "account_manager".into(),
                action: "see deals of accounts they do not manage",
            },
        });
    };
    let mut conn = db.pool().acquire().await?;
    let program = programs
        .in_force_at(&mut conn, from_db(&decided_at)?)
        .await?;
    #[derive(sqlx::FromRow)]
    struct Row {
        id: String,
        name: String,
        email: String,
        role: Option<String>,
        suppression: Option<String>,
        person_last: Option<String>,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "select c.id, c.name, p.email, c.role,
            (select s.source from suppressions s
             where s.email = p.email and s.lifted_at is null) as suppression,
            (select max(o.sent_at) from invitations o
             where o.person_id = c.person_id and o.deal_id <> c.deal_id) as person_last
         from contacts c join persons p on p.id = c.person_id
         where c.deal_id = $1 order by c.created_at, c.id",
    )
    .bind(&deal_id)
    .fetch_all(&mut *conn)
    .await?;
    let invitations: Vec<(String, String, String)> = sqlx::query_as(
        "select contact_id, kind, status from invitations where deal_id = $1 order by created_at",
    )
    .bind(&deal_id)
    .fetch_all(&mut *conn)
    .await?;
    let (last_sent,): (Option<String>,) = sqlx::query_as(
        "select max(sent_at) from invitations where account_id = $1 and deal_id <> $2",
    )
    .bind(&account_id)
    .bind(&deal_id)
    .fetch_one(&mut *conn)
    .await?;
    let asked = invitations
        .iter()
        .map(|(contact, ..)| contact)
        .collect::<std::collections::HashSet<_>>()
        .len();
    let mut contacts = Vec::with_capacity(rows.len());
    for row in rows {
        contacts.push(Contact {
            suppressed: row
                .suppression
                .map(|s| s.parse().map_err(anyhow::Error::msg))
                .transpose()?,
            person_last_sent: row.person_last.as_deref().map(from_db).transpose()?,
            already_invited: invitations
                .iter()
                .filter(|(c, ..)| *c == row.id)
                .map(|(_, kind, status)| AlreadyInvited {
                    kind: kind.clone(),
                    status: status.clone(),
                })
                .collect(),
            name: row.name,
            email: row.email,
            role: row.role,
        });
    }
    let account = Account {
        last_sent: last_sent.as_deref().map(from_db).transpose()?,
        asked,
    };
    let candidates = Candidates {
        crm_id: crm_id.to_owned(),
        outcome,
        candidates: rank(contacts, &account, &program.policy, now),
    };
    Ok((candidates, program))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(name: &str, role: &str) -> Contact {
        Contact {
            name: name.into(),
            email: format!("{}@globex.example", name.to_lowercase()),
            role: Some(role.into()),
            suppressed: None,
            person_last_sent: None,
            already_invited: vec![],
        }
    }

    fn policy() -> ContactPolicy {
        ContactPolicy {
            person_cooldown_days: 90,
            account_max_per_decision: 3,
            account_cooldown_days: 0,
        }
    }

    #[test]
    fn the_decision_maker_comes_first_and_is_suggested_over_the_sales_contact() {
        let now = Utc::now();
        let contacts = vec![
            contact("Sam", "Sales contact"),
            contact("Eve", "Evaluator"),
            contact("Lee", "CEO"),
            contact("Cam", "CFO"),
        ];
        let account = Account {
            last_sent: None,
            asked: 0,
        };
        let ranked = rank(contacts, &account, &policy(), now);
        let names: Vec<&str> = ranked.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["Lee", "Cam", "Eve", "Sam"]);
        let suggested: Vec<&str> = ranked
            .iter()
            .filter(|c| c.suggested)
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(suggested, ["Lee"]);
    }

    #[test]
    fn who_cannot_be_asked_is_flagged_and_the_next_best_suggested() {
        let now = Utc::now();
        let mut lee = contact("Lee", "Decision maker");
        lee.suppressed = Some(SuppressionSource::BuyerLink);
        let mut cam = contact("Cam", "Economic buyer");
        cam.person_last_sent = Some(now - chrono::Duration::days(10));
        let mut eve = contact("Eve", "Evaluator");
        eve.already_invited = vec![AlreadyInvited {
            kind: "interview".into(),
            status: "sent".into(),
        }];
        let ann = contact("Ann", "Evaluator");
        let account = Account {
            last_sent: None,
            asked: 1,
        };
        let ranked = rank(vec![lee, cam, eve, ann], &account, &policy(), now);
        assert_eq!(ranked[0].suppressed, Some(SuppressionSource::BuyerLink));
        assert_eq!(ranked[1].capped, Some("person_cooldown"));
        assert_eq!(ranked[2].already_invited.len(), 1);
        let suggested: Vec<&str> = ranked
            .iter()
            .filter(|c| c.suggested)
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(suggested, ["Ann"]);
        // Three of the account already asked: a fourth would break the cap.
        let full = Account {
            last_sent: None,
            asked: 3,
        };
        let ranked = rank(vec![contact("Zoe", "CEO")], &full, &policy(), now);
        assert_eq!(ranked[0].capped, Some("account_cap"));
        assert!(!ranked[0].suggested);
    }
}
