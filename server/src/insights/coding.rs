//! Coding: each mention of a driver becomes an insight, with its influence on the decision
//! and the response's frozen deal. Driver-matrix ratings are coded by the coder below,
//! as soon as a response is complete; analysts code free text and interview notes
//! ([`code`]), quoting the buyer's exact words.

use super::taxonomy::Taxonomy;
use crate::analytics::filter::{Binds, Filter};
use crate::analytics::rollups::{self, Deltas};
use crate::auth::Accounts;
use crate::interviews::notes::SURVEY_KEY as INTERVIEW;
use crate::platform::db::rows::{execute_many, Param};
use crate::platform::db::time::to_db;
use crate::platform::db::{self, dialect, Db};
use crate::surveys::definitions::Definitions;
use crate::text_enum;
use crate::web::error::{ApiError, ApiResult};
use chrono::{DateTime, Utc};
use debrief_common::survey::QuestionKind;
use serde::{Deserialize, Serialize};
use sqlx::Acquire;
use std::collections::{HashMap, HashSet};

text_enum! {
    /// Who coded an insight.
    pub enum InsightSource {
        /// A driver-matrix rating, coded as the buyer gave it.
        Matrix = "matrix",
        /// An analyst, from free text or interview notes.
        Analyst = "analyst",
    }
}

text_enum! {
    /// How the buyer told us.
    pub enum InsightMethod {
        Survey = "survey",
        Interview = "interview",
    }
}

/// A response's deal as frozen when the buyer answered: every insight carries it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Frozen {
    pub outcome: Option<String>,
    pub segment_key: Option<String>,
    /// The first competitor the deal met.
    pub deal_competitor: Option<String>,
    pub region: Option<String>,
    pub persona: Option<String>,
    pub product_line: Option<String>,
    pub amount_band: Option<String>,
    /// The program's period of the decision (`2026-Q4`).
    pub period: Option<String>,
    /// The month of the decision (`2026-11`).
    pub month: Option<String>,
}

/// The columns of [`Frozen`], as selected from `responses r`.
const FROZEN: &str = "r.outcome, r.segment_key, r.competitor as deal_competitor, r.region, \
                      r.persona, r.product_line, r.amount_band, r.period, r.month";

/// An insight to store.
struct NewInsight<'a> {
    response_id: &'a str,
    question_id: &'a str,
    item: &'a str,
    driver: &'a str,
    taxonomy_version: i64,
    influence: i64,
    excerpt: Option<&'a str>,
    competitor: Option<&'a str>,
    source: InsightSource,
    suggested: bool,
    coded_by: &'a str,
    frozen: &'a Frozen,
    method: InsightMethod,
}

const INSIGHT_COLUMNS: &str = "insert into insights (id, response_id, question_id, item, driver,
    taxonomy_version, influence, excerpt, competitor, source, suggested, coded_by, coded_at,
    outcome, segment_key, deal_competitor, region, persona, product_line, amount_band, period,
    month, method, excerpt_folded)";

impl NewInsight<'_> {
    fn row(&self, id: &str, stamp: &str) -> Vec<Param> {
        let f = self.frozen;
        vec![
            Param::from(id),
            Param::from(self.response_id),
            Param::from(self.question_id),
            Param::from(self.item),
            Param::from(self.driver),
            Param::from(self.taxonomy_version),
            Param::from(self.influence),
            Param::from(self.excerpt),
            Param::from(self.competitor),
            Param::from(self.source.as_str()),
            Param::from(i64::from(self.suggested)),
            Param::from(self.coded_by),
            Param::from(stamp),
            Param::from(f.outcome.as_deref()),
            Param::from(f.segment_key.as_deref()),
            Param::from(f.deal_competitor.as_deref()),
            Param::from(f.region.as_deref()),
            Param::from(f.persona.as_deref()),
            Param::from(f.product_line.as_deref()),
            Param::from(f.amount_band.as_deref()),
            Param::from(f.period.as_deref()),
            Param::from(f.month.as_deref()),
            Param::from(self.method.as_str()),
            Param::from(self.excerpt.map(fold)),
        ]
    }
}

