//! High-entropy secrets handed to clients once (refresh tokens, API keys) and stored only as
//! SHA-256 digests: with 256 random bits a fast hash is enough, and lookups stay one index probe.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

/// 32 random bytes, URL-safe base64.
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a token.
pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new API key: `fxk_<8 hex prefix>_<secret>`. The prefix is stored in clear so an admin can
/// tell keys apart; the whole key only as a digest.
pub fn new_api_key() -> (String, String) {
    let prefix = hex::encode(rand::random::<[u8; 4]>());
    let key = format!("fxk_{prefix}_{}", random_token());
    (prefix, key)
}

/// A random password people can type: 16 characters without look-alikes.
pub fn random_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..16)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_distinct_and_digests_stable() {
        let a = random_token();
        assert_ne!(a, random_token());
        assert_eq!(a.len(), 43);
        assert_eq!(digest("abc"), digest("abc"));
        assert_eq!(digest("abc").len(), 64);
        let (prefix, key) = new_api_key();
        assert!(key.starts_with(&format!("fxk_{prefix}_")));
        assert_eq!(random_password().len(), 16);
    }
}
