//! Notifications: message texts, SMS providers and the outbox sender.

pub mod breaker;
pub mod sender;
pub mod sms;
pub mod templates;
pub mod tencent;
