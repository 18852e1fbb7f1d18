//! Messages to customers and their replies: the contact card naming who holds their ticket, the
//! appointment, the satisfaction survey after the work, and opting out (TD / 退订), which every
//! message to a customer honours. Surveys wait out the quiet hours; the messages about a repair
//! the customer is waiting for do not.

use chrono::{Duration, NaiveDateTime};
use serde_json::json;

use super::messages::Purpose;
use super::replies::ReplyOutcome;
use super::{event, Actor, FlowConfig, FlowResult};
use crate::db::DbConn;
use crate::domain::callback::Outcome;
use crate::domain::customer::{self, CustomerMessages, QuietHours};
use crate::domain::{new_id, PhoneNumber, Role};
use crate::store::notifications::{self, NotificationRow};
use crate::store::surveys::{self, OptOutRow, SurveyRow};
use crate::store::tickets::{self, TicketRow};
use crate::store::users::{self, UserRow};

/// What customers are sent, and when.
#[derive(Debug, Clone)]
pub struct CustomerConfig {
    pub messages: CustomerMessages,
    /// Local hours during which surveys are held until the span ends.
    pub quiet: Option<QuietHours>,
    /// How long after it is sent a survey takes answers.
    pub survey_window: Duration,
}

/// When the customers' quiet hours in force at `now` end; None outside them.
pub fn quiet_until(cfg: &FlowConfig, now: NaiveDateTime) -> Option<NaiveDateTime> {
    cfg.customers
        .quiet
        .and_then(|q| q.hold_until(now.and_utc(), cfg.tz))
        .map(|t| t.naive_utc())
}

