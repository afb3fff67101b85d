//! Dates and times as a buyer reads them in their language: "Tuesday 1 December 2026,
//! 3:00 pm" or "mardi 1 décembre 2026, 15:00". chrono's own localized formats need its
//! `unstable-locales` feature and pull in every locale's data; two languages fit here.

use chrono::{DateTime, Datelike, Timelike};
use chrono_tz::Tz;
use debrief_common::Locale;

const DAYS_EN: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const DAYS_FR: [&str; 7] = [
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const MONTHS_FR: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// A month of a year: "November 2026", "novembre 2026". `month` is 1 to 12.
pub fn month(year: i32, month: u32, locale: Locale) -> String {
    let months = match locale {
        Locale::En => MONTHS_EN,
        Locale::Fr => MONTHS_FR,
    };
    let name = months[usize::try_from(month.clamp(1, 12) - 1).unwrap_or(0)];
    format!("{name} {year}")
}

/// The day of `at`: "Tuesday 1 December 2026", "mardi 1 décembre 2026".
pub fn day(at: &DateTime<Tz>, locale: Locale) -> String {
    let weekday = at.weekday().num_days_from_monday() as usize;
    let month = at.month0() as usize;
    let (days, months) = match locale {
        Locale::En => (DAYS_EN, MONTHS_EN),
        Locale::Fr => (DAYS_FR, MONTHS_FR),
    };
    format!(
        "{} {} {} {}",
        days[weekday],
        at.day(),
        months[month],
        at.year()
    )
}

/// The time of `at`: "3:00 pm" in English, "15:00" in French.
pub fn time(at: &DateTime<Tz>, locale: Locale) -> String {
    match locale {
        Locale::En => {
            let (pm, hour) = at.hour12();
            format!("{hour}:{:02} {}", at.minute(), if pm { "pm" } else { "am" })
        }
        Locale::Fr => format!("{:02}:{:02}", at.hour(), at.minute()),
    }
}

/// Day and time: "Tuesday 1 December 2026, 3:00 pm".
pub fn day_and_time(at: &DateTime<Tz>, locale: Locale) -> String {
    format!("{}, {}", day(at, locale), time(at, locale))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono_tz::{America::New_York, Europe::Paris};

    #[test]
    fn an_instant_reads_in_each_language_and_zone() {
        let at = chrono::Utc
            .with_ymd_and_hms(2026, 12, 1, 14, 0, 0)
            .single()
            .expect("instant");
        assert_eq!(
            day_and_time(&at.with_timezone(&Paris), Locale::Fr),
            "mardi 1 décembre 2026, 15:00"
        );
        assert_eq!(
            day_and_time(&at.with_timezone(&New_York), Locale::En),
            "Tuesday 1 December 2026, 9:00 am"
        );
        let noon = New_York
            .with_ymd_and_hms(2026, 12, 1, 12, 30, 0)
            .single()
            .expect("noon");
        assert_eq!(time(&noon, Locale::En), "12:30 pm");
    }
}