/// Text as the coded store's search compares it: lower case, without accents.
pub fn fold(text: &str) -> String {
    use unicode_normalization::{char::is_combining_mark, UnicodeNormalization};
    text.nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Folds the excerpts written before the store kept them folded
/// (`20261202000001_folded_excerpts.sql`), in id order a batch at a time; how many it
/// folded. Several instances may run it at once: each row is updated only while still
/// unfolded, and every instance takes the rows in the same order.
pub async fn fold_excerpts(db: &Db) -> anyhow::Result<u64> {
    let mut folded = 0;
    let mut after = String::new();
    loop {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "select id, excerpt from insights
             where excerpt is not null and excerpt_folded is null and id > $1
             order by id limit 200",
        )
        .bind(&after)
        .fetch_all(db.pool())
        .await?;
        let Some((last, _)) = rows.last() else {
            return Ok(folded);
        };
        after = last.clone();
        let mut tx = db.pool().begin().await?;
        for (id, excerpt) in rows {
            folded += sqlx::query(
                "update insights set excerpt_folded = $1 where id = $2 and excerpt_folded is null",
            )
            .bind(fold(&excerpt))
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
    }
}

/// A response claimed for coding.
#[derive(sqlx::FromRow)]
struct Claimed {
    id: String,
    survey_key: Option<String>,
    submitted_at: String,
    survey_version: Option<i64>,
    #[sqlx(flatten)]
    frozen: Frozen,
}

/// A rating: response, question, driver (the item), influence.
#[derive(sqlx::FromRow)]
struct Rating {
    response_id: String,
    question_id: String,
    item: String,
    number: i64,
}

/// Codes the driver-matrix ratings of up to `limit` complete responses not coded yet; how
/// many responses it coded. Several instances may run it at once: each response is
/// claimed by one transaction (the guarded update, and on PostgreSQL `SKIP LOCKED`), and
/// its insights are written in that same transaction, so a response is coded once or,
/// should the transaction fail, not at all.
pub async fn code_ratings(
    db: &Db,
    definitions: &Definitions,
    now: DateTime<Utc>,
    limit: i64,
) -> anyhow::Result<usize> {
    // Each rating is coded against the taxonomy in force when the buyer answered.
    let versions: Vec<(i64, String)> =
        sqlx::query_as("select version, created_at from driver_taxonomies order by version")
            .fetch_all(db.pool())
            .await?;
    let version_at = |submitted_at: &str| {
        versions
            .iter()
            .take_while(|(_, created)| created.as_str() <= submitted_at)
            .last()
            .map_or(0, |(v, _)| *v)
    };
    let stamp = to_db(now);
    let mut conn = db.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    let claimed: Vec<Claimed> = sqlx::query_as(&format!(
        "update responses set coded_at = $1
         where coded_at is null and id in (
             select id from responses where coded_at is null and status = 'complete'
             order by id limit $2 {lock})
         returning id, survey_key, survey_version, submitted_at, outcome, segment_key,
             competitor as deal_competitor, region, persona, product_line, amount_band,
             period, month",
        lock = dialect::skip_locked(db.backend()),
    ))
    .bind(&stamp)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    // The driver-matrix questions of each survey version among them.
    let mut matrices: HashMap<(String, i64), HashSet<String>> = HashMap::new();
    for response in &claimed {
        let (Some(key), Some(version)) = (&response.survey_key, response.survey_version) else {
            continue;
        };
        if key == INTERVIEW || matrices.contains_key(&(key.clone(), version)) {
            continue;
        }
        let questions = definitions
            .version(&mut *tx, key, version)
            .await?
            .map(|d| {
                d.questions()
                    .filter(|(_, q)| matches!(q.kind, QuestionKind::DriverMatrix { .. }))
                    .map(|(_, q)| q.id.clone())
                    .collect()
            })
            .unwrap_or_default();
        matrices.insert((key.clone(), version), questions);
    }
    let ids: Vec<&str> = claimed
        .iter()
        .filter(|r| {
            r.survey_key
                .as_ref()
                .zip(r.survey_version)
                .and_then(|(k, v)| matrices.get(&(k.clone(), v)))
                .is_some_and(|q| !q.is_empty())
        })
        .map(|r| r.id.as_str())
        .collect();
    let mut rows = Vec::new();
    if !ids.is_empty() {
        // "Not a factor" has no number: it is no mention.
        let list = db::rows::list(&tx, ids.len());
        let sql = format!(
            "select response_id, question_id, item, number from response_items
             where response_id in ({list}) and number is not null and item <> ''"
        );
        let mut query = sqlx::query_as::<_, Rating>(&sql);
        for id in &ids {
            query = query.bind(*id);
        }
        let ratings = query.fetch_all(&mut *tx).await?;
        let by_id: HashMap<&str, &Claimed> = claimed.iter().map(|r| (r.id.as_str(), r)).collect();
        for rating in &ratings {
            let Some(response) = by_id.get(rating.response_id.as_str()) else {
                continue;
            };
            let is_matrix = response
                .survey_key
                .as_ref()
                .zip(response.survey_version)
                .and_then(|(k, v)| matrices.get(&(k.clone(), v)))
                .is_some_and(|q| q.contains(&rating.question_id));
            if !is_matrix || !(-2..=2).contains(&rating.number) {
                continue;
            }
            let insight = NewInsight {
                response_id: &rating.response_id,
                question_id: &rating.question_id,
                item: &rating.item,
                driver: &rating.item,
                taxonomy_version: version_at(&response.submitted_at),
                influence: rating.number,
                excerpt: None,
                competitor: None,
                source: InsightSource::Matrix,
                suggested: false,
                coded_by: "rating",
                frozen: &response.frozen,
                method: InsightMethod::Survey,
            };
            rows.push(insight.row(&db::new_id(), &stamp));
        }
    }
    execute_many(
        &mut tx,
        INSIGHT_COLUMNS,
        "on conflict (response_id, question_id, item, driver) where source = 'matrix' do nothing",
        rows,
    )
    .await?;
    // Each claimed response now contributes to the dashboards, with its ratings and
    // whatever analysts coded in it before it was claimed.
    let ids: Vec<&str> = claimed.iter().map(|r| r.id.as_str()).collect();
    Deltas::of(&mut tx, &ids, 1).await?.apply(&mut tx).await?;
    // Their words wait for an analyst from now on.
    super::queue::refresh(&mut tx, &ids).await?;
    tx.commit().await?;
    Ok(claimed.len())
}

/// Codes the complete responses waiting when it starts, in batches, oldest first: what
/// readers of the coded store call first, so that what they read includes every answer
/// stored before they asked. Answers that arrive meanwhile are the background coder's:
/// under a sustained burst a reader still returns.
pub async fn catch_up(
    db: &Db,
    definitions: &Definitions,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let (waiting,): (i64,) = sqlx::query_as(
        "select count(*) from responses where coded_at is null and status = 'complete'",
    )
    .fetch_one(db.pool())
    .await?;
    let waiting = usize::try_from(waiting).unwrap_or(0);
    let mut total = 0;
    while total < waiting {
        let coded = code_ratings(db, definitions, now, 2_000).await?;
        if coded == 0 {
            break;
        }
        total += coded;
    }
    Ok(total)
}

/// Codes ratings and counts the funnel in the background, every second, so that readers
/// who catch up first (see [`catch_up`]) find little left to do.
#[derive(Clone)]
pub struct Coder {
    pub db: Db,
    pub definitions: Definitions,
    pub clock: crate::app::clock::Clock,
}

impl Coder {
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                _ = tick.tick() => {
                    if let Err(e) = catch_up(&self.db, &self.definitions, self.clock.now()).await {
                        tracing::warn!(error = %format!("{e:#}"), "coding ratings failed; tried again in a second");
                    }
                    if let Err(e) = crate::analytics::funnel::catch_up(&self.db).await {
                        tracing::warn!(error = %format!("{e:#}"), "counting the funnel failed; tried again in a second");
                    }
                }
            }
        }
    }
}

