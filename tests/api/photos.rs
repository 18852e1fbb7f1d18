//! Photos and the customer's signature from the phone: checked by content, kept once, shown to
//! the region's staff and to no other technician, required where a region requires them.

use serde_json::{json, Value};

use crate::both;
use crate::fake_s3::FakeS3;
use crate::helpers::{another_technician, events, ticket_for, Backend, TestApp};
use fixline::domain::photo::jpeg_with_exif;

/// A `multipart/form-data` body of `(name, filename, bytes)` parts (no filename: a text part).
pub fn form(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "fixline-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, filename, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match filename {
            Some(f) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(
    app: &TestApp,
    token: &str,
    id: &str,
    parts: &[(&str, Option<&str>, &[u8])],
) -> crate::helpers::Answer {
    let (content_type, body) = form(parts);
    let res = app
        .client
        .post(format!("{}/tickets/{id}/photos", app.base))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let answer = crate::helpers::read(res).await;
    crate::contract::check(
        "POST",
        &format!("/tickets/{id}/photos"),
        answer.status.as_u16(),
        &answer.content_type,
        &answer.text,
    );
    answer
}

/// The photo's image as `token` gets it: status and bytes.
async fn image(app: &TestApp, token: &str, url: &str) -> (u16, String, Vec<u8>) {
    let res = app
        .client
        .get(format!("{}{url}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, res.bytes().await.unwrap().to_vec())
}

/// A PNG signature as a canvas would give it (the signature is all the checks read).
const SIGNATURE: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

fn site_photo() -> Vec<u8> {
    // Taken at 09:05 Beijing time, 40 m or so from the customer at (31.87, 120.55).
    jpeg_with_exif(
        Some("2026:11:23 09:05:00"),
        Some("+08:00"),
        Some((31.8703, 120.5502)),
    )
}

/// The technician uploads a site photo and the customer's signature: each checked by its
/// bytes and kept once however often it is sent, with what the camera says beside the server's
/// time. The region's dispatchers and managers see them; agents, other regions and other
/// technicians do not.
async fn photos_are_checked_kept_once_and_shown_to_the_right_people(backend: Backend) {
    let app = TestApp::spawn_with_env(
        backend,
        &[
            ("FIXLINE_PHOTO_MAX_BYTES", "4096".into()),
            ("FIXLINE_PHOTOS_PER_TICKET", "3".into()),
        ],
    )
    .await;
    let t = ticket_for(&app, "PH-1").await;
    let id = t["id"].as_str().unwrap().to_string();
    let tech_id = t["assignee_id"].as_str().unwrap().to_string();
    let tech = app.login(&app.username_of(&tech_id).await).await;
    let photo = site_photo();

    let up = upload(
        &app,
        &tech,
        &id,
        &[
            ("stage", None, b"check_in"),
            ("photo", Some("IMG_0001.jpg"), &photo),
            ("signature", Some("sig.png"), SIGNATURE),
        ],
    )
    .await;
    let items = up.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    let site = &items[0];
    assert_eq!(site["purpose"], "site");
    assert_eq!(site["stage"], "check_in");
    assert_eq!(site["content_type"], "image/jpeg");
    assert_eq!(site["duplicate"], false);
    assert_eq!(site["taken_at"], "2026-11-23T01:05:00Z");
    assert!((site["taken_location"]["lat"].as_f64().unwrap() - 31.8703).abs() < 1e-4);
    let far = site["distance_from_customer_m"].as_f64().unwrap();
    assert!(far > 10.0 && far < 100.0, "{far}");
    assert_eq!(items[1]["purpose"], "signature");
    assert_eq!(items[1]["content_type"], "image/png");
    assert!(items[1]["taken_at"].is_null());

    // Sent again (the answer was lost): the same photo, not a second one.
    let again = upload(&app, &tech, &id, &[("photo", Some("IMG_0001.jpg"), &photo)]).await;
    let again = again.ok(200)["items"][0].clone();
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["id"], site["id"]);
    let dispatcher = app.login("dispatcher").await;
    let timeline = events(&app, &dispatcher, &id).await;
    assert_eq!(
        timeline
            .iter()
            .filter(|e| e["kind"] == "photo_added")
            .count(),
        2
    );

    // Checked by content and size; nothing is kept from a refused upload.
    let pdf = upload(
        &app,
        &tech,
        &id,
        &[("photo", Some("scan.jpg"), b"%PDF-1.7 not a photo")],
    )
    .await;
    assert_eq!(pdf.problem(422)["field"], "photo[0]");
    let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic";
    let refused = upload(
        &app,
        &tech,
        &id,
        &[
            ("photo", Some("a.jpg"), &photo),
            ("photo", Some("b.heic"), heic),
        ],
    )
    .await;
    assert_eq!(refused.problem(422)["field"], "photo[1]");
    let mut big = photo.clone();
    big.extend(std::iter::repeat_n(0u8, 5000));
    upload(&app, &tech, &id, &[("photo", Some("big.jpg"), &big)])
        .await
        .problem(413);
    let seven: Vec<(&str, Option<&str>, &[u8])> = (0..7)
        .map(|_| ("photo", Some("x.jpg"), photo.as_slice()))
        .collect();
    upload(&app, &tech, &id, &seven).await.problem(422);
    let json_body = app
        .post(
            &format!("/tickets/{id}/photos"),
            &tech,
            json!({"photo": "x"}),
        )
        .await;
    json_body.problem(415);
    // Two more would make four where the ticket keeps three: refused whole.
    let (a, b) = (
        jpeg_with_exif(Some("2026:11:23 09:06:00"), None, None),
        jpeg_with_exif(Some("2026:11:23 09:07:00"), None, None),
    );
    let over = upload(
        &app,
        &tech,
        &id,
        &[("photo", Some("a.jpg"), &a), ("photo", Some("b.jpg"), &b)],
    )
    .await;
    assert_eq!(over.problem(422)["field"], "photo");
    let list = app.get(&format!("/tickets/{id}/photos"), &dispatcher).await;
    assert_eq!(list.ok(200)["items"].as_array().unwrap().len(), 2);

    // Who sees them.
    let url = site["url"].as_str().unwrap();
    let (status, ct, bytes) = image(&app, &dispatcher, url).await;
    assert_eq!((status, ct.as_str()), (200, "image/jpeg"));
    assert_eq!(bytes, photo, "the image as uploaded");
    assert_eq!(image(&app, &app.login("manager").await, url).await.0, 200);
    assert_eq!(
        image(&app, &tech, url).await.0,
        200,
        "the technician who took it"
    );
    assert_eq!(image(&app, &app.login("agent").await, url).await.0, 403);
    assert_eq!(
        image(&app, &app.login("am.east").await, url).await.0,
        404,
        "another region"
    );
    app.get(&format!("/tickets/{id}/photos"), &app.login("agent").await)
        .await
        .problem(403);

    // Given to another technician: they see none of the first one's photos, and the first one
    // no longer sees the ticket.
    let other = another_technician(&app, &id, &tech_id).await;
    let other_id = other["id"].clone();
    app.post(
        &format!("/tickets/{id}/assign"),
        &dispatcher,
        json!({"assignee_id": other_id}),
    )
    .await
    .ok(200);
    let other = app.login(other["username"].as_str().unwrap()).await;
    let theirs = app.get(&format!("/tickets/{id}/photos"), &other).await;
    assert!(theirs.ok(200)["items"].as_array().unwrap().is_empty());
    assert_eq!(image(&app, &other, url).await.0, 404);
    assert_eq!(image(&app, &tech, url).await.0, 404);
}

/// A region requires a site photo before a `花屏` repair is resolved: without one the resolve
/// is refused naming `photos` (from the route and from a synced queue alike), with one it goes
/// through.
async fn a_region_can_require_a_photo_before_resolve(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let t = ticket_for(&app, "PH-2").await;
    let id = t["id"].as_str().unwrap().to_string();
    let region = t["region_id"].as_str().unwrap().to_string();
    let manager = app.login("manager").await;
    let policy = app
        .call(
            reqwest::Method::PUT,
            &format!("/regions/{region}/policies/repair"),
            Some(&manager),
            Some(json!({"promise_hours": null, "calendar": null, "photo_required_for": ["花屏"]})),
        )
        .await;
    assert_eq!(policy.ok(200)["photo_required_for"], json!(["花屏"]));
    let tech = app
        .login(&app.username_of(t["assignee_id"].as_str().unwrap()).await)
        .await;
    app.post(
        &format!("/tickets/{id}/ack"),
        &tech,
        json!({"appointment_at": "2026-11-23T11:00:00+08:00", "contact_note": "马上到"}),
    )
    .await
    .ok(200);
    app.post(
        &format!("/tickets/{id}/check-in"),
        &tech,
        json!({"lat": 31.87, "lon": 120.55}),
    )
    .await
    .ok(200);
    let refused = app
        .post(
            &format!("/tickets/{id}/resolve"),
            &tech,
            json!({"resolution_code": "replaced_stb"}),
        )
        .await;
    assert_eq!(refused.problem(422)["field"], "photos");
    let queued = app
        .post(
            "/me/sync",
            &tech,
            json!({"actions": [{"type": "resolve", "action_id": "r-1", "ticket_id": id,
                                "resolution_code": "replaced_stb"}]}),
        )
        .await;
    let r = queued.ok(200)["results"][0].clone();
    assert_eq!(r["outcome"], "rejected");
    assert_eq!(r["problem"]["field"], "photos");
    // A signature is not a photo of the repair.
    upload(
        &app,
        &tech,
        &id,
        &[("signature", Some("sig.png"), SIGNATURE)],
    )
    .await
    .ok(200);
    app.post(
        &format!("/tickets/{id}/resolve"),
        &tech,
        json!({"resolution_code": "replaced_stb"}),
    )
    .await
    .problem(422);
    upload(
        &app,
        &tech,
        &id,
        &[
            ("stage", None, b"resolve"),
            ("photo", Some("fixed.jpg"), &site_photo()),
        ],
    )
    .await
    .ok(200);
    let done = app
        .post(
            &format!("/tickets/{id}/resolve"),
            &tech,
            json!({"resolution_code": "replaced_stb"}),
        )
        .await;
    assert_eq!(done.ok(200)["status"], "resolved");
}

/// With `FIXLINE_BLOB_STORE=s3://…` the images go to the S3-compatible store, under the
/// configured prefix and their hash, and come back from it.
async fn photos_go_to_an_s3_compatible_store(backend: Backend) {
    let s3 = FakeS3::start().await;
    let app = TestApp::spawn_with_env(
        backend,
        &[
            ("FIXLINE_BLOB_STORE", "s3://fixline-photos/zjg".into()),
            ("FIXLINE_S3_ENDPOINT", s3.endpoint.clone()),
            ("FIXLINE_S3_ACCESS_KEY_ID", "fixline".into()),
            ("FIXLINE_S3_SECRET_ACCESS_KEY", "fixline-test-secret".into()),
        ],
    )
    .await;
    let t = ticket_for(&app, "PH-3").await;
    let id = t["id"].as_str().unwrap().to_string();
    let tech = app
        .login(&app.username_of(t["assignee_id"].as_str().unwrap()).await)
        .await;
    let photo = site_photo();
    let up = upload(&app, &tech, &id, &[("photo", Some("IMG_0002.jpg"), &photo)]).await;
    let kept: Value = up.ok(200)["items"][0].clone();
    let sha = kept["sha256"].as_str().unwrap();
    assert_eq!(
        s3.paths(),
        [format!("/fixline-photos/zjg/photos/{}/{sha}", &sha[..2])]
    );
    let (status, _, bytes) = image(
        &app,
        &app.login("dispatcher").await,
        kept["url"].as_str().unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(bytes, photo);
}

both!(
    photos_are_checked_kept_once_and_shown_to_the_right_people,
    a_region_can_require_a_photo_before_resolve,
    photos_go_to_an_s3_compatible_store
);
