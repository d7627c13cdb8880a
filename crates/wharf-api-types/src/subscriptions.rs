//! Access offers (`/api/v1/access-offers`), customer organizations' access
//! subscriptions, item subscriptions (entitlements), usage and pull secrets
//! (`/api/v1/orgs/{org}/…`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wharf_core::Timestamp;

/// An access offer as operators write it: base and add-on plans that open catalog
/// items, with quotas.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessOfferSpec {
    /// Unique name: 1-39 lowercase letters, digits and single hyphens.
    pub name: String,
    /// What customers see: at most 200 characters.
    pub display_name: String,
    /// At most 2,000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `public` (every customer organization) or `private` (only `audience`).
    #[serde(default = "public")]
    pub visibility: String,
    /// The customer organizations a private offer is for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audience: Vec<String>,
    /// Its plans: at least one base plan; at most 20 in all.
    pub plans: Vec<AccessPlanSpec>,
}

fn public() -> String {
    "public".to_owned()
}

/// A plan of an access offer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessPlanSpec {
    /// Unique within the offer: the organization-name rule.
    pub name: String,
    /// What customers see: at most 200 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// `base`, or `add_on` (subscribed on top of a base plan of the same offer; adds
    /// to its quotas).
    pub kind: String,
    /// What it opens: `{"all": true}`, `{"categories": [...]}`, `{"publishers": [...]}`
    /// or `{"items": ["publisher/offer", ...]}`; exactly one.
    #[serde(default)]
    pub opens: OpensSpec,
    /// Quotas by name: `subscriptions`, `deployments`, `pulled_gb_per_month`. A base
    /// plan without a quota sets no limit for it; an add-on adds its value to the base's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub quotas: BTreeMap<String, u64>,
}

/// What an access plan opens: exactly one member set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpensSpec {
    /// Every catalog item.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all: bool,
    /// Items in any of these categories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
    /// Items of these publisher organizations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publishers: Option<Vec<String>>,
    /// These items, each `publisher/offer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<String>>,
}

/// An access offer, with who made it and who subscribes (the latter for operators).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AccessOfferView {
    /// The definition.
    #[serde(flatten)]
    pub spec: AccessOfferSpec,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// Organizations with an active subscription (operators only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subscribers: Vec<String>,
}

/// Subscribes the organization to an access plan.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessSubscribeRequest {
    /// The access offer's name.
    pub access_offer: String,
    /// The plan's name.
    pub plan: String,
}

/// A subscription to an access plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AccessSubscriptionView {
    /// Its id.
    pub id: i64,
    /// The access offer.
    pub access_offer: String,
    /// The plan.
    pub plan: String,
    /// `base` or `add_on`.
    pub kind: String,
    /// `active` or `cancelled`.
    pub status: String,
    /// Who subscribed.
    pub created_by: String,
    /// When.
    pub created_at: Timestamp,
    /// Who cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_by: Option<String>,
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<Timestamp>,
}

/// An organization's use of one access offer's quotas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AccessUsageView {
    /// The access offer.
    pub access_offer: String,
    /// Its plans the organization subscribes to (base first).
    pub plans: Vec<String>,
    /// Each quota: limit (absent: none) and use.
    pub quotas: Vec<QuotaView>,
}

/// A quota's limit and use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct QuotaView {
    /// `subscriptions`, `deployments` or `pulled_gb_per_month`.
    pub quota: String,
    /// The limit; absent when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// Used now (this calendar month, UTC, for monthly quotas).
    pub used: u64,
}

/// An organization's usage, per access offer it subscribes to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UsageView {
    /// The organization.
    pub org: String,
    /// Per access offer.
    pub access: Vec<AccessUsageView>,
}

/// Subscribes the organization to a plan of a catalog item.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscribeRequest {
    /// The item: `publisher/offer`.
    pub offer: String,
    /// The plan id.
    pub plan: String,
    /// Must be `true`: the organization accepts the offer's legal terms.
    #[serde(default)]
    pub accept_terms: bool,
    /// The SHA-256 of the terms read (the listing's `terms_sha256`); when given and
    /// the terms changed since, the subscription is refused (409).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms_sha256: Option<String>,
    /// Whether the publisher may receive the subscriber's contact details with the lead.
    #[serde(default)]
    pub share_contact: bool,
}

/// A subscription to a plan of a catalog item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SubscriptionView {
    /// Its id.
    pub id: i64,
    /// The customer organization.
    pub org: String,
    /// The item: `publisher/offer`.
    pub offer: String,
    /// The plan id.
    pub plan: String,
    /// `active` or `cancelled`.
    pub status: String,
    /// The access offer and plan it goes through.
    pub access: String,
    /// The terms accepted.
    pub terms: AcceptedTermsView,
    /// Whether contact details go to the publisher.
    pub share_contact: bool,
    /// The repositories it may pull (promoted by the marketplace), each `host/repository`.
    pub repositories: Vec<String>,
    /// Who cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_by: Option<String>,
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<Timestamp>,
}

/// Terms as accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AcceptedTermsView {
    /// The live version whose terms were accepted.
    pub version: i64,
    /// SHA-256 of the terms.
    pub sha256: String,
    /// Who accepted them.
    pub accepted_by: String,
    /// When.
    pub accepted_at: Timestamp,
}

