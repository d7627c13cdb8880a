//! Real OCI clients against the real `wharf` binary, with token authentication:
//! skopeo (Debian), umoci (Debian) building and unpacking images, and the oras
//! Python SDK (PyPI). `.ci/run` installs them; without them these tests fail and say
//! how to install them.

mod common;

use std::path::Path;
use std::process::Command;

use common::tools::{blob_path, build_image, read_json, run, skopeo, tagged, tool, umoci};
use common::{PASSWORD, Server, backend_env};

/// Builds an amd64 image of `layers` layers tagged 1.0.0 in `layout` and pushes it to
/// `dest` (`host/repo:tag`) with skopeo as the admin; returns its manifest digest.
fn push_image(layout: &Path, layers: usize, dest: &str) -> String {
    build_image(layout, "1.0.0", "amd64", layers);
    let creds = format!("admin:{PASSWORD}");
    let src = format!("oci:{}:1.0.0", layout.display());
    skopeo(&["copy", "--dest-creds", &creds, "--dest-tls-verify=false", &src, &format!("docker://{dest}")]);
    tagged(layout, "1.0.0")["digest"].as_str().unwrap().to_owned()
}

/// Every blob an image manifest needs, for byte comparison.
fn image_blobs(layout: &Path, manifest_digest: &str) -> Vec<String> {
    let manifest = read_json(&blob_path(layout, manifest_digest));
    let mut blobs = vec![manifest_digest.to_owned(), manifest["config"]["digest"].as_str().unwrap().to_owned()];
    blobs.extend(manifest["layers"].as_array().unwrap().iter().map(|l| l["digest"].as_str().unwrap().to_owned()));
    blobs
}

fn assert_same_blobs(a: &Path, b: &Path, blobs: &[String]) {
    for d in blobs {
        assert_eq!(
            std::fs::read(blob_path(a, d)).unwrap(),
            std::fs::read(blob_path(b, d)).unwrap(),
            "blob {d} differs"
        );
    }
}

