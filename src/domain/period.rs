//! Calendar periods in the deployment's local time zone: the day a callback quota is counted
//! over and the month a score belongs to. Instants are UTC; only the boundaries are local.

use std::fmt;

use chrono::{DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::Invalid;

/// A calendar month, e.g. `2026-11`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    first: NaiveDate,
}

impl Month {
    /// Parses `YYYY-MM`.
    pub fn parse(field: &str, s: &str) -> Result<Month, Invalid> {
        let bad = || Invalid::new(field, format!("`{s}` is not a month (YYYY-MM)"));
        let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        let first = NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(bad)?;
        if !(2000..=2999).contains(&year) {
            return Err(Invalid::new(field, "must be a year from 2000 to 2999"));
        }
        Ok(Month { first })
    }

    /// The month containing `at` in the time zone `tz`.
    pub fn containing(tz: Tz, at: DateTime<Utc>) -> Month {
        let d = at.with_timezone(&tz).date_naive();
        Month {
            first: d.with_day(1).expect("day 1 exists"),
        }
    }

    pub fn first_day(self) -> NaiveDate {
        self.first
    }

    pub fn next(self) -> Month {
        Month {
            first: self
                .first
                .checked_add_months(chrono::Months::new(1))
                .expect("month in range"),
        }
    }

    pub fn previous(self) -> Month {
        Month {
            first: self
                .first
                .checked_sub_months(chrono::Months::new(1))
                .expect("month in range"),
        }
    }

    /// The three months of the quarter before this month's.
    pub fn previous_quarter(self) -> [Month; 3] {
        let into = (self.first.month0() % 3) as usize;
        let mut start = self;
        for _ in 0..into + 3 {
            start = start.previous();
        }
        [start, start.next(), start.next().next()]
    }

    /// `[start, end)` in UTC: local midnight of the first day to local midnight of the next
    /// month's first day.
    pub fn bounds(self, tz: Tz) -> (NaiveDateTime, NaiveDateTime) {
        (
            local_midnight(tz, self.first),
            local_midnight(tz, self.next().first),
        )
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.first.year(), self.first.month())
    }
}

/// The local date of a stored UTC instant.
pub fn local_day(tz: Tz, at: NaiveDateTime) -> NaiveDate {
    at.and_utc().with_timezone(&tz).date_naive()
}

/// `[start, end)` of a local day, in UTC.
pub fn day_bounds(tz: Tz, day: NaiveDate) -> (NaiveDateTime, NaiveDateTime) {
    let next = day.checked_add_days(Days::new(1)).expect("date in range");
    (local_midnight(tz, day), local_midnight(tz, next))
}

/// The first instant of a local date, in UTC. Where a DST change skips midnight, the day starts
/// at the first local time that exists.
fn local_midnight(tz: Tz, day: NaiveDate) -> NaiveDateTime {
    let mut t = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    for _ in 0..24 * 4 {
        match tz.from_local_datetime(&t) {
            LocalResult::Single(x) | LocalResult::Ambiguous(x, _) => return x.naive_utc(),
            LocalResult::None => t += chrono::Duration::minutes(15),
        }
    }
    tz.from_utc_datetime(&t).naive_utc()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Shanghai;

    #[test]
    fn the_quarter_before() {
        let m = |s: &str| Month::parse("m", s).unwrap();
        let names = |q: [Month; 3]| q.map(|m| m.to_string());
        assert_eq!(
            names(m("2026-11").previous_quarter()),
            ["2026-07", "2026-08", "2026-09"]
        );
        assert_eq!(
            names(m("2026-10").previous_quarter()),
            ["2026-07", "2026-08", "2026-09"]
        );
        assert_eq!(
            names(m("2026-03").previous_quarter()),
            ["2025-10", "2025-11", "2025-12"]
        );
        assert_eq!(m("2026-01").previous().to_string(), "2025-12");
    }

    #[test]
    fn parses_months_and_refuses_the_rest() {
        assert_eq!(
            Month::parse("month", "2026-11").unwrap().to_string(),
            "2026-11"
        );
        for bad in [
            "2026-13", "2026-1", "26-11", "2026/11", "", "abcd-ef", "1999-12",
        ] {
            let e = Month::parse("month", bad).unwrap_err();
            assert_eq!(e.field, "month", "{bad}");
        }
    }

    #[test]
    fn month_bounds_are_local_midnights() {
        let m = Month::parse("m", "2026-11").unwrap();
        let (s, e) = m.bounds(Shanghai);
        assert_eq!(s.to_string(), "2026-10-31 16:00:00");
        assert_eq!(e.to_string(), "2026-11-30 16:00:00");
        let dec = Month::parse("m", "2026-12").unwrap();
        assert_eq!(dec.next().to_string(), "2027-01");
    }

    #[test]
    fn the_last_minute_of_a_month_belongs_to_it() {
        // 2026-11-30 23:59 in Shanghai is 15:59 UTC.
        let at = "2026-11-30T15:59:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(Month::containing(Shanghai, at).to_string(), "2026-11");
        let at = "2026-11-30T16:00:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(Month::containing(Shanghai, at).to_string(), "2026-12");
    }

    #[test]
    fn days_follow_dst_where_there_is_some() {
        let tz: Tz = "America/Sao_Paulo".parse().unwrap();
        let day = NaiveDate::from_ymd_opt(2018, 11, 4).unwrap(); // midnight was skipped
        let (s, e) = day_bounds(tz, day);
        assert!(e > s);
        assert_eq!(local_day(tz, s), day);
    }
}
