//! Webhooks: subscriptions of an organization to event types, the messages queued for
//! them, and every delivery attempt.

use sqlx::any::AnyRow;
use wharf_core::{OrgId, Timestamp};

use crate::pool::col;
use crate::{Db, DbError};

/// A webhook subscription.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookRow {
    /// Its id.
    pub id: i64,
    /// The organization it belongs to.
    pub org_id: OrgId,
    /// Where messages go.
    pub url: String,
    /// The event types it receives.
    pub events: Vec<String>,
    /// The signing secret (`whsec_…`).
    pub secret: String,
    /// What it is for.
    pub description: Option<String>,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: Timestamp,
}

impl std::fmt::Debug for WebhookRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookRow")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("events", &self.events)
            .field("secret", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// A message for a webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    /// Its id: the `webhook-id` header of every attempt.
    pub id: String,
    /// The webhook.
    pub webhook_id: i64,
    /// The event type.
    pub event: String,
    /// The body (JSON).
    pub payload: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Attempts so far.
    pub attempts: u32,
    /// When it was queued.
    pub created_at: Timestamp,
    /// When it was delivered or given up.
    pub finished_at: Option<Timestamp>,
}

/// One attempt to deliver a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRow {
    /// 1, 2, …
    pub attempt: u32,
    /// When.
    pub at: Timestamp,
    /// The HTTP status answered, if any.
    pub status: Option<u16>,
    /// Why there was no (good) answer.
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: u64,
}

/// Which log a delivery belongs to: a webhook's messages or a publisher's leads. Both
/// keep messages with the same columns and every attempt in a table of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryLog {
    /// `webhook_deliveries` and `webhook_attempts`.
    Webhooks,
    /// `leads` and `lead_attempts`.
    Leads,
}

impl DeliveryLog {
    fn tables(self) -> (&'static str, &'static str) {
        match self {
            DeliveryLog::Webhooks => ("webhook_deliveries", "webhook_attempts"),
            DeliveryLog::Leads => ("leads", "lead_attempts"),
        }
    }
}

/// A lead: what a publisher learns of a subscription (or a test lead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadRow {
    /// Its id: the `webhook-id` of every attempt.
    pub id: String,
    /// The publisher organization.
    pub publisher_id: OrgId,
    /// The offer.
    pub offer: wharf_core::OfferKey,
    /// The version whose lead destination receives it.
    pub version: i64,
    /// `subscribed`, `cancelled` or `test`.
    pub action: String,
    /// The body (JSON).
    pub payload: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Attempts so far.
    pub attempts: u32,
    /// When it was queued.
    pub created_at: Timestamp,
    /// When it was delivered or given up.
    pub finished_at: Option<Timestamp>,
}

/// A lead to queue.
#[derive(Debug, Clone, Copy)]
pub struct NewLead<'a> {
    /// Its id (what it reports, so it is queued once).
    pub id: &'a str,
    /// The publisher organization.
    pub publisher_id: OrgId,
    /// The offer.
    pub offer: wharf_core::OfferKey,
    /// The version whose lead destination receives it.
    pub version: i64,
    /// `subscribed`, `cancelled` or `test`.
    pub action: &'a str,
    /// The body (JSON).
    pub payload: &'a str,
}

const LEAD_COLUMNS: &str =
    "id, publisher_id, offer, version, action, payload, state, attempts, created_at, finished_at";

fn lead_from_row(r: &AnyRow) -> Result<LeadRow, DbError> {
    Ok(LeadRow {
        id: col(r, "id")?,
        publisher_id: OrgId(col(r, "publisher_id")?),
        offer: wharf_core::OfferKey(col(r, "offer")?),
        version: col(r, "version")?,
        action: col(r, "action")?,
        payload: col(r, "payload")?,
        state: col(r, "state")?,
        attempts: u32::try_from(col::<i64>(r, "attempts")?).unwrap_or(0),
        created_at: Timestamp::from_millis(col(r, "created_at")?),
        finished_at: col::<Option<i64>>(r, "finished_at")?.map(Timestamp::from_millis),
    })
}

