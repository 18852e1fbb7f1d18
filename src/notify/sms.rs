//! SMS providers. `log` writes messages to the log (the default when nothing is configured);
//! `webhook` posts JSON to an operator's own SMS platform, signed with HMAC-SHA256; `tencent`
//! calls Tencent Cloud SMS SendSms, signed with TC3-HMAC-SHA256.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDateTime;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::breaker::{Breaker, BreakerPolicy, Change};

/// One message to send. `id` is the outbox id: providers receive it as the idempotency key, so a
/// retried send of the same message can be dropped at the gateway.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OutMessage {
    pub id: String,
    pub to: String,
    pub text: String,
    pub ticket_id: Option<String>,
    pub purpose: String,
}

/// The gateway took the message.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    pub provider_message_id: Option<String>,
}

/// The gateway did not take the message.
#[derive(Debug, Clone, PartialEq)]
pub struct SendFailure {
    /// Worth retrying (timeouts, refused connections, 5xx, 429).
    pub temporary: bool,
    /// No answer came in time: the gateway may have taken the message.
    pub unknown: bool,
    pub detail: String,
}

impl SendFailure {
    /// A failure worth retrying.
    pub fn temporary(detail: impl Into<String>) -> Self {
        SendFailure {
            temporary: true,
            unknown: false,
            detail: detail.into(),
        }
    }

    /// The gateway refused this message for good (the number, the credentials, the template).
    pub fn permanent(detail: impl Into<String>) -> Self {
        SendFailure {
            temporary: false,
            unknown: false,
            detail: detail.into(),
        }
    }

    /// A request that did not get an answer: a timeout leaves the outcome unknown.
    pub fn transport(platform: &str, e: &reqwest::Error) -> Self {
        SendFailure {
            temporary: true,
            unknown: e.is_timeout(),
            detail: if e.is_timeout() {
                format!("{platform} did not answer in time")
            } else {
                format!("{platform} unreachable: {e}")
            },
        }
    }
}

/// The HTTP client every provider sends with: `timeout` is one request's limit.
pub fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .timeout(timeout)
        .build()
        .expect("HTTP client")
}

/// A configured provider.
#[derive(Clone)]
pub enum Provider {
    Log,
    Webhook(Webhook),
    Tencent(super::tencent::TencentSms),
}

impl Provider {
    /// The provider a configuration describes; `timeout` limits each request.
    pub fn from_config(sms: &crate::config::SmsConfig, timeout: Duration) -> Provider {
        use crate::config::SmsConfig;
        use secrecy::ExposeSecret;
        match sms {
            SmsConfig::Log => Provider::Log,
            SmsConfig::Webhook { url, secret } => Provider::Webhook(Webhook::new(
                url.clone(),
                secret.expose_secret().as_bytes(),
                timeout,
            )),
            SmsConfig::Tencent {
                endpoint,
                region,
                secret_id,
                secret_key,
                sdk_app_id,
                sign_name,
                template_id,
            } => Provider::Tencent(super::tencent::TencentSms::new(
                endpoint.clone(),
                region.clone(),
                secret_id.clone(),
                secret_key.clone(),
                sdk_app_id.clone(),
                sign_name.clone(),
                template_id.clone(),
                timeout,
            )),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Provider::Log => "log",
            Provider::Webhook(_) => "webhook",
            Provider::Tencent(_) => "tencent",
        }
    }

    pub async fn send(&self, msg: &OutMessage) -> Result<Accepted, SendFailure> {
        match self {
            Provider::Log => {
                // The text names the customer and their address: the log gets its length only;
                // GET /tickets/{id}/notifications shows it to those allowed to read it.
                tracing::info!(to = %crate::telemetry::mask_phone(&msg.to), ticket_id = ?msg.ticket_id,
                               purpose = %msg.purpose, chars = msg.text.chars().count(), "sms (log provider)");
                Ok(Accepted {
                    provider_message_id: None,
                })
            }
            Provider::Webhook(w) => w.send(msg).await,
            Provider::Tencent(t) => t.send(msg).await,
        }
    }
}

/// One SMS platform as the sender uses it: the provider, its name in health reports (`default`,
/// `fallback`, `ZJG-W`, `ZJG-W/fallback`), and its circuit breaker.
pub struct Platform {
    pub name: String,
    /// The region whose own platform this is; None for the deployment's.
    pub region_code: Option<String>,
    pub provider: Provider,
    breaker: Mutex<Breaker>,
    /// A change of state (down: true) not yet recorded in the database, with its error.
    unrecorded: Mutex<Option<(bool, Option<String>)>>,
}

impl Platform {
    pub fn new(
        name: impl Into<String>,
        region_code: Option<String>,
        provider: Provider,
        policy: BreakerPolicy,
    ) -> Self {
        Platform {
            name: name.into(),
            region_code,
            provider,
            breaker: Mutex::new(Breaker::new(policy)),
            unrecorded: Mutex::new(None),
        }
    }

    /// Notes a change of state to record; a newer one replaces an older one not yet recorded.
    pub fn changed(&self, down: bool, detail: Option<String>) {
        *self.unrecorded.lock().expect("platform state") = Some((down, detail));
    }

    /// The change waiting to be recorded, if any.
    pub fn unrecorded(&self) -> Option<(bool, Option<String>)> {
        self.unrecorded.lock().expect("platform state").clone()
    }

    /// The change `seen` was recorded (unless a newer one came meanwhile).
    pub fn recorded(&self, seen: &(bool, Option<String>)) {
        let mut u = self.unrecorded.lock().expect("platform state");
        if u.as_ref() == Some(seen) {
            *u = None;
        }
    }

