//! Receiving a complaint, its handling clock (first-ask ownership, the escalation ladder, the
//! reply, the customer's acceptance, reopening) and a manager's verdict on it. Every step goes
//! on the complaint's history; a complaint about a ticket also goes on the ticket's timeline.

use chrono::NaiveDateTime;
use serde_json::json;

use super::{event, Actor, FlowConfig, FlowError, FlowResult};
use crate::db::DbConn;
use crate::domain::complaint::{check_verdict, Handling, Kind, Source, Status, RUNGS};
use crate::domain::{new_id, PhoneNumber, RegionScope, Role};
use crate::store::complaints::{self, ComplaintRow, HistoryRow};
use crate::store::{districts, tickets, users};

/// A complaint as received, parsed at the edge.
#[derive(Debug, Clone)]
pub struct NewComplaint {
    pub source: Source,
    pub ticket_id: Option<String>,
    pub district_id: Option<String>,
    /// The unsatisfied callback that opened it.
    pub callback_id: Option<String>,
    pub customer_name: Option<String>,
    pub customer_phone: Option<PhoneNumber>,
    pub category: String,
    pub description: String,
    pub received_at: NaiveDateTime,
    /// simple or general as the receiver judged it (general when not said).
    pub kind: Option<Kind>,
    /// The reply deadline a 12345/12315 hotline gave.
    pub hotline_due_at: Option<NaiveDateTime>,
}

fn history(
    conn: &mut DbConn,
    c: &ComplaintRow,
    actor: &Actor,
    action: &str,
    detail: serde_json::Value,
    now: NaiveDateTime,
) -> FlowResult<()> {
    complaints::append_history(
        conn,
        &HistoryRow {
            id: new_id(),
            complaint_id: c.id.clone(),
            at: now,
            actor_kind: actor.kind.into(),
            actor_id: actor.id.clone(),
            action: action.into(),
            detail: detail.to_string(),
        },
    )?;
    Ok(())
}

/// Records a complaint against the ticket's district (or the one named).
pub fn receive(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    new: &NewComplaint,
    actor: &Actor,
    scope: &RegionScope,
    now: NaiveDateTime,
) -> FlowResult<ComplaintRow> {
    let ticket = match &new.ticket_id {
        None => None,
        Some(id) => Some(
            tickets::get(conn, id)?
                .filter(|t| scope.allows(&t.region_id))
                .ok_or_else(|| crate::domain::Invalid::new("ticket_id", "no such ticket"))?,
        ),
    };
    let district_id = new
        .district_id
        .clone()
        .or_else(|| ticket.as_ref().and_then(|t| t.district_id.clone()))
        .ok_or_else(|| {
            crate::domain::Invalid::new(
                "district_id",
                "is required when the ticket (if any) has no district",
            )
        })?;
    let district = districts::get(conn, &district_id)?
        .filter(|d| scope.allows(&d.region_id))
        .ok_or_else(|| crate::domain::Invalid::new("district_id", "no such district"))?;
    let source = new.source;
    let kind = Kind::of_new(source, new.kind, new.hotline_due_at.is_some())?;
    let due = cfg
        .complaint_clock
        .due(
            kind,
            new.received_at.and_utc(),
            cfg.tz,
            new.hotline_due_at.map(|d| d.and_utc()),
        )
        .naive_utc();
    let c = ComplaintRow {
        id: new_id(),
        region_id: district.region_id.clone(),
        district_id: district.id.clone(),
        ticket_id: ticket.as_ref().map(|t| t.id.clone()),
        callback_id: new.callback_id.clone(),
        source: new.source.as_str().into(),
        category: new.category.clone(),
        description: new.description.clone(),
        customer_name: new
            .customer_name
            .clone()
            .or_else(|| ticket.as_ref().map(|t| t.customer_name.clone())),
        customer_phone: new
            .customer_phone
            .as_ref()
            .map(|p| p.as_str().to_string())
            .or_else(|| ticket.as_ref().map(|t| t.customer_phone.clone())),
        received_at: new.received_at,
        created_by: actor.id.clone().unwrap_or_else(|| "system".into()),
        created_at: now,
        status: Status::Open,
        responsible_user_id: None,
        deduction: None,
        verified_by: None,
        verified_at: None,
        verification_note: None,
        version: 0,
        kind,
        owner_user_id: actor.user_id().map(String::from),
        handling: Handling::Open,
        hotline_due_at: new.hotline_due_at,
        handle_due_at: Some(due),
        handled_on_time: None,
        escalation_level: 0,
        next_deadline_at: Some(due),
        replied_at: None,
        reply: None,
        closed_at: None,
        reopened: 0,
    };
    complaints::insert(conn, &c)?;
    history(
        conn,
        &c,
        actor,
        "received",
        json!({"source": c.source, "category": c.category, "ticket_id": c.ticket_id,
               "callback_id": c.callback_id, "district_id": c.district_id,
               "received_at": c.received_at.and_utc(), "kind": c.kind,
               "owner_user_id": c.owner_user_id, "handle_due_at": due.and_utc()}),
        now,
    )?;
    if let Some(t) = &ticket {
        event(
            conn,
            t,
            now,
            actor,
            "complaint_received",
            json!({"complaint_id": c.id, "source": c.source, "category": c.category}),
            None,
        )?;
        super::callbacks::on_complaint(conn, cfg, t, now)?;
    }
    Ok(c)
}

