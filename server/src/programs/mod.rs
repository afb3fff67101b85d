//! The win-loss program: ordered segments with rules, a method and a sample per segment,
//! the contact policy, and the incentive catalogue with its budget. Definitions are
//! versioned: a change applies to deals decided after it, and every invitation records the
//! version and segment that chose it.

pub mod definition;
pub mod routes;
pub mod rules;
pub mod store;

use crate::outreach::decision::{Decision, Money};
use crate::text_enum;
use chrono::{DateTime, Datelike, Utc};
use rules::Rule;
use serde::Serialize;

text_enum! {
    /// How a segment's buyers are asked.
    pub enum Method {
        /// The short quantitative survey, for volume.
        Survey = "survey",
        /// A personal interview invitation.
        Interview = "interview",
        /// The survey first; those who say yes get an interview invitation.
        SurveyThenInterview = "survey_then_interview",
    }
}

text_enum! {
    /// Which buyers on a deal are asked.
    pub enum ContactSelection {
        All = "all",
        /// Only the roles that can explain the final choice: decision maker, economic
        /// buyer, evaluator, in that order.
        Deciders = "deciders",
    }
}

text_enum! {
    /// The window quotas and budgets count over, by the deal's decision date (UTC).
    pub enum Period {
        Month = "month",
        Quarter = "quarter",
    }
}

text_enum! {
    /// Which survey a survey invitation carries.
    pub enum SurveyKey {
        /// Why the buyer chose as they did.
        WinLoss = "win_loss",
        /// For our own no-go: what the buyer needed that we could not offer.
        DeclinedRequest = "declined_request",
    }
}

text_enum! {
    pub enum IncentiveKind {
        /// A sum of money (a gift card or a transfer).
        Money = "money",
        /// Product credits.
        Credits = "credits",
        /// A product module, unlocked.
        Module = "module",
        /// Early access to a programme or feature.
        EarlyAccess = "early_access",
        /// A donation to a charity in the buyer's name.
        Donation = "donation",
    }
}

impl IncentiveKind {
    pub fn has_amount(self) -> bool {
        matches!(self, IncentiveKind::Money | IncentiveKind::Donation)
    }

    pub fn needs_name(self) -> bool {
        matches!(
            self,
            IncentiveKind::Module | IncentiveKind::EarlyAccess | IncentiveKind::Donation
        )
    }
}

text_enum! {
    /// What happens to new invitations once the incentive budget is spent.
    pub enum WhenSpent {
        /// They go out without an incentive.
        SendWithout = "send_without",
        /// They wait, held, for staff to release them.
        Hold = "hold",
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Program {
    /// 0 for the built-in program that runs until staff store one.
    pub version: i64,
    pub name: String,
    pub period: Period,
    pub policy: ContactPolicy,
    pub incentives: Vec<Incentive>,
    pub budget: Option<Budget>,
    pub segments: Vec<Segment>,
    /// Origins allowed to embed the widget (see `ProgramRequest::embed_origins`).
    pub embed_origins: Vec<String>,
    /// The share of buyers invited to an interview the program aims to interview.
    pub interview_target: f64,
    /// The share of buyers sent a survey the program aims to hear from.
    pub survey_target: f64,
    /// When its emails go out, in each buyer's time zone; the operator's setting if none.
    #[serde(skip)]
    pub sending_window: crate::outreach::schedule::SendingWindow,
    /// The name its emails come from; the sending address's own if none.
    pub sender_name: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ContactPolicy {
    /// At most one invitation per person in this many days, across deals.
    pub person_cooldown_days: i64,
    /// At most this many people of one account asked about one decision.
    pub account_max_per_decision: usize,
    /// Days between two decisions' invitations to the same account.
    pub account_cooldown_days: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Incentive {
    pub key: String,
    pub kind: IncentiveKind,
    pub amount: Option<Money>,
    pub quantity: Option<i64>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Budget {
    pub currency: String,
    pub per_period_minor: Option<i64>,
    pub per_account_minor: Option<i64>,
    pub when_spent: WhenSpent,
}

#[derive(Debug, Clone, Serialize)]
pub struct Segment {
    pub key: String,
    pub name: String,
    pub rules: Vec<Rule>,
    pub method: Method,
    pub contacts: ContactSelection,
    pub max_contacts_per_deal: Option<usize>,
    pub sample_rate: f64,
    /// Completed responses wanted per period; planning stops inviting once met.
    pub target_per_period: Option<u32>,
    /// The largest share of the period's invited deals one outcome may take.
    pub max_outcome_share: Option<f64>,
    pub survey: SurveyKey,
    pub incentive: Option<String>,
    /// Days after the invitation when non-responders are reminded.
    pub reminder_days: Vec<u32>,
    pub expires_after_days: u32,
}

impl Segment {
    pub fn matches(&self, deal: &Decision) -> bool {
        self.rules.iter().all(|r| r.matches(deal))
    }
}

impl Program {
    /// What runs before staff store a program: every decided deal's buyers get the
    /// win-loss survey, with the default contact policy.
    pub fn built_in() -> Program {
        store::built_in_request()
            .parse(0)
            .expect("the built-in definition is valid")
    }

    /// The first segment whose rules all match.
    pub fn segment_for(&self, deal: &Decision) -> Option<&Segment> {
        self.segments.iter().find(|s| s.matches(deal))
    }

    pub fn incentive(&self, key: &str) -> Option<&Incentive> {
        self.incentives.iter().find(|i| i.key == key)
    }
}

impl Period {
    /// The label of the period holding `t`: `2026-11` or `2026-Q4`.
    pub fn label(self, t: DateTime<Utc>) -> String {
        match self {
            Period::Month => format!("{:04}-{:02}", t.year(), t.month()),
            Period::Quarter => format!("{:04}-Q{}", t.year(), (t.month() - 1) / 3 + 1),
        }
    }

    /// The first instant of the period holding `t`, and of the next one.
    pub fn bounds(self, t: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        let months = match self {
            Period::Month => 1,
            Period::Quarter => 3,
        };
        let first_month = (t.month0() / months) * months;
        let start = chrono::NaiveDate::from_ymd_opt(t.year(), first_month + 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc())
            .unwrap_or(t);
        let end = start
            .checked_add_months(chrono::Months::new(months))
            .unwrap_or(start);
        (start, end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_labelled_and_bounded_in_utc() {
        let t: DateTime<Utc> = "2026-11-23T10:00:00Z".parse().expect("valid");
        assert_eq!(Period::Quarter.label(t), "2026-Q4");
        assert_eq!(Period::Month.label(t), "2026-11");
        let (start, end) = Period::Quarter.bounds(t);
        assert_eq!(start.to_rfc3339(), "2026-10-01T00:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2027-01-01T00:00:00+00:00");
    }
}
