//! A program definition as staff write it (`ProgramRequest`, loose wire types, kept as
//! posted) and as planning reads it (`Program`, every field checked and defaulted).
//! `parse` reports every fault at once with its path, e.g. `segments[2].rules[0].max`.

use super::rules::{CompetitorRule, Rule};
use super::{
    Budget, ContactPolicy, ContactSelection, Incentive, IncentiveKind, Method, Period, Program,
    Segment, SurveyKey, WhenSpent,
};
use crate::outreach::decision::{AmountRequest, Money};
use debrief_common::FieldError;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgramRequest {
    pub name: String,
    /// `month` or `quarter` (default): the period quotas and budgets count over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_policy: Option<ContactPolicyRequest>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incentives: Vec<IncentiveRequest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<BudgetRequest>,
    pub segments: Vec<SegmentRequest>,
    /// Origins of the pages allowed to embed the survey widget (a customer portal), e.g.
    /// `https://portal.example.com`: the buyer API answers them (CORS) and the survey page
    /// may be framed by them (`frame-ancestors`). Debrief's own pages need no entry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub embed_origins: Vec<String>,
    /// The share of buyers invited to an interview the program aims to interview, from
    /// 0.01 to 1 (0.41 by default: what good programs reach).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interview_target: Option<f64>,
    /// The share of buyers sent a survey the program aims to hear from, from 0.01 to 1
    /// (0.25 by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub survey_target: Option<f64>,
    /// When buyers are emailed and whom the emails say they are from; the operator's
    /// settings (`DEBRIEF_BUSINESS_HOURS`, `DEBRIEF_BUSINESS_DAYS`, the sending address's
    /// name) where left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sending: Option<SendingRequest>,
}

/// The program's quiet hours and sender.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendingRequest {
    /// The hours emails go out in the buyer's time zone, like `09:00-17:00`; quiet
    /// otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<String>,
    /// The days they go out, like `mon-fri` or `mon,tue,thu`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<String>,
    /// The name buyers see the emails come from, like `Acme Customer Insights` (the
    /// address stays the operator's, which its domain's SPF and DKIM vouch for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_name: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactPolicyRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person_cooldown_days: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_max_per_decision: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_cooldown_days: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncentiveRequest {
    pub key: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<AmountRequest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity: Option<i64>,
    /// The module, the programme, or the charity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetRequest {
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_period_minor: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_account_minor: Option<i64>,
    /// `send_without` (default) or `hold`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when_spent: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentRequest {
    pub key: String,
    pub name: String,
    #[serde(default)]
    pub rules: Vec<RuleRequest>,
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contacts: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_contacts_per_deal: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_per_period: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_outcome_share: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub survey: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incentive: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder_days: Option<Vec<i64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_after_days: Option<i64>,
}

/// One rule on the wire: the attribute, and the fields that attribute takes.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleRequest {
    pub attribute: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any_of: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub none: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is: Option<bool>,
}

const MAX_SEGMENTS: usize = 50;
const MAX_RULES: usize = 20;
const MAX_INCENTIVES: usize = 50;
const MAX_LIST: usize = 100;
const MAX_REMINDERS: usize = 5;
/// The share of invited buyers good programs interview.
pub const DEFAULT_INTERVIEW_PARTICIPATION: f64 = 0.41;

/// The survey completion rate a program aims for unless it says otherwise: what B2B
/// win-loss surveys sent right after the decision commonly reach.
pub const DEFAULT_SURVEY_PARTICIPATION: f64 = 0.25;

const DEFAULT_REMINDER_DAYS: [u32; 2] = [3, 7];
const DEFAULT_EXPIRY_DAYS: u32 = 30;
/// "Ten completed interviews per segment and period": what the method advises.
const DEFAULT_INTERVIEW_TARGET: u32 = 10;

/// Currencies in use (ISO 4217), for money in rules, incentives and budgets.
const CURRENCIES: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL \
    BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD \
    FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS \
    KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK \
    MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD \
    SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX \
    USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL";

pub fn currency(value: &str) -> Result<String, String> {
    let code = value.trim().to_ascii_uppercase();
    if code.len() == 3 && CURRENCIES.split_ascii_whitespace().any(|c| c == code) {
        Ok(code)
    } else {
        Err(format!(
            "is not a known ISO 4217 currency: {:?}",
            value.chars().take(10).collect::<String>()
        ))
    }
}

