//! Subscriptions of customer organizations to plans of catalog items: their
//! entitlements, and the pull secrets that carry one to a cluster.
//!
//! Subscribing needs the `subscribe` permission (admins of a customer
//! organization), the terms accepted (recorded with the live version, the terms'
//! SHA-256, who and when), an access plan of the organization that opens the item,
//! and room in its `subscriptions` quota. A plan the organization may not see
//! (private to others, or stop-sold for a newcomer) does not exist for it (404).
//! Pull access follows active subscriptions only (see `wharf-auth`); cancelling
//! stops new registry tokens at once, and tokens already issued live at most five
//! minutes.

use wharf_api_types::{
    AcceptedTermsView, CreatePullSecretRequest, CreatedPullSecretView, PullSecretView, SubscribeRequest,
    SubscriptionView,
};
use wharf_auth::api_token;
use wharf_core::subscription::ItemFacts;
use wharf_core::{OfferId, OfferKey, OrgAction, OrgName, QuotaKind, TokenScope};
use wharf_db::catalog::CatalogViewer;
use wharf_db::orgs::Org;
use wharf_db::subscriptions::{NewSubscription, PullSecretRow, SubscribeError, SubscriptionRow};
use wharf_offer::spec::OfferSpec;

use crate::leads::{LeadAction, LeadCustomer};
use crate::{Actor, App, AppError};

/// The live version of an item, as a subscription reads it.
struct LiveItem {
    key: OfferKey,
    publisher: String,
    offer: String,
    version: i64,
    stop_sold: bool,
    spec: OfferSpec,
}

impl App {
    async fn live_item(&self, item: &str) -> Result<LiveItem, AppError> {
        let not_found = || AppError::NotFound(format!("the catalog has no listing {item:?}"));
        let (publisher, offer) = item.split_once('/').ok_or_else(not_found)?;
        if publisher.parse::<OrgName>().is_err() || offer.parse::<OfferId>().is_err() {
            return Err(not_found());
        }
        let hit = self.db.catalog_entry(publisher, offer, CatalogViewer::Operator).await?.ok_or_else(not_found)?;
        let spec = self.live_spec(hit.offer, hit.version).await?;
        Ok(LiveItem {
            key: hit.offer,
            publisher: hit.publisher,
            offer: hit.offer_id,
            version: hit.version,
            stop_sold: hit.stop_sold,
            spec,
        })
    }

    /// The offer's live version, if it has one.
    pub(crate) async fn live_version(&self, key: OfferKey) -> Result<Option<i64>, AppError> {
        let versions = self.db.offer_versions(key).await?;
        Ok(versions.iter().find(|v| v.status == wharf_core::VersionStatus::Live).map(|v| v.version))
    }

    pub(crate) async fn live_spec(&self, key: OfferKey, version: i64) -> Result<OfferSpec, AppError> {
        let v = self
            .db
            .offer_version(key, version)
            .await?
            .ok_or_else(|| AppError::Internal(format!("offer {key} version {version} is gone")))?;
        serde_json::from_str(&v.document).map_err(|e| AppError::Internal(format!("stored version does not parse: {e}")))
    }

