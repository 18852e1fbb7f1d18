//! A stored UTC timestamp as the API writes it.

use chrono::{Datelike, NaiveDateTime, Timelike};
use serde::{Serialize, Serializer};

/// A UTC instant, written as RFC 3339 with `Z` and as many fractional digits as it needs (none,
/// 3, 6 or 9): the text chrono writes for a `DateTime<Utc>`, without the formatting machinery,
/// because a list of tickets carries hundreds of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct UtcInstant(pub NaiveDateTime);

impl Serialize for UtcInstant {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut text = Text::default();
        if text.rfc3339(self.0) {
            s.serialize_str(text.as_str())
        } else {
            // Years outside 0000-9999 and leap seconds: chrono's own writer.
            self.0.and_utc().serialize(s)
        }
    }
}

/// A stack buffer long enough for `9999-12-31T23:59:59.999999999Z`.
#[derive(Default)]
struct Text {
    buf: [u8; 30],
    len: usize,
}

impl Text {
    /// Writes `t`; false (and nothing usable) for what only chrono writes.
    fn rfc3339(&mut self, t: NaiveDateTime) -> bool {
        let year = t.year();
        let nanos = t.nanosecond();
        if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
            return false;
        }
        self.digits(year as u32, 4);
        self.byte(b'-');
        self.digits(t.month(), 2);
        self.byte(b'-');
        self.digits(t.day(), 2);
        self.byte(b'T');
        self.digits(t.hour(), 2);
        self.byte(b':');
        self.digits(t.minute(), 2);
        self.byte(b':');
        self.digits(t.second(), 2);
        if nanos != 0 {
            self.byte(b'.');
            if nanos % 1_000_000 == 0 {
                self.digits(nanos / 1_000_000, 3);
            } else if nanos % 1_000 == 0 {
                self.digits(nanos / 1_000, 6);
            } else {
                self.digits(nanos, 9);
            }
        }
        self.byte(b'Z');
        true
    }

    /// `value` as exactly `width` decimal digits, zero-padded.
    fn digits(&mut self, value: u32, width: usize) {
        let mut v = value;
        for i in (0..width).rev() {
            self.buf[self.len + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        self.len += width;
    }

    fn byte(&mut self, b: u8) {
        self.buf[self.len] = b;
        self.len += 1;
    }

    fn as_str(&self) -> &str {
        // Only ASCII digits and separators were written.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Duration, NaiveDate};

    fn chrono_text(t: NaiveDateTime) -> String {
        serde_json::to_string(&t.and_utc()).unwrap()
    }

    #[test]
    fn writes_what_chrono_writes() {
        let base = NaiveDate::from_ymd_opt(2026, 11, 23)
            .unwrap()
            .and_hms_opt(2, 0, 0)
            .unwrap();
        let mut cases = vec![
            base,
            base + Duration::milliseconds(120),
            base + Duration::microseconds(123_456),
            base + Duration::nanoseconds(1),
            base + Duration::nanoseconds(999_999_999),
            NaiveDate::from_ymd_opt(0, 1, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap(),
            NaiveDate::from_ymd_opt(9999, 12, 31)
                .unwrap()
                .and_hms_nano_opt(23, 59, 59, 999_999_999)
                .unwrap(),
            // Only chrono writes these: a five-digit year, a negative one, a leap second.
            NaiveDate::from_ymd_opt(10_000, 1, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap(),
            NaiveDate::from_ymd_opt(-1, 6, 1)
                .unwrap()
                .and_hms_opt(12, 0, 0)
                .unwrap(),
            NaiveDate::from_ymd_opt(2016, 12, 31)
                .unwrap()
                .and_hms_milli_opt(23, 59, 59, 1_500)
                .unwrap(),
        ];
        // A spread of instants over two centuries with every kind of fraction.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let secs = (x % 6_000_000_000) as i64;
            let nanos = match x % 4 {
                0 => 0,
                1 => (x >> 8) % 1_000 * 1_000_000,
                2 => (x >> 8) % 1_000_000 * 1_000,
                _ => (x >> 8) % 1_000_000_000,
            } as u32;
            cases.push(DateTime::from_timestamp(secs, nanos).unwrap().naive_utc());
        }
        for t in cases {
            assert_eq!(
                serde_json::to_string(&UtcInstant(t)).unwrap(),
                chrono_text(t),
                "{t:?}"
            );
        }
    }
}
