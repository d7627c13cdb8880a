//! Metering for paid plans and the entitlement check, for the deployed software.
//!
//! A subscription's admins issue a usage key (`wharf_usage_…`, shown once; issuing
//! another replaces it). With it the software asks whether its subscription is
//! active and on which plan (`GET /api/v1/entitlement`), and reports usage per
//! dimension and hour (`POST /api/v1/usage`): the plan's dimensions only
//! (`core_hours` for per-core-hour plans), within the last 24 hours, counted once
//! per (subscription, dimension, hour): a repeat is answered as a duplicate with the
//! first report's quantity. Customers read their subscription's usage per month,
//! publishers their offer's.

use wharf_api_types::{
    DimensionUsageView, EntitlementView, MonthUsageView, UsageKeyView, UsageRecordView, UsageReport,
};
use wharf_auth::api_token;
use wharf_core::{OrgAction, Timestamp, TokenScope};
use wharf_db::metering::{DimensionUse, Recorded, UsageOf};
use wharf_db::subscriptions::SubscriptionRow;

use crate::{Actor, App, AppError};

/// Every usage key starts with this.
pub const USAGE_KEY_PREFIX: &str = "wharf_usage_";
/// How far back an hour may be reported.
const REPORT_WINDOW_MS: i64 = 24 * 3600 * 1000;
const HOUR_MS: i64 = 3600 * 1000;
/// The largest quantity of one report.
const MAX_QUANTITY: f64 = 1_000_000.0;

/// `[start, end)` of month `YYYY-MM` (UTC), in milliseconds.
fn month_range(month: &str) -> Result<(i64, i64), AppError> {
    let bad = || AppError::field("/month", format!("{month:?} is not a month like 2026-12"));
    let (y, m) = month.split_once('-').ok_or_else(bad)?;
    let (y, m): (i32, u32) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || month.len() != 7 {
        return Err(bad());
    }
    let start = |y: i32, m: u32| -> Result<i64, AppError> {
        let t: Timestamp = format!("{y:04}-{m:02}-01T00:00:00Z").parse().map_err(|_| bad())?;
        Ok(t.as_millis())
    };
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    Ok((start(y, m)?, start(ny, nm)?))
}

fn uses(rows: Vec<DimensionUse>) -> Vec<DimensionUsageView> {
    rows.into_iter()
        .map(|u| DimensionUsageView {
            subscription: u.subscription,
            org: u.org,
            plan: u.plan,
            dimension: u.dimension,
            quantity: u.quantity as f64 / 1000.0,
            hours: u.hours,
        })
        .collect()
}

impl App {
    /// Issues (or rotates) a subscription's usage key (admins): shown once.
    pub async fn issue_usage_key(&self, actor: &Actor, org: &str, id: i64) -> Result<UsageKeyView, AppError> {
        actor.require(TokenScope::ApiWrite)?;
        let (org, s) = self.org_subscription(actor, org, id, OrgAction::Subscribe).await?;
        let (secret, _) = api_token::generate();
        let key = format!("{USAGE_KEY_PREFIX}{}", &secret[api_token::PREFIX.len()..]);
        if s.cancelled.is_some() || !self.db.set_usage_key(org.id, s.id, &api_token::hash(&key)).await? {
            return Err(AppError::Conflict(format!("subscription {id} is cancelled")));
        }
        tracing::info!(org = %org.name, subscription = id, by = %actor.name(), "usage key issued");
        Ok(UsageKeyView { subscription: s.id, key })
    }

