//! The interviews' own emails, through the outbox: a calendar message (RFC 5545, with
//! the iTIP method REQUEST or CANCEL) to the buyer and to the interviewer at each booking,
//! move and cancellation, and reminders to the buyer 24 hours and 1 hour before.
//!
//! Each recipient's message is a job of its own, so a retry never sends the other a copy;
//! and each names the SEQUENCE it was queued for, so a message overtaken by a later change
//! is skipped rather than sent out of order.

use super::booking::{self, Booking, Interview};
use super::lifecycle::InterviewStatus;
use super::page::calendar;
use crate::channels::email::mailer::{alternatives, body};
use crate::channels::icalendar::{self, Method};
use crate::jobs::runner::{one_by_one, Failure, Handler, JobResult, Outcome};
use crate::jobs::Job;
use crate::jobs::{JobKind, NewJob};
use crate::outreach::invitation_email::{message_id, EmailContext};
use crate::web::dates;
use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use debrief_common::Locale;
use futures_util::future::BoxFuture;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::Message;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Who a calendar message is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recipient {
    Buyer,
    Interviewer,
}

/// A calendar message to send.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CalendarJob {
    pub invitation_id: String,
    /// The interview's SEQUENCE when this was queued.
    pub sequence: i64,
    pub cancelled: bool,
    pub to: Recipient,
}

/// A reminder to send.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReminderJob {
    pub invitation_id: String,
    /// The booking it is for: a move books anew, and the old booking's reminders lapse.
    pub booking_id: String,
    pub hours_before: i64,
}

/// Hours before an interview that its buyer is reminded.
pub const REMINDER_HOURS: [i64; 2] = [24, 1];

/// The calendar messages of one change, to both sides, due now.
pub fn calendar_jobs(
    invitation_id: &str,
    sequence: i64,
    cancelled: bool,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<NewJob>> {
    [Recipient::Buyer, Recipient::Interviewer]
        .into_iter()
        .map(|to| {
            let key = format!("interview_calendar:{invitation_id}:{sequence}:{to:?}");
            let payload = CalendarJob {
                invitation_id: invitation_id.to_owned(),
                sequence,
                cancelled,
                to,
            };
            NewJob::new(JobKind::InterviewCalendar, key, &payload, now)
        })
        .collect()
}

/// The reminders of a booking still ahead.
pub fn reminder_jobs(
    invitation_id: &str,
    booking_id: &str,
    starts: DateTime<Utc>,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<NewJob>> {
    REMINDER_HOURS
        .into_iter()
        .map(|hours| (hours, starts - Duration::hours(hours)))
        .filter(|(_, at)| *at > now)
        .map(|(hours, at)| {
            let payload = ReminderJob {
                invitation_id: invitation_id.to_owned(),
                booking_id: booking_id.to_owned(),
                hours_before: hours,
            };
            let key = format!("interview_reminder:{booking_id}:{hours}");
            NewJob::new(JobKind::InterviewReminder, key, &payload, at)
        })
        .collect()
}

/// Sends the interviews' emails.
pub struct InterviewEmails {
    kind: JobKind,
    ctx: Arc<EmailContext>,
}

impl InterviewEmails {
    pub fn handlers(ctx: Arc<EmailContext>) -> Vec<Arc<dyn Handler>> {
        [JobKind::InterviewCalendar, JobKind::InterviewReminder]
            .into_iter()
            .map(|kind| {
                Arc::new(InterviewEmails {
                    kind,
                    ctx: ctx.clone(),
                }) as Arc<dyn Handler>
            })
            .collect()
    }
}

impl Handler for InterviewEmails {
    fn kind(&self) -> JobKind {
        self.kind
    }

    fn perform<'a>(&'a self, jobs: Vec<Job>, now: DateTime<Utc>) -> BoxFuture<'a, Vec<JobResult>> {
        Box::pin(one_by_one(jobs, move |job| async move {
            let result = match self.kind {
                JobKind::InterviewCalendar => self.calendar(&job, now).await,
                _ => self.reminder(&job, now).await,
            };
            (job, result)
        }))
    }
}

/// One side of a booking, as its email addresses them.
struct Side<'a> {
    name: &'a str,
    email: &'a str,
    locale: Locale,
    zone: Tz,
}

