//! Metered usage of subscriptions, reported by the deployed software with its
//! subscription's usage key, and read per subscription or per offer for a period.

use wharf_core::{OfferKey, OrgId, Timestamp};

use crate::subscriptions::{SUB_COLUMNS, SubscriptionRow, sub_from_row};
use crate::{Db, DbError};

/// What became of a usage report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Counted.
    New,
    /// The hour was reported before: the first report stands, with this quantity
    /// (thousandths).
    Duplicate(i64),
}

/// A dimension's use over a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DimensionUse {
    /// The subscription.
    pub subscription: i64,
    /// The customer organization.
    pub org: String,
    /// The plan.
    pub plan: String,
    /// The dimension.
    pub dimension: String,
    /// The total, in thousandths.
    pub quantity: i64,
    /// Hours reported.
    pub hours: i64,
}

impl Db {
    /// Sets a subscription's usage key (its SHA-256), replacing the previous one;
    /// `false` when the organization has no active subscription of that id.
    pub async fn set_usage_key(&self, org: OrgId, id: i64, hash: &str) -> Result<bool, DbError> {
        let done = sqlx::query(
            "UPDATE subscriptions SET usage_key_hash = $1 WHERE org_id = $2 AND id = $3 AND cancelled_at IS NULL",
        )
        .bind(hash)
        .bind(org.0)
        .bind(id)
        .execute(self.writes())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The subscription (active or cancelled) whose usage key has this SHA-256.
    pub async fn subscription_by_usage_key(&self, hash: &str) -> Result<Option<SubscriptionRow>, DbError> {
        let sql = format!("SELECT {SUB_COLUMNS} FROM subscriptions WHERE usage_key_hash = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(hash).fetch_optional(self.pool()).await?;
        row.as_ref().map(sub_from_row).transpose()
    }

    /// Records usage of `dimension` in the hour starting at `hour` (ms), once: a
    /// repeat of the (subscription, dimension, hour) changes nothing.
    pub async fn record_usage(
        &self,
        subscription: i64,
        dimension: &str,
        hour: i64,
        quantity: i64,
    ) -> Result<Recorded, DbError> {
        let done = sqlx::query(
            "INSERT INTO usage_records (subscription, dimension, hour, quantity, reported_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (subscription, dimension, hour) DO NOTHING",
        )
        .bind(subscription)
        .bind(dimension)
        .bind(hour)
        .bind(quantity)
        .bind(Timestamp::now().as_millis())
        .execute(self.writes())
        .await?;
        if done.rows_affected() == 1 {
            return Ok(Recorded::New);
        }
        let (q,): (i64,) = sqlx::query_as(
            "SELECT quantity FROM usage_records WHERE subscription = $1 AND dimension = $2 AND hour = $3",
        )
        .bind(subscription)
        .bind(dimension)
        .bind(hour)
        .fetch_one(self.writes())
        .await?;
        Ok(Recorded::Duplicate(q))
    }

    /// Use per subscription and dimension in `[from, to)` (ms): of one subscription,
    /// or of every subscription to an offer.
    pub async fn usage(&self, of: UsageOf, from: i64, to: i64) -> Result<Vec<DimensionUse>, DbError> {
        let (filter, key) = match of {
            UsageOf::Subscription(id) => ("s.id = $1", id),
            UsageOf::Offer(offer) => ("s.offer = $1", offer.0),
        };
        let sql = format!(
            "SELECT s.id, o.name, s.plan, u.dimension, CAST(SUM(u.quantity) AS BIGINT) AS quantity, COUNT(*) AS hours \
             FROM usage_records u JOIN subscriptions s ON s.id = u.subscription JOIN organizations o ON o.id = s.org_id \
             WHERE {filter} AND u.hour >= $2 AND u.hour < $3 \
             GROUP BY s.id, o.name, s.plan, u.dimension ORDER BY s.id, u.dimension"
        );
        let rows: Vec<(i64, String, String, String, i64, i64)> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(key).bind(from).bind(to).fetch_all(self.pool()).await?;
        Ok(rows
            .into_iter()
            .map(|(subscription, org, plan, dimension, quantity, hours)| DimensionUse {
                subscription,
                org,
                plan,
                dimension,
                quantity,
                hours,
            })
            .collect())
    }
}

/// Whose usage to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageOf {
    /// One subscription.
    Subscription(i64),
    /// Every subscription to an offer.
    Offer(OfferKey),
}
