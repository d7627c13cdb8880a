//! The offer document: what `wharf offer apply` reads from YAML, what the REST API
//! stores as an offer's draft, and (with every tag resolved to a digest) what a
//! submitted version freezes.
//!
//! Every field is optional at this level so that one pass can report every missing
//! field at once ([`crate::rules`]); which fields a submission needs is a rule, not a
//! parse failure. Enumerations are plain strings for the same reason: an unknown
//! value is reported with the allowed ones, beside every other problem.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

fn is_false(b: &bool) -> bool {
    !*b
}

/// An offer: its listing in every locale, media, legal terms, plans and audiences.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OfferSpec {
    /// The offer id: lowercase letters, digits, `-` and `_`, at most 50 characters,
    /// starting with a letter or digit. Fixed once the offer exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The publisher organization that owns the offer (its name). Fixed once the offer exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    /// The locale shown when a customer's language has no listing: a BCP 47 tag
    /// (`en-US`) that must have an entry in `listings`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_locale: Option<String>,
    /// The listing in each locale, keyed by BCP 47 tag.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub listings: BTreeMap<String, Listing>,
    /// Icons, screenshots and videos.
    #[serde(default, skip_serializing_if = "Media::is_empty")]
    pub media: Media,
    /// The terms customers accept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal: Option<Legal>,
    /// The plans (SKUs) customers subscribe to; at least one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plans: Vec<Plan>,
    /// Customer organizations (tenants) that see a version while it is in preview; at most 100.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preview_audience: Vec<String>,
    /// Where leads (new subscriptions) are delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead_destination: Option<LeadDestination>,
    /// Instructions for certification reviewers; never shown to customers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certification_notes: Option<String>,
}

impl OfferSpec {
    /// The document as it is shown: the lead secret replaced by its SHA-256 (hex),
    /// so that a client can tell whether its copy matches without reading it.
    pub fn redacted(mut self) -> OfferSpec {
        if let Some(lead) = &mut self.lead_destination
            && let Some(secret) = lead.secret.take()
        {
            lead.secret_sha256 = Some(secret_sha256(&secret));
        }
        self
    }
}

/// SHA-256 (hex) of an offer's legal terms, as customers accept them: of the
/// contract kind and the terms text, each followed by a newline (`standard` and no
/// text when the offer names none).
pub fn terms_sha256(legal: Option<&Legal>) -> String {
    let contract = legal.and_then(|l| l.contract.as_deref()).unwrap_or("standard");
    let terms = legal.and_then(|l| l.terms.as_deref()).unwrap_or("");
    let text = format!("{contract}\n{terms}\n");
    wharf_oci::Digest::of(wharf_oci::Algorithm::Sha256, text.as_bytes()).hex().to_owned()
}

/// SHA-256 of a lead secret, in hex.
pub fn secret_sha256(secret: &str) -> String {
    wharf_oci::Digest::of(wharf_oci::Algorithm::Sha256, secret.as_bytes()).hex().to_owned()
}

/// The listing in one locale.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Listing {
    /// The offer's name: at most 200 characters; no emoji except ™ and ©.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Shown in search results: one sentence of at most 100 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Plain text, at most 256 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_description: Option<String>,
    /// Markdown, at most 5,000 characters; rendered and sanitized to an allowlist of
    /// elements (no scripts, frames, event handlers or `javascript:`/`data:` links).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Search keywords: at most 10, each at most 50 characters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    /// Categories from the marketplace's taxonomy: 1 to 3.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// Links shown with the listing: at most 10.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub useful_links: Vec<Link>,
    /// The publisher's privacy policy (required): an `https` URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy_policy_url: Option<String>,
    /// Who customers contact for support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support: Option<SupportContact>,
    /// Who the marketplace contacts about the offer; never shown to customers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engineering: Option<EngineeringContact>,
}

/// A titled link.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Link {
    /// At most 64 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// An `https` URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The support contact shown to customers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SupportContact {
    /// Required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// International format, e.g. `+31 20 123 4567`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The support site (required): an `https` URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The engineering contact: for the marketplace only.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EngineeringContact {
    /// Required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// International format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// Icons, screenshots and videos. Images are named by a path relative to the offer
