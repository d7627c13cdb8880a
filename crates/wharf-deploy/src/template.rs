//! Placeholders (`${name}`, `${image:REPO}`, `${pull_secret}`; `$${` is a literal
//! `${`) substituted inside one piece of text, and YAML templates rendered
//! structurally: the template is parsed first, then each string scalar is
//! substituted. A scalar that is exactly one parameter placeholder takes the
//! parameter's type (a number, a boolean, text); any other scalar stays text. A value
//! holding a newline, `}` or YAML syntax therefore stays inside its scalar.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::values::Typed;

/// What placeholders stand for.
#[derive(Debug, Clone)]
pub(crate) struct Substitutions<'a> {
    pub values: &'a BTreeMap<String, Typed>,
    /// Source repository → pinned reference.
    pub images: &'a BTreeMap<String, String>,
    /// The name of the image pull secret (Kubernetes and Helm).
    pub pull_secret: &'a str,
}

/// One piece of text with its placeholders replaced.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Substituted {
    /// The text was exactly one parameter placeholder: its typed value.
    Whole(Typed),
    /// Text.
    Text(String),
}

impl Substituted {
    pub fn text(self) -> String {
        match self {
            Substituted::Whole(t) => t.text(),
            Substituted::Text(s) => s,
        }
    }
}

impl Substitutions<'_> {
    fn lookup(&self, inner: &str) -> Result<Typed, String> {
        let inner = inner.trim();
        if let Some(repo) = inner.strip_prefix("image:") {
            return self
                .images
                .get(repo)
                .map(|r| Typed::Text(r.clone()))
                .ok_or_else(|| format!("${{image:{repo}}} names no image of the plan"));
        }
        if inner == "pull_secret" {
            return Ok(Typed::Text(self.pull_secret.to_owned()));
        }
        self.values.get(inner).cloned().ok_or_else(|| format!("${{{inner}}} is not a parameter of the plan"))
    }

    /// Substitutes the placeholders of `text`.
    pub fn apply(&self, text: &str) -> Result<Substituted, String> {
        if let Some(inner) = text.strip_prefix("${").and_then(|t| t.strip_suffix('}'))
            && !inner.contains('}')
            && !inner.trim().starts_with("image:")
        {
            return Ok(Substituted::Whole(self.lookup(inner)?));
        }
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find("${") {
            if rest[..at].ends_with('$') {
                // `$${` is a literal `${`.
                out.push_str(&rest[..at - 1]);
                out.push_str("${");
                rest = &rest[at + 2..];
                continue;
            }
            let Some(end) = rest[at..].find('}') else {
                return Err(format!("an unclosed placeholder in {text:?}"));
            };
            out.push_str(&rest[..at]);
            out.push_str(&self.lookup(&rest[at + 2..at + end])?.text());
            rest = &rest[at + end + 1..];
        }
        out.push_str(rest);
        Ok(Substituted::Text(out))
    }

    /// Substitutes every string scalar of a parsed YAML document (keys stay as written).
    fn walk(&self, v: &mut Value) -> Result<(), String> {
        match v {
            Value::String(s) => {
                *v = match self.apply(s)? {
                    Substituted::Whole(t) => t.json(),
                    Substituted::Text(t) => Value::String(t),
                };
            }
            Value::Array(items) => {
                for item in items {
                    self.walk(item)?;
                }
            }
            Value::Object(map) => {
                for item in map.values_mut() {
                    self.walk(item)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Renders a YAML template (one or more documents): parsed, then substituted.
    pub fn yaml(&self, template: &str) -> Result<Vec<Value>, String> {
        let mut docs = Vec::new();
        for doc in yaml_serde::Deserializer::from_str(template) {
            let mut v = Value::deserialize(doc).map_err(|e| format!("the template is not valid YAML: {e}"))?;
            if v.is_null() {
                continue;
            }
            self.walk(&mut v)?;
            docs.push(v);
        }
        Ok(docs)
    }
}

/// YAML documents as text, separated by `---`.
pub(crate) fn to_yaml(docs: &[Value]) -> Result<String, String> {
    let mut out = String::new();
    for (i, d) in docs.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&yaml_serde::to_string(d).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subs<'a>(values: &'a BTreeMap<String, Typed>, images: &'a BTreeMap<String, String>) -> Substitutions<'a> {
        Substitutions { values, images, pull_secret: "wharf-pull-1" }
    }

    #[test]
    fn placeholders_are_typed_when_whole_and_text_otherwise() {
        let values: BTreeMap<String, Typed> =
            [("port".to_owned(), Typed::Int(8080)), ("name".to_owned(), Typed::Text("a\nb: c".into()))].into();
        let images: BTreeMap<String, String> = [("acme/db".to_owned(), "h/mp/x@sha256:ab".to_owned())].into();
        let s = subs(&values, &images);
        assert_eq!(s.apply("${port}").unwrap(), Substituted::Whole(Typed::Int(8080)));
        assert_eq!(s.apply(" ${port}").unwrap(), Substituted::Text(" 8080".into()));
        assert_eq!(s.apply("-p ${port}:80").unwrap(), Substituted::Text("-p 8080:80".into()));
        assert_eq!(s.apply("$${port}").unwrap(), Substituted::Text("${port}".into()));
        assert_eq!(s.apply("${image:acme/db}").unwrap(), Substituted::Text("h/mp/x@sha256:ab".into()));
        assert!(s.apply("${nope}").unwrap_err().contains("not a parameter"));
        assert!(s.apply("${port").unwrap_err().contains("unclosed"));
        let docs = s.yaml("a: ${port}\nb: \"${name}\"\nc: [\"x-${port}\"]\n").unwrap();
        assert_eq!(docs[0], serde_json::json!({"a": 8080, "b": "a\nb: c", "c": ["x-8080"]}));
        // YAML syntax in a value stays a scalar once written out.
        let text = to_yaml(&docs).unwrap();
        let back: Value = yaml_serde::from_str(&text).unwrap();
        assert_eq!(back, docs[0]);
    }
}
