//! What analysts have left to code: the buyers' free text (survey answers, the text of
//! "Other, please say", interview notes and quotes) that holds no analyst insight yet and
//! was not set aside as holding nothing to code; each with suggested drivers.

use super::coding::{Frozen, InsightMethod};
use super::suggestions::{self, Agreement, Lexicon, Suggestion};
use super::taxonomy::Taxonomy;
use crate::interviews::notes::SURVEY_KEY as INTERVIEW;
use crate::platform::db::time::to_db;
use crate::platform::db::Db;
use crate::web::error::{ApiError, ApiResult};
use chrono::{DateTime, Utc};
use debrief_common::Locale;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The items that hold a buyer's own words: a free-text answer or interview notes (item
/// ''), the text of "Other, please say", an interview quote. Ratings and choices carry a
/// number or no text; a "not a factor" rating's text is a code, under the driver's item.
const FREE_TEXT: &str = "t.number is null and t.text is not null and t.text <> ''
    and (t.item = '' or t.item = 'other' or t.item like 'quote.%')";

/// A text to code.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Uncoded {
    pub response_id: String,
    pub question_id: String,
    pub item: String,
    pub text: String,
    #[schema(value_type = String)]
    pub locale: Locale,
    pub method: InsightMethod,
    pub submitted_at: String,
    pub deal: Frozen,
    pub suggestions: Vec<Suggestion>,
}

#[derive(sqlx::FromRow)]
struct TextRow {
    response_id: String,
    question_id: String,
    item: String,
    text: String,
    locale: String,
    survey_key: Option<String>,
    submitted_at: String,
    #[sqlx(flatten)]
    frozen: Frozen,
}

const TEXT_COLUMNS: &str = "t.response_id, t.question_id, t.item, t.text, r.locale, r.survey_key,
    r.submitted_at, r.outcome, r.segment_key, r.competitor as deal_competitor, r.region,
    r.persona, r.product_line, r.amount_band, r.period, r.month";

/// Up to `limit` texts to code, newest first, from `coding_queue` (the coder has claimed
/// their responses: readers catch it up first).
pub async fn uncoded(db: &Db, taxonomy: &Taxonomy, limit: i64) -> anyhow::Result<Vec<Uncoded>> {
    let rows: Vec<TextRow> = sqlx::query_as(&format!(
        "select {TEXT_COLUMNS}
         from (select response_id, question_id, item from coding_queue
               order by submitted_at desc, response_id, question_id, item
               limit $1) q
         join response_items t on t.response_id = q.response_id
             and t.question_id = q.question_id and t.item = q.item
         join responses r on r.id = t.response_id
         order by r.submitted_at desc, t.response_id, t.question_id, t.item"
    ))
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    with_suggestions(db, taxonomy, rows).await
}

/// Puts the texts of responses `ids` in the queue as they now stand: those of a claimed,
/// complete response that hold no analyst insight and were not set aside. In the
/// caller's transaction, which changed them (see `20261201000003_coding_queue.sql`).
pub async fn refresh(conn: &mut sqlx::AnyConnection, ids: &[&str]) -> anyhow::Result<()> {
    for chunk in ids.chunks(500) {
        let list = crate::platform::db::rows::list(&*conn, chunk.len());
        let sql = format!("delete from coding_queue where response_id in ({list})");
        let mut delete = sqlx::query(&sql);
        for id in chunk {
            delete = delete.bind(*id);
        }
        delete.execute(&mut *conn).await?;
        let sql = format!(
            "insert into coding_queue (response_id, question_id, item, submitted_at)
             select t.response_id, t.question_id, t.item, r.submitted_at
             from response_items t join responses r on r.id = t.response_id
             where t.response_id in ({list})
               and r.status = 'complete' and r.coded_at is not null and {FREE_TEXT}
               and not exists (select 1 from insights n where n.response_id = t.response_id
                               and n.question_id = t.question_id and n.item = t.item
                               and n.source = 'analyst')
               and not exists (select 1 from coding_reviews v
                               where v.response_id = t.response_id
                                 and v.question_id = t.question_id and v.item = t.item)"
        );
        let mut insert = sqlx::query(&sql);
        for id in chunk {
            insert = insert.bind(*id);
        }
        insert.execute(&mut *conn).await?;
    }
    Ok(())
}

/// One text to code, by its place, whether or not it is coded already: an analyst adds
/// the mentions of a text one by one. None when there is no such free text.
pub async fn text(
    db: &Db,
    taxonomy: &Taxonomy,
    (response_id, question_id, item): (&str, &str, &str),
) -> anyhow::Result<Option<Uncoded>> {
    let rows: Vec<TextRow> = sqlx::query_as(&format!(
        "select {TEXT_COLUMNS}
         from response_items t join responses r on r.id = t.response_id
         where t.response_id = $1 and t.question_id = $2 and t.item = $3
           and r.status = 'complete' and {FREE_TEXT}"
    ))
    .bind(response_id)
    .bind(question_id)
    .bind(item)
    .fetch_all(db.pool())
    .await?;
    Ok(with_suggestions(db, taxonomy, rows).await?.pop())
}

/// How many texts wait for an analyst.
pub async fn waiting(db: &Db) -> anyhow::Result<i64> {
    let (n,): (i64,) = sqlx::query_as("select count(*) from coding_queue")
        .fetch_one(db.pool())
        .await?;
    Ok(n)
}

