//! Connecting, migrating and the [`Db`] handle.

use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Connection, Executor, Transaction};

use crate::{DbError, migrations};

/// A pooled PostgreSQL connection idle for longer than this is checked before use.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);
/// SQLite: how often the write-ahead log is checkpointed into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);
/// SQLite: the write-ahead log file is cut back to this size when it restarts.
const WAL_SIZE_LIMIT: u64 = 64 * 1024 * 1024;

/// Which database engine is behind a [`Db`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite in WAL mode: the embedded default.
    Sqlite,
    /// PostgreSQL: for several nodes sharing one database.
    Postgres,
}

impl Backend {
    /// Picks the backend from a URL's scheme.
    pub fn from_url(url: &str) -> Result<Backend, DbError> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            _ => Err(DbError::UnsupportedUrl(redact_url(url))),
        }
    }

    /// `sqlite` or `postgres`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// How to connect.
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// `sqlite:PATH?mode=rwc` or `postgres://USER:PASSWORD@HOST:PORT/DB`.
    pub url: String,
    /// Upper bound on pooled connections.
    pub max_connections: u32,
    /// How long to wait for a connection, at start and from the pool.
    pub connect_timeout: Duration,
    /// SQLite only: how long a writer waits for the lock before failing.
    pub sqlite_busy_timeout: Duration,
}

/// Pool occupancy, for `/metrics`.
#[derive(Debug, Clone, Copy)]
pub struct PoolStats {
    /// Open connections.
    pub size: u32,
    /// Open connections not in use.
    pub idle: u32,
    /// The configured maximum.
    pub max: u32,
}

/// The database handle: a connection pool plus the dialect it speaks.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    max_connections: u32,
    url: String,
    /// SQLite only: one connection that every write goes through. SQLite has one
    /// writer anyway; queueing for this connection (fairly, in arrival order) is
    /// cheaper than colliding on the database lock, where SQLite's busy handler
    /// sleeps in steps of milliseconds, and its page cache stays warm because no
    /// other connection of this process changes the database under it. (Other
    /// processes, e.g. `wharf admin`, still wait on the lock.)
    writer: Option<AnyPool>,
}

