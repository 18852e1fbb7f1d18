//! The console: plain files under `web/`, embedded in the binary. Every asset is served under
//! `/assets/` at its own path (revalidated by ETag) and at a name carrying a hash of its content
//! (cached for a year). Pages, scripts and style sheets refer to each other by the hashed names,
//! rewritten once at startup, so a new build is seen at once and an unchanged file is fetched
//! once. Every answer carries a strict Content-Security-Policy: scripts and styles only from
//! these files, nothing inline.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

/// Every file under `web/`: its path there and its bytes.
static FILES: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));

/// Where assets are served.
pub const PREFIX: &str = "/assets/";

/// One file as served.
pub struct Asset {
    pub body: web::Bytes,
    pub content_type: &'static str,
    pub etag: String,
    /// Served at its hashed name: never changes.
    pub immutable: bool,
}

/// The embedded files, by path under `/assets/` (plain and hashed), and the pages.
pub struct Assets {
    files: HashMap<String, Arc<Asset>>,
    /// Hashed path of each plain path.
    hashed: HashMap<String, String>,
    csp: HeaderValue,
}

impl Assets {
    /// The embedded files; pages carry `settings` in their `<meta name=... content=...>` tags
    /// (the map's tile template, the operator's time zone).
    pub fn embedded(settings: &Settings) -> Assets {
        Assets::build(FILES, settings)
    }

    fn build(files: &[(&str, &[u8])], settings: &Settings) -> Assets {
        let sources: HashMap<&str, &[u8]> = files.iter().copied().collect();
        let mut hashed = HashMap::new();
        let mut bodies = HashMap::new();
        for (name, _) in files {
            resolve(name, &sources, &mut hashed, &mut bodies, &mut Vec::new());
        }
        let mut out = HashMap::new();
        for (name, body) in bodies {
            let body = web::Bytes::from(if name.ends_with(".html") {
                settings.apply(&String::from_utf8_lossy(&body)).into_bytes()
            } else {
                body
            });
            let etag = format!("\"{}\"", &hex::encode(Sha256::digest(&body))[..20]);
            let content_type = content_type(&name);
            let hashed_name = hashed[&name].clone();
            out.insert(
                name.clone(),
                Arc::new(Asset {
                    body: body.clone(),
                    content_type,
                    etag: etag.clone(),
                    immutable: false,
                }),
            );
            out.insert(
                hashed_name,
                Arc::new(Asset {
                    body,
                    content_type,
                    etag,
                    immutable: true,
                }),
            );
        }
        Assets {
            files: out,
            hashed,
            csp: HeaderValue::from_str(&csp(settings.map_tiles.as_deref()))
                .expect("a header value"),
        }
    }

    /// The file at `path` under `/assets/`, plain or hashed.
    pub fn get(&self, path: &str) -> Option<&Arc<Asset>> {
        self.files.get(path)
    }

    /// The hashed path of a file (under `/assets/`).
    pub fn hashed(&self, path: &str) -> Option<&str> {
        self.hashed.get(path).map(String::as_str)
    }

    /// 200 with the file (304 when the caller has it), or None when there is no such file.
    pub fn answer(&self, req: &HttpRequest, path: &str) -> Option<HttpResponse> {
        let asset = self.get(path)?;
        let unchanged = fresh(req, &asset.etag);
        let mut res = if unchanged {
            HttpResponse::NotModified()
        } else {
            HttpResponse::Ok()
        };
        res.insert_header((header::ETAG, asset.etag.clone()))
            .insert_header((
                header::CACHE_CONTROL,
                if asset.immutable {
                    "public, max-age=31536000, immutable"
                } else {
                    "no-cache"
                },
            ));
        self.secure(&mut res);
        Some(if unchanged {
            res.finish()
        } else {
            res.content_type(asset.content_type)
                .body(asset.body.clone())
        })
    }

    /// The headers every console answer carries.
    fn secure(&self, res: &mut actix_web::HttpResponseBuilder) {
        res.insert_header((header::CONTENT_SECURITY_POLICY, self.csp.clone()))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .insert_header((header::REFERRER_POLICY, "no-referrer"))
            .insert_header((header::X_FRAME_OPTIONS, "DENY"));
    }
}

/// What the pages learn from the configuration.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub map_tiles: Option<String>,
    /// IANA zone name.
    pub tz: String,
}

impl Settings {
    /// The page with each setting in its `<meta>` tag.
    fn apply(&self, html: &str) -> String {
        let html = set_meta(html, "fixline-tz", &self.tz);
        set_meta(
            &html,
            "fixline-map-tiles",
            self.map_tiles.as_deref().unwrap_or(""),
        )
    }
}

