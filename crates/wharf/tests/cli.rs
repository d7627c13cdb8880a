//! The `wharf` binary as a user runs it: first start, signals, configuration and
//! start-up failures, `migrate`, `admin`, `login`/`whoami`/`logout`.
//!
//! Runs against the backends chosen by `WHARF_TEST_DB` / `WHARF_TEST_BLOB`.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use common::{PASSWORD, Server, backend_env, json, wharf};

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str], env: &[(String, String)], stdin: Option<&str>) -> Output {
    let mut child = wharf(args, env)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[tokio::test]
async fn first_start_creates_admin_with_a_generated_password_shown_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let backends = backend_env().await;
    let server = Server::spawn(&data, &backends);
    eprintln!("wharf serve answered /healthz {:?} after spawn (debug build)", server.ready_after);
    let password = server.generated_password();
    assert_eq!(password.len(), 24);
    assert!(
        server
            .stdout
            .iter()
            .any(|l| l == &format!("Log in with:  wharf login {} --username admin", "http://127.0.0.1:5000")
                || l.starts_with("Log in with:  wharf login http://127.0.0.1:")),
        "{:?}",
        server.stdout
    );
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/user", server.url))
        .basic_auth("admin", Some(&password))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(!server.stderr().contains(&password), "the password is not logged");
    drop(server);

    // A second start finds the account and prints nothing about it.
    let again = Server::spawn(&data, &backends);
    assert!(again.stdout.is_empty(), "{:?}", again.stdout);
    if backends.is_empty() {
        assert!(data.join("wharf.db").exists() && data.join("blobs").is_dir());
    }
}

#[tokio::test]
async fn admin_password_comes_from_the_environment_and_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = backend_env().await;
    e.push(("WHARF_ADMIN_PASSWORD".into(), PASSWORD.into()));
    let server = Server::spawn(&dir.path().join("a"), &e);
    assert!(server.stdout[0].contains("with the password from WHARF_ADMIN_PASSWORD"), "{:?}", server.stdout);
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/user", server.url))
        .basic_auth("admin", Some(PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let mut e = backend_env().await;
    e.push(("WHARF_ADMIN_PASSWORD".into(), "short".into()));
    let out =
        run(&["serve", "--data-dir", dir.path().join("b").to_str().unwrap(), "--listen", "127.0.0.1:0"], &e, None);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("error: WHARF_ADMIN_PASSWORD is unusable: password must be at least 12 characters long (got 5)"),
        "{}",
        out.stderr
    );
}

