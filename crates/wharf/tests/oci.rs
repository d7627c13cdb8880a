//! The OCI Distribution Specification v1.1 at the `/v2/` boundary: statuses, headers,
//! error codes, and every bad input answered without changing what is stored.

mod common;

use std::time::Duration;

use common::reg::{OCI_INDEX, OCI_MANIFEST, Reg, code, manifest_json};
use common::{TestApp, json};
use reqwest::Method;
use wharf_core::{OrgKind, Role};
use wharf_oci::{Algorithm, Digest};

async fn setup() -> TestApp {
    setup_with(|_| {}).await
}

/// With configuration changes, e.g. `registry.cache_ttl = 0s` for tests that change
/// the database behind the registry's back, as another node or process would.
async fn setup_with(adjust: impl FnOnce(&mut wharf::config::Config)) -> TestApp {
    let app = TestApp::with_config(adjust).await;
    for u in ["dev", "viewer", "outsider"] {
        app.user(u).await;
    }
    app.org("acme", OrgKind::Publisher, "dev").await;
    app.org("globex", OrgKind::Publisher, "outsider").await;
    app.member("acme", "viewer", Role::Viewer).await;
    app
}

#[tokio::test]
async fn blobs_push_monolithic_and_pull_with_ranges() {
    let app = setup().await;
    let reg = Reg::new(&app, "dev", "acme/app").await;
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let d = Digest::of(Algorithm::Sha256, &data);
    let r = reg.req(Method::POST, &format!("/blobs/uploads/?digest={d}")).body(data.clone()).send().await.unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["location"], format!("/v2/acme/app/blobs/{d}"));
    assert_eq!(r.headers()["docker-content-digest"], d.as_str());
    assert_eq!(r.headers()["docker-distribution-api-version"], "registry/2.0");

    let r = reg.req(Method::HEAD, &format!("/blobs/{d}")).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["content-length"].to_str().unwrap()), (200, "100000"));
    assert_eq!(r.headers()["docker-content-digest"], d.as_str());
    let r = reg.req(Method::GET, &format!("/blobs/{d}")).send().await.unwrap();
    assert_eq!(r.bytes().await.unwrap(), data);
    let r = reg.req(Method::GET, &format!("/blobs/{d}")).header("range", "bytes=10-19").send().await.unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.headers()["content-range"], "bytes 10-19/100000");
    assert_eq!(r.bytes().await.unwrap(), data[10..20]);
    let r = reg.req(Method::GET, &format!("/blobs/{d}")).header("range", "bytes=-5").send().await.unwrap();
    assert_eq!(r.bytes().await.unwrap(), data[99_995..]);
    let r = reg.req(Method::GET, &format!("/blobs/{d}")).header("range", "bytes=200000-").send().await.unwrap();
    assert_eq!(r.status(), 416);
    assert_eq!(r.headers()["content-range"], "bytes */100000");

    // POST then PUT with the body.
    let r = reg.req(Method::POST, "/blobs/uploads/").send().await.unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(r.headers()["range"], "0-0");
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    let d2 = Digest::of(Algorithm::Sha256, b"put body");
    let r = reg.req(Method::PUT, &format!("{loc}?digest={d2}")).body("put body").send().await.unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(reg.req(Method::GET, &format!("/blobs/{d2}")).send().await.unwrap().text().await.unwrap(), "put body");

    // Unknown blob, unknown repository.
    let missing = Digest::of(Algorithm::Sha256, b"never");
    assert_eq!(
        code(reg.req(Method::GET, &format!("/blobs/{missing}")).send().await.unwrap()).await,
        (404, "BLOB_UNKNOWN".into())
    );
    let other = Reg::new(&app, "dev", "acme/none").await;
    assert_eq!(
        code(other.req(Method::GET, &format!("/blobs/{d}")).send().await.unwrap()).await,
        (404, "NAME_UNKNOWN".into())
    );
}

#[tokio::test]
async fn chunked_uploads_resume_and_refuse_out_of_order_chunks() {
    let app = setup().await;
    let reg = Reg::new(&app, "dev", "acme/app").await;
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let r = reg.req(Method::POST, "/blobs/uploads/").send().await.unwrap();
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    let uuid = r.headers()["docker-upload-uuid"].to_str().unwrap().to_owned();
    assert!(loc.ends_with(&uuid));

    let patch = |start: usize, end: usize| {
        reg.req(Method::PATCH, &loc)
            .header("content-range", format!("{start}-{}", end - 1))
            .header("content-type", "application/octet-stream")
            .body(data[start..end].to_vec())
            .send()
    };
    let r = patch(0, 100_000).await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["range"].to_str().unwrap()), (202, "0-99999"));
    // Out of order: 416 with where the upload really is.
    let r = patch(200_000, 300_000).await.unwrap();
    assert_eq!(r.status(), 416);
    assert_eq!(r.headers()["range"], "0-99999");
    let (_, body) = json(r).await;
    assert_eq!(body["errors"][0]["code"], "RANGE_INVALID");
    // Content-Length disagreeing with Content-Range: refused before anything is stored.
    let r =
        reg.req(Method::PATCH, &loc).header("content-range", "100000-100009").body(vec![0u8; 5]).send().await.unwrap();
    assert_eq!(code(r).await, (400, "SIZE_INVALID".into()));
    // Resumable: GET reports progress.
    let r = reg.req(Method::GET, &loc).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["range"].to_str().unwrap()), (204, "0-99999"));
    assert_eq!(r.headers()["docker-upload-uuid"], uuid.as_str());
    // A chunk without Content-Range (streamed) is appended too.
    let r = reg.req(Method::PATCH, &loc).body(data[100_000..200_000].to_vec()).send().await.unwrap();
    assert_eq!(r.headers()["range"], "0-199999");
    let d = Digest::of(Algorithm::Sha256, &data);
    let r = reg.req(Method::PUT, &format!("{loc}?digest={d}")).body(data[200_000..].to_vec()).send().await.unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(reg.req(Method::GET, &format!("/blobs/{d}")).send().await.unwrap().bytes().await.unwrap(), data);
    // The session is gone once finished.
    assert_eq!(code(reg.req(Method::GET, &loc).send().await.unwrap()).await, (404, "BLOB_UPLOAD_UNKNOWN".into()));
}