/// Issues a pull secret for a subscription.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePullSecretRequest {
    /// What it is for (e.g. the cluster): 1 to 100 characters.
    pub name: String,
}

/// A pull secret (its secret is shown only when issued).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PullSecretView {
    /// Its id.
    pub id: i64,
    /// The subscription.
    pub subscription: i64,
    /// What it is for.
    pub name: String,
    /// The user name to log in with.
    pub username: String,
    /// Who issued it.
    pub created_by: String,
    /// When.
    pub created_at: Timestamp,
    /// When it was revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<Timestamp>,
}

/// A pull secret just issued: the only time its secret is shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreatedPullSecretView {
    /// The secret's record.
    #[serde(flatten)]
    pub pull_secret: PullSecretView,
    /// The registry host to log in to.
    pub registry: String,
    /// The password (never shown again).
    pub password: String,
    /// A `kubernetes.io/dockerconfigjson` Secret manifest (YAML) holding it.
    pub kubernetes_secret: String,
    /// `podman login` / `docker login` command (reads the password from stdin).
    pub login_command: String,
}

/// Renders (and records) a deployment of a subscription's plan.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeployRequest {
    /// The parameters' values by name (text, numbers, booleans); missing ones take
    /// their defaults, secrets with `generate_length` are generated.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub values: BTreeMap<String, serde_json::Value>,
    /// A name for the deployment (the Helm release, the pull secret's prefix): the
    /// organization-name rule; default `<offer>-<5 random hex digits>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Only check the values and show the rendering, with placeholders for the
    /// credential: nothing is recorded or issued.
    #[serde(default)]
    pub dry_run: bool,
}

/// A file of a rendered deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeployFileView {
    /// Its name, e.g. `manifests.yaml`.
    pub name: String,
    /// Its content.
    pub content: String,
}

/// A rendered deployment: what to save and run. The password and generated secrets
/// are in this response only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeploymentView {
    /// Its id; absent for a dry run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// The subscription.
    pub subscription: i64,
    /// Its name.
    pub name: String,
    /// `container`, `compose`, `kubernetes` or `helm`.
    pub kind: String,
    /// The offer version rendered.
    pub version: i64,
    /// `container`: the command's words.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub argv: Vec<String>,
    /// Files to save.
    pub files: Vec<DeployFileView>,
    /// Commands to run in order (log-ins read the password from standard input).
    pub commands: Vec<String>,
    /// Every parameter's value.
    #[schema(value_type = Object)]
    pub values: BTreeMap<String, serde_json::Value>,
    /// The parameters whose value was generated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub generated: Vec<String>,
    /// The registry to log in to.
    pub registry: String,
    /// The pull credential's user name (a pull secret issued for this deployment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Its password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// A recorded deployment (without its secrets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeploymentSummaryView {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: String,
    /// The offer version rendered.
    pub version: i64,
    /// The pull secret issued for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_secret: Option<i64>,
    /// Who rendered it.
    pub created_by: String,
    /// When.
    pub created_at: Timestamp,
}

/// A subscription's usage key, issued (or rotated) for the deployed software: shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UsageKeyView {
    /// The subscription.
    pub subscription: i64,
    /// The key: send it as `Authorization: Bearer …` to `/api/v1/entitlement` and
    /// `/api/v1/usage`. Issuing another replaces it.
    pub key: String,
}

/// What the deployed software learns of its subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EntitlementView {
    /// The subscription.
    pub subscription: i64,
    /// Whether it is active (pulling, updating, reporting usage).
    pub active: bool,
    /// The customer organization.
    pub org: String,
    /// The item: `publisher/offer`.
    pub offer: String,
    /// The plan id.
    pub plan: String,
    /// The plan's pricing model.
    pub pricing: String,
    /// The dimensions usage may be reported for.
    pub dimensions: Vec<String>,
    /// When it was cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<Timestamp>,
}

/// One hour of metered usage.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UsageReport {
    /// The subscription the usage is for (must be the key's).
    pub subscription: i64,
    /// A dimension of the plan (`core_hours` for per-core-hour plans).
    pub dimension: String,
    /// A time in the hour used (RFC 3339); the hour it starts counts. At most 24
    /// hours ago, not in the future.
    pub hour: String,
    /// How much: a positive number with at most 3 decimals, at most 1,000,000.
    pub quantity: f64,
}

/// A usage report as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UsageRecordView {
    /// The subscription.
    pub subscription: i64,
    /// The dimension.
    pub dimension: String,
    /// The hour's start.
    pub hour: Timestamp,
    /// The quantity counted (for a duplicate: the first report's).
    pub quantity: f64,
    /// `accepted`, or `duplicate` (the hour was reported before; counted once).
    pub status: String,
}

/// Usage over a month, per subscription and dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MonthUsageView {
    /// The month, `YYYY-MM` (UTC).
    pub month: String,
    /// Each subscription's use of each dimension.
    pub usage: Vec<DimensionUsageView>,
}

/// A subscription's use of one dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DimensionUsageView {
    /// The subscription.
    pub subscription: i64,
    /// The customer organization.
    pub org: String,
    /// The plan.
    pub plan: String,
    /// The dimension.
    pub dimension: String,
    /// The total.
    pub quantity: f64,
    /// Hours reported.
    pub hours: i64,
}
