//! Access offers, customer organizations' subscriptions to their plans and to the
//! plans of catalog items (entitlements), and pull secrets.
//!
//! What an access plan opens and which quotas it sets live in the access offer's
//! document, which the application layer reads; this module keeps rows and enforces
//! what must hold under concurrency (one active subscription per organization and
//! plan, a quota counted in the same transaction as the insert).

use sqlx::any::AnyRow;
use wharf_core::{OfferKey, OrgId, Timestamp, UserId};

use crate::error::conflict;
use crate::pool::col;
use crate::{Backend, Db, DbError};

/// An access offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessOfferRow {
    /// Its key.
    pub id: i64,
    /// Its unique name.
    pub name: String,
    /// The definition (JSON), as the application layer wrote it.
    pub document: String,
    /// Offered to every customer organization (otherwise to its audience only).
    pub public: bool,
    /// The customer organizations a private offer is for.
    pub audience: Vec<OrgId>,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

/// A subscription to an access plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessSubscriptionRow {
    /// Its id.
    pub id: i64,
    /// The customer organization.
    pub org_id: OrgId,
    /// The access offer.
    pub access_offer: i64,
    /// The access offer's name.
    pub access_offer_name: String,
    /// The plan's name.
    pub plan: String,
    /// Who subscribed.
    pub created_by: String,
    /// When.
    pub created_at: Timestamp,
    /// Who cancelled, and when.
    pub cancelled: Option<(String, Timestamp)>,
}

/// A subscription to a plan of a catalog item: an entitlement while active.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionRow {
    /// Its id.
    pub id: i64,
    /// The customer organization.
    pub org_id: OrgId,
    /// The offer.
    pub offer: OfferKey,
    /// The plan id.
    pub plan: String,
    /// The base access subscription it goes through.
    pub access_subscription: i64,
    /// The live version whose terms were accepted.
    pub terms_version: i64,
    /// SHA-256 (hex) of those terms.
    pub terms_sha256: String,
    /// Who accepted them.
    pub accepted_by: String,
    /// When.
    pub accepted_at: Timestamp,
    /// Whether the customer agreed to share contact details with the publisher.
    pub share_contact: bool,
    /// Who cancelled, and when.
    pub cancelled: Option<(String, Timestamp)>,
}

/// A subscription to create.
#[derive(Debug, Clone)]
pub struct NewSubscription<'a> {
    /// The customer organization.
    pub org_id: OrgId,
    /// The offer.
    pub offer: OfferKey,
    /// The plan id.
    pub plan: &'a str,
    /// The base access subscription whose quota it counts against.
    pub access_subscription: i64,
    /// The `subscriptions` limit of that access subscription (with its add-ons);
    /// `None`: no limit.
    pub quota: Option<u64>,
    /// The live version whose terms were accepted.
    pub terms_version: i64,
    /// SHA-256 (hex) of those terms.
    pub terms_sha256: &'a str,
    /// Who accepts.
    pub accepted_by: &'a str,
    /// Whether contact details may go to the publisher.
    pub share_contact: bool,
}

/// Why a subscription was not created.
#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    /// The organization already has an active subscription to the plan.
    #[error("already subscribed (subscription {0})")]
    Exists(i64),
    /// The quota is used up: (used, limit).
    #[error("quota used up: {0} of {1}")]
    Quota(u64, u64),
    /// Any other failure.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for SubscribeError {
    fn from(e: sqlx::Error) -> Self {
        SubscribeError::Db(e.into())
    }
}

/// A pull secret (without its secret, which is never stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullSecretRow {
    /// Its id.
    pub id: i64,
    /// The subscription whose entitlement it carries.
    pub subscription: i64,
    /// What it is for.
    pub name: String,
    /// Who issued it.
    pub created_by: String,
    /// When.
    pub created_at: Timestamp,
    /// When it was revoked.
    pub revoked_at: Option<Timestamp>,
}

const COUNT_THROUGH: &str =
    "SELECT COUNT(*) FROM subscriptions WHERE access_subscription = $1 AND cancelled_at IS NULL";
const ACCESS_SUB_COLUMNS: &str = "s.id, s.org_id, s.access_offer, a.name AS access_offer_name, s.plan, s.created_by, \
     s.created_at, s.cancelled_by, s.cancelled_at";
