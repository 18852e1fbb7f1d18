//! The few operations whose SQL differs between SQLite and PostgreSQL, one function each with
//! the `match` inside. Everything else in `store` is written once against [`DbConn`].

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::query_builder::{QueryBuilder, QueryFragment};
use diesel::sql_types::{BigInt, Text};

use crate::db::DbConn;

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    name: String,
}

/// The column names of `table`, in table order, as the database itself reports them.
pub fn table_columns(conn: &mut DbConn, table: &str) -> QueryResult<Vec<String>> {
    let rows: Vec<Column> = match conn {
        DbConn::Sqlite(c) => {
            diesel::sql_query("SELECT name FROM pragma_table_info(?) ORDER BY cid")
                .bind::<Text, _>(table)
                .load(c)?
        }
        DbConn::Postgres(c) => diesel::sql_query(
            "SELECT column_name AS name FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind::<Text, _>(table)
        .load(c)?,
    };
    Ok(rows.into_iter().map(|r| r.name).collect())
}

#[derive(QueryableByName)]
struct IndexedColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = BigInt)]
    position: i64,
}

/// Every (table, column) that is the leading column of some index, primary keys included.
/// Columns of an index that are expressions name no column and are left out.
pub fn leading_index_columns(conn: &mut DbConn) -> QueryResult<Vec<(String, String)>> {
    let rows: Vec<IndexedColumn> = match conn {
        DbConn::Sqlite(c) => diesel::sql_query(
            "SELECT m.name AS table_name, ii.name AS column_name, CAST(ii.seqno AS BIGINT) AS position \
             FROM sqlite_master m, pragma_index_list(m.name) il, pragma_index_info(il.name) ii \
             WHERE m.type = 'table' AND ii.name IS NOT NULL",
        )
        .load(c)?,
        DbConn::Postgres(c) => diesel::sql_query(
            "SELECT t.relname AS table_name, a.attname AS column_name, CAST(k.ord - 1 AS BIGINT) AS position \
             FROM pg_index ix \
             JOIN pg_class t ON t.oid = ix.indrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = current_schema() \
             CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord) \
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum",
        )
        .load(c)?,
    };
    Ok(rows
        .into_iter()
        .filter(|r| r.position == 0)
        .map(|r| (r.table_name, r.column_name))
        .collect())
}

/// Foreign keys as (table, column).
pub fn foreign_key_columns(conn: &mut DbConn) -> QueryResult<Vec<(String, String)>> {
    #[derive(QueryableByName)]
    struct Fk {
        #[diesel(sql_type = Text)]
        table_name: String,
        #[diesel(sql_type = Text)]
        column_name: String,
    }
    let rows: Vec<Fk> = match conn {
        DbConn::Sqlite(c) => diesel::sql_query(
            "SELECT m.name AS table_name, f.\"from\" AS column_name \
             FROM sqlite_master m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table'",
        )
        .load(c)?,
        DbConn::Postgres(c) => diesel::sql_query(
            "SELECT kcu.table_name AS table_name, kcu.column_name AS column_name \
             FROM information_schema.table_constraints tc \
             JOIN information_schema.key_column_usage kcu \
               ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema \
             WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = current_schema()",
        )
        .load(c)?,
    };
    Ok(rows
        .into_iter()
        .map(|r| (r.table_name, r.column_name))
        .collect())
}

