//! District lookup over 2,000 generated grid districts (province scale): the R-tree index
//! against a linear scan of every polygon, measured in the same run. Prints points per second
//! for both and their ratio.
//!
//! `cargo bench --bench district_lookup`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use geo::algorithm::coordinate_position::{CoordPos, CoordinatePosition};
use geo::Coord;

use fixline::spatial::grid::jittered_grid;
use fixline::spatial::{DistrictIndex, DistrictShape, Located};

const COLS: usize = 50;
const ROWS: usize = 40;
const LON0: f64 = 116.0;
const LAT0: f64 = 30.5;
const CELL_LON: f64 = 0.1;
const CELL_LAT: f64 = 0.1;

fn shapes() -> Vec<DistrictShape> {
    jittered_grid(COLS, ROWS, LON0, LAT0, CELL_LON, CELL_LAT, 7)
        .into_iter()
        .enumerate()
        .map(|(i, boundary)| DistrictShape {
            id: format!("d{i}"),
            code: format!("D{i:05}"),
            name: format!("district {i}"),
            region_id: format!("r{}", i / 20),
            boundary,
        })
        .collect()
}

/// Query points: uniformly over the grid plus a 5 % margin, so some fall outside every district.
fn points(n: usize) -> Vec<(f64, f64)> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let (w, h) = (COLS as f64 * CELL_LON, ROWS as f64 * CELL_LAT);
    (0..n)
        .map(|_| {
            (
                LAT0 - 0.05 * h + next() * 1.1 * h,
                LON0 - 0.05 * w + next() * 1.1 * w,
            )
        })
        .collect()
}

/// The baseline: test every district's polygons in turn.
fn linear(shapes: &[DistrictShape], lat: f64, lon: f64) -> Option<usize> {
    let c = Coord { x: lon, y: lat };
    shapes.iter().position(|d| {
        d.boundary
            .iter()
            .any(|p| p.coordinate_position(&c) != CoordPos::Outside)
    })
}

fn indexed(index: &DistrictIndex, lat: f64, lon: f64) -> bool {
    matches!(index.locate(lat, lon), Located::Inside { .. })
}

fn bench(c: &mut Criterion, shapes: &[DistrictShape], index: &DistrictIndex, pts: &[(f64, f64)]) {
    let mut group = c.benchmark_group("district_lookup_2000");
    group.throughput(Throughput::Elements(pts.len() as u64));
    group.bench_function("rtree_index", |b| {
        b.iter(|| {
            pts.iter()
                .filter(|(lat, lon)| indexed(index, *lat, *lon))
                .count()
        })
    });
    group.bench_function("linear_scan_baseline", |b| {
        b.iter(|| {
            pts.iter()
                .filter(|(lat, lon)| linear(shapes, *lat, *lon).is_some())
                .count()
        })
    });
    group.finish();
}

/// Points per second of `f` over `pts`, repeated for at least `budget`.
fn rate(pts: &[(f64, f64)], budget: Duration, mut f: impl FnMut(f64, f64) -> bool) -> f64 {
    let started = Instant::now();
    let mut done = 0usize;
    while started.elapsed() < budget {
        for (lat, lon) in pts {
            black_box(f(*lat, *lon));
        }
        done += pts.len();
    }
    done as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let shapes = shapes();
    let index = DistrictIndex::build(0, shapes.clone());
    let pts = points(1_000);
    // Both answer the same district for every point (outside points: no district).
    for (lat, lon) in &pts {
        let a = linear(&shapes, *lat, *lon).map(|i| shapes[i].code.clone());
        let b = match index.locate(*lat, *lon) {
            Located::Inside { district, .. } => Some(district.code.clone()),
            _ => None,
        };
        assert_eq!(a.is_some(), b.is_some(), "({lat}, {lon})");
    }

    let mut c = Criterion::default().configure_from_args();
    bench(&mut c, &shapes, &index, &pts);
    c.final_summary();

    if std::env::args().any(|a| a == "--bench") {
        let budget = Duration::from_secs(2);
        let r = rate(&pts, budget, |lat, lon| indexed(&index, lat, lon));
        let l = rate(&pts, budget, |lat, lon| linear(&shapes, lat, lon).is_some());
        println!(
            "district lookup, {} districts: R-tree {:.0} points/s, linear scan {:.0} points/s, ratio {:.1}x",
            index.len(),
            r,
            l,
            r / l
        );
    }
}
