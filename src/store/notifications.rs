//! The notification outbox. Rows are written in the transaction of the change that causes them;
//! the sender leases them, sends outside any transaction, and records the outcome.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{notification_attempts, notifications, sms_platforms};
use crate::db::DbConn;

/// Outbox states: pending → sending (leased) → accepted (by the gateway) → delivered, or back to
/// pending for a retry, or dead (refused for good, or still failing past the retry horizon), or
/// obsolete (no longer worth sending).
pub const PENDING: &str = "pending";
pub const SENDING: &str = "sending";
pub const ACCEPTED: &str = "accepted";
pub const DELIVERED: &str = "delivered";
pub const DEAD: &str = "dead";
/// Dropped unsent because it no longer matters (its ticket closed, its recipient taken off).
pub const OBSOLETE: &str = "obsolete";
/// The gateway accepted it but reported that it never reached the phone.
pub const UNDELIVERED: &str = "undelivered";

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = notifications)]
pub struct NotificationRow {
    pub id: String,
    pub region_id: String,
    pub ticket_id: Option<String>,
    pub recipient_user_id: Option<String>,
    pub recipient_phone: String,
    pub channel: String,
    pub purpose: String,
    pub body: String,
    pub status: String,
    pub attempts: i32,
    pub created_at: NaiveDateTime,
    pub next_attempt_at: NaiveDateTime,
    pub lease_until: Option<NaiveDateTime>,
    pub accepted_at: Option<NaiveDateTime>,
    pub delivered_at: Option<NaiveDateTime>,
    pub provider: Option<String>,
    pub provider_message_id: Option<String>,
    pub last_error: Option<String>,
    /// The network fault a message is about (to the staff, or a linked caller).
    pub network_fault_id: Option<String>,
}

impl NotificationRow {
    /// A new SMS, pending and due at `now`, with a fresh id.
    pub fn pending(
        region_id: &str,
        ticket_id: Option<&str>,
        recipient_user_id: Option<&str>,
        recipient_phone: &str,
        purpose: &str,
        body: &str,
        now: NaiveDateTime,
    ) -> Self {
        NotificationRow {
            id: crate::domain::new_id(),
            region_id: region_id.to_string(),
            ticket_id: ticket_id.map(str::to_string),
            recipient_user_id: recipient_user_id.map(str::to_string),
            recipient_phone: recipient_phone.to_string(),
            channel: "sms".into(),
            purpose: purpose.into(),
            body: body.to_string(),
            status: PENDING.into(),
            attempts: 0,
            created_at: now,
            next_attempt_at: now,
            lease_until: None,
            accepted_at: None,
            delivered_at: None,
            provider: None,
            provider_message_id: None,
            last_error: None,
            network_fault_id: None,
        }
    }

    /// Whether the message was not sent as soon as it was written: it failed before, or waited
    /// (for a platform to come back, or for the customers' quiet hours to end). What it says
    /// may have gone stale meanwhile.
    pub fn has_waited(&self) -> bool {
        self.attempts > 0 || self.next_attempt_at > self.created_at
    }

    /// The same message, about network fault `id`.
    pub fn about_fault(mut self, id: &str) -> Self {
        self.network_fault_id = Some(id.to_string());
        self
    }
}

