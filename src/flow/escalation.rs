//! The engine's step for one ticket: apply every check that came due, in deadline order, then
//! reschedule. Runs in one transaction that first takes the ticket's row (`FOR UPDATE SKIP
//! LOCKED` on PostgreSQL: a ticket another instance is stepping is skipped); the version check
//! then makes a step another instance applied in the meantime roll back instead of firing twice.

use chrono::NaiveDateTime;
use serde_json::json;

use super::actions::hand_over;
use super::messages::Purpose;
use super::{
    candidates, event, notify_naming, on_duty_staff, save, staff, Actor, FlowConfig, FlowError,
    FlowResult,
};
use crate::db::DbConn;
use crate::domain::routing::rank;
use crate::domain::sla::{due_check, Check, EscalationStep, Stage, LAST_LEVEL};
use crate::domain::ticket::{transition, Action, Flag, Status};
use crate::domain::Role;
use crate::store::users::{self, UserRow};
use crate::store::{assignments, tickets};

/// Applies what is due on ticket `id` at `now`. Answers the checks applied (none when another
/// instance got there first or nothing is due any more).
///
/// After downtime several steps may be due at once: they are applied in deadline order, each
/// event recording its deadline beside the time it was applied, and the messages are queued
/// only at the end, so none goes out that a later step of the same pass made pointless (no
/// "act now" to a technician in the pass that takes the ticket from them).
pub fn step(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    id: &str,
    now: NaiveDateTime,
) -> FlowResult<Vec<Check>> {
    // Another instance stepping this ticket right now holds its row: leave it to them.
    if !crate::store::dialect::lock_ticket_for_step(conn, id)? {
        return Ok(vec![]);
    }
    let Some(mut t) = tickets::get(conn, id)? else {
        return Ok(vec![]);
    };
    let read_version = t.version;
    let policy = super::ticket_policy(conn, cfg, &t)?;
    let mut applied = Vec::new();
    let mut outbox: Vec<(UserRow, Purpose)> = Vec::new();
    let mut taken_from: Vec<String> = Vec::new();
    while let Some((due_at, check)) = due_check(&t.clocks()?, &policy, now.and_utc()) {
        let system = Actor::system();
        let late = json!({"deadline": due_at, "applied_at": now.and_utc()});
        match check {
            Check::Dispatch => {
                t.miss(Stage::Dispatch);
                t.flag(Flag::NotPushed {
                    minutes: policy.dispatch.num_minutes(),
                });
                event(conn, &t, now, &system, "dispatch_overdue", late, None)?;
                // A push held up by an SMS platform outage: the dispatchers were told of the
                // outage once, not of each ticket it held up.
                if !crate::store::notifications::outage_since(conn, t.created_at)? {
                    for d in staff(conn, &t.region_id, Role::Dispatcher)? {
                        outbox.push((d, Purpose::DispatchOverdue));
                    }
                }
            }
            Check::Escalation(EscalationStep::Renotify) => {
                t.escalation_level += 1;
                t.miss(Stage::Contact);
                assignments::contact_missed(conn, &t.id)?;
                event(
                    conn,
                    &t,
                    now,
                    &system,
                    "escalated",
                    json!({"level": t.escalation_level, "step": "renotify", "to": t.assignee_id,
                           "deadline": due_at, "applied_at": now.and_utc()}),
                    None,
                )?;
                if let Some(u) = t
                    .assignee_id
                    .as_deref()
                    .map(|a| users::find_row(conn, a))
                    .transpose()?
                    .flatten()
                {
                    outbox.push((u, Purpose::AckOverdue));
                }
                let (managers, _) = on_duty_staff(conn, cfg, &t.region_id, now)?;
                for m in managers {
                    outbox.push((m, Purpose::AckOverdue));
                }
            }
            Check::Escalation(EscalationStep::Reassign) => {
                t.escalation_level += 1;
                let (managers, technicians) = on_duty_staff(conn, cfg, &t.region_id, now)?;
                let pool = candidates(conn, &technicians)?;
                let current = t.assignee_id.clone().unwrap_or_default();
                let point = t.lat.zip(t.lon);
                let next = rank(&pool, point, now.and_utc(), &[current.as_str()])
                    .first()
                    .map(|c| c.user_id.clone());
                match next {
                    Some(to) => {
                        // The new holder gets a contact clock of their own; the ladder goes on
                        // from here (their reminder, then the managers).
                        let level = t.escalation_level;
                        hand_over(conn, cfg, &mut t, &to, now)?;
                        t.escalation_level = level;
                        event(
                            conn,
                            &t,
                            now,
                            &system,
                            "escalated",
                            json!({"level": level, "step": "reassign", "from": current, "to": to,
                                   "ack_due_at": t.assignment_ack_due_at.map(|d| d.and_utc()),
                                   "deadline": due_at, "applied_at": now.and_utc()}),
                            None,
                        )?;
                        if let Some(previous) = users::find_row(conn, &current)? {
                            taken_from.push(previous.id.clone());
                            outbox.push((previous, Purpose::TakenAway));
                        }
                        for m in managers {
                            outbox.push((m, Purpose::HolderChanged));
                        }
                    }
                    None => {
                        t.status = transition(t.status, Action::Assign).map(|_| Status::New)?;
                        assignments::end(conn, &t.id, now)?;
                        t.assignee_id = None;
                        // Nobody to remind: the managers are told an interval after this
                        // step's deadline, as the dispatcher's deadline.
                        t.escalation_level = LAST_LEVEL - 1;
                        t.assignment_ack_due_at = Some(due_at.naive_utc());
                        t.flag(Flag::NotContactedNoOtherTechnician);
                        event(
                            conn,
                            &t,
                            now,
                            &system,
                            "escalated",
                            json!({"level": 2, "step": "to_dispatcher_queue", "from": current,
                                   "deadline": due_at, "applied_at": now.and_utc()}),
                            None,
                        )?;
                        if let Some(previous) = users::find_row(conn, &current)? {
                            taken_from.push(previous.id.clone());
                            outbox.push((previous, Purpose::TakenAway));
                        }
                        for d in staff(conn, &t.region_id, Role::Dispatcher)? {
                            outbox.push((d, Purpose::DispatcherQueue));
                        }
                    }
                }
            }
            Check::Escalation(EscalationStep::NotifyManager) => {
                t.escalation_level = LAST_LEVEL;
                let managers = staff(conn, &t.region_id, Role::Manager)?;
                event(
                    conn,
                    &t,
                    now,
                    &system,
                    "escalated",
                    json!({"level": LAST_LEVEL, "step": "notify_manager", "notified": managers.len(),
                           "deadline": due_at, "applied_at": now.and_utc()}),
                    None,
                )?;
                for m in managers {
                    outbox.push((m, Purpose::ManagerAlert));
                }
            }
            Check::Arrival => {
                t.miss(Stage::Arrival);
                event(conn, &t, now, &system, "arrival_overdue", late, None)?;
                let (managers, _) = on_duty_staff(conn, cfg, &t.region_id, now)?;
                for m in managers {
                    outbox.push((m, Purpose::ArrivalOverdue));
                }
            }
            Check::Resolve => {
                t.miss(Stage::Resolve);
                t.flag(Flag::NotResolved);
                event(conn, &t, now, &system, "resolve_overdue", late, None)?;
                let (managers, _) = on_duty_staff(conn, cfg, &t.region_id, now)?;
                for m in managers {
                    outbox.push((m, Purpose::ResolveOverdue));
                }
            }
        }
        applied.push(check);
    }
    // The holder the messages name, read once for all of them.
    let names_holder = outbox.iter().any(|(_, p)| cfg.templates.names_holder(*p));
    let holder = match &t.assignee_id {
        Some(id) if names_holder => users::find_row(conn, id)?,
        _ => None,
    };
    for (to, purpose) in outbox {
        // A reminder to a technician this pass took the ticket from would ask them to act on
        // a ticket that is no longer theirs.
        let pointless = purpose == Purpose::AckOverdue && taken_from.contains(&to.id);
        if !pointless {
            notify_naming(conn, cfg, &t, &to, purpose, holder.as_ref(), now)?;
        }
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
