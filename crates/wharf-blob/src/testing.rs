//! The backend suite: what every backend must do, run against each of them.
//!
//! Each backend's test file calls [`backend_suite!`](crate::backend_suite) with a
//! factory; the macro expands to one `#[tokio::test]` per scenario below.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use wharf_oci::{Algorithm, Digest};

use crate::{BlobError, BlobStore, ByteRange, LocalOptions, S3Options, StoreOptions};

/// A store for one test, plus whatever must live as long as it.
#[derive(Debug)]
pub struct TestStore {
    /// The store.
    pub store: BlobStore,
    _dir: Option<tempfile::TempDir>,
}

/// Environment variables naming the S3 server for tests (set by `.ci/run`).
pub const S3_ENDPOINT_VAR: &str = "WHARF_TEST_S3_ENDPOINT";
/// The bucket on that server.
pub const S3_BUCKET_VAR: &str = "WHARF_TEST_S3_BUCKET";
/// The backend app-level tests should use: `WHARF_TEST_BLOB=s3` or `local` (default).
pub const BACKEND_VAR: &str = "WHARF_TEST_BLOB";

impl TestStore {
    /// Wraps a store that needs nothing kept alive.
    pub fn wrap(store: BlobStore) -> TestStore {
        TestStore { store, _dir: None }
    }
}

/// A store in a fresh temporary directory.
pub async fn local() -> TestStore {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = BlobStore::open(&StoreOptions::Local(LocalOptions { root: dir.path().join("blobs"), fsync: true }))
        .expect("open local store");
    TestStore { store, _dir: Some(dir) }
}

/// S3 options for the test server, under a fresh prefix; panics with instructions
/// when the server is not configured.
pub fn s3_options() -> S3Options {
    let endpoint = std::env::var(S3_ENDPOINT_VAR).unwrap_or_else(|_| {
        panic!(
            "{S3_ENDPOINT_VAR} is not set: S3 tests need an S3-compatible server. Run `.ci/run`, which starts \
             one, or set {S3_ENDPOINT_VAR}, {S3_BUCKET_VAR}, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    });
    S3Options {
        endpoint: Some(endpoint),
        bucket: std::env::var(S3_BUCKET_VAR).unwrap_or_else(|_| "wharf-test".into()),
        region: "us-east-1".into(),
        // Short on purpose: s3s-fs stores each object's metadata in a file named after
        // base64(bucket + key), which caps keys at about 150 characters (real S3 takes
        // 1024), and a sha512 blob key is already 144 characters without a prefix.
        prefix: format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
        virtual_hosted_style: false,
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(60),
        max_retries: 2,
        retry_timeout: Duration::from_secs(20),
    }
}

/// A store on the test S3 server under a fresh prefix.
pub async fn s3() -> TestStore {
    TestStore { store: BlobStore::open(&StoreOptions::S3(s3_options())).expect("open S3 store"), _dir: None }
}

/// The store app-level tests should use, from `WHARF_TEST_BLOB`.
pub async fn from_env() -> TestStore {
    match std::env::var(BACKEND_VAR).as_deref() {
        Ok("s3") => s3().await,
        Ok("local") | Err(_) => local().await,
        Ok(other) => panic!("{BACKEND_VAR}={other:?}: expected local or s3"),
    }
}

/// Expands to one test per scenario of the backend suite.
#[macro_export]
macro_rules! backend_suite {
    ($make:expr) => {
        $crate::backend_suite!(@each $make;
            small_blob_round_trip,
            streamed_write_with_known_digest,
            streamed_write_with_digest_known_at_end,
            known_digest_mismatch_stores_nothing,
            late_digest_mismatch_stores_nothing,
            put_bytes_mismatch_stores_nothing,
            abort_stores_nothing,
            uncommitted_write_is_invisible,
            concurrent_writes_of_one_blob,
            sha512_blobs,
            empty_blob,
            byte_ranges,
            missing_blob,
            delete_blob,
            readiness_check_passes,
        );
    };
    (@each $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let t = $make.await;
                $crate::testing::$name(&t.store).await;
            }
        )*
    };
}

/// Deterministic, incompressible-looking bytes.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    let mut x = u32::from(seed).wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x.to_le_bytes()[0]
        })
        .collect()
}

async fn read_all(store: &BlobStore, digest: &Digest) -> Vec<u8> {
    store.get(digest, None).await.expect("blob readable").bytes().await.expect("stream completes")
}

async fn staging_is_empty(store: &BlobStore) -> bool {
    let prefix = store.staging_key();
    let prefix = object_store::path::Path::from_iter(prefix.parts().take(prefix.parts().count() - 1));
    store.object_store().list(Some(&prefix)).next().await.is_none()
}

