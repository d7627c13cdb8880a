//! The metadata database.
//!
//! One query layer for SQLite (the embedded default) and PostgreSQL (scale-out),
//! through sqlx's `Any` driver. Queries are written once in the SQL both dialects
//! share (`$N` placeholders, `ON CONFLICT`, `RETURNING`, partial indexes); only the
//! DDL differs, so there is one migration directory per dialect
//! (`migrations/sqlite`, `migrations/postgres`), kept equivalent by a test.
//!
//! Times are stored as milliseconds since the epoch ([`wharf_core::Timestamp`]) and
//! booleans as nullable timestamps (`disabled_at`, `revoked_at`), which both dialects
//! store and compare the same way.
//!
//! Query methods live on [`Db`], one module per aggregate: [`users`], [`orgs`],
//! [`tokens`], [`keys`], [`registry`], [`gc`], [`jobs`], [`offers`], [`catalog`], …. Layer and config bytes never
//! go into the database (manifests are kept beside their rows, see ARCHITECTURE.md).

pub mod advisories;
mod batch;
pub mod catalog;
mod config;
pub mod deployments;
mod error;
pub mod gc;
pub mod health;
pub mod jobs;
pub mod keys;
pub mod metering;
mod migrations;
pub mod offers;
pub mod orgs;
mod pool;
pub mod publishing;
pub mod registry;
pub mod steps;
pub mod subscriptions;
#[cfg(feature = "testing")]
pub mod testing;
pub mod tokens;
mod uploads;
pub mod users;
pub mod webhooks;

pub use config::DatabaseConfig;
pub use error::DbError;
pub use pool::{Backend, Db, DbOptions, PoolStats};
