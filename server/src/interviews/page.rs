//! `/i/{token}`: the buyer's booking page, the link in every interview invitation. A server
//! page of plain forms: it works by keyboard, at 320 px and without JavaScript.
//! - `GET`: the free slots in the buyer's time zone (the CRM's, or the one they pick), or,
//!   once booked, their booking with its `.ics`, another time to move to, and a cancel
//!   button;
//! - `POST`: books the slot chosen (or moves the booking there);
//! - `POST /i/{token}/cancel` and `POST /i/{token}/decline`;
//! - `GET /i/{token}/invite.ics`: the booked interview as a calendar event;
//! - `GET /i/-/zone.js`: the page's one script, which shows the times in the browser's own
//!   zone when the link names none.

use super::booking::{self, Interview, Offered, Prefers, Refused, Request};
use super::lifecycle::InterviewStatus;
use crate::app::clock::Clock;
use crate::app::config::Settings;
use crate::channels::icalendar::{self, Invite, Method, Party};
use crate::invitations::tokens::{resolve, Lookup};
use crate::invitations::{self, Event, InvitationKind, Target};
use crate::jobs::runner::Waker;
use crate::platform::db::Db;
use crate::web::dates;
use crate::web::extract::read_body;
use crate::web::pages::{object, pages};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use debrief_common::Locale;
use serde_json::{json, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    // Before `/i/{token}`: actix matches in the order routes are registered.
    cfg.route("/i/-/zone.js", web::get().to(zone_script));
    cfg.service(
        web::resource("/i/{token}")
            .route(web::get().to(show))
            .route(web::post().to(book)),
    )
    .route("/i/{token}/invite.ics", web::get().to(ics))
    .route("/i/{token}/{action}", web::post().to(act));
}

/// The page's one script: it shows the times in the browser's own zone when the link
/// names none.
const ZONE_SCRIPT: &str = include_str!("../../assets/booking-zone.js");

#[utoipa::path(get, path = "/i/-/zone.js", tag = "pages", responses((status = 200, description = "The booking page's script: shows the times in the browser's time zone", content_type = "text/javascript")))]
pub async fn zone_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(ZONE_SCRIPT)
}

/// A form's fields are few and short.
const FORM_LIMIT: usize = 4 * 1024;

fn failure(e: impl Into<anyhow::Error>) -> HttpResponse {
    let e = e.into();
    tracing::error!(error = ?e, "the booking page failed");
    pages().message(StatusCode::INTERNAL_SERVER_ERROR, None, "server_error")
}

/// The interview behind a link, or the page to answer instead: an unknown link, or one
/// that is not an interview's, is a 404 that says nothing more.
async fn interview_for(
    db: &Db,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Interview, HttpResponse> {
    // A link outlives its invitation's expiry once the buyer has booked: they move or
    // cancel the interview, and read its calendar event, from it.
    let (invitation, expired) = match resolve(db, token, now).await {
        Ok(Lookup::Valid(invitation)) if invitation.kind == InvitationKind::Interview => {
            (invitation, false)
        }
        Ok(Lookup::Expired(invitation)) if invitation.kind == InvitationKind::Interview => {
            (invitation, true)
        }
        Ok(_) => return Err(pages().message(StatusCode::NOT_FOUND, None, "invalid_link")),
        Err(e) => return Err(failure(e)),
    };
    match booking::load(db, &invitation.id).await {
        Ok(Some(interview)) if expired && interview.status == InterviewStatus::Invited => {
            Err(pages().message(StatusCode::GONE, Some(interview.locale), "booking_expired"))
        }
        Ok(Some(interview)) => Ok(interview),
        Ok(None) => Err(pages().message(StatusCode::NOT_FOUND, None, "invalid_link")),
        Err(e) => Err(failure(e)),
    }
}

/// The page for an interview past booking: what became of it.
fn closed(interview: &Interview) -> Option<HttpResponse> {
    let key = match interview.status {
        InterviewStatus::Invited | InterviewStatus::Booked => return None,
        InterviewStatus::Cancelled => "booking_cancelled",
        InterviewStatus::Declined => "booking_declined",
        InterviewStatus::Expired => {
            return Some(pages().message(
                StatusCode::GONE,
                Some(interview.locale),
                "booking_expired",
            ))
        }
        InterviewStatus::Completed | InterviewStatus::NoShow => "booking_closed",
    };
    Some(pages().message(StatusCode::OK, Some(interview.locale), key))
}

/// Canonical zone names, for the picker: the ones with a region, not aliases such as
/// `US/Eastern` or `Etc/GMT+5`.
fn zone_names() -> impl Iterator<Item = &'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()).filter(|n| {
        n.contains('/')
            && !n.starts_with("Etc/")
            && !n.starts_with("US/")
            && !n.starts_with("SystemV/")
            && n.split('/').next().is_some_and(|r| {
                matches!(
                    r,
                    "Africa"
                        | "America"
                        | "Antarctica"
                        | "Asia"
                        | "Atlantic"
                        | "Australia"
                        | "Europe"
                        | "Indian"
                        | "Pacific"
                )
            })
    })
}

