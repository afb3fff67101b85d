//! `survey_then_interview`: the survey ends by asking whether the buyer would talk to us
//! for 30 minutes, and a "yes" becomes an interview invitation, sent through the outbox
//! like any other. The buyer asked for it, so the contact policy's cooldowns do not hold
//! it back; a suppression still would (the survey is closed to an opted-out buyer).

use super::store::{schedule_job, Planner, INVITATIONS};
use crate::invitations::{InvitationKind, InvitationStatus};
use crate::platform::db::rows::{insert_many, Param};
use crate::platform::db::{self, time::to_db, Db};
use crate::programs::{Method, Segment};
use chrono::{DateTime, Utc};
use sqlx::AnyConnection;

/// The segment of a survey invitation that asks for an interview at its end, if it does.
pub async fn offered(
    db: &Db,
    planner: &Planner,
    invitation_id: &str,
) -> anyhow::Result<Option<Segment>> {
    // Invitations from before programs existed have neither version nor segment.
    let row: Option<(String, Option<i64>, Option<String>)> =
        sqlx::query_as("select kind, program_version, segment_key from invitations where id = $1")
            .bind(invitation_id)
            .fetch_optional(db.pool())
            .await?;
    let Some((kind, Some(version), Some(segment_key))) = row else {
        return Ok(None);
    };
    if kind != InvitationKind::Survey.as_str() {
        return Ok(None);
    }
    let Some(program) = planner.programs.version(db, version).await? else {
        return Ok(None);
    };
    Ok(program
        .segments
        .iter()
        .find(|s| s.key == segment_key && s.method == Method::SurveyThenInterview)
        .cloned())
}

/// What answering needs to invite the buyer to an interview.
pub struct FollowUp<'a> {
    pub segment: Segment,
    pub planner: &'a Planner,
}

/// In the answer's transaction: the interview invitation for the buyer of
/// `survey_invitation_id`, with its link and jobs (the email at the buyer's next business
/// hour, reminders, expiry). `None` when the buyer already has one on this deal.
pub async fn invite(
    tx: &mut AnyConnection,
    follow_up: &FollowUp<'_>,
    survey_invitation_id: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<String>> {
    let (deal_id, contact_id, person_id, account_id, version, time_zone): (
        String,
        String,
        String,
        String,
        i64,
        String,
    ) = sqlx::query_as(
        "select i.deal_id, i.contact_id, i.person_id, i.account_id, i.program_version, c.time_zone
         from invitations i join contacts c on c.id = i.contact_id
         where i.id = $1",
    )
    .bind(survey_invitation_id)
    .fetch_one(&mut *tx)
    .await?;
    let tz: chrono_tz::Tz = time_zone.parse().map_err(anyhow::Error::msg)?;
    let (send_at, expires_at) = follow_up
        .planner
        .timing
        .schedule(now, tz, &follow_up.segment);
    let row = vec![
        db::new_id().into(),
        deal_id.into(),
        contact_id.into(),
        InvitationKind::Interview.as_str().into(),
        InvitationStatus::Scheduled.as_str().into(),
        "asked_in_survey".into(),
        to_db(send_at).into(),
        to_db(now).into(),
        person_id.into(),
        account_id.into(),
        version.into(),
        follow_up.segment.key.as_str().into(),
        Param::Text(None),
        Param::Text(None),
        to_db(expires_at).into(),
    ];
    let inserted: Vec<(String,)> = insert_many(
        tx,
        INVITATIONS,
        "on conflict (contact_id, kind) do nothing returning id",
        vec![row],
    )
    .await?;
    let Some((id,)) = inserted.into_iter().next() else {
        return Ok(None);
    };
    follow_up
        .planner
        .tokens
        .store_links(tx, &[(id.clone(), expires_at)], now)
        .await?;
    schedule_job(tx, &id, InvitationKind::Interview, send_at, now).await?;
    Ok(Some(id))
}