/// SIGTERM and SIGINT: a request in flight completes, the process exits 0, and
/// the database is closed cleanly (no SQLite write-ahead log left behind).
#[tokio::test]
async fn signals_let_in_flight_requests_finish() {
    for signal in ["TERM", "INT"] {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let mut e = backend_env().await;
        e.push(("WHARF_ADMIN_PASSWORD".into(), PASSWORD.into()));
        let mut server = Server::spawn(&data, &e);
        let addr = server.url.trim_start_matches("http://").to_owned();

        let body = format!(r#"{{"name":"late-{}","password":"{PASSWORD}"}}"#, signal.to_lowercase());
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("admin:{PASSWORD}"));
        let mut conn = TcpStream::connect(&addr).unwrap();
        write!(
            conn,
            "POST /api/v1/users HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic {auth}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .unwrap();
        let (first, rest) = body.split_at(10);
        conn.write_all(first.as_bytes()).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        server.signal(signal);
        std::thread::sleep(Duration::from_millis(300));
        assert!(server.child.try_wait().unwrap().is_none(), "still serving the request in flight");
        conn.write_all(rest.as_bytes()).unwrap();
        let mut response = String::new();
        conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        conn.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.1 201"), "SIG{signal}: {response}");

        let status = server.wait(Duration::from_secs(15));
        assert!(status.success(), "SIG{signal}: {status}");
        let log = server.stderr();
        assert!(log.contains(&format!("received SIG{signal}")) && log.contains("stopped"), "{log}");
        if e.iter().all(|(k, _)| k != "WHARF_DATABASE__URL") {
            assert!(data.join("wharf.db").exists());
            let wal = data.join("wharf.db-wal");
            assert!(!wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0, "SQLite was closed cleanly");
        }
        // New connections are refused once it has exited.
        assert!(TcpStream::connect(&addr).is_err());
    }
}

#[tokio::test]
async fn unreachable_database_at_start_is_a_clear_error() {
    let e = env(&[
        ("WHARF_DATABASE__URL", "postgres://wharf:hunter2@127.0.0.1:9/wharf"),
        ("WHARF_DATABASE__CONNECT_TIMEOUT", "2s"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let out = run(&["serve", "--data-dir", dir.path().to_str().unwrap(), "--listen", "127.0.0.1:0"], &e, None);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(
        out.stderr.contains("error: cannot connect to the database at postgres://wharf:***@127.0.0.1:9/wharf: "),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("hunter2"));
}

#[tokio::test]
async fn invalid_configuration_stops_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wharf.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:0\"\n[database]\nurll = \"postgres://x\"\n").unwrap();
    let data = dir.path().join("data");
    let out = run(&["serve", "--config", file.to_str().unwrap(), "--data-dir", data.to_str().unwrap()], &[], None);
    assert_eq!(out.code, 3);
    assert!(out.stderr.contains("`database.urll`") && out.stderr.contains("unknown field `urll`"), "{}", out.stderr);
    assert!(!data.exists(), "nothing was created");

    let out = run(&["serve", "--data-dir", data.to_str().unwrap()], &env(&[("WHARF_LISTN", "127.0.0.1:1")]), None);
    assert_eq!(out.code, 3);
    assert!(out.stderr.contains("environment variable WHARF_LISTN is not a configuration key"), "{}", out.stderr);
    // A certification policy that cannot be read stops the server at start.
    let out = run(
        &["serve", "--data-dir", data.to_str().unwrap(), "--listen", "127.0.0.1:0"],
        &env(&[("WHARF_CERTIFICATION__POLICY", "/nonexistent/policy.toml"), ("WHARF_ADMIN_PASSWORD", PASSWORD)]),
        None,
    );
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("cannot read policy /nonexistent/policy.toml"), "{}", out.stderr);
    let out = run(&["serve", "--data-dir", data.to_str().unwrap(), "--listen", "localhost"], &[], None);
    assert_eq!(out.code, 3);
    assert!(out.stderr.contains("`listen` (from --listen): must be IP:PORT"), "{}", out.stderr);
}

#[tokio::test]
async fn unreachable_s3_serves_but_reports_not_ready() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = env(&[
        ("WHARF_BLOB__BACKEND", "s3"),
        ("WHARF_BLOB__S3__ENDPOINT", "http://127.0.0.1:9"),
        ("WHARF_BLOB__S3__BUCKET", "wharf"),
        ("WHARF_BLOB__S3__MAX_RETRIES", "0"),
        ("WHARF_BLOB__S3__CONNECT_TIMEOUT", "1s"),
        ("WHARF_ADMIN_PASSWORD", PASSWORD),
    ]);
    e.extend(backend_env().await.into_iter().filter(|(k, _)| k == "WHARF_DATABASE__URL"));
    let server = Server::spawn(&dir.path().join("data"), &e);
    let log = server.stderr();
    assert!(log.contains("blob store unreachable; /readyz will report unavailable"), "{log}");
    assert!(log.contains("s3://wharf/ at http://127.0.0.1:9"), "{log}");
    let http = reqwest::Client::new();
    let (status, body) = json(http.get(format!("{}/readyz", server.url)).send().await.unwrap()).await;
    assert_eq!((status, body["checks"]["blob_store"]["ok"].as_bool()), (503, Some(false)), "{body}");
    assert_eq!(http.get(format!("{}/healthz", server.url)).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out =
        run(&["serve", "--data-dir", dir.path().to_str().unwrap(), "--listen", &addr], &backend_env().await, None);
    assert_eq!(out.code, 4);
    assert!(out.stderr.contains(&format!("error: cannot listen on {addr}: ")), "{}", out.stderr);
}

#[tokio::test]
async fn migrate_applies_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let e = backend_env().await;
    for _ in 0..2 {
        let out = run(&["migrate", "--data-dir", dir.path().to_str().unwrap()], &e, None);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let want = format!("is at schema version {}", wharf_db::Db::latest_schema_version());
        assert!(out.stdout.trim_end().ends_with(&want), "{}", out.stdout);
    }
}

