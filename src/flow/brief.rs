//! The team's morning meeting (班组晨会, seed 002): yesterday's tickets of the team's members,
//! the stages that went late, the complaints concerning them (naming them, owned by them, or
//! about a ticket they hold), and today's appointments, with one short message for the team
//! leader.

use chrono::{Days, NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use diesel::QueryResult;

use super::{queue_sms, FlowConfig, FlowError, FlowResult};
use crate::db::DbConn;
use crate::domain::period::day_bounds;
use crate::domain::sla::Stage;
use crate::store::complaints::{self, ComplaintRow};
use crate::store::org::{self, UnitRow};
use crate::store::tickets::{self, TicketRow};

/// The brief of one team for one day ("yesterday", seen the morning after).
#[derive(Debug, Clone)]
pub struct Brief {
    pub unit: UnitRow,
    pub day: NaiveDate,
    pub members: Vec<String>,
    /// Recorded on the day and held by a member.
    pub recorded: Vec<TicketRow>,
    /// Finished on the day by a member.
    pub resolved: Vec<TicketRow>,
    /// Stages due on the day that went late, with the ticket.
    pub late: Vec<(TicketRow, Stage)>,
    /// Received on the day, concerning a member, verified or not.
    pub complaints: Vec<ComplaintRow>,
    /// Appointments on the next day (today, the morning of the meeting), not yet finished.
    pub appointments: Vec<TicketRow>,
}

impl Brief {
    /// The one short message for the team leader.
    pub fn text(&self) -> String {
        format!(
            "【晨会】{} {}：新单{}，完成{}，超时{}，投诉{}，今日预约{}。",
            self.unit.name,
            self.day.format("%m-%d"),
            self.recorded.len(),
            self.resolved.len(),
            self.late.len(),
            self.complaints.len(),
            self.appointments.len()
        )
    }
}

/// Builds the brief of `unit` for `day`.
pub fn brief(conn: &mut DbConn, tz: Tz, unit: UnitRow, day: NaiveDate) -> QueryResult<Brief> {
    let members = org::members(conn, &unit.id)?;
    let (start, end) = day_bounds(tz, day);
    let next = day.checked_add_days(Days::new(1)).unwrap_or(day);
    let (_, next_end) = day_bounds(tz, next);
    // Stages due on the day may belong to tickets recorded up to a month before.
    let since = start - chrono::Duration::days(31);
    let held = tickets::held_since(conn, &members, since)?;
    let within = |t: Option<NaiveDateTime>, a: NaiveDateTime, b: NaiveDateTime| {
        t.is_some_and(|t| t >= a && t < b)
    };
    let recorded = held
        .iter()
        .filter(|t| within(Some(t.created_at), start, end))
        .cloned()
        .collect();
    let resolved = held
        .iter()
        .filter(|t| within(t.resolved_at, start, end))
        .cloned()
        .collect();
    let mut late = Vec::new();
    for t in &held {
        for stage in Stage::ALL {
            let c = t.stage(stage);
            let due = c.due.map(|d| d.naive_utc());
            if within(due, start, end) && c.on_time == Some(false) {
                late.push((t.clone(), stage));
            }
        }
    }
    let appointments = held
        .iter()
        .filter(|t| within(t.appointment_at, end, next_end) && t.status.is_open())
        .cloned()
        .collect();
    Ok(Brief {
        complaints: complaints::concerning(conn, start, end, &members)?,
        unit,
        day,
        members,
        recorded,
        resolved,
        late,
        appointments,
    })
}

/// Purpose of the brief's SMS to a team leader.
pub const MORNING_BRIEF: &str = "morning_brief";

/// Sends each repair team's leader the brief of the day before, once a local day, at the
/// configured time or the first pass after it. Answers how many went out; None when it is not
/// time yet or the day's briefs went already.
pub fn send_due(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    now: NaiveDateTime,
) -> FlowResult<Option<usize>> {
    let Some(at) = cfg.brief_at else {
        return Ok(None);
    };
    let local = now.and_utc().with_timezone(&cfg.tz);
    if local.time() < at {
        return Ok(None);
    }
    let today = local.date_naive();
    if org::brief_day_done(conn, &today.to_string())? {
        return Ok(None);
    }
    let yesterday = today.pred_opt().unwrap_or(today);
    let mut sent = 0;
    for unit in org::list(conn)? {
        if unit.kind != crate::domain::org::UnitKind::Team {
            continue;
        }
        let Some(head) = unit.head_user_id.clone() else {
            continue;
        };
        let (Some(user), Some(row)) = (
            crate::store::users::get(conn, &head)?,
            crate::store::users::find_row(conn, &head)?,
        ) else {
            continue;
        };
        let Some(region) = user.region_ids.first().cloned().filter(|_| user.active) else {
            continue;
        };
        let b = brief(conn, cfg.tz, unit, yesterday)?;
        if queue_sms(conn, &region, None, &row, MORNING_BRIEF, &b.text(), now)? {
            sent += 1;
        }
    }
    if !org::brief_day_sent(conn, &today.to_string(), now, sent as i32)? {
        return Err(FlowError::Conflict(format!(
            "the briefs of {today} went already"
        )));
    }
    Ok(Some(sent))
}
