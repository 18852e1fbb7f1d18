//! Network faults over the store: calls adding up to a suspected fault, new calls linked to an
//! open one instead of being routed one by one, one message to the on-duty staff then a digest,
//! the callers told, and the linked tickets' stages settled by the fault's own events.

use chrono::{Duration, NaiveDateTime};
use diesel::Connection;
use serde_json::json;

use super::actions::hand_over;
use super::replies::ReplyOutcome;
use super::{event, on_duty_staff, save, staff, Actor, FlowConfig, FlowError, FlowResult};
use crate::db::DbConn;
use crate::domain::routing::rank;
use crate::domain::sla::Stage;
use crate::domain::storm::{
    linked_stages, suspect, Call, Cause, FaultAction, FaultStatus, StormRule,
};
use crate::domain::ticket::Status;
use crate::domain::{new_id, Invalid, PhoneNumber, RegionScope, Role};
use crate::store::network_faults::{self as faults, FaultRow};
use crate::store::notifications::{self, NotificationRow};
use crate::store::tickets::{self, TicketRow};
use crate::store::users::UserRow;

/// How network faults are detected, promised and counted.
#[derive(Debug, Clone)]
pub struct StormConfig {
    pub rule: StormRule,
    /// Restoration promised this long after a fault is opened.
    pub promise: Duration,
    /// Whether the customer's notice that the fault is known settles a linked ticket's
    /// contact stage (judged against its 20-minute deadline); otherwise that stage stays open.
    pub notice_is_contact: bool,
}

impl Default for StormConfig {
    fn default() -> Self {
        StormConfig {
            rule: StormRule::default(),
            promise: Duration::hours(4),
            notice_is_contact: true,
        }
    }
}

/// Purposes of the messages about a fault. To the on-duty staff:
pub const SUSPECTED: &str = "fault_suspected";
pub const DIGEST: &str = "fault_digest";
pub const RESTORED: &str = "fault_restored";
/// To the region's managers, once:
pub const CONFIRMED: &str = "fault_confirmed";
/// To each linked caller: the fault is known (with the estimate), the estimate moved, service
/// is back (reply 1 if not), and their own repair after replying so.
pub const KNOWN: &str = "fault_known";
pub const ESTIMATE: &str = "fault_estimate";
pub const SERVICE_BACK: &str = "fault_service_back";
pub const SPLIT: &str = "fault_split";
/// To the crew's lead, when the fault is given to the crew.
pub const CREW: &str = "fault_crew";
/// To the region's dispatchers, when the crew's lead did not acknowledge in time.
pub const CREW_OVERDUE: &str = "fault_crew_overdue";

/// The purposes whose acceptance tells that the on-duty staff heard of the fault.
const TO_STAFF: [&str; 2] = [SUSPECTED, DIGEST];

/// The most calls linked by one detection or one opening: more are linked as they call again,
/// or by a dispatcher's link.
const MAX_LINKED_AT_ONCE: i64 = 2_000;

/// How long after the restoration a caller's "still broken" reply opens a repair.
pub const REPLY_WINDOW: Duration = Duration::hours(72);

/// A call as the storm rules see it.
pub fn call_of(t: &TicketRow) -> Call {
    Call {
        at: t.created_at.and_utc(),
        district_id: t.district_id.clone(),
        point: t.lat.zip(t.lon),
        category: t.fault_category.clone(),
    }
}

/// The open fault of the ticket's region that explains this call, if any (the oldest).
pub fn covering(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    t: &TicketRow,
) -> FlowResult<Option<FaultRow>> {
    let rule = &cfg.storms.rule;
    if t.follow_up_of.is_some() || !rule.explains(&t.fault_category) {
        return Ok(None);
    }
    let call = call_of(t);
    Ok(faults::open_in_region(conn, &t.region_id)?
        .into_iter()
        .find(|f| f.area().covers(rule, &call)))
}

/// A new call linked to `fault` at intake, before its insert: no routing, no clock of its own.
/// Its dispatch is settled now when the staff already heard of the fault.
pub fn link_new(t: &mut TicketRow, fault: &FaultRow, now: NaiveDateTime) {
    t.network_fault_id = Some(fault.id.clone());
    if fault.pushed_at.is_some() {
        t.settle(Stage::Dispatch, now);
    }
    t.next_deadline_at = None;
}

/// After a linked call's insert: its timeline, the fault's count, the caller's notice when the
/// fault is confirmed, and the fault's own confirmation when the count reaches the threshold.
pub fn linked_at_intake(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    t: &TicketRow,
    fault: &FaultRow,
    now: NaiveDateTime,
) -> FlowResult<()> {
    event(
        conn,
        t,
        now,
        &Actor::system(),
        "linked_to_fault",
        json!({"network_fault_id": fault.id, "fault_status": fault.status.as_str(),
               "by": "intake", "dispatch_settled_by_fault": t.pushed_at.is_some()}),
        None,
    )?;
    if fault.status == FaultStatus::Confirmed {
        tell_caller(conn, cfg, t, fault, KNOWN, now)?;
    }
    let calls = faults::linked_count(conn, &fault.id)? as usize;
    if fault.status == FaultStatus::Suspected
        && cfg.storms.rule.auto_confirm_at.is_some_and(|n| calls >= n)
    {
        confirm(
            conn,
            cfg,
            &fault.id,
            &Actor::system(),
            &RegionScope::All,
            now,
        )?;
    }
    Ok(())
}

