//! What the ticket flow makes of the outbox sender's results: a push accepted settles the
//! dispatch stage, a message lost for good flags its ticket, a retry that no longer matters is
//! dropped (a question already answered among them), and an SMS platform going down or coming back is told to the dispatchers once.

use chrono::NaiveDateTime;
use serde_json::json;

use super::messages::Purpose;
use super::{event, queue_sms, save, staff, Actor, FlowConfig, FlowResult};
use crate::db::DbConn;
use crate::domain::sla::Stage;
use crate::domain::ticket::Flag;
use crate::domain::Role;
use crate::store::notifications::{self, NotificationRow};
use crate::store::tickets;
use crate::store::users::{self, UserFilter};

/// Purpose of the alert sent to dispatchers when a message is lost.
pub const SMS_FAILED: &str = "sms_failed";
/// Purposes of the notices about an SMS platform going down and coming back.
pub const PLATFORM_DOWN: &str = "sms_platform_down";
pub const PLATFORM_UP: &str = "sms_platform_up";

/// Why a message waiting for a retry is no longer worth sending, if it is not: its ticket is no
/// longer open, it asked a technician to act on a ticket that has since gone to someone else,
/// it announces an outage that is over, its customer opted out, or a newer contact card or
/// appointment replaced it.
pub fn obsolete(conn: &mut DbConn, row: &NotificationRow) -> FlowResult<Option<&'static str>> {
    if row.purpose == PLATFORM_DOWN && !notifications::any_platform_down(conn)? {
        return Ok(Some("the SMS platform is back"));
    }
    let Some(ticket_id) = &row.ticket_id else {
        return Ok(None);
    };
    let Some(t) = tickets::get(conn, ticket_id)? else {
        return Ok(Some("its ticket no longer exists"));
    };
    let to_customer = row.recipient_user_id.is_none();
    if to_customer
        && row.purpose != Purpose::OptedOut.as_str()
        && crate::store::surveys::opted_out(conn, &row.recipient_phone)?
    {
        return Ok(Some("the customer opted out"));
    }
    // A customer told of a holder or a visit later changed hears only the latest.
    let replaced_by_newer = [
        Purpose::ContactCard.as_str(),
        Purpose::AppointmentConfirmed.as_str(),
    ]
    .contains(&row.purpose.as_str())
        && notifications::newer_about(conn, row)?;
    if replaced_by_newer {
        return Ok(Some("a newer message to the customer replaced it"));
    }
    let after_the_work = [
        Purpose::Survey.as_str(),
        Purpose::CustomerHelp.as_str(),
        Purpose::OptedOut.as_str(),
        super::complaints::COMPLAINT_OVERDUE,
    ]
    .contains(&row.purpose.as_str());
    if !t.status.is_open() && !after_the_work {
        return Ok(Some("its ticket is no longer open"));
    }
    let asks_about_postponement = [
        Purpose::PostponementCheck.as_str(),
        Purpose::PostponementRequested.as_str(),
    ]
    .contains(&row.purpose.as_str());
    if asks_about_postponement
        && crate::store::postponements::pending_for_ticket(conn, &t.id)?.is_none()
    {
        return Ok(Some("the postponement was decided meanwhile"));
    }
    let for_the_holder = [
        Purpose::NewTicket.as_str(),
        Purpose::Reassigned.as_str(),
        Purpose::AckOverdue.as_str(),
    ]
    .contains(&row.purpose.as_str());
    if for_the_holder && row.recipient_user_id.is_some() && row.recipient_user_id != t.assignee_id {
        let recipient = users::find_row(conn, row.recipient_user_id.as_deref().unwrap_or(""))?;
        if recipient.is_some_and(|u| u.role == Role::Technician.as_str()) {
            return Ok(Some("the ticket went to another technician"));
        }
    }
    Ok(None)
}

