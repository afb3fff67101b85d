//! The emails of an invitation (the survey or interview invitation, and its reminders) and
//! the job handlers that send them. A batch of jobs is loaded in one query; the contact
//! policy is checked again just before each send; each message is built and sent over the
//! SMTP pool's connections in parallel, and each result handed back to the runner.

use super::plan::within;
use super::schedule::BusinessHours;
use crate::app::metrics::Metrics;
use crate::channels::email::mailer::{alternatives, Mailer, SendError, SMTP_CONNECTIONS};
use crate::channels::email::templates::Templates;
use crate::incentives;
use crate::interviews::lifecycle::{self, InterviewStatus};
use crate::invitations::tokens::Tokens;
use crate::invitations::{self, Event, InvitationKind, InvitationStatus, Target};
use crate::jobs::runner::{Effect, Effects, Failure, Handler, JobResult, Outcome};
use crate::jobs::{Job, JobKind, NewJob, Next};
use crate::outreach::decision::Money;
use crate::people::suppressions::{self, SuppressionSource};
use crate::platform::db::time::{from_db, to_db};
use crate::platform::db::Db;
use crate::platform::db::{dialect, rows};
use crate::programs::store::Programs;
use crate::programs::{IncentiveKind, SurveyKey};
use anyhow::Context;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use debrief_common::{Locale, NpsScore};
use futures_util::future::BoxFuture;
use futures_util::StreamExt;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::Mailbox;
use lettre::Message;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

/// The payload of every invitation email job.
#[derive(Debug, Serialize, Deserialize)]
pub struct SendInvitation {
    pub invitation_id: String,
    /// The reminder's number (1, 2…); none for the invitation itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder: Option<u32>,
    /// Send even outside the buyer's business hours (the demo's first email).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub any_hour: bool,
    /// The job goes on after this email: to the next reminder, then to the expiry, each
    /// timed from when the invitation actually went out. Jobs queued before this existed
    /// have their reminders and expiry queued separately.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub chained: bool,
}

impl SendInvitation {
    /// A step of an invitation's job: its email (`reminder` none), or a reminder; the job
    /// goes on after it.
    pub fn step(invitation_id: &str, reminder: Option<u32>) -> SendInvitation {
        SendInvitation {
            invitation_id: invitation_id.to_owned(),
            reminder,
            any_hour: false,
            chained: true,
        }
    }
}

/// What sending needs, shared by the handlers of each email kind.
pub struct EmailContext {
    pub db: Db,
    pub mailer: Arc<Mailer>,
    pub templates: Arc<Templates>,
    pub from: Mailbox,
    pub company: String,
    pub public_url: String,
    pub tokens: Tokens,
    pub programs: Programs,
    pub business_hours: BusinessHours,
    pub metrics: Arc<Metrics>,
}

/// Sends one kind of invitation email: survey or interview invitations, or reminders.
pub struct InvitationEmails {
    kind: JobKind,
    ctx: Arc<EmailContext>,
}

impl InvitationEmails {
    /// The handlers of every invitation email kind, over one context.
    pub fn handlers(ctx: Arc<EmailContext>) -> Vec<Arc<dyn Handler>> {
        [
            JobKind::SurveyInvitation,
            JobKind::InterviewInvitation,
            JobKind::InvitationReminder,
        ]
        .into_iter()
        .map(|kind| {
            Arc::new(InvitationEmails {
                kind,
                ctx: ctx.clone(),
            }) as Arc<dyn Handler>
        })
        .collect()
    }
}

/// What the handler needs to know about an invitation to email it.
#[derive(Deserialize)]
struct Row {
    id: String,
    kind: String,
    status: String,
    survey_key: Option<String>,
    program_version: Option<i64>,
    segment_key: Option<String>,
    sent_at: Option<String>,
    expires_at: Option<String>,
    suppression: Option<String>,
    person_last_sent: Option<String>,
    account_last_sent: Option<String>,
    contact_name: String,
    contact_email: String,
    locale: String,
    time_zone: String,
    manager_name: String,
    manager_email: String,
    request_kind: Option<String>,
    incentive_kind: Option<String>,
    incentive_amount: Option<i64>,
    incentive_currency: Option<String>,
    incentive_quantity: Option<i64>,
    incentive_label: Option<String>,
    interview_status: Option<String>,
    note: Option<String>,
}

