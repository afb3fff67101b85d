//! After the interview: the interviewer notes it against the guide (notes and the buyer's
//! exact words per stage, the NPS asked in the conclusion, how long it took), which
//! completes it and earns its incentive; or marks a no-show; staff may also call an
//! interview off. Verbatims are stored as typed, one row each: the coded store quotes them.

use super::guide;
use super::lifecycle::InterviewStatus;
use crate::incentives;
use crate::invitations::{self, Event, Target};
use crate::platform::db::time::to_db;
use crate::platform::db::{self, Db};
use crate::web::error::{ApiError, ApiResult};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Acquire;
use std::collections::HashSet;

/// One stage's notes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageNotes {
    /// The guide stage's key.
    pub stage: String,
    #[serde(default)]
    pub notes: String,
    /// The buyer's words, exactly as said.
    #[serde(default)]
    pub verbatims: Vec<String>,
}

/// An interview's notes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Notes {
    /// The guide version followed (0: the built-in guide).
    pub guide_version: i64,
    pub duration_minutes: i64,
    /// The NPS asked in the conclusion, 0 to 10.
    pub nps: Option<i64>,
    pub stages: Vec<StageNotes>,
}

/// Checks notes against their guide; the field at fault and why.
pub fn check(notes: &Notes, guide: &guide::Guide) -> Result<(), (String, String)> {
    let fail = |field: String, message: &str| Err((field, message.to_owned()));
    if !(1..=240).contains(&notes.duration_minutes) {
        return fail("duration_minutes".into(), "must be 1 to 240");
    }
    if notes.nps.is_some_and(|n| !(0..=10).contains(&n)) {
        return fail("nps".into(), "must be 0 to 10");
    }
    let keys: HashSet<&str> = guide.stages.iter().map(|s| s.key.as_str()).collect();
    let mut seen = HashSet::new();
    for (i, stage) in notes.stages.iter().enumerate() {
        let at = |field: &str| format!("stages[{i}].{field}");
        if !keys.contains(stage.stage.as_str()) {
            return fail(at("stage"), "is not a stage of this guide version");
        }
        if !seen.insert(&stage.stage) {
            return fail(at("stage"), "is given twice");
        }
        if stage.notes.chars().count() > 10_000 {
            return fail(at("notes"), "must be at most 10,000 characters");
        }
        if stage.verbatims.len() > 50 {
            return fail(at("verbatims"), "must hold at most 50 quotes");
        }
        for (j, quote) in stage.verbatims.iter().enumerate() {
            let chars = quote.chars().count();
            if chars == 0 || chars > 2_000 {
                return fail(
                    at(&format!("verbatims[{j}]")),
                    "must be 1 to 2,000 characters",
                );
            }
        }
        let texts = std::iter::once(&stage.notes).chain(&stage.verbatims);
        if texts
            .flat_map(|t| t.chars())
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            return fail(at("notes"), "must not contain control characters");
        }
    }
    Ok(())
}

/// Who may act on an interview beside program staff: its interviewer, and the manager of
/// its account.
#[derive(Debug)]
pub struct Parties {
    pub status: InterviewStatus,
    pub interviewer_id: Option<String>,
    pub manager_email: Option<String>,
}

/// The parties of interview `invitation_id`, if there is one.
pub async fn parties(db: &Db, invitation_id: &str) -> anyhow::Result<Option<Parties>> {
    let row: Option<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "select v.status,
                (select b.interviewer_id from interview_bookings b
                 where b.invitation_id = v.invitation_id
                 order by b.created_at desc, b.id desc limit 1),
                a.manager_email
         from interviews v join invitations i on i.id = v.invitation_id
         join accounts a on a.id = i.account_id
         where v.invitation_id = $1",
    )
    .bind(invitation_id)
    .fetch_optional(db.pool())
    .await?;
    row.map(|(status, interviewer_id, manager_email)| {
        Ok(Parties {
            status: status.parse().map_err(anyhow::Error::msg)?,
            interviewer_id,
            manager_email,
        })
    })
    .transpose()
}