/// The first accepted push of a ticket settles its dispatch outcome. Answers the push latency
/// (recorded to accepted, seconds) when this was the first push.
pub fn accepted(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    row: &NotificationRow,
    at: NaiveDateTime,
) -> FlowResult<Option<f64>> {
    if row.network_fault_id.is_some() {
        // Not a ticket's push: the fault settles its linked calls' stages.
        super::storms::accepted(conn, cfg, row, at)?;
        return Ok(None);
    }
    let Some(ticket_id) = &row.ticket_id else {
        return Ok(None);
    };
    if !Purpose::counts_as_push(&row.purpose) {
        return Ok(None);
    }
    let Some(mut t) = tickets::get(conn, ticket_id)? else {
        return Ok(None);
    };
    if t.pushed_at.is_some() {
        return Ok(None);
    }
    t.settle(Stage::Dispatch, at);
    save(conn, &mut t, cfg, at)?;
    event(
        conn,
        &t,
        at,
        &Actor::system(),
        "pushed",
        json!({"notification": row.id, "to": row.recipient_user_id, "accepted_at": at.and_utc(),
               "dispatch_on_time": t.dispatch_on_time}),
        None,
    )?;
    Ok(Some((at - t.created_at).num_milliseconds() as f64 / 1000.0))
}

/// A message that will never go out: its ticket is flagged and the dispatchers told.
pub fn lost(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    row: &NotificationRow,
    detail: &str,
    at: NaiveDateTime,
) -> FlowResult<()> {
    let Some(ticket_id) = &row.ticket_id else {
        return Ok(());
    };
    let Some(mut t) = tickets::get(conn, ticket_id)? else {
        return Ok(());
    };
    t.flag(Flag::SmsFailed {
        phone: row.recipient_phone.clone(),
    });
    save(conn, &mut t, cfg, at)?;
    event(
        conn,
        &t,
        at,
        &Actor::system(),
        "notification_failed",
        json!({"notification": row.id, "to": row.recipient_user_id, "error": detail}),
        None,
    )?;
    // Tell the region's dispatchers, unless the lost message was already such an alert.
    if row.purpose != SMS_FAILED {
        let text = format!(
            "【短信未送达 {}】发给 {} 的通知未能送达，请电话联系。地址：{}。",
            super::messages::short_ref(&t),
            row.recipient_phone,
            t.address
        );
        for d in staff(conn, &t.region_id, Role::Dispatcher)? {
            queue_sms(conn, &t.region_id, Some(&t.id), &d, SMS_FAILED, &text, at)?;
        }
    }
    Ok(())
}

/// A message the gateway reported undelivered: flag its ticket for the dispatcher.
pub fn undelivered(
    conn: &mut DbConn,
    cfg: &FlowConfig,
    notification_id: &str,
    detail: &str,
    at: NaiveDateTime,
) -> FlowResult<()> {
    match notifications::get(conn, notification_id)? {
        Some(row) => lost(conn, cfg, &row, detail, at),
        None => Ok(()),
    }
}

/// An SMS platform went down (`down`) or came back. The first instance to record the change
/// tells the dispatchers (of `region_id` only, for a region's own platform) by SMS, through
/// whichever platform still works, and on recovery makes every waiting retry due at once.
/// Answers whether this call recorded the change.
pub fn platform_changed(
    conn: &mut DbConn,
    platform: &str,
    region_id: Option<&str>,
    down: bool,
    detail: Option<&str>,
    at: NaiveDateTime,
) -> FlowResult<bool> {
    if !notifications::set_platform_state(conn, platform, down, at, detail)? {
        return Ok(false);
    }
    let (purpose, text) = if down {
        (
            PLATFORM_DOWN,
            format!(
                "【短信平台故障】短信平台 {platform} 发送失败，工单通知暂缓重发，请关注新工单并电话联系当班人员。"
            ),
        )
    } else {
        notifications::retry_now(conn, at)?;
        (
            PLATFORM_UP,
            format!("【短信平台恢复】短信平台 {platform} 已恢复，积压通知正在补发。"),
        )
    };
    let dispatchers = users::list(
        conn,
        &UserFilter {
            role: Some(Role::Dispatcher),
            region_id: region_id.map(str::to_string),
        },
    )?;
    for d in dispatchers.into_iter().filter(|d| d.active) {
        let Some(region) = region_id.or(d.region_ids.first().map(String::as_str)) else {
            continue;
        };
        let region = region.to_string();
        if let Some(row) = users::find_row(conn, &d.id)? {
            queue_sms(conn, &region, None, &row, purpose, &text, at)?;
        }
    }
    Ok(true)
}

/// Until when a message due at `now` waits: a survey in the customers' quiet hours (also after
/// an outage, when everything waiting is made due at once).
pub fn held(cfg: &FlowConfig, row: &NotificationRow, now: NaiveDateTime) -> Option<NaiveDateTime> {
    if row.purpose != Purpose::Survey.as_str() {
        return None;
    }
    super::customers::quiet_until(cfg, now)
}
