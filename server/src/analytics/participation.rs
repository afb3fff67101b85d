//! `GET /api/v1/participation`: the invitation funnel and NPS, overall and by outcome.

use crate::auth::{Permission, Staff};
use crate::outreach::Outcome;
use crate::platform::db::Db;
use crate::web::error::ApiResult;
use actix_web::{get, web, HttpResponse};
use debrief_common::ErrorBody;
use debrief_common::{NpsScore, NpsSummary};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Default, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct Funnel {
    pub invited: u64,
    pub sent: u64,
    pub opened: u64,
    pub started: u64,
    pub completed: u64,
    /// Buyers who asked for no more surveys before answering this one.
    pub opted_out: u64,
    /// Addresses the receiving server refused for good.
    pub bounced: u64,
}

/// Each step as a share of invitations, from 0 to 1; `None` when nobody was invited.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Rates {
    pub sent: Option<f64>,
    pub opened: Option<f64>,
    pub started: Option<f64>,
    pub completed: Option<f64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Nps {
    /// −100 to 100; `None` until someone answers.
    pub score: Option<f64>,
    pub sample_size: u64,
    #[serde(flatten)]
    pub counts: NpsSummary,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Segment {
    #[serde(flatten)]
    pub funnel: Funnel,
    pub rates: Rates,
    /// Confirmed: answers the buyers sent from the survey.
    pub nps: Nps,
    /// Provisional: scores clicked in the email by buyers who have not confirmed one,
    /// where every click of the invitation agrees (a link scanner opens them all). Kept
    /// apart: a click may be a gateway's, not the buyer's.
    pub provisional_nps: Nps,
}

impl Nps {
    fn of(summary: NpsSummary) -> Nps {
        Nps {
            score: summary.score(),
            sample_size: summary.sample_size(),
            counts: summary,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Participation {
    pub overall: Segment,
    /// Every outcome is listed, with zeros where no deal has it yet, so dashboards need
    /// no special case.
    pub by_outcome: BTreeMap<&'static str, Segment>,
}

impl Segment {
    fn new(funnel: Funnel, nps: NpsSummary, provisional: NpsSummary) -> Segment {
        let rate = |n: u64| (funnel.invited > 0).then(|| round3(n as f64 / funnel.invited as f64));
        Segment {
            rates: Rates {
                sent: rate(funnel.sent),
                opened: rate(funnel.opened),
                started: rate(funnel.started),
                completed: rate(funnel.completed),
            },
            nps: Nps::of(nps),
            provisional_nps: Nps::of(provisional),
            funnel,
        }
    }
}

impl std::ops::AddAssign for Funnel {
    fn add_assign(&mut self, other: Self) {
        self.invited += other.invited;
        self.sent += other.sent;
        self.opened += other.opened;
        self.started += other.started;
        self.completed += other.completed;
        self.opted_out += other.opted_out;
        self.bounced += other.bounced;
    }
}

/// outcome, invited, sent, opened, started, completed, opted out, bounced.
type FunnelRow = (String, i64, i64, i64, i64, i64, i64, i64);

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Participation and NPS by outcome, from the funnel and NPS aggregates; the caller has
/// had the folders catch up.
pub async fn participation(db: &Db) -> anyhow::Result<Participation> {
    // A failed invitation never reached the buyer: it counts as invited but not sent.
    let every = super::rollups::every_slice("r");
    let funnels: Vec<FunnelRow> = sqlx::query_as(&format!(
        "select outcome, cast(sum(invited) as bigint), cast(sum(sent) as bigint),
                cast(sum(opened) as bigint), cast(sum(started) as bigint),
                cast(sum(completed) as bigint), cast(sum(opted_out) as bigint),
                cast(sum(bounced) as bigint)
         from funnel_rollup r where {every} group by outcome"
    ))
    .fetch_all(db.pool())
    .await?;
    // Complete answers, as the coder counted them.
    let scores: Vec<(String, i64, i64, i64)> = sqlx::query_as(&format!(
        "select outcome, cast(sum(promoters) as bigint), cast(sum(passives) as bigint),
                cast(sum(detractors) as bigint)
         from nps_rollup r where {every} group by outcome"
    ))
    .fetch_all(db.pool())
    .await?;
    // Buyers who gave a score and have not finished (or left): their score counts here,
    // read as it stands, since it may still change; the aggregates hold complete answers.
    // `cross join` keeps SQLite on the few answers under way (`responses_partial`) first:
    // planned without statistics, it walked every score instead (300 ms at a million
    // responses). PostgreSQL plans a cross join with a condition like an inner join.
    let partial: Vec<(String, i64, i64)> = sqlx::query_as(
        "select r.outcome, s.number, count(*)
         from responses r
         cross join response_items s
         where s.response_id = r.id and s.question_id = 'nps' and s.item = ''
           and r.status = 'partial' and r.outcome is not null and s.number is not null
         group by r.outcome, s.number",
    )
    .fetch_all(db.pool())
    .await?;

    // Per invitation with clicks and no confirmed score: its outcome, lowest and highest
    // score clicked. Only where the two agree is it a provisional score.
    let clicked: Vec<(String, i64, i64)> = sqlx::query_as(
        "select d.outcome, min(c.score), max(c.score)
         from score_clicks c
         join invitations i on i.id = c.invitation_id
         join deals d on d.id = i.deal_id
         where not exists (
             select 1 from responses r
             join response_items s on s.response_id = r.id and s.question_id = 'nps'
             where r.invitation_id = c.invitation_id)
         group by c.invitation_id, d.outcome",
    )
    .fetch_all(db.pool())
    .await?;

    let mut by_funnel: BTreeMap<String, Funnel> = BTreeMap::new();
    for (outcome, invited, sent, opened, started, completed, opted_out, bounced) in funnels {
        by_funnel.insert(
            outcome,
            Funnel {
                invited: count(invited),
                sent: count(sent),
                opened: count(opened),
                started: count(started),
                completed: count(completed),
                opted_out: count(opted_out),
                bounced: count(bounced),
            },
        );
    }
    let mut by_nps: BTreeMap<String, NpsSummary> = scores
        .into_iter()
        .map(|(outcome, promoters, passives, detractors)| {
            let summary = NpsSummary {
                promoters: count(promoters),
                passives: count(passives),
                detractors: count(detractors),
            };
            (outcome, summary)
        })
        .collect();
    for (outcome, score, n) in partial {
        let score = NpsScore::parse(score).map_err(anyhow::Error::msg)?;
        by_nps.entry(outcome).or_default().add(score, count(n));
    }

    let mut by_provisional: BTreeMap<String, NpsSummary> = BTreeMap::new();
    for (outcome, low, high) in clicked {
        if low != high {
            continue;
        }
        let score = NpsScore::parse(low).map_err(anyhow::Error::msg)?;
        by_provisional.entry(outcome).or_default().add(score, 1);
    }

    let mut total_funnel = Funnel::default();
    let mut total_nps = NpsSummary::default();
    let mut total_provisional = NpsSummary::default();
    let mut by_outcome = BTreeMap::new();
    for outcome in Outcome::ALL {
        let f = by_funnel.get(outcome.as_str()).copied().unwrap_or_default();
        let n = by_nps.get(outcome.as_str()).copied().unwrap_or_default();
        let p = by_provisional
            .get(outcome.as_str())
            .copied()
            .unwrap_or_default();
        total_funnel += f;
        total_nps += n;
        total_provisional += p;
        by_outcome.insert(outcome.as_str(), Segment::new(f, n, p));
    }
    Ok(Participation {
        overall: Segment::new(total_funnel, total_nps, total_provisional),
        by_outcome,
    })
}

#[utoipa::path(get, path = "/api/v1/participation", tag = "analytics", responses((status = 200, body = Participation), (status = 401, description = "No valid API key", body = ErrorBody), (status = 403, description = "The key's role may not", body = ErrorBody)), security(("api_key" = [])))]
#[get("/api/v1/participation")]
pub async fn get_participation(
    staff: Staff,
    db: web::Data<Db>,
    definitions: web::Data<crate::surveys::definitions::Definitions>,
    clock: web::Data<crate::app::clock::Clock>,
) -> ApiResult<HttpResponse> {
    staff.require(Permission::ReadParticipation)?;
    crate::insights::coding::catch_up(&db, &definitions, clock.now()).await?;
    super::funnel::catch_up(&db).await?;
    Ok(HttpResponse::Ok().json(participation(&db).await?))
}