impl<'a> Side<'a> {
    /// The buyer, in their language and the zone they booked in.
    fn buyer(interview: &'a Interview, booking: &Booking) -> Side<'a> {
        Side {
            name: &interview.contact_name,
            email: &interview.contact_email,
            locale: interview.locale,
            zone: booking.buyer_zone,
        }
    }
}

impl InterviewEmails {
    async fn calendar(&self, job: &Job, now: DateTime<Utc>) -> Result<Outcome, Failure> {
        let payload: CalendarJob = job
            .payload()
            .map_err(|e| Failure::permanent(e.to_string()))?;
        let Some(mut interview) = booking::load(&self.ctx.db, &payload.invitation_id).await? else {
            return Err(Failure::permanent("the interview no longer exists"));
        };
        // Overtaken by a later change, whose own message says what holds now.
        if interview.sequence != payload.sequence {
            return Ok(Outcome::Skipped(Vec::new()));
        }
        if payload.cancelled {
            if interview.status != InterviewStatus::Cancelled {
                return Ok(Outcome::Skipped(Vec::new()));
            }
            // The slot it held, released: what the CANCEL takes out of calendars.
            interview.booking =
                booking::booking_of(&self.ctx.db, &interview.invitation_id, false).await?;
        }
        let Some(booking) = interview.booking.clone() else {
            return Ok(Outcome::Skipped(Vec::new()));
        };
        let method = if payload.cancelled {
            Method::Cancel
        } else {
            Method::Request
        };
        let eight_bit = self.eight_bit().await?;
        let message = self.calendar_message(
            job,
            &interview,
            &booking,
            (payload.to, method, payload.cancelled),
            eight_bit,
            now,
        )?;
        self.send(message).await
    }

    /// The calendar message of `booking` to `to`: (recipient, method, cancelled).
    fn calendar_message(
        &self,
        job: &Job,
        interview: &Interview,
        booking: &Booking,
        (to, method, cancelled): (Recipient, Method, bool),
        eight_bit: bool,
        now: DateTime<Utc>,
    ) -> Result<Message, Failure> {
        let ctx = &self.ctx;
        let buyer = Side::buyer(interview, booking);
        // Staff read English.
        let interviewer = Side {
            name: &booking.interviewer.name,
            email: &booking.interviewer.email,
            locale: Locale::En,
            zone: booking.interviewer.time_zone,
        };
        let (recipient, other) = match to {
            Recipient::Buyer => (&buyer, &interviewer),
            Recipient::Interviewer => (&interviewer, &buyer),
        };
        let starts = booking.starts.with_timezone(&recipient.zone);
        let ends = booking.ends.with_timezone(&recipient.zone);
        let token = ctx.tokens.for_invitation(&interview.invitation_id);
        let data = serde_json::json!({
            "name": recipient.name,
            "counterpart": other.name,
            "when": dates::day_and_time(&starts, recipient.locale),
            "ends": dates::time(&ends, recipient.locale),
            "zone": recipient.zone.name(),
            "phone": booking.phone,
            "prefers_video": booking.prefers == Some(booking::Prefers::Video),
            "prefers_phone": booking.prefers == Some(booking::Prefers::Phone),
            "booking_url": (to == Recipient::Buyer).then(|| format!("{}/i/{token}", ctx.public_url)),
            "signature": (to == Recipient::Buyer).then_some(&interview.manager_name),
            "company": ctx.company,
            "cancelled": cancelled,
            "moved": interview.sequence > 0 && !cancelled,
        });
        let rendered = ctx
            .templates
            .render("interview_calendar", recipient.locale, data)?;
        let ics = calendar(interview, &ctx.company, method, now)
            .ok_or_else(|| Failure::permanent("the interview holds no slot"))?;
        let calendar_type = ContentType::parse(&icalendar::content_type(method))
            .map_err(|e| Failure::permanent(e.to_string()))?;
        // The event inline, where calendars look for it (RFC 6047), and as a file for the
        // mail clients that only offer attachments.
        let parts = MultiPart::mixed()
            .multipart(
                alternatives(rendered.text, rendered.html, eight_bit).singlepart(
                    SinglePart::builder()
                        .header(calendar_type)
                        .body(body(ics.clone(), eight_bit)),
                ),
            )
            .singlepart(
                Attachment::new("invite.ics".into()).body(
                    ics,
                    ContentType::parse("application/ics")
                        .map_err(|e| Failure::permanent(e.to_string()))?,
                ),
            );
        let mut builder = self.base(job, recipient, rendered.subject)?;
        if to == Recipient::Buyer {
            builder = self.reply_to_manager(builder, interview);
        }
        Ok(builder.multipart(parts).context("building the message")?)
    }

