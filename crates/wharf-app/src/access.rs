//! Access offers: the operator's offers of catalog items, made of base and add-on
//! plans that open items (all, by category, by publisher, or listed) and set quotas;
//! customer organizations' subscriptions to them; and usage per organization.
//!
//! A customer organization subscribes to a base plan before it may subscribe to the
//! items the plan opens; add-on plans of the same access offer open more and add to
//! the base plan's quotas ([`wharf_core::subscription::combined_limit`]). A private
//! access offer does not exist for organizations outside its audience (404).

use std::collections::BTreeSet;

use wharf_api_types::{
    AccessOfferSpec, AccessOfferView, AccessPlanSpec, AccessSubscribeRequest, AccessSubscriptionView, AccessUsageView,
    FieldError, QuotaView, UsageView,
};
use wharf_core::subscription::{ItemFacts, combined_limit};
use wharf_core::{
    AccessOfferName, AccessPlanKind, AccessPlanName, OrgAction, OrgId, OrgKind, OrgName, PlatformAction, QuotaKind,
    TokenScope, subscription::Opens,
};
use wharf_db::subscriptions::{AccessOfferRow, AccessSubscriptionRow};

use crate::{Actor, App, AppError};

/// Plans per access offer.
const MAX_PLANS: usize = 20;
/// Quotas enforced so far. `pulled_gb_per_month` comes with pull metering; until
/// then it is refused rather than shown with a use nobody counts.
const ENFORCED_QUOTAS: &[QuotaKind] = &[QuotaKind::Subscriptions, QuotaKind::Deployments];

/// An access offer, read back from its row.
#[derive(Debug, Clone)]
pub(crate) struct AccessOffer {
    pub row: AccessOfferRow,
    pub spec: AccessOfferSpec,
}

impl AccessOffer {
    fn from_row(row: AccessOfferRow) -> Result<AccessOffer, AppError> {
        let spec = serde_json::from_str(&row.document)
            .map_err(|e| AppError::Internal(format!("access offer {:?} does not parse: {e}", row.name)))?;
        Ok(AccessOffer { row, spec })
    }

    pub fn plan(&self, name: &str) -> Option<&AccessPlanSpec> {
        self.spec.plans.iter().find(|p| p.name == name)
    }
}

/// What an access plan opens, from its stored form.
pub(crate) fn opens_of(plan: &AccessPlanSpec) -> Opens {
    let o = &plan.opens;
    match (&o.categories, &o.publishers, &o.items) {
        (Some(c), _, _) => Opens::Categories(c.clone()),
        (_, Some(p), _) => Opens::Publishers(p.clone()),
        (_, _, Some(i)) => Opens::Items(i.clone()),
        _ => Opens::All,
    }
}

fn kind_of(plan: &AccessPlanSpec) -> AccessPlanKind {
    plan.kind.parse().unwrap_or(AccessPlanKind::Base)
}

fn subscription_view(s: &AccessSubscriptionRow, kind: AccessPlanKind) -> AccessSubscriptionView {
    AccessSubscriptionView {
        id: s.id,
        access_offer: s.access_offer_name.clone(),
        plan: s.plan.clone(),
        kind: kind.as_str().to_owned(),
        status: if s.cancelled.is_some() { "cancelled" } else { "active" }.to_owned(),
        created_by: s.created_by.clone(),
        created_at: s.created_at,
        cancelled_by: s.cancelled.as_ref().map(|c| c.0.clone()),
        cancelled_at: s.cancelled.as_ref().map(|c| c.1),
    }
}

/// One access offer an organization subscribes to: its active base subscription and
/// the active plans (base first).
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub offer: AccessOffer,
    pub base: AccessSubscriptionRow,
    pub plans: Vec<AccessPlanSpec>,
}

impl Grant {
    /// Whether one of its plans opens the item.
    pub fn opens(&self, item: ItemFacts<'_>) -> bool {
        self.plans.iter().any(|p| opens_of(p).opens(item))
    }

    /// A quota's limit over its plans.
    pub fn limit(&self, quota: QuotaKind) -> Option<u64> {
        let get = |p: &AccessPlanSpec| p.quotas.get(quota.as_str()).copied();
        let base = self.plans.iter().find(|p| kind_of(p) == AccessPlanKind::Base);
        combined_limit(base.and_then(get), self.plans.iter().filter(|p| kind_of(p) == AccessPlanKind::AddOn).map(get))
    }
}

