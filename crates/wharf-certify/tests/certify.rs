//! Certifying OCI layouts built here from real tar layers: a verdict per platform,
//! policy findings with evidence, and damaged or hostile layouts reported as
//! findings (never an error exit or a panic).

use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};
use wharf_certify::certify::{Engine, Report, Verdict, certify_layout};
use wharf_certify::image::Layout;
use wharf_certify::policy::{Action, Policy};

mod common;
use common::*;

fn checks(r: &Report, platform: usize) -> Vec<&'static str> {
    r.platforms[platform].findings.iter().map(|f| f.finding.check.id()).collect()
}

#[test]
fn a_clean_multi_arch_image_passes_on_every_platform() {
    let dir = tempfile::tempdir().unwrap();
    let license: (&str, u32, &[u8]) = ("licenses/LICENSE", 0o644, b"Apache-2.0");
    let amd = image(dir.path(), "amd64", "1000", labels(), &[layer(&[("usr/bin/app", 0o755, &elf(62)), license])]);
    let arm = image(dir.path(), "arm64", "app", labels(), &[layer(&[("usr/bin/app", 0o755, &elf(183)), license])]);
    let index = json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": [amd, arm]});
    let (d, s) = put(dir.path(), index.to_string().as_bytes());
    let l = layout(
        dir.path(),
        vec![
            json!({"mediaType": INDEX, "digest": d, "size": s, "annotations": {"org.opencontainers.image.ref.name": "1.0.0"}}),
        ],
    );
    let r = certify_layout(&l, "app", Some("1.0.0"), &Engine::new(unscanned()));
    assert_eq!(r.verdict, Verdict::Pass, "{r:#?}");
    let platforms: Vec<&str> = r.platforms.iter().map(|p| p.platform.as_str()).collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
    assert!(r.platforms.iter().all(|p| p.findings.is_empty() && p.files == 2));
}

#[test]
fn policy_findings_carry_evidence_and_follow_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    // Root user, no labels, a setuid file, and an arm64 binary in an image that says amd64.
    let m = image(
        dir.path(),
        "amd64",
        "",
        json!({}),
        &[layer(&[("usr/bin/app", 0o755, &elf(183)), ("usr/bin/su", 0o4755, &elf(183))])],
    );
    let l = layout(dir.path(), vec![m]);
    let r = certify_layout(&l, "app", None, &Engine::new(unscanned()));
    assert_eq!(r.verdict, Verdict::Fail);
    let found = checks(&r, 0);
    assert_eq!(
        found,
        [
            "policy.run-as-root",
            "policy.no-license",
            "policy.missing-label",
            "policy.missing-label",
            "policy.missing-label",
            "policy.missing-label",
            "policy.missing-label",
            "policy.setuid",
            "policy.architecture-mismatch"
        ]
    );
    let arch = &r.platforms[0].findings[8];
    assert_eq!(arch.finding.message, "the config declares amd64 but 2 executable(s) are arm64");
    assert!(arch.blocking);
    let setuid = &r.platforms[0].findings[7];
    assert_eq!((setuid.finding.evidence.path.as_deref(), setuid.blocking), (Some("usr/bin/su"), false));
    // A config that says Windows for Linux executables.
    let dir = tempfile::tempdir().unwrap();
    let config = json!({"architecture": "amd64", "os": "windows", "config": {"User": "1000", "Labels": labels()}});
    let bin = layer(&[("usr/bin/app", 0o755, &elf(62)), ("licenses/LICENSE", 0o644, b"MIT")]);
    let m = image_with_config(dir.path(), &config, &[bin]);
    let windows = layout(dir.path(), vec![m]);
    let r = certify_layout(&windows, "app", None, &Engine::new(unscanned()));
    assert_eq!(checks(&r, 0), ["policy.architecture-mismatch"]);
    assert_eq!(
        r.platforms[0].findings[0].finding.message,
        "the config declares the OS \"windows\" but 1 executable(s) are Linux (ELF) programs"
    );
    // A policy that allows root and does not check architectures passes it.
    let lenient = Policy { run_as_non_root: Action::Off, architecture_matches_binaries: Action::Warn, ..unscanned() };
    let r = certify_layout(&l, "app", None, &Engine::new(lenient));
    assert_eq!(r.verdict, Verdict::Pass, "{r:#?}");
    assert!(!checks(&r, 0).contains(&"policy.run-as-root"));
}

