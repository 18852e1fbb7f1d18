//! Who is on duty (当班) at an instant: weekly rotations in local time, adjusted by one-off
//! overrides (an extra shift adds a person, time off removes them).

use chrono::{DateTime, Datelike, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use super::Invalid;

/// The on-duty roles.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum DutyRole {
    Technician,
    AccountManager,
}

impl DutyRole {
    pub fn as_str(self) -> &'static str {
        match self {
            DutyRole::Technician => "technician",
            DutyRole::AccountManager => "account_manager",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Self, Invalid> {
        match s {
            "technician" => Ok(DutyRole::Technician),
            "account_manager" => Ok(DutyRole::AccountManager),
            _ => Err(Invalid::new(
                field,
                format!("`{s}` is not technician or account_manager"),
            )),
        }
    }
}

/// A weekly shift: every `weekday` (1 = Monday .. 7 = Sunday) from `start_minute` to
/// `end_minute` local time. An end at or before the start runs past midnight into the next day.
#[derive(Debug, Clone, PartialEq)]
pub struct Rotation {
    pub user_id: String,
    pub role: DutyRole,
    pub weekday: u32,
    pub start_minute: u32,
    pub end_minute: u32,
}

impl Rotation {
    pub fn check(weekday: i32, start_minute: i32, end_minute: i32) -> Result<(), Invalid> {
        if !(1..=7).contains(&weekday) {
            return Err(Invalid::new("weekday", "must be 1 (Monday) to 7 (Sunday)"));
        }
        if !(0..1440).contains(&start_minute) {
            return Err(Invalid::new("start", "must be a time from 00:00 to 23:59"));
        }
        if !(0..=1440).contains(&end_minute) {
            return Err(Invalid::new("end", "must be a time from 00:00 to 24:00"));
        }
        Ok(())
    }

    /// Whether the shift covers local weekday `wd` at minute `m` of the day.
    fn covers(&self, wd: u32, m: u32) -> bool {
        if self.end_minute > self.start_minute {
            self.weekday == wd && (self.start_minute..self.end_minute).contains(&m)
        } else {
            // Overnight (or 24 h when end == start): the evening of its day, the morning after.
            let next = self.weekday % 7 + 1;
            (self.weekday == wd && m >= self.start_minute) || (next == wd && m < self.end_minute)
        }
    }
}

/// A one-off change between two instants.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    pub user_id: String,
    pub role: DutyRole,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// true: an extra shift; false: time off.
    pub on_duty: bool,
}

/// Parses "HH:MM" (and "24:00" for an end) to minutes after midnight.
pub fn parse_clock_time(field: &str, s: &str) -> Result<i32, Invalid> {
    if s == "24:00" {
        return Ok(1440);
    }
    let t = NaiveTime::parse_from_str(s, "%H:%M")
        .map_err(|_| Invalid::new(field, format!("`{s}` is not a time HH:MM")))?;
    Ok((t.hour() * 60 + t.minute()) as i32)
}