#[tokio::test]
async fn sessions_are_bound_to_their_repository_and_user_and_can_be_cancelled() {
    let app = setup().await;
    app.member("acme", "outsider", Role::Developer).await;
    let dev = Reg::new(&app, "dev", "acme/app").await;
    let r = dev.req(Method::POST, "/blobs/uploads/").send().await.unwrap();
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    let id = loc.rsplit('/').next().unwrap().to_owned();
    // Another user of the same organization cannot touch it.
    let other_user = Reg::new(&app, "outsider", "acme/app").await;
    assert_eq!(
        code(other_user.req(Method::PATCH, &loc).body("x").send().await.unwrap()).await,
        (404, "BLOB_UPLOAD_UNKNOWN".into())
    );
    // Nor can the same user through another repository.
    let other_repo = Reg::new(&app, "dev", "acme/other").await;
    other_repo.push_blob(b"create repo").await;
    let r = other_repo.req(Method::GET, &format!("/blobs/uploads/{id}")).send().await.unwrap();
    assert_eq!(code(r).await, (404, "BLOB_UPLOAD_UNKNOWN".into()));
    for bogus in ["not-a-uuid", "00000000-0000-0000-0000-000000000000"] {
        assert_eq!(
            code(dev.req(Method::GET, &format!("/blobs/uploads/{bogus}")).send().await.unwrap()).await,
            (404, "BLOB_UPLOAD_UNKNOWN".into())
        );
    }
    // Cancel.
    assert_eq!(dev.req(Method::DELETE, &loc).send().await.unwrap().status(), 204);
    assert_eq!(code(dev.req(Method::GET, &loc).send().await.unwrap()).await, (404, "BLOB_UPLOAD_UNKNOWN".into()));
}

#[tokio::test]
async fn digests_are_checked_and_malformed_ones_refused() {
    let app = setup().await;
    let reg = Reg::new(&app, "dev", "acme/app").await;
    let claimed = Digest::of(Algorithm::Sha256, b"what I said");
    let r =
        reg.req(Method::POST, &format!("/blobs/uploads/?digest={claimed}")).body("what I sent").send().await.unwrap();
    assert_eq!(code(r).await, (400, "DIGEST_INVALID".into()));
    for d in [&claimed, &Digest::of(Algorithm::Sha256, b"what I sent")] {
        assert_eq!(reg.req(Method::HEAD, &format!("/blobs/{d}")).send().await.unwrap().status(), 404, "nothing stored");
    }
    // Chunked, wrong digest at the end.
    let r = reg.req(Method::POST, "/blobs/uploads/").send().await.unwrap();
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    reg.req(Method::PATCH, &loc).body("abc").send().await.unwrap();
    assert_eq!(
        code(reg.req(Method::PUT, &format!("{loc}?digest={claimed}")).send().await.unwrap()).await,
        (400, "DIGEST_INVALID".into())
    );
    assert_eq!(code(reg.req(Method::PUT, &loc).send().await.unwrap()).await.0, 404, "a mismatch ends the session");

    let hex = "a".repeat(64);
    // As a query parameter and as a path segment (`/` percent-encoded in the path, so
    // the client sends it as one segment).
    for (query, segment) in [
        (format!("sha256:{}", hex.to_uppercase()), format!("sha256:{}", hex.to_uppercase())),
        ("sha256:abc".to_owned(), "sha256:abc".to_owned()),
        (format!("md5:{}", &hex[..32]), format!("md5:{}", &hex[..32])),
        ("sha256:../x".to_owned(), "sha256:..%2Fx".to_owned()),
        ("sha256:../../etc/passwd".to_owned(), "sha256:..%2F..%2Fetc%2Fpasswd".to_owned()),
    ] {
        let encoded: String = url::form_urlencoded::byte_serialize(query.as_bytes()).collect();
        let r = reg.req(Method::POST, &format!("/blobs/uploads/?digest={encoded}")).body("x").send().await.unwrap();
        assert_eq!(code(r).await, (400, "DIGEST_INVALID".into()), "{query}");
        let r = reg.req(Method::GET, &format!("/blobs/{segment}")).send().await.unwrap();
        assert_eq!(code(r).await, (400, "DIGEST_INVALID".into()), "{segment}");
    }
    // SHA-512 digests work.
    let d512 = Digest::of(Algorithm::Sha512, b"long hash");
    let r = reg.req(Method::POST, &format!("/blobs/uploads/?digest={d512}")).body("long hash").send().await.unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(
        reg.req(Method::GET, &format!("/blobs/{d512}")).send().await.unwrap().text().await.unwrap(),
        "long hash"
    );
}

#[tokio::test]
async fn mounts_with_and_without_from() {
    let app = setup().await;
    let a = Reg::new(&app, "dev", "acme/a").await;
    let d = a.push_blob(b"shared layer").await;
    // A token for acme/b alone cannot read acme/a: the mount falls back to an upload.
    let b = Reg::new(&app, "dev", "acme/b").await;
    let r = b.req(Method::POST, &format!("/blobs/uploads/?mount={d}&from=acme/a")).send().await.unwrap();
    assert_eq!(r.status(), 202);
    // With pull on the source, as clients ask for it, the blob is mounted.
    let b = Reg::with_scopes(&app, "dev", "acme/b", &["repository:acme/a:pull"]).await;
    let r = b.req(Method::POST, &format!("/blobs/uploads/?mount={d}&from=acme/a")).send().await.unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["location"], format!("/v2/acme/b/blobs/{d}"));
    let c = Reg::new(&app, "dev", "acme/c").await;
    assert_eq!(
        c.req(Method::POST, &format!("/blobs/uploads/?mount={d}")).send().await.unwrap().status(),
        201,
        "same organization"
    );
    assert_eq!(c.req(Method::HEAD, &format!("/blobs/{d}")).send().await.unwrap().status(), 200);
    // From a repository the caller cannot read: falls back to an upload session.
    let foreign = Reg::new(&app, "outsider", "globex/secret").await;
    let secret = foreign.push_blob(b"globex secret layer").await;
    let a = Reg::with_scopes(&app, "dev", "acme/a", &["repository:globex/secret:pull"]).await;
    let r = a.req(Method::POST, &format!("/blobs/uploads/?mount={secret}&from=globex/secret")).send().await.unwrap();
    assert_eq!(r.status(), 202, "not mounted");
    assert_eq!(a.req(Method::HEAD, &format!("/blobs/{secret}")).send().await.unwrap().status(), 404);
    let r = a.req(Method::POST, &format!("/blobs/uploads/?mount={secret}")).send().await.unwrap();
    assert_eq!(r.status(), 202, "no mount across organizations without from");
}

