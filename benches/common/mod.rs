//! What the benchmarks share: a scratch PostgreSQL database, dropped when it goes out of scope.

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

/// A fresh PostgreSQL database on the server at `FIXLINE_BENCH_PG` (default
/// `postgres://postgres@127.0.0.1:5432`), dropped with this value unless `FIXLINE_BENCH_KEEP`
/// is set (to look at its plans and data after a run).
pub struct ScratchPg {
    pub url: String,
    server: String,
    name: String,
}

impl ScratchPg {
    /// Creates `fixline_bench_<tag>_<pid>`, replacing a leftover of the same name.
    pub fn create(tag: &str) -> ScratchPg {
        let server = std::env::var("FIXLINE_BENCH_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
        let name = format!("fixline_bench_{tag}_{}", std::process::id());
        let mut admin = PgConnection::establish(&format!("{server}/postgres"))
            .expect("PostgreSQL is required for this benchmark");
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .expect("drop a leftover scratch database");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create the scratch database");
        ScratchPg {
            url: format!("{server}/{name}"),
            server,
            name,
        }
    }
}

impl Drop for ScratchPg {
    fn drop(&mut self) {
        if std::env::var_os("FIXLINE_BENCH_KEEP").is_some() {
            eprintln!("kept the scratch database {}/{}", self.server, self.name);
            return;
        }
        if let Ok(mut c) = PgConnection::establish(&format!("{}/postgres", self.server)) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}