async fn with_suggestions(
    db: &Db,
    taxonomy: &Taxonomy,
    rows: Vec<TextRow>,
) -> anyhow::Result<Vec<Uncoded>> {
    let lexicons = Lexicons::load(db).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let locale = Locale::parse(&row.locale).unwrap_or_default();
        let suggestions = lexicons.suggest(locale, &row.text, taxonomy);
        out.push(Uncoded {
            method: method_of(row.survey_key.as_deref()),
            response_id: row.response_id,
            question_id: row.question_id,
            item: row.item,
            text: row.text,
            locale,
            submitted_at: row.submitted_at,
            deal: row.frozen,
            suggestions,
        });
    }
    Ok(out)
}

/// Each locale's lexicon in force.
struct Lexicons(BTreeMap<Locale, Lexicon>);

impl Lexicons {
    async fn load(db: &Db) -> anyhow::Result<Lexicons> {
        let mut all = BTreeMap::new();
        for locale in Locale::ALL {
            all.insert(locale, suggestions::lexicon(db, locale).await?);
        }
        Ok(Lexicons(all))
    }

    fn suggest(&self, locale: Locale, text: &str, taxonomy: &Taxonomy) -> Vec<Suggestion> {
        self.0
            .get(&locale)
            .map(|l| suggestions::suggest(text, l, taxonomy))
            .unwrap_or_default()
    }
}

fn method_of(survey_key: Option<&str>) -> InsightMethod {
    if survey_key == Some(INTERVIEW) {
        InsightMethod::Interview
    } else {
        InsightMethod::Survey
    }
}

/// A text an analyst has finished with.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Review {
    pub response_id: String,
    pub question_id: String,
    #[serde(default)]
    pub item: String,
}

/// Takes a text out of the queue: it holds nothing (more) to code.
pub async fn review(db: &Db, review: &Review, by: &str, now: DateTime<Utc>) -> ApiResult<()> {
    let exists: Option<(i64,)> = sqlx::query_as(&format!(
        "select 1 from response_items t
         where t.response_id = $1 and t.question_id = $2 and t.item = $3 and {FREE_TEXT}"
    ))
    .bind(&review.response_id)
    .bind(&review.question_id)
    .bind(&review.item)
    .fetch_optional(db.pool())
    .await?;
    if exists.is_none() {
        return Err(ApiError::field(
            "question_id",
            "names no free text of this response (with response_id and item)",
        ));
    }
    let mut conn = db.pool().acquire().await?;
    let mut tx = sqlx::Acquire::begin(&mut *conn).await?;
    // The response row first, as every change to a response takes it: an analyst's
    // insight committed meanwhile would otherwise be refreshed away by this transaction's
    // older view (PostgreSQL's read committed).
    sqlx::query("update responses set coded_at = coded_at where id = $1")
        .bind(&review.response_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "insert into coding_reviews (response_id, question_id, item, reviewed_by, reviewed_at)
         values ($1, $2, $3, $4, $5)
         on conflict (response_id, question_id, item) do nothing",
    )
    .bind(&review.response_id)
    .bind(&review.question_id)
    .bind(&review.item)
    .bind(by)
    .bind(to_db(now))
    .execute(&mut *tx)
    .await?;
    refresh(&mut tx, &[review.response_id.as_str()]).await?;
    tx.commit().await?;
    Ok(())
}

/// How the current lexicons agree with the analysts, over the `limit` texts coded or
/// reviewed most recently.
pub async fn agreement(db: &Db, taxonomy: &Taxonomy, limit: i64) -> anyhow::Result<Agreement> {
    let rows: Vec<TextRow> = sqlx::query_as(&format!(
        "select {TEXT_COLUMNS}
         from response_items t join responses r on r.id = t.response_id
         where {FREE_TEXT}
           and (exists (select 1 from insights n where n.response_id = t.response_id
                        and n.question_id = t.question_id and n.item = t.item
                        and n.source = 'analyst')
                or exists (select 1 from coding_reviews v where v.response_id = t.response_id
                           and v.question_id = t.question_id and v.item = t.item))
         order by r.submitted_at desc
         limit $1"
    ))
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    if rows.is_empty() {
        return Ok(Agreement::default());
    }
    // What analysts coded in those texts, in one query.
    let mut conn = db.pool().acquire().await?;
    let list = crate::platform::db::rows::list(&conn, rows.len());
    let sql = format!(
        "select response_id, question_id, item, driver from insights
         where source = 'analyst' and response_id in ({list})"
    );
    let mut query = sqlx::query_as::<_, (String, String, String, String)>(&sql);
    for row in &rows {
        query = query.bind(row.response_id.clone());
    }
    let mut coded: BTreeMap<(String, String, String), BTreeSet<String>> = BTreeMap::new();
    for (response, question, item, driver) in query.fetch_all(&mut *conn).await? {
        // As the taxonomy reads it today, like the suggestions.
        let driver = taxonomy.reporting(&driver).map_or(driver, |d| d.id.clone());
        coded
            .entry((response, question, item))
            .or_default()
            .insert(driver);
    }
    let lexicons = Lexicons::load(db).await?;
    let mut agreement = Agreement::default();
    for row in rows {
        let locale = Locale::parse(&row.locale).unwrap_or_default();
        let suggested: BTreeSet<String> = lexicons
            .suggest(locale, &row.text, taxonomy)
            .into_iter()
            .map(|s| s.driver)
            .collect();
        let key = (row.response_id, row.question_id, row.item);
        agreement.add(&suggested, coded.get(&key).unwrap_or(&BTreeSet::new()));
    }
    Ok(agreement)
}
