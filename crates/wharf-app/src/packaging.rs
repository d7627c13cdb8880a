//! The packaging step: a certified version's images are promoted by digest into the
//! marketplace namespace, signed with the marketplace's key, and given their SBOMs
//! and certification report as OCI referrers; then the version is in Preview.
//!
//! Promotion copies no bytes: the marketplace repository
//! (`mp/<publisher>/<offer>/<plan>/<image>`) gets rows for the same manifests and
//! links to the same blobs, children (an index's entries) before parents, so a
//! promoted tag never points at anything missing, whenever the process dies. Tags
//! there never move: a tag an earlier version published with another digest stops
//! the step with what to do. Every write is idempotent (a manifest stored again, a
//! tag set to what it is), and referrers already attached are not attached again,
//! so a run after a crash finishes the work without doubling any of it.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::json;
use wharf_core::{OfferKey, PipelineStep, StepState, VersionStatus, WebhookEvent};
use wharf_db::publishing::Promotion;
use wharf_db::registry::{ManifestRow, NewManifest, TagWrite};
use wharf_db::steps::Progress;
use wharf_oci::{Digest, RepositoryName};
use wharf_offer::OfferSpec;

use crate::signing::{SIGNATURE_ANNOTATION, SIMPLE_SIGNING, Signer, payload, signature_tag};
use crate::{App, AppError};

/// Who the pipeline's records name as the actor.
const PIPELINE: &str = "pipeline";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// The artifact type of a CycloneDX SBOM referrer.
pub const SBOM_TYPE: &str = "application/vnd.cyclonedx+json";
/// The artifact type of a certification report referrer.
pub const REPORT_TYPE: &str = "application/vnd.wharf.certification.report.v1+json";
/// The annotation naming an SBOM's platform.
const PLATFORM_ANNOTATION: &str = "dev.wharf.platform";

/// Packages version `version` of offer `offer` (of `publisher`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageVersion {
    /// The offer's key.
    pub offer: OfferKey,
    /// The version.
    pub version: i64,
    /// The publisher organization: whom the job serves, for fair scheduling.
    pub publisher: String,
}

impl wharf_jobs::Job for PackageVersion {
    const KIND: &'static str = "pipeline.packaging";
    const MAX_ATTEMPTS: u32 = 5;
    type Context = App;

    fn fair_key(&self) -> String {
        self.publisher.clone()
    }

    async fn run(&self, app: &App) -> anyhow::Result<()> {
        app.package_version(self).await.map_err(|e| anyhow::anyhow!("{e}"))
    }
}

/// An SBOM the certification step stored, as its report lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredSbom {
    /// The image (manifest or index) digest frozen at Submit.
    pub image: String,
    /// `os/architecture[/variant]`.
    pub platform: String,
    /// The SBOM's blob.
    pub digest: String,
    /// Its size.
    pub size: u64,
}

/// What packaging reads of the stored certification report.
#[derive(Debug, Deserialize)]
struct ReportIndex {
    #[serde(default)]
    sboms: Vec<StoredSbom>,
    #[serde(default)]
    images: Vec<serde_json::Value>,
    #[serde(default)]
    digests: Vec<String>,
}

/// One image of one plan to promote, with every tag it has in the version.
struct ToPromote {
    plan: String,
    source: RepositoryName,
    digest: Digest,
    tags: Vec<String>,
    /// Its certification report (the stored report's entry).
    report: Option<serde_json::Value>,
}

impl App {
    /// The marketplace's signing key: the configured one, else the stored one.
    pub async fn signer(&self) -> Result<&Signer, AppError> {
        self.marketplace
            .signer
            .get_or_try_init(|| async {
                match &self.marketplace.configured_key {
                    Some(pem) => Signer::from_pem(pem).map_err(AppError::Internal),
                    None => Signer::stored(&self.db).await,
                }
            })
            .await
    }

