//! After Preview: the publisher's go-live, then Packaging for production and Live.
//!
//! Go-live is the publisher's sign-off (a publisher admin's act, recorded once: the
//! same request again changes nothing). It queues the release job, which verifies
//! that every promoted manifest, blob and signature is present and readable in the
//! home region's storage (edge regions will add their copies here), then makes the
//! version the offer's live version in one transaction: the previous live version is
//! superseded (its promoted images stay pullable) and a stop-sold offer stays
//! stop-sold. A verification that finds something missing fails the step, keeps the
//! version in preview and is retried by the job's backoff: storage faults are the
//! operator's to fix, not the publisher's.

use serde::{Deserialize, Serialize};
use wharf_api_types::{OfferView, PromotedImageView};
use wharf_core::{OfferKey, OrgAction, PipelineStep, StepState, TokenScope, VersionStatus, WebhookEvent};
use wharf_db::publishing::SignOff;
use wharf_db::steps::Progress;
use wharf_oci::Digest;

use crate::leads::LeadAction;
use crate::signing::signature_tag;
use crate::{Actor, App, AppError};

/// Who the pipeline's records name as the actor.
const PIPELINE: &str = "pipeline";

/// Releases a signed-off version: Packaging for production, then Live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseVersion {
    /// The offer's key.
    pub offer: OfferKey,
    /// The version.
    pub version: i64,
    /// The publisher organization: whom the job serves, for fair scheduling.
    pub publisher: String,
}

impl wharf_jobs::Job for ReleaseVersion {
    const KIND: &'static str = "pipeline.release";
    const MAX_ATTEMPTS: u32 = 8;
    type Context = App;

    fn fair_key(&self) -> String {
        self.publisher.clone()
    }

    async fn run(&self, app: &App) -> anyhow::Result<()> {
        app.release_version(self).await.map_err(|e| anyhow::anyhow!("{e}"))
    }
}

impl App {
    /// The publisher's sign-off: version `version`, in preview, goes live. Recorded
    /// once; asked again, it answers the offer as it stands.
    pub async fn go_live(&self, actor: &Actor, org: &str, offer: &str, version: i64) -> Result<OfferView, AppError> {
        actor.require(TokenScope::ApiWrite)?;
        let (org, row) = self.offer_for(actor, org, offer, OrgAction::PublishOffers).await?;
        if self.db.offer_version(row.pk, version).await?.is_none() {
            return Err(AppError::NotFound(format!("offer {offer:?} has no version \"{version}\"")));
        }
        let who = actor.name();
        // The release job is queued with the sign-off, in one transaction.
        let job = ReleaseVersion { offer: row.pk, version, publisher: org.name.to_string() };
        let key = format!("release:{}:{}", row.pk, version);
        let then = wharf_jobs::new_job(&job, Some(&key)).map_err(|e| AppError::Internal(format!("{e:#}")))?;
        let outcome = self.db.sign_off(row.pk, version, &who, &then).await.map_err(crate::offers::write_error)?;
        wharf_jobs::queued();
        wharf_core::failpoint("go-live.signed-off");
        if outcome == SignOff::Done {
            tracing::info!(org.name = %org.name, offer.id = %row.offer_id, version, by = %who, "go-live");
        }
        let row = self.db.offer(org.id, &row.offer_id).await?.ok_or_else(|| AppError::NotFound(offer.to_owned()))?;
        self.offer_view(&org, &row).await
    }

    /// The images packaging promoted for a version, with how to pull them.
    pub async fn promoted_images(
        &self,
        actor: &Actor,
        org: &str,
        offer: &str,
        version: i64,
    ) -> Result<Vec<PromotedImageView>, AppError> {
        actor.require(TokenScope::ApiRead)?;
        let (_, row) = self.offer_for(actor, org, offer, OrgAction::ReadOffers).await?;
        if self.db.offer_version(row.pk, version).await?.is_none() {
            return Err(AppError::NotFound(format!("offer {offer:?} has no version \"{version}\"")));
        }
        let host = &self.marketplace.registry_host;
        Ok(self
            .db
            .promotions(row.pk, version)
            .await?
            .into_iter()
            .map(|p| PromotedImageView {
                reference: format!("{host}/{}:{}", p.repository, p.tag),
                pinned_reference: format!("{host}/{}@{}", p.repository, p.digest),
                plan: p.plan,
                repository: p.repository.to_string(),
                tag: p.tag,
                digest: p.digest.to_string(),
                source: p.source,
                signature: p.signature.map(|d| d.to_string()),
            })
            .collect())
    }

