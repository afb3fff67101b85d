//! A buyer's response to a versioned survey, saved page by page: the answers stored one
//! row per question (per choice picked, per driver rated), read back to resume, and the
//! completion that closes the invitation and earns its incentive.

use super::answers::{
    complete_in, insert_responses, response_row, DealRow, FrozenDeal, SurveyedDeal,
};
use super::definitions::Definitions;
use crate::invitations::tokens::Invitation;
use crate::invitations::{self, Event};
use crate::outreach::follow_up::FollowUp;
use crate::platform::db::conn::{Begin, Commit, Conn};
use crate::platform::db::rows::{execute_many, Param};
use crate::platform::db::time::to_db;
use crate::platform::db::{self, Db};
use chrono::{DateTime, Utc};
use debrief_common::survey::{Answer, Answers, Definition, Influence, Question, QuestionKind};
use debrief_common::Locale;
use sqlx::{Acquire, AnyConnection};
use std::collections::{BTreeMap, HashMap};
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

/// An open invitation's survey, for the form and the API alike: where the buyer stands,
/// and the deal behind it, each read once. `None` when no definition of the invitation's
/// survey is stored.
pub(super) async fn open(
    db: &Db,
    definitions: &Definitions,
    invitation: &Invitation,
) -> anyhow::Result<Option<(Progress, SurveyedDeal)>> {
    let mut conn = db.pool().acquire().await?;
    Ok(open_many(&mut conn, definitions, &[invitation])
        .await?
        .pop()
        .flatten())
}

/// Many open invitations' surveys, in their order, read together (answers saved together
/// are checked together, see `ingest`), in a few statements whatever their number through
/// sqlx (see `platform::db::conn`). Each buyer
/// answers the version they started, or the newest if they have not; `None` where no
/// definition of the invitation's survey is stored.
pub(super) async fn open_many<C: Conn>(
    conn: &mut C,
    definitions: &Definitions,
    invitations: &[&Invitation],
) -> anyhow::Result<Vec<Option<(Progress, SurveyedDeal)>>> {
    let ids: Vec<&str> = invitations.iter().map(|i| i.id.as_str()).collect();
    let mut rows: HashMap<String, OpenRow> = open_rows(conn, &ids)
        .await?
        .into_iter()
        .map(|row| (row.invitation_id.clone(), row))
        .collect();
    let response_ids: Vec<&str> = rows
        .values()
        .filter_map(|r| r.response_id.as_deref())
        .collect();
    let mut items = response_items(conn, &response_ids).await?;
    let mut opened = Vec::with_capacity(invitations.len());
    for invitation in invitations {
        let Some(row) = rows.remove(&invitation.id) else {
            anyhow::bail!("invitation {} has no deal", invitation.id);
        };
        let deal = SurveyedDeal::try_from(row.deal)?;
        let progress = match (
            row.response_id,
            row.response_survey_key.zip(row.response_version),
        ) {
            (Some(id), Some((key, version))) => {
                let Some(definition) = definitions.version(conn, &key, version).await? else {
                    anyhow::bail!(
                        "response {id} answers survey {key} v{version}, which is not stored"
                    );
                };
                let by_question = items.remove(&id).unwrap_or_default();
                let answers = definition
                    .questions()
                    .filter_map(|(_, q)| {
                        let rows = by_question.get(&q.id)?;
                        Some((q.id.clone(), answer_from_rows(q, rows)?))
                    })
                    .collect();
                Some(Progress {
                    survey_key: key,
                    version,
                    definition,
                    answers,
                    complete: row.response_status.as_deref() == Some(COMPLETE),
                })
            }
            // Answered through the slice's fixed two questions: complete, nothing to
            // resume; or not started: the newest version (a stored version never changes,
            // so it is parsed once per process).
            (started, _) => {
                let key = invitation.survey();
                let newest = match row.newest {
                    Some(version) => definitions
                        .version(conn, key, version)
                        .await?
                        .map(|d| (version, d)),
                    None => None,
                };
                newest.map(|(version, definition)| Progress {
                    survey_key: key.to_owned(),
                    version,
                    definition,
                    answers: Answers::new(),
                    complete: started.is_some(),
                })
            }
        };
        opened.push(progress.map(|p| (p, deal)));
    }
    Ok(opened)
}

/// A response's status once the buyer has finished.
const COMPLETE: &str = "complete";

/// What a survey opens with, per invitation: the deal, the response if the buyer has
/// started, and the newest version of the invitation's survey.
#[derive(serde::Deserialize)]
pub(super) struct OpenRow {
    invitation_id: String,
    #[serde(flatten)]
    pub(super) deal: DealRow,
    response_id: Option<String>,
    response_survey_key: Option<String>,
    response_version: Option<i64>,
    response_status: Option<String>,
    newest: Option<i64>,
}

