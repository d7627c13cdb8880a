//! Pulling an image from an OCI registry (Wharf's own or any other speaking the
//! Distribution API) into an OCI image layout directory, for `wharf certify`.
//!
//! Every manifest of an index (attestations aside), its config and its layers are
//! fetched by digest and checked against it and against the descriptor's size as
//! they stream to disk. Authentication follows the Docker token protocol: a `401`
//! with a `Bearer` challenge sends the client to the realm (with HTTP Basic
//! credentials when it has some) for a pull token; a `Basic` challenge gets the
//! credentials directly.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use futures::StreamExt;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;
use wharf_oci::{Algorithm, Digest};

/// Manifests are at most this large.
const MAX_MANIFEST_BYTES: usize = 4 << 20;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// An image in a registry: `HOST[:PORT]/REPOSITORY[:TAG|@DIGEST]`, optionally
/// written `docker://…` as skopeo does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// `registry.example:5000`.
    pub registry: String,
    /// `contoso/app`.
    pub repository: String,
    /// A tag or a digest (`sha256:…`).
    pub reference: String,
}

impl ImageRef {
    /// The tag, when the reference is one.
    pub fn tag(&self) -> Option<&str> {
        (!self.reference.contains(':')).then_some(self.reference.as_str())
    }

    /// Whether `s` names a registry image rather than a local path: `docker://…`, or a
    /// first component with a dot, a port or `localhost` followed by a repository.
    pub fn looks_like(s: &str) -> bool {
        if s.starts_with("docker://") {
            return true;
        }
        match s.split_once('/') {
            Some((host, rest)) => {
                !rest.is_empty()
                    && (host.contains('.') || host.contains(':') || host == "localhost")
                    && !host.starts_with('.')
            }
            None => false,
        }
    }
}

impl FromStr for ImageRef {
    type Err = PullError;

    fn from_str(s: &str) -> Result<ImageRef, PullError> {
        let bad = |why: &str| PullError::BadReference(format!("{s:?} is not a registry image reference: {why}"));
        let rest = s.strip_prefix("docker://").unwrap_or(s);
        let (registry, path) = rest.split_once('/').ok_or_else(|| bad("expected HOST/REPOSITORY[:TAG|@DIGEST]"))?;
        if !(registry.contains('.') || registry.contains(':') || registry == "localhost") {
            return Err(bad("name the registry host first (e.g. registry.example:5000/contoso/app:1.0.0)"));
        }
        let (repository, reference) = match path.split_once('@') {
            Some((r, d)) => {
                d.parse::<Digest>().map_err(|e| bad(&format!("bad digest: {e}")))?;
                (r.to_owned(), d.to_owned())
            }
            None => match path.rsplit_once(':') {
                Some((r, t)) if !t.contains('/') => (r.to_owned(), t.to_owned()),
                _ => (path.to_owned(), "latest".to_owned()),
            },
        };
        repository.parse::<wharf_oci::RepositoryName>().map_err(|e| bad(&e.to_string()))?;
        if reference.is_empty() {
            return Err(bad("empty tag"));
        }
        Ok(ImageRef { registry: registry.to_owned(), repository, reference })
    }
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sep = if self.reference.contains(':') { '@' } else { ':' };
        write!(f, "{}/{}{sep}{}", self.registry, self.repository, self.reference)
    }
}

/// Why a pull failed.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    /// The reference does not parse.
    #[error("{0}")]
    BadReference(String),
    /// The registry could not be reached.
    #[error("cannot reach the registry at {url}: {source}")]
    Unreachable {
        /// Where.
        url: String,
        /// Why.
        source: reqwest::Error,
    },
    /// The registry refused the credentials (or asked for some).
    #[error("{0}")]
    Auth(String),
    /// The registry answered with an error.
    #[error("{url}: the registry answered {status}: {message}")]
    Registry {
        /// What was asked.
        url: String,
        /// HTTP status.
        status: u16,
        /// Its OCI error, or the body.
        message: String,
    },
    /// What the registry sent is not what was asked for.
    #[error("{0}")]
    Invalid(String),
    /// Writing the layout failed.
    #[error("cannot write the image layout: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    media_type: String,
    digest: String,
    size: u64,
    #[serde(default)]
    platform: Option<serde_json::Value>,
    #[serde(default)]
    annotations: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Vec<Descriptor>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