struct ToSend {
    kind: InvitationKind,
    status: InvitationStatus,
    survey: SurveyKey,
    program_version: i64,
    segment_key: Option<String>,
    sent_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
    suppression: Option<SuppressionSource>,
    person_last_sent: Option<DateTime<Utc>>,
    account_last_sent: Option<DateTime<Utc>>,
    contact_name: String,
    contact_email: String,
    locale: Locale,
    time_zone: Tz,
    manager_name: String,
    manager_email: String,
    request_kind: Option<String>,
    /// The offer, as a phrase in the buyer's language.
    incentive: Option<String>,
    /// An interview's own lifecycle: once booked or closed, no more "pick a time".
    interview_status: Option<InterviewStatus>,
    /// The account manager's personal note, when they invited the buyer themselves.
    note: Option<String>,
}

fn parse_row(row: Row) -> anyhow::Result<(String, ToSend)> {
    let locale = Locale::parse(&row.locale).map_err(anyhow::Error::msg)?;
    let incentive = match row.incentive_kind {
        Some(kind) => {
            let kind: IncentiveKind = kind.parse().map_err(anyhow::Error::msg)?;
            let amount =
                row.incentive_amount
                    .zip(row.incentive_currency)
                    .map(|(minor_units, currency)| Money {
                        minor_units,
                        currency,
                    });
            Some(incentives::describe(
                kind,
                amount.as_ref(),
                row.incentive_quantity,
                row.incentive_label.as_deref(),
                locale,
            ))
        }
        None => None,
    };
    let time = |t: Option<String>| t.as_deref().map(from_db).transpose();
    Ok((
        row.id,
        ToSend {
            kind: row.kind.parse().map_err(anyhow::Error::msg)?,
            status: row.status.parse().map_err(anyhow::Error::msg)?,
            survey: match row.survey_key {
                Some(k) => k.parse().map_err(anyhow::Error::msg)?,
                None => SurveyKey::WinLoss,
            },
            program_version: row.program_version.unwrap_or(0),
            segment_key: row.segment_key,
            sent_at: time(row.sent_at)?,
            expires_at: time(row.expires_at)?,
            suppression: row
                .suppression
                .map(|s| s.parse().map_err(anyhow::Error::msg))
                .transpose()?,
            person_last_sent: time(row.person_last_sent)?,
            account_last_sent: time(row.account_last_sent)?,
            contact_name: row.contact_name,
            contact_email: row.contact_email,
            locale,
            time_zone: row.time_zone.parse().map_err(anyhow::Error::msg)?,
            manager_name: row.manager_name,
            manager_email: row.manager_email,
            request_kind: row.request_kind,
            incentive,
            interview_status: row
                .interview_status
                .map(|s| s.parse().map_err(anyhow::Error::msg))
                .transpose()?,
            note: row.note,
        },
    ))
}