/// Queues `text` for the customer of `t`, to go at `not_before` when given. Nothing goes to a
/// number that opted out or is not a mobile number. Answers whether it was queued.
pub fn queue(
    conn: &mut DbConn,
    t: &TicketRow,
    purpose: &str,
    text: &str,
    fault_id: Option<&str>,
    not_before: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> FlowResult<bool> {
    // Landlines take no SMS.
    let mobile = PhoneNumber::parse("customer_phone", &t.customer_phone)
        .is_ok_and(|p| p.kind() == crate::domain::phone::LineKind::Mobile);
    if !mobile || surveys::opted_out(conn, &t.customer_phone)? {
        return Ok(false);
    }
    let mut row = NotificationRow::pending(
        &t.region_id,
        Some(&t.id),
        None,
        &t.customer_phone,
        purpose,
        text,
        now,
    );
    if let Some(f) = fault_id {
        row = row.about_fault(f);
    }
    if let Some(at) = not_before {
        row.next_attempt_at = at;
    }
    notifications::insert(conn, &row)?;
    Ok(true)
}

/// The account manager a customer is given: the first on duty in the ticket's region, else
/// any active one of the region.
fn account_manager(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    t: &TicketRow,
    now: NaiveDateTime,
) -> FlowResult<Option<UserRow>> {
    let (on_duty, _) = super::on_duty_staff(conn, cfg, &t.region_id, now)?;
    if let Some(m) = on_duty.into_iter().next() {
        return Ok(Some(m));
    }
    Ok(super::staff(conn, &t.region_id, Role::AccountManager)?
        .into_iter()
        .next())
}

fn name_and_phone(u: &UserRow) -> (&str, &str) {
    (u.display_name.as_str(), u.phone.as_deref().unwrap_or(""))
}

/// The contact card, when ticket `t` has just gone to `holder`.
pub fn contact_card(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    t: &TicketRow,
    holder: &UserRow,
    now: NaiveDateTime,
) -> FlowResult<bool> {
    if !cfg.customers.messages.contact_card {
        return Ok(false);
    }
    let manager = account_manager(conn, cfg, t, now)?;
    let text = cfg.templates.render_with(
        Purpose::ContactCard,
        t,
        cfg.tz,
        Some(name_and_phone(holder)),
        Some(manager.as_ref().map_or(("客服热线", ""), name_and_phone)),
    );
    queue(
        conn,
        t,
        Purpose::ContactCard.as_str(),
        &text,
        None,
        None,
        now,
    )
}

/// The visit agreed on ticket `t` (acknowledged with its appointment).
pub fn appointment(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    t: &TicketRow,
    now: NaiveDateTime,
) -> FlowResult<bool> {
    if !cfg.customers.messages.appointment || t.appointment_at.is_none() {
        return Ok(false);
    }
    let holder = match &t.assignee_id {
        Some(id) => users::find_row(conn, id)?,
        None => None,
    };
    let text = cfg.templates.render(
        Purpose::AppointmentConfirmed,
        t,
        cfg.tz,
        holder.as_ref().map(name_and_phone),
    );
    queue(
        conn,
        t,
        Purpose::AppointmentConfirmed.as_str(),
        &text,
        None,
        None,
        now,
    )
}

/// The satisfaction survey after ticket `t` was finished (one per ticket).
pub fn survey(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    t: &TicketRow,
    now: NaiveDateTime,
) -> FlowResult<Option<SurveyRow>> {
    if !cfg.customers.messages.survey || surveys::for_ticket(conn, &t.id)?.is_some() {
        return Ok(None);
    }
    let text = cfg.templates.render(Purpose::Survey, t, cfg.tz, None);
    // A survey waits out the quiet hours; it is asked when it goes out.
    let held = quiet_until(cfg, now);
    if !queue(conn, t, Purpose::Survey.as_str(), &text, None, held, now)? {
        return Ok(None);
    }
    let sent_at = held.unwrap_or(now);
    let row = SurveyRow {
        id: new_id(),
        ticket_id: t.id.clone(),
        region_id: t.region_id.clone(),
        district_id: t.district_id.clone(),
        technician_id: t.assignee_id.clone(),
        customer_phone: t.customer_phone.clone(),
        resolved_at: t.resolved_at.unwrap_or(now),
        asked_at: sent_at,
        answer_by: sent_at + cfg.customers.survey_window,
        outcome: None,
        rating: None,
        remark: None,
        answered_at: None,
        help_sent_at: None,
        follow_up_ticket_id: None,
        complaint_id: None,
    };
    surveys::insert(conn, &row)?;
    event(
        conn,
        t,
        now,
        &Actor::system(),
        "survey_sent",
        json!({"survey_id": row.id, "asked_at": sent_at.and_utc(), "answer_by": row.answer_by.and_utc()}),
        None,
    )?;
    Ok(Some(row))
}

/// Whether the customer's open survey is the latest question put to `from`: then a reply of
/// `1` or `2` answers it, not an older postponement check or network-fault notice.
pub fn survey_asked_last(
    conn: &mut DbConn,
    from: &PhoneNumber,
    regions: Option<&[String]>,
    now: NaiveDateTime,
) -> FlowResult<bool> {
    let Some(s) = surveys::open_for_phone(conn, from.as_str(), now)?
        .into_iter()
        .find(|s| regions.is_none_or(|only| only.contains(&s.region_id)))
    else {
        return Ok(false);
    };
    let not_questions = [
        Purpose::Survey.as_str(),
        Purpose::CustomerHelp.as_str(),
        Purpose::OptedOut.as_str(),
        Purpose::ContactCard.as_str(),
        Purpose::AppointmentConfirmed.as_str(),
    ];
    let other = notifications::latest_to(conn, from.as_str(), &not_questions)?;
    Ok(other.is_none_or(|at| at <= s.asked_at))
}

/// A customer's SMS that is an opt-out or concerns their survey; None when it is neither (other
/// handlers may know it).
pub fn reply(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    from: &PhoneNumber,
    text: &str,
    regions: Option<&[String]>,
    now: NaiveDateTime,
) -> FlowResult<Option<ReplyOutcome>> {
    let in_scope = |region: &str| regions.is_none_or(|only| only.iter().any(|r| r == region));
    let open: Vec<SurveyRow> = surveys::open_for_phone(conn, from.as_str(), now)?
        .into_iter()
        .filter(|s| in_scope(&s.region_id))
        .collect();
    if customer::opts_out(text) {
        return opt_out(conn, cfg, from, text, regions, open.first(), now).map(Some);
    }
    let Some(mut s) = open.into_iter().next() else {
        return Ok(None);
    };
    let Some(t) = tickets::get(conn, &s.ticket_id)? else {
        return Ok(None);
    };
    let customer = Actor::customer();
    let Some(answer) = customer::survey_answer(text) else {
        event(
            conn,
            &t,
            now,
            &customer,
            "sms_reply_refused",
            json!({"text": text, "reason": "not a survey answer (1, 2 or 3)", "help_sent": s.help_sent_at.is_none()}),
            None,
        )?;
        // One help text per survey: an auto-reply on the other side must not start a loop.
        if !surveys::help_sent(conn, &s.id, now)? {
            return Ok(Some(ReplyOutcome::CustomerNotUnderstood {
                ticket_id: t.id,
            }));
        }
        let help = cfg
            .templates
            .render(Purpose::CustomerHelp, &t, cfg.tz, None);
        queue(
            conn,
            &t,
            Purpose::CustomerHelp.as_str(),
            &help,
            None,
            None,
            now,
        )?;
        return Ok(Some(ReplyOutcome::HelpSent {
            reason: "not a survey answer".into(),
        }));
    };
    s.outcome = Some(answer.outcome.as_str().into());
    s.rating = answer.rating;
    s.remark = answer.remark.clone();
    s.answered_at = Some(now);
    // Claimed first: of two replies handled at once, only one answers.
    if !surveys::answer(conn, &s)? {
        return Ok(None);
    }
    if answer.outcome == Outcome::Unsatisfied {
        let (f, c) = super::callbacks::unsatisfied(
            conn,
            cfg,
            &t,
            None,
            Some(answer.remark.as_deref().unwrap_or("短信回访不满意")),
            &customer,
            now,
        )?;
        s.follow_up_ticket_id = Some(f.id);
        s.complaint_id = c.map(|c| c.id);
    }
    surveys::save(conn, &s)?;
    event(
        conn,
        &t,
        now,
        &customer,
        "survey_answered",
        json!({"survey_id": s.id, "text": text, "outcome": answer.outcome.as_str(),
               "rating": answer.rating, "remark": answer.remark,
               "follow_up_ticket_id": s.follow_up_ticket_id, "complaint_id": s.complaint_id}),
        None,
    )?;
    Ok(Some(ReplyOutcome::SurveyAnswered {
        ticket_id: t.id,
        outcome: answer.outcome.as_str().into(),
        follow_up_id: s.follow_up_ticket_id,
    }))
}

/// Records that `from` wants no more messages, drops what is still queued for them, and tells
/// them once.
fn opt_out(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    from: &PhoneNumber,
    text: &str,
    regions: Option<&[String]>,
    survey: Option<&SurveyRow>,
    now: NaiveDateTime,
) -> FlowResult<ReplyOutcome> {
    // The region of the customer's latest ticket (within the platform's regions) records it.
    let latest = match survey {
        Some(s) => tickets::get(conn, &s.ticket_id)?,
        None => tickets::latest_for_customer(conn, from.as_str(), regions)?,
    };
    let Some(t) = latest else {
        return Ok(ReplyOutcome::UnknownSender);
    };
    let already = surveys::opted_out(conn, from.as_str())?;
    if !already {
        let confirm = cfg.templates.render(Purpose::OptedOut, &t, cfg.tz, None);
        queue(
            conn,
            &t,
            Purpose::OptedOut.as_str(),
            &confirm,
            None,
            None,
            now,
        )?;
        surveys::opt_out(
            conn,
            &OptOutRow {
                phone: from.as_str().to_string(),
                region_id: t.region_id.clone(),
                opted_out_at: now,
                text: text.chars().take(200).collect(),
            },
        )?;
    }
    let dropped = notifications::drop_pending_to(
        conn,
        from.as_str(),
        Purpose::OptedOut.as_str(),
        "the customer opted out",
    )?;
    event(
        conn,
        &t,
        now,
        &Actor::customer(),
        "customer_opted_out",
        json!({"text": text, "already": already, "dropped_messages": dropped}),
        None,
    )?;
    Ok(ReplyOutcome::OptedOut { ticket_id: t.id })
}
