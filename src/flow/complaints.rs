//! Receiving a complaint and a manager's verdict on it. Every step goes on the complaint's
//! history; a complaint about a ticket also goes on the ticket's timeline.

use chrono::NaiveDateTime;
use serde_json::json;

use super::{event, Actor, FlowConfig, FlowError, FlowResult};
use crate::db::DbConn;
use crate::domain::complaint::{check_verdict, Source, Status};
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
        status: Status::Open.as_str().into(),
        responsible_user_id: None,
        deduction: None,
        verified_by: None,
        verified_at: None,
        verification_note: None,
        version: 0,
    };
    complaints::insert(conn, &c)?;
    history(
        conn,
        &c,
        actor,
        "received",
        json!({"source": c.source, "category": c.category, "ticket_id": c.ticket_id,
               "callback_id": c.callback_id, "district_id": c.district_id,
               "received_at": c.received_at.and_utc()}),
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
    let before = c.status.clone();
    c.status = v.status.as_str().into();
    c.responsible_user_id = v.responsible_user_id.clone();
    c.deduction = v.deduction;
    c.verified_by = actor.id.clone();
    c.verified_at = Some(now);
    c.verification_note = Some(v.note.clone());
    if !complaints::save(conn, &mut c)? {
        return Err(FlowError::Conflict(
            "the complaint changed meanwhile; read it again".into(),
        ));
    }
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
