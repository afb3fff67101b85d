//! The buyer's progress through a survey, and the answer itself.

use super::progress::{open_rows, store_rows, Row};
use crate::invitations::{self, Event, Target};
use crate::outreach::follow_up::{self, FollowUp};
use crate::platform::db::conn::Conn;
use crate::platform::db::rows::Param;
use crate::platform::db::time::{from_db, to_db};
use crate::platform::db::{self, Db};
use crate::programs::store::Programs;
use crate::programs::{Period, Program};
use chrono::{DateTime, Utc};
use debrief_common::survey::{DealAttribute, SurveyContext};
use debrief_common::{Locale, ValidAnswer};
use sqlx::Acquire;

pub async fn mark_opened(db: &Db, invitation_id: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
    invitations::apply(
        db.pool(),
        Target::Invitation(invitation_id),
        Event::Open,
        now,
    )
    .await?;
    Ok(())
}

pub async fn mark_started(db: &Db, invitation_id: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
    invitations::apply(
        db.pool(),
        Target::Invitation(invitation_id),
        Event::Start,
        now,
    )
    .await?;
    Ok(())
}

#[derive(Debug, PartialEq, Eq)]
pub enum Recorded {
    /// With the interview invitation the answer asked for, if any.
    Saved {
        interview: Option<String>,
    },
    AlreadyAnswered,
    /// The invitation closed meanwhile (the buyer opted out): nothing was stored.
    Closed,
}

/// Stores the answer and completes the invitation, atomically. The unique key on
/// `responses.invitation_id` settles a race between two submits: one wins, the other is
/// told the survey was already answered.
pub async fn record_answer(
    db: &Db,
    programs: &Programs,
    invitation_id: &str,
    locale: Locale,
    answer: &ValidAnswer,
    follow_up: Option<&FollowUp<'_>>,
    now: DateTime<Utc>,
) -> anyhow::Result<Recorded> {
    let stamp = to_db(now);
    let deal = FrozenDeal::load(db, programs, invitation_id).await?;
    let response_id = db::new_id();
    let mut conn = db.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    // The fixed two questions answer no survey version.
    let row = response_row(
        &response_id,
        invitation_id,
        locale,
        &deal,
        None,
        "complete",
        &stamp,
    );
    let inserted = insert_responses(&mut tx, vec![row]).await?;
    if inserted == 0 {
        return Ok(Recorded::AlreadyAnswered);
    }
    let mut rows = vec![(
        "nps",
        Row::new("", Some(i64::from(answer.nps.value())), None),
    )];
    if let Some(reason) = &answer.reason {
        rows.push(("reason", Row::new("", None, Some(reason))));
    }
    store_rows(&mut tx, &response_id, rows).await?;
    let Some(interview) =
        complete_in(&mut tx, invitation_id, follow_up, answer.interview, now).await?
    else {
        tx.rollback().await?;
        return Ok(Recorded::Closed);
    };
    tx.commit().await?;
    Ok(Recorded::Saved { interview })
}

/// Stores response rows made by [`response_row`], with the deal frozen as it is now, each
/// unless its invitation has one already; gives the rows inserted.
pub(crate) async fn insert_responses<C: Conn>(
    tx: &mut C,
    rows: Vec<Vec<Param>>,
) -> anyhow::Result<u64> {
    tx.execute_many(
        "insert into responses (id, invitation_id, locale, submitted_at, outcome, segment_key,
             competitor, region, persona, product_line, amount_band, period, month,
             survey_key, survey_version, status, updated_at)",
        "on conflict (invitation_id) do nothing",
        rows,
    )
    .await
}

