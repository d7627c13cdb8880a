//! Images to certify: an OCI image layout directory, its index resolved to one
//! manifest per platform. Every blob is read by digest and its bytes are checked
//! against that digest as they stream; JSON documents are size-capped.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use wharf_oci::{Algorithm, Digest, Hasher};

use crate::tarball::typeflag;

/// The largest JSON document read (index, manifest, config).
pub const MAX_JSON_BYTES: u64 = 4 << 20;
/// How deep indexes may nest (an index of indexes of …).
pub const MAX_INDEX_DEPTH: usize = 4;

const INDEX_TYPES: &[&str] =
    &["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"];
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const MANIFEST_TYPES: &[&str] =
    &["application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"];

/// A content descriptor.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Media type.
    #[serde(default)]
    pub media_type: String,
    /// Digest.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
    /// Platform, in an index.
    #[serde(default)]
    pub platform: Option<Platform>,
    /// Annotations (an OCI layout names its images with `org.opencontainers.image.ref.name`).
    #[serde(default)]
    pub annotations: std::collections::BTreeMap<String, String>,
}

/// A platform of a multi-arch image.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Platform {
    /// `amd64`, `arm64`, …
    #[serde(default)]
    pub architecture: String,
    /// `linux`, …
    #[serde(default)]
    pub os: String,
    /// `v8`, …
    #[serde(default)]
    pub variant: Option<String>,
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Deserialize)]
struct Index {
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

/// An image manifest.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    /// The config blob.
    pub config: Descriptor,
    /// The layers, base first.
    #[serde(default)]
    pub layers: Vec<Descriptor>,
}

/// The parts of an image config certification reads.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ImageConfig {
    /// Declared architecture.
    #[serde(default)]
    pub architecture: String,
    /// Declared OS.
    #[serde(default)]
    pub os: String,
    /// Runtime configuration.
    #[serde(default)]
    pub config: RuntimeConfig,
    /// The layers' uncompressed digests.
    #[serde(default)]
    pub rootfs: RootFs,
}

/// `config.rootfs`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RootFs {
    /// Each layer's uncompressed digest, in order.
    #[serde(default)]
    pub diff_ids: Vec<String>,
}

/// `config.config`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RuntimeConfig {
    /// The user the container runs as.
    #[serde(default)]
    pub user: Option<String>,
    /// Environment.
    #[serde(default)]
    pub env: Option<Vec<String>>,
    /// Labels.
    #[serde(default)]
    pub labels: Option<std::collections::BTreeMap<String, String>>,
    /// The default command.
    #[serde(default)]
    pub cmd: Option<Vec<String>>,
    /// The entry point.
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
}

/// One platform's image, resolved.
#[derive(Debug, Clone)]
pub struct PlatformImage {
    /// The platform the index names (or the config declares, for a single manifest).
    pub platform: Platform,
    /// The manifest's digest.
    pub manifest_digest: String,
    /// The manifest.
    pub manifest: Manifest,
    /// The config.
    pub config: ImageConfig,
}

/// Why an image cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// Not an OCI layout, or a file is missing.
    #[error("{0}")]
    Layout(String),
    /// A blob's bytes do not match its digest.
    #[error("blob {expected} has digest {actual}: the layout is damaged or was tampered with")]
    DigestMismatch {
        /// What the descriptor says.
        expected: String,
        /// What the bytes hash to.
        actual: String,
    },
    /// A document is not what it should be.
    #[error("{0}")]
    Invalid(String),
    /// I/O.
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// Where an image's files are: a layout directory, or any store of blobs by digest
/// (the marketplace's blob store, read without copying anything out).
pub trait BlobSource: std::fmt::Debug + Send + Sync {
    /// The layout's `index.json`: the images to certify.
    fn index(&self) -> io::Result<Vec<u8>>;
    /// The bytes of blob `digest` (the layout checks them against the digest).
    fn open(&self, digest: &Digest) -> io::Result<Box<dyn Read + Send>>;
}

/// An OCI image layout directory.
#[derive(Debug)]
struct Directory(PathBuf);

impl BlobSource for Directory {
    fn index(&self) -> io::Result<Vec<u8>> {
        std::fs::read(self.0.join("index.json"))
    }

