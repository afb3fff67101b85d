//! Planning, as a pure function: a decided deal, the program in force and the contact
//! history go in; who is invited (how, when, with what incentive) and why everybody else is
//! left out come out. Nothing here touches the database or the clock, so the preview is
//! `plan` without `apply`, and every rule is unit-testable.

use super::decision::{Contact, Decision, Outcome};
use super::schedule::BusinessHours;
use crate::invitations::{InvitationKind, InvitationStatus};
use crate::people::roles::BuyingRole;
use crate::people::suppressions::SuppressionSource;
use crate::programs::{
    ContactSelection, Incentive, Method, Program, Segment, SurveyKey, WhenSpent,
};
use crate::text_enum;
use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

text_enum! {
    /// Why a buyer on a decided deal is not invited.
    pub enum Exclusion {
        /// No segment of the program matches the deal.
        OutsideProgram = "outside_program",
        /// The segment samples deals and this one was not drawn.
        SampledOut = "sampled_out",
        /// The segment already has its completed responses for the period.
        QuotaMet = "quota_met",
        /// This outcome already takes more than its share of the segment's period.
        OutcomeBalance = "outcome_balance",
        /// Another decision at this account was asked about too recently.
        AccountCooldown = "account_cooldown",
        /// The segment asks only the roles that explain the choice, and this buyer has none.
        NoEligibleContact = "no_eligible_contact",
        /// The segment's cap of buyers per deal is reached.
        Capped = "capped",
        /// The contact policy's cap of people per decision at one account is reached.
        AccountCap = "account_cap",
        /// Opted out, or marked do-not-contact by staff.
        Suppressed = "suppressed",
        /// The address hard-bounced before.
        Bounced = "bounced",
        /// Invited on another deal within the cooldown.
        PersonCooldown = "person_cooldown",
    }
}

/// What is known before planning a deal: earlier invitations, suppressions, and the
/// segments' tallies for the period. Planning several deals in a row (the preview, or a
/// bulk import) folds each plan back in with [`History::record`].
#[derive(Debug, Default, Clone)]
pub struct History {
    /// Latest invitation per person (address), by the deal that made it. Keyed by deal
    /// so that a deal's own invitations never count against it, even when many deals
    /// are planned in one run.
    pub person_last: HashMap<String, Latest>,
    pub suppressed: HashMap<String, SuppressionSource>,
    /// Latest invitation per account key, by the deal that made it.
    pub account_last: HashMap<String, Latest>,
    /// Invitations this deal already has (it was posted before), by address.
    pub on_deal: HashMap<(String, String), InvitationKind>,
    /// Per segment key and period label.
    pub tallies: HashMap<(String, String), Tally>,
    /// Budget already committed (offered, earned or fulfilled), in the budget currency.
    pub spent_in_period: HashMap<String, i64>,
    pub spent_by_account: HashMap<(String, String), i64>,
    /// The periods whose tallies and budget were loaded.
    pub periods: std::collections::BTreeSet<String>,
}

/// The latest invitation time per deal (CRM id), for one person or account.
#[derive(Debug, Default, Clone)]
pub struct Latest(HashMap<String, DateTime<Utc>>);

impl Latest {
    pub fn note(&mut self, crm_id: &str, at: DateTime<Utc>) {
        match self.0.get_mut(crm_id) {
            Some(t) => *t = (*t).max(at),
            None => {
                self.0.insert(crm_id.to_owned(), at);
            }
        }
    }

    /// The latest invitation made by any deal but this one.
    pub fn elsewhere(&self, crm_id: &str) -> Option<DateTime<Utc>> {
        self.0
            .iter()
            .filter(|(deal, _)| deal.as_str() != crm_id)
            .map(|(_, at)| *at)
            .max()
    }
}

#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub completed: u32,
    /// Deals with at least one invitation, by outcome.
    pub invited_deals: HashMap<Outcome, u32>,
}

/// Where and when a buyer's messages go.
#[derive(Debug, Clone)]
pub struct Timing {
    pub business_hours: BusinessHours,
    pub delay_after_decision: Duration,
}

