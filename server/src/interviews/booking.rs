//! Booking: the slots a buyer is offered, and taking one. Two buyers can never hold one
//! interviewer's time: a booking first locks its interviewer's row (on PostgreSQL a row
//! lock, on SQLite the one writer), checks that nothing booked overlaps it with the
//! buffer, then inserts, under a unique index on (interviewer, start) as the last word.

use super::availability::{Slot, Taken, Window};
use super::emails;
use super::interviewers::{self, Interviewer};
use super::lifecycle::InterviewStatus;
use crate::platform::db::time::{from_db, to_db};
use crate::platform::db::{self, Db};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use debrief_common::Locale;
use sqlx::Acquire;

/// What the booking page knows of an interview.
#[derive(Debug, Clone)]
pub struct Interview {
    pub invitation_id: String,
    pub status: InterviewStatus,
    pub locale: Locale,
    pub contact_name: String,
    pub contact_email: String,
    /// The buyer's zone as the CRM gave it: the page's default.
    pub contact_zone: Tz,
    /// The interviewer the account manager asked for, if any.
    pub asked_interviewer: Option<String>,
    /// The account manager who signs the emails: the one who invited the buyer personally,
    /// else the deal's.
    pub manager_name: String,
    pub manager_email: String,
    pub sequence: i64,
    pub booking: Option<Booking>,
}

/// The slot an interview holds.
#[derive(Debug, Clone)]
pub struct Booking {
    pub id: String,
    pub interviewer: Interviewer,
    pub starts: DateTime<Utc>,
    pub ends: DateTime<Utc>,
    pub buyer_zone: Tz,
    pub phone: Option<String>,
    pub prefers: Option<Prefers>,
}

crate::text_enum! {
    /// How the buyer would like to talk.
    pub enum Prefers {
        Video = "video",
        Phone = "phone",
    }
}

type InterviewRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    i64,
);

/// The interview of invitation `invitation_id`, with its booking.
pub async fn load(db: &Db, invitation_id: &str) -> anyhow::Result<Option<Interview>> {
    let row: Option<InterviewRow> = sqlx::query_as(
        "select v.invitation_id, v.status, c.locale, c.name, p.email, c.time_zone,
                v.interviewer_id,
                coalesce(s.name, d.account_manager_name),
                coalesce(s.email, d.account_manager_email),
                v.sequence
         from interviews v
         join invitations i on i.id = v.invitation_id
         join contacts c on c.id = i.contact_id
         join persons p on p.id = i.person_id
         join deals d on d.id = i.deal_id
         left join staff s on s.id = v.invited_by
         where v.invitation_id = $1",
    )
    .bind(invitation_id)
    .fetch_optional(db.pool())
    .await?;
    let Some((id, status, locale, name, email, zone, asked, manager, manager_email, sequence)) =
        row
    else {
        return Ok(None);
    };
    let booking = booking_of(db, &id, true).await?;
    Ok(Some(Interview {
        invitation_id: id,
        status: status.parse().map_err(anyhow::Error::msg)?,
        locale: Locale::parse(&locale).map_err(anyhow::Error::msg)?,
        contact_name: name,
        contact_email: email,
        contact_zone: zone.parse().map_err(anyhow::Error::msg)?,
        asked_interviewer: asked,
        manager_name: manager,
        manager_email,
        sequence,
        booking,
    }))
}

/// The slot interview `invitation_id` holds, or, unless `held_only`, the last it held.
pub async fn booking_of(
    db: &Db,
    invitation_id: &str,
    held_only: bool,
) -> anyhow::Result<Option<Booking>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: String,
        interviewer_id: String,
        starts_at: String,
        ends_at: String,
        buyer_time_zone: String,
        phone: Option<String>,
        prefers: Option<String>,
    }
    let row: Option<Row> = sqlx::query_as(
        "select id, interviewer_id, starts_at, ends_at, buyer_time_zone, phone, prefers
         from interview_bookings where invitation_id = $1 and (status = 'booked' or $2 = 0)
         order by created_at desc, id desc limit 1",
    )
    .bind(invitation_id)
    .bind(i64::from(held_only))
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let interviewer = match interviewers::find(db, &row.interviewer_id).await? {
        interviewers::Found::Interviewer(i) => i,
        _ => anyhow::bail!("booking {} names no interviewer", row.id),
    };
    Ok(Some(Booking {
        id: row.id,
        interviewer,
        starts: from_db(&row.starts_at)?,
        ends: from_db(&row.ends_at)?,
        buyer_zone: row.buyer_time_zone.parse().map_err(anyhow::Error::msg)?,
        phone: row.phone,
        prefers: row
            .prefers
            .map(|p| p.parse().map_err(anyhow::Error::msg))
            .transpose()?,
    }))
}