    fn open(&self, digest: &Digest) -> io::Result<Box<dyn Read + Send>> {
        let path = self.0.join("blobs").join(digest.algorithm().as_str()).join(digest.hex());
        let file =
            std::fs::File::open(&path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        Ok(Box::new(file))
    }
}

/// An image layout: its index and its blobs, from a directory or another source.
#[derive(Debug, Clone)]
pub struct Layout {
    source: std::sync::Arc<dyn BlobSource>,
}

impl Layout {
    /// Opens a layout directory (it must have `oci-layout` and `index.json`).
    pub fn open(dir: &Path) -> Result<Layout, ImageError> {
        for f in ["oci-layout", "index.json"] {
            if !dir.join(f).is_file() {
                return Err(ImageError::Layout(format!("{} is not an OCI image layout: it has no {f}", dir.display())));
            }
        }
        Ok(Layout::from_source(std::sync::Arc::new(Directory(dir.to_owned()))))
    }

    /// A layout whose index and blobs come from `source`.
    pub fn from_source(source: std::sync::Arc<dyn BlobSource>) -> Layout {
        Layout { source }
    }

    /// Opens an oci-archive (a tar of an OCI layout) or a docker-archive (`docker
    /// save`, skopeo's `docker-archive:`) by copying its files into a private scratch
    /// directory that lives as long as the returned guard. Files are stored under
    /// names built here: an OCI layout's blobs by their validated digest, anything
    /// else by the SHA-256 of its bytes; never under the archive's own paths. A
    /// docker-archive's `manifest.json` is turned into an OCI index and manifests
    /// whose blobs are the files it names (each image tagged with its `RepoTags`).
    pub fn from_archive(archive: &Path) -> Result<(Layout, tempfile::TempDir), ImageError> {
        let file = std::fs::File::open(archive)
            .map_err(|e| ImageError::Layout(format!("cannot open {}: {e}", archive.display())))?;
        let scratch = tempfile::Builder::new().prefix("wharf-certify-").tempdir()?;
        // Read as skopeo and the runtimes read it (Go's archive/tar), ambiguities refused.
        let mut tar = crate::tarball::Reader::new(io::BufReader::new(file));
        let bad = |e: &dyn std::fmt::Display| {
            ImageError::Layout(format!("{} is not a readable oci-archive: {e}", archive.display()))
        };
        // Files that are not OCI layout blobs, by their path in the archive: digest and size.
        let mut others: BTreeMap<String, (Digest, u64)> = BTreeMap::new();
        let mut links: BTreeMap<String, String> = BTreeMap::new();
        let mut docker_manifest: Option<Vec<u8>> = None;
        let blob_dir = scratch.path().join("blobs").join("sha256");
        std::fs::create_dir_all(&blob_dir)?;
        while let Some(header) = tar.next_entry().map_err(|e| bad(&e))? {
            if let Some(a) = header.ambiguities.first() {
                return Err(ImageError::Invalid(format!(
                    "{} is ambiguous: tar readers disagree on it ({} at offset {}: Go's archive/tar, which skopeo and the runtimes use, reads {}; others read {})",
                    archive.display(),
                    a.what,
                    a.offset,
                    a.runtime,
                    a.other
                )));
            }
            let name = std::str::from_utf8(&header.name).unwrap_or("").trim_start_matches("./").to_owned();
            let kind = header.typeflag;
            let size = header.size.max(0) as u64;
            let mut entry = tar.data();
            if kind == typeflag::SYMLINK || kind == typeflag::LINK {
                // docker save links legacy layer paths to its blobs.
                let target = String::from_utf8_lossy(&header.linkname).into_owned();
                let resolved = if kind == typeflag::SYMLINK {
                    let base = name.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
                    normalize_join(base, &target)
                } else {
                    Some(target.trim_start_matches("./").to_owned())
                };
                if let Some(r) = resolved {
                    links.insert(name, r);
                }
                continue;
            }
            if kind != typeflag::REG {
                continue;
            }
            let target = match name.as_str() {
                "oci-layout" | "index.json" => Some(scratch.path().join(&name)),
                _ => match name.strip_prefix("blobs/").and_then(|rest| rest.split_once('/')) {
                    Some((alg, hex)) => match format!("{alg}:{hex}").parse::<Digest>() {
                        Ok(d) => {
                            let dir = scratch.path().join("blobs").join(d.algorithm().as_str());
                            std::fs::create_dir_all(&dir)?;
                            Some(dir.join(d.hex()))
                        }
                        Err(_) => None,
                    },
                    None => None,
                },
            };
            if let Some(target) = target {
                let mut out = std::fs::File::create(&target)?;
                io::copy(&mut entry, &mut out).map_err(|e| bad(&e))?;
                // A docker save of Docker 25+ also has blobs/: they are the files manifest.json names.
                if let Some(hex) = name.strip_prefix("blobs/sha256/")
                    && let Ok(d) = format!("sha256:{hex}").parse::<Digest>()
                {
                    others.insert(name.clone(), (d, size));
                }
                continue;
            }
            if name == "manifest.json" {
                let mut bytes = Vec::new();
                (&mut entry).take(MAX_JSON_BYTES + 1).read_to_end(&mut bytes).map_err(|e| bad(&e))?;
                if bytes.len() as u64 > MAX_JSON_BYTES {
                    return Err(ImageError::Invalid(format!("manifest.json is larger than {MAX_JSON_BYTES} bytes")));
                }
                docker_manifest = Some(bytes);
                continue;
            }
            // Any other file: stored by the digest of its bytes.
            let tmp = blob_dir.join(".incoming");
            let mut out = std::fs::File::create(&tmp)?;
            let mut hasher = HashingWriter { inner: &mut out, hasher: Some(Algorithm::Sha256.hasher()), bytes: 0 };
            io::copy(&mut entry, &mut hasher).map_err(|e| bad(&e))?;
            let bytes = hasher.bytes;
            let d = hasher.hasher.take().map(|h| h.finish()).unwrap_or_else(|| Digest::of(Algorithm::Sha256, b""));
            std::fs::rename(&tmp, blob_dir.join(d.hex()))?;
            others.insert(name, (d, bytes));
        }
        let has_index = scratch.path().join("index.json").exists();
        if !has_index && let Some(bytes) = docker_manifest {
            docker_layout(scratch.path(), &bytes, &others, &links)?;
        }
        Ok((
            Layout::open(scratch.path()).map_err(|_| {
                ImageError::Layout(format!(
                    "{} is neither an oci-archive nor a docker-archive: it holds no index.json or manifest.json",
                    archive.display()
                ))
            })?,
            scratch,
        ))
    }

