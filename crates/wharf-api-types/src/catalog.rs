//! The catalog customers browse: search results with facet counts, and one listing
//! with its plans, images and security view.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use wharf_core::{CatalogFacet, Timestamp};

/// Search parameters. Facet filters take one value or several separated by commas
/// (any of them); filters of different facets all apply.
#[derive(Debug, Default, Clone, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CatalogQuery {
    /// Words to find in names, summaries, descriptions, keywords and publishers (all
    /// of them; the last also as the start of a word). At most 256 characters; any
    /// punctuation separates words and is not query syntax.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// Category ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Publisher organization names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    /// Pricing models: `free`, `byol`, `flat_monthly`, `per_core_hour`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pricing: Option<String>,
    /// CPU architectures, e.g. `amd64`, `arm64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    /// Deployment kinds: `kubernetes`, `compose`, `container`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    /// Health grades, `A` to `F`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<String>,
    /// `relevance` (the default with `q`), `name` (the default without) or `newest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
    /// Results per page, 1 to the configured maximum (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page (of the same search).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// A page of search results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CatalogResults {
    /// The results, best first in the chosen order.
    pub items: Vec<CatalogItemView>,
    /// Results in all (every page).
    pub total: u64,
    /// Per facet, its values among the results and how many results have each. A
    /// facet the search filters by is counted without its own filter: each value says
    /// how many results choosing it (as well) gives.
    pub facets: Vec<FacetView>,
    /// Cursor of the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// One facet's values with their counts, most frequent first: the
/// [`FACET_VALUES`] most frequent, and every value the search filters by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FacetView {
    /// Which facet.
    pub facet: CatalogFacet,
    /// Its values.
    pub values: Vec<FacetValueView>,
    /// How many other values have results (not listed).
    #[serde(default)]
    pub more: u64,
}

/// How many values of a facet a search lists at most (besides those it filters by).
pub const FACET_VALUES: usize = 50;

/// A facet value and how many results have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FacetValueView {
    /// The value (filter by it as is).
    pub value: String,
    /// Results with it.
    pub count: u64,
}

/// One search result: enough to choose from a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CatalogItemView {
    /// The publisher organization (`GET /catalog/{publisher}/{offer}`).
    pub publisher: String,
    /// Its display name.
    pub publisher_name: String,
    /// The offer id.
    pub offer: String,
    /// The locale of the texts below (negotiated from `Accept-Language`).
    pub locale: String,
    /// The offer's name.
    pub name: String,
    /// Its summary.
    pub summary: String,
    /// Category ids.
    pub categories: Vec<String>,
    /// The pricing models of its plans.
    pub pricing: Vec<String>,
    /// The CPU architectures of its images.
    pub architectures: Vec<String>,
    /// The deployment kinds of its plans.
    pub deployment: Vec<String>,
    /// The live version's health grade, `A` (best) to `F`.
    pub grade: Option<String>,
    /// The live version.
    pub version: i64,
    /// When it went live.
    pub live_at: Timestamp,
    /// Stop-sold: shown only to its subscribers, its publisher and operators.
    pub stop_sold: bool,
}

/// One listing, in the negotiated locale (`Content-Language` names it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CatalogListingView {
    /// The publisher organization.
    pub publisher: String,
    /// Its display name.
    pub publisher_name: String,
    /// The offer id.
    pub offer: String,
    /// The locale of the texts.
    pub locale: String,
    /// Every locale the listing has.
    pub locales: Vec<String>,
    /// The name.
    pub name: String,
    /// The summary.
    pub summary: String,
    /// The short description, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_description: Option<String>,
    /// The description as the publisher wrote it (Markdown).
    pub description: String,
    /// The description rendered to HTML and sanitized.
    pub description_html: String,
    /// Keywords.
    pub keywords: Vec<String>,
    /// Category ids.
    pub categories: Vec<String>,
    /// Links the publisher lists.
    pub links: Vec<LinkView>,
    /// Icons, screenshots and videos.
    pub media: ListingMediaView,
    /// The privacy policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy_policy_url: Option<String>,
    /// Where customers get support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support: Option<SupportView>,
    /// `standard` (the marketplace's contract) or `custom` (the publisher's terms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<String>,
    /// The publisher's terms (Markdown), for `custom`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms: Option<String>,
    /// SHA-256 of the contract and terms: what a subscription accepts (send it back
    /// as `terms_sha256` to refuse a subscription if they changed meanwhile).
    pub terms_sha256: String,
    /// The plans the reader may see.
    pub plans: Vec<CatalogPlanView>,
    /// What is known of its security.
    pub security: SecurityView,
    /// The versions released, newest first.
    pub versions: Vec<ReleasedVersionView>,
    /// The live version.
    pub version: i64,
    /// When it went live.
    pub live_at: Timestamp,
    /// When the offer was first listed.
    pub listed_at: Timestamp,
    /// Stop-sold: no new subscriptions.
    pub stop_sold: bool,
}

