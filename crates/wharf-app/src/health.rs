//! Continuous certification: every version in preview or live is re-evaluated when
//! the operator imports advisories, from the packages its certification recorded (the
//! SBOM's content) without reading a layer again. Each evaluation stores the
//! vulnerability findings and a health grade (`wharf_certify::grade`); a change of
//! grade lands in the offer's history and goes to the publisher's webhooks
//! (`version.regraded`); a version that now breaks the vulnerability policy is flagged
//! with the policy's grace period (`vulnerability_grace_days`) as its deadline, and
//! stays where it is: nothing is withdrawn silently.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use wharf_api_types::HealthView;
use wharf_certify::advisories::Advisory;
use wharf_certify::check::Check;
use wharf_certify::package::StoredComponent;
use wharf_core::{OrgAction, Timestamp, TokenScope, WebhookEvent};
use wharf_db::health::{Graded, HealthRow};

use crate::{Actor, App, AppError};

/// Who the history names as the actor.
const PIPELINE: &str = "pipeline";

/// Re-evaluates every version in preview or live against the newest advisories.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegradeVersions {
    /// The advisory snapshot that prompted it.
    pub snapshot: i64,
}

impl wharf_jobs::Job for RegradeVersions {
    const KIND: &'static str = "pipeline.regrade";
    const MAX_ATTEMPTS: u32 = 5;
    type Context = App;

    fn fair_key(&self) -> String {
        "operator".into()
    }

    async fn run(&self, app: &App) -> anyhow::Result<()> {
        app.regrade_all().await.map_err(|e| anyhow::anyhow!("{e}"))
    }
}

/// What grading reads of a stored certification report.
#[derive(Debug, Deserialize)]
struct StoredReport {
    #[serde(default)]
    images: Vec<StoredImageReport>,
}

#[derive(Debug, Deserialize)]
struct StoredImageReport {
    #[serde(default)]
    platforms: Vec<StoredPlatform>,
}

#[derive(Debug, Deserialize)]
struct StoredPlatform {
    manifest: String,
    #[serde(default)]
    distro: Option<String>,
    #[serde(default)]
    components: Vec<StoredComponent>,
}

impl App {
    /// Queues the re-evaluation after an advisory import.
    pub(crate) async fn queue_regrade(&self, snapshot: i64) -> Result<(), AppError> {
        let job = RegradeVersions { snapshot };
        let key = format!("regrade:{snapshot}");
        wharf_jobs::enqueue(&self.db, &job, Some(&key)).await.map_err(|e| AppError::Unavailable(format!("{e:#}")))?;
        Ok(())
    }

    /// Re-evaluates every version in preview or live (see the module).
    pub(crate) async fn regrade_all(&self) -> Result<(), AppError> {
        let engine = self.certification_engine().await?;
        let snapshot = self.db.advisory_snapshots(1).await?.first().map(|s| s.id);
        let versions = self.db.versions_to_grade().await?;
        let count = versions.len();
        for g in versions {
            self.grade_version(&g, &engine, snapshot).await?;
        }
        tracing::info!(versions = count, snapshot, "versions re-evaluated against the newest advisories");
        Ok(())
    }

    /// Evaluates one version from its stored report and records its health.
    pub(crate) async fn grade_version(
        &self,
        g: &Graded,
        engine: &wharf_certify::certify::Engine,
        snapshot: Option<i64>,
    ) -> Result<(), AppError> {
        let Some(bytes) = self.stored_report(g.offer, g.version).await? else { return Ok(()) };
        let report: StoredReport =
            serde_json::from_slice(&bytes).map_err(|e| AppError::Internal(format!("stored report: {e}")))?;
        let now = Timestamp::now();
        let today = now.to_string().get(..10).unwrap_or_default().to_owned();
        let policy = &engine.policy;
        let mut findings = Vec::new();
        for platform in report.images.iter().flat_map(|i| i.platforms.iter()) {
            let components: Vec<_> = platform.components.iter().cloned().filter_map(StoredComponent::restore).collect();
            findings.extend(wharf_certify::vulns::check(
                &components,
                platform.distro.as_deref(),
                engine.advisories.as_ref(),
                policy,
                &platform.manifest,
                &today,
            ));
        }
        let by_id: HashMap<&str, &Advisory> = engine
            .advisories
            .as_ref()
            .map(|s| s.advisories.iter().map(|a| (a.id.as_str(), a)).collect())
            .unwrap_or_default();
        let health = wharf_certify::grade::grade(&findings, &by_id, &today);
        let breaks = findings.iter().any(|r| r.blocking && r.finding.check == Check::Vulnerability);
        let previous = self.db.version_health(g.offer, g.version).await?;
        let flagged_at = breaks.then(|| previous.as_ref().and_then(|p| p.flagged_at).unwrap_or(now));
        let grace = std::time::Duration::from_secs(u64::from(policy.vulnerability_grace_days) * 86_400);
        let grace_until = flagged_at.map(|f| f.plus(grace));
        let mut summary: BTreeMap<String, usize> = BTreeMap::new();
        for r in &findings {
            *summary.entry(format!("{:?}", r.finding.severity).to_lowercase()).or_default() += 1;
        }
        let row = HealthRow {
            grade: health.grade.to_string(),
            reason: health.reason.clone(),
            findings: serde_json::to_string(&findings).map_err(|e| AppError::Internal(e.to_string()))?,
            summary: serde_json::to_string(&summary).map_err(|e| AppError::Internal(e.to_string()))?,
            snapshot,
            graded_at: now,
            breaks_policy: breaks,
            flagged_at,
            grace_until,
        };
        let newly_broken = breaks && !previous.as_ref().is_some_and(|p| p.breaks_policy);
        let change = previous
            .as_ref()
            .filter(|p| p.grade != row.grade || newly_broken)
            .map(|p| format!("{}: {} → {}", g.version, p.grade, row.grade));
        self.db.put_version_health(g.offer, g.version, &row, change.as_deref(), PIPELINE).await?;
        if let Some(change) = change {
            let mut message = format!("grade {change}: {}", health.reason);
            if let Some(until) = grace_until.filter(|_| breaks) {
                message.push_str(&format!(
                    "; it now breaks the vulnerability policy: ship a fix by {until} (the policy's {} day grace period)",
                    policy.vulnerability_grace_days
                ));
            }
            let event = WebhookEvent::VersionRegraded;
            self.announce_occurrence(g.offer, g.version, &g.publisher, event, Some(&message), snapshot).await?;
            tracing::info!(offer = %g.offer, version = g.version, %message, "version regraded");
        }
        Ok(())
    }

    /// A version's health: its grade and the findings of its latest evaluation.
    pub async fn version_health(
        &self,
        actor: &Actor,
        org: &str,
        offer: &str,
        version: i64,
    ) -> Result<HealthView, AppError> {
        actor.require(TokenScope::ApiRead)?;
        let (_, row) = self.offer_for(actor, org, offer, OrgAction::ReadOffers).await?;
        let h = self.db.version_health(row.pk, version).await?.ok_or_else(|| {
            AppError::NotFound(format!("version {version} of {offer:?} has no health grade yet (graded in preview)"))
        })?;
        Ok(HealthView {
            grade: h.grade,
            reason: h.reason,
            graded_at: h.graded_at,
            advisory_snapshot: h.snapshot,
            breaks_policy: h.breaks_policy,
            flagged_at: h.flagged_at,
            grace_until: h.grace_until,
            summary: serde_json::from_str(&h.summary).unwrap_or_default(),
            findings: serde_json::from_str(&h.findings).unwrap_or_default(),
        })
    }
}
