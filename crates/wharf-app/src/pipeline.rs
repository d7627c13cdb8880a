//! The publishing pipeline's jobs. Each step of a submitted version is a durable,
//! idempotent job that records its run in the version's step records: a job that finds
//! its version no longer submitted (cancelled or replaced) does nothing, and a run cut
//! short starts the step again as a new attempt.
//!
//! Certification: the publisher must be approved; then every image of every plan, by
//! the digests frozen at Submit, is certified straight from the marketplace's storage
//! with the operator's policy, clamd and the newest advisory snapshot. The report (every
//! finding with its evidence, the SBOMs) is stored and kept; a blocking finding stops the
//! version at Attention needed with what to fix.

use std::collections::BTreeSet;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use wharf_certify::certify::{Report, Verdict};
use wharf_certify::check::Check;
use wharf_core::{OfferEvent, OfferKey, OrgKind, PipelineStep, StepState, VersionStatus, WebhookEvent};
use wharf_db::steps::Progress;
use wharf_offer::OfferSpec;

use wharf_api_types::{ProgressEvent, StepView};
use wharf_core::{OrgAction, Timestamp, TokenScope};

use crate::packaging::{PackageVersion, StoredSbom};
use crate::{Actor, App, AppError, StoredImage};

/// Runs of the certification step that may find clamd unable to scan before the
/// policy decides on the files left unscanned (below the job's attempts).
const CLAMD_ATTEMPTS: u32 = 4;

/// Passed runs a step's pace is learned from.
const PACE_RUNS: u32 = 20;

/// Who the pipeline's records name as the actor.
const PIPELINE: &str = "pipeline";

/// Certifies version `version` of offer `offer` (of `publisher`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertifyVersion {
    /// The offer's key.
    pub offer: OfferKey,
    /// The version.
    pub version: i64,
    /// The publisher organization: whom the job serves, for fair scheduling.
    pub publisher: String,
}

impl wharf_jobs::Job for CertifyVersion {
    const KIND: &'static str = "pipeline.certification";
    const MAX_ATTEMPTS: u32 = 5;
    type Context = App;

    fn fair_key(&self) -> String {
        self.publisher.clone()
    }

    async fn run(&self, app: &App) -> anyhow::Result<()> {
        app.certify_version(self).await.map_err(|e| anyhow::anyhow!("{e}"))
    }
}

/// The certification report as stored: one certification report per plan image.
#[derive(Debug, Serialize)]
struct StoredReport<'a> {
    offer: OfferKey,
    version: i64,
    verdict: Verdict,
    images: &'a [Report],
    /// The digest frozen at Submit of each entry of `images`, in order.
    digests: Vec<String>,
    /// Each image's CycloneDX SBOM per platform, kept in the blob store.
    sboms: Vec<StoredSbom>,
}

/// The SBOMs a stored certification report lists.
pub(crate) fn sboms_of(report: &[u8]) -> Result<Vec<wharf_api_types::SbomView>, AppError> {
    #[derive(Deserialize)]
    struct Listed {
        #[serde(default)]
        sboms: Vec<StoredSbom>,
    }
    let listed: Listed =
        serde_json::from_slice(report).map_err(|e| AppError::Internal(format!("stored report: {e}")))?;
    Ok(listed
        .sboms
        .into_iter()
        .map(|s| wharf_api_types::SbomView { image: s.image, platform: s.platform, digest: s.digest, size: s.size })
        .collect())
}

impl App {
    /// The pipeline's steps of a version, with the time left of a running one.
    pub async fn version_steps(
        &self,
        actor: &Actor,
        org: &str,
        offer: &str,
        version: i64,
    ) -> Result<Vec<StepView>, AppError> {
        actor.require(TokenScope::ApiRead)?;
        let row = self.version_of(actor, org, offer, version).await?;
        let now = Timestamp::now();
        let mut out = Vec::new();
        for s in self.db.version_steps(row, version).await? {
            let pace = match s.state {
                StepState::Running => self.db.step_pace(s.step, PACE_RUNS).await?,
                _ => None,
            };
            out.push(StepView {
                step: s.step,
                label: s.step.label().to_owned(),
                state: s.state,
                attempt: s.attempt,
                started_at: s.started_at,
                finished_at: s.finished_at,
                bytes_done: s.progress.bytes_done,
                bytes_total: s.progress.bytes_total,
                images_done: s.progress.images_done,
                images_total: s.progress.images_total,
                files_done: s.progress.files_done,
                estimate_seconds: s.estimate(pace, now).map(|d| d.as_secs_f64()),
                message: s.message,
                has_report: s.report.is_some(),
            });
        }
        Ok(out)
    }

