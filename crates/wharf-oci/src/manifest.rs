//! Manifests: the OCI image manifest and index, Docker schema 2 manifest and
//! manifest list. Parsed only as far as the registry needs (references, subject,
//! artifact type, annotations); the stored bytes are always exactly those received.
//!
//! Checks, each refused with a message the client can act on:
//! - schema 1 (`schemaVersion: 1`, `fsLayers`, `…manifest.v1+…`) is unsupported;
//! - the body's `mediaType` must agree with the `Content-Type` it was sent with;
//! - a document with both `manifests` and `config`/`layers` is ambiguous (an image
//!   manifest to one client, an index to another: CVE-2021-41190) and refused;
//! - every descriptor needs a media type, a valid digest and a non-negative size.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::Digest;

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker image manifest, schema 2.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// The OCI empty descriptor's media type (`{}`).
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";

const DOCKER_SCHEMA1: &[&str] = &[
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
];

/// The media types a manifest may be pushed and served as.
pub const MANIFEST_MEDIA_TYPES: &[&str] = &[OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST];

/// Whether the document lists manifests (an index) or is one image/artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestKind {
    /// Image manifest (OCI or Docker).
    Image,
    /// Index or manifest list.
    Index,
}

/// What the registry keeps of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedManifest {
    /// The media type it is stored and served as.
    pub media_type: String,
    /// Image or index.
    pub kind: ManifestKind,
    /// Blobs it needs in the repository: config and layers (except foreign layers,
    /// which are fetched from their `urls`).
    pub blobs: Vec<Digest>,
    /// Manifests it needs in the repository (an index's entries).
    pub manifests: Vec<Digest>,
    /// The manifest it refers to.
    pub subject: Option<Digest>,
    /// `artifactType`, or for image manifests the config's media type.
    pub artifact_type: Option<String>,
    /// Annotations, as compact JSON.
    pub annotations: Option<String>,
}

/// Why a manifest is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// A format the registry does not accept (Docker schema 1, unknown media types).
    #[error("{0}")]
    Unsupported(String),
    /// Not a valid manifest.
    #[error("{0}")]
    Invalid(String),
}

#[derive(Deserialize)]
struct Raw {
    #[serde(rename = "schemaVersion")]
    schema_version: Option<i64>,
    #[serde(rename = "mediaType")]
    media_type: Option<String>,
    #[serde(rename = "artifactType")]
    artifact_type: Option<String>,
    config: Option<RawDescriptor>,
    layers: Option<Vec<RawDescriptor>>,
    manifests: Option<Vec<RawDescriptor>>,
    subject: Option<RawDescriptor>,
    annotations: Option<BTreeMap<String, String>>,
    #[serde(rename = "fsLayers")]
    fs_layers: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct RawDescriptor {
    #[serde(rename = "mediaType")]
    media_type: Option<String>,
    digest: Option<String>,
    size: Option<i64>,
    urls: Option<Vec<String>>,
}

fn invalid(msg: impl Into<String>) -> ManifestError {
    ManifestError::Invalid(msg.into())
}

impl RawDescriptor {
    fn digest(&self, at: &str) -> Result<Digest, ManifestError> {
        if self.media_type.as_deref().is_none_or(str::is_empty) {
            return Err(invalid(format!("{at}: a descriptor needs a mediaType")));
        }
        match self.size {
            Some(s) if s >= 0 => {}
            _ => return Err(invalid(format!("{at}: a descriptor needs a non-negative size"))),
        }
        let d = self.digest.as_deref().ok_or_else(|| invalid(format!("{at}: a descriptor needs a digest")))?;
        d.parse().map_err(|e| invalid(format!("{at}: {e}")))
    }