/// file (which `wharf offer apply` uploads) or, once uploaded, by their digest
/// (`sha256:…`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Media {
    /// The four icon sizes, all required.
    #[serde(default, skip_serializing_if = "Icons::is_empty")]
    pub icons: Icons,
    /// 1280×720 PNG or JPEG screenshots, with captions: at most 5.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub screenshots: Vec<Screenshot>,
    /// Video links: at most 4.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub videos: Vec<Video>,
}

impl Media {
    fn is_empty(&self) -> bool {
        self.icons.is_empty() && self.screenshots.is_empty() && self.videos.is_empty()
    }

    /// Every image the document names (icons, then screenshots): a path or a digest.
    pub fn images(&self) -> impl Iterator<Item = &str> {
        let icons = self.icons.slots().into_iter().filter_map(|(_, slot)| slot.map(String::as_str));
        icons.chain(self.screenshots.iter().filter_map(|shot| shot.image.as_deref()))
    }
}

/// Icons, PNG or JPEG, each exactly its size.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Icons {
    /// 48×48.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub small: Option<String>,
    /// 90×90.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medium: Option<String>,
    /// 216×216.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub large: Option<String>,
    /// 255×115.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wide: Option<String>,
}

impl Icons {
    fn is_empty(&self) -> bool {
        self.small.is_none() && self.medium.is_none() && self.large.is_none() && self.wide.is_none()
    }

    /// Each icon slot with its name, set or not.
    pub fn slots(&self) -> [(&'static str, Option<&String>); 4] {
        [
            ("small", self.small.as_ref()),
            ("medium", self.medium.as_ref()),
            ("large", self.large.as_ref()),
            ("wide", self.wide.as_ref()),
        ]
    }

    /// Each icon slot, mutably.
    pub fn slots_mut(&mut self) -> [(&'static str, &mut Option<String>); 4] {
        [("small", &mut self.small), ("medium", &mut self.medium), ("large", &mut self.large), ("wide", &mut self.wide)]
    }
}

/// A screenshot.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Screenshot {
    /// 1280×720, PNG or JPEG.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// At most 100 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
}

/// A video link.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Video {
    /// At most 100 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// An `https` URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The contract customers accept.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Legal {
    /// `standard` (the marketplace's standard contract) or `custom` (the publisher's own terms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<ContractKind>)]
    pub contract: Option<String>,
    /// The publisher's terms, in Markdown (at most 50,000 characters); required for
    /// `custom`, not allowed with `standard`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms: Option<String>,
}

/// Which contract applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContractKind {
    /// The marketplace's standard contract.
    Standard,
    /// The publisher's own terms.
    Custom,
}

/// A plan (SKU).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Plan {
    /// Same rule as the offer id; unique within the offer and fixed after the first submission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// At most 200 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Markdown, at most 2,000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// How customers pay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pricing: Option<Pricing>,
    /// `public` (everyone) or `private` (only the tenants in `audience`). Default `public`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Visibility>)]
    pub visibility: Option<String>,
    /// Customer organizations that see a private plan.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audience: Vec<String>,
    /// The images the plan delivers: repositories of the publisher organization and
    /// their version tags (at most 16 tags per plan).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<PlanImage>,
    /// How customers deploy the plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<Deployment>,
    /// Set by the marketplace when the plan is stop-sold; ignored on input.
    #[serde(default, skip_serializing_if = "is_false")]
    #[schema(read_only)]
    pub stop_sold: bool,
}

/// Whether everyone sees a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Every customer.
    Public,
    /// Only the listed tenants.
    Private,
}

/// A plan's price.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Pricing {
    /// `free`, `byol` (bring your own license), `flat_monthly` or `per_core_hour`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<PricingModel>)]
    pub model: Option<String>,
    /// A decimal amount, e.g. `"49.00"` (at most 4 decimals); required for
    /// `flat_monthly` and `per_core_hour`, not allowed otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
    /// ISO 4217 code, e.g. `USD`; required with a price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Metered dimensions the deployed software reports usage of (paid plans; at
    /// most 10). A `per_core_hour` plan also meters `core_hours`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dimensions: Vec<MeteringDimension>,
}

