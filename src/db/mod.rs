//! Database access: one diesel connection enum over SQLite and PostgreSQL, an r2d2 pool that
//! picks the variant from the URL scheme, embedded per-dialect migrations, and the two entry
//! points the rest of the code uses: [`Db::read`] and [`Db::write`], which run diesel work on the
//! blocking thread pool, never on an actix worker.

pub mod schema;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{ManageConnection, Pool, PooledConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to either backend. Queries written against `DbConn` use only the SQL subset both
/// dialects share; the few dialect-specific operations live in `crate::store::dialect`.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A parsed `DATABASE_URL`. Any scheme but `sqlite://`, `postgres://` and `postgresql://` is an
/// error: a silent fallback to SQLite would write production data into a stray file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite { path: PathBuf },
    Postgres { url: String },
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, DbError> {
        if let Some(rest) = url.strip_prefix("sqlite://") {
            if rest.is_empty() {
                return Err(DbError::Url(format!("`{url}` names no SQLite file")));
            }
            return Ok(DatabaseUrl::Sqlite {
                path: PathBuf::from(rest),
            });
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres {
                url: url.to_string(),
            });
        }
        Err(DbError::Url(format!(
            "unsupported DATABASE_URL scheme in `{}`: use sqlite://PATH or postgres://...",
            redact(url)
        )))
    }

    pub fn backend(&self) -> Backend {
        match self {
            DatabaseUrl::Sqlite { .. } => Backend::Sqlite,
            DatabaseUrl::Postgres { .. } => Backend::Postgres,
        }
    }

    /// Opens one connection and applies the per-connection settings.
    pub fn connect(&self) -> Result<DbConn, DbError> {
        match self {
            DatabaseUrl::Sqlite { path } => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        DbError::Url(format!("cannot create {}: {e}", dir.display()))
                    })?;
                }
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
                // One statement per call, as diesel advises for pragmas. The busy timeout comes
                // first: switching to WAL takes a lock, and another connection (a running server,
                // a CLI command) may hold one for a moment.
                for pragma in [
                    "PRAGMA busy_timeout = 10000",
                    "PRAGMA journal_mode = WAL",
                    "PRAGMA synchronous = NORMAL",
                    "PRAGMA foreign_keys = ON",
                ] {
                    conn.batch_execute(pragma)?;
                }
                Ok(DbConn::Sqlite(conn))
            }
            DatabaseUrl::Postgres { url } => {
                let mut conn = PgConnection::establish(url)?;
                conn.batch_execute("SET TIME ZONE 'UTC'")?;
                Ok(DbConn::Postgres(conn))
            }
        }
    }
}

/// Hides a password in a URL for logs and error messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s + 3 => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{0}")]
    Url(String),
    #[error("cannot connect: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    #[error("no database connection available: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("database task failed: {0}")]
    Task(String),
}

/// The r2d2 manager: builds the variant the URL names.
pub struct Manager {
    url: DatabaseUrl,
}

/// How long a connection that answered a ping is trusted without another. The pool tests each
/// connection as it hands it out; a ping is a round trip to PostgreSQL, which cost a busy read
/// route about as much as its query. A connection that proved alive less than this long ago
/// is handed out untested, so a connection in constant use is pinged twice a second. If the
/// server drops connections (a restart, a failover), work on them fails for at most this long
/// before the ping finds them and the pool replaces them.
pub const TRUST_ALIVE_FOR: Duration = Duration::from_millis(500);

/// A pooled connection and when it last proved alive. Dereferences to [`DbConn`].
pub struct PoolConn {
    conn: DbConn,
    alive_at: Instant,
}

impl std::ops::Deref for PoolConn {
    type Target = DbConn;
    fn deref(&self) -> &DbConn {
        &self.conn
    }
}

impl std::ops::DerefMut for PoolConn {
    fn deref_mut(&mut self) -> &mut DbConn {
        &mut self.conn
    }
}

impl ManageConnection for Manager {
    type Connection = PoolConn;
    type Error = DbError;

    fn connect(&self) -> Result<PoolConn, DbError> {
        Ok(PoolConn {
            conn: self.url.connect()?,
            alive_at: Instant::now(),
        })
    }

    fn is_valid(&self, conn: &mut PoolConn) -> Result<(), DbError> {
        if conn.alive_at.elapsed() < TRUST_ALIVE_FOR {
            return Ok(());
        }
        conn.conn.ping().map_err(DbError::Query)?;
        conn.alive_at = Instant::now();
        Ok(())
    }

    fn has_broken(&self, conn: &mut PoolConn) -> bool {
        conn.conn.is_broken()
    }
}

/// Runs every pending migration of the URL's dialect. Returns the versions applied.
pub fn migrate(conn: &mut DbConn) -> Result<Vec<String>, DbError> {
    let source = migrations_for(conn);
    let applied = conn
        .run_pending_migrations(source)
        .map_err(|e| DbError::Migration(e.to_string()))?;
    Ok(applied.iter().map(|v| v.to_string()).collect())
}

/// True when the database has every embedded migration applied.
pub fn migrations_current(conn: &mut DbConn) -> Result<bool, DbError> {
    let source = migrations_for(conn);
    conn.has_pending_migration(source)
        .map(|pending| !pending)
        .map_err(|e| DbError::Migration(e.to_string()))
}