    fn is_foreign(&self) -> bool {
        self.urls.as_ref().is_some_and(|u| !u.is_empty())
    }
}

/// Strips parameters (`; charset=…`) and whitespace from a Content-Type.
fn base_type(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or("").trim()
}

/// Parses and checks a manifest sent with `content_type`.
pub fn parse(bytes: &[u8], content_type: Option<&str>) -> Result<ParsedManifest, ManifestError> {
    let content_type = content_type.map(base_type).filter(|t| !t.is_empty());
    if let Some(ct) = content_type
        && DOCKER_SCHEMA1.contains(&ct)
    {
        return Err(ManifestError::Unsupported(
            "Docker schema 1 manifests are not supported; push schema 2 or OCI".into(),
        ));
    }
    let raw: Raw = serde_json::from_slice(bytes).map_err(|e| invalid(format!("not a JSON manifest: {e}")))?;
    if raw.schema_version == Some(1) || raw.fs_layers.is_some() {
        return Err(ManifestError::Unsupported(
            "Docker schema 1 manifests are not supported; push schema 2 or OCI".into(),
        ));
    }
    if raw.schema_version != Some(2) {
        return Err(invalid("schemaVersion must be 2"));
    }
    let is_index = raw.manifests.is_some();
    if is_index && (raw.config.is_some() || raw.layers.is_some()) {
        return Err(invalid(
            "a manifest may not have both \"manifests\" and \"config\"/\"layers\" (ambiguous document)",
        ));
    }
    let generic = |t: &str| matches!(t, "application/json" | "application/octet-stream");
    let media_type = match (raw.media_type.as_deref(), content_type.filter(|t| !generic(t))) {
        (Some(body), Some(header)) if body != header => {
            return Err(invalid(format!("the manifest's mediaType {body:?} differs from its Content-Type {header:?}")));
        }
        (Some(body), _) => body.to_owned(),
        (None, Some(header)) => header.to_owned(),
        (None, None) => (if is_index { OCI_INDEX } else { OCI_MANIFEST }).to_owned(),
    };
    if !MANIFEST_MEDIA_TYPES.contains(&media_type.as_str()) {
        return Err(ManifestError::Unsupported(format!(
            "manifest media type {media_type:?} is not supported; use one of {}",
            MANIFEST_MEDIA_TYPES.join(", ")
        )));
    }
    let wants_index = matches!(media_type.as_str(), OCI_INDEX | DOCKER_MANIFEST_LIST);
    if wants_index != is_index {
        return Err(invalid(if wants_index {
            format!("a {media_type} needs a \"manifests\" list")
        } else {
            format!("a {media_type} needs \"config\" and \"layers\", not \"manifests\"")
        }));
    }

    let mut blobs = Vec::new();
    let mut manifests = Vec::new();
    let mut artifact_type = raw.artifact_type.clone();
    if is_index {
        for (i, m) in raw.manifests.iter().flatten().enumerate() {
            manifests.push(m.digest(&format!("manifests[{i}]"))?);
        }
    } else {
        let config = raw.config.as_ref().ok_or_else(|| invalid("an image manifest needs a config descriptor"))?;
        blobs.push(config.digest("config")?);
        let layers = raw.layers.as_ref().ok_or_else(|| invalid("an image manifest needs a layers list"))?;
        for (i, l) in layers.iter().enumerate() {
            let d = l.digest(&format!("layers[{i}]"))?;
            if !l.is_foreign() {
                blobs.push(d);
            }
        }
        if artifact_type.is_none() {
            artifact_type = config.media_type.clone();
        }
    }
    let subject = raw.subject.as_ref().map(|s| s.digest("subject")).transpose()?;
    let annotations =
        raw.annotations.as_ref().filter(|a| !a.is_empty()).map(|a| serde_json::to_string(a).unwrap_or_default());
    blobs.dedup();
    Ok(ParsedManifest {
        media_type,
        kind: if is_index { ManifestKind::Index } else { ManifestKind::Image },
        blobs,
        manifests,
        subject,
        artifact_type,
        annotations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Algorithm;

    fn dg(s: &str) -> String {
        Digest::of(Algorithm::Sha256, s.as_bytes()).to_string()
    }

    fn image(media_type: Option<&str>) -> String {
        let mt = media_type.map(|m| format!(r#""mediaType":"{m}","#)).unwrap_or_default();
        format!(
            r#"{{"schemaVersion":2,{mt}"config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":2}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{}","size":10}},{{"mediaType":"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip","digest":"{}","size":10,"urls":["https://example.com/l"]}}],"annotations":{{"k":"v"}}}}"#,
            dg("config"),
            dg("layer"),
            dg("foreign")
        )
    }

    #[test]
    fn image_manifest_references() {
        let m = parse(image(Some(OCI_MANIFEST)).as_bytes(), Some(OCI_MANIFEST)).unwrap();
        assert_eq!(m.kind, ManifestKind::Image);
        assert_eq!(m.blobs.iter().map(ToString::to_string).collect::<Vec<_>>(), [dg("config"), dg("layer")]);
        assert_eq!(m.artifact_type.as_deref(), Some("application/vnd.oci.image.config.v1+json"));
        assert_eq!(m.annotations.as_deref(), Some(r#"{"k":"v"}"#));
        // No mediaType in the body: the Content-Type decides; neither: inferred.
        assert_eq!(parse(image(None).as_bytes(), Some(DOCKER_MANIFEST)).unwrap().media_type, DOCKER_MANIFEST);
        assert_eq!(parse(image(None).as_bytes(), None).unwrap().media_type, OCI_MANIFEST);
        assert_eq!(
            parse(image(Some(OCI_MANIFEST)).as_bytes(), Some("application/json")).unwrap().media_type,
            OCI_MANIFEST
        );
    }

    #[test]
    fn index_and_subject() {
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":5,"platform":{{"os":"linux","architecture":"amd64"}}}}],"subject":{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":3}},"artifactType":"application/example"}}"#,
            dg("amd64"),
            dg("subject")
        );
        let m = parse(body.as_bytes(), Some(OCI_INDEX)).unwrap();
        assert_eq!(m.kind, ManifestKind::Index);
        assert_eq!(m.manifests[0].to_string(), dg("amd64"));
        assert_eq!(m.subject.unwrap().to_string(), dg("subject"));
        assert_eq!(m.artifact_type.as_deref(), Some("application/example"));
    }

    #[test]
    fn refusals() {
        let d = dg("x");
        let cases: Vec<(String, Option<&str>, &str)> = vec![
            (r#"{"schemaVersion":1,"name":"a","tag":"b","fsLayers":[]}"#.into(), None, "schema 1"),
            ("{}".into(), Some("application/vnd.docker.distribution.manifest.v1+prettyjws"), "schema 1"),
            ("not json".into(), Some(OCI_MANIFEST), "not a JSON manifest"),
            (r#"{"schemaVersion":3}"#.into(), None, "schemaVersion must be 2"),
            (image(Some(OCI_MANIFEST)), Some(DOCKER_MANIFEST), "differs from its Content-Type"),
            (image(Some("application/vnd.example+json")), None, "is not supported"),
            (
                format!(
                    r#"{{"schemaVersion":2,"config":{{"mediaType":"a","digest":"{d}","size":1}},"layers":[],"manifests":[]}}"#
                ),
                None,
                "ambiguous",
            ),
            (image(None), Some(OCI_INDEX), "needs a \"manifests\" list"),
            (r#"{"schemaVersion":2,"manifests":[]}"#.into(), Some(OCI_MANIFEST), "needs \"config\" and \"layers\""),
            (r#"{"schemaVersion":2,"layers":[]}"#.into(), Some(OCI_MANIFEST), "needs a config"),
            (
                r#"{"schemaVersion":2,"config":{"mediaType":"a","digest":"sha256:ABC","size":1},"layers":[]}"#.into(),
                None,
                "config: a sha256 digest has 64 hex digits",
            ),
            (
                format!(r#"{{"schemaVersion":2,"config":{{"mediaType":"a","digest":"{d}","size":-1}},"layers":[]}}"#),
                None,
                "non-negative size",
            ),
            (
                format!(r#"{{"schemaVersion":2,"config":{{"digest":"{d}","size":1}},"layers":[]}}"#),
                None,
                "needs a mediaType",
            ),
        ];
        for (body, ct, needle) in cases {
            let err = parse(body.as_bytes(), ct).unwrap_err().to_string();
            assert!(err.contains(needle), "{body} / {ct:?}: {err}");
        }
        assert!(matches!(parse(br#"{"schemaVersion":1}"#, None), Err(ManifestError::Unsupported(_))));
    }
}