/// Stores and reads back a small blob.
pub async fn small_blob_round_trip(store: &BlobStore) {
    let data = Bytes::from_static(b"{\"schemaVersion\":2}");
    let info = store.put_bytes(data.clone(), None).await.unwrap();
    assert_eq!(info.digest, Digest::of(Algorithm::Sha256, &data));
    assert_eq!(info.size, data.len() as u64);
    assert_eq!(store.stat(&info.digest).await.unwrap(), Some(data.len() as u64));
    assert_eq!(read_all(store, &info.digest).await, data);
    // Storing the same content again is harmless.
    assert_eq!(store.put_bytes(data, Some(&info.digest)).await.unwrap(), info);
}

/// A 12 MiB write in uneven chunks, digest announced up front (spans several parts).
pub async fn streamed_write_with_known_digest(store: &BlobStore) {
    let data = pattern(12 * 1024 * 1024 + 17, 1);
    let digest = Digest::of(Algorithm::Sha256, &data);
    let mut w = store.writer_for(&digest).await.unwrap();
    for chunk in data.chunks(1_000_003) {
        w.write(Bytes::copy_from_slice(chunk)).await.unwrap();
    }
    assert_eq!(w.size(), data.len() as u64);
    let info = w.commit(None).await.unwrap();
    assert_eq!(info.digest, digest);
    assert_eq!(read_all(store, &digest).await, data);
}

/// A write whose digest is only known when it ends, as in a chunked registry upload.
pub async fn streamed_write_with_digest_known_at_end(store: &BlobStore) {
    let data = pattern(6 * 1024 * 1024 + 5, 2);
    let mut w = store.writer(Algorithm::Sha256).await.unwrap();
    for chunk in data.chunks(65_536) {
        w.write(Bytes::copy_from_slice(chunk)).await.unwrap();
    }
    let expected = Digest::of(Algorithm::Sha256, &data);
    let info = w.commit(Some(&expected)).await.unwrap();
    assert_eq!(info.digest, expected);
    assert_eq!(read_all(store, &expected).await, data);
    assert!(staging_is_empty(store).await, "the staging object is gone after publishing");
}

/// Bytes that do not match the announced digest are refused and leave nothing.
pub async fn known_digest_mismatch_stores_nothing(store: &BlobStore) {
    let claimed = Digest::of(Algorithm::Sha256, b"what the client said");
    let mut w = store.writer_for(&claimed).await.unwrap();
    w.write(Bytes::from(pattern(6 * 1024 * 1024, 3))).await.unwrap();
    let err = w.commit(None).await.unwrap_err();
    assert!(matches!(&err, BlobError::DigestMismatch { expected, .. } if *expected == claimed), "{err:?}");
    assert_eq!(store.stat(&claimed).await.unwrap(), None);
    assert!(matches!(store.get(&claimed, None).await, Err(BlobError::NotFound(_))));
}

/// A late digest check that fails leaves neither the blob nor a staging object.
pub async fn late_digest_mismatch_stores_nothing(store: &BlobStore) {
    let data = pattern(1024, 4);
    let actual = Digest::of(Algorithm::Sha256, &data);
    let claimed = Digest::of(Algorithm::Sha256, b"other");
    let mut w = store.writer(Algorithm::Sha256).await.unwrap();
    w.write(Bytes::from(data)).await.unwrap();
    let err = w.commit(Some(&claimed)).await.unwrap_err();
    assert!(matches!(err, BlobError::DigestMismatch { .. }));
    assert_eq!(store.stat(&claimed).await.unwrap(), None);
    assert_eq!(store.stat(&actual).await.unwrap(), None);
    assert!(staging_is_empty(store).await);
}

/// `put_bytes` verifies too.
pub async fn put_bytes_mismatch_stores_nothing(store: &BlobStore) {
    let claimed = Digest::of(Algorithm::Sha256, b"a");
    let err = store.put_bytes(Bytes::from_static(b"b"), Some(&claimed)).await.unwrap_err();
    assert!(matches!(err, BlobError::DigestMismatch { .. }));
    assert_eq!(store.stat(&claimed).await.unwrap(), None);
    assert_eq!(store.stat(&Digest::of(Algorithm::Sha256, b"b")).await.unwrap(), None);
}

/// An aborted write leaves nothing.
pub async fn abort_stores_nothing(store: &BlobStore) {
    let data = pattern(2 * 1024 * 1024, 5);
    let digest = Digest::of(Algorithm::Sha256, &data);
    let mut w = store.writer_for(&digest).await.unwrap();
    w.write(Bytes::from(data)).await.unwrap();
    w.abort().await.unwrap();
    assert_eq!(store.stat(&digest).await.unwrap(), None);
}