impl App {
    /// Checks an access offer's definition, reporting every problem at once, and
    /// returns it normalized with its audience's ids.
    async fn check_access_offer(
        &self,
        mut spec: AccessOfferSpec,
    ) -> Result<(AccessOfferSpec, bool, Vec<OrgId>), AppError> {
        let mut errors: Vec<FieldError> = Vec::new();
        let mut err = |p: String, d: String| errors.push(FieldError::new(&p, d));
        if let Err(e) = spec.name.parse::<AccessOfferName>() {
            err("/name".into(), e.to_string());
        }
        let display = spec.display_name.trim().chars().count();
        if display == 0 || display > 200 {
            err("/display_name".into(), "1 to 200 characters".into());
        }
        if spec.description.as_ref().is_some_and(|d| d.chars().count() > 2000) {
            err("/description".into(), "at most 2,000 characters".into());
        }
        let public = match spec.visibility.as_str() {
            "public" => true,
            "private" => false,
            other => {
                err("/visibility".into(), format!("{other:?} is not public or private"));
                true
            }
        };
        if public && !spec.audience.is_empty() {
            err("/audience".into(), "only a private access offer has an audience".into());
        }
        if !public && spec.audience.is_empty() {
            err("/audience".into(), "a private access offer names at least one customer organization".into());
        }
        let mut audience = Vec::new();
        spec.audience.sort();
        spec.audience.dedup();
        for (i, name) in spec.audience.iter().enumerate() {
            let org = match name.parse::<OrgName>() {
                Ok(n) => self.db.org_by_name(&n).await?,
                Err(_) => None,
            };
            match org {
                Some(o) if o.kind == OrgKind::Customer => audience.push(o.id),
                _ => err(format!("/audience/{i}"), format!("{name:?} is not a customer organization")),
            }
        }
        if spec.plans.is_empty() || spec.plans.len() > MAX_PLANS {
            err("/plans".into(), format!("1 to {MAX_PLANS} plans"));
        }
        let mut names = BTreeSet::new();
        for (i, plan) in spec.plans.iter().enumerate() {
            let at = |f: &str| format!("/plans/{i}/{f}");
            if let Err(e) = plan.name.parse::<AccessPlanName>() {
                err(at("name"), e.to_string());
            } else if !names.insert(plan.name.clone()) {
                err(at("name"), format!("{:?} names another plan too", plan.name));
            }
            if plan.display_name.as_ref().is_some_and(|d| d.chars().count() > 200) {
                err(at("display_name"), "at most 200 characters".into());
            }
            if let Err(e) = plan.kind.parse::<AccessPlanKind>() {
                err(at("kind"), e);
            }
            let o = &plan.opens;
            let set = usize::from(o.all)
                + usize::from(o.categories.is_some())
                + usize::from(o.publishers.is_some())
                + usize::from(o.items.is_some());
            if set != 1 {
                err(at("opens"), "set exactly one of all, categories, publishers, items".into());
            }
            for (j, c) in o.categories.iter().flatten().enumerate() {
                if !self.categories.contains(c) {
                    err(at(&format!("opens/categories/{j}")), format!("{c:?} is not a category of this marketplace"));
                }
            }
            for (j, p) in o.publishers.iter().flatten().enumerate() {
                if p.parse::<OrgName>().is_err() {
                    err(at(&format!("opens/publishers/{j}")), format!("{p:?} is not an organization name"));
                }
            }
            for (j, item) in o.items.iter().flatten().enumerate() {
                let ok = item
                    .split_once('/')
                    .is_some_and(|(p, o)| p.parse::<OrgName>().is_ok() && o.parse::<wharf_core::OfferId>().is_ok());
                if !ok {
                    err(at(&format!("opens/items/{j}")), format!("{item:?} is not publisher/offer"));
                }
            }
            for key in plan.quotas.keys() {
                match key.parse::<QuotaKind>() {
                    Ok(q) if ENFORCED_QUOTAS.contains(&q) => {}
                    Ok(q) => err(
                        at(&format!("quotas/{key}")),
                        format!("the {q} quota is not enforced yet; this version enforces: subscriptions, deployments"),
                    ),
                    Err(e) => err(at(&format!("quotas/{key}")), e),
                }
            }
        }
        if !spec.plans.is_empty() && !spec.plans.iter().any(|p| p.kind == "base") {
            err("/plans".into(), "at least one plan must be a base plan".into());
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        Ok((spec, public, audience))
    }

    fn require_access_admin(actor: &Actor) -> Result<(), AppError> {
        actor.require(TokenScope::ApiWrite)?;
        if !actor.may_platform(PlatformAction::ManageAccess) {
            return Err(AppError::Forbidden("only operators (admin role, admin scope) manage access offers".into()));
        }
        Ok(())
    }

    /// Creates an access offer (operators), or replaces the one named `replacing`.
    /// Replacing cannot drop a plan organizations subscribe to.
    pub async fn put_access_offer(
        &self,
        actor: &Actor,
        spec: AccessOfferSpec,
        replacing: Option<&str>,
    ) -> Result<AccessOfferView, AppError> {
        Self::require_access_admin(actor)?;
        if let Some(name) = replacing
            && name != spec.name
        {
            return Err(AppError::field("/name", format!("must be {name:?}, the access offer in the path")));
        }
        let (spec, public, audience) = self.check_access_offer(spec).await?;
        if replacing.is_some() {
            let Some(current) = self.db.access_offer(&spec.name).await? else {
                return Err(AppError::NotFound(format!("no access offer named {:?}", spec.name)));
            };
            let current = AccessOffer::from_row(current)?;
            for plan in &current.spec.plans {
                if spec.plans.iter().any(|p| p.name == plan.name) {
                    continue;
                }
                let subscribed = self.active_access_subscriptions_to(current.row.id, &plan.name).await?;
                if !subscribed.is_empty() {
                    return Err(AppError::Conflict(format!(
                        "plan {:?} cannot be removed: {} subscribe to it",
                        plan.name,
                        subscribed.join(", ")
                    )));
                }
            }
        }
        let document = serde_json::to_string(&spec).map_err(|e| AppError::Internal(e.to_string()))?;
        let row = self
            .db
            .put_access_offer(&spec.name, &document, public, &audience, &actor.name(), replacing.is_some())
            .await?;
        tracing::info!(access_offer = %row.name, by = %actor.name(), replaced = replacing.is_some(), "access offer saved");
        self.access_offer_view(AccessOffer::from_row(row)?, true).await
    }

    async fn active_access_subscriptions_to(&self, offer: i64, plan: &str) -> Result<Vec<String>, AppError> {
        let mut names = Vec::new();
        for (org, name, _) in self.db.access_subscribers(offer).await? {
            if self.db.access_subscriptions(org, true).await?.iter().any(|s| s.access_offer == offer && s.plan == plan)
            {
                names.push(name);
            }
        }
        Ok(names)
    }

    async fn access_offer_view(&self, offer: AccessOffer, operator: bool) -> Result<AccessOfferView, AppError> {
        let subscribers = if operator {
            self.db.access_subscribers(offer.row.id).await?.into_iter().map(|(_, name, _)| name).collect()
        } else {
            Vec::new()
        };
        let mut spec = offer.spec;
        if !operator {
            // Other customers' names are not shown to customers.
            spec.audience.clear();
        }
        Ok(AccessOfferView {
            spec,
            created_by: offer.row.created_by,
            created_at: offer.row.created_at,
            updated_at: offer.row.updated_at,
            subscribers,
        })
    }

    /// The organizations whose access offers the actor sees: `None` for all.
    async fn access_viewer(&self, actor: &Actor) -> Result<Option<Vec<OrgId>>, AppError> {
        actor.require(TokenScope::ApiRead)?;
        Ok(match actor.user_id() {
            _ if actor.may_platform(PlatformAction::ReadAll) => None,
            Some(user) => Some(self.db.org_ids_of_user(user).await?),
            None => None,
        })
    }

    /// Access offers: every one for operators; public ones and those private to one
    /// of the actor's organizations for others.
    pub async fn access_offers(&self, actor: &Actor) -> Result<Vec<AccessOfferView>, AppError> {
        let viewer = self.access_viewer(actor).await?;
        let mut out = Vec::new();
        for row in self.db.access_offers(viewer.as_deref()).await? {
            out.push(self.access_offer_view(AccessOffer::from_row(row)?, viewer.is_none()).await?);
        }
        Ok(out)
    }

    /// One access offer, when the actor may see it.
    pub async fn access_offer(&self, actor: &Actor, name: &str) -> Result<AccessOfferView, AppError> {
        let viewer = self.access_viewer(actor).await?;
        let offer = self.visible_access_offer(name, viewer.as_deref()).await?;
        self.access_offer_view(offer, viewer.is_none()).await
    }

    async fn visible_access_offer(&self, name: &str, orgs: Option<&[OrgId]>) -> Result<AccessOffer, AppError> {
        let not_found = || AppError::NotFound(format!("no access offer named {name:?}"));
        let row = self.db.access_offer(name).await?.ok_or_else(not_found)?;
        let visible = match orgs {
            None => true,
            Some(orgs) => row.public || row.audience.iter().any(|a| orgs.contains(a)),
        };
        if !visible {
            return Err(not_found());
        }
        AccessOffer::from_row(row)
    }

    /// Deletes an access offer nobody ever subscribed to (operators).
    pub async fn delete_access_offer(&self, actor: &Actor, name: &str) -> Result<(), AppError> {
        Self::require_access_admin(actor)?;
        let row = self
            .db
            .access_offer(name)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no access offer named {name:?}")))?;
        if !self.db.delete_access_offer(row.id).await? {
            return Err(AppError::Conflict(format!(
                "access offer {name:?} has subscriptions (active or cancelled); change its plans instead"
            )));
        }
        Ok(())
    }

    /// Subscribes a customer organization to an access plan (its admins). An add-on
    /// needs an active base plan of the same access offer.
    pub async fn subscribe_access(
        &self,
        actor: &Actor,
        org: &str,
        request: AccessSubscribeRequest,
    ) -> Result<AccessSubscriptionView, AppError> {
        actor.require(TokenScope::ApiWrite)?;
        let (org, _) = self.org_for(actor, org, OrgAction::Subscribe).await?;
        let offer = self.visible_access_offer(&request.access_offer, Some(&[org.id])).await?;
        let plan = offer.plan(&request.plan).ok_or_else(|| {
            AppError::NotFound(format!("access offer {:?} has no plan {:?}", offer.row.name, request.plan))
        })?;
        let kind = kind_of(plan);
        let active = self.db.access_subscriptions(org.id, true).await?;
        if kind == AccessPlanKind::AddOn {
            let has_base = active.iter().any(|s| {
                s.access_offer == offer.row.id
                    && offer.plan(&s.plan).is_some_and(|p| kind_of(p) == AccessPlanKind::Base)
            });
            if !has_base {
                let bases: Vec<&str> = offer
                    .spec
                    .plans
                    .iter()
                    .filter(|p| kind_of(p) == AccessPlanKind::Base)
                    .map(|p| p.name.as_str())
                    .collect();
                return Err(AppError::Conflict(format!(
                    "{:?} is an add-on plan: subscribe to a base plan of {:?} first ({})",
                    plan.name,
                    offer.row.name,
                    bases.join(", ")
                )));
            }
        }
        let row = self.db.subscribe_access(org.id, offer.row.id, &plan.name, &actor.name()).await?;
        tracing::info!(org = %org.name, access_offer = %offer.row.name, plan = %plan.name, by = %actor.name(), "access plan subscribed");
        Ok(subscription_view(&row, kind))
    }

    /// A customer organization's access subscriptions, newest first.
    pub async fn access_subscriptions(
        &self,
        actor: &Actor,
        org: &str,
    ) -> Result<Vec<AccessSubscriptionView>, AppError> {
        actor.require(TokenScope::ApiRead)?;
        let (org, _) = self.org_for(actor, org, OrgAction::ReadSubscriptions).await?;
        let mut out = Vec::new();
        for s in self.db.access_subscriptions(org.id, false).await? {
            let kind = match self.db.access_offer_by_id(s.access_offer).await? {
                Some(row) => AccessOffer::from_row(row)?.plan(&s.plan).map_or(AccessPlanKind::Base, kind_of),
                None => AccessPlanKind::Base,
            };
            out.push(subscription_view(&s, kind));
        }
        Ok(out)
    }

    /// Cancels an access subscription (admins): not while item subscriptions go
    /// through it or add-ons stand on it.
    pub async fn cancel_access_subscription(&self, actor: &Actor, org: &str, id: i64) -> Result<(), AppError> {
        actor.require(TokenScope::ApiWrite)?;
        let (org, _) = self.org_for(actor, org, OrgAction::Subscribe).await?;
        let not_found =
            || AppError::NotFound(format!("organization {} has no active access subscription {id}", org.name));
        let sub =
            self.db.access_subscription(org.id, id).await?.filter(|s| s.cancelled.is_none()).ok_or_else(not_found)?;
        let n = self.db.subscriptions_through(sub.id).await?;
        if n > 0 {
            return Err(AppError::Conflict(format!(
                "{n} subscription(s) to catalog items go through access subscription {id}; cancel them first"
            )));
        }
        let grants = self.grants(org.id).await?;
        if let Some(g) = grants.iter().find(|g| g.base.id == sub.id)
            && g.plans.len() > 1
        {
            let add_ons: Vec<&str> = g.plans.iter().skip(1).map(|p| p.name.as_str()).collect();
            return Err(AppError::Conflict(format!(
                "add-on plans stand on this base plan ({}); cancel them first",
                add_ons.join(", ")
            )));
        }
        if !self.db.cancel_access_subscription(org.id, id, &actor.name()).await? {
            return Err(not_found());
        }
        tracing::info!(org = %org.name, access_subscription = id, by = %actor.name(), "access subscription cancelled");
        Ok(())
    }

    /// What an organization's active access subscriptions grant, per access offer
    /// with an active base plan.
    pub(crate) async fn grants(&self, org: OrgId) -> Result<Vec<Grant>, AppError> {
        let active = self.db.access_subscriptions(org, true).await?;
        let mut grants: Vec<Grant> = Vec::new();
        let mut offers: Vec<i64> = active.iter().map(|s| s.access_offer).collect();
        offers.sort_unstable();
        offers.dedup();
        for id in offers {
            let Some(row) = self.db.access_offer_by_id(id).await? else { continue };
            let offer = AccessOffer::from_row(row)?;
            let mine: Vec<&AccessSubscriptionRow> = active.iter().filter(|s| s.access_offer == id).collect();
            let base = mine.iter().find(|s| offer.plan(&s.plan).is_some_and(|p| kind_of(p) == AccessPlanKind::Base));
            let Some(base) = base.map(|b| (*b).clone()) else { continue };
            let mut plans: Vec<AccessPlanSpec> = offer.plan(&base.plan).into_iter().cloned().collect();
            plans.extend(
                mine.iter()
                    .filter(|s| s.id != base.id)
                    .filter_map(|s| offer.plan(&s.plan))
                    .filter(|p| kind_of(p) == AccessPlanKind::AddOn)
                    .cloned(),
            );
            grants.push(Grant { offer, base, plans });
        }
        Ok(grants)
    }

    /// An organization's usage of its access offers' quotas (its members; operators).
    pub async fn usage(&self, actor: &Actor, org: &str) -> Result<UsageView, AppError> {
        actor.require(TokenScope::ApiRead)?;
        let (org, _) = self.org_for(actor, org, OrgAction::ReadSubscriptions).await?;
        let mut access = Vec::new();
        for g in self.grants(org.id).await? {
            let subscriptions = self.db.subscriptions_through(g.base.id).await?;
            let deployments = self.db.deployments_through(g.base.id).await?;
            access.push(AccessUsageView {
                access_offer: g.offer.row.name.clone(),
                plans: g.plans.iter().map(|p| p.name.clone()).collect(),
                quotas: [(QuotaKind::Subscriptions, subscriptions), (QuotaKind::Deployments, deployments)]
                    .into_iter()
                    .map(|(q, used)| QuotaView { quota: q.as_str().to_owned(), limit: g.limit(q), used })
                    .collect(),
            });
        }
        Ok(UsageView { org: org.name.to_string(), access })
    }
}