impl Db {
    /// Connects and checks that the database answers. Does not migrate.
    pub async fn connect(options: &DbOptions) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(&options.url)?;
        let pool = Self::pool_options(backend, options, options.max_connections, options.connect_timeout, false)
            .connect(&options.url)
            .await
            .map_err(|source| DbError::Connect { url: redact_url(&options.url), source })?;
        let writer = match backend {
            // Waiting for the writer is waiting for SQLite's lock: bounded by the busy timeout.
            Backend::Sqlite => Some(
                Self::pool_options(backend, options, 1, options.sqlite_busy_timeout.max(options.connect_timeout), true)
                    .connect(&options.url)
                    .await
                    .map_err(|source| DbError::Connect { url: redact_url(&options.url), source })?,
            ),
            Backend::Postgres => None,
        };
        if let Some(writer) = &writer {
            spawn_checkpointer(pool.clone(), writer.clone());
        }
        Ok(Db { pool, backend, max_connections: options.max_connections, url: redact_url(&options.url), writer })
    }

    fn pool_options(
        backend: Backend,
        options: &DbOptions,
        max: u32,
        acquire_timeout: Duration,
        writer: bool,
    ) -> AnyPoolOptions {
        let busy_ms = options.sqlite_busy_timeout.as_millis();
        // sqlx pings every connection it takes from the idle queue: a round trip
        // before each statement. SQLite's connections are in-process and cannot
        // drop, so they are never pinged; a PostgreSQL connection is pinged only when
        // it has been idle long enough for a restart or failover to have cut it.
        let pool = AnyPoolOptions::new().test_before_acquire(false);
        let pool = match backend {
            Backend::Sqlite => pool,
            Backend::Postgres => pool.before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > PING_WHEN_IDLE_FOR {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            }),
        };
        pool.max_connections(max).acquire_timeout(acquire_timeout).after_connect(move |conn, _meta| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    // WAL lets readers proceed while one writer commits; NORMAL
                    // sync is durable in WAL mode except on power loss of the
                    // last transactions, the documented SQLite trade-off. The
                    // writer does not checkpoint as it commits (a checkpoint
                    // fsyncs, stalling the commit it follows): `spawn_checkpointer`
                    // does it in the background.
                    let autocheckpoint = if writer { "PRAGMA wal_autocheckpoint = 0;" } else { "" };
                    let pragmas = format!(
                        "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = {busy_ms}; \
                             PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; \
                             PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}; {autocheckpoint}"
                    );
                    conn.execute(sqlx::AssertSqlSafe(pragmas)).await?;
                } else {
                    // Wharf's statements are short and many run at once: starting
                    // parallel workers costs more than they save (a catalog search
                    // spent 6 of its 7 ms waiting for its workers to start).
                    conn.execute("SET max_parallel_workers_per_gather = 0").await?;
                }
                Ok(())
            })
        })
    }

    /// Applies pending migrations. Safe to run from several nodes at once
    /// (PostgreSQL takes an advisory lock; SQLite has one writer).
    pub async fn migrate(&self) -> Result<(), DbError> {
        migrations::migrator(self.backend).run(self.writes()).await?;
        Ok(())
    }

    /// The schema version applied to this database (0 when none).
    pub async fn schema_version(&self) -> Result<i64, DbError> {
        let exists: Option<i64> = match self.backend {
            Backend::Sqlite => sqlx::query_scalar(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            ),
            Backend::Postgres => sqlx::query_scalar(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = '_sqlx_migrations'",
            ),
        }
        .fetch_optional(&self.pool)
        .await?;
        if exists.unwrap_or(0) == 0 {
            return Ok(0);
        }
        let v: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success = TRUE")
            .fetch_one(&self.pool)
            .await?;
        Ok(v.unwrap_or(0))
    }

    /// The newest schema version this build knows.
    pub fn latest_schema_version() -> i64 {
        migrations::latest_version()
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Waits for checked-out connections and closes the pool. For SQLite this
    /// checkpoints the write-ahead log, leaving a single clean database file.
    pub async fn close(&self) {
        if let Some(writer) = &self.writer {
            writer.close().await;
        }
        self.pool.close().await;
    }

    /// Which engine this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL with any password replaced by `***`, for logs.
    pub fn redacted_url(&self) -> &str {
        &self.url
    }

    /// Pool occupancy.
    pub fn pool_stats(&self) -> PoolStats {
        PoolStats {
            size: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
            max: self.max_connections,
        }
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Starts a transaction that will write. On SQLite it takes the write lock up
    /// front (`BEGIN IMMEDIATE`): a deferred transaction that reads and then writes
    /// can fail with SQLITE_BUSY whatever the busy timeout, when another writer
    /// committed in between.
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, Any>, DbError> {
        Ok(match &self.writer {
            Some(writer) => writer.begin_with("BEGIN IMMEDIATE").await?,
            None => self.pool.begin().await?,
        })
    }

    /// Where single-statement writes go: the writer connection on SQLite, the pool
    /// on PostgreSQL.
    pub(crate) fn writes(&self) -> &AnyPool {
        self.writer.as_ref().unwrap_or(&self.pool)
    }
}

/// Checkpoints SQLite's write-ahead log every [`CHECKPOINT_EVERY`], until the pool
/// closes. A passive checkpoint through a reader connection copies what no reader
/// still needs, fsyncs included, without blocking the writer. Under steady writes it
/// never catches up (commits land while it copies), and the log restarts from its
/// beginning only when a write starts with everything copied: so a second passive
/// checkpoint follows on the writer connection itself, between two writes, copying
/// just the frames committed meanwhile (nothing, and no fsync, when there are none).
/// The next write then restarts the log, which stays bounded instead of growing by
/// every commit's pages.
fn spawn_checkpointer(readers: AnyPool, writer: AnyPool) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            for pool in [&readers, &writer] {
                if pool.is_closed() {
                    return;
                }
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(pool).await {
                    if pool.is_closed() {
                        return;
                    }
                    tracing::warn!(error = %e, "checkpointing the SQLite write-ahead log failed; will retry");
                }
            }
        }
    });
}

/// Replaces the password in a URL by `***`.
pub(crate) fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(_) => raw.to_owned(),
        Err(_) => raw.chars().take(200).collect(),
    }
}

/// Reads a column, mapping a decode failure to [`DbError::Corrupt`].
pub(crate) fn col<T>(row: &AnyRow, name: &str) -> Result<T, DbError>
where
    T: for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any>,
{
    use sqlx::Row;
    row.try_get(name).map_err(|e| DbError::Corrupt(format!("column {name}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_from_url_and_redaction() {
        assert_eq!(Backend::from_url("sqlite:/tmp/x.db").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::from_url("postgresql://u@h/db").unwrap(), Backend::Postgres);
        let e = Backend::from_url("mysql://root:hunter2@db/wharf").unwrap_err().to_string();
        assert!(e.contains("unsupported database URL") && !e.contains("hunter2"), "{e}");
        assert_eq!(redact_url("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
    }
}
