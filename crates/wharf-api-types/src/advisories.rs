//! `/api/v1/advisories`: the server's vulnerability advisory store, one snapshot per import.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wharf_core::Timestamp;

/// One import: the store after it, and what it brought.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AdvisorySnapshotView {
    /// Increasing: the newest snapshot is the store certification uses.
    pub id: i64,
    /// The store's digest (it is kept while the snapshot is).
    pub digest: String,
    /// What was imported (the archive's name).
    pub source: String,
    /// The newest `modified` among the advisories imported (RFC 3339).
    pub snapshot: String,
    /// Advisories in the store after the import.
    pub total: u64,
    /// Advisories taken by this import.
    pub imported: u64,
    /// Withdrawn advisories skipped.
    pub withdrawn: u64,
    /// Files that were not valid OSV.
    pub invalid: u64,
    /// Advisories of this import per ecosystem (`Debian:12`, `npm`, …).
    pub by_ecosystem: BTreeMap<String, u64>,
    /// Who imported it.
    pub imported_by: String,
    /// When.
    pub imported_at: Timestamp,
}

/// A file of the archive that is not a valid OSV advisory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RejectedFile {
    /// Its name in the archive.
    pub name: String,
    /// Why.
    pub reason: String,
}

/// The answer to an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AdvisoryImportView {
    /// The new snapshot.
    pub snapshot: AdvisorySnapshotView,
    /// Files rejected (at most the first 100).
    pub rejected: Vec<RejectedFile>,
}