/// Collects faults with their paths.
#[derive(Default)]
struct Faults(Vec<FieldError>);

impl Faults {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(path, message));
    }

    fn check<T>(&mut self, path: impl Into<String>, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(m) => {
                self.push(path, m);
                None
            }
        }
    }
}

fn range(
    value: Option<i64>,
    default: i64,
    bounds: std::ops::RangeInclusive<i64>,
) -> Result<i64, String> {
    let v = value.unwrap_or(default);
    if bounds.contains(&v) {
        Ok(v)
    } else {
        Err(format!(
            "must be from {} to {}",
            bounds.start(),
            bounds.end()
        ))
    }
}

fn slug(value: &str) -> Result<String, String> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(value.to_owned())
    } else {
        Err("must be 1 to 64 characters of a-z, 0-9, _ and -".into())
    }
}

const MAX_EMBED_ORIGINS: usize = 20;

/// A web origin as browsers send it in `Origin`: `https://host` or `http://host:port`,
/// lower-cased, with no path, query or wildcard.
pub fn origin(value: &str) -> Result<String, String> {
    let lowered = value.trim().trim_end_matches('/').to_ascii_lowercase();
    let rest = lowered
        .strip_prefix("https://")
        .or_else(|| lowered.strip_prefix("http://"))
        .ok_or("must start with https:// (or http://)")?;
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (rest, None),
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if !host_ok {
        return Err("must be an origin such as https://portal.example.com, with no path".into());
    }
    if let Some(port) = port {
        if !port.parse::<u16>().is_ok_and(|p| p > 0) {
            return Err("has an invalid port".into());
        }
    }
    Ok(lowered)
}

fn label(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        Err("must not be empty".into())
    } else if value.chars().count() > 200 {
        Err("must be at most 200 characters".into())
    } else if value.chars().any(char::is_control) {
        Err("must not contain control characters".into())
    } else {
        Ok(value.to_owned())
    }
}