/// Until commit, a blob is not visible, not even partly.
pub async fn uncommitted_write_is_invisible(store: &BlobStore) {
    let data = pattern(7 * 1024 * 1024, 6);
    let digest = Digest::of(Algorithm::Sha256, &data);
    let mut w = store.writer_for(&digest).await.unwrap();
    w.write(Bytes::copy_from_slice(&data[..6 * 1024 * 1024])).await.unwrap();
    assert_eq!(store.stat(&digest).await.unwrap(), None);
    assert!(matches!(store.get(&digest, None).await, Err(BlobError::NotFound(_))));
    w.write(Bytes::copy_from_slice(&data[6 * 1024 * 1024..])).await.unwrap();
    w.commit(None).await.unwrap();
    assert_eq!(store.stat(&digest).await.unwrap(), Some(data.len() as u64));
}

/// Several writers of the same content race; every commit succeeds and the blob is whole.
pub async fn concurrent_writes_of_one_blob(store: &BlobStore) {
    let data = Bytes::from(pattern(3 * 1024 * 1024 + 1, 7));
    let digest = Digest::of(Algorithm::Sha256, &data);
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let store = store.clone();
            let data = data.clone();
            let digest = digest.clone();
            tokio::spawn(async move {
                let mut w =
                    if i % 2 == 0 { store.writer_for(&digest).await? } else { store.writer(Algorithm::Sha256).await? };
                for chunk in data.chunks(500_000) {
                    w.write(Bytes::copy_from_slice(chunk)).await?;
                }
                w.commit(Some(&digest)).await
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().digest, digest);
    }
    assert_eq!(read_all(store, &digest).await, data);
}

/// SHA-512 digests are accepted and stored under their own algorithm.
pub async fn sha512_blobs(store: &BlobStore) {
    let data = pattern(100_000, 8);
    let digest = Digest::of(Algorithm::Sha512, &data);
    let mut w = store.writer(Algorithm::Sha512).await.unwrap();
    w.write(Bytes::from(data.clone())).await.unwrap();
    assert_eq!(w.commit(Some(&digest)).await.unwrap().digest, digest);
    assert_eq!(read_all(store, &digest).await, data);
    let small = store.put_bytes(Bytes::from_static(b"x"), Some(&Digest::of(Algorithm::Sha512, b"x"))).await.unwrap();
    assert_eq!(small.digest.algorithm(), Algorithm::Sha512);
}

/// The empty blob (used by OCI artifacts as an empty config) works.
pub async fn empty_blob(store: &BlobStore) {
    let digest = Digest::of(Algorithm::Sha256, b"");
    let w = store.writer_for(&digest).await.unwrap();
    assert_eq!(w.commit(None).await.unwrap().size, 0);
    assert_eq!(store.stat(&digest).await.unwrap(), Some(0));
    assert!(read_all(store, &digest).await.is_empty());
}

/// Byte ranges, including open-ended and out-of-range ones.
pub async fn byte_ranges(store: &BlobStore) {
    let data = pattern(10_000, 9);
    let info = store.put_bytes(Bytes::from(data.clone()), None).await.unwrap();
    let read = |start, end| {
        let info = info.clone();
        async move { store.get(&info.digest, Some(ByteRange { start, end })).await }
    };
    let r = read(100, Some(199)).await.unwrap();
    assert_eq!((r.size, r.range.clone()), (10_000, 100..200));
    assert_eq!(r.bytes().await.unwrap(), &data[100..200]);
    let r = read(9_990, None).await.unwrap();
    assert_eq!(r.bytes().await.unwrap(), &data[9_990..]);
    let err = read(20_000, None).await.unwrap_err();
    assert!(matches!(err, BlobError::RangeNotSatisfiable { size: 10_000, .. }), "{err:?}");
    let err = read(50, Some(10)).await.unwrap_err();
    assert!(matches!(err, BlobError::RangeNotSatisfiable { .. }), "{err:?}");
}

/// Unknown digests are reported as not found, not as failures.
pub async fn missing_blob(store: &BlobStore) {
    let digest = Digest::of(Algorithm::Sha256, b"never stored");
    assert_eq!(store.stat(&digest).await.unwrap(), None);
    let err = store.get(&digest, None).await.unwrap_err();
    assert_eq!(err.to_string(), format!("blob {digest} not found"));
    assert!(!err.is_unavailable());
}

/// Deleting is idempotent and only removes the named blob.
pub async fn delete_blob(store: &BlobStore) {
    let a = store.put_bytes(Bytes::from_static(b"a"), None).await.unwrap();
    let b = store.put_bytes(Bytes::from_static(b"b"), None).await.unwrap();
    assert!(store.delete(&a.digest).await.unwrap());
    assert!(!store.delete(&a.digest).await.unwrap());
    assert_eq!(store.stat(&a.digest).await.unwrap(), None);
    assert_eq!(store.stat(&b.digest).await.unwrap(), Some(1));
}

/// A reachable backend passes the readiness probe.
pub async fn readiness_check_passes(store: &BlobStore) {
    store.check().await.unwrap();
}
