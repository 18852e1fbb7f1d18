//! Headless Chromium driven over WebDriver (Debian's `chromium` and `chromium-driver`, which
//! `scripts/test` installs): a ChromeDriver per browser on a free loopback port, a fresh profile,
//! the browser's console log kept for the test to check, screenshots under `target/browser/`.

use std::io::Write;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// An element of the page, by its WebDriver id.
#[derive(Clone, Debug)]
pub struct Element(pub String);

/// How the browser looks to the page.
#[derive(Clone, Copy, Debug)]
pub enum Device {
    /// A desktop window, 1440×900.
    Desktop,
    /// A tablet: 1024×768 with touch, as Chromium's mobile emulation gives it.
    Tablet,
    /// A phone: 360×640 with touch.
    Phone,
}

pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Where Chromium and its driver are.
fn binaries() -> (String, String) {
    let chromium = std::env::var("FIXLINE_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let driver =
        std::env::var("FIXLINE_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    assert!(
        std::path::Path::new(&chromium).exists() && std::path::Path::new(&driver).exists(),
        "the browser tests need {chromium} and {driver}: run scripts/test, which installs them"
    );
    (chromium, driver)
}

impl Browser {
    pub async fn start(device: Device) -> Browser {
        let (chromium, driver_bin) = binaries();
        let port = free_port();
        let driver = Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromedriver");
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = http.get(format!("{base}/status")).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().expect("a profile folder");
        let mut args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--lang=zh-CN".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut options = json!({ "binary": chromium });
        match device {
            Device::Desktop => args.push("--window-size=1440,900".into()),
            Device::Tablet => {
                options["mobileEmulation"] = json!({
                    "deviceMetrics": { "width": 1024, "height": 768, "pixelRatio": 1.0, "touch": true }
                });
            }
            Device::Phone => {
                options["mobileEmulation"] = json!({
                    "deviceMetrics": { "width": 360, "height": 640, "pixelRatio": 2.0, "touch": true },
                    "userAgent": "Mozilla/5.0 (Linux; Android 14; fixline test) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Mobile Safari/537.36"
                });
            }
        }
        options["args"] = json!(args);
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": options,
            "goog:loggingPrefs": { "browser": "ALL" },
        }}});
        let answer: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("session answer");
        let session = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {answer}"))
            .to_string();
        Browser {
            driver,
            port,
            session,
            http,
            _profile: profile,
        }
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!(
            "http://127.0.0.1:{}/session/{}{path}",
            self.port, self.session
        );
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req
            .send()
            .await
            .expect("webdriver call")
            .json()
            .await
            .expect("webdriver answer");
        v["value"].clone()
    }

    async fn ok(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let v = self.cmd(method, path, body).await;
        if let Some(e) = v.get("error") {
            panic!("webdriver {path}: {e} {}", v["message"]);
        }
        v
    }

    pub async fn goto(&self, url: &str) {
        self.ok(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and answers its return value.
    pub async fn eval(&self, script: &str, args: Value) -> Value {
        self.ok(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// The first element matching `css`, if any.
    pub async fn find(&self, css: &str) -> Option<Element> {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        v.get(ELEMENT)
            .and_then(Value::as_str)
            .map(|s| Element(s.to_string()))
    }

    /// Waits up to `within` for an element matching `css` to be displayed.
    pub async fn wait_for(&self, css: &str, within: Duration) -> Element {
        let deadline = Instant::now() + within;
        loop {
            if let Some(e) = self.find(css).await {
                if self.displayed(&e).await {
                    return e;
                }
            }
            if Instant::now() > deadline {
                self.screenshot("timeout").await;
                panic!(
                    "no visible `{css}` within {within:?}; browser log: {:?}",
                    self.log().await
                );
            }
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
    }

    /// Waits up to `within` for `script` to answer true.
    pub async fn wait_until(&self, what: &str, script: &str, args: Value, within: Duration) {
        let deadline = Instant::now() + within;
        while self.eval(script, args.clone()).await != Value::Bool(true) {
            if Instant::now() > deadline {
                self.screenshot("timeout").await;
                panic!(
                    "{what}: not within {within:?}; browser log: {:?}",
                    self.log().await
                );
            }
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
    }

    pub async fn displayed(&self, e: &Element) -> bool {
        self.cmd(
            reqwest::Method::GET,
            &format!("/element/{}/displayed", e.0),
            None,
        )
        .await
            == Value::Bool(true)
    }

    /// Clicks the first element matching `css` (which must be there). A page that draws the
    /// element again between finding and clicking leaves a stale reference: it is found again.
    pub async fn click_on(&self, css: &str) {
        for _ in 0..5 {
            let e = self
                .find(css)
                .await
                .unwrap_or_else(|| panic!("nothing matches `{css}`"));
            let path = format!("/element/{}/click", e.0);
            let v = self
                .cmd(reqwest::Method::POST, &path, Some(json!({})))
                .await;
            match v.get("error") {
                None => return,
                Some(e) if e == "stale element reference" => continue,
                Some(e) => panic!("webdriver {path}: {e} {}", v["message"]),
            }
        }
        panic!("`{css}` was drawn again at every click");
    }

    pub async fn click(&self, e: &Element) {
        self.ok(
            reqwest::Method::POST,
            &format!("/element/{}/click", e.0),
            Some(json!({})),
        )
        .await;
    }

    pub async fn type_into(&self, e: &Element, text: &str) {
        self.ok(
            reqwest::Method::POST,
            &format!("/element/{}/value", e.0),
            Some(json!({ "text": text })),
        )
        .await;
    }

    pub async fn text(&self, e: &Element) -> String {
        self.ok(
            reqwest::Method::GET,
            &format!("/element/{}/text", e.0),
            None,
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// The text of the element matching `css` now: for lists that re-render, where an element
    /// found a moment ago may already be replaced.
    pub async fn text_of(&self, css: &str) -> String {
        self.eval(
            "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';",
            json!([css]),
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Presses keys (WebDriver key codes, e.g. "\u{E007}" for Enter) on whatever has focus.
    pub async fn keys(&self, keys: &str) {
        let mut actions = Vec::new();
        for k in keys.chars() {
            actions.push(json!({ "type": "keyDown", "value": k.to_string() }));
            actions.push(json!({ "type": "keyUp", "value": k.to_string() }));
        }
        self.ok(
            reqwest::Method::POST,
            "/actions",
            Some(json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] })),
        )
        .await;
        self.cmd(reqwest::Method::DELETE, "/actions", None).await;
    }

    /// Clicks at `(x, y)` pixels from the top-left of `e`'s box.
    pub async fn click_at(&self, e: &Element, x: i64, y: i64) {
        self.draw(e, &[(x, y)]).await;
    }

    /// Runs a Chrome DevTools Protocol command (e.g. `Emulation.setGeolocationOverride`).
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.ok(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            Some(json!({ "cmd": cmd, "params": params })),
        )
        .await
    }

    /// Cuts the page off the network (the phone in a basement), or gives it back.
    pub async fn offline(&self, offline: bool) {
        self.cdp(
            "Network.emulateNetworkConditions",
            json!({ "offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1 }),
        )
        .await;
    }

    /// Lets `origin` read the position, and puts the phone at (lat, lon).
    pub async fn place(&self, origin: &str, lat: f64, lon: f64) {
        self.cdp(
            "Browser.grantPermissions",
            json!({ "origin": origin, "permissions": ["geolocation"] }),
        )
        .await;
        self.cdp(
            "Emulation.setGeolocationOverride",
            json!({ "latitude": lat, "longitude": lon, "accuracy": 8 }),
        )
        .await;
    }

    /// Drags a finger (or the mouse) through `points`, offsets from `e`'s top-left corner.
    pub async fn draw(&self, e: &Element, points: &[(i64, i64)]) {
        let rect = self
            .ok(
                reqwest::Method::GET,
                &format!("/element/{}/rect", e.0),
                None,
            )
            .await;
        let (w, h) = (
            rect["width"].as_f64().unwrap_or(0.0),
            rect["height"].as_f64().unwrap_or(0.0),
        );
        let origin = json!({ ELEMENT: e.0 });
        let mut actions = Vec::new();
        for (i, (x, y)) in points.iter().enumerate() {
            actions.push(
                json!({ "type": "pointerMove", "duration": 20, "origin": origin,
                "x": x - (w / 2.0) as i64, "y": y - (h / 2.0) as i64 }),
            );
            if i == 0 {
                actions.push(json!({ "type": "pointerDown", "button": 0 }));
            }
        }
        actions.push(json!({ "type": "pointerUp", "button": 0 }));
        self.ok(
            reqwest::Method::POST,
            "/actions",
            Some(json!({ "actions": [{ "type": "pointer", "id": "finger", "parameters": { "pointerType": "mouse" }, "actions": actions }] })),
        )
        .await;
        self.cmd(reqwest::Method::DELETE, "/actions", None).await;
    }

    /// Saves the page as `target/browser/NAME.png` and answers the path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        use base64::Engine;
        let v = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser");
        std::fs::create_dir_all(&dir).expect("target/browser");
        let path = dir.join(format!("{name}.png"));
        if let Some(b64) = v.as_str() {
            let png = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .expect("a PNG");
            std::fs::write(&path, png).expect("writing the screenshot");
        }
        path
    }

    /// The browser's console log since the last call: (level, message).
    pub async fn log(&self) -> Vec<(String, String)> {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/se/log",
                Some(json!({ "type": "browser" })),
            )
            .await;
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|e| {
                        (
                            e["level"].as_str().unwrap_or_default().to_string(),
                            e["message"].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The errors and warnings the page logged since the last look (script errors, refused
    /// policies, failed loads); hints and debug lines left out.
    pub async fn problems(&self) -> Vec<(String, String)> {
        self.log()
            .await
            .into_iter()
            .filter(|(level, _)| level == "SEVERE" || level == "WARNING")
            .collect()
    }

    /// Fails the test when the page logged an error or a warning.
    pub async fn assert_clean_log(&self) {
        let bad = self.problems().await;
        assert!(bad.is_empty(), "the browser logged: {bad:#?}");
    }

    /// Ends the session and the driver.
    pub async fn close(mut self) {
        self.cmd(reqwest::Method::DELETE, "", None).await;
        self.session.clear();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A failed test still closes its browser: the session is ended over a plain socket
        // (no runtime may be left to drive the async client).
        if !self.session.is_empty() {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let _ = write!(
                    s,
                    "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
                    self.session
                );
                let _ = std::io::Read::read(&mut s, &mut [0u8; 512]);
            }
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
