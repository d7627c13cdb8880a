//! The server's vulnerability advisory store: operators import OSV archives; each
//! import is a snapshot (the whole store after it, in the blob store by digest), and the
//! newest is what certification uses.

use bytes::Bytes;
use wharf_api_types::{AdvisoryImportView, AdvisorySnapshotView, RejectedFile};
use wharf_certify::advisories::Store;
use wharf_core::{PlatformAction, Timestamp, TokenScope};
use wharf_db::advisories::Snapshot;

use crate::{Actor, App, AppError};

/// Rejected files listed in an import's answer.
const MAX_REJECTED_SHOWN: usize = 100;

fn view(s: &Snapshot) -> AdvisorySnapshotView {
    AdvisorySnapshotView {
        id: s.id,
        digest: s.digest.to_string(),
        source: s.source.clone(),
        snapshot: s.snapshot.clone(),
        total: s.total,
        imported: s.imported,
        withdrawn: s.withdrawn,
        invalid: s.invalid,
        by_ecosystem: s.by_ecosystem.clone(),
        imported_by: s.imported_by.clone(),
        imported_at: s.imported_at,
    }
}

impl App {
    /// The store certification uses: the newest snapshot's, or `None` before the first import.
    pub async fn advisory_store(&self) -> Result<Option<Store>, AppError> {
        let Some(latest) = self.db.advisory_snapshots(1).await?.into_iter().next() else {
            return Ok(None);
        };
        let read = self.blobs.get(&latest.digest, None).await.map_err(|e| AppError::Unavailable(e.to_string()))?;
        let bytes = read.bytes().await.map_err(|e| AppError::Unavailable(e.to_string()))?;
        let store = tokio::task::spawn_blocking(move || Store::from_json(&bytes))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?
            .map_err(|e| AppError::Internal(format!("advisory snapshot {}: {e}", latest.digest)))?;
        Ok(Some(store))
    }

    /// Imports an OSV archive (a ZIP of OSV JSON files, such as osv.dev's per-ecosystem
    /// `all.zip`) into the server's store (operators managing the marketplace): newer
    /// advisories replace older ones by id, and the result is a new snapshot.
    pub async fn import_advisories(
        &self,
        actor: &Actor,
        source: &str,
        archive: Bytes,
    ) -> Result<AdvisoryImportView, AppError> {
        actor.require(TokenScope::ApiWrite)?;
        if !actor.may_platform(PlatformAction::ManageOrgs) {
            return Err(AppError::Forbidden(
                "importing advisories needs the owner or admin role in an operator organization and, for tokens, the admin scope"
                    .into(),
            ));
        }
        let mut store = self.advisory_store().await?.unwrap_or_default();
        let name = source.to_owned();
        let (store, outcome) = tokio::task::spawn_blocking(move || {
            let outcome = store.import_zip(&name, std::io::Cursor::new(archive));
            outcome.and_then(|o| store.to_json().map(|json| (json, o)))
        })
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(|e| AppError::field("", e))?;
        let size = store.len() as u64;
        let stored =
            self.blobs.put_bytes(Bytes::from(store), None).await.map_err(|e| AppError::Unavailable(e.to_string()))?;
        let import = &outcome.import;
        let count = |n: usize| n as u64;
        let snapshot = Snapshot {
            id: 0,
            digest: stored.digest,
            source: import.source.clone(),
            snapshot: import.snapshot.clone(),
            total: count(outcome.total),
            imported: count(import.advisories),
            withdrawn: count(import.withdrawn),
            invalid: count(import.invalid),
            by_ecosystem: import.by_ecosystem.iter().map(|(k, v)| (k.clone(), count(*v))).collect(),
            imported_by: actor.name(),
            imported_at: Timestamp::now(),
        };
        let saved = self.db.put_advisory_snapshot(&snapshot, size).await?;
        tracing::info!(snapshot = saved.id, advisories = saved.total, imported = saved.imported, by = %actor.name(), "advisories imported");
        let rejected = outcome
            .rejected
            .into_iter()
            .take(MAX_REJECTED_SHOWN)
            .map(|(name, reason)| RejectedFile { name, reason })
            .collect();
        // Every version in preview or live is re-evaluated against it.
        self.queue_regrade(saved.id).await?;
        Ok(AdvisoryImportView { snapshot: view(&saved), rejected })
    }

    /// The snapshots, newest first (operators).
    pub async fn advisory_snapshots(&self, actor: &Actor) -> Result<Vec<AdvisorySnapshotView>, AppError> {
        actor.require(TokenScope::ApiRead)?;
        if !actor.may_platform(PlatformAction::ReadAll) {
            return Err(AppError::Forbidden("the advisory store is for operators".into()));
        }
        Ok(self.db.advisory_snapshots(1000).await?.iter().map(view).collect())
    }
}
