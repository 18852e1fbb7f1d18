//! Household visits (百人访百户): a visit is recorded with its answers; a fault the customer
//! reports opens a repair like any other call, a complaint opens a complaint, both owned by the
//! visitor.

use chrono::NaiveDateTime;
use serde_json::{Map, Value};

use super::complaints::NewComplaint;
use super::intake::{intake, NewTicket, Placement};
use super::{Actor, FlowConfig, FlowResult};
use crate::domain::complaint::Source;
use crate::domain::ticket::TicketKind;
use crate::domain::{new_id, Invalid, PhoneNumber, RegionScope, WgsPoint};
use crate::store::visits::{self, VisitRow};

/// A visit as recorded, parsed at the edge.
#[derive(Debug, Clone)]
pub struct NewVisit {
    pub customer_name: Option<String>,
    pub customer_phone: PhoneNumber,
    pub address: String,
    pub point: Option<WgsPoint>,
    pub visited_at: NaiveDateTime,
    /// Checked against the questionnaire.
    pub answers: Map<String, Value>,
    /// A fault the customer reported: category and description.
    pub fault: Option<(String, String)>,
    /// A complaint the customer made: category and description.
    pub complaint: Option<(String, String)>,
}

/// Records a visit by user `visitor` placed at `placement`, with the repair and complaint it
/// opens.
pub fn record(
    conn: &mut crate::db::DbConn,
    cfg: &FlowConfig,
    new: &NewVisit,
    placement: &Placement,
    visitor: &str,
    now: NaiveDateTime,
) -> FlowResult<VisitRow> {
    let actor = Actor::user(visitor);
    let name = new.customer_name.clone();
    let ticket = match &new.fault {
        None => None,
        Some((category, description)) => {
            let t = NewTicket {
                kind: TicketKind::Repair,
                external_ref: None,
                customer_name: name.clone().unwrap_or_else(|| "住户".into()),
                customer_phone: new.customer_phone.clone(),
                address: new.address.clone(),
                point: new.point,
                account_no: None,
                fault_category: category.clone(),
                fault_description: format!("入户走访发现：{description}"),
                follow_up_of: None,
            };
            Some(intake(conn, cfg, &t, placement, &actor, now)?.0)
        }
    };
    let complaint = match &new.complaint {
        None => None,
        Some((category, description)) => {
            let district_id = placement.district_id.clone().ok_or_else(|| {
                Invalid::new("complaint", "the visited address is in no grid district")
            })?;
            let c = NewComplaint {
                source: Source::Visit,
                ticket_id: None,
                district_id: Some(district_id),
                callback_id: None,
                customer_name: name.clone(),
                customer_phone: Some(new.customer_phone.clone()),
                category: category.clone(),
                description: description.clone(),
                received_at: new.visited_at,
                kind: None,
                hotline_due_at: None,
            };
            Some(super::complaints::receive(
                conn,
                cfg,
                &c,
                &actor,
                &RegionScope::All,
                now,
            )?)
        }
    };
    let row = VisitRow {
        id: new_id(),
        region_id: placement.region_id.clone(),
        district_id: placement.district_id.clone(),
        user_id: visitor.to_string(),
        customer_name: name,
        customer_phone: new.customer_phone.as_str().to_string(),
        address: new.address.clone(),
        lat: new.point.map(|p| p.lat),
        lon: new.point.map(|p| p.lon),
        visited_at: new.visited_at,
        answers: Value::Object(new.answers.clone()).to_string(),
        ticket_id: ticket.map(|t| t.id),
        complaint_id: complaint.map(|c| c.id),
        created_at: now,
    };
    visits::insert(conn, &row)?;
    Ok(row)
}
