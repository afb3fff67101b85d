//! An interviewer's availability, and the free slots it gives: a pure function of the
//! weekly hours, the exceptions, what is booked and the clock, so every rule (the buffer,
//! daylight-saving days, notice) is tested without a database.
//!
//! Hours are the interviewer's wall-clock times in their calendar's zone: "Tuesdays 9 to
//! 12" stays 9 to 12 across a daylight-saving change, while its instant moves. A wall time
//! that does not exist that day (the hour skipped in spring) gives no slot; one that
//! happens twice (the hour repeated in autumn) gives its first.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// Lengths of an interview, in minutes: the default guide fits in 30 to 45.
pub const LENGTHS: [i64; 2] = [30, 45];

/// The longest buffer between two interviews, in minutes.
pub const MAX_BUFFER: i64 = 120;

/// Hours on one day, as wall-clock times: `from` included, `to` excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Hours {
    #[schema(value_type = String, example = "09:00")]
    #[serde(with = "wall")]
    pub from: NaiveTime,
    #[schema(value_type = String, example = "12:30")]
    #[serde(with = "wall")]
    pub to: NaiveTime,
}

/// Hours on a day of the week.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Weekly {
    #[schema(value_type = String, example = "tuesday")]
    #[serde(with = "weekday")]
    pub day: Weekday,
    pub hours: Vec<Hours>,
}

/// A date whose hours differ from the week's: none is a day off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Exception {
    pub date: NaiveDate,
    #[serde(default)]
    pub hours: Vec<Hours>,
}

/// What an interviewer publishes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Availability {
    /// 30 or 45.
    pub slot_minutes: i64,
    /// Free time kept between two interviews, 0 to 120.
    #[serde(default)]
    pub buffer_minutes: i64,
    pub weekly: Vec<Weekly>,
    #[serde(default)]
    pub exceptions: Vec<Exception>,
}

/// How far ahead a buyer may book, and how soon.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// The earliest slot starts this long after now: an interviewer needs notice.
    pub notice: Duration,
    /// The latest slot starts before now plus this.
    pub horizon: Duration,
}

impl Default for Window {
    fn default() -> Self {
        Window {
            notice: Duration::hours(12),
            horizon: Duration::days(21),
        }
    }
}

/// An interval taken in an interviewer's calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Taken {
    pub starts: DateTime<Utc>,
    pub ends: DateTime<Utc>,
}

/// A slot a buyer may book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Slot {
    pub starts: DateTime<Utc>,
    pub ends: DateTime<Utc>,
}

impl Availability {
    /// Checks what an interviewer sends; names the field at fault.
    pub fn check(&self) -> Result<(), (String, String)> {
        let fail = |field: String, message: &str| Err((field, message.to_owned()));
        if !LENGTHS.contains(&self.slot_minutes) {
            return fail("slot_minutes".into(), "must be 30 or 45");
        }
        if !(0..=MAX_BUFFER).contains(&self.buffer_minutes) {
            return fail("buffer_minutes".into(), "must be 0 to 120");
        }
        if self.weekly.len() > 7 || self.exceptions.len() > 366 {
            return fail("exceptions".into(), "at most 7 weekdays and 366 exceptions");
        }
        let mut days = std::collections::HashSet::new();
        for (i, weekly) in self.weekly.iter().enumerate() {
            if !days.insert(weekly.day) {
                return fail(format!("weekly[{i}].day"), "is given twice");
            }
            check_hours(&weekly.hours, &format!("weekly[{i}].hours"))?;
        }
        let mut dates = std::collections::HashSet::new();
        for (i, exception) in self.exceptions.iter().enumerate() {
            if !dates.insert(exception.date) {
                return fail(format!("exceptions[{i}].date"), "is given twice");
            }
            check_hours(&exception.hours, &format!("exceptions[{i}].hours"))?;
        }
        Ok(())
    }

