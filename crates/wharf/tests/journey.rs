//! The publisher's journey end to end, with the real `wharf` binary (its own job
//! workers, the CI's clamd) and real clients: skopeo pushes an image built by umoci,
//! `wharf offer apply` and `submit`, `wharf offer status --watch` until Preview, a
//! preview-audience member pulls the promoted image with skopeo and verifies the
//! marketplace's signature with an independent verifier (sigstore-rs,
//! `tools/cosign-verify`), an outsider is refused exactly as for a missing repository,
//! `wharf offer go-live --watch` until Live.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::tools::{build_image, skopeo, tagged, tool};
use common::{PASSWORD, Server, backend_env};
use serde_json::{Value, json};

/// What the test environment cannot check (advisories, a license file, a publisher
/// signature) warns; clamd scans for real.
const POLICY: &str = "not_evaluated = \"warn\"\nlicense_files = \"warn\"\nsignature = \"off\"\n";

struct Journey {
    _dir: tempfile::TempDir,
    root: PathBuf,
    server: Server,
    host: String,
    http: reqwest::Client,
}

impl Journey {
    async fn start() -> Journey {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        std::fs::write(root.join("policy.toml"), POLICY).unwrap();
        let clamd = std::env::var("WHARF_TEST_CLAMD").expect("WHARF_TEST_CLAMD: `.ci/services start` runs clamd");
        let mut env = backend_env().await;
        env.push(("WHARF_ADMIN_PASSWORD".into(), PASSWORD.into()));
        env.push(("WHARF_CERTIFICATION__POLICY".into(), root.join("policy.toml").display().to_string()));
        env.push(("WHARF_CERTIFICATION__CLAMD".into(), clamd));
        env.push(("WHARF_JOBS__POLL_INTERVAL".into(), "100ms".into()));
        let server = Server::spawn(&root.join("data"), &env);
        let host = server.url.trim_start_matches("http://").to_owned();
        Journey { _dir: dir, root, server, host, http: reqwest::Client::new() }
    }

