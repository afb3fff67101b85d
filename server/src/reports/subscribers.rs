//! Who reads the monthly digest: an address, a department and a language, kept by the
//! program owner. Staff addresses, not buyers': they are never logged either.

use super::digest::Department;
use crate::jobs::runner::Failure;
use crate::platform::db::time::to_db;
use crate::platform::db::{self, Db};
use chrono::{DateTime, Utc};
use debrief_common::Locale;
use serde::{Deserialize, Serialize};

/// A subscriber as sent.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubscriber {
    pub email: String,
    #[serde(default)]
    pub name: Option<String>,
    /// sales, product, marketing, customer_success or leadership.
    pub department: String,
    /// en or fr.
    pub locale: String,
}

/// A subscriber as stored.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Subscriber {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    pub department: Department,
    pub locale: Locale,
    pub created_at: String,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    email: String,
    name: Option<String>,
    department: String,
    locale: String,
    created_at: String,
}

impl TryFrom<Row> for Subscriber {
    type Error = anyhow::Error;
    fn try_from(r: Row) -> anyhow::Result<Subscriber> {
        Ok(Subscriber {
            department: r.department.parse().map_err(anyhow::Error::msg)?,
            locale: Locale::parse(&r.locale).map_err(anyhow::Error::msg)?,
            id: r.id,
            email: r.email,
            name: r.name,
            created_at: r.created_at,
        })
    }
}

/// A refusal: the field at fault and why.
pub type Refusal = (&'static str, String);

impl NewSubscriber {
    /// The subscriber this asks for, checked: the address as lowercase.
    pub fn check(self) -> Result<(String, Option<String>, Department, Locale), Refusal> {
        let email = self.email.trim().to_lowercase();
        if email.len() > 254 || email.parse::<lettre::Address>().is_err() {
            return Err(("email", "must be an email address".into()));
        }
        let name = self
            .name
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty());
        if name
            .as_ref()
            .is_some_and(|n| n.chars().count() > 200 || n.chars().any(char::is_control))
        {
            return Err(("name", "must be at most 200 characters, on one line".into()));
        }
        let department = self.department.parse().map_err(|e| ("department", e))?;
        let locale = match self.locale.as_str() {
            "en" => Locale::En,
            "fr" => Locale::Fr,
            _ => return Err(("locale", "must be en or fr".into())),
        };
        Ok((email, name, department, locale))
    }
}

const COLUMNS: &str = "id, email, name, department, locale, created_at";

pub async fn all(db: &Db) -> anyhow::Result<Vec<Subscriber>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "select {COLUMNS} from digest_subscribers order by department, email"
    ))
    .fetch_all(db.pool())
    .await?;
    rows.into_iter().map(Subscriber::try_from).collect()
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Subscriber>, Failure> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "select {COLUMNS} from digest_subscribers where id = $1"
    ))
    .bind(id)
    .fetch_optional(db.pool())
    .await
    .map_err(|e| Failure::temporary(e.to_string()))?;
    row.map(Subscriber::try_from)
        .transpose()
        .map_err(|e| Failure::permanent(e.to_string()))
}

/// Adds a subscriber; none when that address already reads that department's digest.
pub async fn add(
    db: &Db,
    (email, name, department, locale): (String, Option<String>, Department, Locale),
    by: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<Subscriber>> {
    let id = db::new_id();
    let stamp = to_db(now);
    let added = sqlx::query(
        "insert into digest_subscribers (id, email, name, department, locale, created_at,
             created_by)
         values ($1, $2, $3, $4, $5, $6, $7)
         on conflict (email, department) do nothing",
    )
    .bind(&id)
    .bind(&email)
    .bind(&name)
    .bind(department.as_str())
    .bind(locale.code())
    .bind(&stamp)
    .bind(by)
    .execute(db.pool())
    .await?
    .rows_affected();
    Ok((added == 1).then_some(Subscriber {
        id,
        email,
        name,
        department,
        locale,
        created_at: stamp,
    }))
}

pub async fn remove(db: &Db, id: &str) -> anyhow::Result<bool> {
    let removed = sqlx::query("delete from digest_subscribers where id = $1")
        .bind(id)
        .execute(db.pool())
        .await?
        .rows_affected();
    Ok(removed == 1)
}
