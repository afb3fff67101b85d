//! A decided deal as the CRM sends it (`DecisionRequest`, loose wire types) and as the rest
//! of the code sees it (`Decision`, every field parsed). `parse` reports every bad field at
//! once, so an integrator fixes a payload in one round trip.

use crate::text_enum;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use debrief_common::{FieldError, Locale};
use serde::{Deserialize, Serialize};

text_enum! {
    /// How the deal ended. `Declined` is our own no-go on the buyer's request.
    pub enum Outcome {
        Won = "won",
        Lost = "lost",
        NoDecision = "no_decision",
        Declined = "declined",
    }
}

text_enum! {
    /// How well the account matches the ideal customer profile.
    pub enum IcpFit {
        High = "high",
        Medium = "medium",
        Low = "low",
    }
}

text_enum! {
    /// Why we declined the buyer's request (our own no-go).
    pub enum DeclinedReason {
        Price = "price",
        Technical = "technical",
        Regulatory = "regulatory",
        Logistical = "logistical",
        OutOfScope = "out_of_scope",
        Capacity = "capacity",
        Other = "other",
    }
}

const MAX_TEXT: usize = 200;
const MAX_DETAIL: usize = 2_000;
const MAX_CONTACTS: usize = 50;
const MAX_COMPETITORS: usize = 20;

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    pub crm_id: String,
    pub outcome: String,
    /// RFC 3339 with an offset, e.g. `2026-11-20T15:30:00+01:00`.
    pub decided_at: String,
    pub amount: AmountRequest,
    pub sales_cycle_days: i64,
    #[serde(default)]
    pub competitors: Vec<String>,
    pub region: Option<String>,
    pub persona: Option<String>,
    pub product_line: Option<String>,
    pub company_type: Option<String>,
    pub icp_fit: Option<String>,
    /// `YYYY-MM-DD`.
    pub renewal_date: Option<String>,
    #[serde(default)]
    pub strategic: bool,
    /// For `outcome: declined`: why we said no.
    pub declined: Option<DeclinedRequest>,
    /// What the buyer asked for, e.g. `custom integration` (mostly useful when declined).
    pub request_kind: Option<String>,
    pub account: AccountRequest,
    pub contacts: Vec<ContactRequest>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclinedRequest {
    pub reason: String,
    /// Free text: what exactly we could not do.
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmountRequest {
    /// Integer minor units: cents for EUR, so 48 000.00 EUR is 4800000.
    pub minor_units: i64,
    pub currency: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountRequest {
    /// The CRM's own account id. Without it, accounts are told apart by name.
    pub crm_id: Option<String>,
    pub name: String,
    pub manager: PersonRequest,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonRequest {
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactRequest {
    pub name: String,
    pub email: String,
    pub role: Option<String>,
    pub locale: String,
    /// IANA name, e.g. `Europe/Paris`.
    pub time_zone: String,
}

/// A validated decided deal.
#[derive(Debug, Clone)]
pub struct Decision {
    pub crm_id: String,
    pub outcome: Outcome,
    pub decided_at: DateTime<Utc>,
    pub amount: Money,
    pub sales_cycle_days: i64,
    pub competitors: Vec<String>,
    pub region: Option<String>,
    pub persona: Option<String>,
    pub product_line: Option<String>,
    pub company_type: Option<String>,
    pub icp_fit: Option<IcpFit>,
    pub renewal_date: Option<NaiveDate>,
    pub strategic: bool,
    pub declined: Option<Declined>,
    pub request_kind: Option<String>,
    pub account_name: String,
    /// Identifies the buying company across deals: its CRM id, or its name.
    pub account_key: String,
    pub account_manager: Person,
    pub contacts: Vec<Contact>,
}

#[derive(Debug, Clone)]
pub struct Declined {
    pub reason: DeclinedReason,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Money {
    pub minor_units: i64,
    /// ISO 4217, upper case.
    pub currency: String,
}

#[derive(Debug, Clone)]
pub struct Person {
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone)]
pub struct Contact {
    pub name: String,
    /// Lower-cased, so one buyer is one contact however the CRM spells the address.
    pub email: String,
    pub role: Option<String>,
    pub locale: Locale,
    pub time_zone: Tz,
}

/// Collects field errors while parsing, so all of them are reported together.
#[derive(Default)]
struct Report(Vec<FieldError>);

impl Report {
    fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        result
            .map_err(|m| self.0.push(FieldError::new(field, m)))
            .ok()
    }
}

fn text(value: &str, required: bool) -> Result<String, String> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err("must not be empty".into());
    }
    if value.chars().count() > MAX_TEXT {
        return Err(format!("must be at most {MAX_TEXT} characters"));
    }
    if value.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(value.to_owned())
}

fn optional_text(value: &Option<String>) -> Result<Option<String>, String> {
    match value {
        None => Ok(None),
        Some(v) => text(v, false).map(|v| (!v.is_empty()).then_some(v)),
    }
}

/// A region or product line: dashboards count every value under `*` (see
/// `analytics::rollups`), so no deal may be of that one.
fn sliced_text(value: &Option<String>) -> Result<Option<String>, String> {
    match optional_text(value)? {
        Some(v) if v == "*" => Err("must not be \"*\", which stands for every value".into()),
        v => Ok(v),
    }
}

pub fn parse_email(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.len() > 254 {
        return Err("must be at most 254 characters".into());
    }
    match value.parse::<email_address::EmailAddress>() {
        // Quoted local parts and IP-literal domains are legal but are what spoofing and
        // header tricks are made of; no real buyer address needs them.
        // The mailer must accept it too, or the email would fail for hours before giving up.
        Ok(addr)
            if !value.contains(['"', '[', ' ', '<', '>'])
                && addr.domain().contains('.')
                && value.parse::<lettre::Address>().is_ok() =>
        {
            Ok(value.to_ascii_lowercase())
        }
        _ => Err(format!(
            "is not a valid email address: {:?}",
            preview(value)
        )),
    }
}

fn preview(s: &str) -> String {
    s.chars().take(60).collect()
}

impl DecisionRequest {
    pub fn parse(&self, now: DateTime<Utc>) -> Result<Decision, Vec<FieldError>> {
        let mut r = Report::default();

        let crm_id = r.check("crm_id", text(&self.crm_id, true));
        let outcome = r.check("outcome", self.outcome.parse::<Outcome>());
        let decided_at = r.check(
            "decided_at",
            DateTime::parse_from_rfc3339(self.decided_at.trim())
                .map_err(|_| {
                    "must be an RFC 3339 date-time with an offset, e.g. 2026-11-20T15:30:00+01:00"
                        .to_string()
                })
                .map(|t| t.with_timezone(&Utc))
                .and_then(|t| {
                    // A few minutes of clock skew between CRM and us is normal; a decision
                    // days ahead is a data error that would schedule emails wrongly.
                    if t > now + chrono::Duration::minutes(10) {
                        Err("must not be in the future".into())
                    } else {
                        Ok(t)
                    }
                }),
        );
        let minor_units = r.check(
            "amount.minor_units",
            if self.amount.minor_units >= 0 {
                Ok(self.amount.minor_units)
            } else {
                Err("must not be negative".into())
            },
        );
        let currency = r.check("amount.currency", {
            let c = self.amount.currency.trim().to_ascii_uppercase();
            if c.len() == 3 && c.chars().all(|ch| ch.is_ascii_alphabetic()) {
                Ok(c)
            } else {
                Err("must be a three-letter ISO 4217 code such as EUR".into())
            }
        });
        let sales_cycle_days = r.check(
            "sales_cycle_days",
            if (0..=3650).contains(&self.sales_cycle_days) {
                Ok(self.sales_cycle_days)
            } else {
                Err("must be from 0 to 3650 days".into())
            },
        );
        let competitors = r.check(
            "competitors",
            if self.competitors.len() > MAX_COMPETITORS {
                Err(format!("must list at most {MAX_COMPETITORS} competitors"))
            } else {
                Ok(())
            },
        );
        let competitors: Vec<String> = competitors
            .map(|()| {
                self.competitors
                    .iter()
                    .enumerate()
                    .filter_map(|(i, c)| r.check(&format!("competitors[{i}]"), text(c, true)))
                    .collect()
            })
            .unwrap_or_default();
        let region = r.check("region", sliced_text(&self.region));
        let persona = r.check("persona", optional_text(&self.persona));
        let product_line = r.check("product_line", sliced_text(&self.product_line));
        let company_type = r.check("company_type", optional_text(&self.company_type));
        let icp_fit = r.check(
            "icp_fit",
            self.icp_fit
                .as_deref()
                .map(str::parse::<IcpFit>)
                .transpose(),
        );
        let renewal_date = r.check(
            "renewal_date",
            self.renewal_date
                .as_deref()
                .map(|d| {
                    NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
                        .map_err(|_| "must be a date like 2027-03-31".to_string())
                })
                .transpose(),
        );
        let request_kind = r.check("request_kind", optional_text(&self.request_kind));
        let declined = match (&self.declined, outcome) {
            (None, _) => Some(None),
            (Some(d), Some(Outcome::Declined) | None) => {
                let reason = r.check("declined.reason", d.reason.trim().parse::<DeclinedReason>());
                let detail = r.check(
                    "declined.detail",
                    match &d.detail {
                        None => Ok(None),
                        Some(v) if v.chars().count() > MAX_DETAIL => {
                            Err(format!("must be at most {MAX_DETAIL} characters"))
                        }
                        // Free text may hold line breaks; other control characters are noise.
                        Some(v)
                            if v.chars()
                                .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') =>
                        {
                            Err("must not contain control characters".into())
                        }
                        Some(v) => Ok(Some(v.trim().to_owned()).filter(|v| !v.is_empty())),
                    },
                );
                reason
                    .zip(detail)
                    .map(|(reason, detail)| Some(Declined { reason, detail }))
            }
            (Some(_), Some(_)) => {
                r.0.push(FieldError::new(
                    "declined",
                    "applies only to a deal whose outcome is declined",
                ));
                None
            }
        };
        let account_name = r.check("account.name", text(&self.account.name, true));
        let account_crm_id = r.check("account.crm_id", optional_text(&self.account.crm_id));
        let manager_name = r.check(
            "account.manager.name",
            text(&self.account.manager.name, true),
        );
        let manager_email = r.check(
            "account.manager.email",
            parse_email(&self.account.manager.email),
        );

        if self.contacts.is_empty() {
            r.0.push(FieldError::new(
                "contacts",
                "at least one buyer contact is required",
            ));
        }
        if self.contacts.len() > MAX_CONTACTS {
            r.0.push(FieldError::new(
                "contacts",
                format!("must list at most {MAX_CONTACTS} contacts"),
            ));
        }
        let mut contacts = Vec::new();
        for (i, c) in self.contacts.iter().enumerate().take(MAX_CONTACTS) {
            let at = |f: &str| format!("contacts[{i}].{f}");
            let name = r.check(&at("name"), text(&c.name, true));
            let email = r.check(&at("email"), parse_email(&c.email));
            let role = r.check(&at("role"), optional_text(&c.role));
            let locale = r.check(&at("locale"), Locale::parse(c.locale.trim()));
            let time_zone = r.check(
                &at("time_zone"),
                c.time_zone.trim().parse::<Tz>().map_err(|_| {
                    format!(
                        "must be an IANA time zone such as Europe/Paris, got {:?}",
                        preview(&c.time_zone)
                    )
                }),
            );
            if let Some(email) = &email {
                if contacts.iter().any(|c: &Contact| &c.email == email) {
                    r.0.push(FieldError::new(at("email"), "appears twice in this deal"));
                }
            }
            if let (Some(name), Some(email), Some(role), Some(locale), Some(time_zone)) =
                (name, email, role, locale, time_zone)
            {
                contacts.push(Contact {
                    name,
                    email,
                    role,
                    locale,
                    time_zone,
                });
            }
        }

        match (
            crm_id,
            outcome,
            decided_at,
            minor_units,
            currency,
            sales_cycle_days,
            region,
            persona,
            product_line,
            company_type,
            icp_fit,
            renewal_date,
            account_name,
            manager_name,
            manager_email,
        ) {
            (
                Some(crm_id),
                Some(outcome),
                Some(decided_at),
                Some(minor_units),
                Some(currency),
                Some(sales_cycle_days),
                Some(region),
                Some(persona),
                Some(product_line),
                Some(company_type),
                Some(icp_fit),
                Some(renewal_date),
                Some(account_name),
                Some(manager_name),
                Some(manager_email),
            ) if r.0.is_empty() => Ok(Decision {
                declined: declined.flatten(),
                request_kind: request_kind.flatten(),
                crm_id,
                outcome,
                decided_at,
                amount: Money {
                    minor_units,
                    currency,
                },
                sales_cycle_days,
                competitors,
                region,
                persona,
                product_line,
                company_type,
                icp_fit,
                renewal_date,
                strategic: self.strategic,
                account_key: match account_crm_id.flatten() {
                    Some(id) => format!("crm:{id}"),
                    // ASCII lower-casing, as SQLite's lower() did when accounts were first made.
                    None => format!("name:{}", account_name.to_ascii_lowercase()),
                },
                account_name,
                account_manager: Person {
                    name: manager_name,
                    email: manager_email,
                },
                contacts,
            }),
            _ => Err(r.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> DecisionRequest {
        serde_json::from_value(serde_json::json!({
            "crm_id": "OPP-1",
            "outcome": "lost",
            "decided_at": "2026-11-20T15:30:00+01:00",
            "amount": { "minor_units": 4_800_000, "currency": "eur" },
            "sales_cycle_days": 94,
            "competitors": ["Acme"],
            "icp_fit": "high",
            "renewal_date": "2027-03-31",
            "strategic": true,
            "account": { "name": "Globex", "manager": { "name": "Ana", "email": "ana@vendor.example" } },
            "contacts": [{ "name": "Jo", "email": "Jo@Globex.example", "locale": "fr-FR", "time_zone": "Europe/Paris" }]
        }))
        .expect("well-formed")
    }

    fn now() -> DateTime<Utc> {
        "2026-11-22T12:00:00Z".parse().expect("valid")
    }

    #[test]
    fn a_complete_deal_parses_with_normalised_fields() {
        let d = valid().parse(now()).expect("valid");
        assert_eq!(d.outcome, Outcome::Lost);
        assert_eq!(d.amount.currency, "EUR");
        assert_eq!(d.contacts[0].email, "jo@globex.example");
        assert_eq!(d.contacts[0].locale, Locale::Fr);
        assert_eq!(d.decided_at.to_rfc3339(), "2026-11-20T14:30:00+00:00");
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let mut req = valid();
        req.outcome = "maybe".into();
        req.contacts[0].email = "not-an-email".into();
        req.contacts[0].locale = "xx".into();
        req.contacts[0].time_zone = "Mars/Olympus".into();
        let errors = req.parse(now()).expect_err("invalid");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "outcome",
                "contacts[0].email",
                "contacts[0].locale",
                "contacts[0].time_zone"
            ]
        );
        assert!(errors[0]
            .message
            .contains("won, lost, no_decision, declined"));
    }

    #[test]
    fn a_deal_without_contacts_is_refused() {
        let mut req = valid();
        req.contacts.clear();
        let errors = req.parse(now()).expect_err("invalid");
        assert_eq!(errors[0].field, "contacts");
    }

    #[test]
    fn the_same_buyer_twice_is_refused() {
        let mut req = valid();
        let mut twin = req.contacts[0].clone();
        twin.email = "JO@globex.example".into();
        req.contacts.push(twin);
        let errors = req.parse(now()).expect_err("invalid");
        assert_eq!(errors[0].field, "contacts[1].email");
    }

    #[test]
    fn decisions_in_the_future_and_negative_amounts_are_refused() {
        let mut req = valid();
        req.decided_at = "2027-01-01T00:00:00Z".into();
        req.amount.minor_units = -5;
        let fields: Vec<_> = req
            .parse(now())
            .expect_err("invalid")
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["decided_at", "amount.minor_units"]);
    }

    #[test]
    fn addresses_that_could_smuggle_headers_are_refused() {
        for bad in [
            "a@b",
            "\"x y\"@example.com",
            "a@[127.0.0.1]",
            "a@b.c\r\nBcc: x@y.z",
        ] {
            assert!(parse_email(bad).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(
            parse_email(" Ana@Vendor.Example "),
            Ok("ana@vendor.example".into())
        );
    }
}
