//! Emails to the program's own people (alert owners, digest readers): one template in the
//! reader's language, to a few addresses, from a job of the outbox, with a Message-ID
//! made from the job's id so that a retry sends the same message.

use super::mailer::{alternatives, SendError};
use super::templates::Rendered;
use crate::jobs::runner::Failure;
use crate::jobs::Job;
use crate::outreach::invitation_email::{message_id, EmailContext};
use lettre::message::Mailbox;
use lettre::Message;

fn failure(e: SendError) -> Failure {
    Failure {
        permanent: e.permanent,
        message: e.message,
        if_final: Vec::new(),
    }
}

/// Sends `rendered` to `to` for `job`. False when none of `to` is a mailbox (nothing sent).
pub async fn send(
    ctx: &EmailContext,
    job: &Job,
    to: &[String],
    rendered: Rendered,
) -> Result<bool, Failure> {
    let id = message_id(&job.id, None, &ctx.from);
    send_with_id(ctx, to, rendered, id).await
}

/// As [`send`], under Message-ID `id`: a message whose content changes at each attempt (a
/// sign-in link gets a new token) needs an id of its own each time, or a relay may drop
/// the retry as a copy of the first.
pub async fn send_with_id(
    ctx: &EmailContext,
    to: &[String],
    rendered: Rendered,
    id: String,
) -> Result<bool, Failure> {
    let mut builder = Message::builder()
        .message_id(Some(id))
        .from(ctx.from.clone())
        .subject(rendered.subject);
    let mut any = false;
    for address in to {
        if let Ok(address) = address.parse() {
            builder = builder.to(Mailbox::new(None, address));
            any = true;
        }
    }
    if !any {
        return Ok(false);
    }
    let eight_bit = ctx.mailer.eight_bit().await.map_err(failure)?;
    let message = builder
        .multipart(alternatives(rendered.text, rendered.html, eight_bit))
        .map_err(|e| Failure::permanent(format!("building the message: {e}")))?;
    ctx.mailer.send(&message).await.map_err(failure)?;
    Ok(true)
}
