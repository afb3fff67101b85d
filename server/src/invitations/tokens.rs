//! Buyer tokens. The token in a link is an HMAC of the invitation's id under a server key:
//! 256 bits no one can guess without the key, and the same every time it is derived, so a
//! reminder carries the very link the first email did. Only its SHA-256 is stored; a token
//! opens one invitation and nothing else.

use crate::auth::{hash_secret, random_secret};
use crate::platform::db::conn::Conn;
use crate::platform::db::rows::execute_many;
use crate::platform::db::time::{from_db, to_db};
use crate::platform::db::Db;
use anyhow::Context;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use debrief_common::Locale;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::Arc;

use super::{InvitationKind, InvitationStatus};

/// Derives buyer tokens. The key comes from `DEBRIEF_SECRET_KEY`, or else is made once
/// and kept in the database, so every instance on one database derives the same links.
#[derive(Clone)]
pub struct Tokens {
    key: Arc<[u8]>,
}

// The key never reaches a log.
impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens([redacted])")
    }
}

const KEY_NAME: &str = "buyer_link_key";

impl Tokens {
    /// `configured`: the key from the settings (URL-safe base64 of at least 32 bytes).
    pub async fn load(
        db: &Db,
        configured: Option<&str>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Tokens> {
        if let Some(key) = configured {
            return Tokens::from_base64(key).context("DEBRIEF_SECRET_KEY");
        }
        // Two instances starting together: both insert, one wins, both read the winner.
        sqlx::query(
            "insert into server_secrets (name, value, created_at) values ($1, $2, $3)
             on conflict (name) do nothing",
        )
        .bind(KEY_NAME)
        .bind(random_secret())
        .bind(to_db(now))
        .execute(db.pool())
        .await?;
        let (value,): (String,) =
            sqlx::query_as("select value from server_secrets where name = $1")
                .bind(KEY_NAME)
                .fetch_one(db.pool())
                .await?;
        Tokens::from_base64(&value)
    }

    pub fn from_base64(key: &str) -> anyhow::Result<Tokens> {
        let bytes = URL_SAFE_NO_PAD
            .decode(key.trim().trim_end_matches('='))
            .context("the key must be URL-safe base64")?;
        anyhow::ensure!(bytes.len() >= 32, "the key must hold at least 32 bytes");
        Ok(Tokens { key: bytes.into() })
    }

    /// Gives invitations made before links were derived (their token was minted at each
    /// send) the derived link too, so their reminders work and an email still queued
    /// carries a link that opens. Runs once per database; a marker row records it.
    pub async fn backfill(&self, db: &Db, now: DateTime<Utc>) -> anyhow::Result<()> {
        const MARKER: &str = "derived_links_backfilled";
        let done: Option<(String,)> =
            sqlx::query_as("select name from server_secrets where name = $1")
                .bind(MARKER)
                .fetch_optional(db.pool())
                .await?;
        if done.is_some() {
            return Ok(());
        }
        let open: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "select id, scheduled_for, expires_at from invitations
             where status not in ('completed', 'opted_out', 'bounced', 'expired', 'cancelled')",
        )
        .fetch_all(db.pool())
        .await?;
        // The old links were valid for 60 days by default.
        let links = open
            .into_iter()
            .map(|(id, scheduled_for, expires_at)| {
                let expires_at = match expires_at {
                    Some(e) => from_db(&e)?,
                    None => from_db(&scheduled_for)? + chrono::Duration::days(60),
                };
                Ok((id, expires_at))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut conn = db.pool().acquire().await?;
        let mut tx = sqlx::Acquire::begin(&mut *conn).await?;
        self.store_links(&mut tx, &links, now).await?;
        sqlx::query(
            "insert into server_secrets (name, value, created_at) values ($1, 'yes', $2)
             on conflict (name) do nothing",
        )
        .bind(MARKER)
        .bind(to_db(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores what the database keeps of new invitations' links (their hash), each valid
    /// until its invitation expires.
    pub async fn store_links(
        &self,
        conn: &mut sqlx::AnyConnection,
        links: &[(String, DateTime<Utc>)],
        now: DateTime<Utc>,
    ) -> sqlx::Result<()> {
        let stamp = to_db(now);
        let rows = links
            .iter()
            .map(|(id, expires_at)| {
                vec![
                    self.stored_hash(id).into(),
                    id.into(),
                    (&stamp).into(),
                    to_db(*expires_at).into(),
                ]
            })
            .collect();
        execute_many(
            conn,
            "insert into invitation_tokens (token_hash, invitation_id, created_at, expires_at)",
            "on conflict (token_hash) do nothing",
            rows,
        )
        .await?;
        Ok(())
    }

    /// The token in this invitation's links.
    pub fn for_invitation(&self, invitation_id: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(b"invitation:");
        mac.update(invitation_id.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// What the database keeps of this invitation's token.
    pub fn stored_hash(&self, invitation_id: &str) -> String {
        hash_secret(&self.for_invitation(invitation_id))
    }
}

/// Tokens are 43 URL-safe base64 characters. Anything else is refused before it reaches
/// the database, which also bounds the work a hostile path can cause.
pub fn looks_like_token(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The invitation a valid token opens.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub id: String,
    pub kind: InvitationKind,
    /// The buyer, for opting out. (Their address is read then: a join on every answer's
    /// lookup for a page that is rarely opened would be dear.)
    pub person_id: String,
    pub status: InvitationStatus,
    pub locale: Locale,
    /// The rule version and segment that chose it; none before programs were versioned.
    pub program_version: Option<i64>,
    pub segment_key: Option<String>,
    /// The survey it carries; none for invitations older than programs.
    pub survey_key: Option<String>,
}

impl Invitation {
    /// The survey it carries: the win-loss survey for invitations older than programs.
    pub fn survey(&self) -> &str {
        self.survey_key
            .as_deref()
            .unwrap_or(crate::programs::SurveyKey::WinLoss.as_str())
    }
}

#[derive(Debug)]
pub enum Lookup {
    Valid(Invitation),
    /// Too old to answer; still good for opting out.
    Expired(Invitation),
    Unknown,
}

impl Lookup {
    /// As a survey link: an interview invitation's token opens no survey (it serves for
    /// opting out only).
    pub fn survey_only(self) -> Lookup {
        match self {
            Lookup::Valid(i) | Lookup::Expired(i) if i.kind != InvitationKind::Survey => {
                Lookup::Unknown
            }
            other => other,
        }
    }
}

/// The invitation a buyer's token opens, as of `now`.
pub async fn resolve(db: &Db, token: &str, now: DateTime<Utc>) -> anyhow::Result<Lookup> {
    let mut conn = db.pool().acquire().await?;
    let mut lookups = resolve_many(&mut conn, &[token], now).await?;
    Ok(lookups.pop().unwrap_or(Lookup::Unknown))
}

/// The invitations many tokens open, in the tokens' order, read together: answers saved
/// together (see `surveys::ingest`) look up their links together, in one statement
/// through sqlx (see `platform::db::conn`).
pub async fn resolve_many<C: Conn>(
    conn: &mut C,
    tokens: &[&str],
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<Lookup>> {
    #[derive(serde::Deserialize)]
    struct Row {
        token_hash: String,
        id: String,
        kind: String,
        person_id: String,
        status: String,
        locale: String,
        expires_at: String,
        program_version: Option<i64>,
        segment_key: Option<String>,
        survey_key: Option<String>,
    }
    const FIELDS: &[(&str, &str)] = &[
        ("token_hash", "t.token_hash"),
        ("id", "i.id"),
        ("kind", "i.kind"),
        ("person_id", "i.person_id"),
        ("status", "i.status"),
        ("locale", "c.locale"),
        ("expires_at", "t.expires_at"),
        ("program_version", "i.program_version"),
        ("segment_key", "i.segment_key"),
        ("survey_key", "i.survey_key"),
    ];
    // A malformed token matches nothing: it never reaches the database.
    let hashes: Vec<Option<String>> = tokens
        .iter()
        .map(|t| looks_like_token(t).then(|| hash_secret(t)))
        .collect();
    let wanted: Vec<&str> = hashes.iter().flatten().map(String::as_str).collect();
    // The answer path's hottest read.
    let found: HashMap<String, Row> = conn
        .fetch_in::<Row>(FIELDS, &wanted, |list| {
            format!(
                "from invitation_tokens t
                 join invitations i on i.id = t.invitation_id
                 join contacts c on c.id = i.contact_id
                 where t.token_hash in ({list})"
            )
        })
        .await?
        .into_iter()
        .map(|row| (row.token_hash.clone(), row))
        .collect();
    hashes
        .iter()
        .map(|hash| {
            let Some(row) = hash.as_ref().and_then(|h| found.get(h)) else {
                return Ok(Lookup::Unknown);
            };
            let invitation = Invitation {
                id: row.id.clone(),
                kind: row.kind.parse().map_err(anyhow::Error::msg)?,
                person_id: row.person_id.clone(),
                status: row.status.parse().map_err(anyhow::Error::msg)?,
                locale: Locale::parse(&row.locale).map_err(anyhow::Error::msg)?,
                program_version: row.program_version,
                segment_key: row.segment_key.clone(),
                survey_key: row.survey_key.clone(),
            };
            // A completed survey keeps answering "already answered" after expiry: kinder
            // than "expired" to the buyer who did answer.
            let expired =
                invitation.status == InvitationStatus::Expired || from_db(&row.expires_at)? < now;
            Ok(
                if expired && invitation.status != InvitationStatus::Completed {
                    Lookup::Expired(invitation)
                } else {
                    Lookup::Valid(invitation)
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stable_per_invitation_and_differ_between_invitations_and_keys() {
        let a = Tokens::from_base64(&random_secret()).expect("key");
        let b = Tokens::from_base64(&random_secret()).expect("key");
        assert_eq!(a.for_invitation("inv-1"), a.for_invitation("inv-1"));
        assert_ne!(a.for_invitation("inv-1"), a.for_invitation("inv-2"));
        assert_ne!(a.for_invitation("inv-1"), b.for_invitation("inv-1"));
        assert!(looks_like_token(&a.for_invitation("inv-1")));
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(Tokens::from_base64("c2hvcnQ").is_err());
    }

    #[test]
    fn only_well_formed_tokens_reach_the_database() {
        assert!(looks_like_token(&random_secret()));
        assert!(!looks_like_token("short"));
        assert!(!looks_like_token(&"a".repeat(44)));
        assert!(!looks_like_token(&format!("{}'", "a".repeat(42))));
    }
}
