//! Registry administration: repository settings and garbage collection runs.

use wharf_core::PlatformAction;
use wharf_oci::RepositoryName;

use crate::gc::{GcOptions, GcReport};
use crate::{Actor, App, AppError};

/// A repository's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepositorySettings {
    /// Anyone may pull it without credentials.
    pub anonymous_pull: bool,
    /// A tag, once set, is never moved or deleted.
    pub immutable_tags: bool,
}

impl App {
    /// Changes a repository's settings (operators managing organizations); `None`
    /// leaves a setting as it is. Returns the settings now.
    pub async fn set_repository(
        &self,
        actor: &Actor,
        name: &RepositoryName,
        anonymous_pull: Option<bool>,
        immutable_tags: Option<bool>,
    ) -> Result<RepositorySettings, AppError> {
        if !actor.may_platform(PlatformAction::ManageOrgs) {
            return Err(AppError::Forbidden(
                "changing repository settings needs an operator role with the admin scope".into(),
            ));
        }
        let repo = self
            .db
            .repository(name)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no repository named {:?}", name.as_str())))?;
        let settings = RepositorySettings {
            anonymous_pull: anonymous_pull.unwrap_or(repo.anonymous_pull),
            immutable_tags: immutable_tags.unwrap_or(repo.immutable_tags),
        };
        self.db.set_repository_flags(repo.id, settings.anonymous_pull, settings.immutable_tags).await?;
        tracing::info!(repository = %name, anonymous_pull = settings.anonymous_pull, immutable_tags = settings.immutable_tags, by = %actor.name(), "repository settings changed");
        Ok(settings)
    }

    /// Runs a garbage collection now (operators managing organizations), and reports
    /// what it removed (or, dry, would remove).
    pub async fn collect_garbage(&self, actor: &Actor, options: &GcOptions) -> Result<GcReport, AppError> {
        if !actor.may_platform(PlatformAction::ManageOrgs) {
            return Err(AppError::Forbidden(
                "running a garbage collection needs an operator role with the admin scope".into(),
            ));
        }
        crate::gc::collect(&self.db, &self.blobs, options).await.map_err(|e| AppError::Unavailable(format!("{e:#}")))
    }
}
