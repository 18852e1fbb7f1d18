//! Grid districts: GeoJSON import, point location, reads scoped by region, admin edits.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::extract::BodyLimit;
use super::state::AppState;
use super::{resource, utc, ApiError, ApiResult, Caller, JsonBody};
use crate::domain::{new_id, required_text, Crs, WgsPoint};
use crate::spatial::import::{parse_feature_collection, ImportedDistrict};
use crate::spatial::{DistrictShape, Located};
use crate::store::districts::{self, DistrictRow};
use crate::store::{regions, users};

/// `import_limit` bounds the GeoJSON import body, which is larger than other bodies.
pub fn configure(cfg: &mut web::ServiceConfig, import_limit: usize) {
    cfg.service(resource("/districts").route(web::get().to(list)))
        .service(resource("/districts/locate").route(web::get().to(locate)))
        .service(
            resource("/districts/import")
                .app_data(BodyLimit(import_limit))
                .route(web::post().to(import)),
        )
        .service(
            resource("/districts/{id}")
                .route(web::get().to(get))
                .route(web::patch().to(update))
                .route(web::delete().to(delete)),
        );
}

#[derive(Serialize)]
pub struct DistrictDto {
    pub id: String,
    pub code: String,
    pub name: String,
    pub region_id: String,
    pub leader_user_id: Option<String>,
    /// [min_lon, min_lat, max_lon, max_lat], WGS-84.
    pub bbox: [f64; 4],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boundary: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl DistrictDto {
    fn from_row(r: DistrictRow, with_boundary: bool) -> Self {
        DistrictDto {
            boundary: with_boundary
                .then(|| serde_json::from_str(&r.boundary).unwrap_or(serde_json::Value::Null)),
            bbox: [r.min_lon, r.min_lat, r.max_lon, r.max_lat],
            id: r.id,
            code: r.code,
            name: r.name,
            region_id: r.region_id,
            leader_user_id: r.leader_user_id,
            created_at: utc(r.created_at),
            updated_at: utc(r.updated_at),
        }
    }
}

#[derive(Deserialize)]
struct ListQuery {
    region_id: Option<String>,
    /// With each district's boundary (GeoJSON), for a map.
    boundary: Option<bool>,
}

async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let ListQuery {
        region_id,
        boundary,
    } = q.into_inner();
    if let Some(r) = &region_id {
        caller.require_region(r)?;
    }
    let scope = caller.scope.clone();
    let rows = state
        .db
        .read(move |conn| {
            districts::list(conn, scope.filter(), region_id.as_deref()).map_err(ApiError::from)
        })
        .await?;
    let items: Vec<DistrictDto> = rows
        .into_iter()
        .map(|r| DistrictDto::from_row(r, boundary.unwrap_or(false)))
        .collect();
    Ok(super::items(items))
}

async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let row = state
        .db
        .read(move |conn| districts::get(conn, &id).map_err(ApiError::from))
        .await?
        .ok_or_else(|| ApiError::not_found("no such district"))?;
    caller.require_region(&row.region_id)?;
    Ok(HttpResponse::Ok().json(DistrictDto::from_row(row, true)))
}

#[derive(Deserialize)]
struct LocateQuery {
    lat: Option<String>,
    lon: Option<String>,
    crs: Option<String>,
}

fn number(field: &str, value: Option<&str>) -> Result<f64, ApiError> {
    let v = value.ok_or_else(|| ApiError::invalid(field, format!("`{field}` is required")))?;
    v.trim()
        .parse::<f64>()
        .map_err(|_| ApiError::invalid(field, format!("`{v}` is not a number")))
}

#[derive(Serialize)]
struct LocatedDistrict {
    id: String,
    code: String,
    name: String,
    region_id: String,
}

impl From<&DistrictShape> for LocatedDistrict {
    fn from(d: &DistrictShape) -> Self {
        LocatedDistrict {
            id: d.id.clone(),
            code: d.code.clone(),
            name: d.name.clone(),
            region_id: d.region_id.clone(),
        }
    }
}

/// The district containing a point (any signed-in caller: call-center agents route by it).
async fn locate(
    state: web::Data<AppState>,
    _caller: Caller,
    q: web::Query<LocateQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let lat = number("lat", q.lat.as_deref())?;
    let lon = number("lon", q.lon.as_deref())?;
    let crs = q
        .crs
        .as_deref()
        .map(|c| Crs::parse("crs", c))
        .transpose()?
        .unwrap_or_default();
    let point = WgsPoint::parse("", lat, lon, crs)?;
    let index = state.districts.get(&state.db).await?;
    let wgs = json!({"lat": point.lat, "lon": point.lon});
    match index.locate(point.lat, point.lon) {
        Located::Inside {
            district,
            also,
            on_border,
        } => Ok(HttpResponse::Ok().json(json!({
            "district": LocatedDistrict::from(district),
            "on_border": on_border,
            "also": also.into_iter().map(LocatedDistrict::from).collect::<Vec<_>>(),
            "point": wgs,
        }))),
        Located::Outside {
            nearest,
            distance_m,
        } => Err(ApiError::not_found(format!(
            "no district contains this point; the nearest is {} ({}), {:.0} m away",
            nearest.code, nearest.name, distance_m
        ))
        .with(
            "nearest",
            serde_json::to_value(LocatedDistrict::from(nearest)).unwrap_or_default(),
        )
        .with("distance_m", (distance_m * 10.0).round() / 10.0)
        .with("point", wgs)),
        Located::Empty => {
            Err(ApiError::not_found("no districts are defined yet").with("point", wgs))
        }
    }
}

