//! Processes killed in the middle of the publishing pipeline: the real `wharf serve`
//! (with its in-process workers) and a separate `wharf worker` stop at exact moments
//! (failpoints, debug builds only: after an image is certified, after the step passed,
//! after promotion,
//! after signing, after the referrers, right after the go-live sign-off, after the
//! production verification) and with `kill -9` at timed moments, then start again.
//! After every stop no promoted tag points at anything missing; after every restart
//! the version completes, and the history records each event once.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::tools::{build_image, skopeo};
use common::{PASSWORD, Server, backend_env};
use serde_json::{Value, json};

const POLICY: &str = "not_evaluated = \"warn\"\nlicense_files = \"warn\"\nsignature = \"off\"\n";
const OFFER: &str = "/api/v1/orgs/contoso/offers/example-db";

struct Rig {
    _dir: tempfile::TempDir,
    root: PathBuf,
    env: Vec<(String, String)>,
    server: Server,
    http: reqwest::Client,
}

impl Rig {
    async fn start(in_process_workers: bool) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        std::fs::write(root.join("policy.toml"), POLICY).unwrap();
        let mut env = backend_env().await;
        env.push(("WHARF_ADMIN_PASSWORD".into(), PASSWORD.into()));
        env.push(("WHARF_CERTIFICATION__POLICY".into(), root.join("policy.toml").display().to_string()));
        if let Ok(clamd) = std::env::var("WHARF_TEST_CLAMD") {
            env.push(("WHARF_CERTIFICATION__CLAMD".into(), clamd));
        }
        env.push(("WHARF_JOBS__POLL_INTERVAL".into(), "50ms".into()));
        // A killed worker's job is taken over after a second.
        env.push(("WHARF_JOBS__LEASE".into(), "1s".into()));
        env.push(("WHARF_JOBS__BACKOFF".into(), "100ms".into()));
        env.push(("WHARF_JOBS__WORKERS".into(), if in_process_workers { "2" } else { "0" }.into()));
        // What is checked is storage: the registry's read cache would show the pipeline's
        // writes (a replaced preview's removed tags) only within `cache_ttl`, as another
        // node's (ARCHITECTURE.md), and tag lists read within it could name them still.
        env.push(("WHARF_REGISTRY__CACHE_TTL".into(), "0s".into()));
        let server = Server::spawn(&root.join("data"), &env);
        let rig = Rig { _dir: dir, root, env, server, http: reqwest::Client::new() };
        rig.prepare().await;
        rig
    }

    async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut rb =
            self.http.request(method, format!("{}{path}", self.server.url)).basic_auth("admin", Some(PASSWORD));
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// An approved publisher with the example offer (media uploaded) and an image of
    /// several layers.
    async fn prepare(&self) {
        let (s, _) = self
            .api(reqwest::Method::POST, "/api/v1/orgs", Some(json!({"name": "contoso", "kind": "publisher"})))
            .await;
        assert_eq!(s, 201);
        let (s, _) = self.api(reqwest::Method::PUT, "/api/v1/orgs/contoso/approval", None).await;
        assert_eq!(s, 200);
        let layout = self.root.join("layout");
        build_image(&layout, "1.0.0", "amd64", 6);
        let host = self.server.url.trim_start_matches("http://");
        let creds = format!("admin:{PASSWORD}");
        let src = format!("oci:{}:1.0.0", layout.display());
        let dest = format!("docker://{host}/contoso/example-db:1.0.0");
        skopeo(&["copy", "--dest-creds", &creds, "--dest-tls-verify=false", &src, &dest]);
        let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/offer");
        let text = std::fs::read_to_string(example.join("offer.yaml")).unwrap();
        let mut doc: Value = yaml_serde::from_str(&text).unwrap();
        let upload = |path: String| {
            let bytes = std::fs::read(example.join(path)).unwrap();
            let http = self.http.clone();
            let url = format!("{}/api/v1/orgs/contoso/media", self.server.url);
            async move {
                let r = http.post(url).basic_auth("admin", Some(PASSWORD)).body(bytes).send().await.unwrap();
                r.json::<Value>().await.unwrap()["digest"].as_str().unwrap().to_owned()
            }
        };
        for slot in ["small", "medium", "large", "wide"] {
            let path = doc["media"]["icons"][slot].as_str().unwrap().to_owned();
            doc["media"]["icons"][slot] = json!(upload(path).await);
        }
        for i in 0..doc["media"]["screenshots"].as_array().unwrap().len() {
            let path = doc["media"]["screenshots"][i]["image"].as_str().unwrap().to_owned();
            doc["media"]["screenshots"][i]["image"] = json!(upload(path).await);
        }
        let (s, body) = self.api(reqwest::Method::POST, "/api/v1/orgs/contoso/offers", Some(doc)).await;
        assert_eq!(s, 201, "{body}");
    }

    fn restart_server(&mut self) {
        self.server.signal("KILL");
        self.server.wait(Duration::from_secs(10));
        self.server = Server::spawn(&self.root.join("data"), &self.env);
    }

    /// The server again, stopping itself at `failpoint`.
    fn arm_server(&mut self, failpoint: &str) {
        self.server.signal("KILL");
        self.server.wait(Duration::from_secs(10));
        let mut env = self.env.clone();
        env.push(("WHARF_FAILPOINTS".into(), failpoint.into()));
        self.server = Server::spawn(&self.root.join("data"), &env);
    }

    /// Waits for the armed server to stop itself, and starts it normally.
    fn after_failpoint(&mut self, failpoint: &str) {
        let status = self.server.wait(Duration::from_secs(60));
        assert!(!status.success(), "the server was to stop at {failpoint}");
        assert!(self.server.stderr().contains(&format!("failpoint {failpoint}")), "{}", self.server.stderr());
        self.server = Server::spawn(&self.root.join("data"), &self.env);
    }

    fn worker(&self, failpoint: Option<&str>) -> Child {
        let mut env = self.env.clone();
        if let Some(f) = failpoint {
            env.push(("WHARF_FAILPOINTS".into(), f.into()));
        }
        common::wharf(&["worker", "--data-dir", self.root.join("data").to_str().unwrap()], &env)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// The version's status and the steps that have run, as `step:state`.
    async fn progress(&self, version: i64) -> (String, Vec<String>) {
        let (_, v) = self.api(reqwest::Method::GET, &format!("{OFFER}/versions/{version}"), None).await;
        let (_, steps) = self.api(reqwest::Method::GET, &format!("{OFFER}/versions/{version}/steps"), None).await;
        let steps = steps
            .as_array()
            .map(|a| {
                a.iter().map(|s| format!("{}:{}", s["step"].as_str().unwrap(), s["state"].as_str().unwrap())).collect()
            })
            .unwrap_or_default();
        (v["status"].as_str().unwrap_or_default().to_owned(), steps)
    }

    /// Waits until the version's status is `status`.
    async fn wait_for(&self, version: i64, status: &str) -> Vec<String> {
        let started = Instant::now();
        loop {
            let (now, steps) = self.progress(version).await;
            if now == status {
                return steps;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "version {version} stuck at {now} {steps:?}\n{}",
                self.server.stderr()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every tag of every marketplace repository points at a manifest whose blobs
    /// (and entries) are all there.
    async fn check_promoted_tags(&self) {
        let (_, catalog) = self.api(reqwest::Method::GET, "/v2/_catalog?n=1000", None).await;
        for repo in catalog["repositories"].as_array().unwrap().iter().filter_map(Value::as_str) {
            if !repo.starts_with("mp/") {
                continue;
            }
            let (_, tags) = self.api(reqwest::Method::GET, &format!("/v2/{repo}/tags/list"), None).await;
            for tag in tags["tags"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                let mut manifests = vec![tag.to_owned()];
                while let Some(reference) = manifests.pop() {
                    let r = self
                        .http
                        .get(format!("{}/v2/{repo}/manifests/{reference}", self.server.url))
                        .basic_auth("admin", Some(PASSWORD))
                        .header(
                            "accept",
                            "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json",
                        )
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 200, "{repo}:{tag} → {reference} is missing");
                    let m: Value = r.json().await.unwrap();
                    for child in m["manifests"].as_array().into_iter().flatten() {
                        manifests.push(child["digest"].as_str().unwrap().to_owned());
                    }
                    let blobs = m["layers"].as_array().into_iter().flatten().chain(std::iter::once(&m["config"]));
                    for blob in blobs.filter_map(|b| b["digest"].as_str()) {
                        let r = self
                            .http
                            .head(format!("{}/v2/{repo}/blobs/{blob}", self.server.url))
                            .basic_auth("admin", Some(PASSWORD))
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(r.status(), 200, "{repo}:{tag} needs blob {blob}, which is missing");
                    }
                }
            }
        }
    }

    /// How often each history event was recorded for `version`.
    async fn history_counts(&self, version: i64) -> std::collections::BTreeMap<String, usize> {
        let (_, page) = self.api(reqwest::Method::GET, &format!("{OFFER}/history?limit=200"), None).await;
        let mut counts = std::collections::BTreeMap::new();
        for e in page["items"].as_array().unwrap() {
            let detail = e["detail"].as_str().unwrap_or_default();
            if detail == version.to_string() {
                *counts.entry(e["label"].as_str().unwrap().to_owned()).or_insert(0) += 1;
            }
        }
        counts
    }
}

/// Where the pipeline stops itself, in order.
const FAILPOINTS: &[&str] = &[
    "certification.image-done",
    "certification.passed",
    "packaging.promoted",
    "packaging.signed",
    "packaging.attached",
];

/// Delays (ms) after Submit for plain `kill -9`s.
const KILL_AFTER_MS: &[u64] = &[10, 40, 90];

async fn submit(rig: &Rig) -> i64 {
    let (s, body) = rig.api(reqwest::Method::POST, &format!("{OFFER}/submit"), None).await;
    assert_eq!(s, 201, "{body}");
    body["version"]["version"].as_i64().unwrap()
}

/// Asks for go-live; the server may stop while answering.
async fn go_live(rig: &Rig, version: i64) {
    let _ = rig
        .http
        .post(format!("{}{OFFER}/go-live", rig.server.url))
        .basic_auth("admin", Some(PASSWORD))
        .header("idempotency-key", format!("go-live-{version}"))
        .json(&json!({"version": version}))
        .send()
        .await;
}

async fn assert_once(rig: &Rig, version: i64, events: &[&str]) {
    let counts = rig.history_counts(version).await;
    for e in events {
        assert_eq!(counts.get(*e), Some(&1), "{e} recorded once for version {version}: {counts:?}");
    }
}

async fn settled_in_preview(rig: &Rig, version: i64) {
    rig.check_promoted_tags().await;
    let steps = rig.wait_for(version, "preview").await;
    assert!(steps.contains(&"packaging:passed".to_owned()), "{steps:?}");
    rig.check_promoted_tags().await;
    assert_once(rig, version, &["Submitted", "Certified", "In preview"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_stopped_at_any_moment_resumes_and_publishes_once() {
    let mut rig = Rig::start(true).await;
    for failpoint in FAILPOINTS {
        rig.arm_server(failpoint);
        let version = submit(&rig).await;
        rig.after_failpoint(failpoint);
        eprintln!("version {version}: the server stopped at {failpoint}");
        settled_in_preview(&rig, version).await;
    }
    for delay in KILL_AFTER_MS {
        let version = submit(&rig).await;
        tokio::time::sleep(Duration::from_millis(*delay)).await;
        let at = rig.progress(version).await;
        rig.restart_server();
        eprintln!("version {version}: kill -9 of the server {delay} ms after Submit, at {at:?}");
        settled_in_preview(&rig, version).await;
    }
    // Go-live: stopped right after the sign-off commits (the answer never leaves),
    // then after the production verification.
    let version = (FAILPOINTS.len() + KILL_AFTER_MS.len()) as i64;
    rig.arm_server("go-live.signed-off");
    go_live(&rig, version).await;
    rig.after_failpoint("go-live.signed-off");
    rig.wait_for(version, "live").await;
    rig.check_promoted_tags().await;
    assert_once(&rig, version, &["Go live", "Went live"]).await;

    let next = submit(&rig).await;
    rig.wait_for(next, "preview").await;
    rig.arm_server("release.verified");
    go_live(&rig, next).await;
    rig.after_failpoint("release.verified");
    let steps = rig.wait_for(next, "live").await;
    assert!(steps.contains(&"packaging_for_production:passed".to_owned()), "{steps:?}");
    rig.check_promoted_tags().await;
    assert_once(&rig, next, &["Go live", "Went live"]).await;
    let (status, _) = rig.progress(version).await;
    assert_eq!(status, "superseded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_stopped_at_any_moment_is_taken_over_and_publishes_once() {
    let rig = Rig::start(false).await;
    for failpoint in FAILPOINTS.iter().chain(["release.verified"].iter()) {
        let releasing = *failpoint == "release.verified";
        let version = if releasing {
            let v = FAILPOINTS.len() as i64;
            go_live(&rig, v).await;
            v
        } else {
            submit(&rig).await
        };
        let worker = rig.worker(Some(failpoint));
        let out = tokio::task::spawn_blocking(move || worker.wait_with_output().unwrap()).await.unwrap();
        assert!(!out.status.success(), "the worker was to stop at {failpoint}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("failpoint {failpoint}")));
        eprintln!("version {version}: the worker stopped at {failpoint}");
        rig.check_promoted_tags().await;
        // Another worker takes the job over once the lease runs out.
        let mut worker = rig.worker(None);
        if releasing {
            rig.wait_for(version, "live").await;
            assert_once(&rig, version, &["Go live", "Went live"]).await;
        } else {
            settled_in_preview(&rig, version).await;
        }
        worker.kill().unwrap();
        worker.wait().unwrap();
        rig.check_promoted_tags().await;
    }
    let version = submit(&rig).await;
    let mut worker = rig.worker(None);
    tokio::time::sleep(Duration::from_millis(40)).await;
    let at = rig.progress(version).await;
    Command::new("kill").args(["-KILL", &worker.id().to_string()]).status().unwrap();
    worker.wait().unwrap();
    eprintln!("version {version}: kill -9 of the worker 40 ms after it started, at {at:?}");
    let mut worker = rig.worker(None);
    settled_in_preview(&rig, version).await;
    worker.kill().unwrap();
    worker.wait().unwrap();
}
