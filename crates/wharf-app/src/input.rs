//! Input as the surfaces parsed it. Each field of a use case's input is its type
//! (`UserName`, `Email`, `NewPassword`, …) or the rules it broke, so a use case can
//! check what the actor may do first and then report every invalid field at once,
//! its own checks against stored data included, while the types keep the rules the
//! same on every surface.

use std::fmt::Display;
use std::str::FromStr;

use wharf_api_types::FieldError;

use crate::AppError;

/// A field as a surface parsed it: its value, or the rules it broke (by JSON Pointer
/// into the request).
pub type Parsed<T> = Result<T, Vec<FieldError>>;

/// `text` parsed as a `T`; a failure names `pointer` and the rule.
pub fn field<T>(pointer: &str, text: &str) -> Parsed<T>
where
    T: FromStr,
    T::Err: Display,
{
    text.parse().map_err(|e| vec![FieldError::new(pointer, e)])
}

/// An optional field: `Ok(None)` when absent.
pub fn optional<T>(pointer: &str, text: Option<&str>) -> Parsed<Option<T>>
where
    T: FromStr,
    T::Err: Display,
{
    text.map(|t| field(pointer, t)).transpose()
}

/// The error listing every field of an input that did not parse (pass each field's
/// `.err()`), with the rules the use case found broken itself.
pub(crate) fn invalid(fields: impl IntoIterator<Item = Option<Vec<FieldError>>>, found: Vec<FieldError>) -> AppError {
    let mut errors: Vec<FieldError> = fields.into_iter().flatten().flatten().collect();
    errors.extend(found);
    AppError::Invalid(errors)
}