async fn load(db: &Db, ids: &[String]) -> anyhow::Result<HashMap<String, ToSend>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    // The latest sends to the same person and account on other deals: the contact policy
    // is checked again here, since two deals planned at once cannot see each other.
    const FIELDS: &[(&str, &str)] = &[
        ("id", "i.id"),
        ("kind", "i.kind"),
        ("status", "i.status"),
        ("survey_key", "i.survey_key"),
        ("program_version", "i.program_version"),
        ("segment_key", "i.segment_key"),
        ("sent_at", "i.sent_at"),
        ("expires_at", "i.expires_at"),
        (
            "suppression",
            "(select s.source from suppressions s
              where s.email = p.email and s.lifted_at is null)",
        ),
        (
            "person_last_sent",
            "(select max(o.sent_at) from invitations o
              where o.person_id = i.person_id and o.deal_id <> i.deal_id)",
        ),
        (
            "account_last_sent",
            "(select max(o.sent_at) from invitations o
              where o.account_id = i.account_id and o.deal_id <> i.deal_id)",
        ),
        ("contact_name", "c.name"),
        ("contact_email", "p.email"),
        ("locale", "c.locale"),
        ("time_zone", "c.time_zone"),
        // The account manager who invited the buyer personally signs, and gets the
        // replies; else the deal's.
        ("manager_name", "coalesce(m.name, d.account_manager_name)"),
        (
            "manager_email",
            "coalesce(m.email, d.account_manager_email)",
        ),
        ("request_kind", "d.request_kind"),
        ("incentive_kind", "n.kind"),
        ("incentive_amount", "n.amount_minor"),
        ("incentive_currency", "n.currency"),
        ("incentive_quantity", "n.quantity"),
        ("incentive_label", "n.label"),
        ("interview_status", "v.status"),
        ("note", "v.note"),
    ];
    let sql = format!(
        "select {}
         from invitations i
         join contacts c on c.id = i.contact_id
         join persons p on p.id = i.person_id
         join deals d on d.id = i.deal_id
         left join incentives n on n.invitation_id = i.id and n.status <> $1
         left join interviews v on v.invitation_id = i.id
         left join staff m on m.id = v.invited_by
         where i.id in ({})",
        dialect::json_rows(db.backend(), FIELDS),
        rows::numbered(2, ids.len())
    );
    let mut query =
        sqlx::query_as::<_, (String,)>(&sql).bind(incentives::IncentiveStatus::Cancelled.as_str());
    for id in ids {
        query = query.bind(id);
    }
    let (json,) = query.fetch_one(db.pool()).await?;
    let rows: Vec<Row> = serde_json::from_str(&json).context("reading invitations")?;
    rows.into_iter().map(parse_row).collect()
}

impl Handler for InvitationEmails {
    fn kind(&self) -> JobKind {
        self.kind
    }

    fn perform<'a>(&'a self, jobs: Vec<Job>, now: DateTime<Utc>) -> BoxFuture<'a, Vec<JobResult>> {
        Box::pin(async move {
            let mut results = Vec::with_capacity(jobs.len());
            let mut ids = Vec::with_capacity(jobs.len());
            let mut readable = Vec::with_capacity(jobs.len());
            for job in jobs {
                match job.payload::<SendInvitation>() {
                    Ok(payload) => {
                        ids.push(payload.invitation_id.clone());
                        readable.push((job, payload));
                    }
                    Err(e) => results.push((job, Err(Failure::permanent(e.to_string())))),
                }
            }
            let mut invitations = match load(&self.ctx.db, &ids).await {
                Ok(found) => found,
                Err(e) => {
                    let message = format!("{e:#}");
                    results.extend(
                        readable
                            .into_iter()
                            .map(|(job, _)| (job, Err(Failure::temporary(message.clone())))),
                    );
                    return results;
                }
            };
            let sends = futures_util::stream::iter(readable)
                .map(|(job, payload)| {
                    let invitation = invitations.remove(&payload.invitation_id);
                    async move {
                        let result = self.send_one(&job, &payload, invitation, now).await;
                        (job, result)
                    }
                })
                .buffer_unordered(SMTP_CONNECTIONS)
                .collect::<Vec<_>>()
                .await;
            results.extend(sends);
            results
        })
    }
}

