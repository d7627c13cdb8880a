//! The customer's values, checked against the plan's parameter definitions: every
//! problem at once, each named by `/values/<name>`; defaults applied and secrets
//! generated where the plan says so.

use std::collections::BTreeMap;

use serde_json::Value;
use wharf_offer::spec::Parameter;

/// The longest value accepted, in characters.
pub const MAX_VALUE_CHARS: usize = 4096;

/// A value with the type its parameter gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Typed {
    /// Text (strings, secrets, and choices of text).
    Text(String),
    /// A whole number (integers, and choices that are all whole numbers).
    Int(i64),
    /// `true` or `false` (booleans, and choices that are all booleans).
    Bool(bool),
    /// No value (an optional parameter left empty).
    Null,
}

impl Typed {
    /// The value as text, where it is spliced inside other text.
    pub fn text(&self) -> String {
        match self {
            Typed::Text(s) => s.clone(),
            Typed::Int(i) => i.to_string(),
            Typed::Bool(b) => b.to_string(),
            Typed::Null => String::new(),
        }
    }

    /// The value as a JSON (and YAML) scalar.
    pub fn json(&self) -> Value {
        match self {
            Typed::Text(s) => Value::String(s.clone()),
            Typed::Int(i) => Value::from(*i),
            Typed::Bool(b) => Value::Bool(*b),
            Typed::Null => Value::Null,
        }
    }
}

/// The checked values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    /// Every parameter's value.
    pub values: BTreeMap<String, Typed>,
    /// The parameters whose value was generated (secrets).
    pub generated: Vec<String>,
}

/// A problem with one value: (`/values/<name>`, why).
pub type ValueProblem = (String, String);

const ALPHANUMERIC: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn generate(len: u32) -> String {
    (0..len).map(|_| char::from(ALPHANUMERIC[rand::random_range(0..ALPHANUMERIC.len())])).collect()
}

/// How a choice's values are typed: whole numbers when every choice is one,
/// booleans when every choice is one, text otherwise.
fn choice_type(choices: &[String]) -> fn(&str) -> Typed {
    if !choices.is_empty() && choices.iter().all(|c| c.parse::<i64>().is_ok()) {
        |s| s.parse().map_or_else(|_| Typed::Text(s.to_owned()), Typed::Int)
    } else if !choices.is_empty() && choices.iter().all(|c| c == "true" || c == "false") {
        |s| Typed::Bool(s == "true")
    } else {
        |s| Typed::Text(s.to_owned())
    }
}

/// Checks one given (or default) value against its definition.
fn check(p: &Parameter, kind: &str, v: &Value) -> Result<Typed, String> {
    let text = |v: &Value| -> Result<String, String> {
        let s = match v {
            Value::String(s) => s.clone(),
            Value::Number(_) | Value::Bool(_) if kind == "choice" => v.to_string(),
            _ => return Err("must be text".into()),
        };
        let n = s.chars().count();
        if n > MAX_VALUE_CHARS {
            return Err(format!("must be at most {MAX_VALUE_CHARS} characters (got {n})"));
        }
        if s.contains('\0') {
            return Err("must not contain NUL characters".into());
        }
        Ok(s)
    };
    match kind {
        "string" | "secret" => {
            let s = text(v)?;
            if let Some(pat) = &p.pattern
                && !full_match(pat, &s)
            {
                return Err(format!("must match the pattern {pat}"));
            }
            for rule in &p.validations {
                if !full_match(&rule.pattern, &s) {
                    return Err(rule
                        .message
                        .clone()
                        .unwrap_or_else(|| format!("must match the pattern {}", rule.pattern)));
                }
            }
            Ok(Typed::Text(s))
        }
        "integer" => {
            let i = match v {
                Value::Number(n) => n.as_i64().ok_or("must be a whole number")?,
                Value::String(s) => {
                    s.trim().parse::<i64>().map_err(|_| format!("must be a whole number (got {s:?})"))?
                }
                _ => return Err("must be a whole number".into()),
            };
            match (p.min, p.max) {
                (Some(lo), _) if i < lo => Err(format!("must be at least {lo} (got {i})")),
                (_, Some(hi)) if i > hi => Err(format!("must be at most {hi} (got {i})")),
                _ => Ok(Typed::Int(i)),
            }
        }
        "boolean" => match v {
            Value::Bool(b) => Ok(Typed::Bool(*b)),
            Value::String(s) if s == "true" || s == "false" => Ok(Typed::Bool(s == "true")),
            _ => Err("must be true or false".into()),
        },
        "choice" => {
            let s = text(v)?;
            if !p.choices.contains(&s) {
                return Err(format!("must be one of {}", p.choices.join(", ")));
            }
            Ok(choice_type(&p.choices)(&s))
        }
        other => Err(format!("has a parameter type Wharf does not know ({other:?})")),
    }
}