/// An analyst's coding of one mention in a text.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Coding {
    pub response_id: String,
    /// The question whose answer is coded (for an interview, `stage.<key>`).
    pub question_id: String,
    /// '' for the answer itself; `quote.<n>` for an interview quote; `other` for the text
    /// of "Other, please say".
    #[serde(default)]
    pub item: String,
    /// An active driver of the taxonomy.
    pub driver: String,
    /// −2 (very negative) to +2 (very positive).
    pub influence: i64,
    /// The buyer's exact words, as they appear in the text.
    pub excerpt: String,
    /// Themes: lower-case words (`pricing`, `competition`, `support`…), at most 10.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The competitor the excerpt speaks of.
    #[serde(default)]
    pub competitor: Option<String>,
    /// The analyst took the lexicon's suggestion as it stood.
    #[serde(default)]
    pub suggested: bool,
}

/// A stored insight.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Insight {
    pub id: String,
    pub response_id: String,
    pub question_id: String,
    pub item: String,
    /// As coded.
    pub driver: String,
    pub taxonomy_version: i64,
    pub influence: i64,
    pub excerpt: Option<String>,
    pub competitor: Option<String>,
    #[sqlx(try_from = "String")]
    pub source: InsightSource,
    #[sqlx(try_from = "i64")]
    pub suggested: Flag,
    pub coded_by: String,
    pub coded_at: String,
    #[sqlx(try_from = "String")]
    pub method: InsightMethod,
    #[sqlx(flatten)]
    pub deal: Frozen,
    /// Filled after the row is read.
    #[sqlx(skip)]
    pub tags: Vec<String>,
}