/// A manager's verdict.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub status: Status,
    pub responsible_user_id: Option<String>,
    pub deduction: Option<f64>,
    pub note: String,
}

/// Upholds or dismisses a complaint. A later verdict replaces an earlier one; both stay in the
/// history.
pub fn verify(
    conn: &mut DbConn,
    id: &str,
    v: &Verdict,
    actor: &Actor,
    scope: &RegionScope,
    now: NaiveDateTime,
) -> FlowResult<ComplaintRow> {
    check_verdict(v.status, v.responsible_user_id.as_deref(), v.deduction)?;
    let mut c = complaints::get(conn, id)?
        .filter(|c| scope.allows(&c.region_id))
        .ok_or_else(|| FlowError::NotFound("no such complaint".into()))?;
    if let Some(u) = &v.responsible_user_id {
        let user = users::get(conn, u)?
            .ok_or_else(|| crate::domain::Invalid::new("responsible_user_id", "no such user"))?;
        if user.role != Role::Admin && !user.region_ids.contains(&c.region_id) {
            return Err(crate::domain::Invalid::new(
                "responsible_user_id",
                "this person does not work in the complaint's region",
            )
            .into());
        }
    }
    let before = c.status;
    c.status = v.status;
    c.responsible_user_id = v.responsible_user_id.clone();
    c.deduction = v.deduction;
    c.verified_by = actor.id.clone();
    c.verified_at = Some(now);
    c.verification_note = Some(v.note.clone());
    store(conn, &mut c)?;
    history(
        conn,
        &c,
        actor,
        c.status.as_str(),
        json!({"previous_status": before, "responsible_user_id": c.responsible_user_id,
               "deduction": c.deduction, "note": v.note}),
        now,
    )?;
    Ok(c)
}

/// Purpose of the SMS that tells a rung of the ladder about a late complaint.
pub const COMPLAINT_OVERDUE: &str = "complaint_overdue";

fn load(conn: &mut DbConn, id: &str, scope: &RegionScope) -> FlowResult<ComplaintRow> {
    complaints::get(conn, id)?
        .filter(|c| scope.allows(&c.region_id))
        .ok_or_else(|| FlowError::NotFound("no such complaint".into()))
}

/// Saves a changed complaint; one saved by someone else meanwhile (the engine climbing a rung)
/// is [`FlowError::Changed`], for the request to act again on the new state.
fn store(conn: &mut DbConn, c: &mut ComplaintRow) -> FlowResult<()> {
    if !complaints::save(conn, c)? {
        return Err(FlowError::Changed);
    }
    Ok(())
}

