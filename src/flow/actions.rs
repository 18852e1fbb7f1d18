//! What technicians, account managers and dispatchers do to a ticket. Each action checks who
//! may do it, applies the state machine, records the stage outcome it settles, appends its event
//! and queues its messages.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::json;

use super::messages::Purpose;
use super::{event, notify, save, timing_detail, Actor, FlowConfig, FlowError, FlowResult, When};
use crate::db::DbConn;
use crate::domain::device_time::Timing;
use crate::domain::routing::distance_m;
use crate::domain::sla::Stage;
use crate::domain::ticket::{transition, Action};
use crate::domain::{required_text, Invalid, RegionScope, Role, WgsPoint};
use crate::store::tickets::{self, TicketRow};
use crate::store::users;

/// Who is acting, as the API authenticated them.
#[derive(Debug, Clone)]
pub struct Acting {
    pub actor: Actor,
    pub role: Role,
    pub scope: RegionScope,
}

impl Acting {
    /// Technicians see only tickets assigned to them; everyone else, their regions' tickets.
    pub fn can_see(&self, t: &TicketRow) -> bool {
        match self.role {
            Role::Technician => t.assignee_id.is_some() && t.assignee_id == self.actor.id,
            _ => self.scope.allows(&t.region_id),
        }
    }

    pub(crate) fn require(&self, roles: &[Role], what: &str) -> FlowResult<()> {
        if self.role == Role::Admin || roles.contains(&self.role) {
            Ok(())
        } else {
            Err(FlowError::Forbidden(format!(
                "a {} cannot {what}",
                self.role
            )))
        }
    }
}

/// Loads a ticket the caller may see; others are "not found", so ids of other people's tickets
/// reveal nothing.
pub fn load_visible(conn: &mut DbConn, id: &str, who: &Acting) -> FlowResult<TicketRow> {
    match tickets::get(conn, id)? {
        Some(t) if who.can_see(&t) => Ok(t),
        _ => Err(FlowError::NotFound("no such ticket".into())),
    }
}

/// The field roles: the assignee, the region's account managers, dispatchers, admins.
pub(crate) const FIELD: [Role; 3] = [Role::Technician, Role::AccountManager, Role::Dispatcher];

pub(crate) fn naive(t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc()
}

/// Settles stage `s` of `t` at the time that counts: the phone's, when believed (a miss the
/// server recorded meanwhile yields to it), else the receipt.
fn settle_timed(t: &mut TicketRow, s: Stage, timing: &Timing) {
    if timing.by_device() {
        t.settle_as_of(s, timing.at);
    } else {
        t.settle(s, timing.at);
    }
}

/// Appends a technician action's event at the time that counts, with its timing.
fn timed_event(
    conn: &mut DbConn,
    t: &TicketRow,
    timing: &Timing,
    who: &Acting,
    kind: &str,
    mut detail: serde_json::Value,
    place: Option<(f64, f64)>,
) -> FlowResult<()> {
    timing_detail(&mut detail, timing);
    event(conn, t, timing.at, &who.actor, kind, detail, place)
}

/// The technician contacted the customer and agreed an appointment.
pub fn acknowledge(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    id: &str,
    who: &Acting,
    appointment_at: DateTime<Utc>,
    contact_note: &str,
    when: When,
) -> FlowResult<TicketRow> {
    who.require(&FIELD, "acknowledge a ticket")?;
    let note = required_text("contact_note", contact_note, 500)?;
    let mut t = load_visible(conn, id, who)?;
    let timing = when.judge(cfg, &t);
    if naive(appointment_at) < timing.at - chrono::Duration::minutes(5) {
        return Err(Invalid::new("appointment_at", "must not be in the past").into());
    }
    let next = transition(t.status, Action::Acknowledge)?;
    t.status = next;
    crate::store::assignments::acknowledged(conn, &t.id, timing.at)?;
    settle_timed(&mut t, Stage::Contact, &timing);
    t.appointment_at = Some(naive(appointment_at));
    t.contact_note = Some(note.clone());
    t.arrival_due_at = Some(naive(appointment_at) + cfg.policy.arrival_grace);
    save(conn, &mut t, cfg, when.received)?;
    timed_event(
        conn,
        &t,
        &timing,
        who,
        "acknowledged",
        json!({"appointment_at": appointment_at, "contact_note": note, "ack_on_time": t.ack_on_time}),
        None,
    )?;
    super::customers::appointment(conn, cfg, &t, when.received)?;
    Ok(t)
}

