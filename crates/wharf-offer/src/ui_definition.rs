//! Azure `createUiDefinition.json` as a plan's parameter form, so publishers
//! arriving from the Azure Marketplace reuse theirs.
//!
//! The documented `Microsoft.Common.*` elements map to Wharf parameters: `TextBox`
//! (string, with `constraints.regex` or the regexes of `constraints.validations`),
//! `PasswordBox` (secret), `DropDown` and `OptionsGroup` (choice over
//! `constraints.allowedValues`, the default given by label), `CheckBox` (boolean),
//! `Slider` (integer within `min`..`max`); `Section` groups elements; `InfoBox` and
//! `TextBlock` only show text. Each entry of `outputs` names a template parameter and
//! the element whose value it takes (`[basics('name')]`,
//! `[steps('step').name]`, `[steps('step').section.name]`). Anything else (another
//! element type, an output computed by a function, a multi-select drop-down) is
//! reported by name and path, never dropped silently.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde_json::Value;

use crate::spec::{Parameter, ParameterValidation};

/// An element Wharf cannot render, an output it cannot map, or a malformed part:
/// where (a JSON Pointer into the UI definition) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiProblem {
    /// JSON Pointer into the UI definition.
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

/// What a UI definition maps to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MappedForm {
    /// One parameter per output, named by the output.
    pub parameters: Vec<Parameter>,
    /// What could not be mapped.
    pub problems: Vec<UiProblem>,
}

/// The element types shown without a value.
const DISPLAY_ONLY: &[&str] = &["Microsoft.Common.InfoBox", "Microsoft.Common.TextBlock"];

static OUTPUT_REF: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"^\[\s*(basics|steps)\(\s*'([^']+)'\s*\)((?:\.[A-Za-z0-9_-]+)*)\s*\]$").expect("valid regex")
});
static OUTPUT_NAME: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new("^[A-Za-z][A-Za-z0-9_]{0,63}$").expect("valid regex"));

struct Walk {
    /// Elements with a value, by reference path (`basics.name`, `steps.step.section.name`).
    elements: BTreeMap<String, (String, Value)>,
    problems: Vec<UiProblem>,
}

impl Walk {
    fn problem(&mut self, pointer: &str, message: impl Into<String>) {
        self.problems.push(UiProblem { pointer: pointer.to_owned(), message: message.into() });
    }

    fn elements(&mut self, list: Option<&Value>, prefix: &str, pointer: &str) {
        let Some(list) = list else { return };
        let Some(items) = list.as_array() else {
            self.problem(pointer, "must be an array of elements");
            return;
        };
        for (i, element) in items.iter().enumerate() {
            let here = format!("{pointer}/{i}");
            let name = element.get("name").and_then(Value::as_str).unwrap_or_default();
            let kind = element.get("type").and_then(Value::as_str).unwrap_or_default();
            if name.is_empty() {
                self.problem(&here, "an element needs a name");
                continue;
            }
            let path = format!("{prefix}.{name}");
            match kind {
                "Microsoft.Common.Section" => {
                    self.elements(element.get("elements"), &path, &format!("{here}/elements"))
                }
                k if DISPLAY_ONLY.contains(&k) => {}
                "Microsoft.Common.TextBox"
                | "Microsoft.Common.PasswordBox"
                | "Microsoft.Common.DropDown"
                | "Microsoft.Common.OptionsGroup"
                | "Microsoft.Common.CheckBox"
                | "Microsoft.Common.Slider" => {
                    self.elements.insert(path, (here, element.clone()));
                }
                "" => self.problem(&here, format!("element {name:?} has no type")),
                other => self.problem(
                    &format!("{here}/type"),
                    format!(
                        "element {name:?} is a {other}, which Wharf cannot render (it renders TextBox, PasswordBox, \
                         DropDown, CheckBox, OptionsGroup, Slider, Section, InfoBox and TextBlock)"
                    ),
                ),
            }
        }
    }
}

fn text(element: &Value, key: &str) -> Option<String> {
    element.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn constraint<'a>(element: &'a Value, key: &str) -> Option<&'a Value> {
    element.get("constraints").and_then(|c| c.get(key))
}

/// A JSON value of `allowedValues` as a choice: text as is, numbers and booleans as
/// their JSON text.
fn choice_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(_) | Value::Bool(_) => Some(v.to_string()),
        _ => None,
    }
}

