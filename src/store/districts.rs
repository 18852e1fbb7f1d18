//! Grid districts (网格) with their GeoJSON boundaries, and the per-instance spatial index cache.

use std::sync::{Arc, RwLock};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use geo::{BoundingRect, MultiPolygon};

use crate::db::schema::{district_revision, districts};
use crate::db::{Db, DbConn, DbError};
use crate::spatial::{DistrictIndex, DistrictShape};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = districts)]
pub struct DistrictRow {
    pub id: String,
    pub region_id: String,
    pub code: String,
    pub name: String,
    /// GeoJSON geometry (MultiPolygon), WGS-84.
    pub boundary: String,
    pub min_lon: f64,
    pub min_lat: f64,
    pub max_lon: f64,
    pub max_lat: f64,
    pub leader_user_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl DistrictRow {
    /// A row for a boundary; the bounding box is derived from it.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: String,
        region_id: String,
        code: String,
        name: String,
        boundary: &MultiPolygon<f64>,
        leader_user_id: Option<String>,
        now: NaiveDateTime,
    ) -> Self {
        let rect = boundary.bounding_rect();
        let (min, max) = rect.map(|r| (r.min(), r.max())).unwrap_or_default();
        DistrictRow {
            id,
            region_id,
            code,
            name,
            boundary: boundary_json(boundary),
            min_lon: min.x,
            min_lat: min.y,
            max_lon: max.x,
            max_lat: max.y,
            leader_user_id,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn shape(&self) -> QueryResult<MultiPolygon<f64>> {
        parse_boundary(&self.boundary)
    }
}

/// Serialises a boundary as a GeoJSON MultiPolygon geometry.
pub fn boundary_json(boundary: &MultiPolygon<f64>) -> String {
    let geometry = geojson::Geometry::new(geojson::Value::from(boundary));
    serde_json::to_string(&geometry).expect("GeoJSON geometry serialises")
}

fn parse_boundary(text: &str) -> QueryResult<MultiPolygon<f64>> {
    let geometry: geojson::Geometry = text
        .parse::<geojson::GeoJson>()
        .map_err(|e| super::corrupt("district boundary", e))
        .and_then(|g| {
            geojson::Geometry::try_from(g).map_err(|e| super::corrupt("district boundary", e))
        })?;
    MultiPolygon::<f64>::try_from(geometry.value)
        .map_err(|e| super::corrupt("district boundary", e))
}

pub fn insert(conn: &mut DbConn, row: &DistrictRow) -> QueryResult<()> {
    diesel::insert_into(districts::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn get(conn: &mut DbConn, id: &str) -> QueryResult<Option<DistrictRow>> {
    districts::table
        .find(id)
        .select(DistrictRow::as_select())
        .get_result(conn)
        .optional()
}

pub fn find_by_code(conn: &mut DbConn, code: &str) -> QueryResult<Option<DistrictRow>> {
    districts::table
        .filter(districts::code.eq(code))
        .select(DistrictRow::as_select())
        .get_result(conn)
        .optional()
}

/// Which of `codes` already exist.
pub fn existing_codes(conn: &mut DbConn, codes: &[String]) -> QueryResult<Vec<String>> {
    let mut found = Vec::new();
    // Bounded IN lists: SQLite caps bound parameters per statement.
    for chunk in codes.chunks(500) {
        let mut part: Vec<String> = districts::table
            .filter(districts::code.eq_any(chunk.to_vec()))
            .select(districts::code)
            .load(conn)?;
        found.append(&mut part);
    }
    Ok(found)
}

/// Districts in the given regions (all when `only` is None), optionally one region, by code.
pub fn list(
    conn: &mut DbConn,
    only: Option<&[String]>,
    region_id: Option<&str>,
) -> QueryResult<Vec<DistrictRow>> {
    let mut q = districts::table
        .select(DistrictRow::as_select())
        .into_boxed();
    if let Some(ids) = only {
        q = q.filter(districts::region_id.eq_any(ids.to_vec()));
    }
    if let Some(r) = region_id {
        q = q.filter(districts::region_id.eq(r.to_string()));
    }
    q.order(districts::code).load(conn)
}

pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    districts::table.count().get_result(conn)
}

/// Replaces the name, region, boundary and leader of an existing district.
pub fn replace(conn: &mut DbConn, row: &DistrictRow) -> QueryResult<usize> {
    diesel::update(districts::table.find(&row.id))
        .set((
            districts::region_id.eq(&row.region_id),
            districts::name.eq(&row.name),
            districts::boundary.eq(&row.boundary),
            districts::min_lon.eq(row.min_lon),
            districts::min_lat.eq(row.min_lat),
            districts::max_lon.eq(row.max_lon),
            districts::max_lat.eq(row.max_lat),
            districts::leader_user_id.eq(&row.leader_user_id),
            districts::updated_at.eq(row.updated_at),
        ))
        .execute(conn)
}

pub fn delete(conn: &mut DbConn, id: &str) -> QueryResult<usize> {
    diesel::delete(districts::table.find(id)).execute(conn)
}

/// Marks the district data changed; call in the same transaction as the change.
pub fn bump_revision(conn: &mut DbConn) -> QueryResult<()> {
    diesel::update(district_revision::table.find(1))
        .set(district_revision::revision.eq(district_revision::revision + 1))
        .execute(conn)
        .map(|_| ())
}

pub fn revision(conn: &mut DbConn) -> QueryResult<i64> {
    district_revision::table
        .find(1)
        .select(district_revision::revision)
        .get_result(conn)
}

/// Loads every district as index shapes, with the revision they belong to.
pub fn load_index(conn: &mut DbConn) -> QueryResult<DistrictIndex> {
    let revision = revision(conn)?;
    let rows = list(conn, None, None)?;
    let shapes = rows
        .into_iter()
        .map(|r| {
            Ok(DistrictShape {
                boundary: r.shape()?,
                id: r.id,
                code: r.code,
                name: r.name,
                region_id: r.region_id,
            })
        })
        .collect::<QueryResult<Vec<_>>>()?;
    Ok(DistrictIndex::build(revision, shapes))
}

/// The spatial index of this instance, rebuilt whenever the stored revision moves (a change made
/// here or by another instance on the same database).
#[derive(Clone)]
pub struct DistrictIndexCache {
    current: Arc<RwLock<Arc<DistrictIndex>>>,
}

impl Default for DistrictIndexCache {
    fn default() -> Self {
        DistrictIndexCache {
            current: Arc::new(RwLock::new(Arc::new(DistrictIndex::build(-1, vec![])))),
        }
    }
}

impl DistrictIndexCache {
    /// The index for the current revision.
    pub async fn get(&self, db: &Db) -> Result<Arc<DistrictIndex>, DbError> {
        let cached = self
            .current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let cache = self.clone();
        db.read(move |conn| {
            if revision(conn)? == cached.revision() {
                return Ok(cached);
            }
            let fresh = Arc::new(load_index(conn)?);
            *cache.current.write().unwrap_or_else(|p| p.into_inner()) = fresh.clone();
            Ok::<_, DbError>(fresh)
        })
        .await
    }
}

/// Id, code, name and region of every district, by code (no boundaries).
pub fn summaries(conn: &mut DbConn) -> QueryResult<Vec<(String, String, String, String)>> {
    districts::table
        .select((
            districts::id,
            districts::code,
            districts::name,
            districts::region_id,
        ))
        .order(districts::code)
        .load(conn)
}
