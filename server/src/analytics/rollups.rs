//! The dashboard aggregates (`nps_rollup`, `driver_rollup`, `coded_rollup`,
//! `declined_rollup`, `unmet_need_rollup`): each coded response's contribution, summed.
//! See the migration that adds them for how they stay equal to a full recount under
//! concurrent writes: a response contributes once the coder claims it, and any later
//! change to it retracts its old contribution and adds its new one in the same
//! transaction, with the response row locked. The first three are cubes over segment,
//! region and product line (see `20261201000001_slices.sql`): a contribution is added to
//! each of its eight [`Deal::slices`].

use crate::interviews::notes::SURVEY_KEY as INTERVIEW;
use crate::outreach::Outcome;
use crate::platform::db::rows::{execute_many, list, Param};
use debrief_common::{NpsCategory, NpsScore};
use sqlx::AnyConnection;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The frozen deal a response's contribution is filed under. The declined-request
/// aggregates are not sliced: their deals hold '' for region and product line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Deal {
    month: String,
    segment_key: String,
    region: String,
    product_line: String,
    outcome: String,
    competitor: String,
}

impl Deal {
    /// The eight rows of a cube the deal adds to: each of segment, region and product
    /// line kept or read as every value ([`ALL`]).
    fn slices(&self) -> impl Iterator<Item = Deal> + '_ {
        slices([&self.segment_key, &self.region, &self.product_line]).map(
            |[segment_key, region, product_line]| Deal {
                segment_key,
                region,
                product_line,
                ..self.clone()
            },
        )
    }

    /// The values it holds per sliced dimension, for `slice_values`.
    fn values(&self) -> [(&'static str, &str); 3] {
        [
            ("segment_key", &self.segment_key),
            ("region", &self.region),
            ("product_line", &self.product_line),
        ]
    }
}

/// The value of a sliced dimension that stands for every value.
pub const ALL: &str = "*";

/// The eight cube rows a contribution with these segment, region and product line adds
/// to: each dimension kept or read as [`ALL`].
pub fn slices(values: [&str; 3]) -> impl Iterator<Item = [String; 3]> + '_ {
    (0..8u8).map(move |mask| {
        let mut bit = 1;
        values.map(|v| {
            let kept = mask & bit != 0;
            bit <<= 1;
            if kept {
                v.to_owned()
            } else {
                ALL.to_owned()
            }
        })
    })
}

/// The condition that reads a cube's rows over every segment, region and product line,
/// for readers that slice by none of them.
pub fn every_slice(alias: &str) -> String {
    format!("{alias}.segment_key = '*' and {alias}.region = '*' and {alias}.product_line = '*'")
}

/// Sums to add to the aggregates; a retraction adds negative ones. Kept sorted by key, so
/// that concurrent transactions update the same rows in the same order and never
/// deadlock.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Deltas {
    /// (deal slice, method) → promoters, passives, detractors.
    nps: BTreeMap<(Deal, String), [i64; 3]>,
    /// (deal slice, driver) → mentions, positive, negative, sole negative.
    drivers: BTreeMap<(Deal, String), [i64; 4]>,
    /// deal slice → responses with a driver coded.
    coded: BTreeMap<Deal, i64>,
    /// (deal, what the buyer did instead) → declined requests answered, and coded.
    declined: BTreeMap<(Deal, String), [i64; 2]>,
    /// (deal, need) → declined requests whose words name it.
    needs: BTreeMap<(Deal, Need), i64>,
}

/// A driver coded in a declined request's words, with the request's type (the deal's
/// product line), requester (persona) and period.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Need {
    driver: String,
    product_line: String,
    persona: String,
    period: String,
}

#[derive(sqlx::FromRow)]
struct ResponseRow {
    id: String,
    month: Option<String>,
    segment_key: Option<String>,
    outcome: Option<String>,
    competitor: Option<String>,
    region: Option<String>,
    survey_key: Option<String>,
    product_line: Option<String>,
    persona: Option<String>,
    period: Option<String>,
}

/// What one response contributes, from what it holds.
#[derive(Debug, Default)]
struct Contribution {
    nps: Option<NpsScore>,
    /// Driver → the sum of the influences coded for it.
    drivers: BTreeMap<String, i64>,
    /// The drivers coded in the buyer's words (an analyst's excerpt).
    worded: BTreeSet<String>,
    /// The answer to the declined-request survey's `instead` question.
    instead: Option<String>,
}