#[tokio::test]
async fn manifests_are_validated_and_served_byte_for_byte() {
    let app = setup().await;
    let reg = Reg::new(&app, "dev", "acme/app").await;
    let (body, digest) = reg.image("one").await;
    let r = reg.put_manifest("v1", OCI_MANIFEST, &body).await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["location"], format!("/v2/acme/app/manifests/{digest}"));
    assert_eq!(r.headers()["docker-content-digest"], digest.as_str());
    for reference in ["v1".to_owned(), digest.to_string()] {
        let r = reg
            .req(Method::GET, &format!("/manifests/{reference}"))
            .header("accept", OCI_MANIFEST)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], OCI_MANIFEST);
        assert_eq!(r.headers()["docker-content-digest"], digest.as_str());
        assert_eq!(r.text().await.unwrap(), body);
        let r = reg.req(Method::HEAD, &format!("/manifests/{reference}")).send().await.unwrap();
        assert_eq!(
            (r.status().as_u16(), r.headers()["content-length"].to_str().unwrap()),
            (200, body.len().to_string().as_str())
        );
    }
    assert_eq!(
        code(reg.req(Method::GET, "/manifests/v2").send().await.unwrap()).await,
        (404, "MANIFEST_UNKNOWN".into())
    );

    // A manifest referencing a missing blob: refused, nothing stored.
    let missing = Digest::of(Algorithm::Sha256, b"missing layer");
    let config = reg.push_blob(b"{}").await;
    let bad = manifest_json(&config, &[&missing], None);
    assert_eq!(code(reg.put_manifest("broken", OCI_MANIFEST, &bad).await).await, (400, "MANIFEST_BLOB_UNKNOWN".into()));
    assert_eq!(reg.req(Method::GET, "/manifests/broken").send().await.unwrap().status(), 404);
    let bad_digest = Digest::of(Algorithm::Sha256, bad.as_bytes());
    assert_eq!(reg.req(Method::GET, &format!("/manifests/{bad_digest}")).send().await.unwrap().status(), 404);
    // Media type disagreeing with Content-Type.
    let r = reg.put_manifest("v2", "application/vnd.docker.distribution.manifest.v2+json", &body).await;
    assert_eq!(code(r).await, (400, "MANIFEST_INVALID".into()));
    // Docker schema 1.
    let r = reg
        .put_manifest(
            "old",
            "application/vnd.docker.distribution.manifest.v1+prettyjws",
            r#"{"schemaVersion":1,"fsLayers":[]}"#,
        )
        .await;
    assert_eq!(code(r).await, (415, "UNSUPPORTED".into()));
    // Over the limit (4 MiB by default).
    let big = format!(r#"{{"schemaVersion":2,"annotations":{{"x":"{}"}}}}"#, "y".repeat(4 * 1024 * 1024));
    assert_eq!(code(reg.put_manifest("big", OCI_MANIFEST, &big).await).await, (413, "MANIFEST_INVALID".into()));
    // The same without Content-Length (chunked): the bounded read stops at the limit.
    let chunks: Vec<Result<String, std::io::Error>> =
        big.as_bytes().chunks(64 * 1024).map(|c| Ok(String::from_utf8_lossy(c).into_owned())).collect();
    let r = reg
        .req(Method::PUT, "/manifests/big")
        .header("content-type", OCI_MANIFEST)
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(code(r).await, (413, "MANIFEST_INVALID".into()));
    // By digest: the digest must be the body's.
    let r = reg.put_manifest(missing.as_str(), OCI_MANIFEST, &body).await;
    assert_eq!(code(r).await, (400, "DIGEST_INVALID".into()));
    assert_eq!(reg.put_manifest(digest.as_str(), OCI_MANIFEST, &body).await.status(), 201);
    // Invalid tags.
    assert_eq!(code(reg.put_manifest(".hidden", OCI_MANIFEST, &body).await).await, (400, "MANIFEST_INVALID".into()));
}

#[tokio::test]
async fn indexes_docker_types_and_subjects() {
    let app = setup().await;
    let reg = Reg::new(&app, "dev", "acme/app").await;
    let (amd64, amd64_digest) = reg.image("amd64").await;
    let (arm64, arm64_digest) = reg.image("arm64").await;
    reg.put_manifest(amd64_digest.as_str(), OCI_MANIFEST, &amd64).await;
    let index = |children: &[&Digest]| {
        let entries: Vec<String> = children
            .iter()
            .map(|d| format!(r#"{{"mediaType":"{OCI_MANIFEST}","digest":"{d}","size":1,"platform":{{"os":"linux","architecture":"x"}}}}"#))
            .collect();
        format!(r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{}]}}"#, entries.join(","))
    };
    // A child that was not pushed yet.
    let r = reg.put_manifest("multi", OCI_INDEX, &index(&[&amd64_digest, &arm64_digest])).await;
    assert_eq!(code(r).await, (400, "MANIFEST_BLOB_UNKNOWN".into()));
    reg.put_manifest(arm64_digest.as_str(), OCI_MANIFEST, &arm64).await;
    assert_eq!(reg.put_manifest("multi", OCI_INDEX, &index(&[&amd64_digest, &arm64_digest])).await.status(), 201);
    let r = reg.req(Method::GET, "/manifests/multi").send().await.unwrap();
    assert_eq!(r.headers()["content-type"], OCI_INDEX);

    // Docker schema 2 and manifest list.
    let docker = amd64.replace(OCI_MANIFEST, "application/vnd.docker.distribution.manifest.v2+json");
    let r = reg.put_manifest("docker", "application/vnd.docker.distribution.manifest.v2+json", &docker).await;
    assert_eq!(r.status(), 201);
    let list = index(&[&amd64_digest]).replace(OCI_INDEX, "application/vnd.docker.distribution.manifest.list.v2+json");
    let r = reg.put_manifest("list", "application/vnd.docker.distribution.manifest.list.v2+json", &list).await;
    assert_eq!(r.status(), 201);

    // A subject that does not exist is accepted; OCI-Subject says the registry knows referrers.
    let absent = Digest::of(Algorithm::Sha256, b"not pushed yet");
    let config = reg.push_blob(b"{\"sig\":1}").await;
    let sig = manifest_json(&config, &[], Some(&absent)).replace(
        r#""config":{"mediaType":"application/vnd.oci.image.config.v1+json""#,
        r#""artifactType":"application/vnd.example.sig","config":{"mediaType":"application/vnd.oci.image.config.v1+json""#,
    );
    let r = reg.put_manifest(Digest::of(Algorithm::Sha256, sig.as_bytes()).as_str(), OCI_MANIFEST, &sig).await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["oci-subject"], absent.as_str());
    let sbom = manifest_json(&config, &[], Some(&absent));
    reg.put_manifest(Digest::of(Algorithm::Sha256, sbom.as_bytes()).as_str(), OCI_MANIFEST, &sbom).await;

    let r = reg.req(Method::GET, &format!("/referrers/{absent}")).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], OCI_INDEX);
    let (_, idx) = json(r).await;
    assert_eq!(idx["manifests"].as_array().unwrap().len(), 2);
    let r = reg
        .req(Method::GET, &format!("/referrers/{absent}?artifactType=application/vnd.example.sig"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["oci-filters-applied"], "artifactType");
    let (_, idx) = json(r).await;
    assert_eq!(idx["manifests"].as_array().unwrap().len(), 1);
    assert_eq!(idx["manifests"][0]["artifactType"], "application/vnd.example.sig");
    // Unknown subject: an empty index, never 404; malformed digest: 400.
    let (status, idx) = json(reg.req(Method::GET, &format!("/referrers/{amd64_digest}")).send().await.unwrap()).await;
    assert_eq!((status, idx["manifests"].as_array().unwrap().len()), (200, 0));
    assert_eq!(
        code(reg.req(Method::GET, "/referrers/sha256:nope").send().await.unwrap()).await,
        (400, "DIGEST_INVALID".into())
    );
    // The tag-schema fallback for clients without the referrers API.
    let fallback = format!("sha256-{}", absent.hex());
    let (status, idx) = json(reg.req(Method::GET, &format!("/manifests/{fallback}")).send().await.unwrap()).await;
    assert_eq!((status, idx["manifests"].as_array().unwrap().len()), (200, 2));
}