/// After an ordinary call was routed: whether it and the region's recent calls add up to a
/// suspected fault. If so the fault is opened over the call's district and surroundings, the
/// calls are linked (their clocks stop) and the on-duty staff get one message. A race with
/// another intake opening the same district's fault, or with a change to one of the calls,
/// leaves the call routed as it is: the next call will be linked.
pub fn detect(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    t: &TicketRow,
    now: NaiveDateTime,
) -> FlowResult<Option<FaultRow>> {
    let rule = &cfg.storms.rule;
    if t.follow_up_of.is_some() || !rule.explains(&t.fault_category) {
        return Ok(None);
    }
    let near = faults::Nearby {
        region_id: t.region_id.clone(),
        since: now - rule.window,
        after: match &t.district_id {
            Some(d) => faults::last_dismissed(conn, d)?,
            None => None,
        },
        categories: rule.categories.clone(),
        district_id: t.district_id.clone(),
        bbox: call_of(t)
            .point
            .map(|p| faults::Nearby::around(p, rule.radius_m)),
    };
    // Counted first: most calls are far from a storm, and a busy region's calls are many.
    if (faults::count_recent_calls(conn, &near)? as usize) < rule.calls {
        return Ok(None);
    }
    let recent: Vec<(String, Call)> = faults::recent_calls(conn, &near, MAX_LINKED_AT_ONCE)?
        .into_iter()
        .filter(|(id, _)| id != &t.id)
        .collect();
    let calls: Vec<Call> = recent.iter().map(|(_, c)| c.clone()).collect();
    let Some(cluster) = suspect(rule, &calls, &call_of(t)) else {
        return Ok(None);
    };
    let mut ids: Vec<String> = cluster.into_iter().map(|i| recent[i].0.clone()).collect();
    ids.push(t.id.clone());
    // In a savepoint: a call changed meanwhile (its push accepted) is read again; another
    // intake opening the district's fault first leaves this call as it is.
    for _ in 0..super::CHANGED_TRIES {
        let opened = conn.transaction::<_, FlowError, _>(|conn| {
            open_detected(conn, cfg, t, &ids, now).map(Some)
        });
        match opened {
            Err(FlowError::Changed) => continue,
            Err(FlowError::Db(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ))) => {
                tracing::info!(ticket = %t.id, "another call opened the network fault meanwhile");
                return Ok(None);
            }
            other => return other,
        }
    }
    tracing::warn!(ticket = %t.id, "the calls kept changing: the network fault waits for the next call");
    Ok(None)
}

fn open_detected(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    t: &TicketRow,
    ids: &[String],
    now: NaiveDateTime,
) -> FlowResult<FaultRow> {
    let rule = &cfg.storms.rule;
    let area = area_name(conn, t.district_id.as_deref(), &t.address)?;
    let opening = Reported {
        region_id: t.region_id.clone(),
        district_id: t.district_id.clone(),
        circle: t.lat.zip(t.lon).map(|p| (p, rule.radius_m)),
        cause: Cause::Detected,
        title: format!("{area} {}报修集中", t.fault_category),
        estimate_at: None,
        link_open: false,
    };
    let mut fault = insert_opened(conn, cfg, &opening, &Actor::system(), now)?;
    let linked = link_tickets(conn, cfg, &fault, ids, &Actor::system(), "detection", now)?;
    let text = format!(
        "【疑似网络故障】{area}：{}分钟内{}起“{}”报修，疑似线路故障，后续同类报修将自动归并，请核实并在系统中确认。",
        rule.window.num_minutes(),
        linked,
        t.fault_category
    );
    tell_staff(conn, cfg, &mut fault, SUSPECTED, &text, now)?;
    if rule.auto_confirm_at.is_some_and(|n| linked >= n) {
        confirm(
            conn,
            cfg,
            &fault.id,
            &Actor::system(),
            &RegionScope::All,
            now,
        )?;
        return faults::get(conn, &fault.id)?
            .ok_or_else(|| FlowError::NotFound("network fault vanished".into()));
    }
    Ok(fault)
}