impl ProgramRequest {
    /// Checks every field, filling defaults. `version` is the number it will be stored as.
    pub fn parse(&self, version: i64) -> Result<Program, Vec<FieldError>> {
        let mut f = Faults::default();
        let name = f.check("name", label(&self.name));
        let period = f.check(
            "period",
            self.period
                .as_deref()
                .unwrap_or("quarter")
                .parse::<Period>(),
        );

        let p = self.contact_policy.clone().unwrap_or_default();
        let policy = ContactPolicy {
            person_cooldown_days: f
                .check(
                    "contact_policy.person_cooldown_days",
                    range(p.person_cooldown_days, 90, 0..=730),
                )
                .unwrap_or(0),
            account_max_per_decision: f
                .check(
                    "contact_policy.account_max_per_decision",
                    range(p.account_max_per_decision, 3, 1..=50),
                )
                .unwrap_or(1) as usize,
            account_cooldown_days: f
                .check(
                    "contact_policy.account_cooldown_days",
                    range(p.account_cooldown_days, 0, 0..=730),
                )
                .unwrap_or(0),
        };

        let budget = self.budget.as_ref().and_then(|b| {
            let currency = f.check("budget.currency", currency(&b.currency));
            let per_period = b.per_period_minor.and_then(|v| {
                f.check(
                    "budget.per_period_minor",
                    range(Some(v), 0, 0..=i64::MAX / 4),
                )
            });
            let per_account = b.per_account_minor.and_then(|v| {
                f.check(
                    "budget.per_account_minor",
                    range(Some(v), 0, 0..=i64::MAX / 4),
                )
            });
            let when_spent = f.check(
                "budget.when_spent",
                b.when_spent
                    .as_deref()
                    .unwrap_or("send_without")
                    .parse::<WhenSpent>(),
            );
            Some(Budget {
                currency: currency?,
                per_period_minor: per_period,
                per_account_minor: per_account,
                when_spent: when_spent?,
            })
        });

        if self.incentives.len() > MAX_INCENTIVES {
            f.push(
                "incentives",
                format!("must list at most {MAX_INCENTIVES} incentives"),
            );
        }
        let mut incentives = Vec::new();
        let mut incentive_keys = HashSet::new();
        for (i, inc) in self.incentives.iter().enumerate().take(MAX_INCENTIVES) {
            if let Some(incentive) = self.parse_incentive(i, inc, budget.as_ref(), &mut f) {
                if !incentive_keys.insert(incentive.key.clone()) {
                    f.push(format!("incentives[{i}].key"), "appears twice");
                }
                incentives.push(incentive);
            }
        }

        if self.segments.is_empty() {
            f.push("segments", "at least one segment is required");
        }
        if self.segments.len() > MAX_SEGMENTS {
            f.push(
                "segments",
                format!("must list at most {MAX_SEGMENTS} segments"),
            );
        }
        let mut segments = Vec::new();
        let mut segment_keys = HashSet::new();
        for (i, s) in self.segments.iter().enumerate().take(MAX_SEGMENTS) {
            if !segment_keys.insert(s.key.as_str()) {
                f.push(format!("segments[{i}].key"), "appears twice");
            }
            if let Some(segment) = parse_segment(i, s, &incentive_keys, &mut f) {
                segments.push(segment);
            }
        }

        if self.embed_origins.len() > MAX_EMBED_ORIGINS {
            f.push(
                "embed_origins",
                format!("must list at most {MAX_EMBED_ORIGINS} origins"),
            );
        }
        let mut embed_origins = Vec::new();
        for (i, o) in self
            .embed_origins
            .iter()
            .enumerate()
            .take(MAX_EMBED_ORIGINS)
        {
            if let Some(o) = f.check(format!("embed_origins[{i}]"), origin(o)) {
                if embed_origins.contains(&o) {
                    f.push(format!("embed_origins[{i}]"), "appears twice");
                }
                embed_origins.push(o);
            }
        }

        let interview_target = self
            .interview_target
            .unwrap_or(DEFAULT_INTERVIEW_PARTICIPATION);
        if !(0.01..=1.0).contains(&interview_target) {
            f.push("interview_target", "must be from 0.01 to 1");
        }
        let survey_target = self.survey_target.unwrap_or(DEFAULT_SURVEY_PARTICIPATION);
        if !(0.01..=1.0).contains(&survey_target) {
            f.push("survey_target", "must be from 0.01 to 1");
        }

        let sending = self.sending.clone().unwrap_or_default();
        let sending_window = match crate::outreach::schedule::SendingWindow::parse(
            sending.hours.as_deref(),
            sending.days.as_deref(),
        ) {
            Ok(window) => window,
            Err((part, message)) => {
                f.push(format!("sending.{part}"), message);
                Default::default()
            }
        };
        let sender_name = sending.sender_name.as_deref().and_then(|n| {
            // A display name, not an address: angle brackets and quotes would make
            // mail clients read it as one.
            let checked = label(n).and_then(|n| {
                if n.chars().count() > 100 || n.contains(['<', '>', '"', '@']) {
                    Err("must be a name of at most 100 characters, without <, >, \" or @".into())
                } else {
                    Ok(n)
                }
            });
            f.check("sending.sender_name", checked)
        });

        match (name, period) {
            (Some(name), Some(period)) if f.0.is_empty() => Ok(Program {
                version,
                name,
                period,
                policy,
                incentives,
                budget,
                segments,
                embed_origins,
                interview_target,
                survey_target,
                sending_window,
                sender_name,
            }),
            _ => Err(f.0),
        }
    }

