//! The registry's metadata, identical on SQLite and PostgreSQL.

use wharf_core::{OrgKind, Timestamp};
use wharf_db::registry::{ManifestRow, NewManifest, RegistryWriteError, TagWrite, Upload};
use wharf_db::testing::fresh;
use wharf_db::{Backend, Db};
use wharf_oci::{Algorithm, Digest, RepositoryName};

wharf_db::on_both_backends!(
    repositories_are_created_once,
    blobs_link_per_repository,
    manifests_need_their_references,
    tags_move_unless_immutable,
    deleting_respects_references_and_immutability,
    referrers_filter_by_artifact_type,
    storage_counts_each_blob_once_per_org,
    uploads_advance_optimistically,
    cancelled_writes_leave_nothing_behind,
);

fn d(s: &str) -> Digest {
    Digest::of(Algorithm::Sha256, s.as_bytes())
}

fn repo_name(s: &str) -> RepositoryName {
    s.parse().unwrap()
}

async fn setup(db: &Db) -> (wharf_core::OrgId, wharf_core::RepositoryId) {
    let org = db.create_org(&"acme".parse().unwrap(), OrgKind::Publisher, None, None).await.unwrap();
    let repo = db.ensure_repository(org.id, &repo_name("acme/app")).await.unwrap();
    (org.id, repo.id)
}

fn manifest(name: &str) -> ManifestRow {
    ManifestRow {
        digest: d(name),
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        size: 100,
        artifact_type: None,
        subject: None,
        annotations: None,
    }
}

async fn repositories_are_created_once(backend: Backend) {
    let t = fresh(backend).await;
    let (org, id) = setup(&t.db).await;
    let again = t.db.ensure_repository(org, &repo_name("acme/app")).await.unwrap();
    assert_eq!(again.id, id);
    assert!(!again.anonymous_pull && !again.immutable_tags);
    t.db.set_repository_flags(id, true, true).await.unwrap();
    let r = t.db.repository(&repo_name("acme/app")).await.unwrap().unwrap();
    assert!(r.anonymous_pull && r.immutable_tags);
    t.db.ensure_repository(org, &repo_name("acme/other")).await.unwrap();
    assert_eq!(t.db.list_repositories(None, 10).await.unwrap(), ["acme/app", "acme/other"]);
    assert_eq!(t.db.list_repositories(Some("acme/app"), 10).await.unwrap(), ["acme/other"]);
    assert!(t.db.repository(&repo_name("acme/none")).await.unwrap().is_none());
}

async fn blobs_link_per_repository(backend: Backend) {
    let t = fresh(backend).await;
    let (org, repo) = setup(&t.db).await;
    let other = t.db.ensure_repository(org, &repo_name("acme/other")).await.unwrap().id;
    t.db.link_blob(repo, &d("layer"), 42).await.unwrap();
    t.db.link_blob(repo, &d("layer"), 42).await.unwrap();
    assert_eq!(t.db.blob_in_repository(repo, &d("layer")).await.unwrap(), Some(42));
    assert_eq!(t.db.blob_in_repository(other, &d("layer")).await.unwrap(), None, "not linked there");
    assert_eq!(t.db.blob_size(&d("layer")).await.unwrap(), Some(42));
    assert_eq!(t.db.blob_in_org(org, &d("layer")).await.unwrap(), Some(42));
    let stranger = t.db.create_org(&"globex".parse().unwrap(), OrgKind::Publisher, None, None).await.unwrap();
    assert_eq!(t.db.blob_in_org(stranger.id, &d("layer")).await.unwrap(), None);
}