/// Links tickets to `fault`: open ones of its region not linked elsewhere. Their clocks stop;
/// their dispatch is settled when the staff already heard of the fault. Answers how many
/// were linked; the fault's count is raised by as many.
fn link_tickets(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    fault: &FaultRow,
    ids: &[String],
    actor: &Actor,
    by: &str,
    now: NaiveDateTime,
) -> FlowResult<usize> {
    let mut linked = 0;
    for mut t in tickets::get_many(conn, ids)? {
        if t.region_id != fault.region_id {
            return Err(Invalid::new("ticket_ids", "a ticket is in another region").into());
        }
        if !t.status.is_open() || t.network_fault_id.is_some() {
            continue;
        }
        t.network_fault_id = Some(fault.id.clone());
        if let Some(pushed) = fault.pushed_at.filter(|_| t.pushed_at.is_none()) {
            t.settle(Stage::Dispatch, pushed.max(t.created_at).max(now));
        }
        if t.ack_due_at.is_none() {
            let policy = super::ticket_policy(conn, cfg, &t)?;
            t.ack_due_at = Some(
                policy
                    .after(t.created_at.and_utc(), policy.acknowledge)
                    .naive_utc(),
            );
        }
        save(conn, &mut t, cfg, now)?;
        event(
            conn,
            &t,
            now,
            actor,
            "linked_to_fault",
            json!({"network_fault_id": fault.id, "fault_status": fault.status.as_str(), "by": by}),
            None,
        )?;
        if fault.status == FaultStatus::Confirmed {
            tell_caller(conn, cfg, &t, fault, KNOWN, now)?;
        }
        linked += 1;
    }
    if linked > 0 {
        fault_event(
            conn,
            &fault.id,
            now,
            actor,
            "linked",
            json!({"tickets": linked, "by": by}),
        )?;
    }
    Ok(linked)
}

/// Appends an entry to the fault's own timeline.
fn fault_event(
    conn: &mut DbConn,
    fault_id: &str,
    at: NaiveDateTime,
    actor: &Actor,
    kind: &str,
    detail: serde_json::Value,
) -> FlowResult<()> {
    faults::append_event(
        conn,
        &faults::FaultEventRow {
            id: new_id(),
            fault_id: fault_id.to_string(),
            at,
            actor_kind: actor.kind.to_string(),
            actor_id: actor.id.clone(),
            kind: kind.to_string(),
            detail: detail.to_string(),
        },
    )?;
    Ok(())
}

/// How long a region promises to restore a network fault: its own policy, else the default.
fn promise(conn: &mut DbConn, cfg: &FlowConfig, region_id: &str) -> FlowResult<Duration> {
    Ok(
        crate::store::policies::get(conn, region_id, crate::store::policies::NETWORK_FAULT)?
            .and_then(|p| p.promise_minutes)
            .map_or(cfg.storms.promise, |m| Duration::minutes(m as i64)),
    )
}

/// Where a fault is, for its messages: its district's name, else its title.
fn fault_area(conn: &mut DbConn, f: &FaultRow) -> FlowResult<String> {
    area_name(conn, f.district_id.as_deref(), &f.title)
}

/// The district's name, else the first caller's address.
fn area_name(conn: &mut DbConn, district_id: Option<&str>, address: &str) -> FlowResult<String> {
    Ok(match district_id {
        Some(id) => crate::store::districts::get(conn, id)?
            .map(|d| d.name)
            .unwrap_or_else(|| address.to_string()),
        None => address.to_string(),
    })
}

/// The people told of a fault: the region's on-duty account managers and technicians, and its
/// dispatchers.
fn fault_staff(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    region_id: &str,
    now: NaiveDateTime,
) -> FlowResult<Vec<UserRow>> {
    let (mut people, technicians) = on_duty_staff(conn, cfg, region_id, now)?;
    people.extend(technicians);
    for d in staff(conn, region_id, Role::Dispatcher)? {
        if !people.iter().any(|p| p.id == d.id) {
            people.push(d);
        }
    }
    Ok(people)
}

/// One message about the fault to its staff; the fault remembers when they were told and how
/// many calls they heard of.
fn tell_staff(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    fault: &mut FaultRow,
    purpose: &str,
    text: &str,
    now: NaiveDateTime,
) -> FlowResult<usize> {
    let mut sent = 0;
    for p in fault_staff(conn, cfg, &fault.region_id, now)? {
        sent += usize::from(queue_fault_sms(conn, fault, &p, purpose, text, now)?);
    }
    let calls = faults::linked_count(conn, &fault.id)?;
    faults::mark_told(conn, &fault.id, now, calls)?;
    let told = json!({"purpose": purpose, "messages": sent, "calls": calls});
    fault_event(conn, &fault.id, now, &Actor::system(), "staff_told", told)?;
    *fault = faults::get(conn, &fault.id)?
        .ok_or_else(|| FlowError::NotFound("network fault vanished".into()))?;
    Ok(sent)
}

fn queue_fault_sms(
    conn: &mut DbConn,
    fault: &FaultRow,
    user: &UserRow,
    purpose: &str,
    text: &str,
    now: NaiveDateTime,
) -> FlowResult<bool> {
    let Some(phone) = &user.phone else {
        tracing::warn!(user = %user.username, fault = %fault.id, "no phone number: SMS not queued");
        return Ok(false);
    };
    notifications::insert(
        conn,
        &NotificationRow::pending(
            &fault.region_id,
            None,
            Some(&user.id),
            phone,
            purpose,
            text,
            now,
        )
        .about_fault(&fault.id),
    )?;
    Ok(true)
}