    /// Where a version stands: its status, the offer's state, its steps, and whether
    /// it has settled (nothing more happens without the publisher).
    pub async fn version_progress(
        &self,
        actor: &Actor,
        org: &str,
        offer: &str,
        version: i64,
    ) -> Result<ProgressEvent, AppError> {
        let steps = self.version_steps(actor, org, offer, version).await?;
        let (_, row) = self.offer_for(actor, org, offer, OrgAction::ReadOffers).await?;
        let v = self
            .db
            .offer_version(row.pk, version)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("offer {offer:?} has no version \"{version}\"")))?;
        let signed_off = steps.iter().any(|s| s.step == PipelineStep::GoLive);
        let settled = match v.status {
            VersionStatus::Submitted => false,
            VersionStatus::Preview => !signed_off,
            VersionStatus::AttentionNeeded
            | VersionStatus::Cancelled
            | VersionStatus::Live
            | VersionStatus::Superseded => true,
        };
        Ok(ProgressEvent { version, status: v.status, state: row.state, steps, settled })
    }

    /// A version's certification report (JSON): every image, platform and finding with
    /// its evidence, and the packages found.
    pub async fn version_report(&self, actor: &Actor, org: &str, offer: &str, version: i64) -> Result<Bytes, AppError> {
        actor.require(TokenScope::ApiRead)?;
        let row = self.version_of(actor, org, offer, version).await?;
        self.stored_report(row, version).await?.ok_or_else(|| {
            AppError::NotFound(format!("version {version} of {offer:?} has no certification report yet"))
        })
    }

    /// The stored certification report of a version, if it has one.
    pub(crate) async fn stored_report(&self, offer: OfferKey, version: i64) -> Result<Option<Bytes>, AppError> {
        let steps = self.db.version_steps(offer, version).await?;
        let Some(digest) = steps.into_iter().find(|s| s.step == PipelineStep::Certification).and_then(|s| s.report)
        else {
            return Ok(None);
        };
        self.blob_bytes(&digest).await.map(Some)
    }

    /// The SBOMs certification stored for a version (none before its report).
    pub(crate) async fn stored_sboms(
        &self,
        offer: OfferKey,
        version: i64,
    ) -> Result<Vec<wharf_api_types::SbomView>, AppError> {
        match self.stored_report(offer, version).await? {
            Some(report) => sboms_of(&report),
            None => Ok(Vec::new()),
        }
    }

    /// A stored blob, whole (reports and SBOMs: a few MiB at most).
    pub(crate) async fn blob_bytes(&self, digest: &wharf_oci::Digest) -> Result<Bytes, AppError> {
        let read = self.blobs.get(digest, None).await.map_err(|e| AppError::Unavailable(e.to_string()))?;
        Ok(Bytes::from(read.bytes().await.map_err(|e| AppError::Unavailable(e.to_string()))?))
    }

    /// The SBOMs certification stored for a version, one per image and platform.
    pub async fn version_sboms(
        &self,
        actor: &Actor,
        org: &str,
        offer: &str,
        version: i64,
    ) -> Result<Vec<wharf_api_types::SbomView>, AppError> {
        let report = self.version_report(actor, org, offer, version).await?;
        sboms_of(&report)
    }

    /// One of a version's SBOMs (CycloneDX JSON), by its digest.
    pub async fn version_sbom(
        &self,
        actor: &Actor,
        org: &str,
        offer: &str,
        version: i64,
        digest: &str,
    ) -> Result<Bytes, AppError> {
        let listed = self.version_sboms(actor, org, offer, version).await?;
        let Some(sbom) = listed.iter().find(|s| s.digest == digest) else {
            return Err(AppError::NotFound(format!("version {version} of {offer:?} has no SBOM {digest}")));
        };
        let digest: wharf_oci::Digest = sbom.digest.parse().map_err(|e| AppError::Internal(format!("{e}")))?;
        self.blob_bytes(&digest).await
    }

    /// The offer's key, after checking the actor may read it and it has `version`.
    async fn version_of(&self, actor: &Actor, org: &str, offer: &str, version: i64) -> Result<OfferKey, AppError> {
        let (_, row) = self.offer_for(actor, org, offer, OrgAction::ReadOffers).await?;
        self.db
            .offer_version(row.pk, version)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("offer {offer:?} has no version \"{version}\"")))?;
        Ok(row.pk)
    }

    /// Tells the publisher's webhooks that `event` happened to a version (once per
    /// event and version, however often it is called).
    pub(crate) async fn announce(
        &self,
        offer: OfferKey,
        version: i64,
        publisher: &str,
        event: WebhookEvent,
        message: Option<&str>,
    ) -> Result<(), AppError> {
        self.announce_occurrence(offer, version, publisher, event, message, None).await
    }

    /// [`App::announce`] of an event that may happen to a version more than once
    /// (`occurrence` tells them apart: a regrade per advisory snapshot).
    pub(crate) async fn announce_occurrence(
        &self,
        offer: OfferKey,
        version: i64,
        publisher: &str,
        event: WebhookEvent,
        message: Option<&str>,
        occurrence: Option<i64>,
    ) -> Result<(), AppError> {
        let Ok(name) = publisher.parse::<wharf_core::OrgName>() else { return Ok(()) };
        let (Some(org), Some(row), Some(v)) = (
            self.db.org_by_name(&name).await?,
            self.db.offer_by_key(offer).await?,
            self.db.offer_version(offer, version).await?,
        ) else {
            return Ok(());
        };
        let data = serde_json::json!({
            "publisher": publisher,
            "offer": row.offer_id.as_str(),
            "version": version,
            "status": v.status,
            "state": row.state,
            "message": message,
            "links": {
                "version": format!("/api/v1/orgs/{publisher}/offers/{}/versions/{version}", row.offer_id),
                "steps": format!("/api/v1/orgs/{publisher}/offers/{}/versions/{version}/steps", row.offer_id),
            },
        });
        let key = match occurrence {
            Some(n) => format!("{offer}_{version}_{n}"),
            None => format!("{offer}_{version}"),
        };
        self.emit(org.id, publisher, event, &key, data).await
    }

    /// Records how a running step ended, and its duration and outcome in the metrics
    /// (`wharf_pipeline_step_duration_seconds`, `wharf_pipeline_step_failures_total`).
    /// A step that was not running (ended already) changes nothing.
    pub(crate) async fn end_step(
        &self,
        offer: OfferKey,
        version: i64,
        step: PipelineStep,
        state: StepState,
        message: Option<&str>,
    ) -> Result<(), AppError> {
        if !self.db.finish_step(offer, version, step, state, message).await? {
            return Ok(());
        }
        let ended = self.db.version_steps(offer, version).await?.into_iter().find(|s| s.step == step);
        if let Some(s) = ended
            && let Some(end) = s.finished_at
        {
            let seconds = (end.as_millis() - s.started_at.as_millis()).max(0) as f64 / 1000.0;
            metrics::histogram!("wharf_pipeline_step_duration_seconds", "step" => step.as_str(), "outcome" => state.as_str())
                .record(seconds);
        }
        if state == StepState::Failed {
            metrics::counter!("wharf_pipeline_step_failures_total", "step" => step.as_str()).increment(1);
        }
        Ok(())
    }

    /// The certification step (see the module).
    pub(crate) async fn certify_version(&self, job: &CertifyVersion) -> Result<(), AppError> {
        let Some(version) = self.db.offer_version(job.offer, job.version).await? else { return Ok(()) };
        if version.status != VersionStatus::Submitted {
            return Ok(());
        }
        // Passed already (the job ran again after its worker died): nothing to redo.
        let step = PipelineStep::Certification;
        let done = self.db.version_steps(job.offer, job.version).await?;
        if done.iter().any(|s| s.step == step && s.state == StepState::Passed) {
            // Its worker may have died between the step's end and the history event.
            self.db.version_passed(job.offer, job.version, OfferEvent::Certified, PIPELINE).await?;
            self.announce(job.offer, job.version, &job.publisher, WebhookEvent::VersionCertified, None).await?;
            return self.queue_packaging(&package(job)).await;
        }
        let spec: OfferSpec = serde_json::from_str(&version.document)
            .map_err(|e| AppError::Internal(format!("stored version does not parse: {e}")))?;
        let images = frozen_images(&spec)?;
        let total = Progress { images_total: images.len() as u64, ..Progress::default() };
        let attempt = self.db.start_step(job.offer, job.version, step, total).await?.attempt;

        // Eligibility: the publisher must be approved by an operator.
        let org = self.db.org_by_name(&job.publisher.parse().map_err(|e| AppError::Internal(format!("{e}")))?).await?;
        let approved = org.as_ref().is_some_and(|o| o.kind == OrgKind::Publisher && o.approval.is_some());
        if !approved {
            let why = format!(
                "the publisher {} is not approved: an operator approves publishers (wharf admin org approve {})",
                job.publisher, job.publisher
            );
            return self.stop(job, &why).await;
        }

        let engine = std::sync::Arc::new(self.certification_engine().await?);
        let mut reports = Vec::new();
        let mut progress = total;
        let mut digests = Vec::new();
        let mut sboms = Vec::new();
        for image in images {
            digests.push(image.digest.to_string());
            let layout = self.stored_layout(std::slice::from_ref(&image)).await?;
            let engine = engine.clone();
            let name = image.name.clone();
            let report = tokio::task::spawn_blocking(move || {
                wharf_certify::certify::certify_layout(&layout, &name, Some(&name), &engine)
            })
            .await
            .map_err(|e| AppError::Internal(format!("certification stopped: {e}")))?;
            progress.images_done += 1;
            for p in &report.platforms {
                progress.files_done += p.files as u64;
                progress.bytes_done += p.layers.iter().map(|l| l.compressed_bytes).sum::<u64>();
            }
            progress.bytes_total = progress.bytes_done;
            self.db.step_progress(job.offer, job.version, step, progress).await?;
            wharf_core::failpoint("certification.image-done");
            for p in &report.platforms {
                let sbom = wharf_certify::sbom::cyclonedx(&image.name, &p.platform, &p.components);
                let bytes = serde_json::to_vec(&sbom).map_err(|e| AppError::Internal(e.to_string()))?;
                let blob = self
                    .blobs
                    .put_bytes(Bytes::from(bytes), None)
                    .await
                    .map_err(|e| AppError::Unavailable(e.to_string()))?;
                sboms.push(StoredSbom {
                    image: image.digest.to_string(),
                    platform: p.platform.clone(),
                    digest: blob.digest.to_string(),
                    size: blob.size,
                });
            }
            reports.push(report);
        }
        // clamd configured but unable to scan (down, overloaded): the job tries again
        // with backoff, and only the last run lets the policy decide on "not scanned".
        let not_scanned = |r: &Report| {
            r.image_findings
                .iter()
                .chain(r.platforms.iter().flat_map(|p| p.findings.iter()))
                .any(|f| f.finding.check == Check::MalwareNotScanned)
        };
        if self.certification.clamd.is_some() && attempt < CLAMD_ATTEMPTS && reports.iter().any(not_scanned) {
            return Err(AppError::Unavailable(format!(
                "clamd could not scan every file (run {attempt} of {CLAMD_ATTEMPTS}); certification runs again after a pause"
            )));
        }
        let failed: Vec<&Report> = reports.iter().filter(|r| r.verdict == Verdict::Fail).collect();
        let verdict = if failed.is_empty() { Verdict::Pass } else { Verdict::Fail };
        let stored = StoredReport { offer: job.offer, version: job.version, verdict, images: &reports, digests, sboms };
        let json = serde_json::to_vec(&stored).map_err(|e| AppError::Internal(e.to_string()))?;
        let size = json.len() as u64;
        let blob =
            self.blobs.put_bytes(Bytes::from(json), None).await.map_err(|e| AppError::Unavailable(e.to_string()))?;
        self.db.set_step_report(job.offer, job.version, step, &blob.digest, size).await?;

        if failed.is_empty() {
            self.end_step(job.offer, job.version, step, StepState::Passed, None).await?;
            wharf_core::failpoint("certification.passed");
            self.db.version_passed(job.offer, job.version, OfferEvent::Certified, PIPELINE).await?;
            tracing::info!(offer = %job.offer, version = job.version, "version certified");
            self.announce(job.offer, job.version, &job.publisher, WebhookEvent::VersionCertified, None).await?;
            return self.queue_packaging(&package(job)).await;
        }
        let blocking: usize = failed
            .iter()
            .flat_map(|r| r.image_findings.iter().chain(r.platforms.iter().flat_map(|p| p.findings.iter())))
            .filter(|f| f.blocking)
            .count();
        let names: BTreeSet<&str> = failed.iter().map(|r| r.image.as_str()).collect();
        let checks: BTreeSet<&str> = failed
            .iter()
            .flat_map(|r| r.image_findings.iter().chain(r.platforms.iter().flat_map(|p| p.findings.iter())))
            .filter(|f| f.blocking)
            .map(|f| f.finding.check.id())
            .collect();
        let why = format!(
            "certification failed: {blocking} blocking finding(s) in {} ({}); the report lists each with its evidence",
            names.into_iter().collect::<Vec<_>>().join(", "),
            checks.into_iter().collect::<Vec<_>>().join(", ")
        );
        self.stop(job, &why).await
    }

    /// Ends the certification step as failed and stops the version at Attention needed.
    async fn stop(&self, job: &CertifyVersion, why: &str) -> Result<(), AppError> {
        let step = PipelineStep::Certification;
        self.end_step(job.offer, job.version, step, StepState::Failed, Some(why)).await?;
        self.db.version_needs_attention(job.offer, job.version, why, PIPELINE).await.map_err(|e| match e {
            wharf_db::offers::OfferWriteError::Db(db) => AppError::from(db),
            other => AppError::Conflict(format!("{other:?}")),
        })?;
        tracing::info!(offer = %job.offer, version = job.version, reason = why, "version needs attention");
        self.announce(job.offer, job.version, &job.publisher, WebhookEvent::VersionAttentionNeeded, Some(why)).await
    }
}