impl InvitationEmails {
    async fn send_one(
        &self,
        job: &Job,
        payload: &SendInvitation,
        invitation: Option<ToSend>,
        now: DateTime<Utc>,
    ) -> Result<Outcome, Failure> {
        let id = payload.invitation_id.as_str();
        let Some(invitation) = invitation else {
            return Err(Failure::permanent("the invitation no longer exists"));
        };
        let reminder = payload.reminder.is_some();
        let sendable = if reminder {
            // Only buyers who have the link and have not answered.
            matches!(
                invitation.status,
                InvitationStatus::Sent | InvitationStatus::Opened | InvitationStatus::Started
            )
        } else {
            Event::Send.transition().from.contains(&invitation.status)
        };
        let interview_open = invitation
            .interview_status
            .is_none_or(|s| s == InterviewStatus::Invited);
        if !sendable || !interview_open {
            // Answered, booked, closed, or already sent by an earlier attempt whose
            // bookkeeping was lost: nothing to send.
            return Ok(Outcome::Skipped(Vec::new()));
        }
        if let Some(source) = invitation.suppression {
            // Suppressed after this email was queued: the suppression wins. (Opting out
            // closes queued invitations too, but not one still being written by a
            // concurrent deal update; this check covers that.)
            let effects: Effects = match (reminder, source) {
                (true, _) => Vec::new(),
                (false, SuppressionSource::BuyerLink) => vec![event(id, Event::OptOut)],
                (false, SuppressionSource::HardBounce) => {
                    vec![event(id, Event::Bounce), close_interview(id)]
                }
                (false, SuppressionSource::Staff) => vec![cancel(id, "suppressed")],
            };
            return Ok(Outcome::Skipped(effects));
        }
        let program = match self
            .ctx
            .programs
            .version(&self.ctx.db, invitation.program_version)
            .await
        {
            Ok(Some(program)) => program,
            Ok(None) => {
                return Err(Failure::permanent(
                    "the invitation's program version is gone",
                ))
            }
            Err(e) => return Err(e.into()),
        };
        if !reminder {
            let policy = &program.policy;
            if within(
                invitation.person_last_sent.as_ref(),
                now,
                policy.person_cooldown_days,
            ) {
                return Ok(Outcome::Skipped(vec![cancel(id, "person_cooldown")]));
            }
            if within(
                invitation.account_last_sent.as_ref(),
                now,
                policy.account_cooldown_days,
            ) {
                return Ok(Outcome::Skipped(vec![cancel(id, "account_cooldown")]));
            }
        }
        // The program's quiet hours where it sets them, else the operator's.
        let hours = self.ctx.business_hours.under(&program.sending_window);
        if !payload.any_hour && !hours.is_open(now, invitation.time_zone) {
            // A retry or a late runner must not wake a buyer at night.
            return Ok(Outcome::Later(hours.next_slot(now, invitation.time_zone)));
        }
        if now >= job.lease_until {
            return Err(Failure::temporary("the lease ran out before sending"));
        }
        let eight_bit = self
            .ctx
            .mailer
            .eight_bit()
            .await
            .map_err(|e| self.failed(e, id, payload, &invitation))?;
        let sender = match &program.sender_name {
            Some(name) => Mailbox::new(Some(name.clone()), self.ctx.from.email.clone()),
            None => self.ctx.from.clone(),
        };
        let message = self.build(job, id, payload.reminder, &invitation, (&sender, eight_bit))?;
        let next = if payload.chained {
            next_step(payload, &invitation, &program, &hours, now)?
        } else {
            None
        };
        let sent: Effects = if reminder {
            vec![write(id, Write::Reminded)]
        } else {
            vec![event(id, Event::Send)]
        };
        match self.ctx.mailer.send(&message).await {
            Ok(()) => {
                self.ctx.metrics.email_sent(self.kind);
                Ok(match next {
                    Some(next) => Outcome::Continued(sent, next),
                    None => Outcome::Performed(sent),
                })
            }
            Err(e) => Err(self.failed(e, id, payload, &invitation)),
        }
    }

    /// A send that failed, counted, with what giving up on it will write: for a mailbox
    /// that does not exist, a bounced invitation and an address never emailed again, on
    /// any deal.
    fn failed(
        &self,
        e: SendError,
        id: &str,
        payload: &SendInvitation,
        invitation: &ToSend,
    ) -> Failure {
        self.ctx
            .metrics
            .email_failed(self.kind, e.permanent, e.hard_bounce);
        if e.hard_bounce {
            return Failure::permanent(e.message.clone()).if_final(vec![
                event(id, Event::Bounce),
                close_interview(id),
                Box::new(Suppress {
                    email: invitation.contact_email.clone(),
                    source: SuppressionSource::HardBounce,
                    note: e.message,
                }),
            ]);
        }
        Failure {
            permanent: e.permanent,
            message: e.message,
            if_final: Self::gave_up(id, payload, invitation),
        }
    }

    /// What giving up on an email writes: a failed invitation, or, for a reminder, the
    /// invitation left to expire.
    fn gave_up(id: &str, payload: &SendInvitation, invitation: &ToSend) -> Effects {
        match (payload.reminder.is_some(), &invitation.expires_at) {
            (true, Some(at)) if payload.chained => vec![Box::new(QueueExpiry {
                invitation_id: id.to_owned(),
                at: *at,
            })],
            (true, _) => Vec::new(),
            (false, _) => vec![event(id, Event::Fail)],
        }
    }