/// The local time a caller is told to expect service back.
fn expected(cfg: &FlowConfig, fault: &FaultRow) -> String {
    fault
        .estimate_at
        .unwrap_or(fault.promised_at)
        .and_utc()
        .with_timezone(&cfg.tz)
        .format("%m-%d %H:%M")
        .to_string()
}

/// A message to a linked caller about the fault.
fn tell_caller(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    t: &TicketRow,
    fault: &FaultRow,
    purpose: &str,
    now: NaiveDateTime,
) -> FlowResult<bool> {
    let r = super::messages::short_ref(t);
    let text = match purpose {
        KNOWN => format!(
            "【故障通知】您好，您所在区域网络故障已查明，正在抢修，预计{}前恢复，无需重复报修。工单{r}。",
            expected(cfg, fault)
        ),
        ESTIMATE => format!(
            "【故障通知】您所在区域网络故障预计恢复时间调整为{}。工单{r}。",
            expected(cfg, fault)
        ),
        SERVICE_BACK => format!(
            "【故障已修复】您所在区域网络已恢复。如仍无法使用，请回复1，我们将安排维修人员上门。工单{r}。"
        ),
        _ => format!("【维修安排】已为您安排维修人员，将在20分钟内与您联系。工单{r}。"),
    };
    super::customers::queue(conn, t, purpose, &text, Some(&fault.id), None, now)
}

/// The same message to every linked caller still waiting for service.
fn tell_waiting(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    f: &FaultRow,
    purpose: &str,
    now: NaiveDateTime,
) -> FlowResult<()> {
    for t in faults::linked(conn, &f.id)? {
        if t.status.is_open() {
            tell_caller(conn, cfg, &t, f, purpose, now)?;
        }
    }
    Ok(())
}

/// Loads a fault of the caller's regions for `action`, refusing one that does not allow it.
fn load_for(
    conn: &mut DbConn,
    id: &str,
    scope: &RegionScope,
    action: FaultAction,
) -> FlowResult<(FaultRow, FaultStatus)> {
    let f = faults::get(conn, id)?
        .filter(|f| scope.allows(&f.region_id))
        .ok_or_else(|| FlowError::NotFound("no such network fault".into()))?;
    let next = action.apply(f.status).ok_or_else(|| {
        FlowError::Conflict(format!(
            "cannot {} a {} network fault",
            action.as_str(),
            f.status.as_str()
        ))
    })?;
    Ok((f, next))
}

fn store(conn: &mut DbConn, f: &mut FaultRow, now: NaiveDateTime) -> FlowResult<()> {
    f.updated_at = now;
    if !faults::save(conn, f)? {
        return Err(FlowError::Changed);
    }
    Ok(())
}

/// A dispatcher (or the threshold) confirms a suspected fault: the region's managers are told
/// once, and every linked caller learns the fault is known and when service should be back.
pub fn confirm(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    id: &str,
    actor: &Actor,
    scope: &RegionScope,
    now: NaiveDateTime,
) -> FlowResult<FaultRow> {
    let (mut f, next) = load_for(conn, id, scope, FaultAction::Confirm)?;
    f.status = next;
    f.confirmed_at = Some(now);
    f.confirmed_by = Some(actor.name());
    store(conn, &mut f, now)?;
    fault_event(conn, &f.id, now, actor, "confirmed", json!({}))?;
    let area = fault_area(conn, &f)?;
    let text = format!(
        "【网络故障确认】{area}：{}，已归并报修{}起，承诺{}前恢复。",
        f.title,
        faults::linked_count(conn, &f.id)?,
        expected(cfg, &f)
    );
    for m in staff(conn, &f.region_id, Role::Manager)? {
        queue_fault_sms(conn, &f, &m, CONFIRMED, &text, now)?;
    }
    tell_waiting(conn, cfg, &f, KNOWN, now)?;
    Ok(f)
}

/// The crew's estimate of the restoration moved: linked callers still waiting are told.
pub fn estimate(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    id: &str,
    at: NaiveDateTime,
    actor: &Actor,
    scope: &RegionScope,
    now: NaiveDateTime,
) -> FlowResult<FaultRow> {
    let (mut f, _) = load_for(conn, id, scope, FaultAction::Estimate)?;
    if at <= now {
        return Err(Invalid::new("estimate_at", "must be in the future").into());
    }
    f.estimate_at = Some(at);
    store(conn, &mut f, now)?;
    fault_event(
        conn,
        &f.id,
        now,
        actor,
        "estimate",
        json!({"estimate_at": at.and_utc()}),
    )?;
    if f.status == FaultStatus::Confirmed {
        tell_waiting(conn, cfg, &f, ESTIMATE, now)?;
    }
    Ok(f)
}