/// One query for a group of invitations (see `Conn::fetch_in`): each save reads this,
/// so through sqlx a group's deals and responses cost one statement whatever its size.
pub(super) async fn open_rows<C: Conn>(
    conn: &mut C,
    invitation_ids: &[&str],
) -> anyhow::Result<Vec<OpenRow>> {
    let newest = format!(
        "(select max(v.version) from survey_versions v
          where v.survey_key = coalesce(i.survey_key, '{}'))",
        crate::programs::SurveyKey::WinLoss.as_str()
    );
    let fields: Vec<(&str, &str)> = [("invitation_id", "i.id")]
        .into_iter()
        .chain(DealRow::FIELDS.iter().copied())
        .chain([
            ("response_id", "r.id"),
            ("response_survey_key", "r.survey_key"),
            ("response_version", "r.survey_version"),
            ("response_status", "r.status"),
            ("newest", newest.as_str()),
        ])
        .collect();
    conn.fetch_in(&fields, invitation_ids, |list| {
        format!(
            "from invitations i join deals d on d.id = i.deal_id
             left join responses r on r.invitation_id = i.id
             where i.id in ({list})"
        )
    })
    .await
}

/// A stored response: the row a save replaces the answers of.
struct Stored {
    id: String,
    complete: bool,
}

/// The responses of these invitations, by invitation id.
async fn stored_responses<C: Conn>(
    conn: &mut C,
    invitation_ids: &[&str],
) -> anyhow::Result<HashMap<String, Stored>> {
    #[derive(serde::Deserialize)]
    struct Row {
        invitation_id: String,
        id: String,
        status: String,
    }
    const FIELDS: &[(&str, &str)] = &[
        ("invitation_id", "invitation_id"),
        ("id", "id"),
        ("status", "status"),
    ];
    let rows = conn
        .fetch_in::<Row>(FIELDS, invitation_ids, |list| {
            format!("from responses where invitation_id in ({list})")
        })
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let stored = Stored {
                id: row.id,
                complete: row.status == COMPLETE,
            };
            (row.invitation_id, stored)
        })
        .collect())
}

/// The stored answer rows of these responses, by response and question.
async fn response_items<C: Conn>(
    conn: &mut C,
    response_ids: &[&str],
) -> anyhow::Result<HashMap<String, BTreeMap<String, Vec<Row>>>> {
    #[derive(serde::Deserialize)]
    struct Item {
        response_id: String,
        question_id: String,
        #[serde(flatten)]
        row: Row,
    }
    const FIELDS: &[(&str, &str)] = &[
        ("response_id", "response_id"),
        ("question_id", "question_id"),
        ("item", "item"),
        ("number", "number"),
        ("text", "text"),
    ];
    let rows = conn
        .fetch_in::<Item>(FIELDS, response_ids, |list| {
            format!("from response_items where response_id in ({list})")
        })
        .await?;
    let mut items: HashMap<String, BTreeMap<String, Vec<Row>>> = HashMap::new();
    for Item {
        response_id,
        question_id,
        row,
    } in rows
    {
        items
            .entry(response_id)
            .or_default()
            .entry(question_id)
            .or_default()
            .push(row);
    }
    // An answer's rows in the byte order of their items, on both engines: an aggregate
    // gathers rows in no promised order, and PostgreSQL's `order by` would follow its
    // collation where SQLite's follows bytes.
    for rows in items.values_mut().flat_map(BTreeMap::values_mut) {
        rows.sort_unstable_by(|a, b| a.item.cmp(&b.item));
    }
    Ok(items)
}

/// One buyer's answers to save as they go, validated against `progress.definition`.
pub(super) struct Page<'a> {
    pub deal: &'a FrozenDeal,
    pub invitation_id: &'a str,
    pub locale: Locale,
    pub progress: &'a Progress,
    pub answers: &'a Answers,
}