    fn parse_incentive(
        &self,
        i: usize,
        inc: &IncentiveRequest,
        budget: Option<&Budget>,
        f: &mut Faults,
    ) -> Option<Incentive> {
        let at = |field: &str| format!("incentives[{i}].{field}");
        let key = f.check(at("key"), slug(&inc.key));
        let kind = f.check(at("kind"), inc.kind.parse::<IncentiveKind>())?;
        let amount = match (kind.has_amount(), &inc.amount) {
            (true, Some(a)) => {
                let currency = f.check(at("amount.currency"), currency(&a.currency));
                let minor = f.check(
                    at("amount.minor_units"),
                    range(Some(a.minor_units), 0, 1..=100_000_000),
                );
                if let (Some(c), Some(b)) = (&currency, budget) {
                    if *c != b.currency {
                        f.push(
                            at("amount.currency"),
                            format!("must be the budget's currency, {}", b.currency),
                        );
                    }
                }
                Some(Money {
                    minor_units: minor?,
                    currency: currency?,
                })
            }
            (true, None) => {
                f.push(at("amount"), format!("is required for a {kind} incentive"));
                None
            }
            (false, Some(_)) => {
                f.push(
                    at("amount"),
                    format!("does not apply to a {kind} incentive"),
                );
                None
            }
            (false, None) => None,
        };
        let quantity = match (kind, inc.quantity) {
            (IncentiveKind::Credits, Some(q)) => {
                f.check(at("quantity"), range(Some(q), 0, 1..=1_000_000))
            }
            (IncentiveKind::Credits, None) => {
                f.push(at("quantity"), "is required for credits");
                None
            }
            (_, Some(_)) => {
                f.push(
                    at("quantity"),
                    format!("does not apply to a {kind} incentive"),
                );
                None
            }
            (_, None) => None,
        };
        let name = match (&inc.name, kind.needs_name()) {
            (Some(n), _) => f.check(at("name"), label(n)),
            (None, true) => {
                f.push(at("name"), format!("is required for a {kind} incentive"));
                None
            }
            (None, false) => None,
        };
        Some(Incentive {
            key: key?,
            kind,
            amount: if kind.has_amount() {
                Some(amount?)
            } else {
                None
            },
            quantity: if kind == IncentiveKind::Credits {
                Some(quantity?)
            } else {
                None
            },
            name: if kind.needs_name() { Some(name?) } else { name },
        })
    }
}

fn parse_segment(
    i: usize,
    s: &SegmentRequest,
    incentive_keys: &HashSet<String>,
    f: &mut Faults,
) -> Option<Segment> {
    let at = |field: &str| format!("segments[{i}].{field}");
    let key = f.check(at("key"), slug(&s.key));
    let name = f.check(at("name"), label(&s.name));
    let method = match &s.method {
        Some(m) => f.check(at("method"), m.parse::<Method>()),
        None => {
            f.push(
                at("method"),
                "is required: survey, interview or survey_then_interview",
            );
            None
        }
    };
    let contacts = f.check(
        at("contacts"),
        s.contacts
            .as_deref()
            .unwrap_or("all")
            .parse::<ContactSelection>(),
    );
    let max_contacts = s
        .max_contacts_per_deal
        .and_then(|v| f.check(at("max_contacts_per_deal"), range(Some(v), 0, 1..=50)))
        .map(|v| v as usize);
    let sample_rate = match s.sample_rate {
        Some(r) if !(0.0..=1.0).contains(&r) || r.is_nan() => {
            f.push(at("sample_rate"), "must be from 0 to 1");
            None
        }
        r => Some(r.unwrap_or(1.0)),
    };
    let target = match s.target_per_period {
        Some(t) => f
            .check(at("target_per_period"), range(Some(t), 0, 1..=1_000_000))
            .map(|t| Some(t as u32)),
        None => Some(match method {
            Some(Method::Survey) | None => None,
            Some(Method::Interview | Method::SurveyThenInterview) => Some(DEFAULT_INTERVIEW_TARGET),
        }),
    };
    let max_outcome_share = match s.max_outcome_share {
        Some(r) if !(0.5..=1.0).contains(&r) || r.is_nan() => {
            f.push(
                at("max_outcome_share"),
                "must be from 0.5 to 1 (the largest share one outcome may take)",
            );
            None
        }
        r => Some(r),
    };
    let survey = f.check(
        at("survey"),
        s.survey
            .as_deref()
            .unwrap_or("win_loss")
            .parse::<SurveyKey>(),
    );
    let incentive = match &s.incentive {
        Some(k) if !incentive_keys.contains(k) => {
            f.push(
                at("incentive"),
                format!("names no incentive in the catalogue: {k:?}"),
            );
            None
        }
        k => Some(k.clone()),
    };
    let expires = f
        .check(
            at("expires_after_days"),
            range(
                s.expires_after_days,
                i64::from(DEFAULT_EXPIRY_DAYS),
                1..=365,
            ),
        )
        .map(|d| d as u32);
    let reminders = match &s.reminder_days {
        // The defaults must fit a short expiry too: a reminder the buyer could no longer
        // act on would be dropped at send time without anyone having chosen that.
        None => match (expires, DEFAULT_REMINDER_DAYS.last()) {
            (Some(e), Some(&last)) if last >= e => {
                f.push(
                    at("expires_after_days"),
                    format!(
                        "comes on or before the default reminder on day {last}: \
                         set reminder_days before day {e}, or a later expiry"
                    ),
                );
                None
            }
            _ => Some(DEFAULT_REMINDER_DAYS.to_vec()),
        },
        Some(days) if days.len() > MAX_REMINDERS => {
            f.push(
                at("reminder_days"),
                format!("must list at most {MAX_REMINDERS} reminders"),
            );
            None
        }
        Some(days) => {
            let mut ok = true;
            let mut previous = 0;
            for (j, &d) in days.iter().enumerate() {
                let path = format!("segments[{i}].reminder_days[{j}]");
                if d <= previous {
                    f.push(
                        path,
                        "must be a day after the invitation and after the previous reminder",
                    );
                    ok = false;
                } else if expires.is_some_and(|e| d >= i64::from(e)) {
                    f.push(
                        path,
                        format!(
                            "comes on or after expiry (day {}): the buyer could no longer answer",
                            expires.unwrap_or_default()
                        ),
                    );
                    ok = false;
                }
                previous = d;
            }
            ok.then(|| days.iter().map(|&d| d as u32).collect())
        }
    };

    if s.rules.len() > MAX_RULES {
        f.push(at("rules"), format!("must list at most {MAX_RULES} rules"));
    }
    let rules: Vec<Option<Rule>> = s
        .rules
        .iter()
        .enumerate()
        .take(MAX_RULES)
        .map(|(j, r)| parse_rule(&format!("segments[{i}].rules[{j}]"), r, f))
        .collect();

    Some(Segment {
        key: key?,
        name: name?,
        rules: rules.into_iter().collect::<Option<Vec<_>>>()?,
        method: method?,
        contacts: contacts?,
        max_contacts_per_deal: max_contacts,
        sample_rate: sample_rate?,
        target_per_period: target?,
        max_outcome_share: max_outcome_share?,
        survey: survey?,
        incentive: incentive?,
        reminder_days: reminders?,
        expires_after_days: expires?,
    })
}

