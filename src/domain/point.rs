//! Points on the map. Stored and compared in WGS-84; GCJ-02 (the offset datum of Chinese map
//! SDKs) is accepted at the edge and converted.

use super::Invalid;

/// The datum a caller's coordinates are in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Crs {
    #[default]
    Wgs84,
    Gcj02,
}

impl Crs {
    pub fn parse(field: &str, s: &str) -> Result<Crs, Invalid> {
        match s.to_ascii_lowercase().as_str() {
            "wgs84" | "wgs-84" | "epsg:4326" => Ok(Crs::Wgs84),
            "gcj02" | "gcj-02" => Ok(Crs::Gcj02),
            _ => Err(Invalid::new(field, format!("`{s}` is not wgs84 or gcj02"))),
        }
    }
}

/// A WGS-84 latitude/longitude in degrees.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct WgsPoint {
    pub lat: f64,
    pub lon: f64,
}

impl WgsPoint {
    /// Checks ranges and converts from `crs` to WGS-84. `field` prefixes the names in errors
    /// (`location` gives `location.lat`); pass "" for top-level fields.
    pub fn parse(field: &str, lat: f64, lon: f64, crs: Crs) -> Result<WgsPoint, Invalid> {
        let name = |f: &str| super::field_in(field, f);
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(Invalid::new(name("lat"), "must be a number from -90 to 90"));
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err(Invalid::new(
                name("lon"),
                "must be a number from -180 to 180",
            ));
        }
        Ok(match crs {
            Crs::Wgs84 => WgsPoint { lat, lon },
            Crs::Gcj02 => {
                let (lat, lon) = crate::spatial::gcj02::to_wgs84(lat, lon);
                WgsPoint { lat, lon }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert!(WgsPoint::parse("", 31.87, 120.55, Crs::Wgs84).is_ok());
        assert_eq!(
            WgsPoint::parse("", 91.0, 0.0, Crs::Wgs84)
                .unwrap_err()
                .field,
            "lat"
        );
        assert_eq!(
            WgsPoint::parse("location", 0.0, f64::NAN, Crs::Wgs84)
                .unwrap_err()
                .field,
            "location.lon"
        );
        assert_eq!(Crs::parse("crs", "GCJ02").unwrap(), Crs::Gcj02);
        assert!(Crs::parse("crs", "bd09").is_err());
    }
}