    /// Blob `digest`, unchecked, and the digest parsed.
    fn open_blob(&self, digest: &str) -> Result<(Box<dyn Read + Send>, Digest), ImageError> {
        let d: Digest = digest.parse().map_err(|e| ImageError::Invalid(format!("invalid digest {digest:?}: {e}")))?;
        let reader = self
            .source
            .open(&d)
            .map_err(|e| ImageError::Layout(format!("blob {digest} is missing from the layout ({e})")))?;
        Ok((reader, d))
    }

    /// A blob's bytes as a stream, checked against its digest when the stream ends.
    pub fn blob(&self, digest: &str) -> Result<Verified<Box<dyn Read + Send>>, ImageError> {
        let (reader, d) = self.open_blob(digest)?;
        Ok(Verified { inner: reader, hasher: Some(d.algorithm().hasher()), expected: d })
    }

    /// The digest the layout's index tags `tag`, if any.
    pub fn tagged(&self, tag: &str) -> Option<String> {
        let text = self.source.index().ok()?;
        let index: Index = serde_json::from_slice(&text).ok()?;
        index
            .manifests
            .iter()
            .find(|d| d.annotations.get("org.opencontainers.image.ref.name").map(String::as_str) == Some(tag))
            .map(|d| d.digest.clone())
    }

    /// The index entries tagged `tag` (or all of them), signatures aside.
    fn entries(&self, tag: Option<&str>) -> Result<Vec<Descriptor>, ImageError> {
        let text = self.source.index()?;
        let index: Index = serde_json::from_slice(&text)
            .map_err(|e| ImageError::Invalid(format!("index.json is not a valid OCI index: {e}")))?;
        Ok(index
            .manifests
            .into_iter()
            .filter(|d| !is_signature(d))
            .filter(|d| {
                tag.is_none_or(|t| {
                    d.annotations.get("org.opencontainers.image.ref.name").map(String::as_str) == Some(t)
                })
            })
            .collect())
    }