impl Deltas {
    /// The contributions of responses `ids` as they stand in `conn`, times `sign` (1 to
    /// add them, −1 to retract them).
    pub async fn of(conn: &mut AnyConnection, ids: &[&str], sign: i64) -> anyhow::Result<Deltas> {
        let mut deltas = Deltas::default();
        for chunk in ids.chunks(2_000) {
            deltas.read(conn, chunk, sign).await?;
        }
        Ok(deltas)
    }

    async fn read(
        &mut self,
        conn: &mut AnyConnection,
        ids: &[&str],
        sign: i64,
    ) -> anyhow::Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let marks = list(conn, ids.len());
        let responses: Vec<ResponseRow> = bind_all(
            sqlx::query_as(&format!(
                "select id, month, segment_key, outcome, competitor, region, survey_key,
                        product_line, persona, period
                 from responses where id in ({marks})"
            )),
            ids,
        )
        .fetch_all(&mut *conn)
        .await?;
        let mut held: HashMap<String, Contribution> = HashMap::new();
        let items: Vec<(String, String, String, Option<i64>)> = bind_all(
            sqlx::query_as(&format!(
                "select response_id, question_id, item, number from response_items
                 where response_id in ({marks})
                   and ((question_id = 'nps' and item = '') or question_id = 'instead')"
            )),
            ids,
        )
        .fetch_all(&mut *conn)
        .await?;
        for (id, question, item, number) in items {
            let held = held.entry(id).or_default();
            if question == "nps" {
                held.nps = number.and_then(|n| NpsScore::parse(n).ok());
            } else if held.instead.as_ref().is_none_or(|i| item < *i) {
                // One choice; the smallest, as the migration that backfilled it took.
                held.instead = Some(item);
            }
        }
        let coded: Vec<(String, String, i64, i64)> = bind_all(
            sqlx::query_as(&format!(
                "select response_id, driver, influence,
                        case when excerpt is null then 0 else 1 end
                 from insights where response_id in ({marks})"
            )),
            ids,
        )
        .fetch_all(&mut *conn)
        .await?;
        for (id, driver, influence, worded) in coded {
            let held = held.entry(id).or_default();
            if worded == 1 {
                held.worded.insert(driver.clone());
            }
            *held.drivers.entry(driver).or_default() += influence;
        }
        for response in responses {
            let contribution = held.remove(&response.id).unwrap_or_default();
            self.add(&response, &contribution, sign);
        }
        Ok(())
    }

    fn add(&mut self, response: &ResponseRow, c: &Contribution, sign: i64) {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let deal = Deal {
            month: text(&response.month),
            segment_key: text(&response.segment_key),
            region: text(&response.region),
            product_line: text(&response.product_line),
            outcome: text(&response.outcome),
            competitor: text(&response.competitor),
        };
        if let Some(score) = c.nps {
            let method = if response.survey_key.as_deref() == Some(INTERVIEW) {
                "interview"
            } else {
                "survey"
            };
            let at = match score.category() {
                NpsCategory::Promoter => 0,
                NpsCategory::Passive => 1,
                NpsCategory::Detractor => 2,
            };
            for slice in deal.slices() {
                self.nps.entry((slice, method.to_owned())).or_default()[at] += sign;
            }
        }
        if response.outcome.as_deref() == Some(Outcome::Declined.as_str()) {
            // Not sliced: filed under the deal without region and product line.
            let deal = Deal {
                region: String::new(),
                product_line: String::new(),
                ..deal.clone()
            };
            let key = (deal.clone(), c.instead.clone().unwrap_or_default());
            let counts = self.declined.entry(key).or_default();
            counts[0] += sign;
            counts[1] += sign * i64::from(!c.worded.is_empty());
            for driver in &c.worded {
                let need = Need {
                    driver: driver.clone(),
                    product_line: text(&response.product_line),
                    persona: text(&response.persona),
                    period: text(&response.period),
                };
                *self.needs.entry((deal.clone(), need)).or_default() += sign;
            }
        }
        if c.drivers.is_empty() {
            return;
        }
        let against: Vec<&String> = c
            .drivers
            .iter()
            .filter(|(_, sum)| **sum < 0)
            .map(|(d, _)| d)
            .collect();
        for slice in deal.slices() {
            *self.coded.entry(slice.clone()).or_default() += sign;
            for (driver, sum) in &c.drivers {
                let delta = [
                    sign,
                    sign * i64::from(*sum > 0),
                    sign * i64::from(*sum < 0),
                    sign * i64::from(against == [driver]),
                ];
                let counts = self
                    .drivers
                    .entry((slice.clone(), driver.clone()))
                    .or_default();
                (0..4).for_each(|i| counts[i] += delta[i]);
            }
        }
    }

    /// `self` then `other`: sums added key by key.
    pub fn plus(mut self, other: Deltas) -> Deltas {
        for (k, v) in other.nps {
            let e = self.nps.entry(k).or_default();
            (0..3).for_each(|i| e[i] += v[i]);
        }
        for (k, v) in other.drivers {
            let e = self.drivers.entry(k).or_default();
            (0..4).for_each(|i| e[i] += v[i]);
        }
        for (k, v) in other.coded {
            *self.coded.entry(k).or_default() += v;
        }
        for (k, v) in other.declined {
            let e = self.declined.entry(k).or_default();
            (0..2).for_each(|i| e[i] += v[i]);
        }
        for (k, v) in other.needs {
            *self.needs.entry(k).or_default() += v;
        }
        self
    }

    /// Adds the sums to the aggregates, in the caller's transaction; keys whose sums
    /// cancel out are left alone.
    pub async fn apply(self, conn: &mut AnyConnection) -> anyhow::Result<()> {
        // The declined-request aggregates' key, then a cube's.
        let deal = |d: &Deal| {
            vec![
                Param::from(d.month.as_str()),
                Param::from(d.segment_key.as_str()),
                Param::from(d.outcome.as_str()),
                Param::from(d.competitor.as_str()),
            ]
        };
        let slice = |d: &Deal| {
            let mut row = deal(d);
            row.extend([
                Param::from(d.region.as_str()),
                Param::from(d.product_line.as_str()),
            ]);
            row
        };
        let mut values = std::collections::BTreeSet::new();
        let nps: Vec<Vec<Param>> = self
            .nps
            .iter()
            .filter(|(_, v)| v.iter().any(|n| *n != 0))
            .map(|((d, method), v)| {
                values.extend(d.values());
                let mut row = slice(d);
                row.push(Param::from(method.as_str()));
                row.extend(v.iter().map(|n| Param::from(*n)));
                row
            })
            .collect();
        execute_many(
            conn,
            "insert into nps_rollup (month, segment_key, outcome, competitor, region,
                 product_line, method, promoters, passives, detractors)",
            "on conflict (segment_key, region, product_line, month, outcome, competitor, method)
             do update set
                 promoters = nps_rollup.promoters + excluded.promoters,
                 passives = nps_rollup.passives + excluded.passives,
                 detractors = nps_rollup.detractors + excluded.detractors",
            nps,
        )
        .await?;
        let drivers: Vec<Vec<Param>> = self
            .drivers
            .iter()
            .filter(|(_, v)| v.iter().any(|n| *n != 0))
            .map(|((d, driver), v)| {
                values.extend(d.values());
                let mut row = slice(d);
                row.push(Param::from(driver.as_str()));
                row.extend(v.iter().map(|n| Param::from(*n)));
                row
            })
            .collect();
        execute_many(
            conn,
            "insert into driver_rollup (month, segment_key, outcome, competitor, region,
                 product_line, driver, mentions, positive, negative, sole_negative)",
            "on conflict (segment_key, region, product_line, month, outcome, competitor, driver)
             do update set
                 mentions = driver_rollup.mentions + excluded.mentions,
                 positive = driver_rollup.positive + excluded.positive,
                 negative = driver_rollup.negative + excluded.negative,
                 sole_negative = driver_rollup.sole_negative + excluded.sole_negative",
            drivers,
        )
        .await?;
        let coded: Vec<Vec<Param>> = self
            .coded
            .iter()
            .filter(|(_, n)| **n != 0)
            .map(|(d, n)| {
                values.extend(d.values());
                let mut row = slice(d);
                row.push(Param::from(*n));
                row
            })
            .collect();
        execute_many(
            conn,
            "insert into coded_rollup (month, segment_key, outcome, competitor, region,
                 product_line, responses)",
            "on conflict (segment_key, region, product_line, month, outcome, competitor)
             do update set
                 responses = coded_rollup.responses + excluded.responses",
            coded,
        )
        .await?;
        let declined: Vec<Vec<Param>> = self
            .declined
            .iter()
            .filter(|(_, v)| v.iter().any(|n| *n != 0))
            .map(|((d, instead), v)| {
                let mut row = deal(d);
                row.push(Param::from(instead.as_str()));
                row.extend(v.iter().map(|n| Param::from(*n)));
                row
            })
            .collect();
        execute_many(
            conn,
            "insert into declined_rollup (month, segment_key, outcome, competitor, instead,
                 answered, coded)",
            "on conflict (month, segment_key, outcome, competitor, instead) do update set
                 answered = declined_rollup.answered + excluded.answered,
                 coded = declined_rollup.coded + excluded.coded",
            declined,
        )
        .await?;
        let needs: Vec<Vec<Param>> = self
            .needs
            .iter()
            .filter(|(_, n)| **n != 0)
            .map(|((d, need), n)| {
                let mut row = deal(d);
                row.extend([
                    Param::from(need.driver.as_str()),
                    Param::from(need.product_line.as_str()),
                    Param::from(need.persona.as_str()),
                    Param::from(need.period.as_str()),
                    Param::from(*n),
                ]);
                row
            })
            .collect();
        execute_many(
            conn,
            "insert into unmet_need_rollup (month, segment_key, outcome, competitor, driver,
                 product_line, persona, period, requests)",
            "on conflict (month, segment_key, outcome, competitor, driver, product_line,
                 persona, period) do update set
                 requests = unmet_need_rollup.requests + excluded.requests",
            needs,
        )
        .await?;
        // Last, after every aggregate: all writers take their locks in one order.
        add_values(conn, values).await
    }
}

