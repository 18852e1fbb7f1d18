//! Photos of a ticket: who may add them, who may see them, and the region's rule that some
//! repairs need one before they are resolved.

use chrono::NaiveDateTime;
use serde_json::json;

use super::actions::{load_visible, Acting, FIELD};
use super::{event, FlowError, FlowResult};
use crate::db::DbConn;
use crate::domain::photo::PhotoPurpose;
use crate::domain::routing::distance_m;
use crate::domain::ticket::Status;
use crate::domain::{Invalid, Role};
use crate::store::photos::{self, PhotoRow};
use crate::store::policies;
use crate::store::tickets::TicketRow;

/// Adds the photos the caller's phone took to ticket `id`, all or none; an image the ticket
/// already has is the photo already kept (answered with `false`). Each row carries the image's
/// facts; its ticket, region and uploader are set here. Answers the ticket too.
pub fn add(
    conn: &mut DbConn,
    id: &str,
    who: &Acting,
    rows: Vec<PhotoRow>,
    most: i64,
    now: NaiveDateTime,
) -> FlowResult<(TicketRow, Vec<(PhotoRow, bool)>)> {
    let t = may_add(conn, id, who)?;
    let mut kept = photos::count(conn, &t.id, None)?;
    let mut added = Vec::with_capacity(rows.len());
    for mut row in rows {
        if let Some(same) = photos::by_hash(conn, &t.id, &row.sha256)? {
            added.push((same, false));
            continue;
        }
        if kept >= most {
            return Err(Invalid::new(
                "photo",
                format!("the ticket already has {kept} photos, the most it keeps"),
            )
            .into());
        }
        row.ticket_id = t.id.clone();
        row.region_id = t.region_id.clone();
        row.uploaded_by = who.actor.id.clone().unwrap_or_default();
        row.received_at = now;
        photos::insert(conn, &row)?;
        kept += 1;
        let taken_at_point = row.taken_lat.zip(row.taken_lon);
        event(
            conn,
            &t,
            now,
            &who.actor,
            "photo_added",
            json!({"photo": row.id, "purpose": row.purpose, "stage": row.stage,
                   "taken_at": row.taken_at.map(|t| t.and_utc()),
                   "distance_from_customer_m": distance_from_customer(&t, taken_at_point)}),
            taken_at_point,
        )?;
        added.push((row, true));
    }
    Ok((t, added))
}

/// The ticket `who` may add photos to: one of theirs that is not cancelled or closed (a
/// resolved one still takes the photos queued before its resolution).
pub fn may_add(conn: &mut DbConn, id: &str, who: &Acting) -> FlowResult<TicketRow> {
    who.require(&FIELD, "add photos to a ticket")?;
    let t = load_visible(conn, id, who)?;
    if matches!(t.status, Status::Cancelled | Status::Closed) {
        return Err(FlowError::Conflict(format!(
            "the ticket is {}: it takes no more photos",
            t.status
        )));
    }
    Ok(t)
}

/// How far from the customer's location the camera says the photo was taken, in metres.
pub fn distance_from_customer(t: &TicketRow, taken: Option<(f64, f64)>) -> Option<f64> {
    let customer = t.lat.zip(t.lon)?;
    Some(distance_m(customer, taken?).round())
}

/// The ticket's photos the caller may see: everyone of the region's staff who sees the ticket
/// sees them all; a technician only their own, on a ticket that is theirs.
pub fn visible(
    conn: &mut DbConn,
    id: &str,
    who: &Acting,
) -> FlowResult<(TicketRow, Vec<PhotoRow>)> {
    who.require(
        &[
            Role::Technician,
            Role::AccountManager,
            Role::Dispatcher,
            Role::Manager,
        ],
        "see a ticket's photos",
    )?;
    let t = load_visible(conn, id, who)?;
    let mut rows = photos::for_ticket(conn, &t.id)?;
    if who.role == Role::Technician {
        rows.retain(|p| Some(&p.uploaded_by) == who.actor.id.as_ref());
    }
    Ok((t, rows))
}

/// Refuses to resolve a ticket without a site photo when its region's policy for its kind
/// of work names its fault category (or `*`).
pub fn required_before_resolve(conn: &mut DbConn, t: &TicketRow) -> FlowResult<()> {
    let Some(policy) = policies::get(conn, &t.region_id, t.kind.as_str())? else {
        return Ok(());
    };
    let needed = policy
        .photo_categories()
        .iter()
        .any(|c| c == "*" || c == &t.fault_category);
    if needed && photos::count(conn, &t.id, Some(PhotoPurpose::Site.as_str()))? == 0 {
        return Err(Invalid::new(
            "photos",
            format!(
                "this region needs a photo of the repair before a `{}` ticket is resolved: upload one first",
                t.fault_category
            ),
        )
        .into());
    }
    Ok(())
}
