//! The dashboard aggregates (`nps_rollup`, `driver_rollup`, `coded_rollup`): each coded
//! response's contribution, summed. See the migration that adds them for how they stay
//! equal to a full recount under concurrent writes: a response contributes once the coder
//! claims it, and any later change to it retracts its old contribution and adds its new
//! one in the same transaction, with the response row locked.

use crate::interviews::notes::SURVEY_KEY as INTERVIEW;
use crate::platform::db::rows::{execute_many, list, Param};
use debrief_common::{NpsCategory, NpsScore};
use sqlx::AnyConnection;
use std::collections::{BTreeMap, HashMap};

/// The frozen deal a response's contribution is filed under.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Deal {
    month: String,
    segment_key: String,
    outcome: String,
    competitor: String,
}

/// Sums to add to the aggregates; a retraction adds negative ones. Kept sorted by key, so
/// that concurrent transactions update the same rows in the same order and never
/// deadlock.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Deltas {
    /// (deal, region, method) → promoters, passives, detractors.
    nps: BTreeMap<(Deal, String, String), [i64; 3]>,
    /// (deal, driver) → mentions, positive, negative, sole negative.
    drivers: BTreeMap<(Deal, String), [i64; 4]>,
    /// deal → responses with a driver coded.
    coded: BTreeMap<Deal, i64>,
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
}

/// What one response contributes, from what it holds.
#[derive(Debug, Default)]
struct Contribution {
    nps: Option<NpsScore>,
    /// Driver → the sum of the influences coded for it.
    drivers: BTreeMap<String, i64>,
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
                "select id, month, segment_key, outcome, competitor, region, survey_key
                 from responses where id in ({marks})"
            )),
            ids,
        )
        .fetch_all(&mut *conn)
        .await?;
        let mut held: HashMap<String, Contribution> = HashMap::new();
        let scores: Vec<(String, Option<i64>)> = bind_all(
            sqlx::query_as(&format!(
                "select response_id, number from response_items
                 where response_id in ({marks}) and question_id = 'nps' and item = ''"
            )),
            ids,
        )
        .fetch_all(&mut *conn)
        .await?;
        for (id, number) in scores {
            held.entry(id).or_default().nps = number.and_then(|n| NpsScore::parse(n).ok());
        }
        let coded: Vec<(String, String, i64)> = bind_all(
            sqlx::query_as(&format!(
                "select response_id, driver, influence from insights where response_id in ({marks})"
            )),
            ids,
        )
        .fetch_all(&mut *conn)
        .await?;
        for (id, driver, influence) in coded {
            *held
                .entry(id)
                .or_default()
                .drivers
                .entry(driver)
                .or_default() += influence;
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
            outcome: text(&response.outcome),
            competitor: text(&response.competitor),
        };
        if let Some(score) = c.nps {
            let method = if response.survey_key.as_deref() == Some(INTERVIEW) {
                "interview"
            } else {
                "survey"
            };
            let key = (deal.clone(), text(&response.region), method.to_owned());
            let counts = self.nps.entry(key).or_default();
            let at = match score.category() {
                NpsCategory::Promoter => 0,
                NpsCategory::Passive => 1,
                NpsCategory::Detractor => 2,
            };
            counts[at] += sign;
        }
        if c.drivers.is_empty() {
            return;
        }
        *self.coded.entry(deal.clone()).or_default() += sign;
        let against: Vec<&String> = c
            .drivers
            .iter()
            .filter(|(_, sum)| **sum < 0)
            .map(|(d, _)| d)
            .collect();
        for (driver, sum) in &c.drivers {
            let counts = self
                .drivers
                .entry((deal.clone(), driver.clone()))
                .or_default();
            counts[0] += sign;
            counts[1] += sign * i64::from(*sum > 0);
            counts[2] += sign * i64::from(*sum < 0);
            counts[3] += sign * i64::from(against == [driver]);
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
        self
    }

    /// Adds the sums to the aggregates, in the caller's transaction; keys whose sums
    /// cancel out are left alone.
    pub async fn apply(self, conn: &mut AnyConnection) -> anyhow::Result<()> {
        let deal = |d: &Deal| {
            vec![
                Param::from(d.month.as_str()),
                Param::from(d.segment_key.as_str()),
                Param::from(d.outcome.as_str()),
                Param::from(d.competitor.as_str()),
            ]
        };
        let nps: Vec<Vec<Param>> = self
            .nps
            .iter()
            .filter(|(_, v)| v.iter().any(|n| *n != 0))
            .map(|((d, region, method), v)| {
                let mut row = deal(d);
                row.extend([Param::from(region.as_str()), Param::from(method.as_str())]);
                row.extend(v.iter().map(|n| Param::from(*n)));
                row
            })
            .collect();
        execute_many(
            conn,
            "insert into nps_rollup (month, segment_key, outcome, competitor, region, method,
                 promoters, passives, detractors)",
            "on conflict (month, segment_key, outcome, competitor, region, method) do update set
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
                let mut row = deal(d);
                row.push(Param::from(driver.as_str()));
                row.extend(v.iter().map(|n| Param::from(*n)));
                row
            })
            .collect();
        execute_many(
            conn,
            "insert into driver_rollup (month, segment_key, outcome, competitor, driver,
                 mentions, positive, negative, sole_negative)",
            "on conflict (month, segment_key, outcome, competitor, driver) do update set
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
                let mut row = deal(d);
                row.push(Param::from(*n));
                row
            })
            .collect();
        execute_many(
            conn,
            "insert into coded_rollup (month, segment_key, outcome, competitor, responses)",
            "on conflict (month, segment_key, outcome, competitor) do update set
                 responses = coded_rollup.responses + excluded.responses",
            coded,
        )
        .await?;
        Ok(())
    }
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

    /// Swaps the response's old contribution for its new one.
    pub async fn finish(self, tx: &mut AnyConnection) -> anyhow::Result<()> {
        if let Some(before) = self.before {
            let after = Deltas::of(tx, &[self.id.as_str()], 1).await?;
            before.plus(after).apply(tx).await?;
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
        self
    }
}

