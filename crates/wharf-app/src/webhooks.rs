//! Publishers' webhooks: subscriptions to event types, and messages delivered by
//! durable jobs.
//!
//! A message is queued once per (webhook, event, version): its id is derived from
//! them, so a pipeline job that runs again after a crash queues nothing twice. Each
//! message is a [`DeliverWebhook`] job, signed per Standard Webhooks (`webhook-id`,
//! `webhook-timestamp`, `webhook-signature`), sent only to addresses the destination
//! policy allows (checked when the webhook is saved and again on the resolved
//! addresses at every attempt), never following redirects, and retried with the job
//! backoff (doubling from 30 s) for hours. Every attempt is logged.

use std::collections::HashMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::json;
use wharf_api_types::{AttemptView, CreateWebhookRequest, CreatedWebhookView, DeliveryView, WebhookView};
use wharf_core::{OrgAction, OrgId, Timestamp, TokenScope, WebhookEvent};
use wharf_db::webhooks::{DeliveryLog, WebhookRow};
use wharf_webhook::{Connection, DeliveryError, Destination, DestinationPolicy, Resolver, Secret, SystemResolver};

use crate::config::WebhookConfig;
use crate::{Actor, App, AppError};

/// Attempts per message before it is given up.
pub const MAX_ATTEMPTS: u32 = 10;
/// Messages listed per webhook.
const DELIVERIES_LISTED: u32 = 100;

/// How deliveries reach their destinations.
#[derive(Debug, Default)]
pub(crate) struct Settings {
    pub(crate) policy: DestinationPolicy,
    connection: Connection,
    resolver: Lookup,
}

impl Settings {
    pub(crate) fn from_config(config: &WebhookConfig) -> Result<Settings, AppError> {
        let mut allowed = Vec::new();
        for range in &config.allow {
            let net = range
                .parse::<ipnet::IpNet>()
                .or_else(|_| range.parse::<IpAddr>().map(ipnet::IpNet::from))
                .map_err(|e| AppError::field("/webhooks/allow", format!("{range:?} is not an address range: {e}")))?;
            allowed.push(net);
        }
        let mut fixed = HashMap::new();
        for (host, addresses) in &config.resolve {
            let parsed: Result<Vec<IpAddr>, _> = addresses.iter().map(|a| a.parse::<IpAddr>()).collect();
            let parsed =
                parsed.map_err(|e| AppError::field("/webhooks/resolve", format!("{host}: {addresses:?}: {e}")))?;
            fixed.insert(host.to_ascii_lowercase(), parsed);
        }
        let roots = if config.ca_file.is_empty() {
            Vec::new()
        } else {
            let pem = std::fs::read(&config.ca_file).map_err(|e| {
                AppError::field("/webhooks/ca_file", format!("{:?} cannot be read: {e}", config.ca_file))
            })?;
            let roots = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| AppError::field("/webhooks/ca_file", format!("{:?}: {e}", config.ca_file)))?;
            if roots.is_empty() {
                return Err(AppError::field("/webhooks/ca_file", format!("{:?} holds no certificate", config.ca_file)));
            }
            roots
        };
        Ok(Settings {
            policy: DestinationPolicy::new(allowed),
            connection: Connection { timeout: config.timeout.0, roots },
            resolver: Lookup { fixed },
        })
    }
}

/// DNS, with the operator's fixed addresses first.
#[derive(Debug, Default)]
struct Lookup {
    fixed: HashMap<String, Vec<IpAddr>>,
}

impl Resolver for Lookup {
    async fn lookup(&self, host: &str, port: u16) -> std::io::Result<Vec<IpAddr>> {
        match self.fixed.get(&host.to_ascii_lowercase()) {
            Some(addresses) => Ok(addresses.clone()),
            None => SystemResolver.lookup(host, port).await,
        }
    }
}

/// Delivers one queued message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliverWebhook {
    /// The message id.
    pub delivery: String,
    /// The organization whose webhook it is: whom the job serves, for fair scheduling.
    pub org: String,
}

impl wharf_jobs::Job for DeliverWebhook {
    const KIND: &'static str = "webhooks.deliver";
    const MAX_ATTEMPTS: u32 = MAX_ATTEMPTS;
    type Context = App;

    fn fair_key(&self) -> String {
        self.org.clone()
    }

    async fn run(&self, app: &App) -> anyhow::Result<()> {
        app.deliver_webhook(&self.delivery).await.map_err(|e| anyhow::anyhow!("{e}"))
    }
}

