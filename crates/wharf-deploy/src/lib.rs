//! A plan's deployment, rendered for one customer: their values checked against the
//! plan's parameters (or its createUiDefinition form), secrets generated, images
//! pinned by digest, and the pull credential, as
//!
//! - `container`: a `docker run`/`podman run` command (the template split into words
//!   first, each word substituted and quoted: a value is always one argument);
//! - `compose`: a Compose file;
//! - `kubernetes`: manifests, checked against the Kubernetes API types, with an image
//!   pull secret added to every pod template;
//! - `helm`: a values file and the `helm install oci://…@digest` command.
//!
//! YAML is rendered structurally (see [`template`]); nothing is spliced into text a
//! parser reads again. No I/O: the caller resolves images and issues credentials.

mod kube;
mod template;
pub mod values;

use std::collections::BTreeMap;

use serde_json::Value;
use wharf_offer::spec::{Deployment, Parameter};

pub use kube::KINDS as KUBERNETES_KINDS;
pub use values::{Resolved, Typed};

/// Where and with what a deployment runs.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// The registry's `host[:port]`.
    pub registry: &'a str,
    /// Each source repository of the plan → its pinned marketplace reference
    /// (`host/mp/…@sha256:…`).
    pub images: &'a BTreeMap<String, String>,
    /// A name for what is deployed (the Helm release, the pull secret's prefix).
    pub name: &'a str,
    /// The registry credential: (user name, password); `None` renders placeholders
    /// (a dry run).
    pub credential: Option<(&'a str, &'a str)>,
}

/// A file of the rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Its name, e.g. `compose.yaml`.
    pub name: String,
    /// Its content.
    pub content: String,
}

/// What a rendering gives the customer.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// `container`, `compose`, `kubernetes` or `helm`.
    pub kind: String,
    /// `container`: the command's words.
    pub argv: Vec<String>,
    /// Files to save.
    pub files: Vec<File>,
    /// Commands to run, in order (a log-in reading the password from standard input first).
    pub commands: Vec<String>,
    /// Every parameter's value (generated secrets included: shown this once).
    pub values: BTreeMap<String, Value>,
    /// The parameters whose value was generated.
    pub generated: Vec<String>,
}

/// Why nothing was rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeployError {
    /// The customer's values: (`/values/<name>`, why), every one.
    Values(Vec<(String, String)>),
    /// The plan's template cannot be rendered into something valid: the publisher's to fix.
    Template(Vec<String>),
}

/// The parameters of a deployment: its own, or those its createUiDefinition maps to.
pub fn parameters(d: &Deployment) -> Vec<Parameter> {
    match &d.ui_definition {
        Some(ui) => wharf_offer::ui_definition::map_form(ui).parameters,
        None => d.parameters.clone(),
    }
}

/// A `kubernetes.io/dockerconfigjson` Secret manifest (YAML) named `name`, holding a
/// credential for `registry`: what a cluster needs to pull with a pull secret.
pub fn pull_secret_manifest(name: &str, registry: &str, user: &str, password: &str) -> Result<String, String> {
    template::to_yaml(&[kube::pull_secret(name, registry, user, password)])
}

/// The placeholder the password stands for in a dry run.
pub const PASSWORD_PLACEHOLDER: &str = "<pull-secret-password>";

/// Renders `d` with the customer's `given` values for `target` (see the crate).
pub fn render(d: &Deployment, given: &BTreeMap<String, Value>, target: &Target<'_>) -> Result<Rendered, DeployError> {
    render_with(d, &check_values(d, given)?, target)
}

/// Checks the customer's values against `d`'s parameters, generating secrets: every
/// problem at once.
pub fn check_values(d: &Deployment, given: &BTreeMap<String, Value>) -> Result<Resolved, DeployError> {
    values::resolve(&parameters(d), given).map_err(DeployError::Values)
}

