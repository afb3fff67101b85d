//! After the interview: the interviewer notes it against the guide (notes and the buyer's
//! exact words per stage, the NPS asked in the conclusion, how long it took), which
//! completes it and earns its incentive; or marks a no-show; staff may also call an
//! interview off. The notes are the interview's response (see [`record`]); verbatims are
//! stored as typed, one item each: the coded store quotes them.

use super::guide;
use super::lifecycle::InterviewStatus;
use crate::analytics::rollups;
use crate::incentives;
use crate::invitations::{self, Event, Target};
use crate::platform::db::time::to_db;
use crate::platform::db::Db;
use crate::programs::store::Programs;
use crate::surveys::answers::{insert_responses, response_row, FrozenDeal};
use crate::web::error::{ApiError, ApiResult};
use chrono::{DateTime, Utc};
use debrief_common::Locale;
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

/// The response an interview's notes are stored as: one per interview, so noting it again
/// replaces the items and keeps the id (and what was coded against it).
pub fn response_id(invitation_id: &str) -> String {
    format!("interview-{invitation_id}")
}

/// What an interview response answers, in `responses.survey_key`.
pub const SURVEY_KEY: &str = "interview";

/// The question a guide stage's notes and quotes are stored under.
pub fn stage_question(stage: &str) -> String {
    format!("stage.{stage}")
}

/// Stores `notes` (replacing any), and completes a booked interview: its invitation is
/// answered and its incentive earned. The notes are the interview's response, with the
/// deal frozen as it stands now, as a survey's answers are.
pub async fn record(
    db: &Db,
    programs: &Programs,
    invitation_id: &str,
    notes: &Notes,
    by: &str,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let stamp = to_db(now);
    let deal = FrozenDeal::load(db, programs, invitation_id).await?;
    let (locale,): (String,) = sqlx::query_as(
        "select c.locale from invitations i join contacts c on c.id = i.contact_id
         where i.id = $1",
    )
    .bind(invitation_id)
    .fetch_one(db.pool())
    .await?;
    let locale = Locale::parse(&locale).map_err(anyhow::Error::msg)?;
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
    let response = response_id(invitation_id);
    // Noted again: the dashboards swap what the notes said for what they say now.
    let change = rollups::Change::begin(&mut tx, &response).await?;
    sqlx::query("delete from interview_notes where invitation_id = $1")
        .bind(invitation_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "insert into interview_notes (invitation_id, guide_version, duration_minutes,
             noted_by, noted_at)
         values ($1, $2, $3, $4, $5)",
    )
    .bind(invitation_id)
    .bind(notes.guide_version)
    .bind(notes.duration_minutes)
    .bind(by)
    .bind(&stamp)
    .execute(&mut *tx)
    .await?;
    let row = response_row(
        &response,
        invitation_id,
        locale,
        &deal,
        Some((SURVEY_KEY, notes.guide_version)),
        "complete",
        &stamp,
    );
    if insert_responses(&mut *tx, vec![row]).await? == 0 {
        // Noted before: the same response, answering the version followed this time.
        sqlx::query("update responses set survey_version = $1, updated_at = $2 where id = $3")
            .bind(notes.guide_version)
            .bind(&stamp)
            .bind(&response)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("delete from response_items where response_id = $1")
        .bind(&response)
        .execute(&mut *tx)
        .await?;
    let mut items: Vec<(String, String, Option<i64>, Option<&str>)> = Vec::new();
    if let Some(nps) = notes.nps {
        items.push(("nps".into(), String::new(), Some(nps), None));
    }
    for stage in &notes.stages {
        let question = stage_question(&stage.stage);
        items.push((question.clone(), String::new(), None, Some(&stage.notes)));
        for (n, quote) in (1_i64..).zip(&stage.verbatims) {
            items.push((question.clone(), format!("quote.{n}"), Some(n), Some(quote)));
        }
    }
    for (question, item, number, text) in items {
        sqlx::query(
            "insert into response_items (response_id, question_id, item, number, text)
             values ($1, $2, $3, $4, $5)",
        )
        .bind(&response)
        .bind(question)
        .bind(item)
        .bind(number)
        .bind(text)
        .execute(&mut *tx)
        .await?;
    }
    change.finish(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

/// An interview response's item: question, item, number, text.
#[derive(sqlx::FromRow)]
struct Item {
    question_id: String,
    item: String,
    number: Option<i64>,
    text: Option<String>,
}

/// The notes of interview `invitation_id`, as stored.
pub async fn read(db: &Db, invitation_id: &str) -> anyhow::Result<Option<Notes>> {
    let head: Option<(i64, i64)> = sqlx::query_as(
        "select guide_version, duration_minutes from interview_notes where invitation_id = $1",
    )
    .bind(invitation_id)
    .fetch_optional(db.pool())
    .await?;
    let Some((guide_version, duration_minutes)) = head else {
        return Ok(None);
    };
    let items: Vec<Item> = sqlx::query_as(
        "select question_id, item, number, text from response_items where response_id = $1
         order by question_id, coalesce(number, 0)",
    )
    .bind(response_id(invitation_id))
    .fetch_all(db.pool())
    .await?;
    let mut nps = None;
    let mut stages: Vec<StageNotes> = Vec::new();
    for item in items {
        let Some(stage) = item.question_id.strip_prefix("stage.") else {
            if item.question_id == "nps" {
                nps = item.number;
            }
            continue;
        };
        if stages.last().is_none_or(|s| s.stage != stage) {
            stages.push(StageNotes {
                stage: stage.to_owned(),
                notes: String::new(),
                verbatims: Vec::new(),
            });
        }
        let Some(current) = stages.last_mut() else {
            continue;
        };
        let text = item.text.unwrap_or_default();
        if item.item.is_empty() {
            current.notes = text;
        } else {
            current.verbatims.push(text);
        }
    }
    Ok(Some(Notes {
        guide_version,
        duration_minutes,
        nps,
        stages,
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
