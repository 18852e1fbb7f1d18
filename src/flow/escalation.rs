//! The engine's step for one ticket: apply every check that came due, in deadline order, then
//! reschedule. Runs in one transaction; the version check makes a step that another instance
//! already applied roll back instead of firing twice.

use chrono::NaiveDateTime;
use serde_json::json;

use super::actions::hand_over;
use super::{
    candidates, event, notify, on_duty_staff, save, staff, Actor, FlowConfig, FlowError, FlowResult,
};
use crate::db::DbConn;
use crate::domain::routing::rank;
use crate::domain::sla::{due_check, Check, EscalationStep};
use crate::domain::ticket::{transition, Action, Status};
use crate::domain::Role;
use crate::notify::templates::Purpose;
use crate::store::tickets;
use crate::store::users;

/// Applies what is due on ticket `id` at `now`. Answers the checks applied (none when another
/// instance got there first or nothing is due any more).
pub fn step(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    id: &str,
    now: NaiveDateTime,
) -> FlowResult<Vec<Check>> {
    let Some(mut t) = tickets::get(conn, id)? else {
        return Ok(vec![]);
    };
    let read_version = t.version;
    let policy = super::ticket_policy(conn, cfg, &t)?;
    let mut applied = Vec::new();
    while let Some((due_at, check)) = due_check(&t.clocks()?, &policy, now.and_utc()) {
        let system = Actor::system();
        let late = json!({"deadline": due_at, "applied_at": now.and_utc()});
        match check {
            Check::Dispatch => {
                t.dispatch_on_time = Some(false);
                t.flagged = true;
                t.flag_reason = Some("not pushed to the on-duty staff within 3 minutes".into());
                event(conn, &t, now, &system, "dispatch_overdue", late, None)?;
                for d in staff(conn, &t.region_id, Role::Dispatcher)? {
                    notify(conn, cfg, &t, &d, Purpose::DispatchOverdue, now)?;
                }
            }
            Check::Escalation(EscalationStep::Renotify) => {
                t.escalation_level = 1;
                if t.ack_on_time.is_none() {
                    t.ack_on_time = Some(false);
                }
                event(
                    conn,
                    &t,
                    now,
                    &system,
                    "escalated",
                    json!({"level": 1, "step": "renotify", "deadline": due_at}),
                    None,
                )?;
                if let Some(u) = t
                    .assignee_id
                    .as_deref()
                    .map(|a| users::find_row(conn, a))
                    .transpose()?
                    .flatten()
                {
                    notify(conn, cfg, &t, &u, Purpose::AckOverdue, now)?;
                }
                let (managers, _) = on_duty_staff(conn, cfg, &t.region_id, now)?;
                for m in &managers {
                    notify(conn, cfg, &t, m, Purpose::AckOverdue, now)?;
                }
            }
            Check::Escalation(EscalationStep::Reassign) => {
                t.escalation_level = 2;
                let (_, technicians) = on_duty_staff(conn, cfg, &t.region_id, now)?;
                let pool = candidates(conn, &technicians)?;
                let current = t.assignee_id.clone().unwrap_or_default();
                let point = t.lat.zip(t.lon);
                let next = rank(&pool, point, now.and_utc(), &[current.as_str()])
                    .first()
                    .map(|c| c.user_id.clone());
                match next {
                    Some(to) => {
                        // hand_over resets the level for a dispatcher's reassignment; the
                        // escalation chain goes on from level 2 for the engine's.
                        hand_over_keeping_level(conn, cfg, &mut t, &to, now)?;
                        event(
                            conn,
                            &t,
                            now,
                            &system,
                            "escalated",
                            json!({"level": 2, "step": "reassign", "from": current, "to": to, "deadline": due_at}),
                            None,
                        )?;
                    }
                    None => {
                        t.set_status(transition(t.status()?, Action::Assign).map(|_| Status::New)?);
                        t.assignee_id = None;
                        t.flagged = true;
                        t.flag_reason =
                            Some("not contacted in time and no other technician on duty".into());
                        event(
                            conn,
                            &t,
                            now,
                            &system,
                            "escalated",
                            json!({"level": 2, "step": "to_dispatcher_queue", "from": current, "deadline": due_at}),
                            None,
                        )?;
                        for d in staff(conn, &t.region_id, Role::Dispatcher)? {
                            notify(conn, cfg, &t, &d, Purpose::DispatcherQueue, now)?;
                        }
                    }
                }
            }
            Check::Escalation(EscalationStep::NotifyManager) => {
                t.escalation_level = 3;
                let managers = staff(conn, &t.region_id, Role::Manager)?;
                event(
                    conn,
                    &t,
                    now,
                    &system,
                    "escalated",
                    json!({"level": 3, "step": "notify_manager", "notified": managers.len(), "deadline": due_at}),
                    None,
                )?;
                for m in &managers {
                    notify(conn, cfg, &t, m, Purpose::ManagerAlert, now)?;
                }
            }
            Check::Arrival => {
                t.arrival_on_time = Some(false);
                event(conn, &t, now, &system, "arrival_overdue", late, None)?;
                let (managers, _) = on_duty_staff(conn, cfg, &t.region_id, now)?;
                for m in &managers {
                    notify(conn, cfg, &t, m, Purpose::ArrivalOverdue, now)?;
                }
            }
            Check::Resolve => {
                t.resolve_on_time = Some(false);
                t.flagged = true;
                t.flag_reason = Some("not resolved by the promised time".into());
                event(conn, &t, now, &system, "resolve_overdue", late, None)?;
                let (managers, _) = on_duty_staff(conn, cfg, &t.region_id, now)?;
                for m in &managers {
                    notify(conn, cfg, &t, m, Purpose::ResolveOverdue, now)?;
                }
            }
        }
        applied.push(check);
    }
    if applied.is_empty() {
        // Nothing was due after all (a deadline stored by older rules): store the right one.
        let stored = t.next_deadline_at;
        super::reschedule(&mut t, &policy)?;
        if t.next_deadline_at == stored || t.version != read_version {
            return Ok(applied);
        }
    }
    // Saving checks the version read at the start (or advanced by this step's own saves), so a
    // step another instance already applied fails here and its transaction rolls back.
    match save(conn, &mut t, cfg, now) {
        Ok(()) => Ok(applied),
        Err(FlowError::Changed) => Err(FlowError::Conflict(
            "another instance stepped this ticket".into(),
        )),
        Err(e) => Err(e),
    }
}

fn hand_over_keeping_level(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    t: &mut tickets::TicketRow,
    to: &str,
    now: NaiveDateTime,
) -> FlowResult<()> {
    // The contact deadline of the reassignment is the original one: the customer has waited.
    let keep_due = t.assignment_ack_due_at;
    hand_over(conn, cfg, t, to, now)?;
    t.escalation_level = 2;
    t.assignment_ack_due_at = keep_due;
    Ok(())
}