/// Links open tickets of the fault's region to it in one action. Answers the fault and how
/// many were linked (tickets already linked or finished are left as they are).
pub fn link(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    id: &str,
    ticket_ids: &[String],
    actor: &Actor,
    scope: &RegionScope,
    now: NaiveDateTime,
) -> FlowResult<(FaultRow, usize)> {
    let (f, _) = load_for(conn, id, scope, FaultAction::Link)?;
    let n = link_tickets(conn, cfg, &f, ticket_ids, actor, "dispatcher", now)?;
    let f = faults::get(conn, id)?.unwrap_or(f);
    Ok((f, n))
}

/// Takes tickets off the fault: each becomes an ordinary repair again, routed to an on-duty
/// technician when nobody holds it, its clocks running from where they stood.
pub fn unlink(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    id: &str,
    ticket_ids: &[String],
    actor: &Actor,
    scope: &RegionScope,
    now: NaiveDateTime,
) -> FlowResult<(FaultRow, usize)> {
    let (f, _) = load_for(conn, id, scope, FaultAction::Unlink)?;
    let mut n = 0;
    for t in tickets::get_many(conn, ticket_ids)? {
        if t.network_fault_id.as_deref() == Some(f.id.as_str()) && t.status.is_open() {
            release(conn, cfg, t, &f, actor, "unlinked", now)?;
            n += 1;
        }
    }
    if n > 0 {
        fault_event(conn, &f.id, now, actor, "unlinked", json!({"tickets": n}))?;
    }
    let f = faults::get(conn, id)?.unwrap_or(f);
    Ok((f, n))
}

/// One ticket off its fault and back to ordinary routing.
fn release(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    mut t: TicketRow,
    f: &FaultRow,
    actor: &Actor,
    why: &str,
    now: NaiveDateTime,
) -> FlowResult<()> {
    t.network_fault_id = None;
    save(conn, &mut t, cfg, now)?;
    event(
        conn,
        &t,
        now,
        actor,
        "unlinked_from_fault",
        json!({"network_fault_id": f.id, "why": why}),
        None,
    )?;
    if t.assignee_id.is_none() {
        let (_, technicians) = on_duty_staff(conn, cfg, &t.region_id, now)?;
        let pool = super::candidates(conn, &technicians)?;
        if let Some(c) = rank(&pool, t.lat.zip(t.lon), now.and_utc(), &[]).first() {
            let to = c.user_id.clone();
            hand_over(conn, cfg, &mut t, &to, now)?;
            event(
                conn,
                &t,
                now,
                &Actor::system(),
                "assigned",
                json!({"to": to, "username": c.username, "by": "on-duty routing",
                       "ack_due_at": t.assignment_ack_due_at.map(|d| d.and_utc())}),
                None,
            )?;
        }
    }
    Ok(())
}

/// A dispatcher gives the fault to a crew, led by an active technician of its region, who is
/// told at once and has the region's contact time to acknowledge it.
pub fn assign_crew(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    id: &str,
    lead_id: &str,
    actor: &Actor,
    scope: &RegionScope,
    now: NaiveDateTime,
) -> FlowResult<FaultRow> {
    let (mut f, _) = load_for(conn, id, scope, FaultAction::AssignCrew)?;
    let lead = crate::store::users::get(conn, lead_id)?
        .filter(|u| u.active && u.role == Role::Technician && u.region_ids.contains(&f.region_id))
        .ok_or_else(|| {
            Invalid::new(
                "lead_id",
                "is not an active technician of the fault's region",
            )
        })?;
    let due = now + cfg.policy.acknowledge;
    f.crew_lead_id = Some(lead.id.clone());
    f.crew_assigned_at = Some(now);
    f.crew_ack_due_at = Some(due);
    f.crew_acknowledged_at = None;
    f.crew_ack_on_time = None;
    store(conn, &mut f, now)?;
    let detail =
        json!({"lead_id": lead.id, "username": lead.username, "ack_due_at": due.and_utc()});
    fault_event(conn, &f.id, now, actor, "crew_assigned", detail)?;
    if let Some(row) = crate::store::users::find_row(conn, &lead.id)? {
        let area = fault_area(conn, &f)?;
        let text = format!(
            "【网络故障抢修】{area}：{}，已归并报修{}起，承诺{}前恢复。请{}分钟内回复Q确认接单。",
            f.title,
            faults::linked_count(conn, &f.id)?,
            expected(cfg, &f),
            cfg.policy.acknowledge.num_minutes()
        );
        queue_fault_sms(conn, &f, &row, CREW, &text, now)?;
    }
    Ok(f)
}

/// The crew's lead acknowledges the fault: its own contact clock, on time if by its deadline.
pub fn acknowledge_crew(
    conn: &mut DbConn,
    id: &str,
    actor: &Actor,
    scope: &RegionScope,
    now: NaiveDateTime,
) -> FlowResult<FaultRow> {
    let (mut f, _) = load_for(conn, id, scope, FaultAction::AcknowledgeCrew)?;
    if f.crew_lead_id.is_none() || f.crew_lead_id != actor.id {
        return Err(FlowError::Forbidden(
            "only the crew's lead acknowledges the fault".into(),
        ));
    }
    if f.crew_acknowledged_at.is_some() {
        return Ok(f);
    }
    f.crew_acknowledged_at = Some(now);
    f.crew_ack_on_time = f.crew_ack_due_at.map(|due| now <= due);
    store(conn, &mut f, now)?;
    let detail = json!({"on_time": f.crew_ack_on_time});
    fault_event(conn, &f.id, now, actor, "crew_acknowledged", detail)?;
    Ok(f)
}

