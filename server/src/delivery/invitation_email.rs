//! Building the survey invitation email for one invitation.

use super::templates::Templates;
use crate::invitations::{tokens, InvitationStatus};
use crate::platform::db::Db;
use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use debrief_common::{Locale, NpsScore};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::Message;
use serde::Serialize;

/// What the worker needs to know about an invitation to email it.
pub struct InvitationToSend {
    pub status: InvitationStatus,
    /// The buyer opted out since this email was queued.
    pub suppressed: bool,
    contact_name: String,
    contact_email: String,
    locale: Locale,
    manager_name: String,
    manager_email: String,
}

pub async fn load(db: &Db, invitation_id: &str) -> anyhow::Result<Option<InvitationToSend>> {
    let row: Option<(String, i64, String, String, String, String, String)> = sqlx::query_as(
        "select i.status,
                (select count(*) from suppressions s where s.email = c.email),
                c.name, c.email, c.locale, d.account_manager_name, d.account_manager_email
         from invitations i
         join contacts c on c.id = i.contact_id
         join deals d on d.id = i.deal_id
         where i.id = $1",
    )
    .bind(invitation_id)
    .fetch_optional(db.pool())
    .await?;
    row.map(
        |(status, suppressed, contact_name, contact_email, locale, manager_name, manager_email)| {
            Ok(InvitationToSend {
                status: status.parse().map_err(anyhow::Error::msg)?,
                suppressed: suppressed > 0,
                contact_name,
                contact_email,
                locale: Locale::parse(&locale).map_err(anyhow::Error::msg)?,
                manager_name,
                manager_email,
            })
        },
    )
    .transpose()
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

pub struct EmailContext<'a> {
    pub templates: &'a Templates,
    pub from: &'a Mailbox,
    pub company: &'a str,
    pub public_url: &'a str,
    pub link_validity: Duration,
}

/// Mints a fresh token for this attempt and builds the message. Each attempt has its own
/// token so that a send that failed after delivery still leaves a working link.
pub async fn build(
    db: &Db,
    ctx: &EmailContext<'_>,
    invitation_id: &str,
    invitation: &InvitationToSend,
    now: DateTime<Utc>,
) -> anyhow::Result<Message> {
    let token = tokens::mint(db, invitation_id, now, ctx.link_validity).await?;

    let survey_url = format!("{}/s/{token}", ctx.public_url);
    let opt_out_url = format!("{}/u/{token}", ctx.public_url);
    let data = EmailData {
        contact_name: &invitation.contact_name,
        company: ctx.company,
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
    let rendered = ctx
        .templates
        .render("survey_invitation", invitation.locale, &data)?;

    let to = Mailbox::new(
        Some(invitation.contact_name.clone()),
        invitation
            .contact_email
            .parse()
            .context("contact address")?,
    );
    // RFC 8058 one-click opt-out: mail clients show their own "unsubscribe" button.
    let mut builder = Message::builder()
        .from(ctx.from.clone())
        .to(to)
        .subject(rendered.subject)
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
        builder = builder.reply_to(Mailbox::new(Some(invitation.manager_name.clone()), address));
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
