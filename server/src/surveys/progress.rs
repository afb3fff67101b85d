//! A buyer's response to a versioned survey, saved page by page: the answers stored one
//! row per question (per choice picked, per driver rated), read back to resume, and the
//! completion that closes the invitation and earns its incentive.

use super::answers::{complete_in, insert_response, FrozenDeal, SurveyedDeal};
use super::definitions::Definitions;
use crate::invitations::tokens::Invitation;
use crate::invitations::{self, Event, Target};
use crate::outreach::follow_up::FollowUp;
use crate::platform::db::rows::{execute_many, Param};
use crate::platform::db::time::to_db;
use crate::platform::db::{self, Db};
use chrono::{DateTime, Utc};
use debrief_common::survey::{Answer, Answers, Definition, Influence, Question, QuestionKind};
use debrief_common::Locale;
use sqlx::{Acquire, AnyConnection};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Where a buyer stands in their survey.
pub struct Progress {
    pub survey_key: String,
    pub version: i64,
    pub definition: Arc<Definition>,
    pub answers: Answers,
    pub complete: bool,
}

/// What happened to a saved page.
#[derive(Debug, PartialEq, Eq)]
pub enum Saved {
    Page,
    /// The last page: the response is complete, with the interview it asked for, if any.
    Completed {
        interview: Option<String>,
    },
    /// The invitation closed meanwhile (the buyer opted out): nothing was stored.
    Closed,
}

/// The buyer's progress on `survey_key`: the version they started, or the newest for a
/// buyer who has not. `None` when no definition is stored for the key, or when the
/// invitation was answered by the slice's fixed two questions (complete, no version).
async fn load(
    db: &Db,
    definitions: &Definitions,
    invitation_id: &str,
    survey_key: &str,
) -> anyhow::Result<Option<Progress>> {
    let started: Option<(String, Option<String>, Option<i64>, String)> = sqlx::query_as(
        "select id, survey_key, survey_version, status from responses where invitation_id = $1",
    )
    .bind(invitation_id)
    .fetch_optional(db.pool())
    .await?;
    let (response_id, key, version, status) = match started {
        Some((id, Some(key), Some(version), status)) => (id, key, version, status),
        // Answered through the slice's fixed two questions: complete, nothing to resume.
        Some(_) => return newest(db, definitions, survey_key, true).await,
        None => return newest(db, definitions, survey_key, false).await,
    };
    let Some(definition) = definitions.version(db, &key, version).await? else {
        anyhow::bail!(
            "response {response_id} answers survey {key} v{version}, which is not stored"
        );
    };
    let rows: Vec<(String, String, Option<i64>, Option<String>)> = sqlx::query_as(
        "select question_id, item, number, text from response_items where response_id = $1
         order by question_id, item",
    )
    .bind(&response_id)
    .fetch_all(db.pool())
    .await?;
    let mut by_question: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    for (question, item, number, text) in rows {
        by_question
            .entry(question)
            .or_default()
            .push(Row { item, number, text });
    }
    let answers = definition
        .questions()
        .filter_map(|(_, q)| {
            let rows = by_question.get(&q.id)?;
            Some((q.id.clone(), answer_from_rows(q, rows)?))
        })
        .collect();
    Ok(Some(Progress {
        survey_key: key,
        version,
        definition,
        answers,
        complete: status == "complete",
    }))
}

/// An open invitation's survey, for the form and the API alike: where the buyer stands,
/// and the deal behind it, each read once. `None` when no definition of the invitation's
/// survey is stored.
pub(super) async fn open(
    db: &Db,
    definitions: &Definitions,
    invitation: &Invitation,
) -> anyhow::Result<Option<(Progress, SurveyedDeal)>> {
    let Some(progress) = load(db, definitions, &invitation.id, invitation.survey()).await? else {
        return Ok(None);
    };
    Ok(Some((
        progress,
        SurveyedDeal::load(db, &invitation.id).await?,
    )))
}

