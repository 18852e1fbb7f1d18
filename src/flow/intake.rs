//! Recording a fault: the ticket, its first events, its routing to the on-duty staff and its
//! outbox messages, in one transaction. What routing reads (policy, roster, positions) is read
//! just before it, so that concurrent intakes wait for each other only while they write.

use chrono::NaiveDateTime;
use serde_json::{json, Value};

use super::messages::Purpose;
use super::{
    candidates_from, event, notify, on_duty_staff, reschedule, staff, Actor, FlowConfig, FlowError,
    FlowResult,
};
use crate::db::DbConn;
use crate::domain::routing::rank;
use crate::domain::sla::SlaPolicy;
use crate::domain::ticket::{Flag, TicketKind};
use crate::domain::{new_id, Code, Invalid, PhoneNumber, Role, WgsPoint};
use crate::spatial::Located;
use crate::store::duty::{self, PositionRow};
use crate::store::tickets::{self, TicketRow};
use crate::store::users::UserRow;

/// A fault report, parsed and checked at the edge.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub kind: TicketKind,
    pub external_ref: Option<String>,
    pub customer_name: String,
    pub customer_phone: PhoneNumber,
    pub address: String,
    pub point: Option<WgsPoint>,
    pub account_no: Option<String>,
    pub fault_category: String,
    pub fault_description: String,
    /// Set on the follow-up of an unsatisfied callback.
    pub follow_up_of: Option<String>,
}

/// Where the ticket belongs, as located before the transaction.
#[derive(Debug, Clone)]
pub struct Placement {
    pub region_id: String,
    pub district_id: Option<String>,
    /// How it was placed, for the timeline (district code, on a border, nearest, ...).
    pub how: Value,
}

/// Where a located point puts a ticket: its district, or the nearest one when the point is in
/// none; None when no districts are defined yet.
pub fn place_at(located: Located<'_>) -> Option<Placement> {
    match located {
        Located::Inside {
            district,
            on_border,
            ..
        } => Some(Placement {
            region_id: district.region_id.clone(),
            district_id: Some(district.id.clone()),
            how: json!({"by": "location", "district": district.code, "on_border": on_border}),
        }),
        Located::Outside {
            nearest,
            distance_m,
        } => Some(Placement {
            region_id: nearest.region_id.clone(),
            district_id: Some(nearest.id.clone()),
            how: json!({"by": "nearest district", "district": nearest.code, "distance_m": distance_m.round()}),
        }),
        Located::Empty => None,
    }
}

/// The district the call center named by its code.
pub fn place_by_code(conn: &mut DbConn, code: &Code) -> FlowResult<Placement> {
    let d = crate::store::districts::find_by_code(conn, code.as_str())?.ok_or_else(|| {
        Invalid::new(
            "district_code",
            format!("no district has code {}", code.as_str()),
        )
    })?;
    Ok(Placement {
        region_id: d.region_id,
        district_id: Some(d.id),
        how: json!({"by": "district_code", "district": d.code}),
    })
}

/// What intake reads before it writes: the region's policy and the people on duty. Read
/// outside the write transaction, so that concurrent intakes serialise only on their inserts.
#[derive(Debug, Clone)]
pub struct Routing {
    policy: SlaPolicy,
    managers: Vec<UserRow>,
    technicians: Vec<UserRow>,
    positions: Vec<PositionRow>,
    /// Told when no technician is on duty.
    dispatchers: Vec<UserRow>,
}

/// What [`prepare`] found.
#[derive(Debug, Clone)]
pub enum Prepared {
    /// The same `external_ref` was recorded before: that ticket, unchanged.
    Known(Box<TicketRow>),
    /// A new fault, routed with these reads.
    New(Box<Routing>),
}

/// Reads what recording the fault needs. Runs before the write transaction; what it read may
/// be a moment old when [`record`] runs, as if the call had come a moment earlier. The load
/// that balances technicians is read again inside the transaction.
pub fn prepare(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    new: &NewTicket,
    placement: &Placement,
    now: NaiveDateTime,
) -> FlowResult<Prepared> {
    if let Some(r) = &new.external_ref {
        if let Some(existing) = tickets::find_by_external_ref(conn, r)? {
            return Ok(Prepared::Known(Box::new(existing)));
        }
    }
    let policy = super::policy_for(conn, cfg, &placement.region_id, new.kind)?;
    let (managers, technicians) = on_duty_staff(conn, cfg, &placement.region_id, now)?;
    let ids: Vec<String> = technicians.iter().map(|u| u.id.clone()).collect();
    let positions = duty::positions(conn, &ids)?;
    let dispatchers = if technicians.is_empty() {
        staff(conn, &placement.region_id, Role::Dispatcher)?
    } else {
        Vec::new()
    };
    Ok(Prepared::New(Box::new(Routing {
        policy,
        managers,
        technicians,
        positions,
        dispatchers,
    })))
}

/// Records the ticket, reading and writing in one connection (inside a transaction that is
/// already open, such as a callback's). Answers the ticket and whether it was created now
/// (false: the same `external_ref` was recorded before, and that ticket is returned unchanged).
pub fn intake(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    new: &NewTicket,
    placement: &Placement,
    actor: &Actor,
    now: NaiveDateTime,
) -> FlowResult<(TicketRow, bool)> {
    match prepare(conn, cfg, new, placement, now)? {
        Prepared::Known(t) => Ok((*t, false)),
        Prepared::New(routing) => {
            record(conn, cfg, new, placement, &routing, actor, now).map(|t| (t, true))
        }
    }
}

