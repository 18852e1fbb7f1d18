//! The repair-upon-report flow over the store: intake with routing to the on-duty staff, the
//! technician's and dispatcher's actions, and the engine's escalation steps. Every function runs
//! inside the caller's write transaction, so a ticket change, its timeline events and its outbox
//! messages commit together.

pub mod actions;
pub mod analysis;
pub mod brief;
pub mod callbacks;
pub mod complaints;
pub mod customers;
pub mod escalation;
pub mod intake;
pub mod messages;
pub mod outbox;
pub mod photos;
pub mod postponement;
pub mod province;
pub mod replies;
pub mod report;
pub mod storms;
pub mod visits;

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;
use serde_json::Value;

use crate::db::DbConn;
use crate::domain::calendar::{BusinessCalendar, CalendarSpec};
use crate::domain::device_time::Timing;
use crate::domain::duty::{on_duty, DutyRole};
use crate::domain::routing::Candidate;
use crate::domain::sla::{self, SlaPolicy};
use crate::domain::ticket::{IllegalTransition, TicketKind};
use crate::domain::{new_id, Invalid, Role};
use crate::store::notifications::{self, NotificationRow};
use crate::store::tickets::{self, EventRow, TicketRow};
use crate::store::users::{self, UserFilter, UserRow};
use crate::store::{duty, policies, tickets as ticket_store};
use messages::Purpose;

/// The rules in force.
#[derive(Debug, Clone)]
pub struct FlowConfig {
    pub policy: SlaPolicy,
    pub tz: Tz,
    /// A check-in farther than this from the customer's location is flagged.
    pub far_check_in_m: f64,
    /// Message texts.
    pub templates: std::sync::Arc<messages::Templates>,
    /// Which resolved tickets get a callback, and how unreachable customers are retried.
    pub callbacks: callbacks::CallbackConfig,
    /// Which phone times of queued actions are believed.
    pub device_time: crate::domain::device_time::DeviceTimeRule,
    /// How long technicians' position fixes are kept.
    pub track_retention: chrono::Duration,
    /// Network faults: when calls add up to one, and how its linked calls are counted.
    pub storms: storms::StormConfig,
    /// What customers are sent, and when.
    pub customers: customers::CustomerConfig,
    /// The local time the team leaders get the morning brief; None: not sent.
    pub brief_at: Option<chrono::NaiveTime>,
    /// How long complaints may take, and how a late one climbs the ladder.
    pub complaint_clock: crate::domain::complaint::ClockRule,
}

/// When a technician's action reached the server, and when the phone says it was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct When {
    pub received: NaiveDateTime,
    pub device: Option<NaiveDateTime>,
}

impl From<NaiveDateTime> for When {
    fn from(received: NaiveDateTime) -> Self {
        When {
            received,
            device: None,
        }
    }
}

impl When {
    /// The time that counts for an action on `t`, by the deployment's rule.
    pub fn judge(&self, cfg: &FlowConfig, t: &TicketRow) -> Timing {
        cfg.device_time
            .judge(self.device, self.received, t.previous_step_at())
    }
}

/// What an event records of its timing when the phone gave a time: both times and whether the
/// phone's was believed.
pub fn timing_detail(detail: &mut Value, timing: &Timing) {
    if let (Some(device), Value::Object(map)) = (timing.device_at, detail) {
        map.insert(
            "timing".into(),
            serde_json::json!({
                "device_at": device.and_utc(),
                "received_at": timing.received_at.and_utc(),
                "counted": if timing.by_device() { "device" } else { "receipt" },
                "refused": timing.refused.map(|r| r.as_str()),
            }),
        );
    }
}

/// Why a flow step was refused.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    /// The ticket was saved by someone else (another request, the engine, the SMS sender)
    /// between this transaction's read and its save.
    #[error("the ticket changed while this request was handled; reload it and retry")]
    Changed,
    /// A new ticket's `external_ref` was taken by a concurrent intake.
    #[error("this external_ref is already used")]
    ExternalRefTaken,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
    #[error(transparent)]
    Store(#[from] crate::db::DbError),
}

pub type FlowResult<T> = Result<T, FlowError>;

/// For background tasks, whose errors are database errors: a refusal becomes a task error.
impl From<FlowError> for crate::db::DbError {
    fn from(e: FlowError) -> Self {
        match e {
            FlowError::Db(q) => crate::db::DbError::Query(q),
            FlowError::Store(s) => s,
            other => crate::db::DbError::Task(other.to_string()),
        }
    }
}

