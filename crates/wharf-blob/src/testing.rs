//! The backend suite: what every backend must do, run against each of them.
//!
//! Each backend's test file calls [`backend_suite!`](crate::backend_suite) with a
//! factory; the macro expands to one `#[tokio::test]` per scenario below.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use wharf_oci::{Algorithm, Digest};

use crate::{BlobError, BlobStore, ByteRange, LocalOptions, S3Options, StoreOptions, UploadState};

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
            upload_in_several_appends,
            upload_resumes_after_a_disconnect,
            upload_ignores_bytes_of_unrecorded_requests,
            upload_with_wrong_digest_stores_nothing,
            upload_with_sha512_digest,
            upload_abort_and_empty_upload,
            upload_continues_on_another_node,
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

fn body(chunks: Vec<Vec<u8>>) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + Unpin {
    futures::stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from(c))))
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Three requests, then a commit: the blob is their concatenation.
pub async fn upload_in_several_appends(store: &BlobStore) {
    let data = pattern(3 * 1024 * 1024 + 77, 20);
    let id = new_id();
    let mut state = UploadState::default();
    for part in data.chunks(1024 * 1024 + 13) {
        let a =
            store.append_upload(&id, &state, body(part.chunks(50_000).map(<[u8]>::to_vec).collect())).await.unwrap();
        assert!(a.interrupted.is_none());
        assert_eq!(a.written, part.len() as u64);
        state = a.state;
    }
    assert_eq!(state.size, data.len() as u64);
    let digest = Digest::of(Algorithm::Sha256, &data);
    assert_eq!(store.stat(&digest).await.unwrap(), None, "nothing visible before commit");
    let info = store.commit_upload(&id, &state, &digest).await.unwrap();
    assert_eq!(info.size, data.len() as u64);
    assert_eq!(read_all(store, &digest).await, data);
}

/// A body that breaks off keeps what arrived; the session continues from there.
pub async fn upload_resumes_after_a_disconnect(store: &BlobStore) {
    let data = pattern(700_000, 21);
    let id = new_id();
    let broken = futures::stream::iter(vec![
        Ok(Bytes::copy_from_slice(&data[..300_000])),
        Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "client went away")),
    ]);
    let a = store.append_upload(&id, &UploadState::default(), broken).await.unwrap();
    assert_eq!(a.interrupted.as_deref(), Some("client went away"));
    assert_eq!(a.state.size, 300_000);
    let b = store.append_upload(&id, &a.state, body(vec![data[300_000..].to_vec()])).await.unwrap();
    let digest = Digest::of(Algorithm::Sha256, &data);
    store.commit_upload(&id, &b.state, &digest).await.unwrap();
    assert_eq!(read_all(store, &digest).await, data);
}

/// Bytes stored by a request whose new state was never recorded (a crash between
/// storing and recording) are replaced when the client retries from the recorded state.
pub async fn upload_ignores_bytes_of_unrecorded_requests(store: &BlobStore) {
    let id = new_id();
    let first = store.append_upload(&id, &UploadState::default(), body(vec![b"hello ".to_vec()])).await.unwrap();
    // This request's progress is "lost".
    store.append_upload(&id, &first.state, body(vec![b"GARBAGE GARBAGE".to_vec()])).await.unwrap();
    let retried = store.append_upload(&id, &first.state, body(vec![b"world".to_vec()])).await.unwrap();
    let digest = Digest::of(Algorithm::Sha256, b"hello world");
    store.commit_upload(&id, &retried.state, &digest).await.unwrap();
    assert_eq!(read_all(store, &digest).await, b"hello world");
}

/// A commit with the wrong digest stores nothing and ends the session.
pub async fn upload_with_wrong_digest_stores_nothing(store: &BlobStore) {
    let id = new_id();
    let a = store.append_upload(&id, &UploadState::default(), body(vec![b"some bytes".to_vec()])).await.unwrap();
    let wrong = Digest::of(Algorithm::Sha256, b"other bytes");
    let err = store.commit_upload(&id, &a.state, &wrong).await.unwrap_err();
    assert!(matches!(&err, BlobError::DigestMismatch { expected, .. } if *expected == wrong), "{err:?}");
    assert_eq!(store.stat(&wrong).await.unwrap(), None);
    assert_eq!(store.stat(&Digest::of(Algorithm::Sha256, b"some bytes")).await.unwrap(), None);
}

/// Sessions hash SHA-256 as they go; a SHA-512 commit re-reads the bytes.
pub async fn upload_with_sha512_digest(store: &BlobStore) {
    let data = pattern(200_000, 22);
    let id = new_id();
    let a = store.append_upload(&id, &UploadState::default(), body(vec![data[..1000].to_vec()])).await.unwrap();
    let b = store.append_upload(&id, &a.state, body(vec![data[1000..].to_vec()])).await.unwrap();
    let digest = Digest::of(Algorithm::Sha512, &data);
    store.commit_upload(&id, &b.state, &digest).await.unwrap();
    assert_eq!(read_all(store, &digest).await, data);
}

/// Aborting discards the bytes; an empty session commits the empty blob.
pub async fn upload_abort_and_empty_upload(store: &BlobStore) {
    let id = new_id();
    let a = store.append_upload(&id, &UploadState::default(), body(vec![b"doomed".to_vec()])).await.unwrap();
    store.abort_upload(&id, &a.state).await.unwrap();
    store.abort_upload(&id, &a.state).await.unwrap();
    let err = store.commit_upload("bad/id", &a.state, &Digest::of(Algorithm::Sha256, b"")).await.unwrap_err();
    assert!(matches!(err, BlobError::BadUploadState(_)));
    let empty = Digest::of(Algorithm::Sha256, b"");
    let info = store.commit_upload(&new_id(), &UploadState::default(), &empty).await.unwrap();
    assert_eq!(info.size, 0);
    assert_eq!(store.stat(&empty).await.unwrap(), Some(0));
}

/// A session continued and committed where its hasher is not (a restart, another
/// node): the stored bytes are hashed at commit, and a wrong digest is still caught.
pub async fn upload_continues_on_another_node(store: &BlobStore) {
    let data = pattern(1_500_000, 23);
    let id = new_id();
    let a = store.append_upload(&id, &UploadState::default(), body(vec![data[..700_000].to_vec()])).await.unwrap();
    store.forget_hashers();
    let b = store.append_upload(&id, &a.state, body(vec![data[700_000..].to_vec()])).await.unwrap();
    let wrong = Digest::of(Algorithm::Sha256, b"not it");
    assert!(matches!(store.commit_upload(&id, &b.state, &wrong).await, Err(BlobError::DigestMismatch { .. })));
    let id = new_id();
    let a = store.append_upload(&id, &UploadState::default(), body(vec![data[..700_000].to_vec()])).await.unwrap();
    store.forget_hashers();
    let b = store.append_upload(&id, &a.state, body(vec![data[700_000..].to_vec()])).await.unwrap();
    store.forget_hashers();
    let digest = Digest::of(Algorithm::Sha256, &data);
    store.commit_upload(&id, &b.state, &digest).await.unwrap();
    assert_eq!(read_all(store, &digest).await, data);
}
