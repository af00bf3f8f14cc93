//! A calendar day from outside (a query's `from` or `to`): `YYYY-MM-DD`, UTC, within the days the
//! bank's records can hold. Out of range is refused where it is parsed, so no handler computes the
//! day after 9999-12-31 (it panics) and no query sends PostgreSQL a year it cannot store.

use serde::{Deserialize, Deserializer};
use time::macros::date;
use time::{Date, OffsetDateTime, Time};

/// The first day a query may name.
pub const FIRST: Date = date!(1900 - 01 - 01);
/// The last day a query may name: its end, the next midnight, is still a day `time` can hold.
pub const LAST: Date = date!(9999 - 12 - 30);

/// In the API document a `date` string (the parameters say `value_type = String, format = Date`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day(Date);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a day must be between {FIRST} and {LAST}")]
pub struct DayOutOfRange;

impl Day {
    pub fn new(date: Date) -> Result<Self, DayOutOfRange> {
        if (FIRST..=LAST).contains(&date) {
            Ok(Self(date))
        } else {
            Err(DayOutOfRange)
        }
    }

    pub fn date(self) -> Date {
        self.0
    }

    /// Midnight at the start of the day, UTC.
    pub fn start(self) -> OffsetDateTime {
        self.0.with_time(Time::MIDNIGHT).assume_utc()
    }

    /// Midnight at the end of the day, UTC: the first instant not in it.
    pub fn end(self) -> OffsetDateTime {
        // LAST is the day before Date's own last, so a next day always exists.
        self.0
            .next_day()
            .unwrap_or(self.0)
            .with_time(Time::MIDNIGHT)
            .assume_utc()
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Day::new(Date::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_day_has_an_end_and_the_day_after_it_is_refused() {
        let last = Day::new(LAST).unwrap();
        assert_eq!(last.end().date(), date!(9999 - 12 - 31));
        assert_eq!(Day::new(date!(9999 - 12 - 31)), Err(DayOutOfRange));
        assert_eq!(Day::new(date!(1899 - 12 - 31)), Err(DayOutOfRange));
    }

    #[test]
    fn a_day_parses_from_its_text_and_out_of_range_text_is_an_error() {
        let day: Day = serde_json::from_str("\"2026-11-30\"").unwrap();
        assert_eq!(day.start().to_string(), "2026-11-30 0:00:00.0 +00:00:00");
        assert_eq!(day.end().date(), date!(2026 - 12 - 01));
        for text in ["\"9999-12-31\"", "\"-9999-01-01\"", "\"0001-01-01\""] {
            let error = serde_json::from_str::<Day>(text).unwrap_err().to_string();
            assert!(
                error.contains("between 1900-01-01 and 9999-12-30"),
                "{text}: {error}"
            );
        }
    }
}