/// The technician is at the customer's address.
pub fn check_in(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    id: &str,
    who: &Acting,
    at: WgsPoint,
    when: When,
) -> FlowResult<TicketRow> {
    who.require(&FIELD, "check in")?;
    let mut t = load_visible(conn, id, who)?;
    let timing = when.judge(cfg, &t);
    let next = transition(t.status, Action::CheckIn)?;
    t.status = next;
    settle_timed(&mut t, Stage::Arrival, &timing);
    let distance = t
        .lat
        .zip(t.lon)
        .map(|customer| distance_m(customer, (at.lat, at.lon)));
    t.check_in_distance_m = distance.map(|d| (d * 10.0).round() / 10.0);
    t.check_in_far = distance.map(|d| d > cfg.far_check_in_m);
    save(conn, &mut t, cfg, when.received)?;
    timed_event(
        conn,
        &t,
        &timing,
        who,
        "checked_in",
        json!({"distance_m": t.check_in_distance_m, "far": t.check_in_far, "arrival_on_time": t.arrival_on_time}),
        Some((at.lat, at.lon)),
    )?;
    Ok(t)
}

pub fn resolve(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    id: &str,
    who: &Acting,
    code: &str,
    notes: &str,
    when: When,
) -> FlowResult<TicketRow> {
    who.require(&FIELD, "resolve a ticket")?;
    let code = required_text("resolution_code", code, 64)?;
    let notes = notes.trim().to_string();
    let mut t = load_visible(conn, id, who)?;
    let timing = when.judge(cfg, &t);
    let now = when.received;
    let next = transition(t.status, Action::Resolve)?;
    super::photos::required_before_resolve(conn, &t)?;
    t.status = next;
    settle_timed(&mut t, Stage::Resolve, &timing);
    t.resolution_code = Some(code.clone());
    t.resolution_notes = (!notes.is_empty()).then_some(notes.clone());
    save(conn, &mut t, cfg, now)?;
    timed_event(
        conn,
        &t,
        &timing,
        who,
        "resolved",
        json!({"resolution_code": code, "notes": notes, "resolve_on_time": t.resolve_on_time,
               "promised_at": t.promised_at.and_utc(), "postponements": t.postponement_count}),
        None,
    )?;
    super::callbacks::on_resolved(conn, cfg, &t, now)?;
    super::customers::survey(conn, cfg, &t, now)?;
    Ok(t)
}

/// A dispatcher gives the ticket to a technician of its region (or the engine does, escalating).
pub fn assign(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    id: &str,
    who: &Acting,
    assignee_id: &str,
    now: NaiveDateTime,
) -> FlowResult<TicketRow> {
    who.require(&[Role::Dispatcher], "assign tickets")?;
    let mut t = load_visible(conn, id, who)?;
    let tech = users::get(conn, assignee_id)?
        .filter(|u| u.active && u.role == Role::Technician)
        .ok_or_else(|| Invalid::new("assignee_id", "is not an active technician"))?;
    if !tech.region_ids.contains(&t.region_id) {
        return Err(Invalid::new(
            "assignee_id",
            "this technician does not work in the ticket's region",
        )
        .into());
    }
    let from = t.assignee_id.clone();
    hand_over(conn, cfg, &mut t, &tech.id, now)?;
    event(
        conn,
        &t,
        now,
        &who.actor,
        "assigned",
        json!({"from": from, "to": tech.id, "username": tech.username, "by": "dispatcher",
               "ack_due_at": t.assignment_ack_due_at.map(|d| d.and_utc())}),
        None,
    )?;
    Ok(t)
}