#[tokio::test]
async fn admin_commands_manage_users_orgs_and_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_owned();
    let e = backend_env().await;
    let admin = |args: &[&str], stdin: Option<&str>| {
        let mut all = vec!["admin", "--data-dir", d.as_str()];
        all.extend_from_slice(args);
        run(&all, &e, stdin)
    };
    let out = admin(
        &["user", "create", "alice", "--email", "alice@example.com", "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    assert_eq!((out.code, out.stdout.trim()), (0, "created user alice"), "{}", out.stderr);
    let out = admin(&["user", "create", "alice", "--no-password"], None);
    assert_eq!(out.code, 1);
    assert_eq!(out.stderr.trim(), "error: user \"alice\" already exists");
    let out = admin(&["user", "create", "Bad Name", "--no-password"], None);
    assert_eq!(
        out.stderr.trim(),
        "error: invalid user name \"Bad Name\": may contain only lowercase letters a-z, digits 0-9 and hyphens (found 'B')"
    );
    let out = admin(&["user", "create", "bob", "--password-stdin"], Some("short\n"));
    assert_eq!((out.code, out.stderr.trim()), (1, "error: password must be at least 12 characters long (got 5)"));
    let out = admin(&["user", "create", "bob"], None);
    assert!(out.stderr.contains("pass --password-stdin"), "{}", out.stderr);
    admin(&["user", "create", "bob", "--no-password"], None);

    let out = admin(&["user", "list", "-o", "json"], None);
    let users: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let names: Vec<&str> = users.as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["alice", "bob"]);
    let out = admin(&["user", "list"], None);
    assert!(out.stdout.starts_with("NAME   EMAIL"), "{}", out.stdout);

    let out =
        admin(&["org", "create", "acme", "--kind", "publisher", "--owner", "alice", "--display-name", "ACME"], None);
    assert_eq!((out.code, out.stdout.trim()), (0, "created publisher organization acme"), "{}", out.stderr);
    let out = admin(&["org", "create", "x", "--kind", "vendor"], None);
    assert_eq!(
        out.stderr.trim(),
        "error: unknown organization kind \"vendor\": expected one of publisher, customer, operator"
    );
    assert_eq!(admin(&["org", "set-member", "acme", "bob", "--role", "developer"], None).code, 0);
    let out = admin(&["org", "members", "acme", "-o", "json"], None);
    let members: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(members[0]["role"], "owner");
    assert_eq!(members[1]["role"], "developer");
    let out = admin(&["org", "remove-member", "acme", "alice"], None);
    assert_eq!((out.code, out.stderr.trim()), (1, "error: an organization must keep at least one owner"));
    let archive = dir.path().join("osv.zip");
    std::fs::write(&archive, common::osv_zip(&[("GHSA-1.json", common::osv("GHSA-1", "npm", "left-pad"))])).unwrap();
    let out = admin(&["advisories", "import", archive.to_str().unwrap()], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("imported 1 advisories from osv.zip"), "{}", out.stdout);
    let out = admin(&["advisories", "list", "-o", "json"], None);
    let list: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!((list[0]["total"].as_u64(), list[0]["imported_by"].as_str()), (Some(1), Some("wharf-admin")));
    let out = admin(&["org", "approve", "acme"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("acme is approved (by wharf-admin at "), "{}", out.stdout);
    let out = admin(&["org", "revoke", "acme", "-o", "json"], None);
    let acme: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(acme.get("approval").is_none(), "{acme}");

    let out = admin(&["token", "create", "alice", "--name", "ci", "--scope", "registry:pull,api:read"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let secret = out.stdout.lines().find(|l| l.trim().starts_with("wharf_pat_")).unwrap().trim().to_owned();
    let out = admin(&["token", "list", "alice", "-o", "json"], None);
    let tokens: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        (tokens[0]["state"].as_str(), tokens[0]["scopes"].as_str()),
        (Some("active"), Some("api:read registry:pull"))
    );
    assert!(!out.stdout.contains(&secret));
    let out = admin(&["token", "create", "alice", "--name", "x", "--scope", "root"], None);
    assert!(out.stderr.contains("unknown scope \"root\""), "{}", out.stderr);
    let id = tokens[0]["id"].as_i64().unwrap().to_string();
    assert_eq!(admin(&["token", "revoke", "alice", &id], None).code, 0);
    let out = admin(&["user", "disable", "bob"], None);
    assert_eq!(out.code, 0);
    let out = admin(&["user", "set-password", "nobody", "--password-stdin"], Some("x\n"));
    assert_eq!(out.stderr.trim(), "error: no user named \"nobody\"");

    // Registry administration.
    let out = admin(&["org", "set-quota", "acme", "20GiB"], None);
    assert_eq!(
        (out.code, out.stdout.trim()),
        (0, "acme: storage quota 21474836480 bytes (0 bytes used)"),
        "{}",
        out.stderr
    );
    let out = admin(&["org", "set-quota", "acme", "20 parsecs"], None);
    assert!(out.stderr.contains("invalid quota"), "{}", out.stderr);
    assert_eq!(admin(&["org", "set-quota", "acme", "none"], None).code, 0);
    let out = admin(&["repo", "set", "acme/app", "--immutable-tags", "true"], None);
    assert_eq!((out.code, out.stderr.trim()), (1, "error: no repository named \"acme/app\""));
    let out = admin(&["gc", "--dry-run", "-o", "json"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!((report["dry_run"].as_bool(), report["blobs_deleted"].as_u64()), (Some(true), Some(0)));
    let out = admin(&["gc"], None);
    assert!(out.stdout.starts_with("garbage collection removed: 0 upload sessions"), "{}", out.stdout);
    // The grace period the configuration refuses is refused on the command line too.
    let out = admin(&["gc", "--grace", "10s"], None);
    assert_eq!(
        (out.code, out.stderr.trim()),
        (2, "error: --grace 10s must be at least 1m: pushes in progress need time to link what they upload")
    );
    assert_eq!(admin(&["gc", "--grace", "1h", "--dry-run"], None).code, 0);
}

#[tokio::test]
async fn login_stores_a_private_token_and_logout_revokes_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = backend_env().await;
    e.push(("WHARF_ADMIN_PASSWORD".into(), PASSWORD.into()));
    let server = Server::spawn(&dir.path().join("data"), &e);
    let home = dir.path().join("home");
    let client_env = env(&[("XDG_CONFIG_HOME", home.to_str().unwrap()), ("HOME", home.to_str().unwrap())]);

    let out =
        run(&["login", &server.url, "--username", "admin", "--password-stdin"], &client_env, Some("wrong password!\n"));
    assert_eq!(
        (out.code, out.stderr.trim()),
        (5, format!("error: login to {} failed: invalid username or password", server.url).as_str())
    );
    let out =
        run(&["login", "http://127.0.0.1:9", "--username", "admin", "--password-stdin"], &client_env, Some("x\n"));
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(out.stderr.contains("cannot reach the Wharf server at http://127.0.0.1:9"), "{}", out.stderr);

    let out = run(
        &["login", &server.url, "--username", "admin", "--password-stdin"],
        &client_env,
        Some(&format!("{PASSWORD}\n")),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with(&format!("Logged in to {} as admin.", server.url)), "{}", out.stdout);
    let file = home.join("wharf").join("credentials.toml");
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::metadata(file.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
    let stored = std::fs::read_to_string(&file).unwrap();
    assert!(!stored.contains(PASSWORD), "the password is never stored");
    let token = stored.lines().find_map(|l| l.strip_prefix("token = ")).unwrap().trim_matches('"').to_owned();

    let out = run(&["whoami", "-o", "json"], &client_env, None);
    let me: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!((me["user"]["name"].as_str(), me["user"]["operator_role"].as_str()), (Some("admin"), Some("owner")));

    // Scripts need no credentials file: WHARF_URL and WHARF_TOKEN.
    let elsewhere = dir.path().join("elsewhere");
    let mut script_env =
        env(&[("XDG_CONFIG_HOME", elsewhere.to_str().unwrap()), ("HOME", elsewhere.to_str().unwrap())]);
    script_env.extend([("WHARF_URL".to_owned(), server.url.clone()), ("WHARF_TOKEN".to_owned(), token.clone())]);
    let out = run(&["whoami"], &script_env, None);
    assert_eq!(
        (out.code, out.stdout.lines().next()),
        (0, Some(format!("admin on {}", server.url).as_str())),
        "{}",
        out.stderr
    );
    script_env.last_mut().unwrap().1 = "wharf_not_a_token".into();
    let out = run(&["whoami"], &script_env, None);
    assert_eq!(out.code, 5);
    assert!(out.stderr.contains("the token in WHARF_TOKEN does not work on"), "{}", out.stderr);

    let out = run(&["logout"], &client_env, None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let r = reqwest::Client::new().get(format!("{}/api/v1/user", server.url)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 401, "the stored token was revoked");
    let out = run(&["whoami"], &client_env, None);
    assert_eq!(out.code, 5);
    assert!(out.stderr.contains("not logged in"), "{}", out.stderr);
}

/// `log.format = "json"`: one JSON object per line, and a request's lines carry its id.
#[tokio::test]
async fn json_logs_carry_request_ids() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = backend_env().await;
    e.push(("WHARF_LOG__FORMAT".into(), "json".into()));
    e.push(("WHARF_ADMIN_PASSWORD".into(), PASSWORD.into()));
    // A shell set up for client commands starts the server as well.
    e.push(("WHARF_URL".into(), "http://wharf.example".into()));
    e.push(("WHARF_TOKEN".into(), "wharf_x".into()));
    let server = Server::spawn(&dir.path().join("data"), &e);
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/orgs/nope", server.url))
        .header("x-request-id", "req-4711")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    std::thread::sleep(Duration::from_millis(200));
    let log = server.stderr();
    let lines: Vec<serde_json::Value> =
        log.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    assert!(lines.iter().any(|l| l["message"] == "Wharf is serving" && l["level"] == "INFO"), "{log}");
    let request_line = lines.iter().find(|l| l["span"]["request_id"] == "req-4711").expect("a line for the request");
    assert_eq!(request_line["span"]["path"], "/api/v1/orgs/nope");
    assert_eq!(request_line["status"], 401);
}

/// A rule holds the same on every surface: what the REST API refuses, `wharf admin`
/// refuses with the same rule (both parse into the same types and call the same use
/// case). Before the application layer, `wharf admin user create` stored any e-mail.
#[tokio::test]
async fn the_same_rule_is_refused_through_rest_and_the_admin_cli() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut e = backend_env().await;
    e.push(("WHARF_ADMIN_PASSWORD".into(), PASSWORD.into()));
    let server = Server::spawn(&data, &e);
    let admin = |args: &[&str], stdin: Option<&str>| {
        let mut all = vec!["admin", "--data-dir", data.to_str().unwrap()];
        all.extend_from_slice(args);
        run(&all, &e, stdin)
    };
    let http = reqwest::Client::new();
    let long_name = "x".repeat(101);
    /// A rule, the REST request breaking it and the admin command breaking it.
    struct Case<'a> {
        what: &'a str,
        path: &'a str,
        body: serde_json::Value,
        pointer: &'a str,
        args: Vec<&'a str>,
        stdin: Option<&'a str>,
    }
    let cases = [
        Case {
            what: "e-mail",
            path: "/api/v1/users",
            body: serde_json::json!({"name": "carol", "email": "not-an-address"}),
            pointer: "/email",
            args: vec!["user", "create", "carol", "--email", "not-an-address", "--no-password"],
            stdin: None,
        },
        Case {
            what: "password",
            path: "/api/v1/users",
            body: serde_json::json!({"name": "carol", "password": "short"}),
            pointer: "/password",
            args: vec!["user", "create", "carol", "--password-stdin"],
            stdin: Some("short\n"),
        },
        Case {
            what: "display name",
            path: "/api/v1/orgs",
            body: serde_json::json!({"name": "acme", "kind": "publisher", "display_name": long_name}),
            pointer: "/display_name",
            args: vec!["org", "create", "acme", "--kind", "publisher", "--display-name", &long_name],
            stdin: None,
        },
        Case {
            what: "organization name",
            path: "/api/v1/orgs",
            body: serde_json::json!({"name": "api", "kind": "publisher"}),
            pointer: "/name",
            args: vec!["org", "create", "api", "--kind", "publisher"],
            stdin: None,
        },
    ];
    for Case { what, path, body, pointer, args, stdin } in cases {
        let r = http
            .post(format!("{}{path}", server.url))
            .basic_auth("admin", Some(PASSWORD))
            .json(&body)
            .send()
            .await
            .unwrap();
        let (status, problem) = json(r).await;
        assert_eq!(status, 422, "{what}: {problem}");
        let rule = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["pointer"] == pointer)
            .unwrap_or_else(|| panic!("{what}: {problem}"))["detail"]
            .as_str()
            .unwrap()
            .to_owned();
        let out = admin(&args, stdin);
        assert_eq!(out.code, 1, "{what}: {}", out.stderr);
        assert!(out.stderr.trim_end().ends_with(&rule), "{what}: the CLI said {:?}, the API {rule:?}", out.stderr);
    }
    // Nothing was stored by either.
    let out = admin(&["user", "list", "-o", "json"], None);
    assert!(!out.stdout.contains("carol"), "{}", out.stdout);
    let out = admin(&["org", "list", "-o", "json"], None);
    assert!(!out.stdout.contains("acme"), "{}", out.stdout);
}

/// `wharf org …` and `wharf token …` cover what the REST API offers a signed-in user,
/// so that no set-up step needs curl.
#[tokio::test]
async fn org_and_token_commands_work_as_the_signed_in_user() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut e = backend_env().await;
    e.push(("WHARF_ADMIN_PASSWORD".into(), PASSWORD.into()));
    let server = Server::spawn(&data, &e);
    let home = dir.path().join("home");
    let mut client_env = env(&[("XDG_CONFIG_HOME", home.to_str().unwrap()), ("HOME", home.to_str().unwrap())]);
    let out = run(
        &["login", &server.url, "--username", "admin", "--password-stdin"],
        &client_env,
        Some(&format!("{PASSWORD}\n")),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let admin_args = ["admin", "--data-dir", data.to_str().unwrap(), "user", "create", "bob", "--no-password"];
    assert_eq!(run(&admin_args, &e, None).code, 0);

    let out = run(&["org", "create", "acme", "--kind", "publisher", "--display-name", "ACME"], &client_env, None);
    assert_eq!((out.code, out.stdout.trim()), (0, "created publisher organization acme"), "{}", out.stderr);
    let out = run(&["org", "create", "api", "--kind", "publisher"], &client_env, None);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("/name: \"api\" is reserved"), "{}", out.stderr);
    let out = run(&["org", "list", "-o", "json"], &client_env, None);
    let orgs: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let acme = orgs.as_array().unwrap().iter().find(|o| o["name"] == "acme").unwrap();
    assert_eq!((acme["role"].as_str(), acme["display_name"].as_str()), (Some("owner"), Some("ACME")));
    let out = run(&["org", "show", "acme"], &client_env, None);
    assert!(out.stdout.starts_with("NAME  KIND       DISPLAY NAME  YOUR ROLE"), "{}", out.stdout);
    let out = run(&["org", "show", "nope"], &client_env, None);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("no organization named \"nope\""), "{}", out.stderr);
    let out = run(&["org", "set-member", "acme", "bob", "--role", "developer"], &client_env, None);
    assert_eq!((out.code, out.stdout.trim()), (0, "bob is now developer of acme"), "{}", out.stderr);
    let out = run(&["org", "members", "acme", "-o", "json"], &client_env, None);
    let members: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let roles: Vec<(&str, &str)> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["user"].as_str().unwrap(), m["role"].as_str().unwrap()))
        .collect();
    assert_eq!(roles, [("admin", "owner"), ("bob", "developer")]);
    let out = run(&["org", "remove-member", "acme", "bob"], &client_env, None);
    assert_eq!(out.code, 0, "{}", out.stderr);

    // Tokens: created with the password, listed and revoked with the stored token.
    let out = run(
        &["token", "create", "--name", "ci", "--scope", "registry:pull,api:read", "--password-stdin", "-o", "json"],
        &client_env,
        Some(&format!("{PASSWORD}\n")),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let created: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let secret = created["secret"].as_str().unwrap().to_owned();
    let id = created["id"].as_i64().unwrap().to_string();
    let out = run(
        &["token", "create", "--name", "x", "--scope", "root", "--password-stdin"],
        &client_env,
        Some(&format!("{PASSWORD}\n")),
    );
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("/scopes/0: unknown scope \"root\""), "{}", out.stderr);
    let out = run(
        &["token", "create", "--name", "y", "--scope", "api:read", "--password-stdin"],
        &client_env,
        Some("wrong password!\n"),
    );
    assert_eq!(out.code, 5, "{}", out.stderr);
    let out = run(&["token", "list", "-o", "json"], &client_env, None);
    let tokens: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let ci = tokens.as_array().unwrap().iter().find(|t| t["name"] == "ci").unwrap();
    assert_eq!(ci["state"], "active");
    assert!(!out.stdout.contains(&secret), "secrets are never listed");
    // The new token works for scripts, and only for what its scopes allow.
    client_env.extend([("WHARF_URL".to_owned(), server.url.clone()), ("WHARF_TOKEN".to_owned(), secret.clone())]);
    let out = run(&["whoami"], &client_env, None);
    assert!(out.stdout.contains("scopes: api:read registry:pull"), "{}", out.stdout);
    let out = run(&["org", "create", "other", "--kind", "publisher"], &client_env, None);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("lacks the api:write scope"), "{}", out.stderr);
    client_env.truncate(2);
    let out = run(&["token", "revoke", &id], &client_env, None);
    assert_eq!((out.code, out.stdout.trim()), (0, format!("revoked token {id}").as_str()), "{}", out.stderr);
    let r =
        reqwest::Client::new().get(format!("{}/api/v1/user", server.url)).bearer_auth(&secret).send().await.unwrap();
    assert_eq!(r.status(), 401, "the revoked token no longer works");
}

