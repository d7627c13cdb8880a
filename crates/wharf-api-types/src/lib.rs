//! The REST API's bodies, in one place: what `wharf-api` serializes, what
//! `wharf-client` and the CLI deserialize, and what the OpenAPI document describes.
//!
//! Plain data (serde + utoipa), no behaviour and no I/O, so a client needs neither the
//! server nor its database to speak the API. Requests reject unknown fields, so a
//! client cannot set what it should not (no mass assignment); text fields arrive as
//! strings and are checked by the server one by one, so every invalid field is reported
//! at once. The server builds views from its rows.

mod advisories;
mod catalog;
mod offers;
mod orgs;
mod page;
mod problem;
mod subscriptions;
mod tokens;
mod users;
mod webhooks;

pub use advisories::{AdvisoryImportView, AdvisorySnapshotView, RejectedFile};
pub use catalog::{
    CatalogImageView, CatalogItemView, CatalogListingView, CatalogPlanView, CatalogQuery, CatalogResults,
    CatalogSbomView, FACET_VALUES, FacetValueView, FacetView, LinkView, ListingMediaView, ReleasedVersionView,
    ScreenshotView, SecurityView, SignatureView, SupportView,
};
pub use offers::{
    CompareQuery, Comparison, EventView, GoLiveRequest, HealthView, MediaView, OfferView, ProgressEvent,
    PromotedImageView, SaveResult, SbomView, StepView, SubmitResult, VersionSummary, VersionView,
};
pub use orgs::{ApprovalView, CreateOrgRequest, MemberView, OrgView, SetMemberRequest, UpdateOrgRequest};
pub use page::{Page, PageQuery};
pub use problem::{FieldError, PROBLEM_JSON, Problem};
pub use subscriptions::{
    AcceptedTermsView, AccessOfferSpec, AccessOfferView, AccessPlanSpec, AccessSubscribeRequest,
    AccessSubscriptionView, AccessUsageView, CreatePullSecretRequest, CreatedPullSecretView, DeployFileView,
    DeployRequest, DeploymentSummaryView, DeploymentView, DimensionUsageView, EntitlementView, MonthUsageView,
    OpensSpec, PullSecretView, QuotaView, SubscribeRequest, SubscriptionView, UsageKeyView, UsageRecordView,
    UsageReport, UsageView,
};
pub use tokens::{CreateTokenRequest, CreatedTokenView, TokenState, TokenView};
pub use users::{CreateUserRequest, CredentialKind, CurrentUserView, UpdateUserRequest, UserView};
pub use webhooks::{AttemptView, CreateWebhookRequest, CreatedWebhookView, DeliveryView, WebhookView};

/// Distinguishes an absent field (`None`) from an explicit null (`Some(None)`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}
