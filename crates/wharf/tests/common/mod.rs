//! Test harness shared by the binary's integration tests.
//!
//! [`TestApp`] runs the whole application in-process on a real loopback socket,
//! against the backends chosen by `WHARF_TEST_DB` (sqlite|postgres) and
//! `WHARF_TEST_BLOB` (local|s3); `.ci/run` runs the suite once per combination.
//! [`Server`] spawns the real `wharf` binary, for start-up, signals and the CLI.

#![allow(dead_code, reason = "each test binary uses part of the harness")]

pub mod publishing;
pub mod reg;
pub mod storm;
pub mod tar;
pub mod tools;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use wharf::config::Config;
use wharf::server::{self, AppState};
use wharf_auth::Authenticator;
use wharf_core::{OrgKind, Role};
use wharf_db::testing::TestDb;
use wharf_db::users::NewUser;
use wharf_db::{Backend, Db};

/// Password of every user the harness creates.
pub const PASSWORD: &str = "correct horse battery staple";

/// The application running in this process.
pub struct TestApp {
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    /// The database the app uses.
    pub db: Db,
    /// The app's state (blob store, authenticator).
    pub state: AppState,
    /// An HTTP client.
    pub http: reqwest::Client,
    _db: TestDb,
    _blobs: wharf_blob::testing::TestStore,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestApp {
    /// The app with default configuration and an `admin` operator.
    pub async fn start() -> TestApp {
        TestApp::with_config(|_| {}).await
    }

    /// The app with a configuration adjusted by `adjust`.
    pub async fn with_config(adjust: impl FnOnce(&mut Config)) -> TestApp {
        let blobs = wharf_blob::testing::from_env().await;
        TestApp::with_store(adjust, blobs).await
    }

    /// The app on a given blob store.
    pub async fn with_store(adjust: impl FnOnce(&mut Config), blobs: wharf_blob::testing::TestStore) -> TestApp {
        let tdb = wharf_db::testing::fresh(wharf_db::testing::backend_from_env()).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut config = Config { listen: addr.to_string(), ..Config::default() };
        adjust(&mut config);
        let auth = Authenticator::new(tdb.db.clone(), config.auth_settings()).await.unwrap();
        let application = config.application(tdb.db.clone(), auth.clone(), blobs.store.clone()).unwrap();
        application.ensure_admin(Some(PASSWORD)).await.unwrap();
        let state = AppState::new(tdb.db.clone(), blobs.store.clone(), auth, application);
        let app = server::app(state.clone(), &config);
        // The server's own connection layer, with the configured limits.
        let (limits, connections) = (config.connection_limits(), state.connections.clone());
        let task = tokio::spawn(async move {
            wharf::http::serve(listener, app, limits, connections, std::future::pending()).await;
        });
        TestApp {
            url: format!("http://{addr}"),
            db: tdb.db.clone(),
            state,
            http: reqwest::Client::new(),
            _db: tdb,
            _blobs: blobs,
            task,
        }
    }

    /// Creates a user with [`PASSWORD`].
    pub async fn user(&self, name: &str) -> wharf_db::users::User {
        let hash = wharf_auth::password::hash(PASSWORD).await.unwrap();
        self.db
            .create_user(NewUser { name: &name.parse().unwrap(), email: None, password_hash: Some(&hash) })
            .await
            .unwrap()
    }

    /// Creates an organization owned by `owner`.
    pub async fn org(&self, name: &str, kind: OrgKind, owner: &str) -> wharf_db::orgs::Org {
        let owner = self.db.user_by_name(&owner.parse().unwrap()).await.unwrap().unwrap();
        self.db.create_org(&name.parse().unwrap(), kind, None, Some(owner.id)).await.unwrap()
    }

    /// Gives `user` `role` in `org`.
    pub async fn member(&self, org: &str, user: &str, role: Role) {
        let org = self.db.org_by_name(&org.parse().unwrap()).await.unwrap().unwrap();
        let user = self.db.user_by_name(&user.parse().unwrap()).await.unwrap().unwrap();
        self.db.set_membership(org.id, user.id, role).await.unwrap();
    }

    /// A request as `user` with [`PASSWORD`].
    pub fn as_user(&self, method: reqwest::Method, user: &str, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.url)).basic_auth(user, Some(PASSWORD))
    }

    /// A request with a Bearer token.
    pub fn with_token(&self, method: reqwest::Method, token: &str, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.url)).bearer_auth(token)
    }

    /// An unauthenticated request.
    pub fn anon(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.url))
    }

    /// Creates an API token for `user` through the API; returns its secret.
    pub async fn token(&self, user: &str, scopes: &[&str]) -> String {
        let body = serde_json::json!({"name": format!("t{}", rand_suffix()), "scopes": scopes});
        let r = self.as_user(reqwest::Method::POST, user, "/api/v1/user/tokens").json(&body).send().await.unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        r.json::<serde_json::Value>().await.unwrap()["secret"].as_str().unwrap().to_owned()
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Status and parsed JSON body of a response.
pub async fn json(r: reqwest::Response) -> (u16, serde_json::Value) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(_) => serde_json::Value::String(text),
    };
    (status, value)
}

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The `wharf` binary built for these tests.
pub fn wharf_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_wharf"))
}

