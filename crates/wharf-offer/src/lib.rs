//! Offer-as-code: the offer document ([`spec::OfferSpec`]), the rules it must follow
//! ([`rules`]), and the pieces both the server and the CLI need: reading YAML and
//! JSON with every unknown key named ([`parse`]), Markdown rendered and sanitized
//! ([`text`]), listing images checked from their bytes ([`media`]), ids and version
//! tags ([`ids`]), the JSON Schema ([`schema`]), the starter file ([`template`]) and
//! Azure createUiDefinition forms mapped to parameters ([`ui_definition`]).
//!
//! No I/O: callers hand in bytes and the server's data.

pub mod diff;
pub mod ids;
pub mod media;
pub mod parse;
pub mod problem;
pub mod rules;
pub mod schema;
pub mod spec;
pub mod template;
pub mod text;
pub mod ui_definition;
pub mod versions;

pub use ids::{Locale, OfferId, PlanId, VersionTag};
pub use problem::{FieldPath, Problem, Problems, Severity};
pub use spec::OfferSpec;
