//! GCJ-02, the obfuscated datum required of maps published in mainland China (used by the
//! AMap/Gaode and Tencent SDKs). The forward transform is the widely published formula over the
//! Krasovsky 1940 ellipsoid; the inverse is solved by fixed-point iteration to well under a metre.
//! Outside mainland China's bounding box both datums coincide.

const A: f64 = 6_378_245.0;
const EE: f64 = 0.006_693_421_622_965_943;

/// True when GCJ-02 applies (a rough bounding box of mainland China, as the datum defines).
pub fn in_china(lat: f64, lon: f64) -> bool {
    (72.004..=137.8347).contains(&lon) && (0.8293..=55.8271).contains(&lat)
}

fn transform_lat(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;
    let mut ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    ret
}

fn transform_lon(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;
    let mut ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    ret
}

/// The GCJ-02 offset (dlat, dlon) in degrees at a WGS-84 point.
fn offset(lat: f64, lon: f64) -> (f64, f64) {
    use std::f64::consts::PI;
    let dlat = transform_lat(lon - 105.0, lat - 35.0);
    let dlon = transform_lon(lon - 105.0, lat - 35.0);
    let rad_lat = lat / 180.0 * PI;
    let magic = 1.0 - EE * rad_lat.sin() * rad_lat.sin();
    let sqrt_magic = magic.sqrt();
    let dlat = (dlat * 180.0) / ((A * (1.0 - EE)) / (magic * sqrt_magic) * PI);
    let dlon = (dlon * 180.0) / (A / sqrt_magic * rad_lat.cos() * PI);
    (dlat, dlon)
}

/// WGS-84 to GCJ-02: (lat, lon) in, (lat, lon) out.
pub fn from_wgs84(lat: f64, lon: f64) -> (f64, f64) {
    if !in_china(lat, lon) {
        return (lat, lon);
    }
    let (dlat, dlon) = offset(lat, lon);
    (lat + dlat, lon + dlon)
}

/// GCJ-02 to WGS-84: (lat, lon) in, (lat, lon) out. Iterates the forward transform until the
/// residual is below 1e-9 degrees (about 0.1 mm).
pub fn to_wgs84(lat: f64, lon: f64) -> (f64, f64) {
    if !in_china(lat, lon) {
        return (lat, lon);
    }
    let (mut wlat, mut wlon) = (lat, lon);
    for _ in 0..30 {
        let (glat, glon) = from_wgs84(wlat, wlon);
        let (elat, elon) = (glat - lat, glon - lon);
        wlat -= elat;
        wlon -= elon;
        if elat.abs() < 1e-9 && elon.abs() < 1e-9 {
            break;
        }
    }
    (wlat, wlon)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Great-circle distance in metres, for the checks below.
    fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
        use geo::{Distance, Haversine, Point};
        Haversine.distance(Point::new(a.1, a.0), Point::new(b.1, b.0))
    }

    // A published pair: WGS-84 (39.915, 116.404) is GCJ-02 (39.91640428150164, 116.41024449916938).
    const WGS: (f64, f64) = (39.915, 116.404);
    const GCJ: (f64, f64) = (39.916_404_281_501_64, 116.410_244_499_169_38);

    #[test]
    fn forward_matches_the_published_pair() {
        let got = from_wgs84(WGS.0, WGS.1);
        assert!(
            (got.0 - GCJ.0).abs() < 1e-9 && (got.1 - GCJ.1).abs() < 1e-9,
            "{got:?}"
        );
    }

    #[test]
    fn inverse_is_within_5_metres_of_the_published_pair() {
        let got = to_wgs84(GCJ.0, GCJ.1);
        let d = metres(got, WGS);
        assert!(d < 5.0, "{d} m");
        assert!(d < 0.01, "iteration converges to centimetres: {d} m");
    }

    #[test]
    fn round_trips_across_the_country() {
        for (lat, lon) in [
            (31.87, 120.55),
            (22.54, 114.06),
            (45.75, 126.63),
            (29.65, 91.13),
        ] {
            let (glat, glon) = from_wgs84(lat, lon);
            assert!(
                metres((lat, lon), (glat, glon)) > 50.0,
                "offset applies in China"
            );
            let back = to_wgs84(glat, glon);
            assert!(metres(back, (lat, lon)) < 0.01);
        }
    }

    #[test]
    fn identity_outside_china() {
        assert_eq!(from_wgs84(51.5, -0.12), (51.5, -0.12));
        assert_eq!(to_wgs84(-33.9, 151.2), (-33.9, 151.2));
    }
}