/// Sets the content of `<meta name="NAME" content="...">` (escaped for an attribute).
fn set_meta(html: &str, name: &str, value: &str) -> String {
    let open = format!(r#"<meta name="{name}" content=""#);
    let Some(start) = html.find(&open).map(|i| i + open.len()) else {
        return html.to_string();
    };
    let Some(len) = html[start..].find('"') else {
        return html.to_string();
    };
    let value = value
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    format!("{}{value}{}", &html[..start], &html[start + len..])
}

/// Whether the caller's `If-None-Match` names `etag`.
fn fresh(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().trim_start_matches("W/") == etag)
        })
}

/// The policy: this origin only, nothing inline, no framing; map tiles from their origin.
fn csp(map_tiles: Option<&str>) -> String {
    let tiles = map_tiles.and_then(origin).unwrap_or_default();
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:{tiles}; \
         connect-src 'self'; font-src 'self'; manifest-src 'self'; worker-src 'self'; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )
}

/// ` scheme://host[:port]` of a URL template.
fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split('/').next()?;
    Some(format!(" {scheme}://{host}"))
}

/// Checks a tile URL template: http(s), with `{z}`, `{x}` and `{y}`, no quotes or spaces.
pub fn tile_template(t: &str) -> Result<String, String> {
    let t = t.trim();
    let ok_scheme = t.starts_with("https://") || t.starts_with("http://");
    let has_all = ["{z}", "{x}", "{y}"].iter().all(|p| t.contains(p));
    if !ok_scheme || !has_all || t.contains(['"', '\'', ' ', ';']) {
        return Err("must be an http(s) URL with {z}, {x} and {y}, e.g. https://tiles.example.com/{z}/{x}/{y}.png".into());
    }
    Ok(t.to_string())
}

fn content_type(name: &str) -> &'static str {
    if name.ends_with("/LICENSE") {
        return "text/plain; charset=utf-8";
    }
    match name.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Whether a file's text may name other files (and so is rewritten to their hashed names).
fn is_text(name: &str) -> bool {
    [".html", ".js", ".mjs", ".css", ".webmanifest", ".json"]
        .iter()
        .any(|e| name.ends_with(e))
}

/// Finds the final body and hashed name of `name`, after the files it names (depth first; a
/// cycle leaves the file that closes it under its plain name).
fn resolve(
    name: &str,
    sources: &HashMap<&str, &[u8]>,
    hashed: &mut HashMap<String, String>,
    bodies: &mut HashMap<String, Vec<u8>>,
    visiting: &mut Vec<String>,
) {
    if hashed.contains_key(name) || visiting.iter().any(|v| v == name) {
        return;
    }
    let source = sources[name];
    let body = if is_text(name) {
        visiting.push(name.to_string());
        let text = String::from_utf8_lossy(source);
        for r in references(&text) {
            if sources.contains_key(r.as_str()) {
                resolve(&r, sources, hashed, bodies, visiting);
            }
        }
        visiting.pop();
        rewrite(&text, hashed).into_bytes()
    } else {
        source.to_vec()
    };
    let digest = hex::encode(Sha256::digest(&body));
    hashed.insert(name.to_string(), hashed_name(name, &digest[..10]));
    bodies.insert(name.to_string(), body);
}

/// Paths under `/assets/` that a text names.
fn references(text: &str) -> Vec<String> {
    names(text).map(|r| text[r].to_string()).collect()
}

/// Where each name after `/assets/` stands in `text`, as byte ranges.
fn names(text: &str) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let mut from = 0;
    std::iter::from_fn(move || {
        let start = from + text[from..].find(PREFIX)? + PREFIX.len();
        let end = text[start..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || "._-/".contains(c)))
            .map_or(text.len(), |n| start + n);
        from = end;
        Some(start..end)
    })
}

/// The text with each `/assets/NAME` of a known file replaced by its hashed name.
fn rewrite(text: &str, hashed: &HashMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    let mut copied = 0;
    for r in names(text) {
        let name = &text[r.clone()];
        out.push_str(&text[copied..r.start]);
        out.push_str(hashed.get(name).map(String::as_str).unwrap_or(name));
        copied = r.end;
    }
    out.push_str(&text[copied..]);
    out
}

/// `dir/name.HASH.ext` for `dir/name.ext`.
fn hashed_name(name: &str, hash: &str) -> String {
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[slash..].find('.') {
        Some(dot) => format!("{}.{hash}{}", &name[..slash + dot], &name[slash + dot..]),
        None => format!("{name}.{hash}"),
    }
}

/// The console at `/`, the technicians' app at `/app/` (with its service worker at
/// `/app/sw.js`, whose scope is the app), and every asset under `/assets/`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(console))
        .route("/app", web::get().to(to_app))
        .route("/app/", web::get().to(phone_app))
        .route("/app/sw.js", web::get().to(service_worker))
        .route("/assets/{path:.*}", web::get().to(asset));
}

