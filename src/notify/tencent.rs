//! Tencent Cloud SMS (`SendSms`, API version 2021-01-11), signed with TC3-HMAC-SHA256 as the
//! provider documents it ("签名方法 v3"):
//!
//! 1. CanonicalRequest = `POST\n/\n\n` + canonical headers (`content-type:...\nhost:...\n`) + `\n` +
//!    signed headers (`content-type;host`) + `\n` + lowercase hex SHA-256 of the exact body;
//! 2. StringToSign = `TC3-HMAC-SHA256\n` + timestamp + `\n` + `date/service/tc3_request` + `\n` +
//!    lowercase hex SHA-256 of the canonical request (date in UTC);
//! 3. key = HMAC(HMAC(HMAC("TC3" + SecretKey, date), service), "tc3_request"); signature =
//!    hex HMAC(key, StringToSign);
//! 4. `Authorization: TC3-HMAC-SHA256 Credential=SecretId/scope, SignedHeaders=..., Signature=...`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::sms::{Accepted, OutMessage, SendFailure};

pub const CONTENT_TYPE: &str = "application/json; charset=utf-8";
const ALGORITHM: &str = "TC3-HMAC-SHA256";
const SIGNED_HEADERS: &str = "content-type;host";

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn hmac(key: &[u8], msg: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(msg.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Step 1.
pub fn canonical_request(host: &str, payload: &[u8]) -> String {
    format!(
        "POST\n/\n\ncontent-type:{CONTENT_TYPE}\nhost:{host}\n\n{SIGNED_HEADERS}\n{}",
        sha256_hex(payload)
    )
}

/// Step 2.
pub fn string_to_sign(service: &str, timestamp: i64, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{timestamp}\n{}\n{}",
        scope(service, timestamp),
        sha256_hex(canonical_request.as_bytes())
    )
}

fn scope(service: &str, timestamp: i64) -> String {
    let date = DateTime::<Utc>::from_timestamp(timestamp, 0)
        .unwrap_or_default()
        .format("%Y-%m-%d");
    format!("{date}/{service}/tc3_request")
}

/// Step 3.
pub fn signature(secret_key: &str, service: &str, timestamp: i64, string_to_sign: &str) -> String {
    let date = DateTime::<Utc>::from_timestamp(timestamp, 0)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string();
    let k_date = hmac(format!("TC3{secret_key}").as_bytes(), &date);
    let k_service = hmac(&k_date, service);
    let k_signing = hmac(&k_service, "tc3_request");
    hex::encode(hmac(&k_signing, string_to_sign))
}

/// Steps 1 to 4: the `Authorization` header for a POST of `payload` to `host`.
pub fn authorization(
    secret_id: &str,
    secret_key: &str,
    service: &str,
    host: &str,
    timestamp: i64,
    payload: &[u8],
) -> String {
    let sts = string_to_sign(service, timestamp, &canonical_request(host, payload));
    format!(
        "{ALGORITHM} Credential={secret_id}/{}, SignedHeaders={SIGNED_HEADERS}, Signature={}",
        scope(service, timestamp),
        signature(secret_key, service, timestamp, &sts)
    )
}

/// A configured Tencent Cloud SMS account.
#[derive(Clone)]
pub struct TencentSms {
    pub endpoint: String,
    pub host: String,
    pub region: String,
    pub secret_id: String,
    secret_key: SecretString,
    pub sdk_app_id: String,
    pub sign_name: String,
    /// An approved template with one parameter `{1}` that receives the whole text.
    pub template_id: String,
    client: reqwest::Client,
}

impl TencentSms {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        endpoint: String,
        region: String,
        secret_id: String,
        secret_key: SecretString,
        sdk_app_id: String,
        sign_name: String,
        template_id: String,
        timeout: Duration,
    ) -> Self {
        let host = endpoint
            .split("://")
            .nth(1)
            .unwrap_or(&endpoint)
            .split('/')
            .next()
            .unwrap_or("")
            .to_string();
        TencentSms {
            endpoint,
            host,
            region,
            secret_id,
            secret_key,
            sdk_app_id,
            sign_name,
            template_id,
            client: super::sms::http_client(timeout),
        }
    }

    pub async fn send(&self, msg: &OutMessage) -> Result<Accepted, SendFailure> {
        let body = serde_json::to_vec(&serde_json::json!({
            "PhoneNumberSet": [msg.to],
            "SmsSdkAppId": self.sdk_app_id,
            "SignName": self.sign_name,
            "TemplateId": self.template_id,
            "TemplateParamSet": [msg.text],
            // Echoed in receipts; lets a receipt find its outbox row.
            "SessionContext": msg.id,
        }))
        .expect("request serialises");
        let ts = Utc::now().timestamp();
        let auth = authorization(
            &self.secret_id,
            self.secret_key.expose_secret(),
            "sms",
            &self.host,
            ts,
            &body,
        );
        let res = self
            .client
            .post(&self.endpoint)
            .header("authorization", auth)
            .header("content-type", CONTENT_TYPE)
            .header("host", &self.host)
            .header("x-tc-action", "SendSms")
            .header("x-tc-timestamp", ts.to_string())
            .header("x-tc-version", "2021-01-11")
            .header("x-tc-region", &self.region)
            .body(body)
            .send()
            .await
            .map_err(|e| SendFailure::transport("Tencent SMS", &e))?;
        let status = res.status();
        let text = res
            .text()
            .await
            .map_err(|e| SendFailure::transport("Tencent SMS", &e))?;
        if status.is_server_error() {
            return Err(SendFailure::temporary(format!(
                "Tencent SMS answered {status}"
            )));
        }
        interpret(&text)
    }
}