/// What the buyer filled in, kept when the page is shown again with an error.
#[derive(Debug, Default)]
struct Filled {
    phone: String,
    prefers: Option<Prefers>,
}

/// The booking page for `interview`, in `zone`.
#[allow(clippy::too_many_arguments)]
fn page(
    status: StatusCode,
    token: &str,
    interview: &Interview,
    offered: &[Offered],
    zone: Tz,
    company: &str,
    error: Option<&str>,
    filled: &Filled,
) -> HttpResponse {
    let locale = interview.locale;
    let t = pages().sentences(locale);
    let mut days: Vec<Value> = Vec::new();
    let mut current: Option<(String, Vec<Value>)> = None;
    for offer in offered {
        let local = offer.slot.starts.with_timezone(&zone);
        let label = dates::day(&local, locale);
        if current.as_ref().is_none_or(|(day, _)| *day != label) {
            if let Some((day, slots)) = current.take() {
                days.push(json!({ "label": day, "slots": slots }));
            }
            current = Some((label, Vec::new()));
        }
        if let Some((_, slots)) = current.as_mut() {
            slots.push(json!({
                "value": offer.slot.starts.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "label": dates::time(&local, locale),
            }));
        }
    }
    if let Some((day, slots)) = current {
        days.push(json!({ "label": day, "slots": slots }));
    }
    let booked = interview.booking.as_ref().map(|b| {
        let starts = b.starts.with_timezone(&zone);
        let ends = b.ends.with_timezone(&zone);
        json!({
            "when": format!("{} – {}", dates::day_and_time(&starts, locale), dates::time(&ends, locale)),
            "zone": zone.name(),
            "interviewer": b.interviewer.name,
            "ics": format!("/i/{token}/invite.ics"),
        })
    });
    let minutes = offered
        .first()
        .map(|o| (o.slot.ends - o.slot.starts).num_minutes())
        .or_else(|| {
            interview
                .booking
                .as_ref()
                .map(|b| (b.ends - b.starts).num_minutes())
        })
        .unwrap_or(45)
        .to_string();
    // The zone shown is always offered, also one outside the list (UTC, Etc/GMT+5).
    let extra = (!zone_names().any(|n| n == zone.name())).then(|| zone.name());
    let zones: Vec<Value> = extra
        .into_iter()
        .chain(zone_names())
        .map(|name| json!({ "name": name, "selected": name == zone.name() }))
        .collect();
    let data = object(json!({
        "action": format!("/i/{token}"),
        "error": error.map(&t),
        "booked": booked,
        "tz": zone.name(),
        "zones": zones,
        "days": days,
        "phone": filled.phone,
        "prefers_video": filled.prefers == Some(Prefers::Video),
        "prefers_phone": filled.prefers == Some(Prefers::Phone),
    }));
    pages().render(
        status,
        locale,
        company,
        "booking",
        data,
        &[("company", company), ("minutes", &minutes)],
    )
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ZoneQuery {
    /// The time zone to show the times in (IANA name).
    pub tz: Option<String>,
}

/// The zone the buyer asked for, else the one of their booking, else the CRM's.
fn zone_of(req: &HttpRequest, interview: &Interview) -> Result<Tz, ()> {
    let query: ZoneQuery = serde_urlencoded::from_str(req.query_string()).map_err(|_| ())?;
    match query.tz {
        Some(name) => name.parse().map_err(|_| ()),
        None => Ok(interview
            .booking
            .as_ref()
            .map_or(interview.contact_zone, |b| b.buyer_zone)),
    }
}

#[utoipa::path(get, path = "/i/{token}", tag = "pages", params(("token" = String, Path, description = "The buyer's token from the interview invitation"), ZoneQuery), responses((status = 200, description = "The free slots in the buyer's zone, or their booking (HTML)", content_type = "text/html"), (status = 404, content_type = "text/html"), (status = 410, description = "The invitation expired", content_type = "text/html"), (status = 422, description = "An unknown time zone", content_type = "text/html")))]
pub async fn show(
    req: HttpRequest,
    token: web::Path<String>,
    db: web::Data<Db>,
    settings: web::Data<Settings>,
    clock: web::Data<Clock>,
) -> HttpResponse {
    let now = clock.now();
    let interview = match interview_for(&db, &token, now).await {
        Ok(interview) => interview,
        Err(page) => return page,
    };
    if let Some(page) = closed(&interview) {
        return page;
    }
    // The buyer opened the link: the invitation's funnel says so.
    if let Err(e) = invitations::apply(
        db.pool(),
        Target::Invitation(&interview.invitation_id),
        Event::Open,
        now,
    )
    .await
    {
        return failure(e);
    }
    let (status, zone, error) = match zone_of(&req, &interview) {
        Ok(zone) => (StatusCode::OK, zone, None),
        Err(()) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            interview.contact_zone,
            Some("booking_zone_invalid"),
        ),
    };
    let offered = match booking::offered(&db, &interview, now).await {
        Ok(offered) => offered,
        Err(e) => return failure(e),
    };
    let filled = Filled {
        phone: interview
            .booking
            .as_ref()
            .and_then(|b| b.phone.clone())
            .unwrap_or_default(),
        prefers: interview.booking.as_ref().and_then(|b| b.prefers),
    };
    page(
        status,
        &token,
        &interview,
        &offered,
        zone,
        &settings.company_name,
        error,
        &filled,
    )
}

