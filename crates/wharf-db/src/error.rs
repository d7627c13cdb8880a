//! The data layer's error type.
//!
//! Callers match on the variants that carry meaning for users ([`DbError::Conflict`],
//! [`DbError::LastOwner`], [`DbError::Unavailable`]); everything else is an internal
//! error that the HTTP layers log once and report as a 500.

/// What went wrong in the data layer.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL names a database we do not support.
    #[error("unsupported database URL {0:?}: expected sqlite:PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    /// The database could not be reached when starting.
    #[error("cannot connect to the database at {url}: {source}")]
    Connect {
        /// The URL, with any password replaced by `***`.
        url: String,
        /// What sqlx reported.
        source: sqlx::Error,
    },
    /// Applying migrations failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A unique key is already taken.
    #[error("{0} already exists")]
    Conflict(String),
    /// The change would leave an organization without an owner.
    #[error("an organization must keep at least one owner")]
    LastOwner,
    /// The database stopped answering (pool timeout, I/O, closed pool).
    #[error("the database is unavailable: {0}")]
    Unavailable(sqlx::Error),
    /// A write kept meeting concurrent changes; trying again later succeeds.
    #[error("{0}")]
    Contended(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Query(sqlx::Error),
    /// A stored value does not parse (a bug or a manual edit).
    #[error("invalid value stored in the database: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
                DbError::Unavailable(e)
            }
            other => DbError::Query(other),
        }
    }
}

/// Maps a unique-key violation to [`DbError::Conflict`] naming `what`.
pub(crate) fn conflict(what: impl FnOnce() -> String) -> impl FnOnce(sqlx::Error) -> DbError {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => DbError::Conflict(what()),
        _ => DbError::from(e),
    }
}

/// Parses a stored value, reporting a corrupt row instead of panicking.
pub(crate) fn parse_stored<T: std::str::FromStr>(column: &str, value: &str) -> Result<T, DbError>
where
    T::Err: std::fmt::Display,
{
    value.parse().map_err(|e| DbError::Corrupt(format!("{column} = {value:?}: {e}")))
}