/// Writes a prepared fault: the ticket, routed to the on-duty technician the ranking picks (by
/// distance, then by open tickets counted now), its timeline and its outbox messages. A second
/// intake of the same `external_ref` that raced past [`prepare`] fails on the unique index.
pub fn record(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    new: &NewTicket,
    placement: &Placement,
    routing: &Routing,
    actor: &Actor,
    now: NaiveDateTime,
) -> FlowResult<TicketRow> {
    let Routing {
        policy,
        managers,
        technicians,
        positions,
        dispatchers,
    } = routing;
    let at = |d: chrono::Duration| policy.after(now.and_utc(), d).naive_utc();
    let mut t = TicketRow {
        district_id: placement.district_id.clone(),
        external_ref: new.external_ref.clone(),
        customer_name: new.customer_name.clone(),
        customer_phone: new.customer_phone.to_string(),
        address: new.address.clone(),
        lat: new.point.map(|p| p.lat),
        lon: new.point.map(|p| p.lon),
        account_no: new.account_no.clone(),
        fault_category: new.fault_category.clone(),
        fault_description: new.fault_description.clone(),
        follow_up_of: new.follow_up_of.clone(),
        ..TicketRow::recorded(
            new_id(),
            placement.region_id.clone(),
            new.kind,
            actor.name(),
            now,
            at(policy.dispatch),
            at(policy.promise(new.kind)),
        )
    };

    // A call an open network fault explains joins it: no routing, no clock of its own.
    if let Some(fault) = super::storms::covering(conn, cfg, &t)? {
        t.ack_due_at = Some(at(policy.acknowledge));
        super::storms::link_new(&mut t, &fault, now);
        insert_new(conn, &t)?;
        created(conn, &t, placement, actor, now)?;
        super::storms::linked_at_intake(conn, cfg, &t, &fault, now)?;
        return Ok(t);
    }

    let ids: Vec<String> = technicians.iter().map(|u| u.id.clone()).collect();
    let counts = tickets::open_counts(conn, &ids)?;
    let pool = candidates_from(technicians, &counts, positions);
    let point = new.point.map(|p| (p.lat, p.lon));
    let chosen = rank(&pool, point, now.and_utc(), &[])
        .first()
        .map(|c| c.user_id.clone());
    let technician = chosen.and_then(|id| technicians.iter().find(|u| u.id == id).cloned());
    match &technician {
        Some(tech) => t.assign(&tech.id, now, at(policy.acknowledge))?,
        None => t.flag(Flag::NoTechnicianOnDuty),
    }
    reschedule(&mut t, policy)?;
    insert_new(conn, &t)?;
    if let (Some(tech), Some(due)) = (&technician, t.assignment_ack_due_at) {
        crate::store::assignments::start(
            conn,
            &crate::store::assignments::AssignmentRow::new(&t, &tech.id, now, due),
        )?;
    }

    created(conn, &t, placement, actor, now)?;
    for m in managers {
        super::notify_naming(
            conn,
            cfg,
            &t,
            m,
            Purpose::NewTicket,
            technician.as_ref(),
            now,
        )?;
    }
    match &technician {
        Some(tech) => {
            event(
                conn,
                &t,
                now,
                &Actor::system(),
                "assigned",
                json!({"to": tech.id, "username": tech.username, "by": "on-duty routing",
                       "on_duty_technicians": technicians.len(), "ack_due_at": t.ack_due_at.map(|d| d.and_utc())}),
                None,
            )?;
            notify(conn, cfg, &t, tech, Purpose::NewTicket, now)?;
            super::customers::contact_card(conn, cfg, &t, tech, now)?;
        }
        None => {
            event(
                conn,
                &t,
                now,
                &Actor::system(),
                "queued_for_dispatcher",
                json!({"reason": "no technician on duty", "notified": dispatchers.len()}),
                None,
            )?;
            for d in dispatchers {
                notify(conn, cfg, &t, d, Purpose::DispatcherQueue, now)?;
            }
        }
    }
    // This call may be one too many of the same kind nearby: a suspected network fault.
    if super::storms::detect(conn, cfg, &t, now)?.is_some() {
        t = tickets::get(conn, &t.id)?.unwrap_or(t);
    }
    Ok(t)
}

/// Inserts a new ticket; another intake of the same reference that got in first (past
/// [`prepare`]) is [`FlowError::ExternalRefTaken`].
fn insert_new(conn: &mut DbConn, t: &TicketRow) -> FlowResult<()> {
    match tickets::insert(conn, t) {
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) if t.external_ref.is_some() => Err(FlowError::ExternalRefTaken),
        other => Ok(other?),
    }
}

/// The first event of a ticket's timeline: how it was placed and its first deadlines.
fn created(
    conn: &mut DbConn,
    t: &TicketRow,
    placement: &Placement,
    actor: &Actor,
    now: NaiveDateTime,
) -> FlowResult<()> {
    event(
        conn,
        t,
        now,
        actor,
        "created",
        json!({"kind": t.kind, "external_ref": t.external_ref, "placement": placement.how,
               "promised_at": t.promised_at.and_utc(), "dispatch_due_at": t.dispatch_due_at.and_utc()}),
        t.lat.zip(t.lon),
    )
}