    /// The hours of a date: its exception's, or its weekday's.
    fn hours_on(&self, date: NaiveDate) -> &[Hours] {
        if let Some(exception) = self.exceptions.iter().find(|e| e.date == date) {
            return &exception.hours;
        }
        self.weekly
            .iter()
            .find(|w| w.day == chrono::Datelike::weekday(&date))
            .map_or(&[], |w| &w.hours)
    }

    /// The free slots between `now + notice` and `now + horizon`, in order: each within
    /// the hours of its day in `zone`, and none closer than the buffer to a taken
    /// interval.
    pub fn slots(
        &self,
        zone: Tz,
        taken: &[Taken],
        now: DateTime<Utc>,
        window: Window,
    ) -> Vec<Slot> {
        let length = Duration::minutes(self.slot_minutes);
        let step = length + Duration::minutes(self.buffer_minutes);
        let buffer = Duration::minutes(self.buffer_minutes);
        let earliest = now + window.notice;
        let latest = now + window.horizon;
        let first_day = earliest.with_timezone(&zone).date_naive() - Duration::days(1);
        let last_day = latest.with_timezone(&zone).date_naive() + Duration::days(1);
        let mut slots = Vec::new();
        let mut day = first_day;
        while day <= last_day {
            for hours in self.hours_on(day) {
                let mut start = hours.from;
                // Slots start at wall-clock steps from the range's start.
                loop {
                    let (end, wrapped) = start.overflowing_add_signed(length);
                    if wrapped != 0 || end > hours.to {
                        break;
                    }
                    // The instant it ends is its start's plus its length: across a
                    // skipped hour, the wall clock shows an hour more.
                    if let Some(starts) = instant(zone, day, start) {
                        let ends = starts + length;
                        let in_hours =
                            ends.with_timezone(&zone).naive_local() <= day.and_time(hours.to);
                        let free = taken
                            .iter()
                            .all(|t| ends + buffer <= t.starts || starts >= t.ends + buffer);
                        if starts >= earliest && starts < latest && in_hours && free {
                            slots.push(Slot { starts, ends });
                        }
                    }
                    let (next, wrapped) = start.overflowing_add_signed(step);
                    if wrapped != 0 || next <= start {
                        break;
                    }
                    start = next;
                }
            }
            day += Duration::days(1);
        }
        slots.sort();
        slots.dedup();
        slots
    }
}

fn check_hours(hours: &[Hours], field: &str) -> Result<(), (String, String)> {
    if hours.len() > 12 {
        return Err((field.to_owned(), "at most 12 ranges a day".to_owned()));
    }
    let mut sorted: Vec<&Hours> = hours.iter().collect();
    sorted.sort_by_key(|h| h.from);
    for (i, h) in sorted.iter().enumerate() {
        if h.from >= h.to {
            return Err((
                field.to_owned(),
                "each range must end after it starts".to_owned(),
            ));
        }
        if i > 0 && sorted[i - 1].to > h.from {
            return Err((field.to_owned(), "ranges must not overlap".to_owned()));
        }
    }
    Ok(())
}