/// attempt, at, status, error, duration_ms
type AttemptTuple = (i64, i64, Option<i64>, Option<String>, i64);

const WEBHOOK_COLUMNS: &str = "id, org_id, url, events, secret, description, created_by, created_at";
const DELIVERY_COLUMNS: &str = "id, webhook_id, event, payload, state, attempts, created_at, finished_at";

fn webhook_from_row(r: &AnyRow) -> Result<WebhookRow, DbError> {
    let events: String = col(r, "events")?;
    Ok(WebhookRow {
        id: col(r, "id")?,
        org_id: OrgId(col(r, "org_id")?),
        url: col(r, "url")?,
        events: serde_json::from_str(&events)
            .map_err(|e| DbError::Corrupt(format!("webhooks.events = {events:?}: {e}")))?,
        secret: col(r, "secret")?,
        description: col(r, "description")?,
        created_by: col(r, "created_by")?,
        created_at: Timestamp::from_millis(col(r, "created_at")?),
    })
}

fn delivery_from_row(r: &AnyRow) -> Result<DeliveryRow, DbError> {
    Ok(DeliveryRow {
        id: col(r, "id")?,
        webhook_id: col(r, "webhook_id")?,
        event: col(r, "event")?,
        payload: col(r, "payload")?,
        state: col(r, "state")?,
        attempts: u32::try_from(col::<i64>(r, "attempts")?).unwrap_or(0),
        created_at: Timestamp::from_millis(col(r, "created_at")?),
        finished_at: col::<Option<i64>>(r, "finished_at")?.map(Timestamp::from_millis),
    })
}