async fn console(req: HttpRequest, state: web::Data<crate::api::state::AppState>) -> HttpResponse {
    page(&req, &state.assets, "console/index.html")
}

async fn phone_app(
    req: HttpRequest,
    state: web::Data<crate::api::state::AppState>,
) -> HttpResponse {
    page(&req, &state.assets, "app/index.html")
}

/// `/app` is `/app/`: the service worker's scope ends in a slash.
async fn to_app() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/app/"))
        .finish()
}

async fn service_worker(
    req: HttpRequest,
    state: web::Data<crate::api::state::AppState>,
) -> HttpResponse {
    page(&req, &state.assets, "app/sw.js")
}

/// A page of the console (never cached without revalidation).
fn page(req: &HttpRequest, assets: &Assets, path: &str) -> HttpResponse {
    assets
        .answer(req, path)
        .unwrap_or_else(|| HttpResponse::NotFound().finish())
}

async fn asset(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<crate::api::state::AppState>,
) -> Result<HttpResponse, crate::api::ApiError> {
    state
        .assets
        .answer(&req, &path)
        .ok_or_else(|| crate::api::ApiError::not_found(format!("no asset {}", path.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILES: &[(&str, &[u8])] = &[
        (
            "console/index.html",
            b"<meta name=\"fixline-tz\" content=\"Asia/Shanghai\"><meta name=\"fixline-map-tiles\" content=\"\"><script src=\"/assets/console/app.js\"></script><link href=\"/assets/console/app.css\">",
        ),
        (
            "console/app.js",
            b"import { t } from \"/assets/console/i18n.js\"; fetch('/assets/console/missing.js')",
        ),
        ("console/i18n.js", b"export const t = 1;"),
        ("console/app.css", b"body{background:url(/assets/console/bg.png)}"),
        ("console/bg.png", b"\x89PNG"),
    ];

    fn body(a: &Assets, p: &str) -> String {
        String::from_utf8(a.get(p).unwrap().body.to_vec()).unwrap()
    }

    #[test]
    fn references_are_rewritten_to_content_hashed_names() {
        let a = Assets::build(FILES, &Settings::default());
        let js = a.hashed("console/app.js").unwrap().to_string();
        assert!(
            js.starts_with("console/app.") && js.ends_with(".js"),
            "{js}"
        );
        let html = body(&a, "console/index.html");
        assert!(html.contains(&format!("/assets/{js}")), "{html}");
        let i18n = a.hashed("console/i18n.js").unwrap();
        assert!(body(&a, "console/app.js").contains(&format!("/assets/{i18n}")));
        assert!(
            body(&a, "console/app.js").contains("/assets/console/missing.js"),
            "unknown names stay as written"
        );
        assert!(body(&a, "console/app.css").contains(a.hashed("console/bg.png").unwrap()));
        assert!(a.get(&js).unwrap().immutable);
        assert!(!a.get("console/app.js").unwrap().immutable);
    }

    #[test]
    fn a_changed_dependency_changes_the_hash_of_what_names_it() {
        let before = Assets::build(FILES, &Settings::default());
        let mut changed = FILES.to_vec();
        changed[2] = ("console/i18n.js", b"export const t = 2;");
        let after = Assets::build(&changed, &Settings::default());
        assert_ne!(
            before.hashed("console/app.js"),
            after.hashed("console/app.js")
        );
        assert_ne!(
            before.hashed("console/index.html"),
            after.hashed("console/index.html")
        );
        assert_eq!(
            before.hashed("console/app.css"),
            after.hashed("console/app.css")
        );
    }

    #[test]
    fn tiles_reach_the_page_and_the_policy() {
        let t = tile_template("https://tiles.example.com/{z}/{x}/{y}.png").unwrap();
        let a = Assets::build(
            FILES,
            &Settings {
                map_tiles: Some(t.clone()),
                tz: "Asia/Urumqi".into(),
            },
        );
        let html = body(&a, "console/index.html");
        assert!(html.contains(&format!(r#"content="{t}""#)), "{html}");
        assert!(
            html.contains(r#"<meta name="fixline-tz" content="Asia/Urumqi">"#),
            "{html}"
        );
        let csp = a.csp.to_str().unwrap();
        assert!(
            csp.contains("img-src 'self' data: blob: https://tiles.example.com;"),
            "{csp}"
        );
        assert!(csp.contains("script-src 'self';"));
        assert!(tile_template("ftp://x/{z}/{x}/{y}").is_err());
        assert!(tile_template("https://x/{z}/{x}").is_err());
        assert!(tile_template("https://x/{z}/{x}/{y}\"").is_err());
    }

    #[test]
    fn every_embedded_file_has_a_type() {
        for (name, _) in super::FILES {
            assert_ne!(
                content_type(name),
                "application/octet-stream",
                "{name} has no content type"
            );
        }
    }
}
