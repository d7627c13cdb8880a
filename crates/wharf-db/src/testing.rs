//! Fresh, migrated databases for tests, on either backend.
//!
//! SQLite databases live in a temporary directory removed on drop. PostgreSQL
//! databases are created on the server named by `WHARF_TEST_POSTGRES_URL` (which
//! `.ci/run` starts on loopback) under a random name; they are left behind when the
//! test ends because `Drop` cannot wait, and die with the throw-away CI cluster.

use std::time::Duration;

use sqlx::{AnyConnection, Connection, Executor};

use crate::{Backend, Db, DbOptions};

/// The environment variable naming the PostgreSQL server for tests.
pub const POSTGRES_URL_VAR: &str = "WHARF_TEST_POSTGRES_URL";
/// The environment variable choosing the backend of app-level tests.
pub const BACKEND_VAR: &str = "WHARF_TEST_DB";

/// A migrated database that lives as long as the value.
#[derive(Debug)]
pub struct TestDb {
    /// The handle.
    pub db: Db,
    /// The URL it was opened with (for spawning a `wharf` process on it).
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// The backend app-level tests should use: `WHARF_TEST_DB=postgres` or `sqlite` (default).
pub fn backend_from_env() -> Backend {
    match std::env::var(BACKEND_VAR).as_deref() {
        Ok("postgres") => Backend::Postgres,
        Ok("sqlite") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("{BACKEND_VAR}={other:?}: expected sqlite or postgres"),
    }
}

/// The PostgreSQL URL for tests, or a panic explaining how to get one.
pub fn postgres_url() -> String {
    std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| {
        panic!(
            "{POSTGRES_URL_VAR} is not set: PostgreSQL tests need a server. Run `.ci/run`, which starts one, \
             or point {POSTGRES_URL_VAR} at postgres://USER:PASSWORD@127.0.0.1:PORT/postgres"
        )
    })
}

/// Options used by tests: small pool, short timeouts.
pub fn options(url: &str) -> DbOptions {
    DbOptions {
        url: url.to_owned(),
        max_connections: 5,
        connect_timeout: Duration::from_secs(10),
        sqlite_busy_timeout: Duration::from_secs(10),
    }
}

/// A fresh migrated database on `backend`.
pub async fn fresh(backend: Backend) -> TestDb {
    let t = fresh_unmigrated(backend).await;
    t.db.migrate().await.expect("migrations apply to a fresh database");
    t
}

/// A fresh empty database on `backend`, for migration tests.
pub async fn fresh_unmigrated(backend: Backend) -> TestDb {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temporary directory");
            let url = format!("sqlite:{}?mode=rwc", dir.path().join("wharf.db").display());
            let db = Db::connect(&options(&url)).await.expect("open SQLite");
            TestDb { db, url, _dir: Some(dir) }
        }
        Backend::Postgres => {
            let url = create_postgres_database().await;
            let db = Db::connect(&options(&url)).await.expect("connect to the test database");
            TestDb { db, url, _dir: None }
        }
    }
}

/// Creates an empty database on the test server and returns its URL.
pub async fn create_postgres_database() -> String {
    sqlx::any::install_default_drivers();
    let admin_url = postgres_url();
    let name = format!("wharf_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = AnyConnection::connect(&admin_url).await.expect("connect to the PostgreSQL test server");
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.expect("CREATE DATABASE");
    conn.close().await.ok();
    let mut url = url::Url::parse(&admin_url).expect("WHARF_TEST_POSTGRES_URL is a URL");
    url.set_path(&name);
    url.to_string()
}

/// Runs one statement with text parameters on the write connection, for tests that
/// set up states the API cannot make (e.g. rows as an earlier version wrote them).
/// Returns the rows affected.
pub async fn execute(db: &Db, sql: &str, args: &[&str]) -> u64 {
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
    for a in args {
        q = q.bind(*a);
    }
    q.execute(db.writes()).await.expect("test statement").rows_affected()
}

/// Runs each named `async fn(Backend)` scenario once per backend, as tests
/// `sqlite::<name>` and `postgres::<name>`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test] async fn $name() { super::$name($crate::Backend::Sqlite).await } )*
        }
        mod postgres {
            $( #[tokio::test] async fn $name() { super::$name($crate::Backend::Postgres).await } )*
        }
    };
}