fn view(w: &WebhookRow) -> WebhookView {
    WebhookView {
        id: w.id,
        url: w.url.clone(),
        events: w.events.clone(),
        description: w.description.clone(),
        created_by: w.created_by.clone(),
        created_at: w.created_at,
    }
}

impl App {
    /// Creates a webhook for an organization (its admins): the URL is checked now
    /// (an address written in it must be one webhooks may reach), the event types must
    /// exist. The secret is returned this once.
    pub async fn create_webhook(
        &self,
        actor: &Actor,
        org: &str,
        request: CreateWebhookRequest,
    ) -> Result<CreatedWebhookView, AppError> {
        actor.require(TokenScope::ApiWrite)?;
        let (org, _) = self.org_for(actor, org, OrgAction::Update).await?;
        let mut problems = Vec::new();
        match request.url.parse::<Destination>() {
            Ok(d) => {
                if let Err(e) = self.webhooks.policy.check(&d) {
                    problems.push(wharf_api_types::FieldError::new("/url", e));
                }
            }
            Err(e) => problems.push(wharf_api_types::FieldError::new("/url", e)),
        }
        if request.events.is_empty() {
            problems.push(wharf_api_types::FieldError::new("/events", "name at least one event type"));
        }
        for (i, e) in request.events.iter().enumerate() {
            if let Err(why) = e.parse::<WebhookEvent>() {
                problems.push(wharf_api_types::FieldError::new(&format!("/events/{i}"), why));
            }
        }
        if request.description.as_deref().is_some_and(|d| d.chars().count() > 200) {
            problems.push(wharf_api_types::FieldError::new("/description", "at most 200 characters"));
        }
        if !problems.is_empty() {
            return Err(AppError::Invalid(problems));
        }
        let secret = Secret::generate().map_err(|e| AppError::Internal(e.to_string()))?.expose();
        let mut events = request.events.clone();
        events.sort();
        events.dedup();
        let row = self
            .db
            .create_webhook(org.id, request.url.trim(), &events, &secret, request.description.as_deref(), &actor.name())
            .await?;
        tracing::info!(org.name = %org.name, webhook = row.id, by = %actor.name(), "webhook created");
        Ok(CreatedWebhookView { webhook: view(&row), secret })
    }

    /// An organization's webhooks (its admins).
    pub async fn webhooks(&self, actor: &Actor, org: &str) -> Result<Vec<WebhookView>, AppError> {
        actor.require(TokenScope::ApiRead)?;
        let (org, _) = self.org_for(actor, org, OrgAction::Update).await?;
        Ok(self.db.webhooks(org.id).await?.iter().map(view).collect())
    }

    /// Deletes a webhook (its admins); its queued messages go with it.
    pub async fn delete_webhook(&self, actor: &Actor, org: &str, id: i64) -> Result<(), AppError> {
        actor.require(TokenScope::ApiWrite)?;
        let (org, _) = self.org_for(actor, org, OrgAction::Update).await?;
        if !self.db.delete_webhook(org.id, id).await? {
            return Err(AppError::NotFound(format!("organization {} has no webhook {id}", org.name)));
        }
        Ok(())
    }

    /// A webhook's newest messages with every attempt: the delivery log.
    pub async fn webhook_deliveries(&self, actor: &Actor, org: &str, id: i64) -> Result<Vec<DeliveryView>, AppError> {
        actor.require(TokenScope::ApiRead)?;
        let (org, _) = self.org_for(actor, org, OrgAction::Update).await?;
        let hook = self.db.webhook(id).await?.filter(|w| w.org_id == org.id);
        let Some(hook) = hook else {
            return Err(AppError::NotFound(format!("organization {} has no webhook {id}", org.name)));
        };
        let mut out = Vec::new();
        for d in self.db.deliveries(hook.id, DELIVERIES_LISTED).await? {
            let attempts = self.attempts(DeliveryLog::Webhooks, &d.id).await?;
            out.push(DeliveryView {
                payload: serde_json::from_str(&d.payload).unwrap_or(serde_json::Value::Null),
                id: d.id,
                event: d.event,
                state: d.state,
                created_at: d.created_at,
                finished_at: d.finished_at,
                attempts,
            });
        }
        Ok(out)
    }

