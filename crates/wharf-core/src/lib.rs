//! Wharf's domain types and rules, free of I/O.
//!
//! - [`names`]: user and organization names, parsed at the boundary.
//! - [`access`]: organization kinds, membership roles and the permission matrix.
//! - [`scope`]: API token scopes.
//! - [`ids`]: typed database ids.
//! - [`offer`]: offer and plan ids, offer states, version statuses and history events.
//! - [`time`]: the timestamp type stored in the database and shown in the API.
//! - [`text`]: e-mail addresses and labels people type, parsed at the boundary.

pub mod access;
pub mod ids;
pub mod names;
pub mod offer;
pub mod scope;
pub mod text;
pub mod time;

pub use access::{OrgAction, OrgKind, PlatformAction, Role};
pub use ids::{OfferKey, OrgId, RepositoryId, TokenId, UserId};
pub use names::{NameError, OrgName, UserName};
pub use offer::{OfferEvent, OfferId, OfferState, PlanId, VersionStatus};
pub use scope::{ScopeError, TokenScope, TokenScopes};
pub use text::{DisplayName, Email, TokenName};
pub use time::{HumanDuration, Timestamp};