/// What was pulled.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// The top manifest's digest.
    pub digest: String,
    /// Blobs fetched (manifests, configs, layers).
    pub blobs: usize,
    /// Bytes fetched.
    pub bytes: u64,
}

struct Session {
    http: reqwest::Client,
    base: String,
    image: ImageRef,
    credentials: Option<Credentials>,
    authorization: Option<String>,
    bytes: u64,
    blobs: usize,
}

/// Parses `Bearer realm="…",service="…",scope="…"` (or `Basic …`).
fn challenge(header: &str) -> (String, Vec<(String, String)>) {
    let (scheme, rest) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
    let mut params = Vec::new();
    let mut rest = rest.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let key = key.trim().trim_start_matches(',').trim().to_owned();
        let after = after.trim_start();
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            value.push(n);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => value.push(c),
                }
            }
            (value, &quoted[end..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_owned(), &after[end..])
        };
        params.push((key, value));
        rest = next.trim_start().trim_start_matches(',').trim_start();
    }
    (scheme.to_ascii_lowercase(), params)
}

impl Session {
    async fn authenticate(&mut self, header: &str) -> Result<(), PullError> {
        let (scheme, params) = challenge(header);
        let get = |k: &str| params.iter().find(|(key, _)| key.eq_ignore_ascii_case(k)).map(|(_, v)| v.clone());
        match scheme.as_str() {
            "basic" => {
                let Credentials { user, secret } = self.credentials.clone().ok_or_else(|| {
                    PullError::Auth(format!(
                        "{} asks for credentials: log in with `wharf login` or pass --creds",
                        self.base
                    ))
                })?;
                let rb = self
                    .http
                    .get(&self.base)
                    .basic_auth(&user, Some(&secret))
                    .build()
                    .map_err(|e| PullError::Invalid(e.to_string()))?;
                self.authorization =
                    rb.headers().get(reqwest::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
                Ok(())
            }
            "bearer" => {
                let realm =
                    get("realm").ok_or_else(|| PullError::Auth("the registry's challenge names no realm".into()))?;
                let mut url =
                    url::Url::parse(&realm).map_err(|e| PullError::Auth(format!("bad token realm {realm:?}: {e}")))?;
                {
                    let mut q = url.query_pairs_mut();
                    if let Some(service) = get("service") {
                        q.append_pair("service", &service);
                    }
                    q.append_pair(
                        "scope",
                        &get("scope").unwrap_or_else(|| format!("repository:{}:pull", self.image.repository)),
                    );
                }
                let mut rb = self.http.get(url.as_str());
                if let Some(Credentials { user, secret }) = &self.credentials {
                    rb = rb.basic_auth(user, Some(secret));
                }
                let response =
                    rb.send().await.map_err(|source| PullError::Unreachable { url: realm.clone(), source })?;
                let status = response.status();
                if !status.is_success() {
                    let body = response.text().await.unwrap_or_default();
                    return Err(PullError::Auth(format!(
                        "the token service {realm} refused ({status}): {}",
                        oci_message(&body)
                    )));
                }
                #[derive(Deserialize)]
                struct Token {
                    token: Option<String>,
                    access_token: Option<String>,
                }
                let t: Token =
                    response.json().await.map_err(|e| PullError::Auth(format!("bad token response: {e}")))?;
                let token = t
                    .token
                    .or(t.access_token)
                    .ok_or_else(|| PullError::Auth("the token service sent no token".into()))?;
                self.authorization = Some(format!("Bearer {token}"));
                Ok(())
            }
            other => Err(PullError::Auth(format!("unsupported authentication scheme {other:?}"))),
        }
    }

    /// GETs `path` under `/v2/<repository>/`, authenticating once when challenged.
    async fn get(&mut self, path: &str, accept: Option<&str>) -> Result<reqwest::Response, PullError> {
        let url = format!("{}/v2/{}/{path}", self.base, self.image.repository);
        for attempt in 0..2 {
            let mut rb = self.http.get(&url);
            if let Some(a) = accept {
                rb = rb.header(reqwest::header::ACCEPT, a);
            }
            if let Some(auth) = &self.authorization {
                rb = rb.header(reqwest::header::AUTHORIZATION, auth);
            }
            let response = rb.send().await.map_err(|source| PullError::Unreachable { url: url.clone(), source })?;
            let status = response.status();
            if status == reqwest::StatusCode::UNAUTHORIZED && attempt == 0 {
                let header = response
                    .headers()
                    .get(reqwest::header::WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                self.authenticate(&header).await?;
                continue;
            }
            if status.is_success() {
                return Ok(response);
            }
            let body = response.text().await.unwrap_or_default();
            let message = oci_message(&body);
            return Err(match status.as_u16() {
                401 | 403 => PullError::Auth(format!("{url}: {message} (log in with `wharf login` or pass --creds)")),
                s => PullError::Registry { url, status: s, message },
            });
        }
        Err(PullError::Auth(format!("{url}: the registry refused the credentials")))
    }

    /// A manifest by tag or digest: its bytes, checked against the digest when one is known.
    async fn manifest(&mut self, reference: &str, dir: &Path) -> Result<(Vec<u8>, Digest, String), PullError> {
        let accept = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST].join(", ");
        let response = self.get(&format!("manifests/{reference}"), Some(&accept)).await?;
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_owned();
        let mut bytes = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| PullError::Invalid(format!("the manifest {reference} broke off: {e}")))?;
            bytes.extend_from_slice(&chunk);
            if bytes.len() > MAX_MANIFEST_BYTES {
                return Err(PullError::Invalid(format!(
                    "the manifest {reference} is larger than {MAX_MANIFEST_BYTES} bytes"
                )));
            }
        }
        // By digest: what came must be it. By tag: its SHA-256 names it.
        let actual = match reference.parse::<Digest>() {
            Ok(expected) => {
                let actual = Digest::of(expected.algorithm(), &bytes);
                if actual != expected {
                    return Err(PullError::Invalid(format!("the registry sent manifest {actual} for {expected}")));
                }
                actual
            }
            Err(_) => Digest::of(Algorithm::Sha256, &bytes),
        };
        write_blob(dir, &actual, &bytes).await?;
        self.blobs += 1;
        self.bytes += bytes.len() as u64;
        Ok((bytes, actual, content_type))
    }

    /// A blob by digest, streamed to the layout with its digest and size checked.
    async fn blob(&mut self, d: &Descriptor, dir: &Path) -> Result<(), PullError> {
        let expected: Digest = d
            .digest
            .parse()
            .map_err(|e| PullError::Invalid(format!("bad digest {:?} in a manifest: {e}", d.digest)))?;
        let path = blob_path(dir, &expected);
        if tokio::fs::try_exists(&path).await.unwrap_or(false) {
            return Ok(());
        }
        let response = self.get(&format!("blobs/{}", d.digest), None).await?;
        let tmp = path.with_extension("partial");
        let mut file = tokio::fs::File::create(&tmp).await?;
        let mut hasher = expected.algorithm().hasher();
        let mut got = 0u64;
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| PullError::Invalid(format!("blob {} broke off: {e}", d.digest)))?;
            got += chunk.len() as u64;
            if got > d.size {
                return Err(PullError::Invalid(format!(
                    "blob {} is larger than its descriptor's {} bytes",
                    d.digest, d.size
                )));
            }
            hasher.update(&chunk);
            file.write_all(&chunk).await?;
        }
        file.flush().await?;
        let actual = hasher.finish();
        if actual != expected || got != d.size {
            return Err(PullError::Invalid(format!(
                "the registry sent {got} bytes with digest {actual} for blob {} ({} bytes)",
                d.digest, d.size
            )));
        }
        tokio::fs::rename(&tmp, &path).await?;
        self.blobs += 1;
        self.bytes += got;
        Ok(())
    }
}

