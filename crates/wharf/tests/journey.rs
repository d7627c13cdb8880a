//! The publisher's journey end to end, with the real `wharf` binary (its own job
//! workers, the CI's clamd) and real clients: skopeo pushes an image built by umoci,
//! `wharf offer apply` and `submit`, `wharf offer status --watch` until Preview, a
//! preview-audience member pulls the promoted image with skopeo and verifies the
//! marketplace's signature with an independent verifier (sigstore-rs,
//! `tools/cosign-verify`), an outsider is refused exactly as for a missing repository,
//! `wharf offer go-live --watch` until Live.
//!
//! And the customer's journey after it: an access offer, a subscription accepting
//! the terms, a deployment rendered by `wharf deploy` with its own pull credential,
//! skopeo pulling the entitled image and refused another one, podman (runc) running
//! the rendered container until it answers on its port, the Kubernetes rendering,
//! and the publisher's leads.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::tools::{build_image, build_web_image, skopeo, tagged, tool};
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

    /// A user who belongs to a new customer organization, as a viewer.
    async fn customer(&self, user: &str, org: &str) {
        self.customer_as(user, org, "viewer").await;
    }

    /// A user who belongs to a new customer organization with `role`.
    async fn customer_as(&self, user: &str, org: &str, role: &str) {
        let (s, _) =
            self.admin(reqwest::Method::POST, "/api/v1/users", json!({"name": user, "password": PASSWORD})).await;
        assert_eq!(s, 201);
        let (s, _) = self.admin(reqwest::Method::POST, "/api/v1/orgs", json!({"name": org, "kind": "customer"})).await;
        assert_eq!(s, 201);
        let path = format!("/api/v1/orgs/{org}/members/{user}");
        let (s, _) = self.admin(reqwest::Method::PUT, &path, json!({"role": role})).await;
        assert!(s == 200 || s == 201, "{s}");
    }

    /// The example offer in `offer/` (its media beside it), with its preview audience
    /// line replaced by `audience`.
    fn offer_dir(&self, audience: &str) {
        let work = self.root.join("offer");
        std::fs::create_dir_all(work.join("media")).unwrap();
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/offer");
        for entry in std::fs::read_dir(example.join("media")).unwrap() {
            let name = entry.unwrap().file_name();
            std::fs::copy(example.join("media").join(&name), work.join("media").join(&name)).unwrap();
        }
        let text = std::fs::read_to_string(example.join("offer.yaml")).unwrap();
        assert!(text.contains("preview_audience: []"));
        std::fs::write(work.join("offer.yaml"), text.replace("preview_audience: []", audience)).unwrap();
    }

    /// An API token of `user` (password login) with `scopes`.
    async fn token_of(&self, user: &str, scopes: &[&str]) -> String {
        let r = self
            .http
            .post(format!("{}/api/v1/user/tokens", self.server.url))
            .basic_auth(user, Some(PASSWORD))
            .json(&json!({"name": "cli", "scopes": scopes}))
            .send()
            .await
            .unwrap();
        let body: Value = r.json().await.unwrap();
        body["secret"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned()
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
        self.pull_with(&format!("{user}:{PASSWORD}"), image, into)
    }

    /// skopeo copy of `image` with credentials `creds` (`user:secret`) into a fresh
    /// layout: (success, stderr).
    fn pull_with(&self, creds: &str, image: &str, into: &str) -> (bool, String) {
        let layout = self.root.join(into);
        let out = Command::new(tool("skopeo"))
            .args(["copy", "--src-tls-verify=false", "--src-creds", creds])
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
    j.offer_dir("preview_audience: [fabrikam]");
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

/// A free local TCP port.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Removes a podman container when the test ends, passed or not.
struct Container(&'static str);

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("podman").args(["rm", "-f", self.0]).output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_subscribes_pulls_what_it_is_entitled_to_and_runs_the_rendered_container() {
    let j = Journey::start().await;
    let (s, _) = j.admin(reqwest::Method::POST, "/api/v1/orgs", json!({"name": "contoso", "kind": "publisher"})).await;
    assert_eq!(s, 201);
    let (s, _) = j.admin(reqwest::Method::PUT, "/api/v1/orgs/contoso/approval", Value::Null).await;
    assert_eq!(s, 200);
    j.customer_as("cust", "fabrikam", "admin").await;
    let admin = j.token_of("admin", &["api:read", "api:write", "admin"]).await;

    // The publisher's image answers HTTP on the port its container template maps (5432).
    let layout = j.root.join("layout");
    build_web_image(&layout, "1.0.0", 5432);
    let creds = format!("admin:{PASSWORD}");
    let src = format!("oci:{}:1.0.0", layout.display());
    let dest = format!("docker://{}/contoso/example-db:1.0.0", j.host);
    skopeo(&["copy", "--dest-creds", &creds, "--dest-tls-verify=false", &src, &dest]);
    j.offer_dir("preview_audience: []");
    for args in [
        &["offer", "apply", "offer.yaml"][..],
        &["offer", "submit", "contoso/example-db"],
        &["offer", "status", "contoso/example-db", "--watch"],
        &["offer", "go-live", "contoso/example-db", "--watch"],
    ] {
        let (code, out, err) = j.wharf(&admin, args);
        assert_eq!(code, 0, "{args:?}: {out}{err}\n{}", j.server.stderr());
    }

    // The operator offers access; the customer subscribes to it, then to two plans.
    std::fs::write(
        j.root.join("offer/access.yaml"),
        "name: standard\ndisplay_name: Standard access\nplans:\n  - {name: base, kind: base, opens: {all: true}, quotas: {subscriptions: 5}}\n",
    )
    .unwrap();
    let (code, out, err) = j.wharf(&admin, &["access", "apply", "access.yaml"]);
    assert_eq!((code, out.trim()), (0, "created access offer standard with 1 plan"), "{err}");
    let cust = j.token_of("cust", &["api:read", "api:write"]).await;
    let (code, out, err) = j.wharf(&cust, &["access", "subscribe", "fabrikam", "standard", "base"]);
    assert_eq!(code, 0, "{out}{err}");
    let mut subscriptions = Vec::new();
    for plan in ["free", "byol-cluster"] {
        let args = [
            "subscription",
            "create",
            "fabrikam",
            "contoso/example-db",
            plan,
            "--accept-terms",
            "--share-contact",
            "-o",
            "json",
        ];
        let (code, out, err) = j.wharf(&cust, &args);
        assert_eq!(code, 0, "{out}{err}");
        subscriptions.push(serde_json::from_str::<Value>(&out).unwrap()["id"].as_i64().unwrap().to_string());
    }

    // `wharf deploy` renders the container plan with its own pull credential.
    let port = free_port();
    let set_port = format!("port={port}");
    let args = ["deploy", "fabrikam", &subscriptions[0], "--set", &set_port, "--name", "edge", "-o", "json"];
    let (code, out, err) = j.wharf(&cust, &args);
    assert_eq!(code, 0, "{out}{err}");
    let deployed: Value = serde_json::from_str(&out).unwrap();
    let (user, password) = (deployed["username"].as_str().unwrap(), deployed["password"].as_str().unwrap());
    let argv: Vec<String> = serde_json::from_value(deployed["argv"].clone()).unwrap();
    let image = argv.last().unwrap().clone();
    assert!(image.starts_with(&format!("{}/mp/contoso/example-db/free/example-db@sha256:", j.host)), "{argv:?}");

    // skopeo pulls the entitled image with that credential, and is refused another plan's.
    let pull_creds = format!("{user}:{password}");
    let entitled = image.trim_start_matches(&format!("{}/", j.host));
    let (ok, err) = j.pull_with(&pull_creds, entitled, "entitled");
    assert!(ok, "{err}");
    let (ok, refused) = j.pull_with(&pull_creds, "mp/contoso/example-db/byol-cluster/example-db:1.0.0", "other");
    assert!(!ok, "another plan's image was pulled");
    assert!(refused.contains("unauthorized") || refused.contains("denied") || refused.contains("401"), "{refused}");

    // podman (runc) runs the rendered command; the container answers on its port.
    assert_eq!(argv[..2], ["docker", "run"], "{argv:?}");
    let _cleanup = Container("example-db");
    let _ = Command::new("podman").args(["rm", "-f", "example-db"]).output();
    // The rendered log-in first (reading the password from standard input), into an
    // auth file of the test's own.
    let login = deployed["commands"][0].as_str().unwrap();
    assert_eq!(login, format!("docker login --username {user} --password-stdin {}", j.host));
    let authfile = j.root.join("auth.json").display().to_string();
    let mut child = Command::new(tool("podman"))
        .args(["login", "--tls-verify=false", "--authfile", &authfile, "--username", user, "--password-stdin", &j.host])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(password.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "podman login: {}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new(tool("podman"))
        .args(["--runtime", "runc", "run"])
        // This machine's limits: podman's defaults for these cannot be set here.
        .args(["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"])
        .args(["--tls-verify=false", "--authfile", &authfile])
        .args(&argv[2..])
        .output()
        .unwrap();
    assert!(out.status.success(), "podman run: {}", String::from_utf8_lossy(&out.stderr));
    let url = format!("http://127.0.0.1:{port}/");
    let mut answer = String::new();
    for _ in 0..100 {
        if let Ok(r) = j.http.get(&url).send().await {
            answer = r.text().await.unwrap_or_default();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(answer, "hello from wharf\n");

    // The Kubernetes plan renders manifests the server checked against the API types.
    let out_dir = j.root.join("k8s");
    let out_arg = out_dir.display().to_string();
    let args = ["deploy", "fabrikam", &subscriptions[1], "--set", "license=CONTOSO-KEY", "--out", &out_arg];
    let (code, out, err) = j.wharf(&cust, &args);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("kubectl apply -f manifests.yaml"), "{out}");
    let manifests = std::fs::read_to_string(out_dir.join("manifests.yaml")).unwrap();
    let kinds: Vec<String> = yaml_serde::Deserializer::from_str(&manifests)
        .map(|d| <Value as serde::Deserialize>::deserialize(d).unwrap()["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["Secret", "StatefulSet"]);

    // What people read: usage, subscriptions, a dry run (host, digests and times redacted).
    let redact = |text: &str| {
        let text = text.replace(&j.host, "[registry]");
        let text = regex::Regex::new("sha256:[0-9a-f]{64}").unwrap().replace_all(&text, "sha256:[digest]").into_owned();
        let time = regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z").unwrap();
        let text = time.replace_all(&text, "[time]").into_owned();
        regex::Regex::new("example-db-[0-9a-f]{5}").unwrap().replace_all(&text, "example-db-[random]").into_owned()
    };
    let (code, usage, err) = j.wharf(&cust, &["access", "usage", "fabrikam"]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!(redact(&usage), @"
    ACCESS OFFER  QUOTA          LIMIT      USED
    standard      subscriptions  5          2
    standard      deployments    unlimited  2
    ");
    let (code, list, err) = j.wharf(&cust, &["subscription", "list", "fabrikam"]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!(redact(&list), @"
    ID  ITEM                PLAN          STATUS  ACCESS         ACCEPTED
    2   contoso/example-db  byol-cluster  active  standard/base  [time] by cust
    1   contoso/example-db  free          active  standard/base  [time] by cust
    ");
    let args = [
        "deploy",
        "fabrikam",
        &subscriptions[0],
        "--set",
        "port=8080",
        "--set",
        "password=not-a-secret-1",
        "--dry-run",
    ];
    let (code, dry, err) = j.wharf(&cust, &args);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!(redact(&dry), @"
    # dry run of example-db-[random] (container, version 1)
    docker login --username <pull-secret-user> --password-stdin [registry]
    docker run -d --name example-db -p 8080:5432 -e 'DB_PASSWORD=not-a-secret-1' [registry]/mp/contoso/example-db/free/example-db@sha256:[digest]
    ");
    let (code, _, err) =
        j.wharf(&cust, &["deploy", "fabrikam", &subscriptions[0], "--set", "port=http", "--set", "colour=blue"]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(err.trim(), @"
    error: the server refused (422 Invalid request): 2 fields are invalid
      /values/colour: the plan has no parameter \"colour\" (it has: name, port, password)
      /values/port: must be a whole number (got \"http\")
    ");

    // The publisher sees the leads: the test lead of going live, and the subscriptions.
    let (status, leads) = j.admin(reqwest::Method::GET, "/api/v1/orgs/contoso/leads", Value::Null).await;
    assert_eq!(status, 200);
    let mut events: Vec<String> = leads
        .as_array()
        .unwrap()
        .iter()
        .map(|l| format!("{} {}", l["event"].as_str().unwrap(), l["payload"]["data"]["customer"]["organization"]))
        .collect();
    events.sort();
    assert_eq!(events, ["lead.subscribed \"fabrikam\"", "lead.subscribed \"fabrikam\"", "lead.test null"]);
}