/// Creates a publisher organization as the first operator.
async fn create_publisher(server: &Server, name: &str) {
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/orgs", server.url))
        .basic_auth("admin", Some(PASSWORD))
        .json(&serde_json::json!({"name": name, "kind": "publisher"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
}

async fn start() -> (tempfile::TempDir, Server, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut env = backend_env().await;
    env.push(("WHARF_ADMIN_PASSWORD".into(), PASSWORD.into()));
    // No job workers: a submitted version stays where Submit put it, so these tests see
    // the clients' side alone (the pipeline's jobs have tests of their own).
    env.push(("WHARF_JOBS__WORKERS".into(), "0".into()));
    let server = Server::spawn(&dir.path().join("data"), &env);
    create_publisher(&server, "acme").await;
    let host = server.url.trim_start_matches("http://").to_owned();
    (dir, server, host)
}

#[tokio::test]
async fn skopeo_round_trips_an_image_byte_for_byte() {
    let (dir, _server, host) = start().await;
    let creds = format!("admin:{PASSWORD}");
    let layout = dir.path().join("src");
    build_image(&layout, "v1", "amd64", 3);
    let pushed = tagged(&layout, "v1");
    let digest = pushed["digest"].as_str().unwrap().to_owned();
    let blobs = image_blobs(&layout, &digest);
    assert_eq!(blobs.len(), 5, "manifest, config and three layers");

    let src = format!("oci:{}:v1", layout.display());
    skopeo(&["copy", "--dest-creds", &creds, "--dest-tls-verify=false", &src, &format!("docker://{host}/acme/app:v1")]);

    // Back out by tag and by digest: the same manifest digest and the same bytes.
    let by_tag = dir.path().join("by-tag");
    skopeo(&[
        "copy",
        "--src-creds",
        &creds,
        "--src-tls-verify=false",
        &format!("docker://{host}/acme/app:v1"),
        &format!("oci:{}:v1", by_tag.display()),
    ]);
    assert_eq!(tagged(&by_tag, "v1")["digest"], digest.as_str());
    assert_same_blobs(&layout, &by_tag, &blobs);
    let by_digest = dir.path().join("by-digest");
    skopeo(&[
        "copy",
        "--src-creds",
        &creds,
        "--src-tls-verify=false",
        &format!("docker://{host}/acme/app@{digest}"),
        &format!("oci:{}:x", by_digest.display()),
    ]);
    assert_eq!(tagged(&by_digest, "x")["digest"], digest.as_str());
    assert_same_blobs(&layout, &by_digest, &blobs);

    // What was pulled is a usable image: umoci unpacks it and the files are there.
    let bundle = dir.path().join("unpacked");
    umoci(&["unpack", "--rootless", "--image", &format!("{}:v1", by_tag.display()), bundle.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(bundle.join("rootfs/layer2/note.txt")).unwrap(), "amd64 layer 2\n");

    let inspect: serde_json::Value = serde_json::from_str(&skopeo(&[
        "inspect",
        "--creds",
        &creds,
        "--tls-verify=false",
        &format!("docker://{host}/acme/app:v1"),
    ]))
    .unwrap();
    assert_eq!(inspect["Digest"], digest.as_str());
    assert_eq!(inspect["Architecture"], "amd64");
    assert_eq!(inspect["Layers"].as_array().unwrap().len(), 3);

    skopeo(&[
        "copy",
        "--dest-creds",
        &creds,
        "--dest-tls-verify=false",
        &src,
        &format!("docker://{host}/acme/app:v1.1"),
    ]);
    let tags: serde_json::Value = serde_json::from_str(&skopeo(&[
        "list-tags",
        "--creds",
        &creds,
        "--tls-verify=false",
        &format!("docker://{host}/acme/app"),
    ]))
    .unwrap();
    assert_eq!(tags["Tags"], serde_json::json!(["v1", "v1.1"]));

    // Delete by tag (skopeo deletes the manifest the tag points to).
    skopeo(&["delete", "--creds", &creds, "--tls-verify=false", &format!("docker://{host}/acme/app:v1")]);
    let gone = Command::new(tool("skopeo"))
        .args(["inspect", "--creds", &creds, "--tls-verify=false", &format!("docker://{host}/acme/app:v1")])
        .output()
        .unwrap();
    assert!(!gone.status.success());
    assert!(
        String::from_utf8_lossy(&gone.stderr).contains("manifest unknown"),
        "{}",
        String::from_utf8_lossy(&gone.stderr)
    );
}

#[tokio::test]
async fn skopeo_copies_a_multi_arch_index() {
    let (dir, _server, host) = start().await;
    let creds = format!("admin:{PASSWORD}");
    let layout = dir.path().join("src");
    build_image(&layout, "amd64", "amd64", 2);
    build_image(&layout, "arm64", "arm64", 2);
    // An image index over both, written into the layout as tag "multi".
    let entries: Vec<serde_json::Value> = [("amd64", "amd64"), ("arm64", "arm64")]
        .iter()
        .map(|(tag, arch)| {
            let d = tagged(&layout, tag);
            serde_json::json!({"mediaType": d["mediaType"], "digest": d["digest"], "size": d["size"], "platform": {"os": "linux", "architecture": arch}})
        })
        .collect();
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries,
    }))
    .unwrap();
    let index_digest = wharf_oci::Digest::of(wharf_oci::Algorithm::Sha256, &index);
    std::fs::write(blob_path(&layout, index_digest.as_str()), &index).unwrap();
    let mut top = read_json(&layout.join("index.json"));
    top["manifests"].as_array_mut().unwrap().push(serde_json::json!({
        "mediaType": "application/vnd.oci.image.index.v1+json", "digest": index_digest.as_str(), "size": index.len(),
        "annotations": {"org.opencontainers.image.ref.name": "multi"},
    }));
    std::fs::write(layout.join("index.json"), serde_json::to_vec(&top).unwrap()).unwrap();

    skopeo(&[
        "copy",
        "--all",
        "--dest-creds",
        &creds,
        "--dest-tls-verify=false",
        &format!("oci:{}:multi", layout.display()),
        &format!("docker://{host}/acme/multi:v1"),
    ]);
    let back = dir.path().join("back");
    skopeo(&[
        "copy",
        "--all",
        "--src-creds",
        &creds,
        "--src-tls-verify=false",
        &format!("docker://{host}/acme/multi:v1"),
        &format!("oci:{}:v1", back.display()),
    ]);
    assert_eq!(tagged(&back, "v1")["digest"], index_digest.as_str());
    assert_eq!(std::fs::read(blob_path(&back, index_digest.as_str())).unwrap(), index);
    for tag in ["amd64", "arm64"] {
        let d = tagged(&layout, tag)["digest"].as_str().unwrap().to_owned();
        assert_same_blobs(&layout, &back, &image_blobs(&layout, &d));
    }
    let raw = skopeo(&[
        "inspect",
        "--raw",
        "--creds",
        &creds,
        "--tls-verify=false",
        &format!("docker://{host}/acme/multi:v1"),
    ]);
    assert_eq!(raw.as_bytes(), index.as_slice(), "the index is served exactly as pushed");
}

/// The oras Python SDK pushes and pulls an artifact through the token flow.
#[tokio::test]
async fn oras_python_sdk_pushes_and_pulls_an_artifact() {
    let (dir, _server, host) = start().await;
    let python = tool("python3");
    let probe = Command::new(&python).args(["-c", "import oras.client"]).output().unwrap();
    assert!(probe.status.success(), "the oras Python SDK is not installed: `pip install oras` (`.ci/run` does)");
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "release notes 1.0\n").unwrap();
    let script = r#"
import os, sys, oras.client
host, password, src, out = sys.argv[1:5]
c = oras.client.OrasClient(hostname=host, insecure=True)
c.login(username="admin", password=password, hostname=host)
os.chdir(os.path.dirname(src))
r = c.push(files=[os.path.basename(src)], target=f"{host}/acme/notes:v1")
assert r.status_code == 201, r.text
files = c.pull(target=f"{host}/acme/notes:v1", outdir=out)
print(open(files[0]).read(), end="")
"#;
    let out = dir.path().join("pulled");
    let printed =
        run(Command::new(&python).args(["-c", script, &host, PASSWORD, file.to_str().unwrap(), out.to_str().unwrap()]));
    assert_eq!(printed, "release notes 1.0\n");
}