#[test]
fn hostile_and_damaged_layouts_are_findings() {
    // An index that refers to itself: its digest cannot be known before it is
    // written, so the cycle goes through a second index.
    let dir = tempfile::tempdir().unwrap();
    let inner_placeholder = json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": []});
    let (inner_d, inner_s) = put(dir.path(), inner_placeholder.to_string().as_bytes());
    let outer = json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": [{"mediaType": INDEX, "digest": inner_d, "size": inner_s}]});
    let (outer_d, outer_s) = put(dir.path(), outer.to_string().as_bytes());
    // Replace the inner index's bytes with one pointing back at the outer: a digest mismatch.
    let cyclic = json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": [{"mediaType": INDEX, "digest": outer_d, "size": outer_s}]});
    std::fs::write(dir.path().join("blobs/sha256").join(inner_d.trim_start_matches("sha256:")), cyclic.to_string())
        .unwrap();
    let l = layout(dir.path(), vec![json!({"mediaType": INDEX, "digest": outer_d, "size": outer_s})]);
    let r = certify_layout(&l, "x", None, &Engine::new(unscanned()));
    assert_eq!(r.verdict, Verdict::Fail);
    assert_eq!(r.image_findings[0].finding.check.id(), "image.digest-mismatch");

    // Indexes nested deeper than allowed (each one valid).
    let dir = tempfile::tempdir().unwrap();
    let mut d = image(dir.path(), "amd64", "1000", labels(), &[layer(&[("a", 0o644, b"a")])]);
    for _ in 0..6 {
        let idx = json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": [d]});
        let (dg, s) = put(dir.path(), idx.to_string().as_bytes());
        d = json!({"mediaType": INDEX, "digest": dg, "size": s});
    }
    let l = layout(dir.path(), vec![d]);
    let r = certify_layout(&l, "x", None, &Engine::new(unscanned()));
    assert_eq!(r.image_findings[0].finding.check.id(), "image.invalid");
    assert!(r.image_findings[0].finding.message.contains("nests more than 4 indexes deep"), "{r:#?}");

    // A layer whose bytes were changed after the manifest was written.
    let dir = tempfile::tempdir().unwrap();
    let bytes = layer(&[("a", 0o644, b"original")]);
    let m = image(dir.path(), "amd64", "1000", labels(), std::slice::from_ref(&bytes));
    let (ld, _) = put(dir.path(), &bytes);
    let tampered = layer(&[("a", 0o644, b"tampered")]);
    let mut f = std::fs::File::create(dir.path().join("blobs/sha256").join(ld.trim_start_matches("sha256:"))).unwrap();
    f.write_all(&tampered).unwrap();
    let l = layout(dir.path(), vec![m]);
    let r = certify_layout(&l, "x", None, &Engine::new(unscanned()));
    assert_eq!(checks(&r, 0), ["layer.digest-mismatch", "policy.no-license"]);
    assert_eq!(r.verdict, Verdict::Fail);

    // Not a layout at all.
    let empty = tempfile::tempdir().unwrap();
    assert!(Layout::open(empty.path()).unwrap_err().to_string().contains("is not an OCI image layout"));
}