    /// Subscribes a customer organization to a plan of a catalog item (its admins).
    pub async fn subscribe(
        &self,
        actor: &Actor,
        org: &str,
        request: SubscribeRequest,
    ) -> Result<SubscriptionView, AppError> {
        actor.require(TokenScope::ApiWrite)?;
        let (org, _) = self.org_for(actor, org, OrgAction::Subscribe).await?;
        let item = self.live_item(&request.offer).await?;
        let mine = self.db.subscriptions(org.id).await?;
        let subscriber = mine.iter().any(|s| s.offer == item.key && s.cancelled.is_none());
        let stopped = self.db.offer_by_key(item.key).await?.map(|o| o.stopped_plans).unwrap_or_default();
        let sees = |p: &wharf_offer::spec::Plan| {
            let public = p.visibility.as_deref().is_none_or(|v| v == "public");
            public || p.audience.iter().any(|a| a == org.name.as_str())
        };
        let on_sale = |p: &wharf_offer::spec::Plan| {
            !item.stop_sold && !stopped.iter().any(|s| Some(s.as_str()) == p.id.as_deref()) && sees(p)
        };
        // A stop-sold item, or one with no plan for this organization, does not exist for it.
        if !subscriber && !item.spec.plans.iter().any(on_sale) {
            return Err(AppError::NotFound(format!("the catalog has no listing {:?}", request.offer)));
        }
        let no_plan =
            || AppError::NotFound(format!("{}/{} has no plan {:?}", item.publisher, item.offer, request.plan));
        let plan =
            item.spec.plans.iter().find(|p| p.id.as_deref() == Some(request.plan.as_str())).ok_or_else(no_plan)?;
        if !sees(plan) {
            return Err(no_plan());
        }
        if !on_sale(plan) {
            return Err(AppError::Conflict(format!(
                "plan {:?} of {}/{} is stop-sold: it takes no new subscriptions",
                request.plan, item.publisher, item.offer
            )));
        }
        if !request.accept_terms {
            return Err(AppError::field("/accept_terms", "the terms must be accepted (true) to subscribe"));
        }
        let terms = wharf_offer::spec::terms_sha256(item.spec.legal.as_ref());
        if let Some(read) = &request.terms_sha256
            && !read.eq_ignore_ascii_case(&terms)
        {
            return Err(AppError::Conflict(format!(
                "the terms of {}/{} changed since they were read (now {terms}); read them again",
                item.publisher, item.offer
            )));
        }
        if let Some(s) = mine.iter().find(|s| s.offer == item.key && s.plan == request.plan && s.cancelled.is_none()) {
            return Err(AppError::Conflict(format!(
                "organization {} already subscribes to {}/{} plan {:?} (subscription {})",
                org.name, item.publisher, item.offer, request.plan, s.id
            )));
        }

        // The access plans that open the item, and room in their quota.
        let categories: Vec<String> = item.spec.listings.values().flat_map(|l| l.categories.iter().cloned()).collect();
        let facts = ItemFacts { publisher: &item.publisher, offer: &item.offer, categories: &categories };
        let grants: Vec<_> = self.grants(org.id).await?.into_iter().filter(|g| g.opens(facts)).collect();
        if grants.is_empty() {
            return Err(AppError::Forbidden(format!(
                "no access plan of organization {} opens {}/{}: subscribe to an access offer that does \
                 (GET /api/v1/access-offers)",
                org.name, item.publisher, item.offer
            )));
        }
        let mut refused = None;
        for g in &grants {
            let new = NewSubscription {
                org_id: org.id,
                offer: item.key,
                plan: &request.plan,
                access_subscription: g.base.id,
                quota: g.limit(QuotaKind::Subscriptions),
                terms_version: item.version,
                terms_sha256: &terms,
                accepted_by: &actor.name(),
                share_contact: request.share_contact,
            };
            match self.db.subscribe(&new).await {
                Ok(row) => {
                    tracing::info!(org = %org.name, offer = %request.offer, plan = %request.plan,
                        subscription = row.id, by = %actor.name(), "subscribed");
                    self.lead_for(actor, &org, &row, LeadAction::Subscribed).await?;
                    return self.subscription_view(&org, row).await;
                }
                Err(SubscribeError::Quota(used, limit)) => {
                    refused.get_or_insert((g.offer.row.name.clone(), used, limit));
                }
                Err(SubscribeError::Exists(id)) => {
                    return Err(AppError::Conflict(format!(
                        "organization {} already subscribes to {} plan {:?} (subscription {id})",
                        org.name, request.offer, request.plan
                    )));
                }
                Err(SubscribeError::Db(e)) => return Err(e.into()),
            }
        }
        let (access, used, limit) = refused.unwrap_or_default();
        Err(AppError::QuotaExceeded(format!(
            "quota subscriptions of access offer {access:?} is used up: {used} of {limit} subscriptions; \
             cancel one, or add an add-on plan that raises it"
        )))
    }