    async fn reminder(&self, job: &Job, now: DateTime<Utc>) -> Result<Outcome, Failure> {
        let payload: ReminderJob = job
            .payload()
            .map_err(|e| Failure::permanent(e.to_string()))?;
        let Some(interview) = booking::load(&self.ctx.db, &payload.invitation_id).await? else {
            return Err(Failure::permanent("the interview no longer exists"));
        };
        // Moved (another booking), cancelled, or past: nothing to remind of.
        let Some(booking) = interview
            .booking
            .as_ref()
            .filter(|b| b.id == payload.booking_id && b.starts > now)
        else {
            return Ok(Outcome::Skipped(Vec::new()));
        };
        if interview.status != InterviewStatus::Booked {
            return Ok(Outcome::Skipped(Vec::new()));
        }
        let ctx = &self.ctx;
        let buyer = Side::buyer(&interview, booking);
        let starts = booking.starts.with_timezone(&buyer.zone);
        let token = ctx.tokens.for_invitation(&interview.invitation_id);
        let data = serde_json::json!({
            "name": buyer.name,
            "counterpart": booking.interviewer.name,
            "when": dates::day_and_time(&starts, buyer.locale),
            "zone": buyer.zone.name(),
            "phone": booking.phone,
            "booking_url": format!("{}/i/{token}", ctx.public_url),
            "signature": interview.manager_name,
            "company": ctx.company,
        });
        let rendered = ctx
            .templates
            .render("interview_reminder", buyer.locale, data)?;
        let eight_bit = self.eight_bit().await?;
        let builder = self.base(job, &buyer, rendered.subject)?;
        let message = self
            .reply_to_manager(builder, &interview)
            .multipart(alternatives(rendered.text, rendered.html, eight_bit))
            .context("building the message")?;
        self.send(message).await
    }

    /// Whether the SMTP server takes 8-bit text.
    async fn eight_bit(&self) -> Result<bool, Failure> {
        self.ctx.mailer.eight_bit().await.map_err(|e| Failure {
            permanent: e.permanent,
            message: e.message,
            if_final: Vec::new(),
        })
    }

    /// From the program's sender to `to`, with a Message-ID stable across retries.
    fn base(
        &self,
        job: &Job,
        to: &Side<'_>,
        subject: String,
    ) -> Result<lettre::message::MessageBuilder, Failure> {
        let ctx = &self.ctx;
        let address = to.email.parse().context("recipient's address")?;
        Ok(Message::builder()
            .message_id(Some(message_id(&job.id, None, &ctx.from)))
            .from(ctx.from.clone())
            .to(Mailbox::new(Some(to.name.to_owned()), address))
            .subject(subject))
    }

    /// Replies reach the account manager, who knows the buyer.
    fn reply_to_manager(
        &self,
        builder: lettre::message::MessageBuilder,
        interview: &Interview,
    ) -> lettre::message::MessageBuilder {
        match interview.manager_email.parse() {
            Ok(address) => {
                builder.reply_to(Mailbox::new(Some(interview.manager_name.clone()), address))
            }
            Err(_) => builder,
        }
    }

    async fn send(&self, message: Message) -> Result<Outcome, Failure> {
        match self.ctx.mailer.send(&message).await {
            Ok(()) => {
                self.ctx.metrics.email_sent(self.kind);
                Ok(Outcome::Performed(Vec::new()))
            }
            Err(e) => {
                self.ctx
                    .metrics
                    .email_failed(self.kind, e.permanent, e.hard_bounce);
                Err(Failure {
                    permanent: e.permanent,
                    message: e.message,
                    if_final: Vec::new(),
                })
            }
        }
    }
}
