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