#[tokio::test]
async fn tags_list_paginates_with_bounded_n() {
    let app = setup().await;
    let reg = Reg::new(&app, "dev", "acme/app").await;
    let (body, _) = reg.image("tags").await;
    for t in ["a", "b", "c", "d", "e"] {
        assert_eq!(reg.put_manifest(t, OCI_MANIFEST, &body).await.status(), 201);
    }
    let r = reg.req(Method::GET, "/tags/list?n=2").send().await.unwrap();
    assert_eq!(r.headers()["link"], "</v2/acme/app/tags/list?n=2&last=b>; rel=\"next\"");
    let (_, page) = json(r).await;
    assert_eq!(page, serde_json::json!({"name": "acme/app", "tags": ["a", "b"]}));
    let (_, page) = json(reg.req(Method::GET, "/tags/list?n=2&last=d").send().await.unwrap()).await;
    assert_eq!(page["tags"], serde_json::json!(["e"]));
    let r = reg.req(Method::GET, "/tags/list?n=0").send().await.unwrap();
    assert!(r.headers().get("link").is_none());
    assert_eq!(json(r).await.1["tags"], serde_json::json!([]));
    let (status, page) = json(reg.req(Method::GET, "/tags/list?n=999999999999").send().await.unwrap()).await;
    assert_eq!((status, page["tags"].as_array().unwrap().len()), (200, 5), "clamped, not an allocation");
    for bad in ["-1", "abc", "1e3"] {
        let r = reg.req(Method::GET, &format!("/tags/list?n={bad}")).send().await.unwrap();
        assert_eq!(code(r).await, (400, "PAGINATION_NUMBER_INVALID".into()), "{bad}");
    }
}

#[tokio::test]
async fn catalog_is_for_operators_and_paginates() {
    let app = setup().await;
    for repo in ["acme/a", "acme/b", "acme/c"] {
        Reg::new(&app, "dev", repo).await.push_blob(repo.as_bytes()).await;
    }
    let admin = Reg::new(&app, "admin", "acme/a").await;
    let r = admin.req(Method::GET, "/v2/_catalog?n=2").send().await.unwrap();
    assert_eq!(r.headers()["link"], "</v2/_catalog?n=2&last=acme%2Fb>; rel=\"next\"");
    assert_eq!(json(r).await.1, serde_json::json!({"repositories": ["acme/a", "acme/b"]}));
    let (_, page) = json(admin.req(Method::GET, "/v2/_catalog?last=acme/b").send().await.unwrap()).await;
    assert_eq!(page["repositories"], serde_json::json!(["acme/c"]));
    let dev = Reg::new(&app, "dev", "acme/a").await;
    let r = dev.req(Method::GET, "/v2/_catalog").send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"].to_str().unwrap().contains("scope=\"registry:catalog:*\""));
    assert_eq!(code(admin.req(Method::GET, "/v2/_catalog?n=-4").send().await.unwrap()).await.0, 400);
}

#[tokio::test]
async fn deletes_of_tags_manifests_and_blobs() {
    let app = setup().await;
    let reg = Reg::new(&app, "dev", "acme/app").await;
    let (body, digest) = reg.image("del").await;
    reg.put_manifest("v1", OCI_MANIFEST, &body).await;
    reg.put_manifest("v2", OCI_MANIFEST, &body).await;
    let layer = Digest::of(Algorithm::Sha256, b"layer of del");
    // A blob still referenced by a manifest stays.
    assert_eq!(
        code(reg.req(Method::DELETE, &format!("/blobs/{layer}")).send().await.unwrap()).await,
        (405, "DENIED".into())
    );
    assert_eq!(reg.req(Method::DELETE, "/manifests/v1").send().await.unwrap().status(), 202);
    assert_eq!(reg.req(Method::GET, "/manifests/v1").send().await.unwrap().status(), 404);
    assert_eq!(reg.req(Method::GET, "/manifests/v2").send().await.unwrap().status(), 200, "other tags stay");
    assert_eq!(reg.req(Method::DELETE, &format!("/manifests/{digest}")).send().await.unwrap().status(), 202);
    assert_eq!(reg.req(Method::GET, "/manifests/v2").send().await.unwrap().status(), 404, "its tags went with it");
    assert_eq!(
        code(reg.req(Method::DELETE, &format!("/manifests/{digest}")).send().await.unwrap()).await,
        (404, "MANIFEST_UNKNOWN".into())
    );
    assert_eq!(reg.req(Method::DELETE, &format!("/blobs/{layer}")).send().await.unwrap().status(), 202);
    assert_eq!(reg.req(Method::GET, &format!("/blobs/{layer}")).send().await.unwrap().status(), 404);
    // Viewers may not delete.
    let viewer = Reg::new(&app, "viewer", "acme/app").await;
    let config = Digest::of(Algorithm::Sha256, b"{\"seed\":\"del\"}");
    let r = viewer.req(Method::DELETE, &format!("/blobs/{config}")).send().await.unwrap();
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.contains("scope=\"repository:acme/app:delete\",error=\"insufficient_scope\""), "{challenge}");
    assert_eq!(code(r).await, (401, "UNAUTHORIZED".into()));
    // Renewing the token does not help: the role does not allow deleting.
    let renewed = Reg::with_scopes(&app, "viewer", "acme/app", &["repository:acme/app:delete"]).await;
    let r = renewed.req(Method::DELETE, &format!("/blobs/{config}")).send().await.unwrap();
    assert_eq!(code(r).await, (401, "UNAUTHORIZED".into()));
    assert_eq!(reg.req(Method::HEAD, &format!("/blobs/{config}")).send().await.unwrap().status(), 200, "kept");
}

/// Sends a request line exactly as given (HTTP clients normalise `..` away, hostile
/// clients do not) and returns the status and the OCI error code.
async fn raw_get(app: &TestApp, auth: &str, path: &str) -> (u16, String) {
    // Blocking I/O off the test's single runtime thread, which serves the app.
    let (addr, auth, path) = (app.url.trim_start_matches("http://").to_owned(), auth.to_owned(), path.to_owned());
    tokio::task::spawn_blocking(move || raw_get_blocking(&addr, &auth, &path)).await.unwrap()
}

