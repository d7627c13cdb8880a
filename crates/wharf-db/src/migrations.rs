//! Embedded migrations, one list per dialect.
//!
//! Each entry has the same version and description in both dialects; the test
//! `schemas_are_equivalent` checks that the resulting tables and columns agree.

use std::borrow::Cow;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use crate::Backend;

struct Step {
    version: i64,
    description: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const STEPS: &[Step] = &[
    Step {
        version: 1,
        description: "identities",
        sqlite: include_str!("../migrations/sqlite/0001_identities.sql"),
        postgres: include_str!("../migrations/postgres/0001_identities.sql"),
    },
    Step {
        version: 2,
        description: "registry",
        sqlite: include_str!("../migrations/sqlite/0002_registry.sql"),
        postgres: include_str!("../migrations/postgres/0002_registry.sql"),
    },
    Step {
        version: 3,
        description: "jobs",
        sqlite: include_str!("../migrations/sqlite/0003_jobs.sql"),
        postgres: include_str!("../migrations/postgres/0003_jobs.sql"),
    },
    Step {
        version: 4,
        description: "manifest contents",
        sqlite: include_str!("../migrations/sqlite/0004_manifest_contents.sql"),
        postgres: include_str!("../migrations/postgres/0004_manifest_contents.sql"),
    },
    Step {
        version: 5,
        description: "offers",
        sqlite: include_str!("../migrations/sqlite/0005_offers.sql"),
        postgres: include_str!("../migrations/postgres/0005_offers.sql"),
    },
    Step {
        version: 6,
        description: "upload caps",
        sqlite: include_str!("../migrations/sqlite/0006_upload_caps.sql"),
        postgres: include_str!("../migrations/postgres/0006_upload_caps.sql"),
    },
    Step {
        version: 7,
        description: "job fairness",
        sqlite: include_str!("../migrations/sqlite/0007_job_fairness.sql"),
        postgres: include_str!("../migrations/postgres/0007_job_fairness.sql"),
    },
    Step {
        version: 8,
        description: "publisher approval",
        sqlite: include_str!("../migrations/sqlite/0008_publisher_approval.sql"),
        postgres: include_str!("../migrations/postgres/0008_publisher_approval.sql"),
    },
    Step {
        version: 9,
        description: "advisory snapshots",
        sqlite: include_str!("../migrations/sqlite/0009_advisory_snapshots.sql"),
        postgres: include_str!("../migrations/postgres/0009_advisory_snapshots.sql"),
    },
    Step {
        version: 10,
        description: "pipeline steps",
        sqlite: include_str!("../migrations/sqlite/0010_pipeline_steps.sql"),
        postgres: include_str!("../migrations/postgres/0010_pipeline_steps.sql"),
    },
    Step {
        version: 11,
        description: "step reports",
        sqlite: include_str!("../migrations/sqlite/0011_step_reports.sql"),
        postgres: include_str!("../migrations/postgres/0011_step_reports.sql"),
    },
    Step {
        version: 12,
        description: "publishing",
        sqlite: include_str!("../migrations/sqlite/0012_publishing.sql"),
        postgres: include_str!("../migrations/postgres/0012_publishing.sql"),
    },
    Step {
        version: 13,
        description: "webhooks",
        sqlite: include_str!("../migrations/sqlite/0013_webhooks.sql"),
        postgres: include_str!("../migrations/postgres/0013_webhooks.sql"),
    },
    Step {
        version: 14,
        description: "version health",
        sqlite: include_str!("../migrations/sqlite/0014_version_health.sql"),
        postgres: include_str!("../migrations/postgres/0014_version_health.sql"),
    },
    Step {
        version: 15,
        description: "catalog",
        sqlite: include_str!("../migrations/sqlite/0015_catalog.sql"),
        postgres: include_str!("../migrations/postgres/0015_catalog.sql"),
    },
    Step {
        version: 16,
        description: "subscriptions",
        sqlite: include_str!("../migrations/sqlite/0016_subscriptions.sql"),
        postgres: include_str!("../migrations/postgres/0016_subscriptions.sql"),
    },
    Step {
        version: 17,
        description: "catalog search index",
        sqlite: include_str!("../migrations/sqlite/0017_catalog_search_index.sql"),
        postgres: include_str!("../migrations/postgres/0017_catalog_search_index.sql"),
    },
];

/// The migrator for one dialect.
pub(crate) fn migrator(backend: Backend) -> Migrator {
    let migrations = STEPS
        .iter()
        .map(|s| {
            let sql = match backend {
                Backend::Sqlite => s.sqlite,
                Backend::Postgres => s.postgres,
            };
            Migration::new(s.version, Cow::Borrowed(s.description), MigrationType::Simple, sql.into_sql_str(), false)
        })
        .collect();
    Migrator::with_migrations(migrations)
}

/// The newest schema version this build knows.
pub(crate) fn latest_version() -> i64 {
    STEPS.last().map_or(0, |s| s.version)
}
