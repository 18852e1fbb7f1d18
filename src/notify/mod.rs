//! Notifications: SMS providers and the outbox sender. What the messages say, and what their
//! results mean for tickets, belong to the flow (`flow::messages`, `flow::outbox`).

pub mod breaker;
pub mod sender;
pub mod sms;
pub mod tencent;