fn oci_message(body: &str) -> String {
    #[derive(Deserialize)]
    struct Errors {
        errors: Vec<OciError>,
    }
    #[derive(Deserialize)]
    struct OciError {
        code: String,
        #[serde(default)]
        message: String,
    }
    match serde_json::from_str::<Errors>(body) {
        Ok(e) => e.errors.iter().map(|x| format!("{} {}", x.code, x.message)).collect::<Vec<_>>().join("; "),
        Err(_) => body.chars().take(300).collect(),
    }
}

fn blob_path(dir: &Path, d: &Digest) -> std::path::PathBuf {
    dir.join("blobs").join(d.algorithm().as_str()).join(d.hex())
}

async fn write_blob(dir: &Path, d: &Digest, bytes: &[u8]) -> Result<(), PullError> {
    let path = blob_path(dir, d);
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent).await?;
    }
    tokio::fs::write(path, bytes).await?;
    Ok(())
}

/// Whether an index entry is an attestation or another artifact, not a platform image.
fn is_attestation(d: &Descriptor) -> bool {
    let unknown = d.platform.as_ref().is_some_and(|p| p["os"] == "unknown");
    let kind = d.annotations.as_ref().and_then(|a| a.get("vnd.docker.reference.type")).is_some();
    unknown || kind
}

