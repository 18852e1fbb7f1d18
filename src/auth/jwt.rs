//! Short-lived HS256 access tokens.

use std::path::Path;

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::domain::Role;

/// What an access token says about its bearer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    /// User id.
    pub sub: String,
    pub role: Role,
    /// Region ids the user is scoped to (empty for admins, who see all).
    pub regions: Vec<String>,
    /// The user's session version when it was issued; a newer one refuses the token.
    #[serde(default)]
    pub sv: i32,
    pub iat: i64,
    pub exp: i64,
}

/// Signing and verification keys.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl JwtKeys {
    pub fn from_secret(secret: &[u8]) -> Self {
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    /// The configured secret, or the one kept in `data_dir/jwt_secret` (generated on first use,
    /// readable by the owner only).
    pub fn load(configured: Option<&SecretString>, data_dir: &Path) -> std::io::Result<Self> {
        if let Some(s) = configured {
            return Ok(Self::from_secret(s.expose_secret().as_bytes()));
        }
        let path = data_dir.join("jwt_secret");
        match std::fs::read_to_string(&path) {
            Ok(s) if s.trim().len() >= 32 => return Ok(Self::from_secret(s.trim().as_bytes())),
            Ok(_) => {
                return Err(std::io::Error::other(format!(
                    "{} holds fewer than 32 characters",
                    path.display()
                )))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        std::fs::create_dir_all(data_dir)?;
        let secret = hex::encode(rand::random::<[u8; 32]>());
        write_private(&path, &secret)?;
        Ok(Self::from_secret(secret.as_bytes()))
    }

    pub fn sign(&self, claims: &AccessClaims) -> String {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("HS256 signing of plain claims cannot fail")
    }

    /// Verifies signature and expiry against `now` (the business clock, so the test clock
    /// expires tokens too).
    pub fn verify(&self, token: &str, now: i64) -> Option<AccessClaims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        let data = decode::<AccessClaims>(token, &self.decoding, &validation).ok()?;
        (data.claims.exp > now).then_some(data.claims)
    }
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> AccessClaims {
        AccessClaims {
            sub: "u1".into(),
            role: Role::Manager,
            regions: vec!["r1".into()],
            sv: 3,
            iat: 0,
            exp,
        }
    }

    #[test]
    fn sign_verify_expire_tamper() {
        let keys = JwtKeys::from_secret(b"0123456789abcdef0123456789abcdef");
        let t = keys.sign(&claims(1_000));
        assert_eq!(keys.verify(&t, 999), Some(claims(1_000)));
        assert_eq!(keys.verify(&t, 1_000), None, "expired at exp");
        let other = JwtKeys::from_secret(b"another secret another secret xx");
        assert_eq!(other.verify(&t, 0), None, "wrong key");
        // Flip a character in the middle of the signature (the last one carries spare bits).
        let mut chars: Vec<char> = t.chars().collect();
        let i = chars.len() - 10;
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        let tampered: String = chars.into_iter().collect();
        assert_eq!(keys.verify(&tampered, 0), None);
        assert_eq!(keys.verify("eyJhbGciOiJIUzI1NiJ9.e30.x", 0), None);
    }

    #[test]
    fn generated_secret_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let a = JwtKeys::load(None, dir.path()).unwrap();
        let b = JwtKeys::load(None, dir.path()).unwrap();
        let t = a.sign(&claims(10));
        assert!(b.verify(&t, 0).is_some());
        let secret = std::fs::read_to_string(dir.path().join("jwt_secret")).unwrap();
        assert_eq!(secret.len(), 64);
    }
}
