//! Problems found in an offer document, each with the path of the field it concerns.

use std::fmt;

/// One step of a [`FieldPath`]: a map key or a list index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Segment {
    /// A key of a map or a field of a struct.
    Key(String),
    /// An index into a list.
    Index(usize),
}

/// Where a field is in the document, from its root.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldPath(Vec<Segment>);

impl FieldPath {
    /// The root of the document.
    pub fn root() -> FieldPath {
        FieldPath(Vec::new())
    }

    /// This path extended by a key.
    pub fn key(&self, k: impl Into<String>) -> FieldPath {
        let mut v = self.0.clone();
        v.push(Segment::Key(k.into()));
        FieldPath(v)
    }

    /// This path extended by a list index.
    pub fn index(&self, i: usize) -> FieldPath {
        let mut v = self.0.clone();
        v.push(Segment::Index(i));
        FieldPath(v)
    }

    /// The segments, from the root.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// The path as a JSON Pointer (RFC 6901), e.g. `/plans/0/id`: how the REST API names fields.
    pub fn pointer(&self) -> String {
        let mut out = String::new();
        for s in &self.0 {
            out.push('/');
            match s {
                Segment::Key(k) => out.push_str(&k.replace('~', "~0").replace('/', "~1")),
                Segment::Index(i) => out.push_str(&i.to_string()),
            }
        }
        out
    }
}

/// Dotted form, as a YAML author reads it: `plans[0].images[1].tags[2]`,
/// `listings.en-US.name`; keys that are not plain words are quoted.
impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(document)");
        }
        for (n, s) in self.0.iter().enumerate() {
            match s {
                Segment::Key(k) => {
                    if n > 0 {
                        f.write_str(".")?;
                    }
                    let plain = !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                    if plain { f.write_str(k)? } else { write!(f, "{k:?}")? }
                }
                Segment::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

/// How much a problem matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Blocks saving (for format rules) or submitting (for completeness rules).
    Error,
    /// Worth knowing; blocks nothing (e.g. HTML removed from a description).
    Warning,
}

/// One problem: where, what rule, how bad.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Problem {
    /// The field.
    pub path: FieldPath,
    /// The rule it broke, as a sentence fragment ("must be at most 50 characters long").
    pub message: String,
    /// Error or warning.
    pub severity: Severity,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{label}: {}: {}", self.path, self.message)
    }
}

/// Problems collected while checking a document, in the order found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems(Vec<Problem>);

impl Problems {
    /// No problems yet.
    pub fn new() -> Problems {
        Problems(Vec::new())
    }

    /// Records an error at `path`.
    pub fn error(&mut self, path: &FieldPath, message: impl Into<String>) {
        self.0.push(Problem { path: path.clone(), message: message.into(), severity: Severity::Error });
    }

    /// Records a warning at `path`.
    pub fn warning(&mut self, path: &FieldPath, message: impl Into<String>) {
        self.0.push(Problem { path: path.clone(), message: message.into(), severity: Severity::Warning });
    }

    /// Appends other problems.
    pub fn extend(&mut self, other: Problems) {
        self.0.extend(other.0);
    }

    /// Every problem, in the order found.
    pub fn all(&self) -> &[Problem] {
        &self.0
    }

    /// The errors only.
    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.0.iter().filter(|p| p.severity == Severity::Error)
    }

    /// Whether any problem is an error.
    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }

    /// Whether there are no problems at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The problems, consumed.
    pub fn into_vec(self) -> Vec<Problem> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_as_yaml_and_as_json_pointers() {
        let p = FieldPath::root().key("plans").index(0).key("images").index(1).key("tags");
        assert_eq!(p.to_string(), "plans[0].images[1].tags");
        assert_eq!(p.pointer(), "/plans/0/images/1/tags");
        let q = FieldPath::root().key("listings").key("en-US").key("a/b~c");
        assert_eq!(q.to_string(), "listings.en-US.\"a/b~c\"");
        assert_eq!(q.pointer(), "/listings/en-US/a~1b~0c");
        assert_eq!(FieldPath::root().to_string(), "(document)");
    }
}
