//! `GET /v2/<name>/referrers/<digest>[?artifactType=…]`: the manifests whose
//! `subject` is `<digest>`, as an OCI image index. Never 404 for an unknown subject.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use wharf_db::registry::Repository;
use wharf_oci::Digest;
use wharf_oci::manifest::OCI_INDEX;

use super::{Ctx, digest};
use crate::access::Action;
use crate::error::RegistryError;
use crate::response::{CONTENT_DIGEST, OCI_FILTERS_APPLIED, empty, header_value};

pub(crate) async fn list(ctx: &Ctx, digest_text: &str) -> Result<Response, RegistryError> {
    let subject = digest(digest_text)?;
    let repo = ctx.existing(Action::Pull).await?;
    let filter = ctx.param("artifactType").filter(|f| !f.is_empty());
    index(ctx, &repo, &subject, filter.as_deref(), false).await
}

/// The referrers index of `subject` (also served for the `sha256-<hex>` tag).
pub(crate) async fn index(
    ctx: &Ctx,
    repo: &Repository,
    subject: &Digest,
    artifact_type: Option<&str>,
    head: bool,
) -> Result<Response, RegistryError> {
    let rows = ctx.state.db.referrers(repo.id, subject, artifact_type).await?;
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
    let body =
        serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}))
            .unwrap_or_default();
    let mut headers = vec![
        (header::CONTENT_TYPE, OCI_INDEX.to_owned()),
        (CONTENT_DIGEST, Digest::of(wharf_oci::Algorithm::Sha256, &body).to_string()),
        (header::CONTENT_LENGTH, body.len().to_string()),
    ];
    if artifact_type.is_some() {
        headers.push((OCI_FILTERS_APPLIED, "artifactType".to_owned()));
    }
    if head {
        return Ok(empty(StatusCode::OK, headers));
    }
    let mut response = (StatusCode::OK, body).into_response();
    for (name, value) in headers {
        response.headers_mut().insert(name, header_value(&value));
    }
    Ok(response)
}
