//! The backend suite on the local directory backend, plus what is local-specific.

wharf_blob::backend_suite!(wharf_blob::testing::local());

use wharf_blob::{BlobStore, LocalOptions, StoreOptions};

/// A committed blob is a plain file at the documented path; nothing else is left.
#[tokio::test]
async fn on_disk_layout_matches_the_documented_tree() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("blobs");
    let store = BlobStore::open(&StoreOptions::Local(LocalOptions { root: root.clone(), fsync: false })).unwrap();
    let info = store.put_bytes(bytes::Bytes::from_static(b"hello"), None).await.unwrap();
    let hex = info.digest.hex();
    let expected = root.join("blobs").join("sha256").join(&hex[..2]).join(hex);
    assert_eq!(std::fs::read(&expected).unwrap(), b"hello");
    let mut files = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() { stack.push(p) } else { files.push(p) }
        }
    }
    assert_eq!(files, [expected]);
}

/// A blob directory that cannot be created is a configuration error naming it.
#[tokio::test]
async fn unusable_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"").unwrap();
    let err =
        BlobStore::open(&StoreOptions::Local(LocalOptions { root: file.join("blobs"), fsync: true })).unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("invalid blob store configuration: cannot create the blob directory"), "{msg}");
    assert!(msg.contains("not-a-dir"), "{msg}");
}

/// The staged file of a write a crash cut short (`<key>#<n>`, invisible to listings)
/// is removed by the sweep once older than the cutoff; a fresh one, a committed blob
/// and a file merely containing `#` are kept; a dry run only counts.
#[tokio::test]
async fn stale_staged_files_are_swept() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("blobs");
    let store = BlobStore::open(&StoreOptions::Local(LocalOptions { root: root.clone(), fsync: false })).unwrap();
    let info = store.put_bytes(bytes::Bytes::from_static(b"kept"), None).await.unwrap();
    let hex = info.digest.hex();
    let shard = root.join("blobs").join("sha256").join(&hex[..2]);
    let stale = shard.join(format!("{}#7", "a".repeat(64)));
    let fresh = shard.join(format!("{}#8", "b".repeat(64)));
    let other = shard.join("notes#draft");
    for p in [&stale, &fresh, &other] {
        std::fs::write(p, b"partial write").unwrap();
    }
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    for p in [&stale, &other] {
        std::fs::File::options().write(true).open(p).unwrap().set_modified(old).unwrap();
    }
    let cutoff = (std::time::SystemTime::now() - std::time::Duration::from_secs(3600))
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let none = std::collections::HashSet::new();
    assert_eq!(store.remove_stale_temporaries(cutoff, &none, true).await.unwrap(), (1, 13));
    assert!(stale.exists(), "a dry run removes nothing");
    assert_eq!(store.remove_stale_temporaries(cutoff, &none, false).await.unwrap(), (1, 13));
    assert!(!stale.exists() && fresh.exists() && other.exists());
    assert_eq!(store.stat(&info.digest).await.unwrap(), Some(4));
}