fn raw_get_blocking(addr: &str, auth: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = out.split("\r\n\r\n").nth(1).unwrap_or_default();
    let body = body.trim().lines().find(|l| l.starts_with('{')).unwrap_or(body);
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    (status, v["errors"][0]["code"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn invalid_repository_names() {
    let app = setup().await;
    let reg = Reg::new(&app, "dev", "acme/app").await;
    let long = format!("acme/{}", "a".repeat(260));
    for name in [
        "acme//app",
        "acme/../app",
        "acme/./app",
        "acme/%2E%2E/app",
        "Acme/App",
        long.as_str(),
        "acme/app_",
        "-acme/app",
    ] {
        let got = raw_get(&app, &reg.auth, &format!("/v2/{name}/tags/list")).await;
        assert_eq!(got, (400, "NAME_INVALID".into()), "{name:.40}");
    }
}

#[tokio::test]
async fn access_follows_roles_and_hides_private_repositories() {
    let app = setup_with(|c| c.registry.cache_ttl = wharf::config::HumanDuration(Duration::ZERO)).await;
    let dev = Reg::new(&app, "dev", "acme/app").await;
    let d = dev.push_blob(b"private").await;
    // Anonymous and outsiders get the same challenge for an existing and a missing repository.
    for (who, reg) in
        [("anonymous", Reg::anonymous(&app, "acme/app")), ("outsider", Reg::new(&app, "outsider", "acme/app").await)]
    {
        let existing = reg.req(Method::GET, &format!("/blobs/{d}")).send().await.unwrap();
        let missing = reg.req(Method::GET, &format!("/v2/acme/missing/blobs/{d}")).send().await.unwrap();
        assert_eq!((existing.status().as_u16(), missing.status().as_u16()), (401, 401), "{who}");
        let (a, b) = (
            existing.headers()["www-authenticate"].to_str().unwrap().to_owned(),
            missing.headers()["www-authenticate"].to_str().unwrap().to_owned(),
        );
        assert_eq!(a.replace("acme/app", "X"), b.replace("acme/missing", "X"), "{who}");
        assert!(a.contains("scope=\"repository:acme/app:pull\""), "{a}");
    }
    // Viewers pull but may not push: 403, with the challenge for the scope needed so a
    // client whose token merely lacked it can renew it (the token service will still
    // not grant push to a viewer).
    let viewer = Reg::new(&app, "viewer", "acme/app").await;
    assert_eq!(viewer.req(Method::GET, &format!("/blobs/{d}")).send().await.unwrap().status(), 200);
    let r = viewer.req(Method::POST, "/blobs/uploads/").send().await.unwrap();
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(
        challenge.contains("scope=\"repository:acme/app:pull,push\"")
            && challenge.ends_with("error=\"insufficient_scope\""),
        "{challenge}"
    );
    // A token lacking the action: 401 with the challenge, as Distribution answers, so
    // that clients renew the token (they do only on 401); the renewed token still
    // carries what the role allows.
    assert_eq!(code(r).await, (401, "UNAUTHORIZED".into()));
    // With Basic credentials there is no token to renew: a plain 403.
    let r = app
        .http
        .post(format!("{}/v2/acme/app/blobs/uploads/", app.url))
        .basic_auth("viewer", Some(common::PASSWORD))
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("www-authenticate").is_none());
    assert_eq!(code(r).await, (403, "DENIED".into()));
    // Anonymous pull once the repository allows it, still no anonymous push.
    let repo = app.db.repository(&"acme/app".parse().unwrap()).await.unwrap().unwrap();
    app.db.set_repository_flags(repo.id, true, false).await.unwrap();
    let anon = Reg::anonymous(&app, "acme/app");
    assert_eq!(anon.req(Method::GET, &format!("/blobs/{d}")).send().await.unwrap().status(), 200);
    let r = anon.req(Method::POST, "/blobs/uploads/").send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"].to_str().unwrap().contains("scope=\"repository:acme/app:pull,push\""));
    // Basic credentials work directly too.
    let r = app
        .http
        .get(format!("{}/v2/acme/app/blobs/{d}", app.url))
        .basic_auth("dev", Some(common::PASSWORD))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn immutable_tags_and_quotas() {
    let app = setup_with(|c| c.registry.cache_ttl = wharf::config::HumanDuration(Duration::ZERO)).await;
    let reg = Reg::new(&app, "dev", "acme/app").await;
    let (one, one_digest) = reg.image("imm-1").await;
    let (two, _) = reg.image("imm-2").await;
    reg.put_manifest("v1", OCI_MANIFEST, &one).await;
    let repo = app.db.repository(&"acme/app".parse().unwrap()).await.unwrap().unwrap();
    app.db.set_repository_flags(repo.id, false, true).await.unwrap();
    let r = reg.put_manifest("v1", OCI_MANIFEST, &two).await;
    let (status, body) = json(r).await;
    assert_eq!((status, body["errors"][0]["code"].as_str()), (409, Some("DENIED")), "{body}");
    assert!(body["errors"][0]["detail"].as_str().unwrap().contains("immutable"));
    let (_, still) = json(reg.req(Method::HEAD, "/manifests/v1").send().await.unwrap()).await;
    assert_eq!(still, serde_json::Value::String(String::new()));
    assert_eq!(
        reg.req(Method::HEAD, "/manifests/v1").send().await.unwrap().headers()["docker-content-digest"],
        one_digest.as_str()
    );
    assert_eq!(reg.put_manifest("v1", OCI_MANIFEST, &one).await.status(), 201, "same digest is fine");
    assert_eq!(code(reg.req(Method::DELETE, "/manifests/v1").send().await.unwrap()).await.0, 409);

    // Quota: the organization may store 1 KiB more than it does now.
    let org = app.db.org_by_name(&"acme".parse().unwrap()).await.unwrap().unwrap();
    let used = app.db.org_storage_bytes(org.id).await.unwrap();
    app.db.set_org_quota(org.id, Some(used + 1024)).await.unwrap();
    let big = vec![7u8; 4096];
    let d = Digest::of(Algorithm::Sha256, &big);
    let r = reg.req(Method::POST, &format!("/blobs/uploads/?digest={d}")).body(big.clone()).send().await.unwrap();
    let (status, body) = json(r).await;
    assert_eq!((status, body["errors"][0]["code"].as_str()), (403, Some("DENIED")));
    assert!(
        body["errors"][0]["detail"].as_str().unwrap().starts_with("storage quota of organization acme exceeded"),
        "{body}"
    );
    assert_eq!(reg.req(Method::HEAD, &format!("/blobs/{d}")).send().await.unwrap().status(), 404);
    // Chunked, without a declared size: refused at the end.
    let r = reg.req(Method::POST, "/blobs/uploads/").send().await.unwrap();
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    reg.req(Method::PATCH, &loc).body(big).send().await.unwrap();
    assert_eq!(
        code(reg.req(Method::PUT, &format!("{loc}?digest={d}")).send().await.unwrap()).await,
        (403, "DENIED".into())
    );
    // Small ones still fit.
    reg.push_blob(b"small").await;
}

/// Many clients pushing the same blob and the same tag at once.
#[tokio::test]
async fn concurrent_pushes_of_one_blob_and_one_tag() {
    let app = setup().await;
    let reg = Reg::new(&app, "dev", "acme/app").await;
    let data = vec![3u8; 2 * 1024 * 1024];
    let d = Digest::of(Algorithm::Sha256, &data);
    let pushes =
        (0..6).map(|_| reg.req(Method::POST, &format!("/blobs/uploads/?digest={d}")).body(data.clone()).send());
    for r in futures::future::join_all(pushes).await {
        assert_eq!(r.unwrap().status(), 201);
    }
    assert_eq!(reg.req(Method::GET, &format!("/blobs/{d}")).send().await.unwrap().bytes().await.unwrap(), data);

    let mut bodies = Vec::new();
    for i in 0..4 {
        bodies.push(reg.image(&format!("race-{i}")).await);
    }
    let puts = bodies.iter().map(|(body, _)| reg.put_manifest("latest", OCI_MANIFEST, body));
    for r in futures::future::join_all(puts).await {
        assert_eq!(r.status(), 201);
    }
    let r = reg.req(Method::HEAD, "/manifests/latest").send().await.unwrap();
    let winner = r.headers()["docker-content-digest"].to_str().unwrap().to_owned();
    assert!(bodies.iter().any(|(_, d)| d.as_str() == winner));
}

/// A client that disconnects mid-chunk: nothing half-visible, and the session resumes
/// from the bytes that arrived.
#[tokio::test]
async fn disconnect_mid_upload_keeps_the_session_resumable() {
    use std::io::Write;
    let app = setup().await;
    let reg = Reg::new(&app, "dev", "acme/app").await;
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 199) as u8).collect();
    let d = Digest::of(Algorithm::Sha256, &data);
    let r = reg.req(Method::POST, "/blobs/uploads/").send().await.unwrap();
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    let addr = app.url.trim_start_matches("http://").to_owned();
    let (auth, path, data2) = (reg.auth.clone(), loc.clone(), data.clone());
    let sent = 120_000;
    tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        write!(
            s,
            "PATCH {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\nContent-Length: {}\r\n\r\n",
            data2.len()
        )
        .unwrap();
        s.write_all(&data2[..sent]).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        // Dropped here: the connection closes with the body incomplete.
    })
    .await
    .unwrap();
    assert_eq!(reg.req(Method::HEAD, &format!("/blobs/{d}")).send().await.unwrap().status(), 404, "nothing visible");
    // A chunk of declared length is all or nothing: the session is where it was.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let r = reg.req(Method::GET, &loc).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["range"].to_str().unwrap()), (204, "0-0"));
    let r = reg.req(Method::PUT, &format!("{loc}?digest={d}")).body(data.clone()).send().await.unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(reg.req(Method::GET, &format!("/blobs/{d}")).send().await.unwrap().bytes().await.unwrap(), data);

    // A body of unknown length (chunked, as streaming clients send) keeps what arrived.
    let r = reg.req(Method::POST, "/blobs/uploads/").send().await.unwrap();
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    let (auth, path) = (reg.auth.clone(), loc.clone());
    let addr = app.url.trim_start_matches("http://").to_owned();
    let piece = data[..50_000].to_vec();
    tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        write!(
            s,
            "PATCH {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        .unwrap();
        write!(s, "{:x}\r\n", piece.len()).unwrap();
        s.write_all(&piece).unwrap();
        s.write_all(b"\r\n").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
    })
    .await
    .unwrap();
    let mut range = String::new();
    for _ in 0..50 {
        // The server records progress as soon as it sees the connection close.
        let r = reg.req(Method::GET, &loc).send().await.unwrap();
        range = r.headers()["range"].to_str().unwrap().to_owned();
        if range != "0-0" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(range, "0-49999");
    let _ = sent;
}