fn migrations_for(conn: &DbConn) -> EmbeddedMigrations {
    match conn {
        DbConn::Sqlite(_) => SQLITE_MIGRATIONS,
        DbConn::Postgres(_) => POSTGRES_MIGRATIONS,
    }
}

/// The pool plus what writers need to coordinate. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: Pool<Manager>,
    backend: Backend,
    /// SQLite allows one writer at a time: writers in this process queue here instead of
    /// spinning on SQLITE_BUSY. Unused on PostgreSQL.
    write_lock: Arc<Mutex<()>>,
    /// One permit per pooled connection. [`Db::read`] and [`Db::write`] take one before they
    /// move to a blocking thread, so work waiting for a connection waits as a parked future,
    /// not as a blocked thread: under a burst the process keeps about `pool_size` database
    /// threads instead of one per request in flight.
    permits: Arc<tokio::sync::Semaphore>,
    /// See [`crate::store::list_versions::VersionCache`].
    list_versions: Arc<crate::store::list_versions::VersionCache>,
}

impl Db {
    /// Opens the pool after migrating the database, so a pool never serves an old schema.
    pub fn open(url: &str, pool_size: u32) -> Result<Self, DbError> {
        let url = DatabaseUrl::parse(url)?;
        let backend = url.backend();
        {
            let mut conn = url.connect()?;
            migrate(&mut conn)?;
        }
        let pool = Pool::builder()
            .max_size(pool_size.max(1))
            // Work reaches the pool only with a permit (one per connection), so a checkout waits
            // only when connections cannot be made: the database is down, and the caller
            // hears 503 quickly instead of hanging.
            .connection_timeout(Duration::from_secs(2))
            .build(Manager { url })?;
        Ok(Db {
            pool,
            backend,
            write_lock: Arc::new(Mutex::new(())),
            permits: Arc::new(tokio::sync::Semaphore::new(pool_size.max(1) as usize)),
            list_versions: Arc::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A pooled connection for blocking code (CLI commands, the engine's own threads).
    pub fn conn(&self) -> Result<PooledConnection<Manager>, DbError> {
        Ok(self.pool.get()?)
    }

    /// Runs read-only diesel work on the blocking pool.
    pub async fn read<F, T, E>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let db = self.clone();
        self.run_blocking(move || {
            let mut conn = db.conn()?;
            f(&mut conn)
        })
        .await
    }

    /// Runs `f` inside one transaction on the blocking pool: everything it writes commits
    /// together or not at all.
    pub async fn write<F, T, E>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + From<diesel::result::Error> + Send + 'static,
    {
        let db = self.clone();
        self.run_blocking(move || db.write_blocking(f)).await
    }

    /// The blocking form of [`Db::write`].
    pub fn write_blocking<F, T, E>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E>,
        E: From<DbError> + From<diesel::result::Error>,
    {
        let mut conn = self.conn()?;
        // The guard protects no data, so a poisoned lock (a panicking writer) is still usable.
        let _guard = match self.backend {
            Backend::Sqlite => Some(self.write_lock.lock().unwrap_or_else(|p| p.into_inner())),
            Backend::Postgres => None,
        };
        let conn: &mut DbConn = &mut conn;
        // The technicians whose phones' lists this transaction changed get their new list
        // version as its last writes.
        crate::store::list_versions::forget_touched();
        let mut raised = Vec::new();
        let out = conn.transaction(|conn| {
            let out = f(conn)?;
            raised = crate::store::list_versions::record_touched(conn)?;
            Ok::<T, E>(out)
        })?;
        for user in &raised {
            self.list_versions.forget(user);
        }
        Ok(out)
    }

    /// The technicians' list versions this instance knows to be current.
    pub fn list_versions(&self) -> &crate::store::list_versions::VersionCache {
        &self.list_versions
    }

    /// Runs `f` on the blocking pool once a connection permit is free.
    async fn run_blocking<F, T, E>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce() -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| DbError::Task(e.to_string()))?;
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            f()
        })
        .await;
        match result {
            Ok(result) => result,
            Err(join) => Err(DbError::Task(join.to_string()).into()),
        }
    }
}

/// Where a SQLite URL keeps its file, for messages.
pub fn describe(url: &str) -> String {
    match DatabaseUrl::parse(url) {
        Ok(DatabaseUrl::Sqlite { path }) => format!("SQLite file {}", display_path(&path)),
        Ok(DatabaseUrl::Postgres { url }) => format!("PostgreSQL {}", redact(&url)),
        Err(e) => e.to_string(),
    }
}

fn display_path(p: &Path) -> String {
    p.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_schemes() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/fixline.db").unwrap(),
            DatabaseUrl::Sqlite {
                path: "data/fixline.db".into()
            }
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/fixline.db")
                .unwrap()
                .backend(),
            Backend::Sqlite
        );
        assert_eq!(
            DatabaseUrl::parse("postgresql://u:p@h/db")
                .unwrap()
                .backend(),
            Backend::Postgres
        );
        assert!(DatabaseUrl::parse("mysql://h/db").is_err());
        assert!(DatabaseUrl::parse("data/fixline.db").is_err());
        assert!(DatabaseUrl::parse("sqlite://").is_err());
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact("postgres://fix:secret@db:5432/fixline"),
            "postgres://fix:***@db:5432/fixline"
        );
        assert_eq!(
            redact("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
    }
}
