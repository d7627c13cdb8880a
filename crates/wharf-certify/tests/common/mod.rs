//! Builders of OCI image layouts from real tar layers, shared by the integration tests.
#![allow(dead_code)]

pub mod rawtar;

use std::path::Path;

use serde_json::{Value, json};
use wharf_certify::image::Layout;
use wharf_certify::policy::{Action, Policy};
use wharf_oci::{Algorithm, Digest};

pub const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const INDEX: &str = "application/vnd.oci.image.index.v1+json";

pub fn put(dir: &Path, bytes: &[u8]) -> (String, u64) {
    let d = Digest::of(Algorithm::Sha256, bytes);
    let path = dir.join("blobs/sha256").join(d.hex());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
    (d.to_string(), bytes.len() as u64)
}

/// A gzip tar layer of `(path, mode, content)` files.
pub fn layer(files: &[(&str, u32, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    for (path, mode, content) in files {
        let mut h = tar::Header::new_ustar();
        h.set_size(content.len() as u64);
        h.set_mode(*mode);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, path, *content).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

/// An ELF header for `machine` (62 x86-64, 183 aarch64), padded to a small file.
pub fn elf(machine: u16) -> Vec<u8> {
    let mut e = vec![0u8; 64];
    e[..4].copy_from_slice(b"\x7fELF");
    e[4] = 2;
    e[5] = 1;
    e[18..20].copy_from_slice(&machine.to_le_bytes());
    e
}

/// Writes an image (config + layers) and returns its manifest descriptor.
pub fn image(dir: &Path, arch: &str, user: &str, labels: Value, layers: &[Vec<u8>]) -> Value {
    let config = json!({"architecture": arch, "os": "linux", "config": {"User": user, "Labels": labels}, "rootfs": {"type": "layers", "diff_ids": []}});
    let mut d = image_with_config(dir, &config, layers);
    d["platform"] = json!({"architecture": arch, "os": "linux"});
    d
}

/// Writes an image with this config and returns its manifest descriptor.
pub fn image_with_config(dir: &Path, config: &Value, layers: &[Vec<u8>]) -> Value {
    let (cd, cs) = put(dir, config.to_string().as_bytes());
    let layer_descs: Vec<Value> = layers
        .iter()
        .map(|l| {
            let (d, s) = put(dir, l);
            json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": s})
        })
        .collect();
    let manifest = json!({"schemaVersion": 2, "mediaType": MANIFEST, "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs}, "layers": layer_descs});
    let (md, ms) = put(dir, manifest.to_string().as_bytes());
    json!({"mediaType": MANIFEST, "digest": md, "size": ms})
}

pub fn layout(dir: &Path, manifests: Vec<Value>) -> Layout {
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    std::fs::write(dir.join("index.json"), json!({"schemaVersion": 2, "manifests": manifests}).to_string()).unwrap();
    Layout::open(dir).unwrap()
}

pub fn labels() -> Value {
    json!({
        "org.opencontainers.image.title": "app", "org.opencontainers.image.version": "1.0.0",
        "org.opencontainers.image.vendor": "Contoso", "org.opencontainers.image.licenses": "Apache-2.0",
        "org.opencontainers.image.source": "https://contoso.example/app"
    })
}

/// The default policy without the malware scan: tests/malware.rs covers that with a
/// real clamd; the other tests need none.
pub fn unscanned() -> Policy {
    Policy { not_scanned: Action::Off, ..Policy::default() }
}