impl Timing {
    /// This timing under `program`'s own quiet hours, where it sets them.
    pub fn for_program(&self, program: &Program) -> Timing {
        Timing {
            business_hours: self.business_hours.under(&program.sending_window),
            delay_after_decision: self.delay_after_decision,
        }
    }

    /// When an invitation to a buyer in `tz` goes out (the first business hour from
    /// `earliest`), and when it expires.
    pub fn schedule(
        &self,
        earliest: DateTime<Utc>,
        tz: chrono_tz::Tz,
        segment: &Segment,
    ) -> (DateTime<Utc>, DateTime<Utc>) {
        let send_at = self.business_hours.next_slot(earliest, tz);
        let expires_at = send_at + Duration::days(i64::from(segment.expires_after_days));
        (send_at, expires_at)
    }

    /// When its reminders would follow, were it sent at `send_at`. The outbox times the
    /// real ones from the actual send (`invitation_email::next_step`).
    pub fn reminders(
        &self,
        send_at: DateTime<Utc>,
        tz: chrono_tz::Tz,
        segment: &Segment,
    ) -> Vec<DateTime<Utc>> {
        segment
            .reminder_days
            .iter()
            .map(|&d| {
                self.business_hours
                    .next_slot(send_at + Duration::days(i64::from(d)), tz)
            })
            .collect()
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Plan {
    pub crm_id: String,
    pub program_version: i64,
    /// The segment that took the deal; `None` when it is outside the program.
    pub segment: Option<String>,
    pub method: Option<Method>,
    /// Why the whole deal is left out, when it is.
    pub deal_excluded: Option<Exclusion>,
    pub period: String,
    pub invitations: Vec<PlannedInvitation>,
    pub left_out: Vec<LeftOut>,
    /// Buyers of this deal invited before (it was posted earlier).
    #[serde(skip)]
    pub already_invited: usize,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlannedInvitation {
    pub email: String,
    pub name: String,
    pub kind: InvitationKind,
    pub survey: Option<SurveyKey>,
    /// `Scheduled`, or `Held` until staff release it (budget spent, held by policy).
    pub status: InvitationStatus,
    pub status_reason: Option<&'static str>,
    pub incentive: Option<Incentive>,
    /// The segment names an incentive but the budget could not cover it.
    pub incentive_withheld: bool,
    pub scheduled_for: DateTime<Utc>,
    /// When its reminders would go, were it sent on time: they count from the real send.
    pub reminders: Vec<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LeftOut {
    pub email: String,
    pub reason: Exclusion,
}

/// Whether `then` falls within `days` of `at`, either side: the preview replays past
/// deals, whose neighbours may come before or after them. The cooldowns use it when
/// planning and again just before sending.
pub(crate) fn within(then: Option<&DateTime<Utc>>, at: DateTime<Utc>, days: i64) -> bool {
    days > 0 && then.is_some_and(|t| (at - *t).num_seconds().abs() < days * 86_400)
}

/// Decision maker, economic buyer, evaluator: the roles that can explain the final
/// choice, best first (see [`BuyingRole`]); none for the others.
fn decider_rank(role: Option<&str>) -> Option<u8> {
    let role = BuyingRole::read(role);
    (role != BuyingRole::Other).then(|| role.rank())
}

/// A draw in [0, 1) that depends only on the deal and the segment, so planning the same
/// deal again (a re-post, the preview) samples it the same way.
fn draw(crm_id: &str, segment: &str) -> f64 {
    let seed: [u8; 32] = Sha256::new()
        .chain_update(crm_id.as_bytes())
        .chain_update([0])
        .chain_update(segment.as_bytes())
        .finalize()
        .into();
    rand_chacha::ChaCha8Rng::from_seed(seed).random::<f64>()
}

/// Below this many invited deals in a period, every outcome is welcome: a share of a
/// handful says nothing.
const BALANCE_FROM_DEALS: u32 = 5;

/// Plans one decided deal. `at` is the planning instant (now, or the decision time when
/// the preview replays the past).
pub fn plan(
    deal: &Decision,
    program: &Program,
    history: &History,
    timing: &Timing,
    at: DateTime<Utc>,
) -> Plan {
    let timing = &timing.for_program(program);
    let period = program.period.label(deal.decided_at);
    let mut out = Plan {
        crm_id: deal.crm_id.clone(),
        program_version: program.version,
        segment: None,
        method: None,
        deal_excluded: None,
        period: period.clone(),
        invitations: Vec::new(),
        left_out: Vec::new(),
        already_invited: 0,
    };
    // Buyers this deal already invited (it was posted before): neither invited again nor
    // reported as left out.
    let (already, fresh): (Vec<&Contact>, Vec<&Contact>) = deal.contacts.iter().partition(|c| {
        history
            .on_deal
            .contains_key(&(deal.crm_id.clone(), c.email.clone()))
    });
    out.already_invited = already.len();
    let exclude_all = |out: &mut Plan, reason: Exclusion| {
        out.deal_excluded = Some(reason);
        out.left_out = fresh
            .iter()
            .map(|c| LeftOut {
                email: c.email.clone(),
                reason,
            })
            .collect();
    };
    let Some(segment) = program.segment_for(deal) else {
        exclude_all(&mut out, Exclusion::OutsideProgram);
        return out;
    };
    out.segment = Some(segment.key.clone());
    out.method = Some(segment.method);
    let kind = match segment.method {
        Method::Survey | Method::SurveyThenInterview => InvitationKind::Survey,
        Method::Interview => InvitationKind::Interview,
    };
    // Deal-level gates, for a deal not yet taken. Once a deal has invitations, a buyer
    // added later joins them without being drawn again.
    if already.is_empty() {
        let tally = history
            .tallies
            .get(&(segment.key.clone(), period.clone()))
            .cloned()
            .unwrap_or_default();
        if segment.sample_rate < 1.0 && draw(&deal.crm_id, &segment.key) >= segment.sample_rate {
            exclude_all(&mut out, Exclusion::SampledOut);
            return out;
        }
        if segment
            .target_per_period
            .is_some_and(|t| tally.completed >= t)
        {
            exclude_all(&mut out, Exclusion::QuotaMet);
            return out;
        }
        if let Some(share) = segment.max_outcome_share {
            let total: u32 = tally.invited_deals.values().sum();
            let mine = tally.invited_deals.get(&deal.outcome).copied().unwrap_or(0);
            if total >= BALANCE_FROM_DEALS && f64::from(mine + 1) / f64::from(total + 1) > share {
                exclude_all(&mut out, Exclusion::OutcomeBalance);
                return out;
            }
        }
        if within(
            history
                .account_last
                .get(&deal.account_key)
                .and_then(|l| l.elsewhere(&deal.crm_id))
                .as_ref(),
            at,
            program.policy.account_cooldown_days,
        ) {
            exclude_all(&mut out, Exclusion::AccountCooldown);
            return out;
        }
    }

    // Buyers in order of who best explains the choice; ties keep the CRM's order.
    let mut candidates: Vec<(&Contact, Option<u8>)> = fresh
        .iter()
        .map(|c| (*c, decider_rank(c.role.as_deref())))
        .collect();
    candidates.sort_by_key(|(_, rank)| rank.unwrap_or(u8::MAX));

    let segment_cap = segment.max_contacts_per_deal.unwrap_or(usize::MAX);
    let account_cap = program.policy.account_max_per_decision;
    let mut taken = already.len();
    let mut spent_in_period = history.spent_in_period.get(&period).copied().unwrap_or(0);
    let mut spent_by_account = history
        .spent_by_account
        .get(&(deal.account_key.clone(), period.clone()))
        .copied()
        .unwrap_or(0);
    let earliest = (deal.decided_at + timing.delay_after_decision).max(at);

    for (contact, rank) in candidates {
        let leave = |out: &mut Plan, reason| {
            out.left_out.push(LeftOut {
                email: contact.email.clone(),
                reason,
            })
        };
        if segment.contacts == ContactSelection::Deciders && rank.is_none() {
            leave(&mut out, Exclusion::NoEligibleContact);
            continue;
        }
        match history.suppressed.get(&contact.email) {
            Some(SuppressionSource::HardBounce) => {
                leave(&mut out, Exclusion::Bounced);
                continue;
            }
            Some(SuppressionSource::BuyerLink | SuppressionSource::Staff) => {
                leave(&mut out, Exclusion::Suppressed);
                continue;
            }
            None => {}
        }
        if within(
            history
                .person_last
                .get(&contact.email)
                .and_then(|l| l.elsewhere(&deal.crm_id))
                .as_ref(),
            at,
            program.policy.person_cooldown_days,
        ) {
            leave(&mut out, Exclusion::PersonCooldown);
            continue;
        }
        if taken >= segment_cap {
            leave(&mut out, Exclusion::Capped);
            continue;
        }
        if taken >= account_cap {
            leave(&mut out, Exclusion::AccountCap);
            continue;
        }
        taken += 1;

        let (incentive, withheld, hold) = offer(
            segment,
            program,
            &mut spent_in_period,
            &mut spent_by_account,
        );
        let (scheduled_for, expires_at) = timing.schedule(earliest, contact.time_zone, segment);
        let reminders = timing.reminders(scheduled_for, contact.time_zone, segment);
        out.invitations.push(PlannedInvitation {
            email: contact.email.clone(),
            name: contact.name.clone(),
            kind,
            survey: (kind == InvitationKind::Survey).then_some(segment.survey),
            status: if hold {
                InvitationStatus::Held
            } else {
                InvitationStatus::Scheduled
            },
            status_reason: hold.then_some("budget_spent"),
            incentive,
            incentive_withheld: withheld,
            scheduled_for,
            reminders,
            expires_at,
        });
    }
    out
}

/// The segment's incentive, if the budget covers it: (offered, withheld, hold).
fn offer(
    segment: &Segment,
    program: &Program,
    spent_in_period: &mut i64,
    spent_by_account: &mut i64,
) -> (Option<Incentive>, bool, bool) {
    let Some(incentive) = segment
        .incentive
        .as_deref()
        .and_then(|k| program.incentive(k))
    else {
        return (None, false, false);
    };
    // Only money counts against the budget (parsing puts it in the budget's currency).
    let (Some(amount), Some(budget)) = (&incentive.amount, &program.budget) else {
        return (Some(incentive.clone()), false, false);
    };
    let cost = amount.minor_units;
    let fits = budget
        .per_period_minor
        .is_none_or(|cap| *spent_in_period + cost <= cap)
        && budget
            .per_account_minor
            .is_none_or(|cap| *spent_by_account + cost <= cap);
    if fits {
        *spent_in_period += cost;
        *spent_by_account += cost;
        return (Some(incentive.clone()), false, false);
    }
    match budget.when_spent {
        WhenSpent::SendWithout => (None, true, false),
        WhenSpent::Hold => (None, true, true),
    }
}

impl History {
    /// Folds a plan in, as if it had been applied at `at`.
    pub fn record(&mut self, deal: &Decision, plan: &Plan, at: DateTime<Utc>) {
        if plan.invitations.is_empty() {
            return;
        }
        for invitation in &plan.invitations {
            self.person_last
                .entry(invitation.email.clone())
                .or_default()
                .note(&deal.crm_id, at);
            self.on_deal.insert(
                (deal.crm_id.clone(), invitation.email.clone()),
                invitation.kind,
            );
            if let Some(amount) = invitation
                .incentive
                .as_ref()
                .and_then(|i| i.amount.as_ref())
            {
                *self.spent_in_period.entry(plan.period.clone()).or_default() += amount.minor_units;
                *self
                    .spent_by_account
                    .entry((deal.account_key.clone(), plan.period.clone()))
                    .or_default() += amount.minor_units;
            }
        }
        self.account_last
            .entry(deal.account_key.clone())
            .or_default()
            .note(&deal.crm_id, at);
        // A deal counts once in its segment's tally: when it is first invited.
        if let Some(segment) = plan.segment.as_ref().filter(|_| plan.already_invited == 0) {
            *self
                .tallies
                .entry((segment.clone(), plan.period.clone()))
                .or_default()
                .invited_deals
                .entry(deal.outcome)
                .or_default() += 1;
        }
    }
}

#[cfg(test)]
mod tests;
