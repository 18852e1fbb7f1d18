//! A fake S3-compatible store on 127.0.0.1: keeps objects in memory by path (`/BUCKET/KEY`),
//! answers PUT, GET and HEAD as S3 does for the calls fixline makes. Signatures are not checked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::dev::ServerHandle;
use actix_web::{web, HttpRequest, HttpResponse};

pub struct FakeS3 {
    pub endpoint: String,
    objects: Arc<Mutex<HashMap<String, web::Bytes>>>,
    handle: ServerHandle,
}

const LAST_MODIFIED: &str = "Mon, 23 Nov 2026 01:00:00 GMT";

async fn answer(
    objects: Arc<Mutex<HashMap<String, web::Bytes>>>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let path = req.path().to_string();
    let etag = |b: &web::Bytes| format!("\"{}\"", b.len());
    match *req.method() {
        actix_web::http::Method::PUT => {
            let tag = etag(&body);
            objects.lock().unwrap().insert(path, body);
            HttpResponse::Ok().insert_header(("ETag", tag)).finish()
        }
        actix_web::http::Method::GET | actix_web::http::Method::HEAD => {
            let Some(b) = objects.lock().unwrap().get(&path).cloned() else {
                return HttpResponse::NotFound()
                    .content_type("application/xml")
                    .body("<Error><Code>NoSuchKey</Code></Error>");
            };
            let mut res = HttpResponse::Ok();
            res.insert_header(("ETag", etag(&b)))
                .insert_header(("Last-Modified", LAST_MODIFIED))
                .content_type("application/octet-stream");
            if req.method() == actix_web::http::Method::HEAD {
                res.insert_header(("Content-Length", b.len().to_string()))
                    .finish()
            } else {
                res.body(b)
            }
        }
        _ => HttpResponse::MethodNotAllowed().finish(),
    }
}

impl FakeS3 {
    pub async fn start() -> FakeS3 {
        let objects: Arc<Mutex<HashMap<String, web::Bytes>>> = Arc::default();
        let kept = objects.clone();
        let (port, handle) = crate::helpers::local_server::serve(1, move |cfg| {
            let kept = kept.clone();
            cfg.app_data(web::PayloadConfig::new(64 << 20))
                .default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
                    answer(kept.clone(), req, body)
                }));
        });
        FakeS3 {
            endpoint: format!("http://127.0.0.1:{port}"),
            objects,
            handle,
        }
    }

    /// The paths of the objects kept, sorted.
    pub fn paths(&self) -> Vec<String> {
        let mut p: Vec<String> = self.objects.lock().unwrap().keys().cloned().collect();
        p.sort();
        p
    }
}

impl Drop for FakeS3 {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        tokio::spawn(async move { handle.stop(false).await });
    }
}
