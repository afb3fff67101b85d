//! Instants are stored as fixed-width RFC 3339 UTC text, which sorts and compares the same
//! on both engines. These two functions are the only way in and out.

use chrono::{DateTime, SecondsFormat, Utc};

pub fn to_db(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn from_db(s: &str) -> anyhow::Result<DateTime<Utc>> {
    Ok(DateTime::parse_from_rfc3339(s)?.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn stored_instants_sort_as_text_in_time_order() {
        let early = Utc
            .with_ymd_and_hms(2026, 1, 2, 3, 4, 5)
            .single()
            .expect("valid");
        let late = early + chrono::Duration::microseconds(1);
        assert!(to_db(early) < to_db(late));
        assert_eq!(to_db(early), "2026-01-02T03:04:05.000000Z");
        assert_eq!(from_db(&to_db(late)).expect("round trip"), late);
    }
}