/// How the database plans `query` (with `binds` as its text parameters) when the server runs
/// it as a cached prepared statement: PostgreSQL's generic plan, which it switches to after a
/// few calls when that plan looks no worse, and SQLite's one plan. For tests that hold a hot
/// query to its index.
pub fn cached_plan<Q>(conn: &mut DbConn, query: &Q, binds: &[&str]) -> QueryResult<String>
where
    Q: QueryFragment<diesel::pg::Pg> + QueryFragment<diesel::sqlite::Sqlite>,
{
    #[derive(QueryableByName)]
    struct PgLine {
        #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
        line: String,
    }
    #[derive(QueryableByName)]
    struct SqliteLine {
        #[diesel(sql_type = Text)]
        detail: String,
    }
    let lines: Vec<String> = match conn {
        DbConn::Sqlite(c) => {
            let mut sql = diesel::sqlite::SqliteQueryBuilder::new();
            QueryFragment::<diesel::sqlite::Sqlite>::to_sql(
                query,
                &mut sql,
                &diesel::sqlite::Sqlite,
            )?;
            diesel::sql_query(format!("EXPLAIN QUERY PLAN {}", sql.finish()))
                .load::<SqliteLine>(c)?
                .into_iter()
                .map(|l| l.detail)
                .collect()
        }
        DbConn::Postgres(c) => {
            let mut sql = diesel::pg::PgQueryBuilder::new();
            QueryFragment::<diesel::pg::Pg>::to_sql(query, &mut sql, &diesel::pg::Pg)?;
            let sql = sql.finish();
            let args: Vec<String> = binds
                .iter()
                .map(|b| format!("'{}'", b.replace('\'', "''")))
                .collect();
            c.batch_execute(&format!(
                "PREPARE fixline_plan_probe AS {sql}; SET plan_cache_mode = force_generic_plan"
            ))?;
            let plan = diesel::sql_query(format!(
                "EXPLAIN EXECUTE fixline_plan_probe({})",
                args.join(", ")
            ))
            .load::<PgLine>(c);
            c.batch_execute("DEALLOCATE fixline_plan_probe; RESET plan_cache_mode")?;
            plan?.into_iter().map(|l| l.line).collect()
        }
    };
    Ok(lines.join("\n"))
}

/// Cheap liveness probe.
pub fn ping(conn: &mut DbConn) -> QueryResult<()> {
    conn.batch_execute("SELECT 1")
}

/// The PostgreSQL channel instances wake each other on.
pub const WAKE_CHANNEL: &str = "fixline_wake";

/// Tells the other instances something changed (PostgreSQL `NOTIFY`); a no-op on SQLite,
/// where one instance serves the file.
pub fn notify_wake(conn: &mut DbConn) -> QueryResult<()> {
    match conn {
        DbConn::Sqlite(_) => Ok(()),
        DbConn::Postgres(c) => c.batch_execute(&format!("NOTIFY {WAKE_CHANNEL}")),
    }
}

/// Takes the row lock of a ticket for an engine step. On PostgreSQL, `FOR UPDATE SKIP LOCKED`:
/// false when another instance is stepping the same ticket right now, which then skips it. On
/// SQLite the single writer already excludes everyone else.
pub fn lock_ticket_for_step(conn: &mut DbConn, id: &str) -> QueryResult<bool> {
    match conn {
        DbConn::Sqlite(_) => Ok(true),
        DbConn::Postgres(c) => {
            #[derive(QueryableByName)]
            struct Locked {
                #[diesel(sql_type = Text)]
                #[allow(dead_code)]
                id: String,
            }
            let rows: Vec<Locked> =
                diesel::sql_query("SELECT id FROM tickets WHERE id = $1 FOR UPDATE SKIP LOCKED")
                    .bind::<Text, _>(id)
                    .load(c)?;
            Ok(!rows.is_empty())
        }
    }
}

/// Remembers a signed webhook request by its signature, forgetting those received before
/// `forget_before`. True the first time; false for a replay (the row is already there).
pub fn remember_webhook(
    conn: &mut DbConn,
    signature: &str,
    at: chrono::NaiveDateTime,
    forget_before: chrono::NaiveDateTime,
) -> QueryResult<bool> {
    use crate::db::schema::webhook_receipts;
    use diesel::sql_types::Timestamp;
    diesel::delete(webhook_receipts::table.filter(webhook_receipts::received_at.lt(forget_before)))
        .execute(conn)?;
    let inserted = match conn {
        DbConn::Sqlite(c) => diesel::sql_query(
            "INSERT OR IGNORE INTO webhook_receipts (signature, received_at) VALUES (?, ?)",
        )
        .bind::<Text, _>(signature)
        .bind::<Timestamp, _>(at)
        .execute(c)?,
        DbConn::Postgres(c) => diesel::sql_query(
            "INSERT INTO webhook_receipts (signature, received_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind::<Text, _>(signature)
        .bind::<Timestamp, _>(at)
        .execute(c)?,
    };
    Ok(inserted == 1)
}

/// Raises a technician's list version by one (from 0 when they have none yet) and answers it.
/// The row stays locked until the transaction commits; see [`crate::store::list_versions`].
pub fn raise_list_version(conn: &mut DbConn, user_id: &str) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Raised {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        version: i64,
    }
    const SQL: &str = "INSERT INTO list_versions (user_id, version, floor) VALUES (#1, 1, 0) \
        ON CONFLICT (user_id) DO UPDATE SET version = list_versions.version + 1 RETURNING version";
    let raised: Raised = match conn {
        DbConn::Sqlite(c) => diesel::sql_query(SQL.replace("#1", "?"))
            .bind::<Text, _>(user_id)
            .get_result(c)?,
        DbConn::Postgres(c) => diesel::sql_query(SQL.replace("#1", "$1"))
            .bind::<Text, _>(user_id)
            .get_result(c)?,
    };
    Ok(raised.version)
}

