//! Callback sampling at resolution, the end-of-day top-up per district, and the call center's
//! results (an unsatisfied customer opens a follow-up ticket and an investigation).

use std::collections::BTreeMap;

use chrono::{Days, NaiveDateTime};
use serde_json::json;

use super::complaints::NewComplaint;
use super::intake::{intake, NewTicket, Placement};
use super::{event, Actor, FlowConfig, FlowError, FlowResult};
use crate::db::DbConn;
use crate::domain::callback::{CallbackStatus, Outcome, RetryRule};
use crate::domain::complaint::Source;
use crate::domain::period::{day_bounds, local_day};
use crate::domain::sampling::{Facts, Reason, SamplingRule, BASIS};
use crate::domain::ticket::TicketKind;
use crate::domain::{new_id, Crs, PhoneNumber, RegionScope, WgsPoint};
use crate::store::callbacks::{self, CallbackRow};
use crate::store::complaints::{self, ComplaintRow};
use crate::store::tickets::{self, TicketRow};

/// How callbacks are chosen and retried.
#[derive(Debug, Clone)]
pub struct CallbackConfig {
    pub sampling: SamplingRule,
    pub retry: RetryRule,
}

fn facts(conn: &mut DbConn, t: &TicketRow) -> FlowResult<Facts> {
    Ok(Facts {
        escalated: t.escalation_level > 0,
        late: t.any_stage_late(),
        complaint: complaints::exists_for_ticket(conn, &t.id)?,
    })
}

/// A due callback for resolved ticket `t`, taken for `reason` at `now`.
pub fn new_callback(t: &TicketRow, reason: Reason, now: NaiveDateTime) -> CallbackRow {
    CallbackRow {
        id: new_id(),
        ticket_id: t.id.clone(),
        region_id: t.region_id.clone(),
        district_id: t.district_id.clone(),
        technician_id: t.assignee_id.clone(),
        resolved_at: t.resolved_at.unwrap_or(now),
        reason: reason.as_str().into(),
        status: CallbackStatus::Due,
        attempts: 0,
        due_at: now,
        outcome: None,
        rating_attitude: None,
        rating_timeliness: None,
        rating_quality: None,
        note: None,
        agent_id: None,
        completed_at: None,
        follow_up_ticket_id: None,
        created_at: now,
        updated_at: now,
        version: 0,
    }
}

/// The draw as a fraction with six decimals, for the timeline.
fn draw_fraction(rule: &SamplingRule, id: &str) -> f64 {
    (rule.draw(id) as f64 / 2f64.powi(64) * 1e6).floor() / 1e6
}

/// Decides at resolution whether the customer is called back, and records why on the timeline.
pub fn on_resolved(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    t: &TicketRow,
    now: NaiveDateTime,
) -> FlowResult<Option<CallbackRow>> {
    let rule = &cfg.callbacks.sampling;
    let f = facts(conn, t)?;
    let decision = rule.decide(&t.id, f);
    event(
        conn,
        t,
        now,
        &Actor::system(),
        "callback_sampling",
        json!({
            "selected": decision.is_some(),
            "reason": decision.map(Reason::as_str),
            "draw": draw_fraction(rule, &t.id),
            "rate": rule.rate_bp() as f64 / BASIS as f64,
            "escalated": f.escalated, "late": f.late, "complaint": f.complaint,
        }),
        None,
    )?;
    let Some(reason) = decision else {
        return Ok(None);
    };
    let row = new_callback(t, reason, now);
    callbacks::insert(conn, &row)?;
    Ok(Some(row))
}

/// A complaint about a resolved ticket that was not sampled: forced in when configured.
pub fn on_complaint(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    t: &TicketRow,
    now: NaiveDateTime,
) -> FlowResult<Option<CallbackRow>> {
    if !cfg.callbacks.sampling.force.complaint
        || t.resolved_at.is_none()
        || callbacks::for_ticket(conn, &t.id)?.is_some()
    {
        return Ok(None);
    }
    let row = new_callback(t, Reason::Complaint, now);
    callbacks::insert(conn, &row)?;
    event(
        conn,
        t,
        now,
        &Actor::system(),
        "callback_sampling",
        json!({"selected": true, "reason": Reason::Complaint.as_str()}),
        None,
    )?;
    Ok(Some(row))
}

/// A day is topped up this long after local midnight, so a resolution stamped just before
/// midnight whose transaction commits just after it is still counted in its day.
const DAY_CLOSE_GRACE: chrono::Duration = chrono::Duration::minutes(2);