#[tokio::test]
async fn unknown_endpoints_and_methods() {
    let app = setup().await;
    let reg = Reg::new(&app, "dev", "acme/app").await;
    assert_eq!(reg.req(Method::GET, "/v2/acme/app").send().await.unwrap().status(), 404);
    let r = reg.req(Method::POST, "/tags/list").send().await.unwrap();
    assert_eq!(code(r).await, (405, "UNSUPPORTED".into()));
}

/// `registry.open_namespaces`: anyone may pull and push there, nowhere else.
#[tokio::test]
async fn open_namespaces_need_no_credentials() {
    let app = TestApp::with_config(|c| c.registry.open_namespaces = vec!["bench".into()]).await;
    app.org("bench", OrgKind::Publisher, "admin").await;
    app.user("dev").await;
    app.org("acme", OrgKind::Publisher, "dev").await;
    let open = Reg::anonymous(&app, "bench/run-1");
    let d = open.push_blob(b"benchmark bytes").await;
    assert_eq!(
        open.req(Method::GET, &format!("/blobs/{d}")).send().await.unwrap().text().await.unwrap(),
        "benchmark bytes"
    );
    let closed = Reg::anonymous(&app, "acme/app");
    assert_eq!(closed.req(Method::POST, "/blobs/uploads/").send().await.unwrap().status(), 401);
}

/// Manifests' bytes are kept in the database: none in the blob store, yet readable
/// through the blob endpoint too (whole and by range); a manifest stored before that
/// (its bytes in the blob store) still reads.
#[tokio::test]
async fn manifest_bytes_live_in_the_database() {
    let app = setup_with(|c| c.registry.cache_ttl = wharf::config::HumanDuration(Duration::ZERO)).await;
    let reg = Reg::new(&app, "dev", "acme/app").await;
    let (body, digest) = reg.image("in-db").await;
    reg.put_manifest("v1", OCI_MANIFEST, &body).await;
    assert_eq!(app.state.blobs.stat(&digest).await.unwrap(), None, "no file or object for the manifest");
    let as_blob = reg.req(Method::GET, &format!("/blobs/{digest}")).send().await.unwrap();
    assert_eq!(as_blob.status(), 200);
    assert_eq!(as_blob.headers()["docker-content-digest"], digest.as_str());
    assert_eq!(as_blob.headers()["content-length"], body.len().to_string().as_str());
    assert_eq!(as_blob.text().await.unwrap(), body);
    let r = reg.req(Method::GET, &format!("/blobs/{digest}")).header("range", "bytes=2-11").send().await.unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.headers()["content-range"], format!("bytes 2-11/{}", body.len()).as_str());
    assert_eq!(r.text().await.unwrap(), &body[2..12]);
    let r = reg.req(Method::GET, &format!("/blobs/{digest}")).header("range", "bytes=-4").send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.text().await.unwrap()), (206, body[body.len() - 4..].to_owned()));

    // As an earlier version stored it: bytes in the blob store, no row of contents.
    let removed = wharf_db::testing::execute(
        &app.state.db,
        "DELETE FROM manifest_contents WHERE digest = $1",
        &[digest.as_str()],
    )
    .await;
    assert_eq!(removed, 1);
    app.state.blobs.put_bytes(bytes::Bytes::from(body.clone()), Some(&digest)).await.unwrap();
    let r = reg.req(Method::GET, "/manifests/v1").header("accept", OCI_MANIFEST).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.text().await.unwrap()), (200, body.clone()));
    let r = reg.req(Method::GET, &format!("/blobs/{digest}")).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.text().await.unwrap()), (200, body));
}