    /// Queues the packaging of a certified version.
    pub(crate) async fn queue_packaging(&self, job: &PackageVersion) -> Result<(), AppError> {
        let key = format!("package:{}:{}", job.offer, job.version);
        wharf_jobs::enqueue(&self.db, job, Some(&key)).await.map_err(|e| AppError::Unavailable(format!("{e:#}")))?;
        Ok(())
    }

    /// The packaging step (see the module).
    pub(crate) async fn package_version(&self, job: &PackageVersion) -> Result<(), AppError> {
        let Some(version) = self.db.offer_version(job.offer, job.version).await? else { return Ok(()) };
        if version.status != VersionStatus::Submitted {
            return Ok(());
        }
        let step = PipelineStep::Packaging;
        let steps = self.db.version_steps(job.offer, job.version).await?;
        let passed = |s: PipelineStep| steps.iter().any(|r| r.step == s && r.state == StepState::Passed);
        if !passed(PipelineStep::Certification) {
            return Ok(());
        }
        if !passed(step) {
            let report = steps.iter().find(|s| s.step == PipelineStep::Certification).and_then(|s| s.report.clone());
            if let Err(why) = self.promote_version(job, &version.document, report.as_ref()).await? {
                self.end_step(job.offer, job.version, step, StepState::Failed, Some(&why)).await?;
                self.db
                    .version_needs_attention(job.offer, job.version, &why, PIPELINE)
                    .await
                    .map_err(crate::offers::write_error)?;
                tracing::info!(offer = %job.offer, version = job.version, reason = %why, "packaging stopped");
                let event = WebhookEvent::VersionAttentionNeeded;
                return self.announce(job.offer, job.version, &job.publisher, event, Some(&why)).await;
            }
            self.end_step(job.offer, job.version, step, StepState::Passed, None).await?;
        }
        // Sign-off starts now; its step runs until the publisher goes live.
        self.db.start_step(job.offer, job.version, PipelineStep::PublisherSignOff, Progress::default()).await?;
        if self.db.version_to_preview(job.offer, job.version, PIPELINE).await.map_err(crate::offers::write_error)? {
            tracing::info!(offer = %job.offer, version = job.version, "version in preview");
        }
        // Its first health grade, which continuous certification keeps up to date.
        if self.db.version_health(job.offer, job.version).await?.is_none() {
            let engine = self.certification_engine().await?;
            let snapshot = self.db.advisory_snapshots(1).await?.first().map(|s| s.id);
            let graded =
                wharf_db::health::Graded { offer: job.offer, version: job.version, publisher: job.publisher.clone() };
            self.grade_version(&graded, &engine, snapshot).await?;
        }
        self.announce(job.offer, job.version, &job.publisher, WebhookEvent::VersionPreview, None).await
    }

