//! Deployments rendered for subscriptions, each with the pull secret issued for it.

use sqlx::any::AnyRow;
use wharf_core::Timestamp;

use crate::pool::col;
use crate::subscriptions::SubscribeError;
use crate::{Backend, Db, DbError};

/// A recorded deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentRow {
    /// Its id.
    pub id: i64,
    /// The subscription.
    pub subscription: i64,
    /// The offer version rendered.
    pub version: i64,
    /// `container`, `compose`, `kubernetes` or `helm`.
    pub kind: String,
    /// Its name (the release, the pull secret's prefix).
    pub name: String,
    /// The pull secret issued for it, while it exists.
    pub pull_secret: Option<i64>,
    /// Who rendered it.
    pub created_by: String,
    /// When.
    pub created_at: Timestamp,
}

/// A deployment to record.
#[derive(Debug, Clone)]
pub struct NewDeployment<'a> {
    /// The subscription.
    pub subscription: i64,
    /// The offer version rendered.
    pub version: i64,
    /// The deployment kind.
    pub kind: &'a str,
    /// Its name.
    pub name: &'a str,
    /// The SHA-256 of the pull secret issued with it.
    pub secret_hash: &'a str,
    /// Who renders it.
    pub by: &'a str,
    /// The base access subscription whose deployments quota it counts against, and
    /// the limit; `None`: no limit.
    pub quota: Option<(i64, u64)>,
}

fn deployment_from_row(r: &AnyRow) -> Result<DeploymentRow, DbError> {
    Ok(DeploymentRow {
        id: col(r, "id")?,
        subscription: col(r, "subscription")?,
        version: col(r, "version")?,
        kind: col(r, "kind")?,
        name: col(r, "name")?,
        pull_secret: col(r, "pull_secret")?,
        created_by: col(r, "created_by")?,
        created_at: Timestamp::from_millis(col(r, "created_at")?),
    })
}

const COUNT_THROUGH: &str = "SELECT COUNT(*) FROM deployments d JOIN subscriptions s ON s.id = d.subscription \
     WHERE s.access_subscription = $1";

impl Db {
    /// Records a deployment with its pull secret, counting the quota in the same
    /// transaction; returns it and the pull secret's id.
    pub async fn create_deployment(&self, new: &NewDeployment<'_>) -> Result<DeploymentRow, SubscribeError> {
        let now = Timestamp::now().as_millis();
        let mut tx = self.begin_write().await?;
        if let Some((access, limit)) = new.quota {
            if self.backend() == Backend::Postgres {
                sqlx::query("SELECT id FROM access_subscriptions WHERE id = $1 FOR UPDATE")
                    .bind(access)
                    .fetch_optional(&mut *tx)
                    .await?;
            }
            let (used,): (i64,) = sqlx::query_as(COUNT_THROUGH).bind(access).fetch_one(&mut *tx).await?;
            let used = u64::try_from(used).unwrap_or(0);
            if used >= limit {
                return Err(SubscribeError::Quota(used, limit));
            }
        }
        let (secret,): (i64,) = sqlx::query_as(
            "INSERT INTO pull_secrets (subscription, name, secret_hash, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(new.subscription)
        .bind(format!("deployment {}", new.name))
        .bind(new.secret_hash)
        .bind(new.by)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let row = sqlx::query(
            "INSERT INTO deployments (subscription, version, kind, name, pull_secret, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *",
        )
        .bind(new.subscription)
        .bind(new.version)
        .bind(new.kind)
        .bind(new.name)
        .bind(secret)
        .bind(new.by)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(deployment_from_row(&row)?)
    }

    /// A subscription's deployments, newest first.
    pub async fn deployments(&self, subscription: i64) -> Result<Vec<DeploymentRow>, DbError> {
        let rows = sqlx::query("SELECT * FROM deployments WHERE subscription = $1 ORDER BY id DESC")
            .bind(subscription)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(deployment_from_row).collect()
    }

    /// Deployments counting against a base access subscription's quota.
    pub async fn deployments_through(&self, access: i64) -> Result<u64, DbError> {
        let (n,): (i64,) = sqlx::query_as(COUNT_THROUGH).bind(access).fetch_one(self.pool()).await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Deletes a subscription's deployment and revokes its pull secret; `false` when
    /// it has none of that id.
    pub async fn delete_deployment(&self, subscription: i64, id: i64) -> Result<bool, DbError> {
        let mut tx = self.begin_write().await?;
        let secret: Option<(Option<i64>,)> =
            sqlx::query_as("DELETE FROM deployments WHERE subscription = $1 AND id = $2 RETURNING pull_secret")
                .bind(subscription)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((secret,)) = secret else { return Ok(false) };
        if let Some(secret) = secret {
            sqlx::query("UPDATE pull_secrets SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(Timestamp::now().as_millis())
                .bind(secret)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}