/// Who did something.
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    /// `user`, `api_key`, `system` or `customer` (an SMS answer from the ticket's customer).
    pub kind: &'static str,
    pub id: Option<String>,
}

impl Actor {
    pub fn system() -> Self {
        Actor {
            kind: "system",
            id: None,
        }
    }

    pub fn customer() -> Self {
        Actor {
            kind: "customer",
            id: None,
        }
    }

    pub fn user(id: &str) -> Self {
        Actor {
            kind: "user",
            id: Some(id.to_string()),
        }
    }

    pub fn api_key(id: &str) -> Self {
        Actor {
            kind: "api_key",
            id: Some(id.to_string()),
        }
    }

    /// Who to record as having done it: the user or API key, else the kind (`system`).
    pub fn name(&self) -> String {
        self.id.clone().unwrap_or_else(|| self.kind.to_string())
    }

    /// The signed-in user, if a user did it.
    pub fn user_id(&self) -> Option<&str> {
        self.id.as_deref().filter(|_| self.kind == "user")
    }
}

fn naive(t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc()
}

/// Appends one event to a ticket's timeline.
pub fn event(
    conn: &mut DbConn,
    t: &TicketRow,
    at: NaiveDateTime,
    actor: &Actor,
    kind: &str,
    detail: Value,
    place: Option<(f64, f64)>,
) -> FlowResult<()> {
    tickets::append_event(
        conn,
        &EventRow {
            id: new_id(),
            ticket_id: t.id.clone(),
            region_id: t.region_id.clone(),
            at,
            actor_kind: actor.kind.to_string(),
            actor_id: actor.id.clone(),
            kind: kind.to_string(),
            detail: detail.to_string(),
            lat: place.map(|p| p.0),
            lon: place.map(|p| p.1),
        },
    )?;
    // The assignee's phone app and the region's boards hear of every change to the ticket.
    crate::store::feed::append(
        conn,
        t.assignee_id.as_deref(),
        &t.region_id,
        &t.id,
        kind,
        at,
        &detail.to_string(),
    )?;
    Ok(())
}

/// Queues an SMS about `t` to `user` (skipped, with a warning, when they have no phone).
pub fn notify(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    t: &TicketRow,
    user: &UserRow,
    purpose: Purpose,
    now: NaiveDateTime,
) -> FlowResult<bool> {
    let holder = match &t.assignee_id {
        Some(id) if cfg.templates.names_holder(purpose) && id != &user.id => {
            users::find_row(conn, id)?
        }
        _ => None,
    };
    notify_naming(conn, cfg, t, user, purpose, holder.as_ref(), now)
}

/// [`notify`] when the caller already holds the ticket's holder (`holder`), or the recipient is
/// the holder (None).
pub fn notify_naming(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    t: &TicketRow,
    user: &UserRow,
    purpose: Purpose,
    holder: Option<&UserRow>,
    now: NaiveDateTime,
) -> FlowResult<bool> {
    let holder = holder.or(t
        .assignee_id
        .as_ref()
        .filter(|id| *id == &user.id)
        .map(|_| user));
    let text = cfg.templates.render(
        purpose,
        t,
        cfg.tz,
        holder.map(|h| (h.display_name.as_str(), h.phone.as_deref().unwrap_or(""))),
    );
    queue_sms(
        conn,
        &t.region_id,
        Some(&t.id),
        user,
        purpose.as_str(),
        &text,
        now,
    )
}

/// Queues an SMS with a given text to `user`.
pub fn queue_sms(
    conn: &mut DbConn,
    region_id: &str,
    ticket_id: Option<&str>,
    user: &UserRow,
    purpose: &str,
    body: &str,
    now: NaiveDateTime,
) -> FlowResult<bool> {
    let Some(phone) = &user.phone else {
        tracing::warn!(user = %user.username, ?ticket_id, "no phone number: SMS not queued");
        return Ok(false);
    };
    notifications::insert(
        conn,
        &NotificationRow::pending(
            region_id,
            ticket_id,
            Some(&user.id),
            phone,
            purpose,
            body,
            now,
        ),
    )?;
    Ok(true)
}