/// Renders `d` with checked values (the same values render the same way).
pub fn render_with(d: &Deployment, resolved: &Resolved, target: &Target<'_>) -> Result<Rendered, DeployError> {
    let kind = d.kind.clone().unwrap_or_else(|| "container".into());
    let template = d.template.as_deref().unwrap_or_default();
    let secret_name = format!("{}-pull", target.name);
    let subs = template::Substitutions { values: &resolved.values, images: target.images, pull_secret: &secret_name };
    let (user, password) = target.credential.unwrap_or(("<pull-secret-user>", PASSWORD_PLACEHOLDER));
    let registry = target.registry;
    let login = |tool: &str| format!("{tool} login --username {user} --password-stdin {registry}");
    let bad = |e: String| DeployError::Template(vec![e]);
    let mut out = Rendered {
        kind: kind.clone(),
        argv: Vec::new(),
        files: Vec::new(),
        commands: Vec::new(),
        values: resolved.values.iter().map(|(k, v)| (k.clone(), v.json())).collect(),
        generated: resolved.generated.clone(),
    };
    let pinned: Vec<&str> = target.images.values().map(String::as_str).collect();
    match kind.as_str() {
        "container" => {
            let words =
                shlex::split(template).ok_or_else(|| bad("the command template has unbalanced quotes".into()))?;
            for w in &words {
                out.argv.push(subs.apply(w).map_err(bad)?.text());
            }
            let command = shlex::try_join(out.argv.iter().map(String::as_str)).map_err(|e| bad(e.to_string()))?;
            let tool = if out.argv.first().is_some_and(|w| w == "docker") { "docker" } else { "podman" };
            out.commands = vec![login(tool), command];
        }
        "compose" => {
            let docs = subs.yaml(template).map_err(bad)?;
            let mut unpinned = Vec::new();
            for doc in &docs {
                for service in doc.get("services").and_then(Value::as_object).into_iter().flat_map(|m| m.values()) {
                    let image = service.get("image").and_then(Value::as_str).unwrap_or_default();
                    if !pinned.contains(&image) {
                        unpinned.push(format!("a service's image {image:?} is not one the marketplace pinned"));
                    }
                }
            }
            if !unpinned.is_empty() {
                return Err(DeployError::Template(unpinned));
            }
            out.files.push(File { name: "compose.yaml".into(), content: template::to_yaml(&docs).map_err(bad)? });
            out.commands = vec![login("docker"), "docker compose -f compose.yaml up -d".into()];
        }
        "kubernetes" => {
            let mut docs = subs.yaml(template).map_err(bad)?;
            let unpinned = kube::use_pull_secret(&mut docs, &secret_name, &pinned);
            let mut problems: Vec<String> = unpinned
                .into_iter()
                .map(|i| format!("a container image {i:?} is not one the marketplace pinned"))
                .collect();
            docs.insert(0, kube::pull_secret(&secret_name, registry, user, password));
            for (i, doc) in docs.iter().enumerate().skip(1) {
                problems.extend(kube::validate(doc).into_iter().map(|p| format!("document {i}: {p}")));
            }
            if !problems.is_empty() {
                return Err(DeployError::Template(problems));
            }
            out.files.push(File { name: "manifests.yaml".into(), content: template::to_yaml(&docs).map_err(bad)? });
            out.commands = vec!["kubectl apply -f manifests.yaml".into()];
        }
        "helm" => {
            let docs = subs.yaml(template).map_err(bad)?;
            let chart = d
                .chart
                .as_ref()
                .and_then(|c| target.images.get(c))
                .ok_or_else(|| bad("the plan names no chart among its images".into()))?;
            let values = template::to_yaml(&docs).map_err(bad)?;
            out.files.push(File { name: "values.yaml".into(), content: values });
            let secret = kube::pull_secret(&secret_name, registry, user, password);
            out.files
                .push(File { name: "pull-secret.yaml".into(), content: template::to_yaml(&[secret]).map_err(bad)? });
            let release = shlex::try_quote(target.name).map_err(|e| bad(e.to_string()))?;
            out.commands = vec![
                format!("helm registry login {registry} --username {user} --password-stdin"),
                "kubectl apply -f pull-secret.yaml".into(),
                format!("helm install {release} oci://{chart} --values values.yaml"),
            ];
        }
        other => return Err(bad(format!("deployment kind {other:?} cannot be rendered"))),
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
