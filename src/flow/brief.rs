//! The team's morning meeting (班组晨会, seed 002): yesterday's tickets of the team's members,
//! the stages that went late, the complaints naming them, and today's appointments, with one
//! short message for the team leader.

use chrono::{Days, NaiveDate, NaiveDateTime};
use chrono_tz::Tz;
use diesel::QueryResult;

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
        complaints: complaints::naming(conn, start, end, &members, false)?,
        unit,
        day,
        members,
        recorded,
        resolved,
        late,
        appointments,
    })
}
