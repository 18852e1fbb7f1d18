//! The two migration folders stay in lockstep and produce the schema `schema.rs` declares.

use std::collections::BTreeSet;

use crate::helpers::{Backend, TestDb};
use fixline::db::{self, schema::declared_tables, DatabaseUrl};
use fixline::store::dialect;

fn versions(dialect: &str) -> BTreeSet<String> {
    std::fs::read_dir(format!(
        "{}/migrations/{dialect}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
    .collect()
}

#[test]
fn migration_folders_have_the_same_versions() {
    let sqlite = versions("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, versions("postgres"));
    for v in &sqlite {
        for dialect in ["sqlite", "postgres"] {
            for file in ["up.sql", "down.sql"] {
                let path = format!(
                    "{}/migrations/{dialect}/{v}/{file}",
                    env!("CARGO_MANIFEST_DIR")
                );
                assert!(std::path::Path::new(&path).exists(), "{path}");
            }
        }
    }
}

/// The partial index of open tickets states the same condition that the query writes, or the
/// database could not use it.
#[test]
fn the_open_tickets_index_has_the_queries_condition() {
    let condition =
        fixline::store::tickets::IsOpen::sql().replace("\"tickets\".\"status\"", "status");
    for dialect in ["sqlite", "postgres"] {
        let path = format!(
            "{}/migrations/{dialect}/2026-12-01-000010_open_tickets_in_list_order/up.sql",
            env!("CARGO_MANIFEST_DIR")
        );
        let sql = std::fs::read_to_string(&path).unwrap();
        assert!(
            sql.contains(&format!("WHERE {condition};"))
                && sql.contains("(next_deadline_at IS NULL), next_deadline_at, created_at"),
            "{path}: {condition}"
        );
    }
}

fn migrated_schema(backend: Backend) {
    let test_db = TestDb::new(backend);
    let url = DatabaseUrl::parse(&test_db.url).unwrap();
    let mut conn = url.connect().unwrap();
    let applied = db::migrate(&mut conn).unwrap();
    assert_eq!(applied.len(), versions("sqlite").len());
    assert!(
        db::migrate(&mut conn).unwrap().is_empty(),
        "a second migrate is a no-op"
    );
    assert!(db::migrations_current(&mut conn).unwrap());

    let declared = declared_tables();
    assert!(declared.len() >= 13);
    for (table, columns) in &declared {
        assert!(columns.len() >= 2, "{table}: {columns:?}");
        let got = dialect::table_columns(&mut conn, table).unwrap();
        assert_eq!(&got, columns, "{table} on {backend:?}");
    }

    // Every foreign key and every deadline column leads some index, so joins and sweeps never scan.
    let indexed: BTreeSet<(String, String)> = dialect::leading_index_columns(&mut conn)
        .unwrap()
        .into_iter()
        .collect();
    let fks = dialect::foreign_key_columns(&mut conn).unwrap();
    assert!(!fks.is_empty());
    for fk in fks {
        assert!(
            indexed.contains(&fk),
            "foreign key {fk:?} has no index on {backend:?}"
        );
    }
    // The columns the engine and the sender sweep by: the engine by time, the sender by status
    // and then time (index `notifications_status_due_idx`), so that the messages already sent
    // are never walked.
    for (table, column) in [
        ("tickets", "next_deadline_at"),
        ("notifications", "status"),
        ("refresh_tokens", "expires_at"),
    ] {
        assert!(
            indexed.contains(&(table.to_string(), column.to_string())),
            "deadline column {table}.{column} has no index on {backend:?}"
        );
    }
}

#[test]
fn sqlite_schema_matches() {
    migrated_schema(Backend::Sqlite);
}

#[test]
fn postgres_schema_matches() {
    migrated_schema(Backend::Postgres);
}
