//! The one source of "now". Handlers, planning and the job runner ask the clock, never
//! `Utc::now()`, so tests drive reminders, expiry and cooldowns by moving a manual clock
//! forward instead of sleeping or editing timestamps in the database.

use chrono::{DateTime, Duration, Utc};
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug, Default)]
pub enum Clock {
    /// The machine's clock.
    #[default]
    System,
    /// A clock that moves only when told to; shared by every clone.
    Manual(Arc<Mutex<DateTime<Utc>>>),
}

impl Clock {
    pub fn manual(start: DateTime<Utc>) -> Clock {
        Clock::Manual(Arc::new(Mutex::new(start)))
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            // A poisoned lock only means another thread panicked while setting the time;
            // the value inside is still a valid instant.
            Clock::Manual(t) => *t.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// Moves a manual clock forward (or back). The system clock cannot be moved.
    pub fn advance(&self, by: Duration) {
        if let Clock::Manual(t) = self {
            let mut t = t.lock().unwrap_or_else(|e| e.into_inner());
            *t += by;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_every_clone_sees_it() {
        let start: DateTime<Utc> = "2026-11-23T09:00:00Z".parse().expect("valid");
        let clock = Clock::manual(start);
        let seen_by_the_app = clock.clone();
        assert_eq!(seen_by_the_app.now(), start);
        clock.advance(Duration::days(3));
        assert_eq!(seen_by_the_app.now(), start + Duration::days(3));
    }
}