pub fn insert(conn: &mut DbConn, row: &NotificationRow) -> QueryResult<()> {
    diesel::insert_into(notifications::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// Pending messages due at `now`, and leases that expired (a sender died mid-send), oldest first.
pub fn due(conn: &mut DbConn, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<NotificationRow>> {
    // Two index range scans on (status, next_attempt_at) rather than one OR, which would walk
    // every message ever sent.
    let mut due: Vec<NotificationRow> = notifications::table
        .filter(notifications::status.eq(PENDING))
        .filter(notifications::next_attempt_at.le(now))
        .order(notifications::next_attempt_at.asc())
        .limit(limit)
        .select(NotificationRow::as_select())
        .load(conn)?;
    let expired: Vec<NotificationRow> = notifications::table
        .filter(notifications::status.eq(SENDING))
        .filter(notifications::lease_until.le(now))
        .order(notifications::next_attempt_at.asc())
        .limit(limit)
        .select(NotificationRow::as_select())
        .load(conn)?;
    due.extend(expired);
    due.sort_by_key(|n| n.next_attempt_at);
    due.truncate(limit.max(0) as usize);
    Ok(due)
}

/// The message `row` as it was read: a compare-and-set on its state and attempt count, so of two
/// senders acting on the same read only one changes it.
macro_rules! unchanged {
    ($row:expr) => {
        notifications::table
            .filter(notifications::id.eq(&$row.id))
            .filter(notifications::status.eq(&$row.status))
            .filter(notifications::attempts.eq($row.attempts))
    };
}

/// Leases a message for sending and records the attempt as it starts (outcome `sending`), so a
/// crash mid-send leaves a trace: true if this caller got it (compare-and-set on its state, so
/// two senders never both take it). A lease taken over from a sender that died marks that
/// sender's attempt `unknown`.
pub fn lease(
    conn: &mut DbConn,
    row: &NotificationRow,
    until: NaiveDateTime,
    attempt: &AttemptRow,
) -> QueryResult<bool> {
    let n = diesel::update(unchanged!(row))
        .set((
            notifications::status.eq(SENDING),
            notifications::lease_until.eq(until),
            notifications::attempts.eq(row.attempts + 1),
        ))
        .execute(conn)?;
    if n != 1 {
        return Ok(false);
    }
    if row.status == SENDING {
        diesel::update(
            notification_attempts::table
                .filter(notification_attempts::notification_id.eq(&row.id))
                .filter(notification_attempts::outcome.eq(ATTEMPT_SENDING)),
        )
        .set((
            notification_attempts::outcome.eq(ATTEMPT_UNKNOWN),
            notification_attempts::answer.eq("no outcome recorded: the sender stopped mid-send"),
        ))
        .execute(conn)?;
    }
    record_attempt(conn, attempt)?;
    Ok(true)
}

/// Puts a due message back until `at` without trying it (every platform it may use is down).
pub fn defer(conn: &mut DbConn, row: &NotificationRow, at: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(unchanged!(row))
        .set((
            notifications::status.eq(PENDING),
            notifications::next_attempt_at.eq(at),
            notifications::lease_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Drops a due message that no longer matters.
pub fn mark_obsolete(conn: &mut DbConn, row: &NotificationRow, why: &str) -> QueryResult<bool> {
    let n = diesel::update(unchanged!(row))
        .set((
            notifications::status.eq(OBSOLETE),
            notifications::lease_until.eq(None::<NaiveDateTime>),
            notifications::last_error.eq(why),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Whether a later message of the same purpose about the same ticket went to the same number.
pub fn newer_about(conn: &mut DbConn, row: &NotificationRow) -> QueryResult<bool> {
    let Some(ticket) = &row.ticket_id else {
        return Ok(false);
    };
    diesel::select(diesel::dsl::exists(
        notifications::table
            .filter(notifications::ticket_id.eq(ticket))
            .filter(notifications::purpose.eq(&row.purpose))
            .filter(notifications::recipient_phone.eq(&row.recipient_phone))
            .filter(notifications::created_at.gt(row.created_at)),
    ))
    .get_result(conn)
}

/// When the latest message to `phone` for a purpose not in `except` was written, if any.
pub fn latest_to(
    conn: &mut DbConn,
    phone: &str,
    except: &[&str],
) -> QueryResult<Option<NaiveDateTime>> {
    notifications::table
        .filter(notifications::recipient_phone.eq(phone))
        .filter(notifications::purpose.ne_all(except.to_vec()))
        .select(diesel::dsl::max(notifications::created_at))
        .first(conn)
}

/// Drops every message still waiting to go to `phone`, except those for `keep`; answers how
/// many.
pub fn drop_pending_to(
    conn: &mut DbConn,
    phone: &str,
    keep: &str,
    why: &str,
) -> QueryResult<usize> {
    diesel::update(
        notifications::table
            .filter(notifications::recipient_phone.eq(phone))
            .filter(notifications::status.eq(PENDING))
            .filter(notifications::purpose.ne(keep)),
    )
    .set((
        notifications::status.eq(OBSOLETE),
        notifications::last_error.eq(why),
    ))
    .execute(conn)
}

/// Makes every message waiting for a retry due at `now` (a platform came back).
pub fn retry_now(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        notifications::table
            .filter(notifications::status.eq(PENDING))
            .filter(notifications::next_attempt_at.gt(now)),
    )
    .set(notifications::next_attempt_at.eq(now))
    .execute(conn)
}

pub fn mark_accepted(
    conn: &mut DbConn,
    id: &str,
    at: NaiveDateTime,
    provider: &str,
    provider_message_id: Option<&str>,
) -> QueryResult<bool> {
    let n = diesel::update(
        notifications::table
            .filter(notifications::id.eq(id))
            .filter(notifications::status.eq(SENDING)),
    )
    .set((
        notifications::status.eq(ACCEPTED),
        notifications::accepted_at.eq(at),
        notifications::provider.eq(provider),
        notifications::provider_message_id.eq(provider_message_id),
        notifications::lease_until.eq(None::<NaiveDateTime>),
        notifications::last_error.eq(None::<String>),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// A failed attempt: retry at `retry_at`, or dead when that is None.
pub fn mark_failed(
    conn: &mut DbConn,
    id: &str,
    error: &str,
    retry_at: Option<NaiveDateTime>,
) -> QueryResult<()> {
    let (status, next) = match retry_at {
        Some(t) => (PENDING, Some(t)),
        None => (DEAD, None),
    };
    let q = diesel::update(
        notifications::table
            .filter(notifications::id.eq(id))
            .filter(notifications::status.eq(SENDING)),
    );
    match next {
        Some(t) => q
            .set((
                notifications::status.eq(status),
                notifications::next_attempt_at.eq(t),
                notifications::lease_until.eq(None::<NaiveDateTime>),
                notifications::last_error.eq(error),
            ))
            .execute(conn)?,
        None => q
            .set((
                notifications::status.eq(status),
                notifications::lease_until.eq(None::<NaiveDateTime>),
                notifications::last_error.eq(error),
            ))
            .execute(conn)?,
    };
    Ok(())
}

pub fn for_ticket(conn: &mut DbConn, ticket_id: &str) -> QueryResult<Vec<NotificationRow>> {
    notifications::table
        .filter(notifications::ticket_id.eq(ticket_id))
        .order((notifications::created_at.asc(), notifications::id.asc()))
        .select(NotificationRow::as_select())
        .load(conn)
}

/// Messages waiting to go out (pending or leased).
pub fn backlog(conn: &mut DbConn) -> QueryResult<i64> {
    notifications::table
        .filter(notifications::status.eq_any([PENDING, SENDING]))
        .count()
        .get_result(conn)
}

/// The earliest pending attempt.
pub fn earliest_due(conn: &mut DbConn) -> QueryResult<Option<NaiveDateTime>> {
    notifications::table
        .filter(notifications::status.eq(PENDING))
        .select(diesel::dsl::min(notifications::next_attempt_at))
        .get_result(conn)
}

/// Records a delivery receipt. Only an accepted (or still leased) message moves: a receipt never
/// revives a dead message, and a repeated receipt changes nothing. True when the row changed.
pub fn record_receipt(
    conn: &mut DbConn,
    id: &str,
    delivered: bool,
    error: Option<&str>,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    let q = notifications::table
        .filter(notifications::id.eq(id))
        .filter(notifications::status.eq_any([ACCEPTED, SENDING]));
    let n = if delivered {
        diesel::update(q)
            .set((
                notifications::status.eq(DELIVERED),
                notifications::delivered_at.eq(at),
            ))
            .execute(conn)?
    } else {
        diesel::update(q)
            .set((
                notifications::status.eq(UNDELIVERED),
                notifications::last_error.eq(error.unwrap_or("undelivered")),
            ))
            .execute(conn)?
    };
    Ok(n == 1)
}

pub fn get(conn: &mut DbConn, id: &str) -> QueryResult<Option<NotificationRow>> {
    notifications::table
        .find(id)
        .select(NotificationRow::as_select())
        .get_result(conn)
        .optional()
}

/// One attempt to hand a message to the gateway.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = notification_attempts)]
pub struct AttemptRow {
    pub id: String,
    pub notification_id: String,
    pub attempt: i32,
    /// When it started.
    pub at: NaiveDateTime,
    /// `sending` while under way, then `accepted`, `retry`, `unknown` (no answer in time, or the
    /// sender stopped mid-send) or `dead`.
    pub outcome: String,
    pub provider: String,
    /// The gateway's answer (its message id, or the error).
    pub answer: Option<String>,
    pub latency_ms: i64,
}

/// Outcome of an attempt under way.
pub const ATTEMPT_SENDING: &str = "sending";
/// Outcome of an attempt whose answer never came.
pub const ATTEMPT_UNKNOWN: &str = "unknown";

pub fn record_attempt(conn: &mut DbConn, row: &AttemptRow) -> QueryResult<()> {
    diesel::insert_into(notification_attempts::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// Records how an attempt under way ended.
pub fn finish_attempt(
    conn: &mut DbConn,
    id: &str,
    outcome: &str,
    answer: Option<&str>,
    latency_ms: i64,
) -> QueryResult<()> {
    diesel::update(notification_attempts::table.find(id))
        .set((
            notification_attempts::outcome.eq(outcome),
            notification_attempts::answer.eq(answer),
            notification_attempts::latency_ms.eq(latency_ms),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn attempts(conn: &mut DbConn, notification_ids: &[String]) -> QueryResult<Vec<AttemptRow>> {
    notification_attempts::table
        .filter(notification_attempts::notification_id.eq_any(notification_ids.to_vec()))
        .order((
            notification_attempts::notification_id,
            notification_attempts::attempt,
        ))
        .select(AttemptRow::as_select())
        .load(conn)
}

/// The outbox id of the message a provider knows by its own id (Tencent's `SerialNo`).
pub fn id_by_provider_message(
    conn: &mut DbConn,
    provider: &str,
    provider_message_id: &str,
) -> QueryResult<Option<String>> {
    notifications::table
        .filter(notifications::provider.eq(provider))
        .filter(notifications::provider_message_id.eq(provider_message_id))
        .select(notifications::id)
        .get_result(conn)
        .optional()
}

/// An SMS platform's last known state.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = sms_platforms)]
pub struct PlatformRow {
    pub name: String,
    /// `up` or `down`.
    pub state: String,
    pub since: NaiveDateTime,
    pub last_error: Option<String>,
}

/// Records that a platform is `down` (or back `up`). True when this call changed it, so of
/// several instances seeing the same outage only one acts on it.
pub fn set_platform_state(
    conn: &mut DbConn,
    name: &str,
    down: bool,
    at: NaiveDateTime,
    error: Option<&str>,
) -> QueryResult<bool> {
    let (state, other) = if down { ("down", "up") } else { ("up", "down") };
    let n = diesel::update(
        sms_platforms::table
            .filter(sms_platforms::name.eq(name))
            .filter(sms_platforms::state.eq(other)),
    )
    .set((
        sms_platforms::state.eq(state),
        sms_platforms::since.eq(at),
        sms_platforms::last_error.eq(error),
    ))
    .execute(conn)?;
    if n == 1 {
        return Ok(true);
    }
    let known: i64 = sms_platforms::table
        .filter(sms_platforms::name.eq(name))
        .count()
        .get_result(conn)?;
    if known > 0 || !down {
        return Ok(false);
    }
    diesel::insert_into(sms_platforms::table)
        .values((
            sms_platforms::name.eq(name),
            sms_platforms::state.eq(state),
            sms_platforms::since.eq(at),
            sms_platforms::last_error.eq(error),
        ))
        .execute(conn)?;
    Ok(true)
}

pub fn platforms(conn: &mut DbConn) -> QueryResult<Vec<PlatformRow>> {
    sms_platforms::table
        .order(sms_platforms::name.asc())
        .select(PlatformRow::as_select())
        .load(conn)
}

/// Whether an SMS platform outage overlapped the time since `from`: one is down now, or one came
/// back at `from` or later.
pub fn outage_since(conn: &mut DbConn, from: NaiveDateTime) -> QueryResult<bool> {
    let n: i64 = sms_platforms::table
        .filter(
            sms_platforms::state
                .eq("down")
                .or(sms_platforms::since.ge(from)),
        )
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Whether any SMS platform is down now.
pub fn any_platform_down(conn: &mut DbConn) -> QueryResult<bool> {
    let n: i64 = sms_platforms::table
        .filter(sms_platforms::state.eq("down"))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}