/// Service is back: every open linked ticket is resolved at the restoration, judged against the
/// fault's promise, and its caller asked to reply if it still does not work; the staff hear once.
pub fn restore(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    id: &str,
    actor: &Actor,
    scope: &RegionScope,
    now: NaiveDateTime,
) -> FlowResult<(FaultRow, usize)> {
    let (mut f, next) = load_for(conn, id, scope, FaultAction::Restore)?;
    f.status = next;
    f.restored_at = Some(now);
    f.restore_on_time = Some(now <= f.promised_at);
    store(conn, &mut f, now)?;
    let judged = json!({"on_time": f.restore_on_time, "promised_at": f.promised_at.and_utc()});
    fault_event(conn, &f.id, now, actor, "restored", judged)?;
    let mut resolved = 0;
    for mut t in faults::linked(conn, &f.id)? {
        if !t.status.is_open() {
            continue;
        }
        let st = linked_stages(
            t.created_at.and_utc(),
            f.pushed_at.map(|p| p.and_utc()),
            t.acknowledged_at.map(|a| a.and_utc()),
            Some(now.and_utc()),
            f.promised_at.and_utc(),
        );
        // The restoration ends the call however far its technician had got.
        t.status = Status::Resolved;
        t.resolved_at = st.resolved_at.map(|r| r.naive_utc());
        t.resolve_on_time = st.resolve_on_time;
        t.resolution_code = Some("network_fault_restored".into());
        t.resolution_notes = Some(f.title.clone());
        save(conn, &mut t, cfg, now)?;
        event(
            conn,
            &t,
            now,
            actor,
            "resolved",
            json!({"by": "network fault restored", "network_fault_id": f.id,
                   "fault_promised_at": f.promised_at.and_utc(), "on_time": t.resolve_on_time}),
            None,
        )?;
        // Callers told of the fault hear it is over.
        if f.confirmed_at.is_some() {
            tell_caller(conn, cfg, &t, &f, SERVICE_BACK, now)?;
        }
        resolved += 1;
    }
    let area = fault_area(conn, &f)?;
    let text = format!(
        "【网络故障恢复】{area}：{} 已恢复，{resolved}起归并报修已结单。",
        f.title
    );
    tell_staff(conn, cfg, &mut f, RESTORED, &text, now)?;
    Ok((f, resolved))
}

/// Not a network fault after all: the linked calls go back to ordinary routing.
pub fn dismiss(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    id: &str,
    actor: &Actor,
    scope: &RegionScope,
    now: NaiveDateTime,
) -> FlowResult<(FaultRow, usize)> {
    let (mut f, next) = load_for(conn, id, scope, FaultAction::Dismiss)?;
    f.status = next;
    f.dismissed_at = Some(now);
    store(conn, &mut f, now)?;
    fault_event(conn, &f.id, now, actor, "dismissed", json!({}))?;
    let mut n = 0;
    for t in faults::linked(conn, &f.id)? {
        if t.status.is_open() {
            release(conn, cfg, t, &f, actor, "fault dismissed", now)?;
            n += 1;
        }
    }
    Ok((f, n))
}

/// A fault being opened: by its calls (detected, suspected until confirmed), or by a dispatcher's
/// hand (a known outage or planned maintenance, confirmed at once) over a district and/or a
/// circle. Open tickets it explains are linked at once when `link_open` is set.
pub struct Reported {
    pub region_id: String,
    pub district_id: Option<String>,
    pub circle: Option<((f64, f64), f64)>,
    pub cause: Cause,
    pub title: String,
    pub estimate_at: Option<NaiveDateTime>,
    pub link_open: bool,
}

/// Stores a fault as it opens, promised by its region's policy, with the first entry of its
/// timeline.
fn insert_opened(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    r: &Reported,
    actor: &Actor,
    now: NaiveDateTime,
) -> FlowResult<FaultRow> {
    let by = actor.name();
    let detected = r.cause == Cause::Detected;
    let status = if detected {
        FaultStatus::Suspected
    } else {
        FaultStatus::Confirmed
    };
    let f = FaultRow {
        id: new_id(),
        region_id: r.region_id.clone(),
        district_id: r.district_id.clone(),
        lat: r.circle.map(|c| c.0 .0),
        lon: r.circle.map(|c| c.0 .1),
        radius_m: r.circle.map(|c| c.1),
        cause: r.cause.as_str().into(),
        title: r.title.clone(),
        status,
        opened_by: by.clone(),
        opened_at: now,
        confirmed_at: (!detected).then_some(now),
        confirmed_by: (!detected).then_some(by),
        pushed_at: None,
        promised_at: now + promise(conn, cfg, &r.region_id)?,
        estimate_at: r.estimate_at,
        restored_at: None,
        restore_on_time: None,
        dismissed_at: None,
        told_at: None,
        told_calls: 0,
        updated_at: now,
        version: 0,
        crew_lead_id: None,
        crew_assigned_at: None,
        crew_ack_due_at: None,
        crew_acknowledged_at: None,
        crew_ack_on_time: None,
    };
    faults::insert(conn, &f)?;
    fault_event(
        conn,
        &f.id,
        now,
        actor,
        "opened",
        json!({"cause": r.cause.as_str(), "status": status.as_str(), "district_id": f.district_id,
               "radius_m": f.radius_m, "promised_at": f.promised_at.and_utc()}),
    )?;
    Ok(f)
}

