//! Renderings of the example offer's plans, with hostile values: they stay inert.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use wharf_offer::spec::{Deployment, OfferSpec};

use super::*;

fn example_plan(id: &str) -> Deployment {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/offer/offer.yaml")).unwrap();
    let spec: OfferSpec = yaml_serde::from_str(&text).unwrap();
    spec.plans.into_iter().find(|p| p.id.as_deref() == Some(id)).unwrap().deployment.unwrap()
}

fn images() -> BTreeMap<String, String> {
    [("contoso/example-db".to_owned(), "wharf.example:5000/mp/contoso/db/free/example-db@sha256:0123abcd".to_owned())]
        .into()
}

fn target(images: &BTreeMap<String, String>) -> Target<'_> {
    Target {
        registry: "wharf.example:5000",
        images,
        name: "db-7",
        credential: Some(("pull-secret-3", "wharf_pull_S3CRET")),
    }
}

fn given(v: Value) -> BTreeMap<String, Value> {
    serde_json::from_value(v).unwrap()
}

#[test]
fn a_container_command_keeps_each_value_one_inert_argument() {
    let images = images();
    let hostile = given(json!({"password": "x'; rm -rf / #\n$(id) `id` ${HOME} }"}));
    let r = render(&example_plan("free"), &hostile, &target(&images)).unwrap();
    insta::assert_snapshot!(r.commands.join("\n"), @"
    docker login --username pull-secret-3 --password-stdin wharf.example:5000
    docker run -d --name example-db -p 5432:5432 -e \"DB_PASSWORD=x'; rm -rf / #
    \"'$(id) `id` ${HOME} }' wharf.example:5000/mp/contoso/db/free/example-db@sha256:0123abcd
    ");
    // Re-split as a shell would: the value is one word, unchanged.
    let words = shlex::split(&r.commands[1]).unwrap();
    assert_eq!(words, r.argv);
    assert!(r.argv.contains(&"DB_PASSWORD=x'; rm -rf / #\n$(id) `id` ${HOME} }".to_owned()));
    assert_eq!(r.values["port"], json!(5432));
}

#[test]
fn kubernetes_values_with_yaml_syntax_add_no_fields_and_the_output_validates() {
    let images = images();
    let hostile = given(json!({"replicas": "5", "license": "KEY\nkind: Secret\n  evil: true\"}: {x: ${replicas}"}));
    let r = render(&example_plan("byol-cluster"), &hostile, &target(&images)).unwrap();
    let manifests = &r.files[0].content;
    insta::assert_snapshot!(manifests, @"
    apiVersion: v1
    data:
      .dockerconfigjson: eyJhdXRocyI6eyJ3aGFyZi5leGFtcGxlOjUwMDAiOnsiYXV0aCI6ImNIVnNiQzF6WldOeVpYUXRNenAzYUdGeVpsOXdkV3hzWDFNelExSkZWQT09IiwicGFzc3dvcmQiOiJ3aGFyZl9wdWxsX1MzQ1JFVCIsInVzZXJuYW1lIjoicHVsbC1zZWNyZXQtMyJ9fX0=
    kind: Secret
    metadata:
      name: db-7-pull
    type: kubernetes.io/dockerconfigjson
    ---
    apiVersion: apps/v1
    kind: StatefulSet
    metadata:
      name: example-db
    spec:
      replicas: 5
      selector:
        matchLabels:
          app: example-db
      serviceName: example-db
      template:
        metadata:
          labels:
            app: example-db
        spec:
          containers:
          - env:
            - name: CONTOSO_LICENSE
              value: |-
                KEY
                kind: Secret
                  evil: true\"}: {x: ${replicas}
            image: wharf.example:5000/mp/contoso/db/free/example-db@sha256:0123abcd
            name: db
          imagePullSecrets:
          - name: db-7-pull
    ");
    let docs: Vec<Value> =
        yaml_serde::Deserializer::from_str(manifests).map(|d| serde::Deserialize::deserialize(d).unwrap()).collect();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[1]["spec"]["replicas"], json!(5), "a whole placeholder takes the parameter's type");
    let env = &docs[1]["spec"]["template"]["spec"]["containers"][0]["env"][0];
    assert_eq!(env["value"], json!("KEY\nkind: Secret\n  evil: true\"}: {x: ${replicas}"));
    for doc in &docs {
        assert!(kube::validate(doc).is_empty());
    }
}

#[test]
fn every_problem_with_the_values_is_reported_at_once() {
    let images = images();
    let bad = given(json!({"replicas": "4", "colour": "blue"}));
    let Err(DeployError::Values(problems)) = render(&example_plan("byol-cluster"), &bad, &target(&images)) else {
        panic!("refused expected")
    };
    let text: Vec<String> = problems.iter().map(|(p, m)| format!("{p}: {m}")).collect();
    insta::assert_snapshot!(text.join("\n"), @"
    /values/colour: the plan has no parameter \"colour\" (it has: replicas, license)
    /values/replicas: must be one of 3, 5
    /values/license: is required
    ");
}

#[test]
fn templates_that_break_the_api_or_pin_nothing_are_the_publishers_to_fix() {
    let images = images();
    let d = Deployment {
        kind: Some("kubernetes".into()),
        template: Some(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers:\n    - {name: c, image: busybox:latest, bogus: 1}\n"
                .into(),
        ),
        ..Deployment::default()
    };
    let Err(DeployError::Template(problems)) = render(&d, &BTreeMap::new(), &target(&images)) else { panic!() };
    assert_eq!(
        problems,
        [
            "a container image \"busybox:latest\" is not one the marketplace pinned",
            "document 1: spec.containers[0].bogus is not a field of the Kubernetes API",
        ]
    );
}

#[test]
fn compose_and_helm_render_with_pinned_images_and_the_credential() {
    let mut images = images();
    images.insert("contoso/db-chart".into(), "wharf.example:5000/mp/contoso/db/helm/db-chart@sha256:feed".into());
    let compose = Deployment {
        kind: Some("compose".into()),
        template: Some(
            "services:\n  db:\n    image: ${image:contoso/example-db}\n    ports: [\"${port}:5432\"]\n".into(),
        ),
        parameters: vec![
            serde_json::from_value(json!({"name": "port", "label": "Port", "type": "integer", "default": 5432}))
                .unwrap(),
        ],
        ..Deployment::default()
    };
    let r = render(&compose, &given(json!({"port": 15432})), &target(&images)).unwrap();
    assert_eq!(
        r.files[0].content,
        "services:\n  db:\n    image: wharf.example:5000/mp/contoso/db/free/example-db@sha256:0123abcd\n    ports:\n    - 15432:5432\n"
    );
    let helm = Deployment {
        kind: Some("helm".into()),
        chart: Some("contoso/db-chart".into()),
        template: Some("image: ${image:contoso/example-db}\nimagePullSecrets: [{name: \"${pull_secret}\"}]\n".into()),
        ..Deployment::default()
    };
    let r = render(&helm, &BTreeMap::new(), &target(&images)).unwrap();
    insta::assert_snapshot!(format!("{}\n{}", r.commands.join("\n"), r.files[0].content), @"
    helm registry login wharf.example:5000 --username pull-secret-3 --password-stdin
    kubectl apply -f pull-secret.yaml
    helm install db-7 oci://wharf.example:5000/mp/contoso/db/helm/db-chart@sha256:feed --values values.yaml
    image: wharf.example:5000/mp/contoso/db/free/example-db@sha256:0123abcd
    imagePullSecrets:
    - name: db-7-pull
    ");
    assert!(kube::validate(&yaml_serde::from_str(&r.files[1].content).unwrap()).is_empty());
}
