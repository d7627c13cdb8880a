//! Wharf's domain types and rules, free of I/O.
//!
//! - [`names`]: user and organization names, parsed at the boundary.
//! - [`access`]: organization kinds, membership roles and the permission matrix.
//! - [`catalog`]: catalog facets, sort orders, search text and locale negotiation.
//! - [`scope`]: API token scopes.
//! - [`subscription`]: access offers, their plans, what they open and their quotas.
//! - [`ids`]: typed database ids.
//! - [`offer`]: offer and plan ids, offer states, version statuses and history events.
//! - [`time`]: the timestamp type stored in the database and shown in the API.
//! - [`text`]: e-mail addresses and labels people type, parsed at the boundary.

/// A text newtype that only holds text keeping `$rule` (a `fn(&str) -> Result<(), $err>`):
/// `as_str`, `FromStr` (the rule), `Display`, `AsRef<str>`, comparison with `str`, and
/// serde as a string that must keep the rule. Names, ids, e-mail addresses and labels
/// are all made by it.
macro_rules! text_newtype {
    ($(#[$doc:meta])* $name:ident, $err:ty, $rule:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = $err;

            fn from_str(s: &str) -> Result<Self, $err> {
                let rule: fn(&str) -> Result<(), $err> = $rule;
                rule(s)?;
                Ok($name(s.to_owned()))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

/// `Display` and `FromStr` for an enum with `ALL` and `as_str`: the stored and shown form,
/// and an error naming every allowed value.
macro_rules! str_enum_impls {
    ($ty:ident, $what:literal) => {
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $ty::ALL.into_iter().find(|v| v.as_str() == s).ok_or_else(|| {
                    let names: Vec<&str> = $ty::ALL.iter().map(|v| v.as_str()).collect();
                    format!(concat!("unknown ", $what, " {:?}: expected one of {}"), s, names.join(", "))
                })
            }
        }
    };
}

pub mod access;
pub mod catalog;
pub mod ids;
pub mod names;
pub mod offer;
pub mod scope;
pub mod subscription;
pub mod text;
pub mod time;

pub use access::{OrgAction, OrgKind, PlatformAction, Role};
pub use catalog::{CatalogFacet, CatalogSort, FacetValues, SearchText};
pub use ids::{JobId, OfferKey, OrgId, RepositoryId, TokenId, UserId};
pub use names::{MARKETPLACE_NAMESPACE, NameError, OrgName, UserName};
pub use offer::{OfferEvent, OfferId, OfferState, PipelineStep, PlanId, StepState, VersionStatus, WebhookEvent};
pub use scope::{ScopeError, TokenScope, TokenScopes};
pub use subscription::{AccessOfferName, AccessPlanKind, AccessPlanName, Opens, QuotaKind, QuotaUse};
pub use text::{DisplayName, Email, TokenName};
pub use time::{HumanDuration, Timestamp};

/// Stops the process at once, as `kill -9` would, when the environment variable
/// `WHARF_FAILPOINTS` (a comma-separated list) names `name`. Debug builds only: in
/// release builds this does nothing. The crash tests use it to stop the publishing
/// pipeline at exact moments (after an image is certified, promoted, signed, …) and
/// show that a restart completes the work and repeats nothing visible.
#[inline]
pub fn failpoint(name: &str) {
    #[cfg(debug_assertions)]
    if std::env::var("WHARF_FAILPOINTS").is_ok_and(|v| v.split(',').any(|n| n.trim() == name)) {
        eprintln!("failpoint {name}: stopping the process");
        std::process::abort();
    }
    #[cfg(not(debug_assertions))]
    let _ = name;
}