/// Who answers at `rung` for complaint `c`: the head of that level above the front line (the
/// technician holding the complaint's ticket, else its owner), else the region's managers.
fn rung_heads(
    conn: &mut DbConn,
    c: &ComplaintRow,
    rung: crate::domain::five_star::Level,
) -> FlowResult<Vec<crate::store::users::UserRow>> {
    let holder = match &c.ticket_id {
        Some(id) => tickets::get(conn, id)?.and_then(|t| t.assignee_id),
        None => None,
    };
    let teams = crate::store::org::teams(conn)?;
    let front = [holder, c.owner_user_id.clone()]
        .into_iter()
        .flatten()
        .find(|p| teams.contains_key(p));
    if let Some(person) = front {
        let units = crate::store::org::chain_units(conn)?;
        let chain =
            crate::domain::org::chain(&person, teams.get(&person).map(String::as_str), &units);
        if let Some((_, _, head)) = chain.into_iter().find(|(level, _, _)| *level == rung) {
            if let Some(u) = crate::store::users::find_row(conn, &head)?.filter(|u| u.active) {
                return Ok(vec![u]);
            }
        }
    }
    super::staff(conn, &c.region_id, Role::Manager)
}

/// Climbs the next rung of a late complaint's ladder, once: marks it answered late at the
/// first, tells the rung's head by SMS, and sets the time of the next. Answers whether a rung
/// was climbed.
pub fn step(conn: &mut DbConn, cfg: &FlowConfig, id: &str, now: NaiveDateTime) -> FlowResult<bool> {
    let Some(mut c) = complaints::get(conn, id)? else {
        return Ok(false);
    };
    let Some(at) = c.next_deadline_at.filter(|d| *d <= now) else {
        return Ok(false);
    };
    let (Some(due), true) = (c.handle_due_at, c.handling == Handling::Open) else {
        c.next_deadline_at = None;
        store(conn, &mut c)?;
        return Ok(false);
    };
    let level = c.escalation_level.max(0) as usize;
    let Some(rung) = RUNGS.get(level).copied() else {
        c.next_deadline_at = None;
        store(conn, &mut c)?;
        return Ok(false);
    };
    if c.handled_on_time.is_none() {
        c.handled_on_time = Some(false);
    }
    let heads = rung_heads(conn, &c, rung)?;
    let owner = match &c.owner_user_id {
        Some(o) => crate::store::users::find_row(conn, o)?.map(|u| u.display_name),
        None => None,
    };
    let local = |t: NaiveDateTime| {
        t.and_utc()
            .with_timezone(&cfg.tz)
            .format("%m-%d %H:%M")
            .to_string()
    };
    let text = format!(
        "【投诉超时 {}】{}：{}。受理人{}，应于{}前答复客户，至今未答复，请督办。客户：{} {}。",
        &c.id[c.id.len().saturating_sub(6)..],
        c.category,
        c.description.chars().take(40).collect::<String>(),
        owner.as_deref().unwrap_or("（系统）"),
        local(due),
        c.customer_name.as_deref().unwrap_or(""),
        c.customer_phone.as_deref().unwrap_or(""),
    );
    let mut told = Vec::new();
    for u in &heads {
        if super::queue_sms(
            conn,
            &c.region_id,
            c.ticket_id.as_deref(),
            u,
            COMPLAINT_OVERDUE,
            &text,
            now,
        )? {
            told.push(u.id.clone());
        }
    }
    c.escalation_level = level as i32 + 1;
    // A complaint found late long after its due time (back-dated, or the engine was down)
    // still gives each rung its interval before the next.
    let every = cfg.complaint_clock.escalate_every;
    c.next_deadline_at = cfg
        .complaint_clock
        .next_rung(due.and_utc(), level + 1)
        .map(|t| t.naive_utc().max(now + every));
    store(conn, &mut c)?;
    history(
        conn,
        &c,
        &Actor::system(),
        "escalated",
        json!({"level": c.escalation_level, "rung": rung.as_str(), "to": told,
               "handle_due_at": due.and_utc(), "deadline": at.and_utc(),
               "owner_user_id": c.owner_user_id}),
        now,
    )?;
    Ok(true)
}

