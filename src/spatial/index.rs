//! Which grid district contains a point. Polygons are kept twice: in WGS-84 for exact
//! containment (a point on a shared border is on the border of both districts) and projected to
//! local metres for the R-tree, so "nearest district" compares real distances rather than
//! degrees, whose east-west length shrinks with latitude.

use geo::algorithm::coordinate_position::{CoordPos, CoordinatePosition};
use geo::{BoundingRect, Closest, ClosestPoint, Distance, Euclidean, Haversine, MapCoords};
use geo::{Coord, MultiPolygon, Point};
use rstar::{PointDistance, RTree, RTreeObject, AABB};

const METRES_PER_DEGREE_LAT: f64 = 110_574.0;
const METRES_PER_DEGREE_LON_AT_EQUATOR: f64 = 111_320.0;
/// Slack around a query point when collecting candidates, in projected metres: covers rounding
/// in the projection so border points always reach both neighbours' exact test.
const CANDIDATE_SLACK_M: f64 = 0.5;

/// One district as the index knows it.
#[derive(Debug, Clone)]
pub struct DistrictShape {
    pub id: String,
    pub code: String,
    pub name: String,
    pub region_id: String,
    /// WGS-84, x = longitude, y = latitude.
    pub boundary: MultiPolygon<f64>,
}

/// The answer to "which district is this point in".
#[derive(Debug)]
pub enum Located<'a> {
    /// The point is inside (or on the border of) `district`. On a shared border every district
    /// touching the point is listed: `district` is the one with the smallest code (a fixed rule,
    /// so the same point always routes the same way) and `also` the others.
    Inside {
        district: &'a DistrictShape,
        also: Vec<&'a DistrictShape>,
        on_border: bool,
    },
    /// No district contains the point; `nearest` is the closest by boundary distance.
    Outside {
        nearest: &'a DistrictShape,
        distance_m: f64,
    },
    /// The index holds no districts.
    Empty,
}

struct Entry {
    idx: usize,
    projected: MultiPolygon<f64>,
    envelope: AABB<[f64; 2]>,
}

impl RTreeObject for Entry {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        self.envelope
    }
}

impl PointDistance for Entry {
    fn distance_2(&self, point: &[f64; 2]) -> f64 {
        let d = Euclidean.distance(&self.projected, &Point::new(point[0], point[1]));
        d * d
    }
}

/// An immutable spatial index of districts; rebuild it when districts change.
pub struct DistrictIndex {
    revision: i64,
    districts: Vec<DistrictShape>,
    tree: RTree<Entry>,
    lon_scale: f64,
}

impl DistrictIndex {
    /// Builds the index. `revision` identifies the district data it was built from.
    pub fn build(revision: i64, mut districts: Vec<DistrictShape>) -> Self {
        districts.sort_by(|a, b| a.code.cmp(&b.code));
        // One projection for the whole index, centred on its mean latitude: across a province
        // (±3°) the east-west scale errs by a few percent, which never changes which of two
        // neighbouring districts is nearer by more than that.
        let lats: Vec<f64> = districts
            .iter()
            .filter_map(|d| d.boundary.bounding_rect())
            .map(|r| r.center().y)
            .collect();
        let lat0 = if lats.is_empty() {
            0.0
        } else {
            lats.iter().sum::<f64>() / lats.len() as f64
        };
        let lon_scale = METRES_PER_DEGREE_LON_AT_EQUATOR * lat0.to_radians().cos();
        let entries = districts
            .iter()
            .enumerate()
            .filter_map(|(idx, d)| {
                let projected = d.boundary.map_coords(|c| project(lon_scale, c));
                let rect = projected.bounding_rect()?;
                Some(Entry {
                    idx,
                    envelope: AABB::from_corners(
                        [rect.min().x, rect.min().y],
                        [rect.max().x, rect.max().y],
                    ),
                    projected,
                })
            })
            .collect();
        DistrictIndex {
            revision,
            districts,
            tree: RTree::bulk_load(entries),
            lon_scale,
        }
    }

    pub fn revision(&self) -> i64 {
        self.revision
    }

    pub fn len(&self) -> usize {
        self.districts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.districts.is_empty()
    }

