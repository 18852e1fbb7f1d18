//! Which on-duty technician gets a new ticket: the nearest by last known position, then the one
//! with the fewest open tickets, then by username (so the choice is reproducible).

use chrono::{DateTime, Duration, Utc};
use geo::{Distance, Haversine, Point};

/// Positions older than this say nothing about where a technician is now.
pub fn position_max_age() -> Duration {
    Duration::hours(2)
}

/// An on-duty technician considered for a ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub user_id: String,
    pub username: String,
    pub open_tickets: i64,
    /// Last known (lat, lon, when).
    pub position: Option<(f64, f64, DateTime<Utc>)>,
}

impl Candidate {
    /// Metres from the candidate's last position to `point`; None without a point or a position
    /// fresher than [`position_max_age`].
    pub fn distance_to(&self, point: Option<(f64, f64)>, now: DateTime<Utc>) -> Option<f64> {
        let here = self
            .position
            .filter(|(_, _, at)| now - *at <= position_max_age())
            .map(|(lat, lon, _)| (lat, lon));
        point.zip(here).map(|(t, p)| distance_m(t, p))
    }
}

/// Great-circle distance in metres between two (lat, lon) points.
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    Haversine.distance(Point::new(a.1, a.0), Point::new(b.1, b.0))
}

/// Ranks candidates for a ticket at `ticket_point` (if known), best first, leaving out `exclude`.
pub fn rank<'a>(
    candidates: &'a [Candidate],
    ticket_point: Option<(f64, f64)>,
    now: DateTime<Utc>,
    exclude: &[&str],
) -> Vec<&'a Candidate> {
    let mut ranked: Vec<(&Candidate, Option<f64>)> = candidates
        .iter()
        .filter(|c| !exclude.contains(&c.user_id.as_str()))
        .map(|c| (c, c.distance_to(ticket_point, now)))
        .collect();
    ranked.sort_by(|(a, da), (b, db)| {
        let by_distance = match (da, db) {
            (Some(x), Some(y)) => x.total_cmp(y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        };
        by_distance
            .then(a.open_tickets.cmp(&b.open_tickets))
            .then_with(|| a.username.cmp(&b.username))
    });
    ranked.into_iter().map(|(c, _)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(u: &str, open: i64, pos: Option<(f64, f64)>, now: DateTime<Utc>) -> Candidate {
        Candidate {
            user_id: u.into(),
            username: u.into(),
            open_tickets: open,
            position: pos.map(|(a, b)| (a, b, now)),
        }
    }

    #[test]
    fn nearest_then_fewest_open_then_name() {
        let now = Utc::now();
        let list = vec![
            c("far", 0, Some((31.90, 120.60)), now),
            c("near", 5, Some((31.871, 120.551)), now),
            c("nopos-busy", 3, None, now),
            c("nopos-idle", 0, None, now),
        ];
        let order: Vec<&str> = rank(&list, Some((31.87, 120.55)), now, &[])
            .iter()
            .map(|c| c.username.as_str())
            .collect();
        assert_eq!(order, ["near", "far", "nopos-idle", "nopos-busy"]);
        // Without a ticket location, only the load counts.
        let order: Vec<&str> = rank(&list, None, now, &[])
            .iter()
            .map(|c| c.username.as_str())
            .collect();
        assert_eq!(order, ["far", "nopos-idle", "nopos-busy", "near"]);
        // The current assignee is left out on reassignment.
        assert_eq!(
            rank(&list, Some((31.87, 120.55)), now, &["near"])[0].username,
            "far"
        );
    }

    #[test]
    fn stale_positions_do_not_count() {
        let now = Utc::now();
        let mut old = c("old", 0, Some((31.87, 120.55)), now);
        old.position = Some((31.87, 120.55, now - Duration::hours(3)));
        let list = vec![old, c("fresh", 2, Some((31.95, 120.70)), now)];
        assert_eq!(
            rank(&list, Some((31.87, 120.55)), now, &[])[0].username,
            "fresh"
        );
    }
}