#[test]
fn secrets_latest_tags_prohibited_packages_and_size_are_policy_findings() {
    let dir = tempfile::tempdir().unwrap();
    let key = b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n";
    let dpkg = b"Package: kernel-core\nStatus: install ok installed\nArchitecture: amd64\nVersion: 6.1\n";
    let lower = layer(&[("root/.ssh/id_ed25519", 0o600, key), ("licenses/LICENSE", 0o644, b"MIT")]);
    // The key is deleted by the next layer, but it still ships in the image.
    let upper = layer(&[
        ("root/.ssh/.wh.id_ed25519", 0o644, b""),
        ("app/config.yaml", 0o644, b"github: ghp_abcdefghijklmnopqrstuvwxyz0123456789\n"),
        ("var/lib/dpkg/status", 0o644, dpkg),
    ]);
    let config = json!({"architecture": "amd64", "os": "linux", "config": {"User": "1000", "Labels": labels(), "Env": ["PATH=/usr/bin", "AWS_ACCESS_KEY_ID=AKIAABCDEFGHIJKLMNOP"]}});
    let (cd, cs) = put(dir.path(), config.to_string().as_bytes());
    let layer_descs: Vec<Value> = [lower, upper]
        .iter()
        .map(|l| {
            let (d, s) = put(dir.path(), l);
            json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": s})
        })
        .collect();
    let manifest = json!({"schemaVersion": 2, "mediaType": MANIFEST, "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs}, "layers": layer_descs});
    let (md, ms) = put(dir.path(), manifest.to_string().as_bytes());
    let l = layout(
        dir.path(),
        vec![
            json!({"mediaType": MANIFEST, "digest": md, "size": ms, "annotations": {"org.opencontainers.image.ref.name": "latest"}}),
        ],
    );
    let policy = Policy { prohibited_packages: vec!["kernel-core".into()], max_image_bytes: 1000, ..unscanned() };
    let r = certify_layout(&l, "app", Some("latest"), &Engine::new(policy));
    assert_eq!(r.verdict, Verdict::Fail);
    let found: Vec<(&str, Option<&str>, Option<&str>, bool)> = r.platforms[0]
        .findings
        .iter()
        .map(|f| {
            (f.finding.check.id(), f.finding.evidence.path.as_deref(), f.finding.evidence.detail.as_deref(), f.blocking)
        })
        .collect();
    assert_eq!(
        found,
        [
            ("policy.secret", Some("root/.ssh/id_ed25519"), Some("line 1: ----…(107 characters)"), true),
            ("policy.secret", Some("app/config.yaml"), Some("line 1: ghp_…(40 characters)"), true),
            ("policy.secret", None, Some("Env[1] AWS_ACCESS_KEY_ID: AKIA…(20 characters)"), true),
            ("policy.image-size", None, None, false),
            ("policy.latest-tag", None, None, true),
            ("policy.prohibited-package", Some("var/lib/dpkg/status"), Some("kernel-core 6.1"), true),
            // No advisories imported: the packages were not checked, and the default policy blocks.
            ("vulnerability.not-evaluated", None, None, true),
        ]
    );
    let text = serde_json::to_string(&r).unwrap();
    assert!(!text.contains("AKIAABCDEFGHIJKLMNOP") && !text.contains("ghp_abcdefghijklmnop"), "secrets are redacted");
}

/// An oci-archive's entries are copied by names built from validated digests: paths
/// that climb out, absolute paths and links in the archive write nothing anywhere.
#[test]
fn oci_archives_are_read_without_trusting_their_paths() {
    let dir = tempfile::tempdir().unwrap();
    let m = image(dir.path(), "amd64", "1000", labels(), &[layer(&[("licenses/LICENSE", 0o644, b"MIT")])]);
    layout(dir.path(), vec![m]);
    let marker = format!("wharf-escape-{}", std::process::id());
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |name: &str, data: &[u8]| append_raw(&mut b, name, data);
    add(&format!("../../../../../../tmp/{marker}"), b"escaped");
    add(&format!("/tmp/{marker}-abs"), b"escaped");
    add("blobs/sha256/not-a-digest", b"ignored");
    for entry in walk(dir.path()) {
        let rel = entry.strip_prefix(dir.path()).unwrap().to_str().unwrap().to_owned();
        add(&format!("./{rel}"), &std::fs::read(&entry).unwrap());
    }
    let archive = dir.path().join("img.tar");
    std::fs::write(&archive, b.into_inner().unwrap()).unwrap();
    let (l, scratch) = Layout::from_archive(&archive).unwrap();
    let r = certify_layout(&l, "img.tar", None, &Engine::new(unscanned()));
    assert_eq!(r.verdict, Verdict::Pass, "{r:#?}");
    assert!(!std::path::Path::new(&format!("/tmp/{marker}")).exists());
    assert!(!std::path::Path::new(&format!("/tmp/{marker}-abs")).exists());
    assert!(!scratch.path().join("blobs/sha256/not-a-digest").exists());
    let path = scratch.path().to_owned();
    drop(scratch);
    assert!(!path.exists(), "the scratch directory goes with its guard");
    assert!(Layout::from_archive(&dir.path().join("index.json")).is_err(), "not a tar");
}

/// Appends a regular file whose name is written raw, so that the tar crate's own path
/// checks do not interfere (hostile names are the point).
fn append_raw(b: &mut tar::Builder<Vec<u8>>, name: &str, data: &[u8]) {
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    h.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
    h.set_cksum();
    b.append(&h, data).unwrap();
}

/// A docker-archive as `docker save` (25+) writes it: blobs, a legacy layer path that
/// is a symlink to its blob, and a manifest.json naming them.
fn docker_archive(files: &[(&str, &[u8])], links: &[(&str, &str)], manifest: Value) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        append_raw(&mut b, name, data);
    }
    for (name, target) in links {
        let mut h = tar::Header::new_gnu();
        h.set_size(0);
        h.set_entry_type(tar::EntryType::Symlink);
        b.append_link(&mut h, name, target).unwrap();
    }
    let m = manifest.to_string();
    let mut h = tar::Header::new_gnu();
    h.set_size(m.len() as u64);
    h.set_mode(0o644);
    b.append_data(&mut h, "manifest.json", m.as_bytes()).unwrap();
    b.into_inner().unwrap()
}

