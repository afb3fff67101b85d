//! Staff members: the people behind keys and console sessions.

use crate::platform::db::{self, time::to_db, Db};
use crate::web::error::ApiError;
use anyhow::Context;

/// A staff member, as a key names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    /// Lower-cased.
    pub email: String,
    /// Their calendar's time zone, for interviewers (IANA name).
    pub time_zone: Option<chrono_tz::Tz>,
}

impl Member {
    /// Checks a member as given to the command line or the API; names the field at fault.
    pub fn new(name: &str, email: &str, time_zone: Option<&str>) -> Result<Member, ApiError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(ApiError::field("name", "must be 1 to 200 characters"));
        }
        let email = email.trim().to_lowercase();
        if email.parse::<lettre::Address>().is_err() {
            return Err(ApiError::field("email", "must be an email address"));
        }
        let time_zone = time_zone
            .map(|tz| {
                tz.parse::<chrono_tz::Tz>()
                    .map_err(|_| ApiError::field("time_zone", "must be an IANA time zone"))
            })
            .transpose()?;
        Ok(Member {
            name: name.to_owned(),
            email,
            time_zone,
        })
    }
}

/// Creates or updates a staff member by address; their id. A member given without a time
/// zone keeps the one they had: their interviews' pages and emails need it.
pub async fn upsert_member(db: &Db, member: &Member) -> anyhow::Result<String> {
    let stamp = to_db(chrono::Utc::now());
    let (id,): (String,) = sqlx::query_as(
        "insert into staff (id, email, name, time_zone, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $5) \
         on conflict (email) do update set name = excluded.name, \
         time_zone = coalesce(excluded.time_zone, staff.time_zone), \
         updated_at = excluded.updated_at returning id",
    )
    .bind(db::new_id())
    .bind(&member.email)
    .bind(&member.name)
    .bind(member.time_zone.map(|tz| tz.name().to_owned()))
    .bind(stamp)
    .fetch_one(db.pool())
    .await
    .context("storing the staff member")?;
    Ok(id)
}

/// Gives member `staff_id` a role in the console (or none, which keeps them out) and the
/// language of their pages. A change of role ends their sessions: a page open under the
/// old role must not keep its rights.
pub async fn set_access(
    db: &Db,
    staff_id: &str,
    role: Option<super::Role>,
    locale: debrief_common::Locale,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    if role == Some(super::Role::Integration) {
        anyhow::bail!("integration is a machine's role: give it to an API key");
    }
    let (before,): (Option<String>,) = sqlx::query_as("select role from staff where id = $1")
        .bind(staff_id)
        .fetch_one(db.pool())
        .await
        .context("reading the member")?;
    sqlx::query("update staff set role = $1, locale = $2, updated_at = $3 where id = $4")
        .bind(role.map(|r| r.as_str()))
        .bind(locale.code())
        .bind(to_db(now))
        .bind(staff_id)
        .execute(db.pool())
        .await
        .context("setting the member's access")?;
    if before.as_deref() != role.map(|r| r.as_str()) {
        super::sessions::end_all(db, staff_id, now).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_is_checked_field_by_field() {
        let member = Member::new(" Ana Duarte ", "Ana@Acme.example", Some("America/New_York"))
            .expect("valid");
        assert_eq!(member.email, "ana@acme.example");
        assert_eq!(member.name, "Ana Duarte");
        assert_eq!(member.time_zone, Some(chrono_tz::America::New_York));
        let field = |name: &str, email: &str, time_zone: Option<&str>| match Member::new(
            name, email, time_zone,
        )
        .expect_err("refused")
        {
            ApiError::Validation(fields) => fields[0].field.clone(),
            other => panic!("not a validation error: {other:?}"),
        };
        assert_eq!(field("", "a@b.example", None), "name");
        assert_eq!(field("A", "not an address", None), "email");
        assert_eq!(field("A", "a@b.example", Some("Mars/Olympus")), "time_zone");
    }
}
