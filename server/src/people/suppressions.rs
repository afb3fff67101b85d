//! Addresses not to contact: buyers who opted out, addresses that hard-bounced, and those
//! staff marked. Checked when an invitation is planned and again just before each email.
//! An entry stays active until lifted; lifted entries are kept as history.

use crate::platform::db::{self, time::to_db, Db};
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

/// A suppression entry as staff see it.
#[derive(Debug, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct SuppressionView {
    pub id: String,
    pub email: String,
    pub source: String,
    pub note: Option<String>,
    pub created_at: String,
    pub created_by: Option<String>,
    pub lifted_at: Option<String>,
    pub lifted_by: Option<String>,
    pub lift_reason: Option<String>,
}

const COLUMNS: &str =
    "id, email, source, note, created_at, created_by, lifted_at, lifted_by, lift_reason";

/// Entries, newest first; only active ones unless `include_lifted`.
pub async fn list(
    db: &Db,
    email: Option<&str>,
    include_lifted: bool,
    limit: i64,
) -> anyhow::Result<Vec<SuppressionView>> {
    let sql = format!(
        "select {COLUMNS} from suppressions
         where ($1 is null or email = $1) and ($2 = 1 or lifted_at is null)
         order by created_at desc, id desc limit $3"
    );
    Ok(sqlx::query_as(&sql)
        .bind(email)
        .bind(i64::from(include_lifted))
        .bind(limit)
        .fetch_all(db.pool())
        .await?)
}

/// Lifts an active entry. `None` when there is none with this id.
pub async fn lift(
    db: &Db,
    id: &str,
    by: &str,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<SuppressionView>> {
    let sql = format!(
        "update suppressions set lifted_at = $1, lifted_by = $2, lift_reason = $3
         where id = $4 and lifted_at is null
         returning {COLUMNS}"
    );
    Ok(sqlx::query_as(&sql)
        .bind(to_db(now))
        .bind(by)
        .bind(reason)
        .bind(id)
        .fetch_optional(db.pool())
        .await?)
}