/// The next local day whose top-up is due at `now`, if any.
pub fn next_day_to_close(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    now: NaiveDateTime,
) -> FlowResult<Option<chrono::NaiveDate>> {
    let today = local_day(cfg.tz, now - DAY_CLOSE_GRACE);
    let next = match callbacks::last_closed_day(conn)? {
        Some(d) => chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
            .map_err(|e| crate::store::corrupt("callback day", e))?
            .checked_add_days(Days::new(1)),
        None => callbacks::first_resolution(conn)?.map(|t| local_day(cfg.tz, t)),
    };
    Ok(next.filter(|d| *d < today))
}

/// Tops up every district that fell short of the rate on `day`, and marks the day closed.
/// Answers how many callbacks were added; `None` if another instance closed the day first.
pub fn close_day(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    day: chrono::NaiveDate,
    now: NaiveDateTime,
) -> FlowResult<Option<usize>> {
    let (start, end) = day_bounds(cfg.tz, day);
    let resolved = callbacks::resolved_between(conn, start, end)?;
    let rule = &cfg.callbacks.sampling;
    // Tickets outside every district still get their share, per region.
    let mut groups: BTreeMap<String, Vec<(String, bool)>> = BTreeMap::new();
    for r in &resolved {
        let key = match &r.district_id {
            Some(d) => format!("district:{d}"),
            None => format!("region:{}", r.region_id),
        };
        groups
            .entry(key)
            .or_default()
            .push((r.ticket_id.clone(), r.called_back));
    }
    let mut added = 0;
    for (key, list) in &groups {
        let picked = rule.top_up(list);
        for id in picked {
            let t = tickets::get(conn, id)?
                .ok_or_else(|| FlowError::NotFound(format!("ticket {id} vanished")))?;
            callbacks::insert(conn, &new_callback(&t, Reason::TopUp, now))?;
            event(
                conn,
                &t,
                now,
                &Actor::system(),
                "callback_sampling",
                json!({
                    "selected": true, "reason": Reason::TopUp.as_str(), "day": day.to_string(),
                    "group": key, "resolved_that_day": list.len(),
                    "required": rule.required(list.len()),
                    "draw": draw_fraction(rule, id),
                }),
                None,
            )?;
            added += 1;
        }
    }
    let closed = callbacks::close_day(
        conn,
        &day.to_string(),
        now,
        resolved.len() as i32,
        added as i32,
    )?;
    if !closed {
        // Someone else closed it while we counted: roll our inserts back with the transaction.
        return Err(FlowError::Conflict(format!("day {day} already closed")));
    }
    Ok(Some(added))
}

/// A call center result.
#[derive(Debug, Clone)]
pub struct CallbackResult {
    pub outcome: Outcome,
    pub attitude: Option<i32>,
    pub timeliness: Option<i32>,
    pub quality: Option<i32>,
    pub note: Option<String>,
}

/// What recording a result produced.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub callback: CallbackRow,
    pub follow_up: Option<TicketRow>,
    pub complaint: Option<ComplaintRow>,
}

/// Records one call. Unreachable is tried again until the attempts run out; unsatisfied opens
/// a follow-up ticket and a complaint under investigation (source `callback`).
pub fn record_result(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    id: &str,
    actor: &Actor,
    scope: &RegionScope,
    result: &CallbackResult,
    now: NaiveDateTime,
) -> FlowResult<Recorded> {
    let mut cb = callbacks::get(conn, id)?
        .filter(|c| scope.allows(&c.region_id))
        .ok_or_else(|| FlowError::NotFound("no such callback".into()))?;
    if cb.status != CallbackStatus::Due {
        return Err(FlowError::Conflict(format!(
            "this callback is already {}",
            cb.status
        )));
    }
    // Unreachable calls are spread over the retry window: one made before the next is due is
    // not another attempt, or three calls in a minute would close the callback.
    if result.outcome == Outcome::Unreachable && cb.attempts > 0 && now < cb.due_at {
        return Err(FlowError::Conflict(format!(
            "the next call to this customer is due at {}; an earlier unanswered call does not count",
            cb.due_at.and_utc().to_rfc3339()
        )));
    }
    let t = tickets::get(conn, &cb.ticket_id)?
        .ok_or_else(|| FlowError::NotFound("the callback's ticket is gone".into()))?;
    cb.attempts += 1;
    cb.updated_at = now;
    cb.agent_id = actor.id.clone();
    cb.note = result.note.clone();
    let mut next_try = None;
    if result.outcome == Outcome::Unreachable {
        match cfg
            .callbacks
            .retry
            .next_try(cb.attempts as u32, now.and_utc())
        {
            Some(at) => {
                cb.due_at = at.naive_utc();
                next_try = Some(at);
            }
            None => {
                cb.status = CallbackStatus::Unreachable;
                cb.outcome = Some(Outcome::Unreachable.as_str().into());
                cb.completed_at = Some(now);
            }
        }
    } else {
        cb.status = CallbackStatus::Done;
        cb.outcome = Some(result.outcome.as_str().into());
        cb.rating_attitude = result.attitude;
        cb.rating_timeliness = result.timeliness;
        cb.rating_quality = result.quality;
        cb.completed_at = Some(now);
    }
    let mut follow_up = None;
    let mut complaint = None;
    if result.outcome == Outcome::Unsatisfied {
        let (f, c) = unsatisfied(
            conn,
            cfg,
            &t,
            Some(&cb.id),
            result.note.as_deref(),
            actor,
            now,
        )?;
        cb.follow_up_ticket_id = Some(f.id.clone());
        follow_up = Some(f);
        complaint = c;
    }
    if !callbacks::save(conn, &mut cb)? {
        return Err(FlowError::Conflict(
            "the callback changed meanwhile; read it again".into(),
        ));
    }
    event(
        conn,
        &t,
        now,
        actor,
        "callback_result",
        json!({
            "callback_id": cb.id, "attempt": cb.attempts, "outcome": result.outcome.as_str(),
            "status": cb.status, "next_try_at": next_try,
            "ratings": {"attitude": result.attitude, "timeliness": result.timeliness, "quality": result.quality},
            "note": result.note, "follow_up_ticket_id": cb.follow_up_ticket_id,
            "complaint_id": complaint.as_ref().map(|c: &ComplaintRow| c.id.clone()),
        }),
        None,
    )?;
    Ok(Recorded {
        callback: cb,
        follow_up,
        complaint,
    })
}

