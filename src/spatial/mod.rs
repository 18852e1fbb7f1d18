//! Geography: the district index (an R-tree over district polygons), GeoJSON district imports,
//! and the GCJ-02 datum.

pub mod gcj02;
pub mod grid;
pub mod import;
pub mod index;

pub use index::{DistrictIndex, DistrictShape, Located};