    /// Builds the message. The link is derived from the invitation, so the reminder
    /// carries the same link as the invitation, and a retry the same as the first try.
    fn build(
        &self,
        job: &Job,
        invitation_id: &str,
        reminder: Option<u32>,
        invitation: &ToSend,
        (from, eight_bit): (&Mailbox, bool),
    ) -> anyhow::Result<Message> {
        let ctx = &self.ctx;
        let token = ctx.tokens.for_invitation(invitation_id);
        let survey_url = format!("{}/s/{token}", ctx.public_url);
        let opt_out_url = format!("{}/u/{token}", ctx.public_url);
        let (template, data) = match invitation.kind {
            InvitationKind::Survey => (
                "survey_invitation",
                serde_json::to_value(SurveyEmail {
                    contact_name: &invitation.contact_name,
                    company: &ctx.company,
                    account_manager_name: &invitation.manager_name,
                    scores: NpsScore::all()
                        .map(|s| ScoreLink {
                            score: s.value(),
                            url: format!("{survey_url}?score={s}"),
                        })
                        .collect(),
                    survey_url,
                    opt_out_url: opt_out_url.clone(),
                    reminder: reminder.is_some(),
                    declined_request: invitation.survey == SurveyKey::DeclinedRequest,
                    request_kind: invitation.request_kind.as_deref(),
                    incentive: invitation.incentive.as_deref(),
                })?,
            ),
            InvitationKind::Interview => (
                "interview_invitation",
                serde_json::to_value(InterviewEmail {
                    contact_name: &invitation.contact_name,
                    company: &ctx.company,
                    account_manager_name: &invitation.manager_name,
                    booking_url: format!("{}/i/{token}", ctx.public_url),
                    opt_out_url: opt_out_url.clone(),
                    reminder: reminder.is_some(),
                    incentive: invitation.incentive.as_deref(),
                    note: invitation.note.as_deref(),
                })?,
            ),
        };
        let rendered = ctx.templates.render(template, invitation.locale, data)?;
        let to = Mailbox::new(
            Some(invitation.contact_name.clone()),
            invitation
                .contact_email
                .parse()
                .context("contact address")?,
        );
        let mut builder = Message::builder()
            // Stable per job: every attempt of one email carries the same id, so a
            // receiving server or a test can tell a retry from a second email.
            .message_id(Some(message_id(&job.id, reminder, &ctx.from)))
            .from(from.clone())
            .to(to)
            .subject(rendered.subject)
            // RFC 8058 one-click opt-out: mail clients show their own "unsubscribe" button.
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{opt_out_url}>"),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".into(),
            ));
        // Replies reach the account manager, who knows the buyer, not a no-reply box.
        if let Ok(address) = invitation.manager_email.parse() {
            builder =
                builder.reply_to(Mailbox::new(Some(invitation.manager_name.clone()), address));
        }
        builder
            .multipart(alternatives(rendered.text, rendered.html, eight_bit))
            .context("building the message")
    }
}

#[derive(Serialize)]
struct ScoreLink {
    score: u8,
    url: String,
}

#[derive(Serialize)]
struct SurveyEmail<'a> {
    contact_name: &'a str,
    company: &'a str,
    account_manager_name: &'a str,
    survey_url: String,
    opt_out_url: String,
    scores: Vec<ScoreLink>,
    reminder: bool,
    declined_request: bool,
    request_kind: Option<&'a str>,
    incentive: Option<&'a str>,
}

/// What an interview invitation's template reads (see `email-templates/README.md`).
#[derive(Serialize)]
pub struct InterviewEmail<'a> {
    pub contact_name: &'a str,
    pub company: &'a str,
    /// Who signs: the account manager.
    pub account_manager_name: &'a str,
    pub booking_url: String,
    pub opt_out_url: String,
    pub reminder: bool,
    pub incentive: Option<&'a str>,
    /// Their personal note, as typed.
    pub note: Option<&'a str>,
}

