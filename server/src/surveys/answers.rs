//! The buyer's progress through a survey, and the answer itself.

use crate::invitations::{self, Event, Target};
use crate::outreach::follow_up::{self, FollowUp};
use crate::platform::db::rows::{execute_many, Param};
use crate::platform::db::time::{from_db, to_db};
use crate::platform::db::{self, Db};
use crate::programs::store::Programs;
use crate::programs::Period;
use chrono::{DateTime, Utc};
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
    let inserted = sqlx::query(
        "insert into responses (id, invitation_id, locale, submitted_at, outcome, segment_key,
             competitor, region, persona, product_line, amount_band, period)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         on conflict (invitation_id) do nothing",
    )
    .bind(&response_id)
    .bind(invitation_id)
    .bind(locale.code())
    .bind(&stamp)
    .bind(&deal.outcome)
    .bind(&deal.segment_key)
    .bind(&deal.competitor)
    .bind(&deal.region)
    .bind(&deal.persona)
    .bind(&deal.product_line)
    .bind(deal.amount_band)
    .bind(&deal.period)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(Recorded::AlreadyAnswered);
    }
    let mut items = vec![Item::number("nps", i64::from(answer.nps.value()))];
    if let Some(reason) = &answer.reason {
        items.push(Item::text("reason", reason));
    }
    store_items(&mut tx, &response_id, &items).await?;
    // Guarded, so an opt-out that landed after the caller looked is not overwritten.
    let completed = invitations::apply(
        &mut *tx,
        Target::Invitation(invitation_id),
        Event::Complete,
        now,
    )
    .await?;
    if completed == 0 {
        tx.rollback().await?;
        return Ok(Recorded::Closed);
    }
    // In the same transaction as the completion that earned it: exactly once.
    crate::incentives::earn(&mut tx, invitation_id, now).await?;
    // The buyer said yes to a conversation: invited with the answer, or not at all.
    let interview = match follow_up.filter(|_| answer.interview) {
        Some(follow_up) => follow_up::invite(&mut tx, follow_up, invitation_id, now).await?,
        None => None,
    };
    tx.commit().await?;
    Ok(Recorded::Saved { interview })
}

/// One row of `response_items`.
struct Item<'a> {
    question: &'a str,
    number: Option<i64>,
    text: Option<&'a str>,
}

impl<'a> Item<'a> {
    fn number(question: &'a str, n: i64) -> Item<'a> {
        Item {
            question,
            number: Some(n),
            text: None,
        }
    }

    fn text(question: &'a str, text: &'a str) -> Item<'a> {
        Item {
            question,
            number: None,
            text: Some(text),
        }
    }
}

async fn store_items(
    conn: &mut sqlx::AnyConnection,
    response_id: &str,
    items: &[Item<'_>],
) -> anyhow::Result<()> {
    let rows = items
        .iter()
        .map(|i| {
            vec![
                Param::from(response_id),
                i.question.into(),
                "".into(),
                i.number.into(),
                i.text.into(),
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

/// The deal as it stood when the buyer answered: analysis by segment reads this, not the
/// deal the CRM may have edited since.
struct FrozenDeal {
    outcome: String,
    segment_key: Option<String>,
    /// The first competitor met, if any.
    competitor: Option<String>,
    region: Option<String>,
    persona: Option<String>,
    product_line: Option<String>,
    amount_band: &'static str,
    period: String,
}

impl FrozenDeal {
    async fn load(db: &Db, programs: &Programs, invitation_id: &str) -> anyhow::Result<FrozenDeal> {
        #[derive(sqlx::FromRow)]
        struct Row {
            outcome: String,
            segment_key: Option<String>,
            competitors: String,
            region: Option<String>,
            persona: Option<String>,
            product_line: Option<String>,
            amount_minor: i64,
            decided_at: String,
            program_version: Option<i64>,
        }
        let row: Row = sqlx::query_as(
            "select d.outcome, i.segment_key, d.competitors, d.region, d.persona, d.product_line,
                    d.amount_minor, d.decided_at, i.program_version
             from invitations i join deals d on d.id = i.deal_id
             where i.id = $1",
        )
        .bind(invitation_id)
        .fetch_one(db.pool())
        .await?;
        let decided_at = from_db(&row.decided_at)?;
        let period = match row.program_version {
            Some(v) => programs.version(db, v).await?.map(|p| p.period),
            None => None,
        }
        .unwrap_or(Period::Quarter);
        Ok(FrozenDeal {
            outcome: row.outcome,
            segment_key: row.segment_key,
            competitor: serde_json::from_str::<Vec<String>>(&row.competitors)
                .ok()
                .and_then(|c| c.into_iter().next()),
            region: row.region,
            persona: row.persona,
            product_line: row.product_line,
            amount_band: amount_band(row.amount_minor),
            period: period.label(decided_at),
        })
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
