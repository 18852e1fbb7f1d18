//! Photos and the customer's signature from the technician's phone: uploaded as
//! `multipart/form-data`, checked by their bytes, kept once per image, shown to the region's
//! staff.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::instant::UtcInstant;
use super::state::AppState;
use super::tickets::acting;
use super::{resource, ApiError, ApiResult, Caller};
use crate::domain::photo::{CameraFacts, ImageType, PhotoPurpose, PhotoStage};
use crate::flow::photos;
use crate::store::photos::PhotoRow;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/tickets/{id}/photos")
            .route(web::post().to(upload))
            .route(web::get().to(list)),
    )
    .service(resource("/tickets/{id}/photos/{photo_id}").route(web::get().to(image)));
}

/// Images in one upload.
pub const MAX_PARTS: usize = 6;

#[derive(Serialize)]
struct PointDto {
    lat: f64,
    lon: f64,
}

/// A photo as the API shows it.
#[derive(Serialize)]
struct PhotoDto {
    id: String,
    ticket_id: String,
    /// `site` or `signature`.
    purpose: String,
    stage: Option<String>,
    content_type: String,
    bytes: i64,
    sha256: String,
    uploaded_by: String,
    received_at: UtcInstant,
    /// When and where the camera says it was taken (EXIF), beside the server's time.
    taken_at: Option<UtcInstant>,
    taken_location: Option<PointDto>,
    distance_from_customer_m: Option<f64>,
    /// The image.
    url: String,
}

impl PhotoDto {
    fn new(p: PhotoRow, distance_from_customer_m: Option<f64>) -> Self {
        PhotoDto {
            url: format!("/tickets/{}/photos/{}", p.ticket_id, p.id),
            taken_location: p
                .taken_lat
                .zip(p.taken_lon)
                .map(|(lat, lon)| PointDto { lat, lon }),
            id: p.id,
            ticket_id: p.ticket_id,
            purpose: p.purpose,
            stage: p.stage,
            content_type: p.content_type,
            bytes: p.bytes,
            sha256: p.sha256,
            uploaded_by: p.uploaded_by,
            received_at: UtcInstant(p.received_at),
            taken_at: p.taken_at.map(UtcInstant),
            distance_from_customer_m,
        }
    }
}

#[derive(Serialize)]
struct Uploaded {
    #[serde(flatten)]
    photo: PhotoDto,
    /// The same image was already kept for the ticket (an upload sent again).
    duplicate: bool,
}

/// One image of an upload, read whole.
struct Part {
    purpose: PhotoPurpose,
    /// `photo[0]`, `signature[0]`: how errors name it.
    field: String,
    bytes: Bytes,
}