impl Db {
    /// Stores a new webhook.
    pub async fn create_webhook(
        &self,
        org: OrgId,
        url: &str,
        events: &[String],
        secret: &str,
        description: Option<&str>,
        created_by: &str,
    ) -> Result<WebhookRow, DbError> {
        let events = serde_json::to_string(events).map_err(|e| DbError::Corrupt(e.to_string()))?;
        let sql = format!(
            "INSERT INTO webhooks (org_id, url, events, secret, description, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {WEBHOOK_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(org.0)
            .bind(url)
            .bind(events)
            .bind(secret)
            .bind(description)
            .bind(created_by)
            .bind(Timestamp::now().as_millis())
            .fetch_one(self.writes())
            .await?;
        webhook_from_row(&row)
    }

    /// An organization's webhooks, oldest first.
    pub async fn webhooks(&self, org: OrgId) -> Result<Vec<WebhookRow>, DbError> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE org_id = $1 ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org.0).fetch_all(self.pool()).await?;
        rows.iter().map(webhook_from_row).collect()
    }

    /// One webhook.
    pub async fn webhook(&self, id: i64) -> Result<Option<WebhookRow>, DbError> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(self.pool()).await?;
        row.as_ref().map(webhook_from_row).transpose()
    }

    /// Deletes a webhook of `org` (its deliveries with it). Returns whether it existed.
    pub async fn delete_webhook(&self, org: OrgId, id: i64) -> Result<bool, DbError> {
        let done = sqlx::query("DELETE FROM webhooks WHERE org_id = $1 AND id = $2")
            .bind(org.0)
            .bind(id)
            .execute(self.writes())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Queues message `id` for a webhook unless it is queued already; returns whether
    /// it is new.
    pub async fn queue_delivery(&self, id: &str, webhook: i64, event: &str, payload: &str) -> Result<bool, DbError> {
        let done = sqlx::query(
            "INSERT INTO webhook_deliveries (id, webhook_id, event, payload, state, attempts, created_at, finished_at) \
             VALUES ($1, $2, $3, $4, 'pending', 0, $5, NULL) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(webhook)
        .bind(event)
        .bind(payload)
        .bind(Timestamp::now().as_millis())
        .execute(self.writes())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// One message.
    pub async fn delivery(&self, id: &str) -> Result<Option<DeliveryRow>, DbError> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(self.pool()).await?;
        row.as_ref().map(delivery_from_row).transpose()
    }

    /// A webhook's messages, newest first, at most `limit`.
    pub async fn deliveries(&self, webhook: i64, limit: u32) -> Result<Vec<DeliveryRow>, DbError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY created_at DESC, id LIMIT $2"
        );
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(webhook).bind(i64::from(limit)).fetch_all(self.pool()).await?;
        rows.iter().map(delivery_from_row).collect()
    }

    /// The attempts of a message, first first.
    pub async fn delivery_attempts(&self, log: DeliveryLog, delivery: &str) -> Result<Vec<AttemptRow>, DbError> {
        let (_, attempts) = log.tables();
        let sql = format!(
            "SELECT attempt, at, status, error, duration_ms FROM {attempts} WHERE delivery_id = $1 ORDER BY attempt"
        );
        let rows: Vec<AttemptTuple> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(delivery).fetch_all(self.pool()).await?;
        Ok(rows
            .into_iter()
            .map(|(attempt, at, status, error, duration_ms)| AttemptRow {
                attempt: u32::try_from(attempt).unwrap_or(0),
                at: Timestamp::from_millis(at),
                status: status.and_then(|s| u16::try_from(s).ok()),
                error,
                duration_ms: u64::try_from(duration_ms).unwrap_or(0),
            })
            .collect())
    }

    /// Records an attempt and where the message stands after it (`delivered`,
    /// `failed`, or still `pending`); returns the attempt's number.
    pub async fn record_attempt(
        &self,
        log: DeliveryLog,
        delivery: &str,
        status: Option<u16>,
        error: Option<&str>,
        duration_ms: u64,
        state: &str,
    ) -> Result<u32, DbError> {
        let now = Timestamp::now().as_millis();
        let (messages, attempts_table) = log.tables();
        let mut tx = self.begin_write().await?;
        let sql = format!(
            "UPDATE {messages} SET attempts = attempts + 1, state = $1, \
             finished_at = CASE WHEN $1 = 'pending' THEN NULL ELSE $2 END WHERE id = $3 RETURNING attempts"
        );
        let attempts: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(state)
            .bind(now)
            .bind(delivery)
            .fetch_one(&mut *tx)
            .await?;
        let sql = format!(
            "INSERT INTO {attempts_table} (delivery_id, attempt, at, status, error, duration_ms) \
             VALUES ($1, $2, $3, $4, $5, $6)"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(delivery)
            .bind(attempts)
            .bind(now)
            .bind(status.map(i64::from))
            .bind(error)
            .bind(i64::try_from(duration_ms).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(u32::try_from(attempts).unwrap_or(u32::MAX))
    }

    /// Queues a lead unless one of that id exists; returns whether it is new.
    pub async fn queue_lead(&self, lead: NewLead<'_>) -> Result<bool, DbError> {
        let done = sqlx::query(
            "INSERT INTO leads (id, publisher_id, offer, version, action, payload, state, attempts, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7) ON CONFLICT (id) DO NOTHING",
        )
        .bind(lead.id)
        .bind(lead.publisher_id.0)
        .bind(lead.offer.0)
        .bind(lead.version)
        .bind(lead.action)
        .bind(lead.payload)
        .bind(Timestamp::now().as_millis())
        .execute(self.writes())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// One lead.
    pub async fn lead(&self, id: &str) -> Result<Option<LeadRow>, DbError> {
        let sql = format!("SELECT {LEAD_COLUMNS} FROM leads WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(self.pool()).await?;
        row.as_ref().map(lead_from_row).transpose()
    }

    /// A publisher's leads, newest first, at most `limit`.
    pub async fn leads(&self, publisher: OrgId, limit: u32) -> Result<Vec<LeadRow>, DbError> {
        let sql =
            format!("SELECT {LEAD_COLUMNS} FROM leads WHERE publisher_id = $1 ORDER BY created_at DESC, id LIMIT $2");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(publisher.0)
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(lead_from_row).collect()
    }
}
