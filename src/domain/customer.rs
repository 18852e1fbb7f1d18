//! The customer's side of SMS: which messages customers get, the quiet hours that hold the
//! ones that can wait, and how their replies read (a survey answer, an opt-out).

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::callback::Outcome;
use super::sms_reply::fold;
use super::Invalid;

/// The messages a deployment sends its customers (`FIXLINE_CUSTOMER_SMS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CustomerMessages {
    /// When a ticket gets a holder: the technician's name and phone, and the account manager.
    pub contact_card: bool,
    /// When the technician agreed the visit: its time.
    pub appointment: bool,
    /// After resolution: the satisfaction survey.
    pub survey: bool,
}

impl CustomerMessages {
    pub const ALL: CustomerMessages = CustomerMessages {
        contact_card: true,
        appointment: true,
        survey: true,
    };

    /// `none`, or a comma-separated list of `contact_card`, `appointment`, `survey`.
    pub fn parse(field: &str, s: &str) -> Result<Self, Invalid> {
        let mut out = CustomerMessages::default();
        if s.trim() == "none" {
            return Ok(out);
        }
        for word in s.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            match word {
                "contact_card" => out.contact_card = true,
                "appointment" => out.appointment = true,
                "survey" => out.survey = true,
                other => {
                    return Err(Invalid::new(
                        field,
                        format!("`{other}` is not contact_card, appointment or survey (or none)"),
                    ))
                }
            }
        }
        Ok(out)
    }
}

/// Local hours during which messages that can wait are held (`21:00-08:00`); the span may wrap
/// past midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl QuietHours {
    /// `HH:MM-HH:MM`, or `off` (None).
    pub fn parse(field: &str, s: &str) -> Result<Option<Self>, Invalid> {
        let s = s.trim();
        if s == "off" {
            return Ok(None);
        }
        let bad = || Invalid::new(field, format!("`{s}` is not HH:MM-HH:MM or off"));
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let time = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| bad());
        let (start, end) = (time(a)?, time(b)?);
        if start == end {
            return Err(Invalid::new(field, "start and end must differ"));
        }
        Ok(Some(QuietHours { start, end }))
    }

    fn contains(&self, t: NaiveTime) -> bool {
        if self.start < self.end {
            self.start <= t && t < self.end
        } else {
            t >= self.start || t < self.end
        }
    }

    /// When a message due at `now` may go out: None when now is outside the quiet hours, else
    /// the end of this quiet span (local `end`, today or tomorrow).
    pub fn hold_until(&self, now: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let local = now.with_timezone(&tz);
        if !self.contains(local.time()) {
            return None;
        }
        let mut day = local.date_naive();
        if local.time() >= self.end {
            day += Duration::days(1);
        }
        tz.from_local_datetime(&day.and_time(self.end))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    }
}

/// Whether a reply asks for no more messages: `TD` or `退订`, as people type them.
pub fn opts_out(text: &str) -> bool {
    let folded: String = text
        .chars()
        .map(fold)
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .trim_end_matches(['。', '.', '!', '！'])
        .to_ascii_uppercase();
    matches!(folded.as_str(), "TD" | "退订" | "退订TD")
}

/// A customer's answer to the satisfaction survey: `1`, `2` or `3`, then optionally a rating
/// from 1 to 5 and a remark (`1`, `1 5`, `3 师傅没来`, `3，2 态度差`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyAnswer {
    pub outcome: Outcome,
    pub rating: Option<i32>,
    pub remark: Option<String>,
}

