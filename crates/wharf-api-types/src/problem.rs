//! RFC 9457 problem details: the body of every REST API error.
//!
//! The server always writes every member; a client reads what a proxy wrote as well, so
//! absent members default to empty.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The media type of error bodies.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// JSON Pointer (RFC 6901) to the field in the request body, e.g. `/name`.
    pub pointer: String,
    /// The rule it broke.
    pub detail: String,
}

impl FieldError {
    /// An error for the field at `pointer`.
    pub fn new(pointer: &str, detail: impl std::fmt::Display) -> FieldError {
        FieldError { pointer: pointer.to_owned(), detail: detail.to_string() }
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem, e.g. `urn:wharf:problem:validation-failed`.
    #[serde(rename = "type", default)]
    #[schema(required = true)]
    pub kind: String,
    /// Short summary of the kind.
    #[serde(default)]
    #[schema(required = true)]
    pub title: String,
    /// The HTTP status code.
    #[serde(default)]
    #[schema(required = true)]
    pub status: u16,
    /// What went wrong this time.
    #[serde(default)]
    #[schema(required = true)]
    pub detail: String,
    /// Every invalid field, for `validation-failed`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl Problem {
    /// A problem of kind `urn:wharf:problem:<slug>`.
    pub fn new(status: u16, slug: &str, title: &str, detail: impl Into<String>) -> Problem {
        Problem {
            kind: format!("urn:wharf:problem:{slug}"),
            title: title.to_owned(),
            status,
            detail: detail.into(),
            errors: Vec::new(),
        }
    }
}