/// `<job id@sender's domain>`, and the reminder's number: one job sends an invitation
/// and its reminders.
pub fn message_id(job_id: &str, reminder: Option<u32>, from: &Mailbox) -> String {
    match reminder {
        None => format!("<{job_id}@{}>", from.email.domain()),
        Some(n) => format!("<{job_id}.r{n}@{}>", from.email.domain()),
    }
}

/// After an invitation's email or reminder went out: the next reminder, counted from
/// when the invitation went out and moved into the buyer's business hours, or, when none
/// is left before it, the expiry. None for an invitation without an expiry (older data).
fn next_step(
    sent: &SendInvitation,
    invitation: &ToSend,
    program: &crate::programs::Program,
    hours: &BusinessHours,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<Next>> {
    let Some(expires_at) = invitation.expires_at else {
        return Ok(None);
    };
    let days = invitation
        .segment_key
        .as_deref()
        .and_then(|key| program.segments.iter().find(|s| s.key == key))
        .map(|s| s.reminder_days.as_slice())
        .unwrap_or_default();
    let done = sent.reminder.unwrap_or(0);
    let went_out = invitation.sent_at.unwrap_or(now);
    let payload = |reminder| SendInvitation::step(&sent.invitation_id, reminder);
    if let Some(&day) = days.get(done as usize) {
        // A reminder sent late (a long outage) is not followed by the next one at once.
        let earliest = (went_out + chrono::Duration::days(i64::from(day)))
            .max(now + chrono::Duration::days(1));
        let at = hours.next_slot(earliest, invitation.time_zone);
        if at < expires_at {
            return Next::new(JobKind::InvitationReminder, &payload(Some(done + 1)), at).map(Some);
        }
    }
    Next::new(JobKind::InvitationExpiry, &payload(None), expires_at).map(Some)
}

/// Queues an invitation's expiry on its own, when the job that would have reached it
/// gave up (see [`next_step`]).
struct QueueExpiry {
    invitation_id: String,
    at: DateTime<Utc>,
}

impl Effect for QueueExpiry {
    fn apply<'a>(
        &'a self,
        conn: &'a mut sqlx::AnyConnection,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let job = expiry_job(&self.invitation_id, self.at)?;
            crate::jobs::enqueue_many(conn, vec![job], now).await?;
            Ok(())
        })
    }
}

/// An invitation's expiry as a job of its own, for an invitation whose job will not reach
/// it (see [`next_step`]).
fn expiry_job(invitation_id: &str, at: DateTime<Utc>) -> anyhow::Result<NewJob> {
    NewJob::new(
        JobKind::InvitationExpiry,
        format!("expiry:{invitation_id}"),
        &SendInvitation::step(invitation_id, None),
        at,
    )
}

/// Closes invitations the buyer left unanswered: the handler of
/// [`JobKind::InvitationExpiry`]. The offer of an incentive lapses with it.
pub struct Expiry;

impl Handler for Expiry {
    fn kind(&self) -> JobKind {
        JobKind::InvitationExpiry
    }

    fn perform<'a>(&'a self, jobs: Vec<Job>, _now: DateTime<Utc>) -> BoxFuture<'a, Vec<JobResult>> {
        Box::pin(async move {
            jobs.into_iter()
                .map(|job| {
                    let result = match job.payload::<SendInvitation>() {
                        Ok(p) => Ok(Outcome::Performed(vec![close(
                            &p.invitation_id,
                            Event::Expire,
                            "expired",
                        )])),
                        Err(e) => Err(Failure::permanent(e.to_string())),
                    };
                    (job, result)
                })
                .collect()
        })
    }
}