/// A user name with a password or an API token, for a registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub user: String,
    /// The password or API token.
    pub secret: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, ***)", self.user)
    }
}

impl std::str::FromStr for Credentials {
    type Err = String;

    /// `USER:PASSWORD` (the password may contain `:`).
    fn from_str(s: &str) -> Result<Credentials, String> {
        match s.split_once(':') {
            Some((user, secret)) if !user.is_empty() => {
                Ok(Credentials { user: user.to_owned(), secret: secret.to_owned() })
            }
            _ => Err("credentials take the form USER:PASSWORD".into()),
        }
    }
}

/// Pulls `image` into the OCI layout directory `dir` (created), with `credentials`
/// (user, password or API token) when given. `plain_http` talks HTTP instead of
/// HTTPS; loopback registries always do.
pub async fn pull(
    image: &ImageRef,
    credentials: Option<Credentials>,
    plain_http: bool,
    dir: &Path,
) -> Result<Pulled, PullError> {
    let host = image.registry.rsplit_once(':').map_or(image.registry.as_str(), |(h, _)| h);
    let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    let scheme = if plain_http || loopback { "http" } else { "https" };
    let http = reqwest::Client::builder()
        .user_agent(concat!("wharf-cli/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(120))
        .build()
        .map_err(|e| PullError::Invalid(e.to_string()))?;
    let mut s = Session {
        http,
        base: format!("{scheme}://{}", image.registry),
        image: image.clone(),
        credentials,
        authorization: None,
        bytes: 0,
        blobs: 0,
    };
    tokio::fs::create_dir_all(dir.join("blobs").join("sha256")).await?;
    let (bytes, top, content_type) = s.manifest(&image.reference, dir).await?;
    let parsed: Manifest = serde_json::from_slice(&bytes)
        .map_err(|e| PullError::Invalid(format!("the manifest of {image} is not valid JSON: {e}")))?;
    let media_type = parsed.media_type.clone().unwrap_or(content_type);
    let mut images = Vec::new();
    if media_type == OCI_INDEX || media_type == DOCKER_LIST || !parsed.manifests.is_empty() {
        for d in &parsed.manifests {
            if (d.media_type == OCI_MANIFEST || d.media_type == DOCKER_MANIFEST) && !is_attestation(d) {
                let (child, _, _) = s.manifest(&d.digest, dir).await?;
                images
                    .push(serde_json::from_slice::<Manifest>(&child).map_err(|e| {
                        PullError::Invalid(format!("the manifest {} is not valid JSON: {e}", d.digest))
                    })?);
            }
        }
    } else {
        images.push(parsed);
    }
    for m in &images {
        let config =
            m.config.as_ref().ok_or_else(|| PullError::Invalid(format!("a manifest of {image} has no config")))?;
        s.blob(config, dir).await?;
        for l in &m.layers {
            s.blob(l, dir).await?;
        }
    }
    let mut descriptor = serde_json::json!({"mediaType": media_type, "digest": top.to_string(), "size": bytes.len()});
    if let Some(tag) = image.tag() {
        descriptor["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": tag});
    }
    let mut manifests = vec![descriptor];
    // The publisher's cosign signature, when the registry has one (tag sha256-<hex>.sig).
    let sig_tag = format!("{}.sig", top.to_string().replacen(':', "-", 1));
    match s.manifest(&sig_tag, dir).await {
        Ok((sig_bytes, sig_digest, sig_type)) => {
            let sig: Manifest = serde_json::from_slice(&sig_bytes)
                .map_err(|e| PullError::Invalid(format!("the signature manifest {sig_tag} is not valid JSON: {e}")))?;
            if let Some(c) = &sig.config {
                s.blob(c, dir).await?;
            }
            for l in &sig.layers {
                s.blob(l, dir).await?;
            }
            manifests.push(
                serde_json::json!({"mediaType": sig.media_type.unwrap_or(sig_type), "digest": sig_digest.to_string(),
                "size": sig_bytes.len(), "annotations": {"org.opencontainers.image.ref.name": sig_tag}}),
            );
        }
        Err(PullError::Registry { status: 404, .. }) => {}
        Err(e) => return Err(e),
    }
    tokio::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).await?;
    let index = serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests});
    tokio::fs::write(dir.join("index.json"), index.to_string()).await?;
    Ok(Pulled { digest: top.to_string(), blobs: s.blobs, bytes: s.bytes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_and_challenges_parse() {
        let r: ImageRef = "docker://127.0.0.1:5000/contoso/app:1.0.0".parse().unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.tag()),
            ("127.0.0.1:5000", "contoso/app", Some("1.0.0"))
        );
        let d = format!("sha256:{}", "a".repeat(64));
        let r: ImageRef = format!("registry.example/contoso/app@{d}").parse().unwrap();
        assert_eq!((r.reference.as_str(), r.tag()), (d.as_str(), None));
        assert_eq!(r.to_string(), format!("registry.example/contoso/app@{d}"));
        let r: ImageRef = "localhost/app".parse().unwrap();
        assert_eq!(r.reference, "latest");
        assert!(
            ImageRef::looks_like("registry.example/app:1")
                && !ImageRef::looks_like("./layout:1.0")
                && !ImageRef::looks_like("layout")
        );
        assert!(
            "contoso/app:1.0".parse::<ImageRef>().unwrap_err().to_string().contains("name the registry host first")
        );
        assert!("r.example/UPPER:1".parse::<ImageRef>().is_err());
        let (scheme, params) =
            challenge(r#"Bearer realm="http://127.0.0.1:5000/token",service="wharf",scope="repository:acme/app:pull""#);
        assert_eq!(scheme, "bearer");
        assert_eq!(params[0], ("realm".to_owned(), "http://127.0.0.1:5000/token".to_owned()));
        assert_eq!(params[2], ("scope".to_owned(), "repository:acme/app:pull".to_owned()));
        let (scheme, params) = challenge(r#"Basic realm="wharf", charset="UTF-8""#);
        assert_eq!((scheme.as_str(), params.len()), ("basic", 2));
    }
}