/// What an unsatisfied customer (by phone callback `callback_id`, or by SMS survey) opens: a
/// follow-up repair, and a complaint under investigation when the ticket has a district.
pub(super) fn unsatisfied(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    t: &TicketRow,
    callback_id: Option<&str>,
    note: Option<&str>,
    actor: &Actor,
    now: NaiveDateTime,
) -> FlowResult<(TicketRow, Option<ComplaintRow>)> {
    let f = open_follow_up(conn, cfg, t, note, actor, now)?;
    let complaint = match &t.district_id {
        Some(district_id) => Some(open_investigation(
            conn,
            cfg,
            t,
            district_id,
            callback_id,
            note,
            actor,
            now,
        )?),
        None => None,
    };
    Ok((f, complaint))
}

fn open_follow_up(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    t: &TicketRow,
    note: Option<&str>,
    actor: &Actor,
    now: NaiveDateTime,
) -> FlowResult<TicketRow> {
    let point = match (t.lat, t.lon) {
        (Some(lat), Some(lon)) => Some(WgsPoint::parse("location", lat, lon, Crs::Wgs84)?),
        _ => None,
    };
    let new = NewTicket {
        kind: TicketKind::Repair,
        external_ref: None,
        customer_name: t.customer_name.clone(),
        customer_phone: PhoneNumber::parse("customer_phone", &t.customer_phone)?,
        address: t.address.clone(),
        point,
        account_no: t.account_no.clone(),
        fault_category: "callback_follow_up".into(),
        fault_description: format!(
            "回访不满意（原工单 {}）：{}",
            t.external_ref.as_deref().unwrap_or(&t.id),
            note.unwrap_or("")
        ),
        follow_up_of: Some(t.id.clone()),
    };
    let placement = Placement {
        region_id: t.region_id.clone(),
        district_id: t.district_id.clone(),
        how: json!({"follow_up_of": t.id}),
    };
    let (f, _) = intake(conn, cfg, &new, &placement, actor, now)?;
    Ok(f)
}

#[allow(clippy::too_many_arguments)]
fn open_investigation(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    t: &TicketRow,
    district_id: &str,
    callback_id: Option<&str>,
    note: Option<&str>,
    actor: &Actor,
    now: NaiveDateTime,
) -> FlowResult<ComplaintRow> {
    let new = NewComplaint {
        source: Source::Callback,
        ticket_id: Some(t.id.clone()),
        district_id: Some(district_id.to_string()),
        callback_id: callback_id.map(str::to_string),
        customer_name: Some(t.customer_name.clone()),
        customer_phone: None,
        category: if callback_id.is_some() {
            "unsatisfied_callback"
        } else {
            "unsatisfied_survey"
        }
        .into(),
        description: note.unwrap_or("回访不满意").to_string(),
        received_at: now,
        kind: None,
        hotline_due_at: None,
    };
    super::complaints::receive(conn, cfg, &new, actor, &RegionScope::All, now)
}