/// A write to invitations when the job's result is recorded: one job's, or, batched,
/// a pass's (the runner merges neighbouring writes of the same kind).
struct InvitationWrite {
    invitation_ids: Vec<String>,
    write: Write,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Write {
    /// A status move (sent, bounced, failed…).
    Move(Event),
    /// One more reminder sent.
    Reminded,
}

/// Invitations per batched statement: few enough parameters for either database.
const WRITE_BATCH: usize = 1_000;

fn event(invitation_id: &str, event: Event) -> Box<dyn Effect> {
    write(invitation_id, Write::Move(event))
}

fn write(invitation_id: &str, write: Write) -> Box<dyn Effect> {
    Box::new(InvitationWrite {
        invitation_ids: vec![invitation_id.to_owned()],
        write,
    })
}

impl Effect for InvitationWrite {
    fn apply<'a>(
        &'a self,
        conn: &'a mut sqlx::AnyConnection,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let ids = &self.invitation_ids;
            match self.write {
                Write::Move(event) => {
                    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                    invitations::apply_all(conn, &ids, event, now).await?;
                }
                Write::Reminded => {
                    let sql = format!(
                        "update invitations set reminders_sent = reminders_sent + 1,
                             last_reminded_at = {} where id in ({})",
                        rows::placeholder(conn, 1),
                        rows::list_from(conn, 2, ids.len()),
                    );
                    let mut query = sqlx::query(&sql).bind(to_db(now));
                    for id in ids {
                        query = query.bind(id);
                    }
                    query.execute(conn).await?;
                }
            }
            Ok(())
        })
    }

    fn batch(&self) -> Option<Box<dyn Effect>> {
        Some(Box::new(InvitationWrite {
            invitation_ids: self.invitation_ids.clone(),
            write: self.write,
        }))
    }

    fn absorb(&mut self, next: &dyn Effect) -> bool {
        let next = next as &dyn std::any::Any;
        match next.downcast_ref::<InvitationWrite>() {
            Some(next) if next.write == self.write && self.invitation_ids.len() < WRITE_BATCH => {
                self.invitation_ids
                    .extend(next.invitation_ids.iter().cloned());
                true
            }
            _ => false,
        }
    }
}

/// Closes an invitation unanswered (cancelled by the contact policy at send time, or
/// expired), noting why, and lets its incentive offer lapse.
struct Close {
    invitation_id: String,
    event: Event,
    reason: &'static str,
}

fn close(invitation_id: &str, event: Event, reason: &'static str) -> Box<dyn Effect> {
    Box::new(Close {
        invitation_id: invitation_id.to_owned(),
        event,
        reason,
    })
}

fn cancel(invitation_id: &str, reason: &'static str) -> Box<dyn Effect> {
    close(invitation_id, Event::Cancel, reason)
}

impl Effect for Close {
    fn apply<'a>(
        &'a self,
        conn: &'a mut sqlx::AnyConnection,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            // An interview still invited closes with its invitation; one booked (or closed)
            // meanwhile is answered, and its own lifecycle closes it. The interview's row
            // is written first: on PostgreSQL its lock orders this against a booking.
            let closed = match self.event {
                Event::Expire => InterviewStatus::Expired,
                _ => InterviewStatus::Cancelled,
            };
            if !lifecycle::close_invited(&mut *conn, &self.invitation_id, closed, now).await?
                && lifecycle::is_past_invited(&mut *conn, &self.invitation_id).await?
            {
                return Ok(());
            }
            let moved = invitations::apply(
                &mut *conn,
                Target::Invitation(&self.invitation_id),
                self.event,
                now,
            )
            .await?;
            if moved > 0 {
                invitations::set_reason(&mut *conn, &self.invitation_id, self.reason).await?;
                incentives::cancel(conn, &self.invitation_id, self.reason, now).await?;
            }
            Ok(())
        })
    }
}

/// Closes the interview of a bounced invitation, as cancelled: no buyer reads an address
/// that does not exist, and the funnel must not count them as still invited.
struct CloseInterview {
    invitation_id: String,
}

fn close_interview(invitation_id: &str) -> Box<dyn Effect> {
    Box::new(CloseInterview {
        invitation_id: invitation_id.to_owned(),
    })
}

impl Effect for CloseInterview {
    fn apply<'a>(
        &'a self,
        conn: &'a mut sqlx::AnyConnection,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let to = InterviewStatus::Cancelled;
            lifecycle::close_invited(conn, &self.invitation_id, to, now).await?;
            Ok(())
        })
    }
}

/// Suppresses an address when the job's result is recorded.
struct Suppress {
    email: String,
    source: SuppressionSource,
    note: String,
}

impl Effect for Suppress {
    fn apply<'a>(
        &'a self,
        conn: &'a mut sqlx::AnyConnection,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            suppressions::suppress(conn, &self.email, self.source, Some(&self.note), None, now)
                .await?;
            Ok(())
        })
    }
}
