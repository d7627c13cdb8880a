//! `/api/v1/orgs/{org}/webhooks`: publishers' webhooks and their delivery log.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wharf_core::Timestamp;

/// `POST /api/v1/orgs/{org}/webhooks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookRequest {
    /// Where messages go (`https://…`; `http://` is accepted). Addresses that are not
    /// public (loopback, private, link-local, cloud metadata, …) are refused unless the
    /// operator allows them.
    pub url: String,
    /// Event types: `version.certified`, `version.attention_needed`, `version.preview`,
    /// `version.live`, `version.regraded`.
    pub events: Vec<String>,
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
}

/// A webhook (its secret is shown once, at creation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WebhookView {
    /// Its id.
    pub id: i64,
    /// Where messages go.
    pub url: String,
    /// The event types it receives.
    pub events: Vec<String>,
    /// What it is for.
    pub description: Option<String>,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: Timestamp,
}

/// A webhook just created, with its signing secret: shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreatedWebhookView {
    /// The webhook.
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// The Standard Webhooks signing secret (`whsec_…`): each message carries
    /// `webhook-signature: v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">`.
    pub secret: String,
}

/// One attempt to deliver a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AttemptView {
    /// 1, 2, …
    pub attempt: u32,
    /// When.
    pub at: Timestamp,
    /// The HTTP status the endpoint answered, if it answered.
    pub status: Option<u16>,
    /// Why it did not take the message.
    pub error: Option<String>,
    /// How long the attempt took.
    pub duration_ms: u64,
}

/// A message for a webhook, with every attempt to deliver it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryView {
    /// The message id (`webhook-id` of every attempt).
    pub id: String,
    /// Its event type.
    pub event: String,
    /// `pending` (retried with backoff, over hours), `delivered` or `failed`.
    pub state: String,
    /// When it was queued.
    pub created_at: Timestamp,
    /// When it was delivered or given up.
    pub finished_at: Option<Timestamp>,
    /// The body sent.
    pub payload: serde_json::Value,
    /// Every attempt, first first.
    pub attempts: Vec<AttemptView>,
}