#[test]
fn docker_archives_become_layouts_without_trusting_their_paths() {
    let dir = tempfile::tempdir().unwrap();
    let layer_tar = {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_size(3);
        h.set_mode(0o644);
        b.append_data(&mut h, "licenses/LICENSE", &b"MIT"[..]).unwrap();
        b.into_inner().unwrap()
    };
    let hex = wharf_oci::Digest::of(wharf_oci::Algorithm::Sha256, &layer_tar).hex().to_owned();
    let config = json!({"architecture": "amd64", "os": "linux", "config": {"User": "1000", "Labels": labels()}, "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{hex}")]}}).to_string();
    let marker = format!("wharf-docker-escape-{}", std::process::id());
    let escape = format!("../../../../../../tmp/{marker}");
    let blob = format!("blobs/sha256/{hex}");
    let bytes = docker_archive(
        &[(escape.as_str(), b"escaped"), ("cfg.json", config.as_bytes()), (blob.as_str(), &layer_tar)],
        &[("legacy/layer.tar", &format!("../{blob}"))],
        json!([{"Config": "cfg.json", "RepoTags": ["registry.example:5000/contoso/app:2.0.0"], "Layers": ["legacy/layer.tar"]}]),
    );
    let archive = dir.path().join("docker.tar");
    std::fs::write(&archive, bytes).unwrap();
    let (l, _scratch) = Layout::from_archive(&archive).unwrap();
    let r = certify_layout(&l, "docker.tar", Some("2.0.0"), &Engine::new(unscanned()));
    assert_eq!(r.verdict, Verdict::Pass, "{r:#?}");
    assert_eq!((r.platforms[0].platform.as_str(), r.platforms[0].files), ("linux/amd64", 1));
    assert!(!std::path::Path::new(&format!("/tmp/{marker}")).exists());

    // manifest.json naming a file the archive lacks, or a link out of the archive.
    let bytes = docker_archive(
        &[("cfg.json", config.as_bytes())],
        &[("layer.tar", "../../../etc/passwd")],
        json!([{"Config": "cfg.json", "Layers": ["layer.tar"]}]),
    );
    std::fs::write(&archive, bytes).unwrap();
    let e = Layout::from_archive(&archive).unwrap_err().to_string();
    assert!(e.contains("names layer.tar, which the archive lacks"), "{e}");
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// A Go executable's embedded module list joins the SBOM (and leaves it with the
/// executable when a later layer deletes it).
#[test]
fn go_executables_add_their_modules_to_the_sbom() {
    let mut go = elf(62);
    go.resize(4096, 0);
    go.extend_from_slice(b"\xff Go buildinf:\x08\x02");
    go.resize(go.len() + 16, 0);
    let modinfo = [
        &[0x30u8; 16][..],
        b"mod\tgithub.com/contoso/tool\tv1.2.0\th1:x=\ndep\tgolang.org/x/sys\tv0.20.0\th1:y=\n",
        &[0x30u8; 16],
    ]
    .concat();
    for s in [&b"go1.22.1"[..], &modinfo[..]] {
        go.push(u8::try_from(s.len()).unwrap());
        go.extend_from_slice(s);
    }
    let dir = tempfile::tempdir().unwrap();
    let lic: (&str, u32, &[u8]) = ("licenses/LICENSE", 0o644, b"MIT");
    let m = image(
        dir.path(),
        "amd64",
        "1000",
        labels(),
        &[
            layer(&[("usr/bin/tool", 0o755, &go), ("usr/bin/old", 0o755, &go), lic]),
            layer(&[("usr/bin/.wh.old", 0o644, b"")]),
        ],
    );
    let l = layout(dir.path(), vec![m]);
    let policy = Policy { not_evaluated: Action::Warn, ..unscanned() };
    let r = certify_layout(&l, "tool", None, &Engine::new(policy));
    assert_eq!(r.verdict, Verdict::Pass, "{r:#?}");
    assert_eq!(checks(&r, 0), ["vulnerability.not-evaluated"]);
    assert!(r.platforms[0].findings[0].finding.message.starts_with("no advisories imported: 3 package(s)"));
    let purls: Vec<(&str, &str)> =
        r.platforms[0].components.iter().map(|c| (c.purl.as_str(), c.path.as_str())).collect();
    assert_eq!(
        purls,
        [
            ("pkg:golang/github.com/contoso/tool@v1.2.0", "usr/bin/tool"),
            ("pkg:golang/golang.org/x/sys@v0.20.0", "usr/bin/tool"),
            ("pkg:golang/stdlib@1.22.1", "usr/bin/tool"),
        ]
    );
}

