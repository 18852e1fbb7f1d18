//! Customer-requested postponements. Whoever spoke with the customer records the wish; the
//! promise moves only once someone other than the technician stands behind it: the region's
//! account manager or a dispatcher (recording it themselves, or confirming what a technician
//! recorded), or the customer's own SMS reply to the confirmation message. Until then the old
//! promise governs and its clocks run.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{json, Value};

use super::actions::{load_visible, naive, Acting, FIELD};
use super::messages::Purpose;
use super::replies::ReplyOutcome;
use super::{
    event, notify, on_duty_staff, save, staff, timing_detail, Actor, FlowConfig, FlowError,
    FlowResult, When,
};
use crate::db::DbConn;
use crate::domain::postponement::{
    recorded_confirms, refusal_to_decide, DecidedVia, RequestStatus,
};
use crate::domain::ticket::{transition, Action};
use crate::domain::{new_id, required_text, Invalid, PhoneNumber, Role};
use crate::store::postponements::{self, Decision, PostponementRow};
use crate::store::tickets::{self, TicketRow};
use crate::store::users;

/// What the customer asked for.
#[derive(Debug, Clone)]
pub struct Postponement {
    pub new_promised_at: DateTime<Utc>,
    pub reason: String,
    pub new_appointment_at: Option<DateTime<Utc>>,
}

/// What recording a postponement did.
#[derive(Debug)]
pub enum Recorded {
    /// Recorded by someone who confirms it: the promise moved.
    Applied(Box<TicketRow>),
    /// Recorded by the technician: waiting for confirmation.
    Pending(Box<PostponementRow>),
}

/// Records the customer's wish for a later time on ticket `id`.
pub fn record(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    id: &str,
    who: &Acting,
    p: Postponement,
    when: When,
) -> FlowResult<Recorded> {
    let now = when.received;
    who.require(&FIELD, "postpone a ticket")?;
    let reason = required_text("reason", &p.reason, 500)?;
    if naive(p.new_promised_at) <= now {
        return Err(Invalid::new("new_promised_at", "must be in the future").into());
    }
    if let Some(a) = p.new_appointment_at {
        if a > p.new_promised_at || naive(a) < now {
            return Err(Invalid::new(
                "new_appointment_at",
                "must be between now and the new promise",
            )
            .into());
        }
    }
    let t = load_visible(conn, id, who)?;
    transition(t.status, Action::Postpone)?;
    let recorder = who.actor.id.clone().unwrap_or_default();
    let mut row = PostponementRow {
        id: new_id(),
        ticket_id: t.id.clone(),
        region_id: t.region_id.clone(),
        requested_by: recorder.clone(),
        requested_at: now,
        new_promised_at: naive(p.new_promised_at),
        new_appointment_at: p.new_appointment_at.map(naive),
        reason,
        status: RequestStatus::Pending,
        decided_by: None,
        decided_via: None,
        decided_at: None,
        decision_note: None,
    };
    if recorded_confirms(who.role) {
        row.status = RequestStatus::Confirmed;
        row.decided_by = Some(recorder.clone());
        row.decided_via = Some(DecidedVia::Staff.as_str().to_string());
        row.decided_at = Some(now);
        postponements::insert(conn, &row)?;
        let approved_by = staff_approval(conn, &recorder)?;
        let t = apply(conn, cfg, t, &row, approved_by, Some(&recorder), now)?;
        return Ok(Recorded::Applied(Box::new(t)));
    }
    // Queued offline, the request counts from when the customer asked, if the phone's time is
    // believable.
    let timing = when.judge(cfg, &t);
    row.requested_at = timing.at;
    postponements::insert(conn, &row)?;
    let mut detail = json!({"request": row.id, "from": t.promised_at.and_utc(), "to": p.new_promised_at,
               "reason": row.reason, "new_appointment_at": p.new_appointment_at});
    timing_detail(&mut detail, &timing);
    event(
        conn,
        &t,
        timing.at,
        &who.actor,
        "postponement_requested",
        detail,
        None,
    )?;
    let mut asked = t.clone();
    asked.promised_at = row.new_promised_at;
    let (managers, _) = on_duty_staff(conn, cfg, &t.region_id, now)?;
    let deciders = if managers.is_empty() {
        staff(conn, &t.region_id, Role::Dispatcher)?
    } else {
        managers
    };
    for m in &deciders {
        notify(conn, cfg, &asked, m, Purpose::PostponementRequested, now)?;
    }
    ask_customer(conn, cfg, &asked, now)?;
    Ok(Recorded::Pending(Box::new(row)))
}

