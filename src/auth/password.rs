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

/// Rules for a new password.
pub fn check_new(field: &str, password: &str) -> Result<(), Invalid> {
    let n = password.chars().count();
    if n < 10 {
        return Err(Invalid::new(field, "must be at least 10 characters"));
    }
    if n > 200 {
        return Err(Invalid::new(field, "must be at most 200 characters"));
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
        assert!(check_new("password", "short").is_err());
        assert!(check_new("password", "long enough!").is_ok());
    }
}