/// A listing's images (each served at its `url`) and videos.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ListingMediaView {
    /// Icon URLs by size: `small` (48×48), `medium` (90×90), `large` (216×216), `wide` (255×115).
    pub icons: std::collections::BTreeMap<String, String>,
    /// Screenshots, in order.
    pub screenshots: Vec<ScreenshotView>,
    /// Videos (links to where they are hosted).
    pub videos: Vec<LinkView>,
}

/// A screenshot of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ScreenshotView {
    /// Where the image is.
    pub url: String,
    /// Its caption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
}

/// A link of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LinkView {
    /// Its title.
    pub title: String,
    /// Where it goes.
    pub url: String,
}

/// Where customers get support.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SupportView {
    /// A name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// An e-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// A phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// A web page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A plan of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CatalogPlanView {
    /// The plan id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its description (Markdown).
    pub description: String,
    /// `free`, `byol`, `flat_monthly` or `per_core_hour`.
    pub pricing: String,
    /// The price (a decimal), for priced models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<String>,
    /// Its currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// `public`, or `private` (for named customer organizations).
    pub visibility: String,
    /// `kubernetes`, `compose` or `container`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    /// Stop-sold: existing subscriptions only.
    pub stop_sold: bool,
    /// Its images as the marketplace serves them.
    pub images: Vec<CatalogImageView>,
}

/// An image of a plan, promoted, signed and pinned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CatalogImageView {
    /// The marketplace repository.
    pub repository: String,
    /// The tag.
    pub tag: String,
    /// `host/repository:tag`.
    pub reference: String,
    /// `host/repository@digest`: what deployments use.
    pub pinned_reference: String,
    /// The manifest (or index) digest.
    pub digest: String,
    /// The platforms certified, `os/architecture[/variant]`.
    pub platforms: Vec<String>,
}

/// A listing's security view: the live version's health, its SBOMs and how to verify
/// its signatures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SecurityView {
    /// `A` (best) to `F`, from continuous certification; absent before the first grading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<String>,
    /// What decided the grade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When it was last evaluated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graded_at: Option<Timestamp>,
    /// Vulnerability findings by severity.
    pub findings: std::collections::BTreeMap<String, usize>,
    /// A vulnerability breaks the marketplace's policy: the publisher must ship a fix
    /// by `fix_due`.
    pub breaks_policy: bool,
    /// The deadline for a fixed version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix_due: Option<Timestamp>,
    /// The SBOMs (CycloneDX 1.5), one per image and platform.
    pub sboms: Vec<CatalogSbomView>,
    /// How to verify the images' signatures.
    pub signature: SignatureView,
}

/// One SBOM of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CatalogSbomView {
    /// The image digest.
    pub image: String,
    /// `os/architecture[/variant]`.
    pub platform: String,
    /// Its digest.
    pub digest: String,
    /// Its size in bytes.
    pub size: u64,
    /// Where to download it.
    pub url: String,
}

/// How the marketplace signs images and how to check it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SignatureView {
    /// The format: `cosign` (a `sha256-<digest>.sig` tag beside each image, ECDSA P-256).
    pub format: String,
    /// Where the marketplace's public key is (PEM).
    pub key_url: String,
    /// A command that verifies the first image, with cosign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<String>,
}

/// A version that went live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReleasedVersionView {
    /// The version.
    pub version: i64,
    /// `live` or `superseded`.
    pub status: String,
    /// When it was submitted.
    pub submitted_at: Timestamp,
}
