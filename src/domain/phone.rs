//! Chinese phone numbers, as customers and staff give them, normalised to E.164.

use std::fmt;

use super::Invalid;

/// A mainland China mobile or landline number in E.164 form, e.g. `+8613912345678` or
/// `+8651258681234` (area code 0512 without its trunk 0).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

/// What kind of line a number is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Mobile,
    Landline,
}

impl PhoneNumber {
    /// Accepts `13912345678`, `139 1234 5678`, `+86 139-1234-5678`, `0086 13912345678`,
    /// `0512-58681234`, `(0512) 5868 1234`, `010-61234567`, `+86 512 58681234`.
    pub fn parse(field: &str, input: &str) -> Result<PhoneNumber, Invalid> {
        let mut digits = String::with_capacity(input.len());
        let mut international = false;
        for (i, c) in input.trim().chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if i == 0 => international = true,
                ' ' | '-' | '(' | ')' | '.' => {}
                _ => {
                    return Err(Invalid::new(
                        field,
                        format!("`{c}` is not allowed in a phone number"),
                    ))
                }
            }
        }
        if digits.is_empty() {
            return Err(Invalid::new(field, "must not be empty"));
        }
        // Strip the country code, leaving the national number with its trunk 0 for landlines.
        let national = if let Some(rest) = digits.strip_prefix("0086") {
            national_from_international(rest)
        } else if international {
            match digits.strip_prefix("86") {
                Some(rest) => national_from_international(rest),
                None => {
                    return Err(Invalid::new(
                        field,
                        "only mainland China (+86) numbers are accepted",
                    ))
                }
            }
        } else if digits.len() == 13 && digits.starts_with("861") {
            digits[2..].to_string()
        } else {
            digits
        };

        let n = national.as_str();
        if n.len() == 11 && n.starts_with('1') {
            let second = n.as_bytes()[1];
            if (b'3'..=b'9').contains(&second) {
                return Ok(PhoneNumber(format!("+86{n}")));
            }
            return Err(Invalid::new(field, "is not a valid mobile number"));
        }
        if let Some(rest) = n.strip_prefix('0') {
            // Area codes: 10 and 2x are two digits; the others three.
            let area_len = if rest.starts_with("10") || rest.starts_with('2') {
                2
            } else {
                3
            };
            if rest.len() > area_len {
                let local = &rest[area_len..];
                if (7..=8).contains(&local.len())
                    && !local.starts_with('0')
                    && !local.starts_with('1')
                {
                    return Ok(PhoneNumber(format!("+86{rest}")));
                }
            }
            return Err(Invalid::new(
                field,
                "is not a valid landline: area code then 7 or 8 digits, e.g. 0512-58681234",
            ));
        }
        if (7..=8).contains(&n.len()) {
            return Err(Invalid::new(
                field,
                "a landline needs its area code, e.g. 0512-58681234",
            ));
        }
        Err(Invalid::new(
            field,
            "is not a mainland China mobile (11 digits) or landline (area code + 7 or 8 digits)",
        ))
    }

    /// The E.164 form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn kind(&self) -> LineKind {
        // Mobiles are 11 national digits starting with 1; Beijing landlines (010) are at most 10.
        if self.0.len() == 14 && self.0.as_bytes()[3] == b'1' {
            LineKind::Mobile
        } else {
            LineKind::Landline
        }
    }

    /// The national form people read: `139 1234 5678` or `0512-58681234`.
    pub fn national(&self) -> String {
        let n = &self.0[3..];
        match self.kind() {
            LineKind::Mobile => format!("{} {} {}", &n[..3], &n[3..7], &n[7..]),
            LineKind::Landline => {
                let area = if n.starts_with("10") || n.starts_with('2') {
                    2
                } else {
                    3
                };
                format!("0{}-{}", &n[..area], &n[area..])
            }
        }
    }
}

fn national_from_international(rest: &str) -> String {
    if rest.starts_with('1') {
        rest.to_string()
    } else {
        format!("0{rest}")
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> String {
        PhoneNumber::parse("phone", s).unwrap().to_string()
    }

    #[test]
    fn mobiles() {
        for s in [
            "13912345678",
            "139 1234 5678",
            "139-1234-5678",
            "+86 139 1234 5678",
            "+8613912345678",
            "008613912345678",
            "8613912345678",
        ] {
            assert_eq!(ok(s), "+8613912345678", "{s}");
        }
        let p = PhoneNumber::parse("phone", "13912345678").unwrap();
        assert_eq!(p.kind(), LineKind::Mobile);
        assert_eq!(p.national(), "139 1234 5678");
    }

    #[test]
    fn landlines() {
        assert_eq!(ok("0512-58681234"), "+8651258681234");
        assert_eq!(ok("(0512) 5868 1234"), "+8651258681234");
        assert_eq!(ok("+86 512 58681234"), "+8651258681234");
        assert_eq!(ok("010-61234567"), "+861061234567");
        assert_eq!(ok("021 6123 4567"), "+862161234567");
        let p = PhoneNumber::parse("phone", "0512-58681234").unwrap();
        assert_eq!(p.kind(), LineKind::Landline);
        assert_eq!(p.national(), "0512-58681234");
        assert_eq!(
            PhoneNumber::parse("phone", "010-61234567")
                .unwrap()
                .national(),
            "010-61234567"
        );
    }

    #[test]
    fn refusals_name_the_field() {
        for s in [
            "",
            "12345",
            "12012345678",
            "58681234",
            "+1 415 555 0100",
            "139x1234",
            "0512-012345",
        ] {
            let e = PhoneNumber::parse("customer.phone", s).unwrap_err();
            assert_eq!(e.field, "customer.phone", "{s}");
        }
    }
}