/// The fields each attribute takes; any other field set on the rule is a fault.
pub fn allowed_fields(attribute: &str) -> Option<&'static [&'static str]> {
    Some(match attribute {
        "amount" => &["currency", "min", "max"],
        "sales_cycle_days" => &["min", "max"],
        "competitor" => &["any_of", "none"],
        "outcome" | "region" | "persona" | "product_line" | "company_type" | "request_kind"
        | "icp_fit" | "declined_reason" => &["any_of"],
        "renewal_within_days" => &["days"],
        "strategic" => &["is"],
        _ => return None,
    })
}

pub const ATTRIBUTES: &str = "amount, sales_cycle_days, competitor, outcome, region, persona, \
    product_line, company_type, request_kind, icp_fit, declined_reason, renewal_within_days, strategic";

fn parse_rule(path: &str, r: &RuleRequest, f: &mut Faults) -> Option<Rule> {
    let at = |field: &str| format!("{path}.{field}");
    let Some(allowed) = allowed_fields(&r.attribute) else {
        f.push(
            at("attribute"),
            format!("is not a deal attribute; use one of: {ATTRIBUTES}"),
        );
        return None;
    };
    let present = [
        ("currency", r.currency.is_some()),
        ("min", r.min.is_some()),
        ("max", r.max.is_some()),
        ("any_of", r.any_of.is_some()),
        ("none", r.none.is_some()),
        ("days", r.days.is_some()),
        ("is", r.is.is_some()),
    ];
    let mut stray = false;
    for (field, set) in present {
        if set && !allowed.contains(&field) {
            f.push(at(field), format!("does not apply to {}", r.attribute));
            stray = true;
        }
    }
    if stray {
        return None;
    }

    let bounds = |f: &mut Faults, limit: i64| -> Option<(Option<i64>, Option<i64>)> {
        let mut ok = true;
        for (field, v) in [("min", r.min), ("max", r.max)] {
            if v.is_some_and(|v| !(0..=limit).contains(&v)) {
                f.push(at(field), format!("must be from 0 to {limit}"));
                ok = false;
            }
        }
        if r.min.is_none() && r.max.is_none() {
            f.push(at("max"), "a range needs min, max or both");
            ok = false;
        }
        if let (Some(min), Some(max)) = (r.min, r.max) {
            if max < min {
                f.push(at("max"), format!("must not be below min ({min})"));
                ok = false;
            }
        }
        ok.then_some((r.min, r.max))
    };
    let list = |f: &mut Faults| -> Option<Vec<String>> {
        match &r.any_of {
            None => {
                f.push(at("any_of"), "is required: the values that match");
                None
            }
            Some(values) if values.is_empty() || values.len() > MAX_LIST => {
                f.push(at("any_of"), format!("must list 1 to {MAX_LIST} values"));
                None
            }
            Some(values) => {
                let mut out = Vec::with_capacity(values.len());
                let mut ok = true;
                for (k, v) in values.iter().enumerate() {
                    match label(v) {
                        Ok(v) => out.push(v.to_lowercase()),
                        Err(m) => {
                            f.push(format!("{path}.any_of[{k}]"), m);
                            ok = false;
                        }
                    }
                }
                ok.then_some(out)
            }
        }
    };
    fn typed<T: std::str::FromStr<Err = String>>(
        path: &str,
        values: Option<Vec<String>>,
        f: &mut Faults,
    ) -> Option<Vec<T>> {
        let values = values?;
        let mut ok = true;
        let parsed: Vec<T> = values
            .iter()
            .enumerate()
            .filter_map(|(k, v)| {
                v.parse::<T>()
                    .map_err(|m| {
                        f.push(format!("{path}.any_of[{k}]"), m);
                        ok = false;
                    })
                    .ok()
            })
            .collect();
        ok.then_some(parsed)
    }

    match r.attribute.as_str() {
        "amount" => {
            let currency = match &r.currency {
                Some(c) => f.check(at("currency"), currency(c)),
                None => {
                    f.push(
                        at("currency"),
                        "is required: amounts compare in one currency",
                    );
                    None
                }
            };
            let (min, max) = bounds(f, i64::MAX / 4)?;
            Some(Rule::Amount {
                currency: currency?,
                min,
                max,
            })
        }
        "sales_cycle_days" => {
            let (min, max) = bounds(f, 3650)?;
            Some(Rule::SalesCycleDays { min, max })
        }
        "competitor" => match (r.any_of.is_some(), r.none) {
            (true, None) => list(f).map(|l| Rule::Competitor(CompetitorRule::AnyOf(l))),
            (false, Some(true)) => Some(Rule::Competitor(CompetitorRule::None)),
            (true, Some(_)) => {
                f.push(at("none"), "give either any_of or none, not both");
                None
            }
            _ => {
                f.push(
                    at("any_of"),
                    "is required (or none: true for deals without a competitor)",
                );
                None
            }
        },
        "outcome" => typed(path, list(f), f).map(|any_of| Rule::Outcome { any_of }),
        "icp_fit" => typed(path, list(f), f).map(|any_of| Rule::IcpFit { any_of }),
        "declined_reason" => typed(path, list(f), f).map(|any_of| Rule::DeclinedReason { any_of }),
        "region" => list(f).map(|any_of| Rule::Region { any_of }),
        "persona" => list(f).map(|any_of| Rule::Persona { any_of }),
        "product_line" => list(f).map(|any_of| Rule::ProductLine { any_of }),
        "company_type" => list(f).map(|any_of| Rule::CompanyType { any_of }),
        "request_kind" => list(f).map(|any_of| Rule::RequestKind { any_of }),
        "renewal_within_days" => match r.days {
            Some(days) => f
                .check(at("days"), range(Some(days), 0, 0..=3650))
                .map(|days| Rule::RenewalWithinDays { days }),
            None => {
                f.push(at("days"), "is required");
                None
            }
        },
        "strategic" => match r.is {
            Some(is) => Some(Rule::Strategic { is }),
            None => {
                f.push(at("is"), "is required: true or false");
                None
            }
        },
        _ => None,
    }
}