    /// Promotes, signs and attaches every image; `Ok(Err(why))` when the publisher
    /// must act (a tag already published with another digest).
    async fn promote_version(
        &self,
        job: &PackageVersion,
        document: &str,
        report: Option<&Digest>,
    ) -> Result<Result<(), String>, AppError> {
        let spec: OfferSpec = serde_json::from_str(document)
            .map_err(|e| AppError::Internal(format!("stored version does not parse: {e}")))?;
        let publisher = self
            .db
            .org_by_name(&job.publisher.parse().map_err(|e| AppError::Internal(format!("{e}")))?)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("organization {:?} is gone", job.publisher)))?;
        let index = match report {
            Some(digest) => {
                let bytes = self.blobs.get(digest, None).await.map_err(|e| AppError::Unavailable(e.to_string()))?;
                let bytes = bytes.bytes().await.map_err(|e| AppError::Unavailable(e.to_string()))?;
                serde_json::from_slice(&bytes).map_err(|e| AppError::Internal(format!("stored report: {e}")))?
            }
            None => ReportIndex { sboms: Vec::new(), images: Vec::new(), digests: Vec::new() },
        };
        let work = to_promote(&spec, &index)?;
        let mut progress = Progress { images_total: work.len() as u64, ..Progress::default() };
        let step = PipelineStep::Packaging;
        self.db.start_step(job.offer, job.version, step, progress).await?;
        let offer_id = spec.id.clone().unwrap_or_default();
        for item in &work {
            let name = marketplace_name(&job.publisher, &offer_id, &item.plan, &item.source)?;
            let target = self.db.ensure_repository(publisher.id, &name).await?;
            for tag in &item.tags {
                if let Some(current) = self.db.manifest_by_tag(target.id, tag).await?
                    && current.digest != item.digest
                {
                    return Ok(Err(format!(
                        "{name}:{tag} was published earlier as {}: published tags never change; push this image under a new tag and submit again",
                        current.digest
                    )));
                }
            }
            let source = self
                .db
                .repository(&item.source)
                .await?
                .ok_or_else(|| AppError::NotFound(format!("repository {} is gone", item.source)))?;
            self.copy_manifest(source.id, target.id, &item.digest, &item.tags).await?;
            wharf_core::failpoint("packaging.promoted");
            let mut promotions: Vec<Promotion> = item
                .tags
                .iter()
                .map(|tag| Promotion {
                    plan: item.plan.clone(),
                    repository: name.clone(),
                    repository_id: target.id,
                    tag: tag.clone(),
                    digest: item.digest.clone(),
                    source: format!("{}:{tag}", item.source),
                    signature: None,
                })
                .collect();
            for promotion in &promotions {
                self.db.record_promotion(job.offer, job.version, promotion).await?;
            }
            let signature = self.sign(target.id, &name, &item.digest).await?;
            wharf_core::failpoint("packaging.signed");
            for promotion in &mut promotions {
                promotion.signature = Some(signature.clone());
                self.db.record_promotion(job.offer, job.version, promotion).await?;
            }
            self.attach(target.id, &item.digest, &index.sboms, item.report.as_ref()).await?;
            wharf_core::failpoint("packaging.attached");
            progress.images_done += 1;
            self.db.step_progress(job.offer, job.version, step, progress).await?;
        }
        Ok(Ok(()))
    }

    /// A manifest's bytes: from the database, or the blob store for older ones.
    pub(crate) async fn manifest_bytes(&self, digest: &Digest) -> Result<Vec<u8>, AppError> {
        if let Some(bytes) = self.db.manifest_content(digest).await? {
            return Ok(bytes);
        }
        let read = self.blobs.get(digest, None).await.map_err(|e| AppError::Unavailable(e.to_string()))?;
        Ok(read.bytes().await.map_err(|e| AppError::Unavailable(e.to_string()))?.to_vec())
    }

    /// Copies manifest `digest` (an index's entries first) from one repository to
    /// another, linking the blobs it references, and points `tags` at it.
    async fn copy_manifest(
        &self,
        from: wharf_core::RepositoryId,
        to: wharf_core::RepositoryId,
        digest: &Digest,
        tags: &[String],
    ) -> Result<(), AppError> {
        let row = self
            .db
            .manifest(from, digest)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("manifest {digest} is gone from its repository")))?;
        let (blobs, children) = self.db.manifest_references(from, digest).await?;
        for child in &children {
            Box::pin(self.copy_manifest(from, to, child, &[])).await?;
        }
        for (blob, size) in &blobs {
            self.db.link_blob(to, blob, *size).await?;
        }
        let content = self.manifest_bytes(digest).await?;
        let blob_digests: Vec<Digest> = blobs.into_iter().map(|(d, _)| d).collect();
        let manifest = NewManifest { row: &row, blobs: &blob_digests, manifests: &children, content: &content };
        if tags.is_empty() {
            self.db.put_manifest(to, manifest.clone(), None).await?;
        }
        for tag in tags {
            self.db.put_manifest(to, manifest.clone(), Some(TagWrite { name: tag, immutable: true })).await?;
        }
        Ok(())
    }

    /// Signs `digest` for every tag it has in the marketplace repository and points
    /// `sha256-<hex>.sig` at the signature; returns the signature manifest's digest.
    async fn sign(
        &self,
        repository: wharf_core::RepositoryId,
        name: &RepositoryName,
        digest: &Digest,
    ) -> Result<Digest, AppError> {
        let signer = self.signer().await?;
        let mut layers = Vec::new();
        let mut diff_ids = Vec::new();
        for tag in self.db.tags_of(repository, digest).await? {
            let body = payload(&format!("{}/{name}:{tag}", self.marketplace.registry_host), digest);
            let signature = signer.sign(&body)?;
            let blob = self.store_blob(repository, Bytes::from(body)).await?;
            diff_ids.push(blob.digest.to_string());
            layers.push(json!({
                "mediaType": SIMPLE_SIGNING,
                "size": blob.size,
                "digest": blob.digest.as_str(),
                "annotations": {SIGNATURE_ANNOTATION: signature},
            }));
        }
        let config = json!({
            "architecture": "", "os": "", "created": "0001-01-01T00:00:00Z",
            "history": [{"created": "0001-01-01T00:00:00Z"}],
            "rootfs": {"type": "layers", "diff_ids": diff_ids}, "config": {},
        });
        let config = self.store_blob(repository, Bytes::from(config.to_string())).await?;
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "size": config.size, "digest": config.digest.as_str()},
            "layers": layers,
        });
        let tag = signature_tag(digest);
        self.put_artifact(repository, &manifest, None, Some(&tag)).await
    }

    /// Attaches the image's SBOMs (one per platform) and its certification report as
    /// referrers of `digest`, unless attached already.
    async fn attach(
        &self,
        repository: wharf_core::RepositoryId,
        digest: &Digest,
        sboms: &[StoredSbom],
        report: Option<&serde_json::Value>,
    ) -> Result<(), AppError> {
        let subject = self
            .db
            .manifest(repository, digest)
            .await?
            .ok_or_else(|| AppError::Internal(format!("promoted manifest {digest} is missing")))?;
        let subject = json!({"mediaType": subject.media_type, "digest": digest.as_str(), "size": subject.size});
        let existing = self.db.referrers(repository, digest, None).await?;
        let attached = |artifact: &str, platform: Option<&str>| {
            existing.iter().any(|m| {
                m.artifact_type.as_deref() == Some(artifact)
                    && platform.is_none_or(|p| {
                        m.annotations
                            .as_deref()
                            .is_some_and(|a| a.contains(&format!("\"{PLATFORM_ANNOTATION}\":\"{p}\"")))
                    })
            })
        };
        let empty = self.store_blob(repository, Bytes::from_static(b"{}")).await?;
        let config = json!({"mediaType": OCI_EMPTY, "size": empty.size, "digest": empty.digest.as_str()});
        for sbom in sboms.iter().filter(|s| s.image == digest.as_str()) {
            if attached(SBOM_TYPE, Some(&sbom.platform)) {
                continue;
            }
            let blob: Digest = sbom.digest.parse().map_err(|e| AppError::Internal(format!("stored SBOM: {e}")))?;
            self.db.link_blob(repository, &blob, sbom.size).await?;
            let manifest = json!({
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "artifactType": SBOM_TYPE,
                "config": config,
                "layers": [{"mediaType": SBOM_TYPE, "size": sbom.size, "digest": blob.as_str()}],
                "subject": subject,
                "annotations": {PLATFORM_ANNOTATION: sbom.platform},
            });
            self.put_artifact(repository, &manifest, Some(SBOM_TYPE), None).await?;
        }
        if let Some(report) = report
            && !attached(REPORT_TYPE, None)
        {
            let bytes = serde_json::to_vec(report).map_err(|e| AppError::Internal(e.to_string()))?;
            let blob = self.store_blob(repository, Bytes::from(bytes)).await?;
            let manifest = json!({
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "artifactType": REPORT_TYPE,
                "config": config,
                "layers": [{"mediaType": REPORT_TYPE, "size": blob.size, "digest": blob.digest.as_str()}],
                "subject": subject,
            });
            self.put_artifact(repository, &manifest, Some(REPORT_TYPE), None).await?;
        }
        Ok(())
    }

    /// Stores bytes as a blob linked to the repository.
    async fn store_blob(
        &self,
        repository: wharf_core::RepositoryId,
        bytes: Bytes,
    ) -> Result<wharf_blob::BlobInfo, AppError> {
        let blob = self.blobs.put_bytes(bytes, None).await.map_err(|e| AppError::Unavailable(e.to_string()))?;
        self.db.link_blob(repository, &blob.digest, blob.size).await?;
        Ok(blob)
    }

    /// Stores an image manifest the marketplace made (its blobs linked already).
    async fn put_artifact(
        &self,
        repository: wharf_core::RepositoryId,
        manifest: &serde_json::Value,
        artifact_type: Option<&str>,
        tag: Option<&str>,
    ) -> Result<Digest, AppError> {
        let content = serde_json::to_vec(manifest).map_err(|e| AppError::Internal(e.to_string()))?;
        let digest = Digest::of(wharf_oci::Algorithm::Sha256, &content);
        let mut blobs: Vec<Digest> = Vec::new();
        for d in std::iter::once(&manifest["config"]).chain(manifest["layers"].as_array().into_iter().flatten()) {
            if let Some(d) = d["digest"].as_str() {
                blobs.push(d.parse().map_err(|e| AppError::Internal(format!("{e}")))?);
            }
        }
        let subject = manifest["subject"]["digest"].as_str().map(str::parse).transpose();
        let annotations = manifest.get("annotations").map(serde_json::Value::to_string);
        let row = ManifestRow {
            digest: digest.clone(),
            media_type: OCI_MANIFEST.into(),
            size: content.len() as u64,
            artifact_type: artifact_type.map(str::to_owned).or_else(|| Some(OCI_CONFIG.to_owned())),
            subject: subject.map_err(|e| AppError::Internal(format!("{e}")))?,
            annotations,
        };
        let new = NewManifest { row: &row, blobs: &blobs, manifests: &[], content: &content };
        // The signature tag moves to the newest signature (one per run).
        self.db.put_manifest(repository, new, tag.map(|name| TagWrite { name, immutable: false })).await?;
        Ok(digest)
    }
}

