//! `survey_then_interview`: the survey ends by asking whether the buyer would talk to us
//! for 30 minutes, and a "yes" becomes an interview invitation, sent through the outbox
//! like any other. The buyer asked for it, so the contact policy's cooldowns do not hold
//! it back; a suppression still would (the survey is closed to an opted-out buyer).

use super::store::{schedule_job, NewInvitation, Planner, INVITATIONS};
use crate::interviews::lifecycle::{self, Asked};
use crate::invitations::tokens::Invitation;
use crate::invitations::{InvitationKind, InvitationStatus};
use crate::platform::db::rows::insert_many;
use crate::platform::db::{self, Db};
use crate::programs::{Method, Program, Segment};
use chrono::{DateTime, Utc};
use sqlx::AnyConnection;

/// The follow-up a survey invitation offers at its end (its segment asks for an
/// interview), if it does.
pub async fn offered<'a>(
    db: &Db,
    planner: &'a Planner,
    invitation: &Invitation,
) -> anyhow::Result<Option<FollowUp<'a>>> {
    // Invitations from before programs existed have neither version nor segment.
    let (Some(version), Some(segment_key)) = (invitation.program_version, &invitation.segment_key)
    else {
        return Ok(None);
    };
    if invitation.kind != InvitationKind::Survey {
        return Ok(None);
    }
    let Some(program) = planner.programs.version(db, version).await? else {
        return Ok(None);
    };
    Ok(program
        .segments
        .iter()
        .find(|s| &s.key == segment_key && s.method == Method::SurveyThenInterview)
        .cloned()
        .map(|segment| FollowUp {
            segment,
            program: program.clone(),
            planner,
        }))
}

/// What answering needs to invite the buyer to an interview.
pub struct FollowUp<'a> {
    pub segment: Segment,
    /// The program the survey was sent under: its quiet hours time the interview's email.
    pub program: std::sync::Arc<Program>,
    pub planner: &'a Planner,
}

/// In the answer's transaction: the interview invitation for the buyer of
/// `survey_invitation_id`, with its link and its job (the email at the buyer's next
/// business hour, then its reminders and expiry). `None` when the buyer already has one on this deal.
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
        .for_program(&follow_up.program)
        .schedule(now, tz, &follow_up.segment);
    let row = NewInvitation {
        id: &db::new_id(),
        deal_id: &deal_id,
        contact_id: &contact_id,
        person_id: &person_id,
        account_id: &account_id,
        kind: InvitationKind::Interview,
        status: InvitationStatus::Scheduled,
        status_reason: Some("asked_in_survey"),
        scheduled_for: send_at,
        expires_at,
        program_version: version,
        segment_key: Some(&follow_up.segment.key),
        survey_key: None,
        incentive_key: None,
    }
    .row(now);
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
    lifecycle::open(tx, std::slice::from_ref(&id), Asked::default(), now).await?;
    schedule_job(tx, &id, InvitationKind::Interview, send_at, now).await?;
    Ok(Some(id))
}