async fn manifests_need_their_references(backend: Backend) {
    let t = fresh(backend).await;
    let (_, repo) = setup(&t.db).await;
    let m = manifest("m1");
    let blobs = [d("config"), d("layer")];
    let err =
        t.db.put_manifest(
            repo,
            NewManifest { row: &m, blobs: &blobs, manifests: &[], content: b"{}" },
            Some(TagWrite { name: "v1", immutable: false }),
        )
        .await
        .unwrap_err();
    assert!(matches!(&err, RegistryWriteError::MissingReference(x) if *x == d("config")), "{err:?}");
    assert!(t.db.manifest(repo, &m.digest).await.unwrap().is_none(), "nothing stored");
    assert!(t.db.list_tags(repo, None, 10).await.unwrap().is_empty());

    for b in &blobs {
        t.db.link_blob(repo, b, 10).await.unwrap();
    }
    t.db.put_manifest(
        repo,
        NewManifest { row: &m, blobs: &blobs, manifests: &[], content: b"{}" },
        Some(TagWrite { name: "v1", immutable: false }),
    )
    .await
    .unwrap();
    assert_eq!(t.db.manifest(repo, &m.digest).await.unwrap().unwrap(), m);
    assert_eq!(t.db.manifest_by_tag(repo, "v1").await.unwrap().unwrap().digest, m.digest);
    assert_eq!(
        t.db.blob_in_repository(repo, &m.digest).await.unwrap(),
        Some(100),
        "manifest bytes are a blob of the repo"
    );
    // An index must reference manifests of the same repository.
    let index = ManifestRow { media_type: "application/vnd.oci.image.index.v1+json".into(), ..manifest("index") };
    let children = [m.digest.clone(), d("missing-child")];
    let err =
        t.db.put_manifest(repo, NewManifest { row: &index, blobs: &[], manifests: &children, content: b"{}" }, None)
            .await
            .unwrap_err();
    assert!(matches!(err, RegistryWriteError::MissingReference(_)));
    t.db.put_manifest(
        repo,
        NewManifest { row: &index, blobs: &[], manifests: &children[..1], content: b"{}" },
        Some(TagWrite { name: "latest", immutable: false }),
    )
    .await
    .unwrap();
    // Pushing the same manifest again is idempotent.
    t.db.put_manifest(repo, NewManifest { row: &m, blobs: &blobs, manifests: &[], content: b"{}" }, None)
        .await
        .unwrap();
}

async fn tags_move_unless_immutable(backend: Backend) {
    let t = fresh(backend).await;
    let (_, repo) = setup(&t.db).await;
    let (a, b) = (manifest("a"), manifest("b"));
    for m in [&a, &b] {
        t.db.put_manifest(repo, NewManifest { row: m, blobs: &[], manifests: &[], content: b"{}" }, None)
            .await
            .unwrap();
    }
    t.db.put_manifest(
        repo,
        NewManifest { row: &a, blobs: &[], manifests: &[], content: b"{}" },
        Some(TagWrite { name: "v1", immutable: false }),
    )
    .await
    .unwrap();
    t.db.put_manifest(
        repo,
        NewManifest { row: &b, blobs: &[], manifests: &[], content: b"{}" },
        Some(TagWrite { name: "v1", immutable: false }),
    )
    .await
    .unwrap();
    assert_eq!(t.db.manifest_by_tag(repo, "v1").await.unwrap().unwrap().digest, b.digest);

    let err =
        t.db.put_manifest(
            repo,
            NewManifest { row: &a, blobs: &[], manifests: &[], content: b"{}" },
            Some(TagWrite { name: "v1", immutable: true }),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RegistryWriteError::TagImmutable { tag, current } if tag == "v1" && *current == b.digest),
        "{err:?}"
    );
    assert_eq!(t.db.manifest_by_tag(repo, "v1").await.unwrap().unwrap().digest, b.digest, "unchanged");
    // Re-tagging the same digest and new tags are fine.
    t.db.put_manifest(
        repo,
        NewManifest { row: &b, blobs: &[], manifests: &[], content: b"{}" },
        Some(TagWrite { name: "v1", immutable: true }),
    )
    .await
    .unwrap();
    t.db.put_manifest(
        repo,
        NewManifest { row: &a, blobs: &[], manifests: &[], content: b"{}" },
        Some(TagWrite { name: "v2", immutable: true }),
    )
    .await
    .unwrap();
    for tag in ["a", "b", "c", "d"] {
        t.db.put_manifest(
            repo,
            NewManifest { row: &a, blobs: &[], manifests: &[], content: b"{}" },
            Some(TagWrite { name: tag, immutable: false }),
        )
        .await
        .unwrap();
    }
    assert_eq!(t.db.list_tags(repo, None, 3).await.unwrap(), ["a", "b", "c"]);
    assert_eq!(t.db.list_tags(repo, Some("c"), 10).await.unwrap(), ["d", "v1", "v2"]);
}

