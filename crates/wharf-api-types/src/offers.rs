//! `/api/v1/orgs/{org}/offers/…` and `/api/v1/orgs/{org}/media`: offers as code.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use wharf_core::{OfferEvent, OfferState, PipelineStep, StepState, Timestamp, VersionStatus};
use wharf_offer::OfferSpec;
use wharf_offer::diff::Change;

use crate::FieldError;

/// An offer: its state and versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OfferView {
    /// The offer id.
    pub id: String,
    /// The publisher organization.
    pub publisher: String,
    /// Lifecycle state.
    pub state: OfferState,
    /// The state in words ("Publish in progress").
    pub state_label: String,
    /// The draft's revision (its ETag is `"r<revision>"`).
    pub revision: i64,
    /// Plans stop-sold while the offer sells others.
    pub stopped_plans: Vec<String>,
    /// The version customers see, if any.
    pub live_version: Option<i64>,
    /// Every submitted version, newest first.
    pub versions: Vec<VersionSummary>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

/// A submitted version, without its document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VersionSummary {
    /// 1, 2, …
    pub version: i64,
    /// Where it stands.
    pub status: VersionStatus,
    /// Who submitted it.
    pub submitted_by: String,
    /// When.
    pub submitted_at: Timestamp,
    /// Last status change.
    pub updated_at: Timestamp,
}

/// A submitted version with its frozen document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VersionView {
    /// The version.
    #[serde(flatten)]
    pub summary: VersionSummary,
    /// The document as submitted, every tag with its digest at that moment.
    pub document: OfferSpec,
}

/// The answer to a saved draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SaveResult {
    /// The draft's revision now.
    pub revision: i64,
    /// Whether the draft changed (sending the same document again changes nothing).
    pub changed: bool,
    /// Problems that do not block saving.
    pub warnings: Vec<FieldError>,
}

/// The answer to a submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SubmitResult {
    /// The new version.
    pub version: VersionSummary,
    /// The offer's state now.
    pub state: OfferState,
    /// Problems that do not block submitting.
    pub warnings: Vec<FieldError>,
    /// How long validating the prerequisites took, in milliseconds.
    pub validated_in_ms: u64,
}

/// One history event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EventView {
    /// Increasing id.
    pub id: i64,
    /// What happened.
    pub kind: OfferEvent,
    /// In words.
    pub label: String,
    /// What it concerns (a plan id, a version number).
    pub detail: Option<String>,
    /// Who.
    pub actor: String,
    /// When.
    pub at: Timestamp,
}

/// Draft against a version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Comparison {
    /// What the draft is compared with: `live` or `preview` (or a version number).
    pub base: String,
    /// That version's number; absent when there is none (everything is added).
    pub base_version: Option<i64>,
    /// The differences, field by field.
    #[schema(value_type = Vec<Object>)]
    pub changes: Vec<Change>,
}

/// An uploaded listing image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MediaView {
    /// Use it in an offer document as `sha256:…`.
    pub digest: String,
    /// `image/png` or `image/jpeg`.
    pub media_type: String,
    /// Pixels.
    pub width: u32,
    /// Pixels.
    pub height: u32,
    /// Bytes.
    pub size: u64,
}

/// What to compare the draft with.
#[derive(Debug, Clone, Default, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CompareQuery {
    /// `live` (default), `preview`, or a version number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with: Option<String>,
}

/// A step of the publishing pipeline for a version, as it ran (or runs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StepView {
    /// The step.
    pub step: PipelineStep,
    /// The step in words ("Certification").
    pub label: String,
    /// Running, passed or failed.
    pub state: StepState,
    /// Runs so far (a crash or a retry runs it again).
    pub attempt: u32,
    /// When the current run started.
    pub started_at: Timestamp,
    /// When it ended.
    pub finished_at: Option<Timestamp>,
    /// Bytes read of the total known so far.
    pub bytes_done: u64,
    /// Bytes to read, as far as known.
    pub bytes_total: u64,
    /// Images done.
    pub images_done: u64,
    /// Images in all.
    pub images_total: u64,
    /// Files read.
    pub files_done: u64,
    /// For a running step: the seconds left, estimated from earlier runs on this server.
    pub estimate_seconds: Option<f64>,
    /// Why it failed (what to fix).
    pub message: Option<String>,
    /// Whether the step wrote a report (GET …/versions/{version}/report).
    pub has_report: bool,
}

/// An image packaging promoted into the marketplace namespace, signed by the marketplace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PromotedImageView {
    /// The plan it belongs to.
    pub plan: String,
    /// The marketplace repository, `mp/<publisher>/<offer>/<plan>/<image>`.
    pub repository: String,
    /// Its tag there (the tag it was submitted with).
    pub tag: String,
    /// The manifest (or index) digest frozen at Submit.
    pub digest: String,
    /// How clients pull it by tag: `<registry>/<repository>:<tag>`.
    pub reference: String,
    /// How clients pull it by digest: `<registry>/<repository>@<digest>`.
    pub pinned_reference: String,
    /// Where it came from, `<repository>:<tag>`.
    pub source: String,
    /// The marketplace's signature manifest (tag `sha256-<hex>.sig`), once signed.
    pub signature: Option<String>,
}

/// `POST /api/v1/orgs/{org}/offers/{offer}/go-live`: the publisher's sign-off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GoLiveRequest {
    /// The version in preview that goes live.
    pub version: i64,
}

/// Where a version stands in the publishing pipeline: what `…/versions/{version}/events`
/// streams (event `progress`) each time something changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProgressEvent {
    /// The version.
    pub version: i64,
    /// Its status.
    pub status: VersionStatus,
    /// The offer's state.
    pub state: OfferState,
    /// Its steps so far, each with progress and, while running, the time left.
    pub steps: Vec<StepView>,
    /// Nothing more will happen without the publisher: Preview (before go-live), Live,
    /// Attention needed, cancelled or superseded. The stream ends after this event.
    pub settled: bool,
}

/// A version's health, from continuous certification: re-evaluated against every
/// advisory import from its stored SBOM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HealthView {
    /// `A` (best) to `F`: from the worst critical or high vulnerability with a fix
    /// available and how long the fix has been available (A: none; B: at most 90
    /// days; C: 180; D: 270; E: 365; F: longer).
    pub grade: String,
    /// What decided the grade.
    pub reason: String,
    /// When it was evaluated.
    pub graded_at: Timestamp,
    /// The advisory snapshot it was evaluated against (none: no advisories imported).
    pub advisory_snapshot: Option<i64>,
    /// A vulnerability now breaks the policy: the version stays, flagged.
    pub breaks_policy: bool,
    /// Since when it has broken the policy.
    pub flagged_at: Option<Timestamp>,
    /// The deadline for a fixed version (the policy's grace period).
    pub grace_until: Option<Timestamp>,
    /// Findings by severity.
    pub summary: std::collections::BTreeMap<String, usize>,
    /// The vulnerability findings, with their evidence and whether they block.
    pub findings: serde_json::Value,
}

/// A CycloneDX SBOM certification made for one platform of one image of a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SbomView {
    /// The image (manifest or index) digest frozen at Submit.
    pub image: String,
    /// `os/architecture[/variant]`.
    pub platform: String,
    /// The SBOM document's digest: `GET …/versions/{version}/sboms/{digest}` reads it.
    pub digest: String,
    /// Its size in bytes.
    pub size: u64,
}