pub(crate) const SUB_COLUMNS: &str = "id, org_id, offer, plan, access_subscription, terms_version, terms_sha256, accepted_by, \
     accepted_at, share_contact, cancelled_by, cancelled_at";

fn cancelled(r: &AnyRow) -> Result<Option<(String, Timestamp)>, DbError> {
    let by: Option<String> = col(r, "cancelled_by")?;
    let at: Option<i64> = col(r, "cancelled_at")?;
    Ok(by.zip(at.map(Timestamp::from_millis)))
}

fn access_sub_from_row(r: &AnyRow) -> Result<AccessSubscriptionRow, DbError> {
    Ok(AccessSubscriptionRow {
        id: col(r, "id")?,
        org_id: OrgId(col(r, "org_id")?),
        access_offer: col(r, "access_offer")?,
        access_offer_name: col(r, "access_offer_name")?,
        plan: col(r, "plan")?,
        created_by: col(r, "created_by")?,
        created_at: Timestamp::from_millis(col(r, "created_at")?),
        cancelled: cancelled(r)?,
    })
}

pub(crate) fn sub_from_row(r: &AnyRow) -> Result<SubscriptionRow, DbError> {
    Ok(SubscriptionRow {
        id: col(r, "id")?,
        org_id: OrgId(col(r, "org_id")?),
        offer: OfferKey(col(r, "offer")?),
        plan: col(r, "plan")?,
        access_subscription: col(r, "access_subscription")?,
        terms_version: col(r, "terms_version")?,
        terms_sha256: col(r, "terms_sha256")?,
        accepted_by: col(r, "accepted_by")?,
        accepted_at: Timestamp::from_millis(col(r, "accepted_at")?),
        share_contact: col::<i64>(r, "share_contact")? != 0,
        cancelled: cancelled(r)?,
    })
}

fn pull_secret_from_row(r: &AnyRow) -> Result<PullSecretRow, DbError> {
    Ok(PullSecretRow {
        id: col(r, "id")?,
        subscription: col(r, "subscription")?,
        name: col(r, "name")?,
        created_by: col(r, "created_by")?,
        created_at: Timestamp::from_millis(col(r, "created_at")?),
        revoked_at: col::<Option<i64>>(r, "revoked_at")?.map(Timestamp::from_millis),
    })
}

impl Db {
    async fn access_audience(&self, id: i64) -> Result<Vec<OrgId>, DbError> {
        let rows: Vec<(i64,)> =
            sqlx::query_as("SELECT org_id FROM access_audience WHERE access_offer = $1 ORDER BY org_id")
                .bind(id)
                .fetch_all(self.pool())
                .await?;
        Ok(rows.into_iter().map(|(o,)| OrgId(o)).collect())
    }

    async fn access_offer_from_row(&self, r: &AnyRow) -> Result<AccessOfferRow, DbError> {
        let id = col(r, "id")?;
        Ok(AccessOfferRow {
            id,
            name: col(r, "name")?,
            document: col(r, "document")?,
            public: col::<i64>(r, "public")? != 0,
            audience: self.access_audience(id).await?,
            created_by: col(r, "created_by")?,
            created_at: Timestamp::from_millis(col(r, "created_at")?),
            updated_at: Timestamp::from_millis(col(r, "updated_at")?),
        })
    }