async fn deleting_respects_references_and_immutability(backend: Backend) {
    let t = fresh(backend).await;
    let (_, repo) = setup(&t.db).await;
    t.db.link_blob(repo, &d("layer"), 5).await.unwrap();
    t.db.link_blob(repo, &d("loose"), 5).await.unwrap();
    let m = manifest("m");
    t.db.put_manifest(
        repo,
        NewManifest { row: &m, blobs: &[d("layer")], manifests: &[], content: b"{}" },
        Some(TagWrite { name: "v1", immutable: false }),
    )
    .await
    .unwrap();

    let err = t.db.unlink_blob(repo, &d("layer")).await.unwrap_err();
    assert!(matches!(err, RegistryWriteError::BlobReferenced(_)), "{err:?}");
    assert!(t.db.unlink_blob(repo, &d("loose")).await.unwrap());
    assert!(!t.db.unlink_blob(repo, &d("loose")).await.unwrap());

    let err = t.db.delete_manifest(repo, &m.digest, true).await.unwrap_err();
    assert!(matches!(err, RegistryWriteError::TagImmutable { .. }));
    assert!(matches!(t.db.delete_tag(repo, "v1", true).await, Err(RegistryWriteError::TagImmutable { .. })));
    assert!(t.db.delete_tag(repo, "v1", false).await.unwrap());
    assert!(!t.db.delete_tag(repo, "v1", false).await.unwrap());
    t.db.put_manifest(
        repo,
        NewManifest { row: &m, blobs: &[d("layer")], manifests: &[], content: b"{}" },
        Some(TagWrite { name: "v1", immutable: false }),
    )
    .await
    .unwrap();
    assert!(t.db.delete_manifest(repo, &m.digest, false).await.unwrap());
    assert!(t.db.manifest_by_tag(repo, "v1").await.unwrap().is_none(), "its tags went with it");
    assert!(t.db.unlink_blob(repo, &d("layer")).await.unwrap(), "no longer referenced");
    assert!(!t.db.delete_manifest(repo, &m.digest, false).await.unwrap());
}