/// `wharf worker` runs the same job workers as `wharf serve`, as a process of its own on
/// the same database: a queued job is done, and SIGTERM stops it cleanly.
#[tokio::test]
async fn wharf_worker_runs_queued_jobs_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let e = backend_env().await;
    let out = run(&["migrate", "--data-dir", data.to_str().unwrap()], &e, None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let overrides = wharf::config::Overrides { data_dir: Some(data.clone()), ..Default::default() };
    let config = wharf::config::Config::load_from(&overrides, &e).unwrap();
    let db = wharf_db::Db::connect(&config.db_options()).await.unwrap();
    let job = wharf_app::gc::PurgeUploadsJob;
    let id = wharf_jobs::enqueue(&db, &job, None).await.unwrap().unwrap();

    let mut env = e.clone();
    env.push(("WHARF_JOBS__POLL_INTERVAL".into(), "100ms".into()));
    let mut worker = wharf(&["worker", "--data-dir", data.to_str().unwrap()], &env)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (state, error) = db.job_state(id).await.unwrap().unwrap();
        if state == "done" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the job is still {state} ({error:?})");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = std::process::Command::new("kill").args(["-TERM", &worker.id().to_string()]).status().unwrap();
    assert!(status.success());
    let exit = worker.wait().unwrap();
    let mut log = String::new();
    worker.stderr.take().unwrap().read_to_string(&mut log).unwrap();
    assert_eq!(exit.code(), Some(0), "{log}");
    assert!(log.contains("job worker started") && log.contains("job worker stopped"), "{log}");
    db.close().await;
}
