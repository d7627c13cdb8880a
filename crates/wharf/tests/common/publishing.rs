//! Helpers of the publishing pipeline's tests: an approved-or-not publisher with the
//! example offer, images pushed over HTTP, and the pipeline's jobs run as a worker would.

use reqwest::Method;
use serde_json::{Value, json};
use wharf_app::packaging::PackageVersion;
use wharf_app::pipeline::CertifyVersion;
use wharf_app::release::ReleaseVersion;
use wharf_core::{OfferKey, OrgKind};
use wharf_oci::{Algorithm, Digest};

use super::{PASSWORD, TestApp, json};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const BASE: &str = "/api/v1/orgs/contoso/offers";

/// A registry token of `user` for `scope`, as an Authorization header value.
pub async fn bearer(app: &TestApp, user: &str, scope: &str) -> String {
    let r = app
        .http
        .get(format!("{}/token", app.url))
        .query(&[("service", "wharf-registry"), ("scope", scope)])
        .basic_auth(user, Some(PASSWORD))
        .send()
        .await
        .unwrap();
    format!("Bearer {}", json(r).await.1["token"].as_str().unwrap())
}

/// Pushes an image of one (empty) tar layer, run as a non-root user, to `repo:tag`;
/// `title` (a label) makes different images.
pub async fn push_image(app: &TestApp, repo: &str, tag: &str, title: &str) -> Digest {
    push_image_with(app, repo, tag, title, vec![0u8; 1024]).await
}

