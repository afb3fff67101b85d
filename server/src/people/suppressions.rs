//! Addresses not to contact: buyers who opted out, addresses that hard-bounced, and those
//! staff marked. Checked when an invitation is planned and again just before each email.
//! An entry stays active until lifted; lifted entries are kept as history.

use crate::platform::db::{self, time::to_db};
use crate::text_enum;
use chrono::{DateTime, Utc};
use sqlx::AnyConnection;

text_enum! {
    /// Why an address is suppressed. Each value is a row of `suppression_sources`.
    pub enum SuppressionSource {
        /// The buyer used the opt-out link (or their mail client's one-click button).
        BuyerLink = "buyer_link",
        /// The receiving server refused the mailbox for good (5xx on RCPT).
        HardBounce = "hard_bounce",
        /// Marked do-not-contact by staff.
        Staff = "staff",
    }
}

/// Why this (lower-cased) address is suppressed, if it is.
pub async fn active(
    conn: &mut AnyConnection,
    email: &str,
) -> anyhow::Result<Option<SuppressionSource>> {
    let row: Option<(String,)> =
        sqlx::query_as("select source from suppressions where email = $1 and lifted_at is null")
            .bind(email)
            .fetch_optional(conn)
            .await?;
    row.map(|(source,)| source.parse().map_err(anyhow::Error::msg))
        .transpose()
}

/// Suppresses an address. An address already suppressed keeps its first entry: the
/// earliest reason is the one that explains why mail stopped.
pub async fn suppress(
    conn: &mut AnyConnection,
    email: &str,
    source: SuppressionSource,
    note: Option<&str>,
    by: Option<&str>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let note: Option<String> = note.map(|n| n.chars().take(500).collect());
    sqlx::query(
        "insert into suppressions (id, email, source, note, created_at, created_by)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (email) where lifted_at is null do nothing",
    )
    .bind(db::new_id())
    .bind(email)
    .bind(source.as_str())
    .bind(note)
    .bind(to_db(now))
    .bind(by)
    .execute(conn)
    .await?;
    Ok(())
}