/// The instant of a wall-clock time in `zone`: none in a skipped hour, the first of a
/// repeated one.
fn instant(zone: Tz, day: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
    zone.from_local_datetime(&day.and_time(time))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// `HH:MM` wall-clock times.
mod wall {
    use chrono::NaiveTime;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(time: &NaiveTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&time.format("%H:%M").to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
        let text = String::deserialize(d)?;
        NaiveTime::parse_from_str(&text, "%H:%M")
            .map_err(|_| serde::de::Error::custom("must be a time as HH:MM"))
    }
}

/// Days of the week by their English name, lower-case.
mod weekday {
    use chrono::Weekday;
    use serde::{Deserialize, Deserializer, Serializer};

    const NAMES: [(&str, Weekday); 7] = [
        ("monday", Weekday::Mon),
        ("tuesday", Weekday::Tue),
        ("wednesday", Weekday::Wed),
        ("thursday", Weekday::Thu),
        ("friday", Weekday::Fri),
        ("saturday", Weekday::Sat),
        ("sunday", Weekday::Sun),
    ];

    pub fn serialize<S: Serializer>(day: &Weekday, s: S) -> Result<S::Ok, S::Error> {
        let name = NAMES
            .iter()
            .find(|(_, d)| d == day)
            .map_or("monday", |(n, _)| n);
        s.serialize_str(name)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Weekday, D::Error> {
        let text = String::deserialize(d)?;
        NAMES
            .iter()
            .find(|(n, _)| *n == text)
            .map(|(_, d)| *d)
            .ok_or_else(|| serde::de::Error::custom("must be a day of the week, as monday"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{America::New_York, Europe::Paris};

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("instant")
            .with_timezone(&Utc)
    }

    fn hours(from: &str, to: &str) -> Hours {
        serde_json::from_value(serde_json::json!({ "from": from, "to": to })).expect("hours")
    }

    /// Tuesdays 9:00–12:00, 45-minute slots with 15 minutes between.
    fn tuesday_mornings() -> Availability {
        Availability {
            slot_minutes: 45,
            buffer_minutes: 15,
            weekly: vec![Weekly {
                day: Weekday::Tue,
                hours: vec![hours("09:00", "12:00")],
            }],
            exceptions: vec![],
        }
    }

    fn starts(slots: &[Slot]) -> Vec<String> {
        slots.iter().map(|s| s.starts.to_rfc3339()).collect()
    }

    #[test]
    fn slots_follow_the_weekly_hours_with_the_buffer_between() {
        // Sunday 2026-11-29, noon in New York.
        let now = at("2026-11-29T17:00:00Z");
        let window = Window {
            notice: Duration::hours(12),
            horizon: Duration::days(3),
        };
        let slots = tuesday_mornings().slots(New_York, &[], now, window);
        // 9:00, 10:00, 11:00 on Tuesday 1 December, in New York (UTC-5).
        assert_eq!(
            starts(&slots),
            [
                "2026-12-01T14:00:00+00:00",
                "2026-12-01T15:00:00+00:00",
                "2026-12-01T16:00:00+00:00"
            ]
        );
        assert!(slots
            .iter()
            .all(|s| s.ends - s.starts == Duration::minutes(45)));
    }

    #[test]
    fn a_taken_slot_and_its_buffer_are_not_offered() {
        let now = at("2026-11-29T17:00:00Z");
        let window = Window {
            notice: Duration::hours(1),
            horizon: Duration::days(3),
        };
        let taken = [Taken {
            starts: at("2026-12-01T15:00:00Z"),
            ends: at("2026-12-01T15:45:00Z"),
        }];
        let slots = tuesday_mornings().slots(New_York, &taken, now, window);
        assert_eq!(
            starts(&slots),
            ["2026-12-01T14:00:00+00:00", "2026-12-01T16:00:00+00:00"]
        );
        // Booked elsewhere in between, closer than the buffer: 11:00 is gone too.
        let close = [Taken {
            starts: at("2026-12-01T15:50:00Z"),
            ends: at("2026-12-01T15:55:00Z"),
        }];
        let slots = tuesday_mornings().slots(New_York, &close, now, window);
        assert_eq!(starts(&slots), ["2026-12-01T14:00:00+00:00"]);
    }

    #[test]
    fn notice_and_horizon_bound_the_slots() {
        // Tuesday 1 December, 8:30 in New York: 9:00 is too soon with 12 hours' notice.
        let now = at("2026-12-01T13:30:00Z");
        let slots = tuesday_mornings().slots(New_York, &[], now, Window::default());
        assert_eq!(
            slots.first().map(|s| s.starts.to_rfc3339()).as_deref(),
            Some("2026-12-08T14:00:00+00:00")
        );
        // Tuesdays 8 and 15 December; 9:00 on the 22nd is half an hour past three weeks.
        assert_eq!(slots.len(), 6);
        assert_eq!(
            slots.last().map(|s| s.starts.to_rfc3339()).as_deref(),
            Some("2026-12-15T16:00:00+00:00")
        );
    }

    #[test]
    fn an_exception_replaces_the_day_or_takes_it_off() {
        let mut availability = tuesday_mornings();
        availability.exceptions = vec![
            Exception {
                date: NaiveDate::from_ymd_opt(2026, 12, 1).expect("date"),
                hours: vec![],
            },
            Exception {
                date: NaiveDate::from_ymd_opt(2026, 12, 2).expect("date"),
                hours: vec![hours("14:00", "15:00")],
            },
        ];
        let now = at("2026-11-29T17:00:00Z");
        let window = Window {
            notice: Duration::hours(1),
            horizon: Duration::days(4),
        };
        let slots = availability.slots(New_York, &[], now, window);
        assert_eq!(starts(&slots), ["2026-12-02T19:00:00+00:00"]);
    }

    #[test]
    fn wall_hours_hold_across_daylight_saving_and_the_skipped_hour_gives_no_slot() {
        // Paris moves to summer time on Sunday 29 March 2026 at 2:00 (to 3:00).
        let availability = Availability {
            slot_minutes: 30,
            buffer_minutes: 0,
            weekly: vec![
                Weekly {
                    day: Weekday::Sat,
                    hours: vec![hours("09:00", "10:00")],
                },
                Weekly {
                    day: Weekday::Sun,
                    hours: vec![hours("01:30", "03:30"), hours("09:00", "10:00")],
                },
            ],
            exceptions: vec![],
        };
        let now = at("2026-03-27T12:00:00Z");
        let window = Window {
            notice: Duration::hours(1),
            horizon: Duration::days(2),
        };
        let slots = availability.slots(Paris, &[], now, window);
        assert_eq!(
            starts(&slots),
            [
                // Saturday 9:00 and 9:30 in winter time (UTC+1).
                "2026-03-28T08:00:00+00:00",
                "2026-03-28T08:30:00+00:00",
                // Sunday 1:30 (UTC+1); 2:00 and 2:30 do not exist; 3:00 is UTC+2.
                "2026-03-29T00:30:00+00:00",
                "2026-03-29T01:00:00+00:00",
                // Sunday 9:00 and 9:30 in summer time (UTC+2).
                "2026-03-29T07:00:00+00:00",
                "2026-03-29T07:30:00+00:00",
            ]
        );
        assert!(
            slots
                .iter()
                .all(|s| s.ends - s.starts == Duration::minutes(30)),
            "no slot spans the skipped hour"
        );
    }

    #[test]
    fn what_an_interviewer_sends_is_checked_field_by_field() {
        let field = |json: serde_json::Value| {
            let availability: Availability = serde_json::from_value(json).expect("parses");
            availability.check().expect_err("refused").0
        };
        let day = |h: serde_json::Value| serde_json::json!({ "slot_minutes": 30, "weekly": [{ "day": "monday", "hours": h }] });
        assert_eq!(
            field(serde_json::json!({ "slot_minutes": 60, "weekly": [] })),
            "slot_minutes"
        );
        assert_eq!(
            field(serde_json::json!({ "slot_minutes": 30, "buffer_minutes": -5, "weekly": [] })),
            "buffer_minutes"
        );
        assert_eq!(
            field(day(serde_json::json!([{ "from": "12:00", "to": "09:00" }]))),
            "weekly[0].hours"
        );
        assert_eq!(
            field(day(serde_json::json!([
                { "from": "09:00", "to": "11:00" },
                { "from": "10:00", "to": "12:00" }
            ]))),
            "weekly[0].hours"
        );
        assert!(serde_json::from_value::<Availability>(serde_json::json!({
            "slot_minutes": 30, "weekly": [{ "day": "someday", "hours": [] }]
        }))
        .is_err());
        assert!(tuesday_mornings().check().is_ok());
    }
}