/// The people on duty at `at`, sorted by role then user id, each once.
pub fn on_duty(
    rotations: &[Rotation],
    overrides: &[Override],
    at: DateTime<Utc>,
    tz: Tz,
) -> Vec<(String, DutyRole)> {
    let local = tz.from_utc_datetime(&at.naive_utc());
    let wd = local.weekday().number_from_monday();
    let m = local.hour() * 60 + local.minute();
    let mut people: Vec<(String, DutyRole)> = rotations
        .iter()
        .filter(|r| r.covers(wd, m))
        .map(|r| (r.user_id.clone(), r.role))
        .collect();
    let active = |o: &&Override| o.starts_at <= at && at < o.ends_at;
    people.extend(
        overrides
            .iter()
            .filter(active)
            .filter(|o| o.on_duty)
            .map(|o| (o.user_id.clone(), o.role)),
    );
    let off: Vec<&Override> = overrides
        .iter()
        .filter(active)
        .filter(|o| !o.on_duty)
        .collect();
    people.retain(|(u, r)| !off.iter().any(|o| &o.user_id == u && o.role == *r));
    people.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    people.dedup();
    people
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rot(u: &str, wd: u32, s: &str, e: &str) -> Rotation {
        Rotation {
            user_id: u.into(),
            role: DutyRole::Technician,
            weekday: wd,
            start_minute: parse_clock_time("start", s).unwrap() as u32,
            end_minute: parse_clock_time("end", e).unwrap() as u32,
        }
    }

    /// 2026-11-23 is a Monday. Shanghai is UTC+8.
    fn local(s: &str) -> DateTime<Utc> {
        let naive = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        chrono_tz::Asia::Shanghai
            .from_local_datetime(&naive)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn names(v: Vec<(String, DutyRole)>) -> Vec<String> {
        v.into_iter().map(|(u, _)| u).collect()
    }

    #[test]
    fn day_and_night_shifts_in_local_time() {
        let tz = chrono_tz::Asia::Shanghai;
        let r = vec![
            rot("day", 1, "08:00", "20:00"),
            rot("night", 1, "20:00", "08:00"),
        ];
        assert_eq!(
            names(on_duty(&r, &[], local("2026-11-23 08:00"), tz)),
            ["day"]
        );
        assert_eq!(
            names(on_duty(&r, &[], local("2026-11-23 19:59"), tz)),
            ["day"]
        );
        assert_eq!(
            names(on_duty(&r, &[], local("2026-11-23 20:00"), tz)),
            ["night"]
        );
        // Monday's night shift runs into Tuesday morning.
        assert_eq!(
            names(on_duty(&r, &[], local("2026-11-24 07:59"), tz)),
            ["night"]
        );
        assert!(
            on_duty(&r, &[], local("2026-11-24 08:00"), tz).is_empty(),
            "no Tuesday day shift"
        );
        assert!(
            on_duty(&r, &[], local("2026-11-23 07:00"), tz).is_empty(),
            "Sunday night is not rostered"
        );
    }

    #[test]
    fn sunday_night_wraps_to_monday() {
        let r = vec![rot("n", 7, "22:00", "06:00")];
        assert_eq!(
            names(on_duty(
                &r,
                &[],
                local("2026-11-23 05:00"),
                chrono_tz::Asia::Shanghai
            )),
            ["n"]
        );
    }

    #[test]
    fn round_the_clock() {
        let r = vec![rot("am", 1, "00:00", "24:00")];
        assert_eq!(
            names(on_duty(
                &r,
                &[],
                local("2026-11-23 23:59"),
                chrono_tz::Asia::Shanghai
            )),
            ["am"]
        );
        let r = vec![rot("x", 1, "09:00", "09:00")];
        assert_eq!(
            names(on_duty(
                &r,
                &[],
                local("2026-11-24 08:59"),
                chrono_tz::Asia::Shanghai
            )),
            ["x"]
        );
    }

    #[test]
    fn overrides_add_and_remove() {
        let tz = chrono_tz::Asia::Shanghai;
        let r = vec![rot("a", 1, "08:00", "20:00"), rot("b", 1, "08:00", "20:00")];
        let o = vec![
            Override {
                user_id: "a".into(),
                role: DutyRole::Technician,
                starts_at: local("2026-11-23 12:00"),
                ends_at: local("2026-11-23 14:00"),
                on_duty: false,
            },
            Override {
                user_id: "c".into(),
                role: DutyRole::Technician,
                starts_at: local("2026-11-23 12:00"),
                ends_at: local("2026-11-23 22:00"),
                on_duty: true,
            },
        ];
        assert_eq!(
            names(on_duty(&r, &o, local("2026-11-23 11:59"), tz)),
            ["a", "b"]
        );
        assert_eq!(
            names(on_duty(&r, &o, local("2026-11-23 13:00"), tz)),
            ["b", "c"]
        );
        assert_eq!(
            names(on_duty(&r, &o, local("2026-11-23 14:00"), tz)),
            ["a", "b", "c"]
        );
        assert_eq!(names(on_duty(&r, &o, local("2026-11-23 21:00"), tz)), ["c"]);
    }

    #[test]
    fn times_are_checked() {
        assert_eq!(parse_clock_time("start", "07:30").unwrap(), 450);
        assert!(parse_clock_time("start", "7h30").is_err());
        assert!(Rotation::check(8, 0, 60).is_err());
        assert!(Rotation::check(1, 0, 1440).is_ok());
    }
}