    async fn admin(&self, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .request(method, format!("{}{path}", self.server.url))
            .basic_auth("admin", Some(PASSWORD))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// A user who belongs to a new customer organization.
    async fn customer(&self, user: &str, org: &str) {
        let (s, _) =
            self.admin(reqwest::Method::POST, "/api/v1/users", json!({"name": user, "password": PASSWORD})).await;
        assert_eq!(s, 201);
        let (s, _) = self.admin(reqwest::Method::POST, "/api/v1/orgs", json!({"name": org, "kind": "customer"})).await;
        assert_eq!(s, 201);
        let path = format!("/api/v1/orgs/{org}/members/{user}");
        let (s, _) = self.admin(reqwest::Method::PUT, &path, json!({"role": "viewer"})).await;
        assert!(s == 200 || s == 201, "{s}");
    }

    /// `wharf …` as the admin, through an API token: (exit code, stdout, stderr).
    fn wharf(&self, token: &str, args: &[&str]) -> (i32, String, String) {
        let env = [("WHARF_URL".to_owned(), self.server.url.clone()), ("WHARF_TOKEN".to_owned(), token.to_owned())];
        let out = common::wharf(args, &env).current_dir(self.root.join("offer")).output().unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
    }

    /// skopeo copy of `image` as `user` into a fresh layout: (success, stderr).
    fn pull(&self, user: &str, image: &str, into: &str) -> (bool, String) {
        let layout = self.root.join(into);
        let out = Command::new(tool("skopeo"))
            .args(["copy", "--src-tls-verify=false", "--src-creds", &format!("{user}:{PASSWORD}")])
            .arg(format!("docker://{}/{image}", self.host))
            .arg(format!("oci:{}:pulled", layout.display()))
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn verifier() -> PathBuf {
    let path = std::env::var_os("WHARF_COSIGN_VERIFY").map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/cosign-verify/target/debug/cosign-verify")
    });
    assert!(path.is_file(), "{} is missing: `.ci/run` builds tools/cosign-verify", path.display());
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publisher_goes_from_push_to_live_with_real_clients() {
    let j = Journey::start().await;
    let (s, _) = j.admin(reqwest::Method::POST, "/api/v1/orgs", json!({"name": "contoso", "kind": "publisher"})).await;
    assert_eq!(s, 201);
    let (s, _) = j.admin(reqwest::Method::PUT, "/api/v1/orgs/contoso/approval", Value::Null).await;
    assert_eq!(s, 200);
    j.customer("cust", "fabrikam").await;
    j.customer("outsider", "northwind").await;
    let (s, token) = j
        .admin(reqwest::Method::POST, "/api/v1/user/tokens", json!({"name": "ci", "scopes": ["api:read", "api:write"]}))
        .await;
    assert_eq!(s, 201, "{token}");
    let token = token["secret"].as_str().unwrap().to_owned();

    // The publisher builds and pushes its image.
    let layout = j.root.join("layout");
    build_image(&layout, "1.0.0", "amd64", 3);
    let pushed = tagged(&layout, "1.0.0")["digest"].as_str().unwrap().to_owned();
    let creds = format!("admin:{PASSWORD}");
    let src = format!("oci:{}:1.0.0", layout.display());
    skopeo(&[
        "copy",
        "--dest-creds",
        &creds,
        "--dest-tls-verify=false",
        &src,
        &format!("docker://{}/contoso/example-db:1.0.0", j.host),
    ]);

    // The example offer, previewed by fabrikam.
    let work = j.root.join("offer");
    std::fs::create_dir_all(work.join("media")).unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/offer");
    for entry in std::fs::read_dir(example.join("media")).unwrap() {
        let name = entry.unwrap().file_name();
        std::fs::copy(example.join("media").join(&name), work.join("media").join(&name)).unwrap();
    }
    let text = std::fs::read_to_string(example.join("offer.yaml")).unwrap();
    assert!(text.contains("preview_audience: []"));
    std::fs::write(work.join("offer.yaml"), text.replace("preview_audience: []", "preview_audience: [fabrikam]"))
        .unwrap();
    let (code, out, err) = j.wharf(&token, &["offer", "apply", "offer.yaml"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = j.wharf(&token, &["offer", "submit", "contoso/example-db"]);
    assert_eq!(code, 0, "{out}{err}");

    // Certification (clamd scans every file), packaging, signing: Preview.
    let started = std::time::Instant::now();
    let (code, out, err) = j.wharf(&token, &["offer", "status", "contoso/example-db", "--watch"]);
    assert_eq!(code, 0, "{out}{err}\n{}", j.server.stderr());
    assert!(out.contains("contoso/example-db version 1: Preview (preview)"), "{out}");
    assert!(out.contains("certification: passed") && out.contains("packaging: passed"), "{out}");
    eprintln!("submit to preview: {:?}", started.elapsed());
    let (_, out, _) = j.wharf(&token, &["offer", "status", "contoso/example-db"]);
    let image = "mp/contoso/example-db/free/example-db:1.0.0";
    assert!(out.contains(&format!("{}/{image} ({pushed}, plan free, signed)", j.host)), "{out}");

    // The preview audience pulls it, byte for byte what was pushed, and verifies the
    // marketplace's signature with the published key.
    let (ok, err) = j.pull("cust", image, "cust-pull");
    assert!(ok, "{err}");
    assert_eq!(tagged(&j.root.join("cust-pull"), "pulled")["digest"].as_str(), Some(pushed.as_str()));
    let key = j.root.join("marketplace.pub");
    let pem = j.http.get(format!("{}/api/v1/marketplace/signing-key", j.server.url)).send().await.unwrap();
    std::fs::write(&key, pem.text().await.unwrap()).unwrap();
    let verified = Command::new(verifier())
        .arg("--key")
        .arg(&key)
        .args(["--user", "cust", "--password", PASSWORD, "--http", &format!("{}/{image}", j.host)])
        .output()
        .unwrap();
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stderr));

    // An outsider gets what a missing repository answers.
    let (ok, refused) = j.pull("outsider", image, "outsider-pull");
    assert!(!ok);
    let (ok, missing) = j.pull("outsider", "mp/contoso/example-db/free/nothing:1.0.0", "outsider-missing");
    assert!(!ok);
    let tail = |e: &str, name: &str| e.rsplit("reading manifest").next().unwrap_or(e).replace(name, "<image>");
    eprintln!("outsider refused: {refused}");
    assert_eq!(
        tail(&refused, "mp/contoso/example-db/free/example-db"),
        tail(&missing, "mp/contoso/example-db/free/nothing"),
        "refused: {refused}\nmissing: {missing}"
    );

    // Go-live, then Live.
    let (code, out, err) = j.wharf(&token, &["offer", "go-live", "contoso/example-db", "--watch"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("contoso/example-db version 1: Live (live)"), "{out}");
    let (_, out, _) = j.wharf(&token, &["offer", "history", "contoso/example-db"]);
    for event in ["Certified", "In preview", "Go live", "Went live"] {
        assert_eq!(out.matches(event).count(), 1, "{event} once in {out}");
    }
}