    /// The marketplace's public signing key (PEM), for `cosign verify --key` and
    /// containers' `sigstoreSigned` policies.
    pub async fn signing_key(&self) -> Result<String, AppError> {
        Ok(self.signer().await?.public_pem().to_owned())
    }

    /// Packaging for production and Live (see the module).
    pub(crate) async fn release_version(&self, job: &ReleaseVersion) -> Result<(), AppError> {
        let Some(version) = self.db.offer_version(job.offer, job.version).await? else { return Ok(()) };
        if version.status == VersionStatus::Live {
            // Live already (the worker died before recording the step's end).
            self.end_step(job.offer, job.version, PipelineStep::Live, StepState::Passed, None).await?;
            self.queue_lead(job.offer, job.version, LeadAction::Test, None).await?;
            return self.announce(job.offer, job.version, &job.publisher, WebhookEvent::VersionLive, None).await;
        }
        if version.status != VersionStatus::Preview {
            return Ok(());
        }
        let steps = self.db.version_steps(job.offer, job.version).await?;
        let passed = |s: PipelineStep| steps.iter().any(|r| r.step == s && r.state == StepState::Passed);
        if !passed(PipelineStep::GoLive) {
            return Ok(());
        }
        let step = PipelineStep::PackagingForProduction;
        if !passed(step) {
            let promotions = self.db.promotions(job.offer, job.version).await?;
            let mut progress = Progress { images_total: promotions.len() as u64, ..Progress::default() };
            self.db.start_step(job.offer, job.version, step, progress).await?;
            let mut missing = Vec::new();
            for p in &promotions {
                let tagged = self.db.manifest_by_tag(p.repository_id, &p.tag).await?.map(|m| m.digest);
                if tagged.as_ref() != Some(&p.digest) {
                    missing.push(format!("{}:{} does not point to {}", p.repository, p.tag, p.digest));
                }
                let mut manifests = vec![p.digest.clone()];
                if let Some(sig) = self.db.manifest_by_tag(p.repository_id, &signature_tag(&p.digest)).await? {
                    manifests.push(sig.digest);
                } else {
                    missing.push(format!("{}: the signature of {} is missing", p.repository, p.digest));
                }
                while let Some(digest) = manifests.pop() {
                    if self.db.manifest(p.repository_id, &digest).await?.is_none()
                        || self.manifest_bytes(&digest).await.is_err()
                    {
                        missing.push(format!("{}: manifest {digest} is missing or unreadable", p.repository));
                        continue;
                    }
                    let (blobs, children) = self.db.manifest_references(p.repository_id, &digest).await?;
                    manifests.extend(children);
                    for (blob, size) in blobs {
                        progress.bytes_done += self.verify_blob(&p.repository, &blob, size, &mut missing).await?;
                    }
                }
                progress.images_done += 1;
                progress.bytes_total = progress.bytes_done;
                self.db.step_progress(job.offer, job.version, step, progress).await?;
            }
            if !missing.is_empty() {
                let why = format!("not everything promoted is in storage: {}", missing.join("; "));
                self.end_step(job.offer, job.version, step, StepState::Failed, Some(&why)).await?;
                return Err(AppError::Unavailable(why));
            }
            self.end_step(job.offer, job.version, step, StepState::Passed, None).await?;
            wharf_core::failpoint("release.verified");
        }
        self.db.start_step(job.offer, job.version, PipelineStep::Live, Progress::default()).await?;
        // The catalog entry is written with the move to Live, in its transaction.
        let entry = self.catalog_entry(job.offer, job.version).await?;
        self.db.version_to_live(job.offer, job.version, PIPELINE, &entry).await.map_err(crate::offers::write_error)?;
        self.end_step(job.offer, job.version, PipelineStep::Live, StepState::Passed, None).await?;
        tracing::info!(offer = %job.offer, version = job.version, "version live");
        self.queue_lead(job.offer, job.version, LeadAction::Test, None).await?;
        self.announce(job.offer, job.version, &job.publisher, WebhookEvent::VersionLive, None).await
    }

    /// Checks one blob is stored with its size; returns the bytes verified.
    async fn verify_blob(
        &self,
        repository: &wharf_oci::RepositoryName,
        blob: &Digest,
        size: u64,
        missing: &mut Vec<String>,
    ) -> Result<u64, AppError> {
        match self.blobs.stat(blob).await.map_err(|e| AppError::Unavailable(e.to_string()))? {
            Some(stored) if stored == size => Ok(size),
            Some(stored) => {
                missing.push(format!("{repository}: blob {blob} has {stored} bytes, not {size}"));
                Ok(0)
            }
            None => {
                missing.push(format!("{repository}: blob {blob} is missing"));
                Ok(0)
            }
        }
    }
}