pub fn open(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    r: &Reported,
    actor: &Actor,
    now: NaiveDateTime,
) -> FlowResult<(FaultRow, usize)> {
    let mut f = insert_opened(conn, cfg, r, actor, now)?;
    let mut linked = 0;
    if r.link_open {
        let rule = &cfg.storms.rule;
        let area = f.area();
        let near = faults::Nearby {
            region_id: r.region_id.clone(),
            since: now - Duration::days(30),
            after: None,
            categories: rule.categories.clone(),
            district_id: r.district_id.clone(),
            bbox: r
                .circle
                .map(|(c, radius)| faults::Nearby::around(c, radius)),
        };
        let ids: Vec<String> = faults::recent_calls(conn, &near, MAX_LINKED_AT_ONCE)?
            .into_iter()
            .filter(|(_, c)| area.covers(rule, c))
            .map(|(id, _)| id)
            .collect();
        linked = link_tickets(conn, cfg, &f, &ids, actor, "dispatcher", now)?;
    }
    let area = fault_area(conn, &f)?;
    let text = format!(
        "【网络故障】{area}：{}，承诺{}前恢复，同类报修将自动归并{}。",
        f.title,
        expected(cfg, &f),
        if linked > 0 {
            format!("，已归并{linked}起")
        } else {
            String::new()
        }
    );
    tell_staff(conn, cfg, &mut f, SUSPECTED, &text, now)?;
    Ok((f, linked))
}

/// Marks late every crew whose contact deadline passed unacknowledged, and tells the region's
/// dispatchers once. Answers how many crews were late.
pub fn crew_overdue(conn: &mut DbConn, now: NaiveDateTime) -> FlowResult<usize> {
    let mut late = 0;
    for mut f in faults::crew_overdue(conn, now)? {
        f.crew_ack_on_time = Some(false);
        store(conn, &mut f, now)?;
        let lead = match &f.crew_lead_id {
            Some(id) => crate::store::users::find_row(conn, id)?,
            None => None,
        };
        let name = lead.as_ref().map_or("", |u| u.display_name.as_str());
        let due = f.crew_ack_due_at.map(|d| d.and_utc());
        let detail = json!({"lead_id": f.crew_lead_id, "ack_due_at": due});
        fault_event(
            conn,
            &f.id,
            now,
            &Actor::system(),
            "crew_ack_overdue",
            detail,
        )?;
        let area = fault_area(conn, &f)?;
        let text = format!(
            "【抢修未确认】{area}：{} 的抢修队长 {name} 未按时确认接单，请电话联系或改派。",
            f.title
        );
        for d in staff(conn, &f.region_id, Role::Dispatcher)? {
            queue_fault_sms(conn, &f, &d, CREW_OVERDUE, &text, now)?;
        }
        late += 1;
    }
    Ok(late)
}

/// Tells the staff of every open fault about calls linked since their last message, at most
/// once per digest interval. Answers the faults whose staff were told.
pub fn digests(conn: &mut DbConn, cfg: &FlowConfig, now: NaiveDateTime) -> FlowResult<usize> {
    let rule = &cfg.storms.rule;
    let mut told = 0;
    for (mut f, calls) in faults::with_untold_calls(conn)? {
        let new = (calls - f.told_calls as i64).max(0) as usize;
        let last = f.told_at.map(|t| t.and_utc());
        if !crate::domain::storm::digest_due(rule, last, new, now.and_utc()) {
            continue;
        }
        let area = fault_area(conn, &f)?;
        let text = format!(
            "【网络故障动态】{area}：{}，{}分钟内新增报修{new}起，累计{}起。",
            f.title,
            f.told_at.map_or(0, |t| (now - t).num_minutes()),
            calls
        );
        tell_staff(conn, cfg, &mut f, DIGEST, &text, now)?;
        told += 1;
    }
    Ok(told)
}