/// The read caches: changes through this node show at once; changes made elsewhere
/// (another node sharing the database) show within `registry.cache_ttl`.
#[tokio::test]
async fn read_caches_honour_their_ttl() {
    let app = setup_with(|c| c.registry.cache_ttl = wharf::config::HumanDuration(Duration::from_millis(400))).await;
    let reg = Reg::new(&app, "dev", "acme/app").await;
    let (a, a_digest) = reg.image("cache-a").await;
    let (b, b_digest) = reg.image("cache-b").await;
    reg.put_manifest("v1", OCI_MANIFEST, &a).await;
    let current = |reg: &Reg<'_>| {
        let rb = reg.req(Method::HEAD, "/manifests/v1");
        async move { rb.send().await.unwrap().headers()["docker-content-digest"].to_str().unwrap().to_owned() }
    };
    assert_eq!(current(&reg).await, a_digest.as_str());
    // Through this node: visible at once.
    reg.put_manifest("v1", OCI_MANIFEST, &b).await;
    assert_eq!(current(&reg).await, b_digest.as_str());
    // Behind its back (as another node would): visible once the TTL has passed.
    let repo = app.db.repository(&"acme/app".parse().unwrap()).await.unwrap().unwrap();
    let row = app.db.manifest(repo.id, &a_digest).await.unwrap().unwrap();
    app.db
        .put_manifest(
            repo.id,
            wharf_db::registry::NewManifest { row: &row, blobs: &[], manifests: &[], content: a.as_bytes() },
            Some(wharf_db::registry::TagWrite { name: "v1", immutable: false }),
        )
        .await
        .unwrap();
    assert_eq!(current(&reg).await, b_digest.as_str(), "still the cached answer");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(current(&reg).await, a_digest.as_str());
    let (_, tags) = json(reg.req(Method::GET, "/tags/list").send().await.unwrap()).await;
    assert_eq!(tags["tags"], serde_json::json!(["v1"]));
}

/// With open namespaces `/v2/` greets anonymous clients; closed repositories still
/// challenge.
#[tokio::test]
async fn open_namespaces_make_the_base_endpoint_anonymous() {
    let app = TestApp::with_config(|c| c.registry.open_namespaces = vec!["bench".into()]).await;
    assert_eq!(app.anon(Method::GET, "/v2/").send().await.unwrap().status(), 200);
    let r = app.anon(Method::GET, "/v2/acme/app/tags/list").send().await.unwrap();
    assert_eq!(r.status(), 401);
    let closed = TestApp::start().await;
    assert_eq!(closed.anon(Method::GET, "/v2/").send().await.unwrap().status(), 401);
}

/// Defects an adversarial protocol suite found, each as the specification or the
/// token protocol has it.
#[tokio::test]
async fn closing_put_appends_its_final_chunk_at_its_offset() {
    let app = setup().await;
    let reg = Reg::new(&app, "dev", "acme/app").await;
    let data: Vec<u8> = (0..70_000u32).map(|i| (i % 241) as u8).collect();
    let d = Digest::of(Algorithm::Sha256, &data);
    let r = reg.req(Method::POST, "/blobs/uploads/").send().await.unwrap();
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    let r = reg.req(Method::PATCH, &loc).header("content-range", "0-39999").body(data[..40_000].to_vec()).send().await;
    assert_eq!(r.unwrap().status(), 202);
    // A final chunk at the wrong offset: 416 with where the upload is; nothing lost.
    let r = reg
        .req(Method::PUT, &format!("{loc}?digest={d}"))
        .header("content-range", "39000-69999")
        .body(data[39_000..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 416);
    assert_eq!(r.headers()["range"], "0-39999");
    assert_eq!(code(r).await.1, "RANGE_INVALID");
    // At its offset: appended, then verified.
    let r = reg
        .req(Method::PUT, &format!("{loc}?digest={d}"))
        .header("content-range", "40000-69999")
        .body(data[40_000..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    assert_eq!(reg.req(Method::GET, &format!("/blobs/{d}")).send().await.unwrap().bytes().await.unwrap(), data);
}

#[tokio::test]
async fn a_chunk_shorter_than_it_declares_is_refused_and_not_kept() {
    let app = setup().await;
    let reg = Reg::new(&app, "dev", "acme/app").await;
    let r = reg.req(Method::POST, "/blobs/uploads/").send().await.unwrap();
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    let r = reg.req(Method::PATCH, &loc).header("content-range", "0-9").body(b"0123456789".to_vec()).send().await;
    assert_eq!(r.unwrap().headers()["range"], "0-9");
    // Content-Range announces 100 bytes; a chunked body brings 50.
    let short = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b'x'; 50]))]);
    let r = reg
        .req(Method::PATCH, &loc)
        .header("content-range", "10-109")
        .body(reqwest::Body::wrap_stream(short))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["range"], "0-9");
    let (status, body) = json(r).await;
    assert_eq!((status, body["errors"][0]["code"].as_str()), (400, Some("SIZE_INVALID")), "{body}");
    assert!(body["errors"][0]["detail"].as_str().unwrap().contains("none of it was kept"), "{body}");
    let r = reg.req(Method::GET, &loc).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["range"].to_str().unwrap()), (204, "0-9"));
}

