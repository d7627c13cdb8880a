//! Garbage collection: what it removes, what it keeps, dry runs, the durable job,
//! and safety against pushes running at the same time.

mod common;

use std::time::Duration;

use common::{TestApp, json};
use reqwest::Method;
use wharf_app::gc::{GcContext, GcJob, GcOptions, GcReport, collect};
use wharf_core::OrgKind;
use wharf_oci::{Algorithm, Digest};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

async fn setup() -> TestApp {
    // Collections here run beside the server, which would see their effects only after
    // its read caches expire (`registry.cache_ttl`); these tests check at once.
    let app = TestApp::with_config(|c| {
        c.registry.open_namespaces = vec!["acme".into()];
        c.registry.cache_ttl = wharf::config::HumanDuration(Duration::ZERO);
    })
    .await;
    app.org("acme", OrgKind::Publisher, "admin").await;
    app
}

fn url(app: &TestApp, path: &str) -> String {
    format!("{}/v2/acme/app{path}", app.url)
}

async fn push_blob(app: &TestApp, data: &[u8]) -> Digest {
    let d = Digest::of(Algorithm::Sha256, data);
    let r = app.http.post(url(app, &format!("/blobs/uploads/?digest={d}"))).body(data.to_vec()).send().await.unwrap();
    assert_eq!(r.status(), 201);
    d
}

/// Pushes config + layer + manifest under `tag`; returns whether the manifest was accepted.
async fn push_image(app: &TestApp, seed: &str, layer: &[u8], tag: &str) -> Option<(Digest, Digest, Digest)> {
    let config = push_blob(app, format!("{{\"seed\":\"{seed}\"}}").as_bytes()).await;
    let layer = push_blob(app, layer).await;
    let body = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config}","size":1}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{layer}","size":1}}]}}"#
    );
    let r = app
        .http
        .put(url(app, &format!("/manifests/{tag}")))
        .header("content-type", OCI_MANIFEST)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    (r.status() == 201).then(|| (Digest::of(Algorithm::Sha256, body.as_bytes()), config, layer))
}

async fn status(app: &TestApp, method: Method, path: &str) -> u16 {
    app.http.request(method, url(app, path)).send().await.unwrap().status().as_u16()
}

fn now_options(dry_run: bool) -> GcOptions {
    GcOptions { grace: Duration::ZERO, upload_ttl: Duration::ZERO, dry_run }
}

#[tokio::test]
async fn collects_what_nothing_uses_and_keeps_the_rest() {
    let app = setup().await;
    let (manifest, config, layer) = push_image(&app, "kept", b"kept layer", "v1").await.unwrap();
    let loose = push_blob(&app, b"pushed but never used").await;
    // An abandoned upload session with some bytes.
    let r = app.http.post(url(&app, "/blobs/uploads/")).send().await.unwrap();
    let session = r.headers()["location"].to_str().unwrap().to_owned();
    app.http.patch(format!("{}{session}", app.url)).body(vec![1u8; 1000]).send().await.unwrap();

    let db = &app.state.db;
    let blobs = &app.state.blobs;
    // "Older than the cutoff" is strict, with millisecond times.
    tokio::time::sleep(Duration::from_millis(10)).await;
    let dry = collect(db, blobs, &now_options(true)).await.unwrap();
    assert_eq!((dry.dry_run, dry.uploads_purged, dry.links_removed), (true, 1, 1), "{dry:?}");
    assert_eq!(status(&app, Method::HEAD, &format!("/blobs/{loose}")).await, 200, "a dry run removes nothing");
    assert_eq!(app.http.get(format!("{}{session}", app.url)).send().await.unwrap().status(), 204);

    let report = collect(db, blobs, &now_options(false)).await.unwrap();
    assert_eq!((report.uploads_purged, report.links_removed, report.blobs_deleted), (1, 1, 1), "{report:?}");
    assert_eq!(report.blob_bytes_freed, b"pushed but never used".len() as u64);
    assert_eq!(status(&app, Method::HEAD, &format!("/blobs/{loose}")).await, 404);
    assert_eq!(blobs.stat(&loose).await.unwrap(), None, "the bytes are gone");
    assert_eq!(app.http.get(format!("{}{session}", app.url)).send().await.unwrap().status(), 404);
    // The image is untouched (a manifest's bytes are kept in the database).
    for d in [&config, &layer] {
        assert!(blobs.stat(d).await.unwrap().is_some(), "{d}");
    }
    assert!(db.manifest_content(&manifest).await.unwrap().is_some());
    assert_eq!(status(&app, Method::GET, "/manifests/v1").await, 200);
    assert_eq!(
        app.http.get(url(&app, &format!("/blobs/{layer}"))).send().await.unwrap().bytes().await.unwrap(),
        &b"kept layer"[..]
    );

    // A deleted image's blobs go at the next collection; another run finds nothing.
    assert_eq!(status(&app, Method::DELETE, &format!("/manifests/{manifest}")).await, 202);
    tokio::time::sleep(Duration::from_millis(10)).await;
    let second = collect(db, blobs, &now_options(false)).await.unwrap();
    assert_eq!((second.links_removed, second.blobs_deleted), (2, 3), "{second:?}");
    assert_eq!(db.manifest_content(&manifest).await.unwrap(), None, "the manifest's bytes went with its row");
    assert_eq!(blobs.stat(&layer).await.unwrap(), None);
    let third = collect(db, blobs, &now_options(false)).await.unwrap();
    assert_eq!(third, GcReport { duration_ms: third.duration_ms, ..GcReport::default() });
}