#[test]
fn base_images_are_checked_by_layer_digest_and_config_secrets_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let base = layer(&[("etc/debian_version", 0o644, b"12.7"), ("licenses/LICENSE", 0o644, b"MIT")]);
    let app = layer(&[("usr/bin/app", 0o755, b"#!/bin/sh\n")]);
    let m = image(dir.path(), "amd64", "1000", labels(), &[base.clone(), app]);
    let l = layout(dir.path(), vec![m]);
    let layers: Vec<String> = l.images(None).unwrap()[0].manifest.layers.iter().map(|d| d.digest.clone()).collect();
    let allowed = |digests: Vec<String>| {
        Policy::parse(&format!(
            "[[allowed_base_images]]\nname = \"debian:12\"\nlayers = {}\n",
            serde_json::to_string(&digests).unwrap()
        ))
        .map(|p| Policy { not_scanned: Action::Off, ..p })
    };
    // Built on the allowed base: passes.
    let r = certify_layout(&l, "app", None, &Engine::new(allowed(vec![layers[0].clone()]).unwrap()));
    assert!(checks(&r, 0).is_empty(), "{:?}", checks(&r, 0));
    // Another base: blocked, with the image's first layer as evidence.
    let other = format!("sha256:{}", "1".repeat(64));
    let r = certify_layout(&l, "app", None, &Engine::new(allowed(vec![other]).unwrap()));
    assert_eq!(checks(&r, 0), ["policy.base-image"]);
    let f = &r.platforms[0].findings[0];
    assert!(f.blocking);
    assert_eq!(f.finding.evidence.layer.as_deref(), Some(layers[0].as_str()));
    assert_eq!(f.finding.message, "the image is not built on an allowed base image (debian:12)");
    assert!(allowed(vec!["latest".into()]).unwrap_err().contains("\"latest\" is not a digest"));

    // Secrets in labels, the command and the entry point.
    let dir = tempfile::tempdir().unwrap();
    let config = json!({"architecture": "amd64", "os": "linux", "config": {"User": "1000",
        "Labels": {"org.opencontainers.image.title": "app", "ci.token": "glpat-abcdefghij0123456789"},
        "Cmd": ["--api-key", "xoxb-1234567890-abcdefghijklmnop"],
        "Entrypoint": ["/app", "--token=ghp_abcdefghijklmnopqrstuvwxyz0123456789"]}});
    let m = image_with_config(dir.path(), &config, &[layer(&[("licenses/LICENSE", 0o644, b"MIT")])]);
    let l = layout(dir.path(), vec![m]);
    let r = certify_layout(&l, "app", None, &Engine::new(Policy { required_labels: Action::Off, ..unscanned() }));
    let secrets: Vec<(&str, &str)> = r.platforms[0]
        .findings
        .iter()
        .filter(|f| f.finding.check.id() == "policy.secret")
        .map(|f| (f.finding.message.as_str(), f.finding.evidence.detail.as_deref().unwrap()))
        .collect();
    assert_eq!(secrets.len(), 3, "{secrets:?}");
    assert!(secrets.iter().any(|(_, d)| d.starts_with("label ci.token: glpa")), "{secrets:?}");
    assert!(secrets.iter().any(|(_, d)| d.starts_with("Cmd[1]: xoxb")), "{secrets:?}");
    assert!(
        secrets.iter().any(|(_, d)| d.starts_with("Entrypoint[1]: --to") || d.starts_with("Entrypoint[1]: ghp_")),
        "{secrets:?}"
    );
    assert!(!serde_json::to_string(&r).unwrap().contains("abcdefghij0123456789"), "secrets are never in the report");
}