/// The values of sliced dimension `dimension` the aggregates hold, "none" left out, in
/// order: the choices a filter offers.
pub async fn values(db: &crate::platform::db::Db, dimension: &str) -> anyhow::Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "select value from slice_values where dimension = $1 and value <> '' order by value",
    )
    .bind(dimension)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(|(v,)| v).collect())
}

/// Records the values of sliced dimensions the aggregates now hold (none is ever
/// removed: a value retracted to nothing reads as an empty group).
pub async fn add_values<'a>(
    conn: &mut AnyConnection,
    values: impl IntoIterator<Item = (&'static str, &'a str)>,
) -> anyhow::Result<()> {
    let rows: BTreeSet<(&str, &str)> = values.into_iter().filter(|(_, v)| *v != ALL).collect();
    let rows = rows
        .into_iter()
        .map(|(dimension, value)| vec![Param::from(dimension), Param::from(value)])
        .collect();
    execute_many(
        conn,
        "insert into slice_values (dimension, value)",
        "on conflict (dimension, value) do nothing",
        rows,
    )
    .await?;
    Ok(())
}

fn bind_all<'q, O>(
    mut query: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>,
    ids: &[&str],
) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>> {
    for id in ids {
        query = query.bind(id.to_string());
    }
    query
}

/// A change to a response under way, in a transaction: see [`Change::begin`].
#[must_use = "finish the change, or the aggregates miss it"]
pub struct Change {
    id: String,
    /// The response's contribution before the change, retracted; none when it has not
    /// contributed yet (the coder will add it whole).
    before: Option<Deltas>,
}

