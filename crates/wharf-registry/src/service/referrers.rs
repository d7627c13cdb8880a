//! Referrers indexes: the manifests whose `subject` is a digest, as an OCI image index.

use wharf_db::registry::Repository;
use wharf_oci::Digest;
use wharf_oci::manifest::OCI_INDEX;

use crate::RegistryState;
use crate::error::RegistryError;

/// The referrers index of `subject` in `repo` (empty for an unknown subject),
/// filtered by artifact type when asked.
pub(crate) async fn index(
    state: &RegistryState,
    repo: &Repository,
    subject: &Digest,
    artifact_type: Option<&str>,
) -> Result<Vec<u8>, RegistryError> {
    let rows = state.db.referrers(repo.id, subject, artifact_type).await?;
    let manifests: Vec<serde_json::Value> = rows
        .iter()
        .map(|m| {
            let mut d = serde_json::json!({"mediaType": m.media_type, "digest": m.digest, "size": m.size});
            if let Some(t) = &m.artifact_type {
                d["artifactType"] = t.as_str().into();
            }
            if let Some(a) = m.annotations.as_deref().and_then(|a| serde_json::from_str::<serde_json::Value>(a).ok()) {
                d["annotations"] = a;
            }
            d
        })
        .collect();
    Ok(serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}))
        .unwrap_or_default())
}
