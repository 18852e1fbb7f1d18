//! Codes that name regions and grid districts in imports, URLs and reports.

use std::fmt;

use super::Invalid;

/// A region or district code: 1 to 64 characters of ASCII letters, digits, `-`, `_` or `.`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code(String);

impl Code {
    pub fn parse(field: &str, s: &str) -> Result<Code, Invalid> {
        let s = s.trim();
        if s.is_empty() || s.len() > 64 {
            return Err(Invalid::new(field, "must be 1 to 64 characters"));
        }
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            return Err(Invalid::new(
                field,
                format!("`{c}` is not allowed; use letters, digits, '-', '_' or '.'"),
            ));
        }
        Ok(Code(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(
            Code::parse("code", " ZJG-YS.01 ").unwrap().as_str(),
            "ZJG-YS.01"
        );
        assert!(Code::parse("code", "").is_err());
        assert!(Code::parse("code", "杨舍").is_err());
        assert!(Code::parse("code", "a b").is_err());
        assert!(Code::parse("code", &"x".repeat(65)).is_err());
    }
}
