//! A small client for fixline's own HTTP API, shared by the day simulator and the load harness.

use serde_json::{json, Value};

/// How a request authenticates.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    /// A signed-in user's access token.
    Bearer(&'a str),
    /// An integration's API key.
    Key(&'a str),
    None,
}

/// A fixline server at `base` (e.g. `http://127.0.0.1:8080`).
#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
}

impl ApiClient {
    /// A client with a 60-second limit per request.
    pub fn new(base: &str) -> reqwest::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()?;
        Ok(Self::with(http, base))
    }

    /// A client over a configured `reqwest::Client` (pool size, timeouts).
    pub fn with(http: reqwest::Client, base: &str) -> Self {
        ApiClient {
            http,
            base: base.trim_end_matches('/').to_string(),
        }
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The underlying HTTP client, for requests outside the API's JSON shape.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Sends a request; answers the status and the body as JSON (null when it is not JSON).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        auth: Auth<'_>,
        body: Option<&Value>,
    ) -> Result<(u16, Value), reqwest::Error> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        match auth {
            Auth::Bearer(t) => req = req.bearer_auth(t),
            Auth::Key(k) => req = req.header("x-api-key", k),
            Auth::None => {}
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await?;
        let status = res.status().as_u16();
        let text = res.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    /// Signs in; answers the access token, or the status and body that refused it.
    pub async fn login(&self, username: &str, password: &str) -> anyhow::Result<String> {
        let (status, v) = self
            .call(
                reqwest::Method::POST,
                "/auth/login",
                Auth::None,
                Some(&json!({"username": username, "password": password})),
            )
            .await?;
        if status != 200 {
            anyhow::bail!("cannot sign in as {username} ({status}): {v}");
        }
        v["access_token"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow::anyhow!("no access token in {v}"))
    }
}