    async fn subscription_view(&self, org: &Org, s: SubscriptionRow) -> Result<SubscriptionView, AppError> {
        let offer = self.db.offer_by_key(s.offer).await?;
        let publisher = match &offer {
            Some(o) => self.db.org_by_id(o.org_id).await?.map(|p| p.name.to_string()).unwrap_or_default(),
            None => String::new(),
        };
        let offer_id = offer.as_ref().map(|o| o.offer_id.to_string()).unwrap_or_default();
        let mut repositories: Vec<String> = Vec::new();
        if let Some(live) = self.db.catalog_entry(&publisher, &offer_id, CatalogViewer::Operator).await? {
            for p in self.db.promotions(s.offer, live.version).await?.into_iter().filter(|p| p.plan == s.plan) {
                let r = format!("{}/{}", self.marketplace.registry_host, p.repository);
                if !repositories.contains(&r) {
                    repositories.push(r);
                }
            }
        }
        let access = match self.db.access_subscription(org.id, s.access_subscription).await? {
            Some(a) => format!("{}/{}", a.access_offer_name, a.plan),
            None => String::new(),
        };
        Ok(SubscriptionView {
            id: s.id,
            org: org.name.to_string(),
            offer: format!("{publisher}/{offer_id}"),
            plan: s.plan,
            status: if s.cancelled.is_some() { "cancelled" } else { "active" }.to_owned(),
            access,
            terms: AcceptedTermsView {
                version: s.terms_version,
                sha256: s.terms_sha256,
                accepted_by: s.accepted_by,
                accepted_at: s.accepted_at,
            },
            share_contact: s.share_contact,
            repositories,
            cancelled_by: s.cancelled.as_ref().map(|c| c.0.clone()),
            cancelled_at: s.cancelled.as_ref().map(|c| c.1),
        })
    }

