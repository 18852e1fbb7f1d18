//! Two-way SMS: a technician acknowledges by replying `A 1430` (appointment at 14:30) or
//! `A 1430 T123` when several tickets are open (the ticket's short reference). Phone keyboards
//! send full-width characters and colons too: `Ａ　14：30`.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// A parsed reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckReply {
    pub hour: u32,
    pub minute: u32,
    /// The ticket's short reference, when given (without the leading `T`).
    pub ticket_ref: Option<String>,
}

/// The answer sent back to a reply that cannot be understood.
pub const HELP: &str = "回复格式：A 时间 [T单号]，例如 A 1430 或 A 1430 T123（约定14:30上门）。";

/// Folds full-width ASCII (U+FF01..U+FF5E) and the ideographic space to ASCII, as phone
/// keyboards send them.
pub fn fold(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFF01 + 0x21).unwrap_or(c),
        c => c,
    }
}

/// Parses a reply; None when it is not an acknowledgement in the expected form.
pub fn parse(text: &str) -> Option<AckReply> {
    let folded: String = text.chars().map(fold).collect();
    let mut words = folded.split_whitespace();
    let verb = words.next()?;
    // "A1430" without a space is common too.
    let (verb, rest) = match verb.len() {
        1 => (verb, None),
        _ if verb.is_char_boundary(1) => (&verb[..1], Some(&verb[1..])),
        _ => return None,
    };
    if !verb.eq_ignore_ascii_case("a") {
        return None;
    }
    let time = match rest {
        Some(r) => r.to_string(),
        None => words.next()?.to_string(),
    };
    let digits: String = time.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4
        || !digits.chars().all(|c| c.is_ascii_digit())
        || time.matches(':').count() > 1
    {
        return None;
    }
    let hour: u32 = digits[..2].parse().ok()?;
    let minute: u32 = digits[2..].parse().ok()?;
    if hour > 23 || minute > 59 {
        return None;
    }
    let ticket_ref = match words.next() {
        None => None,
        Some(w) => {
            let r = w.strip_prefix('T').or_else(|| w.strip_prefix('t'))?;
            if r.is_empty()
                || r.len() > 100
                || !r
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return None;
            }
            Some(r.to_string())
        }
    };
    if words.next().is_some() {
        return None;
    }
    Some(AckReply {
        hour,
        minute,
        ticket_ref,
    })
}

/// The appointment a reply names: that time today, local; or tomorrow when it is more than an
/// hour past already (a reply at 22:00 saying 09:00 means tomorrow morning).
pub fn appointment(reply: &AckReply, now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    let local_now = tz.from_utc_datetime(&now.naive_utc());
    let time = NaiveTime::from_hms_opt(reply.hour, reply.minute, 0).expect("checked by parse");
    let at = |date: chrono::NaiveDate| {
        tz.from_local_datetime(&date.and_time(time))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(now)
    };
    let today = at(local_now.date_naive());
    if today < now - Duration::hours(1) {
        at(local_now.date_naive() + Duration::days(1))
    } else {
        today
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(h: u32, m: u32, r: Option<&str>) -> Option<AckReply> {
        Some(AckReply {
            hour: h,
            minute: m,
            ticket_ref: r.map(str::to_string),
        })
    }

    #[test]
    fn accepted_forms() {
        assert_eq!(parse("A 1430"), ack(14, 30, None));
        assert_eq!(parse("a 14:30"), ack(14, 30, None));
        assert_eq!(parse("  A1430  "), ack(14, 30, None));
        assert_eq!(parse("A 0905 T123"), ack(9, 5, Some("123")));
        assert_eq!(parse("A 0905 tCC-42"), ack(9, 5, Some("CC-42")));
        assert_eq!(parse("Ａ　１４：３０"), ack(14, 30, None));
    }

    #[test]
    fn refused_forms() {
        for s in [
            "",
            "A",
            "B 1430",
            "A 2460",
            "A 1460",
            "A 143",
            "A 14305",
            "A 1430 123",
            "A 1430 T",
            "A 1430 T1 x",
            "好的",
            "A 14:3:0",
            "A１4３0x",
        ] {
            assert_eq!(parse(s), None, "{s:?}");
        }
    }

    #[test]
    fn any_text_parses_or_is_refused_without_panicking() {
        // A deterministic sweep over short strings from an alphabet of the troublesome characters.
        let alphabet: Vec<char> = "Aa T1430:：Ａ　１\u{0}é中".chars().collect();
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..50_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 12) as usize;
            let s: String = (0..len)
                .map(|i| alphabet[((state >> (i * 5)) % alphabet.len() as u64) as usize])
                .collect();
            if let Some(r) = parse(&s) {
                assert!(r.hour < 24 && r.minute < 60, "{s:?}");
            }
        }
    }

    #[test]
    fn today_or_tomorrow() {
        let tz = chrono_tz::Asia::Shanghai;
        let at = |s: &str| {
            tz.from_local_datetime(
                &chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap(),
            )
            .unwrap()
            .with_timezone(&Utc)
        };
        let r = parse("A 1430").unwrap();
        assert_eq!(
            appointment(&r, at("2026-11-23 10:00"), tz),
            at("2026-11-23 14:30")
        );
        let r = parse("A 0900").unwrap();
        assert_eq!(
            appointment(&r, at("2026-11-23 22:00"), tz),
            at("2026-11-24 09:00")
        );
        // Slightly in the past (the reply was slow to arrive): still today.
        let r = parse("A 0950").unwrap();
        assert_eq!(
            appointment(&r, at("2026-11-23 10:00"), tz),
            at("2026-11-23 09:50")
        );
    }
}