fn full_match(pattern: &str, value: &str) -> bool {
    regex::Regex::new(&format!("^(?:{pattern})$")).is_ok_and(|re| re.is_match(value))
}

/// Plausible values for every parameter, to check a template before any customer
/// fills the form: each default that fits its type, otherwise a value of the type
/// (`sample` text, the smallest allowed number, `false`, the first choice).
pub fn samples(params: &[Parameter]) -> Resolved {
    let mut out = Resolved::default();
    for p in params {
        let Some(name) = p.name.clone() else { continue };
        let kind = p.kind.as_deref().unwrap_or("string");
        let fallback = match kind {
            "integer" => Typed::Int(p.min.or(p.max).unwrap_or(1)),
            "boolean" => Typed::Bool(false),
            "choice" => p.choices.first().map_or(Typed::Null, |c| choice_type(&p.choices)(c)),
            _ => Typed::Text("sample".into()),
        };
        let value = p.default.as_ref().and_then(|d| check(p, kind, d).ok()).unwrap_or(fallback);
        out.values.insert(name, value);
    }
    out
}

/// Checks `given` against `params` (see the module).
pub fn resolve(params: &[Parameter], given: &BTreeMap<String, Value>) -> Result<Resolved, Vec<ValueProblem>> {
    let mut out = Resolved::default();
    let mut problems = Vec::new();
    for name in given.keys() {
        if !params.iter().any(|p| p.name.as_deref() == Some(name.as_str())) {
            let names: Vec<&str> = params.iter().filter_map(|p| p.name.as_deref()).collect();
            problems.push((
                format!("/values/{name}"),
                format!("the plan has no parameter {name:?} (it has: {})", names.join(", ")),
            ));
        }
    }
    for p in params {
        let Some(name) = p.name.clone() else { continue };
        let kind = p.kind.as_deref().unwrap_or("string");
        let pointer = format!("/values/{name}");
        let value = given.get(&name).filter(|v| !v.is_null() && v.as_str() != Some("")).or(p.default.as_ref());
        match value {
            Some(v) => match check(p, kind, v) {
                Ok(t) => {
                    out.values.insert(name, t);
                }
                Err(why) => problems.push((pointer, why)),
            },
            None if kind == "secret" && p.generate_length.is_some() => {
                out.values.insert(name.clone(), Typed::Text(generate(p.generate_length.unwrap_or(24))));
                out.generated.push(name);
            }
            None if p.required => problems.push((pointer, "is required".into())),
            None => {
                out.values.insert(name, Typed::Null);
            }
        }
    }
    if problems.is_empty() { Ok(out) } else { Err(problems) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn param(v: Value) -> Parameter {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn every_problem_is_reported_and_types_are_kept() {
        let params = vec![
            param(json!({"name": "port", "label": "Port", "type": "integer", "min": 1, "max": 65535, "default": 5432})),
            param(json!({"name": "host", "label": "Host", "type": "string", "pattern": "[a-z.]+", "required": true})),
            param(json!({"name": "nodes", "label": "Nodes", "type": "choice", "choices": ["3", "5"], "default": "3"})),
            param(json!({"name": "tls", "label": "TLS", "type": "boolean", "default": true})),
            param(json!({"name": "password", "label": "Password", "type": "secret", "generate_length": 24})),
            param(json!({"name": "key", "label": "License", "type": "string", "required": true,
                "validations": [{"pattern": "[A-Z0-9-]+", "message": "use capitals, digits and dashes"}]})),
        ];
        let ok =
            resolve(&params, &[("host".into(), json!("db.example")), ("key".into(), json!("AB-12"))].into()).unwrap();
        assert_eq!(ok.values["port"], Typed::Int(5432));
        assert_eq!(ok.values["nodes"], Typed::Int(3));
        assert_eq!(ok.values["tls"], Typed::Bool(true));
        assert_eq!(ok.generated, ["password"]);
        let Typed::Text(secret) = &ok.values["password"] else { panic!() };
        assert!(secret.len() == 24 && secret.bytes().all(|b| b.is_ascii_alphanumeric()));

        // A missing required value with two invalid ones and an unknown name: all reported.
        let given = [
            ("port".into(), json!("70000")),
            ("nodes".into(), json!("4")),
            ("key".into(), json!("lower")),
            ("colour".into(), json!("blue")),
        ]
        .into();
        let problems = resolve(&params, &given).unwrap_err();
        let text: Vec<String> = problems.iter().map(|(p, m)| format!("{p}: {m}")).collect();
        assert_eq!(
            text,
            [
                "/values/colour: the plan has no parameter \"colour\" (it has: port, host, nodes, tls, password, key)",
                "/values/port: must be at most 65535 (got 70000)",
                "/values/host: is required",
                "/values/nodes: must be one of 3, 5",
                "/values/key: use capitals, digits and dashes",
            ]
        );
    }
}