    /// Finds the district of a WGS-84 point.
    pub fn locate(&self, lat: f64, lon: f64) -> Located<'_> {
        if self.districts.is_empty() {
            return Located::Empty;
        }
        let wgs = Coord { x: lon, y: lat };
        let p = project(self.lon_scale, wgs);
        let probe = AABB::from_corners(
            [p.x - CANDIDATE_SLACK_M, p.y - CANDIDATE_SLACK_M],
            [p.x + CANDIDATE_SLACK_M, p.y + CANDIDATE_SLACK_M],
        );
        let mut hits: Vec<(usize, bool)> = self
            .tree
            .locate_in_envelope_intersecting(&probe)
            .filter_map(|e| {
                let d = &self.districts[e.idx];
                let mut on_border = false;
                for polygon in &d.boundary {
                    match polygon.coordinate_position(&wgs) {
                        CoordPos::Inside => return Some((e.idx, false)),
                        CoordPos::OnBoundary => on_border = true,
                        CoordPos::Outside => {}
                    }
                }
                on_border.then_some((e.idx, true))
            })
            .collect();
        if !hits.is_empty() {
            hits.sort_by_key(|(idx, _)| *idx);
            let on_border = hits.len() > 1 || hits.iter().any(|(_, b)| *b);
            let district = &self.districts[hits[0].0];
            let also = hits[1..].iter().map(|(i, _)| &self.districts[*i]).collect();
            return Located::Inside {
                district,
                also,
                on_border,
            };
        }
        let Some(entry) = self.tree.nearest_neighbor(&[p.x, p.y]) else {
            return Located::Empty;
        };
        let nearest = &self.districts[entry.idx];
        let query = Point::new(p.x, p.y);
        let closest = match entry.projected.closest_point(&query) {
            Closest::Intersection(c) | Closest::SinglePoint(c) => c,
            Closest::Indeterminate => query,
        };
        let closest_wgs = unproject(self.lon_scale, closest.0);
        let distance_m = Haversine.distance(Point::from(wgs), Point::from(closest_wgs));
        Located::Outside {
            nearest,
            distance_m,
        }
    }
}

fn project(lon_scale: f64, c: Coord<f64>) -> Coord<f64> {
    Coord {
        x: c.x * lon_scale,
        y: c.y * METRES_PER_DEGREE_LAT,
    }
}

fn unproject(lon_scale: f64, c: Coord<f64>) -> Coord<f64> {
    Coord {
        x: c.x / lon_scale,
        y: c.y / METRES_PER_DEGREE_LAT,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{polygon, MultiPolygon};

    fn square(code: &str, x0: f64, y0: f64, size: f64) -> DistrictShape {
        DistrictShape {
            id: format!("id-{code}"),
            code: code.into(),
            name: code.into(),
            region_id: "r".into(),
            boundary: MultiPolygon::new(vec![polygon![
                (x: x0, y: y0),
                (x: x0 + size, y: y0),
                (x: x0 + size, y: y0 + size),
                (x: x0, y: y0 + size),
                (x: x0, y: y0),
            ]]),
        }
    }

    fn index() -> DistrictIndex {
        // B | A side by side along longitude 120.55; C far to the north.
        DistrictIndex::build(
            7,
            vec![
                square("B", 120.55, 31.85, 0.05),
                square("A", 120.50, 31.85, 0.05),
                square("C", 120.50, 32.00, 0.05),
            ],
        )
    }

    #[test]
    fn inside() {
        let idx = index();
        match idx.locate(31.87, 120.52) {
            Located::Inside {
                district,
                also,
                on_border,
            } => {
                assert_eq!(district.code, "A");
                assert!(also.is_empty());
                assert!(!on_border);
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(idx.locate(31.87, 120.58), Located::Inside { district, .. } if district.code == "B")
        );
        assert_eq!(idx.revision(), 7);
    }

    #[test]
    fn shared_border_goes_to_the_smaller_code_and_names_both() {
        match index().locate(31.87, 120.55) {
            Located::Inside {
                district,
                also,
                on_border,
            } => {
                assert_eq!(district.code, "A");
                assert_eq!(also.len(), 1);
                assert_eq!(also[0].code, "B");
                assert!(on_border);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn outside_answers_the_nearest_with_metres() {
        // 0.01° south of A's southern edge: 1,112 m on the haversine sphere.
        match index().locate(31.84, 120.52) {
            Located::Outside {
                nearest,
                distance_m,
            } => {
                assert_eq!(nearest.code, "A");
                assert!((distance_m - 1_112.0).abs() < 5.0, "{distance_m}");
            }
            other => panic!("{other:?}"),
        }
        // Between A (top at 31.90) and C (bottom at 32.00), nearer C.
        assert!(
            matches!(index().locate(31.96, 120.52), Located::Outside { nearest, .. } if nearest.code == "C")
        );
    }

    #[test]
    fn nearest_uses_metres_not_degrees() {
        // At 60°N a degree of longitude is half a degree of latitude. The point is 0.06° east of
        // E (about 3.3 km) and 0.04° south of N (about 4.5 km): E is nearer in metres, N in degrees.
        let idx = DistrictIndex::build(
            1,
            vec![square("E", 10.0, 60.0, 0.1), square("N", 10.16, 60.14, 0.1)],
        );
        match idx.locate(60.1, 10.16) {
            Located::Outside { nearest, .. } => assert_eq!(nearest.code, "E"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn empty() {
        assert!(matches!(
            DistrictIndex::build(0, vec![]).locate(1.0, 1.0),
            Located::Empty
        ));
    }
}