/// Reads a part whole, refusing it past `limit` bytes.
async fn read_part(field: &mut actix_multipart::Field, limit: usize) -> ApiResult<Bytes> {
    let mut buf = BytesMut::new();
    while let Some(chunk) = field.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::bad_request(format!("could not read the upload: {e}")))?;
        if buf.len() + chunk.len() > limit {
            return Err(ApiError::payload_too_large(limit));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// The upload's images and the stage it names, read whole within the limits.
async fn read_upload(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> ApiResult<(Vec<Part>, Option<PhotoStage>)> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let whole = MAX_PARTS * limit + 64 * 1024;
    if declared.is_some_and(|n| n > whole) {
        return Err(ApiError::payload_too_large(whole));
    }
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !multipart {
        return Err(ApiError::unsupported_media_type(
            "send the images as multipart/form-data: `photo` and `signature` parts, and `stage`",
        ));
    }
    let mut form = actix_multipart::Multipart::new(req.headers(), payload);
    let (mut parts, mut stage) = (Vec::<Part>::new(), None);
    while let Some(field) = form.next().await {
        let mut field =
            field.map_err(|e| ApiError::bad_request(format!("could not read the upload: {e}")))?;
        let name = field.name().unwrap_or("").to_string();
        if name == "stage" {
            let raw = read_part(&mut field, 64).await?;
            let text = std::str::from_utf8(&raw)
                .map_err(|_| ApiError::invalid("stage", "must be check_in or resolve"))?;
            stage = Some(PhotoStage::parse("stage", text.trim())?);
            continue;
        }
        let Some(purpose) = PhotoPurpose::from_part(&name) else {
            return Err(ApiError::invalid(
                if name.is_empty() {
                    "photo"
                } else {
                    name.as_str()
                },
                "unknown part: send `photo`, `signature` or `stage`",
            ));
        };
        if parts.len() == MAX_PARTS {
            return Err(ApiError::invalid(
                name,
                format!("at most {MAX_PARTS} images in one upload"),
            ));
        }
        let index = parts.iter().filter(|p| p.purpose == purpose).count();
        let bytes = read_part(&mut field, limit).await?;
        parts.push(Part {
            purpose,
            field: format!("{name}[{index}]"),
            bytes,
        });
    }
    if parts.is_empty() {
        return Err(ApiError::invalid(
            "photo",
            "send at least one image, as a `photo` or `signature` part",
        ));
    }
    Ok((parts, stage))
}

/// `POST /tickets/{id}/photos`: the images are checked (JPEG or PNG by their bytes), kept in the
/// blob store under their hash, then recorded on the ticket together: all or none. An image the
/// ticket already has is answered as it was kept (`duplicate`).
async fn upload(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let (id, who) = (id.into_inner(), acting(&caller));
    // Refused before the body is read: nothing is read or stored for a ticket the caller may
    // not add to.
    {
        let (id, who) = (id.clone(), who.clone());
        state
            .db
            .read(move |conn| photos::may_add(conn, &id, &who).map_err(ApiError::from))
            .await?;
    }
    let (parts, stage) = read_upload(&req, payload, state.config.photo_max_bytes).await?;
    let mut rows = Vec::with_capacity(parts.len());
    for p in &parts {
        let Some(kind) = ImageType::sniff(&p.bytes) else {
            return Err(ApiError::invalid(
                p.field.clone(),
                "is not a JPEG or PNG image (checked by its content; HEIC is not kept: send JPEG)",
            ));
        };
        let facts = CameraFacts::read(&p.bytes, state.flow.tz);
        rows.push(PhotoRow {
            id: crate::domain::new_id(),
            ticket_id: String::new(),
            region_id: String::new(),
            uploaded_by: String::new(),
            purpose: p.purpose.as_str().into(),
            stage: stage.map(|s| s.as_str().to_string()),
            content_type: kind.content_type().into(),
            bytes: p.bytes.len() as i64,
            sha256: hex::encode(Sha256::digest(&p.bytes)),
            taken_at: facts.taken_at,
            taken_lat: facts.taken_at_point.map(|p| p.0),
            taken_lon: facts.taken_at_point.map(|p| p.1),
            received_at: state.clock.now_naive(),
        });
    }
    for (p, row) in parts.iter().zip(&rows) {
        state
            .blobs
            .put(&row.blob_key(), p.bytes.clone())
            .await
            .map_err(|e| ApiError::unavailable(e.to_string()))?;
    }
    let most = state.config.photos_per_ticket;
    let now = state.clock.now_naive();
    let kept = state
        .db
        .write(move |conn| -> ApiResult<Vec<Uploaded>> {
            let (t, added) = photos::add(conn, &id, &who, rows, most, now)?;
            Ok(added
                .into_iter()
                .map(|(row, created)| {
                    let d = photos::distance_from_customer(&t, row.taken_lat.zip(row.taken_lon));
                    Uploaded {
                        photo: PhotoDto::new(row, d),
                        duplicate: !created,
                    }
                })
                .collect())
        })
        .await?;
    state.kick();
    Ok(super::items(kept))
}

/// `GET /tickets/{id}/photos`: the ticket's photos the caller may see, oldest first.
async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (id, who) = (id.into_inner(), acting(&caller));
    let items = state
        .db
        .read(move |conn| -> ApiResult<Vec<PhotoDto>> {
            let (t, rows) = photos::visible(conn, &id, &who)?;
            Ok(rows
                .into_iter()
                .map(|p| {
                    let d = photos::distance_from_customer(&t, p.taken_lat.zip(p.taken_lon));
                    PhotoDto::new(p, d)
                })
                .collect())
        })
        .await?;
    Ok(super::items(items))
}

/// `GET /tickets/{id}/photos/{photo_id}`: the image, to whoever may see it.
async fn image(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let ((id, photo_id), who) = (path.into_inner(), acting(&caller));
    let row = state
        .db
        .read(move |conn| -> ApiResult<PhotoRow> {
            let (_, rows) = photos::visible(conn, &id, &who)?;
            rows.into_iter()
                .find(|p| p.id == photo_id)
                .ok_or_else(|| ApiError::not_found("no such photo"))
        })
        .await?;
    let bytes = state
        .blobs
        .get(&row.blob_key())
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?
        .ok_or_else(|| ApiError::internal(format!("the image of photo {} is missing", row.id)))?;
    Ok(HttpResponse::Ok()
        .content_type(row.content_type.as_str())
        .insert_header((header::ETAG, format!("\"{}\"", row.sha256)))
        .insert_header((header::CACHE_CONTROL, "private, max-age=86400, immutable"))
        .insert_header((header::CONTENT_DISPOSITION, "inline"))
        .body(bytes))
}
