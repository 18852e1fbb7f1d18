//! SMS providers. `log` writes messages to the log (the default when nothing is configured);
//! `webhook` posts JSON to an operator's own SMS platform, signed with HMAC-SHA256; `tencent`
//! calls Tencent Cloud SMS SendSms, signed with TC3-HMAC-SHA256.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

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
    /// Worth retrying (timeouts, 5xx, 429).
    pub temporary: bool,
    pub detail: String,
}

/// A configured provider.
#[derive(Clone)]
pub enum Provider {
    Log,
    Webhook(Webhook),
    Tencent(super::tencent::TencentSms),
}

impl Provider {
    /// The provider a configuration describes.
    pub fn from_config(sms: &crate::config::SmsConfig) -> Provider {
        use crate::config::SmsConfig;
        use secrecy::ExposeSecret;
        match sms {
            SmsConfig::Log => Provider::Log,
            SmsConfig::Webhook { url, secret } => {
                Provider::Webhook(Webhook::new(url.clone(), secret.expose_secret().as_bytes()))
            }
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
                tracing::info!(to = %msg.to, ticket_id = ?msg.ticket_id, purpose = %msg.purpose, text = %msg.text, "sms (log provider)");
                Ok(Accepted {
                    provider_message_id: None,
                })
            }
            Provider::Webhook(w) => w.send(msg).await,
            Provider::Tencent(t) => t.send(msg).await,
        }
    }
}

/// The deployment's provider and the regions' own (`FIXLINE_SMS_REGIONS`), by region code.
#[derive(Clone)]
pub struct Providers {
    default: Provider,
    by_code: Arc<HashMap<String, Provider>>,
    /// Region id → its own provider (`None`: the default), learned as messages meet regions.
    by_region: Arc<Mutex<HashMap<String, Option<Provider>>>>,
}

impl Providers {
    pub fn new(default: Provider, by_code: impl IntoIterator<Item = (String, Provider)>) -> Self {
        Providers {
            default,
            by_code: Arc::new(by_code.into_iter().collect()),
            by_region: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    pub fn default_provider(&self) -> &Provider {
        &self.default
    }

    /// The provider for messages of a region. `code_of` finds a region's code (a database
    /// read), called once per region.
    pub async fn for_region<F, Fut, E>(&self, region_id: &str, code_of: F) -> Result<Provider, E>
    where
        F: FnOnce(String) -> Fut,
        Fut: std::future::Future<Output = Result<Option<String>, E>>,
    {
        if self.by_code.is_empty() {
            return Ok(self.default.clone());
        }
        let known = self
            .by_region
            .lock()
            .expect("provider map")
            .get(region_id)
            .cloned();
        let own = match known {
            Some(p) => p,
            None => {
                let code = code_of(region_id.to_string()).await?;
                let p = code.and_then(|c| self.by_code.get(&c).cloned());
                self.by_region
                    .lock()
                    .expect("provider map")
                    .insert(region_id.to_string(), p.clone());
                p
            }
        };
        Ok(own.unwrap_or_else(|| self.default.clone()))
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
    pub fn new(url: String, secret: &[u8]) -> Self {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(5))
            .build()
            .expect("HTTP client");
        Webhook {
            url,
            secret: secret.to_vec(),
            client,
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
            .map_err(|e| SendFailure {
                temporary: true,
                detail: format!("gateway unreachable: {e}"),
            })?;
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
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
        Err(SendFailure {
            temporary: status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408,
            detail: format!(
                "gateway answered {status}: {}",
                text.chars().take(200).collect::<String>()
            ),
        })
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