/// Saves buyers' answers in one transaction (see [`write_pages`]).
pub(super) async fn save_pages<C: Begin>(
    conn: &mut C,
    pages: &[Page<'_>],
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<Saved>> {
    if pages.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = conn.transaction().await?;
    let saved = write_pages(&mut tx, pages, now).await?;
    tx.commit().await?;
    Ok(saved)
}

/// Saves many buyers' answers in the caller's transaction: on SQLite a commit costs more
/// than the rows it writes, so answers that arrive together are committed together (see
/// `ingest`). Each page replaces what its buyer saved before, and marks the invitation
/// started; a response completed meanwhile (a second tab) keeps what it stored and its
/// page gives [`Saved::Closed`]. Gives each page's outcome, in order. The invitations
/// must be distinct: two saves of one buyer go in two calls, one after the other.
pub(super) async fn write_pages<C: Conn>(
    tx: &mut C,
    pages: &[Page<'_>],
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<Saved>> {
    let stamp = to_db(now);
    // Writes first (see `outreach::store::record_in`): the responses not stored yet.
    let new_ids: Vec<String> = pages.iter().map(|_| db::new_id()).collect();
    let new_responses = pages
        .iter()
        .zip(&new_ids)
        .map(|(page, new_id)| {
            let survey = Some((page.progress.survey_key.as_str(), page.progress.version));
            response_row(
                new_id,
                page.invitation_id,
                page.locale,
                page.deal,
                survey,
                "partial",
                &stamp,
            )
        })
        .collect();
    let inserted = insert_responses(tx, new_responses).await?;
    // Every response new (a group of first saves, as when a survey has just gone out):
    // each is the row just inserted, and nothing needs reading back.
    let stored = if inserted == pages.len() as u64 {
        pages
            .iter()
            .zip(&new_ids)
            .map(|(page, id)| {
                let stored = Stored {
                    id: id.clone(),
                    complete: false,
                };
                (page.invitation_id.to_owned(), stored)
            })
            .collect()
    } else {
        let ids: Vec<&str> = pages.iter().map(|p| p.invitation_id).collect();
        stored_responses(tx, &ids).await?
    };
    let mut saved = Vec::with_capacity(pages.len());
    // Responses stored before this transaction: only they have rows to replace and a time
    // to update (a new one was inserted with both).
    let mut earlier_responses = Vec::new();
    let mut open_invitations = Vec::with_capacity(pages.len());
    let mut items = Vec::new();
    for (page, new_id) in pages.iter().zip(&new_ids) {
        let Some(response) = stored.get(page.invitation_id) else {
            anyhow::bail!(
                "the response of invitation {} was not stored",
                page.invitation_id
            );
        };
        if response.complete {
            // A second tab finished first: what it stored stands.
            saved.push(Saved::Closed);
            continue;
        }
        saved.push(Saved::Page);
        if response.id != *new_id {
            earlier_responses.push(response.id.as_str());
        }
        open_invitations.push(page.invitation_id);
        items.extend(item_rows(
            &response.id,
            &page.progress.definition,
            page.answers,
        ));
    }
    tx.execute_in(&[], &earlier_responses, |list| {
        format!("delete from response_items where response_id in ({list})")
    })
    .await?;
    tx.execute_many(INSERT_ITEMS, "", items).await?;
    tx.execute_in(&[&stamp], &earlier_responses, |list| {
        format!("update responses set updated_at = $1 where id in ({list})")
    })
    .await?;
    invitations::apply_all(tx, &open_invitations, Event::Start, now).await?;
    Ok(saved)
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
    let page = Page {
        deal,
        invitation_id,
        locale,
        progress,
        answers,
    };
    let mut conn = db.pool().acquire().await?;
    if !complete {
        let saved = save_pages(&mut conn, &[page], now).await?.pop();
        return saved.ok_or_else(|| anyhow::anyhow!("a saved page gave no outcome"));
    }
    // The last page is stored as any other, then the response completed, in one
    // transaction.
    let mut tx = conn.begin().await?;
    if write_pages(&mut tx, &[page], now).await?.pop() != Some(Saved::Page) {
        // A second tab finished first: what it stored stands.
        return Ok(Saved::Closed);
    }
    sqlx::query("update responses set status = 'complete' where invitation_id = $1")
        .bind(invitation_id)
        .execute(&mut *tx)
        .await?;
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
#[derive(serde::Deserialize)]
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

const INSERT_ITEMS: &str =
    "insert into response_items (response_id, question_id, item, number, text)";

/// The rows that store a response's answers, in the definition's order.
fn item_rows(response_id: &str, definition: &Definition, answers: &Answers) -> Vec<Vec<Param>> {
    let mut rows = Vec::new();
    for (_, q) in definition.questions() {
        if let Some(answer) = answers.get(&q.id) {
            rows.extend(
                rows_of(answer)
                    .into_iter()
                    .map(|row| item_row(response_id, &q.id, row)),
            );
        }
    }
    rows
}

fn item_row(response_id: &str, question: &str, row: Row) -> Vec<Param> {
    vec![
        Param::from(response_id),
        Param::from(question),
        Param::from(row.item),
        Param::from(row.number),
        Param::from(row.text),
    ]
}

/// Writes answer rows, each with its question's id.
pub(super) async fn store_rows(
    conn: &mut AnyConnection,
    response_id: &str,
    rows: Vec<(&str, Row)>,
) -> anyhow::Result<()> {
    let rows = rows
        .into_iter()
        .map(|(question, row)| item_row(response_id, question, row))
        .collect();
    execute_many(conn, INSERT_ITEMS, "", rows).await?;
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
