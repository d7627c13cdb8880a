//! The marketplace's signatures, checked by an independent verifier: sigstore-rs (the
//! sigstore project's Rust client, `tools/cosign-verify`, built by `.ci/run`) reads the
//! cosign tag-based format from the registry and verifies each signature with the
//! marketplace's published key, as `cosign verify --key` does. It accepts a promoted
//! image by tag and by digest, and refuses it under another key and once the manifest
//! behind the tag has been swapped.
//!
//! Debian's skopeo and podman would be the natural verifiers (a `sigstoreSigned`
//! policy), but Debian builds containers/image with sigstore disabled: skopeo answers
//! "Debian-local change: sigstore disabled" to any such policy. `cosign` itself is not
//! packaged by Debian.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::publishing::{BASE, PERMISSIVE, offer, push_image, run_pipeline, setup, submit};
use common::{PASSWORD, json};
use reqwest::Method;
use serde_json::Value;
use wharf_db::registry::{NewManifest, TagWrite};
use wharf_oci::Digest;

/// The verifier: `$WHARF_COSIGN_VERIFY`, else the build in `tools/cosign-verify`.
fn verifier() -> PathBuf {
    let path = std::env::var_os("WHARF_COSIGN_VERIFY").map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/cosign-verify/target/debug/cosign-verify")
    });
    assert!(
        path.is_file(),
        "{} is missing: build it with `cargo build --manifest-path tools/cosign-verify/Cargo.toml` (`.ci/run` does)",
        path.display()
    );
    path
}

/// Verifies `image` with `key` as `user`.
fn verify(key: &Path, user: &str, image: &str) -> Output {
    Command::new(verifier())
        .arg("--key")
        .arg(key)
        .args(["--user", user, "--password", PASSWORD, "--http", image])
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_marketplace_signature_verifies_with_its_key_and_not_once_tampered() {
    let (app, application, dir) = setup(Some(PERMISSIVE)).await;
    let r = app.as_user(Method::PUT, "admin", "/api/v1/orgs/contoso/approval").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v1 = submit(&app).await;
    run_pipeline(&app, &application).await;
    let (_, view) = offer(&app).await;
    assert_eq!(view["state"], "preview", "{view}");

    let key = dir.path().join("marketplace.pub");
    let r = app.http.get(format!("{}/api/v1/marketplace/signing-key", app.url)).send().await.unwrap();
    std::fs::write(&key, r.text().await.unwrap()).unwrap();

    let (_, images) =
        json(app.as_user(Method::GET, "dev", &format!("{BASE}/db/versions/{v1}/images")).send().await.unwrap()).await;
    let free = images.as_array().unwrap().iter().find(|i| i["plan"] == "free").unwrap();
    let by_tag = free["reference"].as_str().unwrap();
    let by_digest = free["pinned_reference"].as_str().unwrap();

    // The preview audience verifies it, by tag and by digest: the payload names the
    // image as pulled and the digest frozen at Submit.
    for image in [by_tag, by_digest] {
        let out = verify(&key, "cust", image);
        assert!(out.status.success(), "{image}: {}", text(&out));
        let claim: Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
        assert_eq!(claim["critical"]["image"]["docker-manifest-digest"], free["digest"], "{claim}");
        assert_eq!(claim["critical"]["identity"]["docker-reference"], by_tag, "{claim}");
        assert_eq!(claim["critical"]["type"], "cosign container image signature");
    }

    // Under another key, the same image is refused.
    let other = dir.path().join("other.pem");
    let made = Command::new("openssl")
        .args(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out"])
        .arg(&other)
        .status()
        .unwrap();
    assert!(made.success());
    let other_pub = dir.path().join("other.pub");
    let made =
        Command::new("openssl").args(["pkey", "-pubout", "-in"]).arg(&other).arg("-out").arg(&other_pub).status();
    assert!(made.unwrap().success());
    let out = verify(&other_pub, "cust", by_tag);
    assert!(!out.status.success(), "verified under another key: {}", text(&out));

    // Someone with write access to the storage swaps the manifest behind the tag for
    // another image: no marketplace signature covers it.
    let moved = push_image(&app, "contoso/example-db", "1.0.0", "tampered").await;
    let db = &app.state.db;
    let source = db.repository(&"contoso/example-db".parse().unwrap()).await.unwrap().unwrap();
    let target = db.repository(&free["repository"].as_str().unwrap().parse().unwrap()).await.unwrap().unwrap();
    let row = db.manifest(source.id, &moved).await.unwrap().unwrap();
    let (blobs, children) = db.manifest_references(source.id, &moved).await.unwrap();
    for (blob, size) in &blobs {
        db.link_blob(target.id, blob, *size).await.unwrap();
    }
    let content = db.manifest_content(&moved).await.unwrap().unwrap();
    let blob_digests: Vec<Digest> = blobs.into_iter().map(|(d, _)| d).collect();
    let swapped = NewManifest { row: &row, blobs: &blob_digests, manifests: &children, content: &content };
    db.put_manifest(target.id, swapped, Some(TagWrite { name: "1.0.0", immutable: false })).await.unwrap();
    let out = verify(&key, "cust", by_tag);
    assert!(!out.status.success(), "a swapped manifest verified: {}", text(&out));
    // The signed manifest, by digest, still verifies.
    let out = verify(&key, "cust", by_digest);
    assert!(out.status.success(), "{}", text(&out));
}