/// Reads a SendSms answer: `Response.SendStatusSet[0].Code == "Ok"` is accepted; an error is
/// temporary when Tencent says so by its code (internal errors, rate limits).
pub fn interpret(text: &str) -> Result<Accepted, SendFailure> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|_| {
        SendFailure::temporary(format!(
            "unreadable answer: {}",
            text.chars().take(200).collect::<String>()
        ))
    })?;
    let r = &v["Response"];
    if let Some(code) = r["Error"]["Code"].as_str() {
        let temporary = code.starts_with("InternalError")
            || code.starts_with("RequestLimitExceeded")
            || code.starts_with("LimitExceeded");
        let detail = format!("{code}: {}", r["Error"]["Message"].as_str().unwrap_or(""));
        return Err(if temporary {
            SendFailure::temporary(detail)
        } else {
            SendFailure::permanent(detail)
        });
    }
    let first = &r["SendStatusSet"][0];
    match first["Code"].as_str() {
        Some("Ok") => Ok(Accepted {
            provider_message_id: first["SerialNo"].as_str().map(str::to_string),
        }),
        Some(code) => {
            let detail = format!("{code}: {}", first["Message"].as_str().unwrap_or(""));
            Err(
                if code.starts_with("LimitExceeded") || code.starts_with("InternalError") {
                    SendFailure::temporary(detail)
                } else {
                    SendFailure::permanent(detail)
                },
            )
        }
        None => Err(SendFailure::temporary("no send status in the answer")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The worked example of Tencent Cloud's "Signature v3" documentation: DescribeInstances on
    // cvm.tencentcloudapi.com at timestamp 1551113065 with this exact body.
    const DOC_PAYLOAD: &str =
        r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
    const DOC_HASHED_PAYLOAD: &str =
        "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064";
    const DOC_HASHED_CANONICAL: &str =
        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031";

    #[test]
    fn canonical_request_and_string_to_sign_match_the_documentation() {
        assert_eq!(sha256_hex(DOC_PAYLOAD.as_bytes()), DOC_HASHED_PAYLOAD);
        let cr = canonical_request("cvm.tencentcloudapi.com", DOC_PAYLOAD.as_bytes());
        assert_eq!(
            cr,
            format!("POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\ncontent-type;host\n{DOC_HASHED_PAYLOAD}")
        );
        assert_eq!(sha256_hex(cr.as_bytes()), DOC_HASHED_CANONICAL);
        assert_eq!(
            string_to_sign("cvm", 1551113065, &cr),
            format!(
                "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n{DOC_HASHED_CANONICAL}"
            )
        );
    }

    #[test]
    fn signature_and_authorization_match_the_documentation() {
        // The documentation derives the key from SecretKey "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE" and
        // prints this signature and Authorization header (its SecretId shown masked).
        let sts = string_to_sign(
            "cvm",
            1551113065,
            &canonical_request("cvm.tencentcloudapi.com", DOC_PAYLOAD.as_bytes()),
        );
        assert_eq!(
            signature("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", "cvm", 1551113065, &sts),
            "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
        );
        let auth = authorization(
            "AKID**********************0123456789EXAMPLE",
            "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
            "cvm",
            "cvm.tencentcloudapi.com",
            1551113065,
            DOC_PAYLOAD.as_bytes(),
        );
        assert_eq!(
            auth,
            "TC3-HMAC-SHA256 Credential=AKID**********************0123456789EXAMPLE/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
        );
    }

    #[test]
    fn answers_are_classified() {
        let ok = r#"{"Response":{"SendStatusSet":[{"SerialNo":"5000:1045710669157053657849499619","PhoneNumber":"+8613711112222","Fee":1,"SessionContext":"x","Code":"Ok","Message":"send success","IsoCode":"CN"}],"RequestId":"a0aabda6-cf91-4f3e-a81f-9198114a2279"}}"#;
        assert_eq!(
            interpret(ok).unwrap().provider_message_id.as_deref(),
            Some("5000:1045710669157053657849499619")
        );
        let limited = r#"{"Response":{"Error":{"Code":"RequestLimitExceeded","Message":"too many"},"RequestId":"r"}}"#;
        assert!(interpret(limited).unwrap_err().temporary);
        let auth = r#"{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":"bad"},"RequestId":"r"}}"#;
        assert!(!interpret(auth).unwrap_err().temporary);
        let content = r#"{"Response":{"SendStatusSet":[{"Code":"FailedOperation.ContainSensitiveWord","Message":"x"}],"RequestId":"r"}}"#;
        assert!(!interpret(content).unwrap_err().temporary);
    }
}