/// Active users of a region with a role.
pub fn staff(conn: &mut DbConn, region_id: &str, role: Role) -> FlowResult<Vec<UserRow>> {
    let ids: Vec<String> = users::list(
        conn,
        &UserFilter {
            role: Some(role),
            region_id: Some(region_id.to_string()),
        },
    )?
    .into_iter()
    .filter(|u| u.active)
    .map(|u| u.id)
    .collect();
    rows(conn, &ids)
}

/// The users with these ids, in the order given.
fn rows(conn: &mut DbConn, ids: &[String]) -> FlowResult<Vec<UserRow>> {
    let mut found = users::find_rows(conn, ids)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(i) = found.iter().position(|u| &u.id == id) {
            out.push(found.swap_remove(i));
        }
    }
    Ok(out)
}

/// The people on duty in a region at `now`: account managers and technicians (active users
/// whose role matches their duty).
pub fn on_duty_staff(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    region_id: &str,
    now: NaiveDateTime,
) -> FlowResult<(Vec<UserRow>, Vec<UserRow>)> {
    let (rotations, overrides) = duty::roster(conn, region_id, now)?;
    let people = on_duty(&rotations, &overrides, now.and_utc(), cfg.tz);
    let ids: Vec<String> = people.iter().map(|(id, _)| id.clone()).collect();
    let found = users::find_rows(conn, &ids)?;
    let mut managers = Vec::new();
    let mut technicians = Vec::new();
    for (user_id, role) in people {
        let Some(u) = found.iter().find(|u| u.id == user_id).cloned() else {
            continue;
        };
        let expected = match role {
            DutyRole::AccountManager => Role::AccountManager,
            DutyRole::Technician => Role::Technician,
        };
        if !u.active || u.role()? != expected {
            continue;
        }
        match role {
            DutyRole::AccountManager => managers.push(u),
            DutyRole::Technician => technicians.push(u),
        }
    }
    Ok((managers, technicians))
}

/// Routing candidates from a list of technicians: their open tickets and last positions.
pub fn candidates(conn: &mut DbConn, technicians: &[UserRow]) -> FlowResult<Vec<Candidate>> {
    let ids: Vec<String> = technicians.iter().map(|u| u.id.clone()).collect();
    let counts = ticket_store::open_counts(conn, &ids)?;
    let positions = duty::positions(conn, &ids)?;
    Ok(candidates_from(technicians, &counts, &positions))
}

/// An on-duty technician a dispatcher might give a ticket to.
#[derive(Debug, Clone)]
pub struct Suggestion {
    pub user: UserRow,
    pub open_tickets: i64,
    /// Metres from their last fresh position to the ticket.
    pub distance_m: Option<f64>,
    pub position_at: Option<NaiveDateTime>,
    /// They hold the ticket now.
    pub holder: bool,
}

/// The technicians on duty in the ticket's region now, in the order routing would pick them
/// (nearest, then fewest open tickets, then name).
pub fn suggestions(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    t: &TicketRow,
    now: NaiveDateTime,
) -> FlowResult<Vec<Suggestion>> {
    let (_, technicians) = on_duty_staff(conn, cfg, &t.region_id, now)?;
    let pool = candidates(conn, &technicians)?;
    let point = t.lat.zip(t.lon);
    let now = now.and_utc();
    Ok(crate::domain::routing::rank(&pool, point, now, &[])
        .into_iter()
        .filter_map(|c| {
            let user = technicians.iter().find(|u| u.id == c.user_id)?.clone();
            Some(Suggestion {
                holder: t.assignee_id.as_deref() == Some(c.user_id.as_str()),
                open_tickets: c.open_tickets,
                distance_m: c.distance_to(point, now),
                position_at: c.position.map(|(_, _, at)| at.naive_utc()),
                user,
            })
        })
        .collect())
}

/// Routing candidates from technicians, their open-ticket counts and their last positions.
pub fn candidates_from(
    technicians: &[UserRow],
    counts: &[(String, i64)],
    positions: &[duty::PositionRow],
) -> Vec<Candidate> {
    technicians
        .iter()
        .map(|u| Candidate {
            user_id: u.id.clone(),
            username: u.username.clone(),
            open_tickets: counts
                .iter()
                .find(|(id, _)| *id == u.id)
                .map(|(_, n)| *n)
                .unwrap_or(0),
            position: positions
                .iter()
                .find(|p| p.user_id == u.id)
                .map(|p| (p.lat, p.lon, p.at.and_utc())),
        })
        .collect()
}

