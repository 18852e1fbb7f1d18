//! Regions: read within the caller's scope; created, renamed, placed in a branch and deleted by
//! admins.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::state::AppState;
use super::{created, resource, utc, ApiError, ApiResult, Caller, JsonBody};
use crate::domain::{new_id, required_text, Code};
use crate::store::branches;
use crate::store::regions::{self, Region};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/regions")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        resource("/regions/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(rename))
            .route(web::delete().to(delete)),
    );
}

#[derive(Serialize)]
pub struct RegionDto {
    pub id: String,
    pub code: String,
    pub name: String,
    /// The branch (分公司) it belongs to.
    pub branch_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Region> for RegionDto {
    fn from(r: Region) -> Self {
        RegionDto {
            id: r.id,
            code: r.code,
            name: r.name,
            branch_id: r.branch_id,
            created_at: utc(r.created_at),
            updated_at: utc(r.updated_at),
        }
    }
}

async fn list(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    let scope = caller.scope.clone();
    let rows = state
        .db
        .read(move |conn| regions::list(conn, scope.filter()).map_err(ApiError::from))
        .await?;
    let items: Vec<RegionDto> = rows.into_iter().map(RegionDto::from).collect();
    Ok(super::items(items))
}

async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    caller.require_region(&id)?;
    let region = state
        .db
        .read(move |conn| regions::get(conn, &id).map_err(ApiError::from))
        .await?
        .ok_or_else(|| ApiError::not_found("no such region"))?;
    Ok(HttpResponse::Ok().json(RegionDto::from(region)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewRegion {
    code: String,
    name: String,
}

async fn create(
    state: web::Data<AppState>,
    _caller: Caller,
    JsonBody(req): JsonBody<NewRegion>,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now_naive();
    let row = Region {
        id: new_id(),
        code: Code::parse("code", &req.code)?.into_string(),
        name: required_text("name", &req.name, 100)?,
        created_at: now,
        updated_at: now,
        branch_id: None,
    };
    let stored = row.clone();
    state
        .db
        .write(move |conn| -> ApiResult<()> {
            if regions::find_by_code(conn, &stored.code)?.is_some() {
                return Err(
                    ApiError::conflict(format!("region code {} is taken", stored.code))
                        .with_field("code"),
                );
            }
            regions::insert(conn, &stored)?;
            Ok(())
        })
        .await?;
    Ok(created(&RegionDto::from(row)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionPatch {
    /// Absent: unchanged; null is refused (a name cannot be removed).
    #[serde(default, deserialize_with = "super::double_option")]
    name: Option<Option<String>>,
    /// Moves the region into a branch; null takes it out of any.
    #[serde(default, deserialize_with = "super::double_option")]
    branch_id: Option<Option<String>>,
}

async fn rename(
    state: web::Data<AppState>,
    _caller: Caller,
    id: web::Path<String>,
    JsonBody(req): JsonBody<RegionPatch>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let name = match req.name {
        None => None,
        Some(None) => return Err(ApiError::invalid("name", "must not be null")),
        Some(Some(n)) => Some(required_text("name", &n, 100)?),
    };
    if name.is_none() && req.branch_id.is_none() {
        return Err(ApiError::invalid("name", "give a name or a branch_id"));
    }
    let branch_id = req.branch_id;
    let now = state.clock.now_naive();
    let region = state
        .db
        .write(move |conn| -> ApiResult<Region> {
            if regions::get(conn, &id)?.is_none() {
                return Err(ApiError::not_found("no such region"));
            }
            if let Some(name) = &name {
                regions::rename(conn, &id, name, now)?;
            }
            if let Some(branch_id) = &branch_id {
                if let Some(b) = branch_id {
                    if branches::get(conn, b)?.is_none() {
                        return Err(ApiError::invalid("branch_id", "no such branch"));
                    }
                }
                regions::set_branch(conn, &id, branch_id.as_deref(), now)?;
            }
            regions::get(conn, &id)?.ok_or_else(|| ApiError::not_found("no such region"))
        })
        .await?;
    Ok(HttpResponse::Ok().json(RegionDto::from(region)))
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
            if regions::get(conn, &id)?.is_none() {
                return Err(ApiError::not_found("no such region"));
            }
            let (districts, users) = regions::references(conn, &id)?;
            if districts > 0 || users > 0 {
                return Err(ApiError::conflict(format!(
                    "the region still has {districts} districts and {users} users; move or delete them first"
                )));
            }
            regions::delete(conn, &id)?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
