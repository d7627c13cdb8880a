//! The backend suite on a real S3-compatible server (s3s-fs, started by `.ci/run`),
//! plus the behaviour when S3 cannot be reached.

wharf_blob::backend_suite!(wharf_blob::testing::s3());

use std::time::{Duration, Instant};

use wharf_blob::{BlobError, BlobStore, StoreOptions};
use wharf_oci::{Algorithm, Digest};

fn unreachable_store() -> BlobStore {
    let mut options = wharf_blob::testing::s3_options();
    // Port 9 (discard) is closed on these machines: connections are refused.
    options.endpoint = Some("http://127.0.0.1:9".into());
    options.max_retries = 1;
    options.retry_timeout = Duration::from_secs(2);
    options.connect_timeout = Duration::from_secs(1);
    BlobStore::open(&StoreOptions::S3(options)).unwrap()
}

/// Readiness fails quickly, naming the endpoint; operations fail cleanly as
/// "unavailable" rather than "not found".
#[tokio::test]
async fn unreachable_s3_fails_fast_and_clearly() {
    let store = unreachable_store();
    let started = Instant::now();
    let err = store.check().await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert!(err.is_unavailable(), "{err:?}");
    let msg = err.to_string();
    assert!(msg.starts_with("the blob store (s3://wharf-test/t"), "{msg}");
    assert!(msg.contains("at http://127.0.0.1:9) failed"), "{msg}");

    let digest = Digest::of(Algorithm::Sha256, b"x");
    assert!(store.stat(&digest).await.unwrap_err().is_unavailable());
    assert!(store.get(&digest, None).await.unwrap_err().is_unavailable());
    let put = store.put_bytes(bytes::Bytes::from_static(b"x"), None).await.unwrap_err();
    assert!(matches!(put, BlobError::Backend { .. }), "{put:?}");
}

/// A bucket that does not exist fails the readiness check.
#[tokio::test]
async fn missing_bucket_fails_readiness() {
    let mut options = wharf_blob::testing::s3_options();
    options.bucket = "no-such-bucket".into();
    let store = BlobStore::open(&StoreOptions::S3(options)).unwrap();
    let err = store.check().await.unwrap_err();
    assert!(err.is_unavailable() && err.to_string().contains("no-such-bucket"), "{err}");
}
