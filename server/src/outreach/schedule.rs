//! When an invitation may arrive: the first moment, at or after a given instant, that falls
//! inside business hours in the buyer's own time zone.

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveDateTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

/// Opening hours on open days, in minutes since local midnight (`end` may be 1440).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessHours {
    start_minute: u32,
    end_minute: u32,
    /// Indexed by `Weekday::num_days_from_monday()`.
    open_days: [bool; 7],
}

impl BusinessHours {
    /// `hours` like `09:00-17:00` (`00:00-24:00` for all day); `days` like `mon-fri`,
    /// `mon,wed,fri` or `mon-sun`.
    pub fn parse(hours: &str, days: &str) -> Result<Self, String> {
        let (start_minute, end_minute) = parse_hours(hours)?;
        Ok(Self {
            start_minute,
            end_minute,
            open_days: parse_days(days)?,
        })
    }

    /// These hours with `window`'s own hours and days where it sets them.
    pub fn under(&self, window: &SendingWindow) -> BusinessHours {
        let (start_minute, end_minute) =
            window.hours.unwrap_or((self.start_minute, self.end_minute));
        BusinessHours {
            start_minute,
            end_minute,
            open_days: window.days.unwrap_or(self.open_days),
        }
    }

    /// The first instant at or after `earliest` inside these hours in `tz`.
    pub fn next_slot(&self, earliest: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        let local_day = earliest.with_timezone(&tz).date_naive();
        // At most a week ahead finds an open day; more cannot happen with one open day set.
        for offset in 0..8 {
            let Some(day) = local_day.checked_add_days(Days::new(offset)) else {
                break;
            };
            let weekday = day.weekday().num_days_from_monday() as usize;
            if !self.open_days[weekday] {
                continue;
            }
            let open = resolve(tz, at_minute(day, self.start_minute));
            let close = resolve(tz, at_minute(day, self.end_minute));
            if earliest < open {
                return open;
            }
            if earliest < close {
                return earliest;
            }
        }
        earliest
    }
}

impl BusinessHours {
    /// Whether `t` falls inside these hours in `tz`.
    pub fn is_open(&self, t: DateTime<Utc>, tz: Tz) -> bool {
        self.next_slot(t, tz) == t
    }
}

/// A program's own sending hours and days, each optional: what it leaves unset stays the
/// operator's ([`BusinessHours::under`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendingWindow {
    hours: Option<(u32, u32)>,
    days: Option<[bool; 7]>,
}

impl SendingWindow {
    /// `hours` as `09:00-17:00` and `days` as `mon-fri`; each error names its part.
    pub fn parse(
        hours: Option<&str>,
        days: Option<&str>,
    ) -> Result<SendingWindow, (&'static str, String)> {
        Ok(SendingWindow {
            hours: hours
                .map(parse_hours)
                .transpose()
                .map_err(|e| ("hours", e))?,
            days: days.map(parse_days).transpose().map_err(|e| ("days", e))?,
        })
    }
}

fn parse_hours(hours: &str) -> Result<(u32, u32), String> {
    let (start, end) = hours
        .split_once('-')
        .ok_or_else(|| format!("hours must look like 09:00-17:00, got {hours:?}"))?;
    let start_minute = parse_clock(start)?;
    let end_minute = parse_clock(end)?;
    if start_minute >= end_minute {
        return Err(format!("hours must end after they start, got {hours:?}"));
    }
    Ok((start_minute, end_minute))
}

fn parse_days(days: &str) -> Result<[bool; 7], String> {
    let mut open_days = [false; 7];
    for part in days.split(',').map(str::trim) {
        let (from, to) = part.split_once('-').unwrap_or((part, part));
        let from = parse_weekday(from)?.num_days_from_monday();
        let to = parse_weekday(to)?.num_days_from_monday();
        let mut d = from;
        loop {
            open_days[d as usize] = true;
            if d == to {
                break;
            }
            d = (d + 1) % 7;
        }
    }
    Ok(open_days)
}