impl Pricing {
    /// The dimensions usage may be reported for.
    pub fn metered(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        if self.model.as_deref() == Some("per_core_hour") {
            out.push(CORE_HOURS.to_owned());
        }
        out.extend(self.dimensions.iter().filter_map(|d| d.id.clone()));
        out
    }
}

/// The dimension a `per_core_hour` plan meters.
pub const CORE_HOURS: &str = "core_hours";

/// A metered dimension of a plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MeteringDimension {
    /// The plan-id rule; unique within the plan, not `core_hours`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What customers read: at most 100 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The unit counted, e.g. `GB` or `requests`: at most 32 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The price per unit (a decimal, in the plan's currency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
}

/// How a plan is paid for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PricingModel {
    /// No charge.
    Free,
    /// Bring your own license.
    Byol,
    /// A fixed price per month.
    FlatMonthly,
    /// A price per core and hour.
    PerCoreHour,
}

/// A repository of the publisher organization and the tags a plan delivers from it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlanImage {
    /// `<publisher>/<name>`: a repository of the offer's publisher organization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Version tags, `X.Y.Z` with an optional `-suffix`; a tag new in a version must
    /// be greater than every tag of earlier versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Filled in by Submit: each tag's digest at that moment; ignored on input.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(read_only)]
    pub digests: BTreeMap<String, String>,
}

/// A deployment template and the form of its parameters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Deployment {
    /// `kubernetes` (manifests), `compose` (a Compose file), `container` (a single
    /// container host command) or `helm` (a chart stored in the registry; the template
    /// is its values file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<DeploymentKind>)]
    pub kind: Option<String>,
    /// The template text. `${name}` is replaced by parameter `name`, `${image:REPO}`
    /// by the image of repository REPO pinned by digest (`$${` is a literal `${`). YAML
    /// templates are rendered structurally: a placeholder that is a whole scalar takes
    /// the parameter's type; values never add YAML structure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// `helm`: the repository of the plan's images that holds the chart (an OCI
    /// artifact pushed by `helm push`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<String>,
    /// The parameters customers fill in: at most 50.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<Parameter>,
    /// Instead of `parameters`: an Azure `createUiDefinition.json` whose outputs name
    /// the template's parameters (see docs/offers.md for the elements rendered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub ui_definition: Option<serde_json::Value>,
}

/// What a deployment template is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentKind {
    /// Kubernetes manifests (YAML, one or more documents).
    Kubernetes,
    /// A Compose file.
    Compose,
    /// One command for a single container host.
    Container,
    /// A Helm chart from the registry, with a values file.
    Helm,
}

/// One field of the deployment form.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Parameter {
    /// Lowercase letters, digits and `_`, starting with a letter; unique within the plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The form label: at most 100 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Help text: at most 500 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `string`, `integer`, `boolean`, `choice` or `secret`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<ParameterType>)]
    pub kind: Option<String>,
    /// The value used when the customer gives none; must itself be valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
    /// Whether the customer must give a value (or a default applies).
    #[serde(default, skip_serializing_if = "is_false")]
    pub required: bool,
    /// `integer`: the smallest value allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    /// `integer`: the largest value allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    /// `string`: a regular expression the whole value must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// `string` and `secret`: more regular expressions the whole value must match,
    /// each with the message shown when it does not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validations: Vec<ParameterValidation>,
    /// `choice`: the allowed values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    /// `secret`: generate a random value of this many characters when the customer gives none (16 to 128).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_length: Option<u32>,
}

/// A rule a text parameter's value must keep.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ParameterValidation {
    /// A regular expression the whole value must match.
    pub pattern: String,
    /// Shown when it does not (at most 200 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The type of a deployment parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ParameterType {
    /// Text.
    String,
    /// A whole number.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// One of `choices`.
    Choice,
    /// Text that is never shown again; can be generated.
    Secret,
}

/// Where leads are delivered: an HTTPS webhook signed with a shared secret.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LeadDestination {
    /// An `https` URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The HMAC secret: 16 to 256 characters. Write-only: the API answers with
    /// `secret_sha256` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// SHA-256 of the secret (hex), so a client can tell whether its copy matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub secret_sha256: Option<String>,
}