async fn referrers_filter_by_artifact_type(backend: Backend) {
    let t = fresh(backend).await;
    let (_, repo) = setup(&t.db).await;
    let subject = d("subject");
    let sig = ManifestRow {
        artifact_type: Some("application/vnd.dev.cosign".into()),
        subject: Some(subject.clone()),
        ..manifest("sig")
    };
    let sbom = ManifestRow {
        artifact_type: Some("application/spdx+json".into()),
        subject: Some(subject.clone()),
        annotations: Some(r#"{"a":"b"}"#.into()),
        ..manifest("sbom")
    };
    for m in [&sig, &sbom] {
        t.db.put_manifest(repo, NewManifest { row: m, blobs: &[], manifests: &[], content: b"{}" }, None)
            .await
            .unwrap();
    }
    assert_eq!(t.db.referrers(repo, &subject, None).await.unwrap().len(), 2);
    let only = t.db.referrers(repo, &subject, Some("application/spdx+json")).await.unwrap();
    assert_eq!(only, [sbom]);
    assert!(t.db.referrers(repo, &d("other"), None).await.unwrap().is_empty());
}

async fn storage_counts_each_blob_once_per_org(backend: Backend) {
    let t = fresh(backend).await;
    let (org, repo) = setup(&t.db).await;
    let other = t.db.ensure_repository(org, &repo_name("acme/other")).await.unwrap().id;
    assert_eq!(t.db.org_storage_bytes(org).await.unwrap(), 0);
    t.db.link_blob(repo, &d("a"), 1000).await.unwrap();
    t.db.link_blob(other, &d("a"), 1000).await.unwrap();
    t.db.link_blob(other, &d("b"), 24).await.unwrap();
    assert_eq!(t.db.org_storage_bytes(org).await.unwrap(), 1024);
    assert_eq!(t.db.org_quota(org).await.unwrap(), None);
    t.db.set_org_quota(org, Some(2048)).await.unwrap();
    assert_eq!(t.db.org_quota(org).await.unwrap(), Some(2048));
}

async fn uploads_advance_optimistically(backend: Backend) {
    let t = fresh(backend).await;
    let (_, repo) = setup(&t.db).await;
    let now = Timestamp::now();
    let mut up = Upload {
        id: "3f2a".into(),
        repository_id: repo,
        principal: "alice".into(),
        size: 0,
        parts: String::new(),
        created_at: now,
        updated_at: now,
    };
    t.db.create_upload(&up).await.unwrap();
    up.size = 10;
    up.parts = "10".into();
    assert!(t.db.advance_upload("3f2a", 0, &up, false).await.unwrap());
    assert!(!t.db.advance_upload("3f2a", 0, &up, false).await.unwrap(), "a second writer from the same offset loses");
    let stored = t.db.upload("3f2a").await.unwrap().unwrap();
    assert_eq!((stored.size, stored.parts.as_str(), stored.principal.as_str()), (10, "10", "alice"));
    let later = Timestamp::now().plus(std::time::Duration::from_secs(60));
    assert_eq!(t.db.stale_uploads(later, 10).await.unwrap().len(), 1);
    assert!(t.db.stale_uploads(now, 10).await.unwrap().is_empty());
    let until = Timestamp::now().plus(std::time::Duration::from_secs(600));
    assert!(t.db.claim_upload("3f2a", until).await.unwrap());
    assert!(!t.db.claim_upload("3f2a", until).await.unwrap(), "one writer at a time");
    t.db.release_upload("3f2a", Timestamp::from_millis(7)).await.unwrap();
    assert!(!t.db.claim_upload("3f2a", until).await.unwrap(), "only the holder's release frees the lease");
    t.db.release_upload("3f2a", until).await.unwrap();
    assert!(t.db.claim_upload("3f2a", Timestamp::from_millis(1)).await.unwrap());
    assert!(t.db.claim_upload("3f2a", until).await.unwrap(), "an expired lease can be taken over");
    assert!(t.db.delete_upload("3f2a").await.unwrap());
    assert!(t.db.upload("3f2a").await.unwrap().is_none());
}

/// A write cancelled at any point (a client that hangs up) either happened whole or
/// not at all, and leaves no transaction open: the next writes succeed. On SQLite a
/// batch is one query on the writer connection, and a cancelled query stops between
/// its statements, so this needs the batch's rollback on drop.
async fn cancelled_writes_leave_nothing_behind(backend: Backend) {
    let t = fresh(backend).await;
    let (_, repo) = setup(&t.db).await;
    let layers: Vec<Digest> = (0..300).map(|i| d(&format!("layer {i}"))).collect();
    for l in &layers {
        t.db.link_blob(repo, l, 1).await.unwrap();
    }
    let mut stored = 0;
    for i in 0..60u64 {
        let m = manifest(&format!("cancelled {i}"));
        let tag = format!("t{i}");
        let write = t.db.put_manifest(
            repo,
            NewManifest { row: &m, blobs: &layers, manifests: &[], content: b"{}" },
            Some(TagWrite { name: &tag, immutable: false }),
        );
        // From cancelled before it starts to done, across the runs.
        if let Ok(done) = tokio::time::timeout(std::time::Duration::from_micros(i * i * i / 2), write).await {
            done.unwrap();
            stored += 1;
        }
        tokio::task::yield_now().await;
    }
    assert!(stored > 0, "some runs finish");
    let m = manifest("after");
    t.db.put_manifest(
        repo,
        NewManifest { row: &m, blobs: &layers, manifests: &[], content: b"{}" },
        Some(TagWrite { name: "v1", immutable: false }),
    )
    .await
    .expect("the writer is usable after cancelled writes");
    assert_eq!(t.db.manifest_by_tag(repo, "v1").await.unwrap().unwrap().digest, m.digest);
    // Whole or not at all (the writes above have settled: the last one queued behind them).
    for i in 0..60u64 {
        let row = t.db.manifest(repo, &manifest(&format!("cancelled {i}")).digest).await.unwrap();
        let tagged = t.db.manifest_by_tag(repo, &format!("t{i}")).await.unwrap();
        assert_eq!(row.is_some(), tagged.is_some(), "run {i}: the manifest and its tag go together");
    }
}