/// Maps one element to the parameter `name`, reporting what cannot be mapped.
fn parameter(name: &str, pointer: &str, element: &Value, problems: &mut Vec<UiProblem>) -> Option<Parameter> {
    let kind = element.get("type").and_then(Value::as_str).unwrap_or_default();
    let mut p = Parameter {
        name: Some(name.to_owned()),
        label: text(element, "label").map(|l| l.chars().take(100).collect()),
        description: text(element, "toolTip").map(|t| t.chars().take(500).collect()),
        required: constraint(element, "required").and_then(Value::as_bool).unwrap_or(false),
        ..Parameter::default()
    };
    let mut problem = |suffix: &str, message: String| {
        problems.push(UiProblem { pointer: format!("{pointer}{suffix}"), message });
    };
    match kind {
        "Microsoft.Common.TextBox" | "Microsoft.Common.PasswordBox" => {
            p.kind = Some(
                if kind.ends_with("TextBox") && !kind.ends_with("PasswordBox") { "string" } else { "secret" }.into(),
            );
            // Azure's regexes are JavaScript's and match anywhere unless anchored.
            let message = text(element, "validationMessage")
                .or_else(|| constraint(element, "validationMessage").and_then(Value::as_str).map(str::to_owned));
            if let Some(re) = constraint(element, "regex").and_then(Value::as_str) {
                p.validations.push(ParameterValidation { pattern: format!(".*?(?:{re}).*"), message: message.clone() });
            }
            for (i, v) in constraint(element, "validations").and_then(Value::as_array).into_iter().flatten().enumerate()
            {
                match v.get("regex").and_then(Value::as_str) {
                    Some(re) => p.validations.push(ParameterValidation {
                        pattern: format!(".*?(?:{re}).*"),
                        message: v.get("message").and_then(Value::as_str).map(str::to_owned),
                    }),
                    None => problem(
                        &format!("/constraints/validations/{i}"),
                        format!("element {name:?}: only regex validations can be checked (isValid expressions cannot)"),
                    ),
                }
            }
            for (i, v) in p.validations.iter().enumerate() {
                if let Err(e) = regex::Regex::new(&format!("^(?:{})$", v.pattern)) {
                    problem("/constraints", format!("element {name:?}: regex {i} cannot be used: {e}"));
                }
            }
            if p.kind.as_deref() == Some("string") {
                p.default = element.get("defaultValue").filter(|v| v.is_string()).cloned();
            }
        }
        "Microsoft.Common.DropDown" | "Microsoft.Common.OptionsGroup" => {
            if element.get("multiselect").and_then(Value::as_bool) == Some(true) {
                problem("/multiselect", format!("element {name:?}: a multi-select drop-down cannot be rendered"));
                return None;
            }
            p.kind = Some("choice".into());
            let allowed = constraint(element, "allowedValues").and_then(Value::as_array).cloned().unwrap_or_default();
            if allowed.is_empty() {
                problem("/constraints/allowedValues", format!("element {name:?} lists no allowed values"));
                return None;
            }
            let default_label = element.get("defaultValue").and_then(Value::as_str);
            for (i, a) in allowed.iter().enumerate() {
                match a.get("value").and_then(choice_text) {
                    Some(v) => {
                        if default_label.is_some() && a.get("label").and_then(Value::as_str) == default_label {
                            p.default = Some(Value::String(v.clone()));
                        }
                        p.choices.push(v);
                    }
                    None => problem(
                        &format!("/constraints/allowedValues/{i}/value"),
                        format!("element {name:?}: only text, number and boolean values can be chosen"),
                    ),
                }
            }
        }
        "Microsoft.Common.CheckBox" => {
            p.kind = Some("boolean".into());
            p.default = element.get("defaultValue").filter(|v| v.is_boolean()).cloned();
        }
        "Microsoft.Common.Slider" => {
            p.kind = Some("integer".into());
            p.min = element.get("min").and_then(Value::as_i64);
            p.max = element.get("max").and_then(Value::as_i64);
            if p.min.is_none() || p.max.is_none() {
                problem("", format!("element {name:?}: a slider needs whole-number min and max"));
            }
            p.default = element.get("defaultValue").filter(|v| v.is_i64()).cloned();
        }
        _ => return None,
    }
    Some(p)
}