/// The confirmation SMS to the customer, about `asked` (the ticket with the promise asked for).
fn ask_customer(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    asked: &TicketRow,
    now: NaiveDateTime,
) -> FlowResult<()> {
    let text = cfg
        .templates
        .render(Purpose::PostponementCheck, asked, cfg.tz, None);
    super::customers::queue(
        conn,
        asked,
        Purpose::PostponementCheck.as_str(),
        &text,
        None,
        None,
        now,
    )?;
    Ok(())
}

/// A staff member's decision on pending request `request_id` of ticket `ticket_id`.
#[allow(clippy::too_many_arguments)]
pub fn decide(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    ticket_id: &str,
    request_id: &str,
    who: &Acting,
    confirm: bool,
    note: Option<&str>,
    now: NaiveDateTime,
) -> FlowResult<TicketRow> {
    let t = load_visible(conn, ticket_id, who)?;
    let request = postponements::get(conn, request_id)?
        .filter(|r| r.ticket_id == t.id)
        .ok_or_else(|| FlowError::NotFound("no such postponement request".into()))?;
    let decider = who.actor.id.clone().unwrap_or_default();
    if let Some(why) = refusal_to_decide(who.role, &decider, &request.requested_by) {
        return Err(FlowError::Forbidden(why.into()));
    }
    if !request.is_pending() {
        return Err(FlowError::Conflict(format!(
            "this request is already {}",
            request.status
        )));
    }
    let note = note.map(|n| required_text("note", n, 500)).transpose()?;
    if confirm {
        check_still_open(&t, &request, now)?;
        settle(
            conn,
            &request,
            RequestStatus::Confirmed,
            Some(&decider),
            DecidedVia::Staff,
            note.as_deref(),
            now,
        )?;
        let approved_by = staff_approval(conn, &decider)?;
        apply(conn, cfg, t, &request, approved_by, Some(&decider), now)
    } else {
        let by = json!({"via": "staff", "user_id": decider, "note": note});
        refuse(
            conn,
            cfg,
            &t,
            &request,
            &who.actor,
            Some(&decider),
            DecidedVia::Staff,
            note.as_deref(),
            by,
            now,
        )?;
        Ok(t)
    }
}

/// The customer with number `from` answered `text`; None when no request of theirs waits (on a
/// ticket of `regions`, when the platform serves only those).
pub fn customer_reply(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    from: &PhoneNumber,
    text: &str,
    regions: Option<&[String]>,
    now: NaiveDateTime,
) -> FlowResult<Option<ReplyOutcome>> {
    let Some(request) = postponements::pending_for_customer(conn, from.as_str())?
        .into_iter()
        .find(|r| regions.is_none_or(|only| only.contains(&r.region_id)))
    else {
        return Ok(None);
    };
    let Some(t) = tickets::get(conn, &request.ticket_id)? else {
        return Ok(None);
    };
    let customer = Actor::customer();
    let ticket_id = t.id.clone();
    let Some(yes) = crate::domain::postponement::customer_answer(text) else {
        event(
            conn,
            &t,
            now,
            &customer,
            "sms_reply_refused",
            json!({"text": text, "reason": "neither 1 (confirm) nor 2 (refuse) to the postponement"}),
            None,
        )?;
        return Ok(Some(ReplyOutcome::CustomerNotUnderstood { ticket_id }));
    };
    if yes {
        if check_still_open(&t, &request, now).is_err() {
            settle(
                conn,
                &request,
                RequestStatus::Lapsed,
                None,
                DecidedVia::CustomerSms,
                None,
                now,
            )?;
            return Ok(Some(ReplyOutcome::PostponementLapsed { ticket_id }));
        }
        settle(
            conn,
            &request,
            RequestStatus::Confirmed,
            None,
            DecidedVia::CustomerSms,
            None,
            now,
        )?;
        apply(
            conn,
            cfg,
            t,
            &request,
            json!({"via": "customer_sms"}),
            None,
            now,
        )?;
        Ok(Some(ReplyOutcome::PostponementConfirmed { ticket_id }))
    } else {
        let by = json!({"via": "customer_sms"});
        refuse(
            conn,
            cfg,
            &t,
            &request,
            &customer,
            None,
            DecidedVia::CustomerSms,
            None,
            by,
            now,
        )?;
        Ok(Some(ReplyOutcome::PostponementDeclined { ticket_id }))
    }
}