/// The booking form, checked field by field: the catalogue key of the first fault.
fn read_form(body: &[u8]) -> (Result<Request, &'static str>, Filled) {
    let mut slot = None;
    let mut zone = None;
    let mut filled = Filled::default();
    let mut prefers_bad = false;
    for (name, value) in form_urlencoded::parse(body) {
        match name.as_ref() {
            "slot" => slot = Some(value.into_owned()),
            "tz" => zone = Some(value.into_owned()),
            "phone" => filled.phone = value.trim().to_owned(),
            "prefers" => match value.parse::<Prefers>() {
                Ok(p) => filled.prefers = Some(p),
                Err(_) => prefers_bad = true,
            },
            _ => {}
        }
    }
    let request = (|| {
        let starts = slot
            .as_deref()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|s| s.with_timezone(&Utc))
            .ok_or("booking_slot_required")?;
        let buyer_zone: Tz = zone
            .as_deref()
            .and_then(|z| z.parse().ok())
            .ok_or("booking_zone_invalid")?;
        let phone_ok = filled.phone.chars().count() <= 40
            && filled
                .phone
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')' | '.'));
        if !phone_ok {
            return Err("booking_phone_invalid");
        }
        if prefers_bad {
            return Err("booking_prefers_invalid");
        }
        Ok(Request {
            starts,
            buyer_zone,
            phone: Some(filled.phone.clone()).filter(|p| !p.is_empty()),
            prefers: filled.prefers,
        })
    })();
    (request, filled)
}