/// A cosign-format signature of `digest` made with `key`, stored in the layout as
/// cosign stores it: a manifest tagged `sha256-<hex>.sig` whose layer is the payload.
fn cosign_signature(dir: &Path, digest: &str, signed: &str, key: &aws_lc_rs::signature::EcdsaKeyPair) -> Value {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let payload = json!({"critical": {"identity": {"docker-reference": "registry.example/contoso/app"},
        "image": {"docker-manifest-digest": signed}, "type": "cosign container image signature"}, "optional": null})
    .to_string();
    let sig = key.sign(&rng, payload.as_bytes()).unwrap();
    use base64::Engine as _;
    let (pd, ps) = put(dir, payload.as_bytes());
    let (cd, cs) = put(dir, b"{}");
    let m = json!({"schemaVersion": 2, "mediaType": MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
        "layers": [{"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", "digest": pd, "size": ps,
            "annotations": {"dev.cosignproject.cosign/signature": base64::engine::general_purpose::STANDARD.encode(sig.as_ref())}}]});
    let (md, ms) = put(dir, m.to_string().as_bytes());
    json!({"mediaType": MANIFEST, "digest": md, "size": ms,
        "annotations": {"org.opencontainers.image.ref.name": wharf_certify::signature::signature_tag(digest)}})
}

#[test]
fn publisher_signatures_are_verified_when_the_policy_requires_them() {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let new_key = || {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap()
    };
    let (publisher, stranger) = (new_key(), new_key());
    let pem = wharf_certify::signature::PublicKey::from_point("publisher", publisher.public_key().as_ref()).to_pem();
    let policy = Policy::parse(&format!("signature = \"block\"\nsignature_keys = [\"\"\"{pem}\"\"\"]\n"))
        .map(|p| Policy { not_scanned: Action::Off, ..p })
        .unwrap();
    let certify = |signature: Option<(String, &EcdsaKeyPair)>| {
        let dir = tempfile::tempdir().unwrap();
        let m = image(dir.path(), "amd64", "1000", labels(), &[layer(&[("licenses/LICENSE", 0o644, b"MIT")])]);
        let digest = m["digest"].as_str().unwrap().to_owned();
        let mut tagged = m.clone();
        tagged["annotations"] = json!({"org.opencontainers.image.ref.name": "1.0.0"});
        let mut entries = vec![tagged];
        if let Some((signed, key)) = signature {
            let signed = if signed == "self" { digest.clone() } else { signed };
            entries.push(cosign_signature(dir.path(), &digest, &signed, key));
        }
        let l = layout(dir.path(), entries);
        certify_layout(&l, "app", Some("1.0.0"), &Engine::new(policy.clone()))
    };
    // Signed by the publisher's key: passes.
    let r = certify(Some(("self".into(), &publisher)));
    assert!(checks(&r, 0).is_empty(), "{:#?}", r.platforms[0].findings);
    // Unsigned, signed by another key, or a signature of another image: blocked, with why.
    for (case, want) in [
        (None, "the image has no signature"),
        (Some(("self".into(), &stranger)), "does not verify with any of the policy's keys"),
        (Some((format!("sha256:{}", "2".repeat(64)), &publisher)), "not this image"),
    ] {
        let r = certify(case);
        assert_eq!(checks(&r, 0), ["policy.signature"]);
        let f = &r.platforms[0].findings[0];
        assert!(f.blocking);
        assert!(f.finding.evidence.detail.as_deref().unwrap().contains(want), "{:?}", f.finding.evidence.detail);
    }
    // Policy mistakes are caught when the file is read.
    assert!(Policy::parse("signature = \"block\"\n").unwrap_err().contains("names no key"));
    let bad = Policy::parse("signature_keys = [\"-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----\"]\n");
    assert!(bad.unwrap_err().contains("not an ECDSA P-256 public key"));
}

