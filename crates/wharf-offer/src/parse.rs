//! Reading an offer document from YAML or JSON, naming every unknown key at once.

use serde::de::DeserializeOwned;

use crate::problem::{FieldPath, Problems};

/// The syntax of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// YAML 1.2 (JSON is YAML too, but this is the offer file's format).
    Yaml,
    /// JSON: the REST API's bodies.
    Json,
}

/// Reads a document. Unknown keys do not stop the reading: each is reported, with its
/// path, as an error beside the value read. A syntax error or a value of the wrong
/// type stops it: the one problem is returned with its path (and, for YAML, line and
/// column).
pub fn parse<T: DeserializeOwned>(text: &[u8], format: Format) -> Result<(T, Problems), Problems> {
    let mut unknown = Problems::new();
    let mut track = serde_path_to_error::Track::new();
    let result = match format {
        Format::Yaml => {
            let text = std::str::from_utf8(text).map_err(|e| one(&FieldPath::root(), format!("is not UTF-8: {e}")))?;
            if text.trim().is_empty() {
                return Err(one(&FieldPath::root(), "is empty"));
            }
            let de = yaml_serde::Deserializer::from_str(text);
            serde_ignored::deserialize(serde_path_to_error::Deserializer::new(de, &mut track), |p| {
                unknown.error(&convert(&p), "is not a known field")
            })
            .map_err(|e| e.to_string())
        }
        Format::Json => {
            let mut de = serde_json::Deserializer::from_slice(text);
            let v = serde_ignored::deserialize(serde_path_to_error::Deserializer::new(&mut de, &mut track), |p| {
                unknown.error(&convert(&p), "is not a known field")
            })
            .map_err(|e| e.to_string());
            v.and_then(|v| de.end().map(|()| v).map_err(|e| e.to_string()))
        }
    };
    match result {
        Ok(v) => Ok((v, unknown)),
        Err(message) => {
            let path = from_tracked(&track.path());
            Err(one(&path, message))
        }
    }
}

fn one(path: &FieldPath, message: impl Into<String>) -> Problems {
    let mut p = Problems::new();
    p.error(path, message);
    p
}

fn convert(p: &serde_ignored::Path<'_>) -> FieldPath {
    use serde_ignored::Path;
    match p {
        Path::Root => FieldPath::root(),
        Path::Seq { parent, index } => convert(parent).index(*index),
        Path::Map { parent, key } => convert(parent).key(key.clone()),
        Path::Some { parent } | Path::NewtypeStruct { parent } | Path::NewtypeVariant { parent } => convert(parent),
    }
}

fn from_tracked(p: &serde_path_to_error::Path) -> FieldPath {
    use serde_path_to_error::Segment;
    let mut out = FieldPath::root();
    for s in p.iter() {
        out = match s {
            Segment::Seq { index } => out.index(*index),
            Segment::Map { key } => out.key(key.clone()),
            Segment::Enum { variant } => out.key(variant.clone()),
            Segment::Unknown => out,
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::OfferSpec;

    #[test]
    fn every_unknown_key_is_named_with_its_path() {
        let yaml =
            b"id: db\nnmae: x\nlistings:\n  en-US:\n    name: DB\n    sumary: y\nplans:\n  - id: a\n    tagz: [1]\n";
        let (spec, problems) = parse::<OfferSpec>(yaml, Format::Yaml).unwrap();
        assert_eq!(spec.id.as_deref(), Some("db"));
        let found: Vec<String> = problems.all().iter().map(ToString::to_string).collect();
        assert_eq!(
            found,
            [
                "error: nmae: is not a known field",
                "error: listings.en-US.sumary: is not a known field",
                "error: plans[0].tagz: is not a known field",
            ]
        );
        let (_, problems) = parse::<OfferSpec>(br#"{"id":"db","plans":[{"idd":"x"}]}"#, Format::Json).unwrap();
        assert_eq!(problems.all()[0].path.pointer(), "/plans/0/idd");
    }

    #[test]
    fn a_wrong_type_names_its_path() {
        let err = parse::<OfferSpec>(b"plans:\n  - id: a\n    images:\n      - tags: 5\n", Format::Yaml).unwrap_err();
        let p = &err.all()[0];
        assert_eq!(p.path.to_string(), "plans[0].images[0].tags");
        assert!(p.message.contains("invalid type"), "{}", p.message);
        let err = parse::<OfferSpec>(b"{\"id\": 5}", Format::Json).unwrap_err();
        assert_eq!(err.all()[0].path.pointer(), "/id");
        let err = parse::<OfferSpec>(b"{\"id\": \"a\"} trailing", Format::Json).unwrap_err();
        assert!(err.all()[0].message.contains("trailing"), "{:?}", err);
        assert!(parse::<OfferSpec>(b"  \n", Format::Yaml).is_err());
        assert!(parse::<OfferSpec>(b"a: [", Format::Yaml).is_err());
    }
}
