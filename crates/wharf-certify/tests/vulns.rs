//! Vulnerabilities: OSV advisories imported offline (a directory and a ZIP archive),
//! matched against an image's packages in each ecosystem's version order, CVSS v3
//! deciding what blocks, exceptions with expiry, OpenVEX, and "not evaluated" when
//! the store has nothing to say.

use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};
use wharf_certify::advisories::{AdvisoryError, Store};
use wharf_certify::certify::{Engine, Verdict, certify_layout};
use wharf_certify::policy::{Action, Exception, Policy};

mod common;
use common::*;

const CRITICAL: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"; // 9.8
const HIGH: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"; // 7.5
const MEDIUM: &str = "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:H"; // 5.5

fn osv(id: &str, ecosystem: &str, name: &str, events: Value, vector: Option<&str>) -> Value {
    let mut a = json!({
        "schema_version": "1.6.0",
        "id": id,
        "modified": "2026-11-01T08:00:00Z",
        "published": "2026-10-01T00:00:00Z",
        "aliases": id.split_once("CVE-").map(|(_, n)| vec![format!("CVE-{n}")]).unwrap_or_default(),
        "summary": format!("a flaw in {name}"),
        "affected": [{"package": {"ecosystem": ecosystem, "name": name}, "ranges": [{"type": "ECOSYSTEM", "events": events}]}],
        "references": [{"type": "ADVISORY", "url": "https://example.invalid/advisory"}],
    });
    if let Some(v) = vector {
        a["severity"] = json!([{"type": "CVSS_V3", "score": v}]);
    }
    a
}

/// The advisories of the test snapshot, as files in a directory.
fn advisory_dir(dir: &Path) {
    let mut files = vec![
        (
            "debian/DEBIAN-CVE-2099-000001.json",
            osv(
                "DEBIAN-CVE-2099-000001",
                "Debian:12",
                "openssl",
                json!([{"introduced": "0"}, {"fixed": "3.0.13-1~deb12u1"}]),
                Some(CRITICAL),
            ),
        ),
        (
            "debian/DEBIAN-CVE-2099-000002.json",
            osv(
                "DEBIAN-CVE-2099-000002",
                "Debian:12",
                "openssl",
                json!([{"introduced": "0"}, {"fixed": "3.0.14-1~deb12u1"}]),
                Some(MEDIUM),
            ),
        ),
        // Another release's advisory: not this image's.
        (
            "debian/DEBIAN-CVE-2099-000003.json",
            osv("DEBIAN-CVE-2099-000003", "Debian:11", "openssl", json!([{"introduced": "0"}]), Some(CRITICAL)),
        ),
        // No fix yet.
        (
            "debian/DEBIAN-CVE-2099-000004.json",
            osv("DEBIAN-CVE-2099-000004", "Debian:12", "zlib", json!([{"introduced": "0"}]), Some(HIGH)),
        ),
        // Fixed before the installed version.
        (
            "debian/DEBIAN-CVE-2099-000005.json",
            osv(
                "DEBIAN-CVE-2099-000005",
                "Debian:12",
                "zlib",
                json!([{"introduced": "0"}, {"fixed": "1:1.2.11.dfsg-2"}]),
                Some(CRITICAL),
            ),
        ),
    ];
    // A GitHub advisory without a vector: its severity word decides.
    let mut ghsa = osv(
        "GHSA-9wx4-h78v-000000006",
        "PyPI",
        "Requests",
        json!([{"introduced": "2.3.0"}, {"fixed": "2.32.0"}]),
        None,
    );
    ghsa["database_specific"] = json!({"severity": "MODERATE"});
    ghsa["modified"] = json!("2026-11-15T12:30:00Z");
    files.push(("pypi/GHSA-9wx4-h78v-000000006.json", ghsa));
    let mut withdrawn =
        osv("DEBIAN-CVE-2099-000007", "Debian:12", "openssl", json!([{"introduced": "0"}]), Some(CRITICAL));
    withdrawn["withdrawn"] = json!("2026-11-02T00:00:00Z");
    files.push(("debian/DEBIAN-CVE-2099-000007.json", withdrawn));
    for (name, v) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    }
    std::fs::write(dir.join("debian/broken.json"), b"{\"id\": \"X\", \"affected\": 3}").unwrap();
}

/// A Debian 12 image with OpenSSL, zlib, a Python package and an npm package.
fn debian_image(dir: &Path) -> wharf_certify::image::Layout {
    let status = b"Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl\nVersion: 3.0.11-1~deb12u2\n\n\
Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nSource: zlib\nVersion: 1:1.2.13.dfsg-1\n";
    let os_release = b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n";
    let requests = b"Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\n";
    let left_pad = br#"{"name": "left-pad", "version": "1.3.0"}"#;
    let m = image(
        dir,
        "amd64",
        "1000",
        labels(),
        &[layer(&[
            ("etc/os-release", 0o644, os_release),
            ("var/lib/dpkg/status", 0o644, status),
            ("usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA", 0o644, requests),
            ("app/node_modules/left-pad/package.json", 0o644, left_pad),
            ("licenses/LICENSE", 0o644, b"MIT"),
        ])],
    );
    layout(dir, vec![m])
}

