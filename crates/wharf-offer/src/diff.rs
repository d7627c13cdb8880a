//! Field-by-field comparison of two offer documents (draft against live or preview).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::problem::FieldPath;

/// How a field differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Only in the newer document.
    Added,
    /// Only in the older document.
    Removed,
    /// In both, with different values.
    Changed,
}

/// One difference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Where, as a YAML author reads it (`plans.standard.pricing.model`).
    pub path: String,
    /// The same as a JSON Pointer into the document, lists of named things keyed by name.
    pub pointer: String,
    /// Added, removed or changed.
    pub kind: ChangeKind,
    /// The older value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    /// The newer value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

/// Fields that name the elements of a list, in order of preference: lists of objects
/// are matched by the first of these that every element has, unique.
const KEYS: &[&str] = &["id", "name", "repository"];

/// The differences from `before` to `after`, fields in alphabetical order. Objects are compared
/// field by field; lists of named objects (plans by `id`, parameters by `name`,
/// images by `repository`) element by element by name; other lists as whole values.
pub fn diff(before: &Value, after: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    walk(&FieldPath::root(), Some(before), Some(after), &mut out);
    out
}

fn key_of(list: &[Value]) -> Option<&'static str> {
    KEYS.iter().copied().find(|k| {
        let mut seen = std::collections::HashSet::new();
        !list.is_empty()
            && list.iter().all(|v| v.get(*k).and_then(Value::as_str).is_some_and(|s| seen.insert(s.to_owned())))
    })
}

fn walk(path: &FieldPath, before: Option<&Value>, after: Option<&Value>, out: &mut Vec<Change>) {
    let change = |kind, b: Option<&Value>, a: Option<&Value>| Change {
        path: path.to_string(),
        pointer: path.pointer(),
        kind,
        before: b.cloned(),
        after: a.cloned(),
    };
    match (before, after) {
        (None, None) => {}
        (None, Some(a)) => out.push(change(ChangeKind::Added, None, Some(a))),
        (Some(b), None) => out.push(change(ChangeKind::Removed, Some(b), None)),
        (Some(Value::Object(b)), Some(Value::Object(a))) => {
            let mut keys: Vec<&String> = b.keys().collect();
            keys.extend(a.keys().filter(|k| !b.contains_key(*k)));
            for k in keys {
                walk(&path.key(k.clone()), b.get(k), a.get(k), out);
            }
        }
        (Some(Value::Array(b)), Some(Value::Array(a))) if b != a => match key_of(b).or(key_of(a)) {
            Some(k) if b.iter().chain(a.iter()).all(|v| v.get(k).and_then(Value::as_str).is_some()) => {
                let name = |v: &Value| v.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
                let mut names: Vec<String> = b.iter().map(name).collect();
                names.extend(a.iter().map(name).filter(|n| !b.iter().any(|v| name(v) == *n)));
                for n in names {
                    let find = |list: &[Value]| list.iter().find(|v| name(v) == n).cloned();
                    walk(&path.key(n.clone()), find(b).as_ref(), find(a).as_ref(), out);
                }
            }
            _ => out.push(change(ChangeKind::Changed, before, after)),
        },
        (Some(b), Some(a)) if b != a => out.push(change(ChangeKind::Changed, Some(b), Some(a))),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_compare_field_by_field_and_plans_by_id() {
        let live = json!({
            "id": "db",
            "listings": {"en-US": {"name": "DB", "keywords": ["a", "b"]}},
            "plans": [
                {"id": "basic", "name": "Basic", "pricing": {"model": "free"}},
                {"id": "pro", "name": "Pro", "images": [{"repository": "c/db", "tags": ["1.0.0"]}]}
            ]
        });
        let draft = json!({
            "id": "db",
            "listings": {"en-US": {"name": "DB 2", "keywords": ["a", "c"]}, "nl-NL": {"name": "DB"}},
            "plans": [
                {"id": "pro", "name": "Pro", "images": [{"repository": "c/db", "tags": ["1.0.0", "1.1.0"]}]},
                {"id": "team", "name": "Team"}
            ]
        });
        let changes: Vec<(String, ChangeKind)> = diff(&live, &draft).into_iter().map(|c| (c.path, c.kind)).collect();
        assert_eq!(
            changes,
            [
                ("listings.en-US.keywords".to_owned(), ChangeKind::Changed),
                ("listings.en-US.name".to_owned(), ChangeKind::Changed),
                ("listings.nl-NL".to_owned(), ChangeKind::Added),
                ("plans.basic".to_owned(), ChangeKind::Removed),
                ("plans.pro.images.\"c/db\".tags".to_owned(), ChangeKind::Changed),
                ("plans.team".to_owned(), ChangeKind::Added),
            ]
        );
        assert!(diff(&live, &live).is_empty());
        let c = &diff(&json!({"a": 1}), &json!({"a": 2}))[0];
        assert_eq!((c.pointer.as_str(), c.before.clone(), c.after.clone()), ("/a", Some(json!(1)), Some(json!(2))));
    }
}