    /// The subscription a usage key (an `Authorization: Bearer` value) belongs to.
    async fn by_usage_key(&self, header: Option<&str>) -> Result<SubscriptionRow, AppError> {
        let refused = || {
            AppError::Unauthenticated("send the subscription's usage key: Authorization: Bearer wharf_usage_…".into())
        };
        let key = header
            .and_then(|h| h.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, k)| k.trim())
            .filter(|k| k.starts_with(USAGE_KEY_PREFIX))
            .ok_or_else(refused)?;
        self.db.subscription_by_usage_key(&api_token::hash(key)).await?.ok_or_else(refused)
    }

    /// The entitlement check: whether the key's subscription is active, and on which plan.
    pub async fn entitlement(&self, header: Option<&str>) -> Result<EntitlementView, AppError> {
        let s = self.by_usage_key(header).await?;
        let offer = self.db.offer_by_key(s.offer).await?.ok_or_else(|| AppError::Internal("offer gone".into()))?;
        let publisher = self.db.org_by_id(offer.org_id).await?.map(|o| o.name.to_string()).unwrap_or_default();
        let org = self.db.org_by_id(s.org_id).await?.map(|o| o.name.to_string()).unwrap_or_default();
        let pricing = self.plan_pricing(&s).await?;
        Ok(EntitlementView {
            subscription: s.id,
            active: s.cancelled.is_none(),
            org,
            offer: format!("{publisher}/{}", offer.offer_id),
            plan: s.plan.clone(),
            pricing: pricing.model.clone().unwrap_or_else(|| "free".into()),
            dimensions: pricing.metered(),
            cancelled_at: s.cancelled.as_ref().map(|c| c.1),
        })
    }

    /// The pricing of a subscription's plan in the offer's live version (the
    /// version whose terms were accepted when none is live).
    async fn plan_pricing(&self, s: &SubscriptionRow) -> Result<wharf_offer::spec::Pricing, AppError> {
        let version = self.live_version(s.offer).await?.unwrap_or(s.terms_version);
        let spec = self.live_spec(s.offer, version).await?;
        Ok(spec
            .plans
            .iter()
            .find(|p| p.id.as_deref() == Some(s.plan.as_str()))
            .and_then(|p| p.pricing.clone())
            .unwrap_or_default())
    }

    /// Records one hour of usage reported with a usage key (see the module).
    pub async fn report_usage(&self, header: Option<&str>, report: UsageReport) -> Result<UsageRecordView, AppError> {
        let s = self.by_usage_key(header).await?;
        if report.subscription != s.id {
            return Err(AppError::Forbidden(format!(
                "this usage key belongs to another subscription than {}; report with that subscription's key",
                report.subscription
            )));
        }
        let mut errors = Vec::new();
        let dimensions = self.plan_pricing(&s).await?.metered();
        if !dimensions.contains(&report.dimension) {
            let known =
                if dimensions.is_empty() { "none: the plan is not metered".to_owned() } else { dimensions.join(", ") };
            errors.push(wharf_api_types::FieldError::new(
                "/dimension",
                format!("{:?} is not a dimension of the plan (it meters: {known})", report.dimension),
            ));
        }
        let now = Timestamp::now().as_millis();
        let hour = match report.hour.parse::<Timestamp>() {
            Ok(t) => {
                let hour = t.as_millis().div_euclid(HOUR_MS) * HOUR_MS;
                if t.as_millis() > now {
                    errors.push(wharf_api_types::FieldError::new("/hour", "is in the future"));
                } else if hour + HOUR_MS < now - REPORT_WINDOW_MS {
                    errors.push(wharf_api_types::FieldError::new("/hour", "is more than 24 hours ago"));
                }
                hour
            }
            Err(_) => {
                errors.push(wharf_api_types::FieldError::new(
                    "/hour",
                    "must be an RFC 3339 time, e.g. 2026-12-06T19:00:00Z",
                ));
                0
            }
        };
        let q = report.quantity;
        if !(q.is_finite() && q > 0.0 && q <= MAX_QUANTITY) || ((q * 1000.0).round() - q * 1000.0).abs() > 1e-6 {
            errors.push(wharf_api_types::FieldError::new(
                "/quantity",
                "must be positive, at most 1,000,000, with at most 3 decimals",
            ));
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        if let Some((_, at)) = &s.cancelled
            && hour >= at.as_millis()
        {
            return Err(AppError::Conflict(format!("subscription {} was cancelled at {at}", s.id)));
        }
        let milli = (q * 1000.0).round() as i64;
        let (status, quantity) = match self.db.record_usage(s.id, &report.dimension, hour, milli).await? {
            Recorded::New => ("accepted", milli),
            Recorded::Duplicate(first) => ("duplicate", first),
        };
        metrics::counter!("wharf_usage_reports_total", "status" => status).increment(1);
        Ok(UsageRecordView {
            subscription: s.id,
            dimension: report.dimension,
            hour: Timestamp::from_millis(hour),
            quantity: quantity as f64 / 1000.0,
            status: status.to_owned(),
        })
    }

    /// A subscription's usage in a month (its organization's members; operators).
    pub async fn subscription_usage(
        &self,
        actor: &Actor,
        org: &str,
        id: i64,
        month: &str,
    ) -> Result<MonthUsageView, AppError> {
        actor.require(TokenScope::ApiRead)?;
        let (_, s) = self.org_subscription(actor, org, id, OrgAction::ReadSubscriptions).await?;
        let (from, to) = month_range(month)?;
        let usage = uses(self.db.usage(UsageOf::Subscription(s.id), from, to).await?);
        Ok(MonthUsageView { month: month.to_owned(), usage })
    }

    /// Usage of every subscription to a publisher's offer in a month (members who may read its offers).
    pub async fn offer_usage(
        &self,
        actor: &Actor,
        org: &str,
        offer: &str,
        month: &str,
    ) -> Result<MonthUsageView, AppError> {
        actor.require(TokenScope::ApiRead)?;
        let (org, _) = self.org_for(actor, org, OrgAction::ReadOffers).await?;
        let not_found = || AppError::NotFound(format!("organization {} has no offer {offer:?}", org.name));
        let id: wharf_core::OfferId = offer.parse().map_err(|_| not_found())?;
        let row = self.db.offer(org.id, &id).await?.ok_or_else(not_found)?;
        let (from, to) = month_range(month)?;
        let usage = uses(self.db.usage(UsageOf::Offer(row.pk), from, to).await?);
        Ok(MonthUsageView { month: month.to_owned(), usage })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_ranges_of_utc_milliseconds() {
        assert_eq!(month_range("1970-01").unwrap(), (0, 31 * 24 * HOUR_MS));
        let (a, b) = month_range("2026-12").unwrap();
        assert_eq!(b - a, 31 * 24 * HOUR_MS);
        for bad in ["2026-13", "2026-1", "26-12", "x", "2026-00"] {
            assert!(month_range(bad).is_err(), "{bad}");
        }
    }
}