/// A pending request can still be confirmed: the ticket may be postponed and the time asked for
/// is still ahead.
fn check_still_open(t: &TicketRow, r: &PostponementRow, now: NaiveDateTime) -> FlowResult<()> {
    transition(t.status, Action::Postpone)?;
    if r.new_promised_at <= now {
        return Err(FlowError::Conflict(
            "the time the customer asked for has passed; record a new request".into(),
        ));
    }
    Ok(())
}

fn settle(
    conn: &mut DbConn,
    r: &PostponementRow,
    status: RequestStatus,
    by: Option<&str>,
    via: DecidedVia,
    note: Option<&str>,
    at: NaiveDateTime,
) -> FlowResult<()> {
    let decided = postponements::decide(
        conn,
        &r.id,
        &Decision {
            status,
            by,
            via: Some(via),
            note,
            at,
        },
    )?;
    if decided {
        Ok(())
    } else {
        Err(FlowError::Conflict(
            "this request was decided meanwhile".into(),
        ))
    }
}

/// How a staff approval appears on the timeline: the user, never free text.
fn staff_approval(conn: &mut DbConn, user_id: &str) -> FlowResult<Value> {
    let name = users::find_row(conn, user_id)?
        .map(|u| u.display_name)
        .unwrap_or_default();
    Ok(json!({"via": "staff", "user_id": user_id, "name": name}))
}

/// Moves the promise as confirmed request `r` says; `decider` is not told (they know).
fn apply(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    mut t: TicketRow,
    r: &PostponementRow,
    approved_by: Value,
    decider: Option<&str>,
    now: NaiveDateTime,
) -> FlowResult<TicketRow> {
    let next = transition(t.status, Action::Postpone)?;
    let old = t.promised_at;
    t.status = next;
    t.promised_at = r.new_promised_at;
    t.postponement_count += 1;
    // The old appointment no longer binds; a new one, if agreed, does.
    t.appointment_at = r.new_appointment_at;
    t.arrival_due_at = r.new_appointment_at.map(|a| a + cfg.policy.arrival_grace);
    save(conn, &mut t, cfg, now)?;
    let actor = match decider {
        Some(id) => Actor::user(id),
        None => Actor::customer(),
    };
    event(
        conn,
        &t,
        now,
        &actor,
        "postponed",
        json!({"requested_by": "customer", "request": r.id, "recorded_by": r.requested_by,
               "from": old.and_utc(), "to": r.new_promised_at.and_utc(), "reason": r.reason,
               "approved_by": approved_by,
               "new_appointment_at": r.new_appointment_at.map(|a| a.and_utc())}),
        None,
    )?;
    let (managers, _) = on_duty_staff(conn, cfg, &t.region_id, now)?;
    for m in managers.iter().filter(|m| Some(m.id.as_str()) != decider) {
        notify(conn, cfg, &t, m, Purpose::Postponed, now)?;
    }
    Ok(t)
}

/// Refuses the request: recorded as declined, on the timeline, and the technician is told the
/// promise stands.
#[allow(clippy::too_many_arguments)]
fn refuse(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    t: &TicketRow,
    r: &PostponementRow,
    actor: &Actor,
    decider: Option<&str>,
    via: DecidedVia,
    note: Option<&str>,
    by: Value,
    now: NaiveDateTime,
) -> FlowResult<()> {
    settle(conn, r, RequestStatus::Declined, decider, via, note, now)?;
    event(
        conn,
        t,
        now,
        actor,
        "postponement_declined",
        json!({"request": r.id, "asked_for": r.new_promised_at.and_utc(), "declined_by": by,
               "promised_at": t.promised_at.and_utc()}),
        None,
    )?;
    if let Some(holder) = t.assignee_id.as_deref() {
        if let Some(u) = users::find_row(conn, holder)? {
            notify(conn, cfg, t, &u, Purpose::PostponementDeclined, now)?;
        }
    }
    Ok(())
}
