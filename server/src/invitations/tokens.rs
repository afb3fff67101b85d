//! Buyer tokens: 256 random bits in the link, only a SHA-256 in the database. A token opens
//! one invitation and nothing else.

use crate::auth::{hash_secret, random_secret};
use crate::platform::db::time::{from_db, to_db};
use crate::platform::db::Db;
use chrono::{DateTime, Duration, Utc};
use debrief_common::Locale;

use super::InvitationStatus;

/// Mints a token for an invitation and stores its hash. The clear token is returned for
/// the email being built and never stored.
pub async fn mint(
    db: &Db,
    invitation_id: &str,
    now: DateTime<Utc>,
    validity: Duration,
) -> anyhow::Result<String> {
    let token = random_secret();
    sqlx::query(
        "insert into invitation_tokens (token_hash, invitation_id, created_at, expires_at)
         values ($1, $2, $3, $4)",
    )
    .bind(hash_secret(&token))
    .bind(invitation_id)
    .bind(to_db(now))
    .bind(to_db(now + validity))
    .execute(db.pool())
    .await?;
    Ok(token)
}

/// Tokens we mint are 43 URL-safe base64 characters. Anything else is refused before it
/// reaches the database, which also bounds the work a hostile path can cause.
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
    /// The buyer's address, for opting out.
    pub contact_email: String,
    pub status: InvitationStatus,
    pub locale: Locale,
}

#[derive(Debug)]
pub enum Lookup {
    Valid(Invitation),
    /// Too old to answer; still good for opting out.
    Expired(Invitation),
    Unknown,
}

pub async fn resolve(db: &Db, token: &str, now: DateTime<Utc>) -> anyhow::Result<Lookup> {
    if !looks_like_token(token) {
        return Ok(Lookup::Unknown);
    }
    let row: Option<(String, String, String, String, String)> = sqlx::query_as(
        "select i.id, p.email, i.status, c.locale, t.expires_at
         from invitation_tokens t
         join invitations i on i.id = t.invitation_id
         join contacts c on c.id = i.contact_id
         join persons p on p.id = i.person_id
         where t.token_hash = $1",
    )
    .bind(hash_secret(token))
    .fetch_optional(db.pool())
    .await?;
    let Some((id, contact_email, status, locale, expires_at)) = row else {
        return Ok(Lookup::Unknown);
    };
    let invitation = Invitation {
        id,
        contact_email,
        status: status.parse().map_err(anyhow::Error::msg)?,
        locale: Locale::parse(&locale).map_err(anyhow::Error::msg)?,
    };
    // A completed survey keeps answering "already answered" after expiry: kinder than
    // "expired" to the buyer who did answer.
    if from_db(&expires_at)? < now && invitation.status != InvitationStatus::Completed {
        return Ok(Lookup::Expired(invitation));
    }
    Ok(Lookup::Valid(invitation))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_tokens_reach_the_database() {
        assert!(looks_like_token(&random_secret()));
        assert!(!looks_like_token("short"));
        assert!(!looks_like_token(&"a".repeat(44)));
        assert!(!looks_like_token(&format!("{}'", "a".repeat(42))));
    }
}