/// The four layers that once passed certification with no finding, while the
/// runtimes' tar reader unpacks from them a file outside the root, a setuid binary
/// and a passwd with an empty root password: each fails, with the ambiguity shown.
#[test]
fn layers_the_runtime_reads_differently_fail_certification() {
    use common::rawtar::{Magic, archive, entry, entry_declaring, header, padded, pax, with_mode};
    let mut su = with_mode(header(Magic::Ustar, b"usr/bin/su", b'0', b"", 9), 0o4755).to_vec();
    su.extend(padded(b"#!/bin/sh"));
    let passwd = entry(b"etc/passwd", b'0', b"", b"root::0:0:root:/root:/bin/sh\n");
    let attacks = [
        archive(&[
            pax(b'x', &[(b"path", b"safe/file"), (b"path", b"../../../../tmp/pwned")]),
            entry(b"x", b'0', b"", b"y"),
        ]),
        archive(&[entry_declaring(b"innocent/", b'5', b"", su.len() as u64, &su)]),
        archive(&[entry_declaring(b"link", b'2', b"", passwd.len() as u64, &passwd)]),
        archive(&[
            pax(b'x', &[(b"size", b"0"), (b"size", b"1024")]),
            entry_declaring(b"f", b'0', b"", 0, &[passwd.clone(), vec![0; 512]].concat()),
        ]),
    ];
    for (i, tar) in attacks.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let clean = layer(&[("licenses/LICENSE", 0o644, b"MIT")]);
        let m = image(dir.path(), "amd64", "1000", labels(), &[clean, tar.clone()]);
        let l = layout(dir.path(), vec![m]);
        let r = certify_layout(&l, "app", None, &Engine::new(unscanned()));
        assert_eq!(r.verdict, Verdict::Fail, "attack {i}: {r:#?}");
        let ambiguous: Vec<_> =
            r.platforms[0].findings.iter().filter(|f| f.finding.check.id() == "layer.ambiguous").collect();
        assert!(!ambiguous.is_empty() && ambiguous.iter().all(|f| f.blocking), "attack {i}: {:?}", checks(&r, 0));
        assert!(ambiguous[0].finding.evidence.detail.as_deref().unwrap().starts_with("at offset "));
    }
}

#[test]
fn world_writable_directories_without_the_sticky_bit_are_findings() {
    use common::rawtar::{Magic, archive, header, with_mode};
    let dirs = archive(&[
        with_mode(header(Magic::Ustar, b"tmp/", b'5', b"", 0), 0o1777).to_vec(),
        with_mode(header(Magic::Ustar, b"srv/upload/", b'5', b"", 0), 0o777).to_vec(),
        with_mode(header(Magic::Ustar, b"licenses/", b'5', b"", 0), 0o755).to_vec(),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let m = image(dir.path(), "amd64", "1000", labels(), &[dirs, layer(&[("licenses/LICENSE", 0o644, b"MIT")])]);
    let r = certify_layout(&layout(dir.path(), vec![m]), "app", None, &Engine::new(unscanned()));
    assert_eq!(checks(&r, 0), ["policy.world-writable"]);
    let f = &r.platforms[0].findings[0].finding;
    assert_eq!(f.message, "a directory anyone may write, without the sticky bit");
    assert_eq!((f.evidence.path.as_deref(), f.evidence.detail.as_deref()), (Some("srv/upload"), Some("mode 777")));
}

/// File names, labels, package names and the distribution's name come from the
/// image: the report for people shows their control characters, ANSI escapes,
/// newlines and bidirectional overrides as escapes, never as what they do.
#[test]
fn the_human_report_cannot_drive_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let dpkg = "Package: evil\u{202e}gkp\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0\x1b[2J\n";
    let files = layer(&[
        ("etc/os-release", 0o644, b"ID=deb\x1b[31mian\nVERSION_ID=12\n"),
        ("usr/bin/\x1b[31mred\u{202e}gpj.exe", 0o4755, b"x"),
        ("usr/bin/line\nFAKE finding", 0o4755, b"x"),
        ("var/lib/dpkg/status", 0o644, dpkg.as_bytes()),
        ("licenses/LICENSE", 0o644, b"MIT"),
    ]);
    let mut labels = labels();
    labels["note\x1b]0;owned\x07"] = json!("AKIAABCDEFGHIJKLMNOP");
    let m = image(dir.path(), "amd64", "1000", labels, &[files]);
    let l = layout(dir.path(), vec![m]);
    let policy = Policy { prohibited_packages: vec!["evil\u{202e}gkp".into()], ..unscanned() };
    let r = certify_layout(&l, "app\x1b[8m", None, &Engine::new(policy));
    let text = wharf_certify::render::human(&r);
    assert!(!text.contains('\x1b') && !text.contains('\u{202e}') && !text.contains('\x07'), "{text}");
    assert!(!text.contains("\nFAKE"), "{text}");
    insta::assert_snapshot!(text);
}
