//! The survey invitation email, and the job handler that sends it. A batch of jobs is
//! loaded in one query, each message built and sent over the SMTP pool's connections in
//! parallel, and each result handed back to the runner to record.

use crate::channels::email::mailer::{Mailer, SMTP_CONNECTIONS};
use crate::channels::email::templates::Templates;
use crate::invitations::{tokens, Event, InvitationStatus};
use crate::jobs::runner::{Effect, Failure, Handler, JobResult, Outcome};
use crate::jobs::{Job, JobKind};
use crate::people::suppressions::{self, SuppressionSource};
use crate::platform::db::Db;
use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use debrief_common::{Locale, NpsScore};
use futures_util::future::BoxFuture;
use futures_util::StreamExt;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::Message;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

/// The payload of a survey invitation job.
#[derive(Debug, Serialize, Deserialize)]
pub struct SendInvitation {
    pub invitation_id: String,
}

/// What the handler needs to know about an invitation to email it.
struct InvitationToSend {
    status: InvitationStatus,
    /// The buyer opted out since this email was queued.
    suppressed: bool,
    contact_name: String,
    contact_email: String,
    locale: Locale,
    manager_name: String,
    manager_email: String,
}

async fn load(db: &Db, ids: &[String]) -> anyhow::Result<HashMap<String, InvitationToSend>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "select i.id, i.status,
                (select count(*) from suppressions s
                 where s.email = p.email and s.lifted_at is null) as suppressed,
                c.name as contact_name, p.email as contact_email, c.locale,
                d.account_manager_name as manager_name, d.account_manager_email as manager_email
         from invitations i
         join contacts c on c.id = i.contact_id
         join persons p on p.id = i.person_id
         join deals d on d.id = i.deal_id
         where i.id in ({})",
        placeholders.join(", ")
    );
    let mut query = sqlx::query_as::<_, InvitationRow>(&sql);
    for id in ids {
        query = query.bind(id);
    }
    let rows: Vec<InvitationRow> = query.fetch_all(db.pool()).await?;
    rows.into_iter()
        .map(|row| {
            Ok((
                row.id,
                InvitationToSend {
                    status: row.status.parse().map_err(anyhow::Error::msg)?,
                    suppressed: row.suppressed > 0,
                    contact_name: row.contact_name,
                    contact_email: row.contact_email,
                    locale: Locale::parse(&row.locale).map_err(anyhow::Error::msg)?,
                    manager_name: row.manager_name,
                    manager_email: row.manager_email,
                },
            ))
        })
        .collect()
}

#[derive(sqlx::FromRow)]
struct InvitationRow {
    id: String,
    status: String,
    suppressed: i64,
    contact_name: String,
    contact_email: String,
    locale: String,
    manager_name: String,
    manager_email: String,
}

#[derive(Serialize)]
struct ScoreLink {
    score: u8,
    url: String,
}

#[derive(Serialize)]
struct EmailData<'a> {
    contact_name: &'a str,
    company: &'a str,
    account_manager_name: &'a str,
    survey_url: String,
    opt_out_url: String,
    scores: Vec<ScoreLink>,
}

/// Sends survey invitations: the handler of [`JobKind::SurveyInvitation`].
pub struct InvitationMailer {
    pub db: Db,
    pub mailer: Arc<Mailer>,
    pub templates: Arc<Templates>,
    pub from: Mailbox,
    pub company: String,
    pub public_url: String,
    pub link_validity: Duration,
}

impl Handler for InvitationMailer {
    fn kind(&self) -> JobKind {
        JobKind::SurveyInvitation
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
                        readable.push((job, payload.invitation_id));
                    }
                    Err(e) => results.push((job, Err(Failure::permanent(e.to_string())))),
                }
            }
            let mut invitations = match load(&self.db, &ids).await {
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
                .map(|(job, id)| {
                    let invitation = invitations.remove(&id);
                    async move {
                        let result = self.send_one(&job, &id, invitation, now).await;
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

impl InvitationMailer {
    async fn send_one(
        &self,
        job: &Job,
        invitation_id: &str,
        invitation: Option<InvitationToSend>,
        now: DateTime<Utc>,
    ) -> Result<Outcome, Failure> {
        let Some(invitation) = invitation else {
            return Err(Failure::permanent("the invitation no longer exists"));
        };
        if !Event::Send.transition().from.contains(&invitation.status) {
            // Already sent by an earlier attempt whose bookkeeping was lost, or the buyer
            // is already further along: nothing to send.
            return Ok(Outcome::Skipped(Vec::new()));
        }
        if invitation.suppressed {
            // Opted out after this email was queued: the opt-out wins. (Opting out closes
            // queued invitations too, but not one still being written by a concurrent
            // deal update; this check covers that.)
            return Ok(Outcome::Skipped(vec![event(invitation_id, Event::OptOut)]));
        }
        if now >= job.lease_until {
            return Err(Failure::temporary("the lease ran out before sending"));
        }
        let message = self.build(job, invitation_id, &invitation, now).await?;
        match self.mailer.send(&message).await {
            Ok(()) => Ok(Outcome::Performed(vec![event(invitation_id, Event::Send)])),
            // The mailbox does not exist: the invitation bounced and the address is never
            // emailed again, on any deal.
            Err(e) if e.hard_bounce => Err(Failure::permanent(e.message.clone()).if_final(vec![
                event(invitation_id, Event::Bounce),
                Box::new(Suppress {
                    email: invitation.contact_email.clone(),
                    source: SuppressionSource::HardBounce,
                    note: e.message,
                }),
            ])),
            Err(e) => Err(Failure {
                permanent: e.permanent,
                message: e.message,
                if_final: vec![event(invitation_id, Event::Fail)],
            }),
        }
    }

    /// Mints a fresh token for this attempt and builds the message. Each attempt has its
    /// own token so that a send that failed after delivery still leaves a working link.
    async fn build(
        &self,
        job: &Job,
        invitation_id: &str,
        invitation: &InvitationToSend,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Message> {
        let token = tokens::mint(&self.db, invitation_id, now, self.link_validity).await?;
        let survey_url = format!("{}/s/{token}", self.public_url);
        let opt_out_url = format!("{}/u/{token}", self.public_url);
        let data = EmailData {
            contact_name: &invitation.contact_name,
            company: &self.company,
            account_manager_name: &invitation.manager_name,
            scores: NpsScore::all()
                .map(|s| ScoreLink {
                    score: s.value(),
                    url: format!("{survey_url}?score={s}"),
                })
                .collect(),
            survey_url,
            opt_out_url: opt_out_url.clone(),
        };
        let rendered = self
            .templates
            .render("survey_invitation", invitation.locale, &data)?;
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
            .message_id(Some(message_id(&job.id, &self.from)))
            .from(self.from.clone())
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
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(rendered.text),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(rendered.html),
                    ),
            )
            .context("building the message")
    }
}

/// `<job id@sender's domain>`.
pub fn message_id(job_id: &str, from: &Mailbox) -> String {
    format!("<{job_id}@{}>", from.email.domain())
}

/// Moves one invitation when the job's result is recorded.
struct InvitationEvent {
    invitation_id: String,
    event: Event,
}

fn event(invitation_id: &str, event: Event) -> Box<dyn Effect> {
    Box::new(InvitationEvent {
        invitation_id: invitation_id.to_owned(),
        event,
    })
}

impl Effect for InvitationEvent {
    fn apply<'a>(
        &'a self,
        conn: &'a mut sqlx::AnyConnection,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            crate::invitations::apply(
                conn,
                crate::invitations::Target::Invitation(&self.invitation_id),
                self.event,
                now,
            )
            .await?;
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
