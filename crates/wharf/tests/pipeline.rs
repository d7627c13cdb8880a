//! The publishing pipeline's certification step, run as the job workers run it: the
//! publisher's eligibility, every frozen image certified from the marketplace's storage,
//! the report stored, and Attention needed (with why) when something blocks.

mod common;

use common::{PASSWORD, TestApp, json};
use reqwest::Method;
use serde_json::{Value, json};
use wharf_app::pipeline::CertifyVersion;
use wharf_core::{OfferKey, OrgKind, PipelineStep, StepState};
use wharf_oci::{Algorithm, Digest};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const BASE: &str = "/api/v1/orgs/contoso/offers";

/// Pushes an image of one (empty) tar layer, run as a non-root user, to `repo:tag`.
async fn push_image(app: &TestApp, repo: &str, tag: &str) -> Digest {
    let scope = format!("repository:{repo}:pull,push");
    let r = app
        .http
        .get(format!("{}/token", app.url))
        .query(&[("service", "wharf-registry"), ("scope", scope.as_str())])
        .basic_auth("dev", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    let auth = format!("Bearer {}", json(r).await.1["token"].as_str().unwrap());
    let push = |data: Vec<u8>| {
        let d = Digest::of(Algorithm::Sha256, &data);
        let (url, auth) = (format!("{}/v2/{repo}/blobs/uploads/?digest={d}", app.url), auth.clone());
        async move {
            let r = app.http.post(url).header("authorization", auth).body(data).send().await.unwrap();
            assert_eq!(r.status(), 201);
            (d, r)
        }
    };
    // An empty tar archive: two zero blocks.
    let layer_bytes = vec![0u8; 1024];
    let (layer, _) = push(layer_bytes.clone()).await;
    let config = json!({
        "architecture": "amd64", "os": "linux",
        "config": {"User": "1000", "Labels": {"org.opencontainers.image.title": "db"}},
        "rootfs": {"type": "layers", "diff_ids": [layer.to_string()]},
    })
    .to_string();
    let (config_digest, _) = push(config.clone().into_bytes()).await;
    let manifest = json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest.to_string(), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer.to_string(), "size": layer_bytes.len()}],
    })
    .to_string();
    let r = app
        .http
        .put(format!("{}/v2/{repo}/manifests/{tag}", app.url))
        .header("authorization", &auth)
        .header("content-type", OCI_MANIFEST)
        .body(manifest.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    Digest::of(Algorithm::Sha256, manifest.as_bytes())
}

/// The example offer's document (as offer `db`, images from contoso/example-db), media uploaded.
async fn document(app: &TestApp) -> Value {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/offer/offer.yaml")).unwrap();
    let mut doc: Value = yaml_serde::from_str(&text).unwrap();
    doc["id"] = json!("db");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/offer/");
    let upload = |path: String| async move {
        let bytes = std::fs::read(format!("{dir}{path}")).unwrap();
        let r = app.as_user(Method::POST, "dev", "/api/v1/orgs/contoso/media").body(bytes).send().await.unwrap();
        json(r).await.1["digest"].as_str().unwrap().to_owned()
    };
    for slot in ["small", "medium", "large", "wide"] {
        let path = doc["media"]["icons"][slot].as_str().unwrap().to_owned();
        doc["media"]["icons"][slot] = json!(upload(path).await);
    }
    for shot in doc["media"]["screenshots"].as_array_mut().unwrap() {
        let path = shot["image"].as_str().unwrap().to_owned();
        shot["image"] = json!(upload(path).await);
    }
    doc
}

async fn setup(policy: Option<&str>) -> (TestApp, wharf_app::App, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let policy_file = dir.path().join("policy.toml");
    if let Some(text) = policy {
        std::fs::write(&policy_file, text).unwrap();
    }
    let app = TestApp::start().await;
    app.user("dev").await;
    app.org("contoso", OrgKind::Publisher, "dev").await;
    let certification = wharf_app::CertificationConfig {
        policy: if policy.is_some() { policy_file.display().to_string() } else { String::new() },
        ..wharf_app::CertificationConfig::default()
    };
    let application = wharf_app::App::new(
        app.state.db.clone(),
        app.state.auth.clone(),
        app.state.blobs.clone(),
        std::sync::Arc::new(wharf_offer::template::DEFAULT_CATEGORIES.iter().map(|c| (*c).to_owned()).collect()),
    )
    .with_certification(&certification)
    .unwrap();
    push_image(&app, "contoso/example-db", "1.0.0").await;
    let doc = document(&app).await;
    let r = app.as_user(Method::POST, "dev", BASE).json(&doc).send().await.unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    (app, application, dir)
}

/// Runs the queued certification job, as a worker would.
async fn run_pipeline(app: &TestApp, application: &wharf_app::App) {
    let runner = wharf_jobs::Runner::new(app.state.db.clone()).register::<CertifyVersion>(application.clone());
    assert!(matches!(runner.run_once().await.unwrap(), wharf_jobs::Ran::Succeeded(_)));
}

async fn submit(app: &TestApp) -> i64 {
    let (status, body) =
        json(app.as_user(Method::POST, "dev", &format!("{BASE}/db/submit")).send().await.unwrap()).await;
    assert_eq!(status, 201, "{body}");
    body["version"]["version"].as_i64().unwrap()
}

