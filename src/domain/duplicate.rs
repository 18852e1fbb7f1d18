//! When a new call may be about a fault already open: the same phone, or an open ticket close
//! by. The call-center agent is warned before saving; nothing is merged for them.

use super::routing::distance_m;

/// Why an open ticket may be the same fault as the call being recorded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Likeness {
    SamePhone,
    /// Within this many metres.
    Near(f64),
}

/// What the agent has typed so far.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub phone: Option<String>,
    /// (lat, lon), WGS-84.
    pub point: Option<(f64, f64)>,
    /// How close counts as near, in metres.
    pub within_m: f64,
}

impl Call {
    /// Why the open ticket with `phone` at `point` looks like this call, if it does. The same
    /// phone wins over nearness.
    pub fn likeness(&self, phone: &str, point: Option<(f64, f64)>) -> Option<Likeness> {
        if self.phone.as_deref() == Some(phone) {
            return Some(Likeness::SamePhone);
        }
        let d = distance_m(self.point?, point?);
        (d <= self.within_m).then_some(Likeness::Near(d))
    }

    /// A (min_lat, max_lat, min_lon, max_lon) box holding every point within reach, for an
    /// index to narrow the search before [`Call::likeness`] measures.
    pub fn bbox(&self) -> Option<(f64, f64, f64, f64)> {
        let (lat, lon) = self.point?;
        let dlat = self.within_m / 111_000.0;
        let dlon = self.within_m / (111_000.0 * lat.to_radians().cos().max(0.01));
        Some((lat - dlat, lat + dlat, lon - dlon, lon + dlon))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call() -> Call {
        Call {
            phone: Some("13800000001".into()),
            point: Some((31.87, 120.55)),
            within_m: 300.0,
        }
    }

    #[test]
    fn same_phone_wins_over_distance() {
        assert_eq!(
            call().likeness("13800000001", Some((32.5, 121.0))),
            Some(Likeness::SamePhone)
        );
    }

    #[test]
    fn near_means_within_the_radius() {
        let c = call();
        match c.likeness("13900000000", Some((31.871, 120.551))) {
            Some(Likeness::Near(d)) => assert!((100.0..200.0).contains(&d), "{d}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(c.likeness("13900000000", Some((31.88, 120.55))), None);
        assert_eq!(c.likeness("13900000000", None), None);
    }

    #[test]
    fn the_box_holds_the_circle() {
        let c = call();
        let (a, b, x, y) = c.bbox().unwrap();
        for (lat, lon) in [(31.87 + 0.0027, 120.55), (31.87, 120.55 + 0.0031)] {
            let inside = lat >= a && lat <= b && lon >= x && lon <= y;
            assert_eq!(
                inside,
                distance_m((31.87, 120.55), (lat, lon)) <= 300.0 || inside
            );
        }
        // A point just inside the radius due east is inside the box.
        let east = (
            31.87,
            120.55 + 299.0 / (111_000.0 * 31.87f64.to_radians().cos()),
        );
        assert!(distance_m((31.87, 120.55), east) <= 300.0);
        assert!(east.1 <= y);
        assert!(Call { point: None, ..c }.bbox().is_none());
    }
}
