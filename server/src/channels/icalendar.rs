//! Calendar invitations (RFC 5545, with the iTIP methods of RFC 5546): what a mail client
//! shows as "add to calendar" or updates in place. One event per interview, known to
//! every client by its UID; each change sends it again with a higher SEQUENCE, and a
//! cancellation sends it with METHOD:CANCEL.
//!
//! Times are written in UTC (`DTSTART:20261201T140000Z`, RFC 5545 §3.3.5, form 2). An
//! instant in UTC is exact whatever the reader's zone rules, and every client shows it in
//! its user's own zone; a `TZID` would need a VTIMEZONE of the zone's rules beside it,
//! which some clients ignore in favour of their own. The local times of both sides are
//! in the description, in words.

use chrono::{DateTime, Utc};

/// What a calendar message asks of its reader (RFC 5546 §1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Put the event in the calendar, or update it there.
    Request,
    /// Take the event out of the calendar.
    Cancel,
}

/// Someone named in an event.
#[derive(Debug, Clone, Copy)]
pub struct Party<'a> {
    pub name: &'a str,
    pub email: &'a str,
}

/// One event, as a calendar message.
#[derive(Debug, Clone)]
pub struct Invite<'a> {
    pub method: Method,
    /// The same for every message about one event.
    pub uid: &'a str,
    /// Higher with each change of the event.
    pub sequence: u32,
    /// When this message was written.
    pub stamp: DateTime<Utc>,
    pub starts: DateTime<Utc>,
    pub ends: DateTime<Utc>,
    pub summary: &'a str,
    pub description: &'a str,
    /// Where: a phone number or a video link.
    pub location: Option<&'a str>,
    pub organizer: Party<'a>,
    pub attendees: &'a [Party<'a>],
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::Request => "REQUEST",
            Method::Cancel => "CANCEL",
        }
    }
}

/// The MIME type of the message, with its method, as RFC 6047 asks of an email's part.
pub fn content_type(method: Method) -> String {
    format!("text/calendar; charset=utf-8; method={}", method.name())
}

/// The message as iCalendar text: CRLF line ends, long lines folded.
pub fn render(invite: &Invite) -> String {
    let mut out = String::with_capacity(1_024);
    let mut line = |text: &str| fold(&mut out, text);
    line("BEGIN:VCALENDAR");
    line("VERSION:2.0");
    line("PRODID:-//Debrief//Interviews//EN");
    line("CALSCALE:GREGORIAN");
    line(&format!("METHOD:{}", invite.method.name()));
    line("BEGIN:VEVENT");
    line(&format!("UID:{}", text(invite.uid)));
    line(&format!("SEQUENCE:{}", invite.sequence));
    line(&format!("DTSTAMP:{}", utc(invite.stamp)));
    line(&format!("DTSTART:{}", utc(invite.starts)));
    line(&format!("DTEND:{}", utc(invite.ends)));
    line(&format!("SUMMARY:{}", text(invite.summary)));
    line(&format!("DESCRIPTION:{}", text(invite.description)));
    if let Some(location) = invite.location {
        line(&format!("LOCATION:{}", text(location)));
    }
    line(&format!(
        "ORGANIZER;CN={}:mailto:{}",
        param(invite.organizer.name),
        address(invite.organizer.email)
    ));
    for attendee in invite.attendees {
        line(&format!(
            "ATTENDEE;CN={};ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=FALSE:mailto:{}",
            param(attendee.name),
            address(attendee.email)
        ));
    }
    line(match invite.method {
        Method::Request => "STATUS:CONFIRMED",
        Method::Cancel => "STATUS:CANCELLED",
    });
    line("TRANSP:OPAQUE");
    line("END:VEVENT");
    line("END:VCALENDAR");
    out
}

/// An instant as a UTC DATE-TIME (§3.3.5).
fn utc(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// A TEXT value (§3.3.11): backslash, semicolon, comma and line breaks escaped, so that
/// nothing a buyer or manager typed can end the value or start a property of its own.
fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push_str("\\n");
                }
            }
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A parameter value (§3.2): quoted, since names hold commas and colons; a double quote
/// cannot be escaped inside one, so it becomes a single quote.
fn param(value: &str) -> String {
    let inner: String = value
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| if c == '"' { '\'' } else { c })
        .collect();
    format!("\"{inner}\"")
}

/// An address in a `mailto:` URI: checked where it was taken in; anything that could end
/// the line or the value is dropped here all the same.
fn address(email: &str) -> String {
    email
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, ';' | ',' | ':' | '"'))
        .collect()
}

