//! `GET /v2/<name>/referrers/<digest>[?artifactType=…]`: the manifests whose
//! `subject` is `<digest>`, as an OCI image index. Never 404 for an unknown subject.

use axum::response::Response;

use super::{Ctx, digest, referrers_response};
use crate::access::Action;
use crate::error::RegistryError;
use crate::service::referrers;

pub(crate) async fn list(ctx: &Ctx, digest_text: &str) -> Result<Response, RegistryError> {
    let subject = digest(digest_text)?;
    let repo = ctx.existing(Action::Pull).await?;
    let filter = ctx.param("artifactType").filter(|f| !f.is_empty());
    let index = referrers::index(&ctx.state, &repo, &subject, filter.as_deref()).await?;
    Ok(referrers_response(index, filter.is_some(), false))
}
