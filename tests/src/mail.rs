//! Reading received emails the way a buyer's mail client would: parse the MIME message and
//! follow the links in its HTML part.

use crate::smtp::ReceivedMail;
use mail_parser::{MessageParser, MimeHeaders};

/// A survey invitation as the buyer received it.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub reply_to: Option<String>,
    /// The eleven score links of the HTML part, in order 0 to 10.
    pub score_links: Vec<String>,
    /// The `List-Unsubscribe` header's URL (RFC 8058 one-click).
    pub list_unsubscribe: Option<String>,
    /// The Message-ID header, without its angle brackets.
    pub message_id: Option<String>,
}

impl Invitation {
    /// The token of the booking link (`/i/{token}`) an interview invitation carries.
    pub fn booking_token(&self) -> String {
        let after = self.text.split("/i/").nth(1).expect("a booking link");
        after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
            .collect()
    }

    pub fn parse(mail: &ReceivedMail) -> Invitation {
        let message = MessageParser::default()
            .parse(&mail.data)
            .expect("a parseable MIME message");
        let html = message.body_html(0).expect("an HTML part").into_owned();
        let text = message.body_text(0).expect("a text part").into_owned();
        let reply_to = message
            .reply_to()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .map(str::to_owned);
        let list_unsubscribe = message.header_raw("List-Unsubscribe").map(|v| {
            v.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        });
        Invitation {
            message_id: message.message_id().map(str::to_owned),
            list_unsubscribe,
            to: mail.to.clone(),
            subject: message.subject().unwrap_or_default().to_owned(),
            score_links: score_links(&html),
            text,
            html,
            reply_to,
        }
    }

    /// The link behind a score, as a buyer would click it.
    pub fn link_for_score(&self, score: usize) -> &str {
        &self.score_links[score]
    }

    /// The token in a link `…/s/{token}?score=N`.
    pub fn token(&self) -> String {
        token_of(self.link_for_score(0))
    }
}

pub fn token_of(link: &str) -> String {
    let after = link.split("/s/").nth(1).expect("a survey link");
    after.split('?').next().unwrap_or(after).to_owned()
}

/// `href`s of anchors carrying `data-score`, in document order.
fn score_links(html: &str) -> Vec<String> {
    html.split("<a ")
        .skip(1)
        .filter(|a| a.contains("data-score="))
        .filter_map(|a| a.split("href=\"").nth(1))
        .filter_map(|rest| rest.split('"').next())
        .map(|href| href.replace("&amp;", "&").replace("&#x3D;", "="))
        .collect()
}

/// A calendar message as a mail client finds it: the `text/calendar` part of an email,
/// with its `method` parameter (RFC 6047).
#[derive(Debug, Clone)]
pub struct CalendarMail {
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub reply_to: Option<String>,
    /// The part's `method` parameter: REQUEST or CANCEL.
    pub method: String,
    pub ics: String,
    /// Whether the same event also comes as an `.ics` attachment.
    pub attached: bool,
}

impl CalendarMail {
    /// The calendar message of `mail`, if it carries one.
    pub fn parse(mail: &ReceivedMail) -> Option<CalendarMail> {
        let message = MessageParser::default().parse(&mail.data)?;
        let part = message.parts.iter().find(|p| {
            p.content_type().is_some_and(|c| {
                c.ctype().eq_ignore_ascii_case("text")
                    && c.subtype()
                        .is_some_and(|s| s.eq_ignore_ascii_case("calendar"))
            })
        })?;
        let method = part
            .content_type()
            .and_then(|c| c.attribute("method"))
            .unwrap_or_default()
            .to_owned();
        let attached = message
            .attachments()
            .any(|a| a.attachment_name() == Some("invite.ics"));
        Some(CalendarMail {
            to: mail.to.clone(),
            subject: message.subject().unwrap_or_default().to_owned(),
            text: message.body_text(0)?.into_owned(),
            reply_to: message
                .reply_to()
                .and_then(|r| r.first())
                .and_then(|a| a.address())
                .map(str::to_owned),
            method,
            ics: part.text_contents()?.to_owned(),
            attached,
        })
    }
}

/// The one event of an iCalendar text, read by a standard parser: its properties' values
/// by name.
pub fn calendar_event(ics: &str) -> std::collections::HashMap<String, String> {
    let mut calendars = ical::IcalParser::new(std::io::BufReader::new(ics.as_bytes()));
    let calendar = calendars.next().expect("a calendar").expect("parses");
    let event = calendar.events.into_iter().next().expect("an event");
    event
        .properties
        .into_iter()
        .filter_map(|p| p.value.map(|v| (p.name, v)))
        .collect()
}