/// Stores `notes` (replacing any), and completes a booked interview: its invitation is
/// answered and its incentive earned.
pub async fn record(
    db: &Db,
    invitation_id: &str,
    notes: &Notes,
    by: &str,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let stamp = to_db(now);
    let mut conn = db.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    // The interview first (a write: on SQLite the transaction holds the lock from here),
    // guarded: only a held interview is noted.
    let completed = sqlx::query(
        "update interviews set status = $1, completed_at = coalesce(completed_at, $2),
             updated_at = $2
         where invitation_id = $3 and status in ($4, $1)",
    )
    .bind(InterviewStatus::Completed.as_str())
    .bind(&stamp)
    .bind(invitation_id)
    .bind(InterviewStatus::Booked.as_str())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if completed == 0 {
        return Err(ApiError::Conflict {
            code: "not_held",
            message: "only a booked or completed interview can be noted".into(),
        });
    }
    invitations::apply(
        &mut *tx,
        Target::Invitation(invitation_id),
        Event::Complete,
        now,
    )
    .await?;
    incentives::earn(&mut tx, invitation_id, now).await?;
    for table in [
        "interview_verbatims",
        "interview_stage_notes",
        "interview_notes",
    ] {
        sqlx::query(&format!("delete from {table} where invitation_id = $1"))
            .bind(invitation_id)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(
        "insert into interview_notes (invitation_id, guide_version, duration_minutes, nps,
             noted_by, noted_at)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(invitation_id)
    .bind(notes.guide_version)
    .bind(notes.duration_minutes)
    .bind(notes.nps)
    .bind(by)
    .bind(&stamp)
    .execute(&mut *tx)
    .await?;
    for stage in &notes.stages {
        sqlx::query(
            "insert into interview_stage_notes (invitation_id, stage, notes) values ($1, $2, $3)",
        )
        .bind(invitation_id)
        .bind(&stage.stage)
        .bind(&stage.notes)
        .execute(&mut *tx)
        .await?;
        for (position, quote) in stage.verbatims.iter().enumerate() {
            sqlx::query(
                "insert into interview_verbatims (id, invitation_id, stage, position, text)
                 values ($1, $2, $3, $4, $5)",
            )
            .bind(db::new_id())
            .bind(invitation_id)
            .bind(&stage.stage)
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .bind(quote)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// The notes of interview `invitation_id`, as stored.
pub async fn read(db: &Db, invitation_id: &str) -> anyhow::Result<Option<Notes>> {
    let head: Option<(i64, i64, Option<i64>)> = sqlx::query_as(
        "select guide_version, duration_minutes, nps from interview_notes where invitation_id = $1",
    )
    .bind(invitation_id)
    .fetch_optional(db.pool())
    .await?;
    let Some((guide_version, duration_minutes, nps)) = head else {
        return Ok(None);
    };
    let stages: Vec<(String, String)> = sqlx::query_as(
        "select stage, notes from interview_stage_notes where invitation_id = $1 order by stage",
    )
    .bind(invitation_id)
    .fetch_all(db.pool())
    .await?;
    let quotes: Vec<(String, String)> = sqlx::query_as(
        "select stage, text from interview_verbatims where invitation_id = $1
         order by stage, position",
    )
    .bind(invitation_id)
    .fetch_all(db.pool())
    .await?;
    Ok(Some(Notes {
        guide_version,
        duration_minutes,
        nps,
        stages: stages
            .into_iter()
            .map(|(stage, notes)| StageNotes {
                verbatims: quotes
                    .iter()
                    .filter(|(s, _)| *s == stage)
                    .map(|(_, q)| q.clone())
                    .collect(),
                stage,
                notes,
            })
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notes() -> Notes {
        Notes {
            guide_version: 0,
            duration_minutes: 42,
            nps: Some(6),
            stages: vec![StageNotes {
                stage: "pricing".into(),
                notes: "Price was the reason given, not the reason.".into(),
                verbatims: vec!["« Le prix n’était qu’un prétexte »".into()],
            }],
        }
    }

    #[test]
    fn notes_are_checked_against_their_guide_field_by_field() {
        let guide = guide::default_guide();
        assert_eq!(check(&notes(), &guide), Ok(()));
        let field = |edit: &dyn Fn(&mut Notes)| {
            let mut n = notes();
            edit(&mut n);
            check(&n, &guide).expect_err("refused").0
        };
        assert_eq!(field(&|n| n.duration_minutes = 0), "duration_minutes");
        assert_eq!(field(&|n| n.nps = Some(11)), "nps");
        assert_eq!(
            field(&|n| n.stages[0].stage = "weather".into()),
            "stages[0].stage"
        );
        assert_eq!(
            field(&|n| n.stages.push(n.stages[0].clone())),
            "stages[1].stage"
        );
        assert_eq!(
            field(&|n| n.stages[0].verbatims.push(String::new())),
            "stages[0].verbatims[1]"
        );
        assert_eq!(
            field(&|n| n.stages[0].notes = "a\u{0}b".into()),
            "stages[0].notes"
        );
    }
}
