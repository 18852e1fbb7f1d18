//! Password hashing with argon2id (PHC string format, parameters stored with each hash).

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;

use crate::domain::Invalid;

/// Hashes a password for storage.
pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters hashes any input")
        .to_string()
}

/// Checks a password against a stored hash; a malformed hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spends the same time as a real verification, so an unknown username cannot be told from a
/// wrong password by timing.
pub fn verify_nothing(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let stored = DUMMY.get_or_init(|| hash("fixline-timing-equaliser"));
    let _ = verify(password, stored);
}

/// Passwords of ten characters or more that guessing lists try first; compared without case.
const COMMON: &[&str] = &[
    "0123456789",
    "1234567890",
    "12345678910",
    "123456789a",
    "a123456789",
    "aa123456789",
    "0987654321",
    "9876543210",
    "1111111111",
    "1234512345",
    "1122334455",
    "1314520520",
    "5201314520",
    "woaini1314",
    "woaini520",
    "qwertyuiop",
    "qwerty1234",
    "qwerty123456",
    "qwe123456789",
    "123qweasdzxc",
    "1qaz2wsx3edc",
    "1qazxsw23edc",
    "qazwsxedc123",
    "1q2w3e4r5t",
    "1q2w3e4r5t6y",
    "zxcvbnm123",
    "asdfghjkl1",
    "abcdefghij",
    "abc1234567",
    "abcd123456",
    "password12",
    "password123",
    "password1234",
    "passw0rd123",
    "p@ssw0rd123",
    "p@ssword123",
    "iloveyou12",
    "iloveyou123",
    "administrator",
    "admin12345",
    "admin123456",
    "adminadmin",
    "welcome123",
    "letmein123",
    "changeme123",
    "sunshine123",
    "football123",
    "princess123",
    "computer123",
    "internet123",
    "fixline123",
    "fixline1234",
];

/// Rules for a new password: 10 to 200 characters, not one of the first guesses (a common
/// password, one or a few characters repeated, the username in it).
pub fn check_new(field: &str, password: &str, username: Option<&str>) -> Result<(), Invalid> {
    let n = password.chars().count();
    if n < 10 {
        return Err(Invalid::new(field, "must be at least 10 characters"));
    }
    if n > 200 {
        return Err(Invalid::new(field, "must be at most 200 characters"));
    }
    let lower = password.to_lowercase();
    if COMMON.contains(&lower.as_str()) {
        return Err(Invalid::new(field, "is one of the most common passwords"));
    }
    let mut distinct: Vec<char> = lower.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 4 {
        return Err(Invalid::new(
            field,
            "must use more than three different characters",
        ));
    }
    if let Some(u) = username
        .map(str::to_lowercase)
        .filter(|u| u.chars().count() >= 3)
    {
        if lower.contains(&u) {
            return Err(Invalid::new(field, "must not contain the username"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let h = hash("correct horse battery");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("wrong", &h));
        assert!(!verify("x", "not a hash"));
        assert!(check_new("password", "short", None).is_err());
        assert!(check_new("password", "long enough!", None).is_ok());
    }

    #[test]
    fn first_guesses_are_refused() {
        for bad in [
            "aaaaaaaaaa",
            "1212121212",
            "Password123",
            "QWERTYUIOP",
            "1234567890",
        ] {
            assert!(check_new("password", bad, None).is_err(), "{bad}");
        }
        let e = check_new("password", "tech01-is-my-name", Some("Tech01")).unwrap_err();
        assert!(e.message.contains("username"));
        assert!(check_new("password", "晚上八点到凤凰镇修机顶盒", Some("tech01")).is_ok());
        assert!(check_new("password", "test-password-1", Some("tech01")).is_ok());
    }
}
