//! Console sessions. Signing in (by an emailed link or a password) starts one: its token
//! goes to the browser in an HttpOnly, SameSite=Lax cookie (Secure when Debrief is served
//! over HTTPS), and only its SHA-256 is stored. Each session carries the CSRF secret its
//! forms send back. A session ends when its holder signs out, after [`IDLE`] unused, after
//! [`LIFETIME`] whatever, or when an admin disables its holder or changes their role.

use super::secrets::{hash_secret, random_secret};
use super::{Role, Staff};
use crate::platform::db::{self, time::to_db, Db};
use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use debrief_common::Locale;

/// The cookie that holds the session's token.
pub const COOKIE: &str = "debrief_session";

/// A session unused this long ends: a console left open overnight on a shared machine asks
/// again in the morning.
pub const IDLE: Duration = Duration::hours(12);

/// However much it is used, a session ends this long after it started: a stolen cookie
/// does not live forever.
pub const LIFETIME: Duration = Duration::days(7);

/// How stale `last_seen_at` may get before a request writes it again: one write per few
/// minutes of use, not one per page.
const TOUCH_EVERY: Duration = Duration::minutes(5);

/// A signed-in staff member.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    /// Who they are and what they may do, by the same rules as an API key of their role.
    pub staff: Staff,
    /// The secret each of the session's forms carries back.
    pub csrf: String,
    /// The language of their pages.
    pub locale: Locale,
    /// When they signed in.
    pub started: DateTime<Utc>,
}

impl Session {
    /// Whether `token` is this session's CSRF secret (compared as hashes: the time taken
    /// says nothing about how much of it matched).
    pub fn csrf_matches(&self, token: &str) -> bool {
        !token.is_empty() && hash_secret(token) == hash_secret(&self.csrf)
    }
}

/// Starts a session for staff member `staff_id`; the token for the cookie, and when the
/// session ends if unused.
pub async fn start(
    db: &Db,
    staff_id: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<(String, DateTime<Utc>)> {
    let token = random_secret();
    let expires = now + IDLE;
    sqlx::query(
        "insert into staff_sessions (id, token_hash, staff_id, csrf_token, created_at,
             last_seen_at, expires_at)
         values ($1, $2, $3, $4, $5, $5, $6)",
    )
    .bind(db::new_id())
    .bind(hash_secret(&token))
    .bind(staff_id)
    .bind(random_secret())
    .bind(to_db(now))
    .bind(to_db(expires))
    .execute(db.pool())
    .await
    .context("starting a session")?;
    Ok((token, expires))
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    csrf_token: String,
    created_at: String,
    last_seen_at: String,
    staff_id: String,
    email: String,
    name: String,
    role: Option<String>,
    locale: String,
}

/// The live session of `token`, if any; pushes its idle end back as it is used.
pub async fn find(db: &Db, token: &str, now: DateTime<Utc>) -> anyhow::Result<Option<Session>> {
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    let row: Option<Row> = sqlx::query_as(
        "select x.id, x.csrf_token, x.created_at, x.last_seen_at, s.id as staff_id, s.email,
                s.name, s.role, s.locale
         from staff_sessions x join staff s on s.id = x.staff_id
         where x.token_hash = $1 and x.ended_at is null and x.expires_at > $2
           and s.disabled_at is null",
    )
    .bind(hash_secret(token))
    .bind(to_db(now))
    .fetch_optional(db.pool())
    .await
    .context("reading the session")?;
    let Some(row) = row else { return Ok(None) };
    // A member whose role was taken away keeps no access through an older session.
    let Some(role) = row.role.as_deref().and_then(|r| r.parse::<Role>().ok()) else {
        return Ok(None);
    };
    let started = db::time::from_db(&row.created_at)?;
    if now >= started + LIFETIME {
        return Ok(None);
    }
    if now - db::time::from_db(&row.last_seen_at)? >= TOUCH_EVERY {
        let expires = (now + IDLE).min(started + LIFETIME);
        sqlx::query("update staff_sessions set last_seen_at = $1, expires_at = $2 where id = $3")
            .bind(to_db(now))
            .bind(to_db(expires))
            .bind(&row.id)
            .execute(db.pool())
            .await
            .context("keeping the session alive")?;
    }
    Ok(Some(Session {
        id: row.id,
        staff: Staff {
            role,
            name: row.name,
            member: Some((row.staff_id, row.email)),
        },
        csrf: row.csrf_token,
        locale: Locale::parse(&row.locale).unwrap_or_default(),
        started,
    }))
}

/// Ends session `id` (signing out).
pub async fn end(db: &Db, id: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
    sqlx::query("update staff_sessions set ended_at = $1 where id = $2 and ended_at is null")
        .bind(to_db(now))
        .bind(id)
        .execute(db.pool())
        .await
        .context("ending the session")?;
    Ok(())
}

/// Ends the other sessions of staff member `staff_id` than `keep` (their password
/// changed: whoever else held one must prove it again).
pub async fn end_others(
    db: &Db,
    staff_id: &str,
    keep: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query(
        "update staff_sessions set ended_at = $1
         where staff_id = $2 and id <> $3 and ended_at is null",
    )
    .bind(to_db(now))
    .bind(staff_id)
    .bind(keep)
    .execute(db.pool())
    .await
    .context("ending the member's other sessions")?;
    Ok(())
}

/// Ends every session of staff member `staff_id` (disabled, or their role changed).
pub async fn end_all(db: &Db, staff_id: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
    sqlx::query("update staff_sessions set ended_at = $1 where staff_id = $2 and ended_at is null")
        .bind(to_db(now))
        .bind(staff_id)
        .execute(db.pool())
        .await
        .context("ending the member's sessions")?;
    Ok(())
}