/// Records the answer given to the customer: the clock stops (on time if by its due time, for
/// the first answer).
pub fn reply(
    conn: &mut DbConn,
    id: &str,
    text: &str,
    actor: &Actor,
    scope: &RegionScope,
    now: NaiveDateTime,
) -> FlowResult<ComplaintRow> {
    let mut c = load(conn, id, scope)?;
    if c.handling != Handling::Open {
        return Err(FlowError::Conflict(format!(
            "this complaint is {}; reopen it to answer again",
            c.handling
        )));
    }
    // Due is the first instant late, as the engine reads it.
    let on_time = c.handle_due_at.map(|due| now < due);
    if c.handled_on_time.is_none() {
        c.handled_on_time = on_time;
    }
    c.handling = Handling::Replied;
    c.replied_at = Some(now);
    c.reply = Some(text.to_string());
    c.next_deadline_at = None;
    store(conn, &mut c)?;
    history(
        conn,
        &c,
        actor,
        "replied",
        json!({"reply": text, "on_time": on_time, "handle_due_at": c.handle_due_at.map(|d| d.and_utc())}),
        now,
    )?;
    Ok(c)
}

/// The customer's word on the answer: accepted closes the complaint; not accepted reopens it.
#[allow(clippy::too_many_arguments)]
pub fn close(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    id: &str,
    accepted: bool,
    note: Option<&str>,
    actor: &Actor,
    scope: &RegionScope,
    now: NaiveDateTime,
) -> FlowResult<ComplaintRow> {
    let mut c = load(conn, id, scope)?;
    if c.handling != Handling::Replied {
        return Err(FlowError::Conflict(format!(
            "this complaint is {}; the customer must be answered before it closes",
            c.handling
        )));
    }
    if !accepted {
        return reopen_loaded(conn, cfg, c, "not_accepted", note, actor, now);
    }
    c.handling = Handling::Closed;
    c.closed_at = Some(now);
    store(conn, &mut c)?;
    history(
        conn,
        &c,
        actor,
        "closed",
        json!({"accepted": true, "note": note}),
        now,
    )?;
    Ok(c)
}

/// Opens an answered or closed complaint again, with a fresh clock; the ladder starts over and
/// the history keeps every earlier step.
pub fn reopen(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    id: &str,
    reason: &str,
    actor: &Actor,
    scope: &RegionScope,
    now: NaiveDateTime,
) -> FlowResult<ComplaintRow> {
    let c = load(conn, id, scope)?;
    if c.handling == Handling::Open {
        return Err(FlowError::Conflict(
            "this complaint is still being handled".into(),
        ));
    }
    reopen_loaded(conn, cfg, c, "reopened", Some(reason), actor, now)
}

fn reopen_loaded(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    mut c: ComplaintRow,
    action: &str,
    note: Option<&str>,
    actor: &Actor,
    now: NaiveDateTime,
) -> FlowResult<ComplaintRow> {
    let kind = c.kind;
    let due = cfg
        .complaint_clock
        .due(
            kind,
            now.and_utc(),
            cfg.tz,
            c.hotline_due_at.map(|d| d.and_utc()),
        )
        .naive_utc();
    let before = c.handling;
    c.handling = Handling::Open;
    c.reopened += 1;
    c.replied_at = None;
    c.closed_at = None;
    c.handle_due_at = Some(due);
    c.escalation_level = 0;
    c.next_deadline_at = Some(due);
    store(conn, &mut c)?;
    history(
        conn,
        &c,
        actor,
        action,
        json!({"previous_handling": before, "note": note, "handle_due_at": due.and_utc(),
               "times": c.reopened}),
        now,
    )?;
    Ok(c)
}
