//! Leads: what a publisher learns of each subscription to its offers (subscribed,
//! cancelled) and a test lead when a version goes live, delivered to the lead
//! destination of the offer's live version through the webhook delivery: signed per
//! Standard Webhooks (the destination's secret as the key), the same address checks
//! (at save and on the resolved addresses at every attempt), retries with the job
//! backoff, and every attempt logged. A lead's id names what it reports, so it is
//! queued once whatever retries. The customer's contact details go with it only when
//! the customer agreed to share them.
//!
//! Every lead is also kept for the publisher to list (`GET /api/v1/orgs/{org}/leads`),
//! whether or not the offer names a destination.

use serde::{Deserialize, Serialize};
use serde_json::json;
use wharf_api_types::DeliveryView;
use wharf_core::{OfferKey, OrgAction, OrgId, Timestamp, TokenScope};
use wharf_db::webhooks::{DeliveryLog, NewLead};
use wharf_webhook::Secret;

use crate::{Actor, App, AppError};

/// Leads listed per publisher.
const LEADS_LISTED: u32 = 200;

/// Delivers one queued lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliverLead {
    /// The lead's id.
    pub lead: String,
    /// The publisher organization's name: whom the job serves, for fair scheduling.
    pub publisher: String,
}

impl wharf_jobs::Job for DeliverLead {
    const KIND: &'static str = "leads.deliver";
    const MAX_ATTEMPTS: u32 = crate::webhooks::MAX_ATTEMPTS;
    type Context = App;

    fn fair_key(&self) -> String {
        self.publisher.clone()
    }

    async fn run(&self, app: &App) -> anyhow::Result<()> {
        app.deliver_lead(&self.lead).await.map_err(|e| anyhow::anyhow!("{e}"))
    }
}

/// What a lead reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LeadAction {
    Subscribed,
    Cancelled,
    Test,
}

impl LeadAction {
    fn as_str(self) -> &'static str {
        match self {
            LeadAction::Subscribed => "subscribed",
            LeadAction::Cancelled => "cancelled",
            LeadAction::Test => "test",
        }
    }
}

/// The customer side of a lead.
#[derive(Debug, Clone)]
pub(crate) struct LeadCustomer {
    pub org: String,
    pub org_display_name: Option<String>,
    pub subscription: i64,
    pub plan: String,
    /// The accepting user's name and e-mail, when the customer agreed to share them.
    pub contact: Option<(String, Option<String>)>,
}

impl App {
    /// Queues a lead about `offer`'s `version` (and its delivery job): once per
    /// (subscription or version, action).
    pub(crate) async fn queue_lead(
        &self,
        offer: OfferKey,
        version: i64,
        action: LeadAction,
        customer: Option<&LeadCustomer>,
    ) -> Result<(), AppError> {
        let Some(row) = self.db.offer_by_key(offer).await? else { return Ok(()) };
        let Some(publisher) = self.db.org_by_id(row.org_id).await? else { return Ok(()) };
        let id = match customer {
            Some(c) => format!("lead_sub{}_{}", c.subscription, action.as_str()),
            None => format!("lead_{offer}_{version}_{}", action.as_str()),
        };
        let customer_json = customer.map(|c| {
            json!({
                "organization": c.org,
                "display_name": c.org_display_name,
                "subscription": c.subscription,
                "contact": c.contact.as_ref().map(|(name, email)| json!({"name": name, "email": email})),
            })
        });
        let payload = json!({
            "type": format!("lead.{}", action.as_str()),
            "timestamp": Timestamp::now().to_string(),
            "data": {
                "lead": id,
                "action": action.as_str(),
                "test": action == LeadAction::Test,
                "publisher": publisher.name.as_str(),
                "offer": row.offer_id.as_str(),
                "version": version,
                "plan": customer.map(|c| c.plan.clone()),
                "customer": customer_json,
            },
        });
        let new = NewLead {
            id: &id,
            publisher_id: publisher.id,
            offer,
            version,
            action: action.as_str(),
            payload: &payload.to_string(),
        };
        if self.db.queue_lead(new).await? {
            let job = DeliverLead { lead: id.clone(), publisher: publisher.name.to_string() };
            wharf_jobs::enqueue(&self.db, &job, Some(&id))
                .await
                .map_err(|e| AppError::Unavailable(format!("{e:#}")))?;
            tracing::info!(lead = %id, publisher = %publisher.name, "lead queued");
        }
        Ok(())
    }

    /// One attempt at a queued lead. A version without a lead destination has
    /// nowhere to send it: the lead is kept (the publisher lists it) and recorded as
    /// failed with that reason.
    pub(crate) async fn deliver_lead(&self, id: &str) -> Result<(), AppError> {
        let Some(lead) = self.db.lead(id).await? else { return Ok(()) };
        if lead.state != "pending" {
            return Ok(());
        }
        let Some(version) = self.db.offer_version(lead.offer, lead.version).await? else { return Ok(()) };
        let spec: wharf_offer::spec::OfferSpec = serde_json::from_str(&version.document)
            .map_err(|e| AppError::Internal(format!("stored version does not parse: {e}")))?;
        let destination = spec.lead_destination.as_ref().and_then(|d| Some((d.url.clone()?, d.secret.clone()?)));
        let Some((url, secret)) = destination else {
            let why = "the offer's version names no lead destination (lead_destination)";
            self.db.record_attempt(DeliveryLog::Leads, &lead.id, None, Some(why), 0, "failed").await?;
            return Ok(());
        };
        let secret = Secret::from_text(&secret).map_err(|e| AppError::Internal(format!("lead secret: {e}")))?;
        self.attempt(DeliveryLog::Leads, &lead.id, lead.attempts, &url, &secret, &lead.payload).await
    }

    /// A publisher's leads, newest first, with every delivery attempt (members who
    /// may read its offers).
    pub async fn leads(&self, actor: &Actor, org: &str) -> Result<Vec<DeliveryView>, AppError> {
        actor.require(TokenScope::ApiRead)?;
        let (org, _) = self.org_for(actor, org, OrgAction::ReadOffers).await?;
        self.lead_views(org.id).await
    }

    async fn lead_views(&self, publisher: OrgId) -> Result<Vec<DeliveryView>, AppError> {
        let mut out = Vec::new();
        for lead in self.db.leads(publisher, LEADS_LISTED).await? {
            out.push(DeliveryView {
                attempts: self.attempts(DeliveryLog::Leads, &lead.id).await?,
                payload: serde_json::from_str(&lead.payload).unwrap_or(serde_json::Value::Null),
                event: format!("lead.{}", lead.action),
                id: lead.id,
                state: lead.state,
                created_at: lead.created_at,
                finished_at: lead.finished_at,
            });
        }
        Ok(out)
    }
}