/// The aggregates as stored.
pub async fn stored(db: &crate::platform::db::Db) -> anyhow::Result<Deltas> {
    let mut out = Deltas::default();
    let deal = |m: String, s: String, o: String, c: String| Deal {
        month: m,
        segment_key: s,
        outcome: o,
        competitor: c,
    };
    type NpsRow = (
        String,
        String,
        String,
        String,
        String,
        String,
        i64,
        i64,
        i64,
    );
    let rows: Vec<NpsRow> = sqlx::query_as(
        "select month, segment_key, outcome, competitor, region, method, promoters, passives,
                detractors from nps_rollup",
    )
    .fetch_all(db.pool())
    .await?;
    for (m, s, o, c, region, method, p, pa, d) in rows {
        out.nps
            .insert((deal(m, s, o, c), region, method), [p, pa, d]);
    }
    type DriverRow = (String, String, String, String, String, i64, i64, i64, i64);
    let rows: Vec<DriverRow> = sqlx::query_as(
        "select month, segment_key, outcome, competitor, driver, mentions, positive, negative,
                sole_negative from driver_rollup",
    )
    .fetch_all(db.pool())
    .await?;
    for (m, s, o, c, driver, a, b, n, sole) in rows {
        out.drivers
            .insert((deal(m, s, o, c), driver), [a, b, n, sole]);
    }
    let rows: Vec<(String, String, String, String, i64)> = sqlx::query_as(
        "select month, segment_key, outcome, competitor, responses from coded_rollup",
    )
    .fetch_all(db.pool())
    .await?;
    for (m, s, o, c, n) in rows {
        out.coded.insert(deal(m, s, o, c), n);
    }
    Ok(out.without_zeros())
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
