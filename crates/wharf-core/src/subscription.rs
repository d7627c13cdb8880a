//! Access offers (the operator's offers of catalog items, made of plans with quotas)
//! and the quotas they set.
//!
//! The model is the Azure Stack Hub one: an operator's offer is made of base and
//! add-on plans; a customer organization subscribes to a base plan before it can use
//! what the plan opens, and add-on plans raise the base plan's quotas.

text_newtype!(
    /// An access offer's name: the same rule as organization names.
    AccessOfferName,
    crate::NameError,
    crate::names::check_name
);

text_newtype!(
    /// An access plan's name, unique within its access offer: the same rule as
    /// organization names.
    AccessPlanName,
    crate::NameError,
    crate::names::check_name
);

/// Whether an access plan stands alone or raises a base plan's quotas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessPlanKind {
    /// Subscribed first; opens items and sets quotas.
    Base,
    /// Subscribed on top of a base plan of the same access offer: opens more items
    /// and adds to the base plan's quotas.
    AddOn,
}

impl AccessPlanKind {
    /// All kinds.
    pub const ALL: [AccessPlanKind; 2] = [AccessPlanKind::Base, AccessPlanKind::AddOn];

    /// The stored and displayed form.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessPlanKind::Base => "base",
            AccessPlanKind::AddOn => "add_on",
        }
    }
}

/// A quota an access plan may set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotaKind {
    /// Active item subscriptions made through the access offer.
    Subscriptions,
    /// Deployments rendered for those subscriptions (each `wharf deploy` that records one).
    Deployments,
    /// Gigabytes (10^9 bytes) of image content pulled under those subscriptions in a
    /// calendar month (UTC).
    PulledGbPerMonth,
}

impl QuotaKind {
    /// All quotas.
    pub const ALL: [QuotaKind; 3] = [QuotaKind::Subscriptions, QuotaKind::Deployments, QuotaKind::PulledGbPerMonth];

    /// The stored and displayed form.
    pub fn as_str(self) -> &'static str {
        match self {
            QuotaKind::Subscriptions => "subscriptions",
            QuotaKind::Deployments => "deployments",
            QuotaKind::PulledGbPerMonth => "pulled_gb_per_month",
        }
    }
}

str_enum_impls!(AccessPlanKind, "access plan kind");
str_enum_impls!(QuotaKind, "quota");

/// What an access plan opens: catalog items customers may then subscribe to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Opens {
    /// Every item of the catalog.
    All,
    /// Items listed in any of these categories (in any locale).
    Categories(Vec<String>),
    /// Items of these publisher organizations.
    Publishers(Vec<String>),
    /// These items, each `publisher/offer`.
    Items(Vec<String>),
}

/// What an item is, as far as [`Opens`] is concerned.
#[derive(Debug, Clone, Copy)]
pub struct ItemFacts<'a> {
    /// The publisher organization's name.
    pub publisher: &'a str,
    /// The offer id.
    pub offer: &'a str,
    /// Its categories, in every locale.
    pub categories: &'a [String],
}

impl Opens {
    /// Whether the plan opens this item.
    pub fn opens(&self, item: ItemFacts<'_>) -> bool {
        match self {
            Opens::All => true,
            Opens::Categories(c) => item.categories.iter().any(|x| c.contains(x)),
            Opens::Publishers(p) => p.iter().any(|x| x == item.publisher),
            Opens::Items(i) => {
                i.iter().any(|x| x.split_once('/').is_some_and(|(p, o)| p == item.publisher && o == item.offer))
            }
        }
    }
}

/// A quota's limit and what is used of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaUse {
    /// Which quota.
    pub kind: QuotaKind,
    /// The limit; `None`: no limit.
    pub limit: Option<u64>,
    /// Used now (this month for monthly quotas).
    pub used: u64,
}

impl QuotaUse {
    /// Whether `more` fits.
    pub fn allows(&self, more: u64) -> bool {
        self.limit.is_none_or(|l| self.used.saturating_add(more) <= l)
    }
}

/// The limit a base plan and its add-ons set together: none when the base plan sets
/// none; otherwise the base plan's plus each add-on's (an add-on that does not set
/// it adds nothing).
pub fn combined_limit(base: Option<u64>, add_ons: impl IntoIterator<Item = Option<u64>>) -> Option<u64> {
    let base = base?;
    Some(add_ons.into_iter().flatten().fold(base, u64::saturating_add))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_plans_open() {
        let cats = vec!["databases".to_owned()];
        let item = ItemFacts { publisher: "contoso", offer: "db", categories: &cats };
        let table: &[(Opens, bool)] = &[
            (Opens::All, true),
            (Opens::Categories(vec!["databases".into()]), true),
            (Opens::Categories(vec!["web".into()]), false),
            (Opens::Publishers(vec!["contoso".into()]), true),
            (Opens::Publishers(vec!["tailspin".into()]), false),
            (Opens::Items(vec!["contoso/db".into()]), true),
            (Opens::Items(vec!["contoso/dbx".into(), "tailspin/db".into()]), false),
        ];
        for (opens, want) in table {
            assert_eq!(opens.opens(item), *want, "{opens:?}");
        }
    }

    #[test]
    fn add_ons_raise_a_limited_base_only() {
        assert_eq!(combined_limit(Some(2), [Some(3), None]), Some(5));
        assert_eq!(combined_limit(None, [Some(3)]), None);
        assert_eq!(combined_limit(Some(2), []), Some(2));
        let q = QuotaUse { kind: QuotaKind::Subscriptions, limit: Some(2), used: 2 };
        assert!(!q.allows(1));
        assert!(q.allows(0));
        assert_eq!("pulled_gb_per_month".parse::<QuotaKind>(), Ok(QuotaKind::PulledGbPerMonth));
        assert!("gb".parse::<QuotaKind>().unwrap_err().contains("expected one of subscriptions"));
    }
}
