//! SMS replies from technicians: `A 1430` acknowledges their ticket with an appointment at 14:30.
//! Only the assignee's own number can act; anything that cannot be understood gets the help text
//! back. A customer answers a postponement confirmation with 1 or 2. Every reply that concerns
//! a ticket lands on its timeline.

use chrono::NaiveDateTime;
use serde_json::json;

use super::actions::{acknowledge, Acting};
use super::messages::short_ref;
use super::{event, queue_sms, Actor, FlowConfig, FlowError, FlowResult};
use crate::db::DbConn;
use crate::domain::sms_reply::{self, HELP};
use crate::domain::ticket::Status;
use crate::domain::{PhoneNumber, RegionScope, Role};
use crate::store::tickets::{self, TicketRow};
use crate::store::users::{self, UserFilter};

/// What became of an inbound SMS.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ReplyOutcome {
    /// The ticket was acknowledged.
    Acknowledged { ticket_id: String },
    /// Not understood, or no ticket of the sender fits: the help text went back.
    HelpSent { reason: String },
    /// The customer confirmed the postponement asked for on their ticket.
    PostponementConfirmed { ticket_id: String },
    /// The customer refused it: the old promise stands.
    PostponementDeclined { ticket_id: String },
    /// The customer confirmed too late (the time asked for passed, or the ticket moved on).
    PostponementLapsed { ticket_id: String },
    /// The customer's answer was neither 1 nor 2: noted on the ticket, nothing sent.
    CustomerNotUnderstood { ticket_id: String },
    /// After a network fault's restoration the caller still has no service: their own repair
    /// (`follow_up_id`) is opened and routed.
    StillBroken {
        ticket_id: String,
        follow_up_id: String,
    },
    /// After a network fault's restoration the caller says service is back: noted.
    ServiceConfirmed { ticket_id: String },
    /// The lead of a network fault's crew acknowledged it by SMS.
    CrewAcknowledged { fault_id: String },
    /// A customer answered the satisfaction survey; an unsatisfied answer opened a follow-up
    /// repair (`follow_up_id`).
    SurveyAnswered {
        ticket_id: String,
        outcome: String,
        follow_up_id: Option<String>,
    },
    /// The customer replied TD: no more messages go to the number.
    OptedOut { ticket_id: String },
    /// The number belongs to no active technician and no customer awaiting confirmation:
    /// nothing done, nothing sent.
    UnknownSender,
}

const NOT_YOURS: &str = "没有找到您名下待联系的工单，请核对单号。";

/// Handles one reply `text` from `from`, received at `now`; only tickets of `regions` (ids)
/// count when the platform it came through serves only those.
pub fn handle(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    from: &PhoneNumber,
    text: &str,
    regions: Option<&[String]>,
    now: NaiveDateTime,
) -> FlowResult<ReplyOutcome> {
    let sender = users::list(
        conn,
        &UserFilter {
            role: Some(Role::Technician),
            region_id: None,
        },
    )?
    .into_iter()
    .find(|u| u.active && u.phone.as_deref() == Some(from.as_str()));
    let Some(user) = sender else {
        let customers = super::customers::reply;
        // TD, or an answer to the survey when it is the latest question the customer got.
        if crate::domain::customer::opts_out(text)
            || super::customers::survey_asked_last(conn, from, regions, now)?
        {
            return Ok(customers(conn, cfg, from, text, regions, now)?
                .unwrap_or(ReplyOutcome::UnknownSender));
        }
        if let Some(o) = super::postponement::customer_reply(conn, cfg, from, text, regions, now)? {
            return Ok(o);
        }
        if let Some(o) = super::storms::customer_reply(conn, cfg, from, text, regions, now)? {
            return Ok(o);
        }
        return Ok(
            customers(conn, cfg, from, text, regions, now)?.unwrap_or(ReplyOutcome::UnknownSender)
        );
    };
    let row = users::find_row(conn, &user.id)?
        .ok_or_else(|| FlowError::NotFound("sender vanished".into()))?;
    if crate::domain::storm::crew_acknowledges(text) {
        let waiting = crate::store::network_faults::awaiting_crew_ack(conn, &user.id)?;
        if let Some(f) = waiting
            .into_iter()
            .find(|f| regions.is_none_or(|only| only.contains(&f.region_id)))
        {
            let scope = RegionScope::Only(user.region_ids.clone());
            let f =
                super::storms::acknowledge_crew(conn, &f.id, &Actor::user(&user.id), &scope, now)?;
            return Ok(ReplyOutcome::CrewAcknowledged { fault_id: f.id });
        }
    }
    let waiting: Vec<TicketRow> = tickets::open_for_assignee(conn, &user.id)?
        .into_iter()
        .filter(|t| matches!(t.status, Status::Dispatched | Status::Postponed))
        .filter(|t| regions.is_none_or(|only| only.contains(&t.region_id)))
        .collect();
    let region = user.region_ids.first().cloned().unwrap_or_default();
    let help = |conn: &mut DbConn,
                reason: &str,
                body: &str,
                on: Option<&TicketRow>|
     -> FlowResult<ReplyOutcome> {
        if let Some(t) = on {
            event(
                conn,
                t,
                now,
                &Actor::user(&user.id),
                "sms_reply_refused",
                json!({"text": text, "reason": reason}),
                None,
            )?;
        }
        let region_id = on
            .map(|t| t.region_id.clone())
            .unwrap_or_else(|| region.clone());
        queue_sms(
            conn,
            &region_id,
            on.map(|t| t.id.as_str()),
            &row,
            "reply_help",
            body,
            now,
        )?;
        Ok(ReplyOutcome::HelpSent {
            reason: reason.to_string(),
        })
    };
    let Some(reply) = sms_reply::parse(text) else {
        let only = (waiting.len() == 1).then(|| &waiting[0]);
        return help(conn, "not understood", HELP, only);
    };
    let target = match &reply.ticket_ref {
        Some(r) => waiting.iter().find(|t| {
            short_ref(t) == *r || t.id.ends_with(r.as_str()) || t.external_ref.as_deref() == Some(r)
        }),
        None if waiting.len() == 1 => waiting.first(),
        None => None,
    };
    let Some(t) = target else {
        let reason = if waiting.is_empty() {
            "no ticket of the sender waits for contact"
        } else if reply.ticket_ref.is_some() {
            "no waiting ticket of the sender has that reference"
        } else {
            "several tickets wait: the reply must name one"
        };
        let only = (waiting.len() == 1).then(|| &waiting[0]);
        return help(
            conn,
            reason,
            if waiting.len() > 1 { HELP } else { NOT_YOURS },
            only,
        );
    };
    let who = Acting {
        actor: Actor::user(&user.id),
        role: Role::Technician,
        scope: RegionScope::Only(user.region_ids.clone()),
    };
    let appointment = sms_reply::appointment(&reply, now.and_utc(), cfg.tz);
    let id = t.id.clone();
    let acked = acknowledge(
        conn,
        cfg,
        &id,
        &who,
        appointment,
        &format!("短信回复：{text}"),
        now.into(),
    )?;
    event(
        conn,
        &acked,
        now,
        &who.actor,
        "sms_reply",
        json!({"text": text, "from": from.as_str()}),
        None,
    )?;
    Ok(ReplyOutcome::Acknowledged {
        ticket_id: acked.id,
    })
}