/// Maps a createUiDefinition document to parameters (see the module).
pub fn map_form(ui: &Value) -> MappedForm {
    let mut walk = Walk { elements: BTreeMap::new(), problems: Vec::new() };
    let Some(params) = ui.get("parameters").filter(|p| p.is_object()) else {
        walk.problem("/parameters", "a createUiDefinition has a parameters object (basics, steps, outputs)");
        return MappedForm { parameters: Vec::new(), problems: walk.problems };
    };
    walk.elements(params.get("basics"), "basics", "/parameters/basics");
    for (i, step) in params.get("steps").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let name = step.get("name").and_then(Value::as_str).unwrap_or_default();
        walk.elements(step.get("elements"), &format!("steps.{name}"), &format!("/parameters/steps/{i}/elements"));
    }
    let mut out = MappedForm { parameters: Vec::new(), problems: Vec::new() };
    let outputs = params.get("outputs").and_then(Value::as_object).cloned().unwrap_or_default();
    if outputs.is_empty() {
        walk.problem("/parameters/outputs", "names no outputs: each output is a template parameter");
    }
    for (key, expr) in &outputs {
        let pointer = format!("/parameters/outputs/{key}");
        if !OUTPUT_NAME.is_match(key) {
            walk.problem(
                &pointer,
                format!("output {key:?} is not a parameter name (a letter, then letters, digits, _)"),
            );
            continue;
        }
        let expr = expr.as_str().unwrap_or_default();
        let Some(m) = OUTPUT_REF.captures(expr) else {
            walk.problem(
                &pointer,
                format!("output {key:?} is {expr:?}: only [basics('x')] and [steps('s').x] references can be mapped"),
            );
            continue;
        };
        let path = match &m[1] {
            "basics" => format!("basics.{}{}", &m[2], &m[3]),
            _ => format!("steps.{}", &m[2]) + &m[3],
        };
        match walk.elements.get(&path).cloned() {
            Some((here, element)) => {
                if let Some(p) = parameter(key, &here, &element, &mut walk.problems) {
                    out.parameters.push(p);
                }
            }
            None => walk.problem(&pointer, format!("output {key:?} names {expr}, which is no element with a value")),
        }
    }
    out.problems = walk.problems;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documented_elements_map_and_the_rest_is_reported() {
        let ui = json!({
            "$schema": "https://schema.management.azure.com/schemas/0.1.2-preview/CreateUIDefinition.MultiVm.json#",
            "handler": "Microsoft.Azure.CreateUIDef",
            "version": "0.1.2-preview",
            "parameters": {
                "basics": [
                    {"name": "appName", "type": "Microsoft.Common.TextBox", "label": "Name", "defaultValue": "db",
                     "constraints": {"required": true, "regex": "^[a-z0-9-]{1,20}$", "validationMessage": "lowercase"}},
                    {"name": "hello", "type": "Microsoft.Common.InfoBox", "options": {"text": "hi"}}
                ],
                "steps": [{"name": "config", "label": "Configuration", "elements": [
                    {"name": "admin", "type": "Microsoft.Common.PasswordBox", "label": {"password": "P", "confirmPassword": "C"},
                     "constraints": {"required": true, "regex": "^.{12,}$"}},
                    {"name": "size", "type": "Microsoft.Common.DropDown", "label": "Size", "defaultValue": "Small",
                     "constraints": {"allowedValues": [{"label": "Small", "value": 1}, {"label": "Large", "value": 3}]}},
                    {"name": "tls", "type": "Microsoft.Common.CheckBox", "label": "TLS", "defaultValue": true},
                    {"name": "net", "type": "Microsoft.Common.Section", "label": "Network", "elements": [
                        {"name": "port", "type": "Microsoft.Common.Slider", "label": "Port", "min": 1024, "max": 65535, "defaultValue": 8080},
                        {"name": "mode", "type": "Microsoft.Common.OptionsGroup", "label": "Mode", "defaultValue": "Fast",
                         "constraints": {"allowedValues": [{"label": "Fast", "value": "fast"}, {"label": "Safe", "value": "safe"}]}}
                    ]},
                    {"name": "vnet", "type": "Microsoft.Network.VirtualNetworkCombo", "label": "VNet"}
                ]}],
                "outputs": {
                    "appName": "[basics('appName')]",
                    "adminPassword": "[steps('config').admin]",
                    "nodes": "[steps('config').size]",
                    "tls": "[steps('config').tls]",
                    "port": "[steps('config').net.port]",
                    "mode": "[steps('config').net.mode]",
                    "location": "[location()]"
                }
            }
        });
        let mapped = map_form(&ui);
        let kinds: Vec<(String, String)> =
            mapped.parameters.iter().map(|p| (p.name.clone().unwrap(), p.kind.clone().unwrap())).collect();
        assert_eq!(
            kinds,
            [
                ("adminPassword".into(), "secret".into()),
                ("appName".into(), "string".into()),
                ("mode".into(), "choice".into()),
                ("nodes".into(), "choice".into()),
                ("port".into(), "integer".into()),
                ("tls".into(), "boolean".into()),
            ]
        );
        let nodes = &mapped.parameters[3];
        assert_eq!(
            (nodes.choices.clone(), nodes.default.clone()),
            (vec!["1".to_owned(), "3".to_owned()], Some(json!("1")))
        );
        let port = &mapped.parameters[4];
        assert_eq!((port.min, port.max, port.default.clone()), (Some(1024), Some(65535), Some(json!(8080))));
        let problems: Vec<String> = mapped.problems.iter().map(|p| format!("{}: {}", p.pointer, p.message)).collect();
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(problems[0].starts_with(
            "/parameters/steps/0/elements/4/type: element \"vnet\" is a Microsoft.Network.VirtualNetworkCombo"
        ));
        assert!(problems[1].starts_with("/parameters/outputs/location: output \"location\" is \"[location()]\""));
    }
}