async fn offer(app: &TestApp) -> (OfferKey, Value) {
    let (_, view) = json(app.as_user(Method::GET, "dev", &format!("{BASE}/db")).send().await.unwrap()).await;
    let org = app.state.db.org_by_name(&"contoso".parse().unwrap()).await.unwrap().unwrap();
    let row = app.state.db.offer(org.id, &"db".parse().unwrap()).await.unwrap().unwrap();
    (row.pk, view)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unapproved_publisher_and_blocking_findings_stop_at_attention_needed() {
    let (app, application, _dir) = setup(None).await;
    let v1 = submit(&app).await;
    run_pipeline(&app, &application).await;
    let (key, view) = offer(&app).await;
    assert_eq!(view["state"], "attention_needed", "{view}");
    let steps = app.state.db.version_steps(key, v1).await.unwrap();
    assert_eq!((steps[0].step, steps[0].state), (PipelineStep::Certification, StepState::Failed));
    assert!(steps[0].message.as_deref().unwrap().contains("the publisher contoso is not approved"), "{steps:?}");

    // Approved, the publisher submits again: the stopped version is replaced, and the
    // built-in policy blocks what could not be checked (no clamd here).
    let r = app.as_user(Method::PUT, "admin", "/api/v1/orgs/contoso/approval").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v2 = submit(&app).await;
    assert_eq!(v2, v1 + 1);
    run_pipeline(&app, &application).await;
    let (_, view) = offer(&app).await;
    let statuses: Vec<(i64, &str)> = view["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["version"].as_i64().unwrap(), v["status"].as_str().unwrap()))
        .collect();
    assert_eq!(statuses, [(v2, "attention_needed"), (v1, "cancelled")]);
    let steps = app.state.db.version_steps(key, v2).await.unwrap();
    let step = &steps[0];
    assert_eq!(step.state, StepState::Failed);
    assert!(step.message.as_deref().unwrap().starts_with("certification failed: "), "{step:?}");
    assert_eq!((step.progress.images_done, step.progress.images_total), (1, 1));
    // The report is stored, every finding with whether it blocks.
    let digest = step.report.clone().expect("a stored report");
    let bytes = app.state.blobs.get(&digest, None).await.unwrap().bytes().await.unwrap();
    let report: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(report["verdict"], "fail");
    let checks: Vec<&str> = report["images"][0]["platforms"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["blocking"] == true)
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    // (The image has no packages, so no advisory was missing for it.)
    assert_eq!(checks, ["malware.not-scanned"]);

    // Readable through the API and the CLI.
    let (status, steps) =
        json(app.as_user(Method::GET, "dev", &format!("{BASE}/db/versions/{v2}/steps")).send().await.unwrap()).await;
    assert_eq!(
        (status, steps[0]["step"].as_str(), steps[0]["state"].as_str()),
        (200, Some("certification"), Some("failed"))
    );
    assert_eq!(steps[0]["has_report"], true);
    let r = app.as_user(Method::GET, "dev", &format!("{BASE}/db/versions/{v2}/report")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), report);
    let r = app.as_user(Method::GET, "dev", &format!("{BASE}/db/versions/{v1}/report")).send().await.unwrap();
    assert_eq!(r.status(), 404, "the unapproved submission was not certified");
    let r = app.as_user(Method::GET, "dev", &format!("{BASE}/db/versions/9/steps")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let token = {
        let body = json!({"name": "cli", "scopes": ["api:read"]});
        let r = app.as_user(Method::POST, "dev", "/api/v1/user/tokens").json(&body).send().await.unwrap();
        json(r).await.1["secret"].as_str().unwrap().to_owned()
    };
    let cli = |args: &[&str]| {
        let out = common::wharf(args, &[("WHARF_URL".into(), app.url.clone()), ("WHARF_TOKEN".into(), token.clone())])
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, out) = cli(&["offer", "status", "contoso/db"]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains("certification: failed (1/1 images, 1024 bytes): certification failed: 1 blocking finding(s)"),
        "{out}"
    );
    let (code, out) = cli(&["offer", "report", "contoso/db"]);
    assert_eq!(code, Some(0));
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), report);

    let (_, history) = json(app.as_user(Method::GET, "dev", &format!("{BASE}/db/history")).send().await.unwrap()).await;
    let labels: Vec<&str> = history["items"].as_array().unwrap().iter().map(|e| e["label"].as_str().unwrap()).collect();
    assert_eq!(labels.iter().filter(|l| **l == "Attention needed").count(), 2, "{labels:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_that_meets_the_policy_is_certified_and_runs_once() {
    // The operator's policy: what cannot be checked here (clamd, advisories, a license
    // file, a signature) warns instead of blocking.
    let policy = "not_scanned = \"warn\"\nnot_evaluated = \"warn\"\nlicense_files = \"warn\"\nsignature = \"off\"\n";
    let (app, application, _dir) = setup(Some(policy)).await;
    let r = app.as_user(Method::PUT, "admin", "/api/v1/orgs/contoso/approval").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v1 = submit(&app).await;
    run_pipeline(&app, &application).await;
    let (key, view) = offer(&app).await;
    assert_eq!(view["state"], "publish_in_progress", "{view}");
    let steps = app.state.db.version_steps(key, v1).await.unwrap();
    assert_eq!((steps[0].state, steps[0].message.as_deref()), (StepState::Passed, None), "{steps:?}");
    assert!(steps[0].report.is_some());
    // The job again (a worker died after the work): nothing changes, nothing is done twice.
    let job = CertifyVersion { offer: key, version: v1, publisher: "contoso".into() };
    wharf_jobs::enqueue(&app.state.db, &job, None).await.unwrap();
    run_pipeline(&app, &application).await;
    let again = app.state.db.version_steps(key, v1).await.unwrap();
    assert_eq!(again[0].attempt, 1, "a passed step is not run again");
    assert_eq!(again[0].state, StepState::Passed);
    let (_, history) = json(app.as_user(Method::GET, "dev", &format!("{BASE}/db/history")).send().await.unwrap()).await;
    let certified = history["items"].as_array().unwrap().iter().filter(|e| e["label"] == "Certified").count();
    assert_eq!(certified, 1, "the history says it once: {history}");
}