/// A response's row for [`insert_responses`], submitted and updated at `stamp`. `survey` is
/// the key and version answered; none for the fixed two questions of the JSON API.
pub(crate) fn response_row(
    response_id: &str,
    invitation_id: &str,
    locale: Locale,
    deal: &FrozenDeal,
    survey: Option<(&str, i64)>,
    status: &str,
    stamp: &str,
) -> Vec<Param> {
    vec![
        Param::from(response_id),
        Param::from(invitation_id),
        Param::from(locale.code()),
        Param::from(stamp),
        Param::from(&deal.outcome),
        Param::from(deal.segment_key.as_deref()),
        Param::from(deal.competitor.as_deref()),
        Param::from(deal.region.as_deref()),
        Param::from(deal.persona.as_deref()),
        Param::from(deal.product_line.as_deref()),
        Param::from(deal.amount_band),
        Param::from(&deal.period),
        Param::from(&deal.month),
        Param::from(survey.map(|(key, _)| key)),
        Param::from(survey.map(|(_, version)| version)),
        Param::from(status),
        Param::from(stamp),
    ]
}

/// Completes the invitation in the caller's transaction, with the answer stored in it:
/// the incentive is earned once (the completion is what earns it), and the buyer who said
/// yes to a conversation is invited with the answer or not at all. `None` when the
/// invitation closed meanwhile (an opt-out): the caller rolls back.
pub(super) async fn complete_in(
    tx: &mut sqlx::AnyConnection,
    invitation_id: &str,
    follow_up: Option<&FollowUp<'_>>,
    wants_interview: bool,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<Option<String>>> {
    // Guarded, so an opt-out that landed after the caller looked is not overwritten.
    let completed = invitations::apply(
        &mut *tx,
        Target::Invitation(invitation_id),
        Event::Complete,
        now,
    )
    .await?;
    if completed == 0 {
        return Ok(None);
    }
    crate::incentives::earn(tx, invitation_id, now).await?;
    let interview = match follow_up.filter(|_| wants_interview) {
        Some(follow_up) => follow_up::invite(tx, follow_up, invitation_id, now).await?,
        None => None,
    };
    Ok(Some(interview))
}

/// The deal as it stood when the buyer answered: analysis by segment reads this, not the
/// deal the CRM may have edited since.
pub(crate) struct FrozenDeal {
    pub(super) outcome: String,
    pub(super) segment_key: Option<String>,
    /// The first competitor met, if any.
    pub(super) competitor: Option<String>,
    pub(super) region: Option<String>,
    pub(super) persona: Option<String>,
    pub(super) product_line: Option<String>,
    pub(super) amount_band: &'static str,
    pub(super) period: String,
    /// The month decided (`2026-11`), for trends whatever the program's period.
    pub(super) month: String,
}

impl FrozenDeal {
    /// The deal behind one invitation, frozen now.
    pub(crate) async fn load(
        db: &Db,
        programs: &Programs,
        invitation_id: &str,
    ) -> anyhow::Result<FrozenDeal> {
        SurveyedDeal::load(db, invitation_id)
            .await?
            .frozen(db, programs)
            .await
    }
}

/// The deal behind an invitation as surveys read it, in one query: in conditions and
/// texts ([`SurveyedDeal::context`]) and frozen with each response
/// ([`SurveyedDeal::frozen`]).
pub(super) struct SurveyedDeal {
    outcome: String,
    segment_key: Option<String>,
    /// The first competitor met, if any.
    competitor: Option<String>,
    region: Option<String>,
    persona: Option<String>,
    product_line: Option<String>,
    company_type: Option<String>,
    amount_minor: i64,
    decided_at: DateTime<Utc>,
    program_version: Option<i64>,
}

/// A [`SurveyedDeal`] as read from `invitations i join deals d` (`Conn::fetch_in`), flattened into the row a survey opens with
/// (`progress::open_rows`).
#[derive(serde::Deserialize)]
pub(super) struct DealRow {
    outcome: String,
    segment_key: Option<String>,
    competitors: String,
    region: Option<String>,
    persona: Option<String>,
    product_line: Option<String>,
    company_type: Option<String>,
    amount_minor: i64,
    decided_at: String,
    program_version: Option<i64>,
}

impl DealRow {
    /// Its fields, as `(name, expression)` over `i` (the invitation) and `d` (its deal).
    pub(super) const FIELDS: &[(&str, &str)] = &[
        ("outcome", "d.outcome"),
        ("segment_key", "i.segment_key"),
        ("competitors", "d.competitors"),
        ("region", "d.region"),
        ("persona", "d.persona"),
        ("product_line", "d.product_line"),
        ("company_type", "d.company_type"),
        ("amount_minor", "d.amount_minor"),
        ("decided_at", "d.decided_at"),
        ("program_version", "i.program_version"),
    ];
}

impl TryFrom<DealRow> for SurveyedDeal {
    type Error = anyhow::Error;

    fn try_from(row: DealRow) -> anyhow::Result<SurveyedDeal> {
        Ok(SurveyedDeal {
            outcome: row.outcome,
            segment_key: row.segment_key,
            competitor: serde_json::from_str::<Vec<String>>(&row.competitors)
                .ok()
                .and_then(|c| c.into_iter().next()),
            region: row.region,
            persona: row.persona,
            product_line: row.product_line,
            company_type: row.company_type,
            amount_minor: row.amount_minor,
            decided_at: from_db(&row.decided_at)?,
            program_version: row.program_version,
        })
    }
}

impl SurveyedDeal {
    /// The deal behind one invitation, read as a survey opens it.
    pub(super) async fn load(db: &Db, invitation_id: &str) -> anyhow::Result<SurveyedDeal> {
        let mut conn = db.pool().acquire().await?;
        let row = open_rows(&mut conn, &[invitation_id])
            .await?
            .pop()
            .ok_or_else(|| anyhow::anyhow!("invitation {invitation_id} has no deal"))?;
        SurveyedDeal::try_from(row.deal)
    }

    /// The deal as the survey's conditions and texts read it, with the vendor's name.
    pub(super) fn context(&self, company: &str) -> SurveyContext {
        let deal = [
            (DealAttribute::Outcome, Some(&self.outcome)),
            (DealAttribute::Segment, self.segment_key.as_ref()),
            (DealAttribute::Competitor, self.competitor.as_ref()),
            (DealAttribute::Region, self.region.as_ref()),
            (DealAttribute::Persona, self.persona.as_ref()),
            (DealAttribute::ProductLine, self.product_line.as_ref()),
            (DealAttribute::CompanyType, self.company_type.as_ref()),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?.clone())))
        .collect();
        SurveyContext {
            company: company.to_owned(),
            deal,
        }
    }

    /// As stored with a response: the period is the one of the program that invited.
    pub(super) async fn frozen(&self, db: &Db, programs: &Programs) -> anyhow::Result<FrozenDeal> {
        let program = match self.program_version {
            Some(v) => programs.version(db, v).await?,
            None => None,
        };
        Ok(self.frozen_under(program.as_deref()))
    }

    /// [`SurveyedDeal::frozen`], the program read through `conn` if not cached: the
    /// answer writer's, in its transaction (a pooled connection there could wait on the
    /// very write lock the transaction holds).
    pub(super) async fn frozen_in<C: Conn>(
        &self,
        conn: &mut C,
        programs: &Programs,
    ) -> anyhow::Result<FrozenDeal> {
        let program = match self.program_version {
            Some(v) => programs.load(conn, v).await?,
            None => None,
        };
        Ok(self.frozen_under(program.as_deref()))
    }

    /// Frozen under the program that invited, if any.
    fn frozen_under(&self, program: Option<&Program>) -> FrozenDeal {
        let period = program.map_or(Period::Quarter, |p| p.period);
        FrozenDeal {
            outcome: self.outcome.clone(),
            segment_key: self.segment_key.clone(),
            competitor: self.competitor.clone(),
            region: self.region.clone(),
            persona: self.persona.clone(),
            product_line: self.product_line.clone(),
            amount_band: amount_band(self.amount_minor),
            period: period.label(self.decided_at),
            month: Period::Month.label(self.decided_at),
        }
    }
}

/// Deal sizes in bands, in the deal's own currency (the migration that added
/// `responses.amount_band` uses the same bounds).
pub fn amount_band(minor_units: i64) -> &'static str {
    match minor_units {
        ..1_000_000 => "under_10k",
        1_000_000..5_000_000 => "10k_to_50k",
        5_000_000..25_000_000 => "50k_to_250k",
        _ => "250k_and_more",
    }
}
