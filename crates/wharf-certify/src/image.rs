//! Images to certify: an OCI image layout directory, its index resolved to one
//! manifest per platform. Every blob is read by digest and its bytes are checked
//! against that digest as they stream; JSON documents are size-capped.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use wharf_oci::{Digest, Hasher};

/// The largest JSON document read (index, manifest, config).
pub const MAX_JSON_BYTES: u64 = 4 << 20;
/// How deep indexes may nest (an index of indexes of …).
pub const MAX_INDEX_DEPTH: usize = 4;

const INDEX_TYPES: &[&str] =
    &["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"];
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

/// An OCI image layout directory.
#[derive(Debug, Clone)]
pub struct Layout {
    dir: PathBuf,
}

impl Layout {
    /// Opens a layout directory (it must have `oci-layout` and `index.json`).
    pub fn open(dir: &Path) -> Result<Layout, ImageError> {
        for f in ["oci-layout", "index.json"] {
            if !dir.join(f).is_file() {
                return Err(ImageError::Layout(format!("{} is not an OCI image layout: it has no {f}", dir.display())));
            }
        }
        Ok(Layout { dir: dir.to_owned() })
    }

    /// Opens an oci-archive (a tar of an OCI layout) by copying its layout files
    /// into a private scratch directory that lives as long as the returned guard.
    /// Only `oci-layout`, `index.json` and `blobs/<algorithm>/<hex>` entries are
    /// copied, to names built here from the validated digest, never from the
    /// archive's own paths; anything else in the archive is ignored.
    pub fn from_archive(archive: &Path) -> Result<(Layout, tempfile::TempDir), ImageError> {
        let file = std::fs::File::open(archive)
            .map_err(|e| ImageError::Layout(format!("cannot open {}: {e}", archive.display())))?;
        let scratch = tempfile::Builder::new().prefix("wharf-certify-").tempdir()?;
        let mut tar = tar::Archive::new(io::BufReader::new(file));
        let bad =
            |e: io::Error| ImageError::Layout(format!("{} is not a readable oci-archive: {e}", archive.display()));
        for entry in tar.entries().map_err(bad)? {
            let mut entry = entry.map_err(bad)?;
            if entry.header().entry_type() != tar::EntryType::Regular {
                continue;
            }
            let raw = entry.path_bytes().into_owned();
            let name = std::str::from_utf8(&raw).unwrap_or("").trim_start_matches("./");
            let target = match name {
                "oci-layout" | "index.json" => scratch.path().join(name),
                _ => match name.strip_prefix("blobs/").and_then(|rest| rest.split_once('/')) {
                    Some((alg, hex)) => match format!("{alg}:{hex}").parse::<Digest>() {
                        Ok(d) => {
                            let dir = scratch.path().join("blobs").join(d.algorithm().as_str());
                            std::fs::create_dir_all(&dir)?;
                            dir.join(d.hex())
                        }
                        Err(_) => continue,
                    },
                    None => continue,
                },
            };
            let mut out = std::fs::File::create(&target)?;
            io::copy(&mut entry, &mut out).map_err(bad)?;
        }
        Ok((
            Layout::open(scratch.path()).map_err(|_| {
                ImageError::Layout(format!(
                    "{} is not an oci-archive: it holds no oci-layout and index.json",
                    archive.display()
                ))
            })?,
            scratch,
        ))
    }

    fn blob_path(&self, digest: &str) -> Result<(PathBuf, Digest), ImageError> {
        let d: Digest = digest.parse().map_err(|e| ImageError::Invalid(format!("invalid digest {digest:?}: {e}")))?;
        Ok((self.dir.join("blobs").join(d.algorithm().as_str()).join(d.hex()), d))
    }

    /// A blob's bytes as a stream, checked against its digest when the stream ends.
    pub fn blob(&self, digest: &str) -> Result<Verified<std::fs::File>, ImageError> {
        let (path, d) = self.blob_path(digest)?;
        let file = std::fs::File::open(&path).map_err(|e| {
            ImageError::Layout(format!("blob {digest} is missing from the layout ({}: {e})", path.display()))
        })?;
        Ok(Verified { inner: file, hasher: Some(d.algorithm().hasher()), expected: d })
    }

    fn json<T: for<'de> Deserialize<'de>>(&self, digest: &str, what: &str) -> Result<T, ImageError> {
        let (path, expected) = self.blob_path(digest)?;
        let file = std::fs::File::open(&path).map_err(|e| {
            ImageError::Layout(format!("blob {digest} is missing from the layout ({}: {e})", path.display()))
        })?;
        let mut bytes = Vec::new();
        file.take(MAX_JSON_BYTES + 1).read_to_end(&mut bytes)?;
        if bytes.len() as u64 > MAX_JSON_BYTES {
            return Err(ImageError::Invalid(format!("the {what} {digest} is larger than {MAX_JSON_BYTES} bytes")));
        }
        let actual = Digest::of(expected.algorithm(), &bytes);
        if actual != expected {
            return Err(ImageError::DigestMismatch { expected: digest.to_owned(), actual: actual.to_string() });
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| ImageError::Invalid(format!("the {what} {digest} is not valid: {e}")))
    }

    /// Every platform image the layout's index names (all of them, or those tagged
    /// `tag` through `org.opencontainers.image.ref.name`).
    pub fn images(&self, tag: Option<&str>) -> Result<Vec<PlatformImage>, ImageError> {
        let text = std::fs::read(self.dir.join("index.json"))?;
        let index: Index = serde_json::from_slice(&text)
            .map_err(|e| ImageError::Invalid(format!("index.json is not a valid OCI index: {e}")))?;
        let chosen: Vec<&Descriptor> = index
            .manifests
            .iter()
            .filter(|d| {
                tag.is_none_or(|t| {
                    d.annotations.get("org.opencontainers.image.ref.name").map(String::as_str) == Some(t)
                })
            })
            .collect();
        if chosen.is_empty() {
            return Err(ImageError::Layout(match tag {
                Some(t) => format!("the layout has no image tagged {t:?}"),
                None => "the layout's index.json names no image".to_owned(),
            }));
        }
        let mut out = Vec::new();
        let mut seen = Vec::new();
        for d in chosen {
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
        if !MANIFEST_TYPES.contains(&d.media_type.as_str()) {
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