#[tokio::test]
async fn the_grace_period_protects_recent_blobs() {
    let app = setup().await;
    let loose = push_blob(&app, b"just pushed").await;
    let options = GcOptions { grace: Duration::from_secs(3600), upload_ttl: Duration::from_secs(3600), dry_run: false };
    let report = collect(&app.state.db, &app.state.blobs, &options).await.unwrap();
    assert_eq!((report.links_removed, report.blobs_deleted), (0, 0));
    assert_eq!(status(&app, Method::HEAD, &format!("/blobs/{loose}")).await, 200);
}

/// A push that touches an orphan after the collection listed it wins: the deletion
/// re-checks under the row's lock and leaves the blob.
#[tokio::test]
async fn a_blob_touched_after_listing_is_not_deleted() {
    let app = setup().await;
    let d = push_blob(&app, b"about to be reused").await;
    assert_eq!(status(&app, Method::DELETE, &format!("/blobs/{d}")).await, 202);
    let db = &app.state.db;
    let cutoff = wharf_core::Timestamp::now().plus(Duration::from_millis(1));
    tokio::time::sleep(Duration::from_millis(5)).await;
    let orphans = db.orphan_blobs(cutoff, 10).await.unwrap();
    assert_eq!(orphans.iter().map(|o| &o.0).collect::<Vec<_>>(), [&d]);
    // A push starts now and touches the blob before using its bytes.
    db.touch_blob(&d, 18).await.unwrap();
    let deleted = db
        .delete_orphan_blob(&d, cutoff, || async {
            app.state.blobs.delete(&d).await.map(|_| ()).map_err(anyhow::Error::from)
        })
        .await
        .unwrap();
    assert!(!deleted);
    assert!(app.state.blobs.stat(&d).await.unwrap().is_some(), "the bytes stay");
}