/// Appends `line` folded at 75 octets (§3.1): each continuation starts with a space, and
/// no character is split across lines.
fn fold(out: &mut String, line: &str) {
    const OCTETS: usize = 75;
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > OCTETS {
            out.push_str("\r\n ");
            // The space counts toward the continuation's 75.
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use ical::parser::ical::component::IcalEvent;

    fn invite<'a>(method: Method, description: &'a str, attendees: &'a [Party<'a>]) -> Invite<'a> {
        Invite {
            method,
            uid: "interview-0193@debrief.example",
            sequence: 2,
            stamp: Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap(),
            starts: Utc.with_ymd_and_hms(2026, 12, 1, 14, 0, 0).unwrap(),
            ends: Utc.with_ymd_and_hms(2026, 12, 1, 14, 45, 0).unwrap(),
            summary: "Interview: Globex, with Acme Analytics",
            description,
            location: Some("+33 1 23 45 67 89"),
            organizer: Party {
                name: "Ana Duarte, Acme",
                email: "ana@acme.example",
            },
            attendees,
        }
    }

    /// Reads `ics` with a standard parser; gives its calendar's METHOD and its one event.
    fn parse(ics: &str) -> (String, IcalEvent) {
        let mut calendars = ical::IcalParser::new(std::io::BufReader::new(ics.as_bytes()));
        let calendar = calendars.next().expect("a calendar").expect("parses");
        assert!(calendars.next().is_none(), "one calendar");
        let method = calendar
            .properties
            .iter()
            .find(|p| p.name == "METHOD")
            .and_then(|p| p.value.clone())
            .expect("METHOD");
        assert_eq!(calendar.events.len(), 1, "one event");
        (method, calendar.events.into_iter().next().expect("event"))
    }

    fn value(event: &IcalEvent, name: &str) -> String {
        event
            .properties
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.value.clone())
            .unwrap_or_else(|| panic!("no {name}"))
    }

    #[test]
    fn a_standard_parser_reads_the_interview_at_its_instant() {
        let buyer = [Party {
            name: "Camille Martin",
            email: "camille@globex.example",
        }];
        let ics = render(&invite(Method::Request, "See you then.", &buyer));
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        assert!(
            ics.split("\r\n").all(|line| line.len() <= 75),
            "every line folded at 75 octets"
        );
        let (method, event) = parse(&ics);
        assert_eq!(method, "REQUEST");
        assert_eq!(value(&event, "UID"), "interview-0193@debrief.example");
        assert_eq!(value(&event, "SEQUENCE"), "2");
        assert_eq!(value(&event, "DTSTART"), "20261201T140000Z");
        assert_eq!(value(&event, "DTEND"), "20261201T144500Z");
        assert_eq!(value(&event, "STATUS"), "CONFIRMED");
        assert_eq!(value(&event, "ATTENDEE"), "mailto:camille@globex.example");
        let organizer = event
            .properties
            .iter()
            .find(|p| p.name == "ORGANIZER")
            .expect("organizer");
        let cn = organizer
            .params
            .iter()
            .flatten()
            .find(|(name, _)| name == "CN")
            .map(|(_, values)| values.join(","));
        assert_eq!(cn.as_deref(), Some("Ana Duarte, Acme"));
    }

    #[test]
    fn a_cancellation_says_so() {
        let (method, event) = parse(&render(&invite(Method::Cancel, "", &[])));
        assert_eq!(method, "CANCEL");
        assert_eq!(value(&event, "STATUS"), "CANCELLED");
        assert_eq!(
            content_type(Method::Cancel),
            "text/calendar; charset=utf-8; method=CANCEL"
        );
    }

    #[test]
    fn typed_text_cannot_end_the_event_or_add_a_property() {
        let hostile =
            "Notes;\r\nEND:VEVENT\r\nBEGIN:VEVENT\nATTENDEE:mailto:x@evil.example, \\ end\u{7}";
        let name = "Evil\"\r\nATTENDEE:mailto:y@evil.example";
        let attendees = [Party {
            name,
            email: "z@globex.example\r\nX:1",
        }];
        let ics = render(&invite(Method::Request, hostile, &attendees));
        let (_, event) = parse(&ics);
        let attendees: Vec<_> = event
            .properties
            .iter()
            .filter(|p| p.name == "ATTENDEE")
            .collect();
        assert_eq!(attendees.len(), 1, "no attendee added by typed text");
        assert_eq!(
            value(&event, "DESCRIPTION"),
            "Notes\\;\\nEND:VEVENT\\nBEGIN:VEVENT\\nATTENDEE:mailto:x@evil.example\\, \\\\ end"
        );
    }

    #[test]
    fn long_lines_fold_between_characters() {
        let description = "é".repeat(200);
        let ics = render(&invite(Method::Request, &description, &[]));
        assert!(ics.split("\r\n").all(|line| line.len() <= 75));
        let (_, event) = parse(&ics);
        assert_eq!(value(&event, "DESCRIPTION"), description, "unfolds whole");
    }
}
