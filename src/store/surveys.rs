//! SMS satisfaction surveys and the customers who opted out of messages.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{sms_opt_outs, sms_surveys};
use crate::db::DbConn;

/// A survey sent after a ticket was finished, and the answer when one came. Region, district,
/// technician and resolution time are the ticket's, copied so monthly counts need no join.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = sms_surveys, treat_none_as_null = true)]
pub struct SurveyRow {
    pub id: String,
    pub ticket_id: String,
    pub region_id: String,
    pub district_id: Option<String>,
    pub technician_id: Option<String>,
    pub customer_phone: String,
    pub resolved_at: NaiveDateTime,
    pub asked_at: NaiveDateTime,
    /// Answers after this are not taken.
    pub answer_by: NaiveDateTime,
    pub outcome: Option<String>,
    pub rating: Option<i32>,
    pub remark: Option<String>,
    pub answered_at: Option<NaiveDateTime>,
    /// When the one help text went back for a reply that was not an answer.
    pub help_sent_at: Option<NaiveDateTime>,
    pub follow_up_ticket_id: Option<String>,
    pub complaint_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = sms_opt_outs)]
pub struct OptOutRow {
    pub phone: String,
    pub region_id: String,
    pub opted_out_at: NaiveDateTime,
    pub text: String,
}

pub fn insert(conn: &mut DbConn, row: &SurveyRow) -> QueryResult<()> {
    diesel::insert_into(sms_surveys::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn save(conn: &mut DbConn, row: &SurveyRow) -> QueryResult<()> {
    diesel::update(sms_surveys::table.find(&row.id))
        .set(row)
        .execute(conn)
        .map(|_| ())
}

/// Records the answer of a survey not answered yet; false when another reply answered it first.
pub fn answer(conn: &mut DbConn, row: &SurveyRow) -> QueryResult<bool> {
    let n = diesel::update(
        sms_surveys::table
            .filter(sms_surveys::id.eq(&row.id))
            .filter(sms_surveys::answered_at.is_null()),
    )
    .set(row)
    .execute(conn)?;
    Ok(n == 1)
}

/// Marks that the survey's one help text went; false when it went already.
pub fn help_sent(conn: &mut DbConn, id: &str, at: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(
        sms_surveys::table
            .filter(sms_surveys::id.eq(id))
            .filter(sms_surveys::help_sent_at.is_null()),
    )
    .set(sms_surveys::help_sent_at.eq(at))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn for_ticket(conn: &mut DbConn, ticket_id: &str) -> QueryResult<Option<SurveyRow>> {
    sms_surveys::table
        .filter(sms_surveys::ticket_id.eq(ticket_id))
        .select(SurveyRow::as_select())
        .get_result(conn)
        .optional()
}

/// The unanswered surveys to `phone` that went out and are still open at `now`, latest first.
pub fn open_for_phone(
    conn: &mut DbConn,
    phone: &str,
    now: NaiveDateTime,
) -> QueryResult<Vec<SurveyRow>> {
    sms_surveys::table
        .filter(sms_surveys::customer_phone.eq(phone))
        .filter(sms_surveys::answer_by.gt(now))
        .filter(sms_surveys::asked_at.le(now))
        .filter(sms_surveys::answered_at.is_null())
        .select(SurveyRow::as_select())
        .order((sms_surveys::asked_at.desc(), sms_surveys::id.desc()))
        .load(conn)
}

/// region, district, technician, outcome, count
pub type AnswerGroup = (String, Option<String>, Option<String>, Option<String>, i64);

/// Answered surveys of tickets finished in `[start, end)`, grouped.
pub fn answered_counts(
    conn: &mut DbConn,
    start: NaiveDateTime,
    end: NaiveDateTime,
) -> QueryResult<Vec<AnswerGroup>> {
    sms_surveys::table
        .filter(sms_surveys::resolved_at.ge(start))
        .filter(sms_surveys::resolved_at.lt(end))
        .filter(sms_surveys::answered_at.is_not_null())
        .group_by((
            sms_surveys::region_id,
            sms_surveys::district_id,
            sms_surveys::technician_id,
            sms_surveys::outcome,
        ))
        .select((
            sms_surveys::region_id,
            sms_surveys::district_id,
            sms_surveys::technician_id,
            sms_surveys::outcome,
            diesel::dsl::count_star(),
        ))
        .load(conn)
}

/// Records an opt-out; a number that opted out already keeps its first record.
pub fn opt_out(conn: &mut DbConn, row: &OptOutRow) -> QueryResult<()> {
    match conn {
        DbConn::Sqlite(c) => diesel::insert_or_ignore_into(sms_opt_outs::table)
            .values(row)
            .execute(c),
        DbConn::Postgres(c) => diesel::insert_into(sms_opt_outs::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c),
    }
    .map(|_| ())
}

pub fn opted_out(conn: &mut DbConn, phone: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        sms_opt_outs::table.filter(sms_opt_outs::phone.eq(phone)),
    ))
    .get_result(conn)
}

/// The opt-outs of `regions` (every region when None), latest first, of `phone` when given.
pub fn opt_outs(
    conn: &mut DbConn,
    regions: Option<&[String]>,
    phone: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<OptOutRow>> {
    let mut q = sms_opt_outs::table.into_boxed();
    if let Some(r) = regions {
        q = q.filter(sms_opt_outs::region_id.eq_any(r.to_vec()));
    }
    if let Some(p) = phone {
        q = q.filter(sms_opt_outs::phone.eq(p.to_string()));
    }
    q.order((sms_opt_outs::opted_out_at.desc(), sms_opt_outs::phone.asc()))
        .limit(limit)
        .select(OptOutRow::as_select())
        .load(conn)
}

/// Lifts the opt-out of `phone` if it is in `regions`; answers whether there was one.
pub fn lift_opt_out(
    conn: &mut DbConn,
    phone: &str,
    regions: Option<&[String]>,
) -> QueryResult<bool> {
    let n = match regions {
        Some(r) => diesel::delete(
            sms_opt_outs::table
                .filter(sms_opt_outs::phone.eq(phone))
                .filter(sms_opt_outs::region_id.eq_any(r.to_vec())),
        )
        .execute(conn)?,
        None => diesel::delete(sms_opt_outs::table.filter(sms_opt_outs::phone.eq(phone)))
            .execute(conn)?,
    };
    Ok(n > 0)
}