/// [`push_image`] with `layer_bytes` (a tar archive) as its layer.
pub async fn push_image_with(app: &TestApp, repo: &str, tag: &str, title: &str, layer_bytes: Vec<u8>) -> Digest {
    let auth = bearer(app, "dev", &format!("repository:{repo}:pull,push")).await;
    let push = |data: Vec<u8>| {
        let d = Digest::of(Algorithm::Sha256, &data);
        let (url, auth) = (format!("{}/v2/{repo}/blobs/uploads/?digest={d}", app.url), auth.clone());
        async move {
            let r = app.http.post(url).header("authorization", auth).body(data).send().await.unwrap();
            assert_eq!(r.status(), 201);
            (d, r)
        }
    };
    let (layer, _) = push(layer_bytes.clone()).await;
    let config = json!({
        "architecture": "amd64", "os": "linux",
        "config": {"User": "1000", "Labels": {"org.opencontainers.image.title": title}},
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
pub async fn document(app: &TestApp) -> Value {
    document_for(app, "contoso").await
}

/// The example offer's document for publisher `org` (as offer `db`, images from
/// `<org>/example-db`), its media uploaded to `org` as `dev`.
pub async fn document_for(app: &TestApp, org: &str) -> Value {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/offer/offer.yaml")).unwrap();
    let mut doc: Value =
        yaml_serde::from_str(&text.replace("contoso/example-db", &format!("{org}/example-db"))).unwrap();
    doc["id"] = json!("db");
    doc["publisher"] = json!(org);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/offer/");
    let media = format!("/api/v1/orgs/{org}/media");
    let upload = |path: String| {
        let media = media.clone();
        async move {
            let bytes = std::fs::read(format!("{dir}{path}")).unwrap();
            let r = app.as_user(Method::POST, "dev", &media).body(bytes).send().await.unwrap();
            json(r).await.1["digest"].as_str().unwrap().to_owned()
        }
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

pub async fn setup(policy: Option<&str>) -> (TestApp, wharf_app::App, tempfile::TempDir) {
    setup_with(policy, "").await
}

/// [`setup`] with clamd at `clamd` (`[certification] clamd`; empty: none).
pub async fn setup_with(policy: Option<&str>, clamd: &str) -> (TestApp, wharf_app::App, tempfile::TempDir) {
    setup_configured(policy, |c| c.certification.clamd = clamd.to_owned()).await
}

/// [`setup`] with the configuration adjusted by `adjust`.
pub async fn setup_configured(
    policy: Option<&str>,
    adjust: impl FnOnce(&mut wharf::config::Config),
) -> (TestApp, wharf_app::App, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let policy_file = dir.path().join("policy.toml");
    if let Some(text) = policy {
        std::fs::write(&policy_file, text).unwrap();
    }
    let app = TestApp::with_config(|c| {
        // The pipeline writes to the database as another node would; the registry's
        // read cache would show its changes within `cache_ttl` (2 s): off, so that tests
        // see them at once.
        c.registry.cache_ttl = wharf_core::HumanDuration::secs(0);
        adjust(c);
        if policy.is_some() {
            c.certification.policy = policy_file.display().to_string();
        }
    })
    .await;
    app.user("dev").await;
    app.org("contoso", OrgKind::Publisher, "dev").await;
    // A preview-audience customer and an outsider.
    app.user("cust").await;
    app.org("fabrikam", OrgKind::Customer, "cust").await;
    app.user("outsider").await;
    app.org("northwind", OrgKind::Customer, "outsider").await;
    push_image(&app, "contoso/example-db", "1.0.0", "db").await;
    let mut doc = document(&app).await;
    doc["preview_audience"] = json!(["fabrikam"]);
    let r = app.as_user(Method::POST, "dev", BASE).json(&doc).send().await.unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let application = app.state.app.clone();
    (app, application, dir)
}

/// Runs queued pipeline jobs as a worker would, until none is ready; what each did.
pub async fn run_jobs(app: &TestApp, application: &wharf_app::App) -> Vec<wharf_jobs::Ran> {
    let runner = wharf_jobs::Runner::new(app.state.db.clone())
        .backoff(std::time::Duration::from_millis(10))
        .register::<CertifyVersion>(application.clone())
        .register::<PackageVersion>(application.clone())
        .register::<ReleaseVersion>(application.clone())
        .register::<wharf_app::webhooks::DeliverWebhook>(application.clone())
        .register::<wharf_app::leads::DeliverLead>(application.clone())
        .register::<wharf_app::health::RegradeVersions>(application.clone());
    let mut ran = Vec::new();
    loop {
        match runner.run_once().await.unwrap() {
            wharf_jobs::Ran::Idle => return ran,
            other => ran.push(other),
        }
    }
}

/// Runs the queued certification job (and what follows it), as a worker would.
pub async fn run_pipeline(app: &TestApp, application: &wharf_app::App) {
    let ran = run_jobs(app, application).await;
    assert!(matches!(ran.first(), Some(wharf_jobs::Ran::Succeeded(_))), "{ran:?}");
    assert!(ran.iter().all(|r| matches!(r, wharf_jobs::Ran::Succeeded(_))), "{ran:?}");
}

/// Publishes `doc` as a new offer (or a new version of it) and takes it live.
pub async fn go_live(app: &TestApp, application: &wharf_app::App, doc: &Value) {
    let id = doc["id"].as_str().unwrap();
    let r = app.as_user(Method::POST, "dev", BASE).json(doc).send().await.unwrap();
    if r.status() == 409 {
        let path = format!("{BASE}/{id}/draft");
        let r = app.as_user(Method::GET, "dev", &path).send().await.unwrap();
        let etag = r.headers()["etag"].to_str().unwrap().to_owned();
        let r = app.as_user(Method::PUT, "dev", &path).header("if-match", etag).json(doc).send().await.unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    } else {
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    }
    let (status, body) =
        json(app.as_user(Method::POST, "dev", &format!("{BASE}/{id}/submit")).send().await.unwrap()).await;
    assert_eq!(status, 201, "{body}");
    let version = body["version"]["version"].as_i64().unwrap();
    run_pipeline(app, application).await;
    let r = app
        .as_user(Method::POST, "dev", &format!("{BASE}/{id}/go-live"))
        .json(&json!({"version": version}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    run_pipeline(app, application).await;
}

pub async fn submit(app: &TestApp) -> i64 {
    let (status, body) =
        json(app.as_user(Method::POST, "dev", &format!("{BASE}/db/submit")).send().await.unwrap()).await;
    assert_eq!(status, 201, "{body}");
    body["version"]["version"].as_i64().unwrap()
}

pub async fn offer(app: &TestApp) -> (OfferKey, Value) {
    let (_, view) = json(app.as_user(Method::GET, "dev", &format!("{BASE}/db")).send().await.unwrap()).await;
    let org = app.state.db.org_by_name(&"contoso".parse().unwrap()).await.unwrap().unwrap();
    let row = app.state.db.offer(org.id, &"db".parse().unwrap()).await.unwrap().unwrap();
    (row.pk, view)
}

/// What cannot be checked here (clamd, advisories, a license file, a signature) warns.
pub const PERMISSIVE: &str =
    "not_scanned = \"warn\"\nnot_evaluated = \"warn\"\nlicense_files = \"warn\"\nsignature = \"off\"\n";

/// A manifest GET on the registry: status, OCI error code (if any), digest header.
pub async fn get_manifest(app: &TestApp, auth: Option<&str>, repo: &str, reference: &str) -> (u16, String, String) {
    let mut req = app.http.get(format!("{}/v2/{repo}/manifests/{reference}", app.url)).header("accept", OCI_MANIFEST);
    if let Some(auth) = auth {
        req = req.header("authorization", auth);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let digest = r.headers().get("docker-content-digest").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    (status, body["errors"][0]["code"].as_str().unwrap_or_default().to_owned(), digest)
}