/// `mp/<publisher>/<offer>/<plan>/<image>`, the image being the source repository's
/// path inside its organization.
pub(crate) fn marketplace_name(
    publisher: &str,
    offer: &str,
    plan: &str,
    source: &RepositoryName,
) -> Result<RepositoryName, AppError> {
    let image = source.as_str().split_once('/').map_or(source.as_str(), |(_, rest)| rest);
    let name = format!("{}/{publisher}/{offer}/{plan}/{image}", wharf_core::MARKETPLACE_NAMESPACE);
    name.parse().map_err(|e| AppError::Internal(format!("marketplace repository {name:?}: {e}")))
}

/// Every (plan, image) of the version once, with its tags and its report.
fn to_promote(spec: &OfferSpec, index: &ReportIndex) -> Result<Vec<ToPromote>, AppError> {
    let mut out: Vec<ToPromote> = Vec::new();
    for plan in &spec.plans {
        let plan_id = plan.id.clone().unwrap_or_default();
        for image in &plan.images {
            let Some(repository) = image.repository.as_deref() else { continue };
            let source: RepositoryName =
                repository.parse().map_err(|e| AppError::Internal(format!("frozen repository {repository:?}: {e}")))?;
            let mut by_digest: BTreeMap<&str, Vec<String>> = BTreeMap::new();
            for (tag, digest) in &image.digests {
                by_digest.entry(digest.as_str()).or_default().push(tag.clone());
            }
            for (digest, tags) in by_digest {
                let digest: Digest =
                    digest.parse().map_err(|e| AppError::Internal(format!("frozen digest {digest:?}: {e}")))?;
                let report =
                    index.digests.iter().position(|d| d == digest.as_str()).and_then(|i| index.images.get(i)).cloned();
                out.push(ToPromote { plan: plan_id.clone(), source: source.clone(), digest, tags, report });
            }
        }
    }
    Ok(out)
}