/// A 0/1 column, as a boolean.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct Flag(pub bool);

impl From<i64> for Flag {
    fn from(v: i64) -> Flag {
        Flag(v != 0)
    }
}

fn valid_tag(tag: &str) -> bool {
    let mut chars = tag.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && tag.len() <= 32
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Checks what an analyst sent, apart from the source text: the field at fault and why.
pub fn check(coding: &Coding, taxonomy: &Taxonomy) -> Result<(), (&'static str, String)> {
    if taxonomy.active(&coding.driver).is_none() {
        let why = match taxonomy.driver(&coding.driver) {
            Some(_) => "is retired: code one of the drivers that replaced it",
            None => "is not a driver of the taxonomy",
        };
        return Err(("driver", why.to_owned()));
    }
    if !(-2..=2).contains(&coding.influence) {
        return Err(("influence", "must be -2 to 2".to_owned()));
    }
    let excerpt = coding.excerpt.chars().count();
    if coding.excerpt.trim().is_empty() || excerpt > 2_000 {
        return Err(("excerpt", "must be 1 to 2,000 characters".to_owned()));
    }
    if coding.tags.len() > 10 {
        return Err(("tags", "must hold at most 10 tags".to_owned()));
    }
    if let Some(bad) = coding.tags.iter().find(|t| !valid_tag(t)) {
        return Err((
            "tags",
            format!("{bad:?} must be lower-case letters, digits, - and _, at most 32"),
        ));
    }
    if let Some(c) = &coding.competitor {
        if c.trim().is_empty() || c.chars().count() > 200 || c.chars().any(char::is_control) {
            return Err(("competitor", "must be 1 to 200 characters".to_owned()));
        }
    }
    for (field, text) in [("question_id", &coding.question_id), ("item", &coding.item)] {
        if text.len() > 200 {
            return Err((field, "must be at most 200 characters".to_owned()));
        }
    }
    Ok(())
}

/// The text an analyst codes, and the response's frozen deal.
#[derive(sqlx::FromRow)]
struct SourceText {
    text: Option<String>,
    survey_key: Option<String>,
    #[sqlx(flatten)]
    frozen: Frozen,
}

/// Stores an analyst's coding, checked (see [`check`]) and with its excerpt found in the
/// source text; the insight stored.
pub async fn code(
    db: &Db,
    taxonomy: (i64, &Taxonomy),
    coding: &Coding,
    by: &str,
    now: DateTime<Utc>,
) -> ApiResult<Insight> {
    check(coding, taxonomy.1).map_err(|(field, message)| ApiError::field(field, message))?;
    let source: Option<SourceText> = sqlx::query_as(&format!(
        "select t.text, r.survey_key, {FROZEN}
         from responses r
         left join response_items t on t.response_id = r.id and t.question_id = $2 and t.item = $3
         where r.id = $1"
    ))
    .bind(&coding.response_id)
    .bind(&coding.question_id)
    .bind(&coding.item)
    .fetch_optional(db.pool())
    .await?;
    let Some(source) = source else {
        return Err(ApiError::field("response_id", "is not a response"));
    };
    let Some(text) = source.text.filter(|t| !t.trim().is_empty()) else {
        return Err(ApiError::field(
            "question_id",
            "names no text in this response (with item)",
        ));
    };
    if !text.contains(coding.excerpt.as_str()) {
        return Err(ApiError::field(
            "excerpt",
            "is not in the buyer's words: quote them exactly",
        ));
    }
    let method = if source.survey_key.as_deref() == Some(INTERVIEW) {
        InsightMethod::Interview
    } else {
        InsightMethod::Survey
    };
    let id = db::new_id();
    let stamp = to_db(now);
    let competitor = coding.competitor.as_deref().map(str::trim);
    let insight = NewInsight {
        response_id: &coding.response_id,
        question_id: &coding.question_id,
        item: &coding.item,
        driver: &coding.driver,
        taxonomy_version: taxonomy.0,
        influence: coding.influence,
        excerpt: Some(&coding.excerpt),
        competitor,
        source: InsightSource::Analyst,
        suggested: coding.suggested,
        coded_by: by,
        frozen: &source.frozen,
        method,
    };
    let mut conn = db.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    let change = rollups::Change::begin(&mut tx, &coding.response_id).await?;
    execute_many(&mut tx, INSIGHT_COLUMNS, "", vec![insight.row(&id, &stamp)]).await?;
    let tags: Vec<String> = coding
        .tags
        .iter()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .cloned()
        .collect();
    execute_many(
        &mut tx,
        "insert into insight_tags (insight_id, tag)",
        "",
        tags.iter()
            .map(|t| vec![Param::from(id.as_str()), Param::from(t.as_str())])
            .collect(),
    )
    .await?;
    change.finish(&mut tx).await?;
    tx.commit().await?;
    Ok(Insight {
        id,
        response_id: coding.response_id.clone(),
        question_id: coding.question_id.clone(),
        item: coding.item.clone(),
        driver: coding.driver.clone(),
        taxonomy_version: taxonomy.0,
        influence: coding.influence,
        excerpt: Some(coding.excerpt.clone()),
        competitor: competitor.map(str::to_owned),
        source: InsightSource::Analyst,
        suggested: Flag(coding.suggested),
        coded_by: by.to_owned(),
        coded_at: stamp,
        method,
        deal: source.frozen,
        tags,
    })
}

/// Removes an analyst's insight (a correction); false when there is no such insight. A
/// rating's insight stays: it is what the buyer answered.
pub async fn uncode(db: &Db, id: &str) -> ApiResult<bool> {
    let source: Option<(String, String)> =
        sqlx::query_as("select source, response_id from insights where id = $1")
            .bind(id)
            .fetch_optional(db.pool())
            .await?;
    match source {
        None => Ok(false),
        Some((s, _)) if s != InsightSource::Analyst.as_str() => Err(ApiError::Conflict {
            code: "rating",
            message: "a driver-matrix rating is coded as the buyer gave it".into(),
        }),
        Some((_, response)) => {
            let mut conn = db.pool().acquire().await?;
            let mut tx = conn.begin().await?;
            let change = rollups::Change::begin(&mut tx, &response).await?;
            sqlx::query("delete from insight_tags where insight_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let deleted = sqlx::query("delete from insights where id = $1 and source = $2")
                .bind(id)
                .bind(InsightSource::Analyst.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            change.finish(&mut tx).await?;
            tx.commit().await?;
            Ok(deleted == 1)
        }
    }
}

/// The drivers an insight may be coded with to count as `driver` (itself and those
/// merged into it), for a list narrowed to it; none when no driver is asked.
pub fn counted_as(
    taxonomy: &super::taxonomy::Taxonomy,
    driver: Option<&str>,
) -> Result<Option<Vec<String>>, crate::web::error::ApiError> {
    match driver {
        None => Ok(None),
        Some(d) if taxonomy.driver(d).is_none() => Err(crate::web::error::ApiError::field(
            "driver",
            "is not a driver of the taxonomy",
        )),
        Some(d) => Ok(Some(
            taxonomy
                .counted_under(d)
                .into_iter()
                .map(str::to_owned)
                .collect(),
        )),
    }
}

/// Which insights to list.
#[derive(Debug)]
pub struct ListFilter {
    /// Months of decisions and the frozen deal, as the dashboards filter them.
    pub deal: Filter,
    /// Any of these drivers, as coded.
    pub drivers: Option<Vec<String>>,
    pub source: Option<String>,
    pub tag: Option<String>,
    /// Only insights with the buyer's words (an excerpt) that contain this, whatever the
    /// case.
    pub text: Option<String>,
    /// Only insights with the buyer's words.
    pub worded: bool,
    /// The page starts after this id (ids sort by creation).
    pub after: Option<String>,
    pub accounts: Accounts,
}

/// The accounts' scope as SQL over `r` (responses), with its bind.
fn account_scope(accounts: &Accounts, bind: &mut impl FnMut(String) -> String) -> String {
    match accounts {
        Accounts::All => "1 = 1".to_owned(),
        Accounts::ManagedBy(email) => format!(
            "exists (select 1 from invitations i join accounts a on a.id = i.account_id
                     where i.id = r.invitation_id and a.manager_email = {})",
            bind(email.clone())
        ),
        Accounts::None => "1 = 0".to_owned(),
    }
}

/// Up to `limit` insights matching `filter`, newest first, with their tags.
pub async fn list(db: &Db, filter: &ListFilter, limit: i64) -> anyhow::Result<Vec<Insight>> {
    let mut binds = Binds::default();
    let mut bind = |value: String| binds.bind(value);
    let mut filters = vec![
        account_scope(&filter.accounts, &mut bind),
        filter.deal.sql_insights(&mut bind),
    ];
    if let Some(drivers) = &filter.drivers {
        let list: Vec<String> = drivers.iter().map(|d| bind(d.clone())).collect();
        filters.push(if list.is_empty() {
            "1 = 0".to_owned()
        } else {
            format!("n.driver in ({})", list.join(", "))
        });
    }
    if let Some(source) = &filter.source {
        filters.push(format!("n.source = {}", bind(source.clone())));
    }
    if let Some(tag) = &filter.tag {
        filters.push(format!(
            "exists (select 1 from insight_tags g where g.insight_id = n.id and g.tag = {})",
            bind(tag.clone())
        ));
    }
    if filter.worded || filter.text.is_some() {
        filters.push("n.excerpt is not null".to_owned());
    }
    if let Some(text) = &filter.text {
        // Typed text, not a pattern: its wildcards are escaped.
        let escaped: String = fold(text)
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        filters.push(format!(
            // Rows not folded yet (an older instance wrote them) are read by lower().
            "coalesce(n.excerpt_folded, lower(n.excerpt)) like {} escape '\\'",
            bind(format!("%{escaped}%"))
        ));
    }
    if let Some(after) = &filter.after {
        filters.push(format!("n.id < {}", bind(after.clone())));
    }
    let limit_at = bind(limit.to_string());
    let sql = format!(
        "select n.id, n.response_id, n.question_id, n.item, n.driver, n.taxonomy_version,
                n.influence, n.excerpt, n.competitor, n.source, n.suggested, n.coded_by,
                n.coded_at, n.method, n.outcome, n.segment_key, n.deal_competitor, n.region,
                n.persona, n.product_line, n.amount_band, n.period, n.month
         from insights n join responses r on r.id = n.response_id
         where {}
         order by n.id desc
         limit cast({limit_at} as bigint)",
        filters.join(" and ")
    );
    let mut insights: Vec<Insight> = binds.query_as(&sql).fetch_all(db.pool()).await?;
    if insights.is_empty() {
        return Ok(insights);
    }
    let mut conn = db.pool().acquire().await?;
    let list = db::rows::list(&conn, insights.len());
    let sql = format!(
        "select insight_id, tag from insight_tags where insight_id in ({list}) order by tag"
    );
    let mut tags = sqlx::query_as::<_, (String, String)>(&sql);
    for insight in &insights {
        tags = tags.bind(insight.id.clone());
    }
    let mut by_id: HashMap<String, Vec<String>> = HashMap::new();
    for (id, tag) in tags.fetch_all(&mut *conn).await? {
        by_id.entry(id).or_default().push(tag);
    }
    for insight in &mut insights {
        insight.tags = by_id.remove(&insight.id).unwrap_or_default();
    }
    Ok(insights)
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn search_text_is_folded_to_lower_case_without_accents() {
        assert_eq!(fold("Le prix était ÉLEVÉ"), "le prix etait eleve");
        assert_eq!(fold("Équipe Ça"), fold("equipe ca"));
        // Wildcards are the caller's to escape; folding keeps them.
        assert_eq!(fold("100%_off"), "100%_off");
    }
}