    /// Creates an access offer, or replaces the one of that name (`replace`), with
    /// its audience. Creating a name that exists is a conflict.
    pub async fn put_access_offer(
        &self,
        name: &str,
        document: &str,
        public: bool,
        audience: &[OrgId],
        by: &str,
        replace: bool,
    ) -> Result<AccessOfferRow, DbError> {
        let now = Timestamp::now().as_millis();
        let mut tx = self.begin_write().await?;
        let existing: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM access_offers WHERE name = $1").bind(name).fetch_optional(&mut *tx).await?;
        let id = match (existing, replace) {
            (Some((id,)), true) => {
                sqlx::query("UPDATE access_offers SET document = $1, public = $2, updated_at = $3 WHERE id = $4")
                    .bind(document)
                    .bind(i64::from(public))
                    .bind(now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM access_audience WHERE access_offer = $1").bind(id).execute(&mut *tx).await?;
                id
            }
            (Some(_), false) => return Err(DbError::Conflict(format!("access offer {name:?}"))),
            (None, _) => {
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO access_offers (name, document, public, created_by, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
                )
                .bind(name)
                .bind(document)
                .bind(i64::from(public))
                .bind(by)
                .bind(now)
                .fetch_one(&mut *tx)
                .await
                .map_err(conflict(|| format!("access offer {name:?}")))?;
                id
            }
        };
        for org in audience {
            sqlx::query("INSERT INTO access_audience (access_offer, org_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(id)
                .bind(org.0)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.access_offer(name).await?.ok_or_else(|| DbError::Corrupt(format!("access offer {name:?} vanished")))
    }

    /// An access offer by name.
    pub async fn access_offer(&self, name: &str) -> Result<Option<AccessOfferRow>, DbError> {
        let row =
            sqlx::query("SELECT * FROM access_offers WHERE name = $1").bind(name).fetch_optional(self.pool()).await?;
        match row {
            Some(r) => Ok(Some(self.access_offer_from_row(&r).await?)),
            None => Ok(None),
        }
    }

    /// An access offer by key.
    pub async fn access_offer_by_id(&self, id: i64) -> Result<Option<AccessOfferRow>, DbError> {
        let row = sqlx::query("SELECT * FROM access_offers WHERE id = $1").bind(id).fetch_optional(self.pool()).await?;
        match row {
            Some(r) => Ok(Some(self.access_offer_from_row(&r).await?)),
            None => Ok(None),
        }
    }

    /// Access offers by name: all of them (`for_orgs` = `None`), or those public or
    /// private to one of `for_orgs`.
    pub async fn access_offers(&self, for_orgs: Option<&[OrgId]>) -> Result<Vec<AccessOfferRow>, DbError> {
        let rows = sqlx::query("SELECT * FROM access_offers ORDER BY name").fetch_all(self.pool()).await?;
        let mut out = Vec::new();
        for r in &rows {
            let offer = self.access_offer_from_row(r).await?;
            let shown = match for_orgs {
                None => true,
                Some(orgs) => offer.public || offer.audience.iter().any(|a| orgs.contains(a)),
            };
            if shown {
                out.push(offer);
            }
        }
        Ok(out)
    }

    /// Deletes an access offer nobody ever subscribed to; `false` when it has
    /// subscriptions (cancelled ones included: they are its history).
    pub async fn delete_access_offer(&self, id: i64) -> Result<bool, DbError> {
        let mut tx = self.begin_write().await?;
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM access_subscriptions WHERE access_offer = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        if n > 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM access_offers WHERE id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Subscribes an organization to an access plan; a conflict when it already is.
    pub async fn subscribe_access(
        &self,
        org: OrgId,
        access_offer: i64,
        plan: &str,
        by: &str,
    ) -> Result<AccessSubscriptionRow, DbError> {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO access_subscriptions (org_id, access_offer, plan, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(org.0)
        .bind(access_offer)
        .bind(plan)
        .bind(by)
        .bind(Timestamp::now().as_millis())
        .fetch_one(self.writes())
        .await
        .map_err(conflict(|| format!("an active subscription to access plan {plan:?}")))?;
        self.access_subscription(org, id).await?.ok_or_else(|| DbError::Corrupt(format!("access subscription {id}")))
    }

    /// One of an organization's access subscriptions.
    pub async fn access_subscription(&self, org: OrgId, id: i64) -> Result<Option<AccessSubscriptionRow>, DbError> {
        let sql = format!(
            "SELECT {ACCESS_SUB_COLUMNS} FROM access_subscriptions s JOIN access_offers a ON a.id = s.access_offer \
             WHERE s.org_id = $1 AND s.id = $2"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org.0).bind(id).fetch_optional(self.pool()).await?;
        row.as_ref().map(access_sub_from_row).transpose()
    }

    /// An organization's access subscriptions, newest first; active ones only with `active`.
    pub async fn access_subscriptions(&self, org: OrgId, active: bool) -> Result<Vec<AccessSubscriptionRow>, DbError> {
        let filter = if active { " AND s.cancelled_at IS NULL" } else { "" };
        let sql = format!(
            "SELECT {ACCESS_SUB_COLUMNS} FROM access_subscriptions s JOIN access_offers a ON a.id = s.access_offer \
             WHERE s.org_id = $1{filter} ORDER BY s.id DESC"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org.0).fetch_all(self.pool()).await?;
        rows.iter().map(access_sub_from_row).collect()
    }

    /// Organizations with an active subscription to an access offer, with how many.
    pub async fn access_subscribers(&self, access_offer: i64) -> Result<Vec<(OrgId, String, i64)>, DbError> {
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT o.id, o.name, COUNT(*) FROM access_subscriptions s JOIN organizations o ON o.id = s.org_id \
             WHERE s.access_offer = $1 AND s.cancelled_at IS NULL GROUP BY o.id, o.name ORDER BY o.name",
        )
        .bind(access_offer)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(id, name, n)| (OrgId(id), name, n)).collect())
    }

    /// Cancels an active access subscription; `false` when there is none of that id.
    pub async fn cancel_access_subscription(&self, org: OrgId, id: i64, by: &str) -> Result<bool, DbError> {
        self.cancel_in("access_subscriptions", org, id, by).await
    }

    /// Marks row `id` of `table` (an organization's subscriptions) cancelled by `by`, now.
    async fn cancel_in(&self, table: &str, org: OrgId, id: i64, by: &str) -> Result<bool, DbError> {
        let sql = format!(
            "UPDATE {table} SET cancelled_by = $1, cancelled_at = $2 WHERE org_id = $3 AND id = $4 AND cancelled_at IS NULL"
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(by)
            .bind(Timestamp::now().as_millis())
            .bind(org.0)
            .bind(id)
            .execute(self.writes())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Active item subscriptions going through a base access subscription.
    pub async fn subscriptions_through(&self, access: i64) -> Result<u64, DbError> {
        let (c,): (i64,) = sqlx::query_as(COUNT_THROUGH).bind(access).fetch_one(self.pool()).await?;
        Ok(u64::try_from(c).unwrap_or(0))
    }

    /// Creates a subscription, counting the quota in the same transaction (see
    /// [`NewSubscription::quota`]).
    pub async fn subscribe(&self, new: &NewSubscription<'_>) -> Result<SubscriptionRow, SubscribeError> {
        let now = Timestamp::now().as_millis();
        let mut tx = self.begin_write().await?;
        if self.backend() == Backend::Postgres {
            // Serializes subscriptions through one base access subscription.
            sqlx::query("SELECT id FROM access_subscriptions WHERE id = $1 FOR UPDATE")
                .bind(new.access_subscription)
                .fetch_optional(&mut *tx)
                .await?;
        }
        let existing: Option<(i64,)> = sqlx::query_as(
            "SELECT id FROM subscriptions WHERE org_id = $1 AND offer = $2 AND plan = $3 AND cancelled_at IS NULL",
        )
        .bind(new.org_id.0)
        .bind(new.offer.0)
        .bind(new.plan)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((id,)) = existing {
            return Err(SubscribeError::Exists(id));
        }
        if let Some(limit) = new.quota {
            let (used,): (i64,) =
                sqlx::query_as(COUNT_THROUGH).bind(new.access_subscription).fetch_one(&mut *tx).await?;
            let used = u64::try_from(used).unwrap_or(0);
            if used >= limit {
                return Err(SubscribeError::Quota(used, limit));
            }
        }
        let sql = format!(
            "INSERT INTO subscriptions (org_id, offer, plan, access_subscription, terms_version, terms_sha256, \
               accepted_by, accepted_at, share_contact) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             RETURNING {SUB_COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(new.org_id.0)
            .bind(new.offer.0)
            .bind(new.plan)
            .bind(new.access_subscription)
            .bind(new.terms_version)
            .bind(new.terms_sha256)
            .bind(new.accepted_by)
            .bind(now)
            .bind(i64::from(new.share_contact))
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(sub_from_row(&row)?)
    }

    /// One of an organization's subscriptions.
    pub async fn subscription(&self, org: OrgId, id: i64) -> Result<Option<SubscriptionRow>, DbError> {
        let sql = format!("SELECT {SUB_COLUMNS} FROM subscriptions WHERE org_id = $1 AND id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org.0).bind(id).fetch_optional(self.pool()).await?;
        row.as_ref().map(sub_from_row).transpose()
    }

    /// An organization's subscriptions, newest first.
    pub async fn subscriptions(&self, org: OrgId) -> Result<Vec<SubscriptionRow>, DbError> {
        let sql = format!("SELECT {SUB_COLUMNS} FROM subscriptions WHERE org_id = $1 ORDER BY id DESC");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(org.0).fetch_all(self.pool()).await?;
        rows.iter().map(sub_from_row).collect()
    }

    /// Cancels an active subscription (its pull secrets stop working with it);
    /// `false` when there is no active one of that id.
    pub async fn cancel_subscription(&self, org: OrgId, id: i64, by: &str) -> Result<bool, DbError> {
        self.cancel_in("subscriptions", org, id, by).await
    }

    /// Whether `user` belongs to a customer organization with an active subscription
    /// to a plan that delivers images from repository `name` (in any version).
    pub async fn entitled_to_repository(&self, name: &str, user: UserId) -> Result<bool, DbError> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT 1 FROM repositories r JOIN promoted_images p ON p.repository_id = r.id \
             JOIN subscriptions s ON s.offer = p.offer AND s.plan = p.plan AND s.cancelled_at IS NULL \
             JOIN memberships m ON m.org_id = s.org_id AND m.user_id = $2 \
             WHERE r.name = $1 LIMIT 1",
        )
        .bind(name)
        .bind(user.0)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.is_some())
    }

    /// Whether the active subscription `id` delivers images from repository `name`.
    pub async fn subscription_delivers(&self, id: i64, name: &str) -> Result<bool, DbError> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT 1 FROM repositories r JOIN promoted_images p ON p.repository_id = r.id \
             JOIN subscriptions s ON s.offer = p.offer AND s.plan = p.plan AND s.cancelled_at IS NULL \
             WHERE r.name = $1 AND s.id = $2 LIMIT 1",
        )
        .bind(name)
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.is_some())
    }