    /// Whether a message may go through this platform now (see [`Breaker::try_acquire`]).
    pub fn try_acquire(&self, now: NaiveDateTime) -> bool {
        self.breaker.lock().expect("breaker").try_acquire(now)
    }

    /// Records what the platform did with a message.
    pub fn record(&self, outcome: &Result<Accepted, SendFailure>, now: NaiveDateTime) -> Change {
        let outcome = match outcome {
            Ok(_) => Ok(()),
            Err(f) => Err(f.temporary),
        };
        self.breaker.lock().expect("breaker").record(outcome, now)
    }

    pub fn is_down(&self) -> bool {
        self.breaker.lock().expect("breaker").is_down()
    }

    pub fn next_probe(&self, now: NaiveDateTime) -> Option<NaiveDateTime> {
        self.breaker.lock().expect("breaker").next_probe(now)
    }
}

/// Platforms in the order they are tried.
pub type Chain = Arc<[Arc<Platform>]>;

/// The deployment's chain of platforms and the regions' own (`FIXLINE_SMS_REGIONS`), by region
/// code.
#[derive(Clone)]
pub struct Providers {
    default: Chain,
    by_code: Arc<HashMap<String, Chain>>,
    /// Region id → its chain, learned as messages meet regions.
    by_region: Arc<Mutex<HashMap<String, Chain>>>,
    all: Arc<[Arc<Platform>]>,
}

impl Providers {
    /// `default` is the deployment's chain (its provider, then its fallback if any); `by_code`
    /// gives regions their own chains.
    pub fn new(default: Vec<Arc<Platform>>, by_code: Vec<(String, Vec<Arc<Platform>>)>) -> Self {
        let mut all: Vec<Arc<Platform>> = Vec::new();
        for p in default.iter().chain(by_code.iter().flat_map(|(_, c)| c)) {
            if !all.iter().any(|q| Arc::ptr_eq(p, q)) {
                all.push(p.clone());
            }
        }
        let default: Chain = default.into();
        let by_code: HashMap<String, Chain> = by_code
            .into_iter()
            .map(|(code, chain)| (code, chain.into()))
            .collect();
        Providers {
            default,
            by_code: Arc::new(by_code),
            by_region: Arc::default(),
            all: all.into(),
        }
    }

    /// One provider for everything, as a chain of one.
    pub fn single(provider: Provider) -> Self {
        Self::new(
            vec![Arc::new(Platform::new(
                "default",
                None,
                provider,
                BreakerPolicy::default(),
            ))],
            vec![],
        )
    }

    /// Every platform, for health reports.
    pub fn platforms(&self) -> &[Arc<Platform>] {
        &self.all
    }

    /// The chain for messages of a region. `code_of` finds a region's code (a database read),
    /// called once per region.
    pub fn chain_for<E>(
        &self,
        region_id: &str,
        code_of: impl FnOnce(&str) -> Result<Option<String>, E>,
    ) -> Result<Chain, E> {
        if self.by_code.is_empty() {
            return Ok(self.default.clone());
        }
        if let Some(c) = self.by_region.lock().expect("provider map").get(region_id) {
            return Ok(c.clone());
        }
        let chain = code_of(region_id)?
            .and_then(|c| self.by_code.get(&c).cloned())
            .unwrap_or_else(|| self.default.clone());
        self.by_region
            .lock()
            .expect("provider map")
            .insert(region_id.to_string(), chain.clone());
        Ok(chain)
    }
}

/// JSON webhook provider: `POST url` with the message as JSON, headers `Idempotency-Key` (the
/// outbox id), `X-Fixline-Timestamp` (Unix seconds) and `X-Fixline-Signature`:
/// `sha256=` + hex HMAC-SHA256 over `timestamp + "." + body` with the shared secret.
#[derive(Clone)]
pub struct Webhook {
    pub url: String,
    secret: Vec<u8>,
    client: reqwest::Client,
}

impl Webhook {
    pub fn new(url: String, secret: &[u8], timeout: Duration) -> Self {
        Webhook {
            url,
            secret: secret.to_vec(),
            client: http_client(timeout),
        }
    }

    async fn send(&self, msg: &OutMessage) -> Result<Accepted, SendFailure> {
        let body = serde_json::to_vec(msg).expect("message serialises");
        let ts = chrono::Utc::now().timestamp().to_string();
        let res = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header("idempotency-key", &msg.id)
            .header("x-fixline-timestamp", &ts)
            .header("x-fixline-signature", signature(&self.secret, &ts, &body))
            .body(body)
            .send()
            .await
            .map_err(|e| SendFailure::transport("gateway", &e))?;
        let status = res.status();
        let text = match res.text().await {
            Ok(t) => t,
            // The answer broke off: the gateway may have taken it.
            Err(e) => return Err(SendFailure::transport("gateway", &e)),
        };
        if status.is_success() {
            let id = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| {
                    v.get("message_id")
                        .and_then(|m| m.as_str())
                        .map(str::to_string)
                });
            return Ok(Accepted {
                provider_message_id: id,
            });
        }
        let detail = format!(
            "gateway answered {status}: {}",
            text.chars().take(200).collect::<String>()
        );
        if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408 {
            Err(SendFailure::temporary(detail))
        } else {
            Err(SendFailure::permanent(detail))
        }
    }
}

/// `sha256=<hex>` of HMAC-SHA256(secret, timestamp + "." + body).
pub fn signature(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_over_timestamp_dot_body() {
        // HMAC-SHA256("key", "1700000000.{}"), computed with Python's hmac module.
        let s = signature(b"key", "1700000000", b"{}");
        assert_eq!(
            s,
            "sha256=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
        assert_ne!(s, signature(b"key", "1700000001", b"{}"));
        assert_ne!(s, signature(b"other", "1700000000", b"{}"));
    }
}