/// `wharf` as a publisher runs it, in a home directory of its own.
fn cli(home: &Path, dir: &Path, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    use std::io::Write;
    let env = [("HOME".to_owned(), home.display().to_string())];
    let mut child = common::wharf(args, &env)
        .current_dir(dir)
        .stdin(if stdin.is_some() { std::process::Stdio::piped() } else { std::process::Stdio::null() })
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The example under `examples/offer/` applies and submits cleanly against a fresh
/// server once its image is pushed with skopeo; applying it again changes nothing.
#[tokio::test]
async fn the_example_offer_applies_and_submits() {
    let (dir, server, host) = start().await;
    create_publisher(&server, "contoso").await;
    let pushed = push_image(&dir.path().join("layout"), 1, &format!("{host}/contoso/example-db:1.0.0"));

    // A copy of the example, as a publisher's checkout would have it.
    let work = dir.path().join("offer");
    std::fs::create_dir_all(work.join("media")).unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/offer");
    for entry in [
        "offer.yaml",
        "media/icon-48x48.png",
        "media/icon-90x90.png",
        "media/icon-216x216.png",
        "media/icon-255x115.png",
        "media/screenshot-dashboard.png",
    ] {
        std::fs::copy(example.join(entry), work.join(entry)).unwrap();
    }
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let run = |args: &[&str]| cli(&home, &work, args, None);
    let (code, _, err) =
        cli(&home, &work, &["login", &server.url, "--username", "admin", "--password-stdin"], Some(PASSWORD));
    assert_eq!(code, 0, "{err}");

    let (code, out, _) = run(&["offer", "validate", "offer.yaml"]);
    assert_eq!((code, out.as_str()), (0, "offer.yaml: valid\n"));
    let (code, out, err) = run(&["offer", "plan", "offer.yaml"]);
    assert_eq!((code, out.as_str()), (0, "offer contoso/example-db does not exist: apply creates it\n"), "{err}");
    let (code, out, err) = run(&["offer", "apply", "offer.yaml"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.matches("uploaded media/").count(), 5, "{out}");
    assert!(out.contains("created offer contoso/example-db"), "{out}");
    let (code, out, _) = run(&["offer", "apply", "offer.yaml"]);
    assert_eq!((code, out.as_str()), (0, "offer contoso/example-db: no changes\n"));
    let (code, out, _) = run(&["offer", "plan", "offer.yaml"]);
    assert_eq!((code, out.as_str()), (0, "offer contoso/example-db: no changes\n"));

    let (code, out, err) = run(&["offer", "submit", "contoso/example-db"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("submitted contoso/example-db as version 1 (publish_in_progress)"), "{out}");
    let (code, out, _) = run(&["offer", "show", "contoso/example-db", "--version", "1", "--output", "json"]);
    assert_eq!(code, 0);
    let frozen: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(frozen["plans"][0]["images"][0]["digests"]["1.0.0"], pushed.as_str());
    let (_, out, _) = run(&["offer", "status", "contoso/example-db"]);
    assert!(out.starts_with("contoso/example-db: Publish in progress (draft revision 1)"), "{out}");

    // An edit: plan shows it, apply saves it, compare shows it against version 1.
    let text = std::fs::read_to_string(work.join("offer.yaml"))
        .unwrap()
        .replace("name: Contoso Example DB", "name: Contoso DB");
    std::fs::write(work.join("offer.yaml"), text).unwrap();
    let (_, out, _) = run(&["offer", "plan", "offer.yaml"]);
    assert_eq!(
        out,
        "offer contoso/example-db: 1 change\n  ~ listings.en-US.name: \"Contoso Example DB\" → \"Contoso DB\"\n"
    );
    let (code, out, err) = run(&["offer", "apply", "offer.yaml"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("updated offer contoso/example-db: 1 change (draft revision 2)"), "{out}");
    let (_, out, _) = run(&["offer", "compare", "contoso/example-db", "--with", "1"]);
    assert!(out.starts_with("draft of contoso/example-db against 1 (version 1): 1 change"), "{out}");
    let (_, out, _) = run(&["offer", "history", "contoso/example-db"]);
    for event in ["Offer created", "Plan created", "Submitted"] {
        assert!(out.contains(event), "{event} missing from {out}");
    }
    let (_, out, _) = run(&["offer", "list", "contoso"]);
    assert!(out.lines().nth(1).unwrap_or_default().starts_with("example-db  Publish in progress  2"), "{out}");
    // Errors are readable and exit 1: a second submission waits for the first.
    let (code, _, err) = run(&["offer", "submit", "contoso/example-db"]);
    assert_eq!(code, 1);
    assert!(err.contains("version 1 is still being published"), "{err}");
    let (code, _, err) = run(&["offer", "stop-sell", "contoso/example-db"]);
    assert_eq!(code, 1);
    assert!(err.contains("the offer is Publish in progress; only a Live offer can be stop-sold"), "{err}");
    let (code, out, err) = run(&["offer", "cancel", "contoso/example-db"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("contoso/example-db: Draft (draft revision 2)"), "{out}");
    let (code, _, err) = run(&["offer", "status", "nonsense"]);
    assert_eq!(code, 2, "{err}");
}

/// `wharf certify` on an image built by umoci from real files: a readable report,
/// valid SARIF and JUnit, the policy deciding, and clear failures for bad input.
#[test]
fn certify_reports_on_an_umoci_image_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("img");
    build_image(&layout, "1.0.0", "amd64", 2);
    let image = format!("{}:1.0.0", layout.display());
    // Every certify run scans with the real clamd `.ci/services` started.
    let clamd = std::env::var("WHARF_TEST_CLAMD").expect("WHARF_TEST_CLAMD: eval \"$(.ci/services start)\"");
    let run = |args: &[&str]| {
        let mut args = args.to_vec();
        if args[0] == "certify" {
            args.extend(["--clamd", clamd.as_str()]);
        }
        cli(dir.path(), dir.path(), &args, None)
    };

    let (code, out, err) = run(&["certify", &image]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with(&format!("{image}: PASS\n")), "{out}");
    assert!(out.contains("linux/amd64 (sha256:") && out.contains("2 layers"), "{out}");
    // umoci sets no OCI labels: warnings, shown with their check id.
    assert!(out.contains("warn  low      policy.missing-label"), "{out}");

    let (code, out, _) = run(&["certify", &image, "--output", "json"]);
    assert_eq!(code, 0);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (report["verdict"].as_str(), report["platforms"][0]["layers"].as_array().map(Vec::len)),
        (Some("pass"), Some(2))
    );
    assert!(report["platforms"][0]["files"].as_u64().unwrap() >= 4, "{report}");

    let (_, out, _) = run(&["certify", &image, "--output", "sarif"]);
    let sarif: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 6, "{sarif}");
    assert!(results.iter().all(|r| r["level"] == "note"));
    assert_eq!(results.iter().filter(|r| r["ruleId"] == "policy.missing-label").count(), 5);
    assert_eq!(results.iter().filter(|r| r["ruleId"] == "policy.no-license").count(), 1);
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules[0]["id"], "policy.missing-label");

    let (_, out, _) = run(&["certify", &image, "--output", "junit"]);
    assert!(out.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"wharf certify"), "{out}");
    assert!(out.contains("<testsuite name=\"linux/amd64\" tests=\"7\" failures=\"0\">"), "{out}");

    // A policy that makes labels blocking fails the image (exit 1).
    std::fs::write(dir.path().join("strict.toml"), "required_labels = \"block\"\n").unwrap();
    let (code, out, _) = run(&["certify", &image, "--policy", "strict.toml"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with(&format!("{image}: FAIL")), "{out}");
    // The SBOM: a dpkg status database and an npm package in a layer of their own.
    let bundle = dir.path().join("bundle");
    umoci(&["unpack", "--rootless", "--image", &format!("{}:1.0.0", layout.display()), bundle.to_str().unwrap()]);
    let root = bundle.join("rootfs");
    std::fs::create_dir_all(root.join("var/lib/dpkg")).unwrap();
    std::fs::write(root.join("var/lib/dpkg/status"), "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9+deb12u4\n\nPackage: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nSource: zlib\nVersion: 1:1.2.13.dfsg-1\n").unwrap();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("etc/os-release"), "ID=debian\nVERSION_ID=\"12\"\n").unwrap();
    std::fs::create_dir_all(root.join("app/node_modules/left-pad")).unwrap();
    std::fs::write(root.join("app/node_modules/left-pad/package.json"), r#"{"name": "left-pad", "version": "1.3.0"}"#)
        .unwrap();
    umoci(&["repack", "--image", &format!("{}:1.0.0", layout.display()), bundle.to_str().unwrap()]);
    // Packages and no advisories: not evaluated, which the default policy blocks.
    let (code, out, err) = run(&["certify", &image, "--advisories", "store"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("BLOCK high     vulnerability.not-evaluated"), "{out}");
    assert!(out.contains("no advisories imported: 3 package(s) not checked"), "{out}");
    // OSV advisories imported offline: zlib's (CVSS 7.5, fixed later) blocks,
    // left-pad's (5.3) warns.
    let adv = dir.path().join("osv");
    std::fs::create_dir_all(&adv).unwrap();
    let advisory = |id: &str, ecosystem: &str, name: &str, fixed: &str, vector: &str| {
        let v = serde_json::json!({"id": id, "modified": "2026-11-20T00:00:00Z", "summary": "a test flaw",
            "severity": [{"type": "CVSS_V3", "score": vector}],
            "affected": [{"package": {"ecosystem": ecosystem, "name": name},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}]});
        std::fs::write(adv.join(format!("{id}.json")), v.to_string()).unwrap();
    };
    advisory(
        "DEBIAN-CVE-2099-0001",
        "Debian:12",
        "zlib",
        "1:1.2.13.dfsg-2",
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
    );
    advisory("GHSA-test-0001", "npm", "left-pad", "1.4.0", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:L/A:N");
    let (code, out, err) = run(&["advisories", "import", "osv", "--advisories", "store"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("imported 2 advisories from osv (snapshot 2026-11-20T00:00:00Z; 0 withdrawn skipped, 0 invalid)\n  Debian:12: 1\n  npm: 1\n"), "{out}");
    let (code, out, _) = run(&["advisories", "status", "--advisories", "store"]);
    assert_eq!(code, 0);
    assert!(out.contains("2 advisories") && out.contains("snapshot 2026-11-20T00:00:00Z"), "{out}");
    let (code, out, err) = run(&["certify", &image, "--advisories", "store"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("advisories: 2 (snapshot 2026-11-20T00:00:00Z"), "{out}");
    assert!(out.contains("BLOCK high     vulnerability                  zlib1g 1:1.2.13.dfsg-1: DEBIAN-CVE-2099-0001 (CVSS 7.5) a test flaw"), "{out}");
    assert!(out.contains("remediation: upgrade zlib to 1:1.2.13.dfsg-2 or later"), "{out}");
    assert!(
        out.contains("warn  medium   vulnerability                  left-pad 1.3.0: GHSA-test-0001 (CVSS 5.3)"),
        "{out}"
    );
    // An exception accepts zlib's until it expires; it exports as OpenVEX.
    std::fs::write(
        dir.path().join("accept.toml"),
        "[[exceptions]]\nadvisory = \"DEBIAN-CVE-2099-0001\"\npackage = \"zlib\"\nreason = \"inflate is never called\"\nauthor = \"alice@contoso.example\"\nexpires = \"2099-12-31\"\n",
    )
    .unwrap();
    let (code, out, err) = run(&["advisories", "vex", "--policy", "accept.toml"]);
    assert_eq!(code, 0, "{err}");
    let vex: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (vex["statements"][0]["vulnerability"]["name"].as_str(), vex["statements"][0]["status"].as_str()),
        (Some("DEBIAN-CVE-2099-0001"), Some("affected"))
    );
    let (code, out, err) =
        run(&["certify", &image, "--sbom", "sbom", "--advisories", "store", "--policy", "accept.toml"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("exception: inflate is never called (by alice@contoso.example, until 2099-12-31)"), "{out}");
    assert!(out.contains("3 packages found (debian-12)"), "{out}");
    let cdx: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("sbom/linux-amd64.cdx.json")).unwrap()).unwrap();
    assert_eq!((cdx["bomFormat"].as_str(), cdx["specVersion"].as_str()), (Some("CycloneDX"), Some("1.5")));
    let purls: Vec<&str> = cdx["components"].as_array().unwrap().iter().map(|c| c["purl"].as_str().unwrap()).collect();
    assert_eq!(
        purls,
        [
            "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12",
            "pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&distro=debian-12",
            "pkg:npm/left-pad@1.3.0"
        ]
    );
    assert_eq!(cdx["components"][2]["properties"][0]["value"], "app/node_modules/left-pad/package.json");
    let spdx: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("sbom/linux-amd64.spdx.json")).unwrap()).unwrap();
    assert_eq!(spdx["spdxVersion"], "SPDX-2.3");
    assert_eq!(spdx["packages"].as_array().unwrap().len(), 3);
    assert_eq!(spdx["packages"][0]["externalRefs"][0]["referenceLocator"], purls[0]);

    // The same image as an oci-archive tarball, written by skopeo.
    let archive = dir.path().join("img.tar");
    skopeo(&["copy", &format!("oci:{}:1.0.0", layout.display()), &format!("oci-archive:{}:1.0.0", archive.display())]);
    // And as a docker-archive (docker save's format), tagged contoso/app:1.0.0.
    let docker = dir.path().join("img-docker.tar");
    skopeo(&[
        "copy",
        &format!("oci:{}:1.0.0", layout.display()),
        &format!("docker-archive:{}:contoso/app:1.0.0", docker.display()),
    ]);
    for reference in [
        format!("oci-archive:{}:1.0.0", archive.display()),
        archive.display().to_string(),
        format!("docker-archive:{}:1.0.0", docker.display()),
        docker.display().to_string(),
    ] {
        let (code, out, err) = run(&["certify", &reference, "--advisories", "store", "--policy", "accept.toml"]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("3 packages found (debian-12)"), "{out}");
    }

    // Bad input: an unknown policy key, something that is not an image layout.
    std::fs::write(dir.path().join("typo.toml"), "run_as_nonroot = \"off\"\n").unwrap();
    let (code, _, err) = run(&["certify", &image, "--policy", "typo.toml"]);
    assert_eq!(code, 3);
    assert!(err.contains("unknown field `run_as_nonroot`"), "{err}");
    std::fs::write(
        dir.path().join("expired.toml"),
        "[[exceptions]]\nadvisory = \"X\"\npackage = \"zlib\"\nreason = \"r\"\nauthor = \"a\"\nexpires = \"soon\"\n",
    )
    .unwrap();
    let (code, _, err) = run(&["certify", &image, "--policy", "expired.toml"]);
    assert_eq!(code, 3);
    assert!(err.contains("exceptions[0] (X): expires must be a date YYYY-MM-DD, not \"soon\""), "{err}");
    // clamd unreachable: exit 4 (certify again later), the report says why.
    let (code, out, err) =
        cli(dir.path(), dir.path(), &["certify", &image, "--clamd", "unix:/nonexistent/clamd.sock"], None);
    assert_eq!(code, 4, "{out}{err}");
    assert!(out.contains("BLOCK high     malware.not-scanned") && out.contains("is unreachable"), "{out}");
    let (code, _, err) = run(&["advisories", "import", "nowhere.zip", "--advisories", "store"]);
    assert_eq!(code, 1);
    assert!(err.contains("nowhere.zip: No such file or directory"), "{err}");
    let (code, _, err) = run(&["certify", dir.path().to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("is not an OCI image layout"), "{err}");
    let (code, _, err) = run(&["certify", dir.path().join("strict.toml").to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("is not a readable oci-archive") || err.contains("is not an oci-archive"), "{err}");
}

/// `wharf certify` on an image in Wharf's own registry: pulled with the credentials
/// `wharf login` stored (or --creds), every blob checked against its digest.
#[tokio::test]
async fn certify_pulls_from_wharfs_registry_with_its_credentials() {
    let (dir, server, host) = start().await;
    let creds = format!("admin:{PASSWORD}");
    let pushed = push_image(&dir.path().join("layout"), 2, &format!("{host}/acme/app:1.0.0"));
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let clamd = std::env::var("WHARF_TEST_CLAMD").expect("WHARF_TEST_CLAMD: eval \"$(.ci/services start)\"");
    let image = format!("{host}/acme/app:1.0.0");
    let run = |args: &[&str]| {
        let mut args = args.to_vec();
        if args[0] == "certify" {
            args.extend(["--clamd", clamd.as_str()]);
        }
        cli(&home, dir.path(), &args, None)
    };

    // Not logged in: the registry asks for credentials; a readable refusal, exit 5.
    let (code, out, err) = run(&["certify", &image]);
    assert_eq!(code, 5, "{out}{err}");
    assert!(err.contains(&format!("cannot pull {image}")) && err.contains("wharf login"), "{err}");

    // With the token `wharf login` stored.
    let (code, _, err) =
        cli(&home, dir.path(), &["login", &server.url, "--username", "admin", "--password-stdin"], Some(PASSWORD));
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(&["certify", &image]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with(&format!("{image}: PASS\n")), "{out}");
    assert!(out.contains(&format!("linux/amd64 ({pushed}): PASS, 2 layers")), "{out}");
    // By digest, with explicit credentials, as JSON.
    let by_digest = format!("docker://{host}/acme/app@{pushed}");
    let (code, out, err) = cli(
        dir.path(),
        dir.path(),
        &["certify", &by_digest, "--creds", &creds, "--clamd", &clamd, "--output", "json"],
        None,
    );
    assert_eq!(code, 0, "{out}{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["platforms"][0]["manifest"], pushed.as_str());

    // A publisher signature (cosign's format) pushed beside the image as
    // `sha256-<hex>.sig`: pulled with it and checked against the policy's key file.
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
    use base64::Engine as _;
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let key = |seed: &str| {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap();
        let pem = wharf_certify::signature::PublicKey::from_point(seed, pair.public_key().as_ref()).to_pem();
        (pair, pem)
    };
    let (publisher, publisher_pem) = key("publisher");
    let (_, stranger_pem) = key("stranger");
    let sig_layout = dir.path().join("sig");
    std::fs::create_dir_all(sig_layout.join("blobs/sha256")).unwrap();
    let put = |bytes: &[u8]| {
        let d = wharf_oci::Digest::of(wharf_oci::Algorithm::Sha256, bytes);
        std::fs::write(sig_layout.join("blobs/sha256").join(d.hex()), bytes).unwrap();
        (d.to_string(), bytes.len())
    };
    let payload = serde_json::json!({"critical": {"identity": {"docker-reference": format!("{host}/acme/app")},
        "image": {"docker-manifest-digest": pushed}, "type": "cosign container image signature"}, "optional": null})
    .to_string();
    let signature =
        base64::engine::general_purpose::STANDARD.encode(publisher.sign(&rng, payload.as_bytes()).unwrap().as_ref());
    let (pd, ps) = put(payload.as_bytes());
    let (cd, cs) = put(b"{}");
    let manifest = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
        "layers": [{"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", "digest": pd, "size": ps,
            "annotations": {"dev.cosignproject.cosign/signature": signature}}]})
    .to_string();
    let (md, ms) = put(manifest.as_bytes());
    std::fs::write(sig_layout.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    std::fs::write(sig_layout.join("index.json"), serde_json::json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": ms, "annotations": {"org.opencontainers.image.ref.name": "sig"}}]}).to_string()).unwrap();
    let sig_tag = format!("{}.sig", pushed.replacen(':', "-", 1));
    skopeo(&[
        "copy",
        "--dest-creds",
        &creds,
        "--dest-tls-verify=false",
        &format!("oci:{}:sig", sig_layout.display()),
        &format!("docker://{host}/acme/app:{sig_tag}"),
    ]);
    std::fs::write(dir.path().join("publisher.pub"), &publisher_pem).unwrap();
    std::fs::write(dir.path().join("stranger.pub"), &stranger_pem).unwrap();
    std::fs::write(dir.path().join("signed.toml"), "signature = \"block\"\nsignature_keys = [\"publisher.pub\"]\n")
        .unwrap();
    std::fs::write(dir.path().join("other.toml"), "signature = \"block\"\nsignature_keys = [\"stranger.pub\"]\n")
        .unwrap();
    let (code, out, err) = run(&["certify", &image, "--policy", "signed.toml"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, _) = run(&["certify", &image, "--policy", "other.toml"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("BLOCK high     policy.signature")
            && out.contains("does not verify with any of the policy's keys"),
        "{out}"
    );

    // Bad input: a tag that does not exist, a registry that is not there, a bad reference.
    let (code, _, err) = run(&["certify", &format!("{host}/acme/app:9.9.9")]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("MANIFEST_UNKNOWN"), "{err}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let (code, _, err) = run(&["certify", &format!("127.0.0.1:{port}/acme/app:1.0.0")]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("cannot reach the registry"), "{err}");
    let (code, _, err) = run(&["certify", "docker://127.0.0.1:5000/Bad_Name:1"]);
    assert_eq!(code, 2, "{err}");
}

/// `wharf certify` on the Debian test image (a debootstrap root file system packed by
/// umoci; built and cached by `.ci/debian-image`): a readable report, valid SARIF and
/// CycloneDX, real packages matched against advisories written for their versions,
/// every file scanned by clamd.
#[test]
fn certify_reports_on_the_debian_image() {
    let image_dir = std::env::var("WHARF_TEST_DEBIAN_IMAGE")
        .expect("WHARF_TEST_DEBIAN_IMAGE: eval \"$(.ci/services start)\" builds the Debian test image");
    let clamd = std::env::var("WHARF_TEST_CLAMD").expect("WHARF_TEST_CLAMD: eval \"$(.ci/services start)\"");
    let image = format!("{image_dir}:12");
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let mut args = args.to_vec();
        args.extend(["--clamd", clamd.as_str(), "--advisories", "store"]);
        cli(dir.path(), dir.path(), &args, None)
    };
    // The SBOM first, without advisories (the verdict is then "not evaluated").
    let (code, out, err) = run(&["certify", &image, "--output", "json"]);
    assert_eq!(code, 1, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let p = &report["platforms"][0];
    assert_eq!((p["platform"].as_str(), p["distro"].as_str()), (Some("linux/amd64"), Some("debian-12")));
    let components = p["components"].as_array().unwrap();
    assert!(components.len() >= 80, "{} packages", components.len());
    let libc = components.iter().find(|c| c["name"] == "libc6").expect("libc6 is installed");
    assert_eq!(libc["source"], "glibc");
    let glibc_version = libc["version"].as_str().unwrap().to_owned();
    assert!(p["files"].as_u64().unwrap() > 5000, "{}", p["files"]);
    assert!(report["malware_scanner"].as_str().unwrap().starts_with("ClamAV"), "{report}");

    // Advisories for the real versions: glibc fixed just after the installed version
    // (blocks), zlib fixed long before it (does not apply).
    let osv = dir.path().join("osv");
    std::fs::create_dir_all(&osv).unwrap();
    for (id, name, fixed) in [
        ("DEBIAN-CVE-2099-1000", "glibc", format!("{glibc_version}+wharf1")),
        ("DEBIAN-CVE-2005-2096", "zlib", "1:1.2.2-4".to_owned()),
    ] {
        let v = serde_json::json!({"id": id, "modified": "2026-11-20T00:00:00Z", "summary": format!("a test flaw in {name}"),
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
            "affected": [{"package": {"ecosystem": "Debian:12", "name": name},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}]});
        std::fs::write(osv.join(format!("{id}.json")), v.to_string()).unwrap();
    }
    let (code, _, err) = cli(dir.path(), dir.path(), &["advisories", "import", "osv", "--advisories", "store"], None);
    assert_eq!(code, 0, "{err}");

    // For people: readable, every finding with its evidence.
    let (code, out, _) = run(&["certify", &image, "--sbom", "sbom"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with(&format!("{image}: FAIL\n  advisories: 2 (snapshot 2026-11-20T00:00:00Z")), "{out}");
    assert!(out.contains("packages found (debian-12)"), "{out}");
    assert!(
        out.contains(&format!(
            "BLOCK critical vulnerability                  libc6 {glibc_version}: DEBIAN-CVE-2099-1000 (CVSS 9.8)"
        )),
        "{out}"
    );
    assert!(out.contains(&format!("remediation: upgrade glibc to {glibc_version}+wharf1 or later")), "{out}");
    assert!(!out.contains("DEBIAN-CVE-2005-2096"), "{out}");
    assert!(!out.contains("malware"), "a clean image: {out}");
    // SARIF 2.1.0 that parses, a result per finding.
    let (_, out, _) = run(&["certify", &image, "--output", "sarif"]);
    let sarif: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let vuln: Vec<&serde_json::Value> = results.iter().filter(|r| r["ruleId"] == "vulnerability").collect();
    assert!(!vuln.is_empty() && vuln.iter().all(|r| r["level"] == "error"), "{sarif}");
    assert_eq!(vuln[0]["properties"]["evidence"]["fixed"], format!("{glibc_version}+wharf1"));
    assert_eq!(vuln[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "var/lib/dpkg/status");
    // CycloneDX that parses, every component with a purl and a path.
    let cdx: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("sbom/linux-amd64.cdx.json")).unwrap()).unwrap();
    assert_eq!((cdx["bomFormat"].as_str(), cdx["specVersion"].as_str()), (Some("CycloneDX"), Some("1.5")));
    let cdx_components = cdx["components"].as_array().unwrap();
    assert_eq!(cdx_components.len(), components.len());
    assert!(cdx_components.iter().all(|c| c["purl"].as_str().unwrap().starts_with("pkg:deb/debian/")
        && c["purl"].as_str().unwrap().ends_with("&distro=debian-12")
        && c["properties"][0]["value"] == "var/lib/dpkg/status"));
}
