//! Incentives: what a buyer is offered for their time, and the ledger that follows each
//! offer from `offered` to `earned` (on a completed survey or interview), then `fulfilled`
//! (by staff, or by a payout export) or `cancelled` (the invitation closed unanswered).
//! Every step is a guarded update, so nothing is earned or paid twice, even under races.

pub mod routes;

use crate::invitations::InvitationStatus;
use crate::outreach::decision::Money;
use crate::platform::db::rows::{execute_many, Param};
use crate::platform::db::{self, time::to_db};
use crate::programs::{Incentive, IncentiveKind};
use crate::text_enum;
use chrono::{DateTime, Utc};
use debrief_common::Locale;
use sqlx::AnyConnection;

text_enum! {
    pub enum IncentiveStatus {
        Offered = "offered",
        Earned = "earned",
        Fulfilled = "fulfilled",
        Cancelled = "cancelled",
    }
}

/// The row that offers `incentive` on a new invitation, for [`offer_many`].
pub fn offer_row(
    invitation_id: &str,
    account_id: &str,
    incentive: &Incentive,
    period: &str,
    now: DateTime<Utc>,
) -> Vec<Param> {
    vec![
        db::new_id().into(),
        invitation_id.into(),
        account_id.into(),
        incentive.key.as_str().into(),
        incentive.kind.as_str().into(),
        incentive.amount.as_ref().map(|m| m.minor_units).into(),
        incentive.amount.as_ref().map(|m| m.currency.clone()).into(),
        incentive.quantity.into(),
        incentive.name.as_deref().into(),
        period.into(),
        IncentiveStatus::Offered.as_str().into(),
        to_db(now).into(),
    ]
}

/// Offers incentives on new invitations: each starts `offered` (an invitation has one
/// offer at most).
pub async fn offer_many(conn: &mut AnyConnection, rows: Vec<Vec<Param>>) -> sqlx::Result<()> {
    execute_many(
        conn,
        "insert into incentives (id, invitation_id, account_id, incentive_key, kind, amount_minor,
             currency, quantity, label, period, status, offered_at)",
        "on conflict (invitation_id) do nothing",
        rows,
    )
    .await?;
    Ok(())
}

/// The buyer did their part. True only for the call that moved it: a second completion,
/// concurrent or late, finds it already earned.
pub async fn earn(
    conn: &mut AnyConnection,
    invitation_id: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    Ok(sqlx::query(
        "update incentives set status = $1, earned_at = $2 where invitation_id = $3 and status = $4",
    )
    .bind(IncentiveStatus::Earned.as_str())
    .bind(to_db(now))
    .bind(invitation_id)
    .bind(IncentiveStatus::Offered.as_str())
    .execute(conn)
    .await?
    .rows_affected()
        == 1)
}