/// Environment for a spawned `wharf` using the test backends: a fresh PostgreSQL
/// database and/or an S3 prefix when the suite runs on those.
pub async fn backend_env() -> Vec<(String, String)> {
    let mut env = Vec::new();
    if wharf_db::testing::backend_from_env() == Backend::Postgres {
        env.push(("WHARF_DATABASE__URL".into(), wharf_db::testing::create_postgres_database().await));
    }
    if std::env::var(wharf_blob::testing::BACKEND_VAR).as_deref() == Ok("s3") {
        let s3 = wharf_blob::testing::s3_options();
        env.push(("WHARF_BLOB__BACKEND".into(), "s3".into()));
        env.push(("WHARF_BLOB__S3__ENDPOINT".into(), s3.endpoint.unwrap_or_default()));
        env.push(("WHARF_BLOB__S3__BUCKET".into(), s3.bucket));
        env.push(("WHARF_BLOB__S3__PREFIX".into(), s3.prefix));
    }
    env
}

/// A `wharf` command with a clean `WHARF_…` environment plus `env`.
pub fn wharf(args: &[&str], env: &[(String, String)]) -> Command {
    let mut cmd = Command::new(wharf_bin());
    cmd.args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("WHARF_") && !k.starts_with("WHARF_TEST_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    cmd
}

/// A spawned `wharf serve`.
pub struct Server {
    /// The process.
    pub child: Child,
    /// Base URL.
    pub url: String,
    /// Lines printed on stdout until the server answered.
    pub stdout: Vec<String>,
    /// Time from spawn to the first successful `/healthz`.
    pub ready_after: Duration,
    stderr_path: PathBuf,
}

impl Server {
    /// Spawns `wharf serve --data-dir DIR --listen 127.0.0.1:PORT` and waits for `/healthz`.
    pub fn spawn(data_dir: &Path, env: &[(String, String)]) -> Server {
        Server::spawn_limited(data_dir, env, None)
    }

    /// Like [`Server::spawn`], with at most `nofile` open file descriptors (prlimit).
    pub fn spawn_limited(data_dir: &Path, env: &[(String, String)], nofile: Option<u64>) -> Server {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let stderr_path = data_dir.with_extension("stderr.log");
        let stderr = std::fs::File::create(&stderr_path).unwrap();
        let started = Instant::now();
        let mut command = wharf(&["serve", "--data-dir", data_dir.to_str().unwrap(), "--listen", &listen], env);
        if let Some(n) = nofile {
            let mut limited = Command::new("prlimit");
            limited.arg(format!("--nofile={n}:{n}")).arg("--").arg(command.get_program()).args(command.get_args());
            for (k, v) in command.get_envs() {
                match v {
                    Some(v) => limited.env(k, v),
                    None => limited.env_remove(k),
                };
            }
            command = limited;
        }
        let mut child = command.stdout(Stdio::piped()).stderr(stderr).stdin(Stdio::null()).spawn().unwrap();
        let url = format!("http://{listen}");
        let health = format!("{url}/healthz");
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("wharf serve exited with {status}:\n{}", std::fs::read_to_string(&stderr_path).unwrap());
            }
            if ureq_get(&health) == Some(200) {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "wharf serve did not answer within 30 s");
            std::thread::sleep(Duration::from_millis(10));
        }
        let ready_after = started.elapsed();
        // Whatever it printed before answering (the first-start message, if any).
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut lines = Vec::new();
        while let Ok(line) = rx.recv_timeout(Duration::from_millis(300)) {
            lines.push(line);
        }
        Server { child, url, stdout: lines, ready_after, stderr_path }
    }

    /// What the server logged so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Sends a signal.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill").args([&format!("-{signal}"), &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit, at most `limit`.
    pub fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(started.elapsed() < limit, "wharf did not exit within {limit:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The generated admin password from the first-start message.
    pub fn generated_password(&self) -> String {
        let i = self.stdout.iter().position(|l| l.contains("generated password")).expect("first-start message");
        self.stdout[i + 2].trim().to_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A blocking GET returning the status, or `None` when nothing answers.
pub fn ureq_get(url: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let u = url::Url::parse(url).ok()?;
    let mut s = std::net::TcpStream::connect((u.host_str()?, u.port()?)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", u.path()).ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    buf.split_whitespace().nth(1)?.parse().ok()
}

/// An OSV archive of `files` (name, JSON).
pub fn osv_zip(files: &[(&str, String)]) -> Vec<u8> {
    use std::io::Write as _;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, json) in files {
        zip.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(json.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// An OSV advisory of `name` in `ecosystem`, fixed in 2.0.
pub fn osv(id: &str, ecosystem: &str, name: &str) -> String {
    serde_json::json!({
        "id": id, "modified": "2026-11-20T00:00:00Z",
        "affected": [{"package": {"ecosystem": ecosystem, "name": name},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]}]}]
    })
    .to_string()
}
