//! Business calendars: working hours per weekday and holidays, in local time. A region may give a
//! kind of work (typically installation) a calendar; its deadlines then count working time only.
//! Without one, clocks run 24/7, as the repair regime requires (365 days a year).

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::duty::parse_clock_time;
use super::Invalid;

/// Working hours and holidays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalendarSpec {
    /// Working hours by weekday name (`mon` .. `sun`): `["08:30", "17:30"]`. Absent days are off.
    pub hours: std::collections::BTreeMap<String, [String; 2]>,
    /// Local dates with no work (public holidays).
    #[serde(default)]
    pub holidays: Vec<NaiveDate>,
}

/// A checked calendar, ready for arithmetic.
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessCalendar {
    /// Minutes after local midnight, [start, end), Monday first.
    hours: [Option<(u32, u32)>; 7],
    holidays: BTreeSet<NaiveDate>,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl BusinessCalendar {
    pub fn parse(field: &str, spec: &CalendarSpec) -> Result<Self, Invalid> {
        let mut hours = [None; 7];
        for (day, [start, end]) in &spec.hours {
            let i = DAYS.iter().position(|d| d == day).ok_or_else(|| {
                Invalid::new(
                    format!("{field}.hours"),
                    format!("`{day}` is not mon, tue, wed, thu, fri, sat or sun"),
                )
            })?;
            let s = parse_clock_time(&format!("{field}.hours.{day}"), start)?;
            let e = parse_clock_time(&format!("{field}.hours.{day}"), end)?;
            if e <= s {
                return Err(Invalid::new(
                    format!("{field}.hours.{day}"),
                    "the end must be after the start",
                ));
            }
            hours[i] = Some((s as u32, e as u32));
        }
        if hours.iter().all(Option::is_none) {
            return Err(Invalid::new(
                format!("{field}.hours"),
                "at least one working day is needed",
            ));
        }
        Ok(BusinessCalendar {
            hours,
            holidays: spec.holidays.iter().copied().collect(),
        })
    }

    fn window(&self, day: NaiveDate) -> Option<(u32, u32)> {
        if self.holidays.contains(&day) {
            return None;
        }
        self.hours[day.weekday().num_days_from_monday() as usize]
    }

    /// The instant `amount` of working time after `start`.
    pub fn add(&self, tz: Tz, start: DateTime<Utc>, amount: Duration) -> DateTime<Utc> {
        let mut left = amount;
        let mut cursor = tz.from_utc_datetime(&start.naive_utc());
        let at = |day: NaiveDate, minute: u32| -> DateTime<Utc> {
            let t = NaiveTime::from_hms_opt(minute / 60 % 24, minute % 60, 0).expect("valid time");
            let naive = if minute >= 1440 {
                (day + Duration::days(1)).and_time(NaiveTime::MIN)
            } else {
                day.and_time(t)
            };
            tz.from_local_datetime(&naive)
                .earliest()
                .unwrap_or_else(|| tz.from_utc_datetime(&naive))
                .with_timezone(&Utc)
        };
        // Ten years of days at most: a calendar with a working day always gets there sooner.
        for _ in 0..3660 {
            let day = cursor.date_naive();
            if let Some((s, e)) = self.window(day) {
                let open = at(day, s);
                let close = at(day, e);
                let from = cursor.with_timezone(&Utc).max(open);
                if from < close {
                    let available = close - from;
                    if left <= available {
                        return from + left;
                    }
                    left -= available;
                }
            }
            cursor = tz.from_utc_datetime(&at(day + Duration::days(1), 0).naive_utc());
        }
        start + amount
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn office() -> BusinessCalendar {
        let spec: CalendarSpec = serde_json::from_value(serde_json::json!({
            "hours": {"mon": ["08:30", "17:30"], "tue": ["08:30", "17:30"], "wed": ["08:30", "17:30"],
                      "thu": ["08:30", "17:30"], "fri": ["08:30", "17:30"]},
            "holidays": ["2026-11-25"]
        }))
        .unwrap();
        BusinessCalendar::parse("calendar", &spec).unwrap()
    }

    fn local(s: &str) -> DateTime<Utc> {
        let n = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        chrono_tz::Asia::Shanghai
            .from_local_datetime(&n)
            .unwrap()
            .with_timezone(&Utc)
    }

    const TZ: Tz = chrono_tz::Asia::Shanghai;

    #[test]
    fn within_one_day() {
        assert_eq!(
            office().add(TZ, local("2026-11-23 09:00"), Duration::minutes(20)),
            local("2026-11-23 09:20")
        );
    }

    #[test]
    fn evenings_and_nights_do_not_count() {
        // 17:20 Monday + 20 min: 10 minutes today, 10 tomorrow from 08:30.
        assert_eq!(
            office().add(TZ, local("2026-11-23 17:20"), Duration::minutes(20)),
            local("2026-11-24 08:40")
        );
        // Recorded at night: the clock starts at opening.
        assert_eq!(
            office().add(TZ, local("2026-11-23 22:00"), Duration::minutes(3)),
            local("2026-11-24 08:33")
        );
    }

    #[test]
    fn holidays_and_weekends_are_skipped() {
        // Tuesday 17:00 + 1 h: 30 min Tuesday, Wednesday is a holiday, 30 min Thursday.
        assert_eq!(
            office().add(TZ, local("2026-11-24 17:00"), Duration::hours(1)),
            local("2026-11-26 09:00")
        );
        // Friday 17:00 + 72 working hours (8 days of 9 h): lands 8 working days later.
        assert_eq!(
            office().add(TZ, local("2026-11-27 17:00"), Duration::hours(72)),
            local("2026-12-09 17:00")
        );
    }

    #[test]
    fn bad_specs_name_the_field() {
        let spec: CalendarSpec =
            serde_json::from_value(serde_json::json!({"hours": {"monday": ["08:00", "17:00"]}}))
                .unwrap();
        assert_eq!(
            BusinessCalendar::parse("calendar", &spec)
                .unwrap_err()
                .field,
            "calendar.hours"
        );
        let spec: CalendarSpec =
            serde_json::from_value(serde_json::json!({"hours": {"mon": ["17:00", "08:00"]}}))
                .unwrap();
        assert_eq!(
            BusinessCalendar::parse("calendar", &spec)
                .unwrap_err()
                .field,
            "calendar.hours.mon"
        );
        let spec: CalendarSpec = serde_json::from_value(serde_json::json!({"hours": {}})).unwrap();
        assert!(BusinessCalendar::parse("calendar", &spec).is_err());
    }
}