fn exception(advisory: &str, package: &str, expires: &str) -> Exception {
    Exception {
        advisory: advisory.into(),
        package: Some(package.into()),
        image: None,
        reason: "zlib's inflate is not reachable from the product".into(),
        author: "alice@contoso.example".into(),
        expires: expires.into(),
        justification: None,
    }
}

#[test]
fn advisories_import_from_a_directory_and_a_zip_with_snapshot_and_counts() {
    let src = tempfile::tempdir().unwrap();
    advisory_dir(src.path());
    let store_dir = tempfile::tempdir().unwrap();
    let out = Store::import(store_dir.path(), src.path()).unwrap();
    assert_eq!((out.import.advisories, out.import.withdrawn, out.import.invalid, out.total), (6, 1, 1, 6));
    assert_eq!(out.rejected[0].0, "debian/broken.json");
    assert!(out.rejected[0].1.contains("affected"), "{:?}", out.rejected);
    assert_eq!(out.import.snapshot, "2026-11-15T12:30:00Z");
    assert_eq!(
        out.import.by_ecosystem.iter().map(|(k, v)| (k.as_str(), *v)).collect::<Vec<_>>(),
        [("Debian:11", 1), ("Debian:12", 4), ("PyPI", 1)]
    );

    // The same advisories in a ZIP (as osv.dev publishes them), imported on top:
    // ids are replaced, not doubled; the import is recorded.
    let zip_path = src.path().join("all.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
    for entry in std::fs::read_dir(src.path().join("debian")).unwrap() {
        let p = entry.unwrap().path();
        zip.start_file(p.file_name().unwrap().to_str().unwrap(), zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(&std::fs::read(&p).unwrap()).unwrap();
    }
    zip.finish().unwrap();
    let out = Store::import(store_dir.path(), &zip_path).unwrap();
    assert_eq!((out.import.advisories, out.total), (5, 6));
    let store = Store::open(store_dir.path()).unwrap().unwrap();
    assert_eq!(store.imports.len(), 2);

    // Bad sources: nothing valid, not an archive; the store is unchanged.
    let before = std::fs::read(store_dir.path().join("advisories.json")).unwrap();
    let junk = tempfile::tempdir().unwrap();
    std::fs::write(junk.path().join("a.json"), b"[1, 2]").unwrap();
    let e = Store::import(store_dir.path(), junk.path()).unwrap_err();
    assert!(matches!(e, AdvisoryError::NothingValid { invalid: 1, .. }), "{e}");
    let not_zip = junk.path().join("advisories.zip");
    std::fs::write(&not_zip, b"PK\x03\x04 truncated").unwrap();
    let e = Store::import(store_dir.path(), &not_zip).unwrap_err();
    assert!(e.to_string().contains("neither a directory nor a ZIP archive"), "{e}");
    assert_eq!(std::fs::read(store_dir.path().join("advisories.json")).unwrap(), before);
    // A damaged store says so rather than certifying without advisories.
    std::fs::write(store_dir.path().join("advisories.json"), b"{\"imports\": ").unwrap();
    let e = Store::open(store_dir.path()).unwrap_err();
    assert!(e.to_string().contains("is damaged"), "{e}");
}

fn certify_with(policy: Policy, today: &str) -> wharf_certify::certify::Report {
    let src = tempfile::tempdir().unwrap();
    advisory_dir(src.path());
    let store_dir = tempfile::tempdir().unwrap();
    Store::import(store_dir.path(), src.path()).unwrap();
    let img = tempfile::tempdir().unwrap();
    let l = debian_image(img.path());
    let mut engine = Engine::new(policy).with_advisories(Store::open(store_dir.path()).unwrap().unwrap());
    engine.today = today.into();
    certify_layout(&l, "debian-app", None, &engine)
}

type Row<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Option<f64>, Option<&'a str>, bool);

fn rows(r: &wharf_certify::certify::Report) -> Vec<Row<'_>> {
    r.platforms[0]
        .findings
        .iter()
        .map(|f| {
            let e = &f.finding.evidence;
            (f.finding.check.id(), e.package.as_deref(), e.advisory.as_deref(), e.cvss, e.fixed.as_deref(), f.blocking)
        })
        .collect()
}

#[test]
fn vulnerabilities_block_from_cvss_7_and_carry_their_evidence() {
    let r = certify_with(unscanned(), "2026-11-22");
    assert_eq!(r.verdict, Verdict::Fail);
    assert_eq!(r.advisories.as_ref().unwrap().snapshot, "2026-11-15T12:30:00Z");
    assert_eq!(
        rows(&r),
        [
            (
                "vulnerability",
                Some("libssl3"),
                Some("DEBIAN-CVE-2099-000001"),
                Some(9.8),
                Some("3.0.13-1~deb12u1"),
                true
            ),
            (
                "vulnerability",
                Some("libssl3"),
                Some("DEBIAN-CVE-2099-000002"),
                Some(5.5),
                Some("3.0.14-1~deb12u1"),
                false
            ),
            ("vulnerability", Some("zlib1g"), Some("DEBIAN-CVE-2099-000004"), Some(7.5), None, true),
            // No vector: the severity word, estimated and never blocking below 7.
            ("vulnerability", Some("requests"), Some("GHSA-9wx4-h78v-000000006"), Some(4.0), Some("2.32.0"), false),
            // The store has no npm advisories: not evaluated, and the default policy blocks.
            ("vulnerability.not-evaluated", None, None, None, None, true),
        ]
    );
    let f = &r.platforms[0].findings;
    assert_eq!(f[0].finding.evidence.remediation.as_deref(), Some("upgrade openssl to 3.0.13-1~deb12u1 or later"));
    assert_eq!(f[0].finding.evidence.vector.as_deref(), Some(CRITICAL));
    assert_eq!(f[0].finding.evidence.aliases, ["CVE-2099-000001"]);
    assert_eq!(f[0].finding.evidence.path.as_deref(), Some("var/lib/dpkg/status"));
    assert!(f[2].finding.evidence.remediation.as_deref().unwrap().starts_with("no fixed version of zlib yet"));
    assert_eq!(
        f[4].finding.message,
        "the advisory store has nothing for npm: 1 package(s) not checked for vulnerabilities"
    );
    assert_eq!(f[4].finding.evidence.detail.as_deref(), Some("left-pad 1.3.0"));
    // The human report shows the evidence.
    let text = wharf_certify::render::human(&r);
    assert!(text.contains("advisory: DEBIAN-CVE-2099-000001 (CVE-2099-000001)"), "{text}");
    assert!(text.contains("remediation: upgrade openssl to 3.0.13-1~deb12u1 or later"), "{text}");

    // A stricter threshold blocks the medium one too; "warn" on not-evaluated lets npm pass.
    let policy = Policy { block_cvss: 5.0, not_evaluated: Action::Warn, ..unscanned() };
    let r = certify_with(policy, "2026-11-22");
    let blocking: Vec<bool> = rows(&r).iter().map(|x| x.5).collect();
    assert_eq!(blocking, [true, true, true, false, false]);
}

#[test]
fn exceptions_apply_until_they_expire_and_export_as_openvex() {
    let mut policy = Policy { not_evaluated: Action::Warn, ..unscanned() };
    policy.exceptions = vec![
        // By an alias and the source package's name.
        exception("CVE-2099-000004", "zlib", "2026-12-31"),
        // By purl, for one image only (another image's digest: does not apply here).
        Exception {
            image: Some(format!("sha256:{}", "0".repeat(64))),
            ..exception("DEBIAN-CVE-2099-000001", "pkg:deb/debian/libssl3", "2026-12-31")
        },
    ];
    let r = certify_with(policy.clone(), "2026-11-22");
    let zlib =
        r.platforms[0].findings.iter().find(|f| f.finding.evidence.package.as_deref() == Some("zlib1g")).unwrap();
    assert!(!zlib.blocking);
    let x = zlib.exception.as_ref().unwrap();
    assert_eq!((x.author.as_str(), x.expires.as_str(), x.expired), ("alice@contoso.example", "2026-12-31", false));
    // OpenSSL's critical one is still blocking: its exception names another image.
    assert_eq!(r.verdict, Verdict::Fail);
    let ssl = &r.platforms[0].findings[0];
    assert!(ssl.blocking && ssl.exception.is_none());
    // The same exception for this image applies.
    let mut this_image = policy.clone();
    this_image.exceptions[1].image = Some(r.platforms[0].manifest.clone());
    let r = certify_with(this_image, "2026-11-22");
    assert_eq!(r.verdict, Verdict::Pass, "{}", wharf_certify::render::human(&r));

    // On the day after its expiry, an exception stops applying (and says so).
    let r = certify_with(policy.clone(), "2027-01-01");
    let zlib =
        r.platforms[0].findings.iter().find(|f| f.finding.evidence.package.as_deref() == Some("zlib1g")).unwrap();
    assert!(zlib.blocking && zlib.exception.as_ref().unwrap().expired);
    assert!(wharf_certify::render::human(&r).contains(
        "exception: zlib's inflate is not reachable from the product (by alice@contoso.example, expired 2026-12-31)"
    ));

    // OpenVEX: the exceptions in force, "affected" with the reason as the action
    // statement, or "not_affected" with a justification.
    let mut with_justification = policy.exceptions.clone();
    with_justification[0].justification = Some("vulnerable_code_not_in_execute_path".into());
    with_justification.push(exception("CVE-2000-0001", "zlib", "2020-01-01"));
    let vex = wharf_certify::vulns::openvex(
        &with_justification,
        "alice@contoso.example",
        "2026-11-22",
        "2026-11-22T10:00:00Z",
    );
    assert_eq!(vex["@context"], "https://openvex.dev/ns/v0.2.0");
    let statements = vex["statements"].as_array().unwrap();
    assert_eq!(statements.len(), 2, "the expired exception is not exported");
    assert_eq!(statements[0]["vulnerability"]["name"], "CVE-2099-000004");
    assert_eq!(statements[0]["status"], "not_affected");
    assert_eq!(statements[0]["justification"], "vulnerable_code_not_in_execute_path");
    assert_eq!(statements[0]["products"][0]["@id"], "zlib");
    assert_eq!(statements[1]["status"], "affected");
    assert_eq!(statements[1]["products"][0]["subcomponents"][0]["@id"], "pkg:deb/debian/libssl3");
    assert!(
        statements[1]["action_statement"]
            .as_str()
            .unwrap()
            .contains("risk accepted by alice@contoso.example until 2026-12-31")
    );
}

#[test]
fn policy_files_check_their_exceptions() {
    let ok = r#"
block_cvss = 8.0
[[exceptions]]
advisory = "CVE-2099-000004"
package = "zlib"
reason = "not reachable"
author = "alice@contoso.example"
expires = "2026-12-31"
"#;
    let p = Policy::parse(ok).unwrap();
    assert_eq!((p.block_cvss, p.exceptions.len()), (8.0, 1));
    let bad = r#"
block_cvss = 11.0
[[exceptions]]
advisory = "CVE-1"
reason = " "
author = ""
expires = "next year"
justification = "trust me"
image = "latest"
"#;
    let e = Policy::parse(bad).unwrap_err();
    assert_eq!(
        e.lines().collect::<Vec<_>>(),
        [
            "block_cvss must be between 0.0 and 10.0, not 11",
            "exceptions[0] (CVE-1): image must be a manifest digest (sha256:…), not \"latest\"",
            "exceptions[0] (CVE-1): reason is empty",
            "exceptions[0] (CVE-1): author is empty",
            "exceptions[0] (CVE-1): expires must be a date YYYY-MM-DD, not \"next year\"",
            "exceptions[0] (CVE-1): justification must be one of component_not_present, vulnerable_code_not_present, vulnerable_code_not_in_execute_path, vulnerable_code_cannot_be_controlled_by_adversary, inline_mitigations_already_exist",
        ]
    );
    assert!(
        Policy::parse("[[exceptions]]\nadvisory = \"X\"\nreason = \"r\"\nauthor = \"a\"\nexpires = \"2026-01-01\"\n")
            .unwrap_err()
            .contains("name the package or the image")
    );
    assert!(Policy::parse("colour = \"blue\"\n").unwrap_err().contains("unknown field `colour`"));
}

/// Every field of a report (here one with vulnerabilities, an exception and
/// not-evaluated findings) is named in docs/certification.md's JSON report section.
#[test]
fn every_report_field_is_documented() {
    let mut policy = Policy { not_evaluated: Action::Warn, ..unscanned() };
    policy.exceptions = vec![exception("CVE-2099-000004", "zlib", "2026-12-31")];
    let r = certify_with(policy, "2026-11-22");
    let docs =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/certification.md")).unwrap();
    let section = &docs[docs.find("## The JSON report").unwrap()..];
    fn keys(v: &Value, under_map: bool, out: &mut std::collections::BTreeSet<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    // `summary` is keyed by severity: its keys are values, not fields.
                    if !under_map {
                        out.insert(k.clone());
                    }
                    keys(x, k == "summary", out);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| keys(x, false, out)),
            _ => {}
        }
    }
    let mut found = std::collections::BTreeSet::new();
    keys(&serde_json::to_value(&r).unwrap(), false, &mut found);
    let documented = |k: &String| section.contains(&format!("`{k}`")) || section.contains(&format!("`{k}[]`"));
    let missing: Vec<&String> = found.iter().filter(|k| !documented(k)).collect();
    assert!(missing.is_empty(), "report fields missing from docs/certification.md: {missing:?}");
    assert!(found.len() > 40, "{found:?}");
}
