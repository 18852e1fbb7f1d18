//! Parsing and validating a GeoJSON FeatureCollection of grid districts. Everything is checked
//! before anything is written, so an import either lands whole or not at all.

use std::collections::HashMap;

use geo::{BoundingRect, CoordsIter, MapCoords, MultiPolygon, Validation};

use crate::domain::{required_text, Code, Crs, Invalid};

/// One district from an import, valid and in WGS-84.
#[derive(Debug, Clone)]
pub struct ImportedDistrict {
    pub code: Code,
    pub name: String,
    pub region_code: Code,
    pub region_name: Option<String>,
    pub boundary: MultiPolygon<f64>,
}

/// Reads a FeatureCollection whose features carry `properties.code`, `properties.name`,
/// `properties.region` (a region code) and optionally `properties.region_name`, with a Polygon or
/// MultiPolygon geometry. Coordinates in `crs` (GeoJSON order: longitude, latitude).
pub fn parse_feature_collection(
    body: &serde_json::Value,
    crs: Crs,
) -> Result<Vec<ImportedDistrict>, Invalid> {
    if body.get("type").and_then(|t| t.as_str()) != Some("FeatureCollection") {
        return Err(Invalid::new("type", "must be \"FeatureCollection\""));
    }
    let features = body
        .get("features")
        .and_then(|f| f.as_array())
        .ok_or_else(|| Invalid::new("features", "must be an array of features"))?;
    if features.is_empty() {
        return Err(Invalid::new("features", "must hold at least one feature"));
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::with_capacity(features.len());
    for (i, feature) in features.iter().enumerate() {
        let d = parse_feature(i, feature, crs)?;
        if let Some(first) = seen.insert(d.code.as_str().to_string(), i) {
            return Err(Invalid::new(
                format!("features[{i}].properties.code"),
                format!(
                    "feature {i}: code {} is already used by feature {first}",
                    d.code
                ),
            ));
        }
        out.push(d);
    }
    Ok(out)
}

fn parse_feature(
    i: usize,
    feature: &serde_json::Value,
    crs: Crs,
) -> Result<ImportedDistrict, Invalid> {
    let at = |f: &str| format!("features[{i}].{f}");
    if feature.get("type").and_then(|t| t.as_str()) != Some("Feature") {
        return Err(Invalid::new(
            at("type"),
            format!("feature {i}: must be \"Feature\""),
        ));
    }
    let props = feature
        .get("properties")
        .and_then(|p| p.as_object())
        .ok_or_else(|| {
            Invalid::new(
                at("properties"),
                format!("feature {i}: properties must be an object"),
            )
        })?;
    let text = |key: &str| -> Result<&str, Invalid> {
        props.get(key).and_then(|v| v.as_str()).ok_or_else(|| {
            Invalid::new(
                at(&format!("properties.{key}")),
                format!("feature {i}: `{key}` must be a string"),
            )
        })
    };
    let code = Code::parse(&at("properties.code"), text("code")?)
        .map_err(|e| Invalid::new(e.field, format!("feature {i}: code {}", e.message)))?;
    let named = |e: Invalid| Invalid::new(e.field, format!("feature {i} ({code}): {}", e.message));
    let name = required_text(&at("properties.name"), text("name")?, 100).map_err(named)?;
    let region_code = Code::parse(&at("properties.region"), text("region")?).map_err(named)?;
    let region_name = match props.get("region_name") {
        None | Some(serde_json::Value::Null) => None,
        Some(_) => Some(
            required_text(&at("properties.region_name"), text("region_name")?, 100)
                .map_err(named)?,
        ),
    };

    let geometry_field = at("geometry");
    let bad_geometry =
        |message: String| Invalid::new(&geometry_field, format!("feature {i} ({code}): {message}"));
    let geometry = feature
        .get("geometry")
        .filter(|g| !g.is_null())
        .ok_or_else(|| bad_geometry("geometry is missing".into()))?;
    let geometry = geojson::Geometry::from_json_value(geometry.clone())
        .map_err(|e| bad_geometry(format!("not a GeoJSON geometry ({e})")))?;
    let boundary: MultiPolygon<f64> = match geometry.value {
        geojson::Value::Polygon(_) => {
            let p: geo::Polygon<f64> = geometry
                .value
                .try_into()
                .map_err(|e| bad_geometry(format!("{e}")))?;
            MultiPolygon::new(vec![p])
        }
        geojson::Value::MultiPolygon(_) => geometry
            .value
            .try_into()
            .map_err(|e| bad_geometry(format!("{e}")))?,
        other => {
            return Err(bad_geometry(format!(
                "must be a Polygon or MultiPolygon, not {}",
                other.type_name()
            )))
        }
    };
    check_boundary(&boundary).map_err(bad_geometry)?;
    let boundary = match crs {
        Crs::Wgs84 => boundary,
        Crs::Gcj02 => boundary.map_coords(|c| {
            let (lat, lon) = super::gcj02::to_wgs84(c.y, c.x);
            geo::Coord { x: lon, y: lat }
        }),
    };
    Ok(ImportedDistrict {
        code,
        name,
        region_code,
        region_name,
        boundary,
    })
}

/// The most vertices one district's boundary may have.
pub const MAX_VERTICES: usize = 5_000;

/// Checks that a boundary is a valid (OGC simple features) polygon set on the globe.
pub fn check_boundary(boundary: &MultiPolygon<f64>) -> Result<(), String> {
    if boundary.0.is_empty() {
        return Err("has no polygon".into());
    }
    // The validity check compares segments pairwise: a bound on vertices bounds its work. A
    // grid district's boundary is a few hundred vertices; surveyed ones a few thousand.
    let vertices = boundary.coords_count();
    if vertices > MAX_VERTICES {
        return Err(format!(
            "has {vertices} vertices; a district boundary may have at most {MAX_VERTICES} (simplify it)"
        ));
    }
    let rect = boundary
        .bounding_rect()
        .ok_or_else(|| "has no coordinates".to_string())?;
    if rect.min().x < -180.0 || rect.max().x > 180.0 || rect.min().y < -90.0 || rect.max().y > 90.0
    {
        return Err("coordinates must be [longitude, latitude] within ±180 and ±90".into());
    }
    for (p, polygon) in boundary.0.iter().enumerate() {
        if let Err(e) = polygon.check_validation() {
            return Err(if boundary.0.len() == 1 {
                format!("invalid polygon: {e}")
            } else {
                format!("invalid polygon {p}: {e}")
            });
        }
    }
    boundary
        .check_validation()
        .map_err(|e| format!("invalid multipolygon: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn feature(code: &str, ring: serde_json::Value) -> serde_json::Value {
        json!({"type": "Feature",
               "properties": {"code": code, "name": format!("网格 {code}"), "region": "R1"},
               "geometry": {"type": "Polygon", "coordinates": [ring]}})
    }

    fn square() -> serde_json::Value {
        json!([
            [120.5, 31.8],
            [120.6, 31.8],
            [120.6, 31.9],
            [120.5, 31.9],
            [120.5, 31.8]
        ])
    }

    #[test]
    fn accepts_polygons_and_multipolygons() {
        let mp = json!({"type": "Feature",
            "properties": {"code": "M", "name": "m", "region": "R2", "region_name": "东片"},
            "geometry": {"type": "MultiPolygon", "coordinates": [[[[121.0, 31.0], [121.1, 31.0], [121.1, 31.1], [121.0, 31.0]]]]}});
        let fc = json!({"type": "FeatureCollection", "features": [feature("A", square()), mp]});
        let got = parse_feature_collection(&fc, Crs::Wgs84).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].region_code.as_str(), "R1");
        assert_eq!(got[1].region_name.as_deref(), Some("东片"));
    }

    #[test]
    fn names_the_self_intersecting_feature() {
        let bowtie = json!([
            [120.5, 31.8],
            [120.6, 31.9],
            [120.6, 31.8],
            [120.5, 31.9],
            [120.5, 31.8]
        ]);
        let fc = json!({"type": "FeatureCollection", "features": [feature("OK", square()), feature("BOW", bowtie)]});
        let e = parse_feature_collection(&fc, Crs::Wgs84).unwrap_err();
        assert_eq!(e.field, "features[1].geometry");
        assert!(
            e.message.contains("BOW") && e.message.contains("self-intersection"),
            "{}",
            e.message
        );
    }

    #[test]
    fn refuses_duplicates_and_bad_properties() {
        let fc = json!({"type": "FeatureCollection", "features": [feature("A", square()), feature("A", square())]});
        let e = parse_feature_collection(&fc, Crs::Wgs84).unwrap_err();
        assert_eq!(e.field, "features[1].properties.code");

        let fc = json!({"type": "FeatureCollection", "features": [feature("有", square())]});
        assert_eq!(
            parse_feature_collection(&fc, Crs::Wgs84).unwrap_err().field,
            "features[0].properties.code"
        );

        let point = json!({"type": "Feature", "properties": {"code": "P", "name": "p", "region": "R"},
                           "geometry": {"type": "Point", "coordinates": [120.5, 31.8]}});
        let fc = json!({"type": "FeatureCollection", "features": [point]});
        let e = parse_feature_collection(&fc, Crs::Wgs84).unwrap_err();
        assert!(
            e.message.contains("Polygon or MultiPolygon"),
            "{}",
            e.message
        );

        let swapped = json!([[31.8, 120.5], [31.9, 120.5], [31.9, 120.6], [31.8, 120.5]]);
        let fc = json!({"type": "FeatureCollection", "features": [feature("S", swapped)]});
        assert!(parse_feature_collection(&fc, Crs::Wgs84)
            .unwrap_err()
            .message
            .contains("longitude"));

        assert_eq!(
            parse_feature_collection(&json!({"type": "Feature"}), Crs::Wgs84)
                .unwrap_err()
                .field,
            "type"
        );
        assert_eq!(
            parse_feature_collection(
                &json!({"type": "FeatureCollection", "features": []}),
                Crs::Wgs84
            )
            .unwrap_err()
            .field,
            "features"
        );
    }

    #[test]
    fn converts_gcj02_boundaries() {
        let fc = json!({"type": "FeatureCollection", "features": [feature("A", square())]});
        let wgs = parse_feature_collection(&fc, Crs::Gcj02).unwrap();
        let first = wgs[0].boundary.0[0].exterior().0[0];
        let (glat, glon) = crate::spatial::gcj02::from_wgs84(first.y, first.x);
        assert!((glat - 31.8).abs() < 1e-8 && (glon - 120.5).abs() < 1e-8);
    }
}
