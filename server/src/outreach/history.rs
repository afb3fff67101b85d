//! Loads what planning needs to know about the past, for a set of deals at once: the
//! last invitation of each buyer and account, suppressions, the segments' tallies for the
//! periods involved, and the incentive budget spent.

use super::decision::{Contact, Decision, Declined, Money, Person};
use super::plan::{History, Tally};
use crate::incentives::IncentiveStatus;
use crate::invitations::{InvitationKind, InvitationStatus};
use crate::platform::db::rows::{list, list_from, placeholder};
use crate::platform::db::time::{from_db, to_db};
use crate::platform::db::Db;
use crate::programs::Program;
use chrono::{DateTime, NaiveDate, Utc};
use debrief_common::Locale;
use sqlx::AnyConnection;
use std::collections::{BTreeSet, HashMap, HashSet};

/// Per segment: completed responses and invited deals by outcome, for deals decided in
/// `[start, end)`, all of them or only those in `only`. None without segments to count.
async fn period_tallies(
    conn: &mut AnyConnection,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    segment_keys: &[&str],
    only: Option<&[&str]>,
) -> anyhow::Result<HashMap<String, Tally>> {
    if segment_keys.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = {
        let p = |n| placeholder(conn, n);
        format!(
            "select d.segment_key, d.outcome, count(distinct d.id),
                cast(sum(case when i.status = {} then 1 else 0 end) as bigint)
         from deals d join invitations i on i.deal_id = d.id
         where d.decided_at >= {} and d.decided_at < {} and i.status <> {}
           and d.segment_key in ({}) {}
         group by d.segment_key, d.outcome",
            p(1),
            p(2),
            p(3),
            p(4),
            list_from(conn, 5, segment_keys.len()),
            only.map(|ids| {
                let first = 5 + segment_keys.len();
                format!("and d.crm_id in ({})", list_from(conn, first, ids.len()))
            })
            .unwrap_or_default(),
        )
    };
    let mut q = sqlx::query_as::<_, (String, String, i64, i64)>(&sql)
        .bind(InvitationStatus::Completed.as_str())
        .bind(to_db(start))
        .bind(to_db(end))
        .bind(InvitationStatus::Cancelled.as_str());
    for k in segment_keys {
        q = q.bind(*k);
    }
    for id in only.unwrap_or_default() {
        q = q.bind(*id);
    }
    let mut tallies: HashMap<String, Tally> = HashMap::new();
    for (segment, outcome, deals, completed) in q.fetch_all(conn).await? {
        let tally = tallies.entry(segment).or_default();
        tally.completed += u32::try_from(completed).unwrap_or(0);
        *tally
            .invited_deals
            .entry(outcome.parse().map_err(anyhow::Error::msg)?)
            .or_default() += u32::try_from(deals).unwrap_or(0);
    }
    Ok(tallies)
}

/// Incentive budget committed in a period (offered, earned or fulfilled), for all deals or
/// only those in `only`.
async fn spent_in(
    conn: &mut AnyConnection,
    period: &str,
    only: Option<&[&str]>,
) -> anyhow::Result<i64> {
    let sql = format!(
        // PostgreSQL sums bigints as numeric: cast back for one type on both engines.
        "select cast(coalesce(sum(n.amount_minor), 0) as bigint)
         from incentives n
         join invitations i on i.id = n.invitation_id
         join deals d on d.id = i.deal_id
         where n.period = {} and n.status <> {} and n.amount_minor is not null {}",
        placeholder(conn, 1),
        placeholder(conn, 2),
        only.map(|ids| format!("and d.crm_id in ({})", list_from(conn, 3, ids.len())))
            .unwrap_or_default(),
    );
    let mut q = sqlx::query_as::<_, (i64,)>(&sql)
        .bind(period)
        .bind(IncentiveStatus::Cancelled.as_str());
    for id in only.unwrap_or_default() {
        q = q.bind(*id);
    }
    Ok(q.fetch_one(conn).await?.0)
}

/// Bind parameters per statement: well under both engines' limits.
const CHUNK: usize = 2_000;

/// A period's segment tallies and budget spent, carried from one chunk of an import to
/// the next. Both are aggregates over the whole period, so reading them for every chunk
/// would make an import quadratic in the deals of a period; an import reads them once
/// and folds its own plans in. Deals posted live while an import runs are therefore not
/// counted against that import's quotas (they see the import's committed chunks).
#[derive(Debug, Default)]
pub struct Carried {
    periods: HashSet<String>,
    tallies: HashMap<(String, String), Tally>,
    spent: HashMap<String, i64>,
}

