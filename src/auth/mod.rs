//! Credentials: argon2 password hashes, signed access tokens, opaque refresh tokens and API keys.

pub mod jwt;
pub mod password;
pub mod secret;
pub mod throttle;

pub use jwt::{AccessClaims, JwtKeys};