/// Parses a survey reply; None when it is not one. The outcome digit stands alone or is set
/// apart from what follows ("1楼没信号" is not an answer); so does the rating ("3 2楼漏水" is a
/// remark, not a rating of 2).
pub fn survey_answer(text: &str) -> Option<SurveyAnswer> {
    let folded: String = text.chars().map(fold).collect();
    let rest = folded.trim();
    let outcome = match rest.chars().next()? {
        '1' => Outcome::Satisfied,
        '2' => Outcome::BasicallySatisfied,
        '3' => Outcome::Unsatisfied,
        _ => return None,
    };
    let separator = |c: char| c.is_whitespace() || ",，、;；.。:：".contains(c);
    let after = &rest[1..];
    if !(after.is_empty() || after.starts_with(separator)) {
        return None;
    }
    let mut rest = after.trim_start_matches(separator);
    let mut rating = None;
    if let Some(d) = rest.chars().next().filter(char::is_ascii_digit) {
        let tail = &rest[1..];
        let by_itself = tail.is_empty() || tail.starts_with(separator) || tail.starts_with('分');
        let value = d.to_digit(10).unwrap_or(0) as i32;
        if by_itself {
            if !(1..=5).contains(&value) {
                return None;
            }
            rating = Some(value);
            rest = tail.trim_start_matches('分').trim_start_matches(separator);
        }
    }
    let remark: String = rest.trim().chars().take(500).collect();
    Some(SurveyAnswer {
        outcome,
        rating,
        remark: (!remark.is_empty()).then_some(remark),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_messages() {
        assert_eq!(
            CustomerMessages::parse("k", "contact_card, survey").unwrap(),
            CustomerMessages {
                contact_card: true,
                appointment: false,
                survey: true
            }
        );
        assert_eq!(
            CustomerMessages::parse("k", "none").unwrap(),
            CustomerMessages::default()
        );
        assert_eq!(
            CustomerMessages::parse("k", "contact_card,appointment,survey").unwrap(),
            CustomerMessages::ALL
        );
        assert!(CustomerMessages::parse("k", "contact,survey").is_err());
    }

    #[test]
    fn quiet_hours_hold_until_morning() {
        let tz = chrono_tz::Asia::Shanghai;
        let at = |s: &str| {
            tz.from_local_datetime(
                &chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap(),
            )
            .unwrap()
            .with_timezone(&Utc)
        };
        let q = QuietHours::parse("k", "21:00-08:00").unwrap().unwrap();
        assert_eq!(q.hold_until(at("2026-11-23 20:59"), tz), None);
        assert_eq!(
            q.hold_until(at("2026-11-23 21:00"), tz),
            Some(at("2026-11-24 08:00"))
        );
        assert_eq!(
            q.hold_until(at("2026-11-24 03:10"), tz),
            Some(at("2026-11-24 08:00"))
        );
        assert_eq!(q.hold_until(at("2026-11-24 08:00"), tz), None);
        let day = QuietHours::parse("k", "12:00-14:00").unwrap().unwrap();
        assert_eq!(
            day.hold_until(at("2026-11-24 13:00"), tz),
            Some(at("2026-11-24 14:00"))
        );
        assert_eq!(day.hold_until(at("2026-11-24 11:00"), tz), None);
        assert_eq!(QuietHours::parse("k", "off").unwrap(), None);
        for bad in ["21-08", "21:00", "08:00-08:00", "25:00-08:00"] {
            assert!(QuietHours::parse("k", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn opt_out_as_people_type_it() {
        for yes in ["TD", "td", " T D ", "ＴＤ", "退订", "退订。", "Td!"] {
            assert!(opts_out(yes), "{yes}");
        }
        for no in ["", "T", "1", "不要退订", "TDX", "3 退订太麻烦"] {
            assert!(!opts_out(no), "{no}");
        }
    }

    #[test]
    fn survey_answers() {
        let a = |o, r: Option<i32>, m: Option<&str>| {
            Some(SurveyAnswer {
                outcome: o,
                rating: r,
                remark: m.map(str::to_string),
            })
        };
        assert_eq!(survey_answer("1"), a(Outcome::Satisfied, None, None));
        assert_eq!(
            survey_answer(" ２ "),
            a(Outcome::BasicallySatisfied, None, None)
        );
        assert_eq!(survey_answer("1 5"), a(Outcome::Satisfied, Some(5), None));
        assert_eq!(
            survey_answer("3，2分 态度差"),
            a(Outcome::Unsatisfied, Some(2), Some("态度差"))
        );
        assert_eq!(
            survey_answer("3 师傅没来"),
            a(Outcome::Unsatisfied, None, Some("师傅没来"))
        );
        assert_eq!(
            survey_answer("3 2楼漏水"),
            a(Outcome::Unsatisfied, None, Some("2楼漏水"))
        );
        assert_eq!(
            survey_answer("1 55寸电视没信号"),
            a(Outcome::Satisfied, None, Some("55寸电视没信号"))
        );
        for bad in [
            "",
            "4",
            "12",
            "1 6",
            "1 0",
            "好",
            "A 1430",
            "TD",
            "1楼没信号",
            "3号能来吗",
            "2点前到吗",
        ] {
            assert_eq!(survey_answer(bad), None, "{bad}");
        }
    }
}