/// A slot on offer, with the interviewers free for it.
#[derive(Debug, Clone)]
pub struct Offered {
    pub slot: Slot,
    pub interviewers: Vec<String>,
}

/// What is booked of each interviewer (or of `only` one) from `since`, but `except` (the
/// interview being rescheduled keeps no hold on its own slot).
async fn taken(
    db: &Db,
    since: DateTime<Utc>,
    except: &str,
    only: Option<&str>,
) -> anyhow::Result<Vec<(String, Taken)>> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "select interviewer_id, starts_at, ends_at from interview_bookings
         where status = 'booked' and ends_at > $1 and invitation_id <> $2
           and ($3 = '' or interviewer_id = $3)",
    )
    .bind(to_db(since - Duration::days(1)))
    .bind(except)
    .bind(only.unwrap_or_default())
    .fetch_all(db.pool())
    .await?;
    rows.into_iter()
        .map(|(who, starts, ends)| {
            Ok((
                who,
                Taken {
                    starts: from_db(&starts)?,
                    ends: from_db(&ends)?,
                },
            ))
        })
        .collect()
}

/// What is booked of one interviewer from `since`.
pub async fn taken_of(
    db: &Db,
    interviewer_id: &str,
    since: DateTime<Utc>,
) -> anyhow::Result<Vec<Taken>> {
    Ok(taken(db, since, "", Some(interviewer_id))
        .await?
        .into_iter()
        .map(|(_, t)| t)
        .collect())
}

/// The interviewers an interview may be booked with: the one holding it, else the one
/// asked for, else everyone who published availability.
async fn pool(db: &Db, interview: &Interview) -> anyhow::Result<Vec<Interviewer>> {
    let all = interviewers::list(db).await?;
    Ok(all
        .into_iter()
        .filter(|i| i.availability.is_some())
        .filter(|i| {
            // A move stays with the interviewer who holds the interview: their calendar
            // has it, and a switch would leave it there.
            let held = interview.booking.as_ref().map(|b| &b.interviewer.id);
            held.or(interview.asked_interviewer.as_ref())
                .is_none_or(|who| *who == i.id)
        })
        .collect())
}