/// The SLA policy of a region and kind of work: the configured defaults, with the region's
/// promise and business calendar when it set them.
pub fn policy_for(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    region_id: &str,
    kind: TicketKind,
) -> FlowResult<SlaPolicy> {
    let mut policy = cfg.policy.clone();
    if let Some(row) = policies::get(conn, region_id, kind.as_str())? {
        if let Some(m) = row.promise_minutes {
            let d = chrono::Duration::minutes(m as i64);
            match kind {
                TicketKind::Repair => policy.promise_repair = d,
                TicketKind::Install => policy.promise_install = d,
            }
        }
        if let Some(text) = row.calendar {
            let spec: CalendarSpec =
                serde_json::from_str(&text).map_err(|e| crate::store::corrupt("calendar", e))?;
            let cal = BusinessCalendar::parse("calendar", &spec)
                .map_err(|e| crate::store::corrupt("calendar", e))?;
            policy.calendar = Some((cal, cfg.tz));
        }
    }
    Ok(policy)
}

/// The policy governing a ticket.
pub fn ticket_policy(conn: &mut DbConn, cfg: &FlowConfig, t: &TicketRow) -> FlowResult<SlaPolicy> {
    policy_for(conn, cfg, &t.region_id, t.kind)
}

/// Recomputes the ticket's next deadline from its clocks.
pub fn reschedule(t: &mut TicketRow, policy: &SlaPolicy) -> FlowResult<()> {
    let clocks = t.clocks()?;
    t.next_deadline_at = sla::next_deadline(&clocks, policy).map(naive);
    Ok(())
}

/// How many times a request's action is tried when the ticket keeps changing under it.
pub const CHANGED_TRIES: usize = 3;

/// Runs `attempt` again while it fails with [`FlowError::Changed`], at most `tries` times in
/// all (for a request's action, [`CHANGED_TRIES`]): a ticket saved by a background writer between an action's read and its save is acted on
/// again in its new state, as if the request had come a moment later.
pub async fn retry_changed<T, Fut>(tries: usize, mut attempt: impl FnMut() -> Fut) -> FlowResult<T>
where
    Fut: std::future::Future<Output = FlowResult<T>>,
{
    let mut tried = 1;
    loop {
        match attempt().await {
            Err(FlowError::Changed) if tried < tries => tried += 1,
            result => return result,
        }
    }
}

/// Saves a ticket changed in this transaction; a concurrent change is a conflict.
pub fn save(
    conn: &mut DbConn,
    t: &mut TicketRow,
    cfg: &FlowConfig,
    now: NaiveDateTime,
) -> FlowResult<()> {
    let policy = ticket_policy(conn, cfg, t)?;
    reschedule(t, &policy)?;
    t.updated_at = now;
    if !ticket_store::save(conn, t)? {
        return Err(FlowError::Changed);
    }
    if !t.status.is_open() {
        // A wish for a later visit means nothing once the ticket is finished.
        crate::store::postponements::close_pending(
            conn,
            &t.id,
            crate::domain::postponement::RequestStatus::Lapsed,
            now,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn run(failures: usize, tries: usize) -> (FlowResult<&'static str>, usize) {
        let mut calls = 0;
        let result = retry_changed(tries, || {
            calls += 1;
            let changed = calls <= failures;
            async move {
                if changed {
                    Err(FlowError::Changed)
                } else {
                    Ok("saved")
                }
            }
        })
        .await;
        (result, calls)
    }

    #[tokio::test]
    async fn an_action_is_tried_again_while_the_ticket_changed_under_it() {
        let (result, calls) = run(2, 3).await;
        assert_eq!(result.unwrap(), "saved");
        assert_eq!(calls, 3);
        let (result, calls) = run(3, 3).await;
        assert!(matches!(result, Err(FlowError::Changed)), "{result:?}");
        assert_eq!(calls, 3, "three tries at most");
        let (result, calls) = run(0, 3).await;
        assert_eq!(result.unwrap(), "saved");
        assert_eq!(calls, 1);
    }

    #[tokio::test]
    async fn other_refusals_are_not_tried_again() {
        let mut calls = 0;
        let result: FlowResult<()> = retry_changed(3, || {
            calls += 1;
            async { Err(FlowError::Conflict("day already closed".into())) }
        })
        .await;
        assert!(matches!(result, Err(FlowError::Conflict(_))));
        assert_eq!(calls, 1);
    }
}