#[tokio::test]
async fn a_mount_challenge_names_the_source_repository() {
    let app = setup().await;
    let source = Reg::new(&app, "dev", "acme/base").await;
    let d = source.push_blob(b"shared layer").await;
    // No credentials: the challenge asks for both repositories.
    let r = app.http.post(format!("{}/v2/acme/app/blobs/uploads/?mount={d}&from=acme/base", app.url)).send().await;
    let r = r.unwrap();
    assert_eq!(r.status(), 401);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    let scope = challenge.split("scope=\"").nth(1).and_then(|s| s.split('"').next()).unwrap().to_owned();
    assert_eq!(scope, "repository:acme/app:pull,push repository:acme/base:pull");
    // A client asking for exactly the challenged scopes mounts.
    let scopes: Vec<(&str, &str)> =
        std::iter::once(("service", "wharf-registry")).chain(scope.split(' ').map(|s| ("scope", s))).collect();
    let r = app.http.get(format!("{}/token", app.url)).query(&scopes).basic_auth("dev", Some(common::PASSWORD));
    let (_, body) = json(r.send().await.unwrap()).await;
    let token = body["token"].as_str().unwrap();
    let r = app
        .http
        .post(format!("{}/v2/acme/app/blobs/uploads/?mount={d}&from=acme/base", app.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["location"], format!("/v2/acme/app/blobs/{d}").as_str());
}

#[tokio::test]
async fn a_malformed_digest_is_told_by_its_syntax() {
    let app = setup().await;
    let reg = Reg::new(&app, "dev", "acme/app").await;
    for path in ["/blobs/uploads/?digest=sha256:abc", "/blobs/sha256:xyz"] {
        let method = if path.contains("uploads") { Method::POST } else { Method::GET };
        let r = reg.req(method, path).body("x").send().await.unwrap();
        let (status, body) = json(r).await;
        assert_eq!((status, body["errors"][0]["code"].as_str()), (400, Some("DIGEST_INVALID")), "{body}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.starts_with("invalid digest: "), "{message}");
        assert!(!message.contains("did not match"), "{message}");
    }
    // A digest that parses but does not match keeps the specification's message.
    let claimed = Digest::of(Algorithm::Sha256, b"said");
    let r = reg.req(Method::POST, &format!("/blobs/uploads/?digest={claimed}")).body("sent").send().await.unwrap();
    let (_, body) = json(r).await;
    assert_eq!(body["errors"][0]["message"], "provided digest did not match uploaded content");
}

#[tokio::test]
async fn open_upload_sessions_are_capped_per_user_and_per_repository() {
    let app = setup_with(|c| {
        c.registry.max_uploads_per_principal = 5;
        c.registry.max_uploads_per_repository = 8;
    })
    .await;
    app.user("ci").await;
    app.member("acme", "ci", Role::Developer).await;
    let dev = Reg::new(&app, "dev", "acme/app").await;
    let ci = Reg::new(&app, "ci", "acme/app").await;
    let start = |reg: &Reg<'_>| reg.req(Method::POST, "/blobs/uploads/").send();
    let mut mine = Vec::new();
    for _ in 0..5 {
        let r = start(&dev).await.unwrap();
        assert_eq!(r.status(), 202);
        mine.push(r.headers()["location"].to_str().unwrap().to_owned());
    }
    // Some bytes in one of them, to see them freed later.
    let r = dev.req(Method::PATCH, &mine[0]).body(vec![7u8; 100_000]).send().await.unwrap();
    assert_eq!(r.status(), 202);
    let r = start(&dev).await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["retry-after"].to_str().unwrap()), (429, "10"));
    let (_, body) = json(r).await;
    assert_eq!(body["errors"][0]["code"], "TOOMANYREQUESTS");
    let detail = body["errors"][0]["detail"].as_str().unwrap();
    assert!(detail.starts_with("you have 5 upload sessions open (the limit is 5)"), "{detail}");
    // Another user fills the repository's cap.
    for _ in 0..3 {
        assert_eq!(start(&ci).await.unwrap().status(), 202);
    }
    let (status, body) = json(start(&ci).await.unwrap()).await;
    assert_eq!(status, 429);
    assert!(body.to_string().contains("this repository has 8 upload sessions open (the limit is 8)"), "{body}");
    // A monolithic push needs no session and is not capped.
    dev.push_blob(b"whole in one request").await;
    // Cancelling a session frees its slot.
    assert_eq!(dev.req(Method::DELETE, &mine[4]).send().await.unwrap().status(), 204);
    assert_eq!(start(&dev).await.unwrap().status(), 202);
    // The purge job removes expired sessions and their bytes (here: all of them, with
    // a TTL of zero); then nobody is over a cap.
    let ctx = wharf_app::gc::GcContext {
        db: app.state.db.clone(),
        blobs: app.state.blobs.clone(),
        options: wharf_app::gc::GcOptions { grace: Duration::ZERO, upload_ttl: Duration::ZERO, dry_run: false },
    };
    tokio::time::sleep(Duration::from_millis(5)).await;
    wharf_jobs::Job::run(&wharf_app::gc::PurgeUploadsJob, &ctx).await.unwrap();
    assert_eq!(code(dev.req(Method::GET, &mine[0]).send().await.unwrap()).await, (404, "BLOB_UPLOAD_UNKNOWN".into()));
    let report = wharf_app::gc::collect(&app.state.db, &app.state.blobs, &ctx.options).await.unwrap();
    assert_eq!((report.uploads_purged, report.temporaries_removed), (0, 0), "the purge left nothing behind");
    for _ in 0..5 {
        assert_eq!(start(&dev).await.unwrap().status(), 202);
    }
}

/// The certification engine reads pushed images straight from the marketplace's
/// storage (blobs from the blob store, manifests from the database), every blob
/// checked against its digest; a blob gone from the store is a finding, not a pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_are_certified_straight_from_the_store() {
    let app = setup().await;
    let reg = Reg::new(&app, "dev", "acme/app").await;
    let (body, digest) = reg.image("certified").await;
    assert_eq!(reg.put_manifest("v1", OCI_MANIFEST, &body).await.status(), 201);
    let application = wharf_app::App::new(
        app.state.db.clone(),
        app.state.auth.clone(),
        app.state.blobs.clone(),
        std::sync::Arc::new(Vec::new()),
    );
    let image = wharf_app::StoredImage {
        repository: "acme/app".parse().unwrap(),
        digest: digest.clone(),
        name: "acme/app:v1".into(),
    };
    // The marketplace's engine: the built-in policy, no clamd, no advisories imported.
    let engine = application.certification_engine().await.unwrap();
    assert!(engine.advisories.is_none() && engine.clamd.is_none());
    let engine = std::sync::Arc::new(engine);
    let certify = |layout: wharf_certify::image::Layout| {
        let engine = engine.clone();
        tokio::task::spawn_blocking(move || {
            wharf_certify::certify::certify_layout(&layout, "acme/app:v1", Some("acme/app:v1"), &engine)
        })
    };
    let report = certify(application.stored_layout(std::slice::from_ref(&image)).await.unwrap()).await.unwrap();
    assert_eq!(report.platforms.len(), 1, "{:?}", report.image_findings);
    let platform = &report.platforms[0];
    assert_eq!(platform.manifest, digest.to_string());
    assert_eq!(platform.layers.len(), 1);
    // The test layer is not a tar stream: the engine read its bytes and said so.
    let checks: Vec<&str> = platform.findings.iter().map(|f| f.finding.check.id()).collect();
    assert!(checks.contains(&"layer.corrupt"), "{checks:?}");

    // The layer's bytes gone from the store: unreadable, and the verdict fails.
    let manifest: serde_json::Value = serde_json::from_str(&body).unwrap();
    let layer: wharf_oci::Digest = manifest["layers"][0]["digest"].as_str().unwrap().parse().unwrap();
    app.state.blobs.delete(&layer).await.unwrap();
    let report = certify(application.stored_layout(&[image]).await.unwrap()).await.unwrap();
    let unreadable = report.platforms[0].findings.iter().any(|f| f.finding.check.id() == "layer.unreadable");
    assert!(unreadable && report.verdict == wharf_certify::certify::Verdict::Fail, "{report:?}");

    let missing = wharf_app::StoredImage {
        repository: "acme/app".parse().unwrap(),
        digest: wharf_oci::Digest::of(wharf_oci::Algorithm::Sha256, b"nothing"),
        name: "acme/app:none".into(),
    };
    assert!(matches!(application.stored_layout(&[missing]).await, Err(wharf_app::AppError::NotFound(_))));
}