/// Gives the ticket to `user_id` with a fresh contact deadline and tells them.
pub(crate) fn hand_over(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    t: &mut TicketRow,
    user_id: &str,
    now: NaiveDateTime,
) -> FlowResult<()> {
    let first = t.assignee_id.is_none() && t.assigned_at.is_none();
    let new_holder = t.assignee_id.as_deref() != Some(user_id);
    // The previous assignee's phone app learns the ticket is no longer theirs.
    if let Some(previous) = t.assignee_id.clone().filter(|p| p != user_id) {
        crate::store::feed::append(
            conn,
            Some(&previous),
            &t.region_id,
            &t.id,
            "unassigned",
            now,
            &json!({"to": user_id}).to_string(),
        )?;
    }
    let policy = super::ticket_policy(conn, cfg, t)?;
    let due = policy.after(now.and_utc(), policy.acknowledge).naive_utc();
    t.assign(user_id, now, due)?;
    crate::store::assignments::start(
        conn,
        &crate::store::assignments::AssignmentRow::new(t, user_id, now, due),
    )?;
    save(conn, t, cfg, now)?;
    if let Some(u) = users::find_row(conn, user_id)? {
        notify(
            conn,
            cfg,
            t,
            &u,
            if first {
                Purpose::NewTicket
            } else {
                Purpose::Reassigned
            },
            now,
        )?;
        if new_holder {
            super::customers::contact_card(conn, cfg, t, &u, now)?;
        }
    }
    Ok(())
}

pub fn cancel(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    id: &str,
    who: &Acting,
    reason: &str,
    now: NaiveDateTime,
) -> FlowResult<TicketRow> {
    who.require(&[Role::Dispatcher, Role::Agent], "cancel tickets")?;
    let reason = required_text("reason", reason, 500)?;
    let mut t = load_visible(conn, id, who)?;
    let next = transition(t.status, Action::Cancel)?;
    t.status = next;
    t.cancelled_at = Some(now);
    t.cancel_reason = Some(reason.clone());
    save(conn, &mut t, cfg, now)?;
    event(
        conn,
        &t,
        now,
        &who.actor,
        "cancelled",
        json!({"reason": reason}),
        None,
    )?;
    Ok(t)
}

pub fn close(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    id: &str,
    who: &Acting,
    now: NaiveDateTime,
) -> FlowResult<TicketRow> {
    who.require(
        &[Role::Dispatcher, Role::Agent, Role::AccountManager],
        "close tickets",
    )?;
    let mut t = load_visible(conn, id, who)?;
    let next = transition(t.status, Action::Close)?;
    t.status = next;
    t.closed_at = Some(now);
    save(conn, &mut t, cfg, now)?;
    event(conn, &t, now, &who.actor, "closed", json!({}), None)?;
    Ok(t)
}

/// A dispatcher corrects what was recorded: the kind of work, or the district (and with it the
/// region). Recorded stage outcomes and the promise made to the customer stay as they are.
pub fn amend(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    id: &str,
    who: &Acting,
    kind: Option<crate::domain::ticket::TicketKind>,
    district_code: Option<&str>,
    now: NaiveDateTime,
) -> FlowResult<TicketRow> {
    who.require(&[Role::Dispatcher], "amend tickets")?;
    let mut t = load_visible(conn, id, who)?;
    if !t.status.is_open() {
        return Err(crate::domain::ticket::IllegalTransition {
            current: t.status,
            action: Action::Assign,
        }
        .into());
    }
    let before = json!({"kind": t.kind, "district_id": t.district_id, "region_id": t.region_id});
    if let Some(k) = kind {
        t.kind = k;
    }
    if let Some(code) = district_code {
        let d = crate::store::districts::find_by_code(conn, code)?
            .ok_or_else(|| Invalid::new("district_code", format!("no district has code {code}")))?;
        if !who.scope.allows(&d.region_id) {
            return Err(FlowError::Forbidden(
                "that district is in a region outside your scope".into(),
            ));
        }
        t.district_id = Some(d.id);
        t.region_id = d.region_id;
    }
    save(conn, &mut t, cfg, now)?;
    let after = json!({"kind": t.kind, "district_id": t.district_id, "region_id": t.region_id});
    event(
        conn,
        &t,
        now,
        &who.actor,
        "amended",
        json!({"from": before, "to": after}),
        None,
    )?;
    Ok(t)
}