/// Records that `ticket_id` changed for `user_id` at list version `version`.
pub fn record_list_change(
    conn: &mut DbConn,
    user_id: &str,
    ticket_id: &str,
    version: i64,
    at: chrono::NaiveDateTime,
) -> QueryResult<()> {
    use diesel::sql_types::{BigInt, Timestamp};
    const SQL: &str = "INSERT INTO list_changes (user_id, ticket_id, version, changed_at) \
        VALUES (#1, #2, #3, #4) ON CONFLICT (user_id, ticket_id) \
        DO UPDATE SET version = excluded.version, changed_at = excluded.changed_at";
    let numbered = |p: fn(usize) -> String| {
        (1..=4).fold(SQL.to_string(), |sql, i| {
            sql.replace(&format!("#{i}"), &p(i))
        })
    };
    match conn {
        DbConn::Sqlite(c) => diesel::sql_query(numbered(|_| "?".into()))
            .bind::<Text, _>(user_id)
            .bind::<Text, _>(ticket_id)
            .bind::<BigInt, _>(version)
            .bind::<Timestamp, _>(at)
            .execute(c)?,
        DbConn::Postgres(c) => diesel::sql_query(numbered(|i| format!("${i}")))
            .bind::<Text, _>(user_id)
            .bind::<Text, _>(ticket_id)
            .bind::<BigInt, _>(version)
            .bind::<Timestamp, _>(at)
            .execute(c)?,
    };
    Ok(())
}

/// Every user's feed entries after `after`, oldest first, at most `limit`; on PostgreSQL also
/// the transactions in progress in the snapshot that read them (from `pg_current_snapshot()`),
/// which tells the reader whether a missing sequence number can still commit.
pub fn feed_since(
    conn: &mut DbConn,
    after: i64,
    limit: i64,
) -> QueryResult<(Vec<crate::store::feed::FeedRow>, Option<Vec<u64>>)> {
    use crate::db::schema::user_feed;
    use crate::store::feed::FeedRow;
    match conn {
        DbConn::Sqlite(_) => Ok((crate::store::feed::since(conn, after, limit)?, None)),
        DbConn::Postgres(c) => {
            let rows: Vec<(FeedRow, String)> = user_feed::table
                .filter(user_feed::seq.gt(after))
                .order(user_feed::seq.asc())
                .limit(limit)
                .select((
                    FeedRow::as_select(),
                    diesel::dsl::sql::<Text>("pg_current_snapshot()::text"),
                ))
                .load(c)?;
            let in_progress = rows.first().map(|(_, s)| snapshot_in_progress(s));
            Ok((rows.into_iter().map(|(r, _)| r).collect(), in_progress))
        }
    }
}

/// The in-progress transaction ids of a snapshot's text form, `xmin:xmax:xip,xip,…`.
fn snapshot_in_progress(snapshot: &str) -> Vec<u64> {
    snapshot
        .rsplit(':')
        .next()
        .unwrap_or("")
        .split(',')
        .filter_map(|x| x.trim().parse().ok())
        .collect()
}

#[cfg(test)]
mod snapshot_tests {
    #[test]
    fn a_snapshots_in_progress_transactions_are_its_last_field() {
        assert_eq!(super::snapshot_in_progress("10:20:12,15"), vec![12, 15]);
        assert!(super::snapshot_in_progress("10:10:").is_empty());
    }
}