    /// Queues `event` for the organization's webhooks that receive it, once per `key`
    /// (what the event is about, e.g. `offer 3 version 2`): queuing it again (a job
    /// run twice) changes nothing.
    pub(crate) async fn emit(
        &self,
        org: OrgId,
        org_name: &str,
        event: WebhookEvent,
        key: &str,
        data: serde_json::Value,
    ) -> Result<(), AppError> {
        let hooks = self.db.webhooks(org).await?;
        for hook in hooks.iter().filter(|h| h.events.iter().any(|e| e == event.as_str())) {
            let id = format!("msg_{}_{}_{}", hook.id, event.as_str().replace('.', "_"), key.replace(' ', "_"));
            let payload = json!({"type": event.as_str(), "timestamp": Timestamp::now().to_string(), "data": data});
            self.db.queue_delivery(&id, hook.id, event.as_str(), &payload.to_string()).await?;
            let job = DeliverWebhook { delivery: id.clone(), org: org_name.to_owned() };
            wharf_jobs::enqueue(&self.db, &job, Some(&id))
                .await
                .map_err(|e| AppError::Unavailable(format!("{e:#}")))?;
        }
        Ok(())
    }

    /// One attempt at a queued message (see the module). `Err` asks the job to retry.
    pub(crate) async fn deliver_webhook(&self, id: &str) -> Result<(), AppError> {
        let Some(d) = self.db.delivery(id).await? else { return Ok(()) };
        if d.state != "pending" {
            return Ok(());
        }
        let Some(hook) = self.db.webhook(d.webhook_id).await? else { return Ok(()) };
        let secret = hook
            .secret
            .parse::<Secret>()
            .map_err(|e| AppError::Internal(format!("webhook {}: stored secret: {e}", hook.id)))?;
        self.attempt(DeliveryLog::Webhooks, &d.id, d.attempts, &hook.url, &secret, &d.payload).await
    }

    /// One attempt at a message of `log` to `url`, signed with `secret`, recorded in
    /// the log. `Err` asks the job to retry; a destination the policy refuses is
    /// refused for good.
    pub(crate) async fn attempt(
        &self,
        log: DeliveryLog,
        id: &str,
        attempts: u32,
        url: &str,
        secret: &Secret,
        payload: &str,
    ) -> Result<(), AppError> {
        let last = attempts + 1 >= MAX_ATTEMPTS;
        let settings = &self.webhooks;
        let outcome = match url.parse::<Destination>() {
            Ok(destination) => {
                wharf_webhook::deliver(
                    &settings.policy,
                    &settings.resolver,
                    &destination,
                    secret,
                    id,
                    payload.as_bytes(),
                    &settings.connection,
                )
                .await
            }
            Err(e) => Err(DeliveryError::Destination(e)),
        };
        let (status, error, ms, state) = match &outcome {
            Ok(r) if r.accepted() => (Some(r.status), None, r.duration.as_millis(), "delivered"),
            Ok(r) => (
                Some(r.status),
                Some(format!("the endpoint answered {} (2xx expected; redirects are not followed)", r.status)),
                r.duration.as_millis(),
                if last { "failed" } else { "pending" },
            ),
            // A destination the policy refuses stays refused: no retry.
            Err(DeliveryError::Destination(e)) => (None, Some(e.to_string()), 0, "failed"),
            Err(e) => (None, Some(e.to_string()), 0, if last { "failed" } else { "pending" }),
        };
        let ms = u64::try_from(ms).unwrap_or(u64::MAX);
        let attempt = self.db.record_attempt(log, id, status, error.as_deref(), ms, state).await?;
        let kind = if log == DeliveryLog::Leads { "lead" } else { "webhook" };
        metrics::counter!("wharf_webhook_attempts_total", "result" => state, "kind" => kind).increment(1);
        tracing::info!(kind, delivery = %id, attempt, state, status, error, "delivery attempt");
        match state {
            "pending" => Err(AppError::Unavailable(error.unwrap_or_default())),
            _ => Ok(()),
        }
    }

    /// A message's attempts, as the API shows them.
    pub(crate) async fn attempts(&self, log: DeliveryLog, id: &str) -> Result<Vec<AttemptView>, AppError> {
        Ok(self
            .db
            .delivery_attempts(log, id)
            .await?
            .into_iter()
            .map(|a| AttemptView {
                attempt: a.attempt,
                at: a.at,
                status: a.status,
                error: a.error,
                duration_ms: a.duration_ms,
            })
            .collect())
    }
}