/// Which earned incentives a fulfilment takes.
pub enum Fulfilment<'a> {
    /// One, by hand.
    One { id: &'a str },
    /// Every earned one, as one payout batch under this reference.
    Payout { reference: &'a str },
}

/// Marks earned incentives fulfilled, guarded so none is paid twice: an incentive earned
/// meanwhile waits for the next export, and two exports at once split the rows, never
/// share one. Returns how many moved.
pub async fn fulfil(
    conn: &mut AnyConnection,
    which: Fulfilment<'_>,
    by: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    // `$5` is the one incentive's id, or the payout batch's reference.
    let (reference, only, value) = match which {
        Fulfilment::One { id } => ("", "and id = $5", id),
        Fulfilment::Payout { reference } => (", payout_reference = $5", "", reference),
    };
    let sql = format!(
        "update incentives set status = $1, fulfilled_at = $2, fulfilled_by = $3 {reference}
         where status = $4 {only}"
    );
    Ok(sqlx::query(&sql)
        .bind(IncentiveStatus::Fulfilled.as_str())
        .bind(to_db(now))
        .bind(by)
        .bind(IncentiveStatus::Earned.as_str())
        .bind(value)
        .execute(conn)
        .await?
        .rows_affected())
}

/// The invitation closed unanswered: the offer lapses and its budget is free again.
pub async fn cancel(
    conn: &mut AnyConnection,
    invitation_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update incentives set status = $1, cancelled_at = $2, cancel_reason = $3
         where invitation_id = $4 and status = $5",
    )
    .bind(IncentiveStatus::Cancelled.as_str())
    .bind(to_db(now))
    .bind(reason)
    .bind(invitation_id)
    .bind(IncentiveStatus::Offered.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// Lets the offers lapse on every closed, unanswered invitation of an address (opted out,
/// or cancelled by a suppression).
pub async fn cancel_lapsed_of(
    conn: &mut AnyConnection,
    email: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update incentives set status = $1, cancelled_at = $2, cancel_reason = $3
         where status = $4 and invitation_id in (
             select i.id from invitations i join persons p on p.id = i.person_id
             where p.email = $5 and i.status in ($6, $7))",
    )
    .bind(IncentiveStatus::Cancelled.as_str())
    .bind(to_db(now))
    .bind(reason)
    .bind(IncentiveStatus::Offered.as_str())
    .bind(email)
    .bind(InvitationStatus::OptedOut.as_str())
    .bind(InvitationStatus::Cancelled.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// Currencies without minor units.
const ZERO_DECIMALS: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV",
    "XAF", "XOF", "XPF",
];

/// Minor units of an amount typed in major units (`25`, `12.50`, `12,5`): cents for EUR,
/// yen for JPY. A form's money, read as people write it.
pub fn minor_units(typed: &str, currency: &str) -> Result<i64, String> {
    let typed = typed.trim().replace(',', ".");
    let (major, fraction) = typed.split_once('.').unwrap_or((typed.as_str(), ""));
    let digits = if ZERO_DECIMALS.contains(&currency) {
        0
    } else {
        2
    };
    let valid = !major.is_empty()
        && major.len() <= 12
        && major.chars().all(|c| c.is_ascii_digit())
        && fraction.len() <= digits
        && fraction.chars().all(|c| c.is_ascii_digit());
    if !valid {
        return Err(format!("must be an amount like 25 or 12.50 {currency}"));
    }
    let major: i64 = major.parse().map_err(|_| "is too large".to_owned())?;
    let fraction: i64 = format!("{fraction:0<digits$}").parse().unwrap_or(0);
    Ok(major * 10_i64.pow(u32::try_from(digits).unwrap_or(0)) + fraction)
}

/// Minor units as a form shows them back: `25`, `12.50`.
pub fn major_text(minor_units: i64, currency: &str) -> String {
    if ZERO_DECIMALS.contains(&currency) || minor_units % 100 == 0 {
        let major = if ZERO_DECIMALS.contains(&currency) {
            minor_units
        } else {
            minor_units / 100
        };
        return major.to_string();
    }
    format!("{}.{:02}", minor_units / 100, minor_units % 100)
}

/// `100 EUR`, `12.50 EUR` (`12,50 EUR` in French).
pub fn format_money(money: &Money, locale: Locale) -> String {
    if ZERO_DECIMALS.contains(&money.currency.as_str()) {
        return format!("{} {}", money.minor_units, money.currency);
    }
    let (major, minor) = (money.minor_units / 100, money.minor_units % 100);
    if minor == 0 {
        return format!("{major} {}", money.currency);
    }
    let separator = match locale {
        Locale::En => '.',
        Locale::Fr => ',',
    };
    format!("{major}{separator}{minor:02} {}", money.currency)
}

/// What the buyer is offered, as a phrase in their language for the email to carry
/// ("a 100 EUR gift card").
pub fn describe(
    kind: IncentiveKind,
    amount: Option<&Money>,
    quantity: Option<i64>,
    name: Option<&str>,
    locale: Locale,
) -> String {
    let amount = amount.map(|m| format_money(m, locale)).unwrap_or_default();
    let name = name.unwrap_or_default();
    let quantity = quantity.unwrap_or_default();
    match (kind, locale) {
        (IncentiveKind::Money, Locale::En) => format!("a {amount} gift card"),
        (IncentiveKind::Money, Locale::Fr) => format!("une carte cadeau de {amount}"),
        (IncentiveKind::Credits, Locale::En) => format!("{quantity} product credits"),
        (IncentiveKind::Credits, Locale::Fr) => format!("{quantity} crédits produit"),
        (IncentiveKind::Module, Locale::En) => format!("free access to the {name} module"),
        (IncentiveKind::Module, Locale::Fr) => format!("l'accès gratuit au module {name}"),
        (IncentiveKind::EarlyAccess, Locale::En) => format!("early access to {name}"),
        (IncentiveKind::EarlyAccess, Locale::Fr) => format!("un accès anticipé à {name}"),
        (IncentiveKind::Donation, Locale::En) => {
            format!("a {amount} donation to {name} in your name")
        }
        (IncentiveKind::Donation, Locale::Fr) => {
            format!("un don de {amount} à {name} en votre nom")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_amounts_read_as_people_write_them() {
        assert_eq!(minor_units("25", "EUR"), Ok(2500));
        assert_eq!(minor_units("12,5", "EUR"), Ok(1250));
        assert_eq!(minor_units(" 12.50 ", "EUR"), Ok(1250));
        assert_eq!(minor_units("3000", "JPY"), Ok(3000));
        for bad in ["", "12.505", "-5", "1e3", "12.5.0", "30.5"] {
            let currency = if bad == "30.5" { "JPY" } else { "EUR" };
            assert!(minor_units(bad, currency).is_err(), "{bad}");
        }
        assert_eq!(major_text(2500, "EUR"), "25");
        assert_eq!(major_text(1250, "EUR"), "12.50");
        assert_eq!(major_text(3000, "JPY"), "3000");
    }

    fn eur(minor_units: i64) -> Money {
        Money {
            minor_units,
            currency: "EUR".into(),
        }
    }

    #[test]
    fn amounts_read_naturally_in_each_language() {
        assert_eq!(format_money(&eur(10_000), Locale::En), "100 EUR");
        assert_eq!(format_money(&eur(1_250), Locale::En), "12.50 EUR");
        assert_eq!(format_money(&eur(1_250), Locale::Fr), "12,50 EUR");
        let yen = Money {
            minor_units: 5_000,
            currency: "JPY".into(),
        };
        assert_eq!(format_money(&yen, Locale::En), "5000 JPY");
    }

    #[test]
    fn every_kind_is_described_in_every_language() {
        assert_eq!(
            describe(
                IncentiveKind::Money,
                Some(&eur(10_000)),
                None,
                None,
                Locale::En
            ),
            "a 100 EUR gift card"
        );
        assert_eq!(
            describe(
                IncentiveKind::Donation,
                Some(&eur(5_000)),
                None,
                Some("UNICEF"),
                Locale::Fr
            ),
            "un don de 50 EUR à UNICEF en votre nom"
        );
        assert_eq!(
            describe(IncentiveKind::Credits, None, Some(500), None, Locale::En),
            "500 product credits"
        );
    }
}