    /// The digests of the index entries tagged `tag` (or all of them): what a
    /// signature of the image as a whole names.
    pub fn top_digests(&self, tag: Option<&str>) -> Vec<String> {
        self.entries(tag).unwrap_or_default().into_iter().map(|d| d.digest).collect()
    }

    /// A JSON blob, size-capped and checked against its digest.
    pub fn read_json<T: for<'de> Deserialize<'de>>(&self, digest: &str) -> Result<T, ImageError> {
        self.json(digest, "document")
    }

    /// A small blob's bytes (at most the JSON cap), checked against its digest.
    pub fn read_blob(&self, digest: &str) -> Result<Vec<u8>, ImageError> {
        self.small_blob(digest, "blob")
    }

    fn small_blob(&self, digest: &str, what: &str) -> Result<Vec<u8>, ImageError> {
        let (file, expected) = self.open_blob(digest)?;
        let mut bytes = Vec::new();
        file.take(MAX_JSON_BYTES + 1).read_to_end(&mut bytes)?;
        if bytes.len() as u64 > MAX_JSON_BYTES {
            return Err(ImageError::Invalid(format!("the {what} {digest} is larger than {MAX_JSON_BYTES} bytes")));
        }
        let actual = Digest::of(expected.algorithm(), &bytes);
        if actual != expected {
            return Err(ImageError::DigestMismatch { expected: digest.to_owned(), actual: actual.to_string() });
        }
        Ok(bytes)
    }

    fn json<T: for<'de> Deserialize<'de>>(&self, digest: &str, what: &str) -> Result<T, ImageError> {
        let bytes = self.small_blob(digest, what)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| ImageError::Invalid(format!("the {what} {digest} is not valid: {e}")))
    }

    /// Every platform image the layout's index names (all of them, or those tagged
    /// `tag` through `org.opencontainers.image.ref.name`).
    pub fn images(&self, tag: Option<&str>) -> Result<Vec<PlatformImage>, ImageError> {
        let chosen = self.entries(tag)?;
        if chosen.is_empty() {
            return Err(ImageError::Layout(match tag {
                Some(t) => format!("the layout has no image tagged {t:?}"),
                None => "the layout's index.json names no image".to_owned(),
            }));
        }
        let mut out = Vec::new();
        let mut seen = Vec::new();
        for d in &chosen {
            self.resolve(d, 0, &mut seen, &mut out)?;
        }
        Ok(out)
    }

    fn resolve(
        &self,
        d: &Descriptor,
        depth: usize,
        seen: &mut Vec<String>,
        out: &mut Vec<PlatformImage>,
    ) -> Result<(), ImageError> {
        if INDEX_TYPES.contains(&d.media_type.as_str()) {
            if depth >= MAX_INDEX_DEPTH {
                return Err(ImageError::Invalid(format!(
                    "index {} nests more than {MAX_INDEX_DEPTH} indexes deep",
                    d.digest
                )));
            }
            if seen.contains(&d.digest) {
                return Err(ImageError::Invalid(format!("index {} refers to itself", d.digest)));
            }
            seen.push(d.digest.clone());
            let index: Index = self.json(&d.digest, "index")?;
            for m in &index.manifests {
                self.resolve(m, depth + 1, seen, out)?;
            }
            seen.pop();
            return Ok(());
        }
        let attestation = d.platform.as_ref().is_some_and(|p| p.os == "unknown")
            || d.annotations.contains_key("vnd.docker.reference.type");
        if !MANIFEST_TYPES.contains(&d.media_type.as_str()) || attestation {
            // Attestations and other artifacts in an index are not platforms.
            return Ok(());
        }
        let manifest: Manifest = self.json(&d.digest, "manifest")?;
        let config: ImageConfig = self.json(&manifest.config.digest, "config")?;
        let platform = d.platform.clone().unwrap_or_else(|| Platform {
            architecture: config.architecture.clone(),
            os: config.os.clone(),
            variant: None,
        });
        out.push(PlatformImage { platform, manifest_digest: d.digest.clone(), manifest, config });
        Ok(())
    }
}

/// A blob stream whose digest is checked when it ends: reading past the end fails
/// with [`io::ErrorKind::InvalidData`] if the bytes do not match.
#[derive(Debug)]
pub struct Verified<R> {
    inner: R,
    hasher: Option<Hasher>,
    expected: Digest,
}