#[utoipa::path(post, path = "/i/{token}", tag = "pages", params(("token" = String, Path, description = "The buyer's token from the interview invitation")), request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "`slot` (the start, RFC 3339), `tz`, and optionally `phone` and `prefers` (`video` or `phone`)"), responses((status = 303, description = "Booked: to the booking page"), (status = 409, description = "The slot was taken, or the interview can no longer be booked (HTML)", content_type = "text/html"), (status = 422, description = "A field is missing or wrong; the page names it (HTML)", content_type = "text/html"), (status = 404, content_type = "text/html"), (status = 413, content_type = "text/html")))]
pub async fn book(
    token: web::Path<String>,
    mut payload: web::Payload,
    db: web::Data<Db>,
    settings: web::Data<Settings>,
    clock: web::Data<Clock>,
    waker: web::Data<Waker>,
) -> HttpResponse {
    let now = clock.now();
    let Ok(body) = read_body(&mut payload, FORM_LIMIT).await else {
        return pages().message(StatusCode::PAYLOAD_TOO_LARGE, None, "request_too_large");
    };
    let interview = match interview_for(&db, &token, now).await {
        Ok(interview) => interview,
        Err(page) => return page,
    };
    let (request, filled) = read_form(&body);
    let shown_zone = request
        .as_ref()
        .map_or(interview.contact_zone, |r| r.buyer_zone);
    let again = Again {
        db: &db,
        token: &token,
        interview: &interview,
        zone: shown_zone,
        company: &settings.company_name,
        filled: &filled,
        now,
    };
    let request = match request {
        Ok(request) => request,
        Err(key) => return again.page(StatusCode::UNPROCESSABLE_ENTITY, key).await,
    };
    match booking::book(&db, &interview, &request, now).await {
        Ok(_) => {
            // Its calendar messages are due now.
            waker.wake();
            HttpResponse::SeeOther()
                .insert_header((
                    header::LOCATION,
                    format!(
                        "/i/{token}?tz={}",
                        form_urlencoded::byte_serialize(request.buyer_zone.name().as_bytes())
                            .collect::<String>()
                    ),
                ))
                .finish()
        }
        Err(Refused::Unavailable) => again.page(StatusCode::CONFLICT, "booking_taken").await,
        Err(Refused::Closed(_)) => pages().message(
            StatusCode::CONFLICT,
            Some(interview.locale),
            "booking_closed",
        ),
        Err(Refused::Storage(e)) => failure(e),
    }
}

/// The booking page shown again after a refused form, with the slots as they are now.
struct Again<'a> {
    db: &'a Db,
    token: &'a str,
    interview: &'a Interview,
    zone: Tz,
    company: &'a str,
    filled: &'a Filled,
    now: DateTime<Utc>,
}

impl Again<'_> {
    async fn page(&self, status: StatusCode, error: &str) -> HttpResponse {
        match booking::offered(self.db, self.interview, self.now).await {
            Ok(offered) => page(
                status,
                self.token,
                self.interview,
                &offered,
                self.zone,
                self.company,
                Some(error),
                self.filled,
            ),
            Err(e) => failure(e),
        }
    }
}

#[utoipa::path(post, path = "/i/{token}/{action}", tag = "pages", params(("token" = String, Path, description = "The buyer's token from the interview invitation"), ("action" = String, Path, description = "`cancel` (the booking) or `decline` (the invitation)")), responses((status = 200, description = "Cancelled or declined (HTML)", content_type = "text/html"), (status = 409, description = "Nothing booked to cancel, or already booked or closed (HTML)", content_type = "text/html"), (status = 404, content_type = "text/html")))]
pub async fn act(
    path: web::Path<(String, String)>,
    mut payload: web::Payload,
    db: web::Data<Db>,
    clock: web::Data<Clock>,
    waker: web::Data<Waker>,
) -> HttpResponse {
    let (token, action) = path.into_inner();
    let to = match action.as_str() {
        "cancel" => InterviewStatus::Cancelled,
        "decline" => InterviewStatus::Declined,
        _ => return pages().message(StatusCode::NOT_FOUND, None, "invalid_link"),
    };
    let page = close(&token, &mut payload, &db, clock.now(), to).await;
    waker.wake();
    page
}