fn parse_clock(s: &str) -> Result<u32, String> {
    let bad = || format!("time must look like 09:30, got {s:?}");
    let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m >= 60 || h > 24 || (h == 24 && m > 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

fn parse_weekday(s: &str) -> Result<Weekday, String> {
    s.trim()
        .parse::<Weekday>()
        .map_err(|_| format!("unknown day {s:?}; use mon, tue, wed, thu, fri, sat, sun"))
}

fn at_minute(day: NaiveDate, minute: u32) -> NaiveDateTime {
    day.and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .checked_add_signed(chrono::Duration::minutes(i64::from(minute)))
        .unwrap_or_default()
}

/// Local wall-clock time to an instant. In a DST gap (02:30 that never happens) take the
/// moment the clocks jump to; in an overlap take the earlier of the two.
fn resolve(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let mut probe = local;
    for _ in 0..4 {
        if let Some(t) = tz.from_local_datetime(&probe).earliest() {
            return t.with_timezone(&Utc);
        }
        probe += chrono::Duration::minutes(30);
    }
    Utc.from_utc_datetime(&local)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{America::New_York, Europe::Paris};

    #[test]
    fn a_program_that_sets_only_its_days_keeps_the_operators_hours() {
        let operator = BusinessHours::parse("08:00-12:00", "mon-sat").expect("valid");
        let days = SendingWindow::parse(None, Some("tue")).expect("valid");
        assert_eq!(
            operator.under(&days),
            BusinessHours::parse("08:00-12:00", "tue").expect("valid")
        );
        let hours = SendingWindow::parse(Some("10:00-11:00"), None).expect("valid");
        assert_eq!(
            operator.under(&hours),
            BusinessHours::parse("10:00-11:00", "mon-sat").expect("valid")
        );
        assert_eq!(operator.under(&SendingWindow::default()), operator);
        assert_eq!(
            SendingWindow::parse(Some("10-11"), Some("tue")).map(|_| ()),
            Err(("hours", "time must look like 09:30, got \"10\"".to_owned()))
        );
        assert!(matches!(
            SendingWindow::parse(None, Some("someday")),
            Err(("days", _))
        ));
    }

    fn office() -> BusinessHours {
        BusinessHours::parse("09:00-17:00", "mon-fri").expect("valid")
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("valid")
            .with_timezone(&Utc)
    }

    #[test]
    fn inside_hours_the_email_goes_at_once() {
        // Tuesday 10:00 in Paris (UTC+1 in November).
        let t = utc("2026-11-24T09:00:00Z");
        assert_eq!(office().next_slot(t, Paris), t);
    }

    #[test]
    fn a_friday_evening_decision_waits_for_monday_morning_local_time() {
        // Friday 18:30 in Paris.
        let t = utc("2026-11-27T17:30:00Z");
        assert_eq!(office().next_slot(t, Paris), utc("2026-11-30T08:00:00Z"));
    }

    #[test]
    fn the_same_instant_lands_differently_per_buyer_time_zone() {
        // 15:00 UTC on a Wednesday: 16:00 in Paris (open), 10:00 in New York (open);
        // 23:00 UTC: midnight in Paris (next morning), 18:00 in New York (next morning).
        let late = utc("2026-11-25T23:00:00Z");
        assert_eq!(office().next_slot(late, Paris), utc("2026-11-26T08:00:00Z"));
        assert_eq!(
            office().next_slot(late, New_York),
            utc("2026-11-26T14:00:00Z")
        );
    }

    #[test]
    fn daylight_saving_is_respected() {
        // Paris is UTC+2 in summer: 09:00 local is 07:00 UTC.
        let sunday = utc("2026-07-05T12:00:00Z");
        assert_eq!(
            office().next_slot(sunday, Paris),
            utc("2026-07-06T07:00:00Z")
        );
    }

    #[test]
    fn all_day_every_day_never_delays() {
        let always = BusinessHours::parse("00:00-24:00", "mon-sun").expect("valid");
        let t = utc("2026-11-29T03:17:00Z");
        assert_eq!(always.next_slot(t, Paris), t);
    }

    #[test]
    fn malformed_hours_and_days_are_refused() {
        assert!(BusinessHours::parse("17:00-09:00", "mon-fri").is_err());
        assert!(BusinessHours::parse("9am-5pm", "mon-fri").is_err());
        assert!(BusinessHours::parse("09:00-17:00", "weekdays").is_err());
        assert!(BusinessHours::parse("09:00-25:00", "mon").is_err());
    }

    #[test]
    fn day_ranges_may_wrap_around_the_week() {
        let h = BusinessHours::parse("09:00-17:00", "fri-mon").expect("valid");
        // Wednesday 10:00 UTC in London-less UTC zone: next open day is Friday.
        let wed = utc("2026-11-25T10:00:00Z");
        assert_eq!(
            h.next_slot(wed, chrono_tz::UTC),
            utc("2026-11-27T09:00:00Z")
        );
    }
}
