//! One-time sign-in links. Asking for a link records it and queues its email; the link's
//! token is made only when the email goes out ([`issue`]), so it is never stored in clear,
//! not even in the outbox's payload. A link works once, for [`VALID_FOR`], and only for a
//! member who still has a role and is not disabled.

use super::secrets::{hash_secret, random_secret};
use crate::jobs::{self, JobKind, NewJob};
use crate::platform::db::{self, time::to_db, Db};
use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// How long a link works once sent.
pub const VALID_FOR: Duration = Duration::minutes(15);

/// At most this many links per member per hour: asking again and again fills nobody's
/// inbox.
const PER_HOUR: i64 = 5;

/// The payload of a `sign_in_email` job.
#[derive(Debug, Serialize, Deserialize)]
pub struct LinkJob {
    pub link_id: String,
}

/// Records a sign-in link for the member with address `email` and queues its email, if
/// that member may sign in; says nothing either way, so that the form does not tell who
/// has an account.
pub async fn request(db: &Db, email: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
    let member: Option<(String,)> = sqlx::query_as(
        "select id from staff where email = $1 and role is not null and disabled_at is null",
    )
    .bind(email.trim().to_lowercase())
    .fetch_optional(db.pool())
    .await
    .context("finding the member")?;
    let Some((staff_id,)) = member else {
        return Ok(());
    };
    let (recent,): (i64,) = sqlx::query_as(
        "select count(*) from staff_sign_in_links where staff_id = $1 and created_at > $2",
    )
    .bind(&staff_id)
    .bind(to_db(now - Duration::hours(1)))
    .fetch_one(db.pool())
    .await?;
    if recent >= PER_HOUR {
        tracing::info!("sign-in link not sent: too many asked for this hour");
        return Ok(());
    }
    let link_id = db::new_id();
    let mut tx = db.pool().begin().await?;
    sqlx::query(
        "insert into staff_sign_in_links (id, staff_id, created_at, expires_at)
         values ($1, $2, $3, $4)",
    )
    .bind(&link_id)
    .bind(&staff_id)
    .bind(to_db(now))
    .bind(to_db(now + VALID_FOR))
    .execute(&mut *tx)
    .await
    .context("recording the sign-in link")?;
    let job = NewJob::new(
        JobKind::SignInEmail,
        format!("sign_in:{link_id}"),
        &LinkJob {
            link_id: link_id.clone(),
        },
        now,
    )?;
    jobs::enqueue_many(&mut tx, vec![job], now).await?;
    tx.commit().await?;
    Ok(())
}

/// The member a link is for, as its email needs them.
#[derive(Debug, sqlx::FromRow)]
pub struct Recipient {
    pub email: String,
    pub name: String,
    pub locale: String,
}

/// Makes the token of link `link_id` as its email is sent: the member and the token, or
/// none when the link can no longer be used (expired, used, or its member disabled). A
/// retried email gets a new token, and the earlier one stops working.
pub async fn issue(
    db: &Db,
    link_id: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<(Recipient, String)>> {
    let token = random_secret();
    let updated = sqlx::query(
        "update staff_sign_in_links set token_hash = $1
         where id = $2 and used_at is null and expires_at > $3",
    )
    .bind(hash_secret(&token))
    .bind(link_id)
    .bind(to_db(now))
    .execute(db.pool())
    .await
    .context("making the link's token")?;
    if updated.rows_affected() == 0 {
        return Ok(None);
    }
    let recipient: Option<Recipient> = sqlx::query_as(
        "select s.email, s.name, s.locale from staff_sign_in_links l
         join staff s on s.id = l.staff_id
         where l.id = $1 and s.role is not null and s.disabled_at is null",
    )
    .bind(link_id)
    .fetch_optional(db.pool())
    .await?;
    Ok(recipient.map(|r| (r, token)))
}

/// Why a link does not sign anyone in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Unknown, already used, or expired: the same answer for all three.
    NotValid,
}

/// Uses the link of `token`: the member it signs in, once.
pub async fn redeem(
    db: &Db,
    token: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Result<String, Refused>> {
    if token.is_empty() || token.len() > 128 {
        return Ok(Err(Refused::NotValid));
    }
    // One statement: two tabs opening the same link cannot both use it.
    let used: Option<(String,)> = sqlx::query_as(
        "update staff_sign_in_links set used_at = $1
         where token_hash = $2 and used_at is null and expires_at > $1
           and staff_id in (select id from staff where role is not null and disabled_at is null)
         returning staff_id",
    )
    .bind(to_db(now))
    .bind(hash_secret(token))
    .fetch_optional(db.pool())
    .await
    .context("using the sign-in link")?;
    Ok(used.map(|(id,)| id).ok_or(Refused::NotValid))
}

/// A link made on the command line rather than emailed: the first admin's, before the
/// mail is set up, and the demo's members'. The token, to print.
pub async fn mint(db: &Db, staff_id: &str, now: DateTime<Utc>) -> anyhow::Result<String> {
    let token = random_secret();
    sqlx::query(
        "insert into staff_sign_in_links (id, staff_id, token_hash, created_at, expires_at)
         values ($1, $2, $3, $4, $5)",
    )
    .bind(db::new_id())
    .bind(staff_id)
    .bind(hash_secret(&token))
    .bind(to_db(now))
    .bind(to_db(now + VALID_FOR))
    .execute(db.pool())
    .await
    .context("recording the sign-in link")?;
    Ok(token)
}