/// The newest version of a survey, for a buyer who has not started it.
async fn newest(
    db: &Db,
    definitions: &Definitions,
    survey_key: &str,
    complete: bool,
) -> anyhow::Result<Option<Progress>> {
    Ok(definitions
        .latest(db, survey_key)
        .await?
        .map(|(version, definition)| Progress {
            survey_key: survey_key.to_owned(),
            version,
            definition,
            answers: Answers::new(),
            complete,
        }))
}

/// Stores the whole set of answers (already validated against `progress.definition`) in
/// place of what was saved, and completes the response when `complete`. The invitation is
/// marked started on the first save. One transaction: a page is saved whole or not at all.
#[allow(clippy::too_many_arguments)]
pub(super) async fn save(
    db: &Db,
    deal: &FrozenDeal,
    invitation_id: &str,
    locale: Locale,
    progress: &Progress,
    answers: &Answers,
    complete: bool,
    follow_up: Option<&FollowUp<'_>>,
    now: DateTime<Utc>,
) -> anyhow::Result<Saved> {
    let stamp = to_db(now);
    let mut conn = db.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    // Writes first (see `outreach::store::record_in`): the response row, if new.
    let survey = Some((progress.survey_key.as_str(), progress.version));
    let new_id = db::new_id();
    insert_response(
        &mut tx,
        &new_id,
        invitation_id,
        locale,
        deal,
        survey,
        "partial",
        &stamp,
    )
    .await?;
    let (response_id, status): (String, String) =
        sqlx::query_as("select id, status from responses where invitation_id = $1")
            .bind(invitation_id)
            .fetch_one(&mut *tx)
            .await?;
    if status == "complete" {
        // A second tab finished first: what it stored stands.
        return Ok(Saved::Closed);
    }
    sqlx::query("delete from response_items where response_id = $1")
        .bind(&response_id)
        .execute(&mut *tx)
        .await?;
    store_items(&mut tx, &response_id, &progress.definition, answers).await?;
    sqlx::query("update responses set updated_at = $1, status = $2 where id = $3")
        .bind(&stamp)
        .bind(if complete { "complete" } else { "partial" })
        .bind(&response_id)
        .execute(&mut *tx)
        .await?;
    invitations::apply(
        &mut *tx,
        Target::Invitation(invitation_id),
        Event::Start,
        now,
    )
    .await?;
    if !complete {
        tx.commit().await?;
        return Ok(Saved::Page);
    }
    let said_yes = answers
        .values()
        .any(|a| matches!(a, Answer::InterviewOptIn { yes: true, .. }));
    let Some(interview) = complete_in(&mut tx, invitation_id, follow_up, said_yes, now).await?
    else {
        tx.rollback().await?;
        return Ok(Saved::Closed);
    };
    tx.commit().await?;
    Ok(Saved::Completed { interview })
}

/// One stored row of an answer.
pub(super) struct Row {
    item: String,
    number: Option<i64>,
    text: Option<String>,
}

impl Row {
    pub(super) fn new(item: &str, number: Option<i64>, text: Option<&str>) -> Row {
        Row {
            item: item.to_owned(),
            number,
            text: text.map(str::to_owned),
        }
    }
}

/// An answer as rows: one per choice picked and per driver rated, else one.
pub(super) fn rows_of(answer: &Answer) -> Vec<Row> {
    match answer {
        Answer::Score(n) => vec![Row::new("", Some(*n), None)],
        Answer::Choice { choice, other } => vec![Row::new(choice, None, other.as_deref())],
        Answer::Choices { choices, other } => choices
            .iter()
            .map(|c| {
                let text = (c == debrief_common::survey::definition::OTHER)
                    .then_some(other.as_deref())
                    .flatten();
                Row::new(c, None, text)
            })
            .collect(),
        Answer::Text(text) => vec![Row::new("", None, Some(text))],
        Answer::Drivers(rated) => rated
            .iter()
            .map(|(driver, influence)| {
                Row::new(
                    driver,
                    influence.score().map(i64::from),
                    Some(influence.code()),
                )
            })
            .collect(),
        Answer::InterviewOptIn { yes, times } => {
            vec![Row::new("", Some(i64::from(*yes)), times.as_deref())]
        }
        Answer::Consent(ticked) => vec![Row::new("", Some(i64::from(*ticked)), None)],
    }
}