    /// Records a pull secret (its SHA-256 only).
    pub async fn create_pull_secret(
        &self,
        subscription: i64,
        name: &str,
        secret_hash: &str,
        by: &str,
    ) -> Result<PullSecretRow, DbError> {
        let row = sqlx::query(
            "INSERT INTO pull_secrets (subscription, name, secret_hash, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING *",
        )
        .bind(subscription)
        .bind(name)
        .bind(secret_hash)
        .bind(by)
        .bind(Timestamp::now().as_millis())
        .fetch_one(self.writes())
        .await?;
        pull_secret_from_row(&row)
    }

    /// A subscription's pull secrets, newest first.
    pub async fn pull_secrets(&self, subscription: i64) -> Result<Vec<PullSecretRow>, DbError> {
        let rows = sqlx::query("SELECT * FROM pull_secrets WHERE subscription = $1 ORDER BY id DESC")
            .bind(subscription)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(pull_secret_from_row).collect()
    }

    /// Revokes a subscription's pull secret; `false` when it has no active one of that id.
    pub async fn revoke_pull_secret(&self, subscription: i64, id: i64) -> Result<bool, DbError> {
        let done = sqlx::query(
            "UPDATE pull_secrets SET revoked_at = $1 WHERE subscription = $2 AND id = $3 AND revoked_at IS NULL",
        )
        .bind(Timestamp::now().as_millis())
        .bind(subscription)
        .bind(id)
        .execute(self.writes())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The pull secret with this SHA-256, when neither it nor its subscription was
    /// revoked or cancelled, with the subscription's organization.
    pub async fn active_pull_secret(&self, secret_hash: &str) -> Result<Option<(PullSecretRow, OrgId)>, DbError> {
        let row = sqlx::query(
            "SELECT p.*, s.org_id FROM pull_secrets p JOIN subscriptions s ON s.id = p.subscription \
             WHERE p.secret_hash = $1 AND p.revoked_at IS NULL AND s.cancelled_at IS NULL",
        )
        .bind(secret_hash)
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(r) => Ok(Some((pull_secret_from_row(&r)?, OrgId(col(&r, "org_id")?)))),
            None => Ok(None),
        }
    }
}