/// The free slots offered for `interview`, soonest first, each with who is free then.
pub async fn offered(
    db: &Db,
    interview: &Interview,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<Offered>> {
    let taken = taken(db, now, &interview.invitation_id, None).await?;
    let mut by_start: std::collections::BTreeMap<Slot, Vec<String>> = Default::default();
    for interviewer in pool(db, interview).await? {
        let Some(availability) = &interviewer.availability else {
            continue;
        };
        let theirs: Vec<Taken> = taken
            .iter()
            .filter(|(who, _)| *who == interviewer.id)
            .map(|(_, t)| *t)
            .collect();
        for slot in availability.slots(interviewer.time_zone, &theirs, now, Window::default()) {
            by_start
                .entry(slot)
                .or_default()
                .push(interviewer.id.clone());
        }
    }
    Ok(by_start
        .into_iter()
        .map(|(slot, interviewers)| Offered { slot, interviewers })
        .collect())
}

/// What the buyer sent with the slot.
#[derive(Debug, Clone)]
pub struct Request {
    pub starts: DateTime<Utc>,
    pub buyer_zone: Tz,
    pub phone: Option<String>,
    pub prefers: Option<Prefers>,
}

/// Why a booking was refused.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// The interview is no longer open to booking (cancelled, declined, held…).
    #[error("this interview can no longer be booked")]
    Closed(InterviewStatus),
    /// Not a slot on offer: past, too soon, outside the hours, or taken.
    #[error("this time is not available")]
    Unavailable,
    #[error(transparent)]
    Storage(#[from] anyhow::Error),
}

/// Books `request` for `interview` (or moves its booking there), with the first
/// interviewer free then; gives the booking's id.
pub async fn book(
    db: &Db,
    interview: &Interview,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<String, Refused> {
    if !matches!(
        interview.status,
        InterviewStatus::Invited | InterviewStatus::Booked
    ) {
        return Err(Refused::Closed(interview.status));
    }
    if interview.booking.as_ref().is_some_and(|b| b.starts <= now) {
        // Under way or past: what happened is the interviewer's to note.
        return Err(Refused::Closed(interview.status));
    }
    let offered = offered(db, interview, now).await?;
    let Some(offer) = offered
        .into_iter()
        .find(|o| o.slot.starts == request.starts)
    else {
        return Err(Refused::Unavailable);
    };
    for interviewer_id in &offer.interviewers {
        match book_with(db, interview, request, offer.slot, interviewer_id, now).await {
            Ok(Some(id)) => return Ok(id),
            // Taken meanwhile: the next interviewer free then, if any.
            Ok(None) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Refused::Unavailable)
}

/// One attempt with one interviewer: none when the slot was taken meanwhile.
async fn book_with(
    db: &Db,
    interview: &Interview,
    request: &Request,
    slot: Slot,
    interviewer_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>, Refused> {
    let stamp = to_db(now);
    let mut conn = db.pool().acquire().await.map_err(anyhow::Error::from)?;
    let mut tx = conn.begin().await.map_err(anyhow::Error::from)?;
    // The interview first: a write, so that on SQLite the transaction holds the write lock
    // from here; and a guard, so a booking cancelled meanwhile is not booked.
    let open = sqlx::query(
        "update interviews set updated_at = $1 where invitation_id = $2 and status in ($3, $4)",
    )
    .bind(&stamp)
    .bind(&interview.invitation_id)
    .bind(InterviewStatus::Invited.as_str())
    .bind(InterviewStatus::Booked.as_str())
    .execute(&mut *tx)
    .await
    .map_err(anyhow::Error::from)?;
    if open.rows_affected() == 0 {
        return Err(Refused::Closed(interview.status));
    }
    // Bookings of one interviewer, one at a time: on PostgreSQL this row lock holds the
    // others until this transaction ends, so the check below sees every earlier booking.
    sqlx::query("update staff set updated_at = updated_at where id = $1")
        .bind(interviewer_id)
        .execute(&mut *tx)
        .await
        .map_err(anyhow::Error::from)?;
    let (buffer,): (Option<String>,) =
        sqlx::query_as("select definition from interviewer_availability where staff_id = $1")
            .bind(interviewer_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(anyhow::Error::from)?;
    let buffer = buffer
        .and_then(|d| serde_json::from_str::<super::availability::Availability>(&d).ok())
        .map_or(0, |a| a.buffer_minutes);
    let buffer = Duration::minutes(buffer);
    let (overlapping,): (i64,) = sqlx::query_as(
        "select count(*) from interview_bookings
         where interviewer_id = $1 and status = 'booked' and invitation_id <> $2
           and starts_at < $3 and ends_at > $4",
    )
    .bind(interviewer_id)
    .bind(&interview.invitation_id)
    .bind(to_db(slot.ends + buffer))
    .bind(to_db(slot.starts - buffer))
    .fetch_one(&mut *tx)
    .await
    .map_err(anyhow::Error::from)?;
    if overlapping > 0 {
        return Ok(None);
    }
    // A reschedule releases the slot it leaves.
    let moved = sqlx::query(
        "update interview_bookings set status = 'released', released_at = $1
         where invitation_id = $2 and status = 'booked'",
    )
    .bind(&stamp)
    .bind(&interview.invitation_id)
    .execute(&mut *tx)
    .await
    .map_err(anyhow::Error::from)?
    .rows_affected();
    let id = db::new_id();
    let inserted = sqlx::query(
        "insert into interview_bookings (id, invitation_id, interviewer_id, starts_at, ends_at,
             status, buyer_time_zone, phone, prefers, created_at)
         values ($1, $2, $3, $4, $5, 'booked', $6, $7, $8, $9)",
    )
    .bind(&id)
    .bind(&interview.invitation_id)
    .bind(interviewer_id)
    .bind(to_db(slot.starts))
    .bind(to_db(slot.ends))
    .bind(request.buyer_zone.name())
    .bind(request.phone.as_deref())
    .bind(request.prefers.map(|p| p.as_str()))
    .bind(&stamp)
    .execute(&mut *tx)
    .await;
    match inserted {
        Ok(_) => {}
        // Taken by a booking that committed after the check above could see it (only
        // where no lock ordered them): the next interviewer, if any.
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Ok(None),
        Err(e) => return Err(anyhow::Error::from(e).into()),
    }
    // The calendar event changes with each move: its SEQUENCE says which is newest.
    sqlx::query(
        "update interviews set status = $1, booked_at = $2, sequence = sequence + $3
         where invitation_id = $4",
    )
    .bind(InterviewStatus::Booked.as_str())
    .bind(&stamp)
    .bind(i64::from(moved > 0))
    .bind(&interview.invitation_id)
    .execute(&mut *tx)
    .await
    .map_err(anyhow::Error::from)?;
    // Both calendars hear of it, and the buyer is reminded before, in this transaction:
    // a booking is never stored without its emails, nor emailed without being stored.
    // As stored: a concurrent move of the same interview may have counted one already.
    let (sequence,): (i64,) =
        sqlx::query_as("select sequence from interviews where invitation_id = $1")
            .bind(&interview.invitation_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(anyhow::Error::from)?;
    let mut jobs = emails::calendar_jobs(&interview.invitation_id, sequence, false, now)?;
    jobs.extend(emails::reminder_jobs(
        &interview.invitation_id,
        &id,
        slot.starts,
        now,
    )?);
    crate::jobs::enqueue_many(&mut tx, jobs, now).await?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    Ok(Some(id))
}

/// Moves an interview from `from` to `to` (the buyer cancels or declines; staff close
/// it), releasing its slot; false when it was not in `from`.
pub async fn close(
    db: &Db,
    invitation_id: &str,
    from: InterviewStatus,
    to: InterviewStatus,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let stamp = to_db(now);
    // Calling off a booked interview takes it out of both calendars; a no-show leaves
    // the past event where it is.
    let cancels_event = from == InterviewStatus::Booked && to == InterviewStatus::Cancelled;
    let mut conn = db.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    if from == InterviewStatus::Booked {
        // A booked interview is called off before it starts, and missed after.
        let starts: Option<(String,)> = sqlx::query_as(
            "select starts_at from interview_bookings where invitation_id = $1 and status = 'booked'",
        )
        .bind(invitation_id)
        .fetch_optional(&mut *tx)
        .await?;
        let started = match starts {
            Some((starts,)) => from_db(&starts)? <= now,
            None => return Ok(false),
        };
        let in_time = match to {
            InterviewStatus::NoShow => started,
            _ => !started,
        };
        if !in_time {
            return Ok(false);
        }
    }
    // A cancellation changes the calendar event: one more SEQUENCE for its CANCEL.
    let moved = sqlx::query(
        "update interviews set status = $1, closed_at = $2, updated_at = $2,
             sequence = sequence + $3
         where invitation_id = $4 and status = $5",
    )
    .bind(to.as_str())
    .bind(&stamp)
    .bind(i64::from(cancels_event))
    .bind(invitation_id)
    .bind(from.as_str())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if moved == 0 {
        return Ok(false);
    }
    let released = sqlx::query(
        "update interview_bookings set status = 'released', released_at = $1
         where invitation_id = $2 and status = 'booked'",
    )
    .bind(&stamp)
    .bind(invitation_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    // The offer of an incentive lapses with an interview that will not be held.
    crate::incentives::cancel(&mut tx, invitation_id, to.as_str(), now).await?;
    if released > 0 && cancels_event {
        // Calendars take the event out: its CANCEL, one SEQUENCE later.
        let (sequence,): (i64,) =
            sqlx::query_as("select sequence from interviews where invitation_id = $1")
                .bind(invitation_id)
                .fetch_one(&mut *tx)
                .await?;
        let jobs = emails::calendar_jobs(invitation_id, sequence, true, now)?;
        crate::jobs::enqueue_many(&mut tx, jobs, now).await?;
    }
    tx.commit().await?;
    Ok(true)
}