/// The answer stored as `rows`, read as its question asks.
pub(super) fn answer_from_rows(q: &Question, rows: &[Row]) -> Option<Answer> {
    let first = rows.first()?;
    Some(match &q.kind {
        QuestionKind::Nps | QuestionKind::Rating { .. } => Answer::Score(first.number?),
        QuestionKind::SingleChoice { .. } => Answer::Choice {
            choice: first.item.clone(),
            other: first.text.clone(),
        },
        QuestionKind::MultipleChoice { .. } => Answer::Choices {
            choices: rows.iter().map(|r| r.item.clone()).collect(),
            other: rows.iter().find_map(|r| r.text.clone()),
        },
        QuestionKind::FreeText { .. } => Answer::Text(first.text.clone()?),
        QuestionKind::DriverMatrix { .. } => Answer::Drivers(
            rows.iter()
                .filter_map(|r| Some((r.item.clone(), Influence::parse(r.text.as_deref()?)?)))
                .collect(),
        ),
        QuestionKind::InterviewOptIn => Answer::InterviewOptIn {
            yes: first.number == Some(1),
            times: first.text.clone(),
        },
        QuestionKind::Consent => Answer::Consent(first.number == Some(1)),
    })
}

async fn store_items(
    conn: &mut AnyConnection,
    response_id: &str,
    definition: &Definition,
    answers: &Answers,
) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    for (_, q) in definition.questions() {
        if let Some(answer) = answers.get(&q.id) {
            rows.extend(rows_of(answer).into_iter().map(|row| (q.id.as_str(), row)));
        }
    }
    store_rows(conn, response_id, rows).await
}

/// Writes answer rows, each with its question's id.
pub(super) async fn store_rows(
    conn: &mut AnyConnection,
    response_id: &str,
    rows: Vec<(&str, Row)>,
) -> anyhow::Result<()> {
    let rows = rows
        .into_iter()
        .map(|(question, row)| {
            vec![
                Param::from(response_id),
                Param::from(question),
                Param::from(row.item),
                Param::from(row.number),
                Param::from(row.text),
            ]
        })
        .collect();
    execute_many(
        conn,
        "insert into response_items (response_id, question_id, item, number, text)",
        "",
        rows,
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_answer_reads_back_as_stored() {
        let survey: Definition =
            serde_json::from_str(debrief_common::survey::DEFAULT_WIN_LOSS).expect("survey");
        let answers: Vec<(&str, Answer)> = vec![
            ("nps", Answer::Score(0)),
            (
                "reasons",
                Answer::Choices {
                    choices: vec!["other".into(), "price".into()],
                    other: Some("Their <roadmap>".into()),
                },
            ),
            ("improve", Answer::Text("Faster \"answers\"".into())),
            (
                "drivers",
                Answer::Drivers(
                    [
                        ("price".to_owned(), Influence::VeryNegative),
                        ("trust".to_owned(), Influence::NotAFactor),
                    ]
                    .into_iter()
                    .collect(),
                ),
            ),
            (
                "interview",
                Answer::InterviewOptIn {
                    yes: true,
                    times: Some("Tuesdays".into()),
                },
            ),
            ("consent", Answer::Consent(true)),
        ];
        for (id, answer) in answers {
            let q = survey.question(id).expect(id);
            assert_eq!(answer_from_rows(q, &rows_of(&answer)), Some(answer), "{id}");
        }
    }
}