impl<R: Read> Read for Verified<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            if let Some(h) = &mut self.hasher {
                h.update(&buf[..n]);
            }
        } else if let Some(h) = self.hasher.take() {
            let actual = h.finish();
            if actual != self.expected {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("blob {} has digest {actual}", self.expected),
                ));
            }
        }
        Ok(n)
    }
}

/// Whether an index entry is a cosign signature (tagged `sha256-<hex>.sig`), not an image.
fn is_signature(d: &Descriptor) -> bool {
    d.annotations
        .get("org.opencontainers.image.ref.name")
        .is_some_and(|t| t.starts_with("sha256-") && t.ends_with(".sig"))
}

/// Joins a relative link target to its directory, refusing to climb out of the archive.
fn normalize_join(base: &str, target: &str) -> Option<String> {
    let mut parts: Vec<&str> =
        if target.starts_with('/') { Vec::new() } else { base.split('/').filter(|p| !p.is_empty()).collect() };
    for p in target.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

/// Writes what it is given and hashes it.
struct HashingWriter<'a, W> {
    inner: &'a mut W,
    hasher: Option<wharf_oci::Hasher>,
    bytes: u64,
}

impl<W: io::Write> io::Write for HashingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n]);
        }
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// One image of a docker-archive's `manifest.json`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerArchiveImage {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// Writes an OCI index and manifests for a docker-archive's `manifest.json` whose
/// files are already in the scratch layout's blobs.
fn docker_layout(
    dir: &Path,
    manifest_json: &[u8],
    files: &BTreeMap<String, (Digest, u64)>,
    links: &BTreeMap<String, String>,
) -> Result<(), ImageError> {
    let images: Vec<DockerArchiveImage> = serde_json::from_slice(manifest_json)
        .map_err(|e| ImageError::Invalid(format!("the docker-archive's manifest.json is not valid: {e}")))?;
    let find = |name: &str| -> Result<(Digest, u64), ImageError> {
        let mut name = name.trim_start_matches("./").to_owned();
        for _ in 0..8 {
            if let Some(f) = files.get(&name) {
                return Ok(f.clone());
            }
            match links.get(&name) {
                Some(next) => name = next.clone(),
                None => break,
            }
        }
        Err(ImageError::Invalid(format!("the docker-archive's manifest.json names {name}, which the archive lacks")))
    };
    let blob_dir = dir.join("blobs").join("sha256");
    let mut descriptors = Vec::new();
    for image in &images {
        let (config, config_size) = find(&image.config)?;
        let mut layers = Vec::new();
        for l in &image.layers {
            let (d, size) = find(l)?;
            let mut head = [0u8; 4];
            let n = std::fs::File::open(blob_dir.join(d.hex()))?.read(&mut head)?;
            let media_type = match crate::layer::Compression::detect(&head[..n]) {
                crate::layer::Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
                crate::layer::Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
                crate::layer::Compression::None => "application/vnd.oci.image.layer.v1.tar",
            };
            layers.push(serde_json::json!({"mediaType": media_type, "digest": d.to_string(), "size": size}));
        }
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.to_string(), "size": config_size},
            "layers": layers,
        });
        let bytes = serde_json::to_vec(&manifest).map_err(|e| ImageError::Invalid(e.to_string()))?;
        let d = Digest::of(Algorithm::Sha256, &bytes);
        std::fs::write(blob_dir.join(d.hex()), &bytes)?;
        let tags: Vec<String> = image
            .repo_tags
            .iter()
            .flatten()
            .filter_map(|t| t.rsplit_once(':').filter(|(_, tag)| !tag.contains('/')).map(|(_, tag)| tag.to_owned()))
            .collect();
        if tags.is_empty() {
            descriptors
                .push(serde_json::json!({"mediaType": OCI_MANIFEST, "digest": d.to_string(), "size": bytes.len()}));
        }
        for tag in tags {
            descriptors
                .push(serde_json::json!({"mediaType": OCI_MANIFEST, "digest": d.to_string(), "size": bytes.len(),
                "annotations": {"org.opencontainers.image.ref.name": tag}}));
        }
    }
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    let index = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": descriptors});
    std::fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&index).map_err(|e| ImageError::Invalid(e.to_string()))?,
    )?;
    Ok(())
}