/// The buyer cancels their booking, or declines the invitation.
async fn close(
    token: &str,
    payload: &mut web::Payload,
    db: &Db,
    now: DateTime<Utc>,
    to: InterviewStatus,
) -> HttpResponse {
    if read_body(payload, FORM_LIMIT).await.is_err() {
        return pages().message(StatusCode::PAYLOAD_TOO_LARGE, None, "request_too_large");
    }
    let interview = match interview_for(db, token, now).await {
        Ok(interview) => interview,
        Err(page) => return page,
    };
    let from = match to {
        InterviewStatus::Cancelled => InterviewStatus::Booked,
        _ => InterviewStatus::Invited,
    };
    match booking::close(db, &interview.invitation_id, from, to, now).await {
        Ok(true) => {
            let key = match to {
                InterviewStatus::Cancelled => "booking_cancelled",
                _ => "booking_declined",
            };
            pages().message(StatusCode::OK, Some(interview.locale), key)
        }
        Ok(false) => pages().message(
            StatusCode::CONFLICT,
            Some(interview.locale),
            "booking_closed",
        ),
        Err(e) => failure(e),
    }
}

#[utoipa::path(get, path = "/i/{token}/invite.ics", tag = "pages", params(("token" = String, Path, description = "The buyer's token from the interview invitation")), responses((status = 200, description = "The booked interview as an iCalendar event (RFC 5545)", content_type = "text/calendar"), (status = 404, description = "Nothing booked", content_type = "text/html")))]
pub async fn ics(
    token: web::Path<String>,
    db: web::Data<Db>,
    settings: web::Data<Settings>,
    clock: web::Data<Clock>,
) -> HttpResponse {
    let interview = match interview_for(&db, &token, clock.now()).await {
        Ok(interview) => interview,
        Err(page) => return page,
    };
    let Some(text) = calendar(
        &interview,
        &settings.company_name,
        Method::Request,
        clock.now(),
    ) else {
        return pages().message(
            StatusCode::NOT_FOUND,
            Some(interview.locale),
            "booking_closed",
        );
    };
    HttpResponse::Ok()
        .content_type(icalendar::content_type(Method::Request))
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"interview.ics\"",
        ))
        .body(text)
}

/// The booked interview as a calendar message, or none before it is booked.
pub fn calendar(
    interview: &Interview,
    company: &str,
    method: Method,
    now: DateTime<Utc>,
) -> Option<String> {
    let booking = interview.booking.as_ref()?;
    let (summary, description) = match interview.locale {
        Locale::En => (
            format!("Conversation with {}", company),
            format!(
                "{} would like to hear how you made your decision. {} will call you.",
                company, booking.interviewer.name
            ),
        ),
        Locale::Fr => (
            format!("Échange avec {}", company),
            format!(
                "{} souhaite comprendre comment vous avez pris votre décision. {} vous appellera.",
                company, booking.interviewer.name
            ),
        ),
    };
    let attendees = [
        Party {
            name: &interview.contact_name,
            email: &interview.contact_email,
        },
        Party {
            name: &booking.interviewer.name,
            email: &booking.interviewer.email,
        },
    ];
    let uid = format!("interview-{}@debrief", interview.invitation_id);
    Some(icalendar::render(&Invite {
        method,
        uid: &uid,
        sequence: u32::try_from(interview.sequence).unwrap_or(0),
        stamp: now,
        starts: booking.starts,
        ends: booking.ends,
        summary: &summary,
        description: &description,
        location: booking.phone.as_deref(),
        organizer: Party {
            name: &booking.interviewer.name,
            email: &booking.interviewer.email,
        },
        attendees: &attendees,
    }))
}
