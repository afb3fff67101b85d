//! Segment rules: conditions over a decided deal's attributes. A segment matches when all
//! its rules do; the first matching segment takes the deal.

use crate::outreach::decision::{Decision, DeclinedReason, IcpFit, Money, Outcome};
use serde::Serialize;

/// One condition. Text attributes compare case-insensitively (CRMs disagree on "EMEA"
/// and "Emea"); the lists are stored lower-cased.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "attribute", rename_all = "snake_case")]
pub enum Rule {
    /// Amount in one currency, both bounds inclusive, in minor units. A deal in another
    /// currency does not match.
    Amount {
        currency: String,
        min: Option<i64>,
        max: Option<i64>,
    },
    SalesCycleDays {
        min: Option<i64>,
        max: Option<i64>,
    },
    Competitor(CompetitorRule),
    Outcome {
        any_of: Vec<Outcome>,
    },
    Region {
        any_of: Vec<String>,
    },
    Persona {
        any_of: Vec<String>,
    },
    ProductLine {
        any_of: Vec<String>,
    },
    CompanyType {
        any_of: Vec<String>,
    },
    RequestKind {
        any_of: Vec<String>,
    },
    IcpFit {
        any_of: Vec<IcpFit>,
    },
    DeclinedReason {
        any_of: Vec<DeclinedReason>,
    },
    /// The renewal date falls within this many days after the decision.
    RenewalWithinDays {
        days: i64,
    },
    Strategic {
        is: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CompetitorRule {
    /// One of these competitors was met.
    AnyOf(Vec<String>),
    /// No competitor was met.
    None,
}

fn in_range(value: i64, min: Option<i64>, max: Option<i64>) -> bool {
    min.is_none_or(|m| value >= m) && max.is_none_or(|m| value <= m)
}

fn text_in(value: Option<&str>, any_of: &[String]) -> bool {
    value.is_some_and(|v| {
        let v = v.to_lowercase();
        any_of.contains(&v)
    })
}

impl Rule {
    pub fn matches(&self, deal: &Decision) -> bool {
        match self {
            Rule::Amount { currency, min, max } => {
                let Money {
                    minor_units,
                    currency: deal_currency,
                } = &deal.amount;
                deal_currency == currency && in_range(*minor_units, *min, *max)
            }
            Rule::SalesCycleDays { min, max } => in_range(deal.sales_cycle_days, *min, *max),
            Rule::Competitor(CompetitorRule::AnyOf(names)) => deal
                .competitors
                .iter()
                .any(|c| names.contains(&c.to_lowercase())),
            Rule::Competitor(CompetitorRule::None) => deal.competitors.is_empty(),
            Rule::Outcome { any_of } => any_of.contains(&deal.outcome),
            Rule::Region { any_of } => text_in(deal.region.as_deref(), any_of),
            Rule::Persona { any_of } => text_in(deal.persona.as_deref(), any_of),
            Rule::ProductLine { any_of } => text_in(deal.product_line.as_deref(), any_of),
            Rule::CompanyType { any_of } => text_in(deal.company_type.as_deref(), any_of),
            Rule::RequestKind { any_of } => text_in(deal.request_kind.as_deref(), any_of),
            Rule::IcpFit { any_of } => deal.icp_fit.is_some_and(|f| any_of.contains(&f)),
            Rule::DeclinedReason { any_of } => deal
                .declined
                .as_ref()
                .is_some_and(|d| any_of.contains(&d.reason)),
            Rule::RenewalWithinDays { days } => deal.renewal_date.is_some_and(|renewal| {
                let ahead = (renewal - deal.decided_at.date_naive()).num_days();
                (0..=*days).contains(&ahead)
            }),
            Rule::Strategic { is } => deal.strategic == *is,
        }
    }
}