#[derive(Deserialize)]
struct ImportQuery {
    crs: Option<String>,
    /// Replace districts whose code already exists instead of refusing them.
    replace: Option<bool>,
}

/// Imports a GeoJSON FeatureCollection of districts, all or nothing.
async fn import(
    state: web::Data<AppState>,
    _caller: Caller,
    q: web::Query<ImportQuery>,
    JsonBody(value): JsonBody<serde_json::Value>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let crs = q
        .crs
        .as_deref()
        .map(|c| Crs::parse("crs", c))
        .transpose()?
        .unwrap_or_default();
    let replace = q.replace.unwrap_or(false);
    let features = web::block(move || parse_feature_collection(&value, crs)).await??;
    let now = state.clock.now_naive();
    let summary = state
        .db
        .write(move |conn| write_import(conn, features, replace, now))
        .await?;
    Ok(HttpResponse::Ok().json(summary))
}

#[derive(Serialize)]
struct ImportSummary {
    created: Vec<String>,
    replaced: Vec<String>,
    regions_created: Vec<String>,
}

fn write_import(
    conn: &mut crate::db::DbConn,
    features: Vec<ImportedDistrict>,
    replace: bool,
    now: chrono::NaiveDateTime,
) -> ApiResult<ImportSummary> {
    let codes: Vec<String> = features.iter().map(|f| f.code.to_string()).collect();
    let existing = districts::existing_codes(conn, &codes)?;
    if !replace {
        if let Some((i, f)) = features
            .iter()
            .enumerate()
            .find(|(_, f)| existing.contains(&f.code.to_string()))
        {
            return Err(ApiError::invalid(
                format!("features[{i}].properties.code"),
                format!("feature {i}: district {} already exists; import with ?replace=true to update it", f.code),
            ));
        }
    }
    let mut region_ids: HashMap<String, String> = HashMap::new();
    let mut summary = ImportSummary {
        created: vec![],
        replaced: vec![],
        regions_created: vec![],
    };
    for f in features {
        let code = f.region_code.to_string();
        let region_id = match region_ids.get(&code) {
            Some(id) => id.clone(),
            None => {
                let id = match regions::find_by_code(conn, &code)? {
                    Some(r) => r.id,
                    None => {
                        let r = regions::Region {
                            id: new_id(),
                            code: code.clone(),
                            name: f.region_name.clone().unwrap_or_else(|| code.clone()),
                            created_at: now,
                            updated_at: now,
                            branch_id: None,
                        };
                        regions::insert(conn, &r)?;
                        summary.regions_created.push(code.clone());
                        r.id
                    }
                };
                region_ids.insert(code, id.clone());
                id
            }
        };
        match districts::find_by_code(conn, f.code.as_str())? {
            Some(old) => {
                let mut row = DistrictRow::new(
                    old.id,
                    region_id,
                    old.code,
                    f.name,
                    &f.boundary,
                    old.leader_user_id,
                    now,
                );
                row.created_at = old.created_at;
                districts::replace(conn, &row)?;
                summary.replaced.push(row.code);
            }
            None => {
                let row = DistrictRow::new(
                    new_id(),
                    region_id,
                    f.code.into_string(),
                    f.name,
                    &f.boundary,
                    None,
                    now,
                );
                districts::insert(conn, &row)?;
                summary.created.push(row.code);
            }
        }
    }
    districts::bump_revision(conn)?;
    Ok(summary)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DistrictPatch {
    name: Option<String>,
    region_id: Option<String>,
    #[serde(default, deserialize_with = "super::double_option")]
    leader_user_id: Option<Option<String>>,
}

async fn update(
    state: web::Data<AppState>,
    _caller: Caller,
    id: web::Path<String>,
    JsonBody(patch): JsonBody<DistrictPatch>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let name = patch
        .name
        .as_deref()
        .map(|n| required_text("name", n, 100))
        .transpose()?;
    let now = state.clock.now_naive();
    let row = state
        .db
        .write(move |conn| -> ApiResult<DistrictRow> {
            let mut row = districts::get(conn, &id)?
                .ok_or_else(|| ApiError::not_found("no such district"))?;
            if let Some(n) = name {
                row.name = n;
            }
            if let Some(r) = patch.region_id {
                if regions::get(conn, &r)?.is_none() {
                    return Err(ApiError::invalid(
                        "region_id",
                        format!("no region has id {r}"),
                    ));
                }
                row.region_id = r;
            }
            if let Some(leader) = patch.leader_user_id {
                if let Some(l) = &leader {
                    if users::find_row(conn, l)?.is_none() {
                        return Err(ApiError::invalid(
                            "leader_user_id",
                            format!("no user has id {l}"),
                        ));
                    }
                }
                row.leader_user_id = leader;
            }
            row.updated_at = now;
            districts::replace(conn, &row)?;
            districts::bump_revision(conn)?;
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(DistrictDto::from_row(row, true)))
}

async fn delete(
    state: web::Data<AppState>,
    _caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    state
        .db
        .write(move |conn| -> ApiResult<()> {
            if districts::delete(conn, &id)? == 0 {
                return Err(ApiError::not_found("no such district"));
            }
            districts::bump_revision(conn)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
