//! Kubernetes manifests: each document checked against the Kubernetes API types
//! (k8s-openapi, the API's OpenAPI schemas as Rust types), the image pull secret
//! added to every pod template, and every container image checked to be one the
//! marketplace pinned by digest.
//!
//! Checking a document deserializes it into the type its `apiVersion` and `kind`
//! name (wrong types fail there) and serializes it back: a field the type does not
//! know is lost on the way, and reported by its path. Kinds outside the list below
//! (custom resources among them) are refused: nothing could check them.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Checks `doc` as a `T`; the problems, each with the field's path.
fn check_as<T: DeserializeOwned + Serialize>(doc: &Value) -> Vec<String> {
    let typed: T = match serde_json::from_value(doc.clone()) {
        Ok(t) => t,
        Err(e) => return vec![e.to_string()],
    };
    let back = match serde_json::to_value(&typed) {
        Ok(v) => v,
        Err(e) => return vec![e.to_string()],
    };
    let mut lost = Vec::new();
    unknown_fields(doc, &back, "", &mut lost);
    lost.into_iter().map(|path| format!("{path} is not a field of the Kubernetes API")).collect()
}

/// Fields of `given` (not null) that `kept` lacks.
fn unknown_fields(given: &Value, kept: &Value, path: &str, out: &mut Vec<String>) {
    match (given, kept) {
        (Value::Object(g), Value::Object(k)) => {
            for (key, v) in g {
                let here = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                match k.get(key) {
                    None if !v.is_null() => out.push(here),
                    Some(kv) => unknown_fields(v, kv, &here, out),
                    None => {}
                }
            }
        }
        (Value::Array(g), Value::Array(k)) => {
            for (i, (gv, kv)) in g.iter().zip(k).enumerate() {
                unknown_fields(gv, kv, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

macro_rules! kinds {
    ($doc:expr, $api:expr, $kind:expr, { $($a:literal $k:literal => $t:ty),* $(,)? }) => {
        match ($api, $kind) {
            $(($a, $k) => Some(check_as::<$t>($doc)),)*
            _ => None,
        }
    };
}

/// The kinds Wharf checks, as `apiVersion kind`.
pub const KINDS: &[&str] = &[
    "v1 ConfigMap",
    "v1 Namespace",
    "v1 PersistentVolumeClaim",
    "v1 Pod",
    "v1 Secret",
    "v1 Service",
    "v1 ServiceAccount",
    "apps/v1 DaemonSet",
    "apps/v1 Deployment",
    "apps/v1 ReplicaSet",
    "apps/v1 StatefulSet",
    "batch/v1 CronJob",
    "batch/v1 Job",
    "networking.k8s.io/v1 Ingress",
    "networking.k8s.io/v1 NetworkPolicy",
    "policy/v1 PodDisruptionBudget",
    "autoscaling/v2 HorizontalPodAutoscaler",
    "rbac.authorization.k8s.io/v1 Role",
    "rbac.authorization.k8s.io/v1 RoleBinding",
    "rbac.authorization.k8s.io/v1 ClusterRole",
    "rbac.authorization.k8s.io/v1 ClusterRoleBinding",
];

/// Checks one document; its problems.
pub(crate) fn validate(doc: &Value) -> Vec<String> {
    use k8s_openapi::api::{apps, autoscaling, batch, core, networking, policy, rbac};
    let api = doc.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
    let checked = kinds!(doc, api, kind, {
        "v1" "ConfigMap" => core::v1::ConfigMap,
        "v1" "Namespace" => core::v1::Namespace,
        "v1" "PersistentVolumeClaim" => core::v1::PersistentVolumeClaim,
        "v1" "Pod" => core::v1::Pod,
        "v1" "Secret" => core::v1::Secret,
        "v1" "Service" => core::v1::Service,
        "v1" "ServiceAccount" => core::v1::ServiceAccount,
        "apps/v1" "DaemonSet" => apps::v1::DaemonSet,
        "apps/v1" "Deployment" => apps::v1::Deployment,
        "apps/v1" "ReplicaSet" => apps::v1::ReplicaSet,
        "apps/v1" "StatefulSet" => apps::v1::StatefulSet,
        "batch/v1" "CronJob" => batch::v1::CronJob,
        "batch/v1" "Job" => batch::v1::Job,
        "networking.k8s.io/v1" "Ingress" => networking::v1::Ingress,
        "networking.k8s.io/v1" "NetworkPolicy" => networking::v1::NetworkPolicy,
        "policy/v1" "PodDisruptionBudget" => policy::v1::PodDisruptionBudget,
        "autoscaling/v2" "HorizontalPodAutoscaler" => autoscaling::v2::HorizontalPodAutoscaler,
        "rbac.authorization.k8s.io/v1" "Role" => rbac::v1::Role,
        "rbac.authorization.k8s.io/v1" "RoleBinding" => rbac::v1::RoleBinding,
        "rbac.authorization.k8s.io/v1" "ClusterRole" => rbac::v1::ClusterRole,
        "rbac.authorization.k8s.io/v1" "ClusterRoleBinding" => rbac::v1::ClusterRoleBinding,
    });
    checked.unwrap_or_else(|| {
        vec![format!(
            "apiVersion {api:?} kind {kind:?} is not a Kubernetes API type Wharf can check (it checks: {})",
            KINDS.join(", ")
        )]
    })
}

/// The pod spec of a document, for the kinds that hold one.
fn pod_spec(doc: &mut Value) -> Option<&mut Value> {
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default().to_owned();
    let path: &[&str] = match kind.as_str() {
        "Pod" => &["spec"],
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => &["spec", "template", "spec"],
        "CronJob" => &["spec", "jobTemplate", "spec", "template", "spec"],
        _ => return None,
    };
    let mut here = doc;
    for key in path {
        here = here.get_mut(*key)?;
    }
    here.is_object().then_some(here)
}

/// Adds the pull secret to every pod spec (unless named there already) and returns
/// the container images that are not among `pinned`.
pub(crate) fn use_pull_secret(docs: &mut [Value], secret: &str, pinned: &[&str]) -> Vec<String> {
    let mut unpinned = Vec::new();
    for doc in docs.iter_mut() {
        let Some(spec) = pod_spec(doc) else { continue };
        for list in ["initContainers", "containers"] {
            for c in spec.get(list).and_then(Value::as_array).into_iter().flatten() {
                let image = c.get("image").and_then(Value::as_str).unwrap_or_default();
                if !pinned.contains(&image) {
                    unpinned.push(image.to_owned());
                }
            }
        }
        let entry = json!({"name": secret});
        match spec.get_mut("imagePullSecrets").and_then(Value::as_array_mut) {
            Some(list) if list.contains(&entry) => {}
            Some(list) => list.push(entry),
            None => {
                spec["imagePullSecrets"] = json!([entry]);
            }
        }
    }
    unpinned
}

/// A `kubernetes.io/dockerconfigjson` Secret for `registry` with a credential.
pub(crate) fn pull_secret(name: &str, registry: &str, user: &str, password: &str) -> Value {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    let config = json!({"auths": {registry: {"username": user, "password": password, "auth": b64(&format!("{user}:{password}"))}}});
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": b64(&config.to_string())},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_checked_against_the_api_types() {
        let good = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
            "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}},
            "spec": {"containers": [{"name": "c", "image": "h/mp/x@sha256:ab", "ports": [{"containerPort": 80}]}]}}}});
        assert!(validate(&good).is_empty(), "{:?}", validate(&good));
        let mut bad = good.clone();
        bad["spec"]["template"]["spec"]["containers"][0]["bogus"] = json!(1);
        assert_eq!(validate(&bad), ["spec.template.spec.containers[0].bogus is not a field of the Kubernetes API"]);
        let mut wrong = good.clone();
        wrong["spec"]["replicas"] = json!("three");
        assert!(validate(&wrong)[0].contains("expected i32"), "{:?}", validate(&wrong));
        let custom = json!({"apiVersion": "example.com/v1", "kind": "Widget"});
        assert!(validate(&custom)[0].contains("is not a Kubernetes API type Wharf can check"));
        let mut docs = vec![good];
        assert!(use_pull_secret(&mut docs, "pull", &["h/mp/x@sha256:ab"]).is_empty());
        assert_eq!(docs[0]["spec"]["template"]["spec"]["imagePullSecrets"], json!([{"name": "pull"}]));
        assert_eq!(use_pull_secret(&mut docs, "pull", &[]), ["h/mp/x@sha256:ab"]);
        assert_eq!(docs[0]["spec"]["template"]["spec"]["imagePullSecrets"], json!([{"name": "pull"}]));
        assert!(validate(&pull_secret("pull", "h", "u", "p")).is_empty());
    }
}