/// A message about a fault was accepted by the platform. The first one to the staff settles
/// the dispatch of every linked call (at the push, or its own call if later); a caller's notice
/// settles their contact when the deployment counts it so.
pub fn accepted(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    row: &NotificationRow,
    at: NaiveDateTime,
) -> FlowResult<()> {
    let Some(fault_id) = &row.network_fault_id else {
        return Ok(());
    };
    if TO_STAFF.contains(&row.purpose.as_str()) {
        if !faults::mark_pushed(conn, fault_id, at)? {
            return Ok(());
        }
        let Some(f) = faults::get(conn, fault_id)? else {
            return Ok(());
        };
        let pushed = json!({"notification": row.id, "accepted_at": at.and_utc()});
        fault_event(conn, &f.id, at, &Actor::system(), "pushed", pushed)?;
        for mut t in faults::linked(conn, &f.id)? {
            if t.pushed_at.is_some() || !t.status.is_open() {
                continue;
            }
            t.settle(Stage::Dispatch, at.max(t.created_at));
            save(conn, &mut t, cfg, at)?;
            event(
                conn,
                &t,
                at,
                &Actor::system(),
                "pushed",
                json!({"notification": row.id, "by": "network fault", "network_fault_id": f.id,
                       "accepted_at": at.and_utc(), "dispatch_on_time": t.dispatch_on_time}),
                None,
            )?;
        }
        return Ok(());
    }
    if row.purpose != KNOWN {
        return Ok(());
    }
    let Some(mut t) = row
        .ticket_id
        .as_deref()
        .map(|id| tickets::get(conn, id))
        .transpose()?
        .flatten()
    else {
        return Ok(());
    };
    if t.acknowledged_at.is_some() {
        return Ok(());
    }
    if cfg.storms.notice_is_contact && t.status.is_open() {
        t.settle(Stage::Contact, at.max(t.created_at));
        save(conn, &mut t, cfg, at)?;
    }
    event(
        conn,
        &t,
        at,
        &Actor::system(),
        "customer_told_of_fault",
        json!({"notification": row.id, "network_fault_id": fault_id, "accepted_at": at.and_utc(),
               "counts_as_contact": cfg.storms.notice_is_contact, "contact_on_time": t.ack_on_time}),
        None,
    )?;
    Ok(())
}

/// A caller's reply after their fault's restoration: "still broken" opens an ordinary repair
/// of their own, with its clocks from now; "fixed" is noted. None when the sender has no
/// restored call within [`REPLY_WINDOW`].
pub fn customer_reply(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    from: &PhoneNumber,
    text: &str,
    regions: Option<&[String]>,
    now: NaiveDateTime,
) -> FlowResult<Option<ReplyOutcome>> {
    let Some(t) = tickets::restored_for_customer(conn, from.as_str(), now - REPLY_WINDOW)?
        .into_iter()
        .find(|t| regions.is_none_or(|only| only.contains(&t.region_id)))
    else {
        return Ok(None);
    };
    let ticket_id = t.id.clone();
    let answer = crate::domain::storm::still_broken(text);
    if answer != Some(true) {
        let (kind, outcome) = match answer {
            Some(_) => (
                "customer_confirmed_restoration",
                ReplyOutcome::ServiceConfirmed { ticket_id },
            ),
            None => (
                "sms_reply_not_understood",
                ReplyOutcome::CustomerNotUnderstood { ticket_id },
            ),
        };
        let said = json!({"text": text});
        event(conn, &t, now, &Actor::customer(), kind, said, None)?;
        return Ok(Some(outcome));
    }
    if let Some(existing) = tickets::follow_up_of(conn, &t.id)? {
        return Ok(Some(ReplyOutcome::StillBroken {
            ticket_id,
            follow_up_id: existing.id,
        }));
    }
    let new = super::intake::NewTicket {
        kind: t.kind,
        external_ref: None,
        customer_name: t.customer_name.clone(),
        customer_phone: from.clone(),
        address: t.address.clone(),
        point: t
            .lat
            .zip(t.lon)
            .map(|(lat, lon)| crate::domain::WgsPoint { lat, lon }),
        account_no: t.account_no.clone(),
        fault_category: t.fault_category.clone(),
        fault_description: format!(
            "网络故障恢复后仍无法使用（原工单 {}）：{}",
            super::messages::short_ref(&t),
            t.fault_description
        ),
        follow_up_of: Some(t.id.clone()),
    };
    let placement = super::intake::Placement {
        region_id: t.region_id.clone(),
        district_id: t.district_id.clone(),
        how: json!({"by": "split from network fault", "ticket": t.id,
                    "network_fault_id": t.network_fault_id}),
    };
    let (split, _) = super::intake::intake(conn, cfg, &new, &placement, &Actor::customer(), now)?;
    event(
        conn,
        &t,
        now,
        &Actor::customer(),
        "still_broken",
        json!({"text": text, "follow_up_id": split.id}),
        None,
    )?;
    if let Some(fault) = t
        .network_fault_id
        .as_deref()
        .map(|id| faults::get(conn, id))
        .transpose()?
        .flatten()
    {
        tell_caller(conn, cfg, &split, &fault, SPLIT, now)?;
    }
    Ok(Some(ReplyOutcome::StillBroken {
        ticket_id,
        follow_up_id: split.id,
    }))
}