/// The dedup key of a version's certification job.
pub(crate) fn certify_key(job: &CertifyVersion) -> String {
    format!("certify:{}:{}", job.offer, job.version)
}

/// The packaging job that follows a version's certification.
fn package(job: &CertifyVersion) -> PackageVersion {
    PackageVersion { offer: job.offer, version: job.version, publisher: job.publisher.clone() }
}

/// Every image of every plan, by the digests frozen at Submit, once each.
pub(crate) fn frozen_images(spec: &OfferSpec) -> Result<Vec<StoredImage>, AppError> {
    let mut out: Vec<StoredImage> = Vec::new();
    for plan in &spec.plans {
        for image in &plan.images {
            let Some(repository) = image.repository.as_deref() else { continue };
            let repository: wharf_oci::RepositoryName =
                repository.parse().map_err(|e| AppError::Internal(format!("frozen repository {repository:?}: {e}")))?;
            for (tag, digest) in &image.digests {
                let digest =
                    digest.parse().map_err(|e| AppError::Internal(format!("frozen digest {digest:?}: {e}")))?;
                if out.iter().any(|i| i.digest == digest) {
                    continue;
                }
                let name = format!("{repository}:{tag}");
                out.push(StoredImage { repository: repository.clone(), digest, name });
            }
        }
    }
    Ok(out)
}