    pub(crate) async fn org_subscription(
        &self,
        actor: &Actor,
        org: &str,
        id: i64,
        action: OrgAction,
    ) -> Result<(Org, SubscriptionRow), AppError> {
        let (org, _) = self.org_for(actor, org, action).await?;
        let s = self
            .db
            .subscription(org.id, id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("organization {} has no subscription {id}", org.name)))?;
        Ok((org, s))
    }

    /// A customer organization's subscriptions, newest first.
    pub async fn subscriptions(&self, actor: &Actor, org: &str) -> Result<Vec<SubscriptionView>, AppError> {
        actor.require(TokenScope::ApiRead)?;
        let (org, _) = self.org_for(actor, org, OrgAction::ReadSubscriptions).await?;
        let mut out = Vec::new();
        for s in self.db.subscriptions(org.id).await? {
            out.push(self.subscription_view(&org, s).await?);
        }
        Ok(out)
    }

    /// One subscription of a customer organization.
    pub async fn subscription(&self, actor: &Actor, org: &str, id: i64) -> Result<SubscriptionView, AppError> {
        actor.require(TokenScope::ApiRead)?;
        let (org, s) = self.org_subscription(actor, org, id, OrgAction::ReadSubscriptions).await?;
        self.subscription_view(&org, s).await
    }

    /// Cancels a subscription (admins): new registry tokens are refused at once.
    pub async fn cancel_subscription(&self, actor: &Actor, org: &str, id: i64) -> Result<SubscriptionView, AppError> {
        actor.require(TokenScope::ApiWrite)?;
        let (org, s) = self.org_subscription(actor, org, id, OrgAction::Subscribe).await?;
        if s.cancelled.is_some() || !self.db.cancel_subscription(org.id, id, &actor.name()).await? {
            return Err(AppError::Conflict(format!("subscription {id} is already cancelled")));
        }
        tracing::info!(org = %org.name, subscription = id, by = %actor.name(), "subscription cancelled");
        let s =
            self.db.subscription(org.id, id).await?.ok_or_else(|| AppError::Internal("subscription gone".into()))?;
        self.lead_for(actor, &org, &s, LeadAction::Cancelled).await?;
        self.subscription_view(&org, s).await
    }

    /// Queues the publisher's lead about a subscription, about the live version; the
    /// contact is the actor who accepted the terms, when the customer shares it.
    async fn lead_for(
        &self,
        actor: &Actor,
        org: &Org,
        s: &SubscriptionRow,
        action: LeadAction,
    ) -> Result<(), AppError> {
        let contact = match (s.share_contact, actor.user_id()) {
            (true, Some(user)) => {
                self.db.user_by_id(user).await?.map(|u| (u.name.to_string(), u.email.map(|e| e.to_string())))
            }
            _ => None,
        };
        let customer = LeadCustomer {
            org: org.name.to_string(),
            org_display_name: org.display_name.clone(),
            subscription: s.id,
            plan: s.plan.clone(),
            contact,
        };
        let version = self.live_version(s.offer).await?.unwrap_or(s.terms_version);
        self.queue_lead(s.offer, version, action, Some(&customer)).await
    }

    fn pull_secret_view(row: &PullSecretRow) -> PullSecretView {
        PullSecretView {
            id: row.id,
            subscription: row.subscription,
            name: row.name.clone(),
            username: api_token::pull_secret_user(row.id),
            created_by: row.created_by.clone(),
            created_at: row.created_at,
            revoked_at: row.revoked_at,
        }
    }

    /// Issues a pull secret for an active subscription (admins, signed in as a
    /// user): a registry credential that pulls what the subscription entitles and
    /// nothing else. The secret is shown this once.
    pub async fn create_pull_secret(
        &self,
        actor: &Actor,
        org: &str,
        id: i64,
        request: CreatePullSecretRequest,
    ) -> Result<CreatedPullSecretView, AppError> {
        actor.require(TokenScope::ApiWrite)?;
        let (org, s) = self.org_subscription(actor, org, id, OrgAction::Subscribe).await?;
        let name = request.name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(AppError::field("/name", "1 to 100 characters, no control characters"));
        }
        if s.cancelled.is_some() {
            return Err(AppError::Conflict(format!("subscription {id} is cancelled")));
        }
        if actor.user_id().is_none() {
            return Err(AppError::Forbidden("a pull secret is issued by a user (it pulls in their name)".into()));
        }
        let (secret, hash) = api_token::generate_pull_secret();
        let row = self.db.create_pull_secret(s.id, name, &hash, &actor.name()).await?;
        tracing::info!(org = %org.name, subscription = id, pull_secret = row.id, by = %actor.name(), "pull secret issued");
        let view = Self::pull_secret_view(&row);
        let registry = self.marketplace.registry_host.clone();
        let kubernetes_secret =
            wharf_deploy::pull_secret_manifest(&format!("wharf-pull-{id}"), &registry, &view.username, &secret)
                .map_err(AppError::Internal)?;
        let login_command = format!("podman login --username {} --password-stdin {registry}", view.username);
        Ok(CreatedPullSecretView { pull_secret: view, registry, password: secret, kubernetes_secret, login_command })
    }

    /// A subscription's pull secrets (without their secrets).
    pub async fn pull_secrets(&self, actor: &Actor, org: &str, id: i64) -> Result<Vec<PullSecretView>, AppError> {
        actor.require(TokenScope::ApiRead)?;
        let (_, s) = self.org_subscription(actor, org, id, OrgAction::ReadSubscriptions).await?;
        Ok(self.db.pull_secrets(s.id).await?.iter().map(Self::pull_secret_view).collect())
    }

    /// Revokes a pull secret (admins): new registry tokens are refused at once.
    pub async fn revoke_pull_secret(&self, actor: &Actor, org: &str, id: i64, secret: i64) -> Result<(), AppError> {
        actor.require(TokenScope::ApiWrite)?;
        let (_, s) = self.org_subscription(actor, org, id, OrgAction::Subscribe).await?;
        if !self.db.revoke_pull_secret(s.id, secret).await? {
            return Err(AppError::NotFound(format!("subscription {id} has no active pull secret {secret}")));
        }
        Ok(())
    }
}