impl Change {
    /// Starts a change to response `id` in `tx`: the response row is locked first (a
    /// no-op write: concurrent changes to one response queue here), and what it
    /// contributes now is read, to be swapped for what it contributes after
    /// ([`Change::finish`]).
    pub async fn begin(tx: &mut AnyConnection, id: &str) -> anyhow::Result<Change> {
        let coded: Option<(Option<String>,)> = sqlx::query_as(
            "update responses set coded_at = coded_at where id = $1 returning coded_at",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let before = match coded {
            Some((Some(_),)) => Some(Deltas::of(tx, &[id], -1).await?),
            _ => None,
        };
        Ok(Change {
            id: id.to_owned(),
            before,
        })
    }

    /// Swaps the response's old contribution for its new one, and puts its texts in the
    /// analysts' queue as they now stand (coded ones out, new notes in).
    pub async fn finish(self, tx: &mut AnyConnection) -> anyhow::Result<()> {
        if let Some(before) = self.before {
            let after = Deltas::of(tx, &[self.id.as_str()], 1).await?;
            before.plus(after).apply(tx).await?;
            crate::insights::queue::refresh(tx, &[self.id.as_str()]).await?;
        }
        Ok(())
    }
}

impl Deltas {
    /// Without the keys whose sums are all zero: a key retracted to nothing reads the same
    /// as one never added.
    fn without_zeros(mut self) -> Deltas {
        self.nps.retain(|_, v| v.iter().any(|n| *n != 0));
        self.drivers.retain(|_, v| v.iter().any(|n| *n != 0));
        self.coded.retain(|_, n| *n != 0);
        self.declined.retain(|_, v| v.iter().any(|n| *n != 0));
        self.needs.retain(|_, n| *n != 0);
        self
    }
}

/// The aggregates as stored.
pub async fn stored(db: &crate::platform::db::Db) -> anyhow::Result<Deltas> {
    let mut out = Deltas::default();
    for (deal, mut keys, n) in rows(db, "nps_rollup", true, &["method"], 3).await? {
        out.nps.insert((deal, keys.remove(0)), [n[0], n[1], n[2]]);
    }
    for (deal, mut keys, n) in rows(db, "driver_rollup", true, &["driver"], 4).await? {
        out.drivers
            .insert((deal, keys.remove(0)), [n[0], n[1], n[2], n[3]]);
    }
    for (deal, _, n) in rows(db, "coded_rollup", true, &[], 1).await? {
        out.coded.insert(deal, n[0]);
    }
    for (deal, mut keys, n) in rows(db, "declined_rollup", false, &["instead"], 2).await? {
        out.declined.insert((deal, keys.remove(0)), [n[0], n[1]]);
    }
    let need = ["driver", "product_line", "persona", "period"];
    for (deal, keys, n) in rows(db, "unmet_need_rollup", false, &need, 1).await? {
        let [driver, product_line, persona, period] =
            <[String; 4]>::try_from(keys).expect("four keys");
        let need = Need {
            driver,
            product_line,
            persona,
            period,
        };
        out.needs.insert((deal, need), n[0]);
    }
    Ok(out.without_zeros())
}

/// Every row of aggregate `table`: its deal (with region and product line when
/// `sliced`), its other key columns `keys`, and the `counts` count columns that follow
/// them.
async fn rows(
    db: &crate::platform::db::Db,
    table: &str,
    sliced: bool,
    keys: &[&str],
    counts: usize,
) -> anyhow::Result<Vec<(Deal, Vec<String>, Vec<i64>)>> {
    use sqlx::Row;
    let deal: &[&str] = if sliced {
        &[
            "month",
            "segment_key",
            "region",
            "product_line",
            "outcome",
            "competitor",
        ]
    } else {
        &["month", "segment_key", "outcome", "competitor"]
    };
    // `select *` reads the columns in table order: the deal, the keys, then the counts.
    let first_count = deal.len() + keys.len();
    let stored = sqlx::query(&format!("select * from {table}"))
        .fetch_all(db.pool())
        .await?;
    stored
        .iter()
        .map(|row| {
            let text = |c: &str| row.try_get::<String, _>(c);
            let n: Vec<i64> = (0..counts)
                .map(|i| row.try_get::<i64, _>(first_count + i))
                .collect::<Result<_, _>>()?;
            let deal = Deal {
                month: text("month")?,
                segment_key: text("segment_key")?,
                region: if sliced {
                    text("region")?
                } else {
                    String::new()
                },
                product_line: if sliced {
                    text("product_line")?
                } else {
                    String::new()
                },
                outcome: text("outcome")?,
                competitor: text("competitor")?,
            };
            let keys = keys.iter().map(|k| text(k)).collect::<Result<_, _>>()?;
            Ok((deal, keys, n))
        })
        .collect()
}

/// The aggregates recounted from every coded response, as a full scan would: what
/// [`stored`] must equal.
pub async fn recount(db: &crate::platform::db::Db) -> anyhow::Result<Deltas> {
    let ids: Vec<(String,)> =
        sqlx::query_as("select id from responses where coded_at is not null order by id")
            .fetch_all(db.pool())
            .await?;
    let ids: Vec<&str> = ids.iter().map(|(id,)| id.as_str()).collect();
    let mut conn = db.pool().acquire().await?;
    Ok(Deltas::of(&mut conn, &ids, 1).await?.without_zeros())
}