/// Blobs that were orphaned and are old enough to collect are pushed again as parts
/// of new images while collections run back to back: every image that was accepted
/// stays complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pushes_during_collections_are_never_lost() {
    let app = setup().await;
    let layers: Vec<Vec<u8>> = (0..12).map(|i| format!("shared layer {i} ").repeat(2000).into_bytes()).collect();
    for l in &layers {
        let d = push_blob(&app, l).await;
        assert_eq!(status(&app, Method::DELETE, &format!("/blobs/{d}")).await, 202);
    }
    let grace = Duration::from_millis(800);
    tokio::time::sleep(grace + Duration::from_millis(200)).await;

    let (db, blobs) = (app.state.db.clone(), app.state.blobs.clone());
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let gc_stop = stop.clone();
    let gc = tokio::spawn(async move {
        let options = GcOptions { grace, upload_ttl: Duration::from_secs(3600), dry_run: false };
        let mut runs = 0;
        while !gc_stop.load(std::sync::atomic::Ordering::Relaxed) {
            collect(&db, &blobs, &options).await.unwrap();
            runs += 1;
        }
        runs
    });
    let mut accepted = Vec::new();
    for (i, layer) in layers.iter().enumerate() {
        if let Some(image) = push_image(&app, &format!("round {i}"), layer, &format!("t{i}")).await {
            accepted.push((i, image));
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let runs = gc.await.unwrap();
    assert!(runs >= 2, "collections ran during the pushes ({runs})");
    assert!(
        accepted.len() >= layers.len() - 1,
        "pushes are not refused for nothing: {} of {}",
        accepted.len(),
        layers.len()
    );
    for (i, (manifest, config, layer)) in &accepted {
        let r = app.http.get(url(&app, &format!("/manifests/t{i}"))).send().await.unwrap();
        assert_eq!(r.headers()["docker-content-digest"], manifest.as_str());
        let got = app.http.get(url(&app, &format!("/blobs/{layer}"))).send().await.unwrap();
        assert_eq!(got.status(), 200, "layer of t{i}");
        assert_eq!(got.bytes().await.unwrap(), layers[*i], "layer of t{i}");
        assert_eq!(status(&app, Method::HEAD, &format!("/blobs/{config}")).await, 200, "config of t{i}");
    }
}

/// The collection runs as a durable job.
#[tokio::test]
async fn collection_runs_as_a_job() {
    let app = setup().await;
    let loose = push_blob(&app, b"collected by the job").await;
    tokio::time::sleep(Duration::from_millis(10)).await;
    let ctx = GcContext { db: app.state.db.clone(), blobs: app.state.blobs.clone(), options: now_options(false) };
    let runner = wharf_jobs::Runner::new(app.state.db.clone()).register::<GcJob>(ctx);
    let id = wharf_jobs::enqueue(&app.state.db, &GcJob { dry_run: false }, Some("registry.gc")).await.unwrap().unwrap();
    assert_eq!(
        wharf_jobs::enqueue(&app.state.db, &GcJob { dry_run: false }, Some("registry.gc")).await.unwrap(),
        None,
        "one at a time"
    );
    assert_eq!(runner.run_once().await.unwrap(), wharf_jobs::Ran::Succeeded(id));
    assert_eq!(status(&app, Method::HEAD, &format!("/blobs/{loose}")).await, 404);
    let (_, metrics) = json(app.anon(Method::GET, "/metrics").send().await.unwrap()).await;
    let text = metrics.as_str().unwrap().to_owned();
    assert!(text.contains("wharf_gc_collected_total{what=\"blobs\"}"), "{text}");
    assert!(text.contains("wharf_jobs{kind=\"registry.gc\",state=\"done\"} 1"), "{text}");
}

/// A collection run beside the server (another node, or `wharf admin gc`) does not
/// go through the server's caches: HEAD and GET of a collected blob must still agree
/// at once, with the caches on.
#[tokio::test]
async fn head_and_get_agree_at_once_after_a_collection_elsewhere() {
    let app = TestApp::with_config(|c| c.registry.open_namespaces = vec!["acme".into()]).await;
    app.org("acme", OrgKind::Publisher, "admin").await;
    let d = push_blob(&app, b"collect me").await;
    // Cached: the link is known to this node.
    assert_eq!(status(&app, Method::HEAD, &format!("/blobs/{d}")).await, 200);
    assert_eq!(status(&app, Method::GET, &format!("/blobs/{d}")).await, 200);
    let report = collect(&app.state.db, &app.state.blobs, &now_options(false)).await.unwrap();
    assert!(report.blobs_deleted >= 1, "{report:?}");
    assert_eq!(status(&app, Method::HEAD, &format!("/blobs/{d}")).await, 404);
    assert_eq!(status(&app, Method::GET, &format!("/blobs/{d}")).await, 404);
}
