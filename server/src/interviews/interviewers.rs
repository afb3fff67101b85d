//! Interviewers: staff members with a calendar time zone, and the availability each
//! publishes.

use super::availability::Availability;
use crate::platform::db::time::to_db;
use crate::platform::db::Db;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

/// An interviewer, as staff see them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Interviewer {
    pub id: String,
    pub name: String,
    pub email: String,
    /// Their calendar's time zone (IANA name).
    #[schema(value_type = String, example = "America/New_York")]
    #[serde(serialize_with = "zone_name")]
    pub time_zone: Tz,
    /// None until they publish it.
    pub availability: Option<Availability>,
}

fn zone_name<S: serde::Serializer>(zone: &Tz, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(zone.name())
}

/// A staff member looked up as an interviewer.
#[derive(Debug)]
pub enum Found {
    Interviewer(Interviewer),
    /// A staff member without a calendar time zone.
    NoTimeZone,
    Unknown,
}

type Row = (String, String, String, Option<String>, Option<String>);

const SELECT: &str = "select s.id, s.name, s.email, s.time_zone, a.definition from staff s \
                      left join interviewer_availability a on a.staff_id = s.id";

fn interviewer((id, name, email, zone, definition): Row) -> anyhow::Result<Found> {
    let Some(zone) = zone else {
        return Ok(Found::NoTimeZone);
    };
    let time_zone = zone
        .parse()
        .map_err(|_| anyhow::anyhow!("stored time zone {zone:?} of staff {id}"))?;
    let availability = definition
        .map(|d| serde_json::from_str(&d))
        .transpose()
        .map_err(|e| anyhow::anyhow!("stored availability of staff {id}: {e}"))?;
    Ok(Found::Interviewer(Interviewer {
        id,
        name,
        email,
        time_zone,
        availability,
    }))
}

/// Every interviewer, by name.
pub async fn list(db: &Db) -> anyhow::Result<Vec<Interviewer>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{SELECT} where s.time_zone is not null order by s.name, s.id"
    ))
    .fetch_all(db.pool())
    .await?;
    let mut interviewers = Vec::with_capacity(rows.len());
    for row in rows {
        if let Found::Interviewer(i) = interviewer(row)? {
            interviewers.push(i);
        }
    }
    Ok(interviewers)
}

/// The staff member `id`, as an interviewer.
pub async fn find(db: &Db, id: &str) -> anyhow::Result<Found> {
    let row: Option<Row> = sqlx::query_as(&format!("{SELECT} where s.id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    row.map_or(Ok(Found::Unknown), interviewer)
}

/// Replaces an interviewer's availability (checked by the caller).
pub async fn publish(
    db: &Db,
    id: &str,
    availability: &Availability,
    by: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query(
        "insert into interviewer_availability (staff_id, definition, updated_at, updated_by) \
         values ($1, $2, $3, $4) on conflict (staff_id) do update set \
         definition = excluded.definition, updated_at = excluded.updated_at, \
         updated_by = excluded.updated_by",
    )
    .bind(id)
    .bind(serde_json::to_string(availability)?)
    .bind(to_db(now))
    .bind(by)
    .execute(db.pool())
    .await?;
    Ok(())
}