impl Carried {
    /// Keeps the periods' totals after a run was planned into `history`.
    pub fn keep(&mut self, history: &History) {
        for ((segment, period), tally) in &history.tallies {
            self.tallies
                .insert((segment.clone(), period.clone()), tally.clone());
        }
        for (period, spent) in &history.spent_in_period {
            self.spent.insert(period.clone(), *spent);
        }
        self.periods.extend(history.periods.iter().cloned());
    }
}

/// `own`: whether the deals' own stored invitations count. They do when a deal is
/// recorded (a re-post keeps its invitations); they do not when the preview replays
/// stored deals as if they were new. `carried`: period totals an import already holds.
pub async fn load(
    conn: &mut AnyConnection,
    deals: &[Decision],
    program: &Program,
    own: bool,
    carried: Option<&Carried>,
) -> anyhow::Result<History> {
    let mut h = History::default();
    let crm_ids: Vec<&str> = deals.iter().map(|d| d.crm_id.as_str()).collect();
    let emails: Vec<&str> = deals
        .iter()
        .flat_map(|d| d.contacts.iter().map(|c| c.email.as_str()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let accounts: Vec<&str> = deals
        .iter()
        .map(|d| d.account_key.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let previewed: HashSet<&str> = crm_ids.iter().copied().collect();
    // Budget spent is read only for the caps the program has.
    let budget = program.budget.as_ref();
    let period_budget = budget.is_some_and(|b| b.per_period_minor.is_some());
    let account_budget = budget.is_some_and(|b| b.per_account_minor.is_some());
    // Statuses are written into the SQL (they are constants), so that the address and
    // account lists are the only parameters and bind positionally (see `rows::list`).
    let cancelled = InvitationStatus::Cancelled.as_str();

    for chunk in emails.chunks(CHUNK) {
        let sql = format!(
            "select p.email, d.crm_id, i.kind, i.created_at
             from invitations i
             join persons p on p.id = i.person_id
             join deals d on d.id = i.deal_id
             where i.status <> '{cancelled}' and p.email in ({})",
            list(conn, chunk.len())
        );
        let mut q = sqlx::query_as::<_, (String, String, String, String)>(&sql);
        for e in chunk {
            q = q.bind(*e);
        }
        for (email, crm_id, kind, created_at) in q.fetch_all(&mut *conn).await? {
            if previewed.contains(crm_id.as_str()) {
                if !own {
                    continue;
                }
                let kind: InvitationKind = kind.parse().map_err(anyhow::Error::msg)?;
                h.on_deal.insert((crm_id.clone(), email.clone()), kind);
            }
            h.person_last
                .entry(email)
                .or_default()
                .note(&crm_id, from_db(&created_at)?);
        }

        let sql = format!(
            "select email, source from suppressions where lifted_at is null and email in ({})",
            list(conn, chunk.len())
        );
        let mut q = sqlx::query_as::<_, (String, String)>(&sql);
        for e in chunk {
            q = q.bind(*e);
        }
        for (email, source) in q.fetch_all(&mut *conn).await? {
            h.suppressed
                .insert(email, source.parse().map_err(anyhow::Error::msg)?);
        }
    }

    let periods: BTreeSet<String> = deals
        .iter()
        .map(|d| program.period.label(d.decided_at))
        .collect();
    // An account's invitations matter only within its cooldown of a deal planned here
    // (`plan::within`), each deal planned at or after its decision: older ones are not
    // read. Without this, an account's whole history was read for every preview, and
    // the console's program page grew with the store.
    let cooldown = program.policy.account_cooldown_days;
    let since = deals
        .iter()
        .map(|d| d.decided_at)
        .min()
        .map(|first| first - chrono::Duration::days(cooldown.max(0)));
    for chunk in accounts.chunks(CHUNK) {
        if let Some(since) = since.filter(|_| cooldown > 0) {
            let sql = format!(
                "select a.key, d.crm_id, i.created_at
                 from invitations i
                 join accounts a on a.id = i.account_id
                 join deals d on d.id = i.deal_id
                 where i.status <> '{cancelled}' and i.created_at >= {} and a.key in ({})",
                placeholder(conn, 1),
                list_from(conn, 2, chunk.len())
            );
            let mut q = sqlx::query_as::<_, (String, String, String)>(&sql).bind(to_db(since));
            for a in chunk {
                q = q.bind(*a);
            }
            for (key, crm_id, created_at) in q.fetch_all(&mut *conn).await? {
                if !own && previewed.contains(crm_id.as_str()) {
                    continue;
                }
                h.account_last
                    .entry(key)
                    .or_default()
                    .note(&crm_id, from_db(&created_at)?);
            }
        }

        if account_budget {
            let sql = format!(
                "select a.key, n.period, d.crm_id, n.amount_minor
                 from incentives n
                 join accounts a on a.id = n.account_id
                 join invitations i on i.id = n.invitation_id
                 join deals d on d.id = i.deal_id
                 where n.status <> '{}' and n.amount_minor is not null and a.key in ({})",
                IncentiveStatus::Cancelled.as_str(),
                list(conn, chunk.len()),
            );
            let mut q = sqlx::query_as::<_, (String, String, String, i64)>(&sql);
            for a in chunk {
                q = q.bind(*a);
            }
            for (key, period, crm_id, amount) in q.fetch_all(&mut *conn).await? {
                if periods.contains(&period) && (own || !previewed.contains(crm_id.as_str())) {
                    *h.spent_by_account.entry((key, period)).or_default() += amount;
                }
            }
        }
    }

    // Only the segments whose rules consult their tallies: the aggregate reads every deal
    // of theirs in the period, and a volume segment without a quota has many.
    let segment_keys: Vec<&str> = program
        .segments
        .iter()
        .filter(|s| s.target_per_period.is_some() || s.max_outcome_share.is_some())
        .map(|s| s.key.as_str())
        .collect();
    h.periods = periods.clone();
    for period in &periods {
        if let Some(carried) = carried.filter(|c| c.periods.contains(period)) {
            for ((segment, p), tally) in &carried.tallies {
                if p == period {
                    h.tallies
                        .insert((segment.clone(), p.clone()), tally.clone());
                }
            }
            if let Some(spent) = carried.spent.get(period) {
                h.spent_in_period.insert(period.clone(), *spent);
            }
            continue;
        }
        let Some(deal) = deals
            .iter()
            .find(|d| program.period.label(d.decided_at) == *period)
        else {
            continue;
        };
        let (start, end) = program.period.bounds(deal.decided_at);
        // Aggregates over the whole period; a replay then takes its own deals back out,
        // since they are planned again as if new.
        let mut tallies = period_tallies(&mut *conn, start, end, &segment_keys, None).await?;
        let mut spent = if period_budget {
            spent_in(&mut *conn, period, None).await?
        } else {
            0
        };
        if !own {
            // Only this period's deals can count in it.
            let in_period: Vec<&str> = deals
                .iter()
                .filter(|d| program.period.label(d.decided_at) == *period)
                .map(|d| d.crm_id.as_str())
                .collect();
            for chunk in in_period.chunks(CHUNK) {
                let own_tallies =
                    period_tallies(&mut *conn, start, end, &segment_keys, Some(chunk)).await?;
                for (key, own_tally) in own_tallies {
                    if let Some(t) = tallies.get_mut(&key) {
                        // Two reads, not one snapshot: a completion or a cancellation
                        // in between must not wrap the count around.
                        t.completed = t.completed.saturating_sub(own_tally.completed);
                        for (outcome, n) in own_tally.invited_deals {
                            let count = t.invited_deals.entry(outcome).or_default();
                            *count = count.saturating_sub(n);
                        }
                    }
                }
                if period_budget {
                    spent = (spent - spent_in(&mut *conn, period, Some(chunk)).await?).max(0);
                }
            }
        }
        for (segment, tally) in tallies.drain() {
            h.tallies.insert((segment, period.clone()), tally);
        }
        if period_budget {
            h.spent_in_period.insert(period.clone(), spent);
        }
    }
    Ok(h)
}

/// Stored deals decided in `[start, end)`, as planning sees them, at most `limit`.
pub async fn decided_between(
    db: &Db,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    limit: usize,
) -> anyhow::Result<Vec<Decision>> {
    decisions(db, (start, end), limit, false).await
}

/// The `limit` deals decided last in `start..end`, in decision order, and how many the
/// window holds: what a live preview replays, whatever the store holds.
pub async fn latest_decided(
    db: &Db,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    limit: usize,
) -> anyhow::Result<(Vec<Decision>, usize)> {
    let (total,): (i64,) =
        sqlx::query_as("select count(*) from deals where decided_at >= $1 and decided_at < $2")
            .bind(to_db(start))
            .bind(to_db(end))
            .fetch_one(db.pool())
            .await?;
    let deals = decisions(db, (start, end), limit, true).await?;
    Ok((deals, usize::try_from(total).unwrap_or(0)))
}

/// Deals decided in `start..end` with their buyers, in decision order: the first `limit`,
/// or the last when `latest`.
async fn decisions(
    db: &Db,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    limit: usize,
    latest: bool,
) -> anyhow::Result<Vec<Decision>> {
    #[derive(sqlx::FromRow)]
    struct Deal {
        id: String,
        crm_id: String,
        outcome: String,
        decided_at: String,
        amount_minor: i64,
        currency: String,
        sales_cycle_days: i64,
        competitors: String,
        region: Option<String>,
        persona: Option<String>,
        product_line: Option<String>,
        company_type: Option<String>,
        icp_fit: Option<String>,
        renewal_date: Option<String>,
        strategic: i64,
        declined_reason: Option<String>,
        declined_detail: Option<String>,
        request_kind: Option<String>,
        account_name: String,
        account_key: String,
        account_manager_name: String,
        account_manager_email: String,
    }
    #[derive(sqlx::FromRow)]
    struct Buyer {
        deal_id: String,
        name: String,
        email: String,
        role: Option<String>,
        locale: String,
        time_zone: String,
        created_at: String,
        id: String,
    }
    let deals: Vec<Deal> = sqlx::query_as(&format!(
        "select d.id, d.crm_id, d.outcome, d.decided_at, d.amount_minor, d.currency,
                d.sales_cycle_days, d.competitors, d.region, d.persona, d.product_line,
                d.company_type, d.icp_fit, d.renewal_date, d.strategic, d.declined_reason,
                d.declined_detail, d.request_kind, d.account_name, a.key as account_key,
                d.account_manager_name, d.account_manager_email
         from deals d join accounts a on a.id = d.account_id
         where d.decided_at >= $1 and d.decided_at < $2
         order by d.decided_at {order}, d.id {order}
         limit $3",
        order = if latest { "desc" } else { "asc" }
    ))
    .bind(to_db(start))
    .bind(to_db(end))
    .bind(i64::try_from(limit)?)
    .fetch_all(db.pool())
    .await?;
    let mut deals = deals;
    if latest {
        deals.reverse();
    }
    // The buyers of the deals read, by deal: a join on the window had SQLite walk every
    // contact of the store.
    let mut buyers: Vec<Buyer> = Vec::new();
    let mut conn = db.pool().acquire().await?;
    for chunk in deals.chunks(1_000) {
        let marks = list(&conn, chunk.len());
        let sql = format!(
            "select c.deal_id, c.name, p.email, c.role, c.locale, c.time_zone, c.created_at,
                    c.id
             from contacts c join persons p on p.id = c.person_id
             where c.deal_id in ({marks})"
        );
        let mut query = sqlx::query_as::<_, Buyer>(&sql);
        for d in chunk {
            query = query.bind(d.id.as_str());
        }
        buyers.extend(query.fetch_all(&mut *conn).await?);
    }
    drop(conn);
    // In the order they were recorded, as the planner met them.
    buyers.sort_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
    let mut by_deal: HashMap<String, Vec<Contact>> = HashMap::new();
    for b in buyers {
        by_deal.entry(b.deal_id).or_default().push(Contact {
            name: b.name,
            email: b.email,
            role: b.role,
            locale: Locale::parse(&b.locale).map_err(anyhow::Error::msg)?,
            time_zone: b.time_zone.parse().map_err(anyhow::Error::msg)?,
        });
    }
    fn parse<T: std::str::FromStr<Err = String>>(v: String) -> anyhow::Result<T> {
        v.parse().map_err(anyhow::Error::msg)
    }
    deals
        .into_iter()
        .map(|d| {
            Ok(Decision {
                contacts: by_deal.remove(&d.id).unwrap_or_default(),
                crm_id: d.crm_id,
                outcome: parse(d.outcome)?,
                decided_at: from_db(&d.decided_at)?,
                amount: Money {
                    minor_units: d.amount_minor,
                    currency: d.currency,
                },
                sales_cycle_days: d.sales_cycle_days,
                competitors: serde_json::from_str(&d.competitors)?,
                region: d.region,
                persona: d.persona,
                product_line: d.product_line,
                company_type: d.company_type,
                icp_fit: d.icp_fit.map(parse).transpose()?,
                renewal_date: d
                    .renewal_date
                    .map(|r| NaiveDate::parse_from_str(&r, "%Y-%m-%d"))
                    .transpose()?,
                strategic: d.strategic != 0,
                declined: d
                    .declined_reason
                    .map(|r| -> anyhow::Result<Declined> {
                        Ok(Declined {
                            reason: parse(r)?,
                            detail: d.declined_detail.clone(),
                        })
                    })
                    .transpose()?,
                request_kind: d.request_kind,
                account_name: d.account_name,
                account_key: d.account_key,
                account_manager: Person {
                    name: d.account_manager_name,
                    email: d.account_manager_email,
                },
            })
        })
        .collect()
}
