//! Believable, gap-free district boundaries for demos and benchmarks: a grid whose inner corners
//! are nudged and whose edges bend, with every shared edge identical on both sides, so
//! neighbouring districts meet exactly as real ones do.

use geo::{Coord, LineString, MultiPolygon, Polygon};

/// A deterministic pseudo-random number in [-1, 1) from integer keys (SplitMix64 finaliser).
fn noise(seed: u64, a: i64, b: i64, c: i64) -> f64 {
    let mut z = seed
        ^ (a as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (b as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
        ^ (c as u64).wrapping_mul(0x1656_67B1_9E37_79F9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

/// `cols` × `rows` cells starting at `(lon0, lat0)` (south-west corner), each `cell_lon` by
/// `cell_lat` degrees. Cells are returned row by row from the south, west to east.
pub fn jittered_grid(
    cols: usize,
    rows: usize,
    lon0: f64,
    lat0: f64,
    cell_lon: f64,
    cell_lat: f64,
    seed: u64,
) -> Vec<MultiPolygon<f64>> {
    let corner = |i: usize, j: usize| -> Coord<f64> {
        let inner = i > 0 && i < cols && j > 0 && j < rows;
        let (dx, dy) = if inner {
            (
                0.15 * cell_lon * noise(seed, i as i64, j as i64, 0),
                0.15 * cell_lat * noise(seed, i as i64, j as i64, 1),
            )
        } else {
            (0.0, 0.0)
        };
        Coord {
            x: lon0 + i as f64 * cell_lon + dx,
            y: lat0 + j as f64 * cell_lat + dy,
        }
    };
    // The bend of an edge: two interior points pushed sideways. Keyed by the edge's canonical
    // (lower) end and direction, so both cells sharing it get the same points.
    let bend = |a: (usize, usize), b: (usize, usize)| -> Vec<Coord<f64>> {
        let (lo, hi, flipped) = if a <= b { (a, b, false) } else { (b, a, true) };
        let horizontal = lo.1 == hi.1;
        let (p, q) = (corner(lo.0, lo.1), corner(hi.0, hi.1));
        let boundary = if horizontal {
            lo.1 == 0 || lo.1 == rows
        } else {
            lo.0 == 0 || lo.0 == cols
        };
        let mut pts: Vec<Coord<f64>> = [1.0 / 3.0, 2.0 / 3.0]
            .iter()
            .enumerate()
            .map(|(k, t)| {
                let base = Coord {
                    x: p.x + (q.x - p.x) * t,
                    y: p.y + (q.y - p.y) * t,
                };
                if boundary {
                    return base;
                }
                let n = noise(
                    seed,
                    lo.0 as i64 * 7 + hi.0 as i64,
                    lo.1 as i64 * 7 + hi.1 as i64,
                    2 + k as i64,
                );
                if horizontal {
                    Coord {
                        x: base.x,
                        y: base.y + 0.06 * cell_lat * n,
                    }
                } else {
                    Coord {
                        x: base.x + 0.06 * cell_lon * n,
                        y: base.y,
                    }
                }
            })
            .collect();
        if flipped {
            pts.reverse();
        }
        pts
    };
    let mut out = Vec::with_capacity(cols * rows);
    for j in 0..rows {
        for i in 0..cols {
            let ring_corners = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)];
            let mut ring = Vec::with_capacity(13);
            for k in 0..4 {
                let a = ring_corners[k];
                let b = ring_corners[(k + 1) % 4];
                ring.push(corner(a.0, a.1));
                ring.extend(bend(a, b));
            }
            ring.push(ring[0]);
            out.push(MultiPolygon::new(vec![Polygon::new(
                LineString::new(ring),
                vec![],
            )]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Area, BooleanOps, Validation};

    #[test]
    fn cells_are_valid_and_tile_without_gaps_or_overlaps() {
        let (cols, rows) = (6, 5);
        let cells = jittered_grid(cols, rows, 120.4, 31.8, 0.05, 0.04, 42);
        assert_eq!(cells.len(), cols * rows);
        let mut total = 0.0;
        for c in &cells {
            assert!(c.is_valid(), "{:?}", c.validation_errors());
            total += c.unsigned_area();
        }
        let whole = cols as f64 * 0.05 * rows as f64 * 0.04;
        assert!(
            (total - whole).abs() < 1e-9,
            "areas sum to the whole: {total} vs {whole}"
        );
        // Neighbours share a border but no area.
        let overlap = cells[0].intersection(&cells[1]).unsigned_area();
        assert!(overlap < 1e-12, "{overlap}");
        assert_eq!(
            jittered_grid(2, 2, 0.0, 0.0, 1.0, 1.0, 7),
            jittered_grid(2, 2, 0.0, 0.0, 1.0, 1.0, 7)
        );
    }
}
